"""Every numeric flag of every command refuses nan, inf and overflowing numbers at parse time (one
argparse line, exit 2), and the bounded ones refuse what lies outside their range: issue 28 found
`nerf-render --fps nan` ending in a traceback and `--fps 0` silently ignored.

nerf-train's and nerf-viewer's flags are defined once, in nerf/commands/train_flags.py.
"""
from __future__ import annotations

import argparse

import pytest

from nerf.commands import evaluate, export, generate, process, render, train
from nerf.commands.export import main as export_main
from nerf.commands.process import main as process_main
from nerf.commands.render import main as render_main
from nerf.commands.train import main as train_main
from toy import cli as toy_cli
from viewer import cli as viewer_cli

PARSERS = {"nerf-render": render.build_parser, "nerf-export": export.build_parser,
           "nerf-process": process.build_parser, "nerf-eval": evaluate.build_parser,
           "nerf-generate": generate.build_parser, "nerf-toy": toy_cli.build_parser,
           "nerf-train": train.build_parser, "nerf-viewer": viewer_cli.build_parser}
NEVER_A_NUMBER = ["nan", "-nan", "inf", "-inf", "1e999", "9" * 5000, "", "0x10", "1,5"]


def _numeric_flags(parser: argparse.ArgumentParser, prefix: str = ""):
    """(name, type) of every option parsed as a number, subcommands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_flags(sub, f"{prefix}{name} ")
        elif action.option_strings and getattr(action.type, "__name__", None) in ("int", "float"):
            yield f"{prefix}{action.option_strings[-1]}", action.type


FLAGS = [(prog, name, kind) for prog, build in PARSERS.items() for name, kind in _numeric_flags(build())]


def test_the_commands_have_numeric_flags_to_check():
    assert len(FLAGS) >= 20 and {"nerf-render --fps", "nerf-export --resolution",
                                 "nerf-process --frames", "nerf-train --minutes", "nerf-viewer --autosave",
                                 "nerf-train --eval-views"} <= {f"{p} {n}" for p, n, _ in FLAGS}


@pytest.mark.parametrize("prog, flag, kind", FLAGS, ids=[f"{p} {n}" for p, n, _ in FLAGS])
def test_no_numeric_flag_takes_a_non_finite_or_overflowing_number(prog, flag, kind):
    for text in NEVER_A_NUMBER:
        # argparse turns exactly these three into its one-line usage error, exit 2
        with pytest.raises((argparse.ArgumentTypeError, ValueError, TypeError)):
            kind(text)


CASES = [
    (render_main, ["--fps", "nan"], "argument --fps"), (render_main, ["--fps", "inf"], "argument --fps"),
    (render_main, ["--fps", "0"], "argument --fps"), (render_main, ["--fps", "-1"], "argument --fps"),
    (render_main, ["--fps", "1e9"], "argument --fps"), (render_main, ["--downscale", "0"], "argument --downscale"),
    (export_main, ["mesh", "--resolution", "1e12"], "argument --resolution"),
    (export_main, ["mesh", "--resolution", "-5"], "argument --resolution"),
    (export_main, ["pointcloud", "--points", "0"], "argument --points"),
    (export_main, ["mesh", "--threshold", "nan"], "argument --threshold"),
    (export_main, ["mesh", "--faces", "-1"], "argument --faces"),
    (process_main, ["--frames", "-1"], "argument --frames"), (process_main, ["--frames", "1e10"], "argument --frames"),
    (process_main, ["--max-size", "0"], "argument --max-size"),
    (train_main, ["--minutes", "nan"], "argument --minutes"),
    (train_main, ["--autosave", "nan"], "argument --autosave"),
    (train_main, ["--threads", "-1"], "argument --threads"),
    (train_main, ["--eval-views", "0"], "argument --eval-views"),
    (train_main, ["--batch-rays", "0"], "argument --batch-rays"), (train_main, ["--seed", "-1"], "argument --seed"),
    (viewer_cli.main, ["--minutes", "inf"], "argument --minutes"),
    (viewer_cli.main, ["--steps", "0"], "argument --steps"),
]


@pytest.mark.parametrize("main, extra, needle", CASES, ids=[" ".join(c[1]) for c in CASES])
def test_a_bad_number_is_refused_before_any_work(main, extra, needle, tmp_path, capsys):
    positional = {render_main: [str(tmp_path / "missing.pt"), "--dataset", "test", "--out", str(tmp_path / "o.mp4")],
                  export_main: [str(tmp_path / "missing.pt"), "--out", str(tmp_path / "o.ply")],
                  process_main: [str(tmp_path / "missing.mp4"), str(tmp_path / "scene")],
                  train_main: [str(tmp_path / "missing"), "--out", str(tmp_path / "run")],
                  viewer_cli.main: [str(tmp_path / "missing"), "--out", str(tmp_path / "run")]}[main]
    kind = extra[:1] if main is export_main else []
    with pytest.raises(SystemExit) as exit_info:
        main(kind + positional + extra[len(kind):])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("nerf-") and needle in err.strip().splitlines()[-1], err
    assert list(tmp_path.iterdir()) == []  # refused before anything was written
