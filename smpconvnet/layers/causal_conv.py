"""Causal and centred ('same') 1D convolution with long kernels: direct or FFT, chosen by kernel length.

``causal_conv1d(x, weight, bias)`` computes, for every step t of ``x`` ([B, C_in, L]),

    y[:, o, t] = bias[o] + sum_i sum_{m=0}^{K-1} weight[o, i, K-1-m] * x[:, i, t-m]

with ``x[t-m] = 0`` before the start: the last kernel tap weighs the current step, tap ``K-1-m`` the step
``m`` back. This is ``F.conv1d`` after ``K-1`` zeros of left padding (the original's causal convolution,
whose even-length kernels get one extra leading zero tap, which only ever multiplies padding).

Two numerically equivalent paths:
    direct: ``F.conv1d`` on the left-padded input, O(L K) per channel pair; fastest for short kernels.
    FFT:    real FFT of size n >= L + K - 1 (a 2^a 3^b 5^c number, so the transform is fast), product in
            the frequency domain, inverse, first L outputs; O(n log n). Runs in float32 at least (half
            precision FFTs are restricted to powers of two on CUDA and lose accuracy on long kernels).
``use_fft=None`` picks FFT when the kernel has at least ``FFT_MIN_KERNEL_SIZE`` taps; ``True`` / ``False`` force
a path. The threshold comes from the operation counts (direct: B*O*I*L*K multiply-adds; FFT: transforms plus
B*O*I*n/2 complex products) and a CPU measurement (CPU time of one thread, batch 16, 30 -> 30 channels,
kernel as long as the input: equal at 64 taps, FFT 1.9x faster at 128 and 3.1x at 256).

``same_conv1d(x, weight, bias)`` is the centred counterpart for odd K (the middle tap weighs the current step):

    y[:, o, t] = bias[o] + sum_i sum_{m=-(K-1)/2}^{(K-1)/2} weight[o, i, (K-1)/2 + m] * x[:, i, t+m]

(``F.conv1d`` with ``padding=K // 2``); its FFT path is the causal one on the input right-padded by ``K // 2`` zeros,
whose outputs from ``K // 2`` on are the centred ones, with a transform of ``L + K // 2`` points (only the discarded
outputs wrap around).
"""
from typing import Optional, Set

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv_backends import autocast_disabled, exporting, functional_transforms_active, good_fft_size

__all__ = ['CausalConv1d', 'SameConv1d', 'fixed_input_lengths', 'causal_conv1d', 'same_conv1d', 'complex_channel_mix',
           'causal_conv1d_direct', 'causal_conv1d_fft', 'fft_size', 'use_fft_for', 'check_fixed_length',
           'FFT_MIN_KERNEL_SIZE']

# kernels at least this long go through the FFT when use_fft is None
FFT_MIN_KERNEL_SIZE = 128


def fft_size(n: int) -> int:
    """The smallest even 5-smooth integer (2^a 3^b 5^c, a >= 1) that is at least ``n``: fast for every FFT backend."""
    return good_fft_size(n, even=True, primes=(2, 3, 5))


def use_fft_for(kernel_size: int, use_fft: Optional[bool] = None) -> bool:
    """Resolve the path: ``use_fft`` if given, else FFT for kernels of at least ``FFT_MIN_KERNEL_SIZE`` taps."""
    if use_fft is None:
        return kernel_size >= 128  # FFT_MIN_KERNEL_SIZE, spelled out for TorchScript (no module globals)
    return bool(use_fft)


def _block_matrix(h_f: torch.Tensor) -> torch.Tensor:
    """``h_f`` [O, I, F] complex as the real [F, 2I, 2O] matrices of 2x2 blocks ``[[hr, hi], [-hi, hr]]`` (row
    ``2i`` / ``2i+1``: real / imaginary part of input channel i; column ``2o`` / ``2o+1`` likewise): with x as
    [F, B, 2I] (``_to_blocks``), ``x @ M`` is y [F, B, 2O] of ``y[o] = sum_i x[i] h[o, i]``, and ``y @ M^T`` is
    ``sum_o y[o] conj(h[o, i])``. The second row of a block is ``i h``; one stacking copy builds both rows."""
    o, i, f = h_f.shape
    h = h_f.permute(2, 1, 0)                                         # [F, I, O]
    return torch.view_as_real(torch.stack([h, h * 1j], dim=2)).reshape(f, 2 * i, 2 * o)


def _to_blocks(z: torch.Tensor) -> torch.Tensor:
    """[B, C, F] complex -> [F, B, 2C] real, real and imaginary part of each channel side by side. Moving whole
    complex numbers (one transposing copy) is 1.6x faster than separating the parts."""
    return torch.view_as_real(z.permute(2, 0, 1).contiguous()).reshape(z.shape[2], z.shape[0], 2 * z.shape[1])


def _from_blocks(zr: torch.Tensor) -> torch.Tensor:
    """[F, B, 2C] real -> [B, C, F] complex (``_to_blocks`` inverted): a strided view, no copy (the inverse FFT
    reads it as it is, 1.4x faster than copying first)."""
    return torch.view_as_complex(zr.reshape(zr.shape[0], zr.shape[1], zr.shape[2] // 2, 2)).permute(1, 2, 0)


def complex_channel_mix(x_f: torch.Tensor, h_f: torch.Tensor) -> torch.Tensor:
    """``y[b, o, f] = sum_i x[b, i, f] h[o, i, f]`` for complex spectra x [B, I, F], h [O, I, F].

    One real batched matmul over frequencies, ``[xr, xi] @ [[hr, hi], [-hi, hr]]``: PyTorch's complex batched
    matmul copies every batch element on the CPU and is several times slower. Returns a contiguous [B, O, F] tensor.
    Differentiable (autograd).
    """
    return _from_blocks(torch.bmm(_to_blocks(x_f), _block_matrix(h_f))).contiguous()


class _CausalFFTConv(torch.autograd.Function):
    """``y = irfft(mix(rfft(x, n), rfft(flip(weight), n)), n)[..., :L]`` with a hand-written backward.

    Both inputs enter linearly, so the gradients are the correlations of ``gy`` with the other input, computed in
    the same frequency domain from what the forward kept ([xr, xi] and the block matrix of the kernel spectrum):
    ``gx = irfft(sum_o rfft(gy) conj(H))[:L]``, ``g(flip(weight)) = irfft(sum_b rfft(gy) conj(X))[:K]`` (exact, as
    ``n >= L + K - 1``: nothing wraps around). Autograd through the forward's operations computes the same with two
    complex-to-complex transforms and the concatenations' backward: about 1.4x slower (2 threads, B 32, 30 channels,
    L = K = 784). With ``create_graph=True`` the backward recomputes the spectra from the inputs, so that the
    gradients are themselves differentiable (double backward).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, n: int) -> torch.Tensor:
        length = x.shape[-1]
        x_blocks = _to_blocks(torch.fft.rfft(x, n=n))                             # [F, B, 2I]
        h_blocks = _block_matrix(torch.fft.rfft(weight.flip(-1), n=n))           # [F, 2I, 2O]
        y = torch.fft.irfft(_from_blocks(torch.bmm(x_blocks, h_blocks)), n=n)[..., :length]
        ctx.save_for_backward(x, weight, x_blocks, h_blocks)
        ctx.n = n
        return y

    @staticmethod
    def backward(ctx, gy: torch.Tensor):
        saved = ctx.saved_tensors  # unpacked once: activation checkpointing allows a single unpack
        with autocast_disabled(gy.device.type):  # a backward called inside an autocast region: still full precision
            return _CausalFFTConv._backward(ctx, gy.to(saved[0].dtype), saved)

    @staticmethod
    def _backward(ctx, gy: torch.Tensor, saved):
        x, weight, x_blocks, h_blocks = saved
        n, length, kernel_size = ctx.n, x.shape[-1], weight.shape[-1]
        if torch.is_grad_enabled():  # create_graph=True: spectra from the inputs, so the graph reaches them
            x_blocks = _to_blocks(torch.fft.rfft(x, n=n))
            h_blocks = _block_matrix(torch.fft.rfft(weight.flip(-1), n=n))
        gy_blocks = _to_blocks(torch.fft.rfft(gy, n=n))                          # [F, B, 2O]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch.fft.irfft(_from_blocks(torch.bmm(gy_blocks, h_blocks.transpose(1, 2))), n=n)[..., :length]
        if ctx.needs_input_grad[1]:
            g = torch.bmm(x_blocks.transpose(1, 2), gy_blocks)                   # [F, 2I, 2O]
            g = g.reshape(g.shape[0], g.shape[1] // 2, 2, g.shape[2] // 2, 2)
            # sum_b gy[b, o] conj(x[b, i]) from the four real products
            gh_f = torch.complex(g[:, :, 0, :, 0] + g[:, :, 1, :, 1], g[:, :, 0, :, 1] - g[:, :, 1, :, 0])  # [F, I, O]
            gw = torch.fft.irfft(gh_f.permute(2, 1, 0), n=n)[..., :kernel_size].flip(-1)
        return gx, gw, None


def causal_conv1d_direct(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Causal convolution with ``F.conv1d``: ``K-1`` zeros of left padding."""
    return F.conv1d(F.pad(x, [weight.shape[-1] - 1, 0]), weight, bias)


def causal_conv1d_fft(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Causal convolution through the real FFT (linear, not circular: the transform size is >= L + K - 1), computed
    in float32 at least; gradients by ``_CausalFFTConv``'s own backward."""
    if x.numel() == 0:  # FFT libraries reject zero-size transforms (MKL)
        return causal_conv1d_direct(x, weight, bias)
    return _conv1d_fft(x, weight, bias, fft_size(x.shape[-1] + weight.shape[-1] - 1))


def _conv1d_fft(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], n: int) -> torch.Tensor:
    """The first L outputs of the circular convolution of size ``n`` (>= L and >= K) of ``x`` with the flipped
    ``weight``: the causal convolution where ``n >= L + K - 1``; below that the first ``L + K - 1 - n`` outputs wrap
    around (``same_conv1d`` discards them). The backward is the exact adjoint of this circular operation."""
    length = x.shape[-1]
    dtype = x.dtype
    compute_dtype = torch.promote_types(dtype, torch.float32)
    # autocast off: it would run the channel-mixing matmul, hence the inverse transform, in half precision
    with autocast_disabled(x.device.type):
        x, weight = x.to(compute_dtype), weight.to(compute_dtype)
        if functional_transforms_active(x, weight):  # torch.func / forward-mode AD: plain differentiable operations
            y_f = _from_blocks(torch.bmm(_to_blocks(torch.fft.rfft(x, n=n)),
                                         _block_matrix(torch.fft.rfft(weight.flip(-1), n=n))))
            y = torch.fft.irfft(y_f, n=n)[..., :length]
        else:
            y = _CausalFFTConv.apply(x, weight, n)
    if bias is not None:
        y = y + bias.to(compute_dtype).unsqueeze(-1)
    return y.to(dtype)


def _fft_safe(x: torch.Tensor) -> bool:
    """Whether the FFT may take ``x``: it is not empty (FFT libraries reject zero-size transforms, MKL), no export runs
    (ONNX has no FFT operator) and every value is finite. A NaN or inf spreads through the transform to every output,
    those before it too: a missing value in a streamed series made all of its per-step outputs NaN. Under
    ``torch.compile``, torch.fx tracing and ``torch.func`` transforms the finiteness check (a data-dependent branch)
    is skipped, as on the meta device (no values: timm runs models there to their shapes)."""
    if x.numel() == 0 or exporting():
        return False
    if torch.compiler.is_compiling() or isinstance(x, torch.fx.Proxy) or x.device.type == 'meta' \
            or functional_transforms_active(x):
        return True
    # the sum is finite unless a value is NaN or inf (or the sum overflows, which only sends finite input the exact
    # direct way): a 30th of the cost of isfinite(x).all(), under 2% of one transform of x
    return bool(torch.isfinite(x.sum()))


def causal_conv1d(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        use_fft: Optional[bool] = None,
) -> torch.Tensor:
    """Causal 1D convolution of ``x`` [B, C_in, L] with ``weight`` [C_out, C_in, K] (see the module docstring).

    Taps more than L-1 steps back only ever meet the zero padding, so a kernel longer than the input is cut to
    its last L taps first (exact). Under TorchScript always the direct path, and for input with a NaN or inf too
    (``_fft_safe``: outputs before it stay as they are)."""
    if weight.shape[-1] > x.shape[-1]:
        weight = weight[..., weight.shape[-1] - x.shape[-1]:]
    if torch.jit.is_scripting():
        return causal_conv1d_direct(x, weight, bias)  # TorchScript: the direct path only
    if use_fft_for(weight.shape[-1], use_fft) and _fft_safe(x):
        return causal_conv1d_fft(x, weight, bias)
    return causal_conv1d_direct(x, weight, bias)


def same_conv1d(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        use_fft: Optional[bool] = None,
) -> torch.Tensor:
    """Centred ('same') 1D convolution of ``x`` [B, C_in, L] with ``weight`` [C_out, C_in, K], K odd: output step t
    weighs input step ``t + m`` with tap ``K // 2 + m`` (zero padding at both ends; see the module docstring).

    Taps more than L-1 steps from the middle only ever meet the zero padding, so a kernel longer than ``2L - 1`` is
    cut to its middle ``2L - 1`` taps first (exact). Under TorchScript always the direct path, and for input with a
    NaN or inf too (``_fft_safe``: it reaches only the outputs within the kernel's reach).

    Raises:
        ValueError: an even kernel (it has no middle tap).
    """
    kernel_size, length = weight.shape[-1], x.shape[-1]
    if kernel_size % 2 == 0:
        raise ValueError(f'a centred (same) convolution needs an odd kernel size, got {kernel_size} taps')
    if kernel_size > 2 * length - 1:
        cut = (kernel_size - (2 * length - 1)) // 2
        weight = weight[..., cut:kernel_size - cut]
        kernel_size = weight.shape[-1]
    half = kernel_size // 2
    if torch.jit.is_scripting():
        return F.conv1d(x, weight, bias, padding=half)
    if use_fft_for(kernel_size, use_fft) and _fft_safe(x):
        # the causal convolution of x right-padded by K // 2 zeros, from output K // 2 on; a transform of L + K // 2
        # points suffices, as only the discarded first outputs wrap around (half the causal path's L + 3 (K // 2))
        return _conv1d_fft(F.pad(x, [0, half]), weight, bias, fft_size(length + half))[..., half:]
    return F.conv1d(x, weight, bias, padding=half)


def check_fixed_length(x: torch.Tensor, fixed_length: Optional[int]) -> torch.Tensor:
    """``x``, or a ``ValueError`` unless ``x`` [B, C, L] has ``fixed_length`` steps (None: any length). Returning ``x``
    keeps the check in torch.fx feature extractors, which drop nodes their outputs do not use."""
    if fixed_length is not None and x.shape[-1] != fixed_length:
        raise ValueError(
            f'this deployed model was re-parameterised for sequences of length {fixed_length}, got length '
            f'{x.shape[-1]}; re-parameterise the training-form model for that length '
            f'(model.reparameterize(length={x.shape[-1]})) or build it with a fixed kernel_length')
    return x


# torch.fx keeps these calls as leaves: the kernel cut, the FFT / direct choice and the length check depend on the
# input's length
torch.fx.wrap('causal_conv1d')
torch.fx.wrap('same_conv1d')
torch.fx.wrap('check_fixed_length')


class _StaticConv1d(nn.Module):
    """A static 1D convolution with a possibly long kernel (weight ``[C_out, C_in, K]``), direct or FFT
    (``use_fft``); ``fixed_length``, when set, is the only input length the layer accepts (a deployed kernel sampled
    for that length). Subclasses fix the alignment: ``CausalConv1d`` or ``SameConv1d``."""
    causal: bool = True

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            kernel_size: int,
            bias: bool = False,
            use_fft: Optional[bool] = None,
            fixed_length: Optional[int] = None,
            device=None,
            dtype=None,
    ):
        super().__init__()
        self.causal = type(self).causal  # an instance attribute: TorchScript does not see class attributes
        if not self.causal and kernel_size % 2 == 0:
            raise ValueError(f'{type(self).__name__} needs an odd kernel_size (a middle tap), got {kernel_size}')
        self.weight = nn.Parameter(torch.empty(out_chs, in_chs, kernel_size, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_chs, device=device, dtype=dtype)) if bias else None
        self.use_fft = use_fft
        self.fixed_length = fixed_length
        nn.init.trunc_normal_(self.weight, std=.02)

    def __setstate__(self, state):
        state.setdefault('causal', type(self).causal)  # saved whole (torch.save) before the attribute existed
        super().__setstate__(state)

    def extra_repr(self) -> str:
        o, i, k = self.weight.shape
        s = f'{i}, {o}, kernel_size={k}, bias={self.bias is not None}'
        if self.fixed_length is not None:
            s += f', fixed_length={self.fixed_length}'
        return s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed_length is not None:
            x = check_fixed_length(x, self.fixed_length)
        if self.causal:
            return causal_conv1d(x, self.weight, self.bias, use_fft=self.use_fft)
        return same_conv1d(x, self.weight, self.bias, use_fft=self.use_fft)


class CausalConv1d(_StaticConv1d):
    """A static causal convolution (weight ``[C_out, C_in, K]``, last tap = current step; ``causal_conv1d``).

    Used for the small kernels, and as the deployed form of a causal SMP unit. ``fixed_length``, when set, is the
    only input length this layer accepts (a deployed kernel sampled for that length).
    """
    causal: bool = True


class SameConv1d(_StaticConv1d):
    """A static centred convolution (weight ``[C_out, C_in, K]``, K odd, middle tap = current step; ``same_conv1d``).

    Used for the small kernels of non-causal models, and as the deployed form of a non-causal SMP unit;
    ``fixed_length`` as in ``CausalConv1d``.

    Raises:
        ValueError: an even ``kernel_size``.
    """
    causal: bool = False


def fixed_input_lengths(module: nn.Module) -> Set[int]:
    """The input lengths the ``CausalConv1d`` / ``SameConv1d`` layers in ``module`` are fixed to (deployed for; empty
    when none is)."""
    return {m.fixed_length for m in module.modules() if isinstance(m, _StaticConv1d) and m.fixed_length is not None}
