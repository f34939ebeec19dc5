"""The `ngp` model: instant-NGP's hash-grid field, occupancy-culled marching, packed rendering.

render_rays keeps each ray's occupied samples in front of the point where its transmittance drops
below `ngp_early_stop` and trains or renders on those alone. The dense reference finds them as
nerfacc does, with a no-grad density pass over every occupied sample before the gradient pass;
without gradients (rendering) colour runs only on the kept samples, in both.

`ngp_marcher` picks the marching: "rounds" (nerf.volume.occupied_march and nerf.volume.rounds: a
few occupied samples per live ray at a time, each evaluated once, with gradients while training;
rays dropped once opaque, so nothing behind a surface is evaluated) or "dense" (every step of every
ray in one tensor, the two passes above over all occupied samples: the reference the tests compare
with). Both keep exactly the same samples.

Unbounded scenes (nerf.data.formats.scene_type) put the hash grid and the occupancy grid over contracted
space (nerf.volume.contraction: the region of full detail [-bound, bound]^3 fills the inner half of
[-2, 2]^3) and march from the near plane with steps that grow with distance
(nerf.volume.marching) up to where the contraction saturates for the occupancy grid. Both marchers
serve the contracted grid: the rounds marcher walks the same cone steps (nerf.volume.steps.EdgeSteps),
testing each against the grid through the contraction.
"""
from __future__ import annotations

import contextlib
import math

import torch

from nerf.models.base import RadianceModel, RenderOutput
from nerf.models.hash_field import HashField
from nerf.volume.aabb import ray_aabb
from nerf.volume.contraction import CONTRACTED_BOUND, contract, saturation_distance, uncontract
from nerf.volume.compositing import composite, distortion_packed, packed_exclusive_sum, volume_weights_packed
from nerf.volume.marching import cone_step_edges, march_edges
from nerf.volume.occupancy import OccupancyGrid
from nerf.volume.occupied_march import RayMarcher, empty_levels
from nerf.volume.rounds import march_to_opacity
from nerf.volume.steps import ConstantSteps, EdgeSteps


NDC_BOUND = 1.5
# samples per slice of a no-grad field pass: bounds the hash grid's temporaries (~4 KB a sample)
# when every cell is still occupied and a GPU render chunk marches tens of millions of samples
EVAL_SLICE = 1 << 19


class NGPModel(RadianceModel):
    @classmethod
    def defaults(cls, device: str = "cpu", scene_type: str = "bounded") -> dict:
        """CPU: tuned on a 2-core CPU for the BENCHMARKS.md targets (see bench/bench_engine.py);
        the occupancy grid's whole-grid warm-up refreshes end after 64 steps, not 256: on a CPU
        they took half of a 2-minute run (BENCHMARKS.md, "Marching in rounds").
        CUDA: the paper's field; batches of 2^18 samples and nerfacc's budget schedule (its
        instant-NGP recipe reaches 35.7 dB on lego); render chunks big enough that per-chunk
        overhead stays small. Unbounded scenes on a CPU take 8x coarser cone steps, as the cube
        takes 8x fewer steps than the paper's 1024.
        Unbounded scenes on a CPU (a room, a garden): rays cross a young field's fog for 30-70
        samples before they turn opaque, 10-20x an object scene's, so batches of 128 rays (more,
        cheaper steps) and rays that stop once their transmittance is below 1e-2 (the rest could
        change the pixel by at most 1 %): 21.0 -> 24.8 dB on the fox in 2.5 minutes; and an
        occupancy refresh every 48 steps, which in that fog culls little and costs ~30 steps:
        +0.4 dB at 2.5 minutes, the same at 5 (BENCHMARKS.md, "Unbounded CPU defaults").
        Their grid culls a cell below optical thickness 0.04 per step (instant-NGP's 0.01 at its 8x
        finer steps is a density cut 2x higher still), and an emptied cell within 16 refreshes: with
        0.01 and no cap the young field's fog (stored ~1000x the threshold) kept 99.8 % of the cells
        occupied after 2.5 minutes and ~31 samples per ray; now 94.5 %, 17, and +0.6 dB. And
        mip-NeRF 360's distortion loss at its paper's weight, 0.01, which gathers each ray's weight
        onto its surface: 77 % occupied, 7 samples per ray, another +0.3 dB (BENCHMARKS.md,
        "Clearing the fog")."""
        if device == "cuda":
            return dict(target_samples=1 << 18, lr_schedule="budget", render_chunk=1 << 16)
        cpu = dict(batch_rays=1024, ngp_log2_table=17, ngp_max_res=512, ngp_march_steps=128,
                   ngp_grid_res=64, lr_decay_steps=1000, ngp_cone_angle=1 / 32, ngp_grid_warmup=64)
        if scene_type == "unbounded":
            cpu.update(batch_rays=128, ngp_early_stop=1e-2, ngp_grid_every=48, ngp_grid_threshold=0.04,
                       ngp_grid_memory=16, ngp_distortion=0.01)
        return cpu

    def __init__(self, bound: float, near: float, far: float, ndc: bool, config, unbounded: bool = False):
        super().__init__()
        # NDC scenes arrive mapped by the caller: z runs -1..1, but edge pixels of LLFF views start
        # at |x|, |y| up to ~1.4, so the cube is widened to keep them (instead of clipping them)
        self.bound = NDC_BOUND if ndc else float(bound)
        self.near = 0.0 if ndc else float(near)
        self.far = math.inf if ndc else float(far)
        self.unbounded = bool(unbounded) and not ndc
        self.config = config
        field_bound = CONTRACTED_BOUND if self.unbounded else self.bound  # the grids' own coordinates
        self.field = HashField(field_bound, config.ngp_levels, config.ngp_features, config.ngp_log2_table,
                               config.ngp_base_res, config.ngp_max_res, config.ngp_hidden,
                               config.ngp_geo_features)
        # inside the region of full detail, unbounded scenes step as finely as bounded ones
        self.step_size = 2.0 * math.sqrt(3.0) * self.bound / config.ngp_march_steps
        # a cell is skipped when one step through it would absorb less than ngp_grid_threshold;
        # unbounded grids store that optical thickness itself (steps differ from cell to cell)
        threshold = config.ngp_grid_threshold / (1.0 if self.unbounded else self.step_size)
        self.grid = OccupancyGrid(field_bound, config.ngp_grid_res, config.ngp_grid_decay,
                                  threshold, config.ngp_grid_warmup, config.ngp_grid_memory)
        if self.unbounded:
            # past this every point falls into the occupancy grid's outer layer of cells, where
            # nothing can be skipped and the field changes little; the corner of the region is as
            # far as a camera inside it can be from the centre
            self.far = saturation_distance(self.bound, config.ngp_grid_res) + math.sqrt(3.0) * self.bound
            edges = cone_step_edges(self.near, self.far, config.ngp_cone_angle, self.step_size, math.inf)
            self.register_buffer("edges", edges.float(), persistent=False)  # [S + 1]
        self.grid_generator: torch.Generator | None = None  # made lazily on the model's device
        self._levels: tuple[tuple, torch.Tensor] | None = None  # (key, empty_levels) of the grid's bits

    def _autocast(self, device: torch.device):
        if device.type == "cuda" and self.config.mixed_precision:
            return torch.autocast("cuda", dtype=torch.bfloat16)  # fp32's range: no loss scaling
        return contextlib.nullcontext()

    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor, *,
                    stratified: bool, generator: torch.Generator | None,
                    max_samples: int | None = None, crop=None) -> RenderOutput:
        if self.config.ngp_marcher == "rounds":
            return self._render_rounds(rays_o, rays_d, background, stratified, generator, max_samples, crop)
        n = rays_o.shape[0]
        if self.unbounded:
            ray_idx, t_mid, deltas = march_edges(self.grid, rays_o, rays_d, self.edges, self._to_grid,
                                                 stratified=stratified, generator=generator,
                                                 max_samples=max_samples)
        else:
            ray_idx, t_mid = self.grid.march(rays_o, rays_d, self.near, self.far, self.step_size,
                                             stratified=stratified, generator=generator,
                                             max_samples=max_samples)
            deltas = torch.full_like(t_mid, self.step_size)
        with self._autocast(rays_o.device):
            if not torch.is_grad_enabled():  # inference: one density pass, colour for survivors only
                world = rays_o[ray_idx] + t_mid[:, None] * rays_d[ray_idx]
                sigma, h = _sliced(self.field.geometry, self._to_grid(world))
                if crop is not None:
                    sigma = sigma * crop.contains(world)
                alive = self._alive(sigma, deltas, ray_idx, n)
                ray_idx, t_mid, deltas, sigma = ray_idx[alive], t_mid[alive], deltas[alive], sigma[alive]
                rgb = self.field.color(h[alive], rays_d[ray_idx])
            else:
                with torch.no_grad():  # pass 1: where does each ray become opaque?
                    pts = self._points(rays_o, rays_d, ray_idx, t_mid)
                    alive = self._alive(_sliced(self.field.density, pts), deltas, ray_idx, n)
                    ray_idx, t_mid, deltas = ray_idx[alive], t_mid[alive], deltas[alive]
                pts = self._points(rays_o, rays_d, ray_idx, t_mid)  # [m, 3]
                sigma, rgb = self.field(pts, rays_d[ray_idx])  # [m], [m, 3]
        weights, _, _ = volume_weights_packed(sigma, deltas, ray_idx, n)
        rgb_out, depth, opacity = composite(weights, rgb, t_mid, ray_idx, n, background)
        return RenderOutput(rgb_out, depth, opacity, rgb_terms=[rgb_out],
                            samples_per_ray=ray_idx.numel() / max(n, 1),
                            regularizer=self._distortion(weights, t_mid, deltas, ray_idx, n))

    def _render_rounds(self, rays_o, rays_d, background, stratified, generator, max_samples,
                       crop=None) -> RenderOutput:
        n = rays_o.shape[0]
        marcher = self._marcher(rays_o, rays_d, stratified, generator, max_samples)
        first_round, early_stop = self.config.ngp_first_round, self.config.ngp_early_stop
        with self._autocast(rays_o.device):
            if not torch.is_grad_enabled():  # colour only for the kept samples
                def geometry(pts, _ray_idx):  # pts: world points
                    sigma, h = _sliced(self.field.geometry, self._to_grid(pts))
                    return (sigma if crop is None else sigma * crop.contains(pts)), h

                samples, sigma, h = march_to_opacity(marcher, geometry, early_stop, first_round)
                rgb = self.field.color(h, rays_d[samples.ray_indices])
            else:
                samples, sigma, rgb = march_to_opacity(
                    marcher, lambda pts, ray_idx: self.field(self._to_grid(pts), rays_d[ray_idx]), early_stop,
                    first_round)
        weights, _, _ = volume_weights_packed(sigma, samples.deltas, samples.ray_indices, n)
        rgb_out, depth, opacity = composite(weights, rgb, samples.t, samples.ray_indices, n, background)
        return RenderOutput(rgb_out, depth, opacity, rgb_terms=[rgb_out],
                            samples_per_ray=samples.t.numel() / max(n, 1),
                            regularizer=self._distortion(weights, samples.t, samples.deltas, samples.ray_indices, n))

    def _distortion(self, weights, t_mid, deltas, ray_idx, n: int) -> torch.Tensor | float:
        """config.ngp_distortion x the batch's mean distortion loss (nerf.volume.compositing) while
        training an unbounded scene, else 0. Distances are measured as nerfacto's proposal spacing:
        u = t / bound, s = u / 2 inside the region and 1 - 1 / (2 u) beyond, so s runs 0..1 and a
        far-away interval counts as little as it shows."""
        if not (self.unbounded and self.config.ngp_distortion > 0 and torch.is_grad_enabled()):
            return 0.0

        def spacing(t):
            u = t / self.bound
            return torch.where(u < 1.0, 0.5 * u, 1.0 - 0.5 / u.clamp_min(1.0))
        loss = distortion_packed(weights, spacing(t_mid - 0.5 * deltas), spacing(t_mid + 0.5 * deltas), ray_idx, n)
        return self.config.ngp_distortion * loss.mean()

    def _marcher(self, rays_o, rays_d, stratified, generator, max_samples) -> RayMarcher:
        """A RayMarcher over the occupancy grid whose samples are the dense marcher's
        (OccupancyGrid.march, or march_edges through a contracted grid), jitter and random stream
        included."""
        n, device = rays_o.shape[0], rays_o.device
        u = torch.full((n,), 0.5, device=device)
        if self.unbounded:  # every ray from the near plane to the far cap, on the shared cone steps
            if stratified and n > 0:  # march_edges always draws
                u = torch.rand(n, 1, generator=generator, device=device)[:, 0]
            t0, t1 = torch.full((n,), self.near, device=device), torch.full((n,), self.far, device=device)
            return RayMarcher(self.grid, rays_o, rays_d, t0, t1, EdgeSteps(self.edges), u, to_grid=self._to_grid,
                              max_samples=max_samples)
        t0, t1, hit = ray_aabb(rays_o, rays_d, self.bound, self.near, self.far)
        if stratified and n > 0 and bool(hit.any()):  # the dense marcher draws only then
            u = torch.rand(n, 1, generator=generator, device=device)[:, 0]
        return RayMarcher(self.grid, rays_o, rays_d, t0, t1, ConstantSteps(self.step_size), u,
                          max_samples=max_samples, levels=self._empty_levels())

    def _empty_levels(self) -> torch.Tensor:
        """The marcher's skip table of the occupancy bits, rebuilt only when the bits change (a
        refresh, a load)."""
        occupied = self.grid.occupied
        key = (occupied.data_ptr(), occupied._version)
        if self._levels is None or self._levels[0] != key:
            self._levels = (key, empty_levels(occupied, self.grid.res))
        return self._levels[1]

    @torch.no_grad()
    def density(self, pts: torch.Tensor) -> torch.Tensor:
        with self._autocast(pts.device):
            return _sliced(self.field.density, self._to_grid(pts)).float()

    def _to_grid(self, x: torch.Tensor) -> torch.Tensor:
        """World points [n, 3] -> the field's and the occupancy grid's coordinates."""
        return contract(x, self.bound) if self.unbounded else x

    def _points(self, rays_o, rays_d, ray_idx: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Sample positions [m, 3] in the field's coordinates."""
        return self._to_grid(rays_o[ray_idx] + t[:, None] * rays_d[ray_idx])

    def _grid_density(self, z: torch.Tensor) -> torch.Tensor:
        """What the occupancy grid keeps at its points z [n, 3]: density, or for unbounded grids the
        optical thickness of the step a camera near the centre would take there."""
        sigma = self.field.density(z)
        if not self.unbounded:
            return sigma
        dist = uncontract(z.float(), self.bound).norm(dim=-1)
        return sigma * (dist * self.config.ngp_cone_angle).clamp_min(self.step_size)

    def _alive(self, sigma: torch.Tensor, deltas: torch.Tensor, ray_idx: torch.Tensor, n: int) -> torch.Tensor:
        """Samples in front of the point where their ray's transmittance drops below ngp_early_stop."""
        if sigma.numel() == 0:
            return torch.zeros(0, dtype=torch.bool, device=sigma.device)
        tau = sigma.float() * deltas
        return torch.exp(-packed_exclusive_sum(tau, ray_idx, n)) > self.config.ngp_early_stop

    def update(self, step: int, should_yield=None, pool=None) -> bool:
        """Refresh the occupancy grid every ngp_grid_every steps. should_yield() can stop a refresh
        part-way (False is returned); the next call finishes it, whatever its step. With a `pool`
        (nerf.train.shards.ShardPool) its threads evaluate chunks of cells side by side."""
        device = self.grid.density.device
        if not self.grid.pending and step % self.config.ngp_grid_every != 0:
            return True
        if self.grid_generator is None:
            self.grid_generator = torch.Generator(device=device).manual_seed(self.config.seed + 1)
        with self._autocast(device):
            if self.grid.pending:
                return self.grid.resume(self._grid_density, self.grid_generator, should_stop=should_yield,
                                        pool=pool)
            return self.grid.update(step, self._grid_density, self.grid_generator, should_stop=should_yield,
                                    pool=pool)

    def param_groups(self, lr: float) -> list[dict]:
        return self.field.param_groups(lr, self.config.weight_decay, self.config.adam_eps)

    def extra_state(self) -> dict:
        # grid buffers are in state_dict already; the generator drives which cells get refreshed, and a
        # refresh stopped part-way (by a frame or a stop signal) goes on where it stopped after a resume
        return {"grid_generator": None if self.grid_generator is None else self.grid_generator.get_state(),
                "grid_pending": self.grid.pending_state()}

    def load_extra_state(self, d: dict) -> None:
        self.grid.restore_pending(d.get("grid_pending"))  # the replaced weights' part-done refresh goes
        state = d.get("grid_generator")
        if state is None:
            self.grid_generator = None
            return
        self.grid_generator = torch.Generator(device=self.grid.density.device)
        self.grid_generator.set_state(state)


def _sliced(fn, pts: torch.Tensor):
    """fn(pts) for a no-grad pass, evaluated EVAL_SLICE samples at a time; fn returns a tensor or a
    tuple of tensors with one row per sample."""
    if pts.shape[0] <= EVAL_SLICE:
        return fn(pts)
    parts = [fn(pts[s:s + EVAL_SLICE]) for s in range(0, pts.shape[0], EVAL_SLICE)]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))
    return torch.cat(parts)
