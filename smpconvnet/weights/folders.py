"""Model folders: what timm's ``local-dir:`` and the Hub read (``model.safetensors``, ``config.json``, a model card
``README.md``), written atomically; and the ``smpconvnet/pretrained/`` folders of the published ImageNet models."""
import dataclasses
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch

from ..atomic_io import atomic_dir, check_destination, entries_besides, holds_nothing
from ..models import (NOT_RECORDED, cfg_trained_length, describes_trained_weights, folder_weights_metadata,
                      member_network, said_length_not_recorded, said_random, trained_from_description,
                      weights_loaded_after, with_channels, with_num_classes)
from .hub import MANIFEST_NAME

__all__ = [
    'WEIGHTS_NAME', 'CONFIG_NAME', 'CARD_NAME', 'DEPLOYED_KEY', 'EXTRA_CONFIG_KEYS', 'CITATION', 'PAPER_TOP1',
    'MODEL_FOLDER_FILES', 'foreign_to_model_folder', 'managed_location', 'check_not_managed', 'print_step',
    'read_config', 'retrained_cfg', 'cfg_trained_length', 'NOT_RECORDED', 'with_channels',
    'set_pretrained_cfg',
    'model_card', 'write_model_folder', 'write_ensemble_folder',
    'write_release_folder',
]

# the fields of a pretrained cfg that name the published weights (tag, Hub repo, file, paper) or the preprocessing
# they were tested at: none of them describes a model trained further from those weights
WEIGHTS_IDENTITY_FIELDS = ('tag', 'hf_hub_id', 'hf_hub_filename', 'url', 'file', 'source', 'test_input_size',
                           'test_crop_pct', 'paper_ids', 'paper_name', 'origin_url')

WEIGHTS_NAME = 'model.safetensors'
# the suffixes of weight and checkpoint files the commands read
CHECKPOINT_SUFFIXES = ('.safetensors', '.pth', '.pt', '.bin', '.ckpt', '.tar')
CONFIG_NAME = 'config.json'
CARD_NAME = 'README.md'
# top-level config.json key marking a folder that holds a re-parameterised (deployed) state dict
DEPLOYED_KEY = 'deployed'
# top-level config.json keys beyond timm's that travel with a model (train-seq: the data set it was trained on)
# config.json keys beyond timm's that travel with a model folder: train-seq's data set; random_weights: true for a
# folder deployed from a model without trained weights (--pretrained no, or none offline); new_classifier: the class
# count of a classifier initialised at random when deployed (another num_classes than the weights')
# a deployed folder's arguments that make it compute something else than its trained model: their trained values
TRAINED_WITH_KEY = 'trained_with'
EXTRA_CONFIG_KEYS = ('dataset', 'random_weights', 'new_classifier', TRAINED_WITH_KEY)

PAPER_TOP1 = {'smpconvnet_t': 82.5, 'smpconvnet_b': 83.8}
CITATION = """@inproceedings{kim2023smpconv,
  title={SMPConv: Self-moving Point Representations for Continuous Convolution},
  author={Kim, Sanghyeon and Park, Eunbyung},
  booktitle={Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2023}
}"""

PathLike = Union[str, os.PathLike]

# the files of a model folder this project writes (write_model_folder, write_ensemble_folder, write_release_folder,
# the shipped folders): what --force may delete when it replaces one
MODEL_FOLDER_FILES = (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME, MANIFEST_NAME)


def foreign_to_model_folder(folder: Path) -> Optional[str]:
    """What makes the existing ``folder`` other than a model folder as this project writes them (only
    ``MODEL_FOLDER_FILES``, a ``config.json`` naming a registered architecture), said for an error message; None for
    an empty folder or a model folder (OS metadata files besides: ``atomic_io.is_os_metadata``), which ``--force`` may replace (the
    ``foreign`` of ``atomic_io.check_destination``: a train-seq run, a folder of other checkpoints or of other things
    is not deleted)."""
    reason = entries_besides(folder, MODEL_FOLDER_FILES)
    if reason or holds_nothing(folder):
        return reason
    try:
        config = json.loads((Path(folder) / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        config = None
    import timm
    if not (isinstance(config, dict) and isinstance(config.get('architecture'), str)
            and timm.is_model(config['architecture'])):
        return f'holds no model {CONFIG_NAME} (one that names a registered architecture)'
    return None


def managed_location(path: PathLike) -> Optional[str]:
    """The weights store ``path`` lies in, said for an error message, or None: the package's shipped weights
    (``smpconvnet/pretrained``), the Hugging Face Hub cache or torch.hub's checkpoints. ``timm.create_model(...,
    pretrained=True)`` reads them, so a command's output written there replaces published weights unseen (a
    deployed GunPoint written over the shipped one loaded as ``smpconv_tcn_gunpoint.aeon`` from then on)."""
    from huggingface_hub import constants
    from ..models import WEIGHTS_DIR
    target = Path(os.path.realpath(path))
    stores = ((WEIGHTS_DIR, "the package's shipped weights"),
              (Path(constants.HF_HUB_CACHE), 'the Hugging Face Hub cache'),
              (Path(torch.hub.get_dir()) / 'checkpoints', "torch.hub's checkpoints"))
    for root, what in stores:
        root = Path(os.path.realpath(root))
        if target == root or root in target.parents:
            return f'{what} ({root})'
    return None


def check_not_managed(path: PathLike, name: str = 'the destination'):
    """A ``ValueError`` where ``path`` lies in a weights store (``managed_location``)."""
    store = managed_location(path)
    if store:
        raise ValueError(f'{name} {path} lies in {store}, which timm.create_model(..., pretrained=True) reads: '
                         f'writing there would replace published weights; write to another folder')


def print_step(msg: str, quiet: bool = False):
    """One line of a multi-step command's progress (nothing when ``quiet``)."""
    if not quiet:
        print(msg, flush=True)


# the keys timm's _parse_model_cfg takes out of a flat (older timm's) config.json before reading the rest as a
# pretrained cfg
_FLAT_CONFIG_ROOT_KEYS = ('architecture', 'num_features', 'labels', 'num_classes', 'label_names', 'label_descriptions')


def read_config(folder: Path) -> Dict[str, Any]:
    """``folder/config.json`` as a dict, checked to be timm's model config (an object naming a registered
    ``architecture``).

    Raises:
        ValueError: missing (naming the weight files the folder holds), not JSON, or not such a config, naming the
            file.
    """
    import timm
    path = Path(folder) / CONFIG_NAME
    if Path(folder).is_dir() and not path.exists():
        # a folder of checkpoint files, say: "config.json is not a readable config.json: [Errno 2]" named no way on
        files = sorted(f.name for f in Path(folder).iterdir() if f.is_file() and f.suffix in CHECKPOINT_SUFFIXES)
        raise ValueError(f'{folder} is not a model folder (it has no {CONFIG_NAME}, which model folders written by '
                         f'train-seq, reparam, convert and push have)' + (
                             f'; it holds weight files: give one of them, e.g. {Path(folder) / files[0]}'
                             + (f' ({len(files)} in all: {", ".join(files[:4])}{", ..." if len(files) > 4 else ""})'
                                if len(files) > 1 else '') if files else ''))
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f'{path} is not a readable config.json: {e}') from e
    expected = ("expected timm's model config: a JSON object with the model's \"architecture\" (as train-seq, "
                'reparam and convert write it)')
    if not isinstance(config, dict) or not isinstance(config.get('architecture'), str):
        raise ValueError(f'{path} holds no "architecture": {expected}')
    if not timm.is_model(config['architecture']):
        raise ValueError(f'{path} names the architecture {config["architecture"]!r}, which timm does not know '
                         f'(`smpconvnet list` shows this package\'s models)')
    for key, what in (('model_args', "the model's constructor arguments"), ('pretrained_cfg', 'its pretrained cfg')):
        if key in config and not isinstance(config[key], dict):
            raise ValueError(f'{path}: its "{key}" is {type(config[key]).__name__} {config[key]!r}, expected a JSON '
                             f'object of {what} (as train-seq, reparam and convert write it)')
    if 'pretrained_cfg' not in config:
        # timm reads a config without one as older timm wrote it: every other key a pretrained cfg field
        from timm.models import PretrainedCfg
        fields = {f.name for f in dataclasses.fields(PretrainedCfg)}
        others = sorted(k for k in config if k not in fields and k not in _FLAT_CONFIG_ROOT_KEYS)
        if others:
            raise ValueError(f'{path} has no "pretrained_cfg" object, and timm reads the other keys of such a config '
                             f'(older timm wrote it flat) as pretrained cfg fields, which {", ".join(others)} are '
                             f'not: put the cfg fields under "pretrained_cfg" (as train-seq, reparam and convert '
                             f'write it)')
    return config



def _numbers(values) -> str:
    # 4 significant digits: a mean of -5e-10 is not written as -0.0
    return '(' + ', '.join(f'{v:.4g}' for v in values) + (',)' if len(values) == 1 else ')')


# the kind of model a card names, by class (and whether its input is a sequence)
_MODEL_KINDS = {
    'SMPConvNet': ('ImageNet backbone', False),
    'SMPConvResNet': ('image classifier', False),
    'SMPConvTCN': ('causal temporal convolutional network (sequence model)', True),
    'SMPConvTCNEnsemble': ('ensemble of causal temporal convolutional networks (sequence model)', True),
}


# where an absolute path may start (not inside a word, URL or relative path; after timm's local-dir: prefix too), and
# the most it may span: a path may hold spaces, brackets, commas and quotes ('model (1).safetensors'), so the run up to
# the line's end is cut back, before a space or such a character, to the longest part that exists
_PATH_START = re.compile(r'(?:(?<=local-dir:)|(?<![\w:/.]))/[^\s`\'"(),;]')
_PATH_SPAN = re.compile(r'[^`\n]+')
_PATH_CUTS = frozenset(' \t\'"(),;')


def _name_local_paths(text: str) -> Tuple[str, bool]:
    # local_paths_to_names, and whether a path was named by its name alone (not the package's own file)
    package_dir = Path(__file__).resolve().parents[1]
    out, pos, bare = [], 0, False
    while True:
        start = _PATH_START.search(text, pos)
        if start is None:
            return ''.join(out) + text[pos:], bare
        span = _PATH_SPAN.match(text, start.start()).group()
        ends = [len(span)] + [i for i in range(len(span) - 1, 0, -1) if span[i] in _PATH_CUTS]
        found = None
        for end in ends:
            candidate = span[:end].rstrip().rstrip('.:')
            if candidate and _exists(candidate):
                found = candidate
                break
        if found is None:  # no existing path starts here: kept, and the search goes on after its first word
            word_end = start.start() + len(re.match(r'\S+', span).group())
            out.append(text[pos:word_end])
            pos = word_end
            continue
        path = Path(found)
        try:
            # the package's own files (shipped weights) by their path in it: the same on every machine
            shown = (Path(package_dir.name) / path.resolve().relative_to(package_dir)).as_posix()
        except ValueError:
            shown, bare = path.name, True
        out.append(text[pos:start.start()] + shown)
        pos = start.start() + len(found)


def _exists(candidate: str) -> bool:
    # a run of text taken for a path may hold a part longer than a file name may be (a long description after a
    # path: ENAMETOOLONG, which Path.exists raises): no such file
    try:
        return Path(candidate).exists()
    except OSError:
        return False


def local_paths_to_names(text: str) -> str:
    """``text`` with every absolute path of an existing file or folder (spaces in it too) replaced by its name (by its
    path from the package's folder, ``smpconvnet/...``, for the package's own files): a card's provenance without the
    author's directories (it may be pushed to the Hub)."""
    return _name_local_paths(text)[0]


def _code_span(text: str) -> str:
    # Markdown: a backtick inside the text needs a longer fence (and spaces) around it
    return f'`` {text} ``' if '`' in text else f'`{text}`'


def retrained_cfg(base_cfg: Dict[str, Any], **fields: Any) -> Dict[str, Any]:
    """The pretrained cfg of a model trained from ``base_cfg``'s (fine-tuned, or trained by timm's ``train.py``):
    the architecture's fields (``first_conv``, ``classifier``, normalisation, ...) without those that name the
    published weights (``WEIGHTS_IDENTITY_FIELDS``: tag, Hub repo, file, paper), with ``fields`` set (those it was
    trained with: ``input_size``, ``crop_pct``, ``num_classes``, ``label_names``, ...). ``label_names`` of
    another class count are dropped, and ``pool_size`` (the final feature map's) follows a new ``input_size``. timm's
    data config (``resolve_data_config``) reads the result back, so a folder written with it is scored at the size it
    was trained at, not the base's 224 px. Without a ``description`` the result says what they were trained from
    (``trained_from_description``), not the base's description of its own weights."""
    cfg = {k: v for k, v in dict(base_cfg).items() if k not in WEIGHTS_IDENTITY_FIELDS}
    cfg['description'] = trained_from_description(dict(base_cfg))
    cfg.update(fields)
    old_size, new_size, pool = base_cfg.get('input_size'), cfg.get('input_size'), base_cfg.get('pool_size')
    if 'pool_size' not in fields and old_size and new_size and pool and len(old_size) == len(new_size) \
            and len(pool) == len(old_size) - 1 and all(old_size[1:]):
        # the feature map scales with the input (224 px with a 7 x 7 map: 32 px gives 1 x 1); padded strides round up
        cfg['pool_size'] = tuple(max(1, math.ceil(n * p / o)) for n, p, o in zip(new_size[1:], pool, old_size[1:]))
    return with_num_classes(cfg, None)


def set_pretrained_cfg(model: torch.nn.Module, cfg: Dict[str, Any]) -> None:
    """Give ``model`` the pretrained cfg ``cfg``, under timm's alias ``default_cfg`` too (one dict, as timm's builder
    sets them; timm's ONNX export reads the alias, which kept the old cfg where only ``pretrained_cfg`` was set)."""
    model.pretrained_cfg = model.default_cfg = cfg


def model_card(architecture: str, model: torch.nn.Module, model_args: Dict[str, Any], description: str,
                source: str, command: str, deployed: bool = False, extra: str = '',
                regression: Optional[str] = None, trained_length: Optional[int] = None,
                paths_named: bool = False) -> str:
    """The README.md of a model folder. ``trained_length``: the length a sequence model was trained at, where its
    cfg's input size is another (a deployed one's is the length its kernels were materialised for);
    ``paths_named``: ``command`` names local paths by their names (the card says so, as for those it names itself)."""
    n_params = sum(p.numel() for p in model.parameters())
    # for the model's input channels (in_chans=): timm keeps the weights' cfg on the model and adapts the one it
    # writes (the card had said 1 channel, one mean, beside a config.json of 3)
    chans = getattr(model, 'in_chans', None)
    cfg = with_channels(model.pretrained_cfg, chans) if isinstance(chans, int) else model.pretrained_cfg
    in1k = not model_args.get('num_classes') and architecture in PAPER_TOP1 and 'layers' not in model_args
    kind, sequences = _MODEL_KINDS.get(type(model).__name__, ('model', False))
    if sequences and not getattr(member_network(model), 'causal', True):
        kind = kind.replace('causal', "centred ('same')")
    # regression: the data set of a sequence model with one output (the adding problem), not a classifier
    task = 'time-series-regression' if regression else 'time-series-classification' if sequences else \
        'image-classification'
    lines = ['---', 'tags:', f'- {task}', '- timm',
             '- smpconv', 'library_name: timm', 'license: mit']
    if in1k:
        lines += ['datasets:', '- imagenet-1k']
    if architecture in PAPER_TOP1 and 'layers' not in model_args:
        title = description
    else:
        title = 'SMPConvNet (custom size)' if type(model).__name__ == 'SMPConvNet' else architecture
    lines += ['---', f'# {title}' + (' (deployed, re-parameterised)' if deployed else ''), '']
    # what the weights are, where the cfg says (an image model's random weights had no line, only a Source)
    weights_line = f"\n- **Weights:** {local_paths_to_names(cfg['description'])}" if cfg.get('description') else ''
    if sequences:
        channels, _, length = tuple(cfg.get('input_size', (0, 1, 0)))
        length = trained_length or cfg_trained_length(cfg) or length
        zero_pad_to = getattr(model, 'zero_pad_to', None)
        taps = getattr(member_network(model), 'kernel_length', None)  # fixed-length kernels run at any input length
        # random weights have no trained length, a file that names no model an assumed one (cards said "trained at"),
        # unless it records it (its description says it: trial 68b, "assumed L = 300" of a file that recorded 150)
        # (nor one a file that records none was taken at: trial 69b, "trained at L = 150" of weights trained at 300)
        trained = (describes_trained_weights(cfg) and said_length_not_recorded(cfg) is None) or (
            not said_random(cfg) and cfg_trained_length(cfg) is not None)
        at = f'trained at L = {length}' if trained else f'the length of its cfg: L = {length}' if said_random(cfg) \
            else f'assumed L = {length}, not recorded with the weights'
        if deployed and zero_pad_to:
            lengths = (f'sequences `[B, {channels}, L]`, L up to {zero_pad_to} (zero-padded to {zero_pad_to} steps, '
                       f'the length the deployed kernels are materialised for; a longer one raises a ValueError)')
        elif deployed and model_args.get('seq_len') and taps is None:
            other = (f'; {at}: its kernels span the whole input, so these are other kernels than the trained ones'
                     if trained else f'; {at}') if length != model_args['seq_len'] else ''
            lengths = (f"sequences `[B, {channels}, {model_args['seq_len']}]` only (the deployed kernels are "
                       f'materialised for this length; another raises a ValueError{other})')
        elif deployed and model_args.get('seq_len'):
            lengths = (f'sequences `[B, {channels}, L]` of any length (the deployed kernels have {taps} taps whatever '
                       f'the length; {at})')
        else:
            lengths = f'sequences `[B, {channels}, L]` ({at})'
        input_line = (f'- **Input:** {lengths}, normalised as `(x - mean) / std` with per-channel mean '
                      f"{_numbers(cfg.get('mean', ()))}, std {_numbers(cfg.get('std', ()))}")
        input_line += weights_line
        # the cfg's num_classes is the weights' (a classifier of another size has no label_names)
        labels, classes = list(cfg.get('label_names') or []), getattr(model, 'num_classes', None)
        trained = cfg.get('num_classes') or len(labels)
        if regression:
            input_line += f'\n- **Output:** one value per series (a regression: {regression})'
        elif labels and classes in (None, len(labels)):
            input_line += f"\n- **Classes:** `label_names` = {labels}"
        elif trained and classes == 0:
            input_line += ('\n- **Classifier:** none (`num_classes=0`): the model outputs pooled features; the '
                           f'weights\' classifier ({trained} classes) was left out')
        elif trained and classes not in (None, trained):
            input_line += (f'\n- **Classifier:** new, initialised at random (`num_classes={classes}`): the weights\' '
                           f'classifier ({trained} classes) was left out')
    else:
        input_line = (f"- **Input:** {tuple(cfg.get('input_size', ()))}, mean "
                      f"{tuple(round(x, 3) for x in cfg.get('mean', ()))}, std "
                      f"{tuple(round(x, 3) for x in cfg.get('std', ()))}, {cfg.get('interpolation')} resize, "
                      f"crop_pct {cfg.get('crop_pct')}") + weights_line
    lines += [
        f'SMPConv (self-moving point kernels, Kim & Park, CVPR 2023; original code: '
        f'https://github.com/sangnekim/SMPConv) {kind} for timm, from the smpconvnet package.', '',
        '## Model details', '',
        '- **Architecture:** ' + (f'{description}: ' if description != architecture else '') + f'`{architecture}`'
        + (f' with `{json.dumps(model_args)}`' if model_args else ''),
        f'- **Parameters:** {n_params:,}',
        input_line,
        f'- **Source:** {local_paths_to_names(source)}',
        f'- **Produced by:** {_code_span(local_paths_to_names(command))}',
        *(['- **Paths:** local files and folders are named without their directories (a card may be published): '
           'run the command where they are'] if paths_named or any(
            _name_local_paths(t)[1] for t in (source, command, cfg.get('description') or '')) else []),
        '- **Licence:** MIT (smpconvnet; the original SMPConv code and weights are MIT too)',
    ]
    if in1k:
        lines.append(f'- **ImageNet-1k top-1 (paper):** {PAPER_TOP1[architecture]} at 224x224 '
                     '(not re-measured by this conversion)')
    if deployed:
        lines.append('- **Form:** re-parameterised for inference (one static conv per SMP unit, no BatchNorm); '
                     'loads as such through timm (`checkpoint_filter_fn` re-parameterises the fresh model), not '
                     'trainable as SMP kernels')
    lines += ['', '## Usage', '', '```python', 'import smpconvnet, timm']
    if deployed:
        lines += ["model = timm.create_model('local-dir:<this folder>', pretrained=True)  # deployed form; "
                  "or 'hf-hub:<org>/<repo>'",
                  "model, source = smpconvnet.load_model('<this folder>')               # the same, and where "
                  "it came from"]
    else:
        lines += ["model = timm.create_model('local-dir:<this folder>', pretrained=True)  # or 'hf-hub:<org>/<repo>'",
                  'model = timm.utils.reparameterize_model(model.eval())   # exact inference form']
    if sequences:
        lines.append("out = model(x)  # x: [B, C, L] normalised as above; a right-padded batch: "
                     "model(x, lengths=lengths)")
    lines += ['```', '']
    if extra:
        lines += [extra, '']
    lines += ['## Citation', '', '```bibtex', CITATION, '```', '']
    return '\n'.join(lines)


def write_model_folder(
        model: torch.nn.Module,
        dst: PathLike,
        card: str,
        model_args: Optional[Dict[str, Any]] = None,
        deployed: bool = False,
        force: bool = False,
        verify: Optional[Callable[[Path], None]] = None,
        extra_config: Optional[Dict[str, Any]] = None,
) -> Path:
    """Write ``model`` as a timm/Hub folder (model.safetensors, config.json, README.md), atomically.

    ``verify(tmp_folder)`` runs on the finished folder before it is renamed into place; it raises to abort.
    """
    from safetensors.torch import save_file
    from timm.models._hub import save_config_for_hf

    dst = Path(dst)
    with atomic_dir(dst, force, foreign=foreign_to_model_folder) as tmp:
        state_dict = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_config_for_hf(model, str(tmp / CONFIG_NAME), model_args=dict(model_args or {}))
        config = json.loads((tmp / CONFIG_NAME).read_text())
        if (config.get('pretrained_cfg') or {}).get('description'):
            # as in the card: the folder may be pushed to the Hub, without the author's directories
            config['pretrained_cfg']['description'] = local_paths_to_names(config['pretrained_cfg']['description'])
        save_file(state_dict, str(tmp / WEIGHTS_NAME), metadata=folder_weights_metadata(
            config, sequence=_MODEL_KINDS.get(type(model).__name__, ('', False))[1]))
        if getattr(model, 'pretrained_cfg', {}).get('interpolation') == '' and 'pretrained_cfg' in config:
            # a sequence model's cfg has no resize: timm's data-config resolution fills in its image default
            config['pretrained_cfg']['interpolation'] = ''
        if getattr(model, 'pretrained_cfg', {}).get('fixed_input_size') and 'pretrained_cfg' in config:
            # a cfg fixed after the model was built (a deployment for one length): timm writes the traits it gave
            # the model at construction
            config['pretrained_cfg']['fixed_input_size'] = True
        if deployed:
            config[DEPLOYED_KEY] = True
        config.update(extra_config or {})
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + '\n')
        (tmp / CARD_NAME).write_text(card, encoding='utf-8')
        if verify is not None:
            verify(tmp)
    return dst


# preprocessing the members of an ensemble must share (they read one input)
_SHARED_CFG_KEYS = ('input_size', 'mean', 'std', 'label_names', 'num_classes')


def write_ensemble_folder(members: Sequence[PathLike], dst: PathLike, card: str = '', force: bool = False) -> Path:
    """Combine the model folders of ``members`` (``model.safetensors`` + ``config.json`` of one SMP-TCN architecture,
    e.g. ``train-seq`` runs of several seeds) into one folder of their ``SMPConvTCNEnsemble``: weights under
    ``members.<i>.`` in the given order, ``config.json`` the first member's with ``num_members`` added to
    ``model_args`` (``timm.create_model('local-dir:DST', pretrained=True)`` builds the ensemble), ``README.md`` =
    ``card`` when given. Written atomically.

    Raises:
        TypeError: ``members`` is one path, not a list of them.
        ValueError: no member, a folder given twice, a folder without weights or config, one that holds an ensemble,
            or members that differ in architecture, data set, model arguments or preprocessing (``pretrained_cfg``
            input size, mean, std, labels; compared as written).
        FileExistsError: ``dst`` exists and not ``force``.
    """
    from safetensors.torch import load_file, save_file
    if isinstance(members, (str, bytes, os.PathLike)):  # a str is a sequence too: of one-letter "folders"
        raise TypeError(f'write_ensemble_folder: members must be a list of member folders, got the single path '
                        f'{members!r}: pass [{os.fsdecode(members)!r}, ...]')
    folders = [Path(m) for m in members]
    if not folders:
        raise ValueError('write_ensemble_folder needs at least one member folder')
    check_destination(dst, force, sources=folders, foreign=foreign_to_model_folder)
    if len({f.resolve() for f in folders}) != len(folders):
        raise ValueError(f'write_ensemble_folder: a folder is given twice ({[str(f) for f in folders]}): members are '
                         f'separately trained models')
    configs = []
    for folder in folders:
        if not (folder / WEIGHTS_NAME).is_file():
            raise ValueError(f'{folder}: no {WEIGHTS_NAME} (a finished train-seq run or model folder was expected)')
        configs.append(read_config(folder))
        if (configs[-1].get('model_args') or {}).get('num_members', 1) != 1:  # (1: the SMP-TCN itself)
            raise ValueError(f'{folder} already holds an ensemble: combine single models')

    def one_model(args):  # num_members=1 (a member run of a registered ensemble) and none recorded: the same model
        return {k: v for k, v in (args or {}).items() if k != 'num_members'}

    first = configs[0]
    for folder, config in zip(folders[1:], configs[1:]):
        for what, a, b in (('architecture', first.get('architecture'), config.get('architecture')),
                           ('dataset', first.get('dataset'), config.get('dataset')),
                           ('model_args', one_model(first.get('model_args')), one_model(config.get('model_args'))),
                           *((f'pretrained_cfg.{k}', (first.get('pretrained_cfg') or {}).get(k),
                              (config.get('pretrained_cfg') or {}).get(k)) for k in _SHARED_CFG_KEYS)):
            if a != b:
                raise ValueError(f'{folder} differs from {folders[0]} in {what} ({b!r} vs {a!r}): an ensemble\'s '
                                 f'members share one architecture and preprocessing')
    config = dict(first, model_args=dict(first.get('model_args') or {}, num_members=len(folders)))
    if config.get('pretrained_cfg'):  # every member's first conv and classifier (timm adapts them on fine-tuning)
        config['pretrained_cfg'] = dict(
            config['pretrained_cfg'], first_conv=[f'members.{i}.blocks.0.conv1.small' for i in range(len(folders))],
            classifier=[f'members.{i}.head' for i in range(len(folders))])
    if any('results' in c for c in configs):  # each member's own (a train-seq run's), not the ensemble's
        config['results'] = {'members': [c.get('results') for c in configs]}
    with atomic_dir(Path(dst), force, foreign=foreign_to_model_folder) as tmp:
        state = {f'members.{i}.{k}': v for i, folder in enumerate(folders)
                 for k, v in load_file(str(folder / WEIGHTS_NAME)).items()}
        save_file(state, str(tmp / WEIGHTS_NAME), metadata=folder_weights_metadata(config))
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + '\n')
        if card:
            (tmp / CARD_NAME).write_text(card, encoding='utf-8')
    return Path(dst)


# ---------------------------------------------------------------------------------------------------------
# smpconvnet/pretrained/ folders of the published ImageNet models (their weights live on the Hub only)

_RELEASE_NOTES = {
    'smpconvnet_t': dict(title='SMPConvNet-T', top1=82.5, drop_path=0.1),
    'smpconvnet_b': dict(title='SMPConvNet-B', top1=83.8, drop_path=0.5),
}


def write_release_folder(name: str, dst: PathLike, force: bool = False) -> Path:
    """Write ``smpconvnet/pretrained/<model>.<tag>/`` for a published ImageNet model: model card, config.json (exactly what
    ``smpconvnet convert`` writes for it) and manifest.sha256 of the files present."""
    import timm
    from ..models import hub_namespace
    from ..profiling import count_macs
    from .hub import write_manifest

    architecture, tag = name.split('.')
    notes = _RELEASE_NOTES[architecture]
    with weights_loaded_after():  # the cfg of the weights released with it
        model = timm.create_model(name).eval()
    n_params = sum(p.numel() for p in model.parameters())
    gmacs = count_macs(model, model.pretrained_cfg['input_size']) / 1e9
    cfg = model.pretrained_cfg
    command = (f'python -c "from smpconvnet.weights.folders import write_release_folder; '
               f"write_release_folder('{name}', 'smpconvnet/pretrained/{name}', force=True)\"")
    card = f"""---
tags:
- image-classification
- timm
- smpconv
library_name: timm
license: mit
datasets:
- imagenet-1k
---
# {notes['title']}, ImageNet-1k (`{name}`)

The authors' ImageNet-1k weights of {notes['title']} (SMPConv, Kim & Park, CVPR 2023), for timm.

## Where the weights are

Not in this repository (too large to commit). `model.safetensors` belongs on the Hugging Face Hub in the repo
`<namespace>/{name}` (default namespace `{hub_namespace()}`; the setting `SMPCONVNET_HUB_NAMESPACE` or
`smpconvnet.set_hub_namespace()` changes it), which is the `hf_hub_id` of the registered pretrained config:
`timm.create_model('{name}', pretrained=True)` downloads it once and loads it from the cache afterwards.
**Not published yet:** this project could not fetch the authors' release, so that repo does not exist until
someone runs the two commands below; until then `pretrained=True` fails with an error naming where it looked.

## How the Hub file is produced

It is the authors' released checkpoint (the {notes['title']} ImageNet-1k checkpoint linked from
https://github.com/sangnekim/SMPConv), converted without changing any value:

```bash
smpconvnet convert <downloaded {notes['title']} checkpoint .pth> {name}
smpconvnet push {name} <namespace>/{name}
```

`convert` recognises {notes['title']} from the tensor shapes, renames the keys to this package's layout (the
point coordinates rotated to its kernel orientation; see `checkpoint_filter_fn`), writes `model.safetensors`,
this `config.json` and a model card recording the SHA-256 of the source file, and verifies the folder by loading
it back through timm and comparing its outputs with those of the network built from the source checkpoint.

## Integrity

This project was built without network access and could not download the authors' release, so the SHA-256 of the
converted `model.safetensors` is not recorded here: `manifest.sha256` lists the files present in this folder.
Whoever publishes the Hub file adds its line (`convert` prints the hash; `sha256sum model.safetensors`) to
`manifest.sha256`; `sha256sum -c --ignore-missing manifest.sha256` then checks a downloaded copy placed here.

## Model details

- **Architecture:** `{architecture}`: kernels {model.large_kernel_sizes}; layers
  {[len(s.blocks) // 2 for s in model.stages]}; channels {[s.blocks[0].pw1.conv.in_channels for s in model.stages]}
- **Parameters:** {n_params:,}; **GMACs:** {gmacs:.2f} at 224x224 (`smpconvnet info {name}`)
- **Resolution:** {cfg['input_size'][1]}x{cfg['input_size'][2]}, {cfg['interpolation']} resize, crop_pct
  {cfg['crop_pct']}, ImageNet mean/std
- **ImageNet-1k top-1:** {notes['top1']} (paper, the authors' measurement at 224x224; not re-measured by this
  project)
- **Training (authors):** 300 epochs, AdamW lr 4e-3 at batch 2048, warm-up 10 epochs, weight decay 0.05, drop path
  {notes['drop_path']}, EMA, RandAugment, mixup 0.8, cutmix 1.0, label smoothing 0.1, random erasing 0.25
- **Licence:** MIT (the authors' SMPConv repository)
- **This folder was written by:** `{command}`

## Usage

```python
import smpconvnet, timm
model = timm.create_model('{name}', pretrained=True).eval()
model = timm.utils.reparameterize_model(model)   # exact inference form
```

## Citation

```bibtex
{CITATION}
```
"""
    from timm.models._hub import save_config_for_hf
    with atomic_dir(Path(dst), force, foreign=foreign_to_model_folder) as tmp:
        save_config_for_hf(model, str(tmp / CONFIG_NAME))
        (tmp / CARD_NAME).write_text(card, encoding='utf-8')
        write_manifest(tmp)
    return Path(dst)
