"""Batch-norm folding used by the inference re-parameterisation of every model family, and the error measure
that checks a deployed or fast form against its reference."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from timm.layers.norm_act import FrozenBatchNorm2d as _TimmFrozenBatchNorm2d
from torchvision.ops.misc import FrozenBatchNorm2d as _TorchvisionFrozenBatchNorm2d

from .conv_backends import autocast_disabled

__all__ = ['BATCHNORM_2D_TYPES', 'is_batchnorm', 'bn_scale_shift', 'fold_bn_after', 'fold_affine_before',
           'relative_error']

# what re-parameterisation folds as a 2-D BatchNorm: the trainable one, the SyncBatchNorm that timm's train.py
# --sync-bn puts in its place (nn.SyncBatchNorm.convert_sync_batchnorm; in eval mode it normalises with its running
# statistics as BatchNorm2d does: trial 73, left unfolded, the deployed model did not load) and the frozen ones that
# timm.utils.freeze (timm.layers.freeze_batch_norm_2d) puts in its place for fine-tuning (torchvision's class when
# torchvision is installed, timm's own otherwise); all hold running statistics, weight, bias and eps
BATCHNORM_2D_TYPES = tuple(dict.fromkeys((nn.BatchNorm2d, nn.SyncBatchNorm, _TimmFrozenBatchNorm2d,
                                          _TorchvisionFrozenBatchNorm2d)))


def is_batchnorm(module: nn.Module) -> bool:
    """A BatchNorm of any dimension (``nn.modules.batchnorm._BatchNorm``) or a frozen 2-D one
    (``BATCHNORM_2D_TYPES``): what a deployed model no longer holds."""
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, *BATCHNORM_2D_TYPES))


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode batch norm as ``y = x * scale + shift`` per channel (a frozen one's too: torchvision's
    ``FrozenBatchNorm2d`` has no ``affine`` attribute and is always affine), in float32 at least: a 16-bit
    BatchNorm's ``rsqrt`` and products are not rounded one by one (the folds round their result once)."""
    acc = torch.promote_types(bn.running_var.dtype, torch.float32)
    scale = bn.running_var.to(acc).add(bn.eps).rsqrt()
    shift = -bn.running_mean.to(acc) * scale
    if getattr(bn, 'affine', True):
        scale = scale * bn.weight.to(acc)
        shift = shift * bn.weight.to(acc) + bn.bias.to(acc)
    return scale, shift


def fold_bn_after(
        weight: torch.Tensor,
        bias: Optional[torch.Tensor],
        bn: nn.modules.batchnorm._BatchNorm,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fold ``bn(conv(x))`` into one conv: returns the new weight and bias (output channels on dim 0), in
    ``weight``'s dtype, computed in float32 at least (a 16-bit model's are rounded once: trial 75b)."""
    scale, shift = bn_scale_shift(bn)
    acc = torch.promote_types(weight.dtype, scale.dtype)
    new_weight = weight.to(acc) * scale.reshape([-1] + [1] * (weight.dim() - 1))
    new_bias = shift if bias is None else bias.to(acc) * scale + shift
    return new_weight.to(weight.dtype), new_bias.to(weight.dtype)


def fold_affine_before(
        weight: torch.Tensor,
        bias: Optional[torch.Tensor],
        scale: torch.Tensor,
        shift: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fold a per-channel ``x * scale + shift`` that precedes a 1x1 (pointwise, ungrouped) conv.

    Only exact for kernels without spatial extent: a shift before a padded kxk conv would also shift
    the zero padding. Computed in float32 at least, returned in ``weight``'s dtype.
    """
    if any(s != 1 for s in weight.shape[2:]):
        raise ValueError(f'an affine map can only be folded into a pointwise conv, got weight {list(weight.shape)}')
    acc = torch.promote_types(torch.promote_types(weight.dtype, scale.dtype), torch.float32)
    with autocast_disabled(weight.device.type):  # (inside an autocast region the product would be 16-bit: trial 75)
        new_bias = weight.flatten(1).to(acc) @ shift.to(acc)
    if bias is not None:
        new_bias = new_bias + bias.to(acc)
    new_weight = weight.to(acc) * scale.to(acc).reshape([1, -1] + [1] * (weight.dim() - 2))
    return new_weight.to(weight.dtype), new_bias.to(weight.dtype)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """Max absolute difference relative to the largest reference magnitude (the tolerances' measure)."""
    expected = expected.detach().double()
    return ((actual.detach().double() - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()
