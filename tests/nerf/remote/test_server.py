"""nerf-train --serve's server and nerf-viewer --connect's client on the loopback address, against a
TrainingWorker with the fake trainer (no NeRF, no window). Every wait is bounded by HANG."""
import random
import socket
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nerf.data.cameras import look_at, make_cameras
from nerf.errors import InputError
from nerf.remote import wire
from nerf.remote.access import AUTH_HEADER, SOFTWARE_HEADER, VERSION_HEADER, Address, Token
from nerf.remote import client as remote_client
from nerf.remote.client import RemoteWorker
from nerf.remote.scene_wire import wire_render
from nerf.remote.server import RemoteServer
from nerf.train.worker import TrainingWorker
from nerf.train.worker_messages import Evaluate, Pause, RenderRequest, SetLr
from tests.support.fakes import FakeTrainer, paint

HANG = 30.0  # seconds: bounds every wait so that a hang fails; never a speed target
TOKEN = Token("secret-token", generated=False)


class Served:
    """A worker with its server; `log` collects the server's lines."""

    def __init__(self, tmp_path, port: int = 0):
        self.trainer = FakeTrainer()
        self.worker = TrainingWorker(self.trainer, log_path=tmp_path / "log.jsonl", stats_interval=0.02).start()
        self.log: list[str] = []
        self.server = RemoteServer(self.worker, self.trainer.scene, self.trainer.config, tmp_path, TOKEN,
                                   Address("127.0.0.1", port), software="test", log=self.log.append).start()
        self.address = self.server.address

    def close(self) -> None:
        self.server.close()
        assert self.worker.stop(HANG)


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path)
    yield s
    s.close()


def _client(address, token=TOKEN) -> RemoteWorker:
    client = RemoteWorker(address, token, software="test")
    client.open()
    return client.start()


@pytest.fixture
def client(served):
    c = _client(served.address)
    yield c
    assert c.stop(HANG)


def _raw(served):
    """A bare connection past the handshake: it sends whatever a test wants."""
    return connect(served.address.uri(), additional_headers={AUTH_HEADER: TOKEN.header(),
                                                             VERSION_HEADER: str(wire.PROTOCOL)},
                   proxy=None, max_size=None, legacy=True)


def _request(eye=(3.0, 0.0, 1.0), size=12, interactive=False, tag="t"):
    cams = make_cameras(look_at(eye, (0, 0, 0)), size, size, fov_y_deg=40.0)
    return RenderRequest(cams, 0, interactive=interactive, tag=tag)


def _frame(client, request, timeout=HANG):
    client.request_render(request)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = client.frames.wait(0.2)
        if result is not None and result.request is request and result.outputs is not None:
            return result
    raise AssertionError("no frame in time")


def _until(predicate, what, timeout=HANG):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what}: not in time")


def _stats(client, predicate):
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        s = client.stats.wait(0.2)
        if s is not None and predicate(s):
            return s
    raise AssertionError("no matching stats in time")


def test_the_scene_arrives_and_frames_follow_the_camera(served, client):
    scene = client.scene
    assert scene.near == served.trainer.scene.near and len(scene.split("train")) == 4
    assert np.allclose(scene.split("train").images.numpy(), served.trainer.scene.split("train").images.numpy(),
                       atol=0.5 / 255 + 1e-6)
    a = _frame(client, _request((3.0, 0.0, 1.0)))
    b = _frame(client, _request((0.0, 3.0, 1.0)))
    assert a.outputs.rgb.shape == (12, 12, 3) and a.outputs.depth.shape == (12, 12)
    assert a.request.tag == "t"  # the caller's own request comes back, tag untouched
    assert np.abs(a.outputs.rgb.numpy() - b.outputs.rgb.numpy()).mean() > 0.01  # another camera, another image
    moving = _frame(client, _request((3.0, 0.0, 1.0), interactive=True))
    assert moving.outputs.rgb.shape == (12, 12, 3)  # a JPEG, close to the PNG of the same view
    assert np.abs(moving.outputs.rgb.numpy() - a.outputs.rgb.numpy()).mean() < 0.1


def test_commands_take_effect_and_stats_carry_the_history(served, client):
    s = _stats(client, lambda s: s.step > 5 and len(s.history[0]) > 3)
    n = len(served.trainer.scene.split("train"))  # the cameras' training PSNRs come along (the fake's: 20 + i + ...)
    assert len(s.camera_psnrs) == n and all(20.0 + i < p < 31.0 + i for i, p in enumerate(s.camera_psnrs))
    client.pause()
    _stats(client, lambda s: not s.running)
    client.set_lr(0.0042)
    _until(lambda: served.trainer.lr == 0.0042, "learning rate")
    client.evaluate("test")
    deadline = time.monotonic() + HANG
    notice = None
    while notice is None and time.monotonic() < deadline:
        n = client.notices.get(timeout=HANG)
        notice = n if n.name == "evaluate" else None
    assert notice.result.views == 2 and notice.result.psnr > 0
    late = _client(served.address)  # a client that joins later gets the whole plot history
    try:
        s = _stats(late, lambda s: len(s.history[0]) > 3)
        assert s.history[0][0] == 1 and len(s.history[0]) == len(s.history[1]) == len(s.history[2])
        assert list(s.history[0]) == sorted(s.history[0])
    finally:
        assert late.stop(HANG)


def test_bad_numbers_in_a_command_close_only_that_connection(served, client):
    client.set_lr(float("nan"))  # the panel would never send it; a hostile client might
    _until(lambda: any("bad message" in line for line in served.log), "the refusal logged")
    _until(lambda: served.server.clients == 0, "the connection closed")
    assert served.worker.alive
    assert served.trainer.lr == served.trainer.config.lr  # NaN never reached the trainer


def test_two_clients_keep_their_own_cameras(served, client):
    other = _client(served.address)
    try:
        ra, rb = _request((3.0, 0.0, 1.0), tag="a"), _request((0.0, -3.0, 1.0), tag="b")
        client.request_render(ra)
        other.request_render(rb)
        a = _frame(client, ra)
        b = _frame(other, rb)
        assert np.abs(a.outputs.rgb.numpy() - b.outputs.rgb.numpy()).mean() > 0.01
        for request, result in ((ra, a), (rb, b)):  # each its own camera's view, at the step it was rendered
            # (the fake's picture changes with the step, so two frames of one view may differ)
            own = paint(request.cameras, 0, result.step).numpy()
            assert np.abs(result.outputs.rgb.numpy() - own).mean() < 0.05
    finally:
        assert other.stop(HANG)


def test_a_job_renders_through_the_server(served, client):
    def job(renderer, should_abort):
        cams = make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), 10, 8, fov_y_deg=40.0)
        out = renderer.render(cams, 0, background=(0.0, 0.0, 0.0), should_abort=should_abort)
        return None if out is None else tuple(out.rgb.shape)

    client.submit("turntable", job)
    notice = client.notices.get(timeout=HANG)
    while notice.name != "turntable":
        notice = client.notices.get(timeout=HANG)
    assert notice.result == (8, 10, 3)


def test_a_job_that_needs_the_model_itself_says_so(served, client):
    client.submit("export", lambda trainer, _abort: trainer.model.query_density)
    notice = client.notices.get(timeout=HANG)
    while notice.name != "export":
        notice = client.notices.get(timeout=HANG)
    assert notice.result is None
    error = client.errors.wait(HANG)
    assert "export: not available over --connect" in error and "model" in error


def test_save_goes_to_the_servers_run_folder(served, client, tmp_path):
    client.save_checkpoint("mine.pt")
    _until(lambda: (tmp_path / "mine.pt").exists(), "checkpoint on the server")
    client.save_checkpoint("../escape.pt")
    _until(lambda: any("bad message" in line for line in served.log), "the refusal logged")
    assert not (tmp_path.parent / "escape.pt").exists()


def test_wrong_token_and_version_mismatch_are_one_line(served):
    with pytest.raises(InputError, match="refused the token") as exc:
        RemoteWorker(served.address, Token("wrong", False)).open()
    assert str(exc.value).count("\n") == 0
    assert any("refused 127.0.0.1" in line and "wrong token" in line for line in served.log)
    headers = {AUTH_HEADER: TOKEN.header(), VERSION_HEADER: "999", SOFTWARE_HEADER: "9.9"}
    with pytest.raises(Exception) as mismatch:
        connect(served.address.uri(), additional_headers=headers, proxy=None, legacy=True)
    body = mismatch.value.response.body.decode()
    assert f"protocol {wire.PROTOCOL}" in body and "protocol 999" in body and "9.9" in body and "test" in body


def test_a_client_of_another_protocol_gets_one_line_naming_both(served, monkeypatch):
    monkeypatch.setattr(remote_client, "PROTOCOL", wire.PROTOCOL + 1)
    with pytest.raises(InputError, match="version mismatch") as exc:
        RemoteWorker(served.address, TOKEN, software="9.9").open()
    line = str(exc.value)
    assert "\n" not in line and f"protocol {wire.PROTOCOL}" in line and f"protocol {wire.PROTOCOL + 1}" in line
    assert "nerf-viewer test" in line and "nerf-viewer 9.9" in line


def test_a_client_killed_mid_frame_leaves_the_server_serving(served, client):
    served.trainer.render_row_seconds = 0.02  # renders long enough to die during one
    raw = _raw(served)
    raw.send(wire.pack(wire_render(1, _request(size=48), "view")))
    _until(lambda: served.server.clients == 2 and served.server._dispatch.busy, "the render under way")
    raw.socket.close()  # no closing handshake: as if the process were killed
    _until(lambda: served.server.clients == 1, "the dead client dropped")
    served.trainer.render_row_seconds = 0.0
    assert _frame(client, _request((0.0, 3.0, 1.0))).outputs is not None
    assert served.worker.alive


@pytest.mark.parametrize("payload", [
    b"\x00" * (wire.CLIENT_MESSAGE_MAX + 10),  # oversize
    b"\x00\x00\x00\x05{bad}",
    b"garbage",
    "text instead of binary",
], ids=["oversize", "bad-json", "garbage", "text"])
def test_oversize_and_malformed_messages_never_crash_the_server(served, client, payload):
    raw = _raw(served)
    _until(lambda: served.server.clients == 2, "the bare client registered")
    raw.send(payload)
    why = "over" if len(payload) > wire.CLIENT_MESSAGE_MAX else "bad message"
    _until(lambda: any(why in line for line in served.log), "the refusal logged")
    _until(lambda: served.server.clients == 1, "the bad client dropped")
    raw.close()
    assert served.worker.alive
    assert _frame(client, _request()).outputs is not None


def test_garbage_before_the_handshake_is_refused(served, client):
    with socket.create_connection(("127.0.0.1", served.address.port), timeout=HANG) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 10)
        s.recv(4096)  # refused: no token
    assert _frame(client, _request()).outputs is not None


def test_server_killed_then_back_the_client_reconnects(tmp_path):
    first = Served(tmp_path)
    port = first.address.port
    client = _client(first.address)
    try:
        assert _frame(client, _request()).outputs is not None
        first.close()
        _until(lambda: "server gone" in client.link, "the client noticing")
        pending = _request((0.0, 3.0, 1.0))
        client.request_render(pending)  # asked while the server is away: answered once it is back
        second = Served(tmp_path / "again" if (tmp_path / "again").mkdir() is None else tmp_path, port=port)
        try:
            _until(lambda: client.connected, "reconnection")
            deadline = time.monotonic() + HANG
            result = None
            while result is None and time.monotonic() < deadline:
                r = client.frames.wait(0.2)
                result = r if r is not None and r.request is pending else None
            assert result is not None and result.outputs is not None and client.reconnects == 1
            assert "connected" in client.link
        finally:
            second.close()
    finally:
        assert client.stop(HANG)


def test_fuzzed_messages_never_crash_the_server(served, client):
    rng = random.Random(1)
    valid = [wire.pack(m) for m in (Pause(), SetLr(0.01), Evaluate("test", None), wire.FrameAck(1))]
    valid.append(wire.pack(wire_render(3, _request(size=8), "view")))
    for _ in range(25):
        data = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            data[pos:pos + rng.randint(0, 3)] = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3)))
        raw = _raw(served)
        try:
            raw.send(bytes(data))
            raw.send(bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))))
        except ConnectionClosed:
            pass  # the server already hung up on the first
        raw.close()
    assert served.worker.alive
    served.worker.resume()  # a fuzzed Pause may have landed: the worker obeys valid commands
    assert _frame(client, _request((0.0, 3.0, 1.0))).outputs is not None
    _until(lambda: served.server.clients == 1, "the fuzzing clients gone")
