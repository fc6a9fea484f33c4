"""Depthwise 'same' convolution with large kernels, behind one function.

``depthwise_conv2d_same(x, weight, bias)`` equals
``F.conv2d(x, weight, bias, padding=k // 2, groups=C)`` for odd square kernels.
"""
from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ['depthwise_conv2d_same']


def depthwise_conv2d_same(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        backend: str = 'auto',
) -> torch.Tensor:
    """Depthwise convolution, stride 1, zero 'same' padding. ``weight`` is ``[C, 1, kh, kw]``, odd sizes."""
    kh, kw = weight.shape[-2], weight.shape[-1]
    return F.conv2d(x, weight, bias, padding=(kh // 2, kw // 2), groups=weight.shape[0])
