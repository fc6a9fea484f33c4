"""Training with timm's own scripts: shipped recipes and a launcher for an unchanged ``train.py``.

``smpconvnet recipe NAME``             prints (or, with ``--output``, writes) a ``train.py --config`` file.
``smpconvnet train -- ARGS``           runs timm's ``train.py`` with ARGS, the models registered and the
                                       original's radius learning rate (0.1 x) in the optimiser's groups.
``smpconvnet validate -- ARGS``        runs timm's ``validate.py`` with ARGS, the models registered.

The scripts come from a checkout of pytorch-image-models and are run as they are (``runpy``, ``sys.argv``
set to ARGS): nothing in them is edited or copied. For several GPUs or nodes, start the launcher under
torchrun: ``torchrun --nproc_per_node 8 -m smpconvnet train --train-script .../train.py -- ARGS``.
"""
import functools
import logging
import os
import re
import runpy
import shlex
import sys
import traceback
from importlib import resources
from typing import Any, Dict, List, Optional, Sequence

import torch.nn as nn

from ..atomic_io import atomic_file, check_destination, real_destination

__all__ = [
    'RADIUS_LR_SCALE', 'recipe_names', 'recipe_text', 'load_recipe', 'write_recipe', 'param_groups_smp',
    'run_timm_script',
]

_logger = logging.getLogger(__name__)

# The original ImageNet training sets the learning rate of the point radii to 0.1 x the scheduled rate
# (its parameter group flagged 'radius'); the sequence models use the same factor.
RADIUS_LR_SCALE = 0.1

_RECIPE_DIR = 'recipes'
_RECIPE_SUFFIX = '.yaml'


# ---------------------------------------------------------------------------------------------------------
# Recipes

def _recipe_files():
    return resources.files(__package__).joinpath(_RECIPE_DIR)


def recipe_names() -> List[str]:
    """Names of the shipped recipes (``smpconvnet_t_in1k``, ...)."""
    return sorted(
        p.name[:-len(_RECIPE_SUFFIX)] for p in _recipe_files().iterdir() if p.name.endswith(_RECIPE_SUFFIX))


def recipe_text(name: str) -> str:
    """The YAML text of a shipped recipe, comments included."""
    names = recipe_names()
    if name.endswith(_RECIPE_SUFFIX):
        name = name[:-len(_RECIPE_SUFFIX)]
    if name not in names:
        raise ValueError(f'unknown recipe {name!r}; the shipped recipes are: {", ".join(names)}')
    return _recipe_files().joinpath(name + _RECIPE_SUFFIX).read_text(encoding='utf-8')


def load_recipe(name: str) -> Dict[str, Any]:
    """A shipped recipe as the dict ``train.py --config`` reads (train.py option dest -> value)."""
    import yaml  # a timm dependency
    return yaml.safe_load(recipe_text(name))


def write_recipe(name: str, output: str, force: bool = False) -> str:
    """Write a recipe to ``output`` through a temporary file renamed into place; refuse to overwrite
    an existing file unless ``force``. Returns the path written."""
    text = recipe_text(name)
    # the one wording of every writer (a folder refused, a file only with --force), written where it looked
    output = str(real_destination(check_destination(output, force)))
    directory = os.path.dirname(output)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f'directory {directory} does not exist: create it, or write the recipe elsewhere')
    with atomic_file(output) as tmp:
        tmp.write_text(text, encoding='utf-8')
    return output


# ---------------------------------------------------------------------------------------------------------
# Optimiser parameter groups

def _radius_parameters(model: nn.Module) -> List[nn.Parameter]:
    from ..layers.point_kernel import PointKernel
    return [m.radius for m in model.modules() if isinstance(m, PointKernel) and m.radius.requires_grad]


def param_groups_smp(
        model: nn.Module,
        weight_decay: float = 1e-5,
        radius_lr_scale: float = RADIUS_LR_SCALE,
        no_weight_decay_list: Optional[Sequence[str]] = None,
) -> List[Dict[str, Any]]:
    """timm's weight-decay parameter groups plus one group for the point radii, trained at
    ``radius_lr_scale`` x the learning rate and without weight decay.

    A ``param_group_fn`` for ``timm.optim.create_optimizer_v2``: the radius group carries ``lr_scale``,
    which timm's schedulers multiply into the scheduled rate at every update (as for layer-wise decay), e.g.
    ``create_optimizer_v2(model, 'adamw', lr=4e-3, weight_decay=0.05,
    param_group_fn=functools.partial(param_groups_smp, weight_decay=0.05))``.
    Without a timm scheduler, set the group's ``lr`` yourself (``lr_scale`` x the others').
    """
    from timm.optim import param_groups_weight_decay
    if no_weight_decay_list is None:
        no_weight_decay_list = getattr(model, 'no_weight_decay', lambda: set())()
    groups = param_groups_weight_decay(model, weight_decay=weight_decay, no_weight_decay_list=no_weight_decay_list)
    radii = _radius_parameters(model)
    radius_ids = {id(p) for p in radii}
    out = []
    for group in groups:
        params = [p for p in group['params'] if id(p) not in radius_ids]
        if params:
            out.append({**group, 'params': params})
    if radii:
        out.append({'params': radii, 'weight_decay': 0., 'lr_scale': float(radius_lr_scale)})
    return out


def _create_optimizer_with_radius_group(create_optimizer_v2, radius_lr_scale: float):
    """Wrap timm's ``create_optimizer_v2`` so that a model with point kernels gets ``param_groups_smp``
    (when the caller asks for no other grouping: no ``param_group_fn``, ``layer_decay``, fallback list,
    or ``filter_bias_and_bn=False``)."""

    @functools.wraps(create_optimizer_v2)
    def create(model_or_params, opt: str = 'sgd', lr=None, weight_decay: float = 0., *args, **kwargs):
        other_grouping = (kwargs.get('param_group_fn') is not None or kwargs.get('layer_decay') is not None
                          or not kwargs.get('filter_bias_and_bn', True) or kwargs.get('fallback_list')
                          or kwargs.get('fallback_no_weight_decay'))
        if isinstance(model_or_params, nn.Module) and not other_grouping and _radius_parameters(model_or_params):
            kwargs['param_group_fn'] = functools.partial(
                param_groups_smp, weight_decay=weight_decay, radius_lr_scale=radius_lr_scale)
            _logger.info(f'smpconvnet: point radii in their own parameter group (lr x {radius_lr_scale:g}, '
                         f'no weight decay)')
        return create_optimizer_v2(model_or_params, opt, lr, weight_decay, *args, **kwargs)

    return create


# ---------------------------------------------------------------------------------------------------------
# Running timm's scripts

def _model_argument(script_args: Sequence[str]) -> Optional[str]:
    # the --model (-m) a timm script was given, as its argparse reads it
    for i, a in enumerate(script_args):
        if a in ('--model', '-m') and i + 1 < len(script_args):
            return script_args[i + 1]
        if a.startswith('--model='):
            return a[len('--model='):]
    return None


def _say_export_command(script: str, error: BaseException, script_args: Sequence[str] = ()) -> None:
    # a checkpoint's refusal says which --model-kwargs build its model; a script without that option (timm's
    # onnx_export.py) cannot take them: its --num-classes where that is all they say (trial 65), else the project's
    # export command with the script's --model and those arguments (a bare file names no model: `export FILE` alone
    # built another, trial 65)
    path = getattr(error, 'checkpoint_path', None)
    found = re.search(r'--model-kwargs ([^;)]*)', str(error))
    model = _model_argument(script_args)
    # (pretrained weights of other channels than the script's fixed 3 are refused too, naming no file: trial 72c #1)
    if found is None or (path is None and (model is None or 'pretrained weights for' not in str(error))):
        return
    try:
        with open(script, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return
    if '--model-kwargs' in text:
        return
    try:
        words = shlex.split(found.group(1))
    except ValueError:  # (a value with an unmatched quote: no words to read, the export command stands)
        words = []
    classes = [w.partition('=')[2] for w in words if w.startswith('num_classes=')]
    name = os.path.basename(script)
    if words and len(classes) == len(words) and '--num-classes' in text:
        print(f'{name} takes no --model-kwargs: its own --num-classes {classes[0]} builds the model that checkpoint '
              f'needs', file=sys.stderr)
        return
    # (the script's own class count where the refusal names none: trial 72c #2, a second refusal asked for it)
    given_classes = _option_value(script_args, '--num-classes')
    if given_classes is not None and not classes:
        words.append(f'num_classes={given_classes}')
    words = ' '.join(shlex.quote(w) for w in words if not w.startswith('checkpoint_path='))
    command = (f'smpconvnet export {shlex.quote(path)}' if model is None else
               f'smpconvnet export {shlex.quote(model)} --model-kwargs {words}' if path is None else
               # (--pretrained no: the file's weights over the architecture's, not over a tag's that may not fit)
               f"smpconvnet export {shlex.quote(model)} --pretrained no --model-kwargs "
               f"{shlex.quote(f'checkpoint_path={path}')} " + words)
    what = 'that checkpoint needs' if path is not None else 'its pretrained weights need'
    print(f'{name} takes no --model-kwargs, so it cannot build the model {what}; `{command}` exports '
          f'it to ONNX (re-parameterised and checked in onnxruntime; --format torchscript and -o FILE where wanted)',
          file=sys.stderr)


def _option_value(script_args: Sequence[str], option: str) -> Optional[str]:
    # the value the script's arguments give ``option`` (OPTION VALUE or OPTION=VALUE; the last one), else None
    value = None
    for i, a in enumerate(script_args):
        if a == option and i + 1 < len(script_args):
            value = script_args[i + 1]
        elif a.startswith(option + '='):
            value = a.split('=', 1)[1]
    return value


# the constructor arguments timm's train.py / validate.py pass from options of their own (create_model(...,
# in_chans=in_chans, num_classes=args.num_classes, global_pool=args.gp, ..., **args.model_kwargs)): in its
# --model-kwargs they are passed twice (trial 72 #2: a hint's "--model-kwargs num_classes=5" ended in a TypeError)
_SCRIPT_OPTIONS = (('in_chans', '--in-chans'), ('num_classes', '--num-classes'), ('global_pool', '--gp'),
                   ('drop_rate', '--drop'), ('drop_path_rate', '--drop-path'), ('drop_block_rate', '--drop-block'),
                   ('bn_momentum', '--bn-momentum'), ('bn_eps', '--bn-eps'))


def _script_options(text: str) -> Dict[str, str]:
    # those a script defines (a script without --model-kwargs takes no hint of that form: _say_export_command)
    def defines(option):
        return f"'{option}'" in text or f'"{option}"' in text
    return {k: option for k, option in _SCRIPT_OPTIONS if defines(option)} if defines('--model-kwargs') else {}


def _gives(script_args: Sequence[str], *options: str) -> bool:
    # whether the script's arguments give one of ``options`` (as OPTION VALUE or OPTION=VALUE)
    return any(a in options or a.split('=', 1)[0] in options for a in script_args)


def _script_model_kwargs(script_args: Sequence[str]) -> Optional[Dict[str, Any]]:
    # a timm script's --model-kwargs (timm's ParseKwargs: the last option given, its KEY=VALUE words up to the next
    # option); None where it has none or they do not parse (the script says so itself)
    from .seq_trainer import parse_model_kwargs
    starts = [i for i, a in enumerate(script_args) if a == '--model-kwargs']
    if not starts:
        return None
    words = []
    for a in script_args[starts[-1] + 1:]:
        if a.startswith('-'):
            break
        words.append(a)
    try:
        return parse_model_kwargs(words)
    except ValueError:
        return None


def run_timm_script(script: str, script_args: Sequence[str], radius_lr_scale: Optional[float] = None) -> int:
    """Run a timm script (``train.py``, ``validate.py``) unchanged as ``__main__`` with ``script_args``.

    The models are registered (importing any part of ``smpconvnet`` runs the package's ``__init__``). With ``radius_lr_scale`` (and not 1),
    ``timm.optim.create_optimizer_v2`` builds ``param_groups_smp`` groups for the duration of the run; for the run,
    ``timm.models.load_checkpoint`` (validate.py's ``--checkpoint``) checks the file and applies the family's
    checkpoint filter to this project's models (``smpconvnet.models.with_checkpoint_checks``). The ``in_chans`` a
    script passes where ``script_args`` give neither ``--in-chans`` nor ``--input-size`` is its default, not a
    request: weights of other channels are refused, not adapted. A refusal's command-line hint is the script's own
    ``--model-kwargs`` with its change, and its own options for the arguments it passes itself (``--in-chans``,
    ``--num-classes``, ``--gp``).
    Returns the script's exit status.
    """
    if not str(script).strip():  # abspath('') is the current folder, which the message would call the script
        raise ValueError("the script's path is empty: pass the path of a timm script, e.g. train.py in a "
                         'pytorch-image-models checkout')
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(
            f'{script} not found: pass the path of the script in a pytorch-image-models checkout (for smpconvnet '
            f'train / validate: --train-script / --validate-script, or run from the checkout directory)')
    import timm.models
    import timm.optim
    from ..models import checkpoint_loaded, command_model_kwargs, script_defaults, with_checkpoint_checks

    try:
        with open(script, encoding='utf-8') as f:
            options = _script_options(f.read())
    except (OSError, UnicodeDecodeError):
        options = {}
    # (the in_chans a script passes where neither --in-chans nor --input-size was given is its default, 3 in timm's
    # train.py and validate.py, fixed in onnx_export.py: not the caller's request, so weights of other channels are
    # refused, not adapted, as timm's strict load of its own models fails; trial 72b #1: onnx_export.py made a
    # 3-channel model of 1-channel weights without a word)
    defaults = [] if _gives(script_args, '--in-chans', '--input-size') else ['in_chans']
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    saved_create = timm.optim.create_optimizer_v2
    saved_load_checkpoint = timm.models.load_checkpoint
    # validate.py's --checkpoint (and any script's load_checkpoint, imported from timm.models when it runs): the
    # file checked and read through the family's checkpoint filter, as create_model(checkpoint_path=) does
    timm.models.load_checkpoint = with_checkpoint_checks(saved_load_checkpoint, what='checkpoint',
                                                         loaded=checkpoint_loaded)
    sys.argv = [script] + list(script_args)
    # as `python script.py` does: the script's folder first on the import path
    if sys.path:
        sys.path[0] = os.path.dirname(script)
    else:
        sys.path.insert(0, os.path.dirname(script))
    if radius_lr_scale is not None and radius_lr_scale != 1:
        timm.optim.create_optimizer_v2 = _create_optimizer_with_radius_group(saved_create, radius_lr_scale)
    try:
        # a refusal's command-line hint is the script's --model-kwargs with its change (timm's option keeps the last
        # one given: an added one alone would drop the others)
        with command_model_kwargs(_script_model_kwargs(script_args), options), script_defaults(defaults):
            runpy.run_path(script, run_name='__main__')
        return 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  (the script's own failure: show its traceback, not a one-line summary)
        traceback.print_exc()
        _say_export_command(script, e, script_args)
        return 1
    finally:
        timm.optim.create_optimizer_v2 = saved_create
        timm.models.load_checkpoint = saved_load_checkpoint
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
