"""Camera recovery with pycolmap: SIFT features, sequential or exhaustive matching, incremental mapping.

pycolmap runs each step as one blocking call. Feature extraction is fed a few images per call so
the bar counts images; matching reports no progress, so it runs on a helper thread while this one
keeps the stage's clock ticking; mapping counts images through its `next_image_callback`.
Nothing here downloads anything: no vocabulary tree, no loop detection.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nerf.colmap_lib import pycolmap as load_pycolmap
from nerf.runtime.stages import Report, Stage

FEATURE_CALLS = 25  # extract features in about this many calls: a smooth bar, little per-call overhead
HEARTBEAT_SECONDS = 0.5
CANCEL_WAIT_SECONDS = 10.0  # a cancelled COLMAP job stops at its next check, well within this
SEQUENTIAL_OVERLAP = 10  # COLMAP's default: each frame is matched with its next 10 (and 2^k further)


class Cancelled(Exception):
    """The caller asked the pipeline to stop (the viewer closed, or a new scene was opened)."""


@dataclass(frozen=True)
class SfmOptions:
    matching: str = "sequential"  # "sequential" (video order) | "exhaustive" (every pair)
    camera_model: str = "OPENCV"  # "OPENCV" | "SIMPLE_RADIAL"
    single_camera: bool = True  # one camera for every image (a video; photos from one phone)
    max_image_size: int = 480  # features on copies at most this many pixels wide or high
    seed: int = 0  # RANSAC and mapping seeds, so a rerun gives the same cameras


def _quiet() -> None:
    pycolmap = load_pycolmap()
    pycolmap.logging.minloglevel = 3  # fatal only: the bars and our one-line errors say the rest


def pair_count(n: int, matching: str) -> int:
    """Image pairs a matching mode compares (sequential: the overlap window plus 2^k jumps)."""
    if matching == "exhaustive":
        return n * (n - 1) // 2
    pairs = set()
    for i in range(n):
        for k in range(1, SEQUENTIAL_OVERLAP + 1):
            if i + k < n:
                pairs.add((i, i + k))
            if i + 2 ** k < n:
                pairs.add((i, i + 2 ** k))
    return len(pairs)


def _with_heartbeat(work: Callable[[], object], stage: Stage, token, cancel: threading.Event | None):
    """Run `work` on a helper thread, ticking `stage` until it returns; re-raise what it raised."""
    result: dict = {}
    # The end is an Event, not Thread.join: a join interrupted by Ctrl-C marks a running thread as
    # stopped on Python < 3.13, and every later join returns at once.
    done = threading.Event()

    def target():
        try:
            result["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread below
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"colmap-{stage.name}", daemon=True).start()
    try:
        while not done.wait(HEARTBEAT_SECONDS):
            if cancel is not None and cancel.is_set():
                token.cancel()
            stage.tick(stage.done)
    except BaseException:
        # Ctrl-C or SIGTERM in this thread: stop the job too, before the caller removes its files
        token.cancel()
        done.wait(CANCEL_WAIT_SECONDS)
        raise
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def recover_cameras(image_dir: Path, names: list[str], work_dir: Path, options: SfmOptions,
                    report: Report | None = None, cancel: threading.Event | None = None):
    """-> the largest pycolmap.Reconstruction of the images `names` in image_dir, or None.

    work_dir receives database.db and the sparse models (sparse/0, sparse/1, ...).
    """
    pycolmap = load_pycolmap()
    _quiet()
    pycolmap.set_random_seed(options.seed)
    database = work_dir / "database.db"
    pycolmap.Database.open(str(database)).close()  # import_images wants the file to exist
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = options.camera_model
    mode = pycolmap.CameraMode.SINGLE if options.single_camera else pycolmap.CameraMode.AUTO
    pycolmap.import_images(str(database), str(image_dir), camera_mode=mode, image_names=names,
                           options=reader)

    extraction = pycolmap.FeatureExtractionOptions()
    extraction.max_image_size = options.max_image_size
    stage = Stage("features", report, len(names))
    chunk = max(1, math.ceil(len(names) / FEATURE_CALLS))
    for start in range(0, len(names), chunk):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        pycolmap.extract_features(str(database), str(image_dir), image_names=names[start:start + chunk],
                                  camera_mode=mode, reader_options=reader,
                                  extraction_options=extraction, device=pycolmap.Device.cpu)
        stage.tick(min(start + chunk, len(names)))
    stage.finish()

    token = pycolmap.CancellationToken()
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = options.seed
    stage = Stage("matching", report, pair_count(len(names), options.matching))
    if options.matching == "exhaustive":
        def match():
            pycolmap.match_exhaustive(str(database), verification_options=verification,
                                      device=pycolmap.Device.cpu, cancellation_token=token)
    else:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = SEQUENTIAL_OVERLAP
        pairing.loop_detection = False  # it needs a vocabulary tree, i.e. a download

        def match():
            pycolmap.match_sequential(str(database), pairing_options=pairing,
                                      verification_options=verification,
                                      device=pycolmap.Device.cpu, cancellation_token=token)
    _with_heartbeat(match, stage, token, cancel)
    stage.finish(stage.total)

    mapping = pycolmap.IncrementalPipelineOptions()
    mapping.random_seed = options.seed
    stage = Stage("mapping", report, len(names))
    registered = [0]

    def initial_pair():
        registered[0] = 2
        stage.tick(2)

    def next_image():
        registered[0] = min(registered[0] + 1, len(names))
        stage.tick(registered[0])

    sparse = work_dir / "sparse"
    sparse.mkdir(parents=True, exist_ok=True)
    models = _with_heartbeat(
        lambda: pycolmap.incremental_mapping(str(database), str(image_dir), str(sparse), mapping,
                                             initial_image_pair_callback=initial_pair,
                                             next_image_callback=next_image, cancellation_token=token),
        stage, token, cancel)
    best = max(models.values(), key=lambda rec: rec.num_reg_images(), default=None) if models else None
    stage.finish(best.num_reg_images() if best is not None else 0)
    return best
