"""``smpconvnet list`` and ``smpconvnet info``: what models there are, their weights, size and cost."""
import argparse
import json
import time
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.utils._python_dispatch

__all__ = ['project_models', 'list_models', 'model_info', 'count_macs']


def project_models() -> List[str]:
    """Every architecture this package registers with timm (ImageNet and sequence families)."""
    import timm
    from timm.models._registry import _model_entrypoints

    import smpconvnet  # noqa: F401  (registers the models)
    return sorted(name for name, fn in _model_entrypoints.items()
                  if fn.__module__ == 'smpconvnet' or fn.__module__.startswith('smpconvnet.'))


def _weights_status(cfg: Dict[str, Any]) -> str:
    from .hub import weights_location
    kind, where = weights_location(cfg)
    return {
        'shipped': 'shipped (weights/)',
        'file': f'local file {where}',
        'hub-cache': f"Hub cache ({cfg.get('hf_hub_id')})",
        'hub': f"on the Hub, not cached ({cfg.get('hf_hub_id')})",
        'url': 'download (url)',
        'none': 'none',
    }[kind]


def _count_params(name: str) -> int:
    import timm
    with torch.device('cpu'):
        model = timm.create_model(name)
    return sum(p.numel() for p in model.parameters())


def list_models(pattern: str = '', with_params: bool = True, progress: bool = True) -> List[Dict[str, Any]]:
    """One row per model and pretrained tag: name, parameters, input size, classes, weights."""
    import fnmatch
    import sys

    import timm
    rows = []
    names = [n for n in project_models() if not pattern or fnmatch.fnmatch(n, pattern)]
    for i, arch in enumerate(names):
        if progress:
            print(f'\r  building {arch} ({i + 1}/{len(names)})...', end='', file=sys.stderr, flush=True)
        params = _count_params(arch) if with_params else None
        tags = timm.models._registry._model_with_tags.get(arch) or [arch]
        for tagged in tags:
            cfg = timm.models.get_pretrained_cfg(tagged)
            cfg = cfg.to_dict() if cfg is not None else {}
            rows.append(dict(name=tagged, params=params, input_size=tuple(cfg.get('input_size') or ()),
                             num_classes=cfg.get('num_classes'), weights=_weights_status(cfg)))
    if progress:
        print('\r' + ' ' * 60 + '\r', end='', file=sys.stderr, flush=True)
    return rows


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
    convolution computed directly (the architecture's cost, whatever backend runs it)."""
    from torch.utils.flop_counter import FlopCounterMode

    from .export import _direct_convolutions
    x = torch.randn(1, *input_size)
    # direct convolutions: the FFT backend computes the same result, but the counter knows no FFT operator
    watch = _FFTSeen()
    with _direct_convolutions(), FlopCounterMode(display=False) as counter, torch.inference_mode(), watch:
        model(x)
    if fft_seen is not None:
        fft_seen.append(watch.seen)
    return counter.get_total_flops() // 2


def model_info(spec: str, input_size: Optional[Sequence[int]] = None, pretrained='auto') -> Dict[str, Any]:
    """Config, parameters and GMACs (training form and deployed) of a model name / folder / checkpoint."""
    from .convert import load_model
    model, source = load_model(spec, pretrained=pretrained)
    model.eval()
    cfg = dict(model.pretrained_cfg)
    from .export import model_input_shape
    size = model_input_shape(model, input_size)
    info: Dict[str, Any] = dict(
        model=spec, architecture=cfg.get('architecture'), tag=cfg.get('tag'), weights=source,
        params=sum(p.numel() for p in model.parameters()), input_size=size,
        num_classes=getattr(model, 'num_classes', None), num_features=getattr(model, 'num_features', None))
    t0 = time.perf_counter()
    fft: List[bool] = []
    info['gmacs'] = count_macs(model, size, fft) / 1e9
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if has_bn and hasattr(model, 'reparameterize'):
        from .export import _deploy
        deployed = _deploy(model, torch.empty(1, *size))  # sequence models: deployed for this length
        info['deployed_params'] = sum(p.numel() for p in deployed.parameters())
        info['deployed_gmacs'] = count_macs(deployed, size, fft) / 1e9
    info['macs_lower_bound'] = any(fft)  # FFT convolutions ran and are not in the count
    info['count_seconds'] = time.perf_counter() - t0
    info['pretrained_cfg'] = {k: v for k, v in cfg.items() if v not in (None, '', [], {}) and k != 'state_dict'}
    if getattr(model, '_model_args', None):
        info['model_args'] = dict(model._model_args)
    return info


def _print_list(rows: List[Dict[str, Any]]):
    header = ('model', 'params', 'input', 'classes', 'weights')
    table = [header] + [(r['name'], f"{r['params']:,}" if r['params'] is not None else '-',
                         'x'.join(str(v) for v in r['input_size']), str(r['num_classes']), r['weights'])
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print('  '.join(v.ljust(w) for v, w in zip(row[:4], widths)) + '  ' + row[4])


def _print_info(info: Dict[str, Any]):
    print(f"{info['model']}: {info['architecture']}" + (f".{info['tag']}" if info['tag'] else ''))
    print(f"  weights:     {info['weights']}")
    print(f"  parameters:  {info['params']:,}" + (f" ({info['deployed_params']:,} deployed)"
                                                   if 'deployed_params' in info else ''))
    size = 'x'.join(str(v) for v in info['input_size'])
    print(f"  GMACs:       {info['gmacs']:.3f} at {size}" + (
        f" ({info['deployed_gmacs']:.3f} deployed)" if 'deployed_gmacs' in info else '') +
        '  [FLOPs of convolutions and matrix products / 2, torch.utils.flop_counter]')
    if info.get('macs_lower_bound'):
        print('               lower bound: some convolutions ran as FFTs, which the counter does not count')
    print(f"  classes:     {info['num_classes']}, features {info['num_features']}")
    if info.get('model_args'):
        print(f"  model args:  {json.dumps(info['model_args'])}")
    print('  pretrained_cfg:')
    for k, v in info['pretrained_cfg'].items():
        print(f'    {k}: {v}')


def add_parser(subparsers: argparse._SubParsersAction):
    from .export import _parse_size, _pretrained_arg
    p = subparsers.add_parser(
        'list', help='registered models and pretrained tags, with parameters and weight availability',
        description='List every model this package registers with timm, one line per pretrained tag: '
                    'parameters, input size, classes, and where its weights are (shipped in weights/, in the '
                    'local Hugging Face cache, only on the Hub, or none).')
    p.add_argument('pattern', nargs='?', default='', help='shell-style filter, e.g. "smpconvnet_*"')
    p.add_argument('--no-params', action='store_true', help='skip building each model to count parameters')
    p.add_argument('--json', action='store_true', help='print JSON')

    def run_list(a):
        rows = list_models(a.pattern, with_params=not a.no_params)
        if not rows:
            raise ValueError(f'no registered smpconvnet model matches {a.pattern!r}')
        print(json.dumps(rows, indent=2, default=str)) if a.json else _print_list(rows)
        return 0
    p.set_defaults(func=run_list)

    p = subparsers.add_parser(
        'info', help='configuration, parameters and GMACs of a model',
        description='Show the pretrained config, parameters and GMACs (multiply-accumulates, training form and '
                    're-parameterised) of MODEL at its default input size (C,H,W images or C,L sequences).')
    p.add_argument('model', help='model name (with or without tag), hf-hub:/local-dir: name, folder or checkpoint')
    p.add_argument('--input-size', help='count at C,H,W or C,L instead of the default input size')
    p.add_argument('--pretrained', choices=('auto', 'yes', 'no'), default='no',
                   help='load weights (no: counts need none)')
    p.add_argument('--json', action='store_true', help='print JSON')

    def run_info(a):
        info = model_info(a.model, _parse_size(a.input_size), pretrained=_pretrained_arg(a.pretrained))
        print(json.dumps(info, indent=2, default=str)) if a.json else _print_info(info)
        return 0
    p.set_defaults(func=run_info)
