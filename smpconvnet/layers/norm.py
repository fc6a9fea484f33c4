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
    network is causal and padding is on the right).
    """

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is None or not self.training:
            return self._batch_norm(x)
        # mask: [B, 1, L] bool, True on valid steps
        maskf = mask.to(x.dtype)
        count = maskf.sum()
        mean = (x * maskf).sum(dim=(0, 2)) / count
        centered = (x - mean[None, :, None]) * maskf
        var = centered.pow(2).sum(dim=(0, 2)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = 1. / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), momentum)
        out = (x - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)
        if self.affine:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out

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
