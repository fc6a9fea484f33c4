"""Training and evaluation of the SMP-TCN sequence models, causal or centred (``smpconvnet train-seq`` /
``evaluate-seq``).

The optimisation follows the paper's sequence recipe: Adam, a cosine learning-rate schedule with linear warm-up
(timm's ``CosineLRScheduler``, stepped every update), radii in their own parameter group with a learning-rate
factor of 0.1 (timm's ``lr_scale`` group key, which timm's schedulers honour) and no weight decay, and radii kept
in ``[r_min, r_max]`` by the point kernel's optimizer hook after every step (asserted at every epoch end).

Data: a UEA/UCR classification set shipped with ``aeon`` (by name, e.g. ``OSULeaf``) or ``adding`` (the adding
problem, a regression). Each channel is standardised with the training split's statistics; variable-length sets
are fed at their true lengths (right-padded to one fixed length, the longest sequence of the data set, with
``lengths`` passed to the model).

Every epoch a checkpoint (model, optimizer, scheduler, epoch, update count, RNG states, history, and the run's
``config.json`` content: architecture, model arguments, preprocessing, data set) is written to
``OUTPUT/checkpoint.pth`` atomically; ``--resume`` continues from it exactly (same result as an uninterrupted
run), and every command that takes a model (``evaluate-seq``, ``reparam``, ``export``, ``info``) reads it. At the
end the folder also holds ``model.safetensors`` + ``config.json`` (loadable with
``timm.create_model('local-dir:OUTPUT', pretrained=True)``) and ``results.json``.
"""
import argparse
import ast
import inspect
import json
import math
import os
import random
import reprlib
import shlex
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from dataclasses import replace as replace_fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.utils import ModelEmaV3

from ..atomic_io import atomic_file
from ..data import sequences as seq_data
from ..user_warnings import caller_stacklevel
from ..layers.causal_conv import fixed_input_lengths
from ..layers.point_kernel import PointKernel
from ..layers.reparam import is_batchnorm
from ..models import (SHAPE_BLIND_ARGS, adapted_back_message, adapted_channels_rule, adapted_from_channels,
                      adapted_via_channels,
                      cfg_trained_length, describes_trained_weights, folder_weights_file, folder_weights_metadata,
                      has_batchnorm, model_kwargs_option, recorded_model_args, recorded_stated_against,
                      recorded_trained_length, repeated_input_channels, said_contradicted_length,
                      said_length_not_recorded, said_trained_length, stated_length_option, tag_in_chans_option,
                      tagged_name, weights_channels)
from ..models.smpconv_tcn import SEQUENCE_DATA_CFG, kernels_span_the_input
from ..weights.sources import (
    changed_computation, changed_computation_message, check_none_kwargs, load_model_with_config,
    register_checkpoint_format, unknown_argument_hint, weights_file_architecture, weights_file_hints)

__all__ = [
    'TrainConfig', 'build_param_groups', 'build_optimizer', 'build_scheduler', 'load_data', 'train', 'evaluate',
    'evaluate_pretrained', 'save_atomic', 'radii_in_bounds', 'checkpoint_config', 'checkpoint_weights', 'is_checkpoint',
    'parse_model_kwargs', 'kfold_choice', 'tied_for_best', 'pooled_accuracy', 'repeated_scored', 'repeated_accuracy',
    'predict', 'heldout_predictions', 'FINISHED_COMMAND_NAME', 'ONE_MEMBER_ARGS', 'adding_split',
    'first_update_share',
]

CHECKPOINT_NAME = 'checkpoint.pth'
LOG_NAME = 'log.jsonl'
RESULTS_NAME = 'results.json'
# written into a run folder by a driver (scripts/train_aeon.py) once the run's command has exited 0: the command's
# words from 'train-seq' on (JSON). A run folder alone does not say which epochs, augmentation or options made it
FINISHED_COMMAND_NAME = 'finished_command.json'
# the train-seq arguments that build one SMP-TCN of a variant registered as an ensemble (each member is trained
# alone by such a run; the variant alone would build all its members, trained jointly)
ONE_MEMBER_ARGS = ['--model-kwargs', 'num_members=1']


# ----------------------------------------------------------------------------------------------------- config

@dataclass
class TrainConfig:
    """The training options (the ``train-seq`` arguments); defaults are the documented recipe."""
    model: str = 'smpconv_tcn_smnist'
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    dataset: str = 'OSULeaf'
    epochs: int = 100
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    radius_lr_factor: float = 0.1
    warmup_epochs: float = 5
    min_lr_ratio: float = 0.01
    label_smoothing: float = 0.0
    augment: bool = False
    aug_scale: float = 0.1
    aug_jitter: float = 0.03
    aug_shift: float = 0.0
    aug_warp: float = 0.0
    aug_flip: float = 0.0
    mixup: float = 0.0
    grad_clip: float = 0.0
    precise_bn: bool = False
    # an exponential moving average of the weights (timm's ModelEmaV3), evaluated and exported instead of them; the
    # decay is per update: 0.99 averages over about the last 100 updates, the last 15-35 epochs of the UCR runs (a
    # few updates an epoch), where timm's ImageNet default (0.9998) would barely leave the initial weights
    model_ema: bool = False
    model_ema_decay: float = 0.99
    # timm's warm-up of the decay (train.py's --model-ema-warmup): 1 - t^(-2/3) at update t, up to the decay, so
    # the first updates' weights (and BatchNorm statistics) fade within a few hundred updates whatever the decay
    model_ema_warmup: bool = False
    val_fraction: float = 0.0
    cv_folds: int = 0
    cv_fold: int = 0
    split_seed: int = 0
    eval_test: bool = True
    seed: int = 0
    output: str = ''
    resume: bool = False
    force: bool = False
    progress: bool = True
    # the adding problem
    adding_length: int = 1000
    adding_train: int = 20000
    adding_test: int = 1000
    threads: int = 0
    length: int = 0
    device: str = 'cpu'


# options that must be the same to resume a run exactly (precise_bn acts after the last epoch only: a finished run
# resumed with or without it exports the statistics it asks for)
_RESUME_KEYS = ('model', 'model_kwargs', 'dataset', 'epochs', 'batch_size', 'lr', 'weight_decay', 'radius_lr_factor',
                'warmup_epochs', 'min_lr_ratio', 'label_smoothing', 'augment', 'aug_scale', 'aug_jitter', 'aug_shift',
                'aug_warp', 'aug_flip', 'mixup', 'grad_clip', 'model_ema', 'model_ema_decay', 'model_ema_warmup',
                'val_fraction', 'cv_folds', 'cv_fold', 'split_seed', 'seed', 'length', 'adding_length', 'adding_train',
                'adding_test')


# options that act only with another one: (fields, whether they act, why not and what to add). A value that does
# nothing would be recorded with the run as if it had acted
_IDLE_RULES = (
    (('val_fraction', 'cv_folds', 'cv_fold', 'length', 'label_smoothing'), lambda c: c.dataset != 'adding',
     'the adding problem (a regression of generated sequences of --adding-length steps) has no hold-out, folds, '
     'padding length or labels to smooth'),
    (('aug_scale', 'aug_jitter', 'aug_flip'), lambda c: c.augment,
     'amplitude scaling, jitter and time reversal act with --augment only: add --augment'),
    (('model_ema_decay', 'model_ema_warmup'), lambda c: c.model_ema,
     "the decay of the weights' moving average and its warm-up act with --model-ema only: add --model-ema"),
    (('split_seed',), lambda c: c.val_fraction > 0 or c.cv_folds > 0,  # on adding, the rule above refuses these
     'the seed of the validation hold-out or of the cross-validation folds acts with --val-fraction or --cv-folds '
     'only'),
    (('adding_length', 'adding_train', 'adding_test'), lambda c: c.dataset == 'adding',
     "the adding problem's sizes act with --dataset adding only"),
)
IDLE_OPTIONS = tuple(name for names, _, _ in _IDLE_RULES for name in names)


def option_name(name: str) -> str:
    """The ``train-seq`` option of a ``TrainConfig`` field (``aug_scale`` -> ``--aug-scale``)."""
    return {'eval_test': '--no-test', 'progress': '--no-progress'}.get(name, '--' + name.replace('_', '-'))


def check_idle_options(cfg: TrainConfig, given: Optional[Sequence[str]] = None):
    """Refuse an option that does nothing with the others (``--aug-scale`` without ``--augment``, ``--split-seed``
    without a hold-out or folds, ``--adding-*`` on a UEA/UCR set, ...).

    Args:
        cfg: the options.
        given: the ``IDLE_OPTIONS`` fields the user set (the command line knows); None: those whose value is not
            the default (a library call cannot tell a given default from none).

    Raises:
        ValueError: naming the options, why they do nothing and what to add.
    """
    for names, acts, why in _IDLE_RULES:
        if acts(cfg):
            continue
        idle = [n for n in names if (n in given if given is not None else getattr(cfg, n) != getattr(TrainConfig, n))]
        if idle:
            # a flag is named alone (--model-ema-warmup), an option with its value
            raise ValueError(' and '.join(option_name(n) if isinstance(getattr(cfg, n), bool)
                                          else f'{option_name(n)} {getattr(cfg, n)}' for n in idle) + f': {why}')


# ------------------------------------------------------------------------------------------- optimisation

def _radius_params(model: nn.Module) -> List[nn.Parameter]:
    return [m.radius for m in model.modules() if isinstance(m, PointKernel) and isinstance(m.radius, nn.Parameter)]


def build_param_groups(model: nn.Module, lr: float, weight_decay: float, radius_lr_factor: float) -> List[Dict]:
    """Three groups: weights with decay; biases, norms and the model's ``no_weight_decay`` names without;
    radii without decay and with ``lr_scale = radius_lr_factor`` (timm's schedulers multiply it in)."""
    radius_ids = {id(p) for p in _radius_params(model)}
    skip = set(model.no_weight_decay()) if hasattr(model, 'no_weight_decay') else set()
    decay, no_decay, radius = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if id(p) in radius_ids:
            radius.append(p)
        elif p.ndim <= 1 or name.endswith('.bias') or name in skip or any(name.startswith(s + '.') for s in skip):
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [
        {'params': decay, 'weight_decay': weight_decay, 'name': 'decay'},
        {'params': no_decay, 'weight_decay': 0.0, 'name': 'no_decay'},
        {'params': radius, 'weight_decay': 0.0, 'lr_scale': radius_lr_factor, 'name': 'radius'},
    ]
    for g in groups:
        # the scheduler multiplies lr_scale in (timm's convention): every group starts from the same base lr
        g['lr'] = lr
    return [g for g in groups if g['params']]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Adam with L2 weight decay, as the original sequence code; radii excluded from decay
    return torch.optim.Adam(build_param_groups(model, cfg.lr, cfg.weight_decay, cfg.radius_lr_factor), lr=cfg.lr)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """Cosine decay over the updates after a linear warm-up from 0, stepped per update (timm's scheduler)."""
    from timm.scheduler import CosineLRScheduler
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    # at least 2: with 0 or 1 update after the warm-up every rate used is the same (the peak at the cosine's start,
    # or none), and timm logs that a 1-update cosine "has no effect" (train() says what such a run does instead)
    total = max(2, cfg.epochs * steps_per_epoch - warmup)
    return CosineLRScheduler(
        optimizer, t_initial=total, lr_min=cfg.lr * cfg.min_lr_ratio, warmup_t=warmup, warmup_lr_init=0.0,
        warmup_prefix=True, t_in_epochs=False)


def radii_in_bounds(model: nn.Module) -> bool:
    for m in model.modules():
        if isinstance(m, PointKernel):
            r = m.radius.detach()
            if bool((r < m.r_min).any()) or bool((r > m.r_max).any()):
                return False
    return True


# ------------------------------------------------------------------------------------------------------ data

class PreparedData(argparse.Namespace):
    """Standardised splits plus what evaluation needs to reproduce the preprocessing."""
    train: seq_data.SequenceSet
    val: Optional[seq_data.SequenceSet]
    test: Optional[seq_data.SequenceSet]
    task: str  # 'classification' | 'regression'
    num_classes: int
    in_chans: int
    length: int
    mean: List[float]
    std: List[float]
    label_names: Optional[List[str]]
    dataset: Dict[str, Any]


# fixed draws: the training split from its own seed, the test split from another
_ADDING_SEEDS = {'train': 1234, 'test': 4321}


def adding_split(split: str, n: int, length: int) -> seq_data.SequenceSet:
    """The ``split`` ('train' or 'test') of ``n`` adding-problem sequences of ``length`` steps that train-seq draws
    (the same for the same arguments: a fixed seed per split)."""
    x, y = seq_data.make_adding_problem(n, length, torch.Generator().manual_seed(_ADDING_SEEDS[split]))
    return seq_data.SequenceSet(list(x), y, name='adding')


def load_data(cfg: TrainConfig, samples: bool = True) -> PreparedData:
    """The run's data, standardised, and its preprocessing. ``samples=False`` is for the preprocessing only: the
    adding problem then draws no samples (its preprocessing is fixed); an aeon set is still read (its statistics)."""
    if cfg.dataset == 'adding':
        train = test = None
        if samples:
            train = adding_split('train', cfg.adding_train, cfg.adding_length)
            test = adding_split('test', cfg.adding_test, cfg.adding_length)
        # the sample counts let evaluate-seq draw the same splits again
        return PreparedData(
            train=train, val=None, test=test, task='regression', num_classes=1, in_chans=2, length=cfg.adding_length,
            mean=[0.0, 0.0], std=[1.0, 1.0], label_names=None,
            dataset={'source': 'adding', 'name': 'adding', 'length': cfg.adding_length,
                     'train_samples': cfg.adding_train, 'test_samples': cfg.adding_test})
    train = seq_data.load_aeon(cfg.dataset, 'train')
    test = seq_data.load_aeon(cfg.dataset, 'test', label_names=train.label_names)
    mean, std = seq_data.channel_stats(train)
    train = seq_data.standardize(train, mean, std)
    test = seq_data.standardize(test, mean, std)
    val, held_out = None, {}
    if cfg.val_fraction and cfg.cv_folds:
        raise ValueError('--val-fraction and --cv-folds both hold out validation data: use one')
    if cfg.cv_fold and not cfg.cv_folds:
        raise ValueError(f'--cv-fold {cfg.cv_fold} needs --cv-folds K (the number of folds)')
    if cfg.cv_folds and (cfg.cv_folds < 2 or not 0 <= cfg.cv_fold < cfg.cv_folds):
        raise ValueError(f'--cv-folds must be at least 2 and --cv-fold in [0, --cv-folds), got --cv-folds '
                         f'{cfg.cv_folds} --cv-fold {cfg.cv_fold}')
    if cfg.val_fraction:
        tr_idx, val_idx = seq_data.stratified_split(train.targets, cfg.val_fraction,
                                                    torch.Generator().manual_seed(cfg.split_seed))
        train, val = train.subset(tr_idx), train.subset(val_idx)
        held_out = {'val_fraction': cfg.val_fraction}
    elif cfg.cv_folds:
        tr_idx, val_idx = seq_data.stratified_kfold(train.targets, cfg.cv_folds, cfg.cv_fold,
                                                    torch.Generator().manual_seed(cfg.split_seed))
        train, val = train.subset(tr_idx), train.subset(val_idx)
        held_out = {'cv_folds': cfg.cv_folds, 'cv_fold': cfg.cv_fold}
    if held_out:  # recorded in config.json: which part of the training split these weights never saw
        held_out = {'validation': dict(held_out, split_seed=cfg.split_seed, train_samples=len(train.targets),
                                       val_samples=len(val.targets))}
    # The model's input length (the grid its kernels are sampled on, fixed so that a prediction never depends on
    # the batch) must hold every sequence: the longest of the data set, train or test (lengths are a property of
    # the data set's documentation, e.g. JapaneseVowels 7-29, not of the labels), unless given.
    longest = max(train.max_length, val.max_length if val is not None else 0, test.max_length)
    length = cfg.length or longest
    if length < longest:
        raise ValueError(f'--length {length} is shorter than the longest sequence of {cfg.dataset} ({longest})')
    return PreparedData(
        train=train, val=val, test=test, task='classification', num_classes=len(train.label_names),
        in_chans=train.num_channels, length=length, mean=mean, std=std, label_names=train.label_names,
        dataset={'source': 'aeon', 'name': cfg.dataset, 'split': 'train/test (default)', **held_out})


# ----------------------------------------------------------------------------------------------- training

def _forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, equal_length: bool) -> torch.Tensor:
    # equal-length batches need no lengths (logits at the last step); variable-length ones pass them
    return model(x) if equal_length else model(x, lengths=lengths)


def _loss(out: torch.Tensor, target: torch.Tensor, task: str, label_smoothing: float = 0.0) -> torch.Tensor:
    if task == 'regression':
        return F.mse_loss(out.reshape(-1), target.float())
    return F.cross_entropy(out, target, label_smoothing=label_smoothing)


@torch.no_grad()
def predict(model: nn.Module, data: seq_data.SequenceSet, length: int, batch_size: int = 64) -> torch.Tensor:
    """Outputs of ``model`` (eval mode) for every sequence of ``data``, in order: logits ``[N, num_classes]``
    (``[N, 1]`` for a regression). Sequences are right-padded to ``length`` steps; ``lengths`` are passed unless
    every sequence has ``length`` steps."""
    was_training = model.training
    model.eval()
    equal_length = bool((data.lengths == length).all())
    device = next(model.parameters()).device
    outs = [_forward(model, x.to(device), lengths.to(device), equal_length).float().cpu()
            for x, lengths, _ in seq_data.batches(data, batch_size, length)]
    model.train(was_training)
    return torch.cat(outs)


def evaluate(model: nn.Module, data: seq_data.SequenceSet, length: int, task: str = 'classification',
             batch_size: int = 64) -> Dict[str, float]:
    """Accuracy (classification) or MSE (regression) and mean loss of ``model`` on ``data`` (eval mode)."""
    out = predict(model, data, length, batch_size)
    y = data.targets
    n = len(y)
    loss = _loss(out, y, task).item()
    result = {'loss': loss, 'n': n}
    if task == 'classification':
        correct = int((out.argmax(dim=1) == y).sum())
        result.update(accuracy=correct / n, correct=correct)
    else:
        result['mse'] = loss
    return result


def heldout_predictions(run: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Logits ``[N, num_classes]`` and targets ``[N]`` of the model of a ``train-seq`` run folder on the N samples of
    the training split it held out (``--cv-folds K --cv-fold k`` or ``--val-fraction``), rebuilt from the run's
    ``config.json`` (data set, folds, split seed, preprocessing). For scoring an ensemble of runs on the same fold
    (``scripts/train_aeon.py``).

    Raises:
        ValueError: the run held nothing out, or its folder has no model.
    """
    folder = Path(run)
    config = json.loads((folder / 'config.json').read_text()) if (folder / 'config.json').exists() else {}
    held = (config.get('dataset') or {}).get('validation')
    if not held or not (folder / 'model.safetensors').exists():
        raise ValueError(f'{folder}: not a finished train-seq run with held-out data (config.json records no '
                         f'dataset.validation, or model.safetensors is missing)')
    cfg = TrainConfig(dataset=config['dataset']['name'], split_seed=held['split_seed'],
                      cv_folds=held.get('cv_folds', 0), cv_fold=held.get('cv_fold', 0),
                      val_fraction=held.get('val_fraction', 0.0))
    data = load_data(cfg)
    model, _, _ = load_model_with_config(str(folder), pretrained=True)
    length = max(int(model.pretrained_cfg['input_size'][-1]), data.val.max_length)
    return predict(model, data.val, length), data.val.targets


def save_atomic(obj: Any, path: Path, saver=torch.save):
    """Write ``obj`` to ``path`` through a temporary file in the same folder renamed into place."""
    with atomic_file(path) as tmp:
        saver(obj, str(tmp))


def _write_text_atomic(text: str, path: Path):
    def _save(t, p):
        Path(p).write_text(t)
    save_atomic(text, path, saver=_save)


def build_model(cfg: TrainConfig, data: PreparedData) -> nn.Module:
    import timm

    from ..models import seq_zoo  # noqa: F401  (registers the models; the package import does too)
    kwargs = dict(cfg.model_kwargs)
    # the command as given (no empty --model-kwargs where none were)
    given = ''.join(f' {k}={v!r}' for k, v in cfg.model_kwargs.items())
    given = f' --model-kwargs{given}' if given else ''
    # the classes come from the data: another number trains a head the recorded config (the data's) cannot load
    if 'num_classes' in kwargs and kwargs['num_classes'] != data.num_classes:
        what = 'is a regression (one output)' if data.task == 'regression' else f'has {data.num_classes} classes'
        raise ValueError(f'--model-kwargs num_classes={kwargs["num_classes"]!r}: {data.dataset["name"]} {what}; '
                         f'train-seq sizes the classifier from the data: leave num_classes out')
    if 'in_chans' in kwargs and kwargs['in_chans'] != data.in_chans:
        raise ValueError(f'--model-kwargs in_chans={kwargs["in_chans"]!r}: {data.dataset["name"]} has '
                         f'{data.in_chans} channel(s); train-seq sizes the input from the data: leave in_chans out')
    # the loss reads one prediction per series; without pooling the model gives one per step
    if 'global_pool' in kwargs and kwargs['global_pool'] is not None and not kwargs['global_pool']:
        raise ValueError(f'--model-kwargs global_pool={kwargs["global_pool"]!r}: a model without pooling gives a '
                         f'prediction per step; train-seq trains one per series: pass global_pool="avg", "last", '
                         f'"max" or "avgmax", or leave it out')
    # it trains a registered architecture from random initialisation: weights named by a pretrained tag, a folder or
    # Hub repo, or a cfg would not load (trial 51: a GunPoint run 'from' the shipped weights scored chance, without a
    # word), and loading arguments would be recorded as the architecture's (its folder then loaded nowhere)
    if ':' in cfg.model:  # (local-dir:, hf-hub:)
        raise ValueError(f'--model {cfg.model}: train-seq trains a registered architecture from random initialisation '
                         f'and loads no weights: give its name (a model folder\'s config.json names it under '
                         f'"architecture", with its model_args for --model-kwargs); to evaluate the model, use '
                         f'evaluate-seq')
    name, tag = timm.models.split_model_name_tag(cfg.model)
    loading = [k for k in ('pretrained', 'pretrained_cfg', 'pretrained_cfg_overlay', 'checkpoint_path') if k in kwargs]
    if tag or loading:
        named = f'the pretrained tag .{tag}' if tag else ' and '.join(f'{k}=' for k in loading)
        raise ValueError(f'--model {cfg.model}{given}: train-seq trains a model from random '
                         f'initialisation and loads no weights, so {named} would be ignored or recorded as an '
                         f'argument of the architecture: give the architecture alone (--model {name}, no '
                         f'{"loading arguments" if loading else "tag"}); to evaluate weights, use evaluate-seq')
    kwargs.setdefault('in_chans', data.in_chans)
    kwargs.setdefault('num_classes', data.num_classes)
    try:
        model = timm.create_model(cfg.model, **kwargs)
    except TypeError as e:  # a misspelt or foreign --model-kwargs key: the constructor's own words, no traceback
        raise ValueError(f'--model {cfg.model}{given}: {e}{unknown_argument_hint(e)}') from e
    # before training: a None timm dropped would train one network and record another
    check_none_kwargs(model, cfg.model_kwargs, f'--model {cfg.model}')
    members = getattr(model, 'num_members', None)
    if members is not None and 'num_members' not in cfg.model_kwargs:
        # a variant registered as an ensemble (its shipped members were trained one per run): joint training of all
        # of them on their mean prediction is another model, five times the time, which the run would not say
        warnings.warn(f'--model {cfg.model} is registered as an ensemble of {members} SMP-TCNs: this run trains them '
                      f'jointly, on their mean class probabilities, which is not how its members were trained (one '
                      f'run per seed); add --model-kwargs num_members=1 to train one of them, or num_members='
                      f'{members} to mean joint training', UserWarning, stacklevel=caller_stacklevel())
    if 'lengths' not in inspect.signature(model.forward).parameters:
        raise ValueError(f'--model {cfg.model} is not a sequence model (its forward takes no lengths=): train-seq '
                         f'trains SMP-TCNs, e.g. smpconv_tcn_osuleaf (`smpconvnet list` shows them)')
    pad_to = cfg.model_kwargs.get('zero_pad_to')
    if isinstance(pad_to, int) and pad_to < data.length:
        raise ValueError(f'--model-kwargs zero_pad_to={pad_to}: the series of {cfg.dataset} are read at up to '
                         f'{data.length} steps (its longest, train or test, or --length): pass '
                         f'zero_pad_to={data.length} or more')
    return model


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with huggingface_hub
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def _config_json(model: Optional[nn.Module], cfg: TrainConfig, data: PreparedData,
                 results: Optional[Dict] = None) -> Dict[str, Any]:
    """A timm/Hub ``config.json``: architecture, model arguments, and a pretrained_cfg with the preprocessing (without
    ``model``, no first_conv / classifier: the registered pretrained_cfg's apply)."""
    # the whole architecture when the model is at hand (arch_args: a later redefinition of the registered variant
    # must not rebuild these weights into another network), else the arguments given
    arch_args = getattr(model, 'arch_args', None) or {}
    # the caller's arguments where the model does not record what it was built with (an argument given as None that
    # timm dropped is refused before training: the recorded value is the built one)
    model_args = dict(arch_args, **{k: v for k, v in cfg.model_kwargs.items()
                                    if k not in arch_args and (v is not None or not arch_args)})
    model_args.update(in_chans=data.in_chans, num_classes=data.num_classes)
    # a model that reads its input zero-padded to N steps has one input size, N (timm's fixed_input_size)
    zero_pad_to = model_args.get('zero_pad_to')
    length = zero_pad_to or data.length
    pretrained_cfg = {
        # timm's builder requires a 3-tuple input_size: (channels, 1, length) for sequences
        'input_size': [data.in_chans, 1, length],
        'pool_size': [1, length],
        'fixed_input_size': zero_pad_to is not None,
        'mean': list(data.mean),
        'std': list(data.std),
        'num_classes': data.num_classes,
        **SEQUENCE_DATA_CFG,  # not timm's image defaults
        'description': f'trained with smpconvnet train-seq on {data.dataset["name"]}',
    }
    if model is not None:
        source_cfg = getattr(model, 'pretrained_cfg', None) or {}
        pretrained_cfg.update(first_conv=source_cfg.get('first_conv'), classifier=source_cfg.get('classifier'))
    if data.label_names:
        pretrained_cfg['label_names'] = list(data.label_names)
    out = {
        'architecture': cfg.model,
        'num_classes': data.num_classes,
        'model_args': model_args,
        'pretrained_cfg': pretrained_cfg,
        # outside pretrained_cfg (timm's PretrainedCfg has no field for it): what evaluate-seq needs
        'dataset': dict(data.dataset, task=data.task),
    }
    if results is not None:
        out['results'] = results
    if data.label_names:
        out['label_names'] = list(data.label_names)
    return out


def train(cfg: TrainConfig) -> Dict[str, Any]:
    """Run (or resume) a training run; returns the final results (also written to ``OUTPUT/results.json``)."""
    if isinstance(cfg.output, os.PathLike):
        cfg = replace_fields(cfg, output=os.fspath(cfg.output))  # recorded with the run: a str
    _check_types(cfg)
    if not cfg.output:
        raise ValueError('an output folder is needed (--output DIR)')
    if cfg.resume and cfg.force:
        raise ValueError('--resume and --force: --resume continues the run in --output, --force starts it over; '
                         'pass one of them')
    out_dir = Path(cfg.output)
    blocking = next((p for p in (out_dir, *out_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir's Errno 17 / 20 would name no option
        raise ValueError(f'--output {out_dir}: {blocking} is a file, not a folder; give a folder for the run')
    ckpt_path = out_dir / CHECKPOINT_NAME
    found: List[Path] = []
    if cfg.resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f'--resume: no checkpoint at {ckpt_path}')
    else:
        # a run's files, also once its checkpoint is deleted (scripts/train_aeon.py keeps only the exported model)
        # config.json too: a --force run interrupted early left the old one beside its checkpoint (a folder that
        # did not load), and a folder's unrelated config.json was overwritten without --force
        previous = [out_dir / n for n in (CHECKPOINT_NAME, LOG_NAME, RESULTS_NAME, 'model.safetensors', 'config.json')]
        found = [p for p in previous if p.exists()]
        if found and not any(p.name in (CHECKPOINT_NAME, LOG_NAME, RESULTS_NAME) for p in found):
            # weights or a config without a run's own files: another command's model folder (reparam, convert), whose
            # card and manifest --force would leave beside this run's weights, or a project's config.json
            raise ValueError(f"{out_dir} holds {' and '.join(p.name for p in found)} but no train-seq run "
                             f'({CHECKPOINT_NAME}, {LOG_NAME}, {RESULTS_NAME}): another model folder or your own '
                             f'files, which train-seq does not write over, --force or not; give another --output')
        if found and not cfg.force:
            raise FileExistsError(f'{found[0]} exists: {out_dir} holds a run; pass --resume to continue it (needs its '
                                  f'{CHECKPOINT_NAME}), --force to start over, or another --output')
    _check_options(cfg)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        # --force: the replaced run's files go once the new run's data, model and options are checked (_train)
        return _train(cfg, out_dir, ckpt_path, replace=found)
    except BaseException:
        if created and not any(out_dir.iterdir()):  # a run that failed before its first checkpoint leaves nothing
            out_dir.rmdir()
        raise
    finally:  # the thread count is process-wide: a library call leaves it as it found it
        torch.set_num_threads(threads)


def _shown(value: Any) -> str:
    # an option's value as typed on the command line: 5 and 5.0 alike (an int default, a float parsed), strings quoted
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'{value:g}'
    return repr(value)


def _shown_value(key: str, value: Any) -> str:
    # an option's value, as typed; a default that means "not given" said so (trial 68: "--length 300 in the
    # checkpoint, 0 now")
    if key in _NOT_GIVEN and value == getattr(TrainConfig(), key):
        return f'not given ({_NOT_GIVEN[key]})'
    return _shown(value)


# options whose default stands for their absence, and what is used then
_NOT_GIVEN = {'length': 'the longest sequence of the data set'}


def _read_checkpoint(path: Path) -> Dict[str, Any]:
    # the run's own checkpoint (optimizer, RNG states: full unpickling); a damaged file is named, not a traceback
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # noqa: BLE001  (whatever a damaged file makes the unpickler raise)
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f'--resume: {path} is not a readable checkpoint (corrupt or truncated?): {first}; '
                         f'--force starts the run over') from e
    if not isinstance(ckpt, dict) or not is_checkpoint(ckpt):
        raise ValueError(f'--resume: {path} is not a train-seq checkpoint (no model, options and training state); '
                         f'--force starts the run over')
    return ckpt


def _check_types(cfg: TrainConfig):
    # a library call's wrong type would fail deep inside (a str epoch count in range()) or run with a value that
    # means something else (True as a batch size)
    kinds = {int: (int, 'an integer'), float: ((int, float), 'a number'), bool: (bool, 'True or False'),
             str: (str, 'a string')}
    for f in fields(TrainConfig):
        value = getattr(cfg, f.name)
        if f.name == 'model_kwargs':
            types, expected = dict, 'a dict of model arguments'
        else:
            types, expected = kinds[f.type]
        if not isinstance(value, types) or (f.type is not bool and isinstance(value, bool)):
            raise TypeError(f'{f.name}={value!r} ({option_name(f.name)}): expected {expected}, got '
                            f'{type(value).__name__}')


def _check_options(cfg: TrainConfig):
    # what needs no data: refused before anything is read, written or replaced
    # (field, lowest, highest or None); the option's name is the field's (option_name)
    ranges = (('epochs', 1, None), ('batch_size', 1, None), ('threads', 0, None), ('length', 0, None),
              ('radius_lr_factor', 0, None), ('grad_clip', 0, None), ('adding_length', 2, None),
              ('adding_train', 1, None), ('adding_test', 1, None), ('warmup_epochs', 0, None),
              ('weight_decay', 0, None), ('min_lr_ratio', 0, 1), ('aug_scale', 0, None), ('aug_jitter', 0, None),
              ('aug_shift', 0, 1), ('aug_flip', 0, 1), ('mixup', 0, None))
    for name, low, high in ranges:
        value = getattr(cfg, name)
        if not value >= low or (high is not None and not value <= high):  # NaN fails both
            expected = f'in [{low}, {high}]' if high is not None else f'at least {low}'
            raise ValueError(f'{option_name(name)} {value}: expected a value {expected}')
    cpus = os.cpu_count() or 1
    if cfg.threads > cpus:  # more threads than CPUs: each step hundreds of times slower, or out of memory
        raise ValueError(f'--threads {cfg.threads}: this machine has {cpus} CPUs; expected 0 (torch\'s default) to '
                         f'{cpus}')
    if not 0 <= cfg.val_fraction < 1:
        raise ValueError(f'--val-fraction {cfg.val_fraction}: expected a value in [0, 1) (0: no hold-out)')
    if cfg.dataset == 'adding' and (cfg.augment or cfg.mixup):
        # scaling, jitter, shifts, window slicing or mixing change the inputs (the markers too) but not the sum
        # they define: the targets would no longer match
        raise ValueError(f'{"--augment" if cfg.augment else "--mixup"}: the adding problem\'s target is computed '
                         f'from its inputs; augmenting them would leave it wrong (augmentation and mixup are for '
                         f'UEA/UCR classification sets)')
    if not cfg.lr > 0:
        raise ValueError(f'--lr {cfg.lr}: expected a positive learning rate')
    try:
        device = torch.device(cfg.device)
    except (RuntimeError, TypeError) as e:  # torch's message lists every device type and names no option
        raise ValueError(f'--device {cfg.device!r}: expected a torch device, e.g. cpu or cuda (cuda:N)') from e
    if device.type not in ('cpu', 'cuda', 'mps'):  # meta / xla / ...: torch's own message, or a late failure
        raise ValueError(f'--device {cfg.device}: expected cpu, cuda (cuda:N) or mps')
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'--device {cfg.device}: CUDA is not available on this machine; leave --device out to train '
                         f'on the CPU')
    if device.type == 'mps' and not torch.backends.mps.is_available():
        raise ValueError(f'--device {cfg.device}: MPS (Apple GPUs) is not available on this machine; leave --device '
                         f'out to train on the CPU')
    for option, value in (('--aug-warp', cfg.aug_warp), ('--label-smoothing', cfg.label_smoothing)):
        if not 0 <= value < 1:
            raise ValueError(f'{option} {value}: expected a value in [0, 1)')
    if not 0 < cfg.model_ema_decay < 1:  # 0: the average would be the last weights, 1: the first ones
        raise ValueError(f'--model-ema-decay {cfg.model_ema_decay}: expected a value in (0, 1)')
    if not cfg.augment and (cfg.aug_shift or cfg.aug_warp):
        given = ' and '.join(f'--aug-{k} {v}' for k, v in (('shift', cfg.aug_shift), ('warp', cfg.aug_warp)) if v)
        raise ValueError(f'{given}: circular shifts and window slicing act with --augment only (with amplitude '
                         f'scaling and jitter): add --augment')
    check_idle_options(cfg)


def _train(cfg: TrainConfig, out_dir: Path, ckpt_path: Path, replace: Sequence[Path] = ()) -> Dict[str, Any]:
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    data = load_data(cfg)
    # once the data set has loaded: a warning before its error (a wrong --dataset) said nothing useful
    if cfg.epochs < cfg.warmup_epochs:
        warnings.warn(f'--epochs {cfg.epochs} is less than --warmup-epochs {cfg.warmup_epochs}: the learning rate '
                      f'is still warming up when training ends and never reaches --lr {cfg.lr}; pass --warmup-epochs 0 '
                      f'(or fewer than --epochs) for a short run', stacklevel=caller_stacklevel())
    device = torch.device(cfg.device)
    model = build_model(cfg, data).to(device)
    optimizer = build_optimizer(model, cfg)
    steps_per_epoch = seq_data.num_batches(len(data.train), cfg.batch_size, drop_last=True)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch)
    # the shuffling / augmentation stream is separate from the global one (dropout, init)
    data_gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    start_epoch, num_updates, history = 0, 0, []
    # timm's first update copies the weights (decay 0 at step 1); its updates use no random numbers (float32 weights: no
    # stochastic rounding), so a run with it trains exactly the weights of a run without
    ema = ModelEmaV3(model, decay=cfg.model_ema_decay, use_warmup=cfg.model_ema_warmup) if cfg.model_ema else None
    if cfg.resume:
        ckpt = _read_checkpoint(ckpt_path)
        defaults = TrainConfig()  # options added after a checkpoint was written had their default then
        changed = {k: (ckpt['args'].get(k, getattr(defaults, k)), getattr(cfg, k)) for k in _RESUME_KEYS
                   if ckpt['args'].get(k, getattr(defaults, k)) != getattr(cfg, k)}
        if changed:
            raise ValueError('--resume needs the options the run was started with; changed: '
                             + ', '.join(f'{option_name(k)} {_shown_value(k, a)} in the checkpoint, '
                                         f'{_shown_value(k, b)} now' for k, (a, b) in changed.items()))
        model.load_state_dict(checkpoint_weights(ckpt))
        if ema is not None:
            ema.module.load_state_dict(checkpoint_weights(ckpt, ema=True))
        optimizer.load_state_dict(ckpt['optimizer'])
        scheduler.load_state_dict(ckpt['scheduler'])
        start_epoch, num_updates, history = ckpt['epoch'], ckpt['num_updates'], ckpt['history']
        torch.set_rng_state(ckpt['rng']['torch'])
        if ckpt['rng'].get('cuda') is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt['rng']['cuda'])
        data_gen.set_state(ckpt['rng']['data'])
        random.setstate(ckpt['rng']['python'])
        print(f'resumed {ckpt_path} at epoch {start_epoch}/{cfg.epochs}')

    # (after a resume's checks: a refused resume trains nothing to warn of)
    updates = cfg.epochs * steps_per_epoch
    share = first_update_share(ema, updates) if ema is not None else 0.
    if share > 0.05:
        # the average still weighs the first updates' (barely trained) weights: a short GunPoint run scored chance
        warnings.warn(f'--model-ema with decay {cfg.model_ema_decay} over {updates} updates: the exported average '
                      f'still gives {share:.1%} of its weight to the weights of the first update; train longer, '
                      + ('' if cfg.model_ema_warmup else 'add --model-ema-warmup, ')
                      + f'or pass a smaller --model-ema-decay (at most {0.05 ** (1 / max(updates - 1, 1)):.3f} for '
                      f'5%)', UserWarning, stacklevel=caller_stacklevel())

    n_params = sum(p.numel() for p in model.parameters())
    # in every checkpoint: what rebuilds the model and its preprocessing without the data (checkpoint_config)
    run_config = _config_json(model, cfg, data)
    lengths = data.train.lengths
    same_length = bool((lengths == lengths[0]).all())
    equal_length = same_length and int(lengths[0]) == data.length
    # series of one length right-padded by --length (trial 68b: said "variable lengths" of GunPoint at 300)
    padded = f'{int(lengths[0])}-step series right-padded with zeros by --length {data.length}' if same_length else ''
    if cfg.augment and (cfg.aug_shift or cfg.aug_warp) and not equal_length:
        raise ValueError('--aug-shift and --aug-warp (circular shift, window slicing) need equal-length sequences '
                         'without padding; ' + (f'{data.dataset["name"]} has variable lengths' if not same_length else
                                                f'{data.dataset["name"]}\'s are {padded}: leave --length out'))
    replace = list(replace)
    print(f'train-seq: {cfg.model} ({n_params:,} parameters) on {data.dataset["name"]}: '
          f'{len(data.train)} train'
          f'{f", {len(data.val)} validation" if data.val is not None else ""}'
          f'{f", {len(data.test)} test" if data.test is not None and cfg.eval_test else ""}'
          f'{" (test split not used: --no-test)" if not cfg.eval_test else ""}, '
          f'{data.in_chans} x {data.length}'
          f'{"" if equal_length else f" ({padded})" if padded else " (variable lengths, padded)"}, '
          f'{cfg.epochs} epochs of {steps_per_epoch} steps')

    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0 = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        batch_iter = seq_data.batches(data.train, cfg.batch_size, data.length, generator=data_gen, shuffle=True,
                                      drop_last=True)
        for x, lengths, y in _progress(batch_iter, steps_per_epoch, f'epoch {epoch + 1}/{cfg.epochs}', cfg.progress):
            if cfg.augment:
                x = seq_data.augment_batch(x, lengths, data_gen, cfg.aug_scale, cfg.aug_jitter, cfg.aug_shift,
                                           cfg.aug_warp, cfg.aug_flip)
            mix = None
            if cfg.mixup > 0:
                # mixup (Zhang et al. 2018): one Beta(a, a) weight per batch, partners by a permutation; the
                # mixed sequence keeps the longer of the two lengths
                lam = random.betavariate(cfg.mixup, cfg.mixup)
                perm = torch.randperm(len(y), generator=data_gen)
                x = lam * x + (1 - lam) * x[perm]
                lengths = torch.maximum(lengths, lengths[perm])
                mix = (lam, y[perm].to(device))
            x, lengths, y = x.to(device), lengths.to(device), y.to(device)
            out = _forward(model, x, lengths, equal_length)
            loss = _loss(out, y, data.task, cfg.label_smoothing)
            if mix is not None:
                loss = mix[0] * loss + (1 - mix[0]) * _loss(out, mix[1], data.task, cfg.label_smoothing)
            if not torch.isfinite(loss):
                raise RuntimeError(f'the loss became {loss.item()} at epoch {epoch + 1}')
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()  # the PointKernel optimizer hook clamps the radii here
            num_updates += 1
            scheduler.step_update(num_updates)
            if ema is not None:
                ema.update(model, step=num_updates)
            total_loss += loss.item() * len(y)
            seen += len(y)
            if data.task == 'classification':
                correct += int((out.argmax(dim=1) == y).sum())
        if not radii_in_bounds(model):
            raise RuntimeError('radii left [r_min, r_max] after an optimizer step: the PointKernel hook did not run')
        record = {'epoch': epoch + 1, 'lr': optimizer.param_groups[0]['lr'], 'train_loss': total_loss / max(seen, 1),
                  'time_s': round(time.perf_counter() - t0, 2)}
        if data.task == 'classification':
            record['train_acc'] = correct / max(seen, 1)
        if data.val is not None:
            val = evaluate(ema.module if ema is not None else model, data.val, data.length, data.task)
            record.update({f'val_{k}': v for k, v in val.items() if k in ('loss', 'accuracy', 'mse')})
        history.append(record)
        print(' '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}' for k, v in record.items()), flush=True)
        # --force: the replaced run goes once the new one has trained an epoch (an error before leaves it whole),
        # all of it: nothing of it is left to mix with this run (log, results)
        while replace:
            replace.pop().unlink()
        # the whole log, before the checkpoint: a kill between the two leaves the log with the epoch the checkpoint
        # lacks (it was trained), never short of it; a resumed run rewrites it from the checkpoint's history
        _write_text_atomic(''.join(json.dumps(r) + '\n' for r in history), out_dir / LOG_NAME)
        # timm's CheckpointSaver keys (arch, state_dict, state_dict_ema, optimizer, epoch), so that timm's
        # resume_checkpoint and load_checkpoint read it; 'epoch' counts the finished epochs, which is the epoch
        # timm's resume_checkpoint returns to start from when no 'version' > 1 is given
        save_atomic({
            'model_name': cfg.model, 'arch': cfg.model, 'dataset': data.dataset, 'args': asdict(cfg),
            'config': run_config, 'state_dict': model.state_dict(),
            **({'state_dict_ema': ema.module.state_dict()} if ema is not None else {}),
            'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict(),
            'epoch': epoch + 1, 'num_updates': num_updates, 'history': history,
            'rng': {'torch': torch.get_rng_state(), 'data': data_gen.get_state(), 'python': random.getstate(),
                    'cuda': torch.cuda.get_rng_state_all() if device.type == 'cuda' else None},
        }, ckpt_path)

    if ema is not None and not cfg.precise_bn:
        _warn_of_averaged_batchnorm(model, ema.module, first_update_share(ema, num_updates),
                                    warmup=cfg.model_ema_warmup)
    model = ema.module if ema is not None else model  # what is evaluated and exported
    if cfg.precise_bn:
        # after the last epoch (also when a finished run is resumed): the checkpoint keeps the running statistics
        # training left, the exported model gets those of the whole training split
        recompute_bn_statistics(model, data.train, data.length)
    results: Dict[str, Any] = {'model': cfg.model, 'dataset': data.dataset['name'], 'seed': cfg.seed,
                               'epochs': cfg.epochs, 'parameters': n_params,
                               'train_time_s': round(sum(r['time_s'] for r in history), 1),
                               # the exported BatchNorm statistics are not the checkpoint's
                               **({'precise_bn': True} if cfg.precise_bn else {}),
                               # evaluated and exported: the weights' moving average, not the last weights
                               **({'model_ema_decay': cfg.model_ema_decay} if ema is not None else {}),
                               **({'model_ema_warmup': True} if ema is not None and cfg.model_ema_warmup else {})}
    if data.val is not None:
        results['val'] = evaluate(model, data.val, data.length, data.task)
    if cfg.eval_test and data.test is not None:
        results['test'] = evaluate(model, data.test, data.length, data.task)
        metric = 'accuracy' if data.task == 'classification' else 'mse'
        print(f'test {metric}: {results["test"][metric]:.4f} ({results["test"]["n"]} samples)')
    _export(model, cfg, data, results, out_dir)
    return results


@torch.no_grad()
def recompute_bn_statistics(model: nn.Module, data: seq_data.SequenceSet, length: int, batch_size: int = 1024) -> int:
    """Replace the running mean and variance of every BatchNorm of ``model`` by statistics of ``data`` ("precise
    BN": Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, section 3).

    The running statistics left by training are an exponential average (momentum 0.1) over the last few batches,
    each with its own augmentation and weights; with a few updates per epoch they jitter from epoch to epoch and
    so does the eval-mode model. Here every sequence of ``data`` (standardised, not augmented, right-padded to
    ``length`` steps, ``lengths`` passed so masked BatchNorms count the valid steps only) goes through the model
    once, in batches of ``batch_size``, with the BatchNorms in training mode and everything else in eval mode (no
    dropout). Each BatchNorm gets the mean and unbiased variance of everything it received, every valid step of
    every sequence weighted equally (sums in float64), whatever the batch sizes; as in training, each batch is
    normalised with its own statistics on the way, so with several batches the deeper layers' inputs are those of
    batch-normalised batches (exactly the whole set's with one batch: the default for up to 1024 sequences).
    ``torch.optim.swa_utils.update_bn`` runs
    dropout, weighs batches equally and cannot pass ``lengths``. The model is left in eval mode; momenta are
    restored.

    Returns:
        the number of BatchNorm layers updated (0: the model has none and is unchanged).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    sums = {m: [0.0, 0.0, 0.0] for m in norms}  # per channel: sum, sum of squares, count (float64 tensors)

    def accumulate(m, args, kwargs):
        x = args[0].detach().double()
        mask = args[1] if len(args) > 1 else kwargs.get('mask')
        w = torch.ones_like(x) if mask is None else mask.to(x.dtype).expand_as(x)
        dims = [0] + list(range(2, x.dim()))
        acc = sums[m]
        acc[0] = acc[0] + (x * w).sum(dims)
        acc[1] = acc[1] + (x * x * w).sum(dims)
        acc[2] = acc[2] + w.sum(dims)

    momenta = [m.momentum for m in norms]
    hooks = [m.register_forward_pre_hook(accumulate, with_kwargs=True) for m in norms]
    model.eval()
    for m in norms:
        m.momentum = None  # the layers' own running averages are overwritten below
        m.train()
    try:
        device = next(model.parameters()).device
        equal_length = bool((data.lengths == length).all())
        for x, lengths, _ in seq_data.batches(data, batch_size, length):
            _forward(model, x.to(device), lengths.to(device), equal_length)
    finally:
        for h in hooks:
            h.remove()
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
            m.eval()
    for m in norms:
        total, squares, count = sums[m]
        if not torch.is_tensor(count):  # a BatchNorm the forward pass did not reach: left as it was
            continue
        mean = total / count
        var = (squares - count * mean * mean) / (count - 1).clamp(min=1)
        m.running_mean.copy_(mean.to(m.running_mean.dtype))
        m.running_var.copy_(var.clamp(min=0).to(m.running_var.dtype))
    return len(norms)


def checkpoint_config(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """The ``config.json`` content (architecture, model_args, pretrained_cfg with the preprocessing, dataset) of a
    ``checkpoint.pth`` written by ``train``.

    Stored in the checkpoint since this version; for a checkpoint of an earlier version, rebuilt from the run's
    options (``args``) with the preprocessing recomputed from the data set exactly as training computed it.

    Raises:
        ValueError: the checkpoint holds no train-seq options, or its data set cannot be read.
    """
    args = checkpoint.get('args')
    if isinstance(args, dict) and args.get('precise_bn'):
        # its weights are as the last epoch left them: the run's model (results.json, model.safetensors) has BatchNorm
        # statistics of the whole training split, and may score otherwise
        warnings.warn(f"a checkpoint of a --precise-bn run ({args.get('output') or 'its folder'}): it holds the "
                      f"BatchNorm statistics training left, not the precise ones of the run's model; load the run's "
                      f"folder for that model", UserWarning, stacklevel=caller_stacklevel())
    if isinstance(checkpoint.get('config'), dict):
        return checkpoint['config']
    if not isinstance(args, dict) or not isinstance(args.get('model'), str):
        raise ValueError("not a train-seq checkpoint: expected its options under 'args' (a dict with 'model')")
    names = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in args.items() if k in names})
    try:
        data = load_data(cfg, samples=False)
    except Exception as e:  # noqa: BLE001  (aeon / data errors: say what was needed and why)
        raise ValueError(f'the checkpoint predates recorded preprocessing; rebuilding it needs the data set '
                         f'{cfg.dataset!r}, which could not be read: {e}') from e
    return _config_json(None, cfg, data)


def _export(model: nn.Module, cfg: TrainConfig, data: PreparedData, results: Dict, out_dir: Path):
    from safetensors.torch import save_file
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = _config_json(model, cfg, data, results)
    # the architecture in the weights file too: a copy of it alone tells its kernel length (its shapes do not)
    metadata = folder_weights_metadata(config)
    save_atomic(state, out_dir / 'model.safetensors', saver=lambda obj, p: save_file(obj, p, metadata=metadata))
    _write_text_atomic(json.dumps(config, indent=2) + '\n', out_dir / 'config.json')
    _write_text_atomic(json.dumps(results, indent=2) + '\n', out_dir / RESULTS_NAME)


# ---------------------------------------------------------------------------------------------- evaluation

def _dataset_for(model_name: str, model: nn.Module, dataset: Optional[str],
                 extra: Dict[str, Any]) -> Tuple[str, Optional[str]]:
    """The aeon data set to evaluate on and the one the model records (None if none): given, else the one the
    model's folder or checkpoint records (``extra``: config.json's ``dataset``), else the one a zoo architecture was
    trained on."""
    recorded_cfg = extra.get('dataset') or {}
    recorded = recorded_cfg.get('name') if recorded_cfg.get('source') == 'aeon' else None
    if recorded is None:
        from ..models.seq_zoo import dataset_of
        recorded = dataset_of(model.pretrained_cfg.get('architecture') or model_name.split('.')[0])
    if dataset or recorded:
        return dataset or recorded, recorded
    raise ValueError(f'no data set is recorded for {model_name}: pass --dataset NAME (an aeon UEA/UCR name)')


def _warn_overridden(model_name: str, kwargs: Dict[str, Any]):
    for k, (trained, v) in changed_computation(model_name, kwargs).items():
        warnings.warn(changed_computation_message(model_name, k, trained, v, k in kwargs, 'score'),
                      stacklevel=caller_stacklevel())


def _file_architecture_option(path: str, model_kwargs: Optional[Dict[str, Any]]
                              ) -> Tuple[str, Dict[str, Any], bool]:
    # the --model-kwargs that load the weight file ``path`` into a registered model: its overlay file, the
    # architecture it records (its metadata, a checkpoint's record), else the one its shapes show, so that the model a
    # placeholder hint names is built as the file's network, whatever its own width (trial 68c F4, 69b: a file of 2
    # blocks x 8 channels was refused by the hint's 3 x 32 model, with a second hint to follow), and the caller's own
    # arguments, which built the model scored here (trial 72: global_pool=max left out scored 0.8067 for 0.8933); with
    # the file's arguments and whether recorded
    args, recorded = weights_file_architecture(path)
    given = dict(model_kwargs or {})
    overlay = dict(given.pop('pretrained_cfg_overlay', None) or {}, file=str(path))
    return model_kwargs_option({'pretrained_cfg_overlay': overlay, **dict(sorted(args.items())), **given}), args, \
        recorded


def _repeated_first_layer_channels(model: nn.Module, cfg: Dict[str, Any]) -> Dict[str, int]:
    # the first convs (an ensemble's, each member's) whose input channels repeat fewer (repeated_input_channels), with
    # those fewer; a deployed model's is the folded conv its first unit became (trial 71c: deployed or one member
    # only, 0.4541 and 0.9432 without a word)
    names = cfg.get('first_conv') or ()
    found = {}
    for name in (names,) if isinstance(names, str) else names:
        for candidate in (name, name.rsplit('.', 1)[0]):
            try:
                weight = model.get_submodule(candidate).weight
            except AttributeError:
                continue
            if isinstance(weight, torch.Tensor) and weight.dim() > 1:
                # (a first-difference model's [series | difference]: each half adapted apart, the TCN's filter)
                period = repeated_input_channels(weight.detach(), views=2 if getattr(model, 'first_difference', False)
                                                 else 1)
                if period:
                    found[candidate] = period
                break
    return found


def _given_weights_file(kwargs: Dict[str, Any]) -> Optional[str]:
    # the weight file the caller gave in place of the model's own (checkpoint_path=, an overlay's file), else None
    return kwargs.get('checkpoint_path') or (kwargs.get('pretrained_cfg_overlay') or {}).get('file') or None


def _refuse_other_classes(kwargs: Dict[str, Any], cfg: Dict[str, Any]) -> None:
    # another class count than the weights' (their pretrained cfg's): a new classifier, which evaluates nothing the
    # weights learnt (the cfg's num_classes is the weights'; a classifier of another size has no label_names:
    # drop_stale_label_names)
    if 'num_classes' in kwargs and cfg.get('num_classes') and kwargs['num_classes'] != cfg['num_classes']:
        raise ValueError(f'--model-kwargs num_classes={kwargs["num_classes"]!r}: the weights classify '
                         f'{cfg["num_classes"]} classes; another number gets a new classifier initialised at random, '
                         f'which has nothing to evaluate: give num_classes={cfg["num_classes"]}')


def _refuse_other_channels(kwargs: Dict[str, Any], cfg: Dict[str, Any], data_chans: Optional[int] = None,
                           deployed: bool = False) -> None:
    # another input channel count than the weights' (their pretrained cfg's), refused or warned of; that of the data
    # set scored (``data_chans``, where it is read) asked for is taken (trial 72b #4: weights of 2 channels trained on
    # GunPoint's series repeated, asked to read its 1, were refused "to inputs the data set does not have: give
    # in_chans=2", which the data then refused)
    trained_chans = weights_channels(cfg) or 0  # (not the cfg's input size where the model adapted them)
    if 'in_chans' in kwargs and trained_chans and kwargs['in_chans'] != trained_chans:
        adapted, origin = adapted_from_channels(cfg), tagged_name(cfg)
        if adapted and adapted != trained_chans:
            # weights saved with a first layer adapted from others, deployed since (a training form adapts: its
            # cfg's channels are then the model's); trial 69 F2: "as the series they were trained on", and its hint
            # sent the user back to the data's refusal
            raise ValueError(f'--model-kwargs in_chans={kwargs["in_chans"]!r}: the weights read {trained_chans} '
                             f'channel(s), their first layer adapted to them from weights of {adapted} before they '
                             f'were saved, and deployed weights do not adapt to other channels: score the weights it '
                             f'was adapted from' + (f' (smpconvnet evaluate-seq {origin})' if origin else ''))
        if deployed:
            # (trial 72c #3: "inputs the data set does not have: give in_chans=2" of deployed 2-channel weights asked
            # to read GunPoint's 1, which the data then refused)
            raise ValueError(f'--model-kwargs in_chans={kwargs["in_chans"]!r}: the weights read {trained_chans} '
                             f'channel(s), and deployed weights do not adapt to other channels: give '
                             f'in_chans={trained_chans} (or leave it out) to score them as they are, or score the '
                             f'training-form model they were deployed from'
                             + (f' ({origin})' if origin else '') + f' with in_chans={kwargs["in_chans"]!r} where the '
                             f'data set has {kwargs["in_chans"]!r}')
        file = _given_weights_file(kwargs)
        if file and not recorded_model_args(file)[0]:
            # a file that records nothing of an adaptation (timm's save_for_hf writes no metadata; this project's
            # record one, so theirs are refused): its first layer may have been adapted from these channels before it
            # was saved (trial 70b: refused "as the series they were trained on", and the hint's in_chans was refused
            # by the data: no way on)
            asked = kwargs['in_chans']
            warnings.warn(f'--model-kwargs in_chans={asked!r}: the weights read {trained_chans} channel(s), and '
                          f'timm\'s rule adapts their first layer to {asked!r}: ' + (
                              f'this is the trained model only if they were adapted from {asked!r} channel(s) before '
                              f'they were saved (the file records nothing of it)'
                              if not isinstance(asked, int) or asked < trained_chans else
                              f'it repeats the {trained_chans} it has, so this is no trained model (if they were '
                              f'adapted from {asked} channels before they were saved, which the file does not record, '
                              f'their first layer lost the others)'), stacklevel=caller_stacklevel())
            return
        if kwargs['in_chans'] == data_chans:
            # the data's channels, asked for: timm's rule adapted the first layer (its description says what it
            # computes), as reparam and Python do
            warnings.warn(f'--model-kwargs in_chans={data_chans!r}: the weights read {trained_chans} channel(s) and '
                          f'the data set {data_chans}: their first layer was adapted '
                          f'({adapted_channels_rule(data_chans, trained_chans)})', stacklevel=caller_stacklevel())
            return
        # (the forward pass then refused the data's series, advising in_chans=1 "to change it")
        if data_chans and data_chans != trained_chans:
            raise ValueError(f'--model-kwargs in_chans={kwargs["in_chans"]!r}: the weights read {trained_chans} '
                             f'channel(s) and the data set has {data_chans}: give in_chans={data_chans} (timm\'s rule '
                             f'adapts the first layer to them)')
        raise ValueError(f'--model-kwargs in_chans={kwargs["in_chans"]!r}: the weights read {trained_chans} '
                         f'channel(s), as the series they were trained on; another number adapts the first layer to '
                         f'inputs the data set does not have: give in_chans={trained_chans}')


def evaluate_pretrained(model_name: str, dataset: Optional[str] = None, split: str = 'test',
                        batch_size: int = 64, model_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load ``model_name`` with its weights (``smpconvnet.load_model``: a registered name with tag, hf-hub: /
    local-dir: name, a folder written by train-seq or ``reparam``, a checkpoint of train-seq or timm's train.py) and
    evaluate it on an aeon split using the preprocessing recorded in its ``pretrained_cfg`` (label order,
    per-channel mean/std, input length: the length its weights were trained at, where the model was created for
    another deployment length with ``seq_len=``); a model of the adding problem (a regression) on the split its run
    drew. A model deployed for another length than it was trained at is scored so, with a warning.
    ``model_kwargs`` go to ``load_model`` (arguments the model is built with
    before its weights load: what a weight file that names no model cannot tell, e.g. ``global_pool``)."""
    from timm.models import is_model_in_modules, split_model_name_tag
    from ..models import SMPConvTCN, SMPConvTCNEnsemble, seq_zoo  # noqa: F401
    arch = split_model_name_tag(model_name)[0]
    not_sequence = (f'{model_name} is not a sequence model: evaluate-seq evaluates SMP-TCNs (e.g. '
                    f'smpconv_tcn_osuleaf.aeon, a folder or checkpoint of train-seq)')
    if arch in timm.list_models() and not is_model_in_modules(arch, ['smpconv_tcn', 'seq_zoo']) \
            and not Path(model_name).exists():
        raise ValueError(not_sequence)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'--batch-size (batch_size) must be a positive int, got {batch_size!r}')
    # arguments that change what the model outputs: one prediction per series, from its classifier
    kwargs = model_kwargs or {}
    if 'global_pool' in kwargs and not kwargs['global_pool']:
        raise ValueError(f'--model-kwargs global_pool={kwargs["global_pool"]!r}: a model without pooling gives a '
                         f'prediction per step; evaluate-seq scores one per series: leave global_pool out (the '
                         f'weights\' own pooling) or name one of avg, max, avgmax, last')
    if kwargs.get('features_only'):
        raise ValueError(f'--model-kwargs features_only={kwargs["features_only"]!r}: a feature extractor has no '
                         f'classifier to score: leave features_only out')
    # a checkpoint_path= file replaces every weight: the source's are not loaded first ('auto': trial 67, the
    # registered weights refused a file of another width, and the two refusals' hints sent each to the other)
    pretrained = 'auto' if kwargs.get('checkpoint_path') else True
    try:
        # (a classifier of another size loads as a new one, from every source: refused below)
        model, source, extra = load_model_with_config(model_name, pretrained=pretrained, **(model_kwargs or {}))
    except ValueError as e:
        io_args = [k for k in ('in_chans', 'num_classes') if k in kwargs]
        if not io_args:
            raise
        # deployed weights do not adapt to other channels or classes: their shape refusal named neither the
        # argument nor the value to give; the refusal of a training form's weights does, read off the model
        # built without them (this error stands where that model builds and accepts them)
        try:
            plain = load_model_with_config(model_name, pretrained=pretrained,
                                           **{k: v for k, v in kwargs.items() if k not in io_args})[0]
        except (ValueError, OSError, RuntimeError):
            raise e from None
        _refuse_other_classes(kwargs, plain.pretrained_cfg)
        _refuse_other_channels(kwargs, plain.pretrained_cfg, deployed=not has_batchnorm(plain))
        raise
    except RuntimeError as e:
        if 'has no pretrained weights (its pretrained cfg names no' not in str(e):
            raise
        # timm's words suggest pretrained=False, which makes no sense for an evaluation
        raise ValueError(f'{model_name} has no trained weights (an .untrained tag: the paper\'s configuration '
                         f'only); evaluate a trained model, e.g. smpconv_tcn_osuleaf.aeon (`smpconvnet list` shows '
                         f'which have weights), or a train-seq run folder') from e
    if not isinstance(model, (SMPConvTCN, SMPConvTCNEnsemble)):
        raise ValueError(not_sequence)
    model.eval()
    cfg = model.pretrained_cfg
    label_names = list(cfg.get('label_names') or [])
    _warn_overridden(model_name, kwargs)
    _refuse_other_classes(kwargs, cfg)  # (the channels against the data's, once it is read)
    if not model.num_classes:
        raise ValueError(f'{model_name} has no classifier (num_classes=0: it outputs pooled features), so there is '
                         f'nothing to score; evaluate the model it was made from')
    if extra.get('new_classifier'):
        new = extra['new_classifier']
        raise ValueError(f'{model_name} was deployed with a new classifier, initialised at random '
                         f'({new["num_classes"]} classes; the weights\' had {new["trained_num_classes"]}): it has '
                         f'nothing to score until it is trained; evaluate the model it was deployed from, or deploy '
                         f'that one again without num_classes')
    if (extra.get('dataset') or {}).get('task') == 'regression':
        return _evaluate_regression(model_name, model, extra['dataset'], dataset, split, batch_size)
    if not label_names:
        message = f'{model_name} records no label_names in its pretrained_cfg: cannot map classes'
        if kwargs.get('checkpoint_path'):
            # (its cfg's labels are for another class count than the file's classifier: trial 67b)
            message += (f"; checkpoint_path= loads a weight file whole, with its {model.num_classes}-class "
                        f"classifier, which names no labels: evaluate the folder it was written in where its "
                        f"config.json records them (a train-seq run's does)")
        if Path(model_name).is_file():
            hints = weights_file_hints(model_name, **(model_kwargs or {}))
            file_option, file_args, recorded_args = _file_architecture_option(model_name, model_kwargs)
            # (the shape-blind arguments the caller gave are theirs; those they did not are NAME's)
            untold = [k for k in SHAPE_BLIND_ARGS['tcn'] if k not in (model_kwargs or {})]
            untold_words = ' and '.join({'kernel_length': 'kernel length', 'global_pool': 'pooling'}.get(k, k)
                                        for k in untold)
            message += ('; a weight file (a bare state dict, or a checkpoint of timm\'s train.py) records no labels, '
                        'normalisation or data set (a train-seq run records them): '
                        + (f'evaluate it as the registered model it was saved from: ' + '; or '.join(hints[:3])
                           if hints else
                           # (a copy of reparam's deployed file too: "the train-seq run folder" was not where it came
                           # from, and the overlay route that scores it was not said)
                           'evaluate the folder it was written in (a train-seq run, or reparam\'s output: their '
                           'config.json records them), or the registered model it was trained as with this file as '
                           'its weights: smpconvnet evaluate-seq NAME ' + file_option
                           + ' (NAME: that model, e.g. smpconv_tcn_gunpoint.aeon'
                           + ((', built as the file records' if recorded_args else ', built as the file\'s shapes '
                               'show' + (f'; its {untold_words}, which they do not show, '
                                         f'{"are" if len(untold) > 1 else "is"} NAME\'s' if untold else ''))
                              if file_args else '') + ')'))
        raise ValueError(message)
    name, recorded = _dataset_for(model_name, model, dataset, extra)
    from ..models.seq_zoo import model_for_dataset
    shipped = model_for_dataset(name) if recorded and name != recorded else None  # named by the refusals below
    if extra.get('random_weights'):
        warnings.warn(f'{model_name} holds random weights (it was deployed from a model without trained weights: '
                      f'--pretrained no, or none offline): its accuracy is chance, not a trained model\'s',
                      stacklevel=caller_stacklevel())
    try:
        data = seq_data.load_aeon(name, split, label_names=label_names)
    except seq_data.UnknownLabelsError as e:
        if not (recorded and name != recorded):
            raise
        raise ValueError(f'{e} ({model_name}\'s, trained on {recorded}): leave --dataset out to score it on '
                         f'{recorded}, or evaluate a model trained on {name}'
                         + (f' (the shipped one: smpconvnet evaluate-seq {shipped})' if shipped else '')) from None
    _refuse_other_channels(kwargs, cfg, data_chans=data.num_channels)
    in_chans, length = int(cfg['input_size'][0]), int(cfg['input_size'][-1])
    # the channels of the weights its first layer was adapted from (in_chans=, before a folder's weights were saved)
    adapted_from = adapted_from_channels(cfg)
    origin = tagged_name(cfg)  # the registered weights it was adapted or deployed from, where its cfg names them
    evaluate_adapted = (f'smpconvnet evaluate-seq {origin}' + (f' --dataset {name}' if name != recorded else '')
                        if origin else '')
    if data.num_channels != in_chans:
        if adapted_from == data.num_channels:
            # (trial 68c F2: the refusal named no way to score the model) timm's rule gives 1-channel weights back
            # (their mean over the channels, each 1/N of them); others it does not, nor their per-channel
            # normalisation (averaged as the layer was adapted: trial 69 F1, 0.3973 for JapaneseVowels' 0.9838), and
            # deployed weights do not adapt (trial 69 F2)
            training_form = has_batchnorm(model)  # (deployed weights do not adapt)
            # a file's weights adapted to more channels come back whole, with the registered model's per-channel
            # normalisation, not a folder's averaged one (trial 71: a copy of 12 adapted to 24 scored 0.9838 so, and
            # was refused); not where they went through fewer channels first
            # the fewest channels it went through: fewer than the weights' dropped the others (summed, for 1)
            fewest = min(adapted_via_channels(cfg) or in_chans, in_chans)
            lost = ((' (summed into 1 channel)' if fewest == 1 else
                     f' (it went through {fewest}, which dropped {adapted_from - fewest} of them)')
                    if fewest < adapted_from else '')
            from_file = bool(_given_weights_file(kwargs))
            back = (adapted_from == 1 or (from_file and not lost)) and training_form
            if back:
                given = {**kwargs, 'in_chans': adapted_from}  # (the caller's other arguments kept in both forms)
                how = (f'to score it on {name}\'s series pass {model_kwargs_option(kwargs, in_chans=adapted_from)} '
                       f'(model_kwargs=dict({", ".join(f"{k}={v!r}" for k, v in given.items())})): timm\'s rule '
                       f'adapts the layer back to the weights it was adapted from, unless it was trained since')
            elif not training_form:
                how = 'deployed weights do not adapt to other channels'
            elif lost:
                how = f'adapting it back does not give the weights of {adapted_from} channels{lost}'
            else:
                # (trial 71b: "does not give the weights" of a folder of 12 adapted to 24, which it gives back exactly)
                how = (f'adapting it back gives the weights of {adapted_from} channels back, but not their per-channel '
                       f'normalisation, which was averaged')
            raise ValueError(f'{name} has {data.num_channels} channel(s), {model_name} expects {in_chans}: its first '
                             f'layer was adapted to {in_chans} from weights of {adapted_from} (its description says '
                             f'so); ' + how + ('' if back else ': score the weights it was adapted from'
                                               + (f' ({evaluate_adapted})' if evaluate_adapted else '')))
        from_file = _given_weights_file(kwargs)
        # (adapted back to more channels than it has, timm's rule repeats the ones it kept: trial 71, a file of 12
        # adapted to 6 was sent to in_chans=12, 0.4541)
        if from_file and data.num_channels < in_chans:
            file_hint = (f': if the file\'s first layer was adapted from {data.num_channels} channel(s) before it was '
                         f'saved (it records nothing of it), pass '
                         f'{model_kwargs_option(kwargs, in_chans=data.num_channels)} (timm\'s rule adapts it back)')
        elif from_file:
            file_hint = (f': if the file\'s first layer was adapted from {name}\'s {data.num_channels} channels before '
                         f'it was saved (it records nothing of it), it kept {in_chans} of them and timm\'s rule cannot '
                         f'give the others back')
        elif recorded == name and has_batchnorm(model):
            # weights of its own data set read as other channels (trained on its series repeated, say): the option
            # that adapts them, which evaluate-seq takes (trial 72c #4: the refusal named none)
            file_hint = (f': to score it on them, pass {model_kwargs_option(kwargs, in_chans=data.num_channels)} '
                         f'(its first layer adapted: {adapted_channels_rule(data.num_channels, in_chans)})')
        else:
            file_hint = ''
        raise ValueError(f'{name} has {data.num_channels} channels, {model_name} expects {in_chans}' + file_hint
                         + (f'{"; otherwise" if from_file else ":"} evaluate a model trained on {name} (the shipped '
                            f'one: smpconvnet evaluate-seq {shipped})' if shipped else ''))
    adapted_back = adapted_back_message(model_name, cfg, in_chans, 'this accuracy is not that of the weights it was '
                                        'adapted from' + (f' ({evaluate_adapted})' if evaluate_adapted else ''))
    if adapted_back:
        warnings.warn(adapted_back, stacklevel=caller_stacklevel())
    elif adapted_from and adapted_from < in_chans:
        # weights of fewer channels, repeated by timm's rule (trial 71b: a folder of 6-channel weights adapted to 24,
        # scored with in_chans=12, 0.3189 without a word, where the file itself warned)
        warnings.warn(f'{model_name}\'s first layer was adapted to {in_chans} input channels from weights of '
                      f'{adapted_from} (its description says so): timm\'s rule repeats theirs, so this accuracy is not '
                      f'that of a model trained on {in_chans}-channel series, unless it was trained since',
                      stacklevel=caller_stacklevel())
    elif in_chans > 1:
        # nothing records an adaptation to these channels (a copy of timm's save_for_hf folder, or a model adapted
        # from one), but the first layer repeats fewer exactly, as only timm's rule leaves them (trial 71b: 12 to 6 to
        # 12, 0.4541 without a word)
        repeated = _repeated_first_layer_channels(model, cfg)
        if repeated:
            fewest = min(repeated.values())
            # (an ensemble's: which members', each with its own)
            where = '' if isinstance(cfg.get('first_conv'), str) else \
                f' ({", ".join(f"{k}: {v}" for k, v in repeated.items())})'
            warnings.warn(f'{model_name}\'s first layer{where} repeats the weights of its first {fewest} input '
                          f'channel(s) over its {in_chans}, exactly, as timm\'s rule leaves weights of {fewest} '
                          f'channel(s) adapted to {in_chans} (no record says so): this accuracy is not that of a model '
                          f'trained on {in_chans}-channel series', stacklevel=caller_stacklevel())
    deployed_for = fixed_input_lengths(model)
    # the length the weights were trained at: their cfg's (its "(trained at N)", else its input size: a deployed
    # folder of trained weights was deployed at it; trial 67d #9), else what the folder or file records (a folder
    # reparam deployed from a checkpoint_path= file reloads as "not recorded": trial 68 C / D)
    known = cfg_trained_length(cfg) or _recorded_length_of(model_name)
    # a first layer adapted from the tag's channels: the tag built for the model's; the tag alone is not its training
    # form, and scores its own data set, not these series
    chans_kwarg = tag_in_chans_option(cfg, in_chans)
    evaluate_origin = f' (smpconvnet evaluate-seq {origin})' if origin and not chans_kwarg else ''
    # a command that works copied as it is where the registered weights are named; words where they are not (a
    # placeholder command, 'reparam SRC DST', ran as one); the trained length given (trial 68 E: "without
    # --input-size" deployed a model created with seq_len=300, trained at 150, for 300 again)
    # the caller's input size gives back the length the weights recorded before another was stated against them (a
    # folder saved or deployed so): the source that stated it, deployed again, needs that length stated too, not a
    # deployment length (trial 70c: --input-size 1,150 of it deployed 300-step weights for 150, warning falsely)
    caller_size = (kwargs.get('pretrained_cfg_overlay') or {}).get('input_size')
    restoring = caller_size is not None and _recorded_of(model_name, recorded_stated_against) == int(caller_size[-1])
    contradicted = said_contradicted_length(cfg)  # (the record a stated length replaced, as the description says)
    def redeploy(length: Optional[int], state: bool = False) -> str:
        size = f'--input-size {in_chans},{length}' if length else ''
        if length and not origin and (state or restoring):
            size = stated_length_option(None, in_chans, length)
        return ((f'smpconvnet reparam {origin} {origin.split(".")[0]}-deployed' + (f' {size}' if size else '')
                 + chans_kwarg) if origin else
                'smpconvnet reparam of the training-form model or folder into a new folder'
                + (f', with {size}' if size else ''))
    if deployed_for and data.max_length > max(deployed_for):
        # (for the longest series where it is longer than the trained length, as the training form scores it: trial
        # 70, a model stated trained at 100 steps was sent to deploy for 100 again, refused again)
        raise ValueError(f'{model_name} is deployed for series of {max(deployed_for)} steps (its kernels are '
                         f'materialised for that length), but the {split} split of {name} has series of up to '
                         f'{data.max_length}: evaluate the training-form model it was deployed from{evaluate_origin}, '
                         + (f'or deploy that one again for the series\' {data.max_length} steps, more than the '
                            + (f'{known} stated as its trained length against the {contradicted} its weights '
                               f'record' if contradicted else f'{known} it was trained at')
                            + f' ({redeploy(data.max_length, state=contradicted == data.max_length)})'
                            if known and known < data.max_length else
                            f'or deploy that one again for the length it was trained at ({redeploy(known)})'))
    if recorded and name != recorded:
        # after the refusals (a warning before an error said nothing useful); labels are names only: '1' of one set
        # and '1' of another are unrelated classes
        warnings.warn(f'{model_name} was trained on {recorded}; scoring it on {name} with {recorded}\'s label order '
                      f'and normalisation: each label of {name} is taken for the class of that name in {recorded}, '
                      f'an unrelated class unless the two sets share their classes, so the accuracy means nothing '
                      f'otherwise (leave --dataset out to score it on {recorded}'
                      + (f', or evaluate the model shipped for {name}: smpconvnet evaluate-seq {shipped})' if shipped
                         else ')'), stacklevel=caller_stacklevel())
    lengths = data.lengths
    # the length the weights were trained at, where the cfg's is a deployment length (seq_len=, reparam
    # --input-size): whole-series kernels are sampled over the padded length, so it is the trained model's grid
    trained = said_trained_length(cfg)
    same = bool((lengths == lengths[0]).all())
    assumed = said_length_not_recorded(cfg)
    stated_now = 'input_size' in (kwargs.get('pretrained_cfg_overlay') or {})  # (warned as the model was built)
    # deployed for the length the weights record, against another stated for them: said below, once (trial 70c: two
    # warnings, each against the other)
    at_record = bool(deployed_for) and contradicted is not None and not stated_now and contradicted in deployed_for
    # (series longer than the trained length: the training form reads them at their length, as deployed for it)
    if deployed_for and kernels_span_the_input(model) and not at_record and (
            (known is not None and max(known, data.max_length) not in deployed_for)
            or (known is None and assumed is None and same and int(lengths[0]) not in deployed_for)):
        # every series is zero-padded to the deployed length: kernels spanning the whole input then compute
        # something else than the trained model (which saw the set's own length, or its trained one), silently
        # (0.56 against 1.0; JapaneseVowels deployed for 40 steps, trained at 29: 0.9703 against 0.9838). Not
        # where the trained length is not recorded: said below (trial 69d: the two warnings contradicted each other)
        seen = f'its weights were trained at {known} steps' if known is not None else \
            f'every series of {name} has {int(lengths[0])}'
        # (series of the deployed length already are read as they are: trial 69c said "zero-padded to 150" of them)
        read = (f'each series is read at {max(deployed_for)} steps' if same and int(lengths[0]) == max(deployed_for)
                else f'each series is zero-padded to {max(deployed_for)}')
        if known is None and not describes_trained_weights(cfg):
            # what trained the weights is not recorded (a folder timm's save_for_hf wrote of one whose length was
            # not: trial 70 called the run's own 0.94 "not the trained model's")
            said = (f'and what trained its weights is not recorded (its description says so): {read}, so this accuracy '
                    f'is the trained model\'s only if they were trained at {max(deployed_for)} steps; otherwise '
                    f'deploy the model it was deployed from again for the length they were trained at')
        else:
            said = (f'but {seen}: {read}, which is not what the model was trained on, so this accuracy is not the '
                    f'trained model\'s; evaluate the training-form model it was deployed from{evaluate_origin}, or '
                    f'deploy that one again for the length it was trained at ({redeploy(known)})')
        warnings.warn(f'{model_name} is deployed for {max(deployed_for)} steps and its kernels span the whole input, '
                      + said, stacklevel=caller_stacklevel())
    data = seq_data.standardize(data, cfg['mean'], cfg['std'])
    # keep the trained input length (the kernel grid); only a longer test sequence extends it. A training-form model
    # created for another deployment length (seq_len=) is scored at the trained one: its kernels are sampled for the
    # input's length, and the deployment length is reparameterize()'s (it scored 0.49 for weights that score 1.0)
    if not deployed_for and trained is not None:
        length = trained
    if at_record and kernels_span_the_input(model):
        warnings.warn(f'{model_name} is deployed for {contradicted} steps, the length its weights record, but its '
                      f'trained length was stated as {known} steps against that record (its description says so), and '
                      f'its kernels span the whole input: this accuracy is the trained model\'s only if that statement '
                      f'was wrong; otherwise deploy the model it was deployed from again for the {known} steps stated '
                      f'({redeploy(known)})', stacklevel=caller_stacklevel())
    elif contradicted is not None and not stated_now and kernels_span_the_input(model):
        # a length stated against the weights' record, taken (trial 70: a folder saved or deployed so scored 0.4933
        # for 1.0 with no word, the warning given only when it was made)
        warnings.warn(f'{model_name}: its trained length was stated as {known} steps against the {contradicted} its '
                      f'weights record (its description says so), and its kernels span the whole input: this accuracy '
                      f'is the trained model\'s only if that record was wrong; '
                      + (f'otherwise deploy the model it was deployed from again for the {contradicted} steps they '
                         f'record ({redeploy(contradicted, state=True)})' if deployed_for else
                         'to score the weights as recorded, state their length: '
                         + stated_length_option(kwargs, in_chans, contradicted)),
                      stacklevel=caller_stacklevel())
    if assumed is not None and kernels_span_the_input(model):
        # weights of a file that records no trained length (checkpoint_path=, an overlay's file, a folder saved from
        # such a model): whole-series kernels are another kernel at another length (trial 69 F4, 69b: a state dict of
        # a run at 300 scored 0.66 at the cfg's 150 for 0.94, said nothing; seq_len= did not help)
        if deployed_for:
            # (trial 69d: "--input-size C,L", copied, deployed for L with the length still unrecorded, warned again)
            how = (f'deployed for {max(deployed_for)} steps, so this accuracy is the trained model\'s only if its '
                   f'weights were trained at {max(deployed_for)}; deploy the model it was deployed from again with the '
                   f'length L they were trained at (train-seq --length L) stated as their input size: smpconvnet '
                   f'reparam of it with {stated_length_option(None, in_chans)}')
        else:
            how = (f'scored at {length} steps; if they were trained at another length L (train-seq --length L), give '
                   f'it as the input size: {stated_length_option(kwargs, in_chans)}')
        warnings.warn(f'{model_name}: the length its weights were trained at is not recorded with them (they came from '
                      f'a weight file that records none; {assumed} steps, its cfg\'s, were taken for it), and '
                      f'its kernels span the whole input, so at another length they are other kernels: {how}',
                      stacklevel=caller_stacklevel())
    length = max(length, data.max_length)
    result = evaluate(model, data, length, 'classification', batch_size)
    result.update(model=model_name, dataset=name, split=split)
    if 'EMA weights' in str(source or ''):
        # (a timm train.py checkpoint keeps both: timm reads the EMA ones first, as load_model does; trial 72b #7: the
        # score named neither)
        result['weights'] = 'EMA weights'
    return result


def _recorded_length_of(spec: str) -> Optional[int]:
    # the trained length the weights of a folder (local-dir: too) or weight file record (recorded_trained_length);
    # None for anything else (a registered name's cfg says its own)
    return _recorded_of(spec, recorded_trained_length)


def _recorded_of(spec: str, reader) -> Optional[int]:
    # what ``reader`` reads of the weight file of a folder (local-dir: too) or of a weight file; None for anything else
    path = Path(spec[len('local-dir:'):] if spec.startswith('local-dir:') else spec)
    file = folder_weights_file(path) if path.is_dir() else path if path.is_file() else None
    return reader(file) if file is not None else None


def _evaluate_regression(model_name: str, model: nn.Module, recorded: Dict[str, Any], dataset: Optional[str],
                         split: str, batch_size: int) -> Dict[str, Any]:
    """The MSE of an adding-problem model on the split train-seq drew (its sample count and length recorded)."""
    if dataset not in (None, 'adding'):
        raise ValueError(f'{model_name} is a regression model of the adding problem: it cannot score {dataset} '
                         f'(leave --dataset out)')
    if split not in _ADDING_SEEDS:
        raise ValueError(f'--split {split!r}: the adding problem has a train and a test split')
    n, length = recorded.get(f'{split}_samples'), recorded.get('length')
    if not n or not length:
        # written before the sample counts were recorded: the split cannot be drawn again
        raise ValueError(f'{model_name} is an adding-problem run that does not record how many {split} sequences '
                         f'train-seq drew, so the split cannot be drawn again: the test MSE is in the results.json '
                         f'of the train-seq run folder it came from')
    data = adding_split(split, int(n), int(length))
    result = evaluate(model, data, int(length), 'regression', batch_size)
    result.update(model=model_name, dataset='adding', split=split)
    return result


def parse_model_kwargs(items: List[str]) -> Dict[str, Any]:
    """``['key=value', ...]`` -> a dict of model constructor arguments: values as JSON where they parse
    (``true``, ``0.1``, ``"avg"``), else as Python literals (``False``, ``None``, ``(3, 4)``), else as strings
    (``avg``)."""
    out = {}
    for item in items or []:
        k, _, v = item.partition('=')
        if not _ or not k.isidentifier():
            raise ValueError(f'--model-kwargs expects key=value pairs (the key an argument name), got {item!r}')
        if k in out:
            raise ValueError(f'--model-kwargs gives {k} twice ({item!r} after {k}={out[k]!r}): give each argument once')
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            try:  # Python spellings (causal=False) must not become the truthy string 'False'
                out[k] = ast.literal_eval(v)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # what literal_eval raises
                out[k] = v
    return out


def kfold_choice(cv: Dict[str, Any], grid: Sequence[str]) -> Tuple[Optional[str], List[str]]:
    """The k-fold model choice from cross-validation records (``--cv-folds K --cv-fold k`` runs of each candidate).

    ``cv``: ``{'folds': K, 'candidates': {name: {'args': str, 'folds': {fold: {'correct': int, 'n': int}}}}}``, the
    folds of split seed 0 (``--split-seed 0``); ``grid``: the candidate names, in listed order. The choice is the
    candidate of ``grid`` with the highest pooled accuracy over all K folds (the most correct held-out predictions:
    every candidate is scored on the same folds; the candidates ``tied_for_best``); ties go to the first listed,
    unless ``cv`` records a repeated check.

    A repeated check (``cv['repeated']``: ``{'split_seeds': [s, ...], 'candidates': {name: {'args': str, 'splits':
    {str(s): {'folds': {...}}}}}}``) is a tie-break: the tied candidates are cross-validated again on other cuts of
    the training split into K folds (``--split-seed s``) by the same arguments, and the one with the most correct
    held-out predictions over every cut, split seed 0's included (``repeated_accuracy``), is chosen (ties: the first
    listed). Every tied candidate must be in the check; candidates the check holds that are not tied do not compete.

    Returns ``(chosen, missing)``: ``missing`` lists the candidates not yet scored on every fold of split seed 0, or
    else the tied candidates not scored on every fold of the check's split seeds by their grid arguments; while it is
    not empty, ``chosen`` is None (a choice over part of the grid is not made). Candidates recorded in ``cv`` but not
    in ``grid`` are ignored. A fold counts as scored when its key is one of ``'0'``..``str(K - 1)``
    (``folds_scored``). Source: this project's protocol (``scripts/train_aeon.py``).

    Raises:
        ValueError: ``grid`` is empty, or a record of ``grid``'s candidates is malformed (``check_cv_records``)."""
    check_cv_records(cv, grid)
    grid = list(grid)
    if not grid:
        raise ValueError('kfold_choice: the grid is empty: give the names of the candidates to choose from')
    missing = [c for c in grid if not folds_scored(cv['candidates'].get(c, {}), cv['folds'])]
    if missing:
        return None, missing
    tied = tied_for_best(cv, grid)
    if len(tied) == 1 or not cv.get('repeated'):
        return tied[0], []
    unchecked = [c for c in tied if not repeated_scored(cv, c)]
    if unchecked:
        return None, unchecked
    return max(tied, key=lambda k: (repeated_accuracy(cv, k), -grid.index(k))), []


def tied_for_best(cv: Dict[str, Any], grid: Sequence[str]) -> List[str]:
    """The candidates of ``grid`` (every one scored on all folds of ``cv``) with the most correct held-out
    predictions on split seed 0, in listed order: the first is the choice unless a repeated check breaks the tie."""
    best = max(pooled_accuracy(cv['candidates'][c]) for c in grid)
    return [c for c in grid if pooled_accuracy(cv['candidates'][c]) == best]


def repeated_scored(cv: Dict[str, Any], name: str) -> bool:
    """Whether candidate ``name`` has been scored on every fold of every split seed of ``cv``'s repeated check, by
    the arguments of its split-seed-0 record (a record of other arguments, or of none, is not this candidate's)."""
    check = cv['repeated']
    record = check['candidates'].get(name) or {}
    # arguments missing on both sides are not the same arguments: a record that does not say what made it matches none
    args = record.get('args')
    return isinstance(args, str) and args == cv['candidates'][name].get('args') and all(
        folds_scored(record['splits'].get(str(s), {}), cv['folds']) for s in check['split_seeds'])


def folds_scored(record: Dict[str, Any], folds: int) -> bool:
    """Whether ``record`` (``{'folds': {fold: {'correct', 'n'}}}``) holds the results of folds 0..``folds``-1 and no
    others."""
    return set(record.get('folds', {})) == {str(k) for k in range(folds)}


def check_cv_records(cv: Dict[str, Any], grid: Sequence[str]) -> None:
    """Check the cross-validation records ``kfold_choice`` reads (``cv``, records of the candidates of ``grid``),
    as a hand-edited summary may break them: ``grid`` a sequence of names; K a positive integer; every record a dict
    with its arguments (a string under ``'args'``) and its folds (a dict under ``'folds'``); every fold result
    ``{'correct': c, 'n': n}`` under one of the keys ``'0'`` .. ``str(K - 1)``, with integers 0 <= c <= n and n >= 1,
    and one fold of one cut held out the same number of series for every candidate (they are scored on the same
    folds); a repeated check's split seeds distinct integers of at least 1 and its records ``{'args': str, 'splits':
    {str(s): {'folds': {...}}}}``; an ensemble's record (``members`` or ``ensemble_of`` present) both, ``members`` an
    integer >= 2 and ``ensemble_of`` the name of another candidate of the cv records. Folds not yet scored are
    allowed (``folds_scored`` tells them).

    Raises:
        ValueError: naming the record and what was expected."""
    def record(value: Any, where: str, key: str) -> Dict[str, Any]:
        # what was found, not the whole record (a summary's cv record holds every candidate's folds)
        if not isinstance(value, dict):
            raise ValueError(f'{where}: expected a dict with a dict under {key!r}, got {reprlib.repr(value)}')
        if key not in value:
            raise ValueError(f'{where}: expected a dict under {key!r}, found only the keys {sorted(map(str, value))}')
        if not isinstance(value[key], dict):
            raise ValueError(f'{where}: expected a dict under {key!r}, got {reprlib.repr(value[key])}')
        return value[key]

    def check_args(rec: Dict[str, Any], where: str, name: str):
        if not isinstance(rec.get('args'), str):
            raise ValueError(f"{where}: expected the candidate's train-seq arguments as a string under 'args' (a "
                             f"record that does not say what made it is no candidate's), got {rec.get('args')!r}")
        # an ensemble's record says both what it averages and how many seeds: one without the other is no record
        # the scripts can state (the card names the base and counts the members)
        if 'members' in rec or 'ensemble_of' in rec:
            members, base = rec.get('members'), rec.get('ensemble_of')
            if type(members) is not int or members < 2 or not isinstance(base, str):
                raise ValueError(f"{where}: an ensemble's record needs its number of seeds (an integer >= 2) under "
                                 f"'members' and its base candidate's name (a string) under 'ensemble_of', got "
                                 f"members={members!r}, ensemble_of={base!r}")
            # its seed-0 runs are its base's: a candidate of the grid's records, not the ensemble itself
            if base == name or base not in candidates:
                raise ValueError(f"{where}: ensemble_of={base!r} names no other candidate of the cv records (they "
                                 f"have: {', '.join(n for n in candidates if n != name)})")

    sizes: Dict[Tuple[str, str], Tuple[str, int]] = {}  # (cut, fold) -> (first candidate seen, its n)

    def check_folds(holder: Any, where: str, cut: str):  # holder: a record with folds under 'folds'
        for fold, f in record(holder, where, 'folds').items():
            c, n = (f.get('correct'), f.get('n')) if isinstance(f, dict) else (None, None)
            if not (isinstance(fold, str) and type(c) is int and type(n) is int and 0 <= c <= n and n >= 1):
                raise ValueError(f'{where}, fold {fold!r}: expected a string key and {{"correct": c, "n": n}} with '
                                 f'integers 0 <= c <= n and n >= 1 (a fold with held-out predictions), got {f!r}')
            if fold not in {str(i) for i in range(k)}:
                raise ValueError(f"{where}, fold {fold!r}: not a fold of this {k}-fold cross-validation (keys '0' to "
                                 f"'{k - 1}')")
            first = sizes.setdefault((cut, fold), (where, n))
            if first[1] != n:
                raise ValueError(f'{where}, fold {fold}: {n} held out, but {first[0]} held out {first[1]} on that '
                                 'fold: every candidate is scored on the same folds')

    if isinstance(grid, (str, bytes)) or not all(isinstance(g, str) for g in grid):
        raise ValueError(f'kfold_choice: grid must be a sequence of candidate names, got {grid!r}')
    candidates = record(cv, 'cv records', 'candidates')
    k = cv.get('folds')
    if type(k) is not int or k < 1:
        raise ValueError(f"cv records: expected {{'folds': K (an integer >= 1), 'candidates': {{...}}}}, got folds {k!r}")
    for name in grid:
        if name in candidates:
            check_folds(candidates[name], f'candidate {name}', '0')
            check_args(candidates[name], f'candidate {name}', name)
    check = cv.get('repeated')
    if check in (None, {}, []):  # no check recorded
        return
    checked = record(check, 'the repeated check', 'candidates')
    seeds = check.get('split_seeds')
    if (not isinstance(seeds, list) or not seeds or any(type(s) is not int or s < 1 for s in seeds)
            or len(set(seeds)) != len(seeds)):
        raise ValueError(f"cv records: the repeated check needs {{'split_seeds': [distinct integers >= 1 (0 is the "
                         f"grid's own cut)], 'candidates': {{...}}}}, got split_seeds {seeds!r}")
    for name in grid:
        if name not in checked:
            continue
        where, rec = f'repeated check of candidate {name}', checked[name]
        if not isinstance(rec, dict) or not isinstance(rec.get('splits'), dict):
            raise ValueError(f"{where}: expected a dict {{'args': ..., 'splits': {{str(seed): {{'folds': {{...}}}}}}}}, "
                             f'got {rec!r}')
        check_args(rec, where, name)
        for seed, split in rec['splits'].items():
            check_folds(split, f'{where}, split seed {seed}', str(seed))


def pooled_accuracy(candidate: Dict[str, Any]) -> float:
    """Correct held-out predictions over all scored folds of a candidate (``{'folds': {fold: {'correct', 'n'}}}``)
    divided by their number: the cross-validated accuracy ``kfold_choice`` ranks by.

    Raises:
        ValueError: the folds hold no held-out predictions (every ``n`` is 0, or no folds)."""
    folds = candidate['folds'].values()
    n = sum(f['n'] for f in folds)
    if n == 0:
        raise ValueError(f'pooled_accuracy: the candidate\'s folds hold no held-out predictions ({candidate["folds"]})')
    return sum(f['correct'] for f in folds) / n


def repeated_accuracy(cv: Dict[str, Any], name: str) -> float:
    """Correct held-out predictions of candidate ``name`` over every cut of the training split that ``cv`` records
    (split seed 0's folds and those of each split seed of its repeated check) divided by their number: what
    ``kfold_choice``'s repeated check ranks by."""
    folds = list(cv['candidates'][name]['folds'].values())
    splits = cv['repeated']['candidates'][name]['splits']
    for seed in cv['repeated']['split_seeds']:  # the check's own cuts only (split seed 0's are the grid's)
        folds += list(splits[str(seed)]['folds'].values())
    return sum(f['correct'] for f in folds) / sum(f['n'] for f in folds)


def first_update_share(ema: ModelEmaV3, updates: int) -> float:
    """The weight of the first update's weights in ``ema``'s average after ``updates`` updates (timm's ModelEmaV3
    copies the weights at the first update, then multiplies the average's weight by each update's decay: its
    ``get_decay``, warm-up included). 0 for no update."""
    if updates < 1:
        return 0.
    return math.prod(ema.get_decay(step) for step in range(2, updates + 1))


def _warn_of_averaged_batchnorm(model: nn.Module, averaged: nn.Module, first_share: float, factor: float = 10.,
                                warmup: bool = False):
    """Warn where a BatchNorm's running variances in the moving average are, in the median over its channels, more
    than ``factor`` times the trained model's or less than 1 / ``factor`` (standard deviations about 3x off at 10):
    timm's ModelEmaV3 averages the statistics too, and a share of the first update's (variances near BatchNorm's
    initial 1) outweighs variances of 0.005: ItalyPowerDemand's `--model-ema` runs (300 updates, ``first_share``
    0.0495) exported variances a median 55 times off in one layer and scored chance on held-out folds, without a word.
    The median, not the worst channel: a channel of variance 1e-4 can be 28 times off in a model that scores as well
    as without the average. ``first_share``: the weight of the first update in the average; ``warmup``: whether
    the decay had timm's warm-up (the hint then does not suggest it)."""
    worst = (1., '')
    for (name, bn), (_, avg) in zip(model.named_modules(), averaged.named_modules()):
        if not is_batchnorm(bn) or bn.running_var is None:
            continue
        ratio = (avg.running_var.double().clamp_min(1e-12) / bn.running_var.double().clamp_min(1e-12)).cpu()
        median = ratio.median().item()
        r = max(median, 1 / median)
        if r > worst[0]:
            worst = (r, name)
    if worst[0] > factor:
        warnings.warn(f"--model-ema: the exported average's BatchNorm running variances are a median {worst[0]:.0f} "
                      f"times off the trained model's in {worst[1]} (the first update still weighs {first_share:.2%} "
                      f"of the average, its statistics with it): its predictions may be far off; train longer, "
                      + ('' if warmup else 'add --model-ema-warmup, ')
                      + "pass a smaller --model-ema-decay, or add --precise-bn (statistics of the training split for "
                      "the average)", UserWarning, stacklevel=caller_stacklevel())


def checkpoint_weights(checkpoint: Dict[str, Any], ema: bool = False) -> Dict[str, Any]:
    """The model's (or, with ``ema``, the weights' moving average's) state dict in a ``checkpoint.pth`` written by
    ``train``: under timm's ``state_dict`` / ``state_dict_ema`` keys, or ``model`` / ``model_ema`` in checkpoints
    written before train-seq took timm's keys.

    Raises:
        KeyError: the checkpoint holds no such weights (``ema`` for a run without ``--model-ema``).
    """
    keys = ('state_dict_ema', 'model_ema') if ema else ('state_dict', 'model')
    for key in keys:
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    raise KeyError(f'the checkpoint holds no {" or ".join(repr(k) for k in keys)} weights')


def is_checkpoint(checkpoint: Dict[str, Any]) -> bool:
    """Whether a loaded checkpoint dict was written by ``train`` (its options under ``args``, a dict, and its
    weights where ``checkpoint_weights`` finds them)."""
    try:
        checkpoint_weights(checkpoint)
    except KeyError:
        return False
    args = checkpoint.get('args')
    return isinstance(args, dict) and isinstance(args.get('model'), str) and 'model_name' in checkpoint


# every model source (smpconvnet.load_model, the commands) reads train-seq checkpoints
register_checkpoint_format('smpconvnet train-seq', is_checkpoint, checkpoint_config)
