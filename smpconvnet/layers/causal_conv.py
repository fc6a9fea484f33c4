"""Causal 1D convolution with long kernels: direct or FFT, chosen by kernel length.

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
"""
from typing import Optional, Set

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv_backends import exporting, good_fft_size

__all__ = ['CausalConv1d', 'fixed_input_lengths', 'causal_conv1d', 'complex_channel_mix', 'causal_conv1d_direct',
           'causal_conv1d_fft', 'fft_size', 'use_fft_for', 'check_fixed_length', 'FFT_MIN_KERNEL_SIZE']

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


def complex_channel_mix(x_f: torch.Tensor, h_f: torch.Tensor) -> torch.Tensor:
    """``y[b, o, f] = sum_i x[b, i, f] h[o, i, f]`` for complex spectra x [B, I, F], h [O, I, F].

    One real batched matmul over frequencies, ``[xr, xi] @ [[hr, hi], [-hi, hr]]``: PyTorch's complex batched
    matmul copies every batch element on the CPU and is several times slower.
    """
    xr = torch.view_as_real(x_f).permute(2, 0, 3, 1)              # [F, B, 2, I]
    hr = torch.view_as_real(h_f).permute(2, 1, 0, 3)              # [F, I, O, 2]
    batch, chans = x_f.shape[0], x_f.shape[1]
    x_cat = xr.reshape(xr.shape[0], batch, 2 * chans)             # [F, B, (re I, im I)]
    h_re, h_im = hr[..., 0], hr[..., 1]                           # [F, I, O]
    h_cat = torch.cat([torch.cat([h_re, h_im], -1), torch.cat([-h_im, h_re], -1)], 1)  # [F, 2I, 2O]
    y = torch.bmm(x_cat, h_cat)                                   # [F, B, (re O, im O)]
    y = y.reshape(y.shape[0], batch, 2, -1).permute(1, 3, 0, 2)   # [B, O, F, 2]
    return torch.view_as_complex(y.contiguous())


def causal_conv1d_direct(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Causal convolution with ``F.conv1d``: ``K-1`` zeros of left padding."""
    return F.conv1d(F.pad(x, [weight.shape[-1] - 1, 0]), weight, bias)


def causal_conv1d_fft(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Causal convolution through the real FFT (linear, not circular: the transform size is >= L + K - 1)."""
    length, kernel_size = x.shape[-1], weight.shape[-1]
    n = fft_size(length + kernel_size - 1)
    dtype = x.dtype
    compute_dtype = torch.promote_types(dtype, torch.float32)
    # flipping makes the kernel a causal impulse response h[m] = weight[K-1-m], so y = h * x (convolution)
    x_f = torch.fft.rfft(x.to(compute_dtype), n=n)                      # [B, I, F]
    h_f = torch.fft.rfft(weight.flip(-1).to(compute_dtype), n=n)        # [O, I, F]
    y_f = complex_channel_mix(x_f, h_f)
    y = torch.fft.irfft(y_f, n=n)[..., :length]
    if bias is not None:
        y = y + bias.to(compute_dtype).unsqueeze(-1)
    return y.to(dtype)


def causal_conv1d(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        use_fft: Optional[bool] = None,
) -> torch.Tensor:
    """Causal 1D convolution of ``x`` [B, C_in, L] with ``weight`` [C_out, C_in, K] (see the module docstring).

    Taps more than L-1 steps back only ever meet the zero padding, so a kernel longer than the input is cut to
    its last L taps first (exact). Under TorchScript always the direct path."""
    if weight.shape[-1] > x.shape[-1]:
        weight = weight[..., weight.shape[-1] - x.shape[-1]:]
    if torch.jit.is_scripting():
        return causal_conv1d_direct(x, weight, bias)  # TorchScript: the direct path only
    # an empty batch goes the direct way too: FFT libraries reject zero-size transforms (MKL); and so does an
    # export, as ONNX has no FFT operator
    if use_fft_for(weight.shape[-1], use_fft) and x.numel() > 0 and not exporting():
        return causal_conv1d_fft(x, weight, bias)
    return causal_conv1d_direct(x, weight, bias)


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
torch.fx.wrap('check_fixed_length')


class CausalConv1d(nn.Module):
    """A static causal convolution (weight ``[C_out, C_in, K]``, last tap = current step).

    Used for the small kernels, and as the deployed form of an SMP unit. ``fixed_length``, when set, is the
    only input length this layer accepts (a deployed kernel sampled for that length).
    """

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
        self.weight = nn.Parameter(torch.empty(out_chs, in_chs, kernel_size, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_chs, device=device, dtype=dtype)) if bias else None
        self.use_fft = use_fft
        self.fixed_length = fixed_length
        nn.init.trunc_normal_(self.weight, std=.02)

    def extra_repr(self) -> str:
        o, i, k = self.weight.shape
        s = f'{i}, {o}, kernel_size={k}, bias={self.bias is not None}'
        if self.fixed_length is not None:
            s += f', fixed_length={self.fixed_length}'
        return s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed_length is not None:
            x = check_fixed_length(x, self.fixed_length)
        return causal_conv1d(x, self.weight, self.bias, use_fft=self.use_fft)


def fixed_input_lengths(module: nn.Module) -> Set[int]:
    """The input lengths the ``CausalConv1d`` layers in ``module`` are fixed to (deployed for; empty when none is)."""
    return {m.fixed_length for m in module.modules() if isinstance(m, CausalConv1d) and m.fixed_length is not None}
