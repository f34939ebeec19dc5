"""What the live view asks the worker to render, and when: an explicit state machine.

No window, no torch: tests/viewer/test_view_schedule.py drives it with a made-up clock.

While the camera moves, frames are small and interactive (few samples, served by the worker before
it trains): their resolution follows their render time towards MOVING_TARGET_S, from 1/16 up to 1/2
of full. Once the camera rests, the view refines from the last moving frame's level (1/4 or 1/2) to
full resolution, then keeps refreshing while training changes the model: the faster the model
renders, the sharper the moving view and the sooner the full one. While training, a level whose frame would take longer
than REFINE_MAX_S waits (the current level keeps refreshing and re-measures) until the model renders
faster or training pauses: on a CPU, ngp's full-resolution frame is an order of magnitude slower
before the occupancy grid's first refresh than after it, and waiting for it brings training to the
fast phase sooner; the vanilla model shows at half resolution while it trains on a CPU (BENCHMARKS.md,
"Viewer").
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

LEVELS = (0.25, 0.5, 1.0)  # resolution of each refinement level, relative to full quality
FULL = len(LEVELS) - 1  # the full-quality level
MOVING_SAMPLES = 64  # sample cap while the camera moves
MOVING_TARGET_S = 0.05  # render time aimed at for a frame while the camera moves
MIN_MOVING_SCALE = 1 / 16  # the smallest resolution a moving frame drops to
MAX_MOVING_SCALE = LEVELS[1]  # the largest it grows to (a moving frame caps its samples: never FULL)
REST_AFTER_S = 0.25  # the camera counts as resting this long after the last change (or at once when
#                       the drag's button is released: wheel and keys have no release to wait for)
REFINE_MAX_S = 3.0  # while training, the longest predicted frame a refinement may take


class State(Enum):
    LOW_MOVE = "low_move"  # the camera moves: small interactive frames, served before training
    STALE = "stale"  # the camera rests; the screen shows an older view, or nothing yet
    LOW_STATIC = "low_static"  # the current view is on screen below full quality
    HIGH = "high"  # the current view is on screen at full quality


class Event(Enum):
    MOVE = "move"  # the user moved the camera or changed a render setting
    RESIZE = "resize"  # a new frame is due (a resize, the window opening) but nobody interacts
    REST = "rest"  # REST_AFTER_S after the last move, or the release of the drag's button
    SHOWN_LOW = "shown_low"  # a frame of the current view went on screen below full quality
    SHOWN_FULL = "shown_full"  # ... at full quality


def _row(*states: State) -> dict[Event, State]:
    return dict(zip(Event, states, strict=True))


L, S, M, H = State.LOW_MOVE, State.STALE, State.LOW_STATIC, State.HIGH
# TRANSITIONS[state][event] -> the next state. After REST the view is STALE until it shows the
# current view; when the last moving frame already shows it, SHOWN_* follows at once.
TRANSITIONS: dict[State, dict[Event, State]] = {
    #              MOVE RESIZE REST SHOWN_LOW SHOWN_FULL
    State.LOW_MOVE: _row(L, L, S, L, L),  # moving frames are small whatever arrives
    State.STALE: _row(L, S, S, M, H),
    State.LOW_STATIC: _row(L, S, M, M, H),
    State.HIGH: _row(L, S, H, M, H),
}
del L, S, M, H
# What each state asks for, when no request is in flight (or the one in flight is a resting frame of
# an older view, not worth finishing however small) and no screenshot is due (one is taken at rest):
#   LOW_MOVE    a frame at the moving scale (its level: moving_level), interactive, while the screen
#               is behind the camera
#   STALE       level 0 (at the moving scale and interactive when a user's move waits for it) if the
#               screen holds level 0 or nothing, else level 1: a resize or a setting change at full
#               quality skips the quarter
#   LOW_STATIC  the next level when training is paused, the view is snapped to a dataset camera or
#               the next level is predicted to take at most REFINE_MAX_S; else (the refinement waits)
#               this level again once training took a step
#   HIGH        this level again once training took a step


def next_moving_scale(scale: float, seconds: float, target: float = MOVING_TARGET_S) -> float:
    """Resolution for the next moving frame after one at `scale` took `seconds` to render.

    Render time grows with the pixel count, i.e. with scale^2, so sqrt(target / seconds) corrects
    it in one step (at most 2x either way per frame, so one slow outlier cannot collapse it).
    Stays within [MIN_MOVING_SCALE, MAX_MOVING_SCALE]."""
    return _moving_range(scale * min(max(_time_ratio(seconds, target), 0.5), 2.0))


def first_moving_scale(scale: float, seconds: float, target: float = MOVING_TARGET_S) -> float:
    """Resolution for a first moving frame, guessed from a resting frame at `scale` that took
    `seconds` (render time grows with the pixel count). On the fox at 1/4 a quarter-resolution frame
    took 0.8 s, so a first drag at that scale waited as long for its first frame."""
    return _moving_range(scale * _time_ratio(seconds, target))


def _time_ratio(seconds: float, target: float) -> float:
    """How much to scale a frame's side so that it takes `target` where it took `seconds`."""
    return (target / max(seconds, 1e-4)) ** 0.5


def _moving_range(scale: float) -> float:
    return float(min(max(scale, MIN_MOVING_SCALE), MAX_MOVING_SCALE))


def moving_level(scale: float) -> int:
    """The level a moving frame at `scale` counts as: the highest one whose resolution it reaches
    (0 below LEVELS[0]). Once the camera rests, refinement goes on from the level after it."""
    return max([level for level, s in enumerate(LEVELS) if s <= scale] or [0])


def sample_cap(max_samples: int, interactive: bool) -> int | None:
    """Samples per ray for a request: the render setting (0: the model's own number), capped at
    MOVING_SAMPLES for interactive frames."""
    samples = max_samples or None
    if interactive:
        samples = min(samples or MOVING_SAMPLES, MOVING_SAMPLES)
    return samples


@dataclass(frozen=True)
class ViewTag:
    """What a render request was for; it comes back with the result."""
    version: int  # camera/settings version the frame was requested for
    level: int
    purpose: str = "view"  # "view" | "screenshot"
    snapped: tuple | None = None  # (split, index) when rendering a dataset camera
    scale: float = 1.0  # resolution relative to full quality
    interactive: bool = False  # served before training, at the moving scale and sample cap
    prompt: bool = False  # a view (or level) not yet on screen: served after the step in progress,
    #                       whatever the render share (only refreshes of a shown view wait their turn)


class OnScreen(NamedTuple):
    version: int
    level: int
    step: int  # the training step the frame was rendered at


class ViewSchedule:
    """The live view's render requests, one at a time, newest view first. `now` is any clock that
    only moves forward (the app passes time.perf_counter())."""

    def __init__(self):
        self.state = State.STALE
        self.version = 0  # bumped by every change of the camera or a render setting
        self.snapped: tuple | None = None  # (split, index, version) while on a dataset view
        self.screenshot_due = False
        self.moving_scale = LEVELS[0]  # resolution of frames while moving, adapted to their render time
        self.latencies_ms: list[float] = []  # first move -> first frame showing it, the last 200
        self.rest_to_full_s: list[float] = []  # the camera comes to rest -> its full-quality frame, the last 200
        self._rested_at: float | None = None  # when the camera came to rest on a view not yet shown at FULL
        self._shown: OnScreen | None = None
        self._inflight: ViewTag | None = None
        self._rest_from = 0.0  # time from which the camera counts as resting
        self._pending_move: tuple[int, float] | None = None  # (version, time) of the first unserved move
        self._level_cost: dict[int, tuple[float, float]] = {}  # level -> (seconds, scale) of its last frame
        self._moving_timed = False  # a moving frame's render time has set moving_scale

    @property
    def interacting(self) -> bool:
        """The user is moving the camera: the worker should serve frames before training."""
        return self.state is State.LOW_MOVE

    # --- events --------------------------------------------------------------------------------

    def _fire(self, event: Event) -> None:
        self.state = TRANSITIONS[self.state][event]

    def _fire_shown(self) -> None:
        """The screen shows the current view: say at which quality."""
        if self._shown is not None and self._shown.version == self.version:
            self._fire(Event.SHOWN_FULL if self._shown.level == FULL else Event.SHOWN_LOW)

    def changed(self, now: float, *, keep_snap: bool = False, moved: bool = True) -> None:
        """The camera or a render setting changed: the view is stale. moved=False (a resize, the
        window opening): a new frame is due, but nobody is interacting, so training keeps going."""
        self.version += 1
        if moved:
            self._rest_from = now + REST_AFTER_S
            if self._pending_move is None:
                self._pending_move = (self.version, now)
        self._fire(Event.MOVE if moved else Event.RESIZE)
        if keep_snap and self.snapped is not None:
            self.snapped = (*self.snapped[:2], self.version)

    def snap_to(self, split: str, index: int, now: float, moved: bool = True) -> None:
        """The camera was put on dataset view `index` of `split` (moved: as for `changed`)."""
        self.changed(now, moved=moved)
        self.snapped = (split, index, self.version)

    def released(self, now: float) -> None:
        """The drag is over: refine and train again now, not REST_AFTER_S after the last move."""
        self._rest_from = min(self._rest_from, now)

    def finished(self, tag: ViewTag, seconds: float | None) -> None:
        """The render for `tag` came back after `seconds` (None: aborted)."""
        if self._inflight == tag:
            self._inflight = None
        if seconds is None:
            return
        if tag.purpose == "view":
            self._level_cost[tag.level] = (seconds, tag.scale)
            if tag.interactive:
                self.moving_scale = next_moving_scale(self.moving_scale, seconds)
                self._moving_timed = True
            elif not self._moving_timed:  # no moving frame timed yet: don't let the first drag wait
                self.moving_scale = min(self.moving_scale, first_moving_scale(tag.scale, seconds))
        elif tag.purpose == "screenshot":
            self.screenshot_due = False

    def show(self, tag: ViewTag, step: int, now: float) -> bool:
        """A finished frame for `tag`, rendered at training step `step`, is ready: True when it goes
        on screen, i.e. it is not older than the one there."""
        if self._shown is not None and tag.version < self._shown.version:
            return False  # showing it would make the view jump back
        self._shown = OnScreen(tag.version, tag.level, step)
        if self._pending_move is not None and tag.version >= self._pending_move[0]:
            self.latencies_ms.append((now - self._pending_move[1]) * 1000.0)
            self.latencies_ms = self.latencies_ms[-200:]
            self._pending_move = None
        if self._rested_at is not None and tag.level == FULL and tag.version == self.version:
            self.rest_to_full_s = [*self.rest_to_full_s[-199:], now - self._rested_at]
            self._rested_at = None
        self._fire_shown()
        return True

    # --- requests ------------------------------------------------------------------------------

    def next_request(self, now: float, step: int, training: bool) -> ViewTag | None:
        """The next frame to ask for (it is then in flight), or None: nothing is due yet."""
        if self.state is State.LOW_MOVE and now >= self._rest_from:
            self._rested_at = now
            self._fire(Event.REST)
            self._fire_shown()
        if self._inflight is not None:  # a moving frame always finishes: the next one could be late too
            inflight = self._inflight
            stale = inflight.version != self.version and not inflight.interactive
            if not stale:
                return None
        if self.screenshot_due and self.state is not State.LOW_MOVE:
            return self._ask(FULL, purpose="screenshot")
        shown = self._shown
        if self.state is State.LOW_MOVE:
            behind = shown is None or shown.version != self.version
            return self._ask(0, interactive=True) if behind else None
        if self.state is State.STALE:
            low = shown is None or shown.level == 0
            return self._ask(0 if low else 1, interactive=low and self._pending_move is not None)
        if self.state is State.LOW_STATIC and (not training or self.snap() or self.refine_seconds() <= REFINE_MAX_S):
            return self._ask(shown.level + 1)
        if training and step != shown.step:
            return self._ask(shown.level)  # the model moved on: refresh (the worker paces this by the share)
        return None

    def _ask(self, level: int, purpose: str = "view", interactive: bool = False) -> ViewTag:
        scale = self.moving_scale if interactive else LEVELS[level]
        if interactive:
            level = moving_level(scale)
        shown = self._shown
        prompt = shown is None or shown.version != self.version or level > shown.level or purpose != "view"
        self._inflight = ViewTag(self.version, level, purpose, self.snap(), scale, interactive, prompt)
        return self._inflight

    def refine_seconds(self) -> float:
        """Predicted render time of the level after the one on screen: the last frame of the
        current level, scaled by the pixel count (0 when nothing is known yet)."""
        if self._shown is None or self._shown.level not in self._level_cost:
            return 0.0
        seconds, scale = self._level_cost[self._shown.level]
        return seconds * (LEVELS[min(self._shown.level + 1, FULL)] / scale) ** 2

    def snap(self) -> tuple | None:
        """(split, index) while the camera sits on the dataset view it was snapped to."""
        return self.snapped[:2] if self.snapped and self.snapped[2] == self.version else None
