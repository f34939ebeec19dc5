"""viewer.remote_session: opening a --connect session (the scene arrives, a local run folder is made,
bad input is one InputError) and the actions that differ when the run is on a server."""
import pytest

from nerf.data.cameras import look_at
from nerf.errors import InputError
from nerf.remote.access import Address, Token
from nerf.remote.server import RemoteServer
from nerf.train.worker import TrainingWorker
from tests.support.fakes import FakeTrainer
from viewer.cli import main as viewer_main
from viewer.notices import Notes
from viewer.panels.camera_path import JOB_NAME
from viewer.path_editor import PathEditor, render_path_job
from viewer.remote_session import RemoteSessionActions, open_remote

TOKEN = Token("session-token", generated=False)


@pytest.fixture
def served(tmp_path):
    trainer = FakeTrainer()
    worker = TrainingWorker(trainer).start()
    server = RemoteServer(worker, trainer.scene, trainer.config, tmp_path / "server", TOKEN,
                          Address("127.0.0.1", 0), log=lambda _line: None).start()
    yield server, trainer
    server.close()
    assert worker.stop(10.0)


def test_open_remote_brings_the_scene_and_a_local_folder(served, tmp_path):
    server, trainer = served
    session = open_remote(str(server.address), TOKEN.value, str(tmp_path / "here"), "test")
    try:
        assert session.run_dir == tmp_path / "here" and session.run_dir.is_dir()
        assert len(session.trainer.scene.split("train")) == len(trainer.scene.split("train"))
        assert session.trainer.config.lr == trainer.config.lr and session.trainer.config.model_name == "ngp"
        assert session.server_device == "cpu"
    finally:
        session.worker.stop(5.0)


@pytest.mark.parametrize("connect, token, match", [
    ("7000", "x", "HOST:PORT"),  # a client needs the host
    (None, "wrong", "refused the token"),
    ("127.0.0.1:1", "x", "cannot reach"),
])
def test_bad_connections_are_one_input_error(served, tmp_path, connect, token, match):
    with pytest.raises(InputError, match=match):
        open_remote(connect or str(served[0].address), token, str(tmp_path / "o"), "test")


class _Worker:
    def __init__(self):
        self.saved, self.swaps = [], []

    def save_checkpoint(self, name):
        self.saved.append(name)

    def swap_trainer(self, name, factory):
        self.swaps.append(name)


def test_remote_actions_save_on_the_server_and_leave_loading_to_it():
    worker, notes = _Worker(), Notes()
    actions = RemoteSessionActions(worker, None, notes, running=lambda: True)
    actions.save_checkpoint("/some/local/dir/mine.pt")
    actions.load_checkpoint("/x/other.pt")
    actions.change_model("nerf")
    assert worker.saved == ["mine.pt"] and worker.swaps == []
    assert any("server's run folder" in line for line in notes.lines)
    assert any("--resume" in line for line in notes.lines) and any("--model nerf" in line for line in notes.lines)


@pytest.mark.parametrize("argv, flag", [(["scene_dir"], "--connect"), (["--model", "nerf"], "--model"),
                                        (["--steps", "5"], "--steps")])
def test_connect_with_flags_of_a_run_is_one_line(capsys, argv, flag):
    assert viewer_main(["--connect", "127.0.0.1:1", "--token", "t", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nerf-viewer: error: {flag}") and "\n" not in err


def test_a_token_without_connect_is_refused(capsys):
    assert viewer_main(["--token", "t"]) == 2
    assert capsys.readouterr().err.startswith("nerf-viewer: error: --token")


def test_a_camera_path_video_renders_on_the_server_and_is_written_here(served, tmp_path):
    server, _trainer = served
    session = open_remote(str(server.address), TOKEN.value, str(tmp_path / "here"), "test")
    worker = session.worker.start()
    try:
        editor = PathEditor()
        for x in (3.0, 0.0):
            editor.add(look_at((x, 3.0 - x, 1.0), (0, 0, 0)).numpy(), 40.0)
        editor.set_options(fps=4, width=16, height=12)
        out = session.run_dir / "camera-path-001.mp4"
        worker.submit(JOB_NAME, render_path_job(editor.path, out))
        notice = worker.notices.get(timeout=60)
        while notice.name != JOB_NAME:
            notice = worker.notices.get(timeout=60)
        assert notice.result == out and out.stat().st_size > 0
        assert not (tmp_path / "server" / out.name).exists()
    finally:
        assert worker.stop(10.0)
