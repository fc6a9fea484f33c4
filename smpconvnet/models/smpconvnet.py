""" SMPConvNet: RepLKNet-style ImageNet backbones whose large depthwise kernels are self-moving point kernels

Paper: `Self-moving Point Representations for Continuous Convolution` (Kim & Park, CVPR 2023).
Original code: https://github.com/sangnekim/SMPConv (MIT). This implementation needs no CUDA extension,
loads the original checkpoints unchanged through ``checkpoint_filter_fn`` and re-parameterises exactly
for inference (``timm.utils.reparameterize_model`` or ``model.reparameterize()``): every SMP block becomes
a single static depthwise convolution with bias, and no BatchNorm or point-kernel parameter remains.

Layout (stage i of ``len(layers)``):
    stem: conv3x3/2-BN-ReLU, dw3x3-BN-ReLU, conv1x1-BN-ReLU, dw3x3/2-BN-ReLU
    stage i: [downsample: conv1x1-BN-ReLU, dw3x3/2-BN-ReLU, for i > 0], then layers[i] x (SMP block, FFN block)
    head: BN, global pool, linear
"""
import inspect
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath
from timm.models._builder import build_model_with_cfg
from timm.models._features import feature_take_indices
from timm.models._features_fx import register_notrace_function
from timm.models._manipulate import checkpoint_seq
from timm.models._registry import generate_default_cfgs, register_model

from ._args import (check_count_lists, check_counts, check_io_counts, check_odd_sizes, check_rates, check_ratios,
                    input_channels_words, select_adaptive_pool)
from ._checkpoint import (
    asked_for, check_deployed_fit, check_input_channels, has_batchnorm, in_chans_asked, is_deployed_state_dict,
    load_record, pooling_shown_by, record_loaded_classes, remember_create_args, settle_new_classifier, shape_hint,
    unwrap_state_dict, with_class_defaults)
from ..layers.conv_backends import KernelCache, PointwiseConv2d, depthwise_conv2d_same, depthwise_conv2d_same_pair
from ._pretrained import (check_pretrained_record, describe_weights, explain_missing_weights, file_overlay_first,
                          say_saved_weights, weight_source_cfg)
from ..layers.point_kernel import PointKernel, factory_kwargs_of
from ..layers.reparam import BATCHNORM_2D_TYPES, bn_scale_shift, fold_affine_before, fold_bn_after

__all__ = ['SMPConvNet', 'checkpoint_filter_fn', 'infer_config_from_checkpoint', 'deployed_model_args',
           'points_divide_for']

# torch.fx (torch.fx.symbolic_trace, torchvision's and timm's feature extraction) keeps these calls as leaves: what
# they choose (convolution backend per shape, memory format per device, input checks) depends on the input
for _leaf in ('check_input', 'channels_last_on_cpu', 'contiguous_on_cpu', 'depthwise_conv2d_same',
              'depthwise_conv2d_same_pair'):
    torch.fx.wrap(_leaf)

# input height and width must be multiples of the network stride (5 stride-2 layers)
NETWORK_STRIDE = 32


def _make_conv(in_chs: int, out_chs: int, kernel_size: int, stride: int, groups: int, bias: bool,
               device=None, dtype=None) -> nn.Conv2d:
    """A square 'same' conv; plain 1x1 convs use the GEMM form (same parameters, faster on the CPU)."""
    if kernel_size == 1 and stride == 1 and groups == 1:
        return PointwiseConv2d(in_chs, out_chs, bias=bias, device=device, dtype=dtype)
    return nn.Conv2d(in_chs, out_chs, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups,
                     bias=bias, device=device, dtype=dtype)


class ConvBnAct(nn.Module):
    """Conv (no bias) + BatchNorm + optional activation; ``reparameterize()`` folds the BN into the conv.

    Sub-module names ``conv`` / ``bn`` are those of the original checkpoints.
    """

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            kernel_size: int = 1,
            stride: int = 1,
            groups: int = 1,
            act_layer: Optional[Type[nn.Module]] = nn.ReLU,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.conv = _make_conv(in_chs, out_chs, kernel_size, stride, groups, bias=False, **dd)
        self.bn = nn.BatchNorm2d(out_chs, **dd)
        # in place: neither BN nor a conv needs its output for backward, and it saves a full-size write
        self.act = (act_layer(inplace=True) if act_layer is nn.ReLU else act_layer()) if act_layer is not None \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))

    @torch.no_grad()
    def reparameterize(self):
        if not isinstance(self.bn, BATCHNORM_2D_TYPES):
            return  # already folded
        weight, bias = fold_bn_after(self.conv.weight, self.conv.bias, self.bn)
        conv = _make_conv(
            self.conv.in_channels, self.conv.out_channels, self.conv.kernel_size[0], self.conv.stride[0],
            self.conv.groups, bias=True, device=weight.device, dtype=weight.dtype)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        self.conv = conv
        self.bn = nn.Identity()


def channels_last_on_cpu(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last memory format on the CPU, unchanged elsewhere (the stem's layout)."""
    return x.contiguous(memory_format=torch.channels_last) if x.device.type == 'cpu' else x


def contiguous_on_cpu(x: torch.Tensor) -> torch.Tensor:
    """``x`` back in contiguous NCHW on the CPU, unchanged elsewhere."""
    return x.contiguous() if x.device.type == 'cpu' else x


class Stem(nn.Sequential):
    """The stem's conv/BN/ReLU layers, run in channels-last memory format on the CPU.

    oneDNN's NCHW kernels for the 3-channel input conv and the depthwise 3x3 convs at 112x112 are slow;
    in channels-last the whole stem takes ~60% of the time (batch 8, 224 px, deployed: 59 vs 98 ms; training
    80 vs 118 ms at batch 4), conversions included. The output is contiguous NCHW again, as the stages expect.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_last_on_cpu(x)
        for layer in self:
            x = layer(x)
        return contiguous_on_cpu(x)


class ChannelAffine(nn.Module):
    """Per-channel ``x * weight + bias`` over dim 1: the deployed form of a BatchNorm with no conv to fold into."""

    def __init__(self, num_channels: int, device=None, dtype=None):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels, **dd))
        self.bias = nn.Parameter(torch.zeros(num_channels, **dd))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [1, -1] + [1] * (x.dim() - 2)
        return x * self.weight.reshape(shape) + self.bias.reshape(shape)

    @classmethod
    def from_bn(cls, bn: nn.modules.batchnorm._BatchNorm) -> 'ChannelAffine':
        scale, shift = bn_scale_shift(bn)
        module = cls(bn.num_features, device=scale.device, dtype=bn.running_var.dtype)  # (scale: float32 at least)
        with torch.no_grad():
            module.weight.copy_(scale)
            module.bias.copy_(shift)
        return module


class LargeKernelDepthwiseConv2d(nn.Conv2d):
    """A static depthwise 'same' convolution with bias, run by the fastest backend for its shape.

    The deployed form of an SMP large-kernel unit (point kernel, small kernel and both BNs merged). Where
    the kernel covers the whole feature map, the backend keeps the dense (HW x HW) Toeplitz matrices of this
    static kernel for the last input size, elsewhere the kernel's FFT spectrum (``kernel_cache``, a
    ``KernelCache``: checked against the weight's values at every call, never saved with the module). Under
    TorchScript it is a plain ``F.conv2d``.
    """

    def __init__(self, channels: int, kernel_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(
            channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=bias,
            device=device, dtype=dtype)
        self.kernel_cache = KernelCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            return F.conv2d(x, self.weight, self.bias, padding=self.padding, groups=self.groups)
        return self._forward_fast(x)

    @torch.jit.unused
    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        if torch.fx._symbolic_trace.is_fx_symbolic_tracing():
            # no cache in an fx graph (it is no graph value): the FFT spectrum is computed at every call there
            return depthwise_conv2d_same(x, self.weight, self.bias)
        cache = self.__dict__.get('kernel_cache')
        if not isinstance(cache, KernelCache):  # a module pickled by an earlier version kept a plain dict
            cache = self.kernel_cache = KernelCache()
        return depthwise_conv2d_same(x, self.weight, self.bias, cache=cache)


class SMPDepthwiseConv2d(nn.Module):
    """Depthwise 'same' convolution whose k x k kernel is sampled from a point kernel every forward.

    All channels share the points' coordinates and radii; each channel has its own point weights.
    """

    def __init__(self, channels: int, kernel_size: int, n_points: int, r_min: float = 1e-3, device=None, dtype=None):
        super().__init__()
        self.channels = channels
        self.kernel_size = kernel_size
        # the original's initial radius, 2 * (2 / kernel_size), clamped to r_max as its radii are (kernels under 4 taps)
        self.kernel = PointKernel(
            n_points, channels, 1, ndim=2, shared_coords=True,
            init_radius=min(2 * (2 / kernel_size), 1.), coord_std=0.2, weight_std=0.02, r_min=r_min, r_max=1.,
            device=device, dtype=dtype)

    def make_kernel(self, kernel_size: Optional[int] = None) -> torch.Tensor:
        """The ``[C, 1, k, k]`` weight this layer convolves with (any k: the kernel is continuous)."""
        k = self.kernel_size if kernel_size is None else kernel_size
        return self.kernel([k, k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_conv2d_same(x, self.make_kernel())


class SMPConvBn(nn.Module):
    """SMP depthwise conv + BN (original names ``conv`` / ``bn``)."""

    def __init__(self, channels: int, kernel_size: int, n_points: int, r_min: float = 1e-3, device=None, dtype=None):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.conv = SMPDepthwiseConv2d(channels, kernel_size, n_points, r_min=r_min, **dd)
        self.bn = nn.BatchNorm2d(channels, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SMPLargeKernel(nn.Module):
    """``BN(smp_conv_k(x)) + BN(dw_conv_5x5(x))``; ``fuse()`` returns the single equivalent depthwise conv."""

    def __init__(self, channels: int, kernel_size: int, n_points: int, small_kernel_size: int = 5,
                 r_min: float = 1e-3, device=None, dtype=None):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        if kernel_size % 2 == 0 or small_kernel_size % 2 == 0:
            raise ValueError(f'kernel sizes must be odd, got {kernel_size} and {small_kernel_size}')
        if small_kernel_size > kernel_size:
            raise ValueError(f'small_kernel_size ({small_kernel_size}) must not exceed kernel_size ({kernel_size})')
        self.kernel_size = kernel_size
        self.smp = SMPConvBn(channels, kernel_size, n_points, r_min=r_min, **dd)
        self.small_conv = ConvBnAct(channels, channels, small_kernel_size, groups=channels, act_layer=None, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            return self.smp(x) + self.small_conv(x)
        return self._forward_fast(x)

    @torch.jit.unused
    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        # both depthwise convs of x, each by its own backend (a forced 'fft' shares the transforms of x)
        large, small = depthwise_conv2d_same_pair(x, self.smp.conv.make_kernel(), self.small_conv.conv.weight)
        return self.smp.bn(large) + self.small_conv.act(self.small_conv.bn(small))

    @torch.no_grad()
    def fuse(self) -> LargeKernelDepthwiseConv2d:
        weight, bias = fold_bn_after(self.smp.conv.make_kernel(), None, self.smp.bn)
        small_weight, small_bias = fold_bn_after(self.small_conv.conv.weight, None, self.small_conv.bn)
        pad = (self.kernel_size - small_weight.shape[-1]) // 2
        weight = weight + F.pad(small_weight, [pad] * 4)
        conv = LargeKernelDepthwiseConv2d(
            weight.shape[0], self.kernel_size, device=weight.device, dtype=weight.dtype)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias + small_bias)
        return conv


class SMPBlock(nn.Module):
    """``x + drop_path(pw2(ReLU(large_kernel(pw1(norm(x))))))``."""

    def __init__(
            self,
            dim: int,
            dw_dim: int,
            kernel_size: int,
            n_points: int,
            small_kernel_size: int = 5,
            drop_path: float = 0.,
            r_min: float = 1e-3,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.norm = nn.BatchNorm2d(dim, **dd)
        self.pw1 = ConvBnAct(dim, dw_dim, 1, act_layer=nn.ReLU, **dd)
        self.large_kernel = SMPLargeKernel(dw_dim, kernel_size, n_points, small_kernel_size, r_min=r_min, **dd)
        self.act = nn.ReLU(inplace=True)
        self.pw2 = ConvBnAct(dw_dim, dim, 1, act_layer=None, **dd)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw2(self.act(self.large_kernel(self.pw1(self.norm(x)))))
        return x + self.drop_path(out)

    @torch.no_grad()
    def reparameterize(self):
        if isinstance(self.large_kernel, SMPLargeKernel):
            self.large_kernel = self.large_kernel.fuse()
        _fold_pre_norm(self)


class FFNBlock(nn.Module):
    """``x + drop_path(pw2(GELU(pw1(norm(x)))))`` with 1x1 convs."""

    def __init__(self, dim: int, hidden_dim: int, drop_path: float = 0., device=None, dtype=None):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.norm = nn.BatchNorm2d(dim, **dd)
        self.pw1 = ConvBnAct(dim, hidden_dim, 1, act_layer=None, **dd)
        self.act = nn.GELU()
        self.pw2 = ConvBnAct(hidden_dim, dim, 1, act_layer=None, **dd)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw2(self.act(self.pw1(self.norm(x))))
        return x + self.drop_path(out)

    @torch.no_grad()
    def reparameterize(self):
        _fold_pre_norm(self)


def _fold_pre_norm(block: Union[SMPBlock, FFNBlock]):
    """Fold a block's BNs: those after pw1 / pw2, and the pre-norm into pw1 (a 1x1 conv, so exact)."""
    block.pw1.reparameterize()
    block.pw2.reparameterize()
    if isinstance(block.norm, BATCHNORM_2D_TYPES):
        scale, shift = bn_scale_shift(block.norm)
        weight, bias = fold_affine_before(block.pw1.conv.weight, block.pw1.conv.bias, scale, shift)
        block.pw1.conv.weight.copy_(weight)
        block.pw1.conv.bias.copy_(bias)
        block.norm = nn.Identity()


class SMPStage(nn.Module):
    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            depth: int,
            kernel_size: int,
            n_points: int,
            small_kernel_size: int = 5,
            downsample: bool = True,
            dw_ratio: float = 1.,
            ffn_ratio: float = 4.,
            drop_path_rates: Optional[List[float]] = None,
            r_min: float = 1e-3,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.grad_checkpointing = False
        if downsample:
            self.downsample = nn.Sequential(
                ConvBnAct(in_chs, out_chs, 1, **dd),
                ConvBnAct(out_chs, out_chs, 3, stride=2, groups=out_chs, **dd),
            )
        else:
            self.downsample = nn.Identity()
        drop_path_rates = drop_path_rates or [0.] * depth
        blocks = []
        for i in range(depth):
            # one drop-path rate per (SMP, FFN) pair, as in the original
            blocks.append(SMPBlock(
                out_chs, int(out_chs * dw_ratio), kernel_size, n_points, small_kernel_size,
                drop_path=drop_path_rates[i], r_min=r_min, **dd))
            blocks.append(FFNBlock(out_chs, int(out_chs * ffn_ratio), drop_path=drop_path_rates[i], **dd))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            x = checkpoint_seq(self.blocks, x)
        else:
            x = self.blocks(x)
        return x


class SMPHead(nn.Module):
    """BN on the feature map, global pool, dropout, linear: ``[B, num_classes]``, or ``[B, num_classes, H, W]``
    without pooling (``pool_type=''``). In deployed form the BN is a ``ChannelAffine``."""

    def __init__(self, in_features: int, num_classes: int = 1000, pool_type: str = 'avg', drop_rate: float = 0.,
                 device=None, dtype=None):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.in_features = in_features
        self.num_features = in_features
        self.norm = nn.BatchNorm2d(in_features, **dd)
        self.global_pool = select_adaptive_pool(pool_type)
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(self.global_pool.feat_mult() * in_features, num_classes, **dd) \
            if num_classes > 0 else nn.Identity()

    def reset(self, num_classes: int, pool_type: Optional[str] = None):
        if pool_type is not None:
            self.global_pool = select_adaptive_pool(pool_type)
        # the new classifier on the head's device and in its dtype (a model built with device= / dtype=)
        self.fc = nn.Linear(
            self.global_pool.feat_mult() * self.in_features, num_classes, **factory_kwargs_of(self)) \
            if num_classes > 0 else nn.Identity()
        self.global_pool.train(self.training)
        self.fc.train(self.training)
        if isinstance(self.fc, nn.Linear):
            SMPConvNet._init_weights(self.fc)

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.norm(x)
        x = self.global_pool(x)
        x = self.drop(x)
        if pre_logits:
            return x
        if self.global_pool.is_identity():
            # no pooling (global_pool=''): the classifier at every location, [B, num_classes, H, W], as timm's
            # ConvNeXt head gives it (a Linear on the map's last axis, W, failed with a shape error)
            return self.fc(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.fc(x)

    @torch.no_grad()
    def reparameterize(self):
        # the head norm follows a residual sum, so there is no conv to fold it into
        if isinstance(self.norm, BATCHNORM_2D_TYPES):
            self.norm = ChannelAffine.from_bn(self.norm)


@register_notrace_function
def check_input(x: torch.Tensor, in_chans: int, strict_img_size: bool) -> torch.Tensor:
    """``x``, or a ``ValueError`` for input SMPConvNet cannot take (shape, channels, size); a leaf of torch.fx graphs.
    The models use what it returns, so torch.fx feature extractors (which drop the nodes their outputs do not use)
    keep the check."""
    if x.dim() != 4:
        raise ValueError(
            f'SMPConvNet expects a 4D image batch (N, {in_chans}, H, W), got a tensor of shape {list(x.shape)}')
    if x.shape[1] != in_chans:
        if x.shape[-1] == in_chans:  # channels last, as PIL / numpy give images: a layout, not a channel count
            raise ValueError(
                f'SMPConvNet was built for {input_channels_words(in_chans)}, got {x.shape[1]} (input shape '
                f'{list(x.shape)}: channels last?); pass x.permute(0, 3, 1, 2) (N, C, H, W)')
        raise ValueError(
            f'SMPConvNet was built for {input_channels_words(in_chans)}, got {x.shape[1]} '
            f'(input shape {list(x.shape)}); create the model with in_chans={x.shape[1]} to change it')
    if strict_img_size:
        stride = 32  # NETWORK_STRIDE, spelled out for TorchScript
        h, w = x.shape[2], x.shape[3]
        if h < stride or w < stride or h % stride != 0 or w % stride != 0:
            raise ValueError(
                f'SMPConvNet expects height and width that are multiples of {stride} and at least '
                f'{stride}, got {h}x{w}; resize or pad the input, or create the model with '
                f'strict_img_size=False to accept any size (feature maps then round up at every stride)')
    return x


class SMPConvNet(nn.Module):
    """SMPConvNet ImageNet backbone.

    Args:
        large_kernel_sizes: SMP kernel size per stage.
        layers: number of (SMP block, FFN block) pairs per stage.
        channels: width per stage.
        in_chans: input image channels.
        num_classes: classifier outputs (0 for no classifier).
        global_pool: head pooling type ('avg', 'max', 'avgmax', 'catavgmax', '' for none).
        drop_rate: dropout before the classifier.
        drop_path_rate: stochastic depth, linearly increasing over the (SMP, FFN) pairs.
        dw_ratio: width of the large-kernel branch relative to the stage width.
        ffn_ratio: FFN hidden width relative to the stage width.
        n_points_divide: points per SMP kernel are ``k * k // n_points_divide``.
        small_kernel_size: the parallel small depthwise kernel merged in at inference.
        r_min: lower bound of the point radii (the upper bound is 1).
        strict_img_size: reject inputs whose height or width is not a positive multiple of 32.
    """

    def __init__(
            self,
            large_kernel_sizes: Tuple[int, ...] = (31, 29, 27, 13),
            layers: Tuple[int, ...] = (2, 2, 8, 2),
            channels: Tuple[int, ...] = (96, 192, 384, 768),
            in_chans: int = 3,
            num_classes: int = 1000,
            global_pool: str = 'avg',
            drop_rate: float = 0.,
            drop_path_rate: float = 0.1,
            dw_ratio: float = 1.,
            ffn_ratio: float = 4.,
            n_points_divide: int = 4,
            small_kernel_size: int = 5,
            r_min: float = 1e-3,
            strict_img_size: bool = True,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        check_count_lists('stage', 4, large_kernel_sizes=large_kernel_sizes, layers=layers, channels=channels)
        num_stages = len(layers)
        if not (len(large_kernel_sizes) == len(channels) == num_stages) or num_stages == 0:
            raise ValueError(
                f'large_kernel_sizes, layers and channels need one entry per stage, got '
                f'{list(large_kernel_sizes)}, {list(layers)}, {list(channels)}')
        check_counts(small_kernel_size=small_kernel_size, n_points_divide=n_points_divide)
        check_odd_sizes(large_kernel_sizes=large_kernel_sizes, small_kernel_size=small_kernel_size)
        check_ratios(channels, dw_ratio=dw_ratio, ffn_ratio=ffn_ratio)
        check_rates(drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        in_chans, num_classes = check_io_counts(in_chans, num_classes)
        if not isinstance(strict_img_size, bool):  # (a string 'no' is truthy: the hint to pass False looped, trial 75b)
            raise ValueError(f'strict_img_size must be True or False, got {strict_img_size!r}')
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.strict_img_size = strict_img_size
        self.drop_rate = drop_rate
        self.large_kernel_sizes = list(large_kernel_sizes)
        self.n_points_divide = n_points_divide  # (a size hint reads a checkpoint's kernel sizes off its points)

        c0 = channels[0]
        self.stem = Stem(
            ConvBnAct(in_chans, c0, 3, stride=2, **dd),
            ConvBnAct(c0, c0, 3, groups=c0, **dd),
            ConvBnAct(c0, c0, 1, **dd),
            ConvBnAct(c0, c0, 3, stride=2, groups=c0, **dd),
        )
        # python floats, computed on the CPU whatever the default device (torch.device('meta') contexts included)
        dpr = [x.tolist() for x in torch.linspace(0, drop_path_rate, sum(layers), device='cpu').split(list(layers))]
        stages = []
        self.feature_info = []
        prev_chs = c0
        reduction = 4
        for i in range(num_stages):
            if i > 0:
                reduction *= 2
            k = large_kernel_sizes[i]
            stages.append(SMPStage(
                prev_chs, channels[i], layers[i], k, n_points=k * k // n_points_divide,
                small_kernel_size=small_kernel_size, downsample=i > 0, dw_ratio=dw_ratio, ffn_ratio=ffn_ratio,
                drop_path_rates=dpr[i], r_min=r_min, **dd))
            prev_chs = channels[i]
            self.feature_info.append(dict(num_chs=prev_chs, reduction=reduction, module=f'stages.{i}'))
        self.stages = nn.Sequential(*stages)
        self.num_features = prev_chs
        self.head = SMPHead(prev_chs, num_classes, pool_type=global_pool, drop_rate=drop_rate, **dd)
        # the width of forward_head(pre_logits=True): 'catavgmax' doubles it (timm's ResNet sets it so too)
        self.head_hidden_size = self.num_features * self.head.global_pool.feat_mult()
        self.apply(self._init_weights)

    @staticmethod
    @torch.no_grad()
    def _init_weights(m: nn.Module):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            # the original's trunc_normal_(std=.02) truncates at +-2, i.e. 100 std: the same distribution as
            # a clamped normal, which is ~20x faster to draw (erfinv dominates model construction otherwise)
            nn.init.normal_(m.weight, std=.02).clamp_(-2., 2.)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        return dict(
            stem=r'^stem',
            blocks=r'^stages\.(\d+)' if coarse else [
                (r'^stages\.(\d+)\.downsample', (0,)),
                (r'^stages\.(\d+)\.blocks\.(\d+)', None),
                (r'^head\.norm', (99999,)),
            ]
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        for s in self.stages:
            s.grad_checkpointing = enable

    @torch.jit.ignore
    def no_weight_decay(self) -> set:
        """Point radii and coordinates get no weight decay, as in the original ImageNet recipe (its optimizer
        puts ``radius`` and ``weight_coord`` in the no-decay group): decay would pull points to the kernel
        centre and shrink radii, fighting the very movement the method relies on."""
        return {n for n, _ in self.named_parameters() if n.endswith(('.kernel.radius', '.kernel.coords'))}

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.head.reset(num_classes, global_pool)  # (first: a bad global_pool leaves the model as it was)
        self.num_classes = num_classes
        self.head_hidden_size = self.num_features * self.head.global_pool.feat_mult()

    @torch.no_grad()
    def reparameterize(self) -> 'SMPConvNet':
        """Convert to the deployed form in place (see the module docstring); returns self."""
        for name, module in list(self.named_modules()):
            if isinstance(module, (SMPBlock, FFNBlock, ConvBnAct, SMPHead)):
                module.reparameterize()
        return self

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = 'NCHW',
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Forward returning the outputs of the selected stages.

        Args:
            x: input images.
            indices: last n stages if int, all if None, those listed if a sequence.
            norm: apply the head norm to the last stage's output when it is taken.
            stop_early: stop after the last stage needed.
            output_fmt: only 'NCHW'.
            intermediates_only: return only the intermediates.
        """
        if output_fmt != 'NCHW':
            # (no f-string: TorchScript compiles this method in a scripted features_only model)
            raise ValueError("SMPConvNet intermediates are NCHW only, got output_fmt='" + output_fmt + "'")
        x = check_input(x, self.in_chans, self.strict_img_size)
        intermediates = []
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        last_idx = len(self.stages) - 1

        x = self.stem(x)
        if torch.jit.is_scripting() or not stop_early:
            stages = self.stages
        else:
            stages = self.stages[:max_index + 1]
        feat_idx = 0
        for feat_idx, stage in enumerate(stages):
            x = stage(x)
            if feat_idx in take_indices:
                if norm and feat_idx == last_idx:
                    intermediates.append(self.head.norm(x))
                else:
                    intermediates.append(x)
        if intermediates_only:
            return intermediates
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        """Drop the stages (and head parts) not needed for the given intermediates."""
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        prune_end = max_index < len(self.stages) - 1
        self.stages = self.stages[:max_index + 1]
        if prune_end:
            self.num_features = self.feature_info[max_index]['num_chs']
            self.head_hidden_size = self.num_features * self.head.global_pool.feat_mult()
            self.feature_info = self.feature_info[:max_index + 1]
        if prune_norm or prune_end:
            self.head.norm = nn.Identity()  # sized for, and applied to, the last stage only
        if prune_head or prune_end:
            self.head.in_features = self.num_features
            self.reset_classifier(0, '')
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last stage output (before the head norm), NCHW."""
        x = check_input(x, self.in_chans, self.strict_img_size)
        x = self.stem(x)
        x = self.stages(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=True) if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = self.forward_head(x)
        return x


# ---------------------------------------------------------------------------------------------------------
# Original checkpoints


def _unwrap_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    return unwrap_state_dict(checkpoint, 'an SMPConvNet state dict')


# the original code's kernel grid buffer, one per large-kernel block (checked, then dropped by the conversion)
ORIGINAL_GRID_SUFFIX = '.large_kernel.smp.conv.kernel_coord'


def is_original_layout(state_dict: Dict[str, torch.Tensor]) -> bool:
    return any(k.startswith('transitions.') or k.endswith('.weight_coord') or k == 'head.weight'
               for k in state_dict)


def stages_without_grids_words(config: Dict[str, Any]) -> str:
    """'none in stage 0' / 'none in stages 1, 3': the stages of ``infer_config_from_checkpoint``'s config whose
    original-layout kernel_coord grids are missing ('' where none is named)."""
    without = config.get('stages_without_grids') or []
    return f"none in stage{'s' if len(without) > 1 else ''} {', '.join(map(str, without))}" if without else ''


def infer_config_from_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """Architecture of a state dict, original or converted layout: channels, layers, kernel sizes (original
    layout only: a converted point kernel can be sampled at any size), n_points per stage, num_classes, in_chans;
    ``stages_without_grids`` (stage indices) where the original layout's grids are in some stages only."""
    state_dict = _unwrap_checkpoint(checkpoint)
    if is_original_layout(state_dict):
        state_dict = remap_original_keys(state_dict, rotate=False)
    if 'stem.0.conv.weight' not in state_dict:
        raise ValueError('not an SMPConvNet checkpoint: it has no stem.0.conv.weight')
    stages: Dict[int, Dict[str, Any]] = {}
    block_re = re.compile(r'^stages\.(\d+)\.blocks\.(\d+)\.')
    for k, v in state_dict.items():
        m = block_re.match(k)
        if m is None:
            continue
        s, b = int(m.group(1)), int(m.group(2))
        stage = stages.setdefault(s, dict(blocks=set()))
        stage['blocks'].add(b)
        if k.endswith('large_kernel.smp.conv.kernel.weights'):
            stage['channels_dw'] = v.shape[0]
            stage['n_points'] = v.shape[-1]
            stage.setdefault('kernel_blocks', set()).add(b)
        elif k.endswith(ORIGINAL_GRID_SUFFIX):
            _check_grid_shape(k, v)
            grids = stage.setdefault('grids', {})  # block -> (key, size)
            first, size = next(iter(grids.values()), (k, v.shape[-1]))
            if size != v.shape[-1]:  # the original gives every block of a stage one kernel size
                raise ValueError(f'{k}: a {v.shape[-1]}x{v.shape[-1]} kernel grid, but {first} of the same stage is '
                                 f'{size}x{size}: the original gives every block of a stage one kernel size')
            grids[b] = (k, size)
        elif k.endswith('.pw1.conv.weight') and b == 0:
            stage['channels'] = v.shape[1]
    for stage in stages.values():
        for b, (k, _) in stage.get('grids', {}).items():
            if b not in stage.get('kernel_blocks', ()):
                # a stray grid would count a block (and a stage) the checkpoint does not have
                raise ValueError(f'{k}: a kernel grid of a block without an SMP kernel (the checkpoint has no point '
                                 'weights for that block)')
    order = sorted(stages)
    if order != list(range(len(order))) or not order:
        raise ValueError(f'not an SMPConvNet checkpoint: stage indices {order}')
    config = dict(
        channels=[stages[s].get('channels') for s in order],
        layers=[len(stages[s]['blocks']) // 2 for s in order],
        n_points=[stages[s].get('n_points') for s in order],
        in_chans=state_dict['stem.0.conv.weight'].shape[1],
        num_classes=state_dict['head.fc.weight'].shape[0] if 'head.fc.weight' in state_dict else 0,
    )
    without = [s for s in order if 'grids' not in stages[s]]
    if not without:
        config['large_kernel_sizes'] = [next(iter(stages[s]['grids'].values()))[1] for s in order]
    elif len(without) < len(order):
        config['stages_without_grids'] = without  # the original saves a grid per block: a partial file is named so
    return config


def remap_original_keys(state_dict: Dict[str, torch.Tensor], rotate: bool = True) -> Dict[str, torch.Tensor]:
    """Original key layout -> this implementation's (see ``checkpoint_filter_fn``)."""
    out = {}
    for k, v in state_dict.items():
        k = re.sub(r'^transitions\.(\d+)\.', lambda m: f'stages.{int(m.group(1)) + 1}.downsample.', k)
        k = k.replace('.prelkb_bn.', '.norm.').replace('.preffn_bn.', '.norm.')
        if k.startswith('norm.'):
            k = 'head.' + k
        elif k in ('head.weight', 'head.bias'):
            k = k.replace('head.', 'head.fc.')
        if k.endswith('.smp.conv.weight_coord'):
            k = k.replace('.weight_coord', '.kernel.coords')
            if rotate:
                # original kernels are sampled transposed and flipped (W[u, v] = K(g[v], -g[u])); rotating the
                # coordinates by 90 degrees, (x0, x1) -> (-x1, x0), gives the same tensor in this module's
                # orientation (W[u, v] = K(g[u], g[v])). L1 distances, hence radii, are unchanged.
                v = torch.stack([-v[..., 1], v[..., 0]], dim=-1)
        elif k.endswith('.smp.conv.radius'):
            k = k.replace('.radius', '.kernel.radius')
            v = v.reshape(v.shape[0], v.shape[1])
        elif k.endswith('.smp.conv.weights'):
            k = k.replace('.weights', '.kernel.weights')
            v = v.reshape(v.shape[1], 1, v.shape[2])
        out[k] = v
    return out


def _check_grid_shape(key: str, grid: torch.Tensor):
    if grid.dim() != 4 or tuple(grid.shape[:2]) != (1, 2) or grid.shape[-2] != grid.shape[-1] or grid.shape[-1] < 1:
        raise ValueError(f"{key}: expected the original's kernel grid of shape [1, 2, k, k], got {list(grid.shape)}")


def check_kernel_coord_grids(state_dict: Dict[str, torch.Tensor]) -> None:
    """Check that every ``kernel_coord`` grid buffer of an original-layout state dict is the original's:
    ``[1, 2, k, k]``, ``stack(meshgrid(linspace(-1, 1, k), linspace(-1, 1, k), indexing='ij'))`` (the original SMPConv
    code's buffer, as in ``tests/fixtures``). The conversion drops the grids and samples the points on that grid, so a
    checkpoint saved with another one would convert to other kernels.

    A copy in the file's precision is accepted: the grid may differ from the exact one by up to half the machine
    epsilon of its dtype (rounding moves a value in [-1, 1] by at most a quarter of it: 2.4e-4 in float16, 2.0e-3 in
    bfloat16), at least 1e-6 (a float32 grid upcast to float64); a tap spacing is 2 / (k - 1), 0.067 at 31 taps. A
    dtype whose tolerance would exceed a quarter of a tap spacing (float8) is refused: it cannot tell the grids apart.

    Raises:
        ValueError: a grid of another shape or other values, naming its key and the largest difference."""
    for key, grid in state_dict.items():
        if not key.endswith(ORIGINAL_GRID_SUFFIX):
            continue
        _check_grid_shape(key, grid)
        k = grid.shape[-1]
        axis = torch.linspace(-1., 1., k, dtype=torch.float64)
        expected = torch.stack(torch.meshgrid(axis, axis, indexing='ij')).unsqueeze(0)
        atol = max(torch.finfo(grid.dtype).eps / 2, 1e-6) if grid.is_floating_point() else 1e-6
        if k > 1 and atol > 0.5 / (k - 1):
            # a tolerance over a quarter of a tap spacing (2 / (k - 1)) would let a shifted grid pass (float8)
            raise ValueError(
                f'{key}: a {grid.dtype} grid of a {k}x{k} kernel cannot be checked: its precision ({atol:.2g}) is more '
                f'than a quarter of the tap spacing ({2 / (k - 1):.2g}), so another grid would pass for the '
                "original's; convert a float32, float16 or bfloat16 copy of the checkpoint")
        err = (grid.detach().to('cpu', torch.float64) - expected).abs().max().item()
        if not err <= atol:  # NaN fails too
            dtype = f' in {grid.dtype}' if grid.is_floating_point() else ''  # an int grid has no rounding
            raise ValueError(
                f"{key}: not the original's grid of a {k}x{k} kernel (meshgrid of linspace(-1, 1, {k}), 'ij'): it "
                f'differs by up to {err:.3g} (accepted{dtype}: {atol:.2g}). The conversion samples the '
                'points on that grid, so this checkpoint would give other kernels than the code that saved it (was '
                'it saved by the original SMPConv code?)')


def original_key(key: str) -> str:
    """The original layout's name of this implementation's state-dict ``key`` (the inverse of
    ``remap_original_keys``' renaming; the ``kernel_coord`` grids have no counterpart), for messages that name what a
    checkpoint in the authors' layout holds or lacks."""
    k = re.sub(r'^stages\.(\d+)\.downsample\.', lambda m: f'transitions.{int(m.group(1)) - 1}.', key)
    # each stage alternates a large-kernel block (even index, its norm prelkb_bn) and a ConvFFN (odd, preffn_bn)
    k = re.sub(r'^(stages\.\d+\.blocks\.(\d+))\.norm\.',
               lambda m: f"{m.group(1)}.{'prelkb_bn' if int(m.group(2)) % 2 == 0 else 'preffn_bn'}.", k)
    if k.startswith('head.norm.'):
        k = k[len('head.'):]
    elif k in ('head.fc.weight', 'head.fc.bias'):
        k = k.replace('head.fc.', 'head.')
    for new, old in (('.kernel.coords', '.weight_coord'), ('.kernel.radius', '.radius'),
                     ('.kernel.weights', '.weights')):
        if k.endswith(new) and '.smp.conv.' in k:
            k = k[:-len(new)] + old
    return k


def kernel_sizes_for_points(n_points: Optional[Sequence[Optional[int]]], divide: int = 4) -> Optional[List[int]]:
    """The large kernel size of each stage whose point kernels have ``n_points`` points with ``n_points_divide``
    ``divide`` (a kernel of size k has ``k * k // divide`` points, ``SMPConvNet``), or None where it cannot be told:
    a stage without point kernels (a deployed state dict), a count no odd size gives, or one that two odd sizes give
    (with a divisor above 4, small kernels can share a count: 9 and 11 both give 1 point with 64).
    """
    if not n_points or any(n is None for n in n_points):
        return None
    sizes = []
    for n in n_points:
        # k * k // divide == n needs n * divide <= k * k < (n + 1) * divide: the odd k in that range
        fits = [k for k in range(1, math.isqrt((n + 1) * divide) + 2, 2) if k * k // divide == n]
        if len(fits) != 1:
            return None
        sizes.append(fits[0])
    return sizes


def points_divide_for(kernel_sizes: Sequence[int], n_points: Sequence[int]) -> Optional[int]:
    """The ``n_points_divide`` d with ``k * k // d`` points per kernel of size k, for every stage, or None: the
    architectures' default (4) first, then the smallest (a small kernel can fit several divisors, all giving the same
    model)."""
    for d in [4] + list(range(1, 257)):
        if all(k * k // d == n for k, n in zip(kernel_sizes, n_points)):
            return d
    return None


def _width_ratios(state_dict: Dict[str, torch.Tensor]) -> Dict[str, float]:
    # dw_ratio and ffn_ratio as the first stage's 1x1 convolutions tell them (an SMP block's, then an FFN block's)
    channels = state_dict['stem.0.conv.weight'].shape[0]
    ratios = {}
    for name, block in (('dw_ratio', 0), ('ffn_ratio', 1)):
        w = state_dict.get(f'stages.0.blocks.{block}.pw1.conv.weight')
        if w is not None:
            ratios[name] = w.shape[0] / channels
    return ratios


# a size hint's pooling: the model's, which no shape tells, unless the classifier's input shows it ('catavgmax')
_POOL_UNTOLD = "its pooling they do not: this model's global_pool"
_POOL_SHOWN = "its pooling too: 'catavgmax' doubles the classifier's input"


def _pool_words(args: Dict[str, Any]) -> str:
    return _POOL_SHOWN if args.get('global_pool') == 'catavgmax' else _POOL_UNTOLD


def _model_pool(model: nn.Module) -> str:
    return getattr(getattr(model.head, 'global_pool', None), 'pool_type', 'avg')


def deployed_model_args(state_dict: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """The ``timm.create_model`` arguments of ``smpconvnet_t`` that a deployed (``reparameterize``d) SMPConvNet state
    dict's shapes tell: ``layers``, ``channels``, ``large_kernel_sizes`` (a stage's first block's static kernel),
    ``in_chans``, ``num_classes``, ``dw_ratio`` / ``ffn_ratio``, and ``small_kernel_size`` where the default would not
    fit inside a static kernel (the small kernel is merged into it: any size that fits gives the same weights). The
    trained form they build, re-parameterised, takes the state dict strictly; its pooling no shape tells except
    timm's ``'catavgmax'``, which doubles the classifier's input.

    Raises:
        ValueError: not an SMPConvNet state dict (``infer_config_from_checkpoint``).
    """
    config = infer_config_from_checkpoint(state_dict)
    kernels = [state_dict[f'stages.{i}.blocks.0.large_kernel.weight'].shape[-1] for i in range(len(config['layers']))]
    args = dict(layers=list(config['layers']), channels=list(config['channels']), large_kernel_sizes=kernels,
                in_chans=config['in_chans'], num_classes=config['num_classes'])
    small = inspect.signature(SMPConvNet).parameters['small_kernel_size'].default
    if min(kernels) < small:  # (any fits: merged into the static kernels, but not larger than they)
        args['small_kernel_size'] = min(kernels)
    args.update(_width_ratios(state_dict))
    pool = pooling_shown_by(state_dict.get('head.fc.weight'), config['channels'][-1])
    if pool:
        args['global_pool'] = pool
    return args


def _deployed_shape_args(state_dict: Dict[str, torch.Tensor], model: nn.Module) -> str:
    # the size hint of a deployed state dict: the arguments its shapes tell, and the model's pooling where they do not
    args = deployed_model_args(state_dict)
    args['global_pool'] = args.get('global_pool') or _model_pool(model)
    return shape_hint(args, _pool_words(args))


def _describe(config: Dict[str, Any], more: str = '') -> str:
    # channels and layers, named after the registered size they are; ``more``: ', key=value' of other arguments
    for name, cfg in ARCH_CONFIGS.items():
        if list(cfg['channels']) == config['channels'] and list(cfg['layers']) == config['layers']:
            return f"{name} (channels {config['channels']}, layers {config['layers']}{more})"
    return f"channels {config['channels']}, layers {config['layers']}{more}"


def _arguments_that_fit(state_dict: Dict[str, torch.Tensor], ckpt_cfg: Dict[str, Any], model_cfg: Dict[str, Any],
                        model: nn.Module, model_sd: Dict[str, torch.Tensor],
                        original: bool) -> Tuple[Dict[str, Any], Dict[str, Any], str]:
    # the architecture arguments whose values the checkpoint's shapes tell and the model's differ from (channels and
    # layers both where either differs; kernel sizes from the original's grids, else from the point counts with the
    # model's n_points_divide), the model's values of the others, and a clause where the point counts differ and fit
    # no odd kernel size
    fit: Dict[str, Any] = {}
    own: Dict[str, Any] = {}
    if ckpt_cfg['channels'] != model_cfg['channels'] or ckpt_cfg['layers'] != model_cfg['layers']:
        fit.update(channels=ckpt_cfg['channels'], layers=ckpt_cfg['layers'])
    kernels = ckpt_cfg.get('large_kernel_sizes') if original else kernel_sizes_for_points(
        ckpt_cfg.get('n_points'), model.n_points_divide)
    if kernels not in (None, list(model.large_kernel_sizes)):
        fit['large_kernel_sizes'], own['large_kernel_sizes'] = kernels, list(model.large_kernel_sizes)
    points = ckpt_cfg.get('n_points') or []
    inferred = False
    if original and kernels is not None and all(points):
        # the original's grids give its kernel sizes: its counts give its divisor exactly (trial 66: a file of
        # n_points_divide=8 was told the channels and layers alone, and the hint failed on the point counts)
        divide = points_divide_for(kernels, points)
        if divide is None:
            fit['SMP points per stage'] = points
            own['SMP points per stage'] = infer_config_from_checkpoint(model_sd)['n_points']
        elif divide != model.n_points_divide:
            fit['n_points_divide'], own['n_points_divide'] = divide, model.n_points_divide
    elif kernels is None and all(points):  # (the model's counts read only then: this runs on every load)
        model_points = infer_config_from_checkpoint(model_sd)['n_points']
        # counts that fit no odd size with the model's n_points_divide: the divisor that gives them with the model's
        # kernel sizes (counts alone cannot tell both; a hint without it was refused again, trial 65), else said
        divide = points_divide_for(model.large_kernel_sizes, points)
        if points != model_points and divide is not None:
            fit['n_points_divide'], own['n_points_divide'] = divide, model.n_points_divide
            inferred = True
        elif points != model_points:
            fit['SMP points per stage'], own['SMP points per stage'] = points, model_points  # (said, no argument)
    small = next((v.shape[-1] for k, v in state_dict.items() if k.endswith('small_conv.conv.weight')), None)
    model_small = next(v.shape[-1] for k, v in model_sd.items() if k.endswith('small_conv.conv.weight'))
    if small is not None and small != model_small:
        fit['small_kernel_size'], own['small_kernel_size'] = small, model_small
    model_ratios = _width_ratios(model_sd)
    for k, v in _width_ratios(state_dict).items():
        if v != model_ratios.get(k):
            fit[k], own[k] = v, model_ratios.get(k)
    # (counts that fit nothing: the hint leads with them, trial 65b found it led with the pooling alone)
    clause = '' if 'SMP points per stage' not in fit else (
        f"its SMP kernels' point counts fit its kernel_coord grids' sizes {kernels} with no n_points_divide "
        f"(k * k // n_points_divide): the original code saves no such file; load the checkpoint as it saved it"
        if original else
        f"its SMP kernels' point counts fit no odd kernel size with n_points_divide={model.n_points_divide} "
        f"(k * k // n_points_divide) nor this model's kernel sizes with another divisor: pass the large_kernel_sizes "
        f"and n_points_divide it was trained with")
    if inferred:  # (trial 65 found a file of other sizes whose counts it fitted)
        clause += (f"; n_points_divide={fit['n_points_divide']} is read off its point counts with this model's "
                   f"large_kernel_sizes {list(model.large_kernel_sizes)} (k * k // n_points_divide): other kernel "
                   f"sizes with the same counts load too and give other kernels, so pass the ones it was trained "
                   f"with if they differ")
    return fit, own, clause


def checkpoint_filter_fn(state_dict: Dict[str, Any], model: SMPConvNet) -> Dict[str, torch.Tensor]:
    """Accept original SMPConv ImageNet checkpoints (and this package's own) for ``model``.

    Original layout -> this one: ``transitions.i`` -> ``stages.{i+1}.downsample``, ``prelkb_bn`` / ``preffn_bn``
    -> ``norm``, ``norm`` -> ``head.norm``, ``head`` -> ``head.fc``, SMP ``weight_coord`` / ``radius`` / ``weights``
    -> ``kernel.coords`` (rotated to this module's kernel orientation) / ``kernel.radius`` / ``kernel.weights``,
    the ``kernel_coord`` grid buffers dropped (one size per stage, checked against the model; their values against the
    original's grid: ``check_kernel_coord_grids``). Wrappers
    (``{'model': ...}``, ``{'model_ema': ...}``, ``{'state_dict': ...}``) and ``module.`` prefixes are removed.
    A checkpoint of another architecture raises a ``ValueError`` naming both.

    A deployed state dict (``smpconvnet reparam``: ``large_kernel.weight`` static kernels, no point kernel or
    BatchNorm) re-parameterises ``model`` in place so that it loads strictly: timm's ``local-dir:`` / ``hf-hub:``
    loading of a deployed folder gives the deployed model.
    """
    state_dict = _unwrap_checkpoint(state_dict)
    if is_deployed_state_dict(state_dict, '.large_kernel.weight'):
        if has_batchnorm(model):
            model.reparameterize()
        fitted = check_deployed_fit(
            state_dict, model, ('head.fc.weight', 'head.fc.bias', 'stem.0.conv.weight'),
            f'create the model with the architecture it was deployed from: {_deployed_shape_args(state_dict, model)}')
        check_input_channels(fitted, model.state_dict(), 'stem.0.conv.weight', 'head.fc.weight')  # (after the sizes)
        return fitted
    original = is_original_layout(state_dict)
    if original:
        # their shapes and sizes (one per stage) are read by infer_config_from_checkpoint below, their values
        # checked once the architecture fits
        grids = {k: v for k, v in state_dict.items() if k.endswith(ORIGINAL_GRID_SUFFIX)}
        state_dict = remap_original_keys(state_dict)

    model_sd = model.state_dict()
    ckpt_cfg = infer_config_from_checkpoint(state_dict)
    model_cfg = dict(
        channels=[s.blocks[0].pw1.conv.in_channels for s in model.stages],
        layers=[len(s.blocks) // 2 for s in model.stages])
    fit, own, points = _arguments_that_fit(state_dict, ckpt_cfg, model_cfg, model, model_sd, original)
    if fit:
        # every argument the checkpoint needs, so the hint works as printed (timm.create_model(checkpoint_path=)
        # loads strictly: the classifier and first conv must fit too); those other than channels and layers are said
        # on both sides (a file of dw_ratio=2 was described as the very model it did not fit)
        def others(values):
            return ''.join(f', {k}={v!r}' if k.isidentifier() else f', {k} {v}' for k, v in values.items())
        told = {k: fit[k] for k in own}
        fit.pop('SMP points per stage', None)  # (no argument: the clause says what to pass)
        fit['global_pool'] = (pooling_shown_by(state_dict.get('head.fc.weight'), ckpt_cfg['channels'][-1])
                              or _model_pool(model))
        if ckpt_cfg['num_classes'] != model.num_classes:
            fit['num_classes'] = ckpt_cfg['num_classes']
        if ckpt_cfg['in_chans'] != model.stem[0].conv.in_channels:
            fit['in_chans'] = ckpt_cfg['in_chans']
        hint = shape_hint(fit, _pool_words(fit))
        if 'SMP points per stage' in told:
            # (the pooling alone is the model's own: nothing to add to the sizes and divisor)
            alone = set(fit) == {'global_pool'} and fit['global_pool'] == _model_pool(model)
            hint = points if alone else f'{points}, and {hint}'
        elif points:
            hint += points
        raise ValueError(
            f'checkpoint is {_describe(ckpt_cfg, others(told))}, but the model is {_describe(model_cfg, others(own))}'
            f'; create the model that matches the checkpoint: {hint}')
    head, pool = state_dict.get('head.fc.weight'), _model_pool(model)
    if head is not None and head.dim() == 2 and isinstance(model.head.fc, nn.Linear) and ('catavgmax' == pool) != (
            pooling_shown_by(head, ckpt_cfg['channels'][-1]) == 'catavgmax'):
        # the one pooling the classifier's width shows (torch's size mismatch of head.fc named no argument: trial 75b)
        want = ("global_pool='catavgmax'" if pool != 'catavgmax' else
                "global_pool='avg' (or 'max' / 'avgmax': its shapes do not tell them apart)")
        raise ValueError(
            f"checkpoint classifier reads {head.shape[1]} features of its {ckpt_cfg['channels'][-1]} channels, the "
            f"model's {model.head.fc.in_features} (global_pool={pool!r}); create the model with {want}")
    if original:
        ckpt_kernels = ckpt_cfg.get('large_kernel_sizes')
        if ckpt_kernels is None:
            raise ValueError('checkpoint in the original layout without a large_kernel.smp.conv.kernel_coord grid in '
                             'every stage' + (f' ({stages_without_grids_words(ckpt_cfg)})'
                                              if ckpt_cfg.get('stages_without_grids') else '')
                             + ': its kernel sizes cannot be told, and a wrong size would give other kernels '
                             'silently (the original code saves a grid in every block: this file was changed since; '
                             'load the checkpoint as the original code saved it)')
        check_kernel_coord_grids(grids)  # (their sizes against the model's: _arguments_that_fit)
    # the classifier (num_classes change) and the first conv (in_chans change) are adapted by timm after this, the
    # first conv only where in_chans= asked for it
    check_input_channels(state_dict, model_sd, 'stem.0.conv.weight', 'head.fc.weight')
    skip = ('head.fc.weight', 'head.fc.bias', 'stem.0.conv.weight')
    for k, v in state_dict.items():
        if k in model_sd and k not in skip and model_sd[k].shape != v.shape:
            # named as the file names it (an original checkpoint's keys are renamed above)
            name = f"{original_key(k)} (this package's {k})" if original and original_key(k) != k else k
            raise ValueError(
                f'checkpoint tensor {name} has shape {list(v.shape)}, the model expects {list(model_sd[k].shape)} '
                f'(checkpoint: {_describe(ckpt_cfg)}; model: {_describe(model_cfg)})')
    # only the original's grids: another key named so is the strict load's unexpected key
    return {k: v for k, v in state_dict.items() if not k.endswith(ORIGINAL_GRID_SUFFIX)}


# ---------------------------------------------------------------------------------------------------------
# Registry

ARCH_CONFIGS = {
    'smpconvnet_t': dict(
        large_kernel_sizes=(31, 29, 27, 13), layers=(2, 2, 8, 2), channels=(96, 192, 384, 768), drop_path_rate=0.1),
    'smpconvnet_b': dict(
        large_kernel_sizes=(31, 29, 27, 13), layers=(2, 2, 20, 2), channels=(128, 256, 512, 1024),
        drop_path_rate=0.5),
}


# arguments that change a trained SMPConvNet's outputs and need not change a parameter's shape (its points are
# sampled at any kernel size: only their number follows it; 'avg' / 'max' / 'avgmax' pooling): weights recorded with
# other values are refused (check_recorded_architecture)
SHAPE_BLIND_ARGS = ('large_kernel_sizes', 'global_pool')
# the recorded arguments checked against the model's (check_recorded_architecture): with the radius bound, which the
# kernels read their radii clamped to (radii trained below a larger bound would be clamped silently)
RECORD_CHECKED_ARGS = SHAPE_BLIND_ARGS + ('r_min',)


def _create_smpconvnet(variant: str, pretrained: bool = False, **kwargs) -> SMPConvNet:
    kwargs = file_overlay_first(variant, pretrained, kwargs)
    model_args = dict(ARCH_CONFIGS[variant], **kwargs)
    check_pretrained_record(variant, pretrained, kwargs,
                            with_class_defaults(SMPConvNet, model_args, RECORD_CHECKED_ARGS), RECORD_CHECKED_ARGS)
    # a failure to find the weights says where they were looked for and how to get them
    with explain_missing_weights(variant, pretrained, kwargs, SHAPE_BLIND_ARGS), \
            in_chans_asked(asked_for('in_chans', kwargs)), load_record() as loaded:
        model = build_model_with_cfg(
            SMPConvNet, variant, pretrained,
            pretrained_filter_fn=record_loaded_classes(checkpoint_filter_fn, bool(kwargs.get('features_only'))),
            feature_cfg=dict(out_indices=(0, 1, 2, 3), feature_cls='getter'),
            **model_args,
        )
    settle_new_classifier(model, loaded)  # (timm's train.py --pretrained-path)
    return describe_weights(say_saved_weights(remember_create_args(model, kwargs), pretrained, kwargs), pretrained,
                            kwargs, weights_chans=loaded.weights_chans, new_classifier=loaded.new_classifier)


def _cfg(url: str = '', **kwargs) -> Dict[str, Any]:
    return {
        'url': url,
        'num_classes': 1000, 'input_size': (3, 224, 224), 'pool_size': (7, 7),
        'crop_pct': 0.875, 'interpolation': 'bicubic',
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'stem.0.conv', 'classifier': 'head.fc',
        'license': 'mit',
        'paper_name': 'SMPConv: Self-moving Point Representations for Continuous Convolution',
        'origin_url': 'https://github.com/sangnekim/SMPConv',
        **kwargs,
    }


# ImageNet-1k weights of the paper (the authors' release converted by `smpconvnet convert`), on the Hub under
# the namespace of smpconvnet.models._pretrained (SMPCONVNET_HUB_NAMESPACE); smpconvnet/pretrained/<model>.<tag>/ holds their model cards
default_cfgs = generate_default_cfgs({
    # not published yet: the authors' release could not be fetched from this project's machines (see the cards)
    'smpconvnet_t.in1k': _cfg(**weight_source_cfg('smpconvnet_t', 'in1k', published=False)),
    'smpconvnet_b.in1k': _cfg(**weight_source_cfg('smpconvnet_b', 'in1k', published=False)),
})


@register_model
def smpconvnet_t(pretrained: bool = False, **kwargs) -> SMPConvNet:
    """SMPConvNet-T: 26.7M parameters, kernels 31/29/27/13, ImageNet-1k top-1 82.5 (paper)."""
    return _create_smpconvnet('smpconvnet_t', pretrained=pretrained, **kwargs)


@register_model
def smpconvnet_b(pretrained: bool = False, **kwargs) -> SMPConvNet:
    """SMPConvNet-B: 79.5M parameters, kernels 31/29/27/13, ImageNet-1k top-1 83.8 (paper)."""
    return _create_smpconvnet('smpconvnet_b', pretrained=pretrained, **kwargs)
