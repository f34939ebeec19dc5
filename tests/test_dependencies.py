"""pyproject.toml's dependency floors that carry a promise of the README."""
import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SAFE_WEIGHTS_ONLY = (2, 10)  # CVE-2025-32434 (< 2.6) and CVE-2026-24747 (< 2.10): README, Checkpoints


def _version(text: str) -> tuple[int, int]:
    major, minor = re.match(r"(\d+)\.(\d+)", text).groups()
    return int(major), int(minor)


def test_torch_floor_keeps_weights_only_loading_safe():
    text = (ROOT / "pyproject.toml").read_text()  # a regex, not tomllib: Python 3.10 is supported
    floors = re.findall(r'"torch\s*>=\s*([\d.]+)"', text)
    assert len(floors) == 1 and _version(floors[0]) >= SAFE_WEIGHTS_ONLY, floors
    assert _version(torch.__version__) >= SAFE_WEIGHTS_ONLY  # the installed one, that the tests run on
