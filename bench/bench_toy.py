"""Toy-lab benchmarks, printed as one markdown table (paste into BENCHMARKS.md, section "Toy lab").

  python bench/bench_toy.py                   # steps/s, UI fps (under Xvfb), quick ffn protocol
  python bench/bench_toy.py --only steps      # or ui, ffn
  python bench/bench_toy.py --ffn-size 512 --ffn-steps 2000 --ffn-width 256   # the paper's full protocol

The UI measurement runs the real ToyLabPanel in a DearPyGui window with both configurations training
(started here under `Xvfb :97` when DISPLAY is unset) and paces frames like viewer/app.py does.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, run from anywhere

from toy import presets  # noqa: E402
from toy.images import load_image  # noqa: E402
from toy.model import ModelConfig  # noqa: E402
from toy.train import FitConfig, ToyTrainer  # noqa: E402
from tests.support.xdriver import virtual_display  # noqa: E402

PHOTOS = Path("/work/shared/datasets/images/skimage")
PHOTO_NAMES = ("astronaut", "camera", "chelsea", "coffee")


def bench_steps(size: int, steps: int, threads: int) -> list[tuple[str, str, str]]:
    """Full-batch steps/s of the study's 64-wide networks on a size x size image."""
    torch.set_num_threads(threads)
    image = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    rows = []
    for name, cfg in (("raw [2,64,64,64,3]", ModelConfig(encoding="raw")),
                      ("PE [20,64,64,64,3]", ModelConfig(encoding="sin"))):
        trainer = ToyTrainer(image, cfg, FitConfig())
        for _ in range(3):
            trainer.step()
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        rate = steps / (time.perf_counter() - t0)
        rows.append((f"steps/s, {name}, full batch {size}x{size}, {threads} thread(s)", f"{rate:.1f}", ">= 10"))
    return rows


def _ui_child(seconds: float, fps_cap: float, mode: str) -> None:
    """Runs inside the Xvfb display; prints one JSON line.

    mode "train": the real panel with A and B training; "idle": the panel, not training; "empty": a
    window with one line of text, the reference for what the display alone allows on this machine.
    """
    import dearpygui.dearpygui as dpg

    from viewer import textures
    from viewer.panels.toy_lab import ToyLabPanel

    dpg.create_context()
    dpg.configure_app(manual_callback_management=True)
    dpg.create_viewport(title="toy lab bench", width=1280, height=800, x_pos=0, y_pos=0, vsync=False)
    panel = None
    with dpg.window(tag="main"):
        with dpg.tab_bar() as bar:
            with dpg.tab(label="NeRF"):
                dpg.add_text("(not loaded)")
            with dpg.tab(label="Toy lab") as tab:
                if mode != "empty":
                    panel = ToyLabPanel(tab, Path("/tmp/toy_bench_run"))
                    panel.build()
    dpg.set_primary_window("main", True)
    dpg.set_value(bar, tab)
    dpg.setup_dearpygui()
    dpg.show_viewport()
    if mode == "train":
        panel._toggle_run()
    frame_s = 1.0 / fps_cap
    times, first, t_start = [], None, time.perf_counter()
    while dpg.is_dearpygui_running():
        now = time.perf_counter()
        dpg.run_callbacks(dpg.get_callback_queue())
        if panel is not None:
            panel.update()
        dpg.render_dearpygui_frame()
        textures.collect()
        snap = panel._last_snapshot if panel is not None else None
        steps = min(c.step for c in snap.configs) if snap and snap.configs else 0
        # Count frames once training is under way (or after a second when nothing trains).
        if (mode == "train" and steps > 0) or (mode != "train" and now - t_start > 1.0):
            first = first or (now, steps)
            times.append(now)
        if (times and now - times[0] > seconds) or now - t_start > seconds + 120:
            break
        spare = frame_s - (time.perf_counter() - now)
        if spare > 0:
            time.sleep(spare)
    shot = os.environ.get("TOY_BENCH_SCREENSHOT")
    if shot and mode == "train":
        subprocess.run(["import", "-window", "root", shot], check=False)
    if panel is not None:
        panel.shutdown()
    dpg.destroy_context()
    textures.forget()
    gaps = np.diff(times) if len(times) > 1 else np.array([np.nan])
    train_rate = (steps - first[1]) / (times[-1] - first[0]) if first and len(times) > 1 else 0.0
    print(json.dumps({"fps": float(1.0 / gaps.mean()), "p95_ms": float(np.percentile(gaps, 95) * 1e3),
                      "steps_per_s": float(train_rate)}))


def bench_ui(seconds: float, fps_cap: float) -> list[tuple[str, str, str]]:
    env = dict(os.environ)
    if env.get("DISPLAY"):
        return _ui_rows(env, seconds, fps_cap)
    if shutil.which("Xvfb") is None:
        return [("UI fps (toy tab, A and B training)", "skipped: no DISPLAY and no Xvfb", ">= 30")]
    with virtual_display() as display:
        return _ui_rows({**env, "DISPLAY": display}, seconds, fps_cap)


def _ui_rows(env: dict, seconds: float, fps_cap: float) -> list[tuple[str, str, str]]:
    rows = []
    for mode, label, target in (("empty", "UI fps, empty window (reference: the display alone)", ""),
                                ("idle", "UI fps, toy tab, not training", ""),
                                ("train", "UI fps, toy tab, A and B training (128 px)", ">= 30")):
        proc = subprocess.run([sys.executable, __file__, "--ui-child", str(seconds), "--fps-cap", str(fps_cap),
                               "--ui-mode", mode], env=env, capture_output=True, text=True, timeout=seconds + 240)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            rows.append((label, f"failed: {proc.stderr.strip()[-200:]}", target))
            continue
        r = json.loads(lines[-1])
        rows.append((f"{label}, cap {fps_cap:.0f}", f"{r['fps']:.1f} (p95 frame {r['p95_ms']:.0f} ms)", target))
        if mode == "train":
            rows.append(("toy training while the UI runs, steps/s per configuration", f"{r['steps_per_s']:.1f}", ""))
    return rows


def bench_ffn(size: int, steps: int, width: int, frequencies: int, threads: int) -> tuple[list, str]:
    torch.set_num_threads(threads)
    per_image = {}
    fit = presets.ffn_fit(steps)
    for name in PHOTO_NAMES:
        path = PHOTOS / f"{name}.png"
        if not path.exists():
            continue
        image = load_image(path, size)
        per_image[name] = presets.run_ffn(image, name, None, fit, width=width, frequencies=frequencies,
                                          log=lambda text: print(text, file=sys.stderr, flush=True))
    if not per_image:
        return [("ffn protocol", f"skipped: no photos in {PHOTOS}", "")], ""
    setting = f"{size}x{size} photos, train on the even {size // 2}x{size // 2} grid, {steps} steps, width {width}"
    return [], presets.ffn_table(per_image, setting)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=("steps", "ui", "ffn"), action="append")
    p.add_argument("--size", type=int, default=256, help="image side for steps/s")
    p.add_argument("--steps", type=int, default=30, help="timed steps for steps/s")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--ui-seconds", type=float, default=20.0)
    p.add_argument("--fps-cap", type=float, default=60.0)
    p.add_argument("--ffn-size", type=int, default=128, help="paper: 512")
    p.add_argument("--ffn-steps", type=int, default=500, help="paper: 2000")
    p.add_argument("--ffn-width", type=int, default=128, help="paper: 256")
    p.add_argument("--ffn-threads", type=int, default=1,
                   help="torch threads for ffn (1: two spinning OpenMP threads crawl on a busy 2-core machine)")
    p.add_argument("--ffn-frequencies", type=int, default=16, help="PE frequencies per axis (log-linear to sigma 10)")
    p.add_argument("--ui-child", type=float, help=argparse.SUPPRESS)
    p.add_argument("--ui-mode", default="train", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.ui_child is not None:
        _ui_child(args.ui_child, args.fps_cap, args.ui_mode)
        return 0
    only = set(args.only or ("steps", "ui", "ffn"))
    rows, ffn_text = [], ""
    if "steps" in only:
        for threads in args.threads:
            rows += bench_steps(args.size, args.steps, threads)
    if "ui" in only:
        rows += bench_ui(args.ui_seconds, args.fps_cap)
    if "ffn" in only:
        extra, ffn_text = bench_ffn(args.ffn_size, args.ffn_steps, args.ffn_width, args.ffn_frequencies,
                                    args.ffn_threads)
        rows += extra
    torch.set_num_threads(max(args.threads))
    load = os.getloadavg()[0]
    print(f"Toy lab benchmarks, {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} CPUs,"
          f" torch {torch.__version__}, load average {load:.1f} at the end\n")
    if rows:
        print("| measurement | value | target |\n|---|---:|---:|")
        for row in rows:
            print(f"| {row[0]} | {row[1]} | {row[2]} |")
        print()
    if ffn_text:
        print(ffn_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
