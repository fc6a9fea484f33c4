"""``smpconvnet demo``: build a model through timm with the best weights available offline, deploy it, check the
deployed form is exact, and make a real prediction.

Which model, when none is named, by what is available without a network:
1. ImageNet weights in the local Hugging Face cache (``smpconvnet_t.in1k``, then ``smpconvnet_b.in1k``):
   top-5 ImageNet classes of two real photographs (the sample images bundled with scikit-learn);
2. the best sequence model trained by this project and shipped in ``smpconvnet/pretrained/`` (the highest test
   accuracy recorded in its ``config.json``): predictions and accuracy on the real test split of its data set (read
   offline from ``aeon``);
3. otherwise ``smpconvnet_t`` with random weights, said plainly: the exactness check still means something,
   the predicted classes do not.
"""
import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

import timm
import torch

from ..models import SMPConvTCN, SMPConvTCNEnsemble, is_sequence_architecture, two_branch_eval
from ..weights.deploy import deploy
from ..layers.reparam import is_batchnorm, relative_error
from ._args import add_pretrained_argument

DEFAULT_MODEL = 'smpconvnet_t'
# the order in which the demo looks for weights available offline
IMAGENET_CANDIDATES = ('smpconvnet_t.in1k', 'smpconvnet_b.in1k')
TOLERANCE = 1e-4


def _offline_weights(name: str) -> Optional[str]:
    """'hub-cache' / 'shipped' / 'file' when ``name``'s weights load without a network, else None."""
    import timm
    from ..models import weights_location
    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except RuntimeError:
        return None
    kind, _ = weights_location(cfg.to_dict() if cfg else {})
    return kind if kind in ('hub-cache', 'shipped', 'file') else None


def _recorded_accuracy(name: str) -> float:
    # the test accuracy recorded with the shipped weights (0 when the folder records none)
    import json
    from ..models import WEIGHTS_DIR
    try:
        config = json.loads((WEIGHTS_DIR / name / 'config.json').read_text())
        return float(config['results']['test']['accuracy'])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.


def _sequence_candidates() -> List[str]:
    """The shipped sequence models, best recorded test accuracy first."""
    try:
        from ..models.seq_zoo import SEQ_ZOO
    except ImportError:
        return []
    return sorted((f'{name}.aeon' for name in SEQ_ZOO), key=_recorded_accuracy, reverse=True)


def _aeon_available() -> bool:
    try:
        import aeon  # noqa: F401
        return True
    except ImportError:
        import os
        from ..data.sequences import DATA_CACHE_ENV
        return bool(os.environ.get(DATA_CACHE_ENV))


def choose_model() -> Tuple[str, bool, str]:
    """(model name, pretrained, why) for the demo when no model is named."""
    for name in IMAGENET_CANDIDATES:
        kind = _offline_weights(name)
        if kind:
            return name, True, 'ImageNet-1k weights found offline'
    shipped = [name for name in _sequence_candidates() if _offline_weights(name)]
    if shipped and _aeon_available():
        return shipped[0], True, 'trained by this project on real data'
    why = (f'the shipped sequence model {shipped[0]} needs its test data from aeon: pip install "smpconvnet[data]"'
           if shipped else 'no trained sequence model is shipped')
    return DEFAULT_MODEL, False, (f'RANDOM WEIGHTS: ImageNet weights are not in the Hugging Face cache and {why}; '
                                  f'the exactness check below is meaningful, the predicted classes are not')


def _load(model_name: str, pretrained: str):
    from ..weights.sources import load_model
    if pretrained == 'no':
        return load_model(model_name, pretrained=False)[0], 'random initialisation (--pretrained no)'
    if pretrained == 'yes':
        try:
            return load_model(model_name, pretrained=True)
        except Exception as e:  # noqa: BLE001  (the library's advice, said as this command takes it)
            arch = model_name.split('.')[0]
            sequence = is_sequence_architecture(arch)  # the demo runs sequence models on their data only: trained ones
            if 'pretrained=False' not in str(e) or sequence:
                raise
            raise ValueError(f'{e}\n(on this command line, random initialisation is `--pretrained no`)') from e
    model, source = load_model(model_name, pretrained='auto')
    if source.startswith('random'):
        source = f'RANDOM WEIGHTS {source[len("random weights "):]}: predictions are meaningless'
    return model, source


def _images(model: torch.nn.Module, batch_size: int) -> Tuple[torch.Tensor, List[str]]:
    """Real photographs (scikit-learn's bundled samples) preprocessed the way the model's config says;
    a smooth synthetic image when scikit-learn is not installed."""
    from timm.data import create_transform, resolve_data_config
    cfg = resolve_data_config({}, model=model)
    try:
        from PIL import Image
        from sklearn.datasets import load_sample_images
        samples = load_sample_images()
        transform = create_transform(**cfg)
        images = [transform(Image.fromarray(img)) for img in samples.images]
        names = [f.rsplit('/', 1)[-1] for f in samples.filenames]
    except ImportError:
        gen = torch.Generator().manual_seed(0)
        x = torch.nn.functional.avg_pool2d(torch.rand(2, *cfg['input_size'], generator=gen), 9, 1, 4)
        mean, std = torch.tensor(cfg['mean']).view(-1, 1, 1), torch.tensor(cfg['std']).view(-1, 1, 1)
        images, names = list((x - mean) / std), ['synthetic image 1', 'synthetic image 2']
    while len(images) < batch_size:
        images, names = images + images, names + names
    return torch.stack(images[:batch_size]), names[:batch_size]


def _class_names(model: torch.nn.Module) -> Optional[List[str]]:
    cfg = model.pretrained_cfg
    if cfg.get('label_names'):
        return list(cfg['label_names'])
    if getattr(model, 'num_classes', 0) == 1000:
        from timm.data import ImageNetInfo
        info = ImageNetInfo()
        return [info.index_to_description(i).split(',')[0] for i in range(1000)]
    return None


def _sequence_test_set(model: torch.nn.Module, model_name: str):
    from ..data import sequences as seq_data
    from ..models.seq_zoo import dataset_of
    cfg = model.pretrained_cfg
    dataset = dataset_of(model_name)
    data = seq_data.load_aeon(dataset, 'test', label_names=list(cfg['label_names']))
    data = seq_data.standardize(data, cfg['mean'], cfg['std'])
    x, lengths = seq_data.pad_batch(data.sequences, length=int(cfg['input_size'][-1]))
    return dataset, x, lengths, data.targets


def run_demo(model_name: Optional[str] = None, pretrained: str = 'auto', batch_size: Optional[int] = None,
             seed: int = 0, tolerance: float = TOLERANCE) -> int:
    import smpconvnet
    if batch_size is not None and batch_size < 1:
        raise ValueError(f'--batch-size {batch_size}: expected at least 1 image')
    torch.manual_seed(seed)
    why = None
    if model_name is None:
        model_name, has_weights, why = choose_model()
        pretrained = 'yes' if has_weights else 'no'
    print(f'smpconvnet {smpconvnet.__version__} demo: {model_name}')
    t0 = time.perf_counter()
    model, source = _load(model_name, pretrained)
    if why and not why.startswith('RANDOM'):
        source = f'{source} ({why})'
    elif why:
        source = why
    model.eval()
    random_weights = source.lower().startswith('random')
    # refused before anything is reported of the model (a "weights: random" line, then the refusal, read as a run)
    is_sequence = model_name.split('.')[0] in [c.split('.')[0] for c in _sequence_candidates()]
    # (a registered name: the shipped ones are is_sequence; a folder's or file's random weights were asked for, with
    # --pretrained no: it said "without trained weights" of a trained folder)
    registered = timm.is_model(model_name.split('.')[0]) and not Path(model_name).exists()
    if not is_sequence and isinstance(model, (SMPConvTCN, SMPConvTCNEnsemble)) and registered:
        raise ValueError(f'{model_name} is a sequence model without trained weights; the demo runs the trained ones '
                         f'(`smpconvnet list "smpconv_tcn_*.aeon"`) on their test split')
    if not is_sequence and isinstance(model, (SMPConvTCN, SMPConvTCNEnsemble)):
        # a folder or file of a sequence model: the demo knows the data sets of the registered models only
        raise ValueError(f'{model_name} is a sequence model; the demo runs the registered ones (smpconvnet list '
                         f'"smpconv_tcn_*.aeon") on their test split: score this one with `smpconvnet evaluate-seq '
                         f'{shlex.quote(model_name)}`')
    if is_sequence and batch_size is not None:  # it would do nothing: the whole test split is one batch
        raise ValueError(f'--batch-size: {model_name} is scored on its whole test split in one batch; leave '
                         f'--batch-size out (it sets the number of images for an image model)')
    n_params = sum(p.numel() for p in model.parameters())
    print(f'  built through timm in {time.perf_counter() - t0:.1f}s: {n_params:,} parameters')
    print(f'  weights: {source}')
    lengths = targets = None
    if is_sequence:
        dataset, x, lengths, targets = _sequence_test_set(model, model_name)
        print(f'  input: the {dataset} test split (aeon, offline): {len(targets)} sequences, '
              f'{x.shape[1]} channel(s) x {x.shape[-1]} steps, standardised with the training statistics')
        names = [f'test sequence {i}' for i in range(len(targets))]
    else:
        x, names = _images(model, 2 if batch_size is None else batch_size)
        distinct = list(dict.fromkeys(names))
        repeated = f', repeated to fill the batch of {len(names)}' if len(distinct) < len(names) else ''
        print(f'  input: {", ".join(distinct)}{repeated} ({tuple(x.shape)}, preprocessed per the model config)')
    equal_length = lengths is None or bool((lengths == x.shape[-1]).all())

    def forward(m):
        return m(x) if equal_length else m(x, lengths=lengths)

    with torch.inference_mode(), two_branch_eval(model):  # the training form's branches, not the eval-mode fold
        forward(model)  # warm-up, as for the deployed model below: both times are of a second call
        t0 = time.perf_counter()
        y_train_form = forward(model)
        t_train = time.perf_counter() - t0
    deployed = deploy(model, x)  # a re-parameterised copy (sequence models: for this input length)
    n_deployed = sum(p.numel() for p in deployed.parameters())
    with torch.inference_mode():
        forward(deployed)  # warm-up: the first call of a shape plans the convolutions
        t0 = time.perf_counter()
        y_deployed = forward(deployed)
        t_deployed = time.perf_counter() - t0
    err = relative_error(y_deployed, y_train_form)
    bn_left = sum(is_batchnorm(m) for m in deployed.modules())
    print(f'  re-parameterised: {n_deployed:,} parameters, {bn_left} BatchNorm left, '
          f'every SMP kernel materialised into one static convolution')
    print(f'  forward {tuple(x.shape)}: training form {t_train:.2f}s, deployed {t_deployed:.2f}s')
    print(f'  deployed vs training form: max relative difference {err:.2e} (tolerance {tolerance:.0e})')

    probs = y_deployed.float().softmax(-1)
    # untrained outputs get class indices: ImageNet names beside them would read as predictions
    classes = None if random_weights else _class_names(model)
    label = (lambda c: classes[c]) if classes else (lambda c: f'class {c}')
    if random_weights:
        print('  top classes of the untrained model (indices, not predictions):')
    k = min(5 if classes and len(classes) == 1000 else 3, probs.shape[-1])
    top = probs.topk(k, dim=-1)
    for i in range(min(len(names), 4)):
        pairs = ', '.join(f'{label(c)} ({p:.3f})' for p, c in zip(top.values[i].tolist(), top.indices[i].tolist()))
        truth = f' [true: {label(int(targets[i]))}]' if targets is not None else ''
        print(f'  {names[i]}: {pairs}{truth}')
    classes_out, highest = probs.shape[-1], probs.max(-1).values
    if not random_weights and classes_out > 2 and bool((highest < 2. / classes_out).all()):
        # weights said trained whose every prediction is near 1 / classes: untrained weights under a trained name
        # (a Hub repo or cache holding random ones: trial 75c #1, "ImageNet-1k weights found offline", then OK)
        print(f'  warning: every prediction is close to uniform (top probabilities {highest.min():.4f}'
              f'-{highest.max():.4f}, 1/{classes_out} = {1 / classes_out:.4f}): these weights look untrained, '
              f'whatever their source says', file=sys.stderr)
    if targets is not None:
        accuracy = (probs.argmax(-1) == targets).float().mean().item()
        print(f'  test accuracy (deployed model): {accuracy:.4f} on {len(targets)} sequences')
    ok = err <= tolerance and bn_left == 0
    print('  OK' if ok else '  FAILED: deployed model differs from the training form')
    return 0 if ok else 1


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'demo', help='build a model with the best weights available offline, deploy it, check it, predict',
        description='Build a model through timm with the best weights available offline (ImageNet weights in '
                    'the Hugging Face cache, else a sequence model trained on real data shipped in smpconvnet/pretrained/, '
                    'else smpconvnet_t with random weights, said plainly), re-parameterise it for inference, '
                    'check the deployed outputs against the training form, and predict on real data (two '
                    'photographs, or the test split of the sequence model\'s data set).')
    p.add_argument('model', nargs='?', default=None,
                   help='model name, hf-hub:/local-dir: name, folder or checkpoint (default: chosen as above)')
    add_pretrained_argument(p)
    p.add_argument('--batch-size', type=int, default=None,
                   help='image models: images in the batch, the two bundled photographs repeated or cut to fill it '
                        '(default 2); a sequence model scores its whole test split')
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(func=lambda a: run_demo(a.model, a.pretrained, a.batch_size, a.seed))
