"""Package data: the embedded default scene and the toy lab's default image.

Loaded through importlib.resources so it works from an installed wheel, not only a checkout.
"""
from importlib import resources
from pathlib import Path


def default_scene_path() -> Path:
    """Folder of the embedded default scene (Blender / NeRF-synthetic format)."""
    return Path(str(resources.files("assets") / "default_scene"))


def default_image_path() -> Path:
    """The toy lab's default image (a detailed render of the default scene)."""
    return Path(str(resources.files("assets") / "toy_default.png"))
