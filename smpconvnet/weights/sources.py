"""Model sources: whatever a user or a command names, turned into a model.

``load_model(spec)`` builds a model from whatever a command is given: a registered name (``smpconvnet_t``,
``smpconvnet_t.in1k``), ``hf-hub:org/name``, ``local-dir:/path`` or a folder (converted, written by
``train-seq``, or deployed by ``smpconvnet reparam``), or a checkpoint file of any model family: one written by
timm's ``train.py`` (``CheckpointSaver``), by ``smpconvnet train-seq`` (``OUTPUT/checkpoint.pth``), an original
(authors') checkpoint or a bare state dict. ``identify_checkpoint`` tells which model a file holds: from the
model name and options its training script recorded, else its ``arch`` key, else the tensor shapes.
"""
import argparse
import contextlib
import dataclasses
import inspect
import json
import os
import re
import shlex
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch

from ..atomic_io import holds_nothing, interrupted_write_note
from ..user_warnings import caller_stacklevel
from ..models import (
    SHAPE_BLIND_ARGS, adapted_channels_note, as_recorded, check_weights_file, command_option,
    find_state_dict,
    folder_weights_file, follow_loaded_file_length, has_batchnorm, innermost_checkpoint, is_deployed_state_dict,
    is_safetensors_file, is_unsuffixed_safetensors, is_weight_source_error, local_model_name, member_network,
    model_folder_of, overlay_sources, pooling_at_config_root, pooling_shown_by, recorded_model_args,
    recorded_trained_length, removed_prefix, safe_torch_load, say_saved_adaptation, state_dict_problem,
    train_py_model_args, trained_at, unwrap_state_dict, warn_clamped_radii, weights_loaded_after, with_build_notes,
    with_class_defaults, with_note,
)
from .folders import (CHECKPOINT_SUFFIXES, CONFIG_NAME, DEPLOYED_KEY, EXTRA_CONFIG_KEYS, NOT_RECORDED,
                      TRAINED_WITH_KEY, WEIGHTS_NAME, read_config, retrained_cfg, set_pretrained_cfg, with_channels)

__all__ = [
    'read_checkpoint', 'detect_architecture', 'identify_checkpoint', 'CheckpointSource', 'load_model',
    'load_model_with_config', 'load_deployed', 'register_checkpoint_format', 'weights_file_hints',
    'weights_file_hint', 'unknown_argument_hint', 'changed_computation', 'changed_computation_message',
    'weights_file_architecture',
]

PathLike = Union[str, os.PathLike]


# ---------------------------------------------------------------------------------------------------------
# Reading checkpoints

def read_checkpoint(path: PathLike, trust_pickle: bool = False) -> Dict[str, Any]:
    """Load a checkpoint file as a dict (state dict or training checkpoint), on the CPU.

    ``.safetensors`` is read directly. Anything else goes through ``torch.load(weights_only=True)``, which
    also accepts the ``argparse.Namespace`` training scripts store next to the weights; other pickled
    objects need ``trust_pickle=True`` (only for files from a source you trust: unpickling runs code).
    """
    path = check_weights_file(path)  # a folder, an empty or truncated file: an error naming it
    if is_safetensors_file(path):
        from safetensors.torch import load_file
        try:
            return load_file(str(path), device='cpu')
        except Exception as e:  # noqa: BLE001  (safetensors raises its own error types)
            raise ValueError(f'{path} is not a readable .safetensors file (corrupt or truncated?): {e}') from e
    if not zipfile.is_zipfile(path):
        # torch.save writes zip archives (since PyTorch 1.6); its legacy format (_use_new_zipfile_serialization=False,
        # older files) holds tensors torch.load reads safely, as timm does; a bare pickle is not a checkpoint torch.load
        # reads, whatever --trust-pickle says
        try:
            return innermost_checkpoint(safe_torch_load(path))
        except Exception:  # noqa: BLE001  (whatever the legacy reader raises on a file that is not its format)
            raise ValueError(f'{path} is not a torch.save checkpoint (no zip archive, nor the legacy format: a plain '
                             f'pickle?); expected a .pth saved with torch.save or a .safetensors file') from None
    try:
        if trust_pickle:
            checkpoint = torch.load(path, map_location='cpu', weights_only=False)
        else:
            checkpoint = safe_torch_load(path)
    except __import__('pickle').UnpicklingError as e:
        first = re.sub(r'\x1b\[[0-9;]*m', '', str(e)).splitlines()[0]  # torch colours its message
        raise ValueError(
            f'{path} holds Python objects that safe loading refuses ({first}); if you trust '
            f'the file, pass --trust-pickle (trust_pickle=True)') from e
    except (AttributeError, ImportError) as e:  # trusted unpickling of a class this environment does not have
        raise ValueError(f'{path} holds pickled objects of a class that cannot be imported here ({e}); load it where '
                         f'that code is installed and save its state dict') from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(f'{path} is not a readable PyTorch checkpoint (corrupt or truncated?): '
                         f'{str(e).splitlines()[0] if str(e) else type(e).__name__}') from e
    problem = state_dict_problem(checkpoint)
    if problem:
        raise ValueError(f'{path} {problem}')
    return innermost_checkpoint(checkpoint)  # (a checkpoint saved inside another: its record beside its weights)


def detect_architecture(checkpoint: Dict[str, Any], architecture: Optional[str] = None,
                        kernel_sizes: Optional[Sequence[int]] = None) -> Tuple[str, Dict[str, Any], str]:
    """(registered architecture, model_args, description) of an SMPConvNet checkpoint, from its shapes.

    Without ``architecture``: SMPConvNet-T and -B give ``smpconvnet_t`` / ``smpconvnet_b`` and only the arguments
    that differ from them (classes, input channels); another size gives the family's ``smpconvnet_t`` with every
    architecture argument, so ``config.json`` rebuilds it exactly. The SMP kernel sizes are read off the original
    layout's ``kernel_coord`` grids (this package's layout has none: a point kernel can be sampled at any size).

    With ``architecture`` (a registered SMPConvNet the checkpoint names, e.g. timm's ``arch`` key): the arguments
    that differ from it; the kernel sizes, when the checkpoint has no grids, are ``kernel_sizes`` if given (those the
    caller built the model with), else that architecture's.

    Raises:
        ValueError: not an SMPConvNet, or the kernel sizes cannot be told (no grids and no architecture).
    """
    from timm.models import split_model_name_tag
    from ..models.smpconvnet import (ARCH_CONFIGS, infer_config_from_checkpoint, is_original_layout,
                                     points_divide_for, remap_original_keys, stages_without_grids_words)
    named = split_model_name_tag(architecture)[0] if architecture else None
    if named is not None and named not in ARCH_CONFIGS:
        raise ValueError(f'{architecture} is not an SMPConvNet architecture (expected one of {sorted(ARCH_CONFIGS)})')
    try:
        cfg = infer_config_from_checkpoint(checkpoint)
    except ValueError as e:
        raise ValueError(f'cannot tell which SMPConvNet this is: {e}') from e
    state_dict = unwrap_state_dict(checkpoint, 'an SMPConvNet state dict')
    if is_original_layout(state_dict):
        state_dict = remap_original_keys(state_dict, rotate=False)
    if None in cfg['channels'] or None in cfg['n_points']:
        raise ValueError('cannot tell which SMPConvNet this is: some stage has no SMP block '
                         f"(channels {cfg['channels']}, points {cfg['n_points']})")
    given, kernel_sizes = kernel_sizes, cfg.get('large_kernel_sizes')
    if kernel_sizes is None and given is not None:
        kernel_sizes = [int(k) for k in given]
        if len(kernel_sizes) != len(cfg['channels']):
            raise ValueError(f"large_kernel_sizes={kernel_sizes} gives {len(kernel_sizes)} stages, the checkpoint has "
                             f"{len(cfg['channels'])}")
    if kernel_sizes is None and named is not None:
        kernel_sizes = list(ARCH_CONFIGS[named]['large_kernel_sizes'])
        if len(kernel_sizes) != len(cfg['channels']):
            raise ValueError(f"cannot tell the SMP kernel sizes: the checkpoint has {len(cfg['channels'])} stages, "
                             f'{named} has kernel sizes for {len(kernel_sizes)}')
    if kernel_sizes is None and cfg.get('stages_without_grids'):
        raise ValueError('cannot tell the SMP kernel sizes: the checkpoint has kernel_coord grids for some stages '
                         f'only ({stages_without_grids_words(cfg)}; the original code saves one per block of every '
                         'stage)')
    if kernel_sizes is None:
        raise ValueError('cannot tell the SMP kernel sizes: the checkpoint has no kernel_coord grids and names no '
                         'model (a converted checkpoint: load it with its config.json, e.g. local-dir:<folder>; a '
                         "training checkpoint: one that records the model name, as timm's train.py does)")
    args: Dict[str, Any] = {}
    c0 = cfg['channels'][0]
    dw = state_dict['stages.0.blocks.0.large_kernel.smp.conv.kernel.weights'].shape[0]
    ffn_hidden = state_dict['stages.0.blocks.1.pw1.conv.weight'].shape[0]
    small = state_dict['stages.0.blocks.0.large_kernel.small_conv.conv.weight'].shape[-1]
    extra = dict(dw_ratio=dw / c0, ffn_ratio=ffn_hidden / c0, small_kernel_size=small)
    defaults = dict(dw_ratio=1., ffn_ratio=4., small_kernel_size=5)
    divide = points_divide_for(kernel_sizes, cfg['n_points'])
    if divide is None:
        raise ValueError(f"cannot express the points per kernel {cfg['n_points']} for kernels {kernel_sizes} "
                         f'as k * k // n_points_divide')
    found = dict(large_kernel_sizes=list(kernel_sizes), layers=cfg['layers'], channels=cfg['channels'],
                 n_points_divide=divide)
    if named is not None:
        arch = ARCH_CONFIGS[named]
        ref = dict(large_kernel_sizes=list(arch['large_kernel_sizes']), layers=list(arch['layers']),
                   channels=list(arch['channels']), n_points_divide=4)
        args.update({k: v for k, v in found.items() if v != ref[k]})
        args.update({k: v for k, v in extra.items() if v != defaults[k]})
        architecture = named
        # every argument that differs from the named model's (a file of dw_ratio=2 was called plain smpconvnet_t,
        # in its card too)
        words = ([f"channels {cfg['channels']}", f"layers {cfg['layers']}"] if {'channels', 'layers'} & set(args)
                 else []) + [f'{k}={v!r}' for k, v in args.items() if k not in ('channels', 'layers')]
        description = f"SMPConvNet {named}" + (f" ({', '.join(words)})" if words else '')
    else:
        for name, arch in ARCH_CONFIGS.items():
            if (list(arch['channels']) == cfg['channels'] and list(arch['layers']) == cfg['layers']
                    and list(arch['large_kernel_sizes']) == kernel_sizes
                    and divide == 4 and extra == defaults):
                architecture, description = name, f"SMPConvNet-{name.split('_')[-1].upper()}"
                break
        else:
            architecture = 'smpconvnet_t'
            # the arguments other than the defaults, said with the shapes (dw_ratio=2 too)
            others = {k: v for k, v in extra.items() if v != defaults[k]}
            others.update({} if divide == 4 else {'n_points_divide': divide})
            args.update(found)
            args.update(others)
            description = (f"a non-standard SMPConvNet (channels {cfg['channels']}, layers {cfg['layers']}, "
                           f"kernels {kernel_sizes}{''.join(f', {k}={v!r}' for k, v in others.items())}): neither "
                           f'SMPConvNet-T nor -B')
    if cfg['num_classes'] != 1000:
        args['num_classes'] = cfg['num_classes']
    if cfg['in_chans'] != 3:
        args['in_chans'] = cfg['in_chans']
    pool = pooling_shown_by(state_dict.get('head.fc.weight'), cfg['channels'][-1])
    if pool:
        args['global_pool'] = pool
    return architecture, args, description


# ---------------------------------------------------------------------------------------------------------
# Which model a checkpoint file holds

class CheckpointSource(NamedTuple):
    """How to build the model a checkpoint's weights belong to (``identify_checkpoint``)."""
    architecture: str               # a registered timm model name, with its pretrained tag if one was recorded
    model_args: Dict[str, Any]      # timm.create_model arguments that differ from the architecture's defaults
    pretrained_cfg: Dict[str, Any]  # overlay on the registered pretrained_cfg (train-seq: the run's preprocessing)
    description: str                # what the file is, for messages
    extra_config: Dict[str, Any]    # config.json keys beyond timm's (EXTRA_CONFIG_KEYS: train-seq's data set)
    assumed: Tuple[str, ...] = ()   # constructor arguments the file does not tell, taken from the architecture
    unresolved: str = ''            # the model the file names where it cannot be built here (train.py's args.model)
    bare: bool = False              # a deployed file that names no model, its shapes telling every argument


# per family, the constructor arguments that change a model's outputs but not its tensors' shapes: a state dict that
# names no model cannot tell them (an SMPConvNet's kernel sizes are told from its points, where they divide)
_SHAPELESS_ARGS = {family: SHAPE_BLIND_ARGS[family] for family in ('tcn', 'resnet')}


# the model families of this package: (the model class name lower-cased, as timm's CheckpointSaver records it as
# 'arch' without args; the default architecture of a checkpoint that names no registered model)
_FAMILIES = {
    'smpconvnet': ('smpconvnet', 'smpconvnet_t'),
    'tcn': ('smpconvtcn', 'smpconv_tcn_smnist'),
    'resnet': ('smpconvresnet', 'smpconv_resnet_cifar10'),
}


def _registered_family(architecture: str) -> Optional[str]:
    """The family of a registered architecture of this package (None for any other model)."""
    from timm.models import split_model_name_tag
    from ..models import seq_zoo, smpconv_tcn, smpconvnet
    name = split_model_name_tag(architecture)[0]
    if name in smpconvnet.ARCH_CONFIGS:
        return 'smpconvnet'
    if name in smpconv_tcn.ARCH_CONFIGS or name in seq_zoo.SEQ_ZOO:
        return 'tcn'
    if name == 'smpconv_resnet_cifar10':
        return 'resnet'
    return None


def _registered_args(architecture: str) -> Dict[str, Any]:
    """The constructor arguments ``timm.create_model(architecture)`` builds a TCN / ResNet / SMPConvNet with (the
    variant's table over the class defaults)."""
    from timm.models import split_model_name_tag
    from ..models import seq_zoo, smpconv_resnet, smpconv_tcn, smpconvnet
    name = split_model_name_tag(architecture)[0]
    cls = {'tcn': smpconv_tcn.SMPConvTCN, 'smpconvnet': smpconvnet.SMPConvNet}.get(
        _registered_family(name), smpconv_resnet.SMPConvResNet)
    args = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if p.default is not p.empty}
    if name in seq_zoo.SEQ_ZOO:
        args.update(seq_zoo.SEQ_ZOO[name]['arch'])
    elif name in smpconv_tcn.ARCH_CONFIGS:
        args.update(smpconv_tcn.COMMON_ARGS, **smpconv_tcn.ARCH_CONFIGS[name])
    elif name in smpconvnet.ARCH_CONFIGS:
        args.update(smpconvnet.ARCH_CONFIGS[name])
    return args


def _family_of(state_dict: Dict[str, Any]) -> Optional[str]:
    """The family whose (this package's or the original) key layout a state dict has."""
    keys = set(state_dict)
    if 'stem.0.conv.weight' in keys or any(k.startswith('transitions.') for k in keys):
        return 'smpconvnet'
    if 'stem.smp.kernel.weights' in keys or 'stem.weight' in keys \
            or any(k.startswith(('cconv1.', 'out_layer.')) for k in keys):
        return 'resnet'
    if {'blocks.0.conv1.smp.kernel.weights', 'members.0.blocks.0.conv1.smp.kernel.weights'} & keys \
            or any(k.startswith(('backbone.', 'finallyr.')) for k in keys) \
            or is_deployed_state_dict(state_dict, _STATIC_KERNELS['tcn']):
        return 'tcn'
    return None


# per family, the key ending of a deployed state dict's static kernel (is_deployed_state_dict)
_STATIC_KERNELS = {'smpconvnet': '.large_kernel.weight', 'resnet': 'stem.weight', 'tcn': 'blocks.0.conv1.weight'}


def _deployed_resnet_args(state_dict: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    # the arguments a deployed SMP-ResNet state dict's shapes tell (deployed_model_args), None for any other
    if not is_deployed_state_dict(state_dict, _STATIC_KERNELS['resnet']):
        return None
    from ..models.smpconv_resnet import deployed_model_args
    return deployed_model_args(state_dict)


def _shape_args(family: str, state_dict: Dict[str, Any]) -> Dict[str, Any]:
    """The architecture arguments of an SMP-TCN / SMP-ResNet (training form, any key layout) its shapes show (and, for
    an SMP-TCN, its ``centred`` and ``zero_padded_to`` markers)."""
    from ..models.smpconv_tcn import member_indices
    members = member_indices(state_dict)
    if family == 'tcn' and members:  # an SMPConvTCNEnsemble: the members' architecture, and their number
        part = {k[len('members.0.'):]: v for k, v in state_dict.items() if k.startswith('members.0.')}
        return dict(_shape_args(family, part), num_members=len(members))
    if family == 'tcn':
        from ..models.smpconv_tcn import remap_original_keys
        if any(k.startswith(('backbone.', 'finallyr.')) for k in state_dict):
            state_dict = remap_original_keys(state_dict)
        prefix, first = 'blocks.{}.conv1', 'blocks.0.conv1'
    else:
        from ..models.smpconv_resnet import remap_original_keys
        if any(k.startswith(('cconv1.', 'out_layer.')) or '.cconv1.' in k for k in state_dict):
            state_dict = remap_original_keys(state_dict)
        prefix, first = 'blocks.{}.conv1', 'stem'
    blocks = sorted({int(k.split('.')[1]) for k in state_dict if k.startswith('blocks.') and k.split('.')[1].isdigit()})
    weights, small = state_dict.get(f'{first}.smp.kernel.weights'), state_dict.get(f'{first}.small.weight')
    if weights is None or weights.dim() != 3 or small is None or blocks != list(range(len(blocks))) \
            or any(f'{prefix.format(i)}.smp.kernel.weights' not in state_dict for i in blocks):
        raise ValueError(f'not a training-form {"SMP-TCN" if family == "tcn" else "SMP-ResNet"} state dict: expected '
                         f'{first}.smp.kernel.weights [out, in, points], {first}.small.weight and blocks 0..n-1')
    head = state_dict.get('head.weight')
    args = dict(in_chans=weights.shape[1], n_points=weights.shape[2], small_kernel_size=small.shape[-1],
                bias=f'{first}.smp.bias' in state_dict, num_classes=head.shape[0] if head is not None else 0)
    if family == 'tcn':
        args.update(num_blocks=len(blocks), hidden_channels=weights.shape[0])
        if 'centred' in state_dict:  # a centred model's marker (SMPConvTCN(causal=False)); the shapes are the same
            args.update(causal=False)
        if 'zero_padded_to' in state_dict:  # a zero-padding model's marker (SMPConvTCN(zero_pad_to=N)), likewise
            args.update(zero_pad_to=int(state_dict['zero_padded_to']))
        if 'first_differenced' in state_dict:  # SMPConvTCN(first_difference=True): the blocks read 2C channels
            args.update(in_chans=weights.shape[1] // 2, first_difference=True)
    else:
        args.update(stem_channels=weights.shape[0], block_channels=[
            state_dict[f'{prefix.format(i)}.smp.kernel.weights'].shape[0] for i in blocks])
        pool = pooling_shown_by(head, args['block_channels'][-1])
        if pool:
            args.update(global_pool=pool)
    return args


def weights_file_architecture(path: PathLike) -> Tuple[Dict[str, Any], bool]:
    """The SMP-TCN architecture arguments of the weight file ``path`` that names no model: those it records
    (safetensors metadata, a training checkpoint's record: ``recorded_model_args``), else those a training-form
    state dict's shapes show (blocks, channels, points, classes; not its kernel length or pooling); and whether they
    were recorded. ``({}, False)`` for a file of another family, or one that cannot be read."""
    recorded = recorded_model_args(path, folder_conflicts=False)[0]
    if recorded:
        return dict(recorded), True
    try:
        state_dict, _ = find_state_dict(read_checkpoint(path))
        if _family_of(state_dict) != 'tcn':
            return {}, False
        return _shape_args('tcn', state_dict), False
    except (ValueError, OSError, RuntimeError):
        return {}, False


def _differing(args: Dict[str, Any], defaults: Dict[str, Any]) -> Dict[str, Any]:
    def norm(v):
        return list(v) if isinstance(v, (tuple, list)) else v
    return {k: v for k, v in args.items() if norm(v) != norm(defaults.get(k))}


def _smpconvnet_unread(args: Dict[str, Any], sizes: bool = True) -> Tuple[str, ...]:
    # what an SMPConvNet state dict without kernel grids cannot tell: its kernel sizes (``sizes``: unless the file
    # names the family, whose registered sizes it then fits), and its pooling unless its head shows it (catavgmax; a
    # bare state dict, or timm's checkpoint of one naming the family alone, of a max-pooling SMPConvNet loaded as
    # mean pooling without a word)
    return (('large_kernel_sizes',) if sizes else ()) + (() if 'global_pool' in args else ('global_pool',))


def _from_shapes(checkpoint: Dict[str, Any], architecture: Optional[str] = None, how: str = '',
                 family: Optional[str] = None, kernel_sizes: Optional[Sequence[int]] = None,
                 n_points_divide: Optional[int] = None) -> CheckpointSource:
    """The model of a checkpoint from its tensor shapes, relative to ``architecture`` when the checkpoint names one.

    Arguments the weights do not show take the architecture's values (named, else the family's default): the
    SMP-ResNet ``kernel_size``, a fixed SMP-TCN ``kernel_length``; the SMPConvNet kernel sizes are read off the
    original layout's grids, else, when the checkpoint names the model or its family, are those of the registered
    SMPConvNet the points per kernel fit (``k * k // n_points_divide``) best, else the odd sizes whose ``k * k // 4``
    they are (both assumed, with a warning, where the checkpoint does not name the family; a given
    ``n_points_divide`` gives the odd sizes whose ``k * k // n_points_divide`` they are); ``kernel_sizes`` (the
    caller's ``large_kernel_sizes``) stand for the grids of a checkpoint without them.
    """
    state_dict, _ = find_state_dict(checkpoint)
    family_named = family is not None
    family = family or (_registered_family(architecture) if architecture else _family_of(state_dict))
    if family is None and architecture:
        # a registered model of another package: its own checkpoint_filter_fn and load_state_dict check the fit
        return CheckpointSource(architecture, {}, {}, f'checkpoint of {architecture}{how}', {})
    if family is None:
        raise ValueError(
            "it names no model (timm train.py's args.model, a train-seq config, or an arch key naming a registered "
            'model) and its tensors are not those of an SMPConvNet (stem.0.conv.weight), SMP-TCN '
            '(blocks.0.conv1.smp.kernel.weights) or SMP-ResNet (stem.smp.kernel.weights); '
            f'keys: {sorted(state_dict)[:4]}')
    if family == 'smpconvnet':
        from ..models.smpconvnet import ARCH_CONFIGS, deployed_model_args, is_original_layout
        if is_deployed_state_dict(state_dict, _STATIC_KERNELS['smpconvnet']):
            # static kernels show their sizes: the trained form they were deployed from, which the family's filter
            # re-parameterises before they load (its pooling assumed, with a warning, unless the head shows it)
            arch = architecture or 'smpconvnet_t'
            args = _differing(deployed_model_args(state_dict), _registered_args(arch))
            return CheckpointSource(arch, args, {}, f'deployed SMPConvNet state dict of {arch}'
                                    + (f' with {args}' if args else '')
                                    + how, {}, () if architecture else _smpconvnet_unread(args, sizes=False),
                                    bare=architecture is None)
        if architecture is None and kernel_sizes is None and not is_original_layout(state_dict):
            # no kernel grids: the kernels of the registered SMPConvNet the checkpoint is closest to, else those its
            # points per kernel give with the registered n_points_divide; a file that does not name the family has
            # them assumed, with a warning (a bare state dict of smpconvnet_t was refused)
            fits, errors = [], []
            for name in ARCH_CONFIGS if n_points_divide is None else ():  # (the registered divide 4)
                try:
                    fits.append(detect_architecture(checkpoint, name))
                except ValueError as e:
                    errors.append(e)
            if fits:
                arch, args, description = min(fits, key=lambda f: len(f[1]))
                return CheckpointSource(arch, args, {}, f'{description}{how}, kernel sizes of {arch}', {},
                                        _smpconvnet_unread(args, sizes=not family_named))
            from ..models.smpconvnet import infer_config_from_checkpoint, kernel_sizes_for_points
            n_points = infer_config_from_checkpoint(checkpoint)['n_points']
            divide = 4 if n_points_divide is None else int(n_points_divide)
            sizes = kernel_sizes_for_points(n_points, divide)
            if sizes is None:
                fit = ('fit neither the kernel sizes of a registered SMPConvNet nor one odd size k per stage with '
                       'k * k // 4 points' if n_points_divide is None else
                       f'fit no single odd size k per stage with k * k // {divide} points')
                raise ValueError(
                    f'its points per kernel {n_points} {fit} (its kernel sizes are not in its weights: a '
                    f'point kernel is sampled at any size): give the sizes its model was built with, '
                    f"large_kernel_sizes=[...] in Python or --model-kwargs 'large_kernel_sizes=[...]' to a command")
            arch, args, description = detect_architecture(checkpoint, kernel_sizes=sizes)
            return CheckpointSource(arch, args, {}, f'{description}{how}, kernel sizes from its points', {},
                                    _smpconvnet_unread(args))
        arch, args, description = detect_architecture(checkpoint, architecture, kernel_sizes)
        return CheckpointSource(architecture or arch, args, {}, f'{description}{how}', {})
    # a deployed SMP-ResNet's static kernels show their size: the trained form they were deployed from, which the
    # family's filter re-parameterises before they load (any point count: its kernels are replaced); the pooling
    # assumed, with a warning, unless the head shows it
    shapes = _deployed_resnet_args(state_dict) if family == 'resnet' else None
    if shapes is not None:
        kind = 'deployed SMP-ResNet state dict of'
    else:
        shapes, kind = _shape_args(family, state_dict), 'SMP-TCN' if family == 'tcn' else 'SMP-ResNet'
    assumed = () if architecture else tuple(a for a in _SHAPELESS_ARGS[family] if a not in shapes)
    # (a deployed state dict's shapes may tell every argument: it still names no model, and its data config and
    # description are then another model's, warned)
    bare = architecture is None and kind.startswith('deployed')
    architecture = architecture or _FAMILIES[family][1]
    args = _differing(shapes, _registered_args(architecture))
    return CheckpointSource(architecture, args, {}, f'{kind} {architecture}' + (f' with {args}' if args else '') + how,
                            {}, assumed, bare=bare)


def _fitting_registered(family: str, state_dict: Dict[str, Any], given: Dict[str, Any],
                        unlike: Optional[str] = None) -> Tuple[List[str], Optional[int]]:
    """The registered models of ``family`` whose shapes ``state_dict`` fits and whose shapeless arguments agree with
    the arguments ``given``; with ``unlike``, only those built otherwise than that architecture in those arguments.
    Also the number of ensemble members the weights hold (None: one model)."""
    import timm
    from timm.models import split_model_name_tag
    try:
        shapes = _shape_args(family, state_dict)
    except ValueError:  # a deployed state dict: no point kernels to compare
        return [], None
    members = shapes.pop('num_members', None)
    free = [k for k in _SHAPELESS_ARGS[family] if k not in shapes]
    defaults = _registered_args(unlike) if unlike else {}
    fits = []
    for name in timm.list_models():
        if _registered_family(name) != family or (unlike and name == split_model_name_tag(unlike)[0]):
            continue
        args = _registered_args(name)
        if all(args.get(k, v) == v for k, v in shapes.items()) \
                and all(args.get(k) == v for k, v in given.items() if k in free) \
                and (not unlike or any(args.get(k) != defaults.get(k) for k in free if k not in given)):
            fits.append(name)
    return fits, members


def weights_file_hint(path: PathLike, name: str, members: Optional[int] = None) -> str:
    """The command-line form of loading the weight file ``path`` into the registered model ``name`` (timm's
    ``pretrained_cfg_overlay``, so that the model keeps its registered input length, normalisation and labels)."""
    options = [f'pretrained_cfg_overlay={json.dumps({"file": _overlay_name(path)})}'] + (
        [f'num_members={members}'] if members else [])
    return (f'{_suffix_step(path)}give {name} in place of the file and add --model-kwargs '
            f'{" ".join(shlex.quote(o) for o in options)}')


def _overlay_name(path: PathLike) -> str:
    # the name a pretrained_cfg file must have (timm's pretrained loader tells safetensors by the suffix): a copy in
    # the working directory, not beside the file (a Hugging Face cache's blobs/ is huggingface_hub's alone)
    return f'{Path(path).name}.safetensors' if is_unsuffixed_safetensors(path) else str(path)


def _suffix_step(path: PathLike) -> str:
    # a safetensors file without its suffix (a Hub cache blob) loads as timm's pretrained file once it has one
    if not is_unsuffixed_safetensors(path):
        return ''
    return f'copy it to a name timm reads as safetensors (cp {shlex.quote(str(path))} ' \
           f'{shlex.quote(_overlay_name(path))}), then '


def weights_file_hints(path: PathLike, **given) -> List[str]:
    """For a weight file that names no model: how to load it on the command line (``weights_file_hint``) into each
    registered SMP-TCN / SMP-ResNet whose shapes it fits and that agrees with the arguments ``given`` (empty for any
    other file)."""
    try:
        state_dict, _ = find_state_dict(read_checkpoint(path))
    except (ValueError, OSError, RuntimeError):
        return []
    family = _family_of(state_dict)
    if family not in _SHAPELESS_ARGS:
        return []
    try:
        fits, members = _fitting_registered(family, state_dict, given)
    except ValueError:
        return []
    return [weights_file_hint(path, name, _members_for(name, members)) for name in fits]


def _members_for(name: str, members: Optional[int]) -> Optional[int]:
    # the num_members that loads weights of ``members`` SMP-TCNs (None: one) into the registered ``name``: one model's
    # into a variant registered as an ensemble needs num_members=1 (else it builds all its members)
    return members if members else (1 if 'num_members' in _registered_args(name) else None)


def _assumed_data(cfg: Dict[str, Any], given: Dict[str, Any], family: Optional[str]) -> str:
    """What of the built model's ``cfg`` came from the assumed registered architecture, not from the caller's
    overlay ``given``: its input length (size), its normalisation, and its labels only where the model has them (the
    family defaults have none; a classifier of another size drops them: drop_stale_label_names)."""
    parts = [] if 'input_size' in given else ['input length' if family == 'tcn' else 'input size']
    if not {'mean', 'std'} & set(given):
        parts.append('normalisation')
    if cfg.get('label_names') and 'label_names' not in given:
        parts.append('labels')
    if not parts:
        return ''
    return ' and '.join(', '.join(parts).rsplit(', ', 1)) + ('' if cfg.get('label_names') else ' (no labels)')


def _names_no_model(path: Path, unresolved: str = '') -> str:
    # how a warning about a file whose model is not known here begins: it names none, or one that cannot be read here
    if not unresolved:
        return f'{path} names no model'
    where = ('the folder is not on this machine' if unresolved.startswith('local-dir:') else
             'the repo is not in the Hugging Face cache: fetch it (timm.create_model of it once online), or point '
             'HF_HUB_CACHE at the cache that holds it' if unresolved.startswith('hf-hub:') else
             'not a registered model')
    return f'{path} names {unresolved}, which cannot be read here ({where}), so it was read as a file naming no model'


def _assumed_args_warning(path: Path, family: str, state_dict: Dict[str, Any], architecture: str,
                          unset: List[str], given: Dict[str, Any], assumed_data: str,
                          assumed_values: Dict[str, Any], unresolved: str = '') -> str:
    """What a weight file that names no model left to the family's default architecture, and how to load it into
    the registered models whose shapes it fits, that are built otherwise and agree with the arguments ``given``
    (a call and command-line options per model). ``assumed_data``: ``_assumed_data``'s words for the rest;
    ``assumed_values`` the values of ``unset`` the model was built with, where not the architecture's."""
    if family == 'smpconvnet':  # the kernel sizes and the pooling
        from timm.models import split_model_name_tag
        from ..models.smpconvnet import ARCH_CONFIGS, SMPConvNet
        told, options, values = [], {}, []
        if 'large_kernel_sizes' in unset:
            registered = list(ARCH_CONFIGS[split_model_name_tag(architecture)[0]]['large_kernel_sizes'])
            sizes = [int(k) for k in assumed_values.get('large_kernel_sizes') or registered]
            why = (f'those of {architecture}, the registered SMPConvNet nearest its shapes' if sizes == registered
                   else 'the odd sizes k whose k * k // 4 are its points per kernel, as the registered SMPConvNets '
                        'have')
            told.append(f'its SMP kernel sizes cannot be read from its weights (a point kernel is sampled at any '
                        f'size, and other sizes give other outputs), so {sizes} were assumed ({why})')
            options['large_kernel_sizes'] = sizes
            values.append('large_kernel_sizes=[...]')
        if 'global_pool' in unset:
            pool = with_class_defaults(SMPConvNet, assumed_values, ['global_pool'])['global_pool']
            told.append(f"its pooling cannot be read from its weights{' either' if told else ''} ('avg', 'max' and "
                        f"'avgmax' give the same shapes and other outputs), so global_pool={pool!r} was assumed (the "
                        f"SMPConvNets' own)")
            options['global_pool'] = pool
            values.append('global_pool=...')
        return (f'{_names_no_model(path, unresolved)}: ' + '; '.join(told)
                + (f', with the {assumed_data} of {architecture}' if assumed_data else '')
                + f'. Otherwise pass the values its model was built with to load_model ({", ".join(values)}), or '
                  f'to a command with --model-kwargs (as assumed here: {command_option(**options)})')
    defaults = _registered_args(architecture)
    from timm.models import split_model_name_tag
    # every registered model the file fits, built as the assumed one too or not: each brings its own input length,
    # normalisation and labels (those built otherwise alone left ArrowHead's weights, whose pooling and kernel length
    # are sMNIST's, with sMNIST's data config and no pointer)
    fits, members = _fitting_registered(family, state_dict, given)
    fits = [name for name in fits if name != split_model_name_tag(architecture)[0]]
    assumed = ', '.join(f'{k}={defaults.get(k)!r}' for k in unset)
    text = (f'{_names_no_model(path, unresolved)}: {" and ".join(unset)} cannot be read from its weights (other '
            f'values give the same shapes and other outputs), so those of {architecture} were assumed ({assumed})'
            + (f', with its {assumed_data}' if assumed_data else ''))
    if fits:
        text += _saved_from(path, fits, members, shown=unset)
    return text + (f'. Otherwise pass the values its model was built with to load_model as keyword arguments '
                   f'({", ".join(f"{k}=" for k in unset)}), or to a command with --model-kwargs (as assumed here: '
                   f'{command_option(**{k: defaults.get(k) for k in unset})}; '
                   f'reparam and export then deploy for the assumed model\'s input size unless given --input-size)')


def _saved_from(path: Path, fits: List[str], members: Optional[int], shown: Sequence[str] = ()) -> str:
    """The warnings' ". If it was saved from NAME: ..." for the registered models ``fits`` (the first three): the
    timm call and the command-line form that load the file ``path`` into each, with the arguments ``shown`` as
    registered for it."""
    def ensemble(name: str) -> str:
        n = _members_for(name, members)
        return f', num_members={n}' if n else ''

    def registered(name: str) -> str:
        return f' ({", ".join(f"{k}={_registered_args(name).get(k)!r}" for k in shown)})' if shown else ''
    return '. If it was saved from ' + '; or from '.join(
        f'{name}{registered(name)}: {_suffix_step(path)}timm.create_model({name!r}, pretrained=True'
        f'{ensemble(name)}, '
        f'pretrained_cfg_overlay=dict(file={_overlay_name(path)!r})), or, on the command line, '
        f'{weights_file_hint(path, name, _members_for(name, members))}'
        for name in fits[:3])


def _assumed_data_warning(path: Path, family: str, state_dict: Dict[str, Any], architecture: str,
                          given: Dict[str, Any], assumed_data: str, cfg: Dict[str, Any], unresolved: str = '') -> str:
    """For a weight file that names no model, loaded with its shapeless arguments ``given``: the data config it
    still has from ``architecture`` (``assumed_data``: ``_assumed_data``'s words; ``cfg``: the model's), and how to
    load it with its own (the registered models it fits, else an overlay of the data's values)."""
    fits, members = _fitting_registered(family, state_dict, given)
    verb = 'were' if ' and ' in assumed_data else 'was'
    # (what was assumed: not an input size the file records; a created seq_len= is not the trained length)
    values = {k: list(cfg[k]) for k in ('input_size', 'mean', 'std') if cfg.get(k) is not None
              and (k != 'input_size' or 'input' in assumed_data)}
    built = f'built with {", ".join(f"{k}={v!r}" for k, v in given.items())}, ' if given else ''
    text = (f'{_names_no_model(path, unresolved)}: {built}it has the {assumed_data} of {architecture} '
            f'({", ".join(f"{k}={tuple(v)}" for k, v in values.items())}), which {verb} assumed, not read from the '
            f'file')
    if fits:
        text += _saved_from(path, fits, members) + ' (its own data config with it)'
    size = '(C, 1, L)' if family == 'tcn' else '(C, H, W)'
    return text + (f'. Otherwise give its data\'s values to load_model as pretrained_cfg_overlay=dict(input_size={size}, '
                   f'mean=(...), std=(...)), or to a command with --model-kwargs (as assumed here: '
                   f'{command_option(overlay=values)})')


def _io_args(family: Optional[str], state_dict: Dict[str, Any], classifier: Any = None) -> Dict[str, Any]:
    """in_chans and num_classes as the weights show them (empty where they do not tell). The family's shapes tell both
    (an ensemble's by its first member); for any other model, ``classifier`` (a pretrained cfg's classifier name, or
    names: the first is read) tells num_classes by its weight's rows."""
    try:
        if family == 'smpconvnet':
            from ..models.smpconvnet import infer_config_from_checkpoint
            cfg = infer_config_from_checkpoint(state_dict)
            return dict(in_chans=cfg['in_chans'], num_classes=cfg['num_classes'])
        deployed = _deployed_resnet_args(state_dict) if family == 'resnet' else None
        if deployed is not None:
            return {k: deployed[k] for k in ('in_chans', 'num_classes') if k in deployed}
        if family in ('tcn', 'resnet'):
            args = _shape_args(family, state_dict)
            return dict(in_chans=args['in_chans'], num_classes=args['num_classes'])
    except ValueError:
        pass  # the strict load reports what does not fit
    if isinstance(classifier, (list, tuple)):
        classifier = classifier[0] if classifier else None
    weight = state_dict.get(f'{classifier}.weight') if classifier else None
    return dict(num_classes=int(weight.shape[0])) if isinstance(weight, torch.Tensor) and weight.dim() >= 1 else {}


def _set_pretrained_cfg(model: torch.nn.Module, update: Callable[[Dict[str, Any]], Dict[str, Any]]) -> None:
    """Replace the pretrained cfg of a model, and of the model a ``features_only`` wrapper holds, by ``update(cfg)``
    (``default_cfg`` too: ``set_pretrained_cfg``)."""
    for m in (model, getattr(model, 'model', None)):
        if isinstance(getattr(m, 'pretrained_cfg', None), dict):
            set_pretrained_cfg(m, update(m.pretrained_cfg))


def _from_train_py(checkpoint: Dict[str, Any], args: argparse.Namespace, epoch: str) -> CheckpointSource:
    """A checkpoint of timm's train.py (``CheckpointSaver``): the model its ``args`` name."""
    import timm
    from timm.models import parse_model_name, split_model_name_tag
    name = args.model
    how = f' (timm train.py checkpoint{epoch})'
    source, _ = parse_model_name(name)
    base: Dict[str, Any] = {}
    pretrained_cfg: Dict[str, Any] = {}
    local = local_model_name(name) if source else None
    if local is not None:
        # fine-tuned from a folder that is still here, or a Hub repo the cache holds: its config.json holds the
        # architecture
        config = read_config(Path(parse_model_name(local)[1]))
        name, base = config['architecture'], dict(config.get('model_args') or {})
        pretrained_cfg = dict(config.get('pretrained_cfg') or {})
    elif source or not timm.is_model(split_model_name_tag(name)[0]):
        # a Hub model, a folder not on this machine or an unknown name: the shapes have to tell
        return _from_shapes(checkpoint, how=f' (timm train.py checkpoint of {name}{epoch}, a name that cannot be '
                                            'resolved here: architecture from the shapes)')._replace(unresolved=name)
    kwargs = dict(base, **train_py_model_args(args))
    # train.py leaves num_classes / in_chans to the model's defaults when they are not given (older versions pass
    # in_chans=3): the weights say which
    state_dict, _ = find_state_dict(checkpoint)
    family = _registered_family(name)
    for key, value in _io_args(family, state_dict).items():
        if key not in (getattr(args, 'model_kwargs', None) or {}):
            kwargs[key] = value
    if not pretrained_cfg:
        registered = timm.models.get_pretrained_cfg(name)
        pretrained_cfg = registered.to_dict() if registered is not None else {}
    if pretrained_cfg:
        # the model this run trained, not the registered weights: their tag, Hub repo and 1000 classes made a deployed
        # 2-class fine-tune say its classifier was new and random, and its 224 px / 0.875 crop scored a 32 px model
        # at 224 (timm's data config reads the cfg)
        pretrained_cfg = retrained_cfg(pretrained_cfg, **_train_py_data_cfg(args, kwargs, family, pretrained_cfg),
                                       description=f'trained by timm train.py from {args.model}')
    return CheckpointSource(name, kwargs, pretrained_cfg, f'{name}{how}', {})


def _train_py_data_cfg(args: argparse.Namespace, kwargs: Dict[str, Any], family: Optional[str],
                       base_cfg: Dict[str, Any]) -> Dict[str, Any]:
    # the cfg fields of what train.py trained and validated with (its resolve_data_config(vars(args), model) reads
    # --input-size / --img-size, --crop-pct, --mean, --std, --interpolation over the model's cfg), and the weights'
    # class count
    fields: Dict[str, Any] = {}
    if kwargs.get('num_classes') is not None:
        fields['num_classes'] = int(kwargs['num_classes'])
    base_size = tuple(base_cfg.get('input_size') or ())
    input_size = getattr(args, 'input_size', None)
    img_size = getattr(args, 'img_size', None)
    if input_size:
        fields['input_size'] = tuple(int(v) for v in input_size)
    elif img_size and family != 'tcn' and len(base_size) == 3:  # a sequence model's (C, 1, L) is no image size
        size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)[-2:]
        fields['input_size'] = (int(kwargs.get('in_chans', base_size[0])), *(int(v) for v in size))
    elif kwargs.get('in_chans') is not None and len(base_size) == 3 and kwargs['in_chans'] != base_size[0]:
        fields['input_size'] = (int(kwargs['in_chans']), *base_size[1:])
    for key in ('crop_pct', 'mean', 'std', 'interpolation'):
        value = getattr(args, key, None)
        if value not in (None, ''):
            fields[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return fields


# Checkpoint formats of training loops other than timm's train.py, registered by those loops
# (``register_checkpoint_format``; ``smpconvnet.train.seq_trainer`` registers train-seq's)
_CHECKPOINT_FORMATS: List[Tuple[str, Callable[[Dict[str, Any]], bool], Callable[[Dict[str, Any]], Dict[str, Any]]]] = []


def register_checkpoint_format(name: str, detect: Callable[[Dict[str, Any]], bool],
                               to_config: Callable[[Dict[str, Any]], Dict[str, Any]]):
    """Teach every model source a training loop's checkpoint format.

    Args:
        name: the training loop, for messages (``'smpconvnet train-seq'``).
        detect: ``detect(checkpoint) -> bool``, whether a loaded checkpoint dict is of this format.
        to_config: ``to_config(checkpoint) -> dict`` with the ``config.json`` content of the run: ``architecture``,
            ``model_args``, ``pretrained_cfg`` and any ``EXTRA_CONFIG_KEYS``; raises ``ValueError`` when it cannot.
    """
    _CHECKPOINT_FORMATS[:] = [f for f in _CHECKPOINT_FORMATS if f[0] != name] + [(name, detect, to_config)]


def identify_checkpoint(checkpoint: Dict[str, Any], kernel_sizes: Optional[Sequence[int]] = None,
                        n_points_divide: Optional[int] = None) -> CheckpointSource:
    """Which model a checkpoint holds and how to build it, from (in order):

    * the model name and options its training script recorded: a registered format
      (``register_checkpoint_format``; ``smpconvnet train-seq``: architecture, model arguments, preprocessing) or
      timm's ``train.py`` (``CheckpointSaver``: ``args`` namespace with ``model``, ``num_classes``,
      ``in_chans`` / ``input_size``, ``gp``, ``model_kwargs``);
    * the ``arch`` key: a registered model name, with the arguments read off the shapes relative to it; or, as
      timm's ``CheckpointSaver`` writes it without ``args``, a family's class name (``smpconvnet``, ``smpconvtcn``,
      ``smpconvresnet``): the family's default architecture, the arguments read off the shapes (``_from_shapes``);
    * the shapes alone (SMPConvNet: ``detect_architecture``: the original layout's kernel grids, else
      ``kernel_sizes`` (the caller's ``large_kernel_sizes``), else assumed: those the points per kernel give with
      ``n_points_divide`` where given; SMP-TCN / SMP-ResNet: the family's default architecture with the arguments
      that differ).

    Raises:
        ValueError: when none of these tells the model (the caller adds the file name).
    """
    import timm
    from timm.models import split_model_name_tag
    _, weights_key = find_state_dict(checkpoint)
    epoch = f", epoch {checkpoint['epoch']}" if isinstance(checkpoint.get('epoch'), int) else ''
    epoch += ', EMA weights' if weights_key in ('state_dict_ema', 'model_ema') else ''
    for name, detect, to_config in _CHECKPOINT_FORMATS:
        if detect(checkpoint):
            config = to_config(checkpoint)
            return CheckpointSource(
                config['architecture'], dict(config.get('model_args') or {}), dict(config.get('pretrained_cfg') or {}),
                f"{config['architecture']} ({name} checkpoint{epoch})",
                {k: config[k] for k in EXTRA_CONFIG_KEYS if k in config})
    args = checkpoint.get('args')
    if isinstance(args, argparse.Namespace) and isinstance(getattr(args, 'model', None), str):
        return _from_train_py(checkpoint, args, epoch)
    arch = checkpoint.get('arch')
    if isinstance(arch, str) and timm.is_model(split_model_name_tag(arch)[0]):
        return _from_shapes(checkpoint, arch, how=f' (checkpoint of {arch}{epoch})', kernel_sizes=kernel_sizes,
                            n_points_divide=n_points_divide)
    family = next((f for f, (cls_name, _) in _FAMILIES.items() if arch == cls_name), None)
    if family is not None:  # the model class, as CheckpointSaver without args records it
        kind = {'smpconvnet': 'an SMPConvNet', 'tcn': 'an SMP-TCN', 'resnet': 'an SMP-ResNet'}[family]
        return _from_shapes(checkpoint, how=f' (checkpoint of {kind}{epoch})', family=family,
                            kernel_sizes=kernel_sizes, n_points_divide=n_points_divide)
    return _from_shapes(checkpoint, how=f' (from the shapes{epoch})' if epoch else '', kernel_sizes=kernel_sizes,
                        n_points_divide=n_points_divide)


# ---------------------------------------------------------------------------------------------------------
# Loading whatever a command is given

def load_deployed(folder: PathLike, **kwargs) -> torch.nn.Module:
    """Load a folder written by ``smpconvnet reparam`` (eval mode).

    Through timm's own ``local-dir:`` loading, as ``timm.create_model('local-dir:<folder>', pretrained=True)``: the
    family's ``checkpoint_filter_fn`` recognises the deployed state dict and re-parameterises the fresh model before
    the strict load. Folders written before ``seq_len`` was recorded in ``model_args`` give their top-level
    ``deployed_length`` as ``seq_len``.

    Raises:
        ValueError: the folder is not marked deployed, or its weights do not load as a deployed model.
        FileNotFoundError: no weights file.
    """
    import timm

    folder = Path(folder)
    config = read_config(folder)
    if not config.get(DEPLOYED_KEY):
        raise ValueError(f'{folder} does not hold a deployed model (no "{DEPLOYED_KEY}": true in config.json)')
    if folder_weights_file(folder) is None:
        raise FileNotFoundError(f'{folder / WEIGHTS_NAME} not found')
    length = config.get('deployed_length')
    if length is not None and 'seq_len' not in (config.get('model_args') or {}):
        kwargs.setdefault('seq_len', int(length))
    model = timm.create_model(f'local-dir:{folder}', pretrained=True, **kwargs)
    if has_batchnorm(model):
        raise ValueError(f'{folder}: config.json says "{DEPLOYED_KEY}": true, but {WEIGHTS_NAME} loaded as a '
                         f"training-form {config.get('architecture')} (not a re-parameterised state dict)")
    return model.eval()


def _checkpoint_filter(model: torch.nn.Module) -> Callable[[Dict[str, Any], torch.nn.Module], Dict[str, Any]]:
    """The model family's ``checkpoint_filter_fn`` (timm's convention), else a plain unwrap of the state dict."""
    fn = getattr(sys.modules.get(type(model).__module__), 'checkpoint_filter_fn', None)
    return fn if callable(fn) else (lambda checkpoint, _: find_state_dict(checkpoint)[0])


_FAMILY_KINDS = {'smpconvnet': 'SMPConvNet', 'tcn': 'SMP-TCN', 'resnet': 'SMP-ResNet'}


def _is_deployed_file(checkpoint: Dict[str, Any]) -> bool:
    # whether a checkpoint holds a deployed state dict of one of the families
    try:
        state_dict = find_state_dict(checkpoint)[0]
    except ValueError:
        return False
    family = _family_of(state_dict)
    return family is not None and is_deployed_state_dict(state_dict, _STATIC_KERNELS[family])


def _family_of_record(recorded: Optional[Dict[str, Any]]) -> Optional[str]:
    """The one family whose constructor takes every argument of ``recorded`` (a weights file's record: a whole
    architecture), else None."""
    if not recorded:
        return None
    fits = [family for family, (_, default) in _FAMILIES.items()
            if set(recorded) - {'num_members'} <= set(_registered_args(default))]
    return fits[0] if len(fits) == 1 else None


def _load_checkpoint_file(path: Path, trust_pickle: bool = False,
                          **kwargs) -> Tuple[torch.nn.Module, str, Dict[str, Any]]:
    import timm
    from timm.models import split_model_name_tag
    from timm.models._pretrained import PretrainedCfg

    checkpoint = read_checkpoint(path, trust_pickle=trust_pickle)
    try:
        source = identify_checkpoint(checkpoint, kernel_sizes=kwargs.get('large_kernel_sizes'),
                                     n_points_divide=kwargs.get('n_points_divide'))
    except ValueError as e:
        family = _family_of_record(recorded_model_args(path)[0])
        if family is None:
            folder = Path(path).parent
            # a deployed state dict (reparam's model.safetensors) names no architecture and has no point kernels to
            # read one from: the folder it came with, or the model it was deployed from, tells
            how = (f'; its folder {folder} records the model (its {CONFIG_NAME}): load the folder instead '
                   f"(load_model('{folder}'), timm.create_model('local-dir:{folder}', pretrained=True), or {folder} "
                   f'on the command line)' if (folder / CONFIG_NAME).is_file() else
                   '' if not _is_deployed_file(checkpoint) else
                   '; a deployed (re-parameterised) state dict names no architecture either: load the folder reparam '
                   'wrote it in, or build the model it was deployed from (NAME: its registered name and arguments) '
                   f'with it as its weights (timm.create_model(NAME, pretrained=True, pretrained_cfg_overlay=dict('
                   f'file={str(path)!r})); a command: give NAME and '
                   f'{command_option(overlay=dict(file=str(path)))})')
            raise ValueError(f'{path}: cannot tell which model this checkpoint holds: {e}{how}') from e
        # a copy of a deployed model.safetensors, whose metadata records every argument: the family's default
        # architecture built with them (its data config assumed, with a warning, as a bare training-form copy's)
        source = CheckpointSource(_FAMILIES[family][1], {}, {}, f'deployed {_FAMILY_KINDS[family]} state dict', {},
                                  tuple(SHAPE_BLIND_ARGS[family]))
    fields = {f.name for f in dataclasses.fields(PretrainedCfg)}
    overlay = {k: v for k, v in source.pretrained_cfg.items() if k in fields and k != 'architecture'}
    kwargs = dict(kwargs)
    bare = (bool(source.assumed) or source.bare) and not source.pretrained_cfg  # a state dict that names no model
    # what the shapes cannot tell, where recorded with the weights (a model folder's model.safetensors, or a copy of
    # it, carries the folder's model_args): read, not assumed
    recorded = (recorded_model_args(path)[0] or {}) if bare else {}
    blind = set(source.assumed) | set(SHAPE_BLIND_ARGS.get(_registered_family(source.architecture), ()))
    # every recorded argument, not only those the shapes cannot tell (use_fft, a deployment length): the network
    # as trained; the description names those the shapes do not show or the assumed model is built otherwise with
    told = {k: v for k, v in recorded.items() if k not in kwargs}
    registered = _registered_args(source.architecture)
    shown = {k: v for k, v in sorted(told.items())
             if k in blind or (k not in source.model_args and as_recorded(registered.get(k)) != v)}
    if told:
        source = source._replace(
            model_args={**source.model_args, **told}, assumed=tuple(k for k in source.assumed if k not in told),
            description=source.description + (f", {', '.join(f'{k}={v!r}' for k, v in shown.items())} as "
                                               f'recorded with it' if shown else ''))
    file_classes = source.model_args.get('num_classes', recorded.get('num_classes'))
    if not source.pretrained_cfg and file_classes is not None:
        # the cfg's num_classes is the weights' (the file's classifier, read off its shapes or recorded with it), not
        # the assumed model's (also where the caller gave what was assumed: reparam then recorded a trained 5-class
        # head as new and random; a copied deployed file's recorded count, given, was taken for the assumed 10)
        overlay['num_classes'] = file_classes
    given = dict(kwargs.pop('pretrained_cfg_overlay', None) or {})
    # a bare sequence model's trained length, where its file records one (this project's folders write it in the
    # metadata): its input length, not the assumed model's (trial 68 B: a copy of a run's file trained at 300 was
    # built at 784); a recorded seq_len, a deployment length, is its model's (said with it below)
    # built with seq_len= (recorded, or given), the trained length is said: the caller's input_size, else the file's
    file_length = None if not bare or _registered_family(source.architecture) != 'tcn' else \
        int(given['input_size'][-1]) if given.get('input_size') else recorded_trained_length(path)
    if file_length and 'input_size' not in given:
        overlay['input_size'] = (1, 1, file_length)  # (its channels: the file's, below)
    overlay.update(given)  # the caller's cfg fields win
    model_args = {**source.model_args, **kwargs}
    features_only = bool(model_args.get('features_only'))
    if features_only:
        # a features_only wrapper's keys are not the file's: timm loads the file into the model it wraps, as its
        # pretrained weights (through the family's filter, strictly), before wrapping it
        overlay['file'] = str(path)
    if source.pretrained_cfg:
        # a recorded cfg (train-seq, a folder's train.py run) is the whole cfg, as timm reads a local-dir: folder's
        # config.json: over the registered one, the default tag, Hub id, licence and file of the shipped weights
        # would be kept, and carried into what is written from the model (reparam's config.json)
        cfg_kwargs = dict(pretrained_cfg=dict(overlay, **({} if 'file' in overlay else {'file': str(path)})))
    else:
        cfg_kwargs = dict(pretrained_cfg_overlay=overlay) if overlay else {}
    try:
        # a run's recorded None (kernel_length=None: whole-series kernels) reaches the model, as a folder's does
        model = _create_keeping_none(source.architecture, **cfg_kwargs,
                                     **(dict(pretrained=True) if features_only else {}), **model_args)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f'{path}: {source.description}: cannot build {source.architecture} with {model_args}'
                         + (' and load its weights' if features_only else '') + f': {e}{unknown_argument_hint(e)}') from e
    family = _registered_family(source.architecture)
    # the file's input channels and class count, as its shapes tell them (its arguments name them only where they
    # differ from the architecture's)
    file_io = _io_args(family, find_state_dict(checkpoint)[0], getattr(model, 'pretrained_cfg', {}).get('classifier'))
    if not features_only:
        try:
            state_dict = _checkpoint_filter(model)(checkpoint, model)
            warn_clamped_radii(state_dict, model, str(path))
            file_classes = source.model_args.get('num_classes', file_io.get('num_classes'))
            if 'num_classes' in kwargs and file_classes is not None and kwargs['num_classes'] != file_classes:
                # timm's fine-tuning idiom (load_pretrained): another class count drops the file's classifier and
                # keeps the new one as initialised (a size mismatch before); the rest loads strictly
                _load_without_classifier(model, state_dict)
            else:
                model.load_state_dict(state_dict, strict=True)
        except (ValueError, RuntimeError) as e:
            text = str(e) if len(str(e)) < 600 else str(e)[:600] + ' ...'
            prefix = removed_prefix(checkpoint)
            # "do not load", not "do not fit": a file of the right shapes is refused too (an original's grid)
            raise ValueError(f'{path}: {source.description}: its weights do not load into {source.architecture}'
                             + (f' with {model_args}' if model_args else '') + f': {text}'
                             + (f" (keys named without the file's {prefix!r} prefix)" if prefix else '')) from e
    # the model's input channels: those asked for (in_chans=: its first layer adapted to them), else the weights'
    file_chans = None if source.pretrained_cfg else (kwargs.get('in_chans') or file_io.get('in_chans'))
    if file_chans and 'input_size' not in given:
        # the input channels are the model's (an assumed model's cfg had its own: a first layer adapted by in_chans=
        # is then told from one the file had; data transforms read them), its per-channel normalisation their mean
        # where the count differs
        _set_pretrained_cfg(model, lambda cfg: with_channels(cfg, file_chans))
    assumed_data = _assumed_data(model.pretrained_cfg, dict(given, **(
        {'input_size': model.pretrained_cfg['input_size']} if file_length else {})), family)
    if not source.pretrained_cfg and not split_model_name_tag(source.architecture)[1]:
        # a file that records no cfg and no tag: not the registered weights' tag, Hub repo and paper (info headed a
        # 10-class original-layout file smpconvnet_t.in1k); a bare one's data description is not the file's either
        # (its preprocessing, assumed too, is what the warning below names); set once built, when it is known whether
        # the model kept the architecture's labels (a features_only wrapper's model too)
        verb = 'were' if ' and ' in assumed_data else 'was'
        # (a recorded trained length said, where no seq_len= says it as the trained one of a deployment length: the
        # card and reparam read it; trial 68b, "assumed L = 300" of a file that records it)
        length_said = f'; its input length {trained_at(file_length)}, as recorded with it' \
            if file_length and 'input_size' not in given and model_args.get('seq_len') is None else ''
        described = {} if 'description' in given or not bare else dict(
            description=f'{NOT_RECORDED}{path.name} names no model' + (
                f', so the {assumed_data} of {source.architecture} {verb} assumed' if assumed_data else '')
            + length_said)
        # (the description its cfg has where a file names the model: not "trained from" the registered tag's)
        _set_pretrained_cfg(model, lambda cfg: dict(retrained_cfg(
            cfg, **(described or {'description': cfg.get('description')})), **given))
    unset = [k for k in source.assumed if k not in kwargs]
    if unset:
        # a bare state dict of a model built with, say, global_pool='avg' would otherwise run silently as 'last'
        warnings.warn(_assumed_args_warning(path, family, find_state_dict(checkpoint)[0], source.architecture, unset,
                                            kwargs, assumed_data, {k: model_args[k] for k in unset if k in model_args},
                                            source.unresolved),
                      UserWarning, stacklevel=caller_stacklevel())
    elif bare and assumed_data:
        # built as the caller said (or as recorded), yet with the assumed model's input length (whole-series kernels
        # are another kernel at another length) or size, and its normalisation: the warning above named them,
        # following its advice silenced it
        warnings.warn(_assumed_data_warning(path, family, find_state_dict(checkpoint)[0], source.architecture,
                                            {**told, **kwargs}, assumed_data, model.pretrained_cfg,
                                            source.unresolved), UserWarning,
                      stacklevel=caller_stacklevel())
    if file_length:
        # (created for a deployment length: said; the input size this loader set from the file's record is no
        # statement of the caller's)
        follow_loaded_file_length(model, path, trained=file_length, caller_overlay=given)
    say_saved_adaptation(model, path)  # (a copy of an adapted folder's file: said as the folder says it)
    weights_chans, chans = file_io.get('in_chans'), kwargs.get('in_chans')
    if not features_only and isinstance(chans, int) and weights_chans and weights_chans != chans:
        # its first layer adapted to the asked channels: said, as on timm's routes (trial 68c F1: a bare file's
        # description said nothing, and weights_channels read the adapted count back as the weights')
        _set_pretrained_cfg(model, lambda cfg: dict(with_channels(cfg, chans), description=with_note(
            cfg.get('description') or '', adapted_channels_note(chans, weights_chans))))
    # what the caller built it with besides what the file tells (a bare file's global_pool='avg'): the model it
    # describes is that one
    built_with = {k: v for k, v in kwargs.items() if k not in source.model_args or source.model_args[k] != v}
    description = source.description + (f', built with {built_with}' if built_with else '')
    return model, f'{description} from {path}', dict(source.extra_config)


def _load_without_classifier(model: torch.nn.Module, state_dict: Dict[str, Any]) -> None:
    """Load ``state_dict`` without the classifier its pretrained cfg names, all else strictly (RuntimeError)."""
    names = model.pretrained_cfg.get('classifier') or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    head = tuple(f'{name}.{p}' for name in names for p in ('weight', 'bias'))
    result = model.load_state_dict({k: v for k, v in state_dict.items() if k not in head}, strict=False)
    missing = [k for k in result.missing_keys if k not in head]
    if missing or result.unexpected_keys:
        raise RuntimeError(f'Error(s) in loading state_dict for {type(model).__name__}: missing keys {missing}, '
                           f'unexpected keys {result.unexpected_keys}')


def check_none_kwargs(model: torch.nn.Module, kwargs: Dict[str, Any], name: str):
    """A ``ValueError`` for an argument given as None that ``model`` was not built with: timm's ``create_model``
    drops None arguments, so ``kernel_length=None`` (whole-series kernels) asked of a variant registered with 33 taps
    built the 33-tap model, and a run folder recorded None for it (the folder then loaded another network than the
    one trained). What the model was built with: its ``arch_args`` (an SMP-TCN's whole architecture, a
    ``features_only`` wrapper's too), else its attributes. ``name``: the model as the caller named it."""
    arch_args = getattr(model, 'arch_args', None)
    unit = member_network(model)
    for key, value in kwargs.items():
        if value is not None:
            continue
        built = arch_args.get(key) if arch_args is not None else getattr(unit, key, None)
        if built is not None:
            raise ValueError(f'{key}=None: timm\'s create_model drops None arguments, so {name} is built with its own '
                             f'{key}={built!r}: leave {key} out for that, or give another value'
                             + (_whole_series_hint() if key == 'kernel_length' else ''))


def _whole_series_hint() -> str:
    from ..models.seq_zoo import SEQ_ZOO
    whole = [n for n, z in SEQ_ZOO.items() if z['arch'].get('kernel_length') is None
             and z['arch'].get('causal', True) and 'num_members' not in z['arch']]
    return ('; kernels as long as the input come with a model registered with them'
            + (f' (e.g. {whole[0]}: train-seq adapts in_chans and num_classes to its data set)' if whole else '')
            + ' or with smpconvnet.SMPConvTCN(..., kernel_length=None) built directly')


def _create_keeping_none(name: str, **kwargs) -> torch.nn.Module:
    """``timm.create_model(name, **kwargs)``, except that None values reach the model: a recorded
    ``kernel_length=None`` (whole-series kernels) is an architecture, which ``create_model`` would drop in favour of
    the registered variant's value. With a None among ``kwargs`` the registered entrypoint (what ``create_model``
    calls) is called directly, under timm's layer config, and the arguments are kept as ``create_model`` keeps them
    (``_model_args``)."""
    import timm
    from timm.layers import set_layer_config
    if all(v is not None for v in kwargs.values()):
        with weights_loaded_after():  # the caller loads the file's weights: not a random model's cfg
            return timm.create_model(name, **kwargs)
    architecture, tag = timm.models.split_model_name_tag(name)
    if tag:
        kwargs.setdefault('pretrained_cfg', tag)  # as create_model reads a tag
    with set_layer_config(scriptable=None, exportable=None, no_jit=None), weights_loaded_after():
        model = timm.models.model_entrypoint(architecture)(**dict(dict(pretrained=False), **kwargs))
    model._model_args = {k: v for k, v in kwargs.items()
                         if k not in ('device', 'dtype', 'pretrained', 'pretrained_cfg', 'pretrained_cfg_overlay')}
    return model


def load_model_with_config(spec: str, pretrained: Union[bool, str] = True, trust_pickle: bool = False,
                           **kwargs) -> Tuple[torch.nn.Module, str, Dict[str, Any]]:
    """``load_model`` plus the config.json keys beyond timm's that came with the model (``EXTRA_CONFIG_KEYS``: the
    data set of a train-seq run, from its folder or checkpoint; empty for registered names).

    Raises:
        ValueError: as ``load_model``; and an argument given as None that the model is not built with
            (``check_none_kwargs``).
    """
    trust_pickle = _flag('trust_pickle', trust_pickle)
    pretrained = pretrained if isinstance(pretrained, str) and pretrained == 'auto' else _flag('pretrained', pretrained)
    if kwargs.get('checkpoint_path') and (pretrained == 'auto' or (pretrained and _is_registered_name(spec))):
        # the file replaces every weight, strictly: the available ones are not loaded first (trial 66b: a registered
        # ensemble's shipped weights were, into the one-member model a refusal's hint asked for, and refused; trial
        # 67c: a registered name's, by default, into a narrower model, and its hint asked for the shipped width). A
        # folder's pretrained=True still builds what the folder holds (a deployed one its deployed form)
        pretrained = False
    try:
        model, description, extra = _load_model_with_config(spec, pretrained, trust_pickle, **kwargs)
    except TypeError as e:  # an argument the model does not take, where the path did not say so (hf-hub:, deployed)
        hint = unknown_argument_hint(e)
        if not hint:
            raise
        raise ValueError(f'{spec}: cannot build it with {kwargs}: {e}{hint}') from e
    check_none_kwargs(model, kwargs, spec)
    checkpoint = kwargs.get('checkpoint_path')
    if checkpoint:
        # timm loads checkpoint_path= after the build, over the source's weights or random ones: those are the
        # model's (reparam's card called a trained file's weights random, or a random file's the folder's); a
        # folder's weights whose config.json says they are random (reparam --pretrained no) are said to be
        folder = model_folder_of(checkpoint)
        untrained = folder is not None and _says_random(folder)
        if description.startswith('random weights ('):
            # nothing was loaded before the file (trial 67b: "over random weights (pretrained=False)" where no one
            # asked for them); a folder's architecture it was built as is said
            architecture = description.partition(' in the architecture of ')[2]
            over = f', in the architecture of {architecture}' if architecture else ''
        else:
            over = f', over {description}'
        description = (f"{'random weights (not trained) ' if untrained else 'weights '}from {checkpoint} "
                       f'(checkpoint_path={over})')
        # (the build's deployment length stays said: a strict load replaces its classifier and first layer, whose
        # class count and channels the cfg now states: reparam's card said "classifier new, initialised at random"
        # and "first layer adapted" of a 5-class 3-channel file's, and evaluate-seq's hints looped; trial 67b)
        classes, chans = getattr(model, 'num_classes', None), getattr(model, 'in_chans', None)
        file_io = dict(num_classes=classes) if isinstance(classes, int) and classes > 0 else {}

        def as_loaded(cfg: Dict[str, Any]) -> Dict[str, Any]:
            # (a first layer adapted from the file's channels: the strict load's own note, not the build's)
            cfg = retrained_cfg(cfg, description=with_build_notes(description, cfg.get('description'),
                                                                  classifier=False, adapted=True), **file_io)
            return with_channels(cfg, chans) if isinstance(chans, int) else cfg
        _set_pretrained_cfg(model, as_loaded)
    return model, description, extra


def _flag(name: str, value: Any) -> bool:
    # a yes/no argument as a bool: True / False, numpy's, 0 / 1 (as timm takes them); anything else refused, a string
    # above all (it is truthy: trust_pickle='False' unpickled a file, pretrained='no' loaded weights)
    import numbers
    import numpy as np
    if isinstance(value, (bool, np.bool_)) or isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    expected = "True, False or 'auto'" if name == 'pretrained' else 'True or False'
    raise ValueError(f'{name} must be {expected}, got {value!r} (a {type(value).__name__})')


def unknown_argument_hint(e: BaseException) -> str:
    """For the TypeError of an argument one of this package's model classes does not take (a misspelt
    ``--model-kwargs`` key, a hand-edited config.json): `` (did you mean 'x'? Class takes a, b, ...)``, the closest
    name first (the bare TypeError named only the refused one; an ensemble's members refuse it: their class's
    arguments). ``''`` for any other error."""
    import difflib
    from ..models import SMPConvNet, SMPConvResNet, SMPConvTCN, SMPConvTCNEnsemble
    refused = re.search(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'", str(e))
    classes = {c.__name__: c for c in (SMPConvNet, SMPConvResNet, SMPConvTCN, SMPConvTCNEnsemble)}
    if refused is None or refused.group(1) not in classes:
        return ''
    cls = classes[refused.group(1)]
    taken = [n for n, p in inspect.signature(cls.__init__).parameters.items()
             if n != 'self' and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if cls is SMPConvTCN:  # every SMP-TCN variant's entry point takes num_members too (an ensemble of them)
        taken.append('num_members')
    close = difflib.get_close_matches(refused.group(2), taken, n=1)
    return f" ({f'did you mean {close[0]!r}? ' if close else ''}{cls.__name__} takes {', '.join(taken)})"


def _refuse_random_weights(pretrained: Union[bool, str], path: Path, what: str) -> None:
    # pretrained=False builds a name's, a folder's or a Hub repo's architecture at random; a file, or a folder without
    # config.json, is read for its weights alone (its architecture is read off them), so it is refused rather than
    # loaded against the request, naming what builds at random: the model folder the file is in, where it is one
    if pretrained is not False:
        return
    files = (sorted(f for f in path.iterdir() if f.suffix.lower() in CHECKPOINT_SUFFIXES and f.is_file())
             if path.is_dir() else [])
    if path.is_dir() and not files:
        return  # a folder holding no weights either: read_config says what it lacks
    folder = path.parent if path.is_file() and (path.parent / CONFIG_NAME).is_file() else None
    instead = (f'give its folder {folder} for random weights in its architecture' if folder is not None else
               'give a model name, a model folder or an hf-hub: name for random weights in an architecture')
    drop = (f'give {files[0]} without pretrained=False (--pretrained no) to load its weights, or ' if files else
            'drop pretrained=False (--pretrained no) to load them, or ' if path.suffix.lower() in CHECKPOINT_SUFFIXES
            else '')
    raise ValueError(f'{path}: pretrained=False (--pretrained no) asks for random weights, but {what} is read for the '
                     f'weights it holds: {drop}{instead}')


def _says_random(folder: Path) -> bool:
    # whether a model folder's config.json records random weights (reparam --pretrained no: random_weights)
    try:
        return bool(read_config(folder).get('random_weights'))
    except (OSError, ValueError):
        return False


def _untagged(model: torch.nn.Module, description: str) -> torch.nn.Module:
    # a registered tag built without its weights: its cfg without the weights' file, tag and repo (info showed the
    # shipped file of a random model), the architecture's data config kept; and a checkpoint_path= file's trained
    # length and adapted first layer, where one was loaded since (follow_loaded_file_length, say_checkpoint_loaded;
    # a random build says no adaptation of its own)
    _set_pretrained_cfg(model, lambda cfg: retrained_cfg(cfg, description=with_build_notes(
        description, cfg.get('description'), classifier=False, adapted=True)))
    return model


def _overlay_file(kwargs: Dict[str, Any]) -> Optional[str]:
    # the weights file a pretrained_cfg_overlay names, which the families load after any name (file_overlay_first)
    overlay = kwargs.get('pretrained_cfg_overlay')
    return overlay.get('file') or None if isinstance(overlay, dict) else None


def _random_in(model: torch.nn.Module, architecture: str, why: str = 'pretrained=False') -> str:
    # a folder's or Hub repo's architecture built without its weights: said in its pretrained cfg too, so info and
    # reparam do not present it as the trained model (as deploy's random-weights folders)
    description = f'random weights ({why}) in {architecture}'
    _untagged(model, description)
    return description


def _hub_unreadable(spec: str, e: BaseException) -> str:
    # what an hf-hub: name that could not be read was looked for, and how to get it
    from huggingface_hub import constants
    repo, _, revision = spec[len('hf-hub:'):].partition('@')
    first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ''
    if type(e).__name__ == 'HFValidationError':  # a name the Hub cannot have (a ':rev' spelling, spaces, ...)
        return (f"{spec}: {repo!r} is not a Hub repo id ({first}); expected hf-hub:<org>/<name>, with a revision as "
                f'hf-hub:<org>/<name>@<revision>')
    where = (f"the Hub repo '{repo}' (revision {revision or 'main'}) could not be read from the cache "
             f'{constants.HF_HUB_CACHE}')
    if constants.is_offline_mode():
        how = ('and offline mode (HF_HUB_OFFLINE=1) downloads nothing: run once with a network (HF_HUB_OFFLINE unset) '
               'to fill the cache')
    else:
        how = ('nor downloaded: check the repo name and the network; private or gated repos need `hf auth login` or '
               'the HF_TOKEN variable')
    return f'{spec}: {where} {how} ({type(e).__name__}: {first})'


def _is_registered_name(spec: str) -> bool:
    # a timm model name with, if any, one of its pretrained tags ('smpconvnet_t.pth' is a file name, not a tag)
    import timm
    name, tag = timm.models.split_model_name_tag(spec)
    return timm.is_model(name) and (not tag or spec in timm.list_pretrained(f'{name}.*'))


def _folder_of_weights(path: Path) -> Optional[Path]:
    """The model folder whose weights ``path`` is (``model_folder_of``), its config.json checked to be timm's, else
    None.

    Raises:
        ValueError: that folder's config.json cannot be read or names no registered model (``read_config``): the file
            alone would be read as an assumed model, though its folder says which.
    """
    folder = model_folder_of(path)
    if folder is not None:
        try:
            read_config(folder)
        except (OSError, ValueError) as e:
            raise ValueError(f'{e}; {path} is the weights of that folder, which the config.json describes: mend it or '
                             f'write the folder again (to read the weights alone, copy '
                             f'{folder_weights_file(folder).name} out of the folder)') from e
    return folder


def _with_pooling_at_root(config: Dict[str, Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    # a folder's config.json whose pooling timm does not build (at its root only: pooling_at_config_root) builds it
    # here, unless the caller gave one; timm.create_model refuses the folder, naming it
    pool = pooling_at_config_root(config)
    return dict(kwargs, global_pool=pool) if pool is not None and 'global_pool' not in kwargs else kwargs


@contextlib.contextmanager
def _naming_pooling_at_root(config_file, given: Dict[str, Any], built: Dict[str, Any]):
    # a pooling _with_pooling_at_root took from a config's root that the model does not take (a hand-edited config):
    # the model's refusal names the config, which the caller did not pass it
    try:
        yield
    except (ValueError, AssertionError) as e:
        from_root = 'global_pool' not in given and 'global_pool' in built
        if not from_root or isinstance(e, ValueError) and 'global_pool' not in str(e):
            raise
        raise ValueError(f"{config_file} records global_pool={built['global_pool']!r} at its root (not in its "
                         f'model_args), which the model does not take: {e}; mend the config, or give the '
                         f'global_pool= the weights were trained with') from e


def _load_model_with_config(spec: str, pretrained: Union[bool, str], trust_pickle: bool,
                            **kwargs) -> Tuple[torch.nn.Module, str, Dict[str, Any]]:
    import timm
    from ..models import weights_location

    spec = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if not isinstance(spec, str) or not spec.strip() or spec.strip() == 'local-dir:':  # Path('') is the current folder
        raise ValueError(f'{spec!r}: expected a model name, an hf-hub:/local-dir: name, a folder or a checkpoint file '
                         f'(see `smpconvnet list`)')
    path = Path(spec[len('local-dir:'):] if spec.startswith('local-dir:') else spec)
    read_path = True
    if not spec.startswith('local-dir:') and path.exists() and _is_registered_name(spec):
        kind = 'folder' if path.is_dir() else 'file'
        if path.is_dir() and holds_nothing(path):
            # an empty folder holds no model: the name can only mean the registered one (it used to fail on a
            # missing config.json, the registered model unreachable from this folder)
            warnings.warn(f'{spec} names both a registered model and the empty folder {path.resolve()}: the '
                          f'registered model is read', UserWarning, stacklevel=caller_stacklevel())
            read_path = False
        else:
            # a path wins (as documented), but the docs' own layout names a converted folder after its tag
            warnings.warn(f'{spec} names both a registered model and the {kind} {path.resolve()}: the {kind} is '
                          f'read; for the registered model, run this from another folder (in Python, '
                          f'timm.create_model({spec!r}) always builds the registered one)', UserWarning,
                          stacklevel=caller_stacklevel())
    if read_path and path.is_dir():
        checkpoint = path / 'checkpoint.pth'  # train-seq's per-epoch checkpoint (seq_trainer.CHECKPOINT_NAME)
        if not (path / CONFIG_NAME).exists():
            _refuse_random_weights(pretrained, path, 'a folder without config.json' + (
                " (a train-seq run that has not finished: its last epoch's checkpoint.pth)"
                if checkpoint.is_file() else ''))
        if not (path / CONFIG_NAME).exists() and checkpoint.is_file():
            # a run that has not finished (config.json and the weights are written at its end): its last epoch
            model, description, extra = _load_checkpoint_file(checkpoint, trust_pickle=trust_pickle, **kwargs)
            return model, f'{description} (no config.json: an unfinished run, read from its last checkpoint)', extra
        config = read_config(path)
        extra = {k: config[k] for k in EXTRA_CONFIG_KEYS if k in config}
        if config.get(DEPLOYED_KEY) and pretrained is not False:  # (False: its training form at random, as timm)
            # a folder reparam deployed from random weights says so (info headed it as trained weights)
            try:
                deployed = load_deployed(path, **kwargs)
            except RuntimeError as e:
                if not kwargs.get('checkpoint_path') or 'Error(s) in loading state_dict' not in str(e):
                    raise
                # a training-form checkpoint into the deployed form: torch's list of every key
                raise ValueError(f"checkpoint_path={kwargs['checkpoint_path']} does not fit {path}, a deployed "
                                 f"(re-parameterised) folder ({str(e).splitlines()[0]}); a training-form checkpoint "
                                 f'loads into its training form, which pretrained=False (--pretrained no) builds '
                                 f'from the folder') from None
            return deployed, (f'random weights (not trained), deployed, from {path}' if config.get('random_weights')
                              else f'deployed weights from {path}'), extra
        built = _with_pooling_at_root(config, kwargs)
        no_weights = pretrained is not False and folder_weights_file(path) is None and not _overlay_file(kwargs)
        if no_weights and pretrained is True:
            # (timm's "No suitable checkpoints found" said neither what was looked for nor what builds without)
            raise FileNotFoundError(f'{path} holds a config.json but no weights file (model.safetensors or '
                                    f'pytorch_model.bin, what timm\'s local-dir: reads): copy the weights in, or pass '
                                    f'pretrained=False (--pretrained no) for random weights in its architecture')
        try:
            with _naming_pooling_at_root(path / CONFIG_NAME, kwargs, built):
                # pretrained=False: the folder's architecture at random, as timm builds local-dir: without weights
                # (it loaded the weights, where info --help says "no: random")
                model = timm.create_model(f'local-dir:{path}', pretrained=pretrained is not False and not no_weights,
                                          **built)
        except TypeError as e:  # an argument the model does not take: the config's model_args, or the caller's
            raise ValueError(f"{path / CONFIG_NAME}: cannot build {config['architecture']} with its model_args "
                             f"{config.get('model_args', {})}{f' and {kwargs}' if kwargs else ''}: {e}"
                             f"{unknown_argument_hint(e)}") from e
        if pretrained is False:
            return model, _random_in(model, f'the architecture of {path}'), extra
        if no_weights:  # 'auto': weights where there are some, as for a name
            return model, _random_in(model, f'the architecture of {path}', 'no weights file in the folder'), extra
        return model, f'weights from {_overlay_file(kwargs) or path}', extra
    if spec.startswith('local-dir:'):
        raise FileNotFoundError(f'{path} is not a folder{interrupted_write_note(path)}')
    if read_path and path.is_file():
        _refuse_random_weights(pretrained, path, 'a checkpoint file' if path.suffix.lower() in CHECKPOINT_SUFFIXES
                               else 'a file')
    if read_path and path.is_file() and _folder_of_weights(path) is not None:
        # a model folder's weights file: its config.json names the model and its data (input length, normalisation),
        # which a bare file's would be assumed (a registered variant's, with a warning), and export would deploy for
        # the assumed length
        folder = _folder_of_weights(path)
        model, description, extra = _load_model_with_config(str(folder), pretrained, trust_pickle, **kwargs)
        return model, f'{description} (the folder of {path.name}, whose config.json names its model)', extra
    if read_path and path.is_file():
        return _load_checkpoint_file(path, trust_pickle=trust_pickle, **kwargs)
    if spec.startswith('hf-hub:'):
        from timm.models._hub import download_from_hf, load_cfg_from_json
        try:
            # (the config.json create_model reads, fetched first: it also gives the data set of a train-seq run, as
            # a folder's; without it evaluate-seq scored a pushed ItalyPowerDemand run on its architecture's GunPoint)
            config_file = download_from_hf(spec[7:], CONFIG_NAME)
            config = load_cfg_from_json(config_file)
            built = _with_pooling_at_root(config, kwargs)
            with _naming_pooling_at_root(config_file, kwargs, built):
                model = timm.create_model(spec, pretrained=pretrained is not False, **built)
        except Exception as e:  # noqa: BLE001  (filtered just below)
            from ..models import PretrainedWeightsNotFoundError
            if isinstance(e, PretrainedWeightsNotFoundError) and e.__cause__ is not None:
                # the repo's weights file (its config.json was read): said of the repo, not of the registered tag its
                # pretrained_cfg names, with the namespace advice that does not apply to a named repo
                e = e.__cause__
            elif not is_weight_source_error(e):
                raise
            raise FileNotFoundError(_hub_unreadable(spec, e)) from e
        extra = {k: config[k] for k in EXTRA_CONFIG_KEYS if k in config}
        if pretrained is False:
            return model, _random_in(model, f'the architecture of the Hub repo {spec[7:]}'), extra
        return model, f'weights from {_overlay_file(kwargs) or f"the Hub ({spec[7:]})"}', extra
    if not timm.is_model(timm.models.split_model_name_tag(spec)[0]):
        raise ValueError(f'{spec!r} is neither a registered timm model, an existing folder or checkpoint file, '
                         f'nor an hf-hub:/local-dir: name (see `smpconvnet list`){interrupted_write_note(path)}')
    overlay = kwargs.get('pretrained_cfg_overlay')
    if overlay is not None and not isinstance(overlay, dict):
        raise ValueError(f'pretrained_cfg_overlay must be a dict of pretrained_cfg fields, e.g. '
                         f'pretrained_cfg_overlay={{"file": "weights.safetensors"}}, got {overlay!r}')

    def create(**extra):
        try:
            return timm.create_model(spec, **extra, **kwargs)
        except TypeError as e:  # an argument the model does not take, or one of the wrong type
            raise ValueError(f'{spec}: cannot build it with {kwargs}: {e}{unknown_argument_hint(e)}') from e
    if not pretrained:
        return _untagged(create(), 'random weights (pretrained=False)'), 'random weights (pretrained=False)', {}
    weights_file = (overlay or {}).get('file')
    if weights_file:  # timm's way to give a registered model other weights: those, whatever the model ships
        if not Path(weights_file).is_file():
            raise FileNotFoundError(f'pretrained_cfg_overlay file {weights_file}: no such file')
        rows = None
        if 'num_classes' in kwargs and 'num_classes' not in overlay:
            try:
                state_dict, _ = find_state_dict(read_checkpoint(weights_file, trust_pickle=trust_pickle))
            except (OSError, ValueError):
                state_dict = {}  # timm's load below says why it cannot be read
            registered = timm.models.get_pretrained_cfg(spec)
            rows = _io_args(_registered_family(spec), state_dict,
                            registered.classifier if registered is not None else None).get('num_classes')
        if rows is not None:
            # timm keeps a file's classifier only where num_classes equals the cfg's, which is the registered
            # weights' (1000), not the file's: a trained 10-class head was replaced at random, with a warning that
            # said it classified 1000 classes. The file's own count keeps a matching head and names another (only
            # with num_classes given: without it the model is built with the registered count)
            kwargs['pretrained_cfg_overlay'] = dict(overlay, num_classes=rows)
        model = create(pretrained=True)
        # other weights than the registered ones: the architecture's data config, without their tag, Hub repo and
        # paper (info headed a file smpconvnet_t.in1k), and without their labels for a classifier of other classes (a
        # deployed 3-class GunPoint file's card said "GunPoint, 2 classes")
        # (an overlay's description is the caller's, as the families' builders leave it)
        said = overlay['description'] if 'description' in overlay else f'weights from {weights_file}'
        _set_pretrained_cfg(model, lambda cfg: retrained_cfg(cfg, description=with_build_notes(
            said, cfg.get('description'))))
        return model, f'weights from {weights_file}', {}
    source = overlay_sources(overlay)
    if source and 'file' in overlay:
        # the weights of the repo or URL the overlay names (without a file: check_pretrained_record refuses it), not
        # the registered ones: described as the file overlay's are
        where = f"the Hub repo {source['hf_hub_id']}" if 'hf_hub_id' in source else source['url']
        model = create(pretrained=True)
        _set_pretrained_cfg(model, lambda cfg: retrained_cfg(cfg, description=with_build_notes(
            f'weights from {where}', cfg.get('description'))))
        return model, f'weights from {where}', {}
    cfg = timm.models.get_pretrained_cfg(spec)
    kind, where = weights_location(cfg.to_dict() if cfg else {})
    label = {'shipped': f'weights shipped in {where}', 'file': f'weights from {where}',
             'hub-cache': f'weights of {cfg.hf_hub_id if cfg else spec} from the local Hugging Face cache'}.get(
        kind, f"weights of {cfg.hf_hub_id if cfg else spec} from the Hub")
    if pretrained == 'auto' and kind not in ('shipped', 'file', 'hub-cache'):
        # 'auto' downloads nothing; say why there were none to use (online too: an unpublished tag has none)
        why = {'unpublished': f'{cfg.hf_hub_id if cfg else spec} is not published yet',
               'hub': f"{cfg.hf_hub_id if cfg else spec} is not in the local Hugging Face cache and 'auto' "
                      f'downloads nothing: --pretrained yes (pretrained=True) downloads it',
               'url': "'auto' downloads nothing: --pretrained yes (pretrained=True) downloads them",
               }.get(kind, 'this model has no pretrained weights')
        # (its cfg kept: where the weights would come from is what info shows of a tag without them)
        return create(), f'random weights ({why})', {}
    return create(pretrained=True), label, {}


def load_model(spec: str, pretrained: Union[bool, str] = True, trust_pickle: bool = False,
               **kwargs) -> Tuple[torch.nn.Module, str]:
    """(model, description of where its weights came from) for a name, hub id, folder or checkpoint file.

    ``pretrained``: True loads weights (an error if there are none), False random initialisation (in the
    architecture of the name, folder or hf-hub: repo, as timm builds ``local-dir:`` / ``hf-hub:`` without
    weights), ``'auto'`` weights when available without a download, else random initialisation (a folder's or
    repo's weights are available); with ``checkpoint_path=`` (timm's: a file loaded strictly after the build), a
    registered name is built without its weights, which the file replaces (a folder as ``pretrained`` says: its
    deployed form or its training form). A checkpoint file can be
    any that ``identify_checkpoint`` recognises (timm's train.py, ``smpconvnet train-seq``, original, bare).

    Raises:
        ValueError: an unknown name, a checkpoint whose model cannot be told or whose weights do not fit it
            (naming the file and what was expected), an argument given as None that the model is not built
            with (timm drops None arguments: ``check_none_kwargs``), or ``pretrained=False`` for a checkpoint file
            or a folder without config.json (read for their weights alone).
        FileNotFoundError: a ``local-dir:`` that is not a folder; ``pretrained=True`` for a model folder without a
            weights file, or an hf-hub: repo whose weights cannot be read (from the cache, offline).
    """
    model, description, _ = load_model_with_config(spec, pretrained, trust_pickle, **kwargs)
    return model, description


# arguments that change what weights compute without changing their shapes: a model that records them (a registered
# name, a folder) loads with another value silently
_OUTPUT_CHANGING_ARGS = ('global_pool', 'kernel_length')


def changed_computation(spec: str, kwargs: Optional[Dict[str, Any]]) -> Dict[str, Tuple[Any, Any]]:
    """The arguments (``global_pool``, ``kernel_length`` of a sequence model) with which the weights of ``spec`` compute
    something else than the model they were trained as: ``{name: (trained value, value used)}``, for those given in
    ``kwargs`` and, for a folder that ``reparam`` deployed with other values (its config.json's ``trained_with``),
    those it was deployed with. Empty where ``spec`` records none of them to compare with: a bare weight file (also
    one given as a registered model's ``pretrained_cfg_overlay`` file or ``checkpoint_path=``) needs them, a spec that
    loads only with the caller's arguments."""
    given = {k: v for k, v in (kwargs or {}).items() if k in _OUTPUT_CHANGING_ARGS}
    overlay = (kwargs or {}).get('pretrained_cfg_overlay')
    # (a checkpoint_path= file's weights are not spec's either: trial 70, a file trained with kernel_length=16 was
    # said trained with the registered None, and the hint scored it 0.4933 for 0.7133)
    if Path(spec).is_file() or (isinstance(overlay, dict) and overlay.get('file')) or (kwargs or {}).get(
            'checkpoint_path'):
        return {}
    if not given and not _records_trained_with(spec):
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            model, _, extra = load_model_with_config(spec, pretrained=True, **{k: v for k, v in (kwargs or {}).items()
                                                                             if k not in _OUTPUT_CHANGING_ARGS})
    except (ValueError, RuntimeError, OSError, TypeError):
        return {}
    network = member_network(model)
    # (a model without such an attribute, or with another kind of value there, records nothing to compare with)
    recorded = {k: getattr(network, k) for k in _OUTPUT_CHANGING_ARGS
                if hasattr(network, k) and isinstance(getattr(network, k), (str, int, type(None)))}
    trained = dict(recorded, **(extra.get(TRAINED_WITH_KEY) or {}))
    used = dict({k: recorded[k] for k in (extra.get(TRAINED_WITH_KEY) or {}) if k in recorded}, **given)
    return {k: (trained[k], v) for k, v in used.items() if k in trained and trained[k] != v}


def _records_trained_with(spec: str) -> bool:
    # whether the folder ``spec`` (or local-dir:) records trained values it was deployed without (cheap: no model)
    folder = Path(spec[len('local-dir:'):] if spec.startswith('local-dir:') else spec)
    try:
        return folder.is_dir() and TRAINED_WITH_KEY in json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return False


def changed_computation_message(spec: str, name: str, trained: Any, used: Any, given: bool, verb: str) -> str:
    """The warning for one entry of ``changed_computation``: ``given`` whether the caller passed it (else the folder
    was deployed with it); ``verb`` what the command does with the trained model ('score', 'deploy', 'export')."""
    how = f'--model-kwargs {name}={used!r}: {spec} was trained with' if given else \
        f'{spec} was deployed with {name}={used!r} and trained with'
    return (f'{how} {name}={trained!r}; with {used!r} it computes something else (give {name}={trained!r} to '
            f'{verb} the trained model)')
