"""``smpconvnet list`` (registered models and where their weights are) and ``smpconvnet info`` (configuration,
parameters, GMACs)."""
import argparse
import json
from typing import Any, Dict, List

from ..models import adapted_from_channels, said_other_weights, said_random
from ..weights.catalog import list_models, model_info
from ._args import (
    LOAD_KWARGS_HELP, add_input_size_argument, add_model_kwargs_argument, add_pretrained_argument, model_kwargs_of,
    parse_pretrained, parse_size)


def _gmacs(value: float) -> str:
    # three decimals, or three significant digits below 0.01 (a tiny model printed 0.000 GMACs: trial 75c)
    return f'{value:.3f}' if value >= 0.01 or value == 0 else f'{value:.3g}'


def _print_list(rows: List[Dict[str, Any]]):
    header = ('model', 'params', 'input', 'classes', 'weights')
    table = [header] + [(r['name'], f"{r['params']:,}" if r['params'] is not None else '-',
                         'x'.join(str(v) for v in r['input_size']), str(r['num_classes']), r['weights'])
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print('  '.join(v.ljust(w) for v, w in zip(row[:4], widths)) + '  ' + row[4])


def _print_info(info: Dict[str, Any]):
    # a tag names trained weights: random ones are the architecture's alone (they were headed smpconvnet_t.in1k)
    # (or whose cfg says so: a random model saved with timm's save_for_hf was headed with the trained weights' tag)
    random = str(info['weights']).startswith('random') or said_random(info['pretrained_cfg'])
    trained, classes = info['pretrained_cfg'].get('num_classes'), info['num_classes']
    new_head = bool(trained and classes and classes != trained)  # not the tagged weights' classifier
    # (nor weights of a file or folder over a tagged cfg: an overlay, checkpoint_path=, a model saved from random)
    tag = None if said_other_weights(info['pretrained_cfg']) else info['tag']
    # (nor the tagged weights' first layer: adapted to other input channels, or to others and back, which gives
    # back 1-channel weights only; headed as the tag's before, trial 68c F3 and 69 F1)
    chans = (info['pretrained_cfg'].get('input_size') or [None])[0]
    adapted_from = adapted_from_channels(info['pretrained_cfg'])
    adapted = bool(chans and adapted_from and not adapted_from == chans == 1)
    changes = ['new classifier'] * new_head + [f'first layer adapted to {chans} input channels'] * adapted
    print(f"{info['model']}: {info['architecture']}" + (
        ' (random weights)' if random else f" ({tag} weights, {', '.join(changes)})" if changes and tag
        else f".{tag}" if tag else ''))
    print(f"  weights:     {info['weights']}")
    print(f"  parameters:  {info['params']:,}" + (f" ({info['deployed_params']:,} deployed)"
                                                   if 'deployed_params' in info else ''))
    size = 'x'.join(str(v) for v in info['input_size'])
    print(f"  GMACs:       {_gmacs(info['gmacs'])} at {size}" + (
        f" ({_gmacs(info['deployed_gmacs'])} deployed)" if 'deployed_gmacs' in info else '') +
        '  [FLOPs of convolutions and matrix products / 2, torch.utils.flop_counter]')
    if info.get('macs_lower_bound'):
        print('               lower bound: some convolutions ran as FFTs, which the counter does not count')
    if info.get('regression'):
        print(f"  outputs:     {info['num_classes']} (a regression: {info['regression']}), features "
              f"{info['num_features']}")
    else:
        print(f"  classes:     {info['num_classes']}, features {info['num_features']}")
    if info.get('num_members'):
        print(f"  ensemble:    {info['num_members']} members, classifying by their mean class probabilities "
              f"(parameters, GMACs and features: all members')")
    if info.get('sequence'):
        seq = info['sequence']
        if seq['zero_pad_to'] is not None:
            # every series is padded to N steps: shorter input runs, longer is refused, whatever the kernels
            taps = (f"{seq['kernel_length']} taps" if seq['kernel_length'] is not None else
                    f"as many taps as its {seq['zero_pad_to']} steps"
                    + ('' if seq['causal'] else f" ({2 * seq['zero_pad_to'] - 1}: centred)"))
        elif seq['kernel_length'] is not None:
            taps = f"{seq['kernel_length']} taps (any input length)"
        elif seq.get('deployed_length'):
            taps = f"deployed for {seq['deployed_length']}-step input only (its kernels span the whole input)"
        else:
            taps = 'as many taps as the input has steps' + ('' if seq['causal'] else ' (2L - 1: centred)')
        print(f"  kernels:     {'causal' if seq['causal'] else 'centred'}, {taps}; pooling "
              f"{seq['global_pool'] or 'none (per-step outputs)'}"
              + (f"; every series zero-padded to {seq['zero_pad_to']} steps (longer ones refused)"
                 if seq['zero_pad_to'] is not None else '')
              + ('; reads each series and its first difference' if seq.get('first_difference') else ''))
    if info.get('model_args'):
        print(f"  model args:  {json.dumps(info['model_args'])}")
    print('  pretrained_cfg:')
    for k, v in info['pretrained_cfg'].items():
        print(f'    {k}: {v}')


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'list', help='registered models and pretrained tags, with parameters and weight availability',
        description='List every model this package registers with timm, one line per pretrained tag: '
                    'parameters, input size, classes, and where its weights are (shipped in smpconvnet/pretrained/, in the '
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
    add_input_size_argument(p, 'count at C,H,W or C,L instead of the default input size')
    add_pretrained_argument(p)
    p.add_argument('--json', action='store_true', help='print JSON')
    add_model_kwargs_argument(p, LOAD_KWARGS_HELP)

    def run_info(a):
        info = model_info(a.model, parse_size(a.input_size), pretrained=parse_pretrained(a.pretrained),
                          model_kwargs=model_kwargs_of(a))
        print(json.dumps(info, indent=2, default=str)) if a.json else _print_info(info)
        return 0
    p.set_defaults(func=run_info)
