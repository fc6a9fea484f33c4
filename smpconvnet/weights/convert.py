"""The authors' SMPConvNet checkpoints -> a folder the Hub and timm understand (``smpconvnet convert``).

``convert_checkpoint(src, dst)`` reads an original SMPConvNet ImageNet checkpoint (``.pth`` as released:
``{'model': ...}``, ``{'model_ema': ...}``, ``module.`` prefixes or a bare state dict; or ``.safetensors``),
recognises SMPConvNet-T or -B from the tensor shapes (any other size is converted too, its architecture
recorded as ``model_args`` in ``config.json``), and writes ``DST/`` with ``model.safetensors`` (this package's
key layout), ``config.json`` (timm's format) and a model card ``README.md``. The folder is written under a
temporary name, verified by loading it back through ``timm.create_model('local-dir:...', pretrained=True)`` and
comparing its outputs with the network built from the checkpoint (its weights in this package's model; the
outputs equal the authors' code's recorded ones, ``tests/fixtures``), and only then renamed into place.
"""
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Union

import torch

from ..atomic_io import check_destination
from ..layers.reparam import relative_error
from ..models import weights_loaded_after
from .folders import (
    CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, check_not_managed, foreign_to_model_folder, model_card, print_step,
    retrained_cfg, set_pretrained_cfg, write_model_folder,
)
from .hub import sha256_file
from .sources import detect_architecture, identify_checkpoint, read_checkpoint, weights_file_hints

__all__ = ['convert_checkpoint', 'VERIFY_INPUT_SIZE', 'VERIFY_TOLERANCE']

# what the converter compares between the converted folder, reloaded, and the network built from the checkpoint
VERIFY_INPUT_SIZE = 64
VERIFY_TOLERANCE = 1e-5

PathLike = Union[str, os.PathLike]


def _in_original_names(message: str) -> str:
    """torch's load_state_dict error with each key as the authors' layout names it (the file's), not this
    package's."""
    from ..models.smpconvnet import original_key
    message = re.sub(r'"([^"]+)"', lambda m: f'"{original_key(m.group(1))}"', message)
    message = re.sub(r'size mismatch for ([^:\s]+):', lambda m: f'size mismatch for {original_key(m.group(1))}:',
                     message)
    return message.replace('in state_dict:', 'in the checkpoint:').strip() + ' (keys in the authors\' layout)'


def _refuse_other_family(src: Path, checkpoint: Dict[str, Any], state_dict: Any):
    """A ``ValueError`` for a checkpoint of another SMP family (an SMP-TCN or SMP-ResNet, the original sequence
    model's layout included): convert reads the authors' SMPConvNet ImageNet checkpoints; the other commands read such
    a file as it is ("not an SMPConvNet checkpoint" said nothing of that)."""
    from timm.models import split_model_name_tag
    from ..models.smpconvnet import ARCH_CONFIGS
    if state_dict is None or 'stem.0.conv.weight' in state_dict:
        return
    folder = src.parent
    try:
        source = identify_checkpoint(checkpoint)
    except ValueError:
        if not (folder / CONFIG_NAME).is_file():
            return  # detect_architecture says what it is not
        source = None  # a deployed model's weights, say: its folder tells
    if source is not None and split_model_name_tag(source.architecture)[0] in ARCH_CONFIGS:
        return
    # a bare state dict's description is the family default it would be read as (smpconv_tcn_smnist): not what it is
    what = (f'an {source.description.split()[0]} state dict that names no model' if source and source.assumed else
            source.description if source else None)
    head = (f'{src} holds {what}, not' if what else f'{src} is not') + (
        ' an SMPConvNet ImageNet checkpoint, which convert reads; ')
    if (folder / CONFIG_NAME).is_file():
        # a model, run or deployed folder: its config.json records what a bare file's shapes do not (pooling,
        # kernel length, input length, normalisation, labels; a deployed state dict names no architecture at all)
        raise ValueError(head + f'its folder {folder} records the model: give the folder to any command, e.g. '
                                f'`smpconvnet info {folder}`, `smpconvnet export {folder} -o OUT.onnx`')
    hints = weights_file_hints(src) if source.assumed else []  # (source is known here: no folder)
    if hints:
        # the registered models it fits, with their pooling, kernel length and data config (the file alone is read
        # as the family's default model: another network for these weights)
        raise ValueError(head + 'other commands read it as the registered model it was saved from: '
                         + '; or '.join(hints[:3]) + f' (e.g. `smpconvnet reparam NAME OUT --model-kwargs ...`)')
    raise ValueError(head + f'every other command reads it as it is: e.g. `smpconvnet reparam {src} OUT` for a '
                            f'deployed folder, `smpconvnet info {src}`'
                     + (' (arguments its shapes do not tell are assumed, with a warning that says how to give them)'
                        if source.assumed else ''))


def convert_checkpoint(
        src: PathLike,
        dst: PathLike,
        force: bool = False,
        trust_pickle: bool = False,
        quiet: bool = False,
) -> Dict[str, Any]:
    """Convert an original SMPConvNet checkpoint to a timm/Hub folder; returns a summary dict."""
    import timm
    from ..models import unwrap_state_dict
    from ..models.smpconvnet import checkpoint_filter_fn, is_original_layout

    if not os.fspath(src).strip():  # Path('') is the current folder, which the hint would then name
        raise ValueError('the checkpoint path is empty: give the original .pth or .safetensors file')
    check_not_managed(dst)
    # the card's command names both by their names: said there where either was given with its directories
    paths_named = any(Path(p).name != os.fspath(p) for p in (src, dst))
    src, dst = Path(src), check_destination(dst, force, sources=[src], foreign=foreign_to_model_folder)
    t0 = time.perf_counter()
    print_step(f'[1/4] reading {src}', quiet)
    checkpoint = read_checkpoint(src, trust_pickle=trust_pickle)
    try:
        state_dict = unwrap_state_dict(checkpoint, 'an SMPConvNet state dict')
    except ValueError:
        state_dict = None  # detect_architecture says what it is not
    if state_dict is not None and 'stem.0.conv.weight' in state_dict and not is_original_layout(state_dict):
        # "cannot tell the SMP kernel sizes ... names no model" said nothing of what to do with such a file
        folder = src.parent
        how = (f'its folder {folder} is a model folder already (its {CONFIG_NAME} records the model): give '
               f'local-dir:{folder} to any command, or timm.create_model(\'local-dir:{folder}\', pretrained=True)'
               if (folder / CONFIG_NAME).is_file() else
               f'e.g. `smpconvnet reparam {src} OUT` for a deployed folder (its kernel sizes are assumed, with a '
               f"warning, unless given with --model-kwargs 'large_kernel_sizes=[...]')")
        raise ValueError(f'{src} is in this package\'s layout already (no kernel_coord grids), not one of the authors\' '
                         f'checkpoints, which convert reads; every other command reads it as it is: {how}')
    _refuse_other_family(src, checkpoint, state_dict)
    try:
        architecture, model_args, description = detect_architecture(checkpoint)
    except ValueError as e:
        raise ValueError(f'{src}: {e}') from e
    print_step(f'      {description}: {architecture}' + (f' with {model_args}' if model_args else ''), quiet)

    print_step('[2/4] building the network and loading the original weights (checkpoint_filter_fn)', quiet)
    with weights_loaded_after():  # the original's weights are loaded next
        original = timm.create_model(architecture, **model_args).eval()
    try:
        original.load_state_dict(checkpoint_filter_fn(checkpoint, original), strict=True)
    except RuntimeError as e:
        raise ValueError(f'{src}: its weights do not load into {architecture}: {_in_original_names(str(e))}') from e
    del checkpoint
    if model_args:
        # not the authors' ImageNet-1k T or B (other classes, channels or size): not the in1k tag, Hub repo and paper
        # of those weights (a 10-class file's folder was headed smpconvnet_t.in1k)
        set_pretrained_cfg(original, retrained_cfg(original.pretrained_cfg, description=description))

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, original.in_chans, VERIFY_INPUT_SIZE, VERIFY_INPUT_SIZE, generator=gen)
    with torch.inference_mode():
        expected = original(x)
    report: Dict[str, Any] = dict(architecture=architecture, model_args=model_args, description=description,
                                  source_sha256=sha256_file(src), dst=str(dst))

    def verify(folder: Path):
        print_step('[4/4] verifying: loading the folder back through timm (local-dir:) and comparing outputs', quiet)
        reloaded = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
        ref_sd, new_sd = original.state_dict(), reloaded.state_dict()
        if ref_sd.keys() != new_sd.keys() or any(not torch.equal(ref_sd[k], new_sd[k]) for k in ref_sd):
            raise RuntimeError('verification failed: the converted weights differ from the original ones')
        with torch.inference_mode():
            err = relative_error(reloaded(x), expected)
        if not err <= VERIFY_TOLERANCE:
            raise RuntimeError(f'verification failed: outputs differ by {err:.2e} (relative) from the network built '
                               f'from the checkpoint (tolerance {VERIFY_TOLERANCE:.0e})')
        report['max_rel_diff'] = err

    command = f'smpconvnet convert {src.name} {dst.name}'
    card = model_card(architecture, original, model_args, description,
                       source=f'converted from `{src.name}` (sha256 `{report["source_sha256"]}`), the authors\' '
                              'checkpoint layout (https://github.com/sangnekim/SMPConv)',
                       command=command, paths_named=paths_named)
    print_step(f'[3/4] writing {WEIGHTS_NAME}, {CONFIG_NAME}, {CARD_NAME} (to a temporary folder first)', quiet)
    write_model_folder(original, dst, card, model_args=model_args, force=force, verify=verify)
    report['weights_sha256'] = sha256_file(dst / WEIGHTS_NAME)
    print_step(f'done in {time.perf_counter() - t0:.1f}s: {dst} (reloaded, its outputs equal the network built from '
               f"the checkpoint to {report['max_rel_diff']:.1e} relative; {WEIGHTS_NAME} sha256 "
               f"{report['weights_sha256'][:16]}...)", quiet)
    return report
