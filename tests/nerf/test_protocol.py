"""nerf/train/protocol.py: the real Trainer and the test fake both give the worker what it needs."""
import inspect

import pytest
import torch

from nerf.train.config import TrainConfig
from nerf.train.protocol import TrainerLike
from nerf.train.trainer import Trainer
from tests.support.fakes import FakeTrainer
from tests.support.scenes import TINY

METHODS = [name for name, value in vars(TrainerLike).items() if inspect.isfunction(value) and not name.startswith("_")]
ATTRIBUTES = list(TrainerLike.__annotations__)


def _positional(sig):
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def mismatches(trainer) -> list[str]:
    """How `trainer` falls short of TrainerLike: missing members, or methods the worker could not call
    as the protocol declares them (a parameter missing or of another kind, a default missing, an
    extra parameter without a default)."""
    problems = [f"no attribute {a}" for a in ATTRIBUTES if not hasattr(trainer, a)]
    for name in METHODS:
        impl = getattr(trainer, name, None)
        if not callable(impl):
            problems.append(f"no method {name}")
            continue
        want = inspect.signature(getattr(TrainerLike, name))
        want = want.replace(parameters=list(want.parameters.values())[1:])  # without self
        have = inspect.signature(impl)
        if _positional(have)[:len(_positional(want))] != _positional(want):
            problems.append(f"{name}: positional parameters {_positional(have)}, want {_positional(want)}")
        for p in want.parameters.values():
            q = have.parameters.get(p.name)
            if q is None or q.kind != p.kind:
                problems.append(f"{name}: parameter {p.name} missing or of another kind")
            elif p.default is not p.empty and q.default != p.default:
                problems.append(f"{name}: {p.name} defaults to {q.default!r}, want {p.default!r}")
        for q in have.parameters.values():
            if q.name not in want.parameters and q.default is q.empty and q.kind not in (q.VAR_POSITIONAL,
                                                                                         q.VAR_KEYWORD):
                problems.append(f"{name}: extra parameter {q.name} without a default")
    return problems


@pytest.fixture(scope="module")
def real(scene):
    return Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))


@pytest.mark.parametrize("make", [lambda real: real, lambda real: FakeTrainer()], ids=["Trainer", "FakeTrainer"])
def test_trainers_satisfy_the_worker_protocol(real, make):
    trainer = make(real)
    assert isinstance(trainer, TrainerLike)
    assert mismatches(trainer) == []
    assert isinstance(trainer.device, torch.device) and isinstance(trainer.step_count, int)
    assert isinstance(trainer.config.model_name, str) and trainer.pool is None and trainer.progress is None


def test_the_check_catches_a_trainer_the_worker_could_not_call():
    class Stale(FakeTrainer):
        def render(self, cameras, index, background=(1.0, 1.0, 1.0)):  # no keyword-only options
            return None

        def set_lr(self, lr, momentum):  # an argument the worker never passes
            pass

    problems = mismatches(Stale())
    assert any(p.startswith("render: parameter should_abort") for p in problems)
    assert any(p.startswith("render: index defaults") for p in problems)
    assert "set_lr: extra parameter momentum without a default" in problems
    del_pool = FakeTrainer()
    del del_pool.pool
    assert "no attribute pool" in mismatches(del_pool) and not isinstance(del_pool, TrainerLike)
