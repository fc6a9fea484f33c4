"""The FFT causal convolution's own backward (``_CausalFFTConv``) against the direct convolution's autograd; the centred
('same') convolution against ``F.conv1d``."""
import pytest
import torch
import torch.nn.functional as F

from smpconvnet.layers.causal_conv import (
    SameConv1d, causal_conv1d_direct, causal_conv1d_fft, fixed_input_lengths, same_conv1d)
from conftest import rel_err


@pytest.mark.parametrize('batch,in_chs,out_chs,length,kernel_size', [
    (2, 3, 4, 13, 9), (1, 1, 1, 8, 8), (3, 2, 5, 20, 1), (2, 4, 3, 17, 17)])
def test_fft_gradients_match_direct_and_are_twice_differentiable(batch, in_chs, out_chs, length, kernel_size):
    """float64: the hand-written backward equals autograd of F.conv1d (1e-12), gradcheck and gradgradcheck pass
    (with create_graph the backward recomputes the spectra from the inputs, so second derivatives are exact)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, in_chs, length, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(out_chs, in_chs, kernel_size, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(out_chs, dtype=torch.float64, generator=gen, requires_grad=True)
    y, ref = causal_conv1d_fft(x, w, b), causal_conv1d_direct(x, w, b)
    assert rel_err(y, ref) < 1e-12
    g = torch.randn_like(ref)
    for a, e in zip(torch.autograd.grad(y, (x, w, b), g), torch.autograd.grad(ref, (x, w, b), g)):
        assert rel_err(a, e) < 1e-12
    assert torch.autograd.gradcheck(causal_conv1d_fft, (x, w, b))
    assert torch.autograd.gradgradcheck(causal_conv1d_fft, (x, w, b))


def test_fft_path_ignores_autocast_and_needs_only_what_is_asked():
    """Under CPU autocast (bfloat16) the transforms and the channel mix stay float32, forward and backward: the
    same numbers as without autocast; a gradient for the input alone (frozen kernel) or the kernel alone works."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, 300, generator=gen, requires_grad=True)
    w = torch.randn(5, 6, 300, generator=gen, requires_grad=True)
    g = torch.randn(4, 5, 300, generator=gen)
    y = causal_conv1d_fft(x, w)
    grads = torch.autograd.grad(y, (x, w), g)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y_amp = causal_conv1d_fft(x, w)
        grads_amp = torch.autograd.grad(y_amp, (x, w), g)
    assert y_amp.dtype == torch.float32 and torch.equal(y_amp, y)
    assert all(torch.equal(a, e) for a, e in zip(grads_amp, grads))
    gx, = torch.autograd.grad(causal_conv1d_fft(x, w.detach()), (x,), g)
    gw, = torch.autograd.grad(causal_conv1d_fft(x.detach(), w), (w,), g)
    assert torch.equal(gx, grads[0]) and torch.equal(gw, grads[1])


@pytest.mark.parametrize('length,kernel_size', [(13, 9), (13, 25), (8, 41), (30, 1), (200, 399)])
def test_same_conv_fft_equals_direct_with_exact_gradients(length, kernel_size):
    """float64: the centred convolution's FFT path (a transform of L + K // 2 points, whose wrapped-around outputs are
    the discarded ones) equals ``F.conv1d(padding=K // 2)`` and its gradients (1e-12); gradcheck passes; a kernel
    longer than 2L - 1 (13 / 25 is not, 8 / 41 is) gives the full convolution's outputs."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, length, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(4, 3, kernel_size, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    ref = F.conv1d(x, w, b, padding=kernel_size // 2)
    y = same_conv1d(x, w, b, use_fft=True)
    assert y.shape == ref.shape == (2, 4, length)
    assert rel_err(y, ref) < 1e-12 and rel_err(same_conv1d(x, w, b, use_fft=False), ref) < 1e-12
    g = torch.randn_like(ref)
    for a, e in zip(torch.autograd.grad(y, (x, w, b), g), torch.autograd.grad(ref, (x, w, b), g)):
        assert rel_err(a, e) < 1e-12
    if length <= 30:
        assert torch.autograd.gradcheck(lambda *t: same_conv1d(*t, use_fft=True), (x, w, b))


def test_same_conv_layer_and_even_kernels():
    """``SameConv1d`` is the centred layer (the middle tap weighs the current step), compiles under TorchScript, and
    counts in ``fixed_input_lengths``; an even kernel has no middle tap and is refused by the function and the layer."""
    layer = SameConv1d(2, 3, 5, bias=True, fixed_length=16)
    x = torch.randn(1, 2, 16)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[:, 0, 2] = 1.  # the middle tap only: output = input channel 0 (plus bias)
        assert torch.allclose(layer(x), x[:, :1].expand(1, 3, 16) + layer.bias[None, :, None])
        assert torch.equal(torch.jit.script(layer)(x), layer(x))
    assert fixed_input_lengths(layer) == {16}
    with pytest.raises(ValueError, match='odd kernel size, got 4 taps'):
        same_conv1d(x, torch.randn(3, 2, 4))
    with pytest.raises(ValueError, match='odd kernel_size'):
        SameConv1d(2, 3, 4)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_a_nan_or_inf_does_not_reach_earlier_outputs_through_the_fft(bad):
    """The FFT spread one NaN or inf to every output, those before it too: a missing value in a streamed series made
    all its per-step predictions NaN (the default path for kernels of 128 taps or more). Such input now takes the
    direct path: outputs before the bad step are those of the clean input, as for the direct convolution."""
    from smpconvnet.layers.causal_conv import causal_conv1d, same_conv1d
    torch.manual_seed(0)
    x, w = torch.randn(2, 3, 300), torch.randn(4, 3, 200)
    y = x.clone()
    y[1, 0, 250] = bad
    clean = causal_conv1d(x, w, use_fft=True)
    out = causal_conv1d(y, w, use_fft=True)
    assert torch.isfinite(out[:, :, :250]).all() and torch.isfinite(out[0]).all()
    assert (out[:, :, :250] - clean[:, :, :250]).abs().max() < 1e-4
    # centred, 33 taps: outputs beyond the kernel's reach of step 250 stay finite
    same = same_conv1d(y, torch.randn(4, 3, 33), use_fft=True)
    assert torch.isfinite(same[1, :, :250 - 16]).all() and torch.isfinite(same[1, :, 250 + 17:]).all()


def test_the_fft_path_runs_on_the_meta_device():
    """timm's test suite runs models on the meta device to their output shapes: the FFT path's finiteness check read a
    value there (Tensor.item() cannot be called on meta tensors)."""
    from smpconvnet.layers.causal_conv import causal_conv1d, same_conv1d
    x, w = torch.empty(2, 3, 300, device='meta'), torch.empty(4, 3, 201, device='meta')
    assert causal_conv1d(x, w, use_fft=True).shape == (2, 4, 300)
    assert same_conv1d(x, w, use_fft=True).shape == (2, 4, 300)
