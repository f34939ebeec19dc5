"""nerf/distributed/gradients.py and work.py on 2 gloo ranks over 127.0.0.1, against one process."""
import os
import signal
import time

import pytest
import torch
import torch.distributed as dist

from nerf.distributed.agreement import check_same_run
from nerf.distributed.gradients import GradientReducer
from nerf.distributed.group import RankLost, collective
from nerf.distributed.work import RankRows, agree_step, batch_shares, gather_frames, rank_seed
from nerf.errors import InputError
from nerf.runtime.signals import Stopped
from nerf.volume.occupancy import OccupancyGrid
from tests.support.ranks import run_ranks


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2), torch.nn.Linear(2, 1))


def _grads(model, x, rows, unused_head):
    """Backward of rows `rows` of x, weighted by their share of x; the last layer only with unused_head False."""
    out = model[:3](x[rows]) if unused_head else model(x[rows])
    loss = out.square().mean() * (len(range(*rows.indices(x.shape[0]))) / x.shape[0])
    loss.backward()
    return float(loss.detach())


def _reduce_on_rank(group, bucket_bytes):
    model, x = _model(), torch.linspace(-1, 1, 21).reshape(7, 3)
    rows = [slice(0, 3), slice(3, 7)][group.rank]
    loss = _grads(model, x, rows, unused_head=True)  # no rank reaches the last layer
    reducer = GradientReducer(list(model.parameters()), bucket_bytes=bucket_bytes)
    summed = reducer.reduce([loss, 1.0])
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()], summed, len(reducer.buckets)


@pytest.mark.parametrize("bucket_bytes", [1 << 20, 64])
def test_reduced_gradients_are_one_process_over_the_union_of_the_rays(bucket_bytes):
    ranks = run_ranks(_reduce_on_rank, 2, bucket_bytes)
    model, x = _model(), torch.linspace(-1, 1, 21).reshape(7, 3)
    loss = _grads(model, x, slice(0, 7), unused_head=True)
    for grads, summed, buckets in ranks:
        assert buckets == (1 if bucket_bytes > 1000 else 4)  # 64 B: [w1] [b1] [w2] [b2 w3 b3]
        assert summed[0] == pytest.approx(loss, rel=1e-6) and summed[1] == 2.0
        for p, g in zip(model.parameters(), grads, strict=True):
            if p.grad is None:
                assert g is None  # unreached everywhere: Adam must skip it, as in one process
            else:
                torch.testing.assert_close(g, p.grad, rtol=1e-6, atol=1e-7)
    for a, b in zip(ranks[0][0], ranks[1][0], strict=True):
        assert (a is None and b is None) or torch.equal(a, b)  # bit-identical on every rank


def _refresh_on_rank(group, steps):
    grid = OccupancyGrid(1.0, res=8, warmup_steps=2)
    torch.manual_seed(1)
    field = torch.nn.Linear(3, 1)
    rows = RankRows(group.rank, group.world)
    gen = torch.Generator().manual_seed(5)
    for step in range(steps):
        grid.update(step, lambda p: torch.relu(field(p)).squeeze(-1) * 10, gen, chunk=100, pool=rows)
    return grid.density.clone(), grid.occupied.clone()


def test_a_refresh_split_across_ranks_gives_the_single_process_grid():
    ranks = run_ranks(_refresh_on_rank, 2, 4)
    grid = OccupancyGrid(1.0, res=8, warmup_steps=2)
    torch.manual_seed(1)
    field = torch.nn.Linear(3, 1)
    gen = torch.Generator().manual_seed(5)
    for step in range(4):
        grid.update(step, lambda p: torch.relu(field(p)).squeeze(-1) * 10, gen, chunk=100)
    for density, occupied in ranks:
        assert torch.equal(density, grid.density) and torch.equal(occupied, grid.occupied)
    assert 0 < grid.occupied.sum() < grid.occupied.numel()  # the field leaves some cells empty


def _frames_and_flags(group):
    frames = gather_frames(lambda i: torch.full((2, 3), float(i)), 5, group.rank, group.world, group.device)
    stop = agree_step(group.rank == 1, 10.0 + group.rank, group.device)
    keep = agree_step(False, 3.0, group.device)
    return frames, stop, keep


def test_frames_gather_in_order_on_rank_0_and_any_rank_stops_every_rank():
    (frames, stop0, keep0), (none, stop1, _) = run_ranks(_frames_and_flags, 2)
    assert [float(f[0, 0]) for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0] and none is None
    assert stop0 == stop1 == (True, 11.0)  # rank 1's signal, the longer time
    assert keep0 == (False, 3.0)


def _check(group, facts):
    try:
        who = check_same_run(facts[group.rank], group.world, f"rank {group.rank} here")
    except InputError as e:
        return str(e)
    except Stopped as e:
        return ("stopped", e.signum)
    return who


def test_ranks_that_disagree_all_refuse_with_the_same_line():
    same = {"seed": 0, "scene": "abc"}
    assert run_ranks(_check, 2, [same, dict(same)]) == [["rank 0 here", "rank 1 here"]] * 2
    lines = run_ranks(_check, 2, [same, {"seed": 1, "scene": "abc"}])
    assert lines[0] == lines[1] and "rank 1" in lines[0] and "seed is 1 but rank 0 has 0" in lines[0]
    lines = run_ranks(_check, 2, [same, {**same, "error": "scene/x.png: cannot read"}])
    assert lines[0] == lines[1] == "rank 1: scene/x.png: cannot read"


def test_a_signal_one_rank_met_while_loading_stops_every_rank():
    # rank 1 was stopped part-way through loading: its facts are incomplete, and it is a stop, not a mismatch
    same = {"seed": 0, "scene": "abc", "error": None, "stopped": None}
    stopped = {"error": None, "stopped": int(signal.SIGTERM)}
    assert run_ranks(_check, 2, [same, stopped]) == [("stopped", signal.SIGTERM)] * 2


def _die_or_wait(group):
    if group.rank == 1:
        os._exit(3)  # a rank killed mid-run: no goodbye, no exception
    t0 = time.monotonic()
    try:
        with collective():
            dist.all_reduce(torch.ones(1))
    except RankLost as e:
        return time.monotonic() - t0, str(e)
    return time.monotonic() - t0, None


def test_a_killed_rank_ends_the_others_wait_in_bounded_time():
    (elapsed, error), dead = run_ranks(_die_or_wait, 2, may_die=(1,))
    assert dead is None and error is not None  # the collective failed instead of hanging
    assert elapsed < 65  # the group's timeout (tests.support.ranks.COLLECTIVE_TIMEOUT_S) at most


def test_batch_shares_follow_the_views_and_seeds_keep_rank_0_the_run():
    assert batch_shares(4096, [50, 50]) == [2048, 2048]
    assert batch_shares(100, [34, 33, 33]) == [34, 33, 33]
    assert sum(batch_shares(1000, [3, 2, 2])) == 1000
    with pytest.raises(InputError, match="--batch-rays"):
        batch_shares(2, [1, 1, 1])
    assert rank_seed(7, 0) == 7 and len({rank_seed(7, r) for r in range(8)}) == 8
