"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric"), AlexNet variant v0.1: the one the NeRF papers report.

The AlexNet feature stack is built here in plain torch with torchvision's layer layout, so a
torchvision AlexNet file (`alexnet-owt-7be5be79.pth`, the one torch.hub caches) loads into it
unchanged. torchvision itself is not a dependency: its release for a given torch pins that exact
torch version (torchvision 0.28 needs torch == 2.13, 0.29 needs >= 2.14), so `pip install lpips` on
a CPU torch would replace torch with a CUDA build. The five linear heads come from the `lpips`
package's own file (lpips/weights/v0.1/alex.pth), read without importing the package (importing it
imports torchvision); `pip install --no-deps lpips` installs them. Nothing is downloaded.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nerf.errors import InputError

BACKBONE_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's AlexNet weights, as torch.hub caches them
CHANNELS = (64, 192, 384, 256, 256)  # AlexNet's relu1..relu5 outputs, the layers LPIPS compares
# LPIPS v0.1 maps inputs from [-1, 1] to ImageNet's statistics: (x - shift) / scale
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def alexnet_features() -> nn.Sequential:
    """torchvision's `alexnet().features`, layer for layer (indices 0..12), so its state dict's
    `features.*` entries load as they are."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),   # 0, 1 -> relu1
        nn.MaxPool2d(kernel_size=3, stride=2),                                          # 2
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),            # 3, 4 -> relu2
        nn.MaxPool2d(kernel_size=3, stride=2),                                          # 5
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),           # 6, 7 -> relu3
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),           # 8, 9 -> relu4
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),           # 10, 11 -> relu5
        nn.MaxPool2d(kernel_size=3, stride=2),                                          # 12 (unused)
    )


TAPS = (1, 4, 7, 9, 11)  # indices of the ReLUs whose outputs are compared (lpips' slice1..slice5 ends)
MIN_SIDE = 31  # smallest image side that leaves the second max-pool a 3x3 input: (31 + 4 - 11) // 4 + 1 = 7 -> 3


@dataclass(frozen=True)
class LpipsFiles:
    """Where the two halves of LPIPS were found, or why not (`missing`)."""

    backbone: Path | None
    heads: Path | None
    missing: str = ""  # empty when both exist


def hub_backbone_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILE


def package_heads_path() -> Path | None:
    """lpips/weights/v0.1/alex.pth inside the installed `lpips` package, located without importing it."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "v0.1" / "alex.pth"
        if path.is_file():
            return path
    return None


def find_lpips_files(backbone: str | Path | None = None, heads: str | Path | None = None) -> LpipsFiles:
    """The AlexNet weights (`backbone`, else torch.hub's cache) and the linear heads (`heads`, else
    the lpips package's). A file named on the command line that does not exist is an InputError;
    a default that is absent only makes `missing` say so."""
    for flag, given in (("--lpips-weights", backbone), ("--lpips-heads", heads)):
        if given is not None and not Path(given).is_file():
            raise InputError(given, f"{flag}: no such file")
    backbone_path = Path(backbone) if backbone else hub_backbone_path()
    heads_path = Path(heads) if heads else package_heads_path()
    if not backbone_path.is_file():
        return LpipsFiles(None, heads_path, f"no AlexNet weights at {backbone_path} (give --lpips-weights FILE)")
    if heads_path is None:
        return LpipsFiles(backbone_path, None, "no LPIPS heads (pip install --no-deps lpips, or --lpips-heads FILE)")
    return LpipsFiles(backbone_path, heads_path)


def _state_dict(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged or foreign file
        raise InputError(path, f"not a torch weights file ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise InputError(path, "not a state dict")
    return state


class Lpips(nn.Module):
    """LPIPS distance between images: 0 for identical images, larger for perceptually further ones."""

    def __init__(self, backbone: str | Path, heads: str | Path):
        super().__init__()
        self.features = alexnet_features()
        state = _state_dict(Path(backbone))
        features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict(features)
        except RuntimeError as exc:
            raise InputError(backbone, f"not torchvision AlexNet weights ({str(exc).splitlines()[0]})") from None
        head_state = _state_dict(Path(heads))
        self.heads = nn.ParameterList()
        for i, channels in enumerate(CHANNELS):
            weight = head_state.get(f"lin{i}.model.1.weight")  # lpips' NetLinLayer: Dropout, then a 1x1 conv
            if weight is None or tuple(weight.shape) != (1, channels, 1, 1):
                raise InputError(heads, f"not LPIPS AlexNet heads (lin{i} missing or of another shape)")
            self.heads.append(nn.Parameter(weight.float(), requires_grad=False))
        self.register_buffer("shift", torch.tensor(SHIFT)[None, :, None, None])
        self.register_buffer("scale", torch.tensor(SCALE)[None, :, None, None])
        self.requires_grad_(False)
        self.eval()

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features[:TAPS[-1] + 1]):
            x = layer(x)
            if i in TAPS:
                outs.append(x)
        return outs

    @torch.no_grad()
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """LPIPS of pred against target, both [H, W, 3] in [0, 1]."""
        device = self.shift.device
        x, y = (((2.0 * img.float().to(device) - 1.0).permute(2, 0, 1)[None] - self.shift) / self.scale
                for img in (pred, target))  # [1, 3, H, W]
        total = 0.0
        for fx, fy, head in zip(self._taps(x), self._taps(y), self.heads, strict=True):
            # unit-normalise each pixel's feature vector over channels (lpips.normalize_tensor, eps 1e-10)
            fx = fx / (fx.norm(dim=1, keepdim=True) + 1e-10)
            fy = fy / (fy.norm(dim=1, keepdim=True) + 1e-10)
            total += float(F.conv2d((fx - fy) ** 2, head).mean())  # 1x1 head, then the spatial mean
        return total


def open_lpips(backbone: str | Path | None, heads: str | Path | None, device: torch.device
               ) -> tuple[Lpips | None, str]:
    """LPIPS on `device` with its note ("AlexNet v0.1"), or None and "skipped: no weights (<why>)"
    when a default file is absent. A file that is named but unreadable is an InputError."""
    files = find_lpips_files(backbone, heads)
    if files.missing:
        return None, f"skipped: no weights ({files.missing})"
    return Lpips(files.backbone, files.heads).to(device), "AlexNet v0.1"
