""" SMP-ResNet: the paper's CIFAR-10 ResNet whose full (not depthwise) 33x33 kernels are self-moving point kernels

Paper: `Self-moving Point Representations for Continuous Convolution` (Kim & Park, CVPR 2023), CIFAR-10
experiment (93.00 % top-1, 490k parameters). Original code: https://github.com/sangnekim/SMPConv (MIT,
``smp/models/ckresnet.py``); original checkpoints load unchanged through ``checkpoint_filter_fn``.

Layout (no downsampling: every layer runs at the input resolution, the 33x33 kernels cover a whole 32x32 image)::

    stem:  ReLU(BN(smp(x)) + BN(conv3x3(x)))                                  (3 -> 24 channels)
    block: y = drop(ReLU(BN(smp1(x)) + BN(small1(x))))
           out = ReLU(BN(smp2(y)) + BN(small2(y)) + shortcut(x))              (widths 24, 24, 36, 36, 36, 48, 48)
    head:  global average pool, dropout, linear

Each SMP convolution has, per output channel, N = 16 points with 2-D coordinates and radii and a weight per
input channel (``PointKernel(ndim=2, shared_coords=False, normalize_by_count=True)``), sampled on a 33x33
grid and applied with 'same' zero padding. ``reparameterize()`` merges each SMP unit, its 3x3 branch and
both BatchNorms into one static 33x33 convolution with bias.
"""
import inspect
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models._builder import build_model_with_cfg
from timm.models._features import feature_take_indices
from timm.models._features_fx import register_notrace_function
from timm.models._manipulate import checkpoint_seq
from timm.models._registry import generate_default_cfgs, register_model

from ._args import (check_count_lists, check_counts, check_io_counts, check_odd_sizes, check_rates,
                    input_channels_words, select_adaptive_pool)
from ._checkpoint import (
    adapt_input_channels, asked_for, check_deployed_fit, first_layer_adapted_by_filter, has_batchnorm,
    is_deployed_state_dict, load_record, other_size_keys, pooling_shown_by, record_loaded_classes,
    remember_create_args, settle_new_classifier, shape_hint, unwrap_state_dict, with_class_defaults)
from ._pretrained import (check_pretrained_record, describe_weights, explain_missing_weights, file_overlay_first,
                          say_saved_weights)
from ..layers.causal_conv import complex_channel_mix, fft_size
from ..layers.conv_backends import autocast_disabled, exporting
from ..layers.point_kernel import PointKernel, factory_kwargs_of
from ..layers.reparam import fold_bn_after
from .smpconv_tcn import radius_param_groups

__all__ = ['SMPConvResNet', 'checkpoint_filter_fn', 'conv2d_same', 'deployed_model_args']

# the original's no_hidden=24 x block_width_factors [1.0 x 2, 1.5 x 3, 2.0 x 2]
DEFAULT_BLOCK_CHANNELS = (24, 24, 36, 36, 36, 48, 48)

# 'same' convolutions with kernels at least this large run through the FFT when use_fft is None (CPU time of one
# thread, 36 -> 36 channels, 32x32, batch 8: direct 1.4x faster at 9x9, FFT 1.5x faster at 15x15, 2.9x at 33x33,
# 6x at 33x33 with batch 64)
FFT_MIN_KERNEL_SIZE_2D = 15


def conv2d_same_fft(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, padding=k // 2)`` (dense, odd kernels) through the real 2-D FFT."""
    h, w = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    n_h, n_w = fft_size(h + kh - 1), fft_size(w + kw - 1)
    dtype = x.dtype
    compute_dtype = torch.promote_types(dtype, torch.float32)
    # autocast off: it would run the channel-mixing matmul, hence the inverse transform, in half precision
    with autocast_disabled(x.device.type):
        x_f = torch.fft.rfft2(x.to(compute_dtype), s=(n_h, n_w))                     # [B, I, nh, nw/2+1]
        # cross-correlation = convolution with the flipped kernel; the 'same' window starts at k // 2
        h_f = torch.fft.rfft2(weight.flip(-2, -1).to(compute_dtype), s=(n_h, n_w))  # [O, I, nh, nw/2+1]
        b = x_f.shape[0]
        y_f = complex_channel_mix(x_f.flatten(2), h_f.flatten(2)).reshape(b, -1, x_f.shape[-2], x_f.shape[-1])
        y = torch.fft.irfft2(y_f, s=(n_h, n_w))[..., kh // 2:kh // 2 + h, kw // 2:kw // 2 + w]
        if bias is not None:
            y = y + bias.to(compute_dtype)[:, None, None]
    return y.to(dtype)


def conv2d_same(
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor] = None,
        use_fft: Optional[bool] = None,
) -> torch.Tensor:
    """Dense 'same' 2-D convolution with odd kernels: ``F.conv2d`` or the FFT (None: FFT for kernels of at least
    ``FFT_MIN_KERNEL_SIZE_2D``). Taps more than H-1 (W-1) from the centre only ever meet zero padding, so a
    kernel larger than ``2H-1`` x ``2W-1`` is cropped to that first (exact). Under TorchScript always ``F.conv2d``."""
    kh, kw = weight.shape[-2], weight.shape[-1]
    if torch.jit.is_tracing():
        # uncropped (exact too): a crop computed from the traced input size gave the ONNX exporter a kernel of
        # unknown shape with a dynamic batch axis (export failed at 16 px and below)
        return F.conv2d(x, weight, bias, padding=(kh // 2, kw // 2))
    crop_h, crop_w = max(0, (kh - (2 * x.shape[-2] - 1)) // 2), max(0, (kw - (2 * x.shape[-1] - 1)) // 2)
    if crop_h > 0 or crop_w > 0:
        weight = weight[:, :, crop_h:kh - crop_h, crop_w:kw - crop_w]
    if torch.jit.is_scripting():  # TorchScript: the direct path only
        return F.conv2d(x, weight, bias, padding=(weight.shape[-2] // 2, weight.shape[-1] // 2))
    if use_fft is None:
        use_fft = max(weight.shape[-2:]) >= FFT_MIN_KERNEL_SIZE_2D
    # an empty batch and an export go the direct way: FFT libraries reject zero-size transforms, ONNX has no FFT
    if use_fft and x.numel() > 0 and not exporting():
        return conv2d_same_fft(x, weight, bias)
    return F.conv2d(x, weight, bias, padding=(weight.shape[-2] // 2, weight.shape[-1] // 2))


@register_notrace_function
def check_input(x: torch.Tensor, in_chans: int) -> torch.Tensor:
    """``x``, or a ``ValueError`` for input SMPConvResNet cannot take (shape, channels, empty image); a leaf of
    torch.fx graphs. The models use what it returns, so torch.fx feature extractors (which drop the nodes their
    outputs do not use) keep the check."""
    if x.dim() != 4:
        raise ValueError(
            f'SMPConvResNet expects an image batch [B, {in_chans}, H, W], got shape {list(x.shape)}')
    if x.shape[1] != in_chans:
        if x.shape[-1] == in_chans:  # channels last, as PIL / numpy give images: a layout, not a channel count
            raise ValueError(
                f'SMPConvResNet was built for {input_channels_words(in_chans)}, got {x.shape[1]} (input shape '
                f'{list(x.shape)}: channels last?); pass x.permute(0, 3, 1, 2) (N, C, H, W)')
        raise ValueError(
            f'SMPConvResNet was built for {input_channels_words(in_chans)}, got {x.shape[1]} (input shape '
            f'{list(x.shape)}); create the model with in_chans={x.shape[1]} to change it')
    if x.shape[-1] == 0 or x.shape[-2] == 0:  # an empty batch is fine: it gives an empty output, as in timm
        raise ValueError(f'empty image: input shape {list(x.shape)}, height and width must be positive')
    return x


# torch.fx keeps these calls as leaves: the FFT / direct choice and the kernel crop depend on the input's size
for _leaf in ('check_input', 'conv2d_same'):
    torch.fx.wrap(_leaf)


class LargeKernelConv2d(nn.Conv2d):
    """A static dense 'same' convolution with bias: the deployed form of an SMP unit."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, use_fft: Optional[bool] = None,
                 device=None, dtype=None):
        super().__init__(in_chs, out_chs, kernel_size, padding=kernel_size // 2, bias=True, device=device, dtype=dtype)
        self.use_fft = use_fft

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d_same(x, self.weight, self.bias, use_fft=self.use_fft)


class SMPConv2d(nn.Module):
    """Dense 'same' convolution whose ``k x k`` kernel is sampled from per-output-channel point kernels."""

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            kernel_size: int,
            n_points: int,
            init_radius: float,
            coord_std: float,
            bias: bool = False,
            r_min: float = 1e-4,
            use_fft: Optional[bool] = None,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        if kernel_size % 2 == 0:  # ('same' padding: an even kernel failed on a shape, trial 73c F5)
            raise ValueError(f"kernel_size must be odd (a 'same' convolution), got {kernel_size}")
        self.kernel_size = kernel_size
        self.use_fft = use_fft
        self.kernel = PointKernel(
            n_points, out_chs, in_chs, ndim=2, shared_coords=False, init_radius=init_radius, coord_std=coord_std,
            coord_init='centered', weight_std=.02, r_min=r_min, r_max=1., normalize_by_count=True, **dd)
        self.bias = nn.Parameter(torch.zeros(out_chs, **dd)) if bias else None

    def make_kernel(self, kernel_size: Optional[int] = None) -> torch.Tensor:
        k = self.kernel_size if kernel_size is None else kernel_size
        return self.kernel([k, k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d_same(x, self.make_kernel(), self.bias, use_fft=self.use_fft)


class SMPLargeKernel2d(nn.Module):
    """``BN(smp(x)) + BN(small(x))`` (original ``cconvN`` / ``normN`` / ``cconvNs`` / ``normNs``)."""

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            kernel_size: int,
            n_points: int,
            init_radius: float,
            coord_std: float,
            small_kernel_size: int = 3,
            bias: bool = False,
            small_bias: bool = False,
            r_min: float = 1e-4,
            use_fft: Optional[bool] = None,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        if kernel_size % 2 == 0 or small_kernel_size % 2 == 0:
            raise ValueError(f'kernel sizes must be odd, got {kernel_size} and {small_kernel_size}')
        if small_kernel_size > kernel_size:
            # (both odd: it said "must be odd" of 3 and 5)
            raise ValueError(f'small_kernel_size ({small_kernel_size}) must not exceed kernel_size ({kernel_size})')
        self.smp = SMPConv2d(in_chs, out_chs, kernel_size, n_points, init_radius, coord_std, bias, r_min, use_fft, **dd)
        self.smp_norm = nn.BatchNorm2d(out_chs, **dd)
        self.small = nn.Conv2d(in_chs, out_chs, small_kernel_size, padding=small_kernel_size // 2, bias=small_bias,
                               **dd)
        self.small_norm = nn.BatchNorm2d(out_chs, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.smp_norm(self.smp(x)) + self.small_norm(self.small(x))

    @torch.no_grad()
    def fuse(self) -> LargeKernelConv2d:
        weight, bias = fold_bn_after(self.smp.make_kernel(), self.smp.bias, self.smp_norm)
        small_weight, small_bias = fold_bn_after(self.small.weight, self.small.bias, self.small_norm)
        pad = (weight.shape[-1] - small_weight.shape[-1]) // 2
        conv = LargeKernelConv2d(
            weight.shape[1], weight.shape[0], weight.shape[-1], use_fft=self.smp.use_fft,
            device=weight.device, dtype=weight.dtype)
        conv.weight.copy_(weight + F.pad(small_weight, [pad] * 4))
        conv.bias.copy_(bias + small_bias)
        return conv


class SMPResNetBlock(nn.Module):
    """``ReLU(BN(smp2(y)) + BN(small2(y)) + shortcut(x))`` with ``y = drop(ReLU(BN(smp1(x)) + BN(small1(x))))``."""

    def __init__(self, in_chs: int, out_chs: int, dropout: float = 0., device=None, dtype=None, **unit_args):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.conv1 = SMPLargeKernel2d(in_chs, out_chs, **unit_args, **dd)
        self.conv2 = SMPLargeKernel2d(out_chs, out_chs, **unit_args, **dd)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.shortcut = nn.Conv2d(in_chs, out_chs, 1, **dd) if in_chs != out_chs else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(self.act(self.conv1(x)))
        return self.act(self.conv2(out) + self.shortcut(x))

    @torch.no_grad()
    def reparameterize(self):
        if isinstance(self.conv1, SMPLargeKernel2d):
            self.conv1 = self.conv1.fuse()
        if isinstance(self.conv2, SMPLargeKernel2d):
            self.conv2 = self.conv2.fuse()


class SMPConvResNet(nn.Module):
    """The paper's CIFAR-10 SMP ResNet.

    Args:
        in_chans: input channels.
        num_classes: classifier outputs (0: none).
        stem_channels: width of the stem.
        block_channels: width of each residual block (the original's ``no_hidden`` x ``block_width_factors``).
        kernel_size: SMP kernel size (odd; the original's ``conv.horizon``).
        n_points: points per kernel.
        init_radius: initial point radius.
        coord_std: std of the trunc-normal coordinate initialisation in [-1, 1].
        small_kernel_size: size of the parallel small kernels.
        bias: bias of the SMP convolutions.
        dropout: dropout inside the blocks.
        drop_rate: dropout before the classifier.
        r_min: lower radius bound (upper is 1).
        use_fft: FFT for the SMP convolutions: None chooses by kernel size, True / False force it.
        global_pool: head pooling ('avg', 'max', ...).
    """

    def __init__(
            self,
            in_chans: int = 3,
            num_classes: int = 10,
            stem_channels: int = 24,
            block_channels: Sequence[int] = DEFAULT_BLOCK_CHANNELS,
            kernel_size: int = 33,
            n_points: int = 16,
            init_radius: float = 0.12,
            coord_std: float = 0.05,
            small_kernel_size: int = 3,
            bias: bool = False,
            dropout: float = 0.1,
            drop_rate: float = 0.,
            r_min: float = 1e-4,
            use_fft: Optional[bool] = None,
            global_pool: str = 'avg',
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        check_counts(stem_channels=stem_channels, kernel_size=kernel_size, n_points=n_points,
                     small_kernel_size=small_kernel_size)
        check_odd_sizes(kernel_size=kernel_size, small_kernel_size=small_kernel_size)
        check_count_lists('block', len(DEFAULT_BLOCK_CHANNELS), block_channels=block_channels)
        check_rates(dropout=dropout, drop_rate=drop_rate)
        in_chans, num_classes = check_io_counts(in_chans, num_classes)
        if not isinstance(bias, bool):  # (a string 'false' would be truthy: another network, silently)
            raise ValueError(f'bias must be True or False, got {bias!r}')
        self.in_chans = in_chans
        self.num_classes = num_classes
        self.kernel_size = kernel_size
        self.grad_checkpointing = False
        unit_args = dict(
            kernel_size=kernel_size, n_points=n_points, init_radius=init_radius, coord_std=coord_std,
            small_kernel_size=small_kernel_size, bias=bias, r_min=r_min, use_fft=use_fft, **dd)
        # the original's stem small conv has a bias (a plain Conv2d), the blocks' have none
        self.stem = SMPLargeKernel2d(in_chans, stem_channels, small_bias=True, **unit_args)
        self.stem_act = nn.ReLU()
        blocks = []
        prev = stem_channels
        for chs in block_channels:
            blocks.append(SMPResNetBlock(prev, chs, dropout=dropout, **unit_args))
            prev = chs
        self.blocks = nn.Sequential(*blocks)
        self.num_features = prev
        self.feature_info = [dict(num_chs=c, reduction=1, module=f'blocks.{i}') for i, c in enumerate(block_channels)]
        self.global_pool = select_adaptive_pool(global_pool)
        # the width of forward_head(pre_logits=True): 'catavgmax' doubles it (timm's ResNet sets it so too)
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features * self.global_pool.feat_mult(), num_classes, **dd) \
            if num_classes > 0 else nn.Identity()
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self):
        # as the original: small convs and shortcuts trunc-normal(0.02) with zero bias, classifier Kaiming normal
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and not isinstance(m, LargeKernelConv2d):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._init_head()

    def _init_head(self):
        if isinstance(self.head, nn.Linear):
            nn.init.kaiming_normal_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        return dict(stem=r'^stem', blocks=r'^blocks\.(\d+)')

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def no_weight_decay(self) -> set:
        """Point radii and coordinates get no weight decay (the original recipe's no-decay groups)."""
        return {n for n, _ in self.named_parameters() if n.endswith(('.kernel.radius', '.kernel.coords'))}

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        if global_pool is not None:
            self.global_pool = select_adaptive_pool(global_pool)
        self.num_classes = num_classes
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        # the new classifier on the model's device and in its dtype, in its mode (train / eval)
        self.head = nn.Linear(
            self.num_features * self.global_pool.feat_mult(), num_classes, **factory_kwargs_of(self)) \
            if num_classes > 0 else nn.Identity()
        self.global_pool.train(self.training)
        self.head.train(self.training)
        self._init_head()

    @torch.no_grad()
    def reparameterize(self) -> 'SMPConvResNet':
        """Deployed form, in place: every SMP unit (with its small branch and BNs) becomes one 33x33 conv."""
        if isinstance(self.stem, SMPLargeKernel2d):
            self.stem = self.stem.fuse()
        for block in self.blocks:
            block.reparameterize()
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
        if output_fmt != 'NCHW':
            # (no f-string: TorchScript compiles this method in a scripted features_only model)
            raise ValueError("SMPConvResNet intermediates are NCHW only, got output_fmt='" + output_fmt + "'")
        take_indices, max_index = feature_take_indices(len(self.blocks), indices)
        x = check_input(x, self.in_chans)
        x = self.stem_act(self.stem(x))
        if torch.jit.is_scripting() or not stop_early:  # (timm's form: TorchScript slices no Sequential by a variable)
            blocks = self.blocks
        else:
            blocks = self.blocks[:max_index + 1]
        intermediates = []
        for i, block in enumerate(blocks):
            x = block(x)
            if i in take_indices:
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
        take_indices, max_index = feature_take_indices(len(self.blocks), indices)
        self.blocks = self.blocks[:max_index + 1]
        self.feature_info = self.feature_info[:max_index + 1]
        self.num_features = self.feature_info[-1]['num_chs']
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        if prune_head:
            self.reset_classifier(0, '')
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = check_input(x, self.in_chans)
        x = self.stem_act(self.stem(x))
        if self.grad_checkpointing and self.training and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.head_drop(self.global_pool(x))
        if pre_logits:
            return x
        if self.global_pool.is_identity():
            # no pooling (global_pool=''): the classifier at every location, [B, num_classes, H, W] (a Linear on the
            # map's last axis failed with a shape error)
            return self.head(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def param_groups(self, weight_decay: float = 1e-5, radius_lr_scale: float = 0.1, lr: Optional[float] = None):
        """The original recipe's parameter groups (see ``smpconvnet.models.smpconv_tcn.radius_param_groups``)."""
        return radius_param_groups(self, weight_decay, radius_lr_scale, lr)


# ---------------------------------------------------------------------------------------------------------
# Original checkpoints

_ORIGINAL_UNIT = {'cconv1': 'conv1.smp', 'cconv2': 'conv2.smp', 'cconv1s': 'conv1.small', 'cconv2s': 'conv2.small',
                  'norm1': 'conv1.smp_norm', 'norm2': 'conv2.smp_norm', 'norm1s': 'conv1.small_norm',
                  'norm2s': 'conv2.small_norm'}
_ORIGINAL_STEM = {'cconv1': 'stem.smp', 'cconv1s': 'stem.small', 'norm1': 'stem.smp_norm', 'norm1s': 'stem.small_norm'}


# the first part of every key of an SMP-ResNet state dict: this package's layout, then the original's
_RESNET_KEY_PREFIXES = ('stem.', 'blocks.', 'head.') + tuple(f'{k}.' for k in _ORIGINAL_STEM) + ('out_layer.',)


def remap_original_keys(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = {}
    for k, v in state_dict.items():
        parts = k.split('.')
        if parts[-1] == 'train_length':
            continue
        if parts[0] == 'out_layer':
            out['head.' + parts[1]] = v.reshape(v.shape[0], -1) if parts[1] == 'weight' else v
            continue
        if parts[0] == 'blocks':
            prefix, unit, rest = f'blocks.{parts[1]}.', parts[2], parts[3:]
            if unit == 'shortcut':
                out[prefix + 'shortcut.' + rest[-1]] = v
                continue
            name = prefix + _ORIGINAL_UNIT[unit]
        else:
            unit, rest = parts[0], parts[1:]
            name = _ORIGINAL_STEM[unit]
        if rest[:1] == ['Kernel']:
            if rest[1] == 'weight_coord':
                # original kernels are sampled transposed and flipped (W[u, v] = K(g[v], -g[u])); rotating the
                # coordinates by 90 degrees gives the same tensor in PointKernel's orientation (W[u, v] = K(g[u], g[v]))
                out[name + '.kernel.coords'] = torch.stack([-v[..., 1], v[..., 0]], dim=-1)
            elif rest[1] == 'radius':
                out[name + '.kernel.radius'] = v.reshape(v.shape[0], v.shape[1])
            else:
                out[name + '.kernel.weights'] = v
        else:
            out[name + '.' + '.'.join(rest)] = v
    return out


# the first layer's tensors whose dim 1 is the input channel (adapted for another in_chans)
_INPUT_CHANNEL_KEYS = ('stem.smp.kernel.weights', 'stem.small.weight')


def deployed_model_args(state_dict: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """The ``timm.create_model`` arguments of ``smpconv_resnet_cifar10`` that a deployed (``reparameterize``d)
    SMP-ResNet state dict's shapes tell: ``in_chans``, ``stem_channels``, ``kernel_size`` (its static kernels'),
    ``block_channels``, ``num_classes`` (where it has a classifier), and ``small_kernel_size`` where the default would
    not fit inside a static kernel (the small kernel is merged into it). The trained form they build,
    re-parameterised, takes the state dict strictly (any point count: its kernels are replaced); its pooling no shape
    tells except timm's ``'catavgmax'``, which doubles the classifier's input.

    Raises:
        ValueError: not a deployed SMP-ResNet state dict (no ``stem.weight``).
    """
    stem = state_dict.get('stem.weight')
    if stem is None or stem.dim() != 4:
        raise ValueError('not a deployed SMP-ResNet state dict: expected stem.weight [out, in, k, k]')
    blocks = sorted({int(k.split('.')[1]) for k in state_dict
                     if k.startswith('blocks.') and k.endswith('conv1.weight')})
    args = dict(in_chans=stem.shape[1], stem_channels=stem.shape[0], kernel_size=stem.shape[-1])
    default = inspect.signature(SMPConvResNet).parameters['small_kernel_size'].default
    if stem.shape[-1] < default:  # (any fits: merged into the static kernels, but not larger than they)
        args['small_kernel_size'] = stem.shape[-1]
    args['block_channels'] = tuple(state_dict[f'blocks.{i}.conv1.weight'].shape[0] for i in blocks)
    head = state_dict.get('head.weight')
    if head is not None:
        args['num_classes'] = head.shape[0]
        pool = pooling_shown_by(head, args['block_channels'][-1]) if args['block_channels'] else None
        if pool:
            args['global_pool'] = pool
    return args


def _shape_args(sd: Dict[str, torch.Tensor], model: nn.Module) -> str:
    # a hint: the timm.create_model arguments an SMP-ResNet state dict's shapes tell, trained (point kernels) or
    # deployed (static kernels); a trained one's kernel size (an SMP kernel's points fit any) and the pooling no shape
    # tells: the model's, said so. Copied as printed, it builds a network the weights load into
    stem = sd.get('stem.smp.kernel.weights')
    static = stem is None and sd.get('stem.weight') is not None
    if static:
        args = deployed_model_args(sd)
        args['global_pool'] = args.get('global_pool') or getattr(model.global_pool, 'pool_type', 'avg')
        return shape_hint(args, "its pooling too: 'catavgmax' doubles the classifier's input"
                          if args['global_pool'] == 'catavgmax' else
                          "its pooling they do not: this model's global_pool")
    first = 'conv1.smp.kernel.weights'
    blocks = sorted({int(k.split('.')[1]) for k in sd if k.startswith('blocks.') and k.endswith(first)})
    args = {}
    if stem is not None:
        args.update(in_chans=stem.shape[1], stem_channels=stem.shape[0], n_points=stem.shape[2])
    args['block_channels'] = tuple(sd[f'blocks.{i}.{first}'].shape[0] for i in blocks)
    small = sd.get('blocks.0.conv1.small.weight')
    if small is not None:
        args['small_kernel_size'] = small.shape[-1]
    args['bias'] = 'blocks.0.conv1.smp.bias' in sd
    args['kernel_size'] = model.kernel_size
    head = sd.get('head.weight')
    if head is not None:
        args['num_classes'] = head.shape[0]
    shown = pooling_shown_by(head, args['block_channels'][-1]) if args['block_channels'] else None
    args['global_pool'] = shown or getattr(model.global_pool, 'pool_type', 'avg')
    return shape_hint(args, "its kernel size they do not: this model's kernel_size; its pooling they do: 'catavgmax' "
                            "doubles the classifier's input" if shown else
                      "its kernel size and pooling they do not: this model's kernel_size and global_pool")


def checkpoint_filter_fn(state_dict: Dict[str, Any], model: SMPConvResNet) -> Dict[str, torch.Tensor]:
    """Accept original CIFAR ResNet checkpoints (``cconv1.Kernel.weight_coord``, ``blocks.i.norm1s``, ``out_layer``)
    and this package's own; wrappers and ``module.`` prefixes are removed; another number of input channels is
    adapted (``adapt_input_channels``, as timm adapts a first conv); another size is a ``ValueError``.

    A deployed state dict (``smpconvnet reparam``: ``stem.weight``, ``blocks.i.convN.weight`` static kernels, no point
    kernel or BatchNorm) re-parameterises ``model`` in place so that it loads strictly: timm's ``local-dir:`` /
    ``hf-hub:`` loading of a deployed folder gives the deployed model."""
    state_dict = unwrap_state_dict(state_dict, 'an SMP-ResNet state dict')
    foreign = [k for k in state_dict if not k.startswith(_RESNET_KEY_PREFIXES)]
    if foreign or not state_dict:
        raise ValueError(
            f'checkpoint is not an SMP-ResNet state dict (keys such as {foreign[:3]}; an SMP-ResNet\'s, this package\'s '
            f'or the original\'s, start with stem / blocks / head or cconv1 / norm1 / out_layer); load it into the '
            f'model it was saved from')
    if is_deployed_state_dict(state_dict, 'stem.weight'):
        if has_batchnorm(model):
            model.reparameterize()
        return check_deployed_fit(
            state_dict, model, ('head.weight', 'head.bias'),
            f'create the model with the architecture it was deployed from: {_shape_args(state_dict, model)}')
    if any(k.startswith(('cconv1.', 'out_layer.')) or '.cconv1.' in k for k in state_dict):
        state_dict = remap_original_keys(state_dict)
    model_sd = model.state_dict()
    # another size first (its own input channels among the arguments), then other input channels alone
    other = other_size_keys(state_dict, model_sd, _INPUT_CHANNEL_KEYS, ('head.weight', 'head.bias'))
    if other:
        raise ValueError(
            f'checkpoint tensor {other[0]} has shape {list(state_dict[other[0]].shape)}, the model expects '
            f'{list(model_sd[other[0]].shape)}; create the model that matches the checkpoint: '
            f'{_shape_args(state_dict, model)}')
    # another number of input channels (in_chans= with pretrained weights), as timm adapts a first conv
    state_dict = adapt_input_channels(state_dict, model_sd, _INPUT_CHANNEL_KEYS, 'head.weight')
    # a classifier the model lacks (num_classes=0) is timm's to drop, as one of another class count
    extra = sorted(set(state_dict) - set(model_sd) - {'head.weight', 'head.bias'})
    if extra:
        raise ValueError(f'checkpoint has tensors the model lacks (another depth?): {extra[:4]}')
    return state_dict


# ---------------------------------------------------------------------------------------------------------
# Registry

# arguments that change a trained SMP-ResNet's outputs and no parameter's shape (its points are sampled at any kernel
# size; 'catavgmax' shows in the head's shape): weights recorded with other values are refused
# (check_recorded_architecture), a bare state dict's are assumed with a warning
SHAPE_BLIND_ARGS = ('global_pool', 'kernel_size')
# the recorded arguments checked against the model's (check_recorded_architecture): with the radius bound, which the
# kernel reads its radii clamped to (radii trained below a larger bound than the model's would be clamped silently)
RECORD_CHECKED_ARGS = SHAPE_BLIND_ARGS + ('r_min',)


def _create_smpconv_resnet(variant: str, pretrained: bool = False, **kwargs) -> SMPConvResNet:
    kwargs = file_overlay_first(variant, pretrained, kwargs)
    block_channels = kwargs.get('block_channels', DEFAULT_BLOCK_CHANNELS)
    check_count_lists('block', len(DEFAULT_BLOCK_CHANNELS), block_channels=block_channels)  # (its feature indices)
    num_blocks = len(block_channels)
    check_pretrained_record(variant, pretrained, kwargs,
                            with_class_defaults(SMPConvResNet, kwargs, RECORD_CHECKED_ARGS), RECORD_CHECKED_ARGS)
    with explain_missing_weights(variant, pretrained, kwargs, SHAPE_BLIND_ARGS), \
            first_layer_adapted_by_filter(asked_for('in_chans', kwargs)), \
            load_record() as loaded:
        model = build_model_with_cfg(
            SMPConvResNet, variant, pretrained,
            pretrained_filter_fn=record_loaded_classes(checkpoint_filter_fn, bool(kwargs.get('features_only'))),
            feature_cfg=dict(out_indices=tuple(range(num_blocks)), feature_cls='getter'),
            **kwargs,
        )
    settle_new_classifier(model, loaded)  # (timm's train.py --pretrained-path)
    return describe_weights(say_saved_weights(remember_create_args(model, kwargs), pretrained, kwargs), pretrained,
                            kwargs, weights_chans=loaded.weights_chans, new_classifier=loaded.new_classifier)


default_cfgs = generate_default_cfgs({
    'smpconv_resnet_cifar10.untrained': {
        'url': '', 'num_classes': 10, 'input_size': (3, 32, 32), 'pool_size': (32, 32),
        'crop_pct': 1.0, 'interpolation': 'bilinear',
        # the original normalises CIFAR-10 with the ImageNet statistics
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'stem.small', 'classifier': 'head', 'license': 'mit',
        'paper_name': 'SMPConv: Self-moving Point Representations for Continuous Convolution',
        'origin_url': 'https://github.com/sangnekim/SMPConv',
        'description': 'CIFAR-10, 32x32, 33x33 SMP kernels, no downsampling; paper top-1 93.00',
    },
})


@register_model
def smpconv_resnet_cifar10(pretrained: bool = False, **kwargs) -> SMPConvResNet:
    """SMP-ResNet for CIFAR-10: 33x33 SMP kernels with 16 points, 7 blocks of 24-48 channels; 489,646 params."""
    return _create_smpconv_resnet('smpconv_resnet_cifar10', pretrained=pretrained, **kwargs)
