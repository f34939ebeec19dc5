"""ToyWorker: a background thread that trains configurations A and B on one image side by side.

Commands go in through a queue; the newest snapshot comes out through a single-slot mailbox that
the viewer reads once per frame (older snapshots are dropped, never queued). No GUI code here: the
viewer panel turns snapshots into textures. The worker owns its trainers; nothing else touches them.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nerf.runtime.mailbox import Mailbox
from toy.images import default_image, load_image
from toy.model import ModelConfig
from toy.snapshot import History, LabSnapshot, snapshot_of
from toy.train import FitConfig, ToyTrainer


@dataclass(frozen=True)
class Setup:
    """What to train: image file (None = default image), side length, and A's and B's configs."""

    image_path: str | None
    size: int
    configs: tuple[tuple[ModelConfig, FitConfig], tuple[ModelConfig, FitConfig]]


class ToyWorker:
    """Trains A and B alternately in a daemon thread.

    duty: the largest share of wall time the thread spends training; after each pair of steps it waits
    (on its wake-up event, so commands still arrive at once) long enough to keep that share, which
    leaves the CPU and the GIL to the UI thread. snapshot_interval: seconds between snapshots.
    num_threads: torch CPU threads of this thread only (OpenMP settings are per thread, so the NeRF
    trainer's setting is untouched); 1 leaves a core to the UI on small machines; 0 keeps the default.
    """

    def __init__(self, duty: float = 0.6, snapshot_interval: float = 0.12, device: str = "cpu",
                 num_threads: int = 1):
        self.duty = duty
        self.num_threads = num_threads
        self.snapshot_interval = snapshot_interval
        self.device = device
        self.snapshots: Mailbox[LabSnapshot] = Mailbox()
        self._commands: queue.Queue = queue.Queue()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="toy-worker", daemon=True)
        self._trainers: list[ToyTrainer] = []
        self._histories: list[History] = []
        self._image: np.ndarray | None = None
        self._image_name = ""
        self._running = False
        self.steps_per_s = 0.0

    # --- called from the UI thread -------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def send(self, command: str, payload=None) -> None:
        """Commands: "setup" (Setup), "run" (bool), "reset", "lr" (float), "stop"."""
        self._commands.put((command, payload))
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.send("stop")
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- worker thread -------------------------------------------------------------------------
    def _publish(self) -> None:
        """Snapshot both configurations; a failure is reported like a training error, never raised:
        the loop calls this between steps, and an exception there would end the thread unseen."""
        try:
            snaps = [snapshot_of(t, h, self._image) for t, h in zip(self._trainers, self._histories, strict=True)]
        except Exception as exc:  # noqa: BLE001 - any failure must reach the panel, not kill the thread
            self._publish_error(f"snapshot failed: {exc}")
            return
        self.snapshots.put(LabSnapshot(configs=snaps, image=self._image, image_name=self._image_name,
                                       running=self._running, error=None, steps_per_s=self.steps_per_s))

    def _handle(self, command: str, payload) -> bool:
        """Apply one command; False means stop."""
        if command == "stop":
            return False
        try:
            if command == "setup":
                self._setup(payload)
            elif command == "run":
                self._running = bool(payload) and bool(self._trainers)
            elif command == "reset":
                for t in self._trainers:
                    t.reset()
                self._histories = [History() for _ in self._trainers]
            elif command == "lr":
                for t in self._trainers:
                    t.set_lr(float(payload))
            if self._trainers:
                self._publish()
        except Exception as exc:  # noqa: BLE001 - a bad image or setting is shown, the thread lives on
            self._publish_error(str(exc))
        return True

    def _handle_all(self, pending: list) -> bool:
        """Apply queued commands in order; of several setups only the last is built (a dragged slider
        sends one per frame). False means stop."""
        while True:
            try:
                pending.append(self._commands.get_nowait())
            except queue.Empty:
                break
        last_setup = max((i for i, (c, _) in enumerate(pending) if c == "setup"), default=-1)
        for i, (command, payload) in enumerate(pending):
            if command == "setup" and i != last_setup:
                continue
            if not self._handle(command, payload):
                return False
        return True

    def _setup(self, setup: Setup) -> None:
        if setup.image_path:
            image, name = load_image(setup.image_path, setup.size), Path(setup.image_path).name
        else:
            image, name = default_image(setup.size)
        trainers = [ToyTrainer(image, m, f, self.device) for m, f in setup.configs]
        self._image, self._image_name, self._trainers = image, name, trainers
        self._histories = [History() for _ in trainers]

    def _loop(self) -> None:
        if self.num_threads > 0:
            torch.set_num_threads(self.num_threads)
        last_snapshot = 0.0
        rate_steps, rate_t0 = 0, time.perf_counter()
        while True:
            try:
                pending = [self._commands.get(block=not self._running)]
            except queue.Empty:
                pending = []
            if pending:
                if not self._handle_all(pending):
                    return
                continue
            self._wake.clear()
            t0 = time.perf_counter()
            try:
                for t in self._trainers:
                    t.step()
            except Exception as exc:  # noqa: BLE001 - reported in the panel; the thread keeps serving
                self._publish_error(f"training failed: {exc}")
                continue
            now = time.perf_counter()
            rate_steps += 1
            if now - rate_t0 > 1.0:
                self.steps_per_s, rate_steps, rate_t0 = rate_steps / (now - rate_t0), 0, now
            if now - last_snapshot >= self.snapshot_interval:
                self._publish()
                last_snapshot = time.perf_counter()
            busy = time.perf_counter() - t0
            self._wake.wait(busy * (1.0 - self.duty) / self.duty)

    def _publish_error(self, text: str) -> None:
        """Stop training and tell the panel; the thread itself keeps serving commands."""
        self._running = False
        self.snapshots.put(LabSnapshot(configs=[], image=self._image, image_name=self._image_name,
                                       running=False, error=text, steps_per_s=0.0))
