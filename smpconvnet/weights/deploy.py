"""Deploying: the re-parameterised form of any model source, saved as a folder or exported (``smpconvnet reparam``,
``smpconvnet export``).

``reparam SRC DST`` writes a folder with the deployed state dict (``model.safetensors``), a ``config.json``
marked ``"deployed": true`` (sequence models: ``model_args.seq_len`` and ``deployed_length``, the length the kernels
were materialised for) and a model card. It loads through timm's own path,
``timm.create_model('local-dir:DST', pretrained=True)`` (and so ``hf-hub:`` once pushed), or
``smpconvnet.load_model('DST')``: the family's ``checkpoint_filter_fn`` recognises the deployed state dict and
re-parameterises the freshly built network (which gives the deployed structure) before the strict load.

``export MODEL --format onnx|torchscript`` re-parameterises first, exports with a dynamic batch axis,
then runs the exported file (onnxruntime for ONNX, ``torch.jit.load`` for TorchScript) on a batch of a
different size and checks its outputs against PyTorch.
"""
import copy
import json
import shlex
import time
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch

from ..atomic_io import atomic_file, check_destination
from ..layers.causal_conv import fixed_input_lengths
from ..layers.conv_backends import conv_backend
from ..models import (SMPConvTCN, SMPConvTCNEnsemble, adapted_back_message, adapted_channels_note, command_option,
                      describes_trained_weights, has_batchnorm, input_channels_words, kernels_span_the_input,
                      new_classifier_note,
                      said_contradicted_length, said_length_not_recorded, stated_length_option, tag_in_chans_option,
                      tagged_name, trained_at, two_branch_eval, weights_channels, weights_location, with_note)
from .folders import (TRAINED_WITH_KEY, cfg_trained_length, check_not_managed, foreign_to_model_folder,
                      local_paths_to_names, model_card, print_step, set_pretrained_cfg,
                      with_channels, write_model_folder)
from .sources import changed_computation, changed_computation_message, load_deployed, load_model, load_model_with_config
from ..layers.reparam import relative_error
from ..user_warnings import caller_stacklevel

__all__ = ['deploy', 'is_deployed', 'reparameterize_to_folder', 'export_model', 'model_input_shape', 'example_input',
           'direct_convolutions', 'deployed_length', 'deployed_cfg', 'SequenceWithLengths', 'takes_lengths', 'run_onnx',
           'EXPORT_TOLERANCE', 'DEFAULT_ONNX_OPSET']

# outputs of an exported or deployed model against PyTorch / the training form, relative to their max
EXPORT_TOLERANCE = 1e-4
# the ONNX opsets the models export to: 5-8 lack arange; torch 2.14's exporter writes up to 23 (9-23 export and
# check); outside them torch fails late, after printing the whole graph
MIN_ONNX_OPSET, MAX_ONNX_OPSET = 9, 23
DEFAULT_ONNX_OPSET = 17


def model_input_shape(model: torch.nn.Module, input_size: Optional[Sequence[int]] = None) -> Tuple[int, ...]:
    """One sample's input shape: ``(C, H, W)`` for images, ``(C, L)`` for sequence models, whose timm config
    writes their input size as ``(C, 1, L)`` (``L`` is ``zero_pad_to`` for a model that reads series zero-padded)."""
    if input_size is not None:
        _check_input_size(model, tuple(input_size))
    size = tuple(input_size or model.pretrained_cfg.get('input_size') or (3, 224, 224))
    in_chans = getattr(model, 'in_chans', None)
    if input_size is None and isinstance(in_chans, int) and size[0] != in_chans:
        # built for other input channels than its registered pretrained_cfg says (train.py --in-chans)
        size = (in_chans,) + size[1:]
    if _is_sequence_model(model) and len(size) == 3 and size[1] == 1:
        size = (size[0], size[2])
    zero_pad_to = getattr(model, 'zero_pad_to', None)
    if input_size is None and zero_pad_to is not None and len(size) == 2:
        # a model that reads series zero-padded to N steps reads N, whatever length its cfg was registered with
        size = (size[0], zero_pad_to)
    return size


def _is_sequence_model(model: torch.nn.Module) -> bool:
    return (any(isinstance(m, torch.nn.Conv1d) for m in model.modules())
            and not any(isinstance(m, torch.nn.Conv2d) for m in model.modules()))


def _check_input_size(model: torch.nn.Module, size: Tuple[int, ...]):
    """A given input size against the model: its form (C,L or C,H,W) and channels, said as the option and the
    argument (the model's own error showed the example batch and Python hints)."""
    given = ','.join(str(v) for v in size)
    in_chans = getattr(model, 'in_chans', None)
    sequence = _is_sequence_model(model)
    default = ','.join(str(v) for v in model_input_shape(model))  # the model's own, as an example
    if sequence and not (len(size) == 2 or (len(size) == 3 and size[1] == 1)):
        raise ValueError(f'--input-size {given} (input_size={size}): a sequence model\'s input size is C,L '
                         f'(channels, steps), e.g. its own: --input-size {default}')
    if not sequence and len(size) != 3:
        raise ValueError(f'--input-size {given} (input_size={size}): an image model\'s input size is C,H,W '
                         f'(channels, height, width), e.g. its own: --input-size {default}')
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    # a deployed model's weights are its final form: the model it was deployed from (its cfg names it) is what can be
    # built for other channels or, with whole-series kernels, deployed for another length
    source = tagged_name(cfg) or ''
    deployed = is_deployed(model)
    if isinstance(in_chans, int) and size[0] != in_chans:
        wanted = ','.join(str(v) for v in (in_chans,) + size[1:])
        other = (f'{size[0]} with {command_option(in_chans=size[0])} (model_kwargs=dict(in_chans={size[0]}))'
                 if not deployed else
                 f'{size[0]} from the training-form model it was deployed from'
                 + (f' ({source}) with --input-size {given} --model-kwargs in_chans={size[0]}' if source else ''))
        raise ValueError(f'--input-size {given} (input_size={size}): the model takes {input_channels_words(in_chans)}: '
                         f'pass --input-size {wanted} (input_size={(in_chans,) + size[1:]}), or build it for {other}')
    zero_pad_to = getattr(model, 'zero_pad_to', None) if sequence else None
    if isinstance(zero_pad_to, int) and size[-1] > zero_pad_to:
        # (the model's own error quoted an example batch the user never gave: trial 75 F2)
        raise ValueError(f'--input-size {given}: the model reads series zero-padded to {zero_pad_to} steps '
                         f'(zero_pad_to={zero_pad_to}), none longer: pass --input-size {size[0]},{zero_pad_to} (or '
                         f'fewer steps: they are padded to {zero_pad_to}), or leave --input-size out')
    fixed = deployed_length(model) if sequence else None
    if fixed is not None and size[-1] != fixed:
        # a deployed folder: its cfg's length is the one it was deployed for, not trained at (a warning said so, then
        # the model's own error gave a Python hint)
        raise ValueError(f'--input-size {given}: the model is deployed for {fixed} steps (its kernels were sampled '
                         f'for that length): leave --input-size out, or start from the training-form model it was '
                         f'deployed from' + (f' ({source}) with --input-size {given}{tag_in_chans_option(cfg, size[0])}'
                                             if source else ''))


def example_input(model: torch.nn.Module, batch_size: int, input_size: Optional[Sequence[int]] = None,
                   seed: int = 0) -> torch.Tensor:
    size = model_input_shape(model, input_size)
    return torch.randn(batch_size, *size, generator=torch.Generator().manual_seed(seed))


def is_deployed(model: torch.nn.Module) -> bool:
    """Whether ``model`` is re-parameterised (no BatchNorm left)."""
    return not has_batchnorm(model)


def _deploys_for_a_length(model: torch.nn.Module, example: Optional[torch.Tensor]) -> bool:
    """Whether ``model`` is a sequence model whose deployed kernels depend on the input length (its
    ``reparameterize`` takes ``length``)."""
    import inspect
    reparam = getattr(model, 'reparameterize', None)
    return example is not None and example.dim() == 3 and reparam is not None \
        and 'length' in inspect.signature(reparam).parameters


def _deployment_length(model: torch.nn.Module, example: torch.Tensor) -> int:
    """The length a sequence model's kernels are materialised for: the example's, or N for a model that reads
    series zero-padded to N steps (``zero_pad_to``; it pads a shorter example itself)."""
    return int(getattr(model, 'zero_pad_to', None) or example.shape[-1])


def deploy(model: torch.nn.Module, example: Optional[torch.Tensor] = None) -> torch.nn.Module:
    """The re-parameterised copy of ``model``; sequence models are deployed for the example's length (their
    kernels are as long as the input), those that read series zero-padded to N steps (``zero_pad_to``) for N."""
    from timm.utils import reparameterize_model
    model = model.eval()
    if is_deployed(model):
        return model
    deployed = copy.deepcopy(model)
    if _deploys_for_a_length(deployed, example):
        return deployed.reparameterize(length=_deployment_length(deployed, example)) or deployed
    return reparameterize_model(deployed)


def warn_new_classifier(src: str, model: torch.nn.Module, model_kwargs: Optional[Dict[str, Any]], source: str,
                        verb: str = 'deploys'):
    """A UserWarning where ``model_kwargs``' num_classes replaced the trained classifier of ``src`` by a random one.

    timm drops a trained classifier whose class count differs from num_classes (the fine-tuning idiom); deployed,
    exported or described, such a head is random. Random weights (``source`` 'random ...') have no trained head to
    lose: nothing to say. ``verb`` names what the hint's num_classes does for the command ('deploys', 'loads')."""
    if source.startswith('random') or (model_kwargs or {}).get('checkpoint_path'):
        return  # (a checkpoint_path= file's classifier is loaded, of the model's size: a strict load)
    trained = model.pretrained_cfg.get('num_classes')
    wanted = (model_kwargs or {}).get('num_classes')
    forced = ((model_kwargs or {}).get('pretrained_cfg_overlay') or {}).get('num_classes')
    if isinstance(forced, int) and forced < 0:
        # (timm's train.py --pretrained-path overlay: a new classifier whatever the counts; trial 73c F2, unsaid)
        warnings.warn(f'{src} built with num_classes={forced} in its pretrained_cfg_overlay (what timm\'s train.py '
                      f'--pretrained-path sets to train a new classifier): the classifier is new and initialised at '
                      f'random; leave num_classes out of the overlay to {verb[:-1]} the trained one',
                      UserWarning, stacklevel=caller_stacklevel())
        return
    if wanted and trained and wanted != trained:
        warnings.warn(f'{src} built with num_classes={wanted}: its weights classify {trained} classes, so the '
                      f'classifier is new and initialised at random (num_classes={trained} {verb} the trained one; '
                      f'num_classes=0 the features without a classifier)', UserWarning, stacklevel=caller_stacklevel())


def warn_adapted_back(src: str, model: torch.nn.Module, what: str) -> None:
    """A UserWarning where ``src``'s first layer was adapted to other channels and back (``adapted_back_message``):
    ``what`` it writes (the deployed model, the exported file) is not the weights it was adapted from."""
    cfg = model.pretrained_cfg
    origin = tagged_name(cfg)
    said = adapted_back_message(src, cfg, int(cfg['input_size'][0]) if cfg.get('input_size') else 0,
                                f'{what} is not the weights it was adapted from'
                                + (f' (give {origin} instead of {src})' if origin else ''))
    if said:
        warnings.warn(said, UserWarning, stacklevel=caller_stacklevel())


def _check_deployment_length(src: str, model: torch.nn.Module, example: torch.Tensor,
                             model_kwargs: Optional[Dict[str, Any]] = None):
    """Refuse a length no kernel can be deployed for (said as the option; the model's own error is the Python
    API's), and warn of one that changes whole-series kernels."""
    if not _deploys_for_a_length(model, example):
        return
    length = _deployment_length(model, example)
    if length < 2:
        size = tuple(example.shape[1:])
        default = ','.join(str(v) for v in model_input_shape(model))
        raise ValueError(f'--input-size {",".join(str(v) for v in size)} (input_size={size}): a sequence model\'s '
                         f'kernels are deployed for at least 2 steps; leave --input-size out to deploy it for its '
                         f'own, --input-size {default}')
    # a kernel sampled over the whole input (kernel_length=None) is another kernel at another length: the deployed
    # model equals the training form at that length, which is not the model as trained
    if not kernels_span_the_input(model):
        return
    assumed = said_length_not_recorded(model.pretrained_cfg)
    if assumed is not None:
        # weights of a file that records no trained length (trial 69b: deployed for the cfg's 150, silently, weights
        # trained at 300): the hint states their length (its folder then records it; trial 69c: --input-size left
        # the assumed 150 in the folder, and evaluate-seq warned of the right deployment); deployed already (trial
        # 69d: exported without a word), its source deployed again so, as evaluate-seq's hint says
        how = (f'deploy the model it was deployed from again with the length L they were trained at (train-seq '
               f'--length L) stated as their input size: smpconvnet reparam of it with '
               + stated_length_option(None, example.shape[1])
               if getattr(model, 'is_deployed', False) else
               f'give the length L they were trained at (train-seq --length L) as their input size, which deploys it '
               f'for L: ' + stated_length_option(_without_seq_len(model_kwargs), example.shape[1]))
        warnings.warn(f'{src}: the length its weights were trained at is not recorded with them ({assumed} steps, its '
                      f'cfg\'s, were taken for it), and its kernels span the whole input: deployed for {length} steps, '
                      f'it is the trained model only if they were trained at {length}; {how}',
                      UserWarning, stacklevel=caller_stacklevel())
        return
    trained = _trained_length(model)
    if length == trained and said_contradicted_length(model.pretrained_cfg) is not None:
        # deployed for a length stated against the weights' record: the trained model only if that record was wrong
        # (trial 70c: reparam and export said nothing of it, evaluate-seq warned)
        warnings.warn(f'{src} deployed for {length} steps: ' + _against_record(
            model, trained, length, model_kwargs, example.shape[1]), UserWarning, stacklevel=caller_stacklevel())
        return
    if length != trained:
        # the example's length wins over any seq_len (the caller's, a folder's model_args): one hint that works
        # whatever gave this length (leaving --input-size out deployed a folder created with seq_len=300 for 300)
        channels = example.shape[1]
        # (a deployed source takes no other length: its training form does; trial 68b, the hint was refused)
        origin = tagged_name(model.pretrained_cfg) or 'the model or folder it was deployed from'
        how = (f'deploy its training form ({origin}) with --input-size {channels},{trained}'
               + tag_in_chans_option(model.pretrained_cfg, channels)
               if getattr(model, 'is_deployed', False) else
               f'pass --input-size {channels},{trained} to deploy it for {trained} steps')
        record = _against_record(model, trained, length, model_kwargs, channels)
        record = f'; {record}' if record else ''
        warnings.warn(f'{src} deployed for {length} steps: its kernels span the whole input (kernel_length=None) and '
                      f'its pretrained_cfg gives {trained} steps (the length it was trained at, where its source '
                      f'records one: a weight file that names no model has the assumed model\'s), so for {length} it '
                      f'computes something else than for {trained}; {how} (pad shorter series to that length)'
                      + record,
                      UserWarning, stacklevel=caller_stacklevel())


def _against_record(model: torch.nn.Module, trained: int, length: int, model_kwargs: Optional[Dict[str, Any]],
                    channels: int) -> str:
    # where the trained length was stated against the weights' own record (its description says so), what that means
    # for a deployment for ``length`` steps and how to deploy for the record, if that record is right (trial 70c:
    # --input-size 1,150 of a folder stating 300 against 150 sent the user back to 300; only the overlay deployed the
    # model that scores 1.0); '' otherwise
    recorded = said_contradicted_length(model.pretrained_cfg)
    if recorded is None:
        return ''
    said = (f'its trained length was stated as {trained} steps against the {recorded} its weights record (its '
            f'description says so), and its kernels span the whole input: ')
    # (the caller's other arguments kept, a file's checkpoint_path= among them; a deployed folder's source has its own)
    option = stated_length_option(_without_seq_len(model_kwargs), channels, recorded)
    if length == recorded:
        return said + (f'deployed for {recorded}, it is the trained model if that record is right'
                       + ('' if getattr(model, 'is_deployed', False) else
                          f' (stated instead, the deployed folder says so: {option})'))
    said += 'it is the trained model only if that record was wrong; otherwise ' if length == trained else \
        'if that record is right, '
    if getattr(model, 'is_deployed', False):
        return said + (f'deploy the model it was deployed from again for {recorded} steps: smpconvnet reparam of it '
                       f'with {stated_length_option(None, channels, recorded)}')
    return said + f'state it instead, which deploys it for {recorded} steps: {option}'


def _without_seq_len(model_kwargs: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    # a caller's --model-kwargs for a hint that deploys for the length it states (seq_len= would deploy for its own)
    return {k: v for k, v in (model_kwargs or {}).items() if k != 'seq_len'}


def deployed_cfg(cfg: Dict[str, Any], channels: int, length: int, fixed: bool) -> Dict[str, Any]:
    """``cfg`` of a sequence model deployed for ``length`` steps: its input size ``(channels, 1, length)`` and per-step
    output size, and ``fixed_input_size`` where ``fixed`` (kernels materialised for that length take no other: timm's
    trait; the cfg said false while the card said "only")."""
    return dict(cfg, input_size=(channels, 1, length), pool_size=(1, length),
                **({'fixed_input_size': True} if fixed else {}))


def _trained_length(model: torch.nn.Module) -> int:
    # the length a sequence model's weights were trained at where its cfg records one (its input size is the
    # deployment length of a model created with seq_len=), else its cfg's length (random weights, an assumed one)
    return cfg_trained_length(model.pretrained_cfg) or model_input_shape(model)[-1]


def _command(words, input_size, pretrained, model_kwargs) -> Tuple[str, bool]:
    """The command line that does what this call does (for the model card): paths as typed (they reproduce the
    folder from the directory the command ran in), an absolute one by its name (no local directories in a card);
    and whether it named any so (the card then says how its paths are given)."""
    def shown(word: str) -> str:
        prefix = 'local-dir:' if word.startswith('local-dir:') else ''
        path = Path(word[len(prefix):])
        return prefix + path.name if path.is_absolute() else word
    typed, words = list(words), [shown(w) for w in words]
    named_paths = words != typed
    if input_size:
        words += ['--input-size', ','.join(map(str, input_size))]
    if pretrained != 'auto':
        words += ['--pretrained', 'yes' if pretrained else 'no']
    if model_kwargs:
        # a path among the values (checkpoint_path=, an overlay's file) named before quoting: a quote in its name
        # would split it in the quoted command, out of reach of the card's naming
        def named(value):
            if isinstance(value, dict):
                return {k: named(v) for k, v in value.items()}
            return local_paths_to_names(value) if isinstance(value, str) else value
        values = {k: named(v) for k, v in model_kwargs.items()}
        named_paths = named_paths or values != dict(model_kwargs)
        words += ['--model-kwargs'] + [f'{k}={json.dumps(v)}' for k, v in values.items()]
    return shlex.join(words), named_paths


def _warn_changed_computation(src: str, model_kwargs: Optional[Dict[str, Any]], source: str, verb: str):
    # arguments with which trained weights compute something else than the trained model (random ones have no
    # trained computation to lose): {name: (trained value, given value)}, each warned of
    changed = {} if source.startswith('random') else changed_computation(src, model_kwargs)
    for k, (trained, given) in changed.items():
        warnings.warn(changed_computation_message(src, k, trained, given, k in (model_kwargs or {}), verb),
                      UserWarning, stacklevel=caller_stacklevel())
    return changed


def _describe(model: torch.nn.Module, source: str, what: str, untag: bool = True):
    """Add ``what`` to the deployed model's description (its weights', else ``source``). ``untag``: a deployed folder
    that is not the tagged weights' model, without their tag (info would name the trained model); kept where the
    weights are the tag's (the hints that name the model it was deployed from read it)."""
    cfg = {k: v for k, v in model.pretrained_cfg.items() if not (untag and k == 'tag')}
    # (said already where the model was built so: a new classifier's, by the family's builder)
    set_pretrained_cfg(model, dict(cfg, description=with_note(model.pretrained_cfg.get('description') or source, what)))


def _features_error(deployed: torch.nn.Module, model: torch.nn.Module, x: torch.Tensor) -> float:
    """The relative difference of the deployed model's features before the head (timm's ``forward_features``) from
    the training form's on ``x``, in inference mode (0 for a model without them). The outputs alone can hide the
    blocks: an untrained network's logits can be its classifier's bias to six digits whatever its blocks compute
    (trial 73b: a random smpconvnet_t's hardly depend on the input)."""
    if not callable(getattr(deployed, 'forward_features', None)) or \
            not callable(getattr(model, 'forward_features', None)):
        return 0.
    with torch.inference_mode(), two_branch_eval(model):
        return relative_error(deployed.forward_features(x), model.forward_features(x))


def _refuse_tag_without_weights(src: str, source: str, pretrained: Any, verb: str) -> None:
    """Refuse a model named with its tag (``NAME.TAG``) whose weights ``load_model`` did not find under ``'auto'``
    (``source``: 'random weights (why)'): the name asks for the tag's weights, and the file would hold random ones
    under it, the command ending well (trial 73: `export smpconvnet_t.in1k` wrote a 110 MB random network).

    Raises:
        ValueError: naming ``src``, why there were no weights, and ``--pretrained no`` (``pretrained=False``) for
            the architecture with random weights."""
    from timm.models import get_pretrained_cfg, is_model, split_model_name_tag
    if pretrained != 'auto' or not source.startswith('random weights') or Path(src).exists():
        return
    name, tag = split_model_name_tag(src)
    cfg = get_pretrained_cfg(src) if tag and is_model(name) else None
    if cfg is None or weights_location(cfg.to_dict())[0] == 'none':  # (a tag of no weights: '.untrained')
        return
    why = source[len('random weights ('):-1] if source.endswith(')') else source
    raise ValueError(f'{src} names the weights of its tag, which are not available ({why}): {verb} would write random '
                     f'weights under that name; pass --pretrained no (pretrained=False) to {verb} its architecture '
                     f'with random weights')


def _refuse_feature_extractor(model_kwargs: Optional[Dict[str, Any]], command: str):
    """``features_only`` gives timm's feature wrapper, whose output is a list of maps: not a model that reparam saves
    or export writes with one output (it failed on the list, in the deployed-vs-training check)."""
    if not (model_kwargs or {}).get('features_only'):
        return
    if command == 'reparam':
        hint = ('run reparam without it and build the extractor from the deployed folder: '
                "timm.create_model('local-dir:DST', pretrained=True, features_only=True)")
    else:
        hint = ('for features pass --model-kwargs num_classes=0 (pooled features, model_kwargs=dict(num_classes=0)) '
                "or --model-kwargs num_classes=0 global_pool= (the last block's map, "
                "model_kwargs=dict(num_classes=0, global_pool=''))")
    raise ValueError(f'--model-kwargs features_only=True: {command} saves a model with one output, a feature '
                     f'extractor gives a list of feature maps; {hint}')


def reparameterize_to_folder(src: str, dst: str, force: bool = False, input_size: Optional[Sequence[int]] = None,
                             pretrained='auto', quiet: bool = False,
                             model_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Save the deployed form of ``src`` (name, hub id, folder or checkpoint) to the folder ``dst``;
    ``model_kwargs`` go to ``load_model`` (arguments the model is built with before its weights load)."""
    _refuse_feature_extractor(model_kwargs, 'reparam')
    check_not_managed(dst)
    dst_path = check_destination(dst, force, sources=[src], foreign=foreign_to_model_folder)
    t0 = time.perf_counter()
    print_step(f'[1/3] loading {src}', quiet)
    model, source, source_config = load_model_with_config(src, pretrained=pretrained, **(model_kwargs or {}))
    _refuse_tag_without_weights(src, source, pretrained, 'reparam')
    model.eval()
    print_step(f'      {source}', quiet)
    warn_new_classifier(src, model, model_kwargs, source)
    warn_adapted_back(src, model, 'the deployed model')
    changed = _warn_changed_computation(src, model_kwargs, source, 'deploy')
    if is_deployed(model):
        raise ValueError(f'{src} is already deployed (re-parameterised): it is the inference form reparam writes; '
                         f'use it as it is (info, export and load_model take it, and evaluate-seq a sequence model), '
                         f'or give reparam the training-form model it was deployed from')
    print_step('[2/3] re-parameterising', quiet)
    x = example_input(model, 2, input_size)
    _check_deployment_length(src, model, x, model_kwargs)
    deployed = deploy(model, x)
    # the reference is the training form's computation, branch by branch (eval-mode SMP-TCN units otherwise run the
    # folded convolution the deployed model is made of: a check of it against itself)
    with torch.inference_mode(), two_branch_eval(model):
        expected = model(x)
    with torch.inference_mode():
        err = max(relative_error(deployed(x), expected), _features_error(deployed, model, x))
    if not err <= EXPORT_TOLERANCE:
        raise RuntimeError(f'the deployed model differs from the training form by {err:.2e} relative')
    report: Dict[str, Any] = dict(source=source, max_rel_diff=err, dst=str(dst_path),
                                  params=sum(p.numel() for p in model.parameters()),
                                  deployed_params=sum(p.numel() for p in deployed.parameters()))

    def verify(folder: Path):
        # through timm's own local-dir: loading (what users and hf-hub: get), not only this package's
        reloaded = load_deployed(folder)
        ref_sd, new_sd = deployed.state_dict(), reloaded.state_dict()
        if ref_sd.keys() != new_sd.keys() or any(not torch.equal(ref_sd[k], new_sd[k]) for k in ref_sd):
            raise RuntimeError('verification failed: the reloaded deployed weights differ from the saved ones')
        with torch.inference_mode():
            err2 = relative_error(reloaded(x), expected)
        if not err2 <= EXPORT_TOLERANCE:
            raise RuntimeError(f'verification failed: the saved deployed model differs by {err2:.2e} relative')
        report['reloaded_max_rel_diff'] = err2

    architecture = model.pretrained_cfg.get('architecture', type(model).__name__)
    from timm.models._input import get_model_args
    # what timm's factory recorded to rebuild this architecture; a sequence model's whole architecture (its variant's
    # arguments and the class defaults too: a folder deployed from a tag recorded only the caller's overrides, and
    # rebuilt a redefined variant's network)
    model_args = dict(get_model_args(model), **getattr(model, 'arch_args', {}))
    extra = dict(source_config)  # e.g. the data set of a train-seq run, for evaluate-seq
    if source.startswith('random weights'):
        # said in the folder itself, not only in its card: without the weights' tag (info would name the trained
        # model), with a description that says so, and a key evaluate-seq warns about
        extra['random_weights'] = True
        set_pretrained_cfg(deployed, dict({k: v for k, v in deployed.pretrained_cfg.items() if k != 'tag'},
                                          description=f'{source}: not trained'))
    trained_classes, classes = deployed.pretrained_cfg.get('num_classes'), getattr(model, 'num_classes', None)
    if trained_classes and classes and classes != trained_classes:
        # a new classifier (another num_classes) is not the tagged weights' model either (the card's Classifier
        # line says so too)
        _describe(deployed, source, new_classifier_note(classes, trained_classes))
        extra['new_classifier'] = {'num_classes': classes, 'trained_num_classes': trained_classes}
    trained_chans, chans = weights_channels(deployed.pretrained_cfg), x.shape[1]
    if trained_chans and chans != trained_chans:
        # a first layer adapted to another channel count (in_chans=): not the tagged weights' model, and their
        # per-channel normalisation has no value for the new channels; their mean, as timm's data config takes it
        set_pretrained_cfg(deployed, with_channels(deployed.pretrained_cfg, chans))
        if not source.startswith('random weights'):  # (random ones had nothing to adapt)
            _describe(deployed, source, adapted_channels_note(chans, trained_chans))
    if changed:
        # the trained values, for the commands that read the folder (changed_computation: what the weights were
        # trained with, not what this folder was deployed with)
        extra[TRAINED_WITH_KEY] = {k: trained for k, (trained, _) in changed.items()}
        # not the trained model's computation: said in the folder (info, the card), not only on the terminal
        _describe(deployed, source, ', '.join(f'{k}={given!r} (trained with {trained!r})' for k, (trained, given)
                                              in changed.items()) + ': computes something else than the trained model',
                  untag=False)
    trained_length = _trained_length(model)
    if _deploys_for_a_length(model, x):
        # the length the kernels were materialised for: timm rebuilds the deployed structure from seq_len
        model_args['seq_len'] = extra['deployed_length'] = _deployment_length(model, x)
        # config.json's input size is the deployed one (that of the assumed model, for a bare file, differs)
        # whole-series kernels materialised for that length take no other (timm's fixed_input_size; the cfg said
        # false while the card said "only")
        set_pretrained_cfg(deployed, deployed_cfg(deployed.pretrained_cfg, x.shape[1], model_args['seq_len'],
                                                  fixed=kernels_span_the_input(model)))
        # (random weights, or a file that names no model, whose length was assumed: no trained model to differ from)
        if kernels_span_the_input(model) and model_args['seq_len'] != trained_length \
                and not source.startswith('random') and describes_trained_weights(model.pretrained_cfg) \
                and said_length_not_recorded(model.pretrained_cfg) is None:  # (an assumed length: warned above)
            # whole-series kernels resampled for another length (warned of above): not the trained model either
            _describe(deployed, source, f"whole-series kernels deployed for {model_args['seq_len']} steps "
                                        f"{trained_at(trained_length)}: computes something else than the trained model",
                      untag=False)
    dataset = extra.get('dataset') or {}
    command, paths_named = _command(['smpconvnet', 'reparam', src, dst], input_size, pretrained, model_kwargs)
    card = model_card(architecture, deployed, model_args, architecture, source=source, command=command,
                       deployed=True, trained_length=trained_length, paths_named=paths_named,
                       regression=dataset.get('name') if dataset.get('task') == 'regression' else None)
    print_step(f'[3/3] writing {dst_path} (deployed state dict + config.json, verified by loading it back)', quiet)
    write_model_folder(deployed, dst_path, card, model_args=model_args, deployed=True, force=force, verify=verify,
                       extra_config=extra)
    print_step(f"done in {time.perf_counter() - t0:.1f}s: {report['params']:,} -> {report['deployed_params']:,} "
          f"parameters; deployed vs training form {err:.1e}, reloaded {report['reloaded_max_rel_diff']:.1e} "
          f'(relative)', quiet)
    return report


def direct_convolutions():
    """Every large-kernel convolution computed directly in this block: exported graphs need it (ONNX has no FFT
    operator, and a trace would freeze the per-shape backend choice of ``conv_backends`` into the graph)."""
    return conv_backend('direct')


def _without_fft(model: torch.nn.Module) -> torch.nn.Module:
    """Sequence-model convolutions with a ``use_fft`` switch computed directly (same result; ONNX has no FFT)."""
    for m in model.modules():
        if isinstance(getattr(m, 'use_fft', None), (bool, type(None))) and hasattr(m, 'use_fft'):
            m.use_fft = False
    return model


class SequenceWithLengths(torch.nn.Module):
    """``model(x, lengths=lengths)`` as a module of two positional inputs: what an ONNX graph of a sequence classifier
    exports, so that right-padded batches are classified at each sample's true length (``x`` [B, C, L] float,
    ``lengths`` [B] int64, each in [1, L])."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model(x, lengths=lengths)


def takes_lengths(model: torch.nn.Module) -> bool:
    """Whether ``model`` is an SMP-TCN whose outputs at a series' valid steps depend on its lengths in a right-padded
    batch: a classifier (it pools or reads the valid steps) or a centred model of any pooling (its kernels reach into
    the padding, which it zeroes before every convolution). Its ONNX export then has a second input, ``lengths``. A
    causal model's per-step outputs (``global_pool=''``) at steps before a series' end do not depend on what
    follows."""
    return isinstance(model, (SMPConvTCN, SMPConvTCNEnsemble)) and (model.global_pool != '' or not model.causal)


def example_lengths(x: torch.Tensor) -> torch.Tensor:
    """Lengths of a right-padded batch ``x`` [B, C, L] for export checks: the full length first, then shorter ones."""
    length = x.shape[-1]
    return torch.tensor([length] + [max(1, length - 1 - (i * 7) % length) for i in range(1, x.shape[0])])


def _export_onnx(model: torch.nn.Module, x: torch.Tensor, path: Path, opset: int):
    inputs, names, dynamic = (x,), ['input'], {'input': {0: 'batch'}, 'output': {0: 'batch'}}
    if takes_lengths(model):
        model, inputs, names = SequenceWithLengths(model), (x, example_lengths(x)), ['input', 'lengths']
        dynamic['lengths'] = {0: 'batch'}
    with warnings.catch_warnings():
        # the TorchScript-based exporter works without onnxscript; torch flags it as the legacy path
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        # torch says it cannot fold strided slices: they run in the file instead (checked after the export)
        warnings.filterwarnings('ignore', message='Constant folding - Only steps=1')
        torch.onnx.export(model, inputs, str(path), dynamo=False, input_names=names, output_names=['output'],
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)


def run_onnx(path: Union[str, Path], x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Outputs of the ONNX file ``path`` on ``x`` with onnxruntime; ``lengths`` ([B] ints) for a sequence classifier's
    right-padded batch (a file that takes them, given None, reads every series whole: lengths = L). ``x`` and
    ``lengths`` may be tensors or NumPy arrays (``x`` is read as float32, as the exported models take it)."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise RuntimeError('checking the ONNX file needs onnxruntime: pip install "smpconvnet[export]" '
                           '(or pass --no-check)') from e
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    import numpy as np
    x = torch.as_tensor(np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x).detach().cpu().float()
    feed = {'input': x.contiguous().numpy()}
    if lengths is None and any(i.name == 'lengths' for i in session.get_inputs()):
        lengths = torch.full((x.shape[0],), x.shape[-1])
    expected = session.get_inputs()[0].shape  # ['batch', C, L] or ['batch', C, H, W]: only the batch is dynamic
    if len(expected) != x.dim() or any(isinstance(e, int) and e != n for e, n in zip(expected[1:], x.shape[1:])):
        raise ValueError(f'{path} takes input [batch, {", ".join(str(e) for e in expected[1:])}], got '
                         f'{list(x.shape)}: an exported file fixes all but the batch size; export it again with '
                         f'--input-size for another size')
    if lengths is not None and not any(i.name == 'lengths' for i in session.get_inputs()):
        raise ValueError(f'{path} takes no lengths (its inputs: {", ".join(i.name for i in session.get_inputs())}): '
                         f'a causal model\'s per-step outputs (global_pool=\'\') at a series\' steps do not depend on '
                         f'its padding; call run_onnx without lengths and read outputs[b, :, :lengths[b]]')
    if lengths is not None:
        lengths = torch.as_tensor(np.ascontiguousarray(lengths) if isinstance(lengths, np.ndarray) else lengths).cpu()
        # as the eager model checks them (the exported graph does not: 0 gave NaN, 151 of 150 steps other outputs)
        if lengths.dtype == torch.bool or lengths.shape != (x.shape[0],) or not bool(torch.isfinite(
                lengths.double()).all()) or not bool((lengths == lengths.round()).all()):
            raise ValueError(f'lengths must be {x.shape[0]} whole numbers of steps (one per series), got '
                             f'{lengths.tolist()}')
        if not bool(((lengths >= 1) & (lengths <= x.shape[-1])).all()):
            raise ValueError(f'lengths must lie in [1, {x.shape[-1]}] (the input has {x.shape[-1]} steps), got '
                             f'{lengths.tolist()}')
        feed['lengths'] = lengths.to(torch.int64).numpy()
    return torch.from_numpy(session.run(None, feed)[0])


def deployed_length(model: torch.nn.Module) -> Optional[int]:
    """The one input length a deployed sequence model accepts (its static kernels were sampled for it), or None."""
    lengths = fixed_input_lengths(model)
    return lengths.pop() if len(lengths) == 1 else None


def _export_torchscript(model: torch.nn.Module, path: Path) -> str:
    """``torch.jit.script`` (every family compiles, the deployed sequence models' length check included), saved."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch.jit is deprecated upstream, still what TorchScript users load
        try:
            scripted = torch.jit.script(model)
        except RuntimeError as e:  # (TorchScript's compile error: a page of source, not what to do)
            pools = sorted({type(m).__name__ for m in model.modules()
                            if 'AvgMax' in type(m).__name__ and type(m).__module__.startswith('timm.')})
            why = (f"timm's {', '.join(pools)} (global_pool='avgmax' / 'catavgmax') does not compile with "
                   f'torch.jit.script' if pools else f'torch.jit.script cannot compile this model '
                   f'({str(e).strip().splitlines()[0][:200]})')
            raise ValueError(f'{why}: export it with --format onnx (checked against PyTorch the same way)') from e
        torch.jit.save(scripted, str(path))
    return 'torch.jit.script'


def export_model(src: str, out: str, fmt: str = 'onnx', force: bool = False,
                 input_size: Optional[Sequence[int]] = None, opset: int = DEFAULT_ONNX_OPSET, check: bool = True,
                 pretrained='auto', quiet: bool = False,
                 model_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Re-parameterise ``src`` and export it to ``out`` (ONNX or TorchScript), checked against PyTorch;
    ``model_kwargs`` go to ``load_model`` (arguments the model is built with before its weights load)."""
    if fmt not in ('onnx', 'torchscript'):
        raise ValueError(f"unknown export format {fmt!r}: expected 'onnx' or 'torchscript'")
    _refuse_feature_extractor(model_kwargs, 'export')
    if fmt == 'onnx' and not (isinstance(opset, int) and MIN_ONNX_OPSET <= opset <= MAX_ONNX_OPSET):
        raise ValueError(f'--opset {opset} (opset={opset}): the models export to ONNX opsets {MIN_ONNX_OPSET} to '
                         f'{MAX_ONNX_OPSET} (the default is {DEFAULT_ONNX_OPSET})')
    check_not_managed(out)
    out_path = check_destination(out, force, sources=[src])
    suffix = Path(out).suffix.lower()
    # a weight file's name too: `info m.safetensors` then failed on a header that was a TorchScript archive
    torchscript = ('.pt', '.pth', '.ts', '.torchscript', '.jit')
    other = {'onnx': torchscript, 'torchscript': ('.onnx',)}[fmt]
    wanted = '.onnx' if fmt == 'onnx' else '.pt'
    if suffix in other + ('.safetensors', '.bin'):  # a TorchScript file named .onnx fails in onnxruntime later
        kind, switch = ('an ONNX', 'torchscript') if fmt == 'onnx' else ('a TorchScript', 'onnx')
        raise ValueError(f"{out}: a {suffix} name for {kind} file; name it {Path(out).with_suffix(wanted)}"
                         + (f" or choose --format {switch} (fmt='{switch}' in Python)" if suffix in other else
                            ' (that name is a state dict\'s)'))
    if suffix not in ('.onnx',) + torchscript:
        # an export's name (--force replaces an earlier export only, so a file written as x.txt could not be
        # replaced by the same command; a user's r.yaml had been replaced by a graph)
        raise ValueError(f'{out}: an export\'s name ends in .onnx (ONNX) or {", ".join(torchscript)} (TorchScript); '
                         f'name it {Path(out).with_suffix(wanted)}')
    t0 = time.perf_counter()
    print_step(f'[1/4] loading {src}', quiet)
    model, source = load_model(src, pretrained=pretrained, **(model_kwargs or {}))
    _refuse_tag_without_weights(src, source, pretrained, 'export')
    _warn_changed_computation(src, model_kwargs, source, 'export')
    model.eval()
    print_step(f'      {source}', quiet)
    warn_new_classifier(src, model, model_kwargs, source)
    warn_adapted_back(src, model, 'the exported file')
    print_step('[2/4] re-parameterising', quiet)
    zero_pad_to = getattr(model, 'zero_pad_to', None)
    if fmt == 'onnx' and zero_pad_to is not None and input_size is not None and input_size[-1] != zero_pad_to:
        # the ONNX graph takes the example's length only (a TorchScript file pads shorter series itself): a file
        # for fewer steps than the model reads would refuse every series of another length
        channels = model_input_shape(model)[0]
        raise ValueError(
            f'{src} reads series zero-padded to {zero_pad_to} steps (zero_pad_to), so its ONNX file takes '
            f'{zero_pad_to} steps: pass --input-size {channels},{zero_pad_to} (input_size=({channels}, '
            f'{zero_pad_to})) or leave it out, and pad shorter series with zeros before the ONNX file')
    x1 = example_input(model, 1, input_size)
    x2 = example_input(model, 3, input_size, seed=1)  # another batch size: the batch axis must be dynamic
    _check_deployment_length(src, model, x1, model_kwargs)
    source_deployed = is_deployed(model)  # a deployed folder: no training form to compare with (deploy keeps it)
    deployed = deploy(model, x1)
    # ONNX of a sequence classifier takes lengths too (right-padded batches); checked on padded samples
    lengths = example_lengths(x2) if fmt == 'onnx' and takes_lengths(deployed) else None
    call = {} if lengths is None else {'lengths': lengths}
    with torch.inference_mode(), two_branch_eval(model):
        expected = deployed(x2, **call)
        train_err = None if source_deployed else max(relative_error(expected, model(x2, **call)),
                                                     _features_error(deployed, model, x2) if not call else 0.)
    if train_err is not None and not train_err <= EXPORT_TOLERANCE:
        raise RuntimeError(f'the deployed model differs from the training form by {train_err:.2e} relative '
                           f'(tolerance {EXPORT_TOLERANCE:.0e}); nothing written')
    report: Dict[str, Any] = dict(source=source, format=fmt, out=str(out_path), input_size=list(x1.shape[1:]),
                                  deployed_vs_training=train_err)
    print_step(f'[3/4] exporting to {fmt} (input {tuple(x1.shape[1:])}'
               f"{', lengths [batch]' if lengths is not None else ''}, dynamic batch)", quiet)
    report['inputs'] = ['input', 'lengths'] if lengths is not None else ['input']
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out_path) as tmp:
        with torch.no_grad(), direct_convolutions():
            if fmt == 'onnx':
                _export_onnx(_without_fft(copy.deepcopy(deployed)), x1, tmp, opset)
            else:
                report['method'] = _export_torchscript(deployed, tmp)
        if check:
            print_step(f"[4/4] checking the exported file on a batch of 3 "
                  f"({'onnxruntime' if fmt == 'onnx' else 'torch.jit.load'})", quiet)
            if fmt == 'onnx':
                actual = run_onnx(tmp, x2, lengths)
            else:
                with torch.inference_mode(), warnings.catch_warnings():
                    # torch flags TorchScript as deprecated; loading the file back is the check users need
                    warnings.filterwarnings('ignore', message='`torch.jit.load` is deprecated')
                    actual = torch.jit.load(str(tmp))(x2)
            err = relative_error(actual, expected)
            report['exported_vs_pytorch'] = err
            if not err <= EXPORT_TOLERANCE:
                raise RuntimeError(f'the exported model differs from PyTorch by {err:.2e} relative '
                                   f'(tolerance {EXPORT_TOLERANCE:.0e}); nothing written')
    size_mb = out_path.stat().st_size / 2 ** 20
    checked = (f"; outputs equal PyTorch to {report['exported_vs_pytorch']:.1e} relative"
               if 'exported_vs_pytorch' in report else ' (file not checked)')
    checked += ('; the source is deployed: no training form to compare with' if train_err is None
                else f'; deployed vs training form {train_err:.1e}')
    print_step(f'done in {time.perf_counter() - t0:.1f}s: {out_path} ({size_mb:.1f} MB){checked}', quiet)
    return report
