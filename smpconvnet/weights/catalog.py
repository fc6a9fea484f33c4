"""What models there are, where their weights are, their size and cost (``smpconvnet list`` / ``info``)."""
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import timm
import torch

from ..models import (
    has_batchnorm, is_project_model, is_sequence_architecture, kernels_span_the_input, member_network, two_branch_eval,
    weights_location,
)
from ..profiling import count_macs
from .deploy import deploy, model_input_shape, warn_new_classifier
from .sources import load_model_with_config

__all__ = ['project_models', 'list_models', 'model_info']


def project_models() -> List[str]:
    """Every architecture this package registers with timm (ImageNet and sequence families)."""
    return sorted(name for name in timm.list_models() if is_project_model(name))


def _weights_status(cfg: Dict[str, Any]) -> str:
    kind, where = weights_location(cfg)
    return {
        'shipped': 'shipped (smpconvnet/pretrained/)',
        'file': f'local file {where}',
        'hub-cache': f"Hub cache ({cfg.get('hf_hub_id')})",
        # list asks no server: the repo's existence is not checked
        'hub': f"not cached; downloaded from the Hub repo {cfg.get('hf_hub_id')} if it exists (not checked)",
        'unpublished': f"not published yet (no Hub repo {cfg.get('hf_hub_id')}; see its model card)",
        'url': 'download (url)',
        'none': 'none',
    }[kind]


def _count_params(name: str) -> int:
    import timm
    with torch.device('cpu'):
        model = timm.create_model(name)
    return sum(p.numel() for p in model.parameters())


def list_models(pattern: str = '', with_params: bool = True, progress: bool = True) -> List[Dict[str, Any]]:
    """One row per model and pretrained tag: name, parameters, input size, classes, weights. ``progress``: a
    one-line counter on stderr, when it is a terminal (in a log its carriage returns would run into the table)."""
    import fnmatch

    import timm
    rows = []
    progress = progress and sys.stderr.isatty()
    # the pattern matches an architecture (all its tags) or the names as listed, with their tags ("*.aeon")
    tagged_names = {arch: list(timm.models.get_arch_pretrained_cfgs(arch)) or [arch] for arch in project_models()}
    selected = {arch: [t for t in tags if not pattern or fnmatch.fnmatch(arch, pattern) or fnmatch.fnmatch(t, pattern)]
                for arch, tags in tagged_names.items()}
    names = [arch for arch, tags in selected.items() if tags]
    for i, arch in enumerate(names):
        if progress:
            print(f'\r  building {arch} ({i + 1}/{len(names)})...', end='', file=sys.stderr, flush=True)
        params = _count_params(arch) if with_params else None
        sequence = is_sequence_architecture(arch)
        for tagged in selected[arch]:
            cfg = timm.models.get_pretrained_cfg(tagged)
            cfg = cfg.to_dict() if cfg is not None else {}
            size = tuple(cfg.get('input_size') or ())
            if sequence and len(size) == 3 and size[1] == 1:
                # (C, L), as info, reparam and export read a sequence model's input (timm's cfg writes (C, 1, L))
                size = (size[0], size[2])
            rows.append(dict(name=tagged, params=params, input_size=size, num_classes=cfg.get('num_classes'),
                             weights=_weights_status(cfg)))
    if progress:
        print('\r' + ' ' * 60 + '\r', end='', file=sys.stderr, flush=True)
    return rows


def model_info(spec: str, input_size: Optional[Sequence[int]] = None, pretrained='auto',
               model_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Config, parameters and GMACs (training form and deployed) of a model name / folder / checkpoint;
    ``model_kwargs`` go to ``load_model`` (arguments the model is built with before its weights load)."""
    model, source, extra = load_model_with_config(spec, pretrained=pretrained, **(model_kwargs or {}))
    model.eval()
    warn_new_classifier(spec, model, model_kwargs, source, verb='loads')
    cfg = dict(model.pretrained_cfg)
    size = model_input_shape(model, input_size)
    info: Dict[str, Any] = dict(
        model=spec, architecture=cfg.get('architecture'), tag=cfg.get('tag'), weights=source,
        params=sum(p.numel() for p in model.parameters()), input_size=size,
        num_classes=getattr(model, 'num_classes', None), num_features=getattr(model, 'num_features', None))
    task = (extra.get('dataset') or {}).get('task')
    if task == 'regression':  # an adding-problem run: one output, not one class
        info['regression'] = extra['dataset'].get('name')
    if getattr(model, 'num_members', None) is not None:
        info['num_members'] = model.num_members  # an ensemble: parameters, GMACs and features are all members'
    unit = member_network(model)
    if hasattr(unit, 'causal') and hasattr(unit, 'kernel_length'):
        # a sequence model: what its convolutions read (two models of one shape differ in these alone)
        info['sequence'] = {k: getattr(unit, k, None) for k in ('causal', 'kernel_length', 'global_pool',
                                                                 'zero_pad_to', 'first_difference')}
        if kernels_span_the_input(model) and getattr(model, 'is_deployed', False):
            info['sequence']['deployed_length'] = unit.seq_len  # whole-input kernels fused for this length only
    t0 = time.perf_counter()
    fft: List[bool] = []
    with two_branch_eval(model):  # an eval-mode SMP-TCN unit runs its folded (deployed) convolution otherwise
        info['gmacs'] = count_macs(model, size, fft) / 1e9
    if has_batchnorm(model) and hasattr(model, 'reparameterize'):
        deployed = deploy(model, torch.empty(1, *size))  # sequence models: deployed for this length
        info['deployed_params'] = sum(p.numel() for p in deployed.parameters())
        info['deployed_gmacs'] = count_macs(deployed, size, fft) / 1e9
    info['macs_lower_bound'] = any(fft)  # FFT convolutions ran and are not in the count
    info['count_seconds'] = time.perf_counter() - t0
    info['pretrained_cfg'] = {k: v for k, v in cfg.items() if v not in (None, '', [], {}) and k != 'state_dict'}
    if getattr(model, '_model_args', None):
        info['model_args'] = dict(model._model_args)
    return info
