"""Checkpoint handling shared by every model family: unwrapping training checkpoints, recognising and checking
deployed (re-parameterised) state dicts. Each family's ``checkpoint_filter_fn`` builds on these."""
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn

__all__ = ['STATE_DICT_KEYS', 'clean_key', 'unwrap_state_dict', 'find_state_dict', 'is_deployed_state_dict',
           'has_batchnorm', 'check_deployed_fit', 'check_weights_file', 'install_checkpoint_path_hook']

# where training checkpoints keep the weights, in timm's order of preference (load_state_dict): EMA weights first
STATE_DICT_KEYS = ('state_dict_ema', 'model_ema', 'state_dict', 'model')
# wrappers whose prefixes a saved state dict can carry: (Distributed)DataParallel, torch.compile
WRAPPER_PREFIXES = ('module.', '_orig_mod.')


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
    if path.suffix == '.safetensors':
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


def clean_key(key: str) -> str:
    """``key`` without (Distributed)DataParallel / torch.compile prefixes (``module._orig_mod.x`` -> ``x``)."""
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split('.', 1)[1]
    return key


def find_state_dict(checkpoint: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """(state dict with wrapper prefixes removed, the checkpoint key it was under or None for a bare state dict),
    preferring EMA weights as timm does (``STATE_DICT_KEYS``). Values are not checked."""
    for key in STATE_DICT_KEYS:
        if isinstance(checkpoint.get(key), dict):
            return {clean_key(k): v for k, v in checkpoint[key].items()}, key
    return {clean_key(k): v for k, v in checkpoint.items()}, None


def unwrap_state_dict(checkpoint: Dict[str, Any], what: str = 'a state dict') -> Dict[str, torch.Tensor]:
    """The state dict of a training checkpoint (``find_state_dict``), checked to map names to tensors.

    Raises:
        ValueError: anything else, naming ``what`` was expected and the keys found.
    """
    state_dict, _ = find_state_dict(checkpoint)
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(
            f'expected {what} (a mapping of parameter names to tensors), optionally wrapped as '
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
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


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


def install_checkpoint_path_hook() -> None:
    """Make ``timm.create_model(name, checkpoint_path=...)`` of this project's models check the file and accept
    every layout their pretrained path accepts.

    timm reads ``checkpoint_path`` itself after building the model (``timm.models._factory.load_checkpoint``), with
    no filter and before any code of the model runs: an empty file gave a bare ``EOFError``, a truncated
    ``.safetensors`` a ``SafetensorError`` without the file name, an original-layout checkpoint missing keys. For a
    model whose class is defined in ``smpconvnet.models``, the file is first checked (``check_weights_file``: a
    ``ValueError`` naming the model, the file and what was expected) and then loaded through timm's own
    ``load_checkpoint`` with the family's ``checkpoint_filter_fn`` (original layouts, deployed state dicts). Every
    other model, and every other caller of timm's ``load_checkpoint``, is untouched. Installing twice is a no-op.
    """
    import functools
    import sys
    from timm.models import _factory
    timm_load_checkpoint = _factory.load_checkpoint
    if getattr(timm_load_checkpoint, '_smpconvnet_hook', False):
        return

    @functools.wraps(timm_load_checkpoint)
    def load_checkpoint(model, checkpoint_path, *args, **kwargs):
        module = sys.modules.get(type(model).__module__)
        if module is None or not module.__name__.startswith(__name__.rsplit('.', 1)[0] + '.'):
            return timm_load_checkpoint(model, checkpoint_path, *args, **kwargs)
        name = getattr(model, 'pretrained_cfg', {}).get('architecture') or type(model).__name__
        try:
            check_weights_file(checkpoint_path)
        except (ValueError, FileNotFoundError) as e:
            raise type(e)(f'checkpoint_path for {name}: {e}') from None
        kwargs.setdefault('filter_fn', getattr(module, 'checkpoint_filter_fn', None))
        return timm_load_checkpoint(model, checkpoint_path, *args, **kwargs)

    load_checkpoint._smpconvnet_hook = True
    _factory.load_checkpoint = load_checkpoint
