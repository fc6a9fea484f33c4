"""Where the pretrained weights of every model family come from: the Hugging Face Hub namespace and the weights shipped in
``smpconvnet/pretrained/``.

Every published model tag ``<model>.<tag>`` has ``hf_hub_id = '<namespace>/<model>.<tag>'`` (timm's
convention), where the namespace is the single setting ``SMPCONVNET_HUB_NAMESPACE`` (environment variable,
read when smpconvnet is imported; default ``smpconvnet``); ``set_hub_namespace(org)`` changes it after import
and re-points every registered pretrained config. Weights this project ships (small sequence
models) also live in ``smpconvnet/pretrained/<model>.<tag>/model.safetensors`` (in the wheel and sdist too); when that file exists
the pretrained config points at it (timm prefers ``file`` over ``hf_hub_id``), so they load offline with an
empty Hub cache.
"""
import contextlib
import contextvars
import dataclasses
import json
import os
import re
import shlex
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from ._checkpoint import (
    FILTER_ERROR_PREFIXES, cached_hub_file, check_recorded_architecture, folder_weights_file, is_project_model,
    is_unsuffixed_safetensors, model_folder_of, probe_weights_file, read_error_message, recorded_args_metadata,
    recorded_metadata_adaptation, recorded_metadata_length, recorded_metadata_stated_against, recorded_model_hint,
    training_record, command_line_value, command_in_progress, model_kwargs_option)

__all__ = [
    'DEFAULT_HUB_NAMESPACE', 'WEIGHTS_DIR', 'hub_namespace', 'hub_id', 'weight_source_cfg', 'set_hub_namespace',
    'shipped_weights_file', 'cached_hub_file', 'weights_location', 'is_published', 'PretrainedWeightsNotFoundError',
    'explain_missing_weights', 'missing_weights_message', 'WEIGHTS_FILENAME', 'HUB_NAMESPACE_ENV', 'is_project_model',
    'is_weight_source_error', 'local_weights_file', 'check_pretrained_record', 'cfg_model_defaults', 'overlay_sources',
    'tagged_name', 'say_if_random', 'say_weights_loaded', 'say_checkpoint_loaded', 'say_saved_weights',
    'said_other_weights', 'said_random', 'weights_loaded_after', 'new_classifier_note',
    'NOT_RECORDED', 'trained_at', 'said_trained_length', 'say_deployment_length', 'deployment_description',
    'say_weights_adapted', 'adapted_channels_note', 'adapted_channels_rule', 'with_note', 'describes_trained_weights',
    'file_overlay_first',
    'trained_from_description', 'with_classifier_note', 'describe_weights', 'with_build_notes', 'with_channels',
    'recorded_trained_length', 'cfg_trained_length', 'with_num_classes', 'weights_channels', 'adapted_from_channels',
    'tag_in_chans_option', 'folder_weights_metadata', 'length_not_recorded_note', 'said_length_not_recorded',
    'without_length_not_recorded', 'length_stated_note', 'stated_length_option', 'stated_length_contradiction',
    'without_length_stated', 'with_length_not_recorded', 'say_saved_adaptation', 'adapted_back_message',
    'said_contradicted_length', 'recorded_stated_against', 'model_kwargs_option', 'adapted_via_channels',
]

DEFAULT_HUB_NAMESPACE = 'smpconvnet'
HUB_NAMESPACE_ENV = 'SMPCONVNET_HUB_NAMESPACE'
_NAMESPACE_WARNINGS: dict = {}  # warnings.warn_explicit's once-per-message registry

# the weights shipped inside the package (smpconvnet/pretrained/<model>.<tag>/: in a checkout, a wheel, an sdist)
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / 'pretrained'
WEIGHTS_FILENAME = 'model.safetensors'
# timm's fallback where a Hub repo has no model.safetensors (load_state_dict_from_hf's default file name)
_HUB_PICKLE_FILENAME = 'pytorch_model.bin'


def hub_namespace() -> str:
    """The Hub organisation or user that hosts this project's weights."""
    if _namespace_override:
        return _namespace_override
    value = os.environ.get(HUB_NAMESPACE_ENV, '').strip().strip('/')
    if value:
        # read at import (the registered cfgs): a bad value is said there, naming the variable (huggingface_hub's
        # repo-id error came later and did not), and not used
        try:
            _check_namespace(value, f'{HUB_NAMESPACE_ENV}={value!r}')
        except ValueError as e:
            # attributed to the variable: read while the package registers its models, there is no line of the
            # caller's to show (a stack level showed one of this package's); once per message, as a warning at one
            # place is
            warnings.warn_explicit(f'{str(e).rstrip(".")}; it is ignored and the default namespace '
                                   f'{DEFAULT_HUB_NAMESPACE!r} is used', UserWarning,
                                   filename=f'<environment variable {HUB_NAMESPACE_ENV}>', lineno=0,
                                   module='smpconvnet', registry=_NAMESPACE_WARNINGS)
            value = ''
    return value or DEFAULT_HUB_NAMESPACE


def _check_namespace(namespace: str, what: str):
    from huggingface_hub.utils import validate_repo_id
    if not namespace or '/' in namespace:
        raise ValueError(f'{what}: invalid Hub namespace, expected a user or organisation name, no "/"')
    try:
        validate_repo_id(f'{namespace}/model')
    except Exception:  # noqa: BLE001  (huggingface_hub's validation error, whose text quotes a made-up repo id)
        raise ValueError(f'{what}: invalid Hub namespace, expected a user or organisation name (letters, digits, '
                         f'"-", "_", "."; not starting or ending with "-" or ".")') from None


def hub_id(model_name: str, tag: str) -> str:
    return f'{hub_namespace()}/{model_name}.{tag}'


def shipped_weights_file(model_name: str, tag: str) -> Path:
    return WEIGHTS_DIR / f'{model_name}.{tag}' / WEIGHTS_FILENAME


# tags whose Hub repos this project has not published (yet) under its default namespace
_UNPUBLISHED = set()


def weight_source_cfg(model_name: str, tag: str, published: bool = True) -> Dict[str, Any]:
    """Keys to merge into a ``default_cfgs`` entry so that ``pretrained=True`` finds the weights. ``published=False``:
    the Hub repo does not exist under the default namespace yet (errors and ``smpconvnet list`` say so)."""
    if not published:
        _UNPUBLISHED.add(f'{model_name}.{tag}')
    # safetensors only: timm then never falls back to pickled files
    cfg: Dict[str, Any] = {'hf_hub_id': hub_id(model_name, tag), 'hf_hub_filename': WEIGHTS_FILENAME}
    local = shipped_weights_file(model_name, tag)
    if local.is_file():
        cfg['file'] = str(local)
    return cfg


# ---------------------------------------------------------------------------------------------------------
# Changing the namespace after import

_namespace_override: Optional[str] = None


def set_hub_namespace(namespace: Optional[str]) -> str:
    """Point every registered smpconvnet pretrained config at ``<namespace>/<model>.<tag>`` (returns it).

    ``None`` goes back to ``SMPCONVNET_HUB_NAMESPACE`` / the default. Only configs whose ``hf_hub_id`` is
    the project's own (``<old namespace>/<model>.<tag>``) change; a cfg passed per call is never touched.
    """
    global _namespace_override
    from timm.models._registry import _model_default_cfgs, _model_pretrained_cfgs

    if namespace is not None:
        namespace = namespace.strip().strip('/')
        _check_namespace(namespace, f'set_hub_namespace({namespace!r})')
    old = hub_namespace()
    _namespace_override = namespace
    new = hub_namespace()

    def moved(cfg):
        if not is_project_model(cfg.architecture) or not cfg.tag:
            return cfg
        if cfg.hf_hub_id != f'{old}/{cfg.architecture}.{cfg.tag}':
            return cfg
        return dataclasses.replace(cfg, hf_hub_id=f'{new}/{cfg.architecture}.{cfg.tag}')

    for name, cfg in list(_model_pretrained_cfgs.items()):
        _model_pretrained_cfgs[name] = moved(cfg)
    for arch, default_cfg in _model_default_cfgs.items():
        if is_project_model(arch):
            for tag, cfg in list(default_cfg.cfgs.items()):
                default_cfg.cfgs[tag] = moved(cfg)
    return new


# ---------------------------------------------------------------------------------------------------------
# Where weights are, and a clear error when they are not

def tagged_name(pretrained_cfg: Dict[str, Any]) -> Optional[str]:
    """``architecture.tag`` of the weights a pretrained cfg names (what ``timm.create_model`` takes to load them), or
    None where the cfg names no tag (random, adapted or custom weights), or says its model holds other weights
    (``said_other_weights``: a file's, a folder's saved from one; trial 69c: a hint scored the tag for them)."""
    if pretrained_cfg.get('architecture') and pretrained_cfg.get('tag') and not said_other_weights(pretrained_cfg):
        return f"{pretrained_cfg['architecture']}.{pretrained_cfg['tag']}"
    return None


def say_if_random(model: Any, pretrained: bool, kwargs: Dict[str, Any]) -> Any:
    """``model`` (in place), whose pretrained cfg says so in its ``description`` where it was built with
    ``pretrained=False``: a registered tag's cfg, or a folder's or Hub repo's (``local-dir:`` / ``hf-hub:``, whose
    cfg timm passes whole). An overlay with a description is the caller's; this package's loaders, which build so and
    then load the weights the cfg describes, build under ``weights_loaded_after()``.

    timm keeps a random model's pretrained cfg as the weights' (its data config: input size, normalisation, labels),
    and ``timm.models.save_for_hf`` / ``push_to_hf_hub`` write it: the cfg's description of the trained weights then
    read as the saved model's (a model card called random weights "GunPoint"). The tag and every other field stay, as
    for timm's own models. A features_only wrapper and the model it holds both say it. Weights loaded later with
    ``load_state_dict`` cannot be seen here (the description says so); timm's ``checkpoint_path=`` is
    (``say_weights_loaded``)."""
    overlay = kwargs.get('pretrained_cfg_overlay') or {}
    if 'description' in overlay or _WEIGHTS_LOADED_AFTER.get():
        return model
    if pretrained:
        if overlay.get('file'):  # timm's way to give a model other weights: those, not the tag's (trial 60)
            say_weights_loaded(model, f"{overlay['file']} (pretrained_cfg_overlay file=)", trained=True)
            say_saved_adaptation(model, overlay['file'])
        return model
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if not isinstance(cfg, dict) or (cfg.get('description') or '').startswith(_RANDOM_PREFIX):
            continue
        # the weights not loaded: a folder's or Hub repo's (timm's local-dir: / hf-hub: cfg), or a tag's with weights
        # (an 'untrained' tag has none: its cfg describes the data it is configured for)
        name = _source_name(cfg)
        if name is None:
            has_weights = any(cfg.get(k) for k in ('hf_hub_id', 'file', 'url', 'state_dict'))
            name = tagged_name(cfg) if has_weights else None
        registered = _registered_part(cfg.get('description') or '')
        description = _RANDOM_PREFIX + ': initialised at random' + (
            f', not with the weights of {name}' if name else '') + ' (weights loaded into it since are not recorded ' \
            'here)' + (f'{_TAG_DESCRIPTION}{registered}' if registered else '')
        # default_cfg too: timm's alias of it, which its ONNX export reads
        module.pretrained_cfg = module.default_cfg = dict(cfg, description=description)
    return model


def _registered_part(said: str) -> str:
    # of a description that says whose weights its model holds (random, a file's, a folder's saved from random), the
    # description of the cfg it wraps, unwrapped as often as it was wrapped: one source said, not "from A; ... from B"
    while said.startswith(_SAYS_WHOSE) and _TAG_DESCRIPTION in said:
        said = said.partition(_TAG_DESCRIPTION)[2]
    return '' if said.startswith(_SAYS_WHOSE) else said


def _source_name(cfg: Dict[str, Any]) -> Optional[str]:
    # the folder or Hub repo timm's local-dir: / hf-hub: cfg loads its weights from
    if cfg.get('source') == 'local-dir' and cfg.get('file'):
        return str(cfg['file'])
    if cfg.get('source') == 'hf-hub' and cfg.get('hf_hub_id'):
        return f"hf-hub:{cfg['hf_hub_id']}"
    return None


def say_saved_weights(model: Any, pretrained: bool, kwargs: Dict[str, Any]) -> Any:
    """``model`` (in place), loaded with ``pretrained=True`` from a folder or Hub repo (timm's ``local-dir:`` /
    ``hf-hub:``) whose cfg's description says what the model it was saved from held when it was built (timm's
    ``save_for_hf`` keeps it as it is): built with ``pretrained=False`` (``say_if_random``), with a file's weights
    (``checkpoint_path=``, an overlay's ``file=``: ``say_weights_loaded``; or from another such folder), or with a
    new classifier (``new_classifier_note``). The weights are the folder's, trained in place since or not, which
    nothing recorded: said so (``NOT_RECORDED``: ``describes_trained_weights`` is False; the note: trained since or
    not), not "random", "from gp.safetensors" or "classifier initialised at random": a model trained after any of
    these and saved so was described by them in ``info``, ``reparam``'s and ``push``'s cards (trials 65, 66). A
    family's builder calls it once, on the model timm built, before any note of its own build (a new classifier now)
    is added; an overlay's file or description is the caller's (``say_if_random``)."""
    overlay = kwargs.get('pretrained_cfg_overlay') or {}
    if not pretrained or overlay.get('file') or 'description' in overlay:
        return model
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        name = _source_name(cfg) if isinstance(cfg, dict) else None
        if name is None:
            continue
        said = cfg.get('description') or ''
        head = said.partition(_TAG_DESCRIPTION)[0]
        loaded = _LOADED_AT_BUILD.match(said)
        random_loaded = _LOADER_RANDOM.match(said)
        if said.startswith(_RANDOM_PREFIX):
            built = 'pretrained=False'
        elif random_loaded:  # (load_model's wording; a command's folder of random weights says "not trained")
            built = random_loaded.group(0)
        elif loaded:
            built = loaded.group(0)
        elif head.startswith(f'{NOT_RECORDED}{_WEIGHTS_FROM}') and _SAVED_FROM in head:  # (a folder saved from one)
            built = _WEIGHTS_FROM + head[len(NOT_RECORDED + _WEIGHTS_FROM):].partition(_SAVED_FROM)[0]
        else:
            built = None
        # what follows whose weights it held: the cfg's description, or the build's notes alone where the cfg had
        # none (trial 66c: "weights from W (pretrained_cfg_overlay file=); classifier ..." was kept as it was)
        notes = said[loaded.end():] if loaded and not said[loaded.end():].startswith(_TAG_DESCRIPTION) else ''
        registered = notes[2:] if notes.startswith('; ') else '' if random_loaded else \
            _registered_part(said) if built else said
        for at_build, saved in _NOTES_AT_BUILD:
            registered = at_build.sub(saved, registered)
        if built:
            description = f'{NOT_RECORDED}{_WEIGHTS_FROM}{name}{_SAVED_FROM}{built}{_NOTHING_SINCE}' + (
                f'; {registered}' if notes and registered else f'{_TAG_DESCRIPTION}{registered}' if registered else '')
        elif registered != said:
            description = registered
        else:
            continue
        module.pretrained_cfg = module.default_cfg = dict(cfg, description=description)
    return model


def _unbuilt(said: str) -> str:
    # a description without what training changes: a classifier said new (trained now), a deployment length with its
    # trained one (trained at the cfg's input size now: trial 66b, a card said 150 of a model fine-tuned at 300)
    # (and a saved folder's "trained since or not": trained, said now; trial 66c)
    # (a trained length not recorded: trained at the data's now)
    return without_length_not_recorded(_SEQ_LEN_NOTE.sub('', _ANY_CLASSIFIER_NOTE.sub('', said))).replace(
        _SINCE_SAVED, '').lstrip('; ')


def trained_from_description(cfg: Dict[str, Any]) -> str:
    """The description of weights trained from those a pretrained cfg describes (fine-tuned, or trained from a
    model built at random): "trained from random initialisation", "trained from the weights of TAG: ..." or "trained
    from weights described as: ...", without the note that the classifier is new and random (trained too now).
    ``smpconvnet.weights.folders.retrained_cfg`` gives it where no description is given: the build's description
    (a new classifier "initialised at random") was written to a fine-tuned folder's config.json (trial 66)."""
    said = cfg.get('description') or ''
    if said_random(cfg):
        # (the cfg's own description, where the random one wraps it: say_if_random's; a loader's has none)
        registered = _unbuilt(_registered_part(said)) if said.startswith(_RANDOM_PREFIX) else ''
        return 'trained from random initialisation' + (f'{_TAG_DESCRIPTION}{registered}' if registered else '')
    said = _unbuilt(said)
    name = tagged_name(cfg)
    if name and not said.startswith(_SAYS_WHOSE):
        return f'trained from the weights of {name}' + (f': {said}' if said else '')
    return f'trained from weights described as: {said}' if said else 'trained from weights its cfg does not describe'


def said_other_weights(cfg: Dict[str, Any]) -> bool:
    """Whether a pretrained cfg's description says its model holds other weights than its tag's: loaded from a file
    (``say_weights_loaded``), saved from a model built at random (``say_saved_weights``), random ones
    (``said_random``), or a bare file's (``NOT_RECORDED``). Such a model is not headed with its cfg's tag."""
    return (cfg.get('description') or '').startswith(_SAYS_WHOSE) or said_random(cfg)


def say_checkpoint_loaded(model: Any, source: str, weights_chans: Optional[int] = None,
                          path: Optional[Union[str, Path]] = None) -> None:
    """``say_weights_loaded`` for a checkpoint loaded over whatever ``model`` held, strictly (timm's
    ``checkpoint_path=``, a timm script's ``--checkpoint``): the file's weights, its classifier included; a first
    layer adapted to the model's input channels from the file's ``weights_chans`` said so (``adapted_channels_note``,
    as for the other routes: trial 68 F), after what the file ``path`` records of an adaptation before it was saved
    (``say_saved_adaptation``)."""
    say_weights_loaded(model, source, trained=True, classifier_loaded=True)
    if path is not None:
        say_saved_adaptation(model, path)
    for module in model.modules():
        cfg, chans = getattr(module, 'pretrained_cfg', None), getattr(module, 'in_chans', None)
        if isinstance(cfg, dict) and isinstance(chans, int) and weights_chans and weights_chans != chans:
            module.pretrained_cfg = module.default_cfg = dict(cfg, description=with_note(
                cfg.get('description') or '', adapted_channels_note(chans, weights_chans)))


def say_saved_adaptation(model: Any, path: Union[str, Path]) -> None:
    """Where the weight file ``path`` loaded into ``model`` records that its first layer was adapted from other
    weights' channels before it was saved (``recorded_metadata_adaptation``), its description says so, as a folder
    saved so does (``_NOTES_AT_BUILD``), before any note of this build's own adaptation: the hints and checks that read
    a folder's (``adapted_from_channels``) read a copy of its file alike (trial 69 F3: refused on the 1-channel series
    the 2-channel copy was adapted from, with no way on)."""
    adaptation = recorded_metadata_adaptation(path)
    if adaptation is None:
        return
    chans, adapted, via = adaptation
    # (through fewer channels first: both steps, as the folder's two notes say them)
    steps = [(via, adapted), (chans, via)] if via else [(chans, adapted)]
    notes = [f"first layer adapted before these weights were saved ({to} input channels from the weights' {source})"
             + _SINCE_SAVED for to, source in steps]
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if isinstance(cfg, dict) and _ADAPTED_NOTE.search(cfg.get('description') or '') is None:
            said = cfg.get('description') or ''
            for note in notes:
                said = with_note(said, note)
            module.pretrained_cfg = module.default_cfg = dict(cfg, description=said)


def say_weights_loaded(model: Any, source: str, trained: bool = False, classifier_loaded: bool = False) -> None:
    """Where ``say_if_random`` said ``model``'s weights are random, say they are ``source``'s: weights loaded after
    the build (timm's ``create_model(..., checkpoint_path=)`` builds with pretrained=False, then loads the file).
    ``trained``: the model was built with other weights than its cfg's (an overlay's file), or the file was loaded
    over them (``checkpoint_path=`` with ``pretrained=True``, timm's ``train.py --pretrained --initial-checkpoint``):
    said whatever its description was. ``classifier_loaded``: the file's classifier too (a strict load), so a note
    that the classifier is new is dropped."""
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if not isinstance(cfg, dict):
            continue
        said = cfg.get('description') or ''
        if trained or said.startswith(_RANDOM_PREFIX):
            registered = _registered_part(said)
            if classifier_loaded:
                # the file's classifier and first layer (trial 65: "classifier new, initialised at random" for a
                # 3-class file loaded with num_classes=3; trial 67c: "first layer adapted" likewise), whose class
                # count and channels the cfg states (as the loader's does)
                registered = _ADAPTED_NOTE.sub('', _ANY_CLASSIFIER_NOTE.sub('', registered)).lstrip('; ')
                cfg = _with_model_io(cfg, module)
            module.pretrained_cfg = module.default_cfg = dict(
                cfg, description=f'{_WEIGHTS_FROM}{source}' + (f'{_TAG_DESCRIPTION}{registered}' if registered else ''))


def _with_model_io(cfg: Dict[str, Any], module: Any) -> Dict[str, Any]:
    # cfg with the class count and input channels of the model (a file loaded into it strictly has them)
    classes, chans = getattr(module, 'num_classes', None), getattr(module, 'in_chans', None)
    if isinstance(classes, int) and classes > 0 and cfg.get('num_classes') != classes:
        cfg = with_num_classes(cfg, classes)
    return with_channels(cfg, chans) if isinstance(chans, int) else cfg


def with_num_classes(cfg: Dict[str, Any], classes: Optional[int]) -> Dict[str, Any]:
    """``cfg`` for a classifier of ``classes`` classes (None: as it says): ``num_classes`` set, and ``label_names`` of
    another count dropped (they name another classifier's outputs)."""
    cfg = dict(cfg) if classes is None else dict(cfg, num_classes=classes)
    labels = cfg.get('label_names')
    if labels is not None and cfg.get('num_classes') is not None and len(labels) != cfg['num_classes']:
        cfg.pop('label_names')
    return cfg


def new_classifier_note(classes: int, trained_classes: int) -> str:
    """What a description adds for a classifier of another size than the weights' (timm's fine-tuning idiom): one
    wording, so that a description that says it already is not told twice."""
    return f"classifier new, initialised at random ({classes} classes; the weights' had {trained_classes})"


def with_classifier_note(description: str, classes: int, trained_classes: int) -> str:
    """``description`` with ``new_classifier_note`` in place of any note of an earlier classifier (built new, or
    built new before a folder's weights were saved): the classifier it spoke of is gone."""
    kept = _ANY_CLASSIFIER_NOTE.sub('', description or '').lstrip('; ')
    return with_note(kept, new_classifier_note(classes, trained_classes))


def weights_channels(cfg: Dict[str, Any]) -> Optional[int]:
    """The input channels of the weights a pretrained cfg describes: those its description's
    ``adapted_channels_note`` names (its input size states the model's, adapted, channels), else its input size's;
    None where it has neither."""
    found = _ADAPTED_NOTE.search(cfg.get('description') or '')
    if found and found.group('weights'):
        return int(found.group('weights'))
    return int(cfg['input_size'][0]) if cfg.get('input_size') else None


def adapted_from_channels(cfg: Dict[str, Any]) -> Optional[int]:
    """The input channels of the weights a first layer was first adapted from, where the description says so (as the
    model was built, ``adapted_channels_note``, or before a folder's weights were saved): those of the weights its
    tag or source holds; None where it says nothing of it. (``weights_channels`` of a saved folder gives the saved
    weights' own count.)"""
    found = _ADAPTED_NOTE.search(cfg.get('description') or '')
    return int(found.group('weights') or found.group('saved')) if found else None


def tag_in_chans_option(cfg: Dict[str, Any], chans: int) -> str:
    """The command-line option that builds a cfg's tag (``tagged_name``) for ``chans`` input channels where its first
    layer was adapted from the tag's (``adapted_from_channels``): `` --model-kwargs in_chans=N``, else ''. A hint that
    names the tag as the training form of an adapted model needs it (trial 68c F3: it deployed the 1-channel tag
    for 3 channels, which it refuses)."""
    adapted = adapted_from_channels(cfg)
    return f' --model-kwargs in_chans={chans}' if adapted and adapted != chans else ''


def adapted_back_message(name: str, cfg: Dict[str, Any], chans: int, outcome: str) -> Optional[str]:
    """Where ``name``'s first layer, of ``chans`` input channels, was adapted to others from weights of as many and
    back (a folder saved so, loaded with ``in_chans=``; ``adapted_from_channels``), what a command that scores,
    deploys or exports it warns, ``outcome`` saying what is then not the weights it was adapted from (trial 69 F1:
    scored 0.3973 for 0.9838 without a word; 69b (c)1: deployed and exported so); None otherwise. timm's rule gives
    back weights of 1 channel only."""
    if adapted_from_channels(cfg) != chans or chans == 1:
        return None
    # (trial 70b: 12 to 24 or 20 and back gives the weights back, as measured, timm's rule repeating the channels; on a
    # file's route the normalisation is the tag's own, and the score was the tag's. Fewer channels drop some)
    via = adapted_via_channels(cfg)
    # (timm's rule sums the channels into 1, and keeps the first ones for other fewer channels)
    reasons = ([f"adapted to 1 channel, its first layer summed the weights' {chans} into one" if via == 1 else
                f"adapted to {via} channels, its first layer lost {chans - via} of the weights' {chans}"]
               if via and via < chans else []) + (
        ['their per-channel normalisation was averaged'] if _averaged(cfg.get('mean'), chans)
        and _averaged(cfg.get('std'), chans) else [])
    if not reasons:
        return None
    return (f"{name}'s first layer was adapted from weights of {chans} channels to others and back (its description "
            f"says so): {' and '.join(reasons)}, so {outcome}")


def adapted_via_channels(cfg: Dict[str, Any]) -> Optional[int]:
    """The fewest input channels a first layer was adapted to before its weights were saved, where the description
    says it was adapted more than once (``adapted_from_channels``' weights, then these, then others): what it went
    through, whose fewer channels dropped the rest (trial 71: 12 to 6 to 24 and back to 12 had said 24); else None."""
    steps = [int(found.group('saved_to')) for found in _ADAPTED_NOTE.finditer(cfg.get('description') or '')
             if found.group('saved_to')]
    return min(steps) if steps else None


def _averaged(values: Any, chans: int) -> bool:
    # per-channel values all equal for several channels: what adapting a cfg to other channels leaves (with_channels)
    return isinstance(values, (list, tuple)) and len(values) == chans > 1 and len(set(values)) == 1


# how an adapted first layer's note opens what timm's rule computes (with_note: one note in any wording of it)
_RULE_WORDS = "timm's rule: "
_RULE_OPENING = ' (' + _RULE_WORDS


def adapted_channels_note(chans: int, trained: int) -> str:
    """What a description adds for a first layer adapted to other input channels than the weights' (``in_chans=``):
    one wording, so that a description that says it already is not told twice."""
    return (f"first layer adapted to {chans} input channels from the weights' {trained} "
            f"({adapted_channels_rule(chans, trained)})")


def adapted_channels_rule(chans: int, trained: int) -> str:
    """What timm's rule makes of a first layer of ``trained`` input channels adapted to ``chans``
    (``adapt_input_channels``), as ``adapted_channels_note`` says it in parentheses: "timm's rule: ..."."""
    # (what the adapted layer computes, exactly: trial 71b #8 read "exact for 1 or a multiple of 6" of a 6 -> 12
    # repeat as the trained network's outputs, which it gives only for inputs that repeat its channels)
    if chans == 1:
        rule = (f"the weights' {trained} channels summed, so it responds as the trained network to the input "
                f"repeated on its {trained} channels")
    elif chans % trained == 0:
        copies = chans // trained
        rule = (f"the weights' {trained} channel{'s' * (trained != 1)} repeated {copies} times and scaled by "
                f"1/{copies}, so it responds as the trained network to the mean of "
                + (f"the {chans} channels" if trained == 1 else f"each channel's {copies} copies"))
    elif chans < trained:
        rule = (f"the first {chans} of the weights' {trained} channels kept and scaled by {trained}/{chans}, so it "
                f"responds as the trained network to them so scaled with its other {trained - chans} at zero")
    else:
        rule = (f"the weights' {trained} channels repeated cyclically, the first {chans} kept and scaled by "
                f"{trained}/{chans}: an approximation of the trained network")
    return _RULE_WORDS + rule


def with_channels(cfg: Dict[str, Any], chans: int) -> Dict[str, Any]:
    """``cfg`` for ``chans`` input channels: ``input_size``'s first entry, and ``mean`` / ``std`` of another count
    replaced by their mean (as timm's data config takes them), also where ``input_size`` has them already (a model
    created with ``seq_len=``: trial 67d, a one-entry mean beside 3 channels)."""
    size = cfg.get('input_size')
    if not size:
        return cfg
    update = {} if size[0] == chans else {'input_size': (chans, *size[1:])}
    for key in ('mean', 'std'):
        value = cfg.get(key)
        if isinstance(value, (list, tuple)) and value and len(value) != chans:
            update[key] = (sum(value) / len(value),) * chans
    return dict(cfg, **update) if update else cfg


def with_build_notes(description: str, built: str, classifier: bool = True,
                     adapted: Optional[bool] = None) -> str:
    """``description`` with the notes of a build that ``built`` (the description the build gave) ends with: a
    deployment length and its trained one (``deployment_description``), a new classifier (``new_classifier_note``)
    and an adapted first layer (``adapted_channels_note``); the last two not where ``classifier`` is False (a file
    loaded strictly since replaced both), the last as ``adapted`` says where given (the strict load's own note). For
    a loader that says whose weights a model holds in its own words: its words had replaced the notes (trial 67:
    evaluate-seq of an overlay's file with seq_len=200 scored it at 200, not its trained 150: 0.56 against 1.0)."""
    adapted = classifier if adapted is None else adapted
    notes = [_SEQ_LEN_NOTE, _LENGTH_NOT_RECORDED, _LENGTH_STATED] + ([_ANY_CLASSIFIER_NOTE] if classifier else []) + (
        [_ADAPTED_NOTE] if adapted else [])
    found = sorted((m.start(), m.group(0).lstrip('; ')) for pattern in notes for m in pattern.finditer(built or ''))
    for _, note in found:
        description = with_note(description, note)
    return description


def with_note(description: str, note: str) -> str:
    """``description`` with ``note`` added (``'; '`` between), where it does not say it already (a model deployed
    from one whose builder said it is not told twice)."""
    if not description:
        return note
    # (an adapted first layer's note is the same note in any wording of timm's rule: an older folder's says it)
    said = note.split(_RULE_OPENING)[0] + _RULE_OPENING if _RULE_OPENING in note else note
    return description if said in description else f'{description}; {note}'


def say_weights_adapted(model: Any, pretrained: bool, kwargs: Dict[str, Any], classifier: bool = True,
                        weights_chans: Optional[int] = None, new_classifier: bool = False) -> Any:
    """``model`` (in place), whose pretrained cfg's description says where it was built with trained weights
    (``pretrained=True``, or by this package's loaders) and adapted from them: a classifier of another size than
    theirs (``num_classes=``, timm's fine-tuning idiom: initialised at random; ``new_classifier_note``; not of a
    features_only model, nor where ``classifier`` is False: the SMP-TCN's builder says it with its labels) and a first
    layer for other input channels (``in_chans=``; ``adapted_channels_note``). Cards and config.json written from it
    (push_model, timm's save_for_hf) had described the weights alone; reparam said both. ``weights_chans``: the
    input channels of the first layer of the weights loaded, where the build saw them (an overlay's file may have
    others than its cfg states), else the cfg's. ``new_classifier``: the cfg forced a new classifier
    (``settle_new_classifier``), said whatever the weights' count. An overlay's description is the caller's, as
    ``say_if_random`` leaves it, with these notes added (trial 67b: the first layer's went unsaid there, the SMP-TCN's
    classifier's not)."""
    if not (pretrained or _WEIGHTS_LOADED_AFTER.get()):
        return model
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if not isinstance(cfg, dict) or said_random(cfg):  # (a cfg without description gets the notes alone)
            continue
        # (in place: timm's default_cfg is this dict)
        classes, trained_classes = getattr(module, 'num_classes', None), cfg.get('num_classes')
        if classifier and module is model and not kwargs.get('features_only') and isinstance(classes, int) \
                and classes > 0 and (new_classifier or trained_classes and trained_classes != classes):
            cfg['description'] = with_classifier_note(cfg.get('description'), classes, trained_classes)
        chans = getattr(module, 'in_chans', None)
        trained_chans = weights_chans or (int(cfg['input_size'][0]) if cfg.get('input_size') else None)
        if isinstance(chans, int) and trained_chans and trained_chans != chans:
            cfg['description'] = with_note(cfg.get('description') or '', adapted_channels_note(chans, trained_chans))
            # its data config for the adapted layer's channels too (trial 68b: local-dir: with in_chans=3 kept a
            # 1-channel input size, which timm's data config builds inputs from)
            cfg.update(with_channels(cfg, chans))
        elif isinstance(chans, int) and weights_chans == chans:
            # weights of the model's channels, loaded unchanged, where the cfg states others (an overlay's 3-channel
            # file over a 1-channel tag): the cfg states theirs, which what reads it (reparam's own check, timm's
            # data config) takes for the trained ones (trial 67d #7: "first layer adapted to 3 input channels from
            # the weights' 1" in reparam's folder, and evaluate-seq's hint for in_chans asked for 1)
            cfg.update(with_channels(cfg, chans))
    return model


def describe_weights(model: Any, pretrained: bool, kwargs: Dict[str, Any], classifier: bool = True,
                     weights_chans: Optional[int] = None, new_classifier: bool = False) -> Any:
    """A family builder's last step, ``model`` (in place) described: whose weights it holds (``say_if_random``),
    then what its build adapted of them (``say_weights_adapted``), in that order, so that the notes follow the
    weights' source (trial 66b: "the description of its cfg" named a new classifier's note where the cfg had no
    description). A folder's description is read before (``say_saved_weights``, before the build's own notes)."""
    return say_weights_adapted(say_if_random(model, pretrained, kwargs), pretrained, kwargs, classifier=classifier,
                               weights_chans=weights_chans, new_classifier=new_classifier)


def describes_trained_weights(cfg: Dict[str, Any]) -> bool:
    """Whether a pretrained cfg describes weights that were trained as it says: not where its description says they
    are random (``said_random``) or that their data config was assumed (a weight file that names no model:
    ``NOT_RECORDED``)."""
    return not said_random(cfg) and not (cfg.get('description') or '').startswith(NOT_RECORDED)


def said_random(cfg: Dict[str, Any]) -> bool:
    """Whether a pretrained cfg's description says its model's weights are random: built with pretrained=False
    (``say_if_random``), or by this package's loaders so ('random weights ...')."""
    return (cfg.get('description') or '').startswith((_RANDOM_PREFIX, 'random weights'))


def recorded_trained_length(path: Union[str, Path]) -> Optional[int]:
    """The length (steps) a sequence model's weight file ``path`` records it was trained at: where the ``config.json``
    of its model folder (a train-seq run, a saved folder) describes trained weights, their length
    (``cfg_trained_length``); else the one a training checkpoint records (its ``training_record``'s data config), or
    its safetensors metadata (``recorded_metadata_length``: this project's folders write it); None where it records
    none (trial 67c: a file trained at 300 loaded with checkpoint_path= and seq_len=300 was said trained at its cfg's
    150, and scored 0.52 for 0.95). Not its recorded model arguments' ``seq_len``: a deployment length (trial 68 A: a
    run created with seq_len=300 trains at its data's 150; a copy of its file was scored at 300, 0.4933 for 0.9533).
    Each record is read only where those before it say nothing."""
    cfg = _folder_pretrained_cfg(path)
    length = cfg_trained_length(cfg) if cfg else None
    if length:
        return length
    # (a training checkpoint's own record: trial 67d, a run trained at 300 without seq_len=)
    training = training_record(path)
    length = cfg_trained_length(training.pretrained_cfg) if training.pretrained_cfg else None
    return length or recorded_metadata_length(path)


def recorded_stated_against(path: Union[str, Path]) -> Optional[int]:
    """The trained length a sequence model's weight file ``path`` records its weights had where another was stated
    against it (``length_stated_note``'s ``recorded``): its model folder's ``config.json`` says so, else its safetensors
    metadata (``recorded_metadata_stated_against``); None otherwise."""
    cfg = _folder_pretrained_cfg(path)
    if cfg and cfg_trained_length(cfg):
        return said_contradicted_length(cfg)
    return recorded_metadata_stated_against(path)


def _folder_pretrained_cfg(path: Union[str, Path]) -> Optional[Dict[str, Any]]:
    # the pretrained_cfg of the config.json of the model folder a weight file lies in, where it has a readable one
    folder = model_folder_of(path)
    if folder is None:
        return None
    try:
        cfg = json.loads((folder / 'config.json').read_text(encoding='utf-8')).get('pretrained_cfg')
    except (OSError, ValueError, AttributeError):
        return None
    return cfg if isinstance(cfg, dict) else None


def cfg_trained_length(cfg: Dict[str, Any]) -> Optional[int]:
    """The length (steps) a sequence model's weights were trained at, where its pretrained cfg gives one: the one its
    description names where the model was created for another deployment length (``seq_len``, which its input size
    follows; also in a description whose data config was assumed, ``NOT_RECORDED``: the note is said only from a
    record, trial 68b: a bare copy's 150 was lost by reparam and push_model), else, where it describes trained
    weights (``describes_trained_weights``), its input size's; None otherwise (random weights)."""
    if said_random(cfg) or not cfg.get('input_size') or said_length_not_recorded(cfg) is not None:
        return None
    said = said_trained_length(cfg)
    return said or (int(cfg['input_size'][-1]) if describes_trained_weights(cfg) else None)


def folder_weights_metadata(config: Dict[str, Any], sequence: bool = True) -> Optional[Dict[str, str]]:
    """The safetensors metadata of the weights of a model folder whose config.json is ``config``
    (``recorded_args_metadata``): its ``model_args``, and for a ``sequence`` model the length its pretrained cfg says
    the weights were trained at (``cfg_trained_length``), and the channels of the weights its first layer was adapted
    from (``adapted_from_channels``), so that a copy of the file alone tells them (trial 68 B: a copy of a run trained
    at 300 was scored at its registered model's 150, 0.66 for 0.94; trial 69 F3: a copy of a folder adapted from 1
    channel to 2 was refused on the 1-channel series, with no way on)."""
    cfg = config.get('pretrained_cfg') or {}
    trained = cfg_trained_length(cfg) if sequence else None
    # (a first layer adapted from other weights' channels: a copy of the file says so, as the folder does)
    adapted = adapted_from_channels(cfg)
    chans = (config.get('model_args') or {}).get('in_chans')
    # (adapted more than once: the fewest channels it went through, whose dropped ones a copy adapted back says, as
    # adapted_back_message says of the folder; trial 70c, 12 to 8 to 12, and 71, 12 to 6 to 24: copies said nothing)
    via = adapted_via_channels(cfg) if adapted else None
    via = via if via != chans else None
    return recorded_args_metadata(config.get('model_args'), trained,
                                  adapted if adapted and (adapted != chans or via) else None,
                                  said_contradicted_length(cfg) if sequence and trained else None, via)


def length_not_recorded_note(length: int) -> str:
    """What a sequence model's description adds where its weights came from a file that records no trained length
    (a state dict saved without this project's metadata, given as ``checkpoint_path=`` or an overlay's ``file=``): the
    cfg's length, taken for it (``cfg_trained_length`` is None; read back by ``said_length_not_recorded``). Trial 69b:
    saved or deployed, such a model claimed its cfg's 150 steps as the trained length of weights trained at 300."""
    return f"trained length not recorded with these weights (taken as the cfg's {int(length)} steps)"


def said_contradicted_length(cfg: Dict[str, Any]) -> Optional[int]:
    """The trained length the weights recorded where a pretrained cfg's description says another was stated over it
    (``length_stated_note``'s ``recorded``), else None."""
    found = _LENGTH_STATED.search(cfg.get('description') or '')
    return int(found.group(3)) if found and found.group(3) else None


def said_length_not_recorded(cfg: Dict[str, Any]) -> Optional[int]:
    """The length a pretrained cfg's description says was taken for its weights' unrecorded trained length
    (``length_not_recorded_note``), else None."""
    found = _LENGTH_NOT_RECORDED.search(cfg.get('description') or '')
    return int(found.group(2)) if found else None


def length_stated_note(length: int, recorded: Optional[int] = None) -> str:
    """What a sequence model's description adds where the caller gave the input size of weights that record no
    trained length (an overlay's ``input_size`` with such a file, or over a folder saved from one): that length, as
    the trained one (``said_trained_length`` reads it). ``recorded``: the other length the weights record, which the
    caller's word replaced (``stated_length_contradiction``)."""
    note = f"trained length as stated with the weights' input size {trained_at(length)}"
    return f'{note}, not the {int(recorded)} they record' if recorded else note


def stated_length_contradiction(stated: int, recorded: int) -> str:
    """The warning where a caller's ``pretrained_cfg_overlay`` input size of ``stated`` steps contradicts the trained
    length ``recorded`` with weights whose kernels span the whole input (trial 69d: a run at 300 given
    ``"input_size": [1, 1, 150]`` was scored 0.66 for 0.94, and deployed as trained at 150, without a word). The
    caller's word is taken, as timm takes an overlay (it corrects a wrong record), and said in the description
    (``length_stated_note``)."""
    stated, recorded = int(stated), int(recorded)
    return (f'pretrained_cfg_overlay input_size states {stated} steps as the trained length of weights that record '
            f'{recorded}: taken as stated (evaluate-seq pads shorter series to it; saved or deployed, the model says '
            f'trained at {stated}), which is right only if that record is wrong: kernels that span the whole input '
            f'compute another function at another length. To run these weights on {stated}-step series, leave '
            f'the input size out and give seq_len={stated} (a deployment length; the trained length stays '
            f'{recorded})')


def stated_length_option(model_kwargs: Optional[Dict[str, Any]], chans: int, length: Any = 'L') -> str:
    """The ``--model-kwargs`` option that states the trained ``length`` of the weights (``length_stated_note``; L,
    left for the caller to fill in, where they record none): the caller's ``model_kwargs`` (e.g. an overlay's
    ``file``, ``checkpoint_path=``, ``in_chans=``) with the input size ``[chans, 1, length]`` in their overlay."""
    return model_kwargs_option(model_kwargs, dict(input_size=[int(chans), 1, length if length == 'L' else int(length)]))


def with_length_not_recorded(description: str, length: int) -> str:
    """``description`` with ``length_not_recorded_note`` for the ``length`` taken, a deployment note said before
    naming it as taken too (``trained_at``)."""
    said = _SEQ_LEN_NOTE.sub(lambda m: m.group(0).replace('(trained at', '(taken as trained at'), description)
    return with_note(said, length_not_recorded_note(length))


def without_length_not_recorded(description: str) -> str:
    """``description`` without ``length_not_recorded_note`` (the trained length given since), nor a deployment note
    that names the length taken for it (``trained_at``'s ``taken``)."""
    said = _LENGTH_NOT_RECORDED.sub('', description)
    return _SEQ_LEN_NOTE.sub(lambda m: '' if '(taken as trained at' in m.group(0) else m.group(0), said).lstrip('; ')


def without_length_stated(description: str, keep: Optional[int] = None) -> str:
    """``description`` without ``length_stated_note`` (another length stated since), and, given the trained length to
    ``keep``, without the notes that name another (a model built for the stated length from a folder that said it was
    trained at another: its deployment notes)."""
    said = _LENGTH_STATED.sub('', description).lstrip('; ')
    if keep is not None:
        # (a note's clause: "seq_len=300, its deployment length (trained at 150)", reparam's "whole-series kernels
        # deployed for 300 steps (trained at 150): ...")
        first, *notes = said.split('; ')
        said = '; '.join([first] + [n for n in notes if said_trained_length({'description': n}) in (None, keep)])
    return said


def trained_at(length: int, taken: bool = False) -> str:
    """How a description names the length (steps) a sequence model's weights were trained at, where its cfg's input
    size is another (a deployment length): one wording, read back by ``said_trained_length``. ``taken``: a length
    taken for weights that record none (``length_not_recorded_note``; trial 69d: "(trained at 150)" stood beside
    "not recorded")."""
    return f'(taken as trained at {int(length)})' if taken else f'(trained at {int(length)})'


def said_trained_length(cfg: Dict[str, Any]) -> Optional[int]:
    """The trained length a pretrained cfg's description names (``trained_at``), or None: then its input size is
    that length, where the weights record one."""
    found = _TRAINED_AT.search(cfg.get('description') or '')
    return int(found.group(1)) if found else None


def say_deployment_length(model: Any, pretrained: bool, length: Optional[int], trained: Optional[int],
                          any_length: bool = False, replace: bool = False) -> None:
    """Where a sequence model with weights trained at ``trained`` steps was created with ``seq_len=length`` (its
    deployment length, which its cfg's input size follows: timm's data config, info, reparam and export read it), its
    cfg's description says the trained length (``deployment_description``): cards and ``reparam`` read it there, as
    timm's ``save_for_hf`` keeps it (they had called 300 steps the trained length of weights trained at 150). Random
    weights have no trained length to say. Weights whose training is not recorded (a folder saved from a model built
    at random, or from a file) say their cfg's, the length their model had when it was saved (trial 67b: a folder of
    GunPoint's weights reloaded with seq_len=200 was scored at 200, 0.56 for 1.0). ``any_length``: the model takes
    inputs of any length, deployed too (fixed kernel lengths): ``length`` is only its default input length, and said
    so. ``replace``: ``trained`` is the length of weights loaded since, which replaces any said before."""
    if not (pretrained or _WEIGHTS_LOADED_AFTER.get()) or length is None or trained is None:
        return
    for module in model.modules():
        cfg = getattr(module, 'pretrained_cfg', None)
        if not isinstance(cfg, dict) or said_random(cfg):
            continue
        said = dict(cfg, description=_SEQ_LEN_NOTE.sub('', cfg.get('description') or '')) if replace else cfg
        module.pretrained_cfg = module.default_cfg = dict(
            cfg, description=deployment_description(said, length, trained, any_length=any_length))


def deployment_description(cfg: Dict[str, Any], length: int, trained: Optional[int] = None,
                           any_length: bool = False) -> str:
    """``cfg``'s description for the deployment length ``length`` of weights trained at ``trained`` steps (or at the
    length the description names already: ``said_trained_length``): "seq_len=300, its deployment length
    (trained at 150)" added, or rewritten where it was said for another length (deployed since for 150: said no
    more). ``any_length`` (a model of fixed kernel lengths, which takes any length deployed too): "seq_len=300, its
    default input length (trained at 150)"."""
    said = _SEQ_LEN_NOTE.sub('', cfg.get('description') or '')
    recorded = said_trained_length(cfg) or trained  # (an earlier note's: the weights' length, not the cfg's)
    if recorded is None or int(length) == recorded:
        return said
    what = 'default input' if any_length else 'deployment'
    taken = said_length_not_recorded(cfg) is not None
    return with_note(said, f'seq_len={int(length)}, its {what} length {trained_at(recorded, taken)}')


NOT_RECORDED = 'not recorded: '  # a description's start where the data config was assumed (a bare weight file)
_TRAINED_AT = re.compile(r'\((?:taken as )?trained at (\d+)\)')
_LENGTH_STATED = re.compile(r"(^|; )trained length as stated with the weights' input size \(trained at \d+\)"
                            r"(, not the (\d+) they record)?")
_LENGTH_NOT_RECORDED = re.compile(r"(^|; )trained length not recorded with these weights \(taken as the cfg's (\d+) "
                                  r"steps\)")
# a build's notes as a folder saved since says them: true however many saves ago the build was (trial 66b: "when
# the model saved here was built" was false of a folder saved again from a reloaded one)
_SINCE_SAVED = ', trained since or not: not recorded'
_NOTES_AT_BUILD = (
    (re.compile(r"classifier new, initialised at random (\(\d+ classes; the weights' had \d+\))"),
     r'classifier built new before these weights were saved \1' + _SINCE_SAVED),
    # (any wording of the rule: folders written before trial 71b #8 say "exact for 1 or a multiple of N, ...")
    (re.compile(r"first layer adapted to (\d+) input channels from the weights' (\d+) \(timm's rule: [^)]*\)"),
     r"first layer adapted before these weights were saved (\1 input channels from the weights' \2)" + _SINCE_SAVED),
)
# a classifier note of either kind: a newer classifier's replaces it (trial 66b: one of 3 classes stayed beside 9's)
_ANY_CLASSIFIER_NOTE = re.compile(r"(^|; )classifier (?:new, initialised at random|built new before these weights were "
                                  r"saved) \(\d+ classes; the weights' had \d+\)(?:" + re.escape(_SINCE_SAVED) + ')?')
# a note of an adapted first layer, as the build says it (the weights' channels: weights_channels) or a folder
# saved since (_NOTES_AT_BUILD)
_ADAPTED_NOTE = re.compile(r"(^|; )first layer adapted (?:to \d+ input channels from the weights' (?P<weights>\d+) "
                           r"\(timm's rule: [^)]*\)|before these weights were saved \((?P<saved_to>\d+) input channels "
                           r"from the weights' (?P<saved>\d+)\)" + re.escape(_SINCE_SAVED) + ')')
# a description that says a file's weights were loaded as the model was built (say_weights_loaded's sources)
_LOADED_AT_BUILD = re.compile(r'^weights from .*? \((?:checkpoint_path|checkpoint|pretrained_cfg_overlay file)=\)(?=;|$)')
# the description this package's loader (load_model) gives a model it built at random; the folders the commands write
# of random weights say "not trained" as well (reparam --pretrained no), which a reload keeps
_LOADER_RANDOM = re.compile(r'^random weights \((?!not trained)[^)]*\)(?: in the architecture of .*)?$')
_SAVED_FROM = ', saved from a model built with '
_NOTHING_SINCE = ', which records nothing of what trained them'
_SEQ_LEN_NOTE = re.compile(r'(^|; )seq_len=\d+, its (?:deployment|default input) length \((?:taken as )?trained at '
                           r'\d+\)')
_RANDOM_PREFIX = 'created with pretrained=False'
_WEIGHTS_FROM = 'weights from '  # a description's start where the weights are a file's or a folder's
# the starts of a description that says whose weights its model holds, other than the cfg's own
_SAYS_WHOSE = (_RANDOM_PREFIX, _WEIGHTS_FROM, NOT_RECORDED)
_TAG_DESCRIPTION = "; the description of its cfg: "
_WEIGHTS_LOADED_AFTER = contextvars.ContextVar('smpconvnet_weights_loaded_after', default=False)


@contextlib.contextmanager
def weights_loaded_after():
    """Within it, models built with ``pretrained=False`` keep their registered description (``say_if_random``
    says nothing): for a loader that builds a model and then loads the weights the cfg describes into it."""
    token = _WEIGHTS_LOADED_AFTER.set(True)
    try:
        yield
    finally:
        _WEIGHTS_LOADED_AFTER.reset(token)


def is_published(pretrained_cfg: Dict[str, Any]) -> bool:
    """False for a tag whose Hub repo this project has not published, while the cfg points at that repo under the
    default namespace (under another namespace, or another ``hf_hub_id`` given in an overlay, the repo is the
    user's)."""
    name = f"{pretrained_cfg.get('architecture')}.{pretrained_cfg.get('tag')}"
    repo = (pretrained_cfg.get('hf_hub_id') or '').partition('@')[0]
    return name not in _UNPUBLISHED or repo != f'{DEFAULT_HUB_NAMESPACE}/{name}'


def weights_location(pretrained_cfg: Dict[str, Any], cache_dir: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """(kind, where) of a pretrained cfg's weights available without a network: ``('shipped', file)``,
    ``('file', file)``, ``('hub-cache', cached file)``, ``('hub', None)`` (would need a download),
    ``('unpublished', None)`` (no such Hub repo yet, see ``is_published``) or ``('none', None)``."""
    file = pretrained_cfg.get('file')
    if file:
        if Path(file).is_file():
            kind = 'shipped' if Path(file).resolve().parent.parent == WEIGHTS_DIR.resolve() else 'file'
            return kind, str(file)
    repo_id = pretrained_cfg.get('hf_hub_id')
    if repo_id:
        path = cached_hub_file(repo_id, pretrained_cfg.get('hf_hub_filename') or WEIGHTS_FILENAME, cache_dir)
        if path:
            return 'hub-cache', path
        return ('hub', None) if is_published(pretrained_cfg) else ('unpublished', None)
    if pretrained_cfg.get('url'):
        return 'url', None
    return 'none', None


class PretrainedWeightsNotFoundError(RuntimeError):
    """Pretrained weights could not be loaded; the message says where they were looked for and how to get them."""


def _registered_hub_id(name: str) -> Optional[str]:
    # the Hub repo timm's registry gives a registered model.tag now (this package's namespace), else None
    from timm.models import get_pretrained_cfg
    try:
        cfg = get_pretrained_cfg(name, allow_unregistered=False)
    except (RuntimeError, ValueError, KeyError):
        return None
    return getattr(cfg, 'hf_hub_id', None) if cfg is not None else None


def missing_weights_message(pretrained_cfg: Dict[str, Any], cause: Optional[BaseException],
                            cache_dir: Optional[str] = None) -> str:
    """The ``PretrainedWeightsNotFoundError`` message: where the weights were looked for, why they were not found
    (``cause``; None: the Hub was not asked, its repo is known not to exist) and how to get them."""
    from huggingface_hub import constants
    name = pretrained_cfg.get('architecture') or 'the model'
    if pretrained_cfg.get('tag'):
        name = f"{name}.{pretrained_cfg['tag']}"
    # a repo of the user's (hf-hub:org/name, whose config names a registered tag) is named as asked for, not as the
    # tag, whose namespace hint does not apply to it (trial 75c #4)
    user_repo = (pretrained_cfg.get('source') == 'hf-hub' and bool(pretrained_cfg.get('hf_hub_id'))
                 and pretrained_cfg['hf_hub_id'] != _registered_hub_id(name))
    if user_repo:
        name = f"hf-hub:{pretrained_cfg['hf_hub_id']}"
    looked = []
    file = pretrained_cfg.get('file')
    if file and pretrained_cfg.get('source') != 'hf-hub':
        looked.append(f'the file {file}')
    repo_id = pretrained_cfg.get('hf_hub_id')
    # a shipped file that is missing falls back to the Hub copy; a file the user named is the only source
    shipped_missing = bool(file) and not Path(file).exists() and Path(file).resolve().parent.parent == WEIGHTS_DIR.resolve()
    if repo_id and (not file or pretrained_cfg.get('source') == 'hf-hub' or shipped_missing):
        repo, _, revision = repo_id.partition('@')
        filename = pretrained_cfg.get('hf_hub_filename') or WEIGHTS_FILENAME
        offline = constants.is_offline_mode()
        looked.append(
            f"{filename} of the Hugging Face Hub repo '{repo}' (revision {revision or 'main'}) in the cache "
            f"{cache_dir or constants.HF_HUB_CACHE}" +
            (' (offline mode, HF_HUB_OFFLINE=1: nothing was downloaded)' if offline else
             ', then on the Hub' if cause is not None else ''))
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ''
    if cause is None:
        cause_text = 'not in the cache; the Hub was not asked, as this version of smpconvnet knows the repo is missing'
    else:
        cause_text = f'{type(cause).__name__}: {detail}' if detail else type(cause).__name__
    hub_looked = any('Hugging Face Hub repo' in where for where in looked)
    lines = [
        f'pretrained weights for {name} could not be loaded.',
        'Looked for: ' + ('; '.join(looked) if looked else 'no weight source is configured') + '.',
        f'Cause: {cause_text}',
        'To get them:',
    ]
    if repo_id and hub_looked and not is_published(pretrained_cfg):
        lines.insert(1, f"These weights are not published: the Hub repo '{repo_id.partition('@')[0]}' does not exist "
                        f"yet (the authors' release has not been converted and pushed).")
    elif repo_id:
        lines += [
            ('  - run once with a network (HF_HUB_OFFLINE unset): timm downloads the file into the cache; '
             if constants.is_offline_mode() else
             '  - check the network and that the repo exists; ') +
            'private or gated repos need `hf auth login` or the HF_TOKEN variable;',
        ]
    if repo_id and not user_repo:
        lines += [
            f'  - weights hosted elsewhere: set {HUB_NAMESPACE_ENV}=<org> (or call '
            'smpconvnet.set_hub_namespace("<org>")) to load <org>/<model>.<tag>;',
        ]
    arch = pretrained_cfg.get('architecture') or ''
    if arch.startswith('smpconvnet_'):  # `smpconvnet convert` converts the authors' ImageNet checkpoints
        lines.append(
            '  - from the authors\' release: `smpconvnet convert <checkpoint.pth> <dir>`, then '
            "timm.create_model('local-dir:<dir>', pretrained=True) (or `smpconvnet push <dir> <org>/<model>.<tag>`);")
    else:  # the family's checkpoint filter reads the authors' layout directly
        lines.append(
            f"  - an original checkpoint loads as it is: timm.create_model('{arch}', pretrained=True, "
            "pretrained_cfg_overlay=dict(file='<checkpoint.pth>'));")
    lines.append("  - or pretrained=False (smpconvnet's commands: --pretrained no; timm's scripts: without --pretrained) "
                 "for random initialisation.")
    return '\n'.join(lines)


def local_weights_file(variant: str, kwargs: Dict[str, Any]) -> Optional[str]:
    """The local file timm will load ``variant``'s pretrained weights from (its pretrained cfg's ``file``, overlay
    included, when something exists there), else None."""
    from timm.models._builder import resolve_pretrained_cfg
    try:
        cfg = resolve_pretrained_cfg(variant, kwargs.get('pretrained_cfg'), kwargs.get('pretrained_cfg_overlay'))
    except Exception:  # noqa: BLE001  (timm reports an unknown cfg itself)
        return None
    file = cfg.file
    if file and cfg.source == 'local-dir' and Path(file).is_dir():
        # a 'local-dir:' folder: the file timm reads first of those a model folder holds (its own preference order)
        found = folder_weights_file(file)
        return str(found) if found else None
    # 'hf-hub:' sources are repos timm reads its own way
    return str(file) if file and cfg.source not in ('hf-hub', 'local-dir') and Path(file).exists() else None


def check_pretrained_record(variant: str, pretrained: bool, kwargs: Dict[str, Any], built: Dict[str, Any],
                            keys: Sequence[str]) -> None:
    """Before a family builds ``variant`` with pretrained weights from a local file (``local_weights_file``): refuse
    weights recorded as trained with other values of ``keys`` (the family's ``RECORD_CHECKED_ARGS``) than the model's
    (``built``), unless the caller asked for them (``kwargs``): ``check_recorded_architecture``'s ValueError."""
    if pretrained:
        _check_overlay_source(variant, kwargs)
    file = (local_weights_file(variant, kwargs) or _hub_weights_file(variant, kwargs)) if pretrained else None
    if file is not None:
        # (a local-dir: / hf-hub: model: timm passes the config.json's model_args it was built from)
        config_args = kwargs.get('pretrained_model_args')
        config_args = config_args if isinstance(config_args, dict) else None
        if config_args is not None:
            # a folder's config.json that lost them builds what its pretrained_cfg says, which timm's loading then
            # adapts the weights to (a stem summed to other channels): checked against the record too
            built = {**cfg_model_defaults(variant, kwargs), **built}
        check_recorded_architecture(f'pretrained weights for {variant}', file, built, kwargs, keys, variant,
                                    config_args=config_args)


def file_overlay_first(variant: str, pretrained: bool, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` with which timm loads the file a ``pretrained_cfg_overlay`` names, as for a registered name, also
    where the pretrained cfg is a Hub repo's or a folder's (``hf-hub:`` / ``local-dir:`` names): timm reads such a
    cfg's ``source`` before any file (its ``_resolve_pretrained_source``), so the repo's weights loaded with the file
    ignored, silently, and a folder's source took the file for the folder ("Specified path is not a directory").
    The overlay's ``source`` is cleared (timm's file load); one that sets ``source`` itself is left as it is."""
    overlay = kwargs.get('pretrained_cfg_overlay')
    if not pretrained or not isinstance(overlay, dict) or not overlay.get('file') or 'source' in overlay:
        return kwargs
    from timm.models._builder import resolve_pretrained_cfg
    try:
        cfg = resolve_pretrained_cfg(variant, kwargs.get('pretrained_cfg'))
    except Exception:  # noqa: BLE001  (timm reports an unknown cfg itself)
        return kwargs
    if cfg.source not in ('hf-hub', 'local-dir'):
        return kwargs
    return dict(kwargs, pretrained_cfg_overlay=dict(overlay, source=''))


def overlay_sources(overlay: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The weight sources other than a file that a ``pretrained_cfg_overlay`` names (``hf_hub_id``, ``url``)."""
    return {k: overlay[k] for k in ('hf_hub_id', 'url') if (overlay or {}).get(k)}


def _check_overlay_source(variant: str, kwargs: Dict[str, Any]) -> None:
    # an overlay naming another Hub repo or URL for a variant whose cfg names a file (the shipped weights): timm reads
    # the file first (its _resolve_pretrained_source), so the overlay's source was ignored without a word
    overlay = kwargs.get('pretrained_cfg_overlay')
    if not isinstance(overlay, dict) or 'file' in overlay or overlay.get('source') == 'hf-hub':
        return
    sources = overlay_sources(overlay)
    file = (_resolved_cfg(variant, kwargs) or {}).get('file') if sources else None
    if file:
        named = ', '.join(f'{k}={v!r}' for k, v in sources.items())
        # what else of the registered cfg timm would read before the overlay's source: its Hub file name (a repo
        # save_for_hf wrote by default holds pytorch_model.bin alone) for a repo, its Hub repo for a URL
        cleared = {'file': None, **({'hf_hub_filename': None} if 'hf_hub_id' in sources else {'hf_hub_id': None})}
        cleared = {k: v for k, v in cleared.items() if k not in overlay}
        raise ValueError(
            f'pretrained weights for {variant}: pretrained_cfg_overlay names {named}, but its pretrained cfg names '
            f'the file {file}, which timm loads first: the overlay would be ignored; to load from it, add '
            f"{', '.join(f'{k}=None' for k in cleared)}: pretrained_cfg_overlay=dict("
            f"{', '.join(f'{k}={v!r}' for k, v in {**overlay, **cleared}.items())})")


def cfg_model_defaults(variant: str, kwargs: Dict[str, Any], stated_only: bool = False) -> Dict[str, Any]:
    """The class count and input channels timm's build gives ``variant`` from the pretrained cfg it resolves from
    ``kwargs`` (``pretrained_cfg``, a folder's or Hub repo's, and ``pretrained_cfg_overlay``) where the caller gives
    none (timm's ``_update_default_model_kwargs``: ``num_classes``, and ``in_chans`` from ``input_size``): what the
    weights of that cfg are stated to have. ``stated_only``: only the values a cfg given as a dict (a folder's
    config.json) or the overlay states, not the image defaults timm's ``PretrainedCfg`` fills in for the others
    (3 x 224 x 224, 1000 classes); the registered cfg's where none is given. ``{}`` where timm cannot resolve a cfg."""
    cfg = _resolved_cfg(variant, kwargs) or {}
    given = kwargs.get('pretrained_cfg')
    if stated_only and isinstance(given, dict):
        cfg = {k: v for k, v in cfg.items() if k in given or k in (kwargs.get('pretrained_cfg_overlay') or {})}
    defaults = {}
    if cfg.get('num_classes') is not None and cfg['num_classes'] >= 0:
        defaults['num_classes'] = cfg['num_classes']
    if cfg.get('input_size') is not None and len(cfg['input_size']) == 3:
        defaults['in_chans'] = cfg['input_size'][0]
    return defaults


def _hub_weights_file(variant: str, kwargs: Dict[str, Any]) -> Optional[str]:
    # the weights file of the Hub repo a pretrained cfg names (an hf-hub: name, a registered tag's repo), so that its
    # record is checked as a local file's: the one timm's build reads (model.safetensors, else its pytorch_model.bin
    # fallback: a repo save_for_hf wrote by default holds that alone, whose config's root pooling went unchecked),
    # from the cache, else downloaded now, as timm's build would (it then finds it cached); a repo that cannot be
    # reached gets the error the build would give, without asking twice
    from timm.models._hub import has_hf_hub
    cfg = _resolved_cfg(variant, kwargs)
    if not cfg or not cfg.get('hf_hub_id') or (cfg.get('file') and cfg.get('source') != 'hf-hub'):
        return None
    names = [cfg['hf_hub_filename']] if cfg.get('hf_hub_filename') else [WEIGHTS_FILENAME, _HUB_PICKLE_FILENAME]
    for name in names:
        cached = cached_hub_file(cfg['hf_hub_id'], name, kwargs.get('cache_dir'))
        if cached is not None:
            return cached
    if not has_hf_hub() or (cfg.get('source') != 'hf-hub' and not is_published(cfg)):
        return None  # (an unpublished repo: explain_missing_weights says so without asking the Hub)
    from huggingface_hub.errors import EntryNotFoundError
    from timm.models import _hub as timm_hub  # the download timm's build calls
    repo, _, revision = cfg['hf_hub_id'].partition('@')
    for name in names:
        try:
            return timm_hub.hf_hub_download(repo, name, revision=revision or None, cache_dir=kwargs.get('cache_dir'))
        except EntryNotFoundError:
            continue
        except Exception as e:  # noqa: BLE001  (huggingface_hub's and the HTTP client's errors)
            if not is_weight_source_error(e):
                raise
            raise PretrainedWeightsNotFoundError(missing_weights_message(cfg, e, kwargs.get('cache_dir'))) from e
    return None


def is_weight_source_error(e: BaseException) -> bool:
    """Whether ``e`` says a file could not be found or fetched (a missing file, the Hub unreachable or refusing:
    ``OSError``, huggingface_hub's and HTTP clients' errors), not that what was read is wrong."""
    module = type(e).__module__ or ''
    return isinstance(e, OSError) or module.startswith(('huggingface_hub', 'httpx', 'requests', 'urllib'))


def _damaged_hub_file(variant: str, kwargs: Dict[str, Any], e: BaseException) -> Optional[Tuple[str, Path]]:
    """The Hub repo and the cached weights file that ``e`` says could not be read (the repo's safetensors file, else
    its PyTorch one, as timm reads them), or None: ``e`` is no read error, or the weights come from no Hub repo."""
    if read_error_message('', e) is None:
        return None
    hub = (_resolved_cfg(variant, kwargs) or {}).get('hf_hub_id')
    if not hub:
        return None
    for name in ('model.safetensors', 'pytorch_model.bin'):
        found = cached_hub_file(hub, name, kwargs.get('cache_dir'))
        if found is not None:
            return hub, Path(found)
    return None


def _repo_cache_folder(path: Path) -> Path:
    # a cached file's repo folder (models--org--name/snapshots/<revision>/<file>): its blob is named by the expected
    # hash, so removing the snapshot's link alone would have the damaged blob taken again
    parents = Path(path).parents
    return parents[2] if len(parents) > 2 and parents[1].name == 'snapshots' else Path(path).parent


def _create_model_checkpoint_path() -> Optional[str]:
    """The ``checkpoint_path`` of the ``timm.create_model`` call building the model now, if any: timm loads that file
    after the build (the builder never sees it), so a refusal of the pretrained weights names it only when given
    (trial 74b #5: a conditional clause about it appeared in every refusal)."""
    import inspect
    from timm.models import _factory
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code is _factory.create_model.__code__:
                path = frame.f_locals.get('checkpoint_path')
                return str(path) if path else None
            frame = frame.f_back
        return None
    finally:
        del frame


@contextlib.contextmanager
def explain_missing_weights(variant: str, pretrained: bool, kwargs: Dict[str, Any],
                            shape_blind: Sequence[str] = ()):
    """Around ``build_model_with_cfg``: turn a failure to find pretrained weights into an error that says
    where they were looked for and how to get them (other errors pass through unchanged). A local weights file
    (``pretrained_cfg_overlay=dict(file=...)``, the shipped weights) is checked first (``probe_weights_file``): a
    folder, an empty, truncated or corrupt file raises a ``ValueError`` naming it and what was expected.
    ``shape_blind``: the family's arguments no shape tells (a refusal offers the file's record only where it holds
    them: ``recorded_model_hint``)."""
    file = local_weights_file(variant, kwargs) if pretrained else None
    if file is not None:
        try:
            probe_weights_file(file)
        except ValueError as e:
            raise ValueError(f'pretrained weights for {variant}: {e}') from None
        if is_unsuffixed_safetensors(file):  # (timm's pretrained loader would unpickle it)
            raise ValueError(
                f'pretrained weights for {variant}: {file} is a safetensors file without the .safetensors suffix '
                f'(a Hub cache blob?), which timm\'s pretrained loader reads as a PyTorch checkpoint: copy it to a '
                f'name ending .safetensors (cp {shlex.quote(str(file))} {shlex.quote(Path(file).name + ".safetensors")}'
                f', in the working directory: a cache\'s blobs/ is huggingface_hub\'s) and give that, or load it with '
                f'checkpoint_path={str(file)!r}')
    if pretrained and file is None:
        cfg = _resolved_cfg(variant, kwargs)
        named = (cfg or {}).get('file')
        tagged = f"{variant}.{cfg['tag']}" if cfg and cfg.get('tag') else variant
        if (named and cfg.get('source') != 'hf-hub' and not Path(named).exists()
                and Path(named).resolve().parent.parent != WEIGHTS_DIR.resolve()):
            # a file the user named is the only source timm reads (a missing shipped file falls back to the Hub):
            # not a cache or Hub matter
            raise PretrainedWeightsNotFoundError(
                f'pretrained weights for {tagged}: no such file {named} (the pretrained_cfg file, as '
                f'pretrained_cfg_overlay=dict(file=...) sets it); give the path of an existing weights file')
        kind = weights_location(cfg, kwargs.get('cache_dir'))[0] if cfg is not None else None
        # known not to exist: without a network, huggingface_hub's retries would take about 30 s to say so
        if kind == 'unpublished':
            raise PretrainedWeightsNotFoundError(missing_weights_message(cfg, None, kwargs.get('cache_dir')))
        if kind == 'none':
            # a tag of no weights ('.untrained'): timm's "No pretrained weights exist for NAME" dropped the tag and
            # named pretrained=False alone (trial 73b F4)
            raise PretrainedWeightsNotFoundError(
                f'{tagged} has no pretrained weights (its pretrained cfg names no file, URL or Hub repo): build it '
                f"with pretrained=False for random weights (smpconvnet's commands: --pretrained no; timm's scripts: "
                f'without --pretrained)')
    try:
        yield
    except Exception as e:  # noqa: BLE001  (filtered just below)
        message = read_error_message(file, e) if file is not None else None
        if message is not None:
            raise ValueError(f'pretrained weights for {variant}: {message}') from e
        cached = _damaged_hub_file(variant, kwargs, e) if pretrained and file is None else None
        if cached is not None:  # (the safetensors / torch reader's own error named no repo or file: trial 75c)
            hub, path = cached
            raise ValueError(f"pretrained weights for {variant}: the Hub repo '{hub}': {read_error_message(path, e)}; "
                             f"a damaged or partial download: delete the repo from the Hugging Face cache "
                             f"(rm -r {shlex.quote(str(_repo_cache_folder(path)))}) and download it again") from e
        # weights of another network (the families' filters say 'checkpoint ...', torch lists keys): which file
        refused = (isinstance(e, ValueError) and str(e).startswith(FILTER_ERROR_PREFIXES)
                   or isinstance(e, RuntimeError) and 'Error(s) in loading state_dict' in str(e))
        # (timm.create_model keeps its checkpoint_path= from the builder and loads that file over these weights,
        # which load first: built for the file, the model refused these, and built for these, the file, a loop of
        # hints: trial 72 #4)
        # (for Python callers only: a command's weight file has options of its own, and a timm script dropping
        # --pretrained builds a model at random, trial 72b #2)
        given = None if command_in_progress() else _create_model_checkpoint_path()
        over = ('' if not given else
                f'; timm.create_model loads your checkpoint_path= file ({given}) over the pretrained weights, which '
                f'load first: pass pretrained=False to load it alone')
        if refused and file is not None:
            raise ValueError(f'pretrained weights for {variant}: {file} does not fit the model: {e}'
                             f'{recorded_model_hint(file, shape_blind)}{over}') from e
        hub = (_resolved_cfg(variant, kwargs) or {}).get('hf_hub_id') if refused and pretrained else None
        if hub:  # (downloaded or cached from the Hub: which repo, as a file's refusal names the file)
            raise ValueError(f"pretrained weights for {variant}: the Hub repo '{hub}' does not fit the model: "
                             f'{e}{over}') from e
        if not pretrained or not is_weight_source_error(e):
            raise
        cfg = _resolved_cfg(variant, kwargs)
        if cfg is None:  # the original error is the one to show
            raise
        raise PretrainedWeightsNotFoundError(missing_weights_message(cfg, e, kwargs.get('cache_dir'))) from e


def _resolved_cfg(variant: str, kwargs: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    # the pretrained cfg timm builds ``variant`` with (overlay included), or None where timm cannot resolve it
    from timm.models._builder import resolve_pretrained_cfg
    try:
        return resolve_pretrained_cfg(
            variant, kwargs.get('pretrained_cfg'), kwargs.get('pretrained_cfg_overlay')).to_dict()
    except Exception:  # noqa: BLE001  (timm reports an unknown cfg itself)
        return None
