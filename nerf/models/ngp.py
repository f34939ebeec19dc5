"""The `ngp` model: instant-NGP's hash-grid field, occupancy-culled marching, packed rendering.

Field + sampler + renderer, as nerfacc composes them: render_rays asks the occupancy sampler
(nerf.volume.occupancy_sampler) for each ray's occupied samples in front of the point where its
transmittance drops below `early_stop`, evaluating the field once per sample as it marches (with
gradients while training; without them only density first, then colour on the kept samples), and
composites them. Rays are dropped once opaque, so nothing behind a surface is evaluated.

Unbounded scenes (nerf.data.formats.scene_type) put the hash grid and the occupancy grid over contracted
space (nerf.volume.contraction: the region of full detail [-bound, bound]^3 fills the inner half of
[-2, 2]^3) and march from the near plane with steps that grow with distance
(nerf.volume.marching) up to where the contraction saturates for the occupancy grid.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from nerf.data.crop import CropBox
from nerf.models.base import RadianceModel, RenderOutput
from nerf.models.encodings import SphericalHarmonics
from nerf.models.hash_field import HashField
from nerf.volume.compositing import composite, distortion_packed, volume_weights_packed
from nerf.volume.contraction import CONTRACTED_BOUND, contract, saturation_distance, uncontract
from nerf.volume.marching import cone_step_edges
from nerf.volume.occupancy import OccupancyGrid
from nerf.volume.occupancy_sampler import OccupancySampler
from nerf.volume.occupied_march import Samples, empty_levels


NDC_BOUND = 1.5
# samples per slice of a no-grad field pass: bounds the hash grid's temporaries (~4 KB a sample)
# when every cell is still occupied and a GPU render chunk marches tens of millions of samples
EVAL_SLICE = 1 << 19


@dataclass(frozen=True)
class NGPConfig:
    """The `ngp` model: its hash grid, occupancy grid, marching and optimizer settings.

    The dataclass defaults are instant-NGP's (the paper's quality setting); `tuned` gives the ones
    measured for a device kind and a scene type."""

    name: ClassVar[str] = "ngp"
    # hash grid (instant-NGP section 3)
    levels: int = 16  # resolution levels
    features: int = 2  # features per level
    log2_table: int = 19  # table size per level 2^19 (paper's quality setting)
    base_res: int = 16  # coarsest grid
    max_res: int = 2048  # finest grid across the scene cube; detail of ~cube/2048
    hidden: int = 64  # width of the density and colour MLPs
    geo_features: int = 15  # density MLP outputs 1 + this (fed to the colour MLP)
    # occupancy grid and marching
    grid_res: int = 128  # occupancy cells per axis over the scene cube
    grid_every: int = 16  # steps between occupancy updates (instant-NGP)
    grid_warmup: int = 256  # steps during which every cell is re-evaluated at each update
    grid_decay: float = 0.95  # EMA decay of cell densities
    grid_memory: int = 0  # > 0: an emptied cell is culled after at most this many refreshes (0: as instant-NGP, no cap)
    grid_threshold: float = 0.01  # min optical thickness sigma*step of an occupied cell (capped by the mean density)
    grid_mean_fraction: float = 1.0  # ... by this fraction of the mean (1: instant-NGP's min(threshold, mean))
    grid_young: int = 0  # ... for this many refreshes, then by the mean (0: for good)
    march_steps: int = 1024  # steps across the cube diagonal: step = 2 sqrt(3) bound / this
    early_stop: float = 1e-4  # stop a ray once its transmittance falls below this
    cone_angle: float = 1 / 128  # unbounded scenes: step = this x distance (at least the cube's step)
    distortion: float = 0.0  # unbounded scenes: weight of mip-NeRF 360's distortion loss against haze (0: off)
    sky: bool = False  # unbounded scenes: light from beyond the contracted space, a learned function of direction
    start_depth: float = 0.0  # > 0: the field starts this optical depth along a whole ray (0: density ~1 a unit)
    first_round: int = 4  # samples per ray of the batch in each marching round (nerf.volume.rounds)
    # optimizer and arithmetic
    adam_eps: float = 1e-15  # hash entries get rare, tiny gradients; a big eps would mute them
    weight_decay: float = 1e-6  # on MLP weights only (instant-NGP); keeps the MLP from blowing up
    mixed_precision: bool = False  # autocast the MLPs to bf16 on CUDA (ignored on CPU); off: fp32 with TF32 matmuls

    @classmethod
    def tuned(cls, device: str = "cpu", scene_type: str = "bounded",
              frontal: bool = False) -> tuple["NGPConfig", dict]:
        """This config and the TrainConfig fields tuned for a device kind ("cpu" | "cuda"), a scene
        type (nerf.data.scene_type) and whether its cameras face one way (Scene.faces_one_way).

        CPU: tuned on a 2-core CPU for the BENCHMARKS.md targets (see bench/bench_engine.py);
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
        mip-NeRF 360's distortion loss was on (0.01) until the scene suite (bench/scene_suite.py,
        issue 24) judged it on every capture type: on 360-degree captures it gathered each ray's
        weight wherever a young field put it first, in front of the cameras, and the views between
        them looked into that fog. Off, with a learned sky (what a ray that stays transparent sees,
        so a backdrop or a sky needs no density): +1.2 to +4.4 dB on the generated 360-degree
        captures, +7.9 on a white backdrop, +10.2 in a room, the fox +0.1-0.2 dB at 2 minutes
        but -0.4 at 5 (BENCHMARKS.md, "The scene suite"). That fog blocks the views between cameras
        that look at each other's space; cameras that all face one way (the fox) never look back
        through it, and there the loss on, without the sky, stays: 26.05 against 25.65 dB at 5
        minutes (BENCHMARKS.md, "The scene suite", "Frontal captures"). Their learning rate decays 4x
        slower than an object scene's (x0.33 every 4,000 steps, not 1,000): 128-ray steps come 8x as
        often as 1024-ray ones, and the faster decay reached its floor halfway through a 5-minute run
        while the field was still underfitted; +0.3 to +3.6 dB on all eight unbounded captures of the
        suite at 5 minutes (BENCHMARKS.md, "The scene suite", "A slower decay"). They start
        transparent (optical depth 2 along a whole ray): at the field's own start, a
        density of about one a unit, every ray was opaque within a few units, the sky got no light to
        learn from, and the field painted sky and far landmarks as haze in front of the cameras (on
        ring360 87 % of each ray's weight lay inside the region, 4-5 dB between training and test
        PSNR). While young (16 refreshes) their grid culls below a tenth of the mean only: the mean
        itself culled half of a uniform transparent field at random and lost the objects (BENCHMARKS.md,
        "A transparent start")."""
        if device == "cuda":
            return cls(), dict(target_samples=1 << 18, lr_schedule="budget", render_chunk=1 << 16)
        model = dict(log2_table=17, max_res=512, march_steps=128, grid_res=64, cone_angle=1 / 32, grid_warmup=64)
        train = dict(batch_rays=1024, lr_decay_steps=1000)
        if scene_type == "unbounded":
            model.update(early_stop=1e-2, grid_every=48, grid_threshold=0.04, grid_memory=16,
                         sky=not frontal, distortion=0.01 if frontal else 0.0, start_depth=2.0,
                         grid_mean_fraction=0.1, grid_young=16)
            train.update(batch_rays=128, lr_decay_steps=4000)
        return cls(**model), train


class NGPModel(RadianceModel):
    """instant-NGP as field + sampler + renderer: the hash-grid field (nerf.models.hash_field), the
    occupancy sampler over its occupancy grid (nerf.volume.occupancy_sampler) and packed compositing
    (nerf.volume.compositing)."""

    def __init__(self, bound: float, near: float, far: float, ndc: bool, config: NGPConfig, *,
                 unbounded: bool = False, seed: int = 0):
        super().__init__()
        # NDC scenes arrive mapped by the caller: z runs -1..1, but edge pixels of LLFF views start
        # at |x|, |y| up to ~1.4, so the cube is widened to keep them (instead of clipping them)
        self.bound = NDC_BOUND if ndc else float(bound)
        self.near = 0.0 if ndc else float(near)
        self.far = math.inf if ndc else float(far)
        self.unbounded = bool(unbounded) and not ndc
        self.config = config
        self.seed = seed  # the occupancy refresh's generator is seeded from the run's seed
        field_bound = CONTRACTED_BOUND if self.unbounded else self.bound  # the grids' own coordinates
        # inside the region of full detail, unbounded scenes step as finely as bounded ones
        self.step_size = 2.0 * math.sqrt(3.0) * self.bound / config.march_steps
        if self.unbounded:
            # past this every point falls into the occupancy grid's outer layer of cells, where
            # nothing can be skipped and the field changes little; the corner of the region is as
            # far as a camera inside it can be from the centre
            self.far = saturation_distance(self.bound, config.grid_res) + math.sqrt(3.0) * self.bound
        self.field = HashField(field_bound, config.levels, config.features, config.log2_table,
                               config.base_res, config.max_res, config.hidden, config.geo_features,
                               self._density_shift(config.start_depth))
        # a cell is skipped when one step through it would absorb less than grid_threshold;
        # unbounded grids store that optical thickness itself (steps differ from cell to cell)
        threshold = config.grid_threshold / (1.0 if self.unbounded else self.step_size)
        self.grid = OccupancyGrid(field_bound, config.grid_res, config.grid_decay,
                                  threshold, config.grid_warmup, config.grid_memory, config.grid_mean_fraction,
                                  config.grid_young)
        edges = None
        if self.unbounded:
            edges = cone_step_edges(self.near, self.far, config.cone_angle, self.step_size, math.inf)
            self.register_buffer("edges", edges.float(), persistent=False)  # [S + 1]
        self.grid_generator: torch.Generator | None = None  # made lazily on the model's device
        self.sky: nn.Sequential | None = None
        if self.unbounded and config.sky:
            # what a ray that stays transparent to the end sees: degree-4 spherical harmonics of its direction,
            # so a sky or a far plain backdrop needs no density (without it, rays of a 360-degree capture end
            # in haze the field puts anywhere, often in front of the cameras)
            self.sky = nn.Sequential(SphericalHarmonics(4), nn.Linear(16, 3))
            nn.init.zeros_(self.sky[1].weight)
            nn.init.zeros_(self.sky[1].bias)
        self._levels: tuple[tuple, torch.Tensor] | None = None  # (key, empty_levels) of the grid's bits

    def _density_shift(self, start_depth: float) -> float:
        """The log-density shift that makes a ray across the whole march (its length: far - near, or
        the cube's diagonal when there is no far) start with optical depth `start_depth`, given that
        the field's own start is a density of about one a unit; 0 when start_depth is 0."""
        if start_depth <= 0:
            return 0.0
        length = self.far - self.near if math.isfinite(self.far) else 2.0 * math.sqrt(3.0) * self.bound
        return math.log(start_depth / length)

    def sampler(self) -> OccupancySampler:
        """The occupancy sampler with this model's settings (its edges on the model's device)."""
        return OccupancySampler(self.bound, self.near, self.far, self.step_size, self.config.early_stop,
                                self.config.first_round, edges=self.edges if self.unbounded else None,
                                to_grid=self._to_grid if self.unbounded else None)

    def _autocast(self, device: torch.device):
        if device.type == "cuda" and self.config.mixed_precision:
            return torch.autocast("cuda", dtype=torch.bfloat16)  # fp32's range: no loss scaling
        return contextlib.nullcontext()

    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor, *,
                    stratified: bool, generator: torch.Generator | None,
                    max_samples: int | None = None, crop: CropBox | None = None) -> RenderOutput:
        sampler = self.sampler()
        levels = None if self.unbounded else self._empty_levels()
        if self.sky is not None:
            background = torch.sigmoid(self.sky(rays_d.float()))
        with self._autocast(rays_o.device):
            if not torch.is_grad_enabled():  # colour only for the kept samples
                def geometry(pts, _ray_idx):  # pts: world points
                    sigma, h = _sliced(self.field.geometry, self._to_grid(pts))
                    return (sigma if crop is None else sigma * crop.contains(pts)), h

                samples, sigma, h = sampler.sample(self.grid, rays_o, rays_d, geometry, stratified=stratified,
                                                   generator=generator, max_samples=max_samples, levels=levels)
                rgb = self.field.color(h, rays_d[samples.ray_indices])
            else:
                samples, sigma, rgb = sampler.sample(
                    self.grid, rays_o, rays_d, lambda pts, ray_idx: self.field(self._to_grid(pts), rays_d[ray_idx]),
                    stratified=stratified, generator=generator, max_samples=max_samples, levels=levels)
        return self.composite(samples, sigma, rgb, background)

    def composite(self, samples: Samples, sigma: torch.Tensor, rgb: torch.Tensor,
                  background: torch.Tensor) -> RenderOutput:
        """Packed samples with their density [m] and colour [m, 3] -> the rays' RenderOutput."""
        n = samples.n_rays
        weights, _, _ = volume_weights_packed(sigma, samples.deltas, samples.ray_indices, n)
        rgb_out, depth, opacity = composite(weights, rgb, samples.t, samples.ray_indices, n, background)
        return RenderOutput(rgb_out, depth, opacity, rgb_terms=[rgb_out],
                            samples_per_ray=samples.t.numel() / max(n, 1),
                            regularizer=self._distortion(weights, samples.t, samples.deltas, samples.ray_indices, n))

    def _distortion(self, weights, t_mid, deltas, ray_idx, n: int) -> torch.Tensor | float:
        """config.distortion x the batch's mean distortion loss (nerf.volume.compositing) while
        training an unbounded scene, else 0. Distances are measured as nerfacto's proposal spacing:
        u = t / bound, s = u / 2 inside the region and 1 - 1 / (2 u) beyond, so s runs 0..1 and a
        far-away interval counts as little as it shows."""
        if not (self.unbounded and self.config.distortion > 0 and torch.is_grad_enabled()):
            return 0.0

        def spacing(t):
            u = t / self.bound
            return torch.where(u < 1.0, 0.5 * u, 1.0 - 0.5 / u.clamp_min(1.0))
        loss = distortion_packed(weights, spacing(t_mid - 0.5 * deltas), spacing(t_mid + 0.5 * deltas), ray_idx, n)
        return self.config.distortion * loss.mean()

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

    def _grid_density(self, z: torch.Tensor) -> torch.Tensor:
        """What the occupancy grid keeps at its points z [n, 3]: density, or for unbounded grids the
        optical thickness of the step a camera near the centre would take there."""
        sigma = self.field.density(z)
        if not self.unbounded:
            return sigma
        dist = uncontract(z.float(), self.bound).norm(dim=-1)
        return sigma * (dist * self.config.cone_angle).clamp_min(self.step_size)

    def update(self, step: int, should_yield=None, pool=None) -> bool:
        """Refresh the occupancy grid every grid_every steps. should_yield() can stop a refresh
        part-way (False is returned); the next call finishes it, whatever its step. With a `pool`
        (nerf.train.shards.ShardPool) its threads evaluate chunks of cells side by side."""
        device = self.grid.density.device
        if not self.grid.pending and step % self.config.grid_every != 0:
            return True
        if self.grid_generator is None:
            self.grid_generator = torch.Generator(device=device).manual_seed(self.seed + 1)
        with self._autocast(device):
            if self.grid.pending:
                return self.grid.resume(self._grid_density, self.grid_generator, should_stop=should_yield,
                                        pool=pool)
            return self.grid.update(step, self._grid_density, self.grid_generator, should_stop=should_yield,
                                    pool=pool)

    def param_groups(self, lr: float) -> list[dict]:
        groups = self.field.param_groups(lr, self.config.weight_decay, self.config.adam_eps)
        if self.sky is not None:
            groups.append(dict(params=list(self.sky.parameters()), lr=lr, eps=self.config.adam_eps, weight_decay=0.0,
                               name="sky"))
        return groups

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
