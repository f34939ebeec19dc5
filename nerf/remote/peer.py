"""One connected viewer, as the server sees it: what waits to be sent to it, and the thread that sends.

Nothing the training worker or another client does ever waits for this client's link: stats and its
live frame are newest-wins slots (a slow link sees fewer of them), notices, errors, job frames and
dataset images wait in order. The frame is encoded here, on this client's thread, once per request:
JPEG at the quality the link allows while its camera moves, PNG at rest and for jobs.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

import numpy as np

from nerf.remote.dispatch import Ticket
from nerf.remote.frames import JpegQuality, encode_frame
from nerf.remote.wire import CAMERA_PSNRS_MAX, Stats, pack
from nerf.train.worker_messages import RenderResult, WorkerStats

ACKS_KEPT = 64  # frames sent and not yet acknowledged that we remember the time of


def wire_psnrs(psnrs: tuple[float, ...]) -> tuple[float, ...]:
    """Per-camera PSNRs as a stats header carries them: to 0.01 dB, none past CAMERA_PSNRS_MAX cameras."""
    return tuple(round(p, 2) for p in psnrs) if len(psnrs) <= CAMERA_PSNRS_MAX else ()


class HistoryCursor:
    """Which plot points this client has: each stats message sends only the new ones, or all of
    them after the history was replaced (new weights) or thinned (nerf.train.worker's decimation)."""

    def __init__(self) -> None:
        self._sent = 0
        self._last: tuple[int, float] | None = None  # (step, loss) of the last point sent

    def message(self, stats: WorkerStats) -> tuple[Stats, bytes]:
        steps, losses, psnrs = stats.history
        n = len(steps)
        keeps = self._sent and n >= self._sent and (steps[self._sent - 1], losses[self._sent - 1]) == self._last
        start = self._sent if keeps else 0
        payload = (np.asarray(steps[start:], dtype="<i8").tobytes() + np.asarray(losses[start:], dtype="<f8").tobytes()
                   + np.asarray(psnrs[start:], dtype="<f8").tobytes())
        self._sent, self._last = n, ((steps[-1], losses[-1]) if n else None)
        s = stats
        header = Stats(s.step, s.loss, s.psnr, s.rays_per_s, s.train_seconds, s.running, s.interacting, s.budget_s,
                       s.share, s.model, s.test, s.render_seconds, s.render_seconds_total, s.renders,
                       history_from=start, history_new=n - start, camera_psnrs=wire_psnrs(s.camera_psnrs))
        return header, payload


class Peer:
    """`send(bytes)`: the connection's send (raises when it is gone); `on_gone()`: called once when
    sending failed."""

    def __init__(self, address: str, send: Callable[[bytes], None], on_gone: Callable[[], None]):
        self.address = address
        self.client = 0  # the dispatcher's number, set on registration
        self.interacting = False
        self._send, self._on_gone = send, on_gone
        self._cond = threading.Condition(threading.Lock())
        self._messages: deque[bytes] = deque()
        self._jobs: deque[tuple[Ticket, RenderResult]] = deque()
        self._view: tuple[Ticket, RenderResult] | None = None
        self._stats: WorkerStats | None = None
        self._images: Iterator[bytes] | None = None
        self._closed = False
        self._history = HistoryCursor()
        self.quality = JpegQuality()
        self._sent_at: dict[int, float] = {}
        self.bytes_sent = 0
        self._thread = threading.Thread(target=self._run, name=f"nerf-remote-send {address}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(2.0)

    # --- what the server hands over (any thread) -------------------------------------------------

    def message(self, data: bytes) -> None:
        with self._cond:
            self._messages.append(data)
            self._cond.notify_all()

    def frame(self, ticket: Ticket, result: RenderResult) -> None:
        with self._cond:
            if ticket.purpose == "view":
                self._view = (ticket, result)
            else:
                self._jobs.append((ticket, result))
            self._cond.notify_all()

    def stats(self, stats: WorkerStats) -> None:
        with self._cond:
            self._stats = stats
            self._cond.notify_all()

    def images(self, messages: Iterator[bytes]) -> None:
        """Send these (dataset images, encoded lazily) after everything else that waits."""
        with self._cond:
            self._images = messages
            self._cond.notify_all()

    def acknowledged(self, frame_id: int) -> None:
        """The client has frame `frame_id`: its time on the link steers the JPEG quality."""
        with self._cond:
            sent = self._sent_at.pop(frame_id, None)
            if sent is not None:
                self.quality.acknowledged(time.perf_counter() - sent)

    # --- the sending thread ----------------------------------------------------------------------

    def _next(self) -> bytes | None:
        """The next message to send, by priority: notices, frames, stats, then dataset images."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._messages or self._jobs or self._view
                                or self._stats is not None or self._images is not None)
            if self._closed:
                return None
            if self._messages:
                return self._messages.popleft()
            frame = self._jobs.popleft() if self._jobs else None
            if frame is None and self._view is not None:
                frame, self._view = self._view, None
            stats, images = (None, None) if frame is not None else (self._stats, self._images)
            if stats is not None:
                self._stats = None
        if frame is not None:
            return self._encode(*frame)
        if stats is not None:
            return pack(*self._history.message(stats))
        data = next(images, None)
        if data is None:
            with self._cond:
                if self._images is images:
                    self._images = None
            return b""
        return data

    def _encode(self, ticket: Ticket, result: RenderResult) -> bytes:
        moving = ticket.purpose == "view" and result.request.interactive
        with self._cond:
            quality = self.quality.quality
        header, payload = encode_frame(ticket.id, result.step, result.seconds, result.outputs,
                                       "jpeg" if moving else "png", quality)
        data = pack(header, payload)
        with self._cond:
            if len(self._sent_at) >= ACKS_KEPT:
                self._sent_at.clear()  # a client that never acknowledges: stop measuring it
            self._sent_at[ticket.id] = time.perf_counter()
        return data

    def _run(self) -> None:
        while True:
            data = self._next()
            if data is None:
                return
            if not data:
                continue
            try:
                self._send(data)
            except Exception:  # noqa: BLE001 - whatever broke the link, this client is gone, not the server
                self._on_gone()
                return
            self.bytes_sent += len(data)
