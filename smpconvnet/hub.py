"""Where pretrained weights come from: the Hugging Face Hub namespace and the weights shipped in ``weights/``.

Every published model tag ``<model>.<tag>`` has ``hf_hub_id = '<namespace>/<model>.<tag>'`` (timm's
convention), where the namespace is the single setting ``SMPCONVNET_HUB_NAMESPACE`` (environment variable,
read when smpconvnet is imported; default ``smpconvnet``). Weights this project ships (small sequence
models) also live in ``weights/<model>.<tag>/model.safetensors`` of the source tree; when that file exists
the pretrained config points at it (timm prefers ``file`` over ``hf_hub_id``), so they load offline with an
empty Hub cache.
"""
import os
from pathlib import Path
from typing import Any, Dict

__all__ = ['DEFAULT_HUB_NAMESPACE', 'WEIGHTS_DIR', 'hub_namespace', 'hub_id', 'weight_source_cfg']

DEFAULT_HUB_NAMESPACE = 'smpconvnet'
HUB_NAMESPACE_ENV = 'SMPCONVNET_HUB_NAMESPACE'

# the repository's weights/ folder (present in a source checkout / editable install)
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / 'weights'
WEIGHTS_FILENAME = 'model.safetensors'


def hub_namespace() -> str:
    """The Hub organisation or user that hosts this project's weights."""
    return os.environ.get(HUB_NAMESPACE_ENV, '').strip().strip('/') or DEFAULT_HUB_NAMESPACE


def hub_id(model_name: str, tag: str) -> str:
    return f'{hub_namespace()}/{model_name}.{tag}'


def shipped_weights_file(model_name: str, tag: str) -> Path:
    return WEIGHTS_DIR / f'{model_name}.{tag}' / WEIGHTS_FILENAME


def weight_source_cfg(model_name: str, tag: str) -> Dict[str, Any]:
    """Keys to merge into a ``default_cfgs`` entry so that ``pretrained=True`` finds the weights."""
    cfg: Dict[str, Any] = {'hf_hub_id': hub_id(model_name, tag)}
    local = shipped_weights_file(model_name, tag)
    if local.is_file():
        cfg['file'] = str(local)
    return cfg
