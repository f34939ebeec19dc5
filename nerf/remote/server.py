"""The serving side of `nerf-train --serve`: a training worker behind a WebSocket server.

Transport: the `websockets` library (its threaded API), chosen over ZeroMQ because WebSockets pass
through SSH tunnels and HTTP proxies unchanged and a browser could join later. Each connection:
the token is checked in the handshake before anything else is read (nerf.remote.access), then the
server sends the scene and the current stats with the whole plot history, and reads the client's
typed messages (nerf.remote.wire): the worker's commands, render requests, frame acknowledgements.
A malformed or oversize message closes that connection with a log line; nothing a client sends or
fails to send reaches the worker except as a checked command, so clients come and go while training
goes on. Renders are shared out by nerf.remote.dispatch; stats, notices and errors go to everyone.
"""
from __future__ import annotations

import math
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from nerf.remote.access import AUTH_HEADER, SOFTWARE_HEADER, VERSION_HEADER, Address, Token
from nerf.remote.dispatch import RenderDispatch
from nerf.remote.peer import Peer
from nerf.remote.scene_wire import image_message, render_request, scene_messages
from nerf.remote.wire import (
    CLIENT_MESSAGE_MAX, COMMANDS, FROM_CLIENT, PROTOCOL, AbortJob, ErrorMessage, FrameAck, NoticeMessage, Render,
    SaveCheckpoint, SceneImagesWanted, WireError, pack, unpack,
)
from nerf.train.worker_messages import (
    EvalScore, Evaluate, Notice, SetBatchRays, SetBudget, SetInteracting, SetLr, SetRenderShare,
)

CHECKPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.pt")
BATCH_MAX = 1 << 24


class RemoteServer:
    """Serves `worker` (a nerf.train.worker.TrainingWorker, started by the caller) and its `scene`.
    `config`: the run's TrainConfig (the viewer's panel starts from its values); `run_dir`: where
    SaveCheckpoint writes; `log(line)`: where refused and broken connections are reported;
    `on_notice(notice)`: sees every notice of the worker (the command line reports the budget's end)."""

    def __init__(self, worker: Any, scene, config, run_dir: Path, token: Token, address: Address, *,
                 software: str = "", log: Callable[[str], None] | None = None,
                 on_notice: Callable[[Notice], None] | None = None):
        self.worker, self.scene, self.run_dir = worker, scene, Path(run_dir)
        self.token, self.software = token, software
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._on_notice = on_notice or (lambda _n: None)
        self._scene_messages = [pack(m, p) for m, p in scene_messages(
            scene, config, run_dir, str(getattr(worker.trainer, "device", "cpu")), warn=self._log)]
        self._dispatch = RenderDispatch(worker)
        self._lock = threading.Lock()
        self._peers: list[Peer] = []
        self._last_stats = None
        self._closing = threading.Event()
        self._server: Server = serve(self._handle, address.host, address.port, process_request=self._admit,
                                     max_size=CLIENT_MESSAGE_MAX, compression=None, max_queue=64,
                                     server_header=f"nerf-viewer/{software}" if software else None)
        host, port = self._server.socket.getsockname()[:2]
        self.address = Address(address.host, int(port))  # port 0 asked for any free one: this is it
        self._threads = [threading.Thread(target=self._server.serve_forever, name="nerf-remote-accept", daemon=True),
                         threading.Thread(target=self._broadcast, name="nerf-remote-stats", daemon=True)]

    def start(self) -> "RemoteServer":
        self._dispatch.start()
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        """Stop accepting, drop every client; the worker is the caller's to stop."""
        self._closing.set()
        self._server.shutdown()
        with self._lock:
            peers, self._peers = self._peers, []
        for peer in peers:
            peer.close()
        self._dispatch.close()
        for t in self._threads:
            t.join(2.0)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._peers)

    # --- the handshake ---------------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request) -> Any:
        """Refuse the upgrade unless the token matches (checked first) and the protocol is ours."""
        where = _where(connection)
        if not self.token.matches(request.headers.get(AUTH_HEADER)):
            self._log(f"refused {where}: wrong token")
            return connection.respond(401, "wrong token\n")
        theirs = request.headers.get(VERSION_HEADER, "none")
        if theirs != str(PROTOCOL):
            software = request.headers.get(SOFTWARE_HEADER, "unknown")
            line = (f"version mismatch: server nerf-viewer {self.software or 'unknown'} (protocol {PROTOCOL}), "
                    f"client nerf-viewer {software} (protocol {theirs})")
            self._log(f"refused {where}: {line}")
            return connection.respond(409, line + "\n")
        return None

    # --- one connection --------------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        peer = Peer(_where(connection), connection.send, on_gone=lambda: connection.close(1011, "send failed"))
        for data in self._scene_messages:
            peer.message(data)
        with self._lock:
            if self._closing.is_set():
                return
            peer.client = self._dispatch.add_client(peer.frame)
            self._peers.append(peer)
            if self._last_stats is not None:
                peer.stats(self._last_stats)  # the current state and the whole plot history
        peer.start()
        try:
            for data in connection:
                message, _payload = unpack(data, FROM_CLIENT)
                self._receive(peer, message)
        except WireError as exc:
            self._log(f"client {peer.address}: bad message ({exc}); disconnected")
            connection.close(1008, "bad message")
        except ConnectionClosed as exc:
            if any(frame is not None and frame.code == 1009 for frame in (exc.sent, exc.rcvd)):
                self._log(f"client {peer.address}: message over {CLIENT_MESSAGE_MAX} bytes; disconnected")
        except Exception as exc:  # noqa: BLE001 - whatever one client's message did, the server goes on
            self._log(f"client {peer.address}: {exc.__class__.__name__}: {exc}; disconnected")
            connection.close(1011, "server error")
        finally:
            with self._lock:
                if peer in self._peers:
                    self._peers.remove(peer)
                interacting = any(p.interacting for p in self._peers)
            self._dispatch.remove_client(peer.client)
            peer.close()
            if peer.interacting and not interacting:
                self.worker.send(SetInteracting(False))  # a client gone mid-drag must not hold training

    def _receive(self, peer: Peer, message: Any) -> None:
        if isinstance(message, Render):
            self._dispatch.request(peer.client, message.purpose, message.id, render_request(message))
        elif isinstance(message, FrameAck):
            peer.acknowledged(message.id)
        elif isinstance(message, SetInteracting):
            with self._lock:
                was = any(p.interacting for p in self._peers)
                peer.interacting = message.interacting
                now = any(p.interacting for p in self._peers)
            if now != was:
                self.worker.send(SetInteracting(now))  # held while any client drags
        elif isinstance(message, COMMANDS):
            self.worker.send(_checked(message, tuple(self.scene.splits)))
        elif isinstance(message, SaveCheckpoint):
            self._save(message.name)
        elif isinstance(message, AbortJob):
            self.worker.abort_job()
        elif isinstance(message, SceneImagesWanted):
            peer.images(self._images())

    def _save(self, name: str) -> None:
        if not CHECKPOINT_NAME.fullmatch(name):
            raise WireError(f"checkpoint name {name!r}: a bare file name ending in .pt expected")
        path = self.run_dir / name
        self.worker.submit("save", lambda trainer, _abort: (trainer.save(path), str(path))[1])

    def _images(self) -> Iterator[bytes]:
        for split, s in self.scene.splits.items():
            for i in range(len(s)):
                yield pack(*image_message(self.scene, split, i))

    # --- to every client -------------------------------------------------------------------------

    def _broadcast(self) -> None:
        """The only reader of the worker's stats, errors and notices: each goes to every client."""
        while not self._closing.is_set():
            stats = self.worker.stats.wait(0.1)
            out: list[bytes] = []
            out.extend(pack(ErrorMessage(error)) for error in self.worker.errors.take_all())
            while not self.worker.notices.empty():
                notice = self.worker.notices.get_nowait()
                self._on_notice(notice)
                out.append(pack(notice_message(notice)))
            with self._lock:
                if stats is not None:
                    self._last_stats = stats
                peers = list(self._peers)
            for peer in peers:
                for data in out:
                    peer.message(data)
                if stats is not None:
                    peer.stats(stats)


def notice_message(notice: Notice) -> NoticeMessage:
    """A worker Notice as sent: an EvalScore as `score`, a path as text, other results as they are."""
    result = notice.result
    if isinstance(result, EvalScore):
        return NoticeMessage(notice.name, None, result, notice.seconds)
    if isinstance(result, Path):
        result = str(result)
    if not isinstance(result, (bool, int, float, str, type(None))):
        result = str(result)
    return NoticeMessage(notice.name, result, None, notice.seconds)


def _checked(command: Any, splits: tuple[str, ...]) -> Any:
    """The command, if its numbers are ones the worker can take; WireError otherwise."""
    bad = None
    if isinstance(command, SetLr) and not (math.isfinite(command.lr) and 0 < command.lr <= 1):
        bad = "learning rate in (0, 1]"
    elif isinstance(command, SetBatchRays) and not 1 <= command.n <= BATCH_MAX:
        bad = f"rays per batch in 1..{BATCH_MAX}"
    elif isinstance(command, SetRenderShare) and not (math.isfinite(command.share) and 0 <= command.share <= 1):
        bad = "render share in [0, 1]"
    elif isinstance(command, SetBudget) and command.seconds is not None and \
            not (math.isfinite(command.seconds) and command.seconds >= 0):
        bad = "budget of finite seconds >= 0"
    elif isinstance(command, Evaluate) and (command.split not in splits or
                                            (command.max_views is not None and command.max_views < 1)):
        bad = f"evaluation of a split in {splits}"
    if bad:
        raise WireError(f"{type(command).__name__}: {bad} expected")
    return command


def _where(connection: ServerConnection) -> str:
    try:
        host, port = connection.remote_address[:2]
        return f"{host}:{port}"
    except (OSError, TypeError, ValueError):
        return "unknown address"
