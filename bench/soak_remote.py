"""Soak of `nerf-train --serve`: a client that keeps asking for frames and disconnects and reconnects
every minute, while the server's memory is sampled. Issue 26's target: after the first 2 minutes the
server's resident memory grows by less than 5 %, and nothing goes wrong (no error, every
connection gets its frames).

    python bench/soak_remote.py                  # the embedded scene, 10 minutes
    python bench/soak_remote.py data/lego --minutes 10 --downscale 2

The client is nerf.remote.client.RemoteWorker without a window (what nerf-viewer --connect uses),
orbiting its camera one frame after another. Results go in BENCHMARKS.md with the machine.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nerf.data.cameras import look_at, make_cameras  # noqa: E402
from nerf.remote.access import Address, Token  # noqa: E402
from nerf.remote.client import RemoteWorker  # noqa: E402
from nerf.train.worker_messages import RenderRequest  # noqa: E402


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def start_server(scene: str | None, downscale: int, minutes: float,
                 out: Path) -> tuple[subprocess.Popen, Address, Token]:
    proc = subprocess.Popen(["nerf-train", *([scene] if scene else []), "--serve", "127.0.0.1:0",
                             "--minutes", str(minutes), "--downscale", str(downscale), "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "NERF_VIEWER_TOKEN"})
    lines = ""
    while "token " not in lines:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"nerf-train --serve did not start: {lines}")
        lines += line
    port = int(re.search(r"serving on 127\.0\.0\.1:(\d+)", lines).group(1))
    return proc, Address("127.0.0.1", port), Token(re.search(r"token (\S+)", lines).group(1), False)


def one_minute(address: Address, token: Token, seconds: float, angle: float) -> tuple[int, list[str], float]:
    """Connect, orbit for `seconds` one frame at a time, disconnect: (frames, errors, angle reached)."""
    client = RemoteWorker(address, token, "soak")
    client.open()
    client.start()
    frames, errors, end = 0, [], time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            angle += 0.05
            cams = make_cameras(look_at((4 * math.cos(angle), 4 * math.sin(angle), 1.5), (0, 0, 0)), 200, 150,
                                fov_y_deg=45.0)
            request = RenderRequest(cams, 0, interactive=frames % 2 == 0)
            client.request_render(request)
            result = client.frames.wait(30.0)
            if result is None:
                errors.append("no frame within 30 s")
            elif result.outputs is not None:
                frames += 1
            error = client.errors.take()
            if error:
                errors.append(error)
    finally:
        client.stop(5.0)
    return frames, errors, angle


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=None)
    p.add_argument("--minutes", type=int, default=10, help="connections, one after another")
    p.add_argument("--period", type=float, default=60.0, help="seconds each connection lasts")
    p.add_argument("--downscale", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("runs") / f"soak-{time.strftime('%Y%m%d-%H%M%S')}")
    args = p.parse_args()
    server, address, token = start_server(args.scene, args.downscale, args.minutes, args.out)
    samples: list[tuple[float, float]] = []
    rows, angle, start = [], 0.0, time.monotonic()
    try:
        for minute in range(args.minutes):
            frames, errors, angle = one_minute(address, token, args.period, angle)
            samples.append((time.monotonic() - start, rss_mib(server.pid)))
            rows.append((minute + 1, frames, len(errors), samples[-1][1]))
            print(f"minute {minute + 1}: {frames} frames, {len(errors)} errors {errors[:2]}, "
                  f"server RSS {samples[-1][1]:.0f} MiB", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
    base = next((rss for t, rss in samples if t >= 2 * args.period), samples[-1][1])
    growth = 100.0 * (samples[-1][1] - base) / base
    print("| minute | frames | errors | server RSS MiB |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.0f} |")
    print(f"| growth after the first 2 minutes | {growth:+.1f} % (target < 5 %) | errors: "
          f"{sum(r[2] for r in rows)} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
