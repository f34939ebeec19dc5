"""nerf/train/worker_policy.py: when the worker renders, trains, yields and sleeps, without a thread."""
from nerf.train.worker_messages import RenderRequest
from nerf.train.worker_policy import CPU_RENDER_CHUNK, MIN_SHARE, WorkerPolicy, render_chunk

STILL, MOVING = RenderRequest(cameras=None), RenderRequest(cameras=None, interactive=True)
REFINING = RenderRequest(cameras=None, prompt=True)


def test_renders_take_their_share_of_the_time_while_training():
    policy = WorkerPolicy(share=0.25)
    policy.rendered(seconds=0.2, end=10.0, finished=True)
    # a 0.2 s render at a 25 % share: 0.6 s of training before the next still frame
    assert not policy.may_render(STILL, now=10.59)
    assert policy.may_render(STILL, now=10.61)
    assert policy.may_render(MOVING, now=10.0)  # a camera move never waits
    assert policy.may_render(REFINING, now=10.0)  # nor a view that just came to rest


def test_paused_or_held_training_renders_at_once():
    policy = WorkerPolicy(share=0.1)
    policy.rendered(seconds=1.0, end=10.0, finished=True)
    policy.running = False
    assert not policy.should_train() and policy.may_render(STILL, now=10.0)
    policy.running, policy.interacting = True, True
    assert not policy.should_train() and policy.may_render(STILL, now=10.0)


def test_an_aborted_render_does_not_count_as_a_duration():
    policy = WorkerPolicy(share=0.5)
    policy.rendered(seconds=0.1, end=1.0, finished=True)
    policy.rendered(seconds=5.0, end=7.0, finished=False)
    assert policy.last_render_s == 0.1 and policy.last_render_end == 7.0
    assert not policy.may_render(STILL, now=7.05) and policy.may_render(STILL, now=7.11)


def test_only_a_camera_move_makes_a_step_yield():
    policy = WorkerPolicy()
    assert policy.yields_to(MOVING) and not policy.yields_to(STILL) and not policy.yields_to(None)
    assert not policy.yields_to(REFINING)  # it waits for the step in progress


def test_share_is_clamped_and_the_cpu_renders_in_small_chunks():
    policy = WorkerPolicy()
    policy.set_share(0.0)
    assert policy.share == MIN_SHARE
    policy.set_share(3.0)
    assert policy.share == 1.0
    assert render_chunk("cpu") == CPU_RENDER_CHUNK and render_chunk("cuda") is None


def test_sleeps_briefly_while_a_render_waits_its_turn():
    policy = WorkerPolicy()
    assert policy.idle_timeout(STILL) < policy.idle_timeout(None)
