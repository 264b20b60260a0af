"""Properties of the loss functions and the perceptual plugins."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.functional import gram_matrix, per_sample_mse, total_variation

shapes = st.tuples(st.integers(1, 4), st.integers(1, 8), st.integers(1, 9), st.integers(1, 9))


def _rand(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_gram_is_symmetric_psd_and_normalised(shape, seed):
    f = _rand(shape, seed)
    g = gram_matrix(f)
    b, c, h, w = shape
    assert g.shape == (b, c, c) and g.dtype == torch.float32
    torch.testing.assert_close(g, g.transpose(1, 2))
    assert torch.linalg.eigvalsh(g.double()).min() > -1e-5
    torch.testing.assert_close(g[:, range(c), range(c)], f.pow(2).sum(dim=(2, 3)) / (c * h * w))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_mse_zero_iff_identical_and_per_sample(shape, seed):
    a = _rand(shape, seed)
    assert torch.all(per_sample_mse(a, a) == 0)
    b = a.clone()
    b[0].add_(1.0)
    d = per_sample_mse(a, b)
    assert d.shape == (shape[0],)
    assert d[0] > 0 and torch.all(d[1:] == 0)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, value=st.floats(0, 1), power=st.sampled_from([1.0, 2.0]))
def test_tv_zero_for_constant_images(shape, value, power):
    x = torch.full(shape, value)
    tv = total_variation(x, power)
    assert tv.shape == (shape[0],) and torch.all(tv == 0) and torch.isfinite(tv).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), b=st.integers(2, 4))
def test_losses_are_batch_order_equivariant(seed, b):
    x, y = _rand((b, 3, 8, 8), seed), _rand((b, 3, 8, 8), seed + 1)
    perm = torch.randperm(b, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(per_sample_mse(x[perm], y[perm]), per_sample_mse(x, y)[perm])
    torch.testing.assert_close(total_variation(x[perm]), total_variation(x)[perm])
    torch.testing.assert_close(gram_matrix(x[perm]), gram_matrix(x)[perm])


def test_tv_positive_for_noise():
    assert torch.all(total_variation(torch.rand(3, 3, 16, 16)) > 0)


@pytest.mark.parametrize("fn", ["gram", "mse", "tv1", "tv2", "tv_sum"])
def test_gradients_match_finite_differences_in_float64(fn):
    """torch.autograd.gradcheck in float64, as kornia checks its losses."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 3, 5, 4, generator=g, dtype=torch.float64)
    funcs = {
        "gram": gram_matrix,
        "mse": lambda a: per_sample_mse(a, y),
        "tv1": total_variation,
        "tv2": lambda a: total_variation(a, 2.0),
        "tv_sum": lambda a: total_variation(a, 1.0, "sum"),
    }
    assert torch.autograd.gradcheck(funcs[fn], (x,))
