"""The live view's render requests: what it asks the worker for, and when (no display needed).

viewer.view_schedule is a state machine driven here with a made-up clock: `now` is any number that
only moves forward.
"""
import random

import pytest

from viewer.view_schedule import (FULL, LEVELS, MOVING_SAMPLES, REFINE_MAX_S, REST_AFTER_S, TRANSITIONS,
                                  MAX_MOVING_SCALE, Event, State, ViewSchedule, ViewTag, moving_level,
                                  next_moving_scale, sample_cap, first_moving_scale)


class Loop:
    """The view's side of the app loop without a window: asks the schedule for the next frame each
    tick and answers requests as the worker would."""

    def __init__(self):
        self.schedule = ViewSchedule()
        self.requests: list[ViewTag] = []

    def tick(self, now: float, step: int, training: bool = True) -> ViewTag | None:
        tag = self.schedule.next_request(now, step, training)
        if tag is not None:
            self.requests.append(tag)
        return tag

    def serve(self, now: float, seconds: float, step: int, training: bool = True) -> None:
        """The worker answers the newest request after `seconds`; the view then schedules the next."""
        tag = self.requests[-1]
        self.schedule.finished(tag, seconds)
        self.schedule.show(tag, step, now)
        self.tick(now, step, training)


@pytest.fixture
def loop() -> Loop:
    return Loop()


def test_the_first_frame_does_not_stop_training_but_a_camera_move_does(loop):
    s = loop.schedule
    s.changed(10.0, moved=False)  # the window opens (a resize)
    loop.tick(10.0, step=0)
    first = loop.requests[0]
    assert len(loop.requests) == 1 and not first.interactive and not s.interacting
    assert first.scale == LEVELS[0] and sample_cap(0, first.interactive) is None  # a quarter, all samples
    loop.serve(10.5, 0.1, step=1)
    s.changed(10.6)  # a drag
    loop.tick(10.6, step=1)
    moving = loop.requests[-1]
    assert s.interacting and moving.interactive and moving.level == 0
    assert sample_cap(0, moving.interactive) == MOVING_SAMPLES
    loop.tick(10.6 + REST_AFTER_S / 2, step=1)
    assert s.interacting  # a pause mid-drag is not rest yet
    s.released(10.7)
    loop.tick(10.7, step=1)
    assert not s.interacting  # releasing the button ends the drag at once: training goes on


def test_refinement_waits_while_a_full_frame_would_take_too_long(loop):
    loop.tick(10.0, step=0)
    loop.serve(10.1, 0.01, step=0)  # level 0, fast: level 1 is asked for
    assert loop.requests[-1].level == 1
    slow = REFINE_MAX_S / 2  # level 2 has 4x the pixels: ~2x REFINE_MAX_S
    loop.serve(10.2, slow, step=1)
    assert loop.schedule.refine_seconds() > REFINE_MAX_S
    assert loop.requests[-1].level == 1  # training moved on: refresh level 1, do not refine
    loop.serve(10.3, slow, step=1)
    n = len(loop.requests)
    loop.tick(10.4, step=1)
    assert len(loop.requests) == n  # nothing new while the step is the same
    loop.serve(10.5, REFINE_MAX_S / 8, step=2)  # the model got cheaper: refine
    assert loop.requests[-1].level == FULL


@pytest.mark.parametrize("paused, snapped", [(True, False), (False, True)])
def test_paused_training_or_a_dataset_view_always_refine_to_full_resolution(loop, paused, snapped):
    loop.tick(10.0, step=0)
    loop.serve(10.1, 0.01, step=0)
    if snapped:
        loop.schedule.snap_to("train", 0, 10.1)
        loop.schedule.released(10.1)  # the slider let go: no rest to wait for
        loop.serve(10.15, 0.01, step=0)  # the level 1 asked for before the snap arrives
        assert loop.requests[-1].snapped == ("train", 0) and loop.requests[-1].level == 1
    loop.serve(10.2, 10 * REFINE_MAX_S, step=1, training=not paused)
    assert loop.requests[-1].level == FULL


def test_a_slow_resting_frame_shrinks_the_first_drag_s_frames(loop):
    loop.tick(10.0, step=0)
    loop.serve(10.8, 0.8, step=0)  # the window's first frame, a quarter of full, took 0.8 s (the fox at 1/4)
    loop.schedule.changed(11.0)
    loop.tick(11.0, step=0)
    first = loop.requests[-1]
    assert first.interactive and first.scale == first_moving_scale(LEVELS[0], 0.8) == LEVELS[0] / 4
    loop.serve(11.1, 0.2, step=0)  # from now on moving frames time themselves: a slow one shrinks the next
    loop.schedule.changed(11.2)
    loop.tick(11.2, step=0)
    assert loop.requests[-1].scale == next_moving_scale(LEVELS[0] / 4, 0.2)


def test_a_slow_moving_frame_shrinks_the_next_one(loop):
    loop.schedule.changed(10.0)
    loop.tick(10.0, step=0)
    loop.serve(10.1, 1.0, step=0)  # 20x the target: the next moving frame is smaller
    loop.schedule.changed(10.2)
    loop.tick(10.2, step=0)
    assert loop.requests[-1].interactive and loop.requests[-1].scale == next_moving_scale(LEVELS[0], 1.0)


def test_fast_moving_frames_grow_to_half_resolution_and_rest_refines_straight_to_full(loop):
    s = loop.schedule
    for i in range(6):  # a drag whose frames render in 5 ms, a tenth of the target
        s.changed(10.0 + 0.01 * i)
        loop.tick(10.0 + 0.01 * i, step=0)
        loop.serve(10.005 + 0.01 * i, 0.005, step=0)
    assert s.moving_scale == MAX_MOVING_SCALE == LEVELS[1]
    s.changed(10.1)
    loop.tick(10.1, step=0)
    moving = loop.requests[-1]
    assert moving.interactive and moving.scale == LEVELS[1] and moving.level == moving_level(LEVELS[1]) == 1
    s.changed(10.11)  # the camera moves on while that frame renders: it is finished all the same
    assert loop.tick(10.11, step=0) is None
    loop.serve(10.12, 0.005, step=0)  # ... and the next moving frame follows it
    assert loop.requests[-1].interactive and loop.requests[-1].version == s.version
    s.released(10.2)
    loop.serve(10.2, 0.005, step=0)  # the last moving frame shows the resting view at 1/2
    assert not s.interacting and loop.requests[-1].level == FULL  # no quarter, no second half
    assert [moving_level(x) for x in (1 / 16, LEVELS[0], 0.4, LEVELS[1])] == [0, 0, 0, 1]


def test_the_transition_table_covers_every_state_and_event():
    assert set(TRANSITIONS) == set(State)
    for state, row in TRANSITIONS.items():
        assert set(row) == set(Event), state
        assert row[Event.MOVE] is State.LOW_MOVE  # a user's move always gets small frames first


# Each case: what happens to a fresh view, starting at time 10, as a list of steps; then the state
# it ends in and the request its last step made, as (level, interactive), or None: nothing asked.
#   ("tick", step)   the loop asks for the next frame     ("serve", seconds, step)  the newest request answered
#   ("move",)        a user's change                      ("resize",)               a change nobody made
#   ("rest",)        the drag's button released           ("wait", s)               s more seconds pass
#   ("pause",)       training pauses                      ("shot",)                 a screenshot is asked for
FULL_QUALITY = [("tick", 0), ("serve", 0.01, 0), ("serve", 0.01, 0), ("serve", 0.01, 0)]
DRAGGED = [("move",), ("tick", 0), ("serve", 0.01, 0)]
CASES = {
    "the window opens": ([("tick", 0)], State.STALE, (0, False)),
    "the first frame: level 1 next": ([("tick", 0), ("serve", 0.01, 0)], State.LOW_STATIC, (1, False)),
    "level 1: full quality next": (FULL_QUALITY[:3], State.LOW_STATIC, (FULL, False)),
    "full quality: quiet": (FULL_QUALITY, State.HIGH, None),
    "full quality, a training step: refresh": (FULL_QUALITY + [("tick", 1)], State.HIGH, (FULL, False)),
    "full quality, paused: quiet": ([("pause",)] + FULL_QUALITY + [("tick", 1)], State.HIGH, None),
    "a drag abandons the refinement in flight": (FULL_QUALITY[:2] + [("move",), ("tick", 0)],
                                                 State.LOW_MOVE, (0, True)),
    # on the fox at 1/4 a quarter-resolution refresh took 0.6-0.9 s on a CPU: a drag that waited for
    # it took 0.8-1.2 s to show its first frame (BENCHMARKS.md, "The viewer on real captures")
    "a drag abandons a quarter-resolution refresh in flight": (
        [("tick", 0), ("serve", REFINE_MAX_S, 0), ("tick", 1), ("move",), ("tick", 1)], State.LOW_MOVE, (0, True)),
    "a drag, its frame shown: quiet": (DRAGGED, State.LOW_MOVE, None),
    # the drag's first frame took 10 ms, a fifth of the target: the next one is at 1/2, level 1
    "a resize while dragging: a moving frame": (DRAGGED + [("resize",), ("tick", 0)], State.LOW_MOVE, (1, True)),
    "rest after a drag: level 1": (DRAGGED + [("wait", REST_AFTER_S), ("tick", 0)], State.LOW_STATIC, (1, False)),
    "release after a drag: level 1 at once": (DRAGGED + [("rest",), ("tick", 0)], State.LOW_STATIC, (1, False)),
    "rest before the drag's frame: it stays in flight": ([("move",), ("tick", 0), ("move",), ("rest",), ("tick", 0)],
                                                         State.STALE, None),
    "an older view's frame: still stale": ([("move",), ("tick", 0), ("move",), ("rest",), ("tick", 0),
                                            ("serve", 0.01, 0)], State.STALE, (0, False)),
    "a resize at full quality skips the quarter": (FULL_QUALITY + [("resize",), ("tick", 0)], State.STALE, (1, False)),
    "a resize at level 0 asks level 0 again": (FULL_QUALITY[:2] + [("resize",), ("tick", 0)], State.STALE, (0, False)),
    "too slow while training: the refinement waits": (FULL_QUALITY[:2] + [("serve", REFINE_MAX_S, 0)],
                                                      State.LOW_STATIC, None),
    "waiting, a training step: refresh level 1": (FULL_QUALITY[:2] + [("serve", REFINE_MAX_S, 0), ("tick", 1)],
                                                  State.LOW_STATIC, (1, False)),
    "waiting, paused: refine": (FULL_QUALITY[:2] + [("serve", REFINE_MAX_S, 0), ("pause",), ("tick", 0)],
                                State.LOW_STATIC, (FULL, False)),
    "a screenshot at rest": (FULL_QUALITY + [("shot",), ("tick", 0)], State.HIGH, (FULL, False)),
    "a screenshot waits for rest": (FULL_QUALITY + [("shot",), ("move",), ("tick", 0)], State.LOW_MOVE, (0, True)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_states_and_requests(loop, name):
    steps, state, asked = CASES[name]
    now, training, n = 10.0, True, 0
    for step in steps:
        n = len(loop.requests)
        if step[0] == "tick":
            loop.tick(now, step[1], training)
        elif step[0] == "serve":
            loop.serve(now, step[1], step[2], training)
        elif step[0] == "move":
            loop.schedule.changed(now)
        elif step[0] == "resize":
            loop.schedule.changed(now, moved=False)
        elif step[0] == "rest":
            loop.schedule.released(now)
        elif step[0] == "wait":
            now += step[1]
        elif step[0] == "pause":
            training = False
        elif step[0] == "shot":
            loop.schedule.screenshot_due = True
        now += 0.01
    assert loop.schedule.state is state
    made = [(t.level, t.interactive) for t in loop.requests[n:]]
    assert made == ([] if asked is None else [asked])


def test_a_screenshot_is_a_full_quality_render_and_is_taken_once(loop):
    for step in FULL_QUALITY:
        getattr(loop, step[0])(10.0, *step[1:])
    loop.schedule.screenshot_due = True
    shot = loop.tick(10.1, step=0)
    assert shot.purpose == "screenshot" and shot.level == FULL and shot.scale == LEVELS[FULL]
    loop.serve(10.2, 0.5, step=0)
    assert not loop.schedule.screenshot_due and loop.tick(10.3, step=0) is None


class Reference:
    """The schedule as it was written before the state machine (conditions re-evaluated each tick,
    no stored state): the slow, obvious version the machine must agree with."""

    def __init__(self):
        self.version, self.snapped, self.screenshot_due = 0, None, False
        self.inflight = self.shown = self.pending_move = None
        self.rest_from, self.interacting, self.moving_scale = 0.0, False, LEVELS[0]
        self.cost, self.latencies, self.moving_timed = {}, [], False

    def changed(self, now, keep_snap=False, moved=True):
        self.version += 1
        if moved:
            self.rest_from = now + REST_AFTER_S
            if self.pending_move is None:
                self.pending_move = (self.version, now)
        if keep_snap and self.snapped is not None:
            self.snapped = (*self.snapped[:2], self.version)

    def snap(self):
        return self.snapped[:2] if self.snapped and self.snapped[2] == self.version else None

    def receive(self, tag, seconds, step, now):
        self.inflight = None if self.inflight == tag else self.inflight
        if seconds is not None:
            self.screenshot_due = self.screenshot_due and tag.purpose != "screenshot"
            if tag.purpose == "view":
                self.cost[tag.level] = (seconds, tag.scale)
                if tag.interactive:
                    self.moving_scale = next_moving_scale(self.moving_scale, seconds)
                    self.moving_timed = True
                elif not self.moving_timed:
                    self.moving_scale = min(self.moving_scale, first_moving_scale(tag.scale, seconds))
            if self.shown is None or tag.version >= self.shown[0]:
                self.shown = (tag.version, tag.level, step)
                if self.pending_move is not None and tag.version >= self.pending_move[0]:
                    self.latencies.append((now - self.pending_move[1]) * 1000.0)
                    self.pending_move = None

    def refine_seconds(self):
        if self.shown is None or self.shown[1] not in self.cost:
            return 0.0
        seconds, scale = self.cost[self.shown[1]]
        return seconds * (LEVELS[min(self.shown[1] + 1, FULL)] / scale) ** 2

    def next_request(self, now, step, training):
        resting = now >= self.rest_from
        if resting == self.interacting:
            self.interacting = not resting
        if self.inflight is not None:
            if not (self.inflight.version != self.version and not self.inflight.interactive):
                return None
        if self.screenshot_due and resting:
            return self.ask(FULL, "screenshot")
        if self.shown is None or self.shown[0] != self.version:
            level = 0 if not resting or self.shown is None or self.shown[1] == 0 else 1
            return self.ask(level, interactive=level == 0 and (not resting or self.pending_move is not None))
        if not resting:
            return None
        if self.shown[1] < FULL and (not training or self.snap() or self.refine_seconds() <= REFINE_MAX_S):
            return self.ask(self.shown[1] + 1)
        if training and step != self.shown[2]:
            return self.ask(self.shown[1])
        return None

    def ask(self, level, purpose="view", interactive=False):
        scale = self.moving_scale if interactive else LEVELS[level]
        level = moving_level(scale) if interactive else level
        # prompt: anything but a refresh of the view and level already on screen
        prompt = purpose != "view" or self.shown is None or self.shown[0] != self.version or level > self.shown[1]
        self.inflight = ViewTag(self.version, level, purpose, self.snap(), scale, interactive, prompt)
        return self.inflight


@pytest.mark.parametrize("seed", range(40))
def test_the_state_machine_asks_what_the_plain_conditions_ask(seed):
    rng = random.Random(seed)
    machine, ref = ViewSchedule(), Reference()
    now, step, training, sent = 10.0, 0, True, []
    for _ in range(300):
        now += rng.choice((0.0, 0.01, 0.05, 0.1, 0.3))
        event = rng.choice(("tick", "tick", "tick", "serve", "serve", "move", "resize", "setting",
                            "release", "snap", "shot", "step", "pause"))
        if event == "tick":
            tags = machine.next_request(now, step, training), ref.next_request(now, step, training)
            assert tags[0] == tags[1]
            assert machine.interacting == ref.interacting
            sent += [tags[0]] if tags[0] else []
        elif event == "serve" and sent:
            tag = sent.pop(rng.choice((-1, -1, -1, 0)))  # mostly the newest; sometimes a late, older one
            seconds = rng.choice((None, 0.005, 0.05, 0.5, 2.0, 8.0))
            machine.finished(tag, seconds)
            ref.receive(tag, seconds, step, now)
            if seconds is not None:
                machine.show(tag, step, now)
        elif event in ("move", "resize", "setting"):
            for s in (machine, ref):
                s.changed(now, keep_snap=event == "setting", moved=event != "resize")
        elif event == "release":
            machine.released(now)
            ref.rest_from = min(ref.rest_from, now)
        elif event == "snap":
            machine.snap_to("train", 1, now)
            ref.changed(now)
            ref.snapped = ("train", 1, ref.version)
        elif event == "shot":
            machine.screenshot_due = ref.screenshot_due = True
        elif event == "step":
            step += 1
        elif event == "pause":
            training = not training
        assert machine.snap() == ref.snap() and machine.refine_seconds() == ref.refine_seconds()
        assert machine.latencies_ms == ref.latencies[-200:] and machine.moving_scale == ref.moving_scale


def test_a_view_at_rest_refines_promptly_but_refreshes_of_it_wait_their_turn(loop):
    s = loop.schedule
    s.changed(0.0, moved=False)
    loop.tick(0.0, step=0)
    assert loop.requests[-1].prompt  # nothing on screen yet
    loop.serve(0.1, 0.05, step=1)  # level 0 shown: level 1 is asked for at once
    assert loop.requests[-1].level == 1 and loop.requests[-1].prompt
    loop.serve(0.3, 0.1, step=2)
    assert loop.requests[-1].level == FULL and loop.requests[-1].prompt
    loop.serve(0.8, 0.4, step=3)
    assert s.state is State.HIGH and s.rest_to_full_s == []  # nobody moved: no rest to time
    loop.tick(1.0, step=4)  # training moved on: a refresh of the full view, which waits for the share
    assert loop.requests[-1].level == FULL and not loop.requests[-1].prompt
    s.finished(loop.requests[-1], None)
    # A drag, then rest: the moving frames are interactive, the refinements after them prompt.
    s.changed(2.0)
    loop.tick(2.0, step=4)
    assert loop.requests[-1].interactive
    loop.serve(2.05, 0.05, step=4)
    s.released(2.1)
    loop.tick(2.1, step=4)
    refine = loop.requests[-1]
    assert refine.prompt and not refine.interactive and refine.level > loop.requests[-2].level
    while loop.requests[-1].level != FULL:
        loop.serve(2.3, 0.1, step=5)
    loop.serve(2.9, 0.4, step=5)
    assert s.state is State.HIGH
    assert s.rest_to_full_s == [pytest.approx(0.8)]  # 2.1 (rest) -> 2.9 (the full frame shown)
