"""nerf/train/run_log.py: the one writer of log.jsonl, for the viewer's worker and nerf-train."""
import json

import pytest

from nerf.train.run_log import RunLog, Throughput


def _strict(path):
    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_records_have_the_documented_keys_and_append(tmp_path):
    path = tmp_path / "log.jsonl"
    log = RunLog(path)
    log.training(3, 1.23456, 0.01, 20.0, 1234.56)
    log.close()
    log = RunLog(path)  # a second session appends
    log.evaluation(3, 1.5, 25.0, 0.9)
    log.close()
    train, test = _strict(path)
    assert set(train) == {"step", "seconds", "time", "loss", "psnr", "rays_per_s"}
    assert train["seconds"] == 1.235 and train["rays_per_s"] == 1234.6
    assert test == {"step": 3, "seconds": 1.5, "test_psnr": 25.0, "test_ssim": 0.9}


def test_nan_and_infinity_are_written_as_null(tmp_path):
    path = tmp_path / "log.jsonl"
    log = RunLog(path)
    log.training(1, 0.1, float("nan"), float("inf"), 10.0)
    log.close()
    (record,) = _strict(path)
    assert record["loss"] is None and record["psnr"] is None and record["rays_per_s"] == 10.0


def test_a_failing_log_reports_once_and_goes_quiet(tmp_path):
    failures = []
    folder = tmp_path / "log.jsonl"
    folder.mkdir()  # a folder where the file should be
    log = RunLog(folder, on_error=lambda path, exc: failures.append((path, type(exc))))
    log.training(1, 0.1, 0.5, 3.0, 1.0)
    log.evaluation(1, 0.1, 3.0, 0.1)
    assert failures == [(folder, IsADirectoryError)]


def test_no_path_writes_nothing(tmp_path):
    RunLog(None).training(1, 0.1, 0.5, 3.0, 1.0)
    assert list(tmp_path.iterdir()) == []


def test_throughput_is_per_window_and_holds_while_idle():
    meter = Throughput()
    assert meter.read() == 0.0
    meter.add(100, 0.5)
    meter.add(300, 0.5)
    assert meter.read() == pytest.approx(400.0)
    assert meter.read() == pytest.approx(400.0)  # no step since: the last rate holds
    meter.add(10, 1.0)
    assert meter.read() == pytest.approx(10.0)
