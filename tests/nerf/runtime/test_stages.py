"""nerf/runtime/stages.py: the one progress bar line (nerf-process's stages, nerf-render's frames)."""
from nerf.runtime.stages import Stage, StageProgress


def test_line_worked_by_hand():
    # 45 of 150 in 15 s: 3.0 per second, 105 left -> 35 s; 45/150 of 24 cells = 7.2 -> 7 filled
    p = StageProgress("frames", 45, 150, 15.0)
    assert p.line() == "frames    [" + "#" * 7 + "." * 17 + "]    45/150   15.0s  3.0/s  ETA 35s"
    assert StageProgress("mapping", 0, 0, 0.0).line().endswith("0    0.0s  0.0/s  ETA --")
    assert StageProgress("frames", 150, 150, 50.0, finished=True).line().endswith("3.0/s  done")


def test_stage_reports_each_tick_and_a_finished_last_record():
    seen = []
    stage = Stage("render", seen.append, total=3)
    stage.tick(1, 3)
    stage.tick(3, 3)
    stage.finish()
    assert [(p.done, p.total, p.finished) for p in seen] == [(0, 3, False), (1, 3, False), (3, 3, False), (3, 3, True)]
