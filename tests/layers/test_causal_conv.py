"""The FFT causal convolution's own backward (``_CausalFFTConv``) against the direct convolution's autograd."""
import pytest
import torch

from smpconvnet.layers.causal_conv import causal_conv1d_direct, causal_conv1d_fft
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
