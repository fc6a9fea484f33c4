"""Counting a model's multiply-accumulates (``smpconvnet info``, the model cards)."""
from typing import Optional, Sequence

import torch
import torch.utils._python_dispatch

from .layers.conv_backends import conv_backend
from .layers.point_kernel import PointKernel

__all__ = ['count_macs']


class _FFTSeen(torch.utils._python_dispatch.TorchDispatchMode):
    """Notes whether an FFT ran: the FLOP counter has no formula for it, so such a count is a lower bound."""
    seen = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if 'fft' in func.__name__:
            self.seen = True
        return func(*args, **(kwargs or {}))


def count_macs(model: torch.nn.Module, input_size: Sequence[int], fft_seen: Optional[list] = None) -> int:
    """Multiply-accumulates of one forward pass of a single sample: FLOPs counted by PyTorch's
    ``FlopCounterMode`` (convolutions and matrix products) divided by 2, with every large-kernel
    convolution computed directly (the architecture's cost, whatever backend runs it). The sampling of the SMP
    kernels from their points (``PointKernel``) is left out: its cost is per forward pass, not per sample, and the
    counter saw it on some paths only (the image models' matrix products, not the sequence models' elementwise
    sampling)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, *input_size)
    # direct convolutions: the FFT backend computes the same result, but the counter knows no FFT operator; the
    # sequence models and the SMP-ResNet choose per layer (use_fft), the image models through the backend setting
    watch = _FFTSeen()
    layers = [(m, m.use_fft) for m in model.modules() if hasattr(m, 'use_fft')]
    try:
        for m, _ in layers:
            m.use_fft = False
        with conv_backend('direct'), FlopCounterMode(display=False) as counter, torch.inference_mode(), watch:
            model(x)
    finally:
        for m, use_fft in layers:
            m.use_fft = use_fft
    if fft_seen is not None:
        fft_seen.append(watch.seen)
    # the counter names a module by the root's class name and its qualified name; a kernel inside a kernel is not
    # subtracted twice
    counts = counter.get_flop_counts()
    kernels = [name for name, m in model.named_modules() if isinstance(m, PointKernel)]
    outermost = [k for k in kernels if not any(k.startswith(o + '.') for o in kernels)]
    sampling = sum(sum(counts.get(f'{type(model).__name__}.{k}', {}).values()) for k in outermost)
    return (counter.get_total_flops() - sampling) // 2
