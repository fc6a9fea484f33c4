"""Depthwise 'same' convolution with large kernels, behind one function.

``depthwise_conv2d_same(x, weight, bias)`` equals
``F.conv2d(x, weight, bias, padding=(kh // 2, kw // 2), groups=C)`` for odd kernels, forward and backward,
computed by one of three backends:

* ``'direct'``: ``F.conv2d`` itself. Fast for small kernels; PyTorch's CPU path for 27-31 tap depthwise
  kernels is an order of magnitude slower than an FFT. In training on the CPU its weight gradient is
  computed on channels-last copies (oneDNN's NCHW depthwise weight gradient is 3x slower).
* ``'fft'``: ``rfft2`` convolution. The circular transform only needs ``H + kh // 2`` points per axis (the
  wrapped-around part of the full convolution falls outside the 'same' window), rounded up to a size with
  prime factors 2, 3, 5, 7 only. Half / bfloat16 are computed in float32 and cast back.
* ``'toeplitz'``: when the kernel covers the whole feature map (14x14 and 7x7 stages), every output
  depends on every input and ``out[b, c] = x[b, c] @ T_c`` with ``T_c`` an ``(HW x HW)`` matrix gathered from
  the kernel: one batched GEMM. For a static (deployed, no-grad) kernel ``T`` can be cached per input size
  (``cache`` argument; ``LargeKernelDepthwiseConv2d`` keeps one).

Whatever the backend, only the ``(2H - 1) x (2W - 1)`` centre of a larger kernel can reach the output, so
larger kernels are cropped first (exact).

``backend='auto'`` picks per call from the shape, dtype, device and whether gradients are needed
(``choose_backend``, thresholds measured on a 2-core AVX-512 CPU with PyTorch 2.14); under ``torch.jit.trace`` it
computes directly and uncropped, so that the traced graph takes any input size, as a scripted or ONNX one does.
The choice can be forced per call (``backend=``), globally (``set_default_backend('direct')``), for a block of code
(``with conv_backend('direct'): ...``) or by the environment (``SMPCONVNET_CONV_BACKEND=direct``).

Gradients: the FFT and Toeplitz backends run inside one ``autograd.Function`` that saves only ``x`` and the
weight (as ``F.conv2d`` does, so training memory stays that of the direct path) and computes the input
gradient with the same backend and the weight gradient as one batch-summed FFT correlation.
Under TorchScript, tracing and ``torch.compile`` the function uses plain differentiable operators instead.

``PointwiseConv2d`` is a 1x1 ``nn.Conv2d`` computed as one batched GEMM over ``[B, C, H*W]``: on the CPU
this is up to 3x faster than ``F.conv2d``'s 1x1 path on NCHW tensors (mkldnn reorders to its blocked
layout and back for every call), and it is a plain ``baddbmm`` for autograd, tracing and ONNX.
"""
import contextlib
import functools
import os
from typing import Any, Callable, ContextManager, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    'depthwise_conv2d_same', 'choose_backend', 'conv_backend', 'set_default_backend', 'get_default_backend',
    'depthwise_conv2d_same_pair', 'good_fft_size', 'BACKENDS', 'pointwise_conv2d', 'PointwiseConv2d', 'KernelCache', 'exporting',
    'direct_channels_last_weight_grad', 'autocast_enabled', 'autocast_disabled', 'functional_transforms_active',
]

BACKENDS = ('direct', 'fft', 'toeplitz')
_ENV_VAR = 'SMPCONVNET_CONV_BACKEND'


def _check_backend_name(name: str, where: str) -> str:
    if name != 'auto' and name not in BACKENDS:
        raise ValueError(f"{where}: backend must be 'auto' or one of {BACKENDS}, got {name!r}")
    return name


def _backend_from_env(environ=os.environ) -> str:
    return _check_backend_name(environ.get(_ENV_VAR, '') or 'auto', f'environment variable {_ENV_VAR}')


_default_backend = _backend_from_env()
# the direct backend's channels-last weight gradient in training (False: F.conv2d's own backward, the plain
# reference ``smpconvnet bench`` compares against)
_direct_channels_last_weight_grad = True


@contextlib.contextmanager
def direct_channels_last_weight_grad(enabled: bool) -> Iterator[None]:
    """Inside the block, whether the direct backend computes its training weight gradient on channels-last copies
    (outside: yes, on the CPU; False gives ``F.conv2d``'s own backward, the plain reference ``smpconvnet bench``
    compares against)."""
    global _direct_channels_last_weight_grad
    previous = _direct_channels_last_weight_grad
    _direct_channels_last_weight_grad = bool(enabled)
    try:
        yield
    finally:
        _direct_channels_last_weight_grad = previous


def set_default_backend(name: str):
    """Backend used when a call asks for ``'auto'``: ``'auto'`` (choose by shape) or a fixed one."""
    global _default_backend
    _default_backend = _check_backend_name(name, 'set_default_backend')


def get_default_backend() -> str:
    return _default_backend


@contextlib.contextmanager
def conv_backend(name: str) -> Iterator[None]:
    """Force a backend for every ``'auto'`` call inside the block: ``with conv_backend('direct'): ...``."""
    global _default_backend
    previous = _default_backend
    set_default_backend(name)
    try:
        yield
    finally:
        _default_backend = previous


def autocast_enabled(device_type: str) -> bool:
    """``torch.is_autocast_enabled(device_type)``, False for device types autocast does not know (``'meta'``, on
    which timm builds models to check their shapes, raises there)."""
    return torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type)


def autocast_disabled(device_type: str) -> ContextManager:
    """``torch.autocast(device_type, enabled=False)``, or no context for device types autocast does not know."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


# ---------------------------------------------------------------------------------------------------------
# Sizes and the backend choice


def exporting() -> bool:
    """Whether the model is being exported (``torch.onnx.export``, either exporter, or ``torch.export``): every
    convolution is then computed directly, as ONNX has no FFT operator (nor complex tensors). False under
    TorchScript."""
    if torch.jit.is_scripting():
        return False
    return _exporting()


@torch.jit.unused
def _exporting() -> bool:
    return torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()


@torch.jit.unused
def functional_transforms_active(*tensors: torch.Tensor) -> bool:
    """Whether a ``torch.func`` transform (``grad``, ``vmap``, ``jacrev``, ...) is running, or any of ``tensors``
    carries a forward-mode tangent (``torch.autograd.forward_ad``). The layers' hand-written autograd Functions
    (speed-ups with their own backward) then give way to plain differentiable operations, which every transform
    supports. False under ``torch.compile``, which handles those Functions itself."""
    if torch.compiler.is_compiling():
        return False
    level = getattr(torch._C._functorch, 'maybe_current_level', None)
    if level is not None and level() is not None:
        return True
    from torch.autograd import forward_ad
    return any(isinstance(t, torch.Tensor) and forward_ad.unpack_dual(t).tangent is not None for t in tensors)


@functools.lru_cache(maxsize=None)
def good_fft_size(n: int, even: bool = False, primes: Tuple[int, ...] = (2, 3, 5, 7)) -> int:
    """The smallest m >= n whose prime factors are all in ``primes`` (and even, if asked): sizes MKL, pocketfft
    and cuFFT transform fast."""
    m = max(int(n), 1)
    while True:
        if not (even and m % 2):
            r = m
            for p in primes:
                while r % p == 0:
                    r //= p
            if r == 1:
                return m
        m += 1


def _effective_kernel_size(k: int, size: int) -> int:
    # taps more than size - 1 away from the centre only ever meet zero padding
    return min(k, 2 * size - 1)


# Thresholds measured with fp32 on 2 cores (AVX-512, PyTorch 2.14, oneDNN / MKL), milliseconds:
# - inference, batch 8: F.conv2d is fast up to 13x13 kernels (56x56x96, k13: direct 4.6, FFT 7.9) and falls
#   off a cliff above (k17: 182 vs 12; k31: 637 vs 14). A cached Toeplitz GEMM beats both where the kernel
#   covers the map (14x14x384, k27: Toeplitz 2.7, FFT 8.8, direct 104), but building the matrix costs ~35,
#   so it is chosen only when the caller keeps a cache (static, deployed kernels).
# - training (forward + backward), batch 4: PyTorch's depthwise backward is slow for large kernels (56x56x96,
#   k9: direct 42, FFT 17; k31: 801 vs 22), so the FFT takes over above 5x5, or above 9x9 on maps of at most
#   16x16 (14x14x384, k9: 8 vs 14; k13: 16 vs 8).
# On CUDA (cuDNN, cuFFT) the same rule is used without the Toeplitz form.
_DIRECT_MAX_K_INFERENCE = 13
_DIRECT_MAX_K_TRAINING = 5
_DIRECT_MAX_K_TRAINING_SMALL_MAP = 9
_SMALL_MAP_HW = 256
_TOEPLITZ_MAX_HW = 256
_TOEPLITZ_MAX_BYTES = 64 * 2 ** 20


def choose_backend(
        x_shape: Tuple[int, ...],
        kernel_size: Tuple[int, int],
        dtype: torch.dtype = torch.float32,
        device_type: str = 'cpu',
        requires_grad: bool = False,
        cached: bool = False,
) -> str:
    """The backend ``'auto'`` uses for a depthwise conv of ``x_shape = (B, C, H, W)`` and odd ``kernel_size``.

    ``requires_grad``: a backward pass will follow. ``cached``: the caller keeps Toeplitz matrices between
    calls (only possible for a kernel that needs no gradient).
    """
    _, channels, height, width = x_shape
    kh = _effective_kernel_size(kernel_size[0], height)
    kw = _effective_kernel_size(kernel_size[1], width)
    k = max(kh, kw)
    hw = height * width
    if requires_grad:
        limit = _DIRECT_MAX_K_TRAINING_SMALL_MAP if hw <= _SMALL_MAP_HW else _DIRECT_MAX_K_TRAINING
        return 'direct' if k <= limit else 'fft'
    covers_map = kh >= 2 * height - 1 and kw >= 2 * width - 1
    itemsize = torch.empty((), dtype=dtype).element_size()
    if (cached and device_type == 'cpu' and covers_map and hw <= _TOEPLITZ_MAX_HW and hw < kh * kw
            and channels * hw * hw * itemsize <= _TOEPLITZ_MAX_BYTES):
        return 'toeplitz'
    return 'direct' if k <= _DIRECT_MAX_K_INFERENCE else 'fft'


# ---------------------------------------------------------------------------------------------------------
# FFT backend


def _fft_sizes(height: int, width: int, kh: int, kw: int) -> Tuple[int, int]:
    # circular size N >= H + k // 2 keeps the 'same' window free of wrap-around
    return good_fft_size(height + kh // 2), good_fft_size(width + kw // 2, even=True)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # FFTs need float32 / float64 (CPU has no half FFT; CUDA only for powers of two)
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def _irfft2_same(y_f: torch.Tensor, fh: int, fw: int, height: int, width: int, kh: int, kw: int) -> torch.Tensor:
    """``irfft2(y_f, s=(fh, fw))`` cropped to the 'same' window: the inverse along H first, then only the
    ``height`` rows kept go through the inverse along W (15-20% faster than ``irfft2`` and cropping)."""
    rows = torch.fft.ifft(y_f, dim=-2)[..., kh // 2:kh // 2 + height, :]
    return torch.fft.irfft(rows, n=fw, dim=-1)[..., kw // 2:kw // 2 + width]


def _fft_kernel(weight: torch.Tensor, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    kh, kw = weight.shape[-2:]
    # cross-correlation = convolution with the flipped kernel
    return torch.fft.rfft2(weight.to(dtype).flip(-2, -1), s=_fft_sizes(height, width, kh, kw))


def _fft_conv(x: torch.Tensor, weight: torch.Tensor, kernel_f: Optional[torch.Tensor] = None) -> torch.Tensor:
    """'same' cross-correlation of ``x [B, C, H, W]`` with ``weight [C, M, kh, kw]`` (M kernels per channel):
    ``[B, C, M, H, W]`` in the compute dtype. ``kernel_f``: the kernel's spectrum, if already known."""
    height, width = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    fh, fw = _fft_sizes(height, width, kh, kw)
    dtype = _compute_dtype(x.dtype)
    if kernel_f is None:
        kernel_f = _fft_kernel(weight, height, width, dtype)
    x_f = torch.fft.rfft2(x.to(dtype), s=(fh, fw)).unsqueeze(2)
    return _irfft2_same(x_f * kernel_f, fh, fw, height, width, kh, kw)


def _fft_conv_backward(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, need_x: bool,
                       need_w: bool) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """Gradients of ``_fft_conv`` for ``grad_out [B, C, M, H, W]``.

    The input gradient is the 'same' convolution (not correlation) of the output gradient with the kernel,
    summed over the M kernels in the frequency domain. The weight gradient
    ``g_w[c, m, a, b] = sum_{n,i,j} g[n,c,m,i,j] x[n,c,i+a-kh//2, j+b-kw//2]`` is a correlation summed over the
    batch in the frequency domain, so only C * M inverse transforms are needed.
    """
    height, width = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    fh, fw = _fft_sizes(height, width, kh, kw)
    dtype = _compute_dtype(x.dtype)
    grad_f = torch.fft.rfft2(grad_out.to(dtype), s=(fh, fw))  # [B, C, M, fh, fw // 2 + 1]
    grad_x = grad_w = None
    if need_x:
        kernel_f = torch.fft.rfft2(weight.to(dtype), s=(fh, fw))
        grad_x = _irfft2_same((grad_f * kernel_f).sum(2), fh, fw, height, width, kh, kw)
        grad_x = grad_x.to(x.dtype)
    if need_w:
        x_f = torch.fft.rfft2(x.to(dtype), s=(fh, fw)).unsqueeze(2)
        corr = torch.fft.irfft2((x_f * grad_f.conj()).sum(0), s=(fh, fw))  # corr[a'] = sum_i g[i] x[i + a']
        # offsets -p..p sit at N-p..N-1 and 0..p of the circular result
        grad_w = torch.roll(corr, shifts=(kh // 2, kw // 2), dims=(-2, -1))[..., :kh, :kw].to(weight.dtype)
    return grad_x, grad_w


# ---------------------------------------------------------------------------------------------------------
# Toeplitz backend


def _toeplitz_matrix(weight: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[C, HW_in, HW_out]`` with ``T[c, (i', j'), (i, j)] = w[c, i' - i + kh // 2, j' - j + kw // 2]`` (zero
    outside the kernel), so that ``out[b, c] = x[b, c].flatten() @ T[c]``.

    Built by one strided copy: on the kernel flipped and zero-padded to ``(2H - 1) x (2W - 1)``,
    ``R[a, b, i, j] = flipped[a + i, b + j]`` is a strided view and ``T = R`` read backwards along ``a, b``.
    """
    channels, _, kh, kw = weight.shape
    full_h, full_w = 2 * height - 1, 2 * width - 1
    ph, pw = (full_h - kh) // 2, (full_w - kw) // 2
    flipped = F.pad(weight[:, 0].flip(-2, -1), (pw, pw, ph, ph)).contiguous()  # [C, 2H - 1, 2W - 1]
    view = flipped.as_strided(
        (channels, height, width, height, width), (full_h * full_w, full_w, 1, full_w, 1))
    return view.flip(1, 2).reshape(channels, height * width, height * width)


def _toeplitz_apply(x: torch.Tensor, matrix: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    batch, channels, height, width = x.shape
    xc = x.reshape(batch, channels, height * width).transpose(0, 1)  # [C, B, HW]
    out = torch.bmm(xc, matrix.transpose(1, 2) if transpose else matrix)
    return out.transpose(0, 1).reshape(batch, channels, height, width)


class KernelCache:
    """What a static kernel's convolution derives from it (its spectrum, or its Toeplitz matrices), kept for one
    input size at a time between calls (Toeplitz matrices are large; earlier sizes are of no use).

    The entry is checked against the kernel's *values* at every use (a copy of the kernel is kept beside it and
    compared with ``torch.equal``, ~0.1 ms for a 384 x 27 x 27 kernel), so it follows every way a parameter can
    change: assignment, in-place edits (including through ``.data``, which no version counter sees),
    ``load_state_dict`` (also with ``assign=True``), ``.to()`` / ``.half()``, optimizer steps and EMA updates.
    Nothing of it is ever saved: a pickled, deep-copied or ``torch.jit.script``-ed module gets an empty cache.
    Threads may share it: the entry (key, kernel copy, value) is read and replaced as one tuple.
    """

    def __init__(self):
        self._entry: Optional[Tuple[Tuple, torch.Tensor, torch.Tensor]] = None

    def clear(self):
        self._entry = None

    def __len__(self) -> int:
        return 0 if self._entry is None else 1

    def get(self, key: Tuple, weight: torch.Tensor, build: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``build(weight)``, or the value kept from an earlier call with the same ``key`` and an equal weight."""
        weight = weight.detach()
        entry = self._entry  # one read: another thread may replace the entry meanwhile, never half of it
        if entry is not None:
            kept_key, kept, value = entry
            if (kept_key == key and kept.dtype == weight.dtype and kept.device == weight.device
                    and kept.shape == weight.shape and torch.equal(kept, weight)):
                return value
        self._entry = None  # drop the old entry first: a Toeplitz bank can be tens of MB
        with torch.no_grad():
            value = build(weight)
        self._entry = (key, weight.clone(), value)
        return value

    # derived state never travels with the module (pickle, copy.deepcopy, torch.save)
    def __reduce__(self):
        return KernelCache, ()

    def __deepcopy__(self, memo) -> 'KernelCache':
        return KernelCache()

    def __repr__(self) -> str:
        return f'KernelCache({"empty" if self._entry is None else self._entry[0]})'


def _cached(kind: str, weight: torch.Tensor, height: int, width: int, dtype: torch.dtype,
            cache: Optional[KernelCache]) -> torch.Tensor:
    """The Toeplitz matrices (``kind='toeplitz'``) or the spectrum (``'fft'``) of a static kernel, from ``cache``
    when it holds them for this kernel and input size."""
    build = _toeplitz_matrix if kind == 'toeplitz' else functools.partial(_fft_kernel, dtype=dtype)
    if cache is None:
        return build(weight, height, width)
    return cache.get((kind, height, width, dtype), weight, lambda w: build(w, height, width))


# ---------------------------------------------------------------------------------------------------------
# Dispatch


def _run_forward(x: torch.Tensor, weight: torch.Tensor, backend: str,
                 cache: Optional[KernelCache]) -> torch.Tensor:
    height, width = x.shape[-2:]
    if backend == 'fft':
        kernel_f = _cached('fft', weight, height, width, _compute_dtype(x.dtype), cache)
        return _fft_conv(x, weight, kernel_f)[:, :, 0].to(x.dtype)
    if backend == 'toeplitz':
        return _toeplitz_apply(x, _cached('toeplitz', weight, height, width, x.dtype, cache).to(x.dtype))
    kh, kw = weight.shape[-2:]
    return F.conv2d(x, weight, None, padding=(kh // 2, kw // 2), groups=weight.shape[0])


class _DepthwiseConvSame(torch.autograd.Function):
    """Depthwise 'same' conv by the FFT or Toeplitz backend, saving only x and the weight for backward.

    ``weight [C, M, kh, kw]`` with M > 1 (FFT only) convolves each channel with M kernels at the cost of one
    forward transform of x: output ``[B, C, M, H, W]``; with M == 1 the output is ``[B, C, H, W]``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, backend: str):
        ctx.save_for_backward(x, weight)
        ctx.backend = backend
        if weight.shape[1] > 1:
            return _fft_conv(x, weight).to(x.dtype)
        return _run_forward(x, weight, backend, None)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        x, weight = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if ctx.backend == 'toeplitz':
            grad_x = grad_w = None
            if need_x:
                matrix = _toeplitz_matrix(weight, x.shape[-2], x.shape[-1]).to(grad_out.dtype)
                grad_x = _toeplitz_apply(grad_out, matrix, transpose=True)
            if need_w:
                _, grad_w = _fft_conv_backward(x, weight, grad_out.unsqueeze(2), False, True)
            return grad_x, grad_w, None
        if weight.shape[1] == 1:
            grad_out = grad_out.unsqueeze(2)
        grad_x, grad_w = _fft_conv_backward(x, weight, grad_out, need_x, need_w)
        return grad_x, grad_w, None


class _DirectDepthwiseConv(torch.autograd.Function):
    """``F.conv2d`` depthwise, whose weight gradient is computed on channels-last copies (CPU).

    oneDNN's NCHW depthwise weight gradient is slow: for a 5x5 kernel at batch 4, 3.5x slower than in
    channels-last at 28x28x192 (25 vs 7 ms) and 2.8x at 56x56x96 (42 vs 15 ms), conversions included; the
    forward and the input gradient are fast in NCHW and stay there. Saves what ``F.conv2d`` saves.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: Tuple[int, int]):
        ctx.save_for_backward(x, weight)
        ctx.padding = list(padding)
        return F.conv2d(x, weight, None, padding=padding, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        x, weight = ctx.saved_tensors
        groups = weight.shape[0]
        grad_x = grad_w = None

        def conv_backward(g, inp, mask):
            return torch.ops.aten.convolution_backward(
                g, inp, weight, None, [1, 1], ctx.padding, [1, 1], False, [0, 0], groups, mask)

        if ctx.needs_input_grad[0]:
            grad_x = conv_backward(grad_out, x, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            cl = torch.channels_last
            grad_w = conv_backward(grad_out.contiguous(memory_format=cl), x.contiguous(memory_format=cl),
                                   [False, True, False])[1].contiguous()
        return grad_x, grad_w, None


def _plain_differentiable(x: torch.Tensor, weight: torch.Tensor, backend: str) -> torch.Tensor:
    # for tracing / torch.compile: ordinary operators, autograd through them
    if backend == 'direct':
        kh, kw = weight.shape[-2:]
        return F.conv2d(x, weight, None, padding=(kh // 2, kw // 2), groups=weight.shape[0])
    if backend == 'toeplitz':
        return _toeplitz_apply(x, _toeplitz_matrix(weight, x.shape[-2], x.shape[-1]))
    return _fft_conv(x, weight)[:, :, 0].to(x.dtype)


def _check_inputs(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]):
    if x.dim() != 4:
        raise ValueError(f'depthwise_conv2d_same expects x of shape [B, C, H, W], got {list(x.shape)}')
    channels = x.shape[1]
    if weight.dim() != 4 or weight.shape[0] != channels or weight.shape[1] != 1:
        raise ValueError(
            f'depthwise_conv2d_same expects a weight of shape [C, 1, kh, kw] = [{channels}, 1, kh, kw] for '
            f'x of shape {list(x.shape)}, got {list(weight.shape)}')
    kh, kw = weight.shape[-2:]
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"'same' padding needs odd kernel sizes, got {kh}x{kw}")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != channels):
        raise ValueError(f'bias must have shape [{channels}], got {list(bias.shape)}')


def depthwise_conv2d_same(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        backend: str = 'auto',
        cache: Any = None,
) -> torch.Tensor:
    """Depthwise convolution, stride 1, zero 'same' padding: ``F.conv2d(x, weight, bias, padding=k // 2,
    groups=C)``.

    Args:
        x: ``[B, C, H, W]``.
        weight: ``[C, 1, kh, kw]``, odd sizes (any size relative to ``H, W``).
        bias: ``[C]`` or None.
        backend: ``'auto'`` (the module default, normally chosen per shape), ``'direct'``, ``'fft'`` or
            ``'toeplitz'``.
        cache: a ``KernelCache`` the caller owns, in which the spectrum or Toeplitz matrices of a no-grad weight
            are kept between calls (checked against the weight's values at every call).
    """
    if torch.jit.is_scripting():
        kh, kw = weight.shape[-2], weight.shape[-1]
        return F.conv2d(x, weight, bias, padding=(kh // 2, kw // 2), groups=weight.shape[0])
    return _depthwise_conv2d_same(x, weight, bias, backend, cache)


def _traced_default() -> str:
    # torch.jit.trace: 'auto' computes directly and uncropped, as TorchScript and ONNX do. A backend chosen from the
    # traced shape and grad mode froze that size into the graph (another size failed with a shape mismatch) and
    # differed between trace_module's two runs (its check failed with grad enabled); a forced backend still applies
    if _default_backend == 'auto' and torch.jit.is_tracing():
        return 'direct'
    return _default_backend


@torch.jit.unused
def _depthwise_conv2d_same(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor],
        backend: str,
        cache: Optional[KernelCache],
) -> torch.Tensor:
    _check_inputs(x, weight, bias)
    if backend == 'auto':
        backend = _traced_default()
    else:
        _check_backend_name(backend, 'depthwise_conv2d_same')
    if exporting():
        backend = 'direct'  # ONNX has no FFT operator, and a Toeplitz cache cannot live in an exported graph

    device_type = x.device.type
    if autocast_enabled(device_type):
        # what autocast does for F.conv2d: compute in the low-precision dtype (backends upcast internally)
        dtype = torch.get_autocast_dtype(device_type)
        x, weight = x.to(dtype), weight.to(dtype)
        bias = bias.to(dtype) if bias is not None else None
        with autocast_disabled(device_type):
            return _depthwise_conv2d_same(x, weight, bias, backend, cache)
    if weight.dtype != x.dtype:
        raise ValueError(f'x and weight must have the same dtype, got {x.dtype} and {weight.dtype}')

    height, width = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    if (backend == 'direct' and torch.jit.is_tracing()) or x.numel() == 0:
        # traced: uncropped, as a crop computed from the traced input size would freeze that size into the graph
        # (ONNX); empty batch: FFT libraries reject zero-size transforms (MKL), F.conv2d returns the empty output
        return F.conv2d(x, weight, bias, padding=(kh // 2, kw // 2), groups=weight.shape[0])
    eh, ew = _effective_kernel_size(kh, height), _effective_kernel_size(kw, width)
    if (eh, ew) != (kh, kw):
        weight = weight[:, :, (kh - eh) // 2:(kh + eh) // 2, (kw - ew) // 2:(kw + ew) // 2]

    needs_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    if backend == 'auto':
        backend = choose_backend(tuple(x.shape), (eh, ew), x.dtype, device_type, needs_grad, cache is not None)

    if backend == 'direct':
        if (needs_grad and device_type == 'cpu' and _direct_channels_last_weight_grad
                and not (torch.jit.is_tracing() or torch.compiler.is_compiling())):
            out = _DirectDepthwiseConv.apply(x, weight, (eh // 2, ew // 2))
            return out if bias is None else out + bias.view(1, -1, 1, 1)
        return F.conv2d(x, weight, bias, padding=(eh // 2, ew // 2), groups=weight.shape[0])
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        # no cache survives into a traced / compiled graph, and building Toeplitz matrices every call is slow
        out = _plain_differentiable(x, weight, 'fft' if backend == 'toeplitz' and cache is not None else backend)
    elif needs_grad:
        out = _DepthwiseConvSame.apply(x, weight, backend)
    else:
        out = _run_forward(x, weight, backend, cache)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def depthwise_conv2d_same_pair(
        x: torch.Tensor,
        weight: torch.Tensor,
        small_weight: torch.Tensor,
        backend: str = 'auto',
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(depthwise_conv2d_same(x, weight), depthwise_conv2d_same(x, small_weight))`` without bias.

    Each kernel takes its own backend (``'auto'``: the large one normally the FFT, the small one direct).
    Where both go through the FFT (``backend='fft'``) they share the transforms of ``x`` (forward) and of the
    input gradient (backward): the small kernel then costs one more inverse transform.
    """
    if torch.jit.is_scripting():
        kh, kw = weight.shape[-2], weight.shape[-1]
        sh, sw = small_weight.shape[-2], small_weight.shape[-1]
        return (F.conv2d(x, weight, None, padding=(kh // 2, kw // 2), groups=weight.shape[0]),
                F.conv2d(x, small_weight, None, padding=(sh // 2, sw // 2), groups=small_weight.shape[0]))
    return _depthwise_conv2d_same_pair(x, weight, small_weight, backend)


@torch.jit.unused
def _depthwise_conv2d_same_pair(
        x: torch.Tensor,
        weight: torch.Tensor,
        small_weight: torch.Tensor,
        backend: str,
) -> Tuple[torch.Tensor, torch.Tensor]:
    _check_inputs(x, weight, None)
    _check_inputs(x, small_weight, None)
    if backend == 'auto':
        backend = _traced_default()
    else:
        _check_backend_name(backend, 'depthwise_conv2d_same_pair')
    if x.numel() == 0 or exporting():  # FFT libraries reject zero-size transforms; ONNX has no FFT operator
        backend = 'direct'
    height, width = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    eh, ew = _effective_kernel_size(kh, height), _effective_kernel_size(kw, width)
    sh, sw = small_weight.shape[-2:]
    esh, esw = _effective_kernel_size(sh, height), _effective_kernel_size(sw, width)
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or small_weight.requires_grad)
    large_backend = small_backend = backend
    if backend == 'auto':
        large_backend = choose_backend(tuple(x.shape), (eh, ew), x.dtype, x.device.type, needs_grad)
        small_backend = choose_backend(tuple(x.shape), (esh, esw), x.dtype, x.device.type, needs_grad)
    # Sharing the transforms doubles the inverse transforms of the forward and the transforms of the output
    # gradient. With the direct path's channels-last weight gradient the small kernel alone is cheaper at
    # every stage (training, batch 4, forward + backward, ms, shared FFT vs FFT + direct 5x5: 56x56x96 35-42
    # vs 29, 28x28x192 24 vs 21, 14x14x384 22-34 vs 18-26, 7x7x768 10.5 vs 9.7), so the pair shares the FFT
    # only where both kernels are meant to go through it (a forced 'fft').
    fusable = (
        large_backend == 'fft' and small_backend == 'fft' and esh <= eh and esw <= ew
        and x.dtype == weight.dtype == small_weight.dtype
        and not autocast_enabled(x.device.type)
        and not torch.jit.is_tracing() and not torch.compiler.is_compiling())
    if not fusable:
        return (depthwise_conv2d_same(x, weight, backend=large_backend),
                depthwise_conv2d_same(x, small_weight, backend=small_backend))
    weight = weight[:, :, (kh - eh) // 2:(kh + eh) // 2, (kw - ew) // 2:(kw + ew) // 2]
    small_weight = small_weight[:, :, (sh - esh) // 2:(sh + esh) // 2, (sw - esw) // 2:(sw + esw) // 2]
    ph, pw = (eh - esh) // 2, (ew - esw) // 2
    stacked = torch.cat([weight, F.pad(small_weight, (pw, pw, ph, ph))], dim=1)  # [C, 2, eh, ew]
    if needs_grad:
        out = _DepthwiseConvSame.apply(x, stacked, 'fft')
    else:
        out = _fft_conv(x, stacked).to(x.dtype)
    return out[:, :, 0], out[:, :, 1]


def pointwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` for a ``[O, C, 1, 1]`` weight, as one batched GEMM on NCHW input whose
    rows (H, W) are contiguous, batch and channel strides free (e.g. the Toeplitz backend's output). Other
    layouts, e.g. channels-last, keep ``F.conv2d``, which handles them well."""
    # (input of other channels than the weight's: F.conv2d's error names both, where the GEMM's reshape did not)
    if x.dim() != 4 or x.stride(3) != 1 or x.stride(2) != x.shape[3] or x.shape[1] != weight.shape[1]:
        return F.conv2d(x, weight, bias)
    b, c, h, w = x.shape
    out_chs = weight.shape[0]
    y = torch.bmm(weight.reshape(out_chs, c).unsqueeze(0).expand(b, out_chs, c), x.reshape(b, c, h * w))
    if bias is not None:
        # in place after the GEMM: a few % faster than baddbmm, which first copies the broadcast bias into y
        y += bias.reshape(1, out_chs, 1)
    return y.reshape(b, out_chs, h, w)


# a leaf of torch.fx graphs: the GEMM or F.conv2d path depends on the input's strides
torch.fx.wrap('pointwise_conv2d')


class PointwiseConv2d(nn.Conv2d):
    """A 1x1, stride-1, ungrouped ``nn.Conv2d`` (same parameters and state-dict keys) computed by
    ``pointwise_conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, device=None, dtype=None):
        super().__init__(in_channels, out_channels, 1, bias=bias, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pointwise_conv2d(x, self.weight, self.bias)
