"""The viewing side of `nerf-viewer --connect`: a remote training worker that looks local.

RemoteWorker has the TrainingWorker's face (nerf.train.worker): the same newest-wins `stats`,
`frames` and `errors` mailboxes, the `notices` queue and the command methods, so the window's
panels drive a model on another machine without knowing it. Jobs (`submit`: the turntable, a camera
path video) run here, on a thread of their own, against RemoteRenderer, whose `render` asks the
server for each frame losslessly: the files they write are written on this machine.

A receive thread owns the connection. When the server goes away, `link` says so (the status line
shows it) and the thread reconnects with a growing pause; requests still unanswered are sent again,
so the view and a job carry on where they were. Every message from the server is checked
(nerf.remote.wire); a malformed one drops the connection like a broken link.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from nerf.errors import InputError
from nerf.models.base import RenderOutput
from nerf.remote.access import AUTH_HEADER, SOFTWARE_HEADER, VERSION_HEADER, Address, Token
from nerf.remote.frames import decode_frame
from nerf.remote.scene_wire import SceneBuilder, wire_render
from nerf.remote.wire import (
    FROM_SERVER, PROTOCOL, SERVER_MESSAGE_MAX, AbortJob, ErrorMessage, Frame, FrameAck, NoticeMessage,
    SaveCheckpoint, SceneImage, SceneImagesWanted, SceneInfo, ScenePoints, SplitCameras, Stats, WireError, pack, unpack,
)
from nerf.runtime.mailbox import Backlog, Mailbox
from nerf.train.worker_messages import (
    Command, Commands, Notice, RenderRequest, RenderResult, SetInteracting, WorkerStats,
)

OPEN_TIMEOUT_S = 10.0
RETRY_S = (0.5, 1.0, 2.0, 4.0)  # pauses between reconnection attempts, the last one repeated
RECONNECT_TIMEOUT_S = 3.0  # of one attempt: short, so that closing the window never waits long on one


class ServerGone(Exception):
    """The connection failed or broke (the text says how)."""


def dial(address: Address, token: Token, software: str = "", timeout: float = OPEN_TIMEOUT_S) -> ClientConnection:
    """An open connection, or InputError for what retrying cannot mend (a refused token, another
    protocol version), or ServerGone for what it may (nobody listening yet, a broken network)."""
    headers = {AUTH_HEADER: token.header(), VERSION_HEADER: str(PROTOCOL), SOFTWARE_HEADER: software or "unknown"}
    try:
        return connect(address.uri(), additional_headers=headers, max_size=SERVER_MESSAGE_MAX, compression=None,
                       open_timeout=timeout, max_queue=64, legacy=True)
    except InvalidStatus as exc:
        status = exc.response.status_code
        body = (exc.response.body or b"").decode("utf-8", "replace").strip()
        if status == 401:
            raise InputError("--token", f"the server at {address} refused the token") from None
        if status == 409:
            raise InputError("--connect", body or "version mismatch with the server") from None
        raise ServerGone(f"{address} answered HTTP {status} (is it a nerf-train --serve?)") from None
    except InvalidURI as exc:
        raise InputError("--connect", f"not an address: {exc}") from None
    except (OSError, TimeoutError, InvalidHandshake, EOFError) as exc:
        raise ServerGone(f"cannot reach {address} ({exc.__class__.__name__}: {exc})") from None


class RemoteRenderer:
    """What a job (viewer.recording.render_turntable, nerf.export.render_path) sees as its trainer:
    `render` sends the camera to the server and waits for the lossless frame."""

    def __init__(self, worker: "RemoteWorker", scene):
        self._worker, self.scene = worker, scene
        self.device = torch.device("cpu")

    def render(self, cameras, index: int = 0, *, background=(1.0, 1.0, 1.0), max_samples=None,
               should_abort: Callable[[], bool] | None = None, chunk=None, crop=None) -> RenderOutput | None:
        request = RenderRequest(cameras, index, tuple(float(v) for v in background), max_samples, prompt=True,
                                crop=crop)
        return self._worker.render_job_frame(request, should_abort or (lambda: False))


class RemoteWorker(Commands):
    """A TrainingWorker on the server at `address`. `open()` connects and fetches the scene (before
    the window opens); `start()` begins receiving; `link` is the connection's state, for the status line."""

    def __init__(self, address: Address, token: Token, software: str = ""):
        self.address, self.token, self.software = address, token, software
        self.stats: Mailbox[WorkerStats] = Mailbox()
        self.frames: Mailbox[RenderResult] = Mailbox()
        self.errors: Backlog[str] = Backlog()
        self.notices: queue.Queue[Notice] = queue.Queue()
        self.scene = None  # nerf.data.scene.Scene, from the server
        self.info: SceneInfo | None = None
        self.link = "not connected"
        self.bytes_received = 0
        self.frame_bytes: dict[str, list[int]] = {"jpeg": [0, 0], "png": [0, 0]}  # codec -> [frames, bytes]
        self.reconnects = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._asked_images = False
        self._conn: ClientConnection | None = None
        self._builder: SceneBuilder | None = None
        self._next_id = 0
        self._view: tuple[int, RenderRequest] | None = None  # the newest view request not answered yet
        self._jobs: dict[int, tuple[RenderRequest, Mailbox]] = {}  # job frames waited for
        self._history: tuple[list, list, list] = ([], [], [])
        self._closing = threading.Event()
        self._abort_job = threading.Event()
        self._job_queue: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._receive, name="nerf-remote-recv", daemon=True),
                         threading.Thread(target=self._run_jobs, name="nerf-remote-jobs", daemon=True)]

    # --- connecting ------------------------------------------------------------------------------

    def open(self, progress: Callable[[str], None] = lambda _line: None):
        """Connect and receive the scene with its dataset images; returns the Scene. Raises InputError
        (refused token, version mismatch, server not reachable)."""
        try:
            self._conn = dial(self.address, self.token, self.software)
            while self.scene is None:
                self._handle(self._conn.recv(OPEN_TIMEOUT_S * 3))
                if self._builder is not None and self._builder.has_cameras and not self._asked_images:
                    self._asked_images = True
                    self._conn.send(pack(SceneImagesWanted()))
                    progress(f"receiving {self._builder.images_missing} dataset images from {self.address}")
        except ServerGone as exc:
            raise InputError("--connect", str(exc)) from None
        except (ConnectionClosed, OSError, TimeoutError, WireError) as exc:
            raise InputError("--connect", f"the server at {self.address} went away ({exc})") from None
        self.link = f"connected to {self.address}"
        return self.scene

    def start(self) -> "RemoteWorker":
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        self._closing.set()
        self._abort_job.set()
        self._job_queue.put(None)
        with self._lock:
            conn = self._conn
        if conn is not None:
            conn.close()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._conn is not None

    # --- the TrainingWorker's methods ------------------------------------------------------------

    def send(self, command: Command) -> None:
        if not self._send(pack(command)):
            self.errors.put(f"not connected to {self.address}: {type(command).__name__} not sent")

    def set_interacting(self, interacting: bool) -> None:
        self._send(pack(SetInteracting(bool(interacting))))  # lost while offline: the next drag says it again

    def save_checkpoint(self, name: str) -> None:
        """Save the weights in the server's run folder (checkpoints stay on the server)."""
        self.send(SaveCheckpoint(name))

    def request_render(self, request: RenderRequest) -> None:
        """Ask for a frame of the live view; it replaces an unanswered older one."""
        with self._lock:
            self._next_id += 1
            self._view = (self._next_id, request)
        self._send(pack(wire_render(self._next_id, request, "view")))  # offline: sent on reconnecting

    def submit(self, name: str, fn: Callable[[Any, Callable[[], bool]], Any]) -> None:
        """Run fn(renderer, should_abort) on the job thread here; its result comes back as a Notice."""
        self._job_queue.put((name, fn))

    def abort_job(self) -> None:
        self._abort_job.set()
        self._send(pack(AbortJob()))

    def swap_trainer(self, name: str, factory) -> None:
        self.errors.put(f"{name}: not available over --connect (start nerf-train --serve with it on the server)")

    # --- jobs ------------------------------------------------------------------------------------

    def _run_jobs(self) -> None:
        while True:
            job = self._job_queue.get()
            if job is None or self._closing.is_set():
                return
            name, fn = job
            self._abort_job.clear()
            aborted = self._abort_job.is_set
            result = None
            try:
                result = fn(RemoteRenderer(self, self.scene), aborted)
            except AttributeError as exc:  # the job wants more of the trainer than its renders
                self.errors.put(f"{name}: not available over --connect, it needs the model itself "
                                f"({exc.name}); run it on the server (nerf-export, nerf-render)")
            except Exception as exc:  # noqa: BLE001 - a failed job is shown to the user, the viewer goes on
                self.errors.put(f"{name} failed: {exc.__class__.__name__}: {exc}")
            self.notices.put(Notice(name, None if aborted() else result))

    def render_job_frame(self, request: RenderRequest, should_abort: Callable[[], bool]) -> RenderOutput | None:
        """A job's frame: sent (again after a reconnection) until it arrives or the job is aborted."""
        slot: Mailbox = Mailbox()
        with self._lock:
            self._next_id += 1
            frame_id = self._next_id
            self._jobs[frame_id] = (request, slot)
        self._send(pack(wire_render(frame_id, request, "job")))
        try:
            while not (should_abort() or self._closing.is_set()):
                result = slot.wait(0.1)  # the timeout only bounds how late an abort is seen
                if result is not None:
                    return result.outputs
            return None
        finally:
            with self._lock:
                self._jobs.pop(frame_id, None)

    # --- the connection --------------------------------------------------------------------------

    def _send(self, data: bytes) -> bool:
        with self._lock:
            conn = self._conn
        if conn is None:
            return False
        with self._send_lock:  # one message at a time from the UI, job and receive threads
            try:
                conn.send(data)
                return True
            except (ConnectionClosed, OSError):
                return False

    def _receive(self) -> None:
        attempt = 0
        while not self._closing.is_set():
            with self._lock:
                conn = self._conn
            if conn is None:
                if self._closing.wait(RETRY_S[min(attempt, len(RETRY_S) - 1)]):
                    return
                attempt += 1
                try:
                    self._reconnect()
                    attempt = 0
                except (ServerGone, InputError) as exc:
                    self.link = f"server gone: {exc}; reconnecting (attempt {attempt})"
                continue
            try:
                self._handle(conn.recv())
            except (ConnectionClosed, OSError, EOFError) as exc:
                self._lost(f"connection to {self.address} lost ({exc.__class__.__name__})")
            except WireError as exc:
                self.errors.put(f"bad message from the server: {exc}")
                self._lost(f"bad message from {self.address}")

    def _lost(self, why: str) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self.link = f"server gone: {why}; reconnecting"

    def _reconnect(self) -> None:
        conn = dial(self.address, self.token, self.software, RECONNECT_TIMEOUT_S)
        with self._lock:
            self._conn = conn
            view, jobs = self._view, list(self._jobs.items())
        self.reconnects += 1
        self.link = f"connected to {self.address} (reconnected)"
        # requests the old connection took with it: the view waits for its frame, a job for its own
        if view is not None:
            self._send(pack(wire_render(view[0], view[1], "view")))
        for frame_id, (request, _slot) in jobs:
            self._send(pack(wire_render(frame_id, request, "job")))

    def _handle(self, data: bytes | str) -> None:
        self.bytes_received += len(data)
        message, payload = unpack(data, FROM_SERVER)
        if isinstance(message, Frame):
            self._send(pack(FrameAck(message.id)))  # before decoding: the ack measures the link, not us
            if message.codec in self.frame_bytes:
                count = self.frame_bytes[message.codec]
                count[0], count[1] = count[0] + 1, count[1] + len(data)
            self._frame(message, payload)
        elif isinstance(message, Stats):
            self.stats.put(self._stats(message, payload))
        elif isinstance(message, NoticeMessage):
            result = message.score if message.score is not None else message.result
            self.notices.put(Notice(message.name, result, message.seconds))
        elif isinstance(message, ErrorMessage):
            self.errors.put(message.text)
        elif isinstance(message, SceneInfo):
            if self.info is not None and message != self.info:
                self.errors.put(f"the server at {self.address} now serves another run ({message.name}): "
                                "restart the viewer to see it")
            if self.info is None:
                self.info, self._builder = message, SceneBuilder(message)
        elif isinstance(message, (ScenePoints, SplitCameras, SceneImage)) and self.scene is None \
                and self._builder is not None:
            if isinstance(message, ScenePoints):
                self._builder.add_points(message, payload)
            elif isinstance(message, SplitCameras):
                self._builder.add_cameras(message, payload)
                if self._builder.has_cameras and self._builder.images_missing == 0:
                    self.scene = self._builder.scene()  # a scene without images (nothing to ask for)
            else:
                self._builder.add_image(message, payload)
                if self._builder.images_missing == 0:
                    self.scene = self._builder.scene()

    def _frame(self, message: Frame, payload: bytes) -> None:
        decoded = decode_frame(message, payload)
        outputs = None if decoded is None else RenderOutput(
            torch.from_numpy(decoded.rgb), torch.from_numpy(decoded.depth), torch.from_numpy(decoded.opacity))
        with self._lock:
            view = self._view if self._view is not None and self._view[0] == message.id else None
            if view is not None:
                self._view = None
            job = self._jobs.get(message.id)
        if view is not None:
            self.frames.put(RenderResult(view[1], outputs, message.seconds, message.step))
        elif job is not None:
            job[1].put(RenderResult(job[0], outputs, message.seconds, message.step))

    def _stats(self, message: Stats, payload: bytes) -> WorkerStats:
        n = message.history_new
        if n < 0 or len(payload) != n * 24 or message.history_from > len(self._history[0]):
            raise WireError("stats history does not match its header")
        steps = np.frombuffer(payload[:8 * n], dtype="<i8").tolist()
        losses = np.frombuffer(payload[8 * n:16 * n], dtype="<f8").tolist()
        psnrs = np.frombuffer(payload[16 * n:], dtype="<f8").tolist()
        keep = message.history_from
        self._history = tuple(old[:keep] + new for old, new in zip(self._history, (steps, losses, psnrs),
                                                                    strict=True))
        m = message
        return WorkerStats(m.step, m.loss, m.psnr, m.rays_per_s, m.train_seconds, m.running, m.interacting,
                           m.budget_s, m.share, m.model, m.test, m.render_seconds, m.render_seconds_total,
                           m.renders, tuple(tuple(h) for h in self._history), m.camera_psnrs)
