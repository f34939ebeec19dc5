"""nerf/commands/cli.py: the --version every entry point shares."""
from __future__ import annotations

import importlib.metadata

import pytest

from nerf.commands import export, process, render, train
from toy import cli as toy_cli
from viewer import cli as viewer_cli

PARSERS = {"nerf-train": train.build_parser, "nerf-render": render.build_parser,
           "nerf-export": export.build_parser, "nerf-process": process.build_parser,
           "nerf-viewer": viewer_cli.build_parser, "nerf-toy": toy_cli.build_parser}


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_command_prints_the_package_version(prog, capsys):
    with pytest.raises(SystemExit) as exit_info:
        PARSERS[prog]().parse_args(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"{prog} {importlib.metadata.version('nerf-viewer')}"
