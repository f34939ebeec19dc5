"""The shortcut table: a key runs its action, Ctrl and the tab are respected, and the help lists
every labelled binding."""
import pytest

from viewer.keys import BINDINGS, MOUSE_HELP, Binding, KeyMap, help_lines


def code(name: str) -> int:
    """A made-up key code, distinct for distinct names."""
    return int.from_bytes(name.encode(), "big")


def _keymap(bindings=BINDINGS):
    ran = []
    actions = {b.action: (lambda a=b.action: ran.append(a)) for b in bindings}
    return KeyMap(bindings, actions, code_of=code), ran


def test_a_key_runs_its_action_on_the_nerf_tab_only_unless_bound_everywhere():
    keys, ran = _keymap()
    assert keys.handle(code("P"), ctrl=False, on_nerf_tab=True) == "screenshot"
    keys.release(code("P"))
    assert keys.handle(code("F12"), ctrl=False, on_nerf_tab=True) == "screenshot"
    assert keys.handle(code("P"), ctrl=False, on_nerf_tab=False) is None
    assert keys.handle(code("Escape"), ctrl=False, on_nerf_tab=False) == "quit"
    assert ran == ["screenshot", "screenshot", "quit"]


def test_a_held_key_acts_once_until_released():
    keys, ran = _keymap()
    assert keys.handle(code("G"), ctrl=False, on_nerf_tab=True) == "record"
    assert keys.handle(code("G"), ctrl=False, on_nerf_tab=True) is None  # the press repeats while held
    keys.release(code("G"))
    assert keys.handle(code("G"), ctrl=False, on_nerf_tab=True) == "record"
    assert ran == ["record", "record"]


def test_ctrl_selects_between_bindings_of_one_key():
    keys, _ = _keymap()
    assert keys.handle(code("R"), ctrl=True, on_nerf_tab=True) is None  # Ctrl+R is not "reset camera"
    keys.release(code("R"))
    assert keys.handle(code("R"), ctrl=False, on_nerf_tab=True) == "reset_camera"
    assert keys.handle(code("Q"), ctrl=True, on_nerf_tab=True) == "quit"
    keys.release(code("Q"))
    assert keys.handle(code("Q"), ctrl=False, on_nerf_tab=True) is None  # plain Q moves the camera down
    assert keys.handle(code("Escape"), ctrl=True, on_nerf_tab=True) == "quit"


def test_an_action_without_a_callable_is_refused_at_once():
    with pytest.raises(ValueError, match="record"):
        KeyMap((Binding(("G",), "record", "rec"),), {}, code_of=code)


def test_the_help_lists_the_mouse_and_every_labelled_binding():
    lines = help_lines()
    assert lines[:len(MOUSE_HELP)] == list(MOUSE_HELP)
    texts = {k for k, _ in lines}
    for b in BINDINGS:
        if b.label:
            assert b.text in texts
    assert ("Space", "pause / resume training") in lines
    assert all(label for _, label in lines)
