"""Checkpoint handling shared by every model family: unwrapping training checkpoints, recognising and checking
deployed (re-parameterised) state dicts. Each family's ``checkpoint_filter_fn`` builds on these."""
import argparse
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import json
import logging
import pickle
import sys
import warnings
import zipfile
from pathlib import Path
from typing import (Any, Callable, Collection, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple,
                    Union)

import torch
import torch.nn as nn
from timm.models._features import FeatureDictNet, FeatureGetterNet, FeatureHookNet, FeatureListNet
from timm.models._features_fx import FeatureGraphNet

from ..layers.reparam import is_batchnorm
from ..user_warnings import caller_stacklevel

__all__ = ['STATE_DICT_KEYS', 'clean_key', 'removed_prefix', 'unwrap_state_dict', 'find_state_dict',
           'is_deployed_state_dict',
           'has_batchnorm', 'check_deployed_fit', 'check_weights_file', 'read_error_message', 'probe_weights_file', 'with_checkpoint_checks',
           'install_checkpoint_path_hook', 'adapt_input_channels', 'check_input_channels', 'in_chans_asked',
           'other_size_keys',
           'first_layer_adapted_by_filter', 'repeated_input_channels', 'load_record', 'LoadRecord',
           'settle_new_classifier',
           'model_kwargs_option', 'command_model_kwargs', 'command_option', 'command_in_progress', 'command_folder',
           'command_file',
           'script_defaults', 'asked_for',
           'FEATURE_WRAPPERS',
           'record_loaded_classes', 'RECORDED_ARGS_KEY', 'RECORDED_TRAINED_LENGTH', 'RECORDED_ADAPTED_FROM',
           'RECORDED_ADAPTED_VIA',
           'RECORDED_STATED_AGAINST', 'recorded_args_metadata', 'recorded_metadata_length',
           'recorded_metadata_adaptation', 'recorded_metadata_stated_against', 'recorded_model_args',
           'training_record', 'TrainingRecord',
           'differing_recorded_args', 'as_trained_hint', 'check_recorded_architecture', 'with_class_defaults',
           'train_py_model_args', 'is_project_model', 'safe_torch_load', 'warn_clamped_radii',
           'local_model_name', 'shape_hint', 'command_line_value', 'pooling_shown_by', 'pooling_at_config_root']

# timm's features_only wrappers (this project's SMPTCNFeatures is a FeatureGetterNet)
FEATURE_WRAPPERS = (FeatureDictNet, FeatureGetterNet, FeatureHookNet, FeatureListNet, FeatureGraphNet)
# where training checkpoints keep the weights, in timm's order of preference (load_state_dict): EMA weights first
STATE_DICT_KEYS = ('state_dict_ema', 'model_ema', 'state_dict', 'model')
# wrappers whose prefixes a saved state dict can carry: (Distributed)DataParallel, torch.compile
WRAPPER_PREFIXES = ('module.', '_orig_mod.')
# how the families' filters' refusals of a checkpoint begin (the loaders add which file)
FILTER_ERROR_PREFIXES = ('checkpoint ', 'deployed (re-parameterised) checkpoint ')
# the safetensors metadata key under which this project's model folders record the architecture of their weights
# (JSON, as config.json's model_args): a copy of the file alone still tells what it was trained as
RECORDED_ARGS_KEY = 'model_args'
# an entry of that JSON which is no model argument (no keyword argument can be named so): the length (steps) a
# sequence model's weights were trained at, as their cfg states it; a copy of the file alone tells it too (its model
# arguments' seq_len is a deployment length: a run created with seq_len=300 trains at its data's length)
RECORDED_TRAINED_LENGTH = '@trained_length'
# another such entry: the input channels of the weights a first layer was adapted from before these were saved (a
# copy of an adapted folder's file then tells it: trial 69 F3, refused on the data it was adapted from, no way on)
RECORDED_ADAPTED_FROM = '@adapted_from_channels'
# and, where it was adapted more than once (12 to 8 to 12, 12 to 6 to 24), the fewest channels it went through, whose
# first layer dropped the others: a copy of the file adapted back warns as its folder does (trial 70c: a copy scored
# 0.6432 for 0.9838 without a word; 71: 0.4541)
RECORDED_ADAPTED_VIA = '@adapted_via_channels'
# and the trained length the weights recorded where another was stated against it (length_stated_note's): a copy of
# the file warns as its folder does (trial 70b: scored 0.4933 for 1.0 without a word)
RECORDED_STATED_AGAINST = '@stated_against_length'
# the files of a timm / Hub model folder: its weights (either) and the config.json beside them
_FOLDER_WEIGHTS = ('model.safetensors', 'pytorch_model.bin')
_FOLDER_CONFIG = 'config.json'


def is_safetensors_file(path: Union[str, Path]) -> bool:
    """Whether ``path`` holds the safetensors format: by its ``.safetensors`` suffix, or, a file without it (a Hugging
    Face cache blob is named by its hash), by its first bytes: an 8-byte little-endian header length that fits the
    file, then the JSON header's ``{`` (``torch.save``'s zip archive starts ``PK``, a pickle ``0x80``). Reads at most
    9 bytes; a file that cannot be read is not one (the reader then names it)."""
    path = Path(path)
    if path.suffix == '.safetensors':
        return True
    try:
        with path.open('rb') as f:
            head = f.read(9)
        size = path.stat().st_size
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b'{' and 0 < int.from_bytes(head[:8], 'little') <= size - 8


def is_unsuffixed_safetensors(path: Union[str, Path]) -> bool:
    """Whether ``path`` is a safetensors file without the ``.safetensors`` suffix (``is_safetensors_file`` by its
    header): timm's readers tell the format by the suffix and would unpickle it."""
    return is_safetensors_file(path) and not str(path).endswith('.safetensors')


def check_weights_file(path: Union[str, Path]) -> Path:
    """``path`` as a ``Path`` if it looks like a readable weights file, checked without loading it: a file, not empty;
    a ``.safetensors`` file whose header and size agree; otherwise a complete zip archive (``torch.save``'s format)
    or a legacy pickle. What loading can still reject (pickled objects, values) is left to the loader.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: a folder, an empty file, a truncated or corrupt one; the message names the file and what was
            expected.
    """
    path = Path(path)
    expected = 'expected a .safetensors or .pth state dict'
    if path.is_dir():
        raise ValueError(
            f"{path} is a folder, {expected}; a model folder (config.json + model.safetensors, as written by "
            f"smpconvnet convert / reparam / train-seq) loads with timm.create_model('local-dir:{path}', "
            f"pretrained=True)")
    if not path.is_file():
        raise FileNotFoundError(f'weights file not found: {path} ({expected})')
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f'{path} is empty (0 bytes), {expected}')
    if is_safetensors_file(path):
        from safetensors import safe_open
        try:
            with safe_open(str(path), framework='pt') as f:
                f.keys()
        except Exception as e:  # noqa: BLE001  (safetensors raises its own error types)
            raise ValueError(f'{path} is not a readable .safetensors file (corrupt or truncated?): {e}') from e
        return path
    with path.open('rb') as f:
        head = f.read(2)
    if not zipfile.is_zipfile(path) and head[:1] != b'\x80':  # torch.save's zip archive, or a legacy pickle
        raise ValueError(
            f'{path} is not a readable PyTorch checkpoint (not a complete zip archive nor a pickle: corrupt or '
            f'truncated?), {expected}')
    return path


def recorded_args_metadata(model_args: Optional[Dict[str, Any]], trained_length: Optional[int] = None,
                           adapted_from: Optional[int] = None, stated_against: Optional[int] = None,
                           adapted_via: Optional[int] = None) -> Optional[Dict[str, str]]:
    """The safetensors metadata of a weights file whose model was built with ``model_args`` (its architecture, as a
    model folder's config.json records it): the arguments as JSON under ``RECORDED_ARGS_KEY``, so that a copy of the
    file alone still tells them (``recorded_model_args``), with ``trained_length`` (a sequence model's weights'
    trained length, where known) as ``RECORDED_TRAINED_LENGTH`` (``recorded_metadata_length``) and ``adapted_from``
    (the input channels of the weights its first layer was adapted from) as ``RECORDED_ADAPTED_FROM``
    (``recorded_metadata_adaptation``) with ``adapted_via`` (the fewest channels it went through, adapted more than
    once) as ``RECORDED_ADAPTED_VIA``, and ``stated_against`` (the trained length the weights recorded where
    ``trained_length`` was stated against it) as ``RECORDED_STATED_AGAINST`` (``recorded_metadata_stated_against``);
    ``None`` where there are no arguments (timm's ``save_for_hf`` writes no metadata either).

    One key only, and no ``'format'`` entry: safetensors writes the metadata map in a random order each time
    (safetensors issue 584), so a second key would make two saves of the same weights differ byte for byte."""
    if not model_args:
        return None
    record = dict(model_args, **({RECORDED_TRAINED_LENGTH: int(trained_length)} if trained_length else {}),
                  **({RECORDED_ADAPTED_FROM: int(adapted_from)} if adapted_from else {}),
                  **({RECORDED_ADAPTED_VIA: int(adapted_via)} if adapted_from and adapted_via else {}),
                  **({RECORDED_STATED_AGAINST: int(stated_against)} if stated_against else {}))
    return {RECORDED_ARGS_KEY: json.dumps(record, sort_keys=True)}


def _metadata_record(path: Path) -> Optional[Dict[str, Any]]:
    # the JSON under RECORDED_ARGS_KEY of a safetensors file, whole; None where it has none or cannot be read (a
    # damaged file: the loading names it)
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework='pt') as f:
            text = (f.metadata() or {}).get(RECORDED_ARGS_KEY)
        recorded = json.loads(text) if text else None
    except Exception:  # noqa: BLE001
        return None
    return recorded if isinstance(recorded, dict) else None


def recorded_metadata_length(path: Union[str, Path]) -> Optional[int]:
    """The trained length (steps) a safetensors file's metadata records (``recorded_args_metadata``), else None."""
    return _metadata_counts(path, RECORDED_TRAINED_LENGTH)[0]


def recorded_metadata_stated_against(path: Union[str, Path]) -> Optional[int]:
    """The trained length a safetensors file's weights recorded where its metadata says another was stated against it
    (``recorded_args_metadata``), else None."""
    return _metadata_counts(path, RECORDED_STATED_AGAINST)[0]


def recorded_metadata_adaptation(path: Union[str, Path]) -> Optional[Tuple[int, int, Optional[int]]]:
    """Where a safetensors file's metadata records that its first layer was adapted before it was saved
    (``recorded_args_metadata``): its input channels, those of the weights it was adapted from, and the fewest it went
    through where it was adapted more than once (else None); else None."""
    chans, adapted, via = _metadata_counts(path, 'in_chans', RECORDED_ADAPTED_FROM, RECORDED_ADAPTED_VIA)
    via = via if via != chans else None
    if chans and adapted and (chans != adapted or via):
        return chans, adapted, via
    return None


def _metadata_counts(path: Union[str, Path], *keys: str) -> Tuple[Optional[int], ...]:
    # the positive integers a safetensors file's metadata record holds under ``keys`` (recorded_args_metadata), None
    # for each it does not; the file read once
    path = Path(path)
    record = (_metadata_record(path) or {}) if is_safetensors_file(path) and path.is_file() else {}
    return tuple(v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None
                 for v in (record.get(key) for key in keys))


def train_py_model_args(args: argparse.Namespace) -> Dict[str, Any]:
    """The model arguments timm's train.py created the model with, from the ``args`` its checkpoints record (as its
    ``create_model`` call: in_chans from ``--in-chans`` or ``--input-size``, ``--num-classes``, ``--gp``,
    ``--model-kwargs``; drop rates and the like change no weights and are left out)."""
    # a None timm's create_model dropped: the model was built with the architecture's value
    kwargs = {k: v for k, v in (getattr(args, 'model_kwargs', None) or {}).items() if v is not None}
    input_size = getattr(args, 'input_size', None)
    for value in (getattr(args, 'in_chans', None), getattr(args, 'chans', None),
                  input_size[0] if input_size else None):
        if value is not None:
            kwargs['in_chans'] = int(value)
            break
    if getattr(args, 'num_classes', None) is not None:
        kwargs['num_classes'] = int(args.num_classes)
    if getattr(args, 'gp', None):
        kwargs['global_pool'] = args.gp
    return kwargs


def is_project_model(architecture: Optional[str]) -> bool:
    """Whether ``architecture`` (a timm model name, no tag) is registered with timm by this package."""
    from timm.models import is_model, model_entrypoint
    if not architecture or not is_model(architecture):
        return False
    module = model_entrypoint(architecture).__module__
    return module == 'smpconvnet' or module.startswith('smpconvnet.')


def safe_torch_load(path: Union[str, Path], mmap: bool = False) -> Any:
    """``torch.load`` of ``path`` on the CPU as timm reads checkpoints (``weights_only``), taking the
    ``argparse.Namespace`` timm's train.py stores beside the weights; ``mmap``: the tensors are not read (a zip
    archive's only). Raises what ``torch.load`` raises."""
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(path, map_location='cpu', weights_only=True, mmap=mmap)


class TrainingRecord(NamedTuple):
    """What a training checkpoint records of the model it trained (``training_record``): its architecture arguments
    (``model_args``) and where they were read (``where``), and its data config (``pretrained_cfg``); None / '' for
    what it does not record."""
    model_args: Optional[Dict[str, Any]]
    where: str
    pretrained_cfg: Optional[Dict[str, Any]]


_NO_TRAINING_RECORD = TrainingRecord(None, '', None)


def training_record(path: Union[str, Path]) -> TrainingRecord:
    """What the training checkpoint ``path`` (a ``torch.save`` file, wrapped in others too: ``innermost_checkpoint``;
    not a safetensors file) records, read once: the architecture (train-seq's ``config['model_args']``, the whole of
    it, or the model arguments of timm train.py's ``args``, those its command line gave) and the data config
    (train-seq's ``config['pretrained_cfg']``, or train.py's ``args.input_size``, else the input size its model's
    ``seq_len`` gave the model's cfg, as a cfg of that field alone). Read
    as timm reads checkpoints (``weights_only``, which takes train.py's ``argparse.Namespace``), a zip archive
    memory-mapped, so its tensors are not read; nothing recorded where the file cannot be read so (the loading
    reports what it finds)."""
    path = Path(path)
    if is_safetensors_file(path) or not path.is_file():
        return _NO_TRAINING_RECORD
    try:
        # (torch.save's legacy format cannot be memory-mapped: read whole, as the loading will)
        checkpoint = safe_torch_load(path, mmap=zipfile.is_zipfile(path))
    except Exception:  # noqa: BLE001  (a damaged file, other pickled objects: the loading names them)
        return _NO_TRAINING_RECORD
    if not isinstance(checkpoint, dict):
        return _NO_TRAINING_RECORD
    checkpoint = innermost_checkpoint(checkpoint)
    # train.py's namespace first, as the model sources read it (a train-seq checkpoint's args is a dict)
    args = _train_py_namespace(checkpoint)
    if args is not None:
        size = getattr(args, 'input_size', None)
        cfg = {'input_size': tuple(size)} if isinstance(size, (list, tuple)) and size else None
        kwargs = train_py_model_args(args)
        if cfg is None and isinstance(kwargs.get('seq_len'), int) and kwargs['seq_len'] > 0:
            # without --input-size, train.py's data config is the model's cfg, whose input size follows seq_len=
            cfg = {'input_size': (kwargs.get('in_chans', 1), 1, kwargs['seq_len'])}
        return TrainingRecord(*_train_py_record(args), cfg)
    config = checkpoint.get('config')
    cfg = config.get('pretrained_cfg') if isinstance(config, dict) else None
    cfg = cfg if isinstance(cfg, dict) else None
    model_args = _train_seq_model_args(checkpoint)
    if model_args is not None:
        return TrainingRecord(model_args, "its train-seq config's model_args", cfg)
    return TrainingRecord(None, '', cfg)


def _train_py_record(args: argparse.Namespace) -> Tuple[Dict[str, Any], str]:
    # the arguments train.py's command line gave, completed by what the model it names (args.model, a model of this
    # package) was built with for the arguments checked against a record: its registered values are the record too
    kwargs = train_py_model_args(args)
    where = 'the model arguments of its train.py args'
    name = getattr(args, 'model', None)
    # a run fine-tuned from a model folder or Hub repo (train.py --model local-dir:... / hf-hub:...): built as its
    # config.json says, where it can be read without a network
    built_from = local_model_name(name) if isinstance(name, str) else None
    if built_from is None:
        return kwargs, where
    import timm
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # (a folder's own notes: its loading repeats them)
            model = timm.create_model(built_from, device='meta', **kwargs)  # (no memory, no initialisation)
    except Exception:  # noqa: BLE001  (arguments this version does not take: the given ones are the record)
        return kwargs, where
    module = sys.modules.get(type(model).__module__)
    if module is None or not module.__name__.startswith(__name__.rsplit('.', 1)[0] + '.'):
        return kwargs, where
    built = _built_args(model, _record_checked_args(module))
    built = {k: v for k, v in built.items() if k not in ('device', 'dtype')}  # (where this build lives, not the net)
    return {**built, **kwargs}, f"its train.py args: {name} with the command's model arguments"


def cached_hub_file(repo_id: str, filename: str = _FOLDER_WEIGHTS[0], cache_dir: Optional[str] = None) -> Optional[str]:
    """Path of ``filename`` of ``repo_id`` (``name[@revision]``) in the local Hugging Face cache, or None (never
    downloads)."""
    from huggingface_hub import try_to_load_from_cache
    repo, _, revision = repo_id.partition('@')
    path = try_to_load_from_cache(repo, filename, cache_dir=cache_dir, revision=revision or None)
    return path if isinstance(path, str) else None


def local_model_name(name: str) -> Optional[str]:
    """The timm model name that builds ``name`` (timm train.py's ``--model``) without a network: a registered model
    of this project as it is, a ``local-dir:`` folder holding a config.json as it is, an ``hf-hub:`` repo whose
    config.json the Hugging Face cache holds as ``local-dir:`` of its snapshot folder; None for anything else."""
    if is_project_model(name):
        return name
    if name.startswith('local-dir:'):
        return name if (Path(name[len('local-dir:'):]) / _FOLDER_CONFIG).is_file() else None
    if name.startswith('hf-hub:'):
        try:
            config = cached_hub_file(name[len('hf-hub:'):], _FOLDER_CONFIG)
        except Exception:  # noqa: BLE001  (an invalid repo id)
            return None
        return f'local-dir:{Path(config).parent}' if config is not None else None
    return None


# model arguments that change no weight and no output in eval mode (regularisation, the convolution's algorithm, the
# initialisation of the points): a folder's config.json may set them otherwise than its weights' metadata (to
# fine-tune with more dropout, say)
_INITIALISATION_AND_REGULARISATION = frozenset({'dropout', 'input_dropout', 'drop_rate', 'drop_path_rate',
                                                'init_radius', 'coord_std'})
_SETTINGS_OF_TRAINING = _INITIALISATION_AND_REGULARISATION | {'use_fft'}


def recorded_model_args(path: Union[str, Path], folder_conflicts: bool = True,
                        overridden: Collection[str] = ()) -> Tuple[Optional[Dict[str, Any]], str]:
    """The architecture arguments recorded with the weights file ``path``, and where they were read: the file's
    safetensors metadata (``RECORDED_ARGS_KEY``, written by this project's model folders); a training checkpoint's
    own record (train-seq's ``checkpoint.pth``, timm train.py's checkpoints: ``training_record``); else
    the ``model_args`` of the ``config.json`` beside it where ``path`` is that folder's weights
    (``folder_weights_file``: a run, converted, deployed or Hub folder). ``(None, '')`` where nothing is recorded or
    it cannot be read (the loading reports a damaged file itself).

    ``folder_conflicts``: whether the model is built from that folder's ``config.json`` (timm's ``local-dir:`` /
    ``hf-hub:``), so that a config disagreeing with the weights' metadata matters; ``overridden``: the arguments the
    caller gave otherwise than the config (they stand).

    Raises:
        ValueError: with ``folder_conflicts``, a folder's ``model.safetensors`` whose metadata and the folder's
            ``config.json`` record different values (timm's ``local-dir:`` would build the config's network around
            these weights), naming both.
    """
    path = Path(path)
    folder = model_folder_of(path)
    config = folder / _FOLDER_CONFIG if folder is not None else None
    folder_args, pool_at_root = _folder_config(config) if folder is not None else (None, None)
    # the architecture the folder's config.json records: its model_args, and a pooling recorded at its root only
    folder_record = {'global_pool': pool_at_root, **(folder_args or {})} if pool_at_root else folder_args
    if is_safetensors_file(path):
        recorded = _metadata_record(path)
        if recorded is not None:
            # (its model arguments, without the entries that are none: RECORDED_TRAINED_LENGTH)
            recorded = {k: v for k, v in recorded.items() if not k.startswith('@')}
            conflict = {k: (v, recorded[k]) for k, v in (folder_record or {}).items() if folder_conflicts
                        and k in recorded and as_recorded(v) != recorded[k] and k not in overridden
                        and _can_change_outputs(path, k, v)}
            if conflict:
                # timm's local-dir: builds the folder's config.json: the weights would run as another network
                raise ValueError(
                    f"{config} records {', '.join(f'{k}={a!r}' for k, (a, _) in conflict.items())} and {path} "
                    f"(its metadata, written with the weights) {', '.join(f'{k}={b!r}' for k, (_, b) in conflict.items())}"
                    f': the config.json does not describe these weights (edited, or other weights copied in); write '
                    f'the folder again, or copy {path.name} out of the folder and load the copy, which its metadata '
                    f'describes')
            return recorded, f'the {RECORDED_ARGS_KEY} in its metadata'
    else:
        recorded, where, _ = training_record(path)
        if recorded is not None:
            return recorded, where
    if folder_record is not None:
        return folder_record, (f'the model_args of {config}' if not pool_at_root else
                               f'the model_args of {config} and the global_pool at its root' if folder_args else
                               f'the global_pool at the root of {config}')
    return None, ''


def folder_weights_file(folder: Union[str, Path]) -> Optional[Path]:
    """The weights file of a model folder that timm's ``local-dir:`` loads (``model.safetensors``, else
    ``pytorch_model.bin``), None where it holds neither: the one file its ``config.json`` describes."""
    return next((Path(folder) / n for n in _FOLDER_WEIGHTS if (Path(folder) / n).is_file()), None)


def model_folder_of(path: Union[str, Path]) -> Optional[Path]:
    """The model folder whose ``config.json`` describes the weights file ``path`` (``path`` is its
    ``folder_weights_file``; through a symbolic link, the folder of the file it points to where the link's own does
    not), else None. The config itself is not read."""
    path = Path(path)
    for file in (path, path.resolve()) if path.is_symlink() else (path,):
        if folder_weights_file(file.parent) == file and (file.parent / _FOLDER_CONFIG).is_file():
            return file.parent
    return None


def as_recorded(value: Any) -> Any:
    """``value`` as a JSON record holds it, to compare with a recorded argument (a tuple and the list it was recorded
    as are the same argument)."""
    return json.loads(json.dumps(value))


def _same_recorded(a: Any, b: Any) -> bool:
    # whether two argument values are the same as a JSON record holds them (a value no record holds: not the same)
    try:
        return as_recorded(a) == as_recorded(b)
    except (TypeError, ValueError):
        return False


def differing_recorded_args(path: Union[str, Path], built: Dict[str, Any], given: Dict[str, Any],
                            keys: Sequence[str], use_ema: bool = True,
                            config_args: Optional[Dict[str, Any]] = None) -> Tuple[Dict[str, Any], str]:
    """The values of ``keys`` recorded with the weights file ``path`` (``recorded_model_args``) that differ from those
    a model is built with (``built``), where the caller did not ask for them (``given``: its arguments, which stand),
    and where they were read; ``({}, '')`` where none differ or nothing is recorded. Where one does, the other
    recorded arguments come too where they differ from ``built`` or ``built`` lacks them (and ``num_members=1`` for
    one model's record into an ensemble), so that a hint made of them loads the weights as trained in one go (a run of
    other blocks or classes, not only of another kernel length). ``config_args``: the ``model_args`` of the folder's
    config.json the model was built from (timm's ``pretrained_model_args`` of a ``local-dir:`` / ``hf-hub:`` model),
    None where it was not: only then does the config's agreement with the weights matter (``recorded_model_args``),
    and ``given`` holds the config's arguments, the caller's being those it gave otherwise."""
    if config_args is None:
        recorded, where = recorded_model_args(path, folder_conflicts=False)
    else:
        recorded, where = recorded_model_args(path, overridden={
            k for k, v in given.items() if k not in config_args or not _same_recorded(v, config_args[k])})
    if not recorded:
        return {}, ''

    def differs(k):
        # (a running timm script's own default, its in_chans=3 where no channels were given, is no request: the
        # recorded value comes in the hint too, else a second refusal asked for it; trial 72c #5)
        return k in recorded and not asked_for(k, given) and as_recorded(built.get(k)) != recorded[k]
    if config_args is not None:
        # built from a folder's config that lacks them, the class count and input channels are its pretrained_cfg's
        # (timm's defaults), which timm's loading adapts the weights to silently (a new head, a summed stem): checked
        keys = list(keys) + [k for k in ('num_classes', 'in_chans') if k not in keys and k in built]
    if given.get('features_only'):
        # features come before the pooling and the classifier: another class count or pooling changes none of them
        keys = [k for k in keys if k not in ('num_classes', 'global_pool')]
    keys = [k for k in keys if not differs(k) or _can_change_outputs(path, k, built.get(k), use_ema)]
    # one model's record into an ensemble, or an ensemble's into one model: its arguments may all agree, and the
    # filter's refusal of the members cannot tell the rest of the record (another head, say). A record without
    # num_members is one model's where it holds every other argument the model is built with or where the file's keys
    # hold no members (an older folder's partial record; other files' keys are left to the filter)
    members = built.get('num_members') or 1
    if 'num_members' in given:
        other_members = False
    elif 'num_members' in recorded:
        other_members = recorded['num_members'] != members
    else:
        other_members = members != 1 and (set(built) - {'num_members'} <= set(recorded) or _holds_no_members(path))
    if not other_members and not any(differs(k) for k in keys):
        return {}, ''
    values = {k: recorded[k] for k in keys if differs(k)}
    # the others the model is built otherwise with, or whose built value is not known here (an SMPConvNet's or an
    # SMP-ResNet's widths: as recorded, they cannot hurt the hint)
    values.update({k: v for k, v in recorded.items() if k not in values and not asked_for(k, given)
                   and (k not in built or differs(k))})
    if other_members:
        # (one SMP-TCN's record, into a variant registered as an ensemble: num_members=1)
        values['num_members'] = recorded.get('num_members') or 1
        if 'num_members' not in recorded:
            where += ", which names no num_members: one model's weights"
    return values, where


def _can_change_outputs(path: Union[str, Path], key: str, value: Any, use_ema: bool = True) -> bool:
    # whether the weights file ``path``, recorded with another value of ``key``, can run otherwise in a model built
    # with ``value``: not for the settings of training (``_SETTINGS_OF_TRAINING``), nor for a radius bound below
    # which none of its radii lies (nothing is clamped; a deployed model's static kernels hold no radii)
    if key in _SETTINGS_OF_TRAINING:
        return False
    return key != 'r_min' or _radii_below(path, value, use_ema)


def _holds_no_members(path: Union[str, Path]) -> bool:
    # whether the safetensors file ``path`` holds one model's weights, no ensemble's (members.<i>. keys): read off its
    # keys alone; False where that cannot be told cheaply (another format, an unreadable file)
    try:
        if not is_safetensors_file(path):
            return False
        from safetensors import safe_open
        with safe_open(str(path), framework='pt') as f:
            keys = list(f.keys())
    except Exception:  # noqa: BLE001  (the loading names a damaged file itself)
        return False
    return bool(keys) and not any(k.startswith('members.') for k in keys)


def _below_bound(radius: torch.Tensor, bound: float) -> torch.Tensor:
    # the radii a kernel of radius bound ``bound`` reads clamped (one unit of the stored precision allowed: a radius
    # stored at the bound in half precision may round below it)
    return radius.detach().float() < bound * (1 - torch.finfo(radius.dtype).eps)


def _radii_below(path: Union[str, Path], bound: Any, use_ema: bool = True) -> bool:
    # whether the weights file holds SMP point radii (PointKernel's 'radius') below ``bound``, which a model of that
    # radius bound would read clamped; True where that cannot be told (an unknown bound, an unreadable file: the
    # loading names a damaged file itself). ``use_ema=False``: the weights timm's load_checkpoint then reads (the
    # checkpoint's 'state_dict', else 'model'), not its EMA ones
    if not isinstance(bound, (int, float)):
        return True
    try:
        if is_safetensors_file(path):
            from safetensors import safe_open
            with safe_open(str(path), framework='pt') as f:
                radii = [f.get_tensor(k) for k in f.keys() if k.rsplit('.', 1)[-1] == 'radius']
        else:
            checkpoint = safe_torch_load(path, mmap=zipfile.is_zipfile(path))
            if not use_ema and isinstance(checkpoint, dict):
                checkpoint = next((checkpoint[k] for k in ('state_dict', 'model')
                                   if isinstance(checkpoint.get(k), dict)), checkpoint)
            state_dict = find_state_dict(checkpoint)[0] if isinstance(checkpoint, dict) else {}
            radii = [v for k, v in state_dict.items() if isinstance(k, str) and k.rsplit('.', 1)[-1] == 'radius']
    except Exception:  # noqa: BLE001
        return True
    return any(isinstance(r, torch.Tensor) and r.is_floating_point() and bool(_below_bound(r, float(bound)).any())
               for r in radii)


def _folder_config(config_file: Path) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    # a model folder's config.json: its model_args (what timm builds; None where it has none or cannot be read), and
    # the pooling it records at its root only (pooling_at_config_root)
    try:
        config = json.loads(Path(config_file).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None, None
    if not isinstance(config, dict):
        return None, None
    model_args = config.get('model_args')
    return (model_args if isinstance(model_args, dict) else None), pooling_at_config_root(config)


def pooling_at_config_root(config: Dict[str, Any]) -> Optional[str]:
    """The ``global_pool`` that a model folder's ``config.json`` (``config``, as read from a folder or the Hub cache)
    records at its root and not in its ``model_args``: the weights' pooling, which timm's ``local-dir:`` and
    ``hf-hub:`` ignore, building the default around them (timm's ``save_config_for_hf`` writes it there, read off the
    saved head after any ``reset_classifier``; older timm wrote no ``model_args``); None where the config has none
    there, or has it in ``model_args`` too (timm builds that one)."""
    model_args, root_pool = config.get('model_args'), config.get('global_pool')
    in_args = isinstance(model_args, dict) and 'global_pool' in model_args
    return root_pool if isinstance(root_pool, str) and root_pool and not in_args else None


def _folder_builds(folder: Path, values: Dict[str, Any]) -> bool:
    # whether timm's local-dir: of the model folder builds ``values``: its config.json's model_args hold each (a key
    # it lacks is built with the architecture's default)
    model_args = _folder_config(folder / _FOLDER_CONFIG)[0]  # what timm builds: the root's pooling is not read
    if model_args is None:
        return False
    model_args = {'num_members': 1, **model_args}  # (one model's folder records no member count)
    return all(k in model_args and as_recorded(model_args[k]) == v for k, v in values.items())


def as_trained_hint(path: Union[str, Path], values: Dict[str, Any], features_only: bool = False) -> str:
    """How to load the weights file ``path`` with the recorded ``values``, in Python and on the command line, each
    working as printed: its folder through timm's ``local-dir:`` where it is a model folder's weights, the values as
    ``timm.create_model`` arguments (as ``--model-kwargs``) unless one is None (timm drops None arguments: then
    ``smpconvnet.load_model``, which reads the record)."""
    path = Path(path)
    features = ', features_only=True' if features_only else ''
    ways = []
    folder = model_folder_of(path)
    if folder is not None and _folder_builds(folder, values):
        ways.append(f"timm.create_model('local-dir:{folder}', pretrained=True{features}) (a command: "
                    f"{command_folder(folder)})")
    if all(v is not None for v in values.values()):
        ways.append(f"pass {', '.join(f'{k}={v!r}' for k, v in values.items())} to timm.create_model (a command: "
                    f"{command_option(**values)})")
    else:
        ways.append(f'smpconvnet.load_model({str(path)!r}{features}) (timm.create_model drops None arguments; '
                    f'{command_file(path)})')
    return ', or '.join(ways)


def recorded_model_hint(path: Union[str, Path], shape_blind: Sequence[str] = ()) -> str:
    """For a refusal of the weights file ``path`` by a family's filter: where the file records the model it was
    trained as, how to load it so ('' where it records none, or a part without what no shape tells, the family's
    ``shape_blind`` arguments: ``load_model`` would assume those)."""
    recorded = recorded_model_args(path)[0]
    if not recorded or not set(shape_blind) <= set(recorded):
        # a partial record (an older folder's) leaves what no shape tells to load_model's assumptions: not the model
        # it was trained as
        return ''
    return (f'; {path} records the model it was trained as: smpconvnet.load_model({str(path)!r}) builds that model '
            f'({command_file(path)})')


def pooling_shown_by(head: Optional[torch.Tensor], features: int) -> Optional[str]:
    """The one pooling a state dict's shapes show: timm's ``'catavgmax'``, which concatenates two poolings of the
    ``features`` channels, doubling the input of the classifier weight ``head`` ``[classes, 2 * features]``; else
    None (``'avg'``, ``'max'`` and ``'avgmax'`` give the same shapes)."""
    return 'catavgmax' if head is not None and head.dim() == 2 and head.shape[1] == 2 * features else None


def command_line_value(value: Any) -> str:
    """``value`` as a ``--model-kwargs KEY=VALUE`` value that this project's commands and timm's ``train.py`` /
    ``validate.py`` (``ast.literal_eval``, else the text) both read back as ``value``: a plain word bare, anything
    else as its Python literal (``False``, not JSON's ``false``, which timm's parser keeps as a truthy string)."""
    return value if isinstance(value, str) and value.isidentifier() and value not in ('True', 'False', 'None') \
        else repr(value)


def model_kwargs_option(model_kwargs: Optional[Dict[str, Any]], overlay: Optional[Dict[str, Any]] = None,
                        **args: Any) -> str:
    """A hint's ``--model-kwargs`` option: the caller's ``model_kwargs`` with ``args`` set and their
    ``pretrained_cfg_overlay`` updated by ``overlay``, quoted for a shell, so that the hint keeps the rest (trial 71: a
    hint that dropped checkpoint_path= scored the registered weights in place of the caller's file, silently). An
    overlay value 'L' is left for the caller to fill in (printed bare)."""
    import ast
    import shlex
    given = dict(model_kwargs or {}, **args)
    if overlay:
        given['pretrained_cfg_overlay'] = dict(given.get('pretrained_cfg_overlay') or {}, **overlay)

    def shown(value: Any) -> str:
        if isinstance(value, str):
            # a text that the commands would read as a literal (a file named 300) quoted, as it was given (trial 71b)
            try:
                ast.literal_eval(value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                try:
                    json.loads(value)
                except ValueError:
                    return value
            return json.dumps(value)
        return json.dumps(value) if isinstance(value, dict) else command_line_value(value)
    return '--model-kwargs ' + ' '.join(shlex.quote(f'{k}={shown(v)}') for k, v in given.items()).replace('"L"', 'L')


# the --model-kwargs typed in the command being run (smpconvnet's CLI, or a timm script it runs, sets them): a refusal
# raised deep in a load gives its command-line form as that whole option with its change, so that copied in place of
# the caller's own it keeps their checkpoint_path= or overlay file (trial 71b #3: "--model-kwargs in_chans=24" alone
# loaded the registered weights in place of the caller's file); with the arguments the command passes from options of
# its own (a timm script's --in-chans, --num-classes, --gp: in its --model-kwargs they are passed twice, a TypeError)
_COMMAND_MODEL_KWARGS: contextvars.ContextVar[Optional[Tuple[Optional[Dict[str, Any]], Dict[str, str]]]] = \
    contextvars.ContextVar('command_model_kwargs', default=None)


@contextlib.contextmanager
def command_model_kwargs(model_kwargs: Optional[Dict[str, Any]],
                         options: Optional[Dict[str, str]] = None) -> Iterator[None]:
    """Within this block, hints name ``model_kwargs`` (a command's parsed ``--model-kwargs``) as the caller's, in
    their command-line form (``command_option``); ``options``: the constructor arguments the command takes as options
    of its own (e.g. ``{'in_chans': '--in-chans'}`` for timm's ``train.py``), given so in its hints."""
    token = _COMMAND_MODEL_KWARGS.set((dict(model_kwargs) if model_kwargs is not None else None, dict(options or {})))
    try:
        yield
    finally:
        _COMMAND_MODEL_KWARGS.reset(token)


def command_option(overlay: Optional[Dict[str, Any]] = None, **args: Any) -> str:
    """A hint's command-line form: ``--model-kwargs`` with ``args`` (and ``overlay`` in the pretrained cfg overlay),
    within a command the whole option it was given with those set (``command_model_kwargs``), to copy in its place,
    and the command's own options for the arguments it takes so; elsewhere (Python callers) ``args`` alone."""
    import shlex
    given, options = _COMMAND_MODEL_KWARGS.get() or (None, {})
    # (an option's value as the script's argparse reads it: a text as it is)
    own = ' '.join(f'{options[k]} {shlex.quote(v if isinstance(v, str) else command_line_value(v))}'
                   for k, v in args.items() if k in options)
    rest = {k: v for k, v in args.items() if k not in options}
    if own and not rest and not overlay and not given:
        return own
    return ' '.join(filter(None, (own, model_kwargs_option(given, overlay, **rest))))


def command_in_progress() -> bool:
    """Whether a command (smpconvnet's, or a timm script it runs) is loading the model (``command_model_kwargs``)."""
    return _COMMAND_MODEL_KWARGS.get() is not None


def command_file(path: Union[str, Path]) -> str:
    """A hint's command-line form of ``smpconvnet.load_model(path)`` (the model a weights file records): "a command:
    give it PATH" to this project's commands; within a timm script, which builds its model from its own options,
    that the file is for this project's commands (trial 73b: "give it FILE" in train.py, which has no such
    option)."""
    import shlex
    state = _COMMAND_MODEL_KWARGS.get()
    if state and state[1]:
        return "not in a timm script, which builds its model from its options: smpconvnet's commands take the file"
    return f'a command: give it {shlex.quote(str(path))}'


def command_folder(folder: Union[str, Path]) -> str:
    """A hint's command-line form of loading the model folder ``folder`` as the model: ``give it FOLDER`` to this
    project's commands; within a timm script (``command_model_kwargs`` with its options) its ``--model
    local-dir:FOLDER --pretrained`` in place of its checkpoint (trial 72: "give it FOLDER" is no option of train.py or
    validate.py)."""
    import shlex
    state = _COMMAND_MODEL_KWARGS.get()
    if state and state[1]:
        return f'--model {shlex.quote(f"local-dir:{folder}")} --pretrained in place of its checkpoint'
    return f'give it {shlex.quote(str(folder))}'


# the constructor arguments a running timm script passes of its own default, not the caller's request: in_chans=3
# where neither --in-chans nor --input-size was given (trial 72 #3: validate.py adapted a 2-channel checkpoint to its
# default 3 channels without a word; timm's own models fail its strict load)
_SCRIPT_DEFAULTS: contextvars.ContextVar[frozenset] = contextvars.ContextVar('script_defaults', default=frozenset())


@contextlib.contextmanager
def script_defaults(names: Collection[str]) -> Iterator[None]:
    """Within this block, the constructor arguments ``names`` are a script's defaults (``asked_for``)."""
    token = _SCRIPT_DEFAULTS.set(frozenset(names))
    try:
        yield
    finally:
        _SCRIPT_DEFAULTS.reset(token)


def asked_for(name: str, given: Collection[str]) -> bool:
    """Whether the caller asked for the constructor argument ``name``: among the arguments ``given``, and not a
    running timm script's default of its own (``script_defaults``)."""
    return name in given and name not in _SCRIPT_DEFAULTS.get()


def shape_hint(args: Dict[str, Any], untold: str) -> str:
    """A size refusal's hint: ``args`` as ``timm.create_model`` arguments and as a command's ``--model-kwargs``, each
    to copy as printed (what a state dict's shapes tell, then the model's own values of what they do not), and
    ``untold``, which of them are the model's."""
    words = ', '.join(f'{k}={v!r}' for k, v in args.items())
    return f'pass {words} to timm.create_model (a command: {command_option(**args)}; what its shapes tell; {untold})'


def check_recorded_architecture(what: str, path: Union[str, Path], built: Dict[str, Any], given: Dict[str, Any],
                                keys: Sequence[str], name: str, use_ema: bool = True,
                                config_args: Optional[Dict[str, Any]] = None) -> None:
    """Refuse weights recorded (``recorded_model_args``) as trained with other values of ``keys`` than the model is
    built with (``built``: its architecture arguments) where the caller did not ask for them (``given``: the
    caller's arguments, which win: resampling an SMP kernel on another grid on purpose is allowed). ``keys``: the
    arguments that change outputs and need not change a parameter's shape (an SMP-TCN's kernel length: its points
    load into any). Weights with nothing recorded pass (nothing can be told).

    Raises:
        ValueError: naming ``what`` (e.g. 'pretrained weights for smpconv_tcn_acsf1'), the file, the recorded and
            the built values of the model (``name``), and how to load the weights as trained
            (``as_trained_hint``).
    """
    differ, where = differing_recorded_args(path, built, given, keys, use_ema, config_args)
    if not differ:
        return
    # (the hint has the others too: those whose values in the model are unknown); one model has one member
    built = dict(built, num_members=built.get('num_members') or 1)
    # (the initialisation and regularisation come in the hint, not as what makes another network; use_fft, which
    # changes outputs by rounding, is shown)
    shown = [k for k in differ if k in built and as_recorded(built[k]) != differ[k]
             and k not in _INITIALISATION_AND_REGULARISATION]
    has = ', '.join(f'{k}={as_recorded(built.get(k))!r}' for k in shown)
    raise ValueError(
        f"{what}: {path} was trained with {', '.join(f'{k}={differ[k]!r}' for k in shown)} ({where}), and "
        f'{name} is built with {has}: another network than the one trained (where the shapes agree, as an SMP '
        f"kernel's points fit a kernel of any size, the weights would load without an error and give other outputs); "
        f"load them as trained: {as_trained_hint(path, differ, bool(given.get('features_only')))}")


# what torch.load / safetensors raise on a file whose structure looked fine but whose contents are damaged
_READ_ERROR_TYPES = (UnicodeDecodeError, EOFError, IndexError, pickle.UnpicklingError, zipfile.BadZipFile)
_READ_ERROR_MESSAGES = ('PytorchStreamReader', 'unexpected EOF', 'invalid load key', 'Error while deserializing',
                        'record size')


def read_error_message(path: Union[str, Path], e: BaseException, from_reader: bool = False) -> Optional[str]:
    """What to tell about ``e`` if it is what reading the weights file ``path`` raised (a damaged file, or pickled
    objects that ``weights_only`` loading refuses), naming the file and what was expected; None for any other error
    (a failure to load the weights it holds), unless ``from_reader`` says ``e`` was raised by reading alone."""
    first = str(e).splitlines()[0][:200] if str(e) else ''
    if 'weights_only' in str(e) and isinstance(e, (RuntimeError, pickle.UnpicklingError)):
        return (f'{path} holds pickled Python objects that loading with weights_only=True refuses (a corrupt file, or '
                f'a checkpoint holding other objects than tensors: save its state dict alone), expected a '
                f'.safetensors or .pth state dict')
    if from_reader or isinstance(e, _READ_ERROR_TYPES) or any(m in str(e) for m in _READ_ERROR_MESSAGES):
        return (f'{path} could not be read (corrupt file?), expected a .safetensors or .pth state dict: '
                f'{type(e).__name__}: {first}')
    return None


def probe_weights_file(path: Union[str, Path]) -> Path:
    """``check_weights_file``, then, for a PyTorch checkpoint, a trial read of its pickle (memory-mapped for
    ``torch.save``'s zip format, so tensors are not read): a damaged pickle raises here, named, instead of whatever
    the unpickler meets in it, and one holding no mapping (a list, a tensor) is refused by name. Pickled objects that
    ``weights_only`` loading refuses are left to the loader.

    Raises:
        FileNotFoundError, ValueError: as ``check_weights_file``, and for a pickle that cannot be read or holds no
            mapping.
    """
    path = check_weights_file(path)
    if is_safetensors_file(path):
        return path
    try:
        checkpoint = safe_torch_load(path, mmap=zipfile.is_zipfile(path))
    except Exception as e:  # noqa: BLE001  (whatever a damaged file makes the unpickler raise)
        if 'weights_only' in str(e):
            return path
        raise ValueError(read_error_message(path, e, from_reader=True)) from e
    problem = state_dict_problem(checkpoint)
    if problem:  # (timm's loaders meet it as an AttributeError on .items or .startswith)
        raise ValueError(f'{path} {problem}')
    return path


def state_dict_problem(checkpoint: Any) -> Optional[str]:
    """What keeps ``checkpoint`` (a loaded torch file) from being a state dict or a training checkpoint holding one,
    as a phrase following the file's name ('holds a list, expected ...'); None where it is one. Tensor values are
    left to the families' filters, which name what they expected."""
    expected = ("expected a state dict (a mapping of parameter names to tensors) or a dict with 'model' / "
                "'model_ema' / 'state_dict' / 'state_dict_ema'")
    if not isinstance(checkpoint, Mapping):
        return f'holds a {type(checkpoint).__name__}, {expected}'
    for key in STATE_DICT_KEYS:
        # timm's load_state_dict takes what is under 'state_dict' / 'model' whenever the key is there (None too),
        # under an EMA key where it is not None
        if (key in ('state_dict', 'model') and key in checkpoint or checkpoint.get(key) is not None) \
                and not isinstance(checkpoint[key], Mapping):
            return f'holds a {type(checkpoint[key]).__name__} under {key!r}, {expected}'
    wrapped = next((checkpoint[k] for k in STATE_DICT_KEYS if isinstance(checkpoint.get(k), Mapping)), checkpoint)
    names = [k for k in wrapped if not isinstance(k, str)]
    if names:
        return f'holds a mapping whose keys are not parameter names ({names[0]!r}), {expected}'
    return None


def clean_key(key: str) -> str:
    """``key`` without (Distributed)DataParallel / torch.compile prefixes (``module._orig_mod.x`` -> ``x``)."""
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split('.', 1)[1]
    return key


# wrappers opened at most (a pickle can hold a dict that holds itself)
_MAX_WRAPPERS = 8
# what training checkpoints record of the model beside its weights: timm train.py's args (a Namespace) and arch,
# train-seq's config (model_args: the whole architecture), args (a dict) and model_name
RECORD_KEYS = ('args', 'config', 'arch', 'model_name')


def _wrapper_levels(checkpoint: Mapping) -> Tuple[list, Optional[str]]:
    # (the mappings from ``checkpoint`` in to the one under no further STATE_DICT_KEYS wrapper, EMA first as timm
    # reads them; the outermost key or None): wrapped twice, as {'state_dict': {'model': ...}}, it is what timm's
    # reader and then a family's filter unwrap
    levels, under = [checkpoint], None
    while len(levels) < _MAX_WRAPPERS:
        key = next((k for k in STATE_DICT_KEYS if isinstance(levels[-1].get(k), dict)), None)
        if key is None:
            break
        levels.append(levels[-1][key])
        under = under or key
    return levels, under


def _unwrapped(checkpoint: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    # (the innermost mapping, the outermost key or None)
    levels, under = _wrapper_levels(checkpoint)
    return levels[-1], under


def innermost_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """A training checkpoint saved inside another (``{'model': {'state_dict': sd, 'args': ...}}``) as one checkpoint:
    the innermost wrapper of the state dict (``STATE_DICT_KEYS``, EMA weights first as timm reads them) with the
    entries of the levels around it (an inner level's win). Its record of the architecture (``RECORD_KEYS``) is one
    level's: the innermost whose record describes the network (``_describes_network``: train.py's ``args``
    namespace, train-seq's ``config['model_args']``), else that of a checkpoint wrapped beside the weights (EMA
    weights outside, the checkpoint of the same model inside); records of two levels are not mixed (an outer
    ``config`` would otherwise be read before an inner ``args``, an inner bare ``arch`` hide an outer ``args``).
    ``checkpoint`` itself where it has at most one wrapper and any such record is its own (or it is no mapping: the
    readers name that)."""
    if not isinstance(checkpoint, Mapping):
        return checkpoint
    levels = _wrapper_levels(checkpoint)[0]
    wrappers = levels[:-1] if len(levels) > 1 else levels
    record = next((_record_of(level) for level in reversed(wrappers) if _describes_network(level)), None)
    if record is None:
        record = _wrapped_record(checkpoint)
        if record is None and len(levels) <= 2:
            return checkpoint
    elif len(levels) <= 2:
        return checkpoint
    merged = {}
    for level in wrappers:  # from the outside in
        merged.update({k: v for k, v in level.items() if k not in STATE_DICT_KEYS
                       and (record is None or k not in RECORD_KEYS)})
    merged.update(record or {})
    merged.update({k: v for k, v in wrappers[-1].items() if k in STATE_DICT_KEYS})
    return merged


def _describes_network(level: Mapping) -> bool:
    # a record that tells the architecture: timm train.py's args namespace (naming its model), train-seq's config
    # (a model folder's: the architecture and its model_args); not a bare arch name, nor another script's namespace
    # or a config / args dict of other settings
    return _train_py_namespace(level) is not None or _train_seq_model_args(level) is not None


def _train_py_namespace(level: Mapping) -> Optional[argparse.Namespace]:
    args = level.get('args')
    return args if isinstance(args, argparse.Namespace) and isinstance(getattr(args, 'model', None), str) else None


def _train_seq_model_args(level: Mapping) -> Optional[Dict[str, Any]]:
    config = level.get('config')
    if isinstance(config, dict) and isinstance(config.get('architecture'), str) \
            and isinstance(config.get('model_args'), dict):
        return config['model_args']
    return None


def _record_of(level: Mapping) -> Dict[str, Any]:
    return {k: level[k] for k in RECORD_KEYS if k in level}


def _wrapped_record(checkpoint: Mapping, depth: int = 0) -> Optional[Dict[str, Any]]:
    # the record of the first checkpoint wrapped anywhere in ``checkpoint`` that describes the network (depth first,
    # in STATE_DICT_KEYS order)
    for key in STATE_DICT_KEYS:
        inner = checkpoint.get(key)
        if isinstance(inner, dict) and depth < _MAX_WRAPPERS:
            found = _record_of(inner) if _describes_network(inner) else _wrapped_record(inner, depth + 1)
            if found:
                return found
    return None


def find_state_dict(checkpoint: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """(state dict with wrapper prefixes removed, the checkpoint key it was under or None for a bare state dict),
    preferring EMA weights as timm does (``STATE_DICT_KEYS``; a wrapped wrapper is opened too). Values are not
    checked."""
    def clean(k):  # (a key that is no name is left for the checks to name: state_dict_problem)
        return clean_key(k) if isinstance(k, str) else k
    inner, under = _unwrapped(checkpoint)
    return {clean(k): v for k, v in inner.items()}, under


def removed_prefix(checkpoint: Dict[str, Any]) -> str:
    """The wrapper prefix (``'module.'``, ``'_orig_mod.'``, ...) ``find_state_dict`` removed from the first key of
    ``checkpoint``'s state dict that had one, '' where none had: messages name keys without it."""
    for key in _unwrapped(checkpoint)[0]:
        if isinstance(key, str) and clean_key(key) != key:
            return key[:len(key) - len(clean_key(key))]
    return ''


def unwrap_state_dict(checkpoint: Dict[str, Any], what: str = 'a state dict') -> Dict[str, torch.Tensor]:
    """The state dict of a training checkpoint (``find_state_dict``), checked to map names to tensors.

    Raises:
        ValueError: anything else, naming ``what`` was expected and the keys found.
    """
    state_dict, _ = find_state_dict(checkpoint)
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        # ('checkpoint ...': the loaders add which file)
        raise ValueError(
            f'checkpoint is not {what}: expected a mapping of parameter names to tensors, optionally wrapped as '
            "{'model': ...}, {'model_ema': ...}, {'state_dict': ...} or {'state_dict_ema': ...}; got an object with "
            f'keys {sorted(checkpoint)[:8]}')
    return state_dict


def is_deployed_state_dict(state_dict: Dict[str, torch.Tensor], static_kernel: str) -> bool:
    """Whether ``state_dict`` is a deployed (re-parameterised) one, as ``smpconvnet reparam`` writes: the family's
    static kernel (``static_kernel``, a key name ending) present, no BatchNorm statistics and no point kernel
    (training-form and original checkpoints have both)."""
    return any(k.endswith(static_kernel) for k in state_dict) and not any(
        k.endswith(('.running_var', '.kernel.weights', '.Kernel.weights', '.weight_coord')) for k in state_dict)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` still has BatchNorms, i.e. is in training form."""
    return any(is_batchnorm(m) for m in model.modules())  # frozen ones too (timm.utils.freeze)


def check_deployed_fit(
        state_dict: Dict[str, torch.Tensor],
        model: nn.Module,
        adapted: Tuple[str, ...],
        hint: str,
) -> Dict[str, torch.Tensor]:
    """``state_dict`` (deployed) against the re-parameterised ``model``: the same tensors with the same shapes,
    except the ``adapted`` ones (classifier, first conv), which timm's loader adapts to num_classes / in_chans.

    Raises:
        ValueError: naming the first missing, unexpected or differently shaped tensor, and ``hint``.
    """
    model_sd = model.state_dict()
    missing = [k for k in model_sd if k not in state_dict and k not in adapted]
    unexpected = [k for k in state_dict if k not in model_sd and k not in adapted]
    shapes = [k for k, v in state_dict.items() if k in model_sd and k not in adapted and v.shape != model_sd[k].shape]
    if missing or unexpected or shapes:
        detail = (f'{shapes[0]} has shape {list(state_dict[shapes[0]].shape)}, the model expects '
                  f'{list(model_sd[shapes[0]].shape)}' if shapes else
                  f'missing {missing[:3]}' if missing else f'unexpected {unexpected[:3]}')
        raise ValueError(f'deployed (re-parameterised) checkpoint does not fit the model: {detail}; {hint}')
    return state_dict


# timm.create_model arguments that are not the model's own (the hint below passes its own features_only and weights)
# (pretrained_model_args: timm's record of a local-dir: / hf-hub: folder's model_args, which it also passes one by one)
_NOT_MODEL_ARGS = ('pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir', 'features_only', 'checkpoint_path',
                   'pretrained_model_args')


def adapt_input_channels(state_dict: Dict[str, torch.Tensor], model_sd: Dict[str, torch.Tensor],
                         keys: Sequence[str], classifier: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Weights for another number of input channels, as timm adapts an image model's first conv (``in_chans=`` with
    ``pretrained=True``, ``timm.models.adapt_input_conv``), for the tensors ``keys`` of the first layer whose dim 1 is
    the input channel (point-kernel weights ``[O, I, N]``, convolutions ``[O, I, ...]``): summed over the channels for
    1 channel, else the channels repeated cyclically and scaled by ``I / C``, so a signal repeated on every channel
    gives the same response (exactly for 1 channel and for multiples of the checkpoint's channels: a point kernel is
    linear in its weights). ``keys[0]`` tells the checkpoint's and the model's channels; ``state_dict`` is not
    changed (a new dict is returned where anything is adapted).

    Raises:
        ValueError: where the model's ``in_chans`` was not asked for (``first_layer_adapted_by_filter(False)`` of a
            pretrained build: the channels its pretrained cfg states of the weights; a ``checkpoint_path=`` model
            built without ``in_chans=``) and the weights have others: adapting would hide a cfg that does not describe
            its weights (timm refuses such a first conv too) or a file of another network.
    """
    key = keys[0]
    record = _LOAD_RECORD.get()
    if record is not None and record.weights_chans is None and key in state_dict and state_dict[key].dim() > 1:
        # (the weights', adapted or not; first seen: a later call sees those adapted already)
        record.weights_chans = int(state_dict[key].shape[1])
    if key not in state_dict or key not in model_sd or state_dict[key].shape[1] == model_sd[key].shape[1]:
        return state_dict
    check_input_channels(state_dict, model_sd, key, classifier)
    in_ckpt, in_model = state_dict[key].shape[1], model_sd[key].shape[1]
    out = dict(state_dict)
    for k in keys:
        w = state_dict.get(k)
        if w is None or k not in model_sd or w.shape[1] != in_ckpt:
            continue
        w32 = w.float()
        if in_model == 1:
            adapted = w32.sum(dim=1, keepdim=True)
        else:
            repeat = -(-in_model // in_ckpt)
            adapted = w32.repeat(1, repeat, *([1] * (w.dim() - 2)))[:, :in_model] * (in_ckpt / in_model)
        out[k] = adapted.to(w.dtype)
    return out


def repeated_input_channels(weight: torch.Tensor, views: int = 1) -> Optional[int]:
    """The fewest input channels p whose weights a first layer's ``weight`` (``[O, C, ...]``) repeats over its C,
    exactly (``weight[:, i] == weight[:, i % p]``): what ``adapt_input_channels`` leaves of weights of p channels
    adapted to more, which training would not keep; None where C is 1 or nothing repeats. A file that records nothing
    of an adaptation (timm's ``save_for_hf`` writes no metadata) is told so (trial 71b: 12 adapted to 6 and back to 12
    scored 0.4541 without a word). ``views``: the input is that many views of the series one after the other (an
    SMP-TCN's ``first_difference``: 2, each adapted apart), and p is the period every view repeats (None unless the
    same for all)."""
    if views > 1:
        periods = {repeated_input_channels(view) for view in weight.chunk(views, dim=1)}
        return periods.pop() if len(periods) == 1 else None
    channels = weight.shape[1] if weight.dim() > 1 else 1
    for period in range(1, channels):
        if all(torch.equal(weight[:, i], weight[:, i % period]) for i in range(period, channels)):
            return period
    return None


def other_size_keys(state_dict: Dict[str, torch.Tensor], model_sd: Dict[str, torch.Tensor],
                    input_keys: Sequence[str] = (), skip: Sequence[str] = ()) -> List[str]:
    """The keys of ``state_dict`` whose tensors have other shapes than the model's (``model_sd``), the first layer's
    input channels aside (dim 1 of ``input_keys``: adapted, or refused, by ``adapt_input_channels``) and ``skip``
    (a classifier timm replaces): checked before the channels, so that one refusal names every argument that
    differs."""
    def shape(k, v):
        return tuple(v.shape[:1]) + tuple(v.shape[2:]) if k in input_keys and v.dim() > 1 else tuple(v.shape)
    return [k for k, v in state_dict.items()
            if k in model_sd and k not in skip and shape(k, v) != shape(k, model_sd[k])]


def check_input_channels(state_dict: Dict[str, torch.Tensor], model_sd: Dict[str, torch.Tensor], key: str,
                         classifier: Optional[str] = None) -> None:
    """Refuse weights whose first layer ``key`` (dim 1 the input channel) has other input channels than the model's
    where no ``in_chans=`` asked for the model's (``in_chans_asked(False)``: a pretrained build takes them from its
    cfg, a ``checkpoint_path=`` model from the architecture): adapting them, or timm's strict load failing on them,
    would hide a cfg that does not describe its weights or a file of another network.

    Raises:
        ValueError: naming the key, both channel counts and the ``in_chans=`` that loads the weights as trained (with
            the ``num_classes=`` of the ``classifier`` weight, where it has another count: one refusal, not two).
    """
    if key not in state_dict or key not in model_sd or state_dict[key].shape[1] == model_sd[key].shape[1]:
        return
    if not _IN_CHANS_GIVEN.get():
        in_ckpt, in_model = state_dict[key].shape[1], model_sd[key].shape[1]
        args = {'in_chans': in_ckpt}
        head, model_head = state_dict.get(classifier or ''), model_sd.get(classifier or '')
        if head is not None and model_head is not None and head.shape[0] != model_head.shape[0]:
            args['num_classes'] = head.shape[0]
        words = ', '.join(f'{k}={v}' for k, v in args.items())
        # (a timm script's own in_chans, where the caller gave none: trial 72b #5 named the cfg for the script's 3)
        script_default = 'in_chans' in _SCRIPT_DEFAULTS.get()
        whose = ("the script's default: it passes in_chans where no --in-chans or --input-size is given"
                 if script_default else "its pretrained cfg's input_size")
        raise ValueError(
            f'checkpoint has {in_ckpt} input channel{"s" * (in_ckpt != 1)} in its first layer ({key}), and the model '
            f'{in_model}, which no in_chans= asked for ({whose}): weights are adapted to other channels only on '
            f'request; create the model with {words} (a command: {command_option(**args)}'
            + ('' if script_default else "; or correct the cfg's input_size where it comes with the weights") + ')')


class _AdaptedFirstLayerLog(logging.Filter):
    # timm's load_pretrained checks the cfg's first_conv after the family's filter, which has adapted its input
    # channels already: it then logs that the weights "already match the model ... Loading unchanged", which is false
    def filter(self, record: logging.LogRecord) -> bool:
        return 'already match the model, but input_size declares' not in record.getMessage()


# whether the first layer may be adapted to the model's input channels: not in a pretrained build whose caller gave no
# in_chans (first_layer_adapted_by_filter), where timm's build takes the channels from the pretrained cfg
_IN_CHANS_GIVEN: contextvars.ContextVar[bool] = contextvars.ContextVar('in_chans_given', default=True)


@contextlib.contextmanager
def in_chans_asked(in_chans_given: bool) -> Iterator[None]:
    """Around ``build_model_with_cfg``: whether the caller asked for the model's ``in_chans`` (where not, weights of
    other channels are refused: ``check_input_channels``)."""
    token = _IN_CHANS_GIVEN.set(in_chans_given)
    try:
        yield
    finally:
        _IN_CHANS_GIVEN.reset(token)


@contextlib.contextmanager
def first_layer_adapted_by_filter(in_chans_given: bool = True) -> Iterator[None]:
    """Around ``build_model_with_cfg`` of a family whose ``checkpoint_filter_fn`` adapts the first layer's input
    channels itself (``adapt_input_channels``): timm's log that such weights load unchanged is left out.
    ``in_chans_given``: whether the caller asked for the model's ``in_chans``; where not, the model has the channels
    its pretrained cfg states, and weights with others are refused rather than adapted (timm's rule: a first conv is
    adapted only from the channels its cfg declares)."""
    logger, log_filter = logging.getLogger('timm.models._builder'), _AdaptedFirstLayerLog()
    logger.addFilter(log_filter)
    try:
        with in_chans_asked(in_chans_given):
            yield
    finally:
        logger.removeFilter(log_filter)


@dataclasses.dataclass
class LoadRecord:
    """What a build saw of the weights it loaded (``load_record``). ``weights_chans``: the input channels of
    their first layer, before any adaptation to the model's; None where no weights were filtered. ``new_classifier``:
    the pretrained cfg forced a new classifier (``num_classes=-1``, timm's train.py ``--pretrained-path``), which
    timm then initialises whatever the weights' count; ``weights_classes``: that count (None: they had no
    classifier)."""
    weights_chans: Optional[int] = None
    new_classifier: bool = False
    weights_classes: Optional[int] = None


# the record of the build in progress (load_record): adapt_input_channels and record_loaded_classes fill it
_LOAD_RECORD: contextvars.ContextVar[Optional[LoadRecord]] = contextvars.ContextVar(
    'load_record', default=None)


@contextlib.contextmanager
def load_record() -> Iterator[LoadRecord]:
    """Around ``build_model_with_cfg``: yields a ``LoadRecord`` of the weights the build loads, whose first
    layer's channels the description's note of an adapted first layer states, not its cfg's (trial 66b E: an
    overlay's 3-channel file loaded unchanged with in_chans=3 over a 1-channel cfg was said to be adapted from 1; timm
    logs such an image model's stem as loaded unchanged)."""
    record = LoadRecord()
    token = _LOAD_RECORD.set(record)
    try:
        yield record
    finally:
        _LOAD_RECORD.reset(token)


def settle_new_classifier(model: nn.Module, record: LoadRecord) -> nn.Module:
    """``model`` (in place) after a build whose pretrained cfg forced a new classifier (``record.new_classifier``:
    ``num_classes=-1``, timm's train.py ``--pretrained-path``): its cfg's ``num_classes`` is the weights' count again
    (0: they had no classifier), which the description's note of the new classifier states, and its ``label_names``
    go (they name the weights' classes, not the new classifier's). Returns ``model``."""
    if not record.new_classifier:
        return model
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if isinstance(cfg, dict) and isinstance(cfg.get('num_classes'), int) and cfg['num_classes'] < 0:
            cfg['num_classes'] = record.weights_classes or 0
            cfg.pop('label_names', None)
    return model


def record_loaded_classes(filter_fn: Callable, features_only: bool = False) -> Callable:
    """``filter_fn`` (a family's ``checkpoint_filter_fn(state_dict, model)``) that also records the filtered state
    dict's classifier rows (the cfg's ``classifier``; an ensemble's first member's) in
    ``model.pretrained_cfg['num_classes']``: the weights' class count, whether the model keeps that classifier (its
    ``num_classes``) or gets a new one (another count: the description says so against the file's count). Label
    names of another count go.

    timm's ``load_pretrained`` keeps a checkpoint's classifier only where the model's ``num_classes`` equals the
    cfg's, the registered weights' count: ``timm.create_model(name, pretrained=True, num_classes=10,
    pretrained_cfg_overlay=dict(file=...))`` of a file with a trained 10-class head replaced that head at random
    (ImageNet's cfg says 1000). timm reads the cfg after the filter, so the matching head is kept. A head of another
    count is dropped where ``num_classes`` differs from the cfg's (the fine-tuning idiom) and refused where it does
    not (``check_classifier_rows``: torch's bare size mismatch), except for a ``features_only`` build, whose
    classifier timm drops. A cfg stating ``num_classes=-1`` (timm's train.py ``--pretrained-path``) is left so: timm
    drops the file's classifier, as for its own models; the build records the file's count (``load_record``) for
    ``settle_new_classifier``.
    """
    @functools.wraps(filter_fn)
    def filter_and_record(state_dict: Dict[str, Any], model: nn.Module) -> Dict[str, torch.Tensor]:
        state_dict = filter_fn(state_dict, model)
        warn_clamped_radii(state_dict, model, 'pretrained weights')
        cfg = getattr(model, 'pretrained_cfg', None)
        if not isinstance(cfg, dict):
            return state_dict
        record = _LOAD_RECORD.get()
        if record is not None and record.weights_chans is None:
            # the first layer's channels where the filter did not adapt them (timm adapts an image model's after it)
            record.weights_chans = _first_layer_channels(state_dict, cfg)
        rows = _classifier_rows(state_dict, cfg)
        if isinstance(cfg.get('num_classes'), int) and cfg['num_classes'] < 0:
            # timm's train.py --pretrained-path overlays num_classes=-1 to force a new classifier, which timm's own
            # models get whatever the file's count (trial 72b #3: the file's count recorded here kept its head);
            # left for timm to drop, the file's count said after the build (settle_new_classifier)
            if record is not None:
                record.new_classifier, record.weights_classes = True, rows
            return state_dict
        if not features_only and cfg.get('num_classes') == getattr(model, 'num_classes', None):
            # timm keeps the file's classifier (the class count is the cfg's): it must fit
            check_classifier_rows(rows, model, fine_tune=True, file=cfg.get('file'))
        if rows is not None and not features_only and cfg.get('num_classes') != rows:
            # the weights' count, the file's: kept (rows == num_classes) or replaced by a new classifier, which the
            # description then says against the file's count, not the registered weights' (trial 66)
            cfg['num_classes'] = rows
            if cfg.get('label_names') is not None and len(cfg['label_names']) != cfg['num_classes']:
                cfg.pop('label_names')  # the registered weights' classes, not these
        return state_dict
    return filter_and_record


def _first_layer_channels(state_dict: Dict[str, Any], cfg: Dict[str, Any]) -> Optional[int]:
    # the input channels of a filtered state dict's first conv (the cfg's first_conv, its first name), None if unknown
    first = cfg.get('first_conv')
    first = first[0] if isinstance(first, (list, tuple)) and first else first
    weight = state_dict.get(f'{first}.weight') if isinstance(first, str) else None
    return int(weight.shape[1]) if isinstance(weight, torch.Tensor) and weight.dim() > 1 else None


def _classifier_rows(state_dict: Dict[str, Any], cfg: Dict[str, Any]) -> Optional[int]:
    # the class count of a filtered state dict's classifier (the cfg's classifier, its first name), None if it has none
    classifier = cfg.get('classifier')
    classifier = classifier[0] if isinstance(classifier, (list, tuple)) and classifier else classifier
    weight = state_dict.get(f'{classifier}.weight') if isinstance(classifier, str) else None
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.dim() >= 1 else None


def check_classifier_rows(rows: Optional[int], model: nn.Module, fine_tune: bool = False,
                          file: Optional[str] = None) -> None:
    """Refuse a classifier of ``rows`` classes that is to load into ``model`` as it is (timm keeps a pretrained one
    where the model's class count is its cfg's; ``checkpoint_path=`` loads strictly) but has another count (torch's
    bare size mismatch otherwise).

    Raises:
        ValueError: naming both counts and the ``num_classes=`` that keeps the trained classifier (``fine_tune``, a
            pretrained load of ``file``, else of the cfg's Hub repo: and how to get a new one of the model's count,
            the overlay stating the file's)."""
    classes = getattr(model, 'num_classes', None)
    if rows is None or not classes or rows == classes:
        return
    # (timm replaces the classifier where the model's count differs from its pretrained cfg's: here it does not)
    other = (f'; for a new classifier to train (timm\'s fine-tuning idiom), state the file\'s count in the overlay: '
             f"pretrained_cfg_overlay=dict({f'file={file!r}, ' if file else ''}num_classes={rows}) with "
             f'num_classes={classes}' if fine_tune else '')
    raise ValueError(f'checkpoint has a classifier of {rows} classes, the model {classes}: pass num_classes={rows} '
                     f'to keep the trained one (a command: {command_option(num_classes=rows)}){other}')


def warn_clamped_radii(state_dict: Dict[str, Any], model: nn.Module, what: str = 'checkpoint') -> None:
    """Warn where ``state_dict`` (filtered for ``model``) holds SMP point radii below the radius bound of the kernel
    they load into (its ``r_min``: the kernel reads its radii clamped to it, Sec. 3 of the paper keeps radii positive):
    weights trained with a smaller bound, whose record (if any) did not say so, would give other outputs than the
    network trained. The warning names the smallest radius and the argument that loads them as trained."""
    low, bound, count, total, damaged = None, None, 0, 0, []
    for name, module in model.named_modules():
        r_min, r_max = getattr(module, 'r_min', None), getattr(module, 'r_max', None)
        radius = state_dict.get(f'{name}.radius' if name else 'radius')
        if not isinstance(r_min, float) or not isinstance(radius, torch.Tensor) or not radius.is_floating_point():
            continue
        values = radius.detach().float()
        total += radius.numel()
        # radii no training keeps: not finite, at or below 0, above the upper bound (read clamped to it)
        wrong = ~torch.isfinite(values) | (values <= 0)
        if isinstance(r_max, float):
            wrong |= values > r_max * (1 + torch.finfo(radius.dtype).eps)
        if wrong.any():
            damaged.append(f'{name}.radius ({int(wrong.sum())}, e.g. {float(values[wrong][0])!r})')
            continue
        below = _below_bound(radius, r_min)
        if below.any():
            count += int(below.sum())
            smallest = float(values.min())
            low, bound = (smallest, r_min) if low is None or smallest < low else (low, bound)
    if damaged:
        warnings.warn(f'{what}: SMP point radii that no training keeps (not finite, at or below 0, or above the upper '
                      f'bound 1, which the kernels read clamped): {", ".join(damaged[:3])}'
                      f'{f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""}: a damaged or edited file, whose '
                      f'outputs are not those of the network it was saved from', UserWarning,
                      stacklevel=caller_stacklevel())
    if low is None:
        return
    warnings.warn(f'{what}: {count} of its {total} SMP point radii are below the radius bound of the model they load '
                  f'into (the smallest {low!r}, the bound r_min={bound!r}): the kernels read them clamped, so the '
                  f'outputs can differ from those of the network trained (trained with a smaller r_min); pass '
                  f'r_min={low!r} where the model is built (timm.create_model, smpconvnet.load_model; a command that '
                  f'takes --model-kwargs: {command_option(r_min=low)}) to load them as trained', UserWarning,
                  stacklevel=caller_stacklevel())


def remember_create_args(model: nn.Module, kwargs: Dict[str, Any]) -> nn.Module:
    """Keep the model arguments ``timm.create_model`` passed (``kwargs`` of a family's builder) on ``model`` (a plain
    attribute, not state), so that a hint printed after the build can repeat them. Returns ``model``."""
    model.create_args = {k: v for k, v in kwargs.items() if k not in _NOT_MODEL_ARGS}
    # the folder's config.json arguments timm passed with the caller's (local-dir: / hf-hub:), apart: see asked_args
    model.folder_args = dict(kwargs.get('pretrained_model_args') or {})
    # the caller's cfg and overlay are kept apart: the hint repeats the cfg and adds its own file to the overlay
    cfg = kwargs.get('pretrained_cfg')
    model.create_cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg  # a PretrainedCfg prints as a dict
    model.create_overlay = dict(kwargs.get('pretrained_cfg_overlay') or {})
    return model


def asked_args(model: nn.Module) -> Dict[str, Any]:
    """The model arguments the caller of ``timm.create_model`` gave (``remember_create_args``), without those timm
    took from a ``local-dir:`` / ``hf-hub:`` folder's config.json (passed as if given, and recorded as
    ``pretrained_model_args``): a folder's ``global_pool='avg'`` is not the caller's choice, and a checkpoint trained
    with ``'max'`` loaded into it silently (a value given equal to the folder's cannot be told apart: it counts as
    the folder's)."""
    folder = getattr(model, 'folder_args', {})
    return {k: v for k, v in getattr(model, 'create_args', {}).items()
            if not (k in folder and _same_recorded(folder[k], v))}


def _source(value: Any) -> str:
    """``value`` as Python source that ``timm.create_model`` accepts where the user passed it: the reprs of a
    ``torch.device`` (``device(type='cpu')``) and of a numpy scalar (``np.float64(0.1)``) are not runnable as
    printed; a device's string and a scalar's Python value are."""
    if isinstance(value, torch.device):
        return repr(str(value))
    if type(value).__module__ == 'numpy' and hasattr(value, 'item') and getattr(value, 'ndim', None) == 0:
        return repr(value.item())
    return repr(value)


def with_class_defaults(cls: type, args: Dict[str, Any], keys: Sequence[str]) -> Dict[str, Any]:
    """``args`` (a model's constructor arguments) with the values ``cls`` gives the ``keys`` they leave out."""
    params = inspect.signature(cls.__init__).parameters
    return {**{k: params[k].default for k in keys if k in params}, **args}


def _built_args(model: nn.Module, keys: Sequence[str]) -> Dict[str, Any]:
    # the values of ``keys`` a model was built with: an SMP-TCN's recorded architecture, else the caller's arguments,
    # else the model's attribute of that name where it is a plain value (an SMP-ResNet's global_pool attribute is its
    # pooling module), else the class default
    if getattr(model, 'arch_args', None) is not None:
        return model.arch_args
    plain = {k: getattr(model, k) for k in keys
             if isinstance(getattr(model, k, None), (bool, int, float, str, list, tuple))}
    return with_class_defaults(type(model), {**plain, **getattr(model, 'create_args', {})}, keys)


def _record_checked_args(module) -> Tuple[str, ...]:
    # a family's recorded arguments to check: its SHAPE_BLIND_ARGS, and any others its RECORD_CHECKED_ARGS adds
    return getattr(module, 'RECORD_CHECKED_ARGS', None) or getattr(module, 'SHAPE_BLIND_ARGS', ())


def with_checkpoint_checks(timm_load_checkpoint: Callable, what: str = 'checkpoint_path',
                           loaded: Callable[[nn.Module, str, str, Optional[int]], None] =
                           lambda model, source, path, weights_chans: None) -> Callable:
    """``timm_load_checkpoint`` (timm's ``load_checkpoint(model, checkpoint_path, ...)``) made to check the file and
    use the family's ``checkpoint_filter_fn`` for a model whose class is defined in ``smpconvnet.models``.

    For such a model the file is checked (``check_weights_file``), read with timm's ``load_state_dict`` (any error of
    the reader becomes a ``ValueError`` naming ``what``, the model, the file and what was expected), passed through
    the family's filter (original layouts, wrapped and deployed state dicts; an explicit ``filter_fn`` or ``remap``
    wins) and loaded as timm does; then ``loaded(model, source, checkpoint_path, weights_chans)`` (the package passes
    what says whose weights the model now holds; ``weights_chans``: the input channels of the file's first layer,
    before any adaptation to the model's ``in_chans``, None where unknown). A features_only wrapper of such a model
    gets a ``ValueError`` saying how to load the file instead (timm would load it into the wrapper, whose keys
    differ). Any other model goes to ``timm_load_checkpoint`` unchanged.
    """
    from timm.models import load_state_dict, remap_state_dict
    package = __name__.rsplit('.', 1)[0] + '.'

    def family(model):
        module = sys.modules.get(type(model).__module__)
        return module if module is not None and module.__name__.startswith(package) else None

    def checked_load(model, checkpoint_path, *args, **kwargs):
        # timm's features_only wrappers (FeatureGetterNet, and this project's subclass of it) hold the model
        inner = getattr(model, 'model', None)
        if isinstance(model, FEATURE_WRAPPERS) and isinstance(inner, nn.Module) and family(inner) is not None:
            create_args = getattr(model, 'create_args', {})
            blind = _record_checked_args(family(inner))
            built = getattr(model, 'arch_args', None) or _built_args(inner, blind)  # (the wrapper has the record)
            recorded, _ = differing_recorded_args(checkpoint_path, built, asked_args(model), blind)
            if any(v is None for v in recorded.values()):  # timm would drop a recorded None: the record's reader
                raise ValueError(f'{what} with features_only=True: timm loads the file into the feature wrapper, '
                                 f'whose keys differ from the checkpoint\'s; load it as trained instead: '
                                 f'{as_trained_hint(checkpoint_path, recorded, features_only=True)}')
            # the recorded arguments the shapes cannot tell, so that the hint loads the weights as trained
            args = ''.join(f'{k}={_source(v)}, ' for k, v in {**create_args, **recorded}.items())
            if getattr(model, 'create_cfg', None) is not None:
                args += f'pretrained_cfg={_source(model.create_cfg)}, '
            overlay = {**getattr(model, 'create_overlay', {}), 'file': str(checkpoint_path)}
            overlay = ', '.join(f'{k}={_source(v)}' for k, v in overlay.items())
            raise ValueError(
                f'{what} with features_only=True: timm loads the file into the feature wrapper, whose keys differ '
                f'from the checkpoint\'s; load it as pretrained weights instead: timm.create_model('
                f'{inner.pretrained_cfg.get("architecture", "NAME")!r}, {args}features_only=True, pretrained=True, '
                f'pretrained_cfg_overlay=dict({overlay}))')
        module = family(model)
        if module is None or str(checkpoint_path).lower().endswith(('.npz', '.npy')):
            return timm_load_checkpoint(model, checkpoint_path, *args, **kwargs)
        name = getattr(model, 'pretrained_cfg', {}).get('architecture') or type(model).__name__
        try:
            probe_weights_file(checkpoint_path)
        except (ValueError, FileNotFoundError) as e:
            raise type(e)(f'{what} for {name}: {e}') from None
        # weights recorded with another architecture than the model's where the shapes cannot tell (the model's own
        # create_model arguments were asked for: they stand)
        bound = inspect.signature(timm_load_checkpoint).bind(model, checkpoint_path, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        blind = _record_checked_args(module)
        check_recorded_architecture(f'{what} for {name}', checkpoint_path, _built_args(model, blind),
                                    asked_args(model), blind, name, use_ema=a['use_ema'])
        # timm's load_checkpoint, step for step, with its reader's errors named and the family's filter by default
        try:
            if is_unsuffixed_safetensors(checkpoint_path):  # (a Hub cache blob: timm's reader would unpickle it)
                from safetensors.torch import load_file
                from timm.models import clean_state_dict
                state_dict = clean_state_dict(load_file(str(checkpoint_path), device=str(a['device'])))
            else:
                state_dict = load_state_dict(
                    checkpoint_path, a['use_ema'], device=a['device'], weights_only=a['weights_only'])
        except Exception as e:  # noqa: BLE001  (whatever a damaged file makes the reader raise)
            raise ValueError(f'{what} for {name}: {read_error_message(checkpoint_path, e, from_reader=True)}') from e
        filter_fn = a['filter_fn'] if a['filter_fn'] is not None else getattr(module, 'checkpoint_filter_fn', None)
        try:
            if a['remap']:
                state_dict = remap_state_dict(state_dict, model)
            elif filter_fn is not None:
                # a first layer of other channels is adapted only where the model was asked for its in_chans (timm's
                # load_checkpoint adapts none: a strict load)
                # (a folder's in_chans is not the caller's request, nor a timm script's default)
                asked = asked_for('in_chans', asked_args(model))
                with in_chans_asked(asked), load_record() as seen:
                    state_dict = filter_fn(state_dict, model)
                    # an image family's first conv, which its filter adapts on no path (timm does on its pretrained
                    # one only: in_chans=1 failed here in the strict load, torch's bare size mismatch)
                    cfg = getattr(model, 'pretrained_cfg', None) or {}
                    if asked and isinstance(cfg.get('first_conv'), str):
                        head = cfg.get('classifier')
                        state_dict = adapt_input_channels(
                            state_dict, model.state_dict(), (f"{cfg['first_conv']}.weight",),
                            f'{head}.weight' if isinstance(head, str) else None)
                if a['strict']:  # (the classifier loads as it is)
                    check_classifier_rows(_classifier_rows(state_dict, getattr(model, 'pretrained_cfg', {}) or {}),
                                          model)
            warn_clamped_radii(state_dict, model, f'{what} {checkpoint_path}')
        except ValueError as e:
            if not str(e).startswith(FILTER_ERROR_PREFIXES):  # (the families' filters' refusals: which file)
                raise
            raise ValueError(f'{what} for {name}: {checkpoint_path} does not fit the model: {e}'
                             f'{recorded_model_hint(checkpoint_path, getattr(module, "SHAPE_BLIND_ARGS", ()))}') from e
        result = model.load_state_dict(state_dict, strict=a['strict'])
        # the file's first layer's channels, before any adaptation to the model's (said where they differ)
        weights_chans = seen.weights_chans if filter_fn is not None and not a['remap'] else None
        loaded(model, f'{checkpoint_path} ({what}=)', checkpoint_path,
               weights_chans or _first_layer_channels(state_dict, getattr(model, 'pretrained_cfg', None) or {}))
        return result

    @functools.wraps(timm_load_checkpoint)
    def load_checkpoint(model, checkpoint_path, *args, **kwargs):
        try:
            return checked_load(model, checkpoint_path, *args, **kwargs)
        except ValueError as e:
            # the file a refusal is about, for a caller that cannot take its hint's --model-kwargs (timm's
            # onnx_export.py under `smpconvnet timm`) and names another way to the same weights
            e.checkpoint_path = str(checkpoint_path)
            raise

    load_checkpoint.checks_smpconvnet_models = True
    return load_checkpoint


def install_checkpoint_path_hook(
        loaded: Callable[[nn.Module, str, str, Optional[int]], None] =
        lambda model, source, path, weights_chans: None) -> None:
    """Make ``timm.create_model(name, checkpoint_path=...)`` of this project's models check the file and accept
    every layout their pretrained path accepts (``with_checkpoint_checks`` around the ``load_checkpoint`` that
    ``timm.create_model`` calls, ``timm.models._factory.load_checkpoint``).

    timm reads ``checkpoint_path`` itself after building the model, with no filter and before any code of the model
    runs: an empty file gave a bare ``EOFError``, a truncated ``.safetensors`` a ``SafetensorError`` without the file
    name, an original-layout checkpoint missing keys. Every other model, and every other caller of timm's
    ``load_checkpoint``, is untouched. Installing twice is a no-op.
    """
    from timm.models import _factory
    if not getattr(_factory.load_checkpoint, 'checks_smpconvnet_models', False):
        _factory.load_checkpoint = with_checkpoint_checks(_factory.load_checkpoint, loaded=loaded)
