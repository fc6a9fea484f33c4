"""Normalisation layers."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['MaskedBatchNorm1d']


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` that, in training with a mask, computes batch statistics over the valid steps only.

    Without a mask, or in eval mode, it is exactly ``nn.BatchNorm1d`` (same state dict). Padded steps are
    normalised with the same statistics; their outputs are meaningless but never reach a valid step (the
    network is causal and padding is on the right). With a mask the statistics and the normalisation run in float32
    (or the input's wider dtype), the output in the input's dtype, as ``nn.BatchNorm1d`` does for 16-bit input.

    Shapes: ``x`` ``[B, C, L]``, ``mask`` ``[B, 1, L]`` bool (True on valid steps); output as ``x``.
    """

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is None or not self.training:
            return self._batch_norm(x)
        # mask: [B, 1, L] bool, True on valid steps. Statistics in float32 at least, as nn.BatchNorm1d accumulates
        # them: in float16 the step count and the sums pass 65504 (inf statistics, then NaN or wrong outputs)
        acc = torch.promote_types(x.dtype, torch.float32)
        xa, maskf = x.to(acc), mask.to(acc)
        count = maskf.sum()
        mean = (xa * maskf).sum(dim=(0, 2)) / count
        centered = (xa - mean[None, :, None]) * maskf
        var = centered.pow(2).sum(dim=(0, 2)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = 1. / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), momentum)
        out = (xa - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)
        if self.affine:
            out = out * self.weight.to(acc)[None, :, None] + self.bias.to(acc)[None, :, None]
        return out.to(x.dtype)

    def _batch_norm(self, x: torch.Tensor) -> torch.Tensor:
        # nn.BatchNorm1d.forward, step for step: TorchScript cannot compile a super() call; torch.fx cannot branch on
        # a traced input's dimensions
        if not torch.jit.is_scripting():
            if not isinstance(x, torch.fx.Proxy):
                self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            x, self.running_mean if track else None, self.running_var if track else None, self.weight, self.bias,
            bn_training, factor, self.eps)
