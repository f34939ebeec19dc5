import numpy as np
import torch

from nerf.volume.sampling import intervals, sample_pdf, stratified_samples


def _reference_sample_pdf(bins: np.ndarray, weights: np.ndarray, u: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Slow, obvious inverse CDF: one ray at a time, np.interp on the piecewise-linear CDF."""
    out = np.empty_like(u)
    for r in range(bins.shape[0]):
        w = weights[r] + eps
        cdf = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
        out[r] = np.interp(u[r], cdf, bins[r])
    return out


def test_sample_pdf_matches_brute_force_inverse_cdf():
    g = torch.Generator().manual_seed(0)
    n, n_bins, n_samples = 50, 16, 33
    bins = torch.sort(torch.rand(n, n_bins + 1, generator=g, dtype=torch.float64) * 4 + 1, dim=-1).values
    weights = torch.rand(n, n_bins, generator=g, dtype=torch.float64) ** 3  # uneven, some near zero
    t = sample_pdf(bins, weights, n_samples, stratified=False, generator=None)
    u = np.broadcast_to((np.arange(n_samples) + 0.5) / n_samples, (n, n_samples))
    ref = _reference_sample_pdf(bins.numpy(), weights.numpy(), u)
    np.testing.assert_allclose(t.numpy(), ref, atol=1e-9)


def test_sample_pdf_stratified_matches_reference_with_the_same_draws():
    n, n_bins, n_samples = 20, 8, 16
    bins = torch.linspace(2.0, 6.0, n_bins + 1, dtype=torch.float64).expand(n, -1).contiguous()
    weights = torch.rand(n, n_bins, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t = sample_pdf(bins, weights, n_samples, stratified=True, generator=torch.Generator().manual_seed(5))
    draws = torch.rand(n, n_samples, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    u = ((torch.arange(n_samples) + draws) / n_samples).numpy()
    np.testing.assert_allclose(t.numpy(), _reference_sample_pdf(bins.numpy(), weights.numpy(), u), atol=1e-9)
    assert torch.all(torch.diff(t, dim=-1) >= 0)


def test_sample_pdf_peaked_weights_put_the_samples_in_the_peak_bin():
    n_bins = 10
    bins = torch.linspace(0.0, 1.0, n_bins + 1).expand(4, -1).contiguous()
    weights = torch.zeros(4, n_bins)
    weights[:, 6] = 1.0
    for stratified in (False, True):
        t = sample_pdf(bins, weights, 128, stratified=stratified, generator=torch.Generator().manual_seed(0))
        inside = ((t >= 0.6) & (t <= 0.7)).float().mean().item()
        # eps = 1e-5 per bin leaves ~1e-4 of the mass elsewhere: at most a sample or two per ray
        assert inside > 0.98, inside


def test_sample_pdf_uniform_weights_give_uniform_samples():
    bins = torch.linspace(2.0, 6.0, 65).expand(3, -1).contiguous()
    t = sample_pdf(bins, torch.ones(3, 64), 100, stratified=False, generator=None)
    # deterministic quantiles (i + 0.5) / 100 of U[2, 6]
    expected = 2.0 + 4.0 * (torch.arange(100) + 0.5) / 100
    torch.testing.assert_close(t, expected.expand(3, -1), atol=1e-5, rtol=0)
    ts = sample_pdf(bins, torch.ones(3, 64), 4000, stratified=True, generator=torch.Generator().manual_seed(2))
    hist = torch.histc(ts, bins=8, min=2.0, max=6.0) / ts.numel()
    assert torch.all((hist - 1 / 8).abs() < 0.01), hist


def test_sample_pdf_deterministic_samples_are_sorted_and_inside_the_bins():
    g = torch.Generator().manual_seed(3)
    bins = torch.sort(torch.rand(30, 12, generator=g), dim=-1).values
    weights = torch.rand(30, 11, generator=g)
    weights[:5] = 0.0  # rays with no density still get samples
    t = sample_pdf(bins, weights, 40, stratified=False, generator=None)
    assert t.shape == (30, 40)
    assert torch.all(torch.diff(t, dim=-1) >= 0)
    assert torch.all(t >= bins[:, :1]) and torch.all(t <= bins[:, -1:])
    assert torch.isfinite(t).all()


def test_sample_pdf_passes_no_gradient_to_the_weights():
    bins = torch.linspace(0.0, 1.0, 5).expand(2, -1).contiguous()
    weights = torch.rand(2, 4, requires_grad=True)
    assert not sample_pdf(bins, weights, 8, stratified=False, generator=None).requires_grad


def test_stratified_samples_deterministic_are_evenly_spaced_from_near():
    near, far = torch.tensor([2.0, 0.5]), torch.tensor([6.0, 1.5])
    t, deltas = stratified_samples(near, far, 4, stratified=False, generator=None)
    torch.testing.assert_close(t, torch.tensor([[2.0, 3.0, 4.0, 5.0], [0.5, 0.75, 1.0, 1.25]]))
    # the last interval ends at far
    torch.testing.assert_close(deltas, torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.25, 0.25, 0.25, 0.25]]))


def test_stratified_samples_stay_in_their_strata_and_sum_to_the_segment():
    g = torch.Generator().manual_seed(0)
    near = torch.rand(100, generator=g)
    far = near + 0.1 + torch.rand(100, generator=g) * 3
    t, deltas = stratified_samples(near, far, 16, stratified=True, generator=g)
    assert torch.all(t >= near[:, None]) and torch.all(t <= far[:, None])
    assert torch.all(torch.diff(t, dim=-1) >= 0)
    strata = ((t - near[:, None]) / (far - near)[:, None] * 16).floor()
    assert torch.equal(strata.clamp(max=15), torch.arange(16.0).expand(100, -1))
    # intervals tile [t_0, far]
    torch.testing.assert_close(deltas.sum(-1), far - t[:, 0])
    t2, _ = stratified_samples(near, far, 16, stratified=True, generator=torch.Generator().manual_seed(9))
    assert not torch.equal(t, t2)


def test_intervals_last_one_ends_at_far():
    d = intervals(torch.tensor([[1.0, 1.5, 3.0]]), torch.tensor([4.0]))
    torch.testing.assert_close(d, torch.tensor([[0.5, 1.5, 1.0]]))
