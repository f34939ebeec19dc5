"""ToyWorker: a background thread that trains configurations A and B on one image side by side.

Commands go in through a queue; the newest snapshot comes out through a single-slot mailbox that
the viewer reads once per frame (older snapshots are dropped, never queued). No GUI code here: the
viewer panel turns snapshots into textures. The worker owns its trainers; nothing else touches them.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nerf.errors import InputError
from toy.images import default_image, load_image
from toy.model import ModelConfig
from toy.train import FitConfig, ToyTrainer, describe

GRID_LINES = 9  # lines of constant x (and of constant y) in the warp grid
GRID_POINTS = 33  # points along each grid line
FIELD_RES = 32  # resolution of the warped-coordinate colour map and of the embedding channel maps


class Mailbox:
    """Newest-wins single slot shared by two threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._item = None

    def put(self, item) -> None:
        with self._lock:
            self._item = item

    def take(self):
        """The newest item since the last take, or None."""
        with self._lock:
            item, self._item = self._item, None
        return item


@dataclass
class History:
    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    heldout: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Setup:
    """What to train: image file (None = default image), side length, and A's and B's configs."""

    image_path: str | None
    size: int
    configs: tuple[tuple[ModelConfig, FitConfig], tuple[ModelConfig, FitConfig]]


def identity_grid(n_lines: int = GRID_LINES, n_points: int = GRID_POINTS) -> torch.Tensor:
    """[2 * n_lines, n_points, 2] (x, y) in [-1, 1]: vertical lines, then horizontal lines."""
    ticks = torch.linspace(-1, 1, n_lines)
    along = torch.linspace(-1, 1, n_points)
    vertical = torch.stack([ticks[:, None].expand(-1, n_points), along[None, :].expand(n_lines, -1)], dim=-1)
    horizontal = vertical.flip(-1)
    return torch.cat([vertical, horizontal], dim=0)


@torch.no_grad()
def snapshot_of(trainer: ToyTrainer, history: History, image: np.ndarray) -> dict:
    """Everything the panel draws for one configuration (CPU numpy arrays)."""
    evaluation = trainer.evaluate()
    held = evaluation["heldout_psnr"]
    history.steps.append(trainer.step_count)
    history.train.append(evaluation["train_psnr"])
    history.heldout.append(evaluation["train_psnr"] if held is None else held)
    model = trainer.model
    device = trainer.device
    grid = identity_grid().to(device)
    warped_grid = model.warped(grid.reshape(-1, 2)).reshape(grid.shape).cpu().numpy()  # [2L, P, 2]
    ticks = (torch.arange(FIELD_RES, dtype=torch.float32) + 0.5) / FIELD_RES * 2 - 1
    yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
    field_xy = torch.stack([xx, yy], dim=-1).reshape(-1, 2).to(device)
    warped_field = model.warped(field_xy).reshape(FIELD_RES, FIELD_RES, 2).cpu().numpy()
    embedding = None
    if model.config.encoding == "learned":
        embedding = model.encoding(model.warped(field_xy)).T.reshape(-1, FIELD_RES, FIELD_RES).cpu().numpy()
    recon = evaluation["recon"].clamp(0, 1).numpy()
    return {"step": trainer.step_count, "recon": recon, "error": np.abs(recon - image).mean(axis=-1),
            "train_psnr": evaluation["train_psnr"], "heldout_psnr": history.heldout[-1],
            "heldout_is_train": held is None, "history": (list(history.steps), list(history.train),
                                                          list(history.heldout)),
            "warp_grid": warped_grid, "warp_field": warped_field, "embedding": embedding,
            "title": describe(trainer), "params": trainer.n_params, "image_values": trainer.image_values,
            "layers": list(model.layers)}


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
        self.snapshots = Mailbox()
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
    def _publish(self, error: str | None = None) -> None:
        snaps = [snapshot_of(t, h, self._image) for t, h in zip(self._trainers, self._histories)]
        self.snapshots.put({"configs": snaps, "image": self._image, "image_name": self._image_name,
                            "running": self._running, "error": error, "steps_per_s": self.steps_per_s})

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
        except (InputError, ValueError, RuntimeError) as exc:
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
            except RuntimeError as exc:
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
        self.snapshots.put({"configs": [], "image": self._image, "image_name": self._image_name,
                            "running": False, "error": text, "steps_per_s": 0.0})
