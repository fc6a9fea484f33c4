""" SMP-TCN: causal temporal convolutional networks whose kernels are self-moving point kernels (and a centred variant)

Paper: `Self-moving Point Representations for Continuous Convolution` (Kim & Park, CVPR 2023), sequence
experiments (sequential / permuted MNIST, sequential CIFAR-10, Character Trajectories, Speech Commands).
Original code: https://github.com/sangnekim/SMPConv (MIT). Original checkpoints load unchanged through
``checkpoint_filter_fn``.

Every convolution is causal and its kernel is a continuous function of time made of N points per output
channel (``PointKernel``, ndim=1, per-channel coordinates, normalised by the number of active points). The
kernel spans ``[-1, 1]``: +1 is the current step, -1 the oldest step the kernel reaches. By default it is
sampled with as many taps as the input has steps (``kernel_length=None``, the paper's set-up), so it always
covers the whole sequence; at a length other than the training length a trained model therefore sees a
time-rescaled kernel (each tap covers ``2 / (L - 1)`` of the kernel's span). With ``kernel_length=K`` the
kernel has K taps at any input length: one tap per step, the time scale of training, and the model sees
the last K steps.

Block (``SMPTCNBlock``)::

    y   = drop(ReLU(BN(smp1(x)) + BN(small1(x))))
    out = ReLU(drop(ReLU(BN(smp2(y)) + BN(small2(y)))) + shortcut(x))

with ``small`` causal convolutions of ``small_kernel_size`` taps without bias and ``shortcut`` a 1x1
convolution when the width changes. The classifier reads the last step (``global_pool='last'``; 'avg'
averages the valid steps instead, 'max' takes their maximum, 'avgmax' the mean of both).

Continuous-signal features:
    * any input length (see above); causal outputs, so ``forward_sequence`` gives a prediction per step;
    * variable-length batches: ``lengths`` gives each right-padded sample's true length; the logits are read
      at step ``lengths[b] - 1`` and BatchNorm statistics in training use the valid steps only. The padding is
      zeroed before the first convolution (any value will do, NaN included), but with ``kernel_length=None`` the
      kernel is sampled for the padded length, so pad every batch to one fixed length (the data set's longest), or
      fix ``kernel_length``: then a padded sample gives exactly what it gives alone;
    * irregular sampling: ``timestamps`` ([L] or [B, L], strictly increasing) evaluate the kernels at the
      real time differences (``PointKernel.sample``): step j enters output i at kernel position
      ``1 - 2 (t_i - t_j) / span``, where span is the sample's time range ``t[last] - t[0]`` (or
      ``kernel_length - 1`` with a fixed kernel length, timestamps then in units of steps), so regular
      sampling reproduces the grid exactly (not in a padded batch with whole-series kernels: with ``lengths``
      each series' span ends at its own last step, where the plain path samples the kernels for the padded
      length; a warning says so). The small kernels act on the previous samples, whatever their
      time gaps. Timestamps that are multiples of one step (regular sampling with missing steps) run as a
      regular convolution on that grid (exact, as fast as regular input); arbitrary times evaluate the kernel
      for every pair of steps, O(L^2) per channel pair, meant for moderate lengths;
    * FFT convolution chosen automatically for long kernels (``use_fft=None``; see ``causal_conv``);
    * inference re-parameterisation (``timm.utils.reparameterize_model`` or ``model.reparameterize()``):
      every block's two SMP units become one static causal convolution each, with the point kernel sampled
      once for the deployment length, the small kernel merged in and both BatchNorms folded.

Centred variant (``causal=False``, not in the paper's sequence models): every convolution is 'same'-padded, the
kernel's 0 the current step, ``2L - 1`` taps by default (each step sees the whole series) or ``kernel_length`` (odd);
pooled with ``global_pool='avg'``, it is a whole-series classifier as FCN and ResNet are (Wang, Yan & Oates, 2017).
It has no per-step predictions (``forward_sequence``) and no ``timestamps``; variable-length batches, FFT,
re-parameterisation (into ``SameConv1d``), TorchScript, torch.fx and ONNX export work as for the causal model.
"""
import contextlib
import contextvars
import inspect
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models._builder import build_model_with_cfg
from timm.models._features import FeatureGetterNet, feature_take_indices
from timm.models._features_fx import register_notrace_function
from timm.models._registry import generate_default_cfgs, register_model

from ._args import check_counts, check_io_counts, check_rates, input_channels_words, typed_hint
from ._checkpoint import (
    adapt_input_channels, asked_for, check_deployed_fit, find_state_dict, first_layer_adapted_by_filter,
    folder_weights_file, has_batchnorm, is_deployed_state_dict, is_safetensors_file, load_record, other_size_keys,
    record_loaded_classes, remember_create_args, safe_torch_load, settle_new_classifier, shape_hint,
    unwrap_state_dict)
from ._pretrained import (
    cfg_model_defaults, cfg_trained_length, check_pretrained_record, deployment_description, describes_trained_weights,
    describe_weights, explain_missing_weights, file_overlay_first, length_stated_note, recorded_stated_against,
    recorded_trained_length, said_contradicted_length, said_length_not_recorded, said_trained_length,
    say_deployment_length, say_saved_weights, stated_length_contradiction, with_classifier_note,
    with_length_not_recorded, with_note, without_length_not_recorded, without_length_stated)
from ..layers.causal_conv import CausalConv1d, SameConv1d, causal_conv1d, fixed_input_lengths, same_conv1d
from ..layers.norm import MaskedBatchNorm1d
from ..layers.point_kernel import PointKernel, factory_kwargs_of
from ..layers.reparam import fold_bn_after
from ..user_warnings import caller_stacklevel

__all__ = ['SMPConvTCN', 'SMPConvTCNEnsemble', 'SMPTCNFeatures', 'checkpoint_filter_fn', 'combine_log_probs',
           'member_indices', 'member_network', 'kernels_span_the_input', 'radius_param_groups', 'sequence_input_size',
           'build_smpconv_tcn', 'MIN_LENGTH',
           'POOL_TYPES', 'SEQUENCE_DATA_CFG', 'check_global_pool', 'drop_stale_label_names', 'two_branch_eval',
           'whole_architecture', 'is_sequence_architecture', 'follow_loaded_file_length']

# The pretrained_cfg entries of a sequence model that timm's PretrainedCfg defaults for images ('bicubic', 0.875):
# a sequence is not resized or cropped. Every sequence cfg (registered, written by train-seq, shipped) states them.
SEQUENCE_DATA_CFG = {'crop_pct': 1.0, 'interpolation': ''}

# A sequence needs two steps for its kernel grid to span [-1, 1] (linspace(-1, 1, 1) is the oldest position).
MIN_LENGTH = 2

# Irregular-sampling path: largest number of kernel values evaluated at once (bounds memory).
_IRREGULAR_CHUNK = 1 << 23
# Timestamps on a regular grid (missing steps) go through a regular convolution on that grid (see _TimePositions).
_GRID_FAST_PATH = True


class _TimePositions(NamedTuple):
    """Kernel positions of every (output step i, input step j) pair of irregularly sampled sequences.

    ``grid``, when the timestamps are all multiples of one step on a grid of reasonable size (regular
    sampling with missing steps, the usual case), holds ``(index [Bt, L], size, step_valid [Bt, L])``: the
    grid point of every step. The SMP convolutions then scatter onto the grid, convolve with the kernel
    sampled on it and gather back, which is exactly the pairwise evaluation at O(G log G) instead of O(L^2);
    ``pos`` and ``valid`` are then empty ([Bt, 0, 0]: the pairwise matrices are not built).
    A NamedTuple, so that the layers taking it compile under TorchScript.
    """
    pos: torch.Tensor    # [Bt, L, L], 1 - 2 (t_i - t_j) / span
    valid: torch.Tensor  # [Bt, L, L] bool: j <= i, j within the sample, and within the kernel's span
    grid: Optional[Tuple[torch.Tensor, int, torch.Tensor]]


def to_ncl(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, 1, L]`` (a sequence as a 1 x L image, as timm's generic tooling builds it from ``input_size``
    ``(C, 1, L)``) -> ``[B, C, L]``; anything else unchanged. A leaf of torch.fx graphs."""
    if isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[2] == 1:
        return x.squeeze(2)
    return x


def to_input_layout(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-step output ``y`` [B, C', L] in the layout of the input ``x``: ``[B, C', 1, L]`` for a 4-D input,
    else unchanged. A leaf of torch.fx graphs."""
    if x.dim() == 4 and y.dim() == 3:
        return y.unsqueeze(2)
    return y


# torch.fx (torch.fx.symbolic_trace, torchvision's and timm's feature extraction) keeps these calls as leaves: the
# input layout and the checks follow the input. The point kernels are traced, sampled for the graph's input length.
for _leaf in ('check_input', 'no_timestamps_or_lengths', 'zero_pad_input', 'to_ncl', 'to_input_layout', 'causal_conv1d',
              'same_conv1d'):
    torch.fx.wrap(_leaf)
register_notrace_function(to_ncl)
register_notrace_function(to_input_layout)


def _setstate_causal(module: nn.Module, state: Dict[str, Any]):
    """``__setstate__`` of the classes that gained ``causal`` (and ``zero_pad_to``, ``first_difference``): a model
    saved whole (``torch.save(model)``) before the centred variant existed was causal and read true lengths."""
    state.setdefault('causal', True)
    if isinstance(module, (SMPConvTCN, SMPConvTCNEnsemble)):
        state.setdefault('zero_pad_to', None)  # added later still: such a model read true lengths
        state.setdefault('first_difference', False)  # and later: it read the series alone
    nn.Module.__setstate__(module, state)


class SMPConv1d(nn.Module):
    """Convolution whose kernel is sampled from a point kernel at every forward: causal (the paper) or centred.

    Causal: the kernel spans ``[-1, 1]`` with +1 the current step, and has ``kernel_length`` taps if set, else as many
    as the input has steps; coordinates start near +1 (the most recent step), as in the original. Centred
    (``causal=False``, 'same' padding): 0 is the current step, the kernel has ``kernel_length`` (odd) taps if set,
    else ``2L - 1`` (it reaches every step of the series from every step); coordinates start near 0.
    """
    __setstate__ = _setstate_causal

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            n_points: int,
            init_radius: float,
            coord_std: float,
            bias: bool = True,
            r_min: float = 1e-4,
            kernel_length: Optional[int] = None,
            use_fft: Optional[bool] = None,
            causal: bool = True,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.in_chs = in_chs
        self.out_chs = out_chs
        self.kernel_length = kernel_length
        self.use_fft = use_fft
        self.causal = causal
        self.kernel = PointKernel(
            n_points, out_chs, in_chs, ndim=1, shared_coords=False, init_radius=init_radius, coord_std=coord_std,
            coord_init='recent' if causal else 'centered', weight_std=.02, r_min=r_min, r_max=1.,
            normalize_by_count=True, **dd)
        self.bias = nn.Parameter(torch.zeros(out_chs, **dd)) if bias else None

    def kernel_size_for(self, length: int) -> int:
        if self.kernel_length is not None:
            return self.kernel_length
        return length if self.causal else 2 * length - 1

    def make_kernel(self, length: int) -> torch.Tensor:
        """The ``[C_out, C_in, K]`` kernel used for inputs of ``length`` steps."""
        return self.kernel([self.kernel_size_for(length)])

    def forward(self, x: torch.Tensor, positions: Optional[_TimePositions] = None) -> torch.Tensor:
        if positions is not None:
            if torch.jit.is_scripting():
                raise RuntimeError('timestamps are not supported under TorchScript: use the eager model')
            return self._forward_irregular(x, positions)
        if self.causal:
            return causal_conv1d(x, self.make_kernel(x.shape[-1]), self.bias, use_fft=self.use_fft)
        return same_conv1d(x, self.make_kernel(x.shape[-1]), self.bias, use_fft=self.use_fft)

    @torch.jit.unused
    def _forward_irregular(self, x: torch.Tensor, positions: _TimePositions) -> torch.Tensor:
        # y[b, o, i] = sum_{c, j} K_oc(pos[b, i, j]) x[b, c, j] over the valid (causal, in-span) pairs
        if positions.grid is not None:
            return self._forward_on_grid(x, *positions.grid)
        pos, valid = positions.pos, positions.valid  # [Bt, L, L]
        bt, length = pos.shape[0], pos.shape[-1]
        rows = max(1, _IRREGULAR_CHUNK // (self.out_chs * max(self.in_chs, self.kernel.n_points) * bt * length))
        outs = []
        for start in range(0, length, rows):
            p = pos[:, start:start + rows]                                       # [Bt, r, L]
            r = p.shape[1]
            # positions stay in (at least) float32 even under autocast: a 16-bit position is off by up to 1e-3,
            # more than a point's typical radius
            k = self.kernel.sample(p.reshape(-1)).reshape(self.out_chs, self.in_chs, bt, r, length)
            k = (k * valid[:, start:start + rows].to(k.dtype)).to(x.dtype)
            if bt == 1:
                outs.append(torch.einsum('ocrj,bcj->bor', k[:, :, 0], x))
            else:
                outs.append(torch.einsum('ocbrj,bcj->bor', k, x))
        y = torch.cat(outs, dim=-1)
        if self.bias is not None:
            y = y + self.bias[None, :, None]
        return y


    def _forward_on_grid(self, x: torch.Tensor, index: torch.Tensor, size: int, step_valid: torch.Tensor):
        """Steps on a regular grid of ``size`` points (``index`` [Bt, L] their grid points): scatter, regular causal
        convolution, gather. Empty grid points are zeros, which is what the pairwise sum leaves out."""
        batch, chans, length = x.shape
        index = index.expand(batch, length)
        values = x * step_valid.expand(batch, length).unsqueeze(1).to(x.dtype)  # padded steps are not scattered
        grid_x = x.new_zeros(batch, chans, size).scatter_add(2, index.unsqueeze(1).expand(-1, chans, -1), values)
        grid_y = causal_conv1d(grid_x, self.make_kernel(size), self.bias, use_fft=self.use_fft)
        return grid_y.gather(2, index.unsqueeze(1).expand(-1, grid_y.shape[1], -1))


class SMPLargeKernel1d(nn.Module):
    """``BN(smp(x)) + BN(small(x))``: the SMP kernel and a parallel small kernel (original ``cconvN``, ``normN``,
    ``cconvNs``, ``normNs``), both causal or both centred (``causal=False``). ``fuse()`` returns the equivalent static
    ``CausalConv1d`` (``SameConv1d``). In eval mode it runs as that one folded convolution (see
    ``two_branch_eval`` for the unfolded computation)."""
    __setstate__ = _setstate_causal

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            n_points: int,
            init_radius: float,
            coord_std: float,
            small_kernel_size: int = 5,
            bias: bool = True,
            r_min: float = 1e-4,
            kernel_length: Optional[int] = None,
            use_fft: Optional[bool] = None,
            causal: bool = True,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.causal = causal
        self.smp = SMPConv1d(
            in_chs, out_chs, n_points, init_radius, coord_std, bias=bias, r_min=r_min,
            kernel_length=kernel_length, use_fft=use_fft, causal=causal, **dd)
        self.smp_norm = MaskedBatchNorm1d(out_chs, **dd)
        self.small = (CausalConv1d if causal else SameConv1d)(in_chs, out_chs, small_kernel_size, bias=False, **dd)
        self.small_norm = MaskedBatchNorm1d(out_chs, **dd)

    def forward(
            self,
            x: torch.Tensor,
            positions: Optional[_TimePositions] = None,
            mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        if not torch.jit.is_scripting() and self._folds_in_eval(x, positions):
            # eval mode: both BatchNorms are fixed affine maps, so the unit is one causal convolution with the
            # folded kernel (what fuse() deploys), rebuilt from the current parameters at every call (nothing is
            # kept): one long convolution instead of two convolutions and two normalisations. Differentiable.
            weight, bias = self.folded_kernel(self.smp.kernel_size_for(x.shape[-1]))
            if self.causal:
                return causal_conv1d(x, weight, bias, use_fft=self.smp.use_fft)
            return same_conv1d(x, weight, bias, use_fft=self.smp.use_fft)
        if not torch.jit.is_scripting():
            return _normalised(self.smp_norm, self.smp(x, positions), mask) + _normalised(
                self.small_norm, self.small(x), mask)
        return self.smp_norm(self.smp(x, positions), mask) + self.small_norm(self.small(x), mask)

    @torch.jit.unused
    def _folds_in_eval(self, x: torch.Tensor, positions: Optional[_TimePositions]) -> bool:
        # eval mode (the unit and both BatchNorms: test-time adaptation puts BatchNorms back in training mode) on
        # regular steps, eager (torch.fx traces the two branches: its graph's length is symbolic), and both
        # BatchNorms with running statistics (without them eval-mode BatchNorm normalises with the batch's own,
        # not a fixed affine map)
        return (id(self) not in _UNFOLDED_UNITS and not self.training and not self.smp_norm.training
                and not self.small_norm.training
                and positions is None and not isinstance(x, torch.fx.Proxy)
                and self.smp_norm.running_mean is not None and self.small_norm.running_mean is not None)

    @torch.jit.unused
    def folded_kernel(self, kernel_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(weight ``[C_out, C_in, max(kernel_size, small_kernel_size)]``, bias ``[C_out]``) of the one convolution
        equal to this unit in eval mode: the SMP kernel sampled with ``kernel_size`` taps and the small kernel,
        right-aligned (their last tap is the current step; centred for a non-causal unit: their middle taps), each
        scaled by its BatchNorm's eval-mode affine map. Differentiable with respect to every parameter (the eval-mode
        forward uses it too)."""
        weight, bias = fold_bn_after(self.smp.kernel([kernel_size]), self.smp.bias, self.smp_norm)
        small_weight, small_bias = fold_bn_after(self.small.weight, None, self.small_norm)
        extra = small_weight.shape[-1] - weight.shape[-1]
        if extra > 0:  # both odd when centred, so the difference splits evenly
            weight = F.pad(weight, [extra, 0] if self.causal else [extra // 2, extra // 2])
        # the small kernel adds to the last (middle) taps, in place into the fresh folded tensor: autograd-safe, as
        # the product's backward needs its inputs, not its output
        start = weight.shape[-1] - small_weight.shape[-1]
        if not self.causal:
            start //= 2
        weight[..., start:start + small_weight.shape[-1]] += small_weight
        return weight, bias + small_bias

    @torch.no_grad()
    def fuse(self, length: Optional[int] = None) -> Union[CausalConv1d, SameConv1d]:
        """One static causal (centred) conv equal to this unit in eval mode, for inputs of ``length`` steps (any
        length when the kernel length is fixed)."""
        kernel_length = self.smp.kernel_length
        if kernel_length is None and length is None:
            raise ValueError(
                'the SMP kernel is as long as the input, so re-parameterisation needs the deployment length: '
                'call model.reparameterize(length=L), or create the model with seq_len=L or kernel_length=K')
        weight, bias = self.folded_kernel(self.smp.kernel_size_for(length) if kernel_length is None else kernel_length)
        conv = (CausalConv1d if self.causal else SameConv1d)(
            weight.shape[1], weight.shape[0], weight.shape[-1], bias=True, use_fft=self.smp.use_fft,
            fixed_length=None if kernel_length is not None else length, device=weight.device, dtype=weight.dtype)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        return conv


def check_num_members(num_members: Any):
    """``num_members`` an integer (numpy's too) of at least 1, else a ValueError naming it."""
    if isinstance(num_members, bool) or not isinstance(num_members, numbers.Integral) or num_members < 1:
        raise ValueError(f'num_members must be an int of at least 1 (the ensemble\'s members), got {num_members!r}'
                         f'{typed_hint("num_members", num_members)}')


def drop_stale_label_names(model: nn.Module, new: bool = False):
    """Remove ``label_names`` from ``model.pretrained_cfg`` (in place) when the model's classifier has another number
    of outputs than the weights' (``num_classes=`` at creation, ``reset_classifier``): they name the weights' classes,
    and mapping a new classifier's argmax through them would name wrong classes without an error. The weights' count
    is the cfg's ``num_classes`` (a loaded file's, ``record_loaded_classes``; an overlay's), else its labels'. The
    cfg's other fields keep describing the weights, as timm's do; so do the labels of a model without classifier
    (``num_classes=0``, ``features_only``: nothing to map). Where the classifier is new its description says so (a
    card or config.json written from it, by timm's save_for_hf too, described the trained weights' classes only);
    labels of another count beside a loaded classifier (an overlay's file of 5 classes over a 2-class tag) go
    without it (trial 66: that loaded classifier was called new, and a new one beside labels of its count was not).
    ``new``: the classifier is new whatever its count (``settle_new_classifier``)."""
    cfg = getattr(model, 'pretrained_cfg', None)
    if not isinstance(cfg, dict) or not model.num_classes > 0:
        return
    labels = cfg.get('label_names')
    trained = cfg.get('num_classes') or (len(labels) if labels is not None else None)
    new = new or trained is not None and trained != model.num_classes
    if labels is not None and (new or len(labels) != model.num_classes):
        cfg.pop('label_names')
    if new and cfg.get('description'):
        cfg['description'] = with_classifier_note(cfg['description'], model.num_classes, trained or 0)


# the SMP units inside a two_branch_eval context (by identity, with its nesting depth): nothing is set on the
# modules, so a copy or a torch.save made inside the context folds as usual
_UNFOLDED_UNITS: Dict[int, int] = {}


@contextlib.contextmanager
def two_branch_eval(model: nn.Module):
    """Within it, the eval-mode SMP units of ``model`` (``SMPLargeKernel1d``) compute ``BN(smp(x)) + BN(small(x))``
    branch by branch, as the training form does, instead of the one folded convolution they run by default: the
    independent reference a deployed model is checked against (the folded path is the deployed computation itself).
    Other modules, and copies of ``model`` made inside it, are unaffected; contexts nest; leaving the outermost
    (also by an exception) restores the folding."""
    units = [id(m) for m in model.modules() if isinstance(m, SMPLargeKernel1d)]
    for unit in units:
        _UNFOLDED_UNITS[unit] = _UNFOLDED_UNITS.get(unit, 0) + 1
    try:
        yield model
    finally:
        for unit in units:
            depth = _UNFOLDED_UNITS.pop(unit) - 1
            if depth:
                _UNFOLDED_UNITS[unit] = depth


class SMPTCNBlock(nn.Module):
    """Residual block: two SMP units with BN, ReLU and dropout, 1x1 shortcut when the width changes; causal, or
    centred (``causal=False``: then the padded steps of a right-padded batch, ``mask`` False, are zeroed before each
    unit, so that they add nothing to the valid steps)."""
    __setstate__ = _setstate_causal

    def __init__(
            self,
            in_chs: int,
            out_chs: int,
            n_points: int,
            init_radius: float,
            coord_std: float,
            small_kernel_size: int = 5,
            bias: bool = True,
            dropout: float = 0.,
            r_min: float = 1e-4,
            kernel_length: Optional[int] = None,
            use_fft: Optional[bool] = None,
            causal: bool = True,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        self.causal = causal
        unit_args = dict(
            n_points=n_points, init_radius=init_radius, coord_std=coord_std, small_kernel_size=small_kernel_size,
            bias=bias, r_min=r_min, kernel_length=kernel_length, use_fft=use_fft, causal=causal)
        self.conv1 = SMPLargeKernel1d(in_chs, out_chs, **unit_args, **dd)
        self.conv2 = SMPLargeKernel1d(out_chs, out_chs, **unit_args, **dd)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.shortcut = nn.Conv1d(in_chs, out_chs, 1, **dd) if in_chs != out_chs else nn.Identity()
        # deployment length for reparameterize() (set by the model; unused with a fixed kernel length)
        self.deploy_length: Optional[int] = None

    def forward(
            self,
            x: torch.Tensor,
            positions: Optional[_TimePositions] = None,
            mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        # the training form's units (an SMP point kernel, ``.smp``) take the time positions and the BatchNorm mask,
        # the deployed convs only x; hasattr, not isinstance: TorchScript resolves it statically and compiles one
        # branch (a deployed model has no SMPLargeKernel1d left for it to know the type by)
        if positions is not None and not hasattr(self.conv1, 'smp'):
            raise ValueError(
                'timestamps need the point kernels, but this model is re-parameterised (its kernels are '
                'materialised for regular steps); use the training-form model for irregularly sampled input')
        shortcut = self.shortcut(x)
        if not self.causal and mask is not None:
            # a centred kernel reaches right, into the padding: zeros there, as a sample alone would be padded
            x = torch.where(mask, x, torch.zeros_like(x))
        if hasattr(self.conv1, 'smp'):
            out = self.conv1(x, positions, mask)
        else:
            out = self.conv1(x)
        out = self.drop(self.act(out))
        if not self.causal and mask is not None:
            out = torch.where(mask, out, torch.zeros_like(out))
        if hasattr(self.conv2, 'smp'):
            out = self.conv2(out, positions, mask)
        else:
            out = self.conv2(out)
        return self.act(self.drop(self.act(out)) + shortcut)

    @torch.no_grad()
    def reparameterize(self, length: Optional[int] = None):
        length = self.deploy_length if length is None else length
        if isinstance(self.conv1, SMPLargeKernel1d):
            self.conv1 = self.conv1.fuse(length)
        if isinstance(self.conv2, SMPLargeKernel1d):
            self.conv2 = self.conv2.fuse(length)


@register_notrace_function
def check_input(
        x: torch.Tensor, in_chans: int, kernel_length: Optional[int] = None, timestamps_given: bool = False,
        first_difference: bool = False,
) -> torch.Tensor:
    """``x``, or a ``ValueError`` for a sequence batch SMPConvTCN cannot take (shape, channels, length); a leaf of
    torch.fx graphs, compiled under TorchScript. The models use what it returns, so torch.fx feature extractors
    (which drop the nodes their outputs do not use) keep the check."""
    if x.dim() != 3:
        hint = ''
        if x.dim() == 2:
            hint = (f'; for one sequence [{in_chans}, L] add the batch axis: x.unsqueeze(0)' if in_chans != 1 else
                    '; for a batch of univariate sequences [B, L] add the channel axis: x.unsqueeze(1); for one '
                    'sequence [1, L], the batch axis: x.unsqueeze(0)')
        elif x.dim() == 4 and x.shape[1] == in_chans:
            # an image batch [B, C, H, W]: the sequential image tasks read its pixels row by row
            hint = (f'; an image batch [B, {in_chans}, H, W] is read as the sequence of its pixels, row by row (as '
                    f'sequential MNIST): x.flatten(2) gives [B, {in_chans}, H * W]')
        raise ValueError(
            f'SMPConvTCN expects a batch of sequences [B, {in_chans}, L] (batch, channels, steps) or [B, {in_chans}, 1, '
            f'L], got {list(x.shape)}' + hint)
    if x.shape[1] != in_chans:
        if x.shape[2] == in_chans:  # channels last, as many libraries store series: [B, L, C]
            raise ValueError(
                f'SMPConvTCN was built for {input_channels_words(in_chans)}, got {x.shape[1]} '
                f'(input shape {list(x.shape)}, '
                f'expected [B, {in_chans}, L]); for a [B, L, C] batch pass x.transpose(1, 2)')
        if first_difference and x.shape[1] == 2 * in_chans and bool(torch.allclose(
                x[:, in_chans:, 1:], x[:, :in_chans, 1:] - x[:, :in_chans, :-1])):
            # (the series with its difference computed outside; other data of 2C channels gets the in_chans hint)
            raise ValueError(
                f'SMPConvTCN was built for {input_channels_words(in_chans)}, got {x.shape[1]} '
                f'(input shape {list(x.shape)}); '
                f'it computes the first difference itself (first_difference=True): pass the {in_chans} channels of '
                f'the series alone, [B, {in_chans}, L]')
        raise ValueError(
            f'SMPConvTCN was built for {input_channels_words(in_chans)}, got {x.shape[1]} '
            f'(input shape {list(x.shape)}, '
            f'expected [B, {in_chans}, L]); create the model with in_chans={x.shape[1]} to change it')
    # a kernel as long as the input needs two steps to span [-1, 1] (MIN_LENGTH, spelled out for TorchScript); a
    # fixed kernel length takes any input
    if x.shape[-1] < (1 if kernel_length is not None and not timestamps_given else 2):
        least = '2 steps'
        if kernel_length is None:
            why = 'the kernel spans the sequence from its first to its last step'
        elif timestamps_given:
            why = 'timestamps need two steps to define a time span'
        else:
            least, why = '1 step', 'an empty sequence has nothing to convolve'
        raise ValueError(
            f'sequences must have at least {least} ({why}), got length {x.shape[-1]} (input shape {list(x.shape)})')
    return x


def with_first_difference(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, L]`` -> ``[B, 2C, L]``: the series, then its first difference ``dx_t = x_t - x_{t-1}`` with
    ``dx_0 = 0`` (step t reads steps t-1 and t only: causal). MultiRocket's difference view (Tan et al., 2022)."""
    return torch.cat([x, torch.cat([torch.zeros_like(x[:, :, :1]), x[:, :, 1:] - x[:, :, :-1]], dim=2)], dim=1)


@register_notrace_function
def zero_pad_input(x: torch.Tensor, lengths: Optional[torch.Tensor], length: int) -> torch.Tensor:
    """``x`` [B, C, L] with every series' steps from ``lengths[b]`` on set to 0, right-padded with zeros to ``length``
    steps: a variable-length batch as MiniRocket and other fixed-length methods read it (the zero padding is part of
    the input). A leaf of torch.fx graphs, compiled under TorchScript.

    Raises:
        ValueError: ``L > length`` (a series longer than the model reads).
    """
    if x.shape[-1] > length:
        raise ValueError(
            f'this model reads series zero-padded to {length} steps (zero_pad_to={length}), got {x.shape[-1]} steps '
            f'(input shape {list(x.shape)}): cut the series to {length} steps, or build the model with a larger '
            f'zero_pad_to (and train it again)')
    if lengths is not None:
        valid = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        x = torch.where(valid.unsqueeze(1), x, torch.zeros_like(x))  # where, not *: NaN padding stays out
    if x.shape[-1] < length:
        x = F.pad(x, [0, length - x.shape[-1]])
    return x


def zero_padding_mismatch(saved: Optional[torch.Tensor], zero_pad_to: Optional[int]) -> Optional[str]:
    """None if weights whose state dict holds the marker ``saved`` (``zero_padded_to``, or None: absent) fit a model
    with ``zero_pad_to``, else what differs and the ``zero_pad_to`` to create the model with."""
    saved_to = None if saved is None else int(saved)
    if saved_to == zero_pad_to:
        return None
    return (('the weights read series at their true lengths' if saved_to is None else
             f'the weights read series zero-padded to {saved_to} steps')
            + ', this model ' + ('at their true lengths' if zero_pad_to is None else
                                 f'zero-padded to {zero_pad_to} steps')
            + ' (the same weights give other outputs): create it '
            + ('without zero_pad_to (None, the default)' if saved_to is None else f'with zero_pad_to={saved_to}'))


@register_notrace_function
def no_timestamps_or_lengths(
        x: torch.Tensor, timestamps: Optional[torch.Tensor], lengths: Optional[torch.Tensor]) -> torch.Tensor:
    """``x``, or a ``ValueError`` if ``timestamps`` or ``lengths`` is given: a torch.fx graph of SMPConvTCN is traced for
    regular, unpadded sequences (``forward(x)``); a leaf of torch.fx graphs."""
    if timestamps is not None or lengths is not None:
        raise ValueError(
            'this torch.fx graph of SMPConvTCN was traced for regular, unpadded sequences and takes x only; call the '
            'eager model for timestamps or lengths')
    return x


def _traced_inputs(
        x: torch.Tensor,
        timestamps: Optional[torch.Tensor],
        lengths: Optional[torch.Tensor],
) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    # symbolic tracing makes the optional arguments graph inputs: the graph is traced for x alone, and checks at run
    # time that nothing else is passed
    if not torch.jit.is_scripting():
        if isinstance(x, torch.fx.Proxy):
            return no_timestamps_or_lengths(x, timestamps, lengths), None, None
    return x, timestamps, lengths


def check_lengths(x: torch.Tensor, lengths: torch.Tensor, timestamps_given: bool = False):
    """Raises a ``ValueError`` unless ``lengths`` holds one integer per sample of ``x`` [B, C, L], each in [1, L] ([2, L]
    with timestamps); compiled under TorchScript too."""
    batch, length = x.shape[0], x.shape[-1]
    if lengths.dim() != 1 or lengths.shape[0] != batch or lengths.is_floating_point() or lengths.is_complex() \
            or lengths.dtype == torch.bool:
        raise ValueError(
            f'lengths must be an integer tensor of shape [{batch}] (one per sample), got {list(lengths.shape)} of '
            f'dtype {lengths.dtype}')
    if batch > 0:
        lo, hi = int(lengths.min()), int(lengths.max())
        min_len = 2 if timestamps_given else 1  # MIN_LENGTH, spelled out for TorchScript
        if lo < min_len or hi > length:
            raise ValueError(
                f'lengths must lie in [{min_len}, {length}] (the padded length), got values from {lo} to {hi}')


def check_timestamps_and_lengths(
        x: torch.Tensor,
        timestamps: Optional[torch.Tensor],
        lengths: Optional[torch.Tensor],
):
    """Raises a ``ValueError`` for ``lengths`` / ``timestamps`` that do not fit the batch ``x`` [B, C, L]."""
    batch, length = x.shape[0], x.shape[-1]
    if lengths is not None:
        if not isinstance(lengths, torch.Tensor):
            raise ValueError(f'lengths must be an integer tensor of shape [{batch}] (one per sample), got '
                             f'{type(lengths).__name__}')
        check_lengths(x, lengths, timestamps is not None)
    if timestamps is not None:
        if not isinstance(timestamps, torch.Tensor) or not timestamps.is_floating_point() \
                or timestamps.shape not in ((length,), (batch, length)):
            shape = list(timestamps.shape) if isinstance(timestamps, torch.Tensor) else type(timestamps).__name__
            dtype = f' of dtype {timestamps.dtype}' if isinstance(timestamps, torch.Tensor) else ''
            raise ValueError(
                f'timestamps must be a floating-point tensor of shape [{length}] or [{batch}, {length}] (one time per '
                f'step of the input {list(x.shape)}), got {shape}{dtype}')
        ts = timestamps if timestamps.dim() == 2 else timestamps.unsqueeze(0)
        # only the valid part of each sample must be finite and increase (padding may hold anything)
        padded = torch.zeros(ts.shape, dtype=torch.bool, device=ts.device)
        if lengths is not None and ts.shape[0] == batch:
            padded = torch.arange(length, device=ts.device)[None, :] >= lengths.to(ts.device)[:, None]
        if not (torch.isfinite(ts) | padded).all():
            raise ValueError('timestamps must be finite' + (' on the valid steps' if lengths is not None else ''))
        increasing = (ts[:, 1:] > ts[:, :-1]) | padded[:, 1:]
        if not increasing.all():
            bad = (~increasing).nonzero()[0].tolist()
            raise ValueError(
                f'timestamps must be strictly increasing along the sequence; at sample {bad[0] if ts.shape[0] > 1 else "*"}'
                f' step {bad[-1] + 1} the time {ts[bad[0], bad[-1] + 1].item():g} does not exceed the previous '
                f'{ts[bad[0], bad[-1]].item():g}')


# the earlier names of the units, for models saved whole (torch.save(model)) before they could be centred
SMPCausalConv1d = SMPConv1d
SMPCausalLargeKernel = SMPLargeKernel1d


def sequence_input_size(pretrained_cfg: Dict[str, Any]) -> Tuple[int, int]:
    """``(channels, length)`` of a sequence model's ``pretrained_cfg``.

    timm requires ``input_size`` to be a 3-tuple (it reads ``in_chans`` from it), so sequence models store
    ``(C, 1, L)``: a sequence is a 1 x L signal with C channels.
    """
    size = pretrained_cfg['input_size']
    return int(size[0]), int(size[-1])


def _takes_any_length(model: nn.Module) -> bool:
    # fixed kernel lengths and no zero padding: seq_len= is the default input length only, deployed too
    tcns = [m for m in model.modules() if isinstance(m, SMPConvTCN)]
    return bool(tcns) and all(m.kernel_length is not None and m.zero_pad_to is None for m in tcns)


def _cfg_follows_length(model: nn.Module):
    # a model's pretrained cfg states its length (seq_len: the deployment length), as the builder sets it from
    # seq_len=: timm's data config, info, reparam and export read it (it kept the trained length after
    # reparameterize(length=...), and resolve_model_data_config then gave inputs the deployed model refused). Not
    # fixed_input_size: timm.utils.reparameterize_model deploys the blocks without calling the model's own
    # reparameterize, so it could not follow every way of deploying (is_deployed tells)
    cfg = getattr(model, 'pretrained_cfg', None)
    length = model.seq_len
    if not cfg or not cfg.get('input_size') or length is None:
        return
    update = dict(input_size=(int(cfg['input_size'][0]), 1, int(length)), pool_size=(1, int(length)))
    said = cfg.get('description') or ''
    if said_trained_length(cfg) is not None:
        # the trained length its description names (created with seq_len=): said for this length, or no more where
        # it is the trained one (a model deployed for 150 kept "seq_len=300, its deployment length")
        update['description'] = deployment_description(cfg, length, any_length=_takes_any_length(model))
    elif said and describes_trained_weights(cfg) and int(cfg['input_size'][-1]) != length:
        # trained weights (their cfg's length, the trained one) set to another length (reparameterize(length=300)):
        # said as for seq_len= (the card of the model deployed so described the trained model)
        update['description'] = deployment_description(cfg, length, int(cfg['input_size'][-1]),
                                                       any_length=_takes_any_length(model))
    if any(cfg.get(k) != v for k, v in update.items()):
        # in place: timm's load_pretrained holds this dict while the checkpoint filter deploys the model, and reads
        # its num_classes after (a new dict there had it drop a deployed file's head for a random one)
        cfg.update(update)
    args = getattr(model, '_model_args', None)
    if isinstance(args, dict) and args.get('seq_len') is not None and args['seq_len'] != length:
        # timm's record of the arguments that rebuild the model (save_for_hf writes it): the length it is deployed
        # for now (a folder saved after reparameterize(length=150) recorded 300, which its loading then refused)
        args['seq_len'] = int(length)


def _normalised(norm: nn.Module, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    # a unit's BatchNorm: the masked one, or the nn.SyncBatchNorm that nn.SyncBatchNorm.convert_sync_batchnorm (timm's
    # train.py --sync-bn) puts in its place, which takes no mask: the same computation without one (equal lengths) or
    # in eval mode (running statistics), and refused where it would count padded steps into its batch statistics
    # (trial 75 F6: a loader passing lengths= for an equal-length batch was refused too)
    if isinstance(norm, MaskedBatchNorm1d):
        return norm(x, mask)
    if mask is not None and norm.training and not bool(mask.all()):  # (lengths= of a batch without padding: none)
        raise TypeError(
            f'{type(norm).__name__} cannot leave the padded steps of a right-padded batch (lengths=) out of its '
            f'statistics: train with padded batches without SyncBatchNorm (timm\'s train.py: without --sync-bn; '
            f'convert_sync_batchnorm replaced the masked BatchNorms), or give equal-length series without lengths=')
    return norm(x)


def _valid_steps(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    # [B, 1, L]: True on each sample's first lengths[b] steps
    return (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths.to(x.device)[:, None])[:, None]


def _valid_mean(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    if lengths is None:
        return x.mean(-1)
    # summed in float32 at least (as x.mean): a float16 sum over a long series passes 65504 (inf)
    acc = torch.promote_types(x.dtype, torch.float32)
    total = (x.to(acc) * _valid_steps(x, lengths).to(acc)).sum(-1)
    return (total / lengths.to(x.device, acc)[:, None]).to(x.dtype)


def _valid_max(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    if lengths is None:
        return x.amax(-1)
    return x.masked_fill(~_valid_steps(x, lengths), float('-inf')).amax(-1)  # the padding never wins


POOL_TYPES = ('last', 'avg', 'max', 'avgmax', '')


def check_global_pool(global_pool: str) -> str:
    """``global_pool`` in lower case, taken in any case as timm's ``SelectAdaptivePool2d`` takes the image families'.

    Raises:
        ValueError: unless it is one of ``POOL_TYPES`` (what an SMP-TCN's classifier can read).
    """
    pool = global_pool.lower() if isinstance(global_pool, str) else global_pool
    if pool not in POOL_TYPES:
        raise ValueError(f"global_pool must be 'last', 'avg', 'max', 'avgmax' or '' (no pooling), got "
                         f"{global_pool!r}")
    return pool


class SMPConvTCN(nn.Module):
    """SMP temporal convolutional network: causal (the paper's sequence model) or centred ('same', ``causal=False``).

    Args:
        in_chans: input channels.
        num_classes: classifier outputs (0: no classifier, features only).
        num_blocks: residual blocks.
        hidden_channels: width of every block.
        n_points: points per kernel.
        init_radius: initial point radius.
        coord_std: std of the coordinate initialisation (trunc-normal in [-1, 0], then ``2c + 1``; centred: in
            [-1, 1]).
        small_kernel_size: taps of the parallel small kernels (causal, or centred: then odd).
        bias: bias of the SMP convolutions.
        dropout: dropout inside the blocks.
        input_dropout: dropout on the input in training (the original's ``net.dropout_in``).
        r_min: lower radius bound (upper is 1).
        use_fft: FFT convolution for the SMP kernels: None chooses by kernel length, True / False force it.
        kernel_length: taps of the SMP kernels; None: as many as the input has steps (the paper), ``2L - 1`` when
            centred. Odd when centred.
        global_pool: 'last' (the original: classify the last step), 'avg' (mean over the valid steps), 'max'
            (maximum over the valid steps, as ROCKET's max feature), 'avgmax' (their mean, timm's name) or '' (no
            pooling: ``forward`` gives per-step outputs, as ``forward_sequence``).
        seq_len: deployment length for ``reparameterize()`` (the models set it from ``pretrained_cfg``).
        drop_rate: dropout before the classifier.
        causal: True (the paper): every convolution sees the current and earlier steps, so step t's output is a
            prediction from steps 0..t (``forward_sequence``, streaming). False: centred ('same') convolutions, for
            whole-series classification with ``global_pool='avg'`` as FCN and ResNet do (Wang, Yan & Oates,
            "Time series classification from scratch with deep neural networks", 2017): the kernel's 0 is the
            current step and it reaches ``(K - 1) / 2`` steps either way; coordinates start near 0; variable-length
            batches (``lengths``) zero the padding before every convolution, so a padded sample gives what it gives
            alone (with a fixed ``kernel_length``). No ``timestamps`` and no ``forward_sequence``.
        zero_pad_to: None (default): a right-padded batch with ``lengths`` is read at its true lengths (the padding is
            masked out of BatchNorm statistics and pooling). An int N: every series is read zero-padded to N steps,
            the padding part of the input, as MiniRocket reads a zero-padded variable-length set (so a series'
            length is visible to the model): ``lengths`` only zero each series' steps after its end, shorter input
            is padded to N, every step of the N is convolved, normalised and pooled. No ``timestamps``.
        first_difference: False (default): the blocks read the series. True: they read the series and its first
            difference, ``2 * in_chans`` channels (``dx_t = x_t - x_{t-1}``, ``dx_0 = 0``: causal, so streaming is
            kept), the extra view of the input that MultiRocket adds to MiniRocket's (Tan, Dempster, Bergmeir & Webb,
            "MultiRocket: multiple pooling operators and transformations for fast and effective time series
            classification", 2022). The input is still ``[B, in_chans, L]``. No ``timestamps`` (a difference of
            irregular observations is not a rate).
        img_size: accepted for timm's builder (fixed-input-size cfgs) and unused: ``zero_pad_to`` sets the length.

    Raises:
        ValueError: non-positive sizes, a ``kernel_length`` below 2 (or even, or below 3, when centred), an even
            ``small_kernel_size`` when centred, an unknown ``global_pool``, a ``causal`` or ``first_difference`` that is
            not a bool, a ``zero_pad_to`` that is not a positive int (or None).
    """
    __setstate__ = _setstate_causal
    # Python-side bookkeeping, not part of a TorchScript model
    __jit_unused_properties__ = ['seq_len', 'is_deployed']

    def __init__(
            self,
            in_chans: int = 1,
            num_classes: int = 10,
            num_blocks: int = 6,
            hidden_channels: int = 30,
            n_points: int = 30,
            init_radius: float = 0.002,
            coord_std: float = 0.1,
            small_kernel_size: int = 5,
            bias: bool = True,
            dropout: float = 0.,
            input_dropout: float = 0.,
            r_min: float = 1e-4,
            use_fft: Optional[bool] = None,
            kernel_length: Optional[int] = None,
            global_pool: str = 'last',
            seq_len: Optional[int] = None,
            drop_rate: float = 0.,
            causal: bool = True,
            zero_pad_to: Optional[int] = None,
            first_difference: bool = False,
            img_size: Any = None,
            device=None,
            dtype=None,
    ):
        dd = dict(device=device, dtype=dtype)
        super().__init__()
        # img_size: timm's builder passes the cfg's input size to a model whose pretrained cfg has fixed_input_size (as
        # train-seq records for a zero_pad_to model); the input size of such a model is its zero_pad_to
        del img_size
        for name, value in (('zero_pad_to', zero_pad_to), ('kernel_length', kernel_length), ('seq_len', seq_len)):
            # too short a kernel_length is refused below, after a centred model's more specific hint (odd taps)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or (value < MIN_LENGTH and name != 'kernel_length')):
                raise ValueError(f'{name} must be None or an int of at least {MIN_LENGTH} (steps), got {value!r}'
                                 f'{typed_hint(name, value)}')
        check_counts(num_blocks=num_blocks, hidden_channels=hidden_channels, n_points=n_points,
                     small_kernel_size=small_kernel_size)
        check_rates(dropout=dropout, input_dropout=input_dropout, drop_rate=drop_rate)
        in_chans, num_classes = check_io_counts(in_chans, num_classes)
        for name, value in (('causal', causal), ('bias', bias), ('first_difference', first_difference)):
            if not isinstance(value, bool):  # (a string 'false' would be truthy: another network, silently)
                raise ValueError(f'{name} must be True or False, got {value!r}')
        if not causal and small_kernel_size % 2 == 0:
            raise ValueError(
                f'a centred (causal=False) model needs odd kernels with a middle tap (the current step), got '
                f'small_kernel_size={small_kernel_size}: pass small_kernel_size={small_kernel_size + 1}')
        if not causal and isinstance(kernel_length, int) and kernel_length < 3:
            raise ValueError(
                f'a centred (causal=False) model needs odd kernels of at least 3 taps (a middle tap, the current step, '
                f'and one either side), got kernel_length={kernel_length}: pass kernel_length=3')
        if not causal and kernel_length is not None and kernel_length % 2 == 0:
            raise ValueError(
                f'a centred (causal=False) model needs odd kernels with a middle tap (the current step), got '
                f'kernel_length={kernel_length}: pass kernel_length={kernel_length + 1}')
        if kernel_length is not None and kernel_length < MIN_LENGTH:
            raise ValueError(f'kernel_length must be None or an int of at least {MIN_LENGTH} (steps), got '
                             f'{kernel_length!r}')
        self.in_chans = in_chans
        self.num_classes = num_classes
        self.global_pool = check_global_pool(global_pool)
        self.kernel_length = kernel_length
        self.causal = causal
        self.zero_pad_to = zero_pad_to
        if zero_pad_to is not None:
            # in the state dict, as 'centred': weights trained on zero-padded series and weights trained at true
            # lengths have the same shapes and give other outputs in the other model
            self.register_buffer('zero_padded_to', torch.tensor(zero_pad_to, dtype=torch.long, device=device))
        if not causal:
            # in the state dict, so that a centred checkpoint and a causal model (same shapes, other outputs) do not
            # load into each other: strict loading reports it, checkpoint_filter_fn says which model fits
            self.register_buffer('centred', torch.ones((), dtype=torch.bool, device=device))
        self.first_difference = first_difference
        if first_difference:
            # in the state dict, as 'centred': the blocks of a C-channel model reading differences have the shapes of
            # a 2C-channel model's
            self.register_buffer('first_differenced', torch.ones((), dtype=torch.bool, device=device))
        self.num_features = self.head_hidden_size = hidden_channels
        self.grad_checkpointing = False
        self.input_drop = nn.Dropout(input_dropout)

        blocks = []
        for i in range(num_blocks):
            blocks.append(SMPTCNBlock(
                in_chans * (2 if first_difference else 1) if i == 0 else hidden_channels, hidden_channels, n_points,
                init_radius, coord_std,
                small_kernel_size=small_kernel_size, bias=bias, dropout=dropout, r_min=r_min,
                kernel_length=kernel_length, use_fft=use_fft, causal=causal, **dd))
        self.blocks = nn.Sequential(*blocks)
        self.feature_info = [dict(num_chs=hidden_channels, reduction=1, module=f'blocks.{i}') for i in range(num_blocks)]
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(hidden_channels, num_classes, **dd) if num_classes > 0 else nn.Identity()
        self._init_head()
        self.seq_len = seq_len

    @torch.jit.unused
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # a strict load_state_dict would copy another N into the marker: the reading must match, as in
        # checkpoint_filter_fn (error_msgs raise whether strict or not)
        mismatch = zero_padding_mismatch(state_dict.get(prefix + 'zero_padded_to'), self.zero_pad_to)
        if mismatch:
            error_msgs.append(mismatch)
            return  # the marker keeps this model's N (torch raises once every module has been visited)
        differenced = prefix + 'first_differenced' in state_dict
        if differenced != self.first_difference and any(k.startswith(prefix + 'blocks.') for k in state_dict):
            # (strict=False too: the blocks of C channels read with their differences fit a 2C-channel model)
            error_msgs.append(f'the weights were trained {"with" if differenced else "without"} the first difference '
                              f'of the series (first_difference={differenced}), this model '
                              f'{"without" if differenced else "with"} it (the same shapes, other outputs): create it '
                              f'with first_difference={differenced}')
            return
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    @property
    def seq_len(self) -> Optional[int]:
        # a model that pads every input to zero_pad_to steps only ever runs (and deploys) at that length
        return self.zero_pad_to if self.zero_pad_to is not None else self._seq_len

    @seq_len.setter
    def seq_len(self, value: Optional[int]):
        self._seq_len = value
        # True only while seq_len is the pretrained cfg's default (set by the builder, not asked for): a deployed
        # checkpoint loaded later (checkpoint_path=) may then tell its own length
        self._seq_len_is_default = False
        for block in self.blocks:
            block.deploy_length = self.seq_len
        _cfg_follows_length(self)

    def _init_head(self):
        if isinstance(self.head, nn.Linear):
            nn.init.normal_(self.head.weight, std=.01)
            nn.init.zeros_(self.head.bias)

    @property
    def is_deployed(self) -> bool:
        return not any(isinstance(m, SMPLargeKernel1d) for m in self.modules())

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        return dict(stem=r'^input_drop', blocks=r'^blocks\.(\d+)')

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def no_weight_decay(self) -> set:
        """Point radii and coordinates get no weight decay, as in the original sequence recipe (its optimizer
        puts ``radius`` and ``weight_coord`` in no-decay groups); timm also exempts every 1-D parameter."""
        return {n for n, _ in self.named_parameters() if n.endswith(('.kernel.radius', '.kernel.coords'))}

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        if global_pool is not None:  # None keeps the current pooling, '' removes it (per-step outputs)
            self.set_global_pool(global_pool)
        self.num_classes = num_classes
        # the new classifier on the model's device and in its dtype
        self.head = nn.Linear(self.num_features, num_classes, **factory_kwargs_of(self)) if num_classes > 0 \
            else nn.Identity()
        self.head.train(self.training)
        self._init_head()
        drop_stale_label_names(self)

    @torch.jit.ignore
    def set_global_pool(self, global_pool: str):
        """Change what the classifier reads, keeping the classifier (``reset_classifier`` replaces it): 'last', 'avg',
        'max', 'avgmax' or '' (per-step outputs from ``forward``; the classifier is linear, so with '' the mean over
        the steps of a trained 'avg' model's outputs is its logits)."""
        self.global_pool = check_global_pool(global_pool)

    @torch.no_grad()
    def reparameterize(self, length: Optional[int] = None) -> 'SMPConvTCN':
        """Deployed form, in place: every SMP unit becomes one static convolution (point kernel sampled
        for ``length`` steps, default ``seq_len``; any length if ``kernel_length`` is fixed), small kernel merged,
        BatchNorms folded. The deployed model accepts only that length (unless the kernel length is fixed) and
        no timestamps; its ``pretrained_cfg``'s ``input_size`` is ``(C, 1, length)`` (set with ``seq_len``), as
        timm's data config reads it. A length other than the one the model was trained on gives time-rescaled kernels
        (module docstring). Returns self.

        Raises:
            ValueError: ``length`` is not an int of at least 2; the model is already deployed for another length
                (its point kernels are gone, so only the training form can be re-parameterised for a new length),
                or no length is known, or a length other than ``zero_pad_to`` for a model that pads its input to it.
        """
        if length is not None:
            # checked before anything changes: a bad length left seq_len and the cfg set to it, and the model could not
            # be deployed again
            if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < MIN_LENGTH:
                raise ValueError(f'reparameterize(length=...) takes a number of steps, an int of at least '
                                 f'{MIN_LENGTH}, got {length!r}')
            length = int(length)
        if self.zero_pad_to is not None and self.kernel_length is None:
            # every input is padded to zero_pad_to steps: the kernels are only ever sampled for that length
            if length not in (None, self.zero_pad_to):
                raise ValueError(
                    f'this model reads every series zero-padded to {self.zero_pad_to} steps (zero_pad_to), so its '
                    f'deployed form is for that length: call reparameterize() or reparameterize(length='
                    f'{self.zero_pad_to}), not length={length}')
            length = self.zero_pad_to
        deployed_lengths = fixed_input_lengths(self)
        target = length if length is not None else self.seq_len
        if target is not None and deployed_lengths and deployed_lengths != {target}:
            raise ValueError(
                f'this model is already re-parameterised for sequences of length {sorted(deployed_lengths)[0]}; '
                f'its point kernels are gone, so it cannot be re-parameterised for length {target}: call '
                f'reparameterize(length={target}) on the training-form model, or build it with a fixed kernel_length')
        if length is not None:
            self.seq_len = length
        for block in self.blocks:
            block.reparameterize()
        return self

    @torch.jit.unused
    def _time_positions(
            self, x: torch.Tensor, timestamps: torch.Tensor, lengths: Optional[torch.Tensor]) -> _TimePositions:
        batch, _, length = x.shape
        if lengths is not None and self.kernel_length is None and bool((lengths < length).any()):
            # the plain path samples whole-series kernels for the padded length, this one for each series' own span:
            # regular timestamps looked harmless and gave other outputs (and the pairwise path: each series its grid)
            warnings.warn(
                'timestamps with lengths shorter than the padded batch: each series\' kernels span its own time '
                'range (t[length - 1] - t[0]), not the padded batch\'s steps they span without timestamps, so even '
                'regular timestamps give other outputs than model(x, lengths=lengths); a model trained without '
                'timestamps (every shipped one) computes what it was trained to without them. Pass timestamps for '
                'irregularly sampled series only, or fix kernel_length (a padded series then gives what it gives '
                'alone either way)', UserWarning, stacklevel=caller_stacklevel())
        ts = timestamps.to(device=x.device, dtype=torch.float64)
        if ts.dim() == 1 and lengths is not None and self.kernel_length is None:
            ts = ts.expand(batch, length)  # each sample's span ends at its own last step
        ts = ts if ts.dim() == 2 else ts.unsqueeze(0)
        steps = torch.arange(length, device=ts.device)
        step_valid = torch.ones(ts.shape, dtype=torch.bool, device=ts.device)
        if lengths is not None and ts.shape[0] == batch:
            step_valid = steps[None, :] < lengths.to(ts.device)[:, None]
            # each sample's padding takes its last valid time: finite, whatever the caller padded with (NaN too)
            ts = torch.where(step_valid, ts, ts.gather(1, (lengths.to(ts.device) - 1).view(-1, 1)))
        if self.kernel_length is not None:
            span = torch.full((ts.shape[0],), float(self.kernel_length - 1), dtype=ts.dtype, device=ts.device)
        elif lengths is not None:
            span = ts.gather(1, (lengths.to(ts.device) - 1).view(-1, 1)).squeeze(1) - ts[:, 0]
        else:
            span = ts[:, -1] - ts[:, 0]
        dtype = torch.promote_types(x.dtype, torch.float32)
        # the timestamps' own resolution: float32 times such as 0.1 k carry their float32 rounding into float64
        precision = torch.finfo(timestamps.dtype if timestamps.is_floating_point() else torch.float64).eps
        grid = self._grid_alignment(ts, step_valid, precision) if _GRID_FAST_PATH else None
        if grid is not None:
            # the grid path reads the grid only: the pairwise matrices below cost O(L^2) time and memory (4.7 GB and
            # 180x the regular model's time at 16000 steps), the grid path about what the regular convolution costs
            empty = ts.new_zeros((ts.shape[0], 0, 0))
            return _TimePositions(empty.to(dtype), empty.bool(), grid)
        diff = ts[:, :, None] - ts[:, None, :]                                     # t_i - t_j, [Bt, L, L]
        pos = 1. - 2. * diff / span[:, None, None]
        valid = (steps[None, :, None] >= steps[None, None, :]) & (pos >= -1. - 1e-6) & step_valid[:, None, :]
        return _TimePositions(pos.to(dtype), valid, grid)

    @torch.jit.unused
    def _grid_alignment(self, ts: torch.Tensor, step_valid: torch.Tensor, precision: float):
        """``(index, size, step_valid)`` if every valid timestamp is ``t_0 + n dt`` for integers n on one grid, else
        None. ``dt`` is one step with a fixed kernel length (timestamps then in steps), else each sample's step fitted
        to its timestamps; a timestamp is on the grid within the rounding of the timestamps' dtype (``precision``: its
        machine epsilon) at their magnitude, and 1e-6 of a step. Where that rounding can exceed 2e-3 of a step (float32
        times far from 0), the grid would move them by more than the outputs' 1e-5: None, the pairwise path then takes
        the values as given."""
        length = ts.shape[-1]
        rel = ts - ts[:, :1]
        # what rounding to the timestamps' dtype (half a unit in the last place) may have moved each offset by (both
        # ends), in time units
        noise = 0.5 * precision * (ts.abs() + ts[:, :1].abs())
        noise = torch.where(step_valid, noise, torch.zeros_like(noise))
        if self.kernel_length is not None:
            dt = torch.ones_like(ts[:, :1])
        else:  # each sample's own step: per-sample time units are fine as long as the grids match
            dt = self._fit_step(rel, step_valid, noise)
            if dt is None:
                return None
        # a timestamp's rounding and the fitted step's error (the fit's bound: at most one timestamp's rounding)
        bound = 2 * noise.amax(dim=1, keepdim=True)
        if bool((bound > 2e-3 * dt).any()):
            return None  # the timestamps' own rounding is coarse for their step (2.4% of it for float32 0.1 k + 1e4)
        rounded = (rel / dt).round()
        on_grid = (rel - rounded * dt).abs() <= bound + 1e-6 * dt
        if not bool((on_grid | ~step_valid).all()):
            return None
        last = torch.where(step_valid, rounded, torch.zeros_like(rounded)).amax(dim=1)  # [Bt]
        if self.kernel_length is None and bool((last != last[0]).any()):
            return None  # each sample would need its own kernel grid
        size = int(last.max()) + 1
        if size > 16 * length + 1024:
            return None  # too sparse on its grid: the pairwise evaluation is cheaper
        index = torch.where(step_valid, rounded, last[:, None]).long()  # padded steps read (unused) valid points
        return index, size, step_valid

    @staticmethod
    @torch.jit.unused
    def _fit_step(rel: torch.Tensor, step_valid: torch.Tensor, noise: torch.Tensor) -> Optional[torch.Tensor]:
        """Each sample's grid step ``[Bt, 1]`` from its offsets ``rel`` (``[Bt, L]``, time units), or None.

        The smallest gap is off by up to two timestamps' rounding: float32 times ``0.1 k`` put it 1e-3 off at 16000
        steps, so ``rel / gap`` rounds to wrong step counts after a few hundred steps. A least-squares fit over the
        offsets that the current step still rounds right brings its error down by about their count, so a few rounds
        reach the whole series."""
        gaps = (rel[:, 1:] - rel[:, :-1]).masked_fill(~step_valid[:, 1:], float('inf'))
        dt = gaps.amin(dim=1, keepdim=True)
        if not bool((dt > 0).all() & torch.isfinite(dt).all()):
            return None
        error = 2 * noise.amax(dim=1, keepdim=True)  # bound on dt's error, time units
        for _ in range(16):
            # the offsets whose step count dt's error cannot move by a quarter step: n err / dt <= 1/4
            safe = step_valid & (rel * error <= 0.25 * dt * dt)
            n = torch.where(safe, (rel / dt).round(), torch.zeros_like(rel))
            n2 = (n * n).sum(dim=1, keepdim=True).clamp(min=1.)
            fitted = (n * rel).sum(dim=1, keepdim=True) / n2
            # the fit's error bound: each offset's rounding, weighted as the least-squares slope weighs it
            fitted_error = (noise * n.abs()).sum(dim=1, keepdim=True) / n2
            if not bool((fitted_error < error).all()):
                break  # no better: not one grid, or dt already as good as the timestamps allow
            dt, error = fitted, fitted_error
            if bool((safe == step_valid).all()):
                break  # fitted over every offset
        return dt

    def _run_blocks(
            self,
            x: torch.Tensor,
            positions: Optional[_TimePositions],
            mask: Optional[torch.Tensor],
    ) -> torch.Tensor:
        for block in self.blocks:
            # also in eval mode, as timm's models do: fine-tuning with frozen BatchNorm saves memory too
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint(block, x, positions, mask, use_reentrant=False)
            else:
                x = block(x, positions, mask)
        return x

    def _prepare(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor],
            lengths: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, Optional[_TimePositions], Optional[torch.Tensor]]:
        # [B, C, 1, L] is the same sequence as [B, C, L] (timm's tools build inputs from input_size (C, 1, L))
        x, timestamps, lengths = _traced_inputs(to_ncl(x), timestamps, lengths)
        if torch.jit.is_scripting():
            if timestamps is not None:
                raise RuntimeError('timestamps are not supported under TorchScript: use the eager model')
        elif not isinstance(x, (torch.Tensor, torch.fx.Proxy)):
            raise ValueError(
                f'SMPConvTCN expects a batch of sequences [B, {self.in_chans}, L] (a tensor), got {type(x).__name__}')
        # a model that pads its input takes any length up to zero_pad_to, as a fixed kernel length does
        x = check_input(x, self.in_chans, self.kernel_length if self.zero_pad_to is None else self.zero_pad_to,
                        timestamps is not None, self.first_difference)
        if torch.jit.is_scripting():
            if lengths is not None:
                check_lengths(x, lengths)
        elif timestamps is not None or lengths is not None:
            check_timestamps_and_lengths(x, timestamps, lengths)
        pad_to = self.zero_pad_to
        if pad_to is not None:
            if timestamps is not None:
                raise ValueError(
                    f'timestamps need the true lengths, but this model reads its input zero-padded to {pad_to} steps '
                    f'(zero_pad_to={pad_to}): pass x, and lengths for a right-padded batch')
            x = zero_pad_input(x, lengths, pad_to)
            if self.first_difference:
                x = with_first_difference(x)
            return self.input_drop(x), None, None
        if timestamps is not None and self.first_difference:
            raise ValueError(
                'timestamps: this model reads its input with its first difference (first_difference=True), which '
                'needs regular steps: pass x (and lengths for a right-padded batch) without timestamps')
        positions: Optional[_TimePositions] = None
        if timestamps is not None and not self.causal:
            raise ValueError(
                'timestamps need a causal model (causal=True): this centred model samples its kernels on the regular '
                'steps only')
        if timestamps is not None:
            positions = self._time_positions(x, timestamps, lengths)
        mask: Optional[torch.Tensor] = None
        if lengths is not None:
            mask = _valid_steps(x, lengths)
            # the padding zeroed (where, not *: NaN * 0 is NaN): an FFT convolution mixes every step of its input,
            # so NaN, inf or huge padding would reach the valid steps of a causal model too
            x = torch.where(mask, x, torch.zeros_like(x))
        if self.first_difference:
            x = with_first_difference(x)
            if mask is not None:  # (the step after a series' end holds minus its last value: padding, zeroed)
                x = torch.where(mask, x, torch.zeros_like(x))
        return self.input_drop(x), positions, mask

    def forward_features(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Per-step features ``[B, hidden_channels, L]`` of sequences ``x`` [B, C, L] (``[B, hidden_channels, 1, L]``
        for ``[B, C, 1, L]`` input; see the class docstring for ``timestamps`` and ``lengths``); with ``zero_pad_to=N``,
        the N steps of the zero-padded series."""
        seq, positions, mask = self._prepare(x, timestamps, lengths)
        return to_input_layout(self._run_blocks(seq, positions, mask), x)

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = 'NCL',
            intermediates_only: bool = False,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Per-step outputs ``[B, hidden, L]`` of the selected blocks (last n if int, all if None); ``[B, hidden, 1,
        L]`` for ``[B, C, 1, L]`` input, as are the final features."""
        # channels first; timm's feature wrappers ask for 'NCHW', which for a sequence is the same layout
        if output_fmt not in ('NCL', 'NCHW'):
            # (no f-string: TorchScript compiles this method in a scripted features_only model)
            raise ValueError("SMPConvTCN intermediates are NCL (batch, channels, steps), got output_fmt='" + output_fmt
                             + "'")
        take_indices, max_index = feature_take_indices(len(self.blocks), indices)
        seq, positions, mask = self._prepare(x, timestamps, lengths)
        if torch.jit.is_scripting() or not stop_early:  # (timm's form: TorchScript slices no Sequential by a variable)
            blocks = self.blocks
        else:
            blocks = self.blocks[:max_index + 1]
        intermediates = []
        for i, block in enumerate(blocks):
            seq = block(seq, positions, mask)
            if i in take_indices:
                intermediates.append(to_input_layout(seq, x))
        if intermediates_only:
            return intermediates
        return to_input_layout(seq, x), intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        take_indices, max_index = feature_take_indices(len(self.blocks), indices)
        self.blocks = self.blocks[:max_index + 1]
        self.feature_info = self.feature_info[:max_index + 1]
        if prune_head:
            self.reset_classifier(0)
        return take_indices

    def _pool(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        if self.zero_pad_to is not None:
            lengths = None  # the padding is input: every step is pooled
        # (in any case, as the constructor, set_global_pool and an ensemble's attribute take it: trial 65)
        pool = self.global_pool.lower()
        if pool == 'last':
            if lengths is None:
                return x[:, :, -1]
            index = (lengths.to(x.device) - 1).view(-1, 1, 1).expand(-1, x.shape[1], 1)
            return x.gather(-1, index).squeeze(-1)
        if pool == 'avg':
            return _valid_mean(x, lengths)
        if pool == 'max':
            return _valid_max(x, lengths)
        if pool == 'avgmax':  # as timm's adaptive_avgmax_pool
            return 0.5 * (_valid_mean(x, lengths) + _valid_max(x, lengths))
        # an assigned attribute (model.global_pool = 'mean') is not checked as set_global_pool checks it: any other
        # value pooled as 'avgmax', silently
        raise ValueError("global_pool must be 'last', 'avg', 'max', 'avgmax' or '' (no pooling), got '"
                         + self.global_pool + "'")  # (no !r: TorchScript compiles this)

    def forward_head(
            self,
            x: torch.Tensor,
            pre_logits: bool = False,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Classify per-step features ``[B, hidden, L]`` (or ``[B, hidden, 1, L]``): last (valid) step, or mean,
        maximum or both (``global_pool``) over the valid steps, ``[B, num_classes]``; with ``global_pool=''`` every
        step, ``[B, num_classes, L]`` in the features' layout (``[B, hidden, L]`` features with ``pre_logits`` or no
        classifier)."""
        seq = to_ncl(x)
        if self.global_pool == '':
            seq = self.head_drop(seq)
            if not pre_logits:
                seq = self.head(seq.transpose(1, 2)).transpose(1, 2)
            return to_input_layout(seq, x)
        seq = self.head_drop(self._pool(seq, lengths))
        return seq if pre_logits else self.head(seq)

    def forward_sequence(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Per-step logits ``[B, num_classes, L]`` (``[B, num_classes, 1, L]`` for ``[B, C, 1, L]`` input): step t's
        prediction sees steps 0..t only (the classifier applied to every step; with ``global_pool='last'``,
        ``forward`` returns step L-1 of this, with ``'avg'`` their mean over the valid steps, the classifier being
        linear; the last step of an ``'avg'`` model reads that step's features alone, not its running mean).

        Raises:
            ValueError: a centred model (``causal=False``), whose steps see the future: for its per-step outputs use
                ``set_global_pool('')`` and ``forward``.
        """
        if not self.causal:
            raise ValueError(
                "forward_sequence gives causal per-step predictions, but this model is centred (causal=False): each "
                "step sees the whole series; for its per-step outputs (the same classifier) call "
                "model.set_global_pool('') and then model(x)")
        seq = to_ncl(self.forward_features(x, timestamps, lengths))
        return to_input_layout(self.head(self.head_drop(seq).transpose(1, 2)).transpose(1, 2), x)

    def forward(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Logits ``[B, num_classes]`` of sequences ``x`` [B, C, L] or [B, C, 1, L]; ``lengths`` [B] for right-padded
        batches, ``timestamps`` [L] or [B, L] for irregularly sampled input. With ``global_pool=''``, per-step
        logits (``forward_sequence``)."""
        x, timestamps, lengths = _traced_inputs(x, timestamps, lengths)
        x = self.forward_features(x, timestamps, lengths)
        return self.forward_head(x, lengths=lengths)


def radius_param_groups(
        model: nn.Module,
        weight_decay: float = 1e-5,
        radius_lr_scale: float = 0.1,
        lr: Optional[float] = None,
) -> List[Dict[str, Any]]:
    """Parameter groups of the original sequence recipe: decayed weights; no decay for 1-D parameters, biases
    and point coordinates; point radii without decay at ``radius_lr_scale`` times the learning rate.

    The radius group carries ``lr_scale`` (timm's schedulers multiply each group's lr by it) and, when ``lr``
    is given, its scaled ``lr`` (for plain torch schedulers). Works with
    ``timm.optim.create_optimizer_v2(model, 'adam', lr=lr, param_group_fn=radius_param_groups)``, whose own
    ``weight_decay`` reaches no group (each sets its own): give another decay here
    (``functools.partial(radius_param_groups, weight_decay=...)``).
    """
    decay, no_decay, radius = [], [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.endswith('.kernel.radius'):
            radius.append(param)
        elif param.ndim <= 1 or name.endswith('.bias') or name.endswith('.kernel.coords'):
            no_decay.append(param)
        else:
            decay.append(param)
    radius_group: Dict[str, Any] = {'params': radius, 'weight_decay': 0., 'lr_scale': radius_lr_scale}
    if lr is not None:
        radius_group['lr'] = lr * radius_lr_scale
    groups = [{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, 'weight_decay': 0.}, radius_group]
    return [g for g in groups if g['params']]


# ---------------------------------------------------------------------------------------------------------
# Original checkpoints

_ORIGINAL_UNIT = {'cconv1': 'conv1.smp', 'cconv2': 'conv2.smp', 'cconv1s': 'conv1.small', 'cconv2s': 'conv2.small',
                  'norm1': 'conv1.smp_norm', 'norm2': 'conv2.smp_norm', 'norm1s': 'conv1.small_norm',
                  'norm2s': 'conv2.small_norm'}


def _deployed_length(state_dict: Dict[str, torch.Tensor], model: SMPConvTCN) -> Optional[int]:
    """The input length a deployed SMP-TCN state dict was re-parameterised for (None with a fixed kernel length:
    the deployed model then takes any length).

    The model's ``seq_len`` (``model_args`` of the folder's config.json) when given, else read off the deployed
    kernels: the SMP kernel has one tap per step, right-aligned with the small kernel, so the deployed kernels have
    ``max(length, small_kernel_size)`` taps (centred: ``max(2 length - 1, small_kernel_size)``).

    Raises:
        ValueError: ``seq_len`` disagrees with the deployed kernels, or the kernels do not tell the length (no
            longer than the small kernel) and no ``seq_len`` was given.
    """
    if model.kernel_length is not None:
        return None
    causal = model.causal
    key, small_key = 'blocks.0.conv1.weight', 'blocks.0.conv1.small.weight'
    model_sd = model.state_dict()
    if key not in state_dict or state_dict[key].dim() != 3 or small_key not in model_sd:
        return model.seq_len  # not this architecture: check_deployed_fit names the difference
    taps, small = state_dict[key].shape[-1], model_sd[small_key].shape[-1]
    # a centred kernel has 2L - 1 taps for length L
    length_of_taps = taps if causal else (taps + 1) // 2
    if getattr(model, '_seq_len_is_default', False) and taps > small:
        return length_of_taps  # the cfg's default length, not the user's: the checkpoint's own length wins
    if model.seq_len is not None:
        expected = max(model.seq_len if causal else 2 * model.seq_len - 1, small)
        if expected != taps:
            raise ValueError(
                f'deployed checkpoint has {taps}-tap kernels, but the model was created for seq_len={model.seq_len} '
                f'({expected} taps); create it with the seq_len the checkpoint was deployed for')
        return model.seq_len
    if taps > small:
        return length_of_taps
    raise ValueError(
        f'deployed checkpoint has {taps}-tap kernels, as long as the small kernel: it was deployed for some length '
        f'up to {length_of_taps} steps; create the model with seq_len=<that length> (model_args in its config.json)')


def remap_original_keys(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Original SeqData_TCN layout -> this one. Kernels need no flip: both sample the kernel on
    ``linspace(-1, 1, K)`` with the last tap at the current step."""
    out = {}
    for k, v in state_dict.items():
        parts = k.split('.')
        if parts[0] == 'finallyr':
            out['head.' + parts[1]] = v
            continue
        if parts[0] != 'backbone':
            out[k] = v
            continue
        block, unit, rest = parts[1], parts[2], parts[3:]
        if unit == 'shortcut':
            out[f'blocks.{block}.shortcut.{rest[-1]}'] = v
            continue
        if rest == ['train_length']:
            continue  # the length the original last ran at; this implementation samples per input
        name = f'blocks.{block}.{_ORIGINAL_UNIT.get(unit, unit)}'
        if rest[:1] == ['Kernel']:
            field = {'weight_coord': 'coords', 'radius': 'radius', 'weights': 'weights'}[rest[1]]
            if field == 'radius':
                v = v.reshape(v.shape[0], v.shape[1])
            out[f'{name}.kernel.{field}'] = v
        else:
            out[f'{name}.{".".join(rest)}'] = v
    return out


def _shape_args(sd: Dict[str, torch.Tensor], model: nn.Module) -> str:
    # a hint: the timm.create_model arguments an SMP-TCN state dict's shapes tell, trained (point kernels) or
    # deployed (static kernels), then the model's own kernel_length and global_pool, which no shape tells (an SMP
    # kernel's points fit any length; a pooling has no weights): copied as printed, it builds a network the weights
    # load into
    return shape_hint(*_shape_arg_values(sd, model))


def _shape_arg_values(sd: Dict[str, torch.Tensor], model: nn.Module) -> Tuple[Dict[str, Any], str]:
    # _shape_args' arguments and what they leave untold
    w, head = sd.get('blocks.0.conv1.smp.kernel.weights'), sd.get('head.weight')
    static, small = sd.get('blocks.0.conv1.weight'), sd.get('blocks.0.conv1.small.weight')
    args = {'num_blocks': len({int(k.split('.')[1]) for k in sd if k.startswith('blocks.')})}
    read = 2 if 'first_differenced' in sd else 1  # (the blocks read the series and its difference: 2C channels)
    if w is not None:
        args.update(hidden_channels=w.shape[0], in_chans=w.shape[1] // read, n_points=w.shape[2])
        if small is not None:
            args['small_kernel_size'] = small.shape[-1]
        args['bias'] = 'blocks.0.conv1.smp.bias' in sd
    elif static is not None:
        args.update(hidden_channels=static.shape[0], in_chans=static.shape[1] // read)
    if head is not None:
        args['num_classes'] = head.shape[0]
    if 'centred' in sd or not model.causal:  # (the marker of centred kernels: a model of the other kind refuses them)
        args['causal'] = 'centred' not in sd
    if 'first_differenced' in sd or model.first_difference:
        args['first_difference'] = 'first_differenced' in sd
    members = _ENSEMBLE_MEMBERS.get()
    if members:  # (a member's part, filtered for an ensemble: the hint builds the ensemble)
        args['num_members'] = members
    deployed = w is None and static is not None
    if model.kernel_length is not None:  # (None, kernels as long as the input: timm drops a None argument)
        # a deployed model's static kernels load into a model of their taps (the kernel length sampled is replaced)
        args['kernel_length'] = static.shape[-1] if deployed else model.kernel_length
    args['global_pool'] = model.global_pool
    if deployed:
        taps = static.shape[-1]
        length = taps if 'centred' not in sd else (taps + 1) // 2  # (a centred kernel has 2L - 1 taps for L steps)
        return args, (f"its pooling they do not: this model's global_pool; its static kernels have {taps} taps: "
                      f"kernel_length={taps}, or kernels as long as an input of {length} steps deployed for that "
                      f"length")
    length = 'kernels as long as the input' if model.kernel_length is None else 'kernel_length'
    if 'centred' in sd and model.kernel_length is not None and model.kernel_length % 2 == 0:
        # a centred kernel has a middle tap: this model's even length cannot be the weights' (trial 52: the copy
        # failed to build)
        args['kernel_length'] = model.kernel_length + 1
        length = f'kernel_length made odd ({model.kernel_length} + 1: a centred kernel has a middle tap)'
    return args, f"its kernel length and pooling they do not: this model's {length} and global_pool"


# the member count of the ensemble whose members' parts the filter is filtering (_filter_ensemble), for its hints
_ENSEMBLE_MEMBERS: contextvars.ContextVar[Optional[int]] = contextvars.ContextVar('ensemble_members', default=None)


@contextlib.contextmanager
def _hints_of_members(members: int) -> Iterator[None]:
    # size hints made inside name ``members`` members (``_shape_args`` of one member's part)
    token = _ENSEMBLE_MEMBERS.set(members)
    try:
        yield
    finally:
        _ENSEMBLE_MEMBERS.reset(token)


def _members_shape_args(state_dict: Dict[str, torch.Tensor], model: nn.Module, members: int) -> str:
    # the size hint of an ensemble's state dict of ``members`` members, read off its first member, for ``model`` (one
    # SMP-TCN: a member of the ensemble to build, or the single model the state dict was refused by)
    part = {k[len('members.0.'):]: v for k, v in state_dict.items() if k.startswith('members.0.')}
    with _hints_of_members(members):
        return _shape_args(part, model)


def _describe(sd: Dict[str, torch.Tensor]) -> str:
    blocks = {int(k.split('.')[1]) for k in sd if k.startswith('blocks.')}
    w = sd.get('blocks.0.conv1.smp.kernel.weights')
    if w is None:
        return f'{len(blocks)} blocks'
    if 'first_differenced' in sd:  # (the blocks read 2C channels: C of the series, C of its difference)
        return (f'{len(blocks)} blocks, {w.shape[0]} hidden channels, {w.shape[1] // 2} input channels and their '
                f'first differences, {w.shape[2]} points')
    return f'{len(blocks)} blocks, {w.shape[0]} hidden channels, {w.shape[1]} input channels, {w.shape[2]} points'


# the tensors whose dim 1 is the input channels (the first block's SMP kernel, small kernel and 1x1 shortcut)
_INPUT_CHANNEL_KEYS = ('blocks.0.conv1.smp.kernel.weights', 'blocks.0.conv1.small.weight', 'blocks.0.shortcut.weight')


def _adapt_input_channels(state_dict: Dict[str, torch.Tensor], model_sd: Dict[str, torch.Tensor],
                          differenced: bool) -> Dict[str, torch.Tensor]:
    # in_chans= of other weights' (adapt_input_channels); a first-difference network's first layer reads
    # [x_1..x_C, dx_1..dx_C]: the series' half and the difference's half are adapted apart, each as timm adapts a
    # first conv (repeated as one tensor, the halves would mix: x_1, .., x_C, dx_1 read where x_(C+1) is)
    if not differenced:
        return adapt_input_channels(state_dict, model_sd, _INPUT_CHANNEL_KEYS, 'head.weight')

    def half(sd, i):
        return {k: (v.chunk(2, dim=1)[i] if k in _INPUT_CHANNEL_KEYS else v) for k, v in sd.items()}
    halves = [adapt_input_channels(half(state_dict, i), half(model_sd, i), _INPUT_CHANNEL_KEYS, 'head.weight')
              for i in (0, 1)]
    return dict(halves[0], **{k: torch.cat([halves[0][k], halves[1][k]], dim=1)
                              for k in _INPUT_CHANNEL_KEYS if k in halves[0]})


def checkpoint_filter_fn(state_dict: Dict[str, Any], model: SMPConvTCN) -> Dict[str, torch.Tensor]:
    """Accept original SMP-TCN checkpoints (``backbone.i.cconv1.Kernel.weight_coord`` ...) and this package's own.

    ``backbone.i`` -> ``blocks.i``; ``cconvN`` / ``normN`` -> ``convN.smp`` / ``convN.smp_norm``; ``cconvNs`` /
    ``normNs`` -> ``convN.small`` / ``convN.small_norm``; ``Kernel.weight_coord`` / ``radius`` / ``weights`` ->
    ``kernel.coords`` / ``kernel.radius`` (``[C, N, 1]`` -> ``[C, N]``) / ``kernel.weights``; ``shortcut.0`` ->
    ``shortcut``; ``finallyr`` -> ``head``; the ``train_length`` buffers are dropped. Wrappers and ``module.``
    prefixes are removed. A model with other input channels gets the first block's input weights adapted, as timm
    adapts an image model's first conv (``adapt_input_channels``); weights whose first block has no 1 x 1 shortcut
    (trained with ``in_chans`` equal to the width) get the identity one, adapted the same way, and a model with
    ``in_chans`` equal to the width cannot take a checkpoint's shortcut (``ValueError``). A checkpoint of another
    size raises a ``ValueError`` naming both sizes.

    A centred model's state dict (``causal=False``) holds a ``centred`` marker: a centred checkpoint for a causal
    model, or the reverse, raises a ``ValueError`` that names the ``causal`` argument to pass.

    A deployed state dict (``smpconvnet reparam``: ``blocks.i.convN.weight`` static kernels, no point kernel or
    BatchNorm) re-parameterises ``model`` in place for its deployment length (``seq_len``, else read off the
    kernels; see ``_deployed_length``), so that it loads strictly: timm's ``local-dir:`` / ``hf-hub:`` loading of a
    deployed folder gives the deployed model.

    An ``SMPConvTCNEnsemble`` takes an ensemble's state dict: ``members.<i>.`` + an SMP-TCN's keys for i in
    0..num_members-1, each member's part filtered as above. A member count that differs from the model's, or an
    ensemble's state dict for a single model (and the reverse), raises a ``ValueError`` that says which model fits.
    """
    state_dict = unwrap_state_dict(state_dict, 'an SMP-TCN state dict')
    if isinstance(model, SMPConvTCNEnsemble):
        return _filter_ensemble(state_dict, model)
    members = member_indices(state_dict)
    if members:
        raise ValueError(
            f'checkpoint is an ensemble of {len(members)} SMP-TCNs (members.<i>. keys), the model a single SMP-TCN: '
            f'create it with num_members={len(members)} and the arguments the weights were trained with (kernel_length= '
            f'and global_pool= do not show in their shapes; a model folder\'s config.json records them: '
            f'timm.create_model(\'local-dir:<folder>\', pretrained=True)): '
            f'{_members_shape_args(state_dict, model, len(members))}')
    if ('centred' in state_dict) == model.causal:
        # the weights record neither their kernels' taps nor the pooling: a model built with another kernel_length
        # or global_pool loads them without an error and gives other outputs, so the hint says so
        taps = (f'; and with the kernel_length and global_pool it was trained with: this model has '
                + ('kernel_length=None (kernels as long as the input)' if model.kernel_length is None else
                   f'kernel_length={model.kernel_length}')
                + f', global_pool={model.global_pool!r}, which the state dict does not record'
                + ('' if model.kernel_length is None else
                   ' (kernels as long as the input need smpconvnet.SMPConvTCN(..., kernel_length=None) built '
                   'directly: timm\'s create_model drops None arguments)'))
        fit = (f' (the model that matches: {_shape_args(state_dict, model)})'
               if any(k.startswith('blocks.') for k in state_dict) else '')
        raise ValueError(
            f'checkpoint is a {"centred" if model.causal else "causal"} SMP-TCN, the model a '
            f'{"causal" if model.causal else "centred"} one (the same weights give other outputs): create it with '
            f'causal={not model.causal}{taps}{fit}')
    mismatch = zero_padding_mismatch(state_dict.get('zero_padded_to'), model.zero_pad_to)
    if mismatch:
        raise ValueError(f'checkpoint does not fit: {mismatch}')
    if ('first_differenced' in state_dict) != model.first_difference and any(
            k.startswith('blocks.') for k in state_dict):
        # a C-channel model reading differences has the shapes of a 2C-channel one: loaded, the weights would read
        # the wrong channels without an error
        want = 'first_differenced' in state_dict
        reads = {True: 'each series and its first difference', False: 'the series alone'}
        raise ValueError(
            f'checkpoint of a network that reads {reads[want]} (first_difference={want}), this model {reads[not want]} '
            f'(the same shapes, other outputs): create it with first_difference={want} (the model that matches: '
            f'{_shape_args(state_dict, model)})')
    if is_deployed_state_dict(state_dict, 'blocks.0.conv1.weight'):
        if has_batchnorm(model):
            model.reparameterize(length=_deployed_length(state_dict, model))
        return check_deployed_fit(
            state_dict, model, ('head.weight', 'head.bias'),
            f'create the model with the architecture it was deployed from: {_shape_args(state_dict, model)}')
    if any(k.startswith('backbone.') or k.startswith('finallyr.') for k in state_dict):
        state_dict = remap_original_keys(state_dict)
    model_sd = model.state_dict()
    if not any(k.startswith('blocks.') and '.conv1.' in k for k in state_dict):
        keys = ', '.join(list(state_dict)[:3])
        raise ValueError(
            f'checkpoint is not an SMP-TCN state dict (no blocks.<i>.conv1 weights; its first keys: {keys}); load it '
            f'into the model it was saved from')
    if 'blocks.0.shortcut.weight' in model_sd and 'blocks.0.shortcut.weight' not in state_dict \
            and _INPUT_CHANNEL_KEYS[0] in state_dict \
            and model_sd[_INPUT_CHANNEL_KEYS[0]].shape[1] != state_dict[_INPUT_CHANNEL_KEYS[0]].shape[1]:
        # weights trained with in_chans equal to the width: their first block adds its input unchanged, which is the
        # 1 x 1 convolution eye(width) without bias; adapted with the first layer's other weights, it keeps their rule
        # (a signal repeated on every channel gives the checkpoint's response)
        first = state_dict[_INPUT_CHANNEL_KEYS[0]]
        width = first.shape[0]
        state_dict = dict(state_dict)
        state_dict['blocks.0.shortcut.weight'] = torch.eye(width, dtype=first.dtype).unsqueeze(-1)
        state_dict['blocks.0.shortcut.bias'] = torch.zeros(width, dtype=first.dtype)
    # another size first (its own input channels among the arguments), then other input channels alone
    ckpt_blocks = {k.split('.')[1] for k in state_dict if k.startswith('blocks.')}
    model_blocks = {k.split('.')[1] for k in model_sd if k.startswith('blocks.')}
    mismatch = other_size_keys(state_dict, model_sd, _INPUT_CHANNEL_KEYS, ('head.weight', 'head.bias'))
    if ckpt_blocks != model_blocks or mismatch:
        detail = f'; first mismatch: {mismatch[0]} {list(state_dict[mismatch[0]].shape)} vs ' \
                 f'{list(model_sd[mismatch[0]].shape)}' if mismatch else ''
        raise ValueError(
            f'checkpoint is an SMP-TCN with {_describe(state_dict)}, the model has {_describe(model_sd)}{detail}; '
            f'create the model that matches: {_shape_args(state_dict, model)}')
    state_dict = _adapt_input_channels(state_dict, model_sd, model.first_difference)
    if 'blocks.0.shortcut.weight' in state_dict and 'blocks.0.shortcut.weight' not in model_sd \
            and 'blocks.0.conv1.small.weight' in model_sd:
        # in_chans equal to the width: the first block adds its input unchanged (no 1 x 1 shortcut, as the TCN of Bai
        # et al. builds it), so the weights' shortcut has nowhere to go ("Unexpected key(s)" said nothing of why)
        width = model_sd['blocks.0.conv1.small.weight'].shape[0]
        chans = (f'in_chans={width // 2}: its {width // 2} channels and their first differences (first_difference=True) '
                 f'make {width}, its width' if model.first_difference else f'in_chans={width} equals its width')
        raise ValueError(f'the model\'s first block has no 1 x 1 shortcut ({chans}, hidden_channels), the checkpoint\'s '
                         f'has one: its weights cannot be adapted to {model.in_chans} input channels; choose another '
                         f'in_chans')
    return state_dict


def combine_log_probs(outputs: List[torch.Tensor]) -> torch.Tensor:
    """Logits whose softmax is the mean of the class probabilities of ``outputs`` (logits of the same shape, classes
    on dim 1): ``log(mean_m softmax(outputs[m]))``, computed as a log-sum-exp. Its argmax is the prediction of
    probability averaging, the usual combination of a deep ensemble (Lakshminarayanan et al., "Simple and scalable
    predictive uncertainty estimation using deep ensembles", NeurIPS 2017). Computed in float32 (a 16-bit
    log-sum-exp loses the small probabilities), returned in the outputs' dtype."""
    log_probs = torch.stack([F.log_softmax(o.float(), dim=1) for o in outputs])
    return (torch.logsumexp(log_probs, dim=0) - math.log(len(outputs))).to(outputs[0].dtype)


class SMPConvTCNEnsemble(nn.Module):
    """An ensemble of ``num_members`` SMP-TCNs of one architecture (independently trained seeds, in ``members``),
    classifying by their mean class probabilities (one output: the mean output): one timm model, one state dict
    (``members.<i>.`` keys).

    ``forward`` gives ``log(mean_m softmax(logits_m))`` ``[B, num_classes]`` (``combine_log_probs``): logits whose
    softmax is the ensemble's probability and whose argmax its prediction (so cross-entropy on them trains the
    mixture). With ``num_classes=1`` (one output: a regression target) it is the members' mean output; a binary
    classifier with one logit gets its mean logit, not its mean probability (use two classes for that). Features are
    the members' concatenated along the channel dim: ``forward_features`` ``[B, M * hidden, L]``,
    ``forward_head(pre_logits=True)`` and a model without classifier ``[B, M * hidden]``; ``num_features`` is
    ``M * hidden``. ``lengths`` / ``timestamps`` / ``reparameterize`` / ``forward_sequence`` act as on
    ``SMPConvTCN``, member by member; ``get_classifier()`` is the tuple of the members' heads (as timm's two-head
    models); ``features_only`` uses ``forward_intermediates`` (``SMPTCNFeatures``, timm's 'getter'). Cost: M times
    one member's, in parameters and compute. Training the ensemble as one model (cross-entropy on ``forward``) fits
    the mixture jointly; a deep ensemble is M separately trained models put together (``write_ensemble_folder``).

    Args:
        num_members: members (M >= 1).
        **kwargs: ``SMPConvTCN`` arguments, the same for every member (``device`` / ``dtype`` too).
    """
    __setstate__ = _setstate_causal
    __jit_unused_properties__ = ['seq_len', 'is_deployed', 'global_pool']
    # scripted, the pooling is the members' (a property TorchScript cannot run): a constant, so that assigning it to
    # the scripted ensemble raises instead of setting a Python attribute the members never read
    __constants__ = ['global_pool']

    def __init__(self, num_members: int = 5, **kwargs):
        super().__init__()
        check_num_members(num_members)
        num_members = int(num_members)
        self.members = nn.ModuleList([SMPConvTCN(**kwargs) for _ in range(num_members)])
        first = self.members[0]
        self.num_members = num_members
        self.in_chans = first.in_chans
        self.num_classes = first.num_classes
        self.kernel_length = first.kernel_length
        self.causal = first.causal
        self.zero_pad_to = first.zero_pad_to
        self.first_difference = first.first_difference
        self.member_features = first.num_features
        self.num_features = self.head_hidden_size = first.num_features * num_members
        self.grad_checkpointing = False
        # block i of every member, concatenated (forward_intermediates)
        self.feature_info = [dict(f, num_chs=f['num_chs'] * num_members, module=f'members.0.{f["module"]}')
                             for f in first.feature_info]

    @property
    def seq_len(self) -> Optional[int]:
        return self.members[0].seq_len

    @seq_len.setter
    def seq_len(self, value: Optional[int]):
        for member in self.members:
            member.seq_len = value
        _cfg_follows_length(self)

    @property
    def is_deployed(self) -> bool:
        return all(member.is_deployed for member in self.members)

    @property
    def global_pool(self) -> str:
        return self.members[0].global_pool

    @global_pool.setter
    def global_pool(self, value: str):
        # what the members read: assigned to the ensemble alone it changed nothing (a single model's assignment
        # changes its pooling)
        value = check_global_pool(value)
        for member in self.members:
            member.global_pool = value

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        # block i of all members in one group (layer-wise lr decay treats them alike)
        return dict(stem=r'^members\.\d+\.input_drop', blocks=r'^members\.\d+\.blocks\.(\d+)')

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        self.grad_checkpointing = enable
        for member in self.members:
            member.set_grad_checkpointing(enable)

    @torch.jit.ignore
    def no_weight_decay(self) -> set:
        return {f'members.{i}.{n}' for i, member in enumerate(self.members) for n in member.no_weight_decay()}

    @torch.jit.ignore
    def get_classifier(self) -> Tuple[nn.Module, ...]:
        return tuple(member.head for member in self.members)

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        for member in self.members:
            member.reset_classifier(num_classes, global_pool)
        self.num_classes = num_classes
        drop_stale_label_names(self)

    @torch.jit.ignore
    def set_global_pool(self, global_pool: str):
        """Every member's ``SMPConvTCN.set_global_pool``: what the classifiers read, the classifiers kept."""
        for member in self.members:
            member.set_global_pool(global_pool)

    @torch.no_grad()
    def reparameterize(self, length: Optional[int] = None) -> 'SMPConvTCNEnsemble':
        """Every member in its deployed form (``SMPConvTCN.reparameterize``); returns self."""
        for member in self.members:
            member.reparameterize(length)
        _cfg_follows_length(self)
        return self

    def _check_members_pool(self):
        # the members pool as one model: one assigned its own (model.members[0].global_pool = 'avg') mixed poolings
        # under the ensemble's name, or failed in torch.stack ('' against a pooled member)
        pool = self.members[0].global_pool
        for i, member in enumerate(self.members):
            if member.global_pool != pool:
                raise ValueError('SMPConvTCNEnsemble: members[' + str(i) + "].global_pool is '" + member.global_pool
                                 + "', members[0]'s '" + pool + "': the members pool as one model; set the "
                                 "ensemble's (model.set_global_pool(...)), which sets every member's")

    def _combine(self, outputs: List[torch.Tensor], pre_logits: bool) -> torch.Tensor:
        if pre_logits or self.num_classes == 0:
            return torch.cat(outputs, dim=1)
        if self.num_classes == 1:
            # one output has no class distribution to average (the log-softmax of one class is 0 whatever the
            # input): the members' mean output
            return torch.stack(outputs).mean(0)
        return combine_log_probs(outputs)

    def forward_features(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The members' per-step features concatenated, ``[B, M * hidden, L]`` (``[B, M * hidden, 1, L]`` for
        ``[B, C, 1, L]`` input)."""
        return torch.cat([member.forward_features(x, timestamps, lengths) for member in self.members], dim=1)

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = 'NCL',
            intermediates_only: bool = False,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """As ``SMPConvTCN.forward_intermediates``, block i's outputs of all members concatenated ``[B, M * hidden,
        L]``."""
        finals: List[torch.Tensor] = []
        per_member: List[List[torch.Tensor]] = []
        for member in self.members:
            out = member.forward_intermediates(
                x, indices, norm=norm, stop_early=stop_early, output_fmt=output_fmt, intermediates_only=False,
                timestamps=timestamps, lengths=lengths)
            assert isinstance(out, tuple)  # (not intermediates_only: said so for TorchScript, as SMPTCNFeatures does)
            finals.append(out[0])
            per_member.append(out[1])
        intermediates = [torch.cat([m[i] for m in per_member], dim=1) for i in range(len(per_member[0]))]
        if intermediates_only:
            return intermediates
        return torch.cat(finals, dim=1), intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        take_indices: List[int] = []
        for member in self.members:
            take_indices = member.prune_intermediate_layers(indices, prune_norm, prune_head)
        self.feature_info = self.feature_info[:len(self.members[0].feature_info)]
        self.num_classes = self.members[0].num_classes
        return take_indices

    def forward_head(
            self,
            x: torch.Tensor,
            pre_logits: bool = False,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Classify concatenated features ``[B, M * hidden, L]``: each member its own slice, combined
        (``combine_log_probs``; one output: the mean) to ``[B, num_classes]`` (per step with ``global_pool=''``);
        with ``pre_logits`` or no classifier, the members' pooled features concatenated, ``[B, M * hidden]``."""
        if x.shape[1] != self.num_features:
            raise ValueError('SMPConvTCNEnsemble.forward_head expects the members\' concatenated features, '
                             + str(self.num_features) + ' channels, got ' + str(x.shape[1]))
        self._check_members_pool()
        chunks = torch.split(x, self.member_features, dim=1)
        outputs = [member.forward_head(chunks[i], pre_logits=pre_logits, lengths=lengths)
                   for i, member in enumerate(self.members)]
        return self._combine(outputs, pre_logits)

    def forward_sequence(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Per-step ensemble logits ``[B, num_classes, L]``: step t's from steps 0..t (``SMPConvTCN.forward_sequence``
        of every member, combined as in ``forward``)."""
        return self._combine([member.forward_sequence(x, timestamps, lengths) for member in self.members], False)

    def forward(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Ensemble logits ``[B, num_classes]`` (``log`` of the mean class probabilities; with one output, the mean
        output) of sequences ``x`` [B, C, L] or [B, C, 1, L]; ``lengths`` / ``timestamps`` as for ``SMPConvTCN``."""
        self._check_members_pool()
        return self._combine([member(x, timestamps, lengths) for member in self.members], False)


def member_network(model: nn.Module) -> nn.Module:
    """The network that describes ``model``'s architecture (its ``causal``, ``kernel_length``, ``zero_pad_to``, ...):
    an ensemble's first member (``SMPConvTCNEnsemble``'s members share one architecture), any other model itself."""
    return getattr(model, 'members', [model])[0]


def is_sequence_architecture(name: str) -> bool:
    """Whether ``name`` (an architecture, without tag) is a registered SMP-TCN variant of this package (this module's
    or ``seq_zoo``'s entry points), told from timm's registry without building it."""
    import timm
    return timm.is_model(name) and timm.models.model_entrypoint(name).__module__.endswith(('smpconv_tcn', 'seq_zoo'))


def kernels_span_the_input(model: nn.Module) -> bool:
    """Whether ``model``'s SMP kernels are sampled over the whole input it reads (``kernel_length=None``, not
    ``zero_pad_to``): its deployed form then fits one input length only. False for models without such kernels."""
    unit = member_network(model)
    return getattr(unit, 'kernel_length', 0) is None and getattr(unit, 'zero_pad_to', None) is None


class SMPTCNFeatures(FeatureGetterNet):
    """timm's ``features_only`` wrapper of an SMP-TCN (``FeatureGetterNet``: the model's ``forward_intermediates``)
    that also takes ``timestamps`` and ``lengths``, as the model does: ``features(x, lengths=lengths)`` is the list
    of the selected blocks' outputs ``[B, hidden, L]`` of a right-padded batch read at its true lengths (timm's
    wrapper takes ``x`` only, so a padded batch would be read as if its padding were data: BatchNorm statistics in
    training, and a centred model's valid steps near the end, would see it). Steps after a sample's length are
    not part of its features (they hold what the blocks compute there)."""

    def forward(
            self,
            x: torch.Tensor,
            timestamps: Optional[torch.Tensor] = None,
            lengths: Optional[torch.Tensor] = None,
    ) -> List[torch.Tensor]:
        features = self.model.forward_intermediates(
            x, indices=self.out_indices, norm=self.norm, output_fmt=self.output_fmt, intermediates_only=True,
            timestamps=timestamps, lengths=lengths)
        # (intermediates_only: the list; said so for TorchScript, which types the call as either return)
        assert isinstance(features, list)
        return features


def member_indices(state_dict: Dict[str, Any]) -> List[int]:
    """The member numbers of an ensemble's state dict (``members.<i>.`` keys), sorted; empty for a single model."""
    return sorted({int(k.split('.')[1]) for k in state_dict if k.startswith('members.') and k.split('.')[1].isdigit()})


def _filter_ensemble(state_dict: Dict[str, Any], model: SMPConvTCNEnsemble) -> Dict[str, torch.Tensor]:
    """``checkpoint_filter_fn`` for an ensemble: each member's part through the single-model filter (which also
    re-parameterises a member for a deployed part)."""
    found, count = member_indices(state_dict), len(model.members)
    if not found:
        arch = (getattr(model, 'pretrained_cfg', None) or {}).get('architecture') or 'smpconv_tcn_<variant>'
        # num_members=1, not "without num_members": a registered ensemble's variant has members by default; every
        # argument its shapes tell (trial 66: num_members=1 alone was refused again for the class count)
        ensemble = f'num_members={count}'
        if any(k.startswith('blocks.') for k in state_dict):
            with _hints_of_members(1):
                args, untold = _shape_arg_values(state_dict, model.members[0])
            build = f'num_members=1 and the arguments it was trained with: {shape_hint(args, untold)}'
            # (the member's architecture too: the registered one's members refused a file of other widths)
            ensemble = ', '.join(f'{k}={v!r}' for k, v in dict(args, num_members=count).items())
        else:  # (the original layout: its shapes are read once it is refused as a single model)
            build = (f'num_members=1 (timm.create_model({arch!r}, num_members=1, ...)) and the arguments it was '
                     f'trained with')
        raise ValueError(
            f'checkpoint is a single SMP-TCN (no members.<i>. keys), the model an ensemble of {count}: create it with '
            f'{build} (a model folder\'s config.json records kernel_length= and global_pool=: '
            f'timm.create_model(\'local-dir:<folder>\', pretrained=True)), or, to train an '
            f'ensemble from it, put it into one member, the others keeping their random initialisation (not the '
            f'trained model\'s outputs): model = timm.create_model({arch!r}, {ensemble}); '
            f'model.members[0].load_state_dict(state_dict)')
    if found != list(range(len(found))):
        raise ValueError(f'checkpoint holds members {found}: an ensemble\'s members are numbered 0..M-1')
    if len(found) != count:
        raise ValueError(f'checkpoint is an ensemble of {len(found)} SMP-TCNs, the model of {count}: create it with '
                         f'num_members={len(found)}: {_members_shape_args(state_dict, model.members[0], len(found))}')
    out = {}
    with _hints_of_members(count):
        for i, member in enumerate(model.members):
            prefix = f'members.{i}.'
            part = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
            out.update({prefix + k: v for k, v in checkpoint_filter_fn(part, member).items()})
    return out


# ---------------------------------------------------------------------------------------------------------
# Registry

# The paper's training commands (original repository, smp/README.md). The sMNIST keys of the released model
# include the SMP biases, so pMNIST (same command) has them too; Speech Commands raw sets conv.bias=False.
ARCH_CONFIGS = {
    'smpconv_tcn_smnist': dict(in_chans=1, num_classes=10, init_radius=0.002, bias=True, input_dropout=0.1),
    'smpconv_tcn_pmnist': dict(in_chans=1, num_classes=10, init_radius=0.002, bias=True, input_dropout=0.1),
    'smpconv_tcn_scifar10': dict(in_chans=3, num_classes=10, init_radius=0.002, bias=True),
    'smpconv_tcn_chartraj': dict(in_chans=3, num_classes=20, init_radius=0.012, bias=True),
    'smpconv_tcn_speech_mfcc': dict(in_chans=20, num_classes=10, init_radius=0.012, bias=True, dropout=0.2),
    'smpconv_tcn_speech_raw': dict(in_chans=1, num_classes=10, init_radius=0.0002, bias=False, dropout=0.1),
}
COMMON_ARGS = dict(num_blocks=6, hidden_channels=30, n_points=30, coord_std=0.1, small_kernel_size=5, r_min=1e-4)
# arguments that change a trained SMP-TCN's outputs and no parameter's shape (its points load into any kernel length
# or pooling): weights recorded with other values are refused (check_recorded_architecture), a bare state dict's are
# assumed with a warning. Causal and zero-padded weights say so in their state dict ('centred', 'zero_padded_to')
SHAPE_BLIND_ARGS = ('global_pool', 'kernel_length')
# the recorded arguments checked against the model's (check_recorded_architecture): with causal and zero_pad_to, which
# the state dict tells too, so that the hint of a refusal names every argument to pass in one go, and the radius
# bound, which the kernel reads its radii clamped to (radii trained below a larger bound would be clamped silently)
RECORD_CHECKED_ARGS = SHAPE_BLIND_ARGS + ('causal', 'zero_pad_to', 'r_min')


# constructor arguments that define an SMP-TCN's network (an ensemble's: its members' and their number), not where
# it lives (device, dtype) or timm's image-model compatibility (img_size)
_ARCH_ARG_NAMES = (frozenset(inspect.signature(SMPConvTCN.__init__).parameters)
                   - {'self', 'kwargs', 'device', 'dtype', 'img_size'} | {'num_members'})
_ARCH_DEFAULTS = {k: p.default for k, p in inspect.signature(SMPConvTCN.__init__).parameters.items()
                  if k in _ARCH_ARG_NAMES and p.default is not inspect.Parameter.empty}


def whole_architecture(args: Dict[str, Any]) -> Dict[str, Any]:
    """The architecture arguments of ``args`` (a registered variant's, a caller's: ``SMPConvTCN`` constructor
    arguments and ``num_members``) completed by the class defaults, without device, dtype or other
    non-architecture keys: what a run folder records as ``model_args`` (``arch_args`` of a built model). None values
    are kept: ``kernel_length=None`` (whole-series kernels) or ``zero_pad_to=None`` is a choice that a variant
    redefined with a value must not override (timm passes a folder's None arguments to the model; a caller's None it
    drops)."""
    return {k: v for k, v in {**_ARCH_DEFAULTS, **args}.items() if k in _ARCH_ARG_NAMES}


def _weights_hold_one_model(kwargs: Dict[str, Any]) -> bool:
    """Whether the local safetensors file a whole pretrained cfg of ``kwargs`` names (``pretrained_cfg``: a
    ``local-dir:`` folder's ``model.safetensors``, ``load_model``'s recorded cfg) holds one SMP-TCN (no
    ``members.<i>.`` keys); False where no such file is named or it cannot be read (the build then reports what it
    finds). A file named by ``pretrained_cfg_overlay`` alone is not read: without its folder's recorded arguments it
    would be built with the variant's (another kernel length loads with the same shapes, silently wrong)."""
    from safetensors import safe_open
    cfg = kwargs.get('pretrained_cfg')
    path = cfg.get('file') if isinstance(cfg, dict) else None
    if not isinstance(path, (str, os.PathLike)):
        return False
    if os.path.isdir(path):  # timm's local-dir: the cfg names the folder, whose model.safetensors it loads first
        path = folder_weights_file(path) or os.path.join(path, 'model.safetensors')
    try:
        if is_safetensors_file(path):
            with safe_open(str(path), framework='pt') as f:
                keys = f.keys()
        else:  # a torch checkpoint (a folder's pytorch_model.bin): mapped, its tensors not read
            keys = find_state_dict(safe_torch_load(path, mmap=True))[0]
        return not member_indices(keys)
    except Exception:  # a missing or damaged file: the weight loading names it
        return False


def build_smpconv_tcn(variant: str, pretrained: bool, arch_args: Dict[str, Any],
                      kwargs: Dict[str, Any]) -> nn.Module:
    """A registered SMP-TCN ``variant`` through timm's builder: ``arch_args`` updated by the user's ``kwargs``, this
    module's checkpoint filter, block features for ``features_only``, clear errors for missing or bad weight files.
    With ``num_members`` in the arguments the model is an ``SMPConvTCNEnsemble`` of that many SMP-TCNs of the
    variant's architecture. Every SMPConvTCN it holds without a ``seq_len`` gets the length of its pretrained cfg's
    ``input_size`` (its deployment length), set after the weights are loaded so that a deployed checkpoint tells its
    own length."""
    kwargs = file_overlay_first(variant, pretrained, kwargs)
    _check_overlay_input_size((kwargs.get('pretrained_cfg_overlay') or {}).get('input_size'))
    # the class count and input channels a pretrained cfg states (a folder's or Hub repo's config, an overlay) where
    # the caller gives none, as timm builds any model: the variant's would win over them, and timm's loading would
    # then replace the weights' head at random or sum their first layer to other channels, silently
    model_args = {**arch_args, **cfg_model_defaults(variant, kwargs, stated_only=True), **kwargs}
    check_counts(num_blocks=model_args['num_blocks'])  # (its feature indices are built from it before the model)
    if pretrained and 'num_members' in arch_args and 'num_members' not in kwargs and _weights_hold_one_model(kwargs):
        # a single model's weights for a variant registered as an ensemble since (a folder written before records no
        # num_members): built as the one SMP-TCN the file holds, as its shapes tell its classes
        model_args['num_members'] = 1
    if isinstance(model_args.get('feature_cls'), str) and model_args['feature_cls'].lower() == 'getter':
        model_args['feature_cls'] = SMPTCNFeatures  # timm's getter, taking lengths and timestamps too
    if 'num_members' in model_args:
        check_num_members(model_args['num_members'])
        if int(model_args['num_members']) == 1:
            # one member is the SMP-TCN itself: how a registered ensemble's members are trained (its card's
            # commands), and what write_ensemble_folder combines; its first conv and classifier are its own
            del model_args['num_members']
            model_args['pretrained_cfg_overlay'] = dict(
                model_args.get('pretrained_cfg_overlay') or {}, first_conv='blocks.0.conv1.small', classifier='head')
    ensemble = 'num_members' in model_args
    if ensemble:
        model_args['num_members'] = int(model_args['num_members'])
        if model_args.get('feature_cls', SMPTCNFeatures) is not SMPTCNFeatures:
            raise ValueError(f"an SMP-TCN ensemble's features are its members' concatenated (forward_intermediates): "
                             f"features_only needs feature_cls='getter', got {model_args['feature_cls']!r}")
        # every member's first conv and classifier, whatever config the weights come with (timm adapts them when
        # in_chans / num_classes change)
        members = [f'members.{i}.' for i in range(model_args['num_members'])]
        model_args['pretrained_cfg_overlay'] = dict(
            model_args.get('pretrained_cfg_overlay') or {},
            first_conv=tuple(f'{m}blocks.0.conv1.small' for m in members),
            classifier=tuple(f'{m}head' for m in members))
    weights_length, length_unknown, file_length, contradicted, restored = None, False, None, None, None
    file_record = None
    if model_args.get('zero_pad_to') is not None:
        # such a model reads exactly zero_pad_to steps: its cfg says so (what info, export and timm users read),
        # whatever length the variant was registered with
        model_args['pretrained_cfg_overlay'] = dict(
            model_args.get('pretrained_cfg_overlay') or {},
            input_size=(model_args['in_chans'], 1, model_args['zero_pad_to']), pool_size=(1, model_args['zero_pad_to']),
            fixed_input_size=True)
    else:
        overlay = model_args.get('pretrained_cfg_overlay') or {}
        # an overlay's file: the length it records it was trained at (read once), unless the overlay states one
        file_record = recorded_trained_length(overlay['file']) if pretrained and overlay.get('file') else None
        file_length = file_record if 'input_size' not in overlay else None
        # one that records none: its length is taken from the cfg, or the overlay's input size, and said so (below)
        # (an overlay's description is the caller's, as say_if_random leaves it)
        length_unknown = bool(pretrained and overlay.get('file') and 'description' not in overlay and not file_record)
        spans = whole_architecture(model_args).get('kernel_length') is None
        if pretrained and file_record and 'input_size' not in overlay and spans:
            # a file whose length was stated against its weights' record (saved so): said as its folder says it
            contradicted = recorded_stated_against(overlay['file'])
        if pretrained and 'input_size' in overlay and spans:
            # an input size the caller states over weights that record another trained length: taken, and said
            recorded, before = ((file_record, recorded_stated_against(overlay['file'])) if overlay.get('file') else
                                _recorded_length(variant, model_args))
            stated = int(overlay['input_size'][-1])
            contradicted, restored = _stated_against(stated, recorded, before)
            if contradicted:
                warnings.warn(stated_length_contradiction(stated, contradicted), UserWarning,
                              stacklevel=caller_stacklevel())
        length = model_args.get('seq_len')
        if length is not None:
            # a model created for a deployment length: its cfg's input size is that length (the default of info,
            # reparam and export), not the variant's; the weights' length is said in its description (below)
            weights_length = file_length or _registered_length(variant, model_args)
        elif file_length and file_length != _registered_length(variant, model_args):
            # created for no length: the file's (trial 67d: a file trained at 300 was scored at the cfg's 150,
            # 0.6467 for 0.9733), as a folder of it gives its config.json's
            length = file_length
        if length is not None:
            model_args['pretrained_cfg_overlay'] = dict(overlay, input_size=(model_args['in_chans'], 1, length),
                                                        pool_size=(1, length))
    # weights of another kernel length load into any: what they were trained as, if recorded
    check_pretrained_record(variant, pretrained, kwargs, whole_architecture(model_args), RECORD_CHECKED_ARGS)
    with explain_missing_weights(variant, pretrained, kwargs, SHAPE_BLIND_ARGS), \
            first_layer_adapted_by_filter(asked_for('in_chans', kwargs)), \
            load_record() as loaded:
        model = build_model_with_cfg(
            SMPConvTCNEnsemble if ensemble else SMPConvTCN, variant, pretrained,
            pretrained_filter_fn=record_loaded_classes(checkpoint_filter_fn, bool(kwargs.get('features_only'))),
            feature_cfg=dict(out_indices=tuple(range(model_args['num_blocks'])), feature_cls=SMPTCNFeatures),
            **model_args,
        )
    settle_new_classifier(model, loaded)  # (timm's train.py --pretrained-path)
    say_saved_weights(model, pretrained, kwargs)  # (a folder's description, before this build's notes)
    # the model itself, or the one a features_only wrapper holds (an ensemble's members: the ensemble's cfg)
    for module in model.modules():
        if isinstance(module, (SMPConvTCN, SMPConvTCNEnsemble)) and getattr(module, 'pretrained_cfg', None):
            # a classifier of another size than the weights', or forced new
            drop_stale_label_names(module, new=loaded.new_classifier)
            length = sequence_input_size(module.pretrained_cfg)[1]
            for tcn in module.modules():
                if isinstance(tcn, SMPConvTCN) and tcn.seq_len is None:
                    tcn.seq_len = length
                    tcn._seq_len_is_default = True
    # the whole architecture it was built with (the variant's arguments, the caller's and the class defaults): what a
    # run folder records, so that a later redefinition of the registered variant does not rebuild its weights into
    # another network. None values too (kernel_length=None: whole-series kernels): timm passes a folder's recorded
    # None to the model, and drops only a caller's
    model.arch_args = whole_architecture(model_args)
    say_deployment_length(model, pretrained, model_args.get('seq_len'), weights_length, _takes_any_length(model))
    if model_args.get('zero_pad_to') is None:
        # a file loaded after this build (timm's checkpoint_path=) is then said trained at the length it records,
        # else at the cfg's, not seq_len's; without seq_len, the model takes that length (follow_loaded_file_length)
        for module in model.modules():
            if isinstance(module, (SMPConvTCN, SMPConvTCNEnsemble)) and getattr(module, 'pretrained_cfg', None):
                module._lengths_for_file = (model_args.get('seq_len'), weights_length, _takes_any_length(module))
                # (the caller's overlay: an input size states the length of weights that record none; a description
                # is the caller's)
                module._caller_overlay = set(kwargs.get('pretrained_cfg_overlay') or {})
    # (its classifier is said with its labels: drop_stale_label_names)
    model = describe_weights(remember_create_args(model, kwargs), pretrained, kwargs, classifier=False,
                             weights_chans=loaded.weights_chans)
    if model_args.get('zero_pad_to') is None:  # (after the description of the weights loaded: it replaces the cfg's)
        # (the caller's input size, or a file's record of one stated before)
        said_size = 'input_size' in (kwargs.get('pretrained_cfg_overlay') or {}) or contradicted is not None
        caller_size = (kwargs.get('pretrained_cfg_overlay') or {}).get('input_size')
        say_length_recorded(model, unknown=length_unknown, stated=said_size, contradicted=contradicted,
                            restored=restored, trained=int(caller_size[-1]) if caller_size else file_record)
    return model


def say_length_recorded(model: nn.Module, unknown: bool, stated: bool = False,
                        contradicted: Optional[int] = None, restored: Optional[int] = None,
                        trained: Optional[int] = None) -> None:
    """Where weights loaded from a file that records no trained length (``unknown``: an overlay's ``file=``, a
    ``checkpoint_path=``) went into a model whose kernels span the whole input (another kernel at another length), its
    description says so (trial 69b: weights trained at 300 were saved as trained at 150, scored 0.66 for 0.94 without
    a warning): the cfg's length taken for it (``length_not_recorded_note``: ``cfg_trained_length`` is None, so a
    folder saved from it, its card and its weights' metadata do not call it trained; evaluate-seq, reparam and export
    warn), or, ``stated`` (the caller's overlay ``input_size``, what their hints give), that length as the trained one
    (``length_stated_note``), also over a folder saved from such a model. ``contradicted``: the other trained length
    the weights record, which the stated one replaced (said too, where no deployment length says the stated one).
    ``restored``: a length stated before against the weights' record, which the caller's gives back: its notes
    dropped. ``trained``: the stated length, where the cfg's input size is a deployment length (``seq_len=``)."""
    spans = any(kernels_span_the_input(m) for m in model.modules() if isinstance(m, (SMPConvTCN, SMPConvTCNEnsemble)))
    if not spans:
        return
    for module in model.modules():  # (a features_only wrapper and the model it holds)
        cfg = getattr(module, 'pretrained_cfg', None)
        if not isinstance(cfg, dict):
            continue
        said = cfg.get('description') or ''
        if stated and (unknown or said_length_not_recorded(cfg) is not None):
            said = with_note(without_length_not_recorded(said), length_stated_note(sequence_input_size(cfg)[1]))
        elif stated and restored:
            # its input size is still a deployment length where it differs (a folder deployed for the length stated
            # before: trial 70c, given back the recorded 150 it scored 0.4933 of 300-step kernels without a word)
            said = deployment_description(dict(cfg, description=without_length_stated(said, keep=restored)),
                                          sequence_input_size(cfg)[1], restored)
        elif stated and contradicted:
            # (an earlier statement's notes replaced: a folder saved with a wrong one is corrected so; a deployment
            # length's note of the stated length kept, or said where the input size is another: a deployed folder)
            length = trained or sequence_input_size(cfg)[1]
            said = deployment_description(
                dict(cfg, description=with_note(without_length_stated(said, keep=length),
                                                length_stated_note(length, contradicted))),
                sequence_input_size(cfg)[1], length)
        elif unknown and not stated:
            # the weights' length as the description names it (a deployment length's "(trained at N)": the cfg's,
            # taken), else the cfg's input length
            length = said_trained_length(cfg) or sequence_input_size(cfg)[1]
            said = with_length_not_recorded(said, length)
        else:
            continue
        module.pretrained_cfg = module.default_cfg = dict(cfg, description=said)


def follow_loaded_file_length(model: nn.Module, path: Union[str, Path], trained: Optional[int] = None,
                              caller_overlay: Optional[Iterable[str]] = None) -> None:
    """After the file ``path`` was loaded into an SMP-TCN (``timm.create_model(name, checkpoint_path=F)``), the length
    the file records it was trained at (``recorded_trained_length``), where it records one:

    - built for a deployment length (``seq_len=200``): its description says that length, else its cfg's, as the
      weights' trained one ("seq_len=200, its deployment length (trained at 150)"), as for the tag's weights and an
      overlay's ``file=`` (trial 67: 200 was taken for GunPoint's weights, which evaluate-seq then scored 0.56 for
      1.0);
    - built for no length: the model's length (its cfg's input size and ``seq_len``, as an overlay's file and a folder
      give theirs; trial 67d: a file trained at 300 was scored at the cfg's 150, 0.6467 for 0.9733); deployed weights
      keep their kernels' length, said as a deployment length where the file records another trained one. Not of a
      model zero-padded to a fixed length.

    ``trained``: the trained length the caller knows (a bare file's loader: the input size it was given), in place of
    the file's record. ``caller_overlay``: the ``pretrained_cfg_overlay`` fields the caller gave, where a loader built
    the model with an overlay of its own (a bare file's recorded length is no statement of the caller's: trial 70b,
    "pretrained_cfg_overlay input_size states 300" was said of a file that records it), in place of the build's.
    Other models are left as they are."""
    modules = [m for m in model.modules() if getattr(m, '_lengths_for_file', None) is not None]
    if not modules:
        return
    def given(module: nn.Module) -> set:
        return set(caller_overlay) if caller_overlay is not None else getattr(module, '_caller_overlay', set())
    recorded = trained or recorded_trained_length(path)  # (the file read once, for an ensemble and its members)
    before = recorded_stated_against(path) if recorded else None  # (a length stated against it before it was saved)
    contradicted, stated_length = None, None
    for module in modules:
        length, cfg_length, any_length = module._lengths_for_file
        current = sequence_input_size(module.pretrained_cfg)[1]
        if length is not None:
            trained_length = recorded or cfg_length
            if recorded and cfg_length and 'input_size' in given(module):
                # the caller's input size states the trained length of a deployment length's weights (trial 70c:
                # stating the 150 a file recorded before it was saved scored it at the file's 300, silently)
                trained_length = cfg_length
                against = _stated_against(cfg_length, recorded, before)[0]
                if against:
                    if not contradicted:
                        warnings.warn(stated_length_contradiction(cfg_length, against), UserWarning,
                                      stacklevel=caller_stacklevel())
                    contradicted, stated_length = against, cfg_length
            say_deployment_length(module, True, length, trained_length, any_length, replace=True)
        elif module.is_deployed:
            if recorded and recorded != current:
                # deployed for another length than trained at (its kernels'): said, as of a folder reparam wrote
                # (trial 68 D: scored 0.68 for 0.94 without a warning)
                say_deployment_length(module, True, current, recorded, any_length, replace=True)
        elif recorded and 'input_size' in given(module) and (
                recorded != current or before):
            # the caller's input size states another length than the weights' own record (the file's, or the one
            # a statement replaced before it was saved): taken, with a word (as the builder takes it over an
            # overlay's file), unless it gives back the one stated against before
            against = _stated_against(current, recorded, before)[0]
            if not against:
                continue
            if not contradicted:
                warnings.warn(stated_length_contradiction(current, against), UserWarning,
                              stacklevel=caller_stacklevel())
            contradicted, stated_length = against, current
        elif recorded and recorded != current:
            # the cfg first: the seq_len setter below (_cfg_follows_length) would otherwise take its old length for
            # the trained one and say "seq_len=300, its deployment length (trained at 150)"
            module.pretrained_cfg = module.default_cfg = dict(
                module.pretrained_cfg, input_size=(*module.pretrained_cfg['input_size'][:-1], recorded),
                pool_size=(1, recorded))
            for tcn in module.modules():
                if isinstance(tcn, SMPConvTCN) and getattr(tcn, '_seq_len_is_default', False):
                    tcn.seq_len = recorded
                    tcn._seq_len_is_default = True
    if not recorded:  # (after its deployment length's note: the cfg's length, said taken or stated)
        fields = set().union(*(given(m) for m in modules))
        say_length_recorded(model, unknown='description' not in fields, stated='input_size' in fields)
    elif contradicted:
        say_length_recorded(model, unknown=False, stated=True, contradicted=contradicted, trained=stated_length)
    elif before and not any('input_size' in given(m) for m in modules):
        # a file whose length was stated against its weights' record (saved so): said as its folder says it (trial
        # 70b: a copy scored 0.4933 for 1.0 without a word; 70c: so with seq_len= too)
        say_length_recorded(model, unknown=False, stated=True, contradicted=before, trained=recorded)


def _stated_against(stated: int, recorded: Optional[int],
                    before: Optional[int]) -> Tuple[Optional[int], Optional[int]]:
    # a trained length the caller states (an overlay's input size) over weights that record ``recorded``, where
    # ``before`` is the length they recorded before another was stated against it (a folder saved so): (the record it
    # contradicts, None) where it contradicts the weights' own record (the file's or folder's, or the one a statement
    # replaced: trial 70c, a second statement lost it, and stating the first again said nothing), taken with a
    # warning; (None, stated) where it gives back ``before``, as recorded, without a word (trial 70: the two
    # warnings' hints sent the user back); (None, None) where it states the record itself, or nothing is recorded
    if recorded and stated == before:
        return None, stated
    if recorded and (recorded != stated or before):
        return before or recorded, None
    return None, None


def _check_overlay_input_size(size: Any) -> None:
    # a caller's input size in timm's (C, 1, L) form: [1, 300] ended in an AssertionError inside timm, and the image
    # order [1, 300, 1] stated a trained length of 1 step (trial 70)
    ok = isinstance(size, (list, tuple)) and len(size) == 3 and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size) and size[1] == 1
    if size is not None and not ok:
        raise ValueError(f"pretrained_cfg_overlay input_size {size!r}: a sequence model's input size is [C, 1, L] "
                         f"(its input channels, 1, its length in steps), e.g. [1, 1, 300]")


def _recorded_length(variant: str, model_args: Dict[str, Any]) -> Tuple[Optional[int], Optional[int]]:
    # the trained length the weights' own cfg records (the tag's, a folder's), the caller's input size left out, and
    # the one they recorded before, where that was stated against it (said_contradicted_length)
    from timm.models._builder import resolve_pretrained_cfg
    overlay = {k: v for k, v in (model_args.get('pretrained_cfg_overlay') or {}).items()
               if k not in ('input_size', 'pool_size')}
    try:
        cfg = resolve_pretrained_cfg(variant, model_args.get('pretrained_cfg'), overlay)
    except (TypeError, ValueError):
        return None, None
    cfg = cfg.to_dict() if cfg is not None else {}
    return cfg_trained_length(cfg) if cfg else None, said_contradicted_length(cfg)


def _registered_length(variant: str, model_args: Dict[str, Any]) -> Optional[int]:
    # the input length of the pretrained cfg timm resolves for this build (the tag's, a folder's whole cfg, the
    # caller's overlay), before seq_len replaces it: the length the weights were trained at
    from timm.models._builder import resolve_pretrained_cfg
    try:
        size = resolve_pretrained_cfg(variant, model_args.get('pretrained_cfg'),
                                      model_args.get('pretrained_cfg_overlay')).input_size
    except (TypeError, ValueError):
        return None  # (timm's build raises on such a cfg, with its own message)
    return int(size[-1]) if size else None


def _create_smpconv_tcn(variant: str, pretrained: bool = False, **kwargs) -> nn.Module:
    return build_smpconv_tcn(variant, pretrained, dict(COMMON_ARGS, **ARCH_CONFIGS[variant]), kwargs)


def _cfg(in_chans: int, length: int, num_classes: int, **kwargs) -> Dict[str, Any]:
    return {
        'url': '',
        'num_classes': num_classes,
        # timm needs a 3-tuple: a sequence of `length` steps with `in_chans` channels is (C, 1, L)
        'input_size': (in_chans, 1, length), 'pool_size': (1, length),  # features: one per step
        'mean': (0.,) * in_chans, 'std': (1.,) * in_chans,
        **SEQUENCE_DATA_CFG,
        'first_conv': 'blocks.0.conv1.small', 'classifier': 'head',
        'license': 'mit',
        'paper_name': 'SMPConv: Self-moving Point Representations for Continuous Convolution',
        'origin_url': 'https://github.com/sangnekim/SMPConv',
        **kwargs,
    }


default_cfgs = generate_default_cfgs({
    # 'untrained': the paper's configuration, no weights. Trained weights get their own tags (seq_zoo).
    'smpconv_tcn_smnist.untrained': _cfg(
        1, 784, 10, mean=(0.1307,), std=(0.3081,),
        description='sequential MNIST: the 28x28 pixels in raster order, 1 x 784, normalised with the MNIST '
                    'mean and std; paper test accuracy 99.75'),
    'smpconv_tcn_pmnist.untrained': _cfg(
        1, 784, 10, mean=(0.1307,), std=(0.3081,),
        description='permuted sequential MNIST: sMNIST with one fixed random pixel permutation; paper 99.10'),
    'smpconv_tcn_scifar10.untrained': _cfg(
        3, 1024, 10, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD,
        description='sequential CIFAR-10: the 32x32 pixels in raster order, 3 x 1024, normalised with the '
                    'ImageNet mean and std as in the original; paper 84.86'),
    'smpconv_tcn_chartraj.untrained': _cfg(
        3, 182, 20, description='UEA Character Trajectories: pen x, y and force, 3 x 182 (padded); paper 99.53'),
    'smpconv_tcn_speech_mfcc.untrained': _cfg(
        20, 161, 10, description='Speech Commands, 10 words: 20 MFCC coefficients x 161 frames; paper 97.71'),
    'smpconv_tcn_speech_raw.untrained': _cfg(
        1, 16000, 10, description='Speech Commands, 10 words: raw 16 kHz waveform, 1 x 16000; paper 94.95'),
})


@register_model
def smpconv_tcn_smnist(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for sequential MNIST (1 x 784, 10 classes): 6 blocks x 30 channels, 30 points; 371,320 params."""
    return _create_smpconv_tcn('smpconv_tcn_smnist', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_pmnist(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for permuted sequential MNIST (1 x 784, 10 classes); 371,320 params."""
    return _create_smpconv_tcn('smpconv_tcn_pmnist', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_scifar10(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for sequential CIFAR-10 (3 x 1024, 10 classes); 373,480 params."""
    return _create_smpconv_tcn('smpconv_tcn_scifar10', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_chartraj(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for Character Trajectories (3 x 182, 20 classes); 373,790 params."""
    return _create_smpconv_tcn('smpconv_tcn_chartraj', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_speech_mfcc(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for Speech Commands MFCC features (20 x 161, 10 classes); 391,840 params."""
    return _create_smpconv_tcn('smpconv_tcn_speech_mfcc', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_speech_raw(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN for raw Speech Commands audio (1 x 16000, 10 classes), SMP convs without bias; 370,960 params."""
    return _create_smpconv_tcn('smpconv_tcn_speech_raw', pretrained=pretrained, **kwargs)
