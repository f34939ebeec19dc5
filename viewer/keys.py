"""The keyboard shortcuts: one table, read by the app (what a key does) and by the help overlay
(what to show). No window here: key names are DearPyGui's without the `mvKey_` prefix, and the
app passes the function that turns them into key codes (tests/viewer/test_keys.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Binding:
    keys: tuple[str, ...]  # any of these, e.g. ("P", "F12")
    action: str  # the name the app maps to a callable
    label: str  # for the help overlay
    shown: str = ""  # how the help writes the keys (default: the names joined by " / ")
    ctrl: bool | None = False  # Ctrl held (True), not held (False) or either (None)
    everywhere: bool = False  # on every tab, not only the NeRF tab

    @property
    def text(self) -> str:
        return self.shown or " / ".join(self.keys)


BINDINGS: tuple[Binding, ...] = (
    Binding(("F1",), "help", "show / hide this help"),
    Binding(("Spacebar",), "train", "pause / resume training", shown="Space"),
    Binding(("P", "F12"), "screenshot", "screenshot of the view (PNG + its pose)"),
    Binding(("G",), "record", "start / stop recording the view (GIF / MP4)"),
    Binding(("K",), "keyframe", "add the view to the camera path"),
    Binding(("T",), "evaluate", "evaluate the test views (PSNR)"),
    Binding(("R",), "reset_camera", "back to the first view (leaves a snapped view)"),
    Binding(("Open_Brace",), "prev_camera", "previous training camera (snaps to it)", shown="["),
    Binding(("Close_Brace",), "next_camera", "next training camera (snaps to it)", shown="]"),
    Binding(("Escape",), "quit", "quit (the training is saved)", shown="Esc / Ctrl+Q", ctrl=None,
            everywhere=True),
    Binding(("Q",), "quit", "", ctrl=True, everywhere=True),
)

# Mouse and held keys: the live view reads these itself (viewer.panels.view); listed for the help.
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("left drag", "orbit about the point the cameras look at"),
    ("right / middle drag", "pan"),
    ("wheel", "zoom"),
    ("W A S D / Q E", "move ahead, left, back, right / down, up"),
)


class KeyMap:
    """Key code -> action. `code_of(name)`: DearPyGui's key code for a key name; `actions`: the
    callable of each action name the bindings use."""

    def __init__(self, bindings: tuple[Binding, ...], actions: dict[str, Callable[[], None]],
                 code_of: Callable[[str], int]):
        missing = {b.action for b in bindings} - set(actions)
        if missing:
            raise ValueError(f"no action for {sorted(missing)}")
        self._actions = actions
        self._held: set[int] = set()
        self._by_code: dict[int, list[Binding]] = {}
        for b in bindings:
            for name in b.keys:
                self._by_code.setdefault(code_of(name), []).append(b)

    def handle(self, code: int, *, ctrl: bool, on_nerf_tab: bool) -> str | None:
        """Run the action bound to key `code`; returns its name (None: the key does nothing here).

        A key held down acts once: DearPyGui repeats the press while a key is held, and on a busy
        CPU a frame can outlast the repeat delay, so that one tap of G would start and stop a recording."""
        if code in self._held:
            return None
        self._held.add(code)
        for b in self._by_code.get(code, ()):
            if (b.ctrl is None or b.ctrl == ctrl) and (b.everywhere or on_nerf_tab):
                self._actions[b.action]()
                return b.action
        return None

    def release(self, code: int) -> None:
        """Key `code` went up: its next press acts again."""
        self._held.discard(code)


def help_lines(bindings: tuple[Binding, ...] = BINDINGS) -> list[tuple[str, str]]:
    """(keys, what they do) for the help overlay: the mouse first, then each labelled binding."""
    return list(MOUSE_HELP) + [(b.text, b.label) for b in bindings if b.label]
