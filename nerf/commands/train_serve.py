"""`nerf-train SCENE --serve [HOST:]PORT`: train as nerf-train does and serve the live model to
`nerf-viewer --connect` windows (nerf.remote.server).

The run is opened and trained as without --serve (nerf.train.run.open_run, the same flags, run folder,
log.jsonl, budget and autosave), but by the viewer's TrainingWorker, so that renders and the
viewers' commands interleave with the steps. When the budget is spent training pauses, the run is
evaluated and its outputs written as nerf-train writes them (metrics.json, eval.json, test images,
turntable), and the server goes on serving renders of the final model until SIGINT/SIGTERM; then it
saves checkpoint.pt and exits with 130 / 143. The token is --token, else $NERF_VIEWER_TOKEN, else made up and printed
once; a non-loopback address prints a warning that the traffic is not encrypted.
"""
from __future__ import annotations

import dataclasses
import sys

from nerf.commands.cli import fail, package_version
from nerf.commands.run_outputs import write_outputs
from nerf.commands.train_flags import run_spec
from nerf.commands.train_ranks import lost_ranks, open_rank_run, rank_figures
from nerf.commands.train_run import DEFAULT_MINUTES, open_training_run
from nerf.distributed.follow import Lead, follow, order_channel
from nerf.distributed.group import Group, RankLost
from nerf.distributed.rank import RankLoop, join_trainer
from nerf.remote.access import TOKEN_ENV, exposure_warning, parse_address, resolve_token
from nerf.remote.server import RemoteServer
from nerf.runtime.allocator import tune_malloc
from nerf.runtime.signals import StopSignals
from nerf.train.loop import Budget, TrainingLoop
from nerf.train.run_log import RunLog
from nerf.train.worker import TrainingWorker
from nerf.train.worker_messages import Notice

PROG = "nerf-train"
STOP_WAIT_S = 120.0  # a training step or render chunk in progress cannot be interrupted
OUTPUTS_JOB = "run outputs"  # metrics.json, eval.json, test images, turntable: nerf-train's, once the budget ends


def run_serving(args, group: Group | None = None) -> int:
    """Train and serve; as one rank of `group`, rank 0 serves and the others follow its steps."""
    tune_malloc()
    address = parse_address(args.serve, "--serve")
    token = resolve_token(args.token, generate=True)  # used (and printed) by rank 0 alone
    spec = run_spec(args, args.scene)
    if spec.steps is None and spec.minutes is None:
        spec = spec.replace(minutes=DEFAULT_MINUTES)  # as without --serve
    with StopSignals() as stop:
        if group is None:
            run, lead, loop_factory = open_training_run(spec, stop), None, TrainingLoop
        else:
            opened = open_rank_run(args, spec, stop, group)
            if isinstance(opened, int):
                return opened
            run, roster = opened
            join_trainer(run.trainer, group)
            channel = order_channel()
            if not group.is_main:  # SIGINT/SIGTERM are rank 0's to act on: this rank waits for its "end"
                return _follow(run, group, channel, roster)
            lead = Lead(group, channel)

            def loop_factory(trainer, budget, log, **saves):
                return RankLoop(trainer, group, budget, log, stop_requested=lambda: False, **saves)
        if isinstance(run, int):
            return run
        out = run.out
        worker = TrainingWorker(run.trainer, log_path=out / "log.jsonl", budget=run.budget,
                                num_threads=args.threads, render_share=0.3 if run.device.type == "cuda" else 0.1,
                                autosave_path=out / "checkpoint.pt", autosave_s=spec.autosave_minutes * 60.0,
                                loop_factory=loop_factory, lead=lead)

        def outputs(trainer, _abort):
            figures = dataclasses.asdict(worker.summary())
            ranks = None
            if group is not None:  # rank 0 evaluates alone while the others wait for their next order
                figures["collective_seconds"] = worker.loop.collective_seconds()
                ranks = rank_figures(figures, group)
            return write_outputs(trainer, out, figures, args.eval_views, args.video_frames, worker.run_log,
                                 ranks=ranks)

        def on_notice(notice: Notice) -> None:
            _report(notice)
            if notice.name == "budget" and not outputs_queued:  # as nerf-train: evaluate, then write
                outputs_queued.append(True)
                worker.submit(OUTPUTS_JOB, outputs)

        outputs_queued: list[bool] = []
        try:
            server = RemoteServer(worker, run.scene, run.trainer.config, out, token, address,
                                  software=package_version(), on_notice=on_notice)
        except OSError as exc:
            return fail(PROG, f"--serve {address}: cannot listen ({exc.strerror or exc})")
        warning = exposure_warning(address)
        if warning:
            print(f"{PROG}: {warning}", file=sys.stderr)
        ranks = "" if group is None else f", {group.world} ranks ({group.backend})"
        print(f"{PROG}: {run.scene.name}, model {run.trainer.config.model_name}, device {run.device}{ranks}, "
              f"output {out}; "
              f"serving on {server.address} (nerf-viewer --connect {server.address})", file=sys.stderr)
        if token.generated:
            print(f"{PROG}: token {token.value} (give it to nerf-viewer with --token or {TOKEN_ENV})",
                  file=sys.stderr)
        sys.stderr.flush()
        worker.start()
        server.start()
        stop.event.wait()  # training, then serving the final model, until SIGINT/SIGTERM
        server.close()
        if not worker.stop(STOP_WAIT_S):
            print(f"{PROG}: warning: the training thread did not stop; nothing saved", file=sys.stderr)
            return 1
        trainer = worker.trainer
        try:
            trainer.save(out / "checkpoint.pt")
        except OSError as exc:
            print(f"{PROG}: error: {out / 'checkpoint.pt'}: cannot save the checkpoint ({exc.strerror or exc})",
                  file=sys.stderr)
            return 1
        print(f"{PROG}: stopped by {stop.name} at step {trainer.step_count}; checkpoint {out / 'checkpoint.pt'}",
              file=sys.stderr)
        return stop.exit_code


def _follow(run, group: Group, channel, roster) -> int:
    """A rank other than 0 of a served run: its steps, as rank 0 orders them, until rank 0's end."""
    loop = RankLoop(run.trainer, group, Budget(), RunLog(None), stop_requested=lambda: False)
    try:
        follow(loop, group, channel)
    except RankLost as e:
        print(f"{PROG}: error: rank {group.rank}: {lost_ranks(roster, group.rank)}, the run stops ({e}); "
              "rank 0 keeps the last checkpoint", file=sys.stderr)
        return 1
    return 0


def _report(notice: Notice) -> None:
    """The worker's events the terminal should see (the viewers see them all)."""
    if notice.name == "budget":
        print(f"{PROG}: budget reached after {notice.result / 60:.1f} min of training; evaluating, then still "
              "serving the final model (Ctrl-C to stop)", file=sys.stderr, flush=True)
    elif notice.name == OUTPUTS_JOB and notice.result is not None:
        m = notice.result
        print(f"{PROG}: test PSNR {m['test_psnr']:.2f} dB, SSIM {m['test_ssim']:.3f} over {m['test_views']} views "
              f"at step {m['steps']}; metrics.json, eval.json and the test images written", file=sys.stderr,
              flush=True)
    elif notice.name == "nan_paused":
        print(f"{PROG}: warning: the loss was not finite several times in a row; training paused at step "
              f"{notice.result}", file=sys.stderr, flush=True)
