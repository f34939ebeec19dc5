"""`nerf-toy`: fit an image with a coordinate MLP headless and write GIF/MP4, PNGs and metrics.json.

  nerf-toy [IMAGE] --steps 500 --out DIR                 one run
  nerf-toy [IMAGE] --compare "output=relu" --out DIR     A (the options) | B (A with overrides), one GIF
  nerf-toy --preset study --out DIR                      the study's runs + summary.md
  nerf-toy --preset ffn IMAGE --out DIR                  Tancik et al.'s protocol: none / PE / Gaussian
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from pathlib import Path

import torch

from nerf.commands.cli import add_device_argument, command_parser, fail, guarded_main, number
from nerf.device import pick_device
from nerf.errors import InputError
from toy import presets, run
from toy.images import default_image, load_image
from toy.model import ACTIVATIONS, EMBED_ACTIVATIONS, ENCODINGS, OUTPUTS, WARPS, ModelConfig
from toy.train import FitConfig

PROG = "nerf-toy"


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.replace(" ", "").split(",") if w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"widths must be comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive integers, got {text!r}")
    return widths


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(prog=PROG, description="Fit one image with a coordinate MLP (x, y) -> RGB.")
    p.add_argument("image", nargs="?", help="PNG/JPG to fit (default: the project's toy image)")
    p.add_argument("--out", type=Path, default=Path("toy_out"), help="output folder (default toy_out)")
    p.add_argument("--preset", choices=("study", "ffn"), help="run a named experiment instead of one fit")
    p.add_argument("--compare", nargs="?", const="output=relu", metavar="OVERRIDES",
                   help='train A (the options) and B = A with "key=value ..." overrides side by side '
                        '(default "output=relu", the saturation case)')
    count, positive = number(int, low=1), number(float, low=0, low_open=True)  # nan, inf, 0 refused
    m = p.add_argument_group("model")
    m.add_argument("--encoding", choices=ENCODINGS, default="sin")
    m.add_argument("--frequencies", type=count, default=10, help="L octaves for sin/sincos (default 10)")
    m.add_argument("--gauss-features", type=count, default=256)
    m.add_argument("--sigma", type=positive, default=10.0, help="Gaussian feature scale (default 10)")
    m.add_argument("--embed-dim", type=count, default=20, help="N of the learned Linear(2->N) embedding")
    m.add_argument("--embed-activation", choices=EMBED_ACTIVATIONS, default="sine")
    m.add_argument("--warp", choices=WARPS, default="none", help="learned 2->2 coordinate warp")
    m.add_argument("--widths", type=_widths, default=(64, 64, 64),
                   help="hidden widths, e.g. 64,64,64 (ffn: the first sets its width, default 256)")
    m.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    m.add_argument("--output", "--output-activation", dest="output", choices=OUTPUTS, default="leaky")
    m.add_argument("--slope", type=number(float), default=0.01, help="LeakyReLU negative slope")
    m.add_argument("--omega", type=positive, default=30.0, help="SIREN omega_0")
    t = p.add_argument_group("training")
    t.add_argument("--steps", type=count, default=None, help="Adam steps (default 500; study 300; ffn 2000)")
    t.add_argument("--lr", type=positive, default=None, help="learning rate (default 5e-3; ffn 1e-3)")
    t.add_argument("--batch", type=number(int, low=0), default=0, help="pixels per step, 0 = full batch")
    t.add_argument("--fraction", type=number(float, low=0, high=1, low_open=True), default=1.0,
                   help="share of pixels trained on (0, 1]")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--size", type=count, default=None,
                   help="centre-crop and resize to SIZE px (default 256; study 128; ffn 512)")
    o = p.add_argument_group("output")
    o.add_argument("--frames", type=count, default=40, help="frames in the GIF/MP4")
    o.add_argument("--no-mp4", action="store_true", help="write only the GIF")
    o.add_argument("--threads", type=number(int, low=0), default=0,
                   help="torch CPU threads (0 = leave torch's default)")
    add_device_argument(o, default="cpu")
    return p


def model_config(args) -> ModelConfig:
    return ModelConfig(encoding=args.encoding, frequencies=args.frequencies, gauss_features=args.gauss_features,
                       gauss_sigma=args.sigma, embed_dim=args.embed_dim, embed_activation=args.embed_activation,
                       warp=args.warp, hidden=tuple(args.widths), activation=args.activation,
                       leaky_slope=args.slope, omega_0=args.omega, output=args.output).validated()


_ALIASES = {"widths": "hidden", "sigma": "gauss_sigma", "slope": "leaky_slope", "omega": "omega_0",
            "output_activation": "output"}


def apply_overrides(model: ModelConfig, fit: FitConfig, text: str) -> tuple[ModelConfig, FitConfig]:
    """"key=value ..." (ModelConfig / FitConfig field names, or the CLI's option names) -> B's configs."""
    model_fields = {f.name: f for f in fields(ModelConfig)}
    fit_fields = {f.name: f for f in fields(FitConfig)}
    m_changes, f_changes = {}, {}
    for token in text.split():
        key, sep, value = token.partition("=")
        key = _ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
        if not sep or (key not in model_fields and key not in fit_fields):
            raise InputError("--compare", f"bad override {token!r} (expected key=value, e.g. output=relu)")
        current = getattr(model, key) if key in model_fields else getattr(fit, key)
        try:
            parsed = (_widths(value) if isinstance(current, tuple) else type(current)(value))
        except (ValueError, argparse.ArgumentTypeError):
            raise InputError("--compare", f"bad value in {token!r}") from None
        (m_changes if key in model_fields else f_changes)[key] = parsed
    try:
        return replace(model, **m_changes).validated(), replace(fit, **f_changes)
    except ValueError as exc:
        raise InputError("--compare", str(exc)) from None


def _image(args, default_size: int):
    size = args.size if args.size is not None else default_size
    if args.image:
        return load_image(args.image, size), Path(args.image).name
    return default_image(size)


def _run(args) -> int:
    device = pick_device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.preset == "ffn":
        image, name = _image(args, 512)
        fit = presets.ffn_fit(args.steps or 2000, args.lr or 1e-3, args.seed)
        width = args.widths[0] if args.widths != (64, 64, 64) else 256
        results = presets.run_ffn(image, name, out, fit, width=width, device=device, n_frames=args.frames)
        print(presets.ffn_table({name: results}, f"{image.shape[0]} px, {fit.steps} steps, width {width}"), end="")
        return 0
    if args.preset == "study":
        image, name = _image(args, 128)
        fit = FitConfig(steps=args.steps or 300, lr=args.lr or 5e-3, batch=args.batch, seed=args.seed)
        print(presets.run_study(image, name, out, fit, n_frames=min(args.frames, 30), mp4=not args.no_mp4,
                                device=device), end="")
        return 0
    image, name = _image(args, 256)
    model = model_config(args)
    fit = FitConfig(steps=args.steps or 500, lr=args.lr or 5e-3, batch=args.batch, fraction=args.fraction,
                    seed=args.seed)
    if args.compare is not None:
        b_model, b_fit = apply_overrides(model, fit, args.compare)
        results = run.run_compare(image, [(model, fit), (b_model, b_fit)], out, n_frames=args.frames,
                                  mp4=not args.no_mp4, device=device, log=print)
        for label, m in zip("AB", results, strict=True):
            print(f"{label}: {m['title']}: train {m['train_psnr']:.2f} dB, held-out {m['heldout_psnr']:.2f} dB")
    else:
        m = run.run_one(image, model, fit, out, n_frames=args.frames, mp4=not args.no_mp4, device=device,
                        log=print)
        print(f"{m['title']}: train {m['train_psnr']:.2f} dB, held-out {m['heldout_psnr']:.2f} dB"
              f"{' (= train, every pixel trained on)' if m['heldout_is_train'] else ''} -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def body() -> int:
        try:
            return _run(args)
        except ValueError as exc:  # the toy's configs refuse a bad combination of options this way
            return fail(PROG, str(exc))
        except OSError as exc:
            raise InputError(getattr(exc, "filename", None) or args.out, exc.strerror or str(exc)) from None

    return guarded_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
