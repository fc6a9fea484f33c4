import hashlib
import os
import random
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import timm
import torch

import smpconvnet  # noqa: F401  (registers the models with timm)

FIXTURES = Path(__file__).parent / 'fixtures'
# the repository root (the tests mirror the package's tree below tests/)
ROOT = Path(__file__).resolve().parents[1]

# the small network of the reference files (outputs of the original implementation)
SMALL_KWARGS = dict(layers=[1, 1, 2, 1], channels=[16, 32, 64, 128], num_classes=10)
SMALL_CKPT = FIXTURES / 'official_smpconvnet_small.safetensors'
SMALL_IO = FIXTURES / 'official_smpconvnet_small_io.safetensors'


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """Max absolute error relative to the largest reference magnitude."""
    actual, expected = actual.detach().double(), expected.detach().double()
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def load_smpconvnet_reference(file=SMALL_CKPT, **kwargs):
    """The reference network through timm's own pretrained path (file overlay + size overrides)."""
    args = dict(SMALL_KWARGS, **kwargs)
    return timm.create_model(
        'smpconvnet_t', pretrained=True,
        pretrained_cfg_overlay=dict(file=str(file), num_classes=10), **args).eval()


def add_to_hf_cache(hub_cache: Path, repo_id: str, folder: Path, revision: str = 'a' * 40) -> Path:
    """Lay ``folder``'s files out exactly as huggingface_hub caches a download: content-addressed blobs,
    snapshot symlinks per commit, and refs/main naming the commit."""
    repo_dir = hub_cache / ('models--' + repo_id.replace('/', '--'))
    (repo_dir / 'blobs').mkdir(parents=True, exist_ok=True)
    snapshot = repo_dir / 'snapshots' / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        blob = repo_dir / 'blobs' / hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / f.name)
    (repo_dir / 'refs').mkdir(exist_ok=True)
    (repo_dir / 'refs' / 'main').write_text(revision)
    return repo_dir


def unpickled_without(model: torch.nn.Module, attribute: str) -> torch.nn.Module:
    """``model`` as a whole-model pickle (``torch.save(model)``) from before ``attribute`` existed unpickles: a new
    instance given its state without that attribute."""
    state = model.__dict__.copy()
    del state[attribute]
    old = type(model).__new__(type(model))
    old.__setstate__(state)
    return old


@torch.no_grad()
def randomize_bn(model: torch.nn.Module, seed: int = 0, example=None) -> torch.nn.Module:
    """Give every BatchNorm statistics of the scale of the activations it normalises, shifted and scaled at random,
    and random affine parameters, so that folding them is really tested and the outputs depend on the input.
    Statistics drawn without regard to that scale had made the small smpconvnet_t give the same logits for every
    input (relative difference 0.0: trial 73), so comparisons of its outputs tested nothing of its blocks.
    ``example``: an input to measure the activations on (default: random of the model's input size, ``example_input``);
    False: statistics drawn as they are, without a forward pass. The global random state is left as it was."""
    gen = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if example is not False and norms:
        example = example_input(model, gen) if example is None else example
        momenta, training = [m.momentum for m in norms], model.training
        for m in norms:  # (momentum None: the running statistics are the batch's, a cumulative average of one)
            m.reset_running_stats()
            m.momentum = None
        with torch.random.fork_rng():
            model.train()(example)
        model.train(training)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
            m.num_batches_tracked.zero_()  # (as a model that has seen no training batch)
    for m in norms:
        n = m.num_features
        if example is False:
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
        else:
            m.running_mean.add_(torch.randn(n, generator=gen) * 0.2 * m.running_var.add(m.eps).sqrt())
            m.running_var.mul_(torch.rand(n, generator=gen) * 0.6 + 0.7)
        m.weight.copy_(torch.randn(n, generator=gen) * 0.5 + 1.)
        m.bias.copy_(torch.randn(n, generator=gen) * 0.5)
    return model


def example_input(model: torch.nn.Module, gen: torch.Generator = None, batch: int = 4) -> torch.Tensor:
    """A random input for ``model``: its input channels, and its sequence length (an SMP-TCN, [batch, C, L]) or a
    64 x 64 image (32 x 32 for an SMP-ResNet, as CIFAR-10's)."""
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    size = cfg.get('input_size') or (3, 224, 224)
    chans = getattr(model, 'in_chans', None) or size[0]
    kind = type(model).__name__
    if 'TCN' in kind:
        shape = (batch, chans, getattr(model, 'seq_len', None) or size[-1])
    else:
        side = 32 if 'ResNet' in kind else 64
        shape = (batch, chans, side, side)
    return torch.randn(shape, generator=gen)


def serve_from_offline_hf_cache(monkeypatch, root: Path, repo_id: str, folder: Path) -> str:
    """``folder``'s files as the Hub repo ``repo_id`` in a Hugging Face cache under ``root``, read offline (for the
    test's duration): the real ``hf-hub:`` path, no network. Returns the ``hf-hub:`` name."""
    from huggingface_hub import constants as hf_constants
    cache = root / 'hf' / 'hub'
    cache.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    add_to_hf_cache(cache, repo_id, folder)
    return f'hf-hub:{repo_id}'

@pytest.fixture(autouse=True)
def _deterministic():
    # every RNG a test can reach: timm's RandAugment draws from `random`, Mixup from numpy; unseeded, their
    # state depends on which tests ran before, and so would the outcome of short training runs
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    # a test that leaves its own Ctrl-C or SIGTERM handler behind changes how every later test (and atomic_io's
    # deferral of signals) behaves: named here, at the test that left it
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    left = {signal.Signals(s).name: h for s, h in before.items() if signal.getsignal(s) is not h}
    for s, h in before.items():
        signal.signal(s, h)
    if left:
        pytest.fail(f'the test left other handlers of {", ".join(left)} than it found (restored now)')


def pytest_configure(config):
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
