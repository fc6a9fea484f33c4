"""``smpconvnet convert``: the authors' checkpoints -> a folder the Hub and timm understand; model loading.

``convert_checkpoint(src, dst)`` reads an original SMPConvNet ImageNet checkpoint (``.pth`` as released:
``{'model': ...}``, ``{'model_ema': ...}``, ``module.`` prefixes or a bare state dict; or ``.safetensors``),
recognises SMPConvNet-T or -B from the tensor shapes (any other size is converted too, its architecture
recorded as ``model_args`` in ``config.json``), and writes ``DST/`` with ``model.safetensors`` (this package's
key layout), ``config.json`` (timm's format) and a model card ``README.md``. The folder is written under a
temporary name, verified by loading it back through ``timm.create_model('local-dir:...')`` and comparing
its outputs with the original network, and only then renamed into place.

``load_model(spec)`` builds a model from whatever a command is given: a registered name (``smpconvnet_t``,
``smpconvnet_t.in1k``), ``hf-hub:org/name``, ``local-dir:/path`` or a folder (converted or deployed by
``smpconvnet reparam``), or a checkpoint file.
"""
import argparse
import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

import torch

from .atomic_io import atomic_dir
from .hub import sha256_file
from .reparam import relative_error

__all__ = [
    'read_checkpoint', 'detect_architecture', 'convert_checkpoint', 'write_model_folder', 'load_model',
    'DEPLOYED_KEY',
]

WEIGHTS_NAME = 'model.safetensors'
CONFIG_NAME = 'config.json'
CARD_NAME = 'README.md'
# top-level config.json key marking a folder that holds a re-parameterised (deployed) state dict
DEPLOYED_KEY = 'deployed'
# what the converter compares between the converted folder and the original network
VERIFY_INPUT_SIZE = 64
VERIFY_TOLERANCE = 1e-5

PAPER_TOP1 = {'smpconvnet_t': 82.5, 'smpconvnet_b': 83.8}
CITATION = """@inproceedings{kim2023smpconv,
  title={SMPConv: Self-moving Point Representations for Continuous Convolution},
  author={Kim, Sanghyeon and Park, Eunbyung},
  booktitle={Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2023}
}"""

PathLike = Union[str, os.PathLike]


def _step(msg: str, quiet: bool = False):
    if not quiet:
        print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Reading checkpoints

def read_checkpoint(path: PathLike, trust_pickle: bool = False) -> Dict[str, Any]:
    """Load a checkpoint file as a dict (state dict or training checkpoint), on the CPU.

    ``.safetensors`` is read directly. Anything else goes through ``torch.load(weights_only=True)``, which
    also accepts the ``argparse.Namespace`` training scripts store next to the weights; other pickled
    objects need ``trust_pickle=True`` (only for files from a source you trust: unpickling runs code).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if path.stat().st_size == 0:
        raise ValueError(f'{path} is empty (0 bytes): expected a .pth or .safetensors checkpoint')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        try:
            return load_file(str(path), device='cpu')
        except Exception as e:  # noqa: BLE001  (safetensors raises its own error types)
            raise ValueError(f'{path} is not a readable .safetensors file (corrupt or truncated?): {e}') from e
    try:
        if trust_pickle:
            checkpoint = torch.load(path, map_location='cpu', weights_only=False)
        else:
            with torch.serialization.safe_globals([argparse.Namespace]):
                checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except __import__('pickle').UnpicklingError as e:
        raise ValueError(
            f'{path} holds Python objects that safe loading refuses ({str(e).splitlines()[0]}); if you trust '
            f'the file, pass --trust-pickle (trust_pickle=True)') from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(f'{path} is not a readable PyTorch checkpoint (corrupt or truncated?): '
                         f'{str(e).splitlines()[0] if str(e) else type(e).__name__}') from e
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{path} holds a {type(checkpoint).__name__}, expected a state dict or a dict with '
                         f"'model' / 'model_ema' / 'state_dict'")
    return checkpoint


def _n_points_divide(kernel_sizes, n_points) -> Optional[int]:
    for d in range(1, 257):
        if all(k * k // d == n for k, n in zip(kernel_sizes, n_points)):
            return d
    return None


def detect_architecture(checkpoint: Dict[str, Any]) -> Tuple[str, Dict[str, Any], str]:
    """(registered architecture, model_args, description) of an SMPConvNet checkpoint, from its shapes.

    SMPConvNet-T and -B give ``smpconvnet_t`` / ``smpconvnet_b`` and only the arguments that differ from
    them (classes, input channels); another size gives the family's ``smpconvnet_t`` with every
    architecture argument, so ``config.json`` rebuilds it exactly.
    """
    from .smpconvnet import _ARCH_CONFIGS, _remap_original_keys, _unwrap_checkpoint, _is_original_layout, \
        infer_config_from_checkpoint
    try:
        cfg = infer_config_from_checkpoint(checkpoint)
    except ValueError as e:
        raise ValueError(f'cannot tell which SMPConvNet this is: {e}') from e
    state_dict = _unwrap_checkpoint(checkpoint)
    if _is_original_layout(state_dict):
        state_dict = _remap_original_keys(state_dict, rotate=False)
    if None in cfg['channels'] or None in cfg['n_points']:
        raise ValueError('cannot tell which SMPConvNet this is: some stage has no SMP block '
                         f"(channels {cfg['channels']}, points {cfg['n_points']})")
    kernel_sizes = cfg.get('large_kernel_sizes')
    if kernel_sizes is None:
        raise ValueError('cannot tell the SMP kernel sizes: the checkpoint has no kernel_coord grids (a '
                         'converted checkpoint: load it with its config.json, e.g. local-dir:<folder>)')
    args: Dict[str, Any] = {}
    c0 = cfg['channels'][0]
    dw = state_dict['stages.0.blocks.0.large_kernel.smp.conv.kernel.weights'].shape[0]
    ffn_hidden = state_dict['stages.0.blocks.1.pw1.conv.weight'].shape[0]
    small = state_dict['stages.0.blocks.0.large_kernel.small_conv.conv.weight'].shape[-1]
    extra = dict(dw_ratio=dw / c0, ffn_ratio=ffn_hidden / c0, small_kernel_size=small)
    divide = _n_points_divide(kernel_sizes, cfg['n_points'])
    if divide is None:
        raise ValueError(f"cannot express the points per kernel {cfg['n_points']} for kernels {kernel_sizes} "
                         f'as k * k // n_points_divide')
    for name, arch in _ARCH_CONFIGS.items():
        if (list(arch['channels']) == cfg['channels'] and list(arch['layers']) == cfg['layers']
                and list(arch['large_kernel_sizes']) == kernel_sizes
                and divide == 4 and extra == dict(dw_ratio=1., ffn_ratio=4., small_kernel_size=5)):
            architecture, description = name, f"SMPConvNet-{name.split('_')[-1].upper()}"
            break
    else:
        architecture = 'smpconvnet_t'
        description = (f"a non-standard SMPConvNet (channels {cfg['channels']}, layers {cfg['layers']}, "
                       f'kernels {kernel_sizes}): neither SMPConvNet-T nor -B')
        args.update(large_kernel_sizes=kernel_sizes, layers=cfg['layers'], channels=cfg['channels'],
                    n_points_divide=divide)
        defaults = dict(dw_ratio=1., ffn_ratio=4., small_kernel_size=5)
        args.update({k: v for k, v in extra.items() if v != defaults[k]})
    if cfg['num_classes'] != 1000:
        args['num_classes'] = cfg['num_classes']
    if cfg['in_chans'] != 3:
        args['in_chans'] = cfg['in_chans']
    return architecture, args, description


# ---------------------------------------------------------------------------------------------------------
# Writing model folders

def _model_card(architecture: str, model: torch.nn.Module, model_args: Dict[str, Any], description: str,
                source: str, command: str, deployed: bool = False, extra: str = '') -> str:
    n_params = sum(p.numel() for p in model.parameters())
    cfg = model.pretrained_cfg
    in1k = not model_args.get('num_classes') and architecture in PAPER_TOP1 and 'layers' not in model_args
    lines = ['---', 'tags:', '- image-classification', '- timm', '- smpconv', 'library_name: timm',
             'license: mit']
    if in1k:
        lines += ['datasets:', '- imagenet-1k']
    title = description if architecture in PAPER_TOP1 and 'layers' not in model_args else 'SMPConvNet (custom size)'
    lines += ['---', f'# {title}' + (' (deployed, re-parameterised)' if deployed else ''), '']
    lines += [
        'SMPConv (self-moving point kernels, Kim & Park, CVPR 2023) ImageNet backbone for timm, in the '
        '[smpconvnet](https://github.com/sangnekim/SMPConv) model family.', '',
        '## Model details', '',
        f'- **Architecture:** {description}: `{architecture}`' + (f' with `{json.dumps(model_args)}`' if model_args else ''),
        f'- **Parameters:** {n_params:,}',
        f"- **Input:** {tuple(cfg.get('input_size', ()))}, mean {tuple(round(x, 3) for x in cfg.get('mean', ()))}, "
        f"std {tuple(round(x, 3) for x in cfg.get('std', ()))}, {cfg.get('interpolation')} resize, "
        f"crop_pct {cfg.get('crop_pct')}",
        f'- **Source:** {source}',
        f'- **Produced by:** `{command}`',
        '- **Licence:** MIT (the original SMPConv code and weights)',
    ]
    if in1k:
        lines.append(f'- **ImageNet-1k top-1 (paper):** {PAPER_TOP1[architecture]} at 224x224 '
                     '(not re-measured by this conversion)')
    if deployed:
        lines.append('- **Form:** re-parameterised for inference (one depthwise conv per SMP block, no '
                     'BatchNorm); load with `smpconvnet.load_model(folder)`, not trainable as SMP kernels')
    lines += ['', '## Usage', '', '```python', 'import smpconvnet, timm']
    if deployed:
        lines += ["model = smpconvnet.load_model('<this folder>')   # deployed form"]
    else:
        lines += ["model = timm.create_model('local-dir:<this folder>', pretrained=True)  # or 'hf-hub:<org>/<repo>'",
                  'model = timm.utils.reparameterize_model(model.eval())   # exact inference form']
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
    with atomic_dir(dst, force) as tmp:
        state_dict = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(state_dict, str(tmp / WEIGHTS_NAME), metadata={'format': 'pt'})
        save_config_for_hf(model, str(tmp / CONFIG_NAME), model_args=dict(model_args or {}))
        config = json.loads((tmp / CONFIG_NAME).read_text())
        if deployed:
            config[DEPLOYED_KEY] = True
        config.update(extra_config or {})
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + '\n')
        (tmp / CARD_NAME).write_text(card, encoding='utf-8')
        if verify is not None:
            verify(tmp)
    return dst


def convert_checkpoint(
        src: PathLike,
        dst: PathLike,
        force: bool = False,
        trust_pickle: bool = False,
        quiet: bool = False,
) -> Dict[str, Any]:
    """Convert an original SMPConvNet checkpoint to a timm/Hub folder; returns a summary dict."""
    import timm
    from .smpconvnet import checkpoint_filter_fn

    src, dst = Path(src), Path(dst)
    if dst.exists() and not force:
        raise FileExistsError(f'{dst} exists; pass --force (force=True) to replace it')
    t0 = time.perf_counter()
    _step(f'[1/4] reading {src}', quiet)
    checkpoint = read_checkpoint(src, trust_pickle=trust_pickle)
    architecture, model_args, description = detect_architecture(checkpoint)
    _step(f'      {description}: {architecture}' + (f' with {model_args}' if model_args else ''), quiet)

    _step('[2/4] building the network and loading the original weights (checkpoint_filter_fn)', quiet)
    original = timm.create_model(architecture, **model_args).eval()
    original.load_state_dict(checkpoint_filter_fn(checkpoint, original), strict=True)
    del checkpoint

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, original.in_chans, VERIFY_INPUT_SIZE, VERIFY_INPUT_SIZE, generator=gen)
    with torch.inference_mode():
        expected = original(x)
    report: Dict[str, Any] = dict(architecture=architecture, model_args=model_args, description=description,
                                  source_sha256=sha256_file(src), dst=str(dst))

    def verify(folder: Path):
        _step('[4/4] verifying: loading the folder back through timm (local-dir:) and comparing outputs', quiet)
        reloaded = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
        ref_sd, new_sd = original.state_dict(), reloaded.state_dict()
        if ref_sd.keys() != new_sd.keys() or any(not torch.equal(ref_sd[k], new_sd[k]) for k in ref_sd):
            raise RuntimeError('verification failed: the converted weights differ from the original ones')
        with torch.inference_mode():
            err = relative_error(reloaded(x), expected)
        if not err <= VERIFY_TOLERANCE:
            raise RuntimeError(f'verification failed: outputs differ by {err:.2e} (relative) from the original '
                               f'network (tolerance {VERIFY_TOLERANCE:.0e})')
        report['max_rel_diff'] = err

    command = f'smpconvnet convert {src.name} {dst.name}'
    card = _model_card(architecture, original, model_args, description,
                       source=f'converted from `{src.name}` (sha256 `{report["source_sha256"]}`), the authors\' '
                              'checkpoint layout (https://github.com/sangnekim/SMPConv)',
                       command=command)
    _step(f'[3/4] writing {WEIGHTS_NAME}, {CONFIG_NAME}, {CARD_NAME} (to a temporary folder first)', quiet)
    write_model_folder(original, dst, card, model_args=model_args, force=force, verify=verify)
    report['weights_sha256'] = sha256_file(dst / WEIGHTS_NAME)
    _step(f'done in {time.perf_counter() - t0:.1f}s: {dst} (outputs equal the original network to '
          f"{report['max_rel_diff']:.1e} relative; {WEIGHTS_NAME} sha256 {report['weights_sha256'][:16]}...)", quiet)
    return report


# ---------------------------------------------------------------------------------------------------------
# Loading whatever a command is given

def _read_config(folder: Path) -> Dict[str, Any]:
    try:
        return json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f'{folder / CONFIG_NAME} is not a readable config.json: {e}') from e


def load_deployed(folder: PathLike) -> torch.nn.Module:
    """Load a folder written by ``smpconvnet reparam``: build the model, re-parameterise it, load the weights."""
    import timm
    from safetensors.torch import load_file

    folder = Path(folder)
    config = _read_config(folder)
    if not config.get(DEPLOYED_KEY):
        raise ValueError(f'{folder} does not hold a deployed model (no "{DEPLOYED_KEY}": true in config.json)')
    pretrained_cfg = dict(config.get('pretrained_cfg', {}), architecture=config['architecture'])
    model = timm.create_model(config['architecture'], pretrained_cfg=pretrained_cfg,
                              **config.get('model_args', {}))
    length = config.get('deployed_length')
    if length is not None:  # a sequence model, deployed for one input length
        model = model.eval().reparameterize(length=int(length)) or model
    else:
        model = timm.utils.reparameterize_model(model.eval())
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise FileNotFoundError(f'{weights} not found')
    model.load_state_dict(load_file(str(weights)), strict=True)
    return model.eval()


def load_model(spec: str, pretrained: Union[bool, str] = True, trust_pickle: bool = False,
               **kwargs) -> Tuple[torch.nn.Module, str]:
    """(model, description of where its weights came from) for a name, hub id, folder or checkpoint file.

    ``pretrained``: True loads weights (an error if there are none), False random initialisation,
    ``'auto'`` weights when available without a download, else random initialisation.
    """
    import timm
    from .hub import weights_location
    from .smpconvnet import checkpoint_filter_fn

    path = Path(spec[len('local-dir:'):] if spec.startswith('local-dir:') else spec)
    if path.is_dir():
        if _read_config(path).get(DEPLOYED_KEY):
            return load_deployed(path), f'deployed weights from {path}'
        return timm.create_model(f'local-dir:{path}', pretrained=True, **kwargs), f'weights from {path}'
    if spec.startswith('local-dir:'):
        raise FileNotFoundError(f'{path} is not a folder')
    if path.is_file():
        checkpoint = read_checkpoint(path, trust_pickle=trust_pickle)
        architecture, model_args, description = detect_architecture(checkpoint)
        model = timm.create_model(architecture, **{**model_args, **kwargs})
        model.load_state_dict(checkpoint_filter_fn(checkpoint, model), strict=True)
        return model, f'{description} from {path}'
    if spec.startswith('hf-hub:'):
        return timm.create_model(spec, pretrained=True, **kwargs), f'weights from the Hub ({spec[7:]})'
    if not timm.is_model(timm.models.split_model_name_tag(spec)[0]):
        raise ValueError(f'{spec!r} is neither a registered timm model, an existing folder or checkpoint file, '
                         f'nor an hf-hub:/local-dir: name (see `smpconvnet list`)')
    if not pretrained:
        return timm.create_model(spec, **kwargs), 'random weights (pretrained=False)'
    cfg = timm.models.get_pretrained_cfg(spec)
    kind, where = weights_location(cfg.to_dict() if cfg else {})
    label = {'shipped': f'weights shipped in {where}', 'file': f'weights from {where}',
             'hub-cache': f'weights of {cfg.hf_hub_id if cfg else spec} from the local Hugging Face cache'}.get(
        kind, f"weights of {cfg.hf_hub_id if cfg else spec} from the Hub")
    if pretrained == 'auto' and kind not in ('shipped', 'file', 'hub-cache'):
        return timm.create_model(spec, **kwargs), 'random weights (no pretrained weights available offline)'
    return timm.create_model(spec, pretrained=True, **kwargs), label


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'convert', help="convert an original SMPConvNet checkpoint to a timm/Hub folder",
        description="Convert an original SMPConvNet ImageNet checkpoint (.pth as released: {'model': ...}, "
                    "{'model_ema': ...}, 'module.' prefixes or a bare state dict; or .safetensors) into DST/ "
                    'with model.safetensors, config.json and a model card README.md. T or B is recognised from '
                    'the shapes; DST is written atomically and verified by loading it back through timm.')
    p.add_argument('src', help='original checkpoint (.pth, .pt, .bin, .safetensors)')
    p.add_argument('dst', help='output folder (loads with timm.create_model("local-dir:DST"))')
    p.add_argument('--force', action='store_true', help='replace DST if it exists')
    p.add_argument('--trust-pickle', action='store_true',
                   help='allow arbitrary pickled objects in SRC (unpickling runs code: trusted files only)')
    p.set_defaults(func=lambda a: (convert_checkpoint(a.src, a.dst, force=a.force, trust_pickle=a.trust_pickle),
                                   0)[1])


# ---------------------------------------------------------------------------------------------------------
# weights/ folders of the published ImageNet models (their weights live on the Hub only)

_RELEASE_NOTES = {
    'smpconvnet_t': dict(title='SMPConvNet-T', top1=82.5, drop_path=0.1),
    'smpconvnet_b': dict(title='SMPConvNet-B', top1=83.8, drop_path=0.5),
}


def write_release_folder(name: str, dst: PathLike, force: bool = False) -> Path:
    """Write ``weights/<model>.<tag>/`` for a published ImageNet model: model card, config.json (exactly what
    ``smpconvnet convert`` writes for it) and manifest.sha256 of the files present."""
    import timm
    from .hub import hub_namespace, write_manifest
    from .info import count_macs

    architecture, tag = name.split('.')
    notes = _RELEASE_NOTES[architecture]
    model = timm.create_model(name).eval()
    n_params = sum(p.numel() for p in model.parameters())
    gmacs = count_macs(model, model.pretrained_cfg['input_size']) / 1e9
    cfg = model.pretrained_cfg
    command = (f'python -c "from smpconvnet.convert import write_release_folder; '
               f"write_release_folder('{name}', 'weights/{name}', force=True)\"")
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

Not in this repository (too large to commit). `model.safetensors` is hosted on the Hugging Face Hub in the repo
`<namespace>/{name}` (default namespace `{hub_namespace()}`; the setting `SMPCONVNET_HUB_NAMESPACE` or
`smpconvnet.hub.set_hub_namespace()` changes it), which is the `hf_hub_id` of the registered pretrained config:
`timm.create_model('{name}', pretrained=True)` downloads it once and loads it from the cache afterwards.

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
it back through timm and comparing outputs with the original network.

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
    with atomic_dir(Path(dst), force) as tmp:
        save_config_for_hf(model, str(tmp / CONFIG_NAME))
        (tmp / CARD_NAME).write_text(card, encoding='utf-8')
        write_manifest(tmp)
    return Path(dst)
