"""BatchNorm folding (smpconvnet.layers.reparam) in 16-bit models."""
import copy

import pytest
import torch

from smpconvnet.layers.reparam import bn_scale_shift, fold_affine_before, fold_bn_after


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_16_bit_folds_are_the_float32_folds_rounded_once(dtype):
    """A 16-bit model's folds were computed in 16-bit arithmetic, every rsqrt and product rounded (trial 75b F1): they
    are float32's, rounded once to the weight's dtype; a float32 BatchNorm's scale and shift are unchanged."""
    gen = torch.Generator().manual_seed(0)
    bn = torch.nn.BatchNorm2d(8).eval()
    with torch.no_grad():
        for t in (bn.running_var, bn.running_mean, bn.weight, bn.bias):
            t.copy_(torch.rand(8, generator=gen) + 0.5)
    low = copy.deepcopy(bn).to(dtype)
    exact = copy.deepcopy(low).float()  # the same 16-bit values, in float32
    weight, bias = (torch.randn(8, 4, 3, 3, generator=gen).to(dtype), torch.randn(8, generator=gen).to(dtype))
    scale, shift = bn_scale_shift(low)
    assert scale.dtype == shift.dtype == torch.float32
    assert all(torch.equal(a, b) for a, b in zip((scale, shift), bn_scale_shift(exact)))
    folded = fold_bn_after(weight, bias, low)
    expected = fold_bn_after(weight.float(), bias.float(), exact)
    assert all(f.dtype == dtype and torch.equal(f, e.to(dtype)) for f, e in zip(folded, expected))
    pointwise = torch.randn(6, 8, 1, 1, generator=gen).to(dtype)
    folded = fold_affine_before(pointwise, None, scale, shift)
    expected = fold_affine_before(pointwise.float(), None, scale, shift)
    assert all(f.dtype == dtype and torch.equal(f, e.to(dtype)) for f, e in zip(folded, expected))
