"""nerf/commands/cli.py: the --version every entry point shares, and warnings about input as one line."""
from __future__ import annotations

import importlib.metadata
import warnings

import pytest

from nerf.commands import evaluate, export, plot, process, render, train
from nerf.commands.cli import guarded_main
from nerf.errors import warn_input
from toy import cli as toy_cli
from viewer import cli as viewer_cli

PARSERS = {"nerf-train": train.build_parser, "nerf-render": render.build_parser,
           "nerf-export": export.build_parser, "nerf-process": process.build_parser,
           "nerf-viewer": viewer_cli.build_parser, "nerf-toy": toy_cli.build_parser,
           "nerf-eval": evaluate.build_parser, "nerf-plot": plot.build_parser}


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_command_prints_the_package_version(prog, capsys):
    with pytest.raises(SystemExit) as exit_info:
        PARSERS[prog]().parse_args(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"{prog} {importlib.metadata.version('nerf-viewer')}"


def test_an_input_warning_is_one_line_and_other_warnings_pass_on(capsys):
    def body():
        warn_input("scene/transforms.json", "3 frames have 'mask_path': not used")
        warnings.warn("something else", RuntimeWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        before = warnings.showwarning
        assert guarded_main("nerf-x", body) == 0
        assert warnings.showwarning is before  # the one-line form ends with the body
    assert capsys.readouterr().err == "nerf-x: warning: scene/transforms.json: 3 frames have 'mask_path': not used\n"
    assert [str(w.message) for w in log] == ["something else"]  # shown as Python shows it, not turned into a line
