"""Checkpoint handling shared by every model family: unwrapping training checkpoints, recognising and checking
deployed (re-parameterised) state dicts. Each family's ``checkpoint_filter_fn`` builds on these."""
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ['STATE_DICT_KEYS', 'clean_key', 'unwrap_state_dict', 'find_state_dict', 'is_deployed_state_dict',
           'has_batchnorm', 'check_deployed_fit']

# where training checkpoints keep the weights, in timm's order of preference (load_state_dict): EMA weights first
STATE_DICT_KEYS = ('state_dict_ema', 'model_ema', 'state_dict', 'model')
# wrappers whose prefixes a saved state dict can carry: (Distributed)DataParallel, torch.compile
WRAPPER_PREFIXES = ('module.', '_orig_mod.')


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
