"""The wire format (nerf.remote.wire), frames (nerf.remote.frames) and access (nerf.remote.access):
round trips, and every malformed input becomes a WireError or an InputError, never anything else."""
import dataclasses
import math
import json
import random
import struct

import numpy as np
import pytest
import torch

from nerf.data.cameras import look_at, make_cameras
from nerf.data.formats.pointcloud import scene_points
from nerf.errors import InputError
from nerf.models.base import RenderOutput
from nerf.remote import wire
from nerf.remote.access import exposure_warning, parse_address, resolve_token
from nerf.remote.frames import QUALITY_MAX, QUALITY_MIN, JpegQuality, decode_frame, encode_frame
from nerf.remote.scene_wire import (
    POINTS_MAX, SceneBuilder, cameras_of, image_message, render_request, scene_messages, wire_camera, wire_render,
)
from nerf.train.worker_messages import EvalScore, Evaluate, Pause, RenderRequest, SetBudget, SetLr, WorkerStats
from tests.support.fakes import FakeConfig, make_fake_scene


@pytest.mark.parametrize("message", [Pause(), SetLr(0.003), SetBudget(None), SetBudget(12.5), Evaluate("test", 3),
                                     wire.SaveCheckpoint("a.pt"), wire.FrameAck(7)])
def test_client_messages_round_trip(message):
    decoded, payload = wire.unpack(wire.pack(message), wire.FROM_CLIENT)
    assert decoded == message and payload == b""


def test_nested_dataclass_and_payload_round_trip():
    notice = wire.NoticeMessage("evaluate", None, EvalScore(10, 25.5, 0.9, 2), 1.5)
    decoded, payload = wire.unpack(wire.pack(notice, b"\x00\x01"), wire.FROM_SERVER)
    assert decoded == notice and isinstance(decoded.score, EvalScore) and payload == b"\x00\x01"


def test_a_server_message_is_refused_from_a_client_and_the_version_is_checked():
    with pytest.raises(wire.WireError, match="unexpected message type"):
        wire.unpack(wire.pack(wire.ErrorMessage("x")), wire.FROM_CLIENT)
    data = wire.pack(Pause())
    header = json.loads(data[4:])
    header["v"] = wire.PROTOCOL + 1
    text = json.dumps(header).encode()
    with pytest.raises(wire.WireError, match="protocol version"):
        wire.unpack(struct.pack(">I", len(text)) + text, wire.FROM_CLIENT)


def _raw(header: dict) -> bytes:
    text = json.dumps({"v": wire.PROTOCOL, **header}).encode()
    return struct.pack(">I", len(text)) + text


@pytest.mark.parametrize("header", [
    {"type": "SetLr"},  # missing field
    {"type": "SetLr", "lr": "fast"},  # wrong type
    {"type": "SetLr", "lr": True},  # a bool is not a number here
    {"type": "SetLr", "lr": 0.1, "extra": 1},  # unknown field
    {"type": "SetBatchRays", "n": 1.5},
    {"type": "Render", "id": 1, "camera": {"c2w": [0] * 16}},  # camera without intrinsics
    {"type": "Render", "id": 1, "camera": [1, 2]},
    {"type": "RunJob", "name": "x", "fn": "os.system"},  # no callables on the wire
    {"type": "__class__"},
])
def test_malformed_headers_are_wire_errors(header):
    with pytest.raises(wire.WireError):
        wire.unpack(_raw(header), wire.FROM_CLIENT)


def test_fuzzed_bytes_only_ever_raise_wire_errors():
    rng = random.Random(0)
    valid = [wire.pack(m) for m in (Pause(), SetLr(0.01), Evaluate("test", None))]
    valid.append(wire.pack(wire_render(3, RenderRequest(cameras_of(_camera()), 0), "view")))
    decoded = 0
    for i in range(3000):
        base = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randrange(len(base))
            if op < 0.5:
                base[pos] = rng.randrange(256)
            elif op < 0.75:
                del base[pos:pos + rng.randint(1, 8)]
            else:
                base[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        data = bytes(base) if i % 10 else bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        try:
            wire.unpack(data, wire.FROM_CLIENT)
            decoded += 1
        except wire.WireError:
            pass
    assert decoded < 3000  # most mutations are refused; none raised anything but WireError


def test_a_header_over_the_limit_is_refused():
    data = struct.pack(">I", wire.HEADER_MAX + 1) + b" " * (wire.HEADER_MAX + 1)
    with pytest.raises(wire.WireError, match="header length"):
        wire.unpack(data, wire.FROM_CLIENT)


def _camera():
    return wire_camera(make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), 12, 10, fov_y_deg=40.0), 0)


def test_render_requests_keep_the_camera_and_refuse_bad_numbers():
    cam = cameras_of(_camera())
    request = RenderRequest(cam, 0, (0.0, 0.5, 1.0), 64, interactive=True)
    message, _ = wire.unpack(wire.pack(wire_render(5, request, "view")), wire.FROM_CLIENT)
    back = render_request(message)
    assert torch.allclose(back.cameras.c2w, cam.c2w) and (back.cameras.width, back.cameras.height) == (12, 10)
    assert back.background == (0.0, 0.5, 1.0) and back.max_samples == 64 and back.interactive
    bad = wire.Render(1, wire.WireCamera((float("nan"),) * 16, 10, 10, 5, 5, 8, 8))
    with pytest.raises(wire.WireError, match="finite"):
        render_request(bad)
    huge = wire.Render(1, wire.WireCamera(_camera().c2w, 10, 10, 5, 5, 100000, 8))
    with pytest.raises(wire.WireError, match="size"):
        render_request(huge)


def test_frames_png_is_lossless_jpeg_is_close():
    rng = np.random.default_rng(0)
    rgb = torch.from_numpy(np.round(rng.random((10, 12, 3)) * 255) / 255).float()
    depth = torch.linspace(2, 6, 120).reshape(10, 12)
    out = RenderOutput(rgb, depth, torch.ones(10, 12))
    header, payload = encode_frame(1, 5, 0.1, out, "png")
    back = decode_frame(header, payload)
    assert np.array_equal(back.rgb, rgb.numpy()) and np.allclose(back.depth, depth.numpy(), rtol=1e-3)
    smooth = RenderOutput(torch.linspace(0, 1, 360).reshape(10, 12, 3), depth, torch.ones(10, 12))
    jheader, jpayload = encode_frame(1, 5, 0.1, smooth, "jpeg", 80)
    assert jheader.codec == "jpeg" and np.abs(decode_frame(jheader, jpayload).rgb - smooth.rgb.numpy()).max() < 0.1
    assert decode_frame(*encode_frame(2, 5, 0.1, None, "png")) is None  # an aborted render
    with pytest.raises(wire.WireError):
        decode_frame(header, payload[:-3])


def test_jpeg_quality_follows_the_link():
    q = JpegQuality()
    for _ in range(20):
        q.acknowledged(0.5)  # a slow link
    assert q.quality == QUALITY_MIN
    for _ in range(40):
        q.acknowledged(0.001)
    assert q.quality == QUALITY_MAX


def test_scene_survives_the_trip():
    scene = make_fake_scene(size=8, n_train=3, n_test=2)
    file_points = np.random.default_rng(0).normal(size=(40, 3)) * scene.scale + np.asarray(scene.offset)
    scene.sparse_points = file_points  # a COLMAP model's, in the scene's file units
    messages = [wire.unpack(wire.pack(m, p), wire.FROM_SERVER) for m, p in scene_messages(scene, FakeConfig(),
                                                                                         "run", "cpu")]
    builder = SceneBuilder(messages[0][0])
    assert isinstance(messages[1][0], wire.ScenePoints) and messages[1][0].count == 40
    builder.add_points(*messages[1])
    for m, p in messages[2:]:
        builder.add_cameras(m, p)
    for split, s in scene.splits.items():
        for i in range(len(s)):
            builder.add_image(*wire.unpack(wire.pack(*image_message(scene, split, i)), wire.FROM_SERVER))
    got = builder.scene()
    assert got.near == scene.near and got.far == scene.far and got.offset == scene.offset
    for name in scene.splits:
        assert torch.allclose(got.split(name).cameras.c2w, scene.split(name).cameras.c2w)
        assert (got.split(name).images - scene.split(name).images).abs().max() <= 0.5 / 255 + 1e-6
    np.testing.assert_allclose(scene_points(got), scene_points(scene), atol=1e-5)  # the viewer draws the same


def test_sparse_points_are_sent_bounded_and_checked(tmp_path):
    scene = make_fake_scene(size=8, n_train=2, n_test=1)
    assert not any(isinstance(m, wire.ScenePoints) for m, _ in scene_messages(scene, FakeConfig(), "run", "cpu"))
    scene.sparse_points = np.zeros((POINTS_MAX * 3, 3))
    sent = [p for m, p in scene_messages(scene, FakeConfig(), "run", "cpu") if isinstance(m, wire.ScenePoints)]
    assert len(sent[0]) == POINTS_MAX * 12  # a subset: the overlay draws a few thousand
    builder = SceneBuilder(wire.unpack(wire.pack(*scene_messages(scene, FakeConfig(), "run", "cpu")[0]),
                                       wire.FROM_SERVER)[0])
    for bad, payload in ((wire.ScenePoints(2), b"\0" * 12), (wire.ScenePoints(POINTS_MAX + 1), b""),
                         (wire.ScenePoints(1), np.array([np.nan, 0, 0], "<f4").tobytes())):
        with pytest.raises(wire.WireError, match="sparse points"):
            builder.add_points(bad, payload)
    scene.sparse_points, scene.points_file = None, "missing.ply"  # named by the scene, not there
    scene.root = tmp_path
    lines: list[str] = []
    messages = scene_messages(scene, FakeConfig(), "run", "cpu", warn=lines.append)
    assert not any(isinstance(m, wire.ScenePoints) for m, _ in messages)
    assert len(lines) == 1 and "missing.ply" in lines[0] and "no sparse points" in lines[0]


def test_tokens_and_addresses(monkeypatch):
    monkeypatch.delenv("NERF_VIEWER_TOKEN", raising=False)
    made = resolve_token(None, generate=True)
    assert made.generated and len(made.value) >= 24 and made.matches(made.header())
    assert not made.matches("Bearer nope") and not made.matches(None)
    monkeypatch.setenv("NERF_VIEWER_TOKEN", "from-env")
    assert resolve_token(None, generate=False).value == "from-env"
    assert resolve_token("flag", generate=False).value == "flag"
    monkeypatch.delenv("NERF_VIEWER_TOKEN")
    with pytest.raises(InputError, match="token"):
        resolve_token(None, generate=False)
    assert parse_address("7000", "--serve").host == "127.0.0.1"
    assert str(parse_address("0.0.0.0:7000", "--serve")) == "0.0.0.0:7000"
    assert parse_address("[::1]:80", "--serve").host == "::1"
    for bad in ("host:", "70000", "a:b"):
        with pytest.raises(InputError):
            parse_address(bad, "--serve")
    with pytest.raises(InputError):
        parse_address("7000", "--connect", default_host=None)
    assert exposure_warning(parse_address("7000", "--serve")) is None
    assert "not encrypted" in exposure_warning(parse_address("0.0.0.0:7000", "--serve"))


def test_wire_stats_carry_every_field_of_the_workers_stats():
    """A field added to WorkerStats must be added to wire.Stats (and the client's rebuild) too."""
    worker = [f.name for f in dataclasses.fields(WorkerStats) if f.name not in ("history", "camera_psnrs")]
    sent = [f.name for f in dataclasses.fields(wire.Stats)]
    assert sent == worker + ["history_from", "history_new", "camera_psnrs"]


def test_camera_psnrs_cross_the_wire_rounded_with_nan_kept():
    from nerf.remote.peer import wire_psnrs
    psnrs = wire_psnrs((21.23456, math.nan, 30.0))
    stats = wire.Stats(1, 0.1, 20.0, 1.0, 1.0, True, False, None, 0.0, "ngp", None, 0.0, 0.0, 0, camera_psnrs=psnrs)
    back, _ = wire.unpack(wire.pack(stats), (wire.Stats,))
    assert back.camera_psnrs[0] == 21.23 and math.isnan(back.camera_psnrs[1]) and back.camera_psnrs[2] == 30.0
    assert wire_psnrs((25.0,) * (wire.CAMERA_PSNRS_MAX + 1)) == ()  # a huge capture's stay home
    many = wire.Stats(1, 0.1, 20.0, 1.0, 1.0, True, False, None, 0.0, "ngp", None, 0.0, 0.0, 0,
                      camera_psnrs=wire_psnrs((-12.34,) * wire.CAMERA_PSNRS_MAX))
    assert len(wire.pack(many)) < wire.HEADER_MAX  # the most it carries fits a header
