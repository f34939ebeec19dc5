"""nerf/distributed/launch.py: the environment of --nproc's ranks, and the command they run."""
from nerf.distributed.launch import rank_environments, without_nproc


def test_ranks_do_not_start_ranks_of_their_own():
    assert without_nproc(["SCENE", "--nproc", "2", "--steps", "4"]) == ["SCENE", "--steps", "4"]
    assert without_nproc(["--nproc=3", "SCENE"]) == ["SCENE"]


def test_each_rank_gets_torchruns_environment_on_one_free_port():
    envs = rank_environments(3, threads=2)
    assert [e["RANK"] for e in envs] == ["0", "1", "2"] == [e["LOCAL_RANK"] for e in envs]
    assert {e["WORLD_SIZE"] for e in envs} == {"3"} and {e["MASTER_ADDR"] for e in envs} == {"127.0.0.1"}
    assert len({e["MASTER_PORT"] for e in envs}) == 1 and {e["OMP_NUM_THREADS"] for e in envs} == {"2"}
