"""Viewer soak under Xvfb: a long session with a camera drag every few seconds, a screenshot and a
GIF every few minutes and one pause/resume, recording resident memory, UI frame rate and every
error over time.

    python bench/soak_viewer.py                      # the issue's figure: 30 minutes, default scene
    python bench/soak_viewer.py --minutes 3          # a short run that exercises every action
    python bench/soak_viewer.py SCENE --downscale 2 --keep runs/soak

Targets (BENCHMARKS.md, "Viewer soak"): resident memory grows less than 5 % after the first
5 minutes, no exception, the UI keeps 30 fps. With --minutes under 15 the warm-up and the media
interval shrink to a third and a fifth of the run, so a short run still does everything once.
Writes soak.json (the whole curve) into --keep (default: a temporary folder, printed at the end).
Needs Xvfb and xdotool.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.xdriver import press, read_state, virtual_display, xdo  # noqa: E402

DRAG_EVERY_S = 4.0
SAMPLE_EVERY_S = 1.0
GIF_SECONDS = 3.0
PAUSE_SECONDS = 10.0


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def drag(env: dict, state: dict, k: int) -> None:
    """One short orbit drag through real X events, alternating direction so the view stays near."""
    x, y, w, h = state["view_rect"]
    cx, cy = int(x + w / 2), int(y + h / 2)
    sign = 1 if k % 2 == 0 else -1
    xdo(env, "mousemove", cx, cy)
    xdo(env, "mousedown", 1)
    for i in range(1, 6):
        xdo(env, "mousemove", cx + sign * 14 * i, cy + 3 * i)
        time.sleep(0.03)
    xdo(env, "mouseup", 1)


def soak(args, work: Path) -> dict:
    minutes = args.minutes
    warmup_s = min(5.0, minutes / 3.0) * 60.0
    media_every_s = min(5.0, minutes / 5.0) * 60.0
    out, debug, stderr_path = work / "run", work / "state.json", work / "viewer.stderr"
    with virtual_display() as display, open(stderr_path, "w") as stderr:
        env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1", "NERF_VIEWER_DEBUG_STATE": str(debug),
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        cmd = [sys.executable, "-m", "viewer", "--out", str(out), "--downscale", str(args.downscale),
               *([args.scene] if args.scene else [])]
        app = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=stderr)
        try:
            return _drive(app, env, debug, minutes * 60.0, warmup_s, media_every_s) | {"run_dir": str(out),
                                                                                      "stderr": str(stderr_path)}
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()


def _drive(app: subprocess.Popen, env: dict, debug: Path, seconds: float, warmup_s: float,
           media_every_s: float) -> dict:
    deadline = time.monotonic() + 300
    while (s := read_state(debug)) is None or not s["stats"].get("step"):
        if app.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the viewer did not start training (exit {app.poll()})")
        time.sleep(0.2)
    start = time.monotonic()
    samples, errors, events = [], [], []
    next_drag, next_media, next_sample = start + DRAG_EVERY_S, start + media_every_s, start
    pause_at, resume_at = start + seconds / 2, None
    k = 0
    while (now := time.monotonic()) < start + seconds:
        if app.poll() is not None:
            raise RuntimeError(f"the viewer exited ({app.returncode}) after {now - start:.0f} s")
        s = read_state(debug) or s
        if s.get("error") and s["error"] not in errors:
            errors.append(s["error"])
        if now >= next_sample:
            samples.append({"t": round(now - start, 1), "rss_mib": round(rss_mib(app.pid), 1),
                            "ui_fps": round(s["ui_fps"], 1), "step": s["stats"].get("step", 0),
                            "running": bool(s["stats"].get("running")),
                            "interacting": bool(s["stats"].get("interacting"))})
            next_sample = now + SAMPLE_EVERY_S
        if now >= next_drag:
            drag(env, s, k)
            k += 1
            next_drag = time.monotonic() + DRAG_EVERY_S
        elif now >= next_media:
            press(env, "p")
            press(env, "g")
            time.sleep(GIF_SECONDS)
            press(env, "g")
            events.append((round(now - start), "screenshot + gif"))
            next_media = now + media_every_s
        elif now >= pause_at and resume_at is None:
            press(env, "space")
            events.append((round(now - start), "pause"))
            resume_at = now + PAUSE_SECONDS
        elif resume_at is not None and now >= resume_at:
            press(env, "space")
            events.append((round(now - start), "resume"))
            resume_at = float("inf")
        time.sleep(0.1)
    press(env, "Escape")
    code = app.wait(60)
    return {"samples": samples, "errors": errors, "events": events, "exit_code": code, "seconds": seconds,
            "warmup_s": warmup_s, "drags": k}


def summary(result: dict, work: Path) -> dict:
    samples = result["samples"]
    after = [x for x in samples if x["t"] >= result["warmup_s"]]
    base = after[0]["rss_mib"] if after else float("nan")
    peak_after = max((x["rss_mib"] for x in after), default=float("nan"))
    training = [x["ui_fps"] for x in samples if x["running"] and not x["interacting"]]
    run = Path(result["run_dir"])
    stderr = Path(result["stderr"]).read_text()
    return {
        "rss_at_warmup_mib": base, "rss_end_mib": samples[-1]["rss_mib"] if samples else float("nan"),
        "rss_growth_pct": 100.0 * (peak_after - base) / base if after else float("nan"),
        "ui_fps_median": statistics.median(training) if training else float("nan"),
        "ui_fps_p10": sorted(training)[len(training) // 10] if training else float("nan"),
        "errors": result["errors"], "tracebacks": stderr.count("Traceback"),
        "screenshots": len(list(run.glob("screenshot-*.png"))), "gifs": len(list(run.glob("recording-*.gif"))),
        "steps": samples[-1]["step"] if samples else 0, "drags": result["drags"], "exit_code": result["exit_code"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=None, help="scene folder (default: the embedded scene)")
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--downscale", type=int, default=1)
    p.add_argument("--keep", metavar="DIR", help="keep the run folder, stderr and soak.json in DIR")
    args = p.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="soak-"))
    work.mkdir(parents=True, exist_ok=True)
    result = soak(args, work)
    s = summary(result, work)
    (work / "soak.json").write_text(json.dumps({"summary": s, **result}, indent=1))
    print(f"| figure ({args.minutes:g} min soak) | value | target |\n|---|---|---|")
    print(f"| resident memory at {result['warmup_s'] / 60:g} min / at the end | {s['rss_at_warmup_mib']:.0f} / "
          f"{s['rss_end_mib']:.0f} MiB | |")
    print(f"| growth after {result['warmup_s'] / 60:g} min (peak vs then) | {s['rss_growth_pct']:.1f} % | < 5 % |")
    print(f"| UI frame rate while training (median / p10) | {s['ui_fps_median']:.1f} / {s['ui_fps_p10']:.1f} fps "
          f"| >= 30 fps |")
    print(f"| errors shown / tracebacks on stderr | {len(s['errors'])} / {s['tracebacks']} | 0 / 0 |")
    print(f"| drags / screenshots / GIFs / steps | {s['drags']} / {s['screenshots']} / {s['gifs']} / {s['steps']} | |")
    print(f"| exit code after Escape | {s['exit_code']} | 0 |")
    print(f"curve and events: {work / 'soak.json'}")
    for e in s["errors"]:
        print(f"error: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
