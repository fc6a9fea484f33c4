"""``smpconvnet bench`` (also ``python -m smpconvnet.cli.bench``): speed of our models against a reference, side by side.

Workloads, each measured in turn (A, B, A, B, ...) in one run, several repetitions, median throughput (memory: one
measurement per side):

* ``inference``: ``smpconvnet_t`` after ``timm.utils.reparameterize_model`` vs timm's ``convnext_tiny``
  (eval, no grad, batch 8 at 224 px by default), and the original code's path on the same weights (every SMP kernel
  re-sampled and convolved at its full size, k x k depthwise, no re-parameterisation) vs ``convnext_tiny``.
* ``train``: one training step (forward, backward, AdamW step; and SGD with momentum) of ``smpconvnet_t`` vs
  ``convnext_tiny`` (batch 4 at 224 px by default), and the original code's path with AdamW (its radius clipping
  after the step).
* ``memory``: peak memory of ``smpconvnet_t`` training steps (two) with the automatic convolution backends vs
  every large-kernel convolution forced to the plain direct path (``F.conv2d``). Each side runs in a fresh
  subprocess; the figure is the peak resident set size (``ru_maxrss``) minus the resident size just before
  the first step (model and input already built), so it covers activations, gradients, optimizer state and
  workspace of the step.
* ``sequence``: ``timm.create_model('smpconv_tcn_smnist')`` training step (Adam), inference in its training form
  and deployed, vs the original code's sMNIST path (its SMP kernels re-sampled at every forward, its causal FFT
  convolution; radius clipping after each step), batch 32 at length 784.

* ``kernelnet``: the paper's central claim. Point kernels vs the MLP kernel networks they replace (a SIREN from
  relative positions to kernel values, as CKConv / FlexConv describe it: hidden width 32 as in CKConv, and one with
  about as many parameters as the point kernel), generating the same banks: a 31x31 depthwise bank for 384 channels
  (ImageNet stage 3) and a 784-tap 30 x 30 causal bank (sMNIST); forward + backward time and the memory kept for the
  backward; and a whole ``smpconv_tcn_smnist`` training step with each generator in every SMP unit.

* ``compile`` (only when named): ``smpconvnet_t`` and ``convnext_tiny`` training steps under ``torch.compile``
  next to their eager ratio, in one run.

The original code's paths are re-written step for step and checked against the
original implementation's reference outputs (``tests/fixtures/official_*``) before they are timed; without those
outputs (an installed package has no tests/ folder) no comparison with them is printed.

Next to the speeds it prints the equality check of the fast path against the plain one (max abs difference
relative to the max abs reference value). Other processes on the machine add noise: compare ratios, not
absolute numbers, and look at the spread (min-max) printed with each median.
"""
import argparse
import json
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.reparam import relative_error
from ..models import two_branch_eval
from ._baselines import (
    OriginalSMPConv2d, OriginalSMPConvNet, OriginalTCN, verify_original_smpconvnet, verify_original_tcn,
)

WORKLOADS = ('inference', 'train', 'memory', 'sequence', 'kernelnet')
# measured only when asked for: compiling takes minutes on a small CPU
OPTIONAL_WORKLOADS = ('compile',)


def _sync(device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def alternate_all(fns: List[Callable[[], None]], reps: int, device: torch.device, warmup: int = 1) -> List[List[float]]:
    """Seconds per call of each of ``fns``, measured in turn (A, B, C, A, B, C, ...) after ``warmup`` calls of each,
    so that drifts of the machine's speed hit every side alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    _sync(device)
    times: List[List[float]] = [[] for _ in fns]
    for _ in range(reps):
        for fn, fn_times in zip(fns, times):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            fn_times.append(time.perf_counter() - t0)
    return times


def alternate(fn_a: Callable[[], None], fn_b: Callable[[], None], reps: int, device: torch.device,
              warmup: int = 1) -> Tuple[List[float], List[float]]:
    """Seconds per call of ``fn_a`` and ``fn_b``, measured A, B, A, B, ... after ``warmup`` calls of each."""
    times_a, times_b = alternate_all([fn_a, fn_b], reps, device, warmup)
    return times_a, times_b


def _row(name: str, unit: str, label_a: str, times_a: List[float], label_b: str, times_b: List[float],
         items: int, note: str = '') -> Dict:
    rate_a = [items / t for t in times_a]
    rate_b = [items / t for t in times_b]
    med_a, med_b = statistics.median(rate_a), statistics.median(rate_b)
    return dict(
        name=name, unit=unit, a=label_a, b=label_b, a_value=med_a, b_value=med_b, ratio=med_a / med_b,
        a_spread=(min(rate_a), max(rate_a)), b_spread=(min(rate_b), max(rate_b)), note=note,
        a_rates=rate_a, b_rates=rate_b, reps=len(times_a))


def _print_row(row: Dict, quick: bool = False):
    print(f"{row['name']}:")
    for side in ('a', 'b'):
        # --quick runs reduced models (one block per stage, 16-128 channels): their names say so
        label = row[side]
        if quick:
            for name in ('smpconvnet_t', 'convnext_tiny', 'smpconv_tcn_smnist', 'original code'):
                label = label.replace(name, name + ' reduced')
        print(f"  {label:<44s} {row[side + '_value']:9.2f} {row['unit']}  "
              f"(min {row[side + '_spread'][0]:.2f}, max {row[side + '_spread'][1]:.2f})")
    # one repetition of reduced models measures nothing: no ratio is printed for them
    ratio = 'ratio not measured (--quick)' if quick else f"ratio {row['ratio']:.2f}x"
    print(f"  {ratio}{('   ' + row['note']) if row['note'] else ''}", flush=True)


# ---------------------------------------------------------------------------------------------------------
# ImageNet workloads


def _image_models(quick: bool):
    import timm
    import smpconvnet  # noqa: F401  (registers the models)
    if quick:
        ours = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=10)
        ref = timm.create_model('convnext_tiny', depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), num_classes=10)
    else:
        ours = timm.create_model('smpconvnet_t')
        ref = timm.create_model('convnext_tiny')
    return ours, ref


def randomize_for_check(model: nn.Module):
    # BN statistics and affine parameters, point weights of a realistic spread, so the equality check compares
    # non-trivial outputs. At initialisation (zero BN biases) many ReLU inputs are exactly 0 on the direct path
    # and +-1e-9 on the FFT path: ReLU's gradient at such ties is arbitrary, which is not a numerical difference.
    from smpconvnet.layers.point_kernel import PointKernel
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
            elif isinstance(m, (PointKernel, OriginalSMPConv2d)):
                m.weights.normal_(0, 0.3)


ORIGINAL_IMAGE = 'original code (kxk depthwise, verified)'


def _original_image_model(args, ours: nn.Module) -> Tuple[Optional[nn.Module], str]:
    """The original code's SMPConvNet-T path (``_baselines.OriginalSMPConvNet``, the sizes of ``ours``) with the
    weights loaded into ``ours`` too, or (None, why) when it cannot be verified against the original's reference
    outputs (then it is not timed)."""
    verified, why = verify_original_smpconvnet()
    if verified is None or not verified <= 1e-5:
        return None, why
    kw = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=10) if args.quick else {}
    original = OriginalSMPConvNet(**kw)
    randomize_for_check(original)
    problem = _load_original_into_ours(original, ours)
    return (None, problem) if problem else (original, why)


def bench_inference(args, device: torch.device) -> List[Dict]:
    from timm.utils import reparameterize_model
    from ..layers.conv_backends import conv_backend
    torch.manual_seed(0)
    ours, ref = _image_models(args.quick)
    randomize_for_check(ours)
    original, why = _original_image_model(args, ours)
    ours = reparameterize_model(ours.eval()).to(device)
    ref = ref.eval().to(device)
    x = torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=device)
    with torch.no_grad():
        fast = ours(x)
        with conv_backend('direct'):
            plain = ours(x)
        if original is not None:
            original = original.eval().to(device)
            why += f'; outputs vs ours deployed, same weights: max rel diff {relative_error(fast, original(x)):.1e}'
    diff = relative_error(fast, plain)

    def infer(model):
        def run():
            with torch.no_grad():
                model(x)
        return run

    models = [ours, ref] + ([original] if original is not None else [])
    times = alternate_all([infer(m) for m in models], args.reps, device)
    name = f'inference, batch {args.batch_size} at {args.img_size} px'
    rows = [_row(name, 'img/s', 'smpconvnet_t (deployed)', times[0], 'convnext_tiny', times[1], args.batch_size,
                 note=f'fast vs direct conv outputs: max rel diff {diff:.1e}')]
    if original is not None:
        rows.append(_row(name, 'img/s', ORIGINAL_IMAGE, times[2], 'convnext_tiny', times[1], args.batch_size,
                         note=f'baseline {why}'))
    else:
        print(f'inference: no row for the original code\'s path: it could not be verified ({why})')
    return rows


def _train_step_fn(model: nn.Module, x: torch.Tensor, target: torch.Tensor, optimizer: str = 'adamw'):
    """One AdamW (or SGD with momentum) step; for the original code's model, its radius clipping after the step
    (this package's point kernels clip through an optimizer hook)."""
    if optimizer == 'adamw':
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-5)
    clip = getattr(model, 'radius_clip', None)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        if clip is not None:
            clip()
    return step


def _grad_check(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> Tuple[float, float]:
    """Max rel diff of logits and of all parameter gradients, automatic vs direct backends (eval-mode BN)."""
    from ..layers.conv_backends import conv_backend, direct_channels_last_weight_grad
    model = copy.deepcopy(model).eval()
    randomize_for_check(model)
    results = []
    for backend in ('auto', 'direct'):
        model.zero_grad(set_to_none=True)
        with conv_backend(backend), direct_channels_last_weight_grad(backend != 'direct'):
            logits = model(x)
            F.cross_entropy(logits, target).backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((logits.detach(), grads))
    (l_fast, g_fast), (l_plain, g_plain) = results
    return relative_error(l_fast, l_plain), relative_error(g_fast, g_plain)


def bench_train(args, device: torch.device) -> List[Dict]:
    torch.manual_seed(0)
    ours, ref = _image_models(args.quick)
    original, why = _original_image_model(args, ours)
    ours, ref = ours.train().to(device), ref.train().to(device)
    batch = args.train_batch_size
    x = torch.randn(batch, 3, args.img_size, args.img_size, device=device)
    target = torch.randint(0, ours.num_classes, (batch,), device=device)
    logit_diff, grad_diff = _grad_check(ours, x, target)
    # AdamW and SGD steps of separate copies, all measured in turn; the original code's path with AdamW (its recipe)
    steps = [_train_step_fn(ours, x, target), _train_step_fn(ref, x, target),
             _train_step_fn(copy.deepcopy(ours), x, target, 'sgd'), _train_step_fn(copy.deepcopy(ref), x, target, 'sgd')]
    if original is not None:
        steps.append(_train_step_fn(original.train().to(device), x, target))
    times = alternate_all(steps, args.reps, device)
    name = f'training step (fwd + bwd + AdamW), batch {batch} at {args.img_size} px'
    rows = [_row(name, 'img/s', 'smpconvnet_t', times[0], 'convnext_tiny', times[1], batch,
                 note=f'fast vs direct conv: logits max rel diff {logit_diff:.1e}, gradients {grad_diff:.1e}')]
    rows.append(_row(name.replace('AdamW', 'SGD'), 'img/s', 'smpconvnet_t', times[2], 'convnext_tiny', times[3],
                     batch))
    if original is not None:
        rows.append(_row(name, 'img/s', ORIGINAL_IMAGE, times[4], 'convnext_tiny', times[1], batch,
                         note=f'baseline {why}'))
    else:
        print(f'training: no row for the original code\'s path: it could not be verified ({why})')
    return rows


_MEMORY_CHILD = r'''
import resource, sys, torch, timm, torch.nn.functional as F
import smpconvnet
from smpconvnet.layers import conv_backends
from smpconvnet.layers.conv_backends import set_default_backend
backend, batch, img, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
quick = sys.argv[4] == '1'
torch.set_num_threads(threads)
set_default_backend(backend)
conv_backends.direct_channels_last_weight_grad(backend != 'direct').__enter__()  # plain side: F.conv2d's own backward
torch.manual_seed(0)
kw = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=10) if quick else {}
model = timm.create_model('smpconvnet_t', **kw).train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
x = torch.randn(batch, 3, img, img)
target = torch.randint(0, model.num_classes, (batch,))
def rss_kib():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024
before = rss_kib()
for _ in range(2):
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), target).backward()
    optimizer.step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, peak)
'''


def _memory_of(backend: str, args) -> Tuple[int, int]:
    out = subprocess.run(
        [sys.executable, '-c', _MEMORY_CHILD, backend, str(args.train_batch_size), str(args.img_size),
         '1' if args.quick else '0', str(torch.get_num_threads())],
        check=True, capture_output=True, text=True)
    before, peak = (int(v) for v in out.stdout.split()[-2:])
    return before, peak


def bench_memory(args, device: torch.device) -> Dict:
    if device.type != 'cpu':
        peaks = {}
        for backend in ('auto', 'direct'):
            peaks[backend] = _cuda_step_peak(backend, args, device)
        fast, plain = peaks['auto'], peaks['direct']
        how = 'torch.cuda.max_memory_allocated during two steps, minus memory allocated before them'
    else:
        b_fast, p_fast = _memory_of('auto', args)
        b_plain, p_plain = _memory_of('direct', args)
        fast, plain = p_fast - b_fast, p_plain - b_plain
        how = 'peak RSS of a fresh process minus its RSS before the first step'
    row = dict(name=f'peak memory of a training step, smpconvnet_t batch {args.train_batch_size} at '
                    f'{args.img_size} px ({how})', unit='MiB',
               a='automatic backends', b='direct F.conv2d everywhere', a_value=fast / 1024, b_value=plain / 1024,
               ratio=fast / plain, a_spread=(fast / 1024,) * 2, b_spread=(plain / 1024,) * 2, note='lower is better')
    return row


def _cuda_step_peak(backend: str, args, device: torch.device) -> int:
    import timm
    from ..layers.conv_backends import conv_backend
    torch.manual_seed(0)
    kw = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=10) if args.quick else {}
    model = timm.create_model('smpconvnet_t', **kw).train().to(device)
    x = torch.randn(args.train_batch_size, 3, args.img_size, args.img_size, device=device)
    target = torch.randint(0, model.num_classes, (args.train_batch_size,), device=device)
    step = _train_step_fn(model, x, target)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    with conv_backend(backend):
        step()
        step()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) // 1024


# ---------------------------------------------------------------------------------------------------------
# Sequence workload


def _our_sequence_model(quick: bool) -> Tuple[Optional[nn.Module], str]:
    import timm
    import smpconvnet  # noqa: F401
    name = 'smpconv_tcn_smnist'
    if not timm.is_model(name):
        return None, f"'{name}' is not registered with timm in this checkout"
    kwargs = {}
    if quick:
        kwargs = dict(num_blocks=2, hidden_channels=8)
    try:
        return timm.create_model(name, **kwargs), name
    except TypeError:
        return timm.create_model(name), name


def _load_original_into_ours(original: nn.Module, ours: nn.Module) -> Optional[str]:
    """Copy the baseline's weights (original key layout) into our model through its checkpoint filter."""
    import importlib
    module = importlib.import_module(type(ours).__module__)
    filter_fn = getattr(module, 'checkpoint_filter_fn', None)
    if filter_fn is None:
        return f'{module.__name__} has no checkpoint_filter_fn'
    try:
        ours.load_state_dict(filter_fn(original.state_dict(), ours))
    except Exception as e:  # noqa: BLE001  (reported, not fatal: the speed is still measured)
        return f'could not load the baseline weights into our model: {str(e).splitlines()[0][:200]}'
    return None


def _sequence_step_fn(model: nn.Module, x: torch.Tensor, target: torch.Tensor):
    """One training step of the original sMNIST recipe: Adam, lr 1e-4, weight decay 1e-5, and the original's radius
    clipping after the step (this package's point kernels clip through an optimizer hook)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-5)
    clip = getattr(model, 'radius_clip', None)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), target).backward()
        optimizer.step()
        if clip is not None:
            clip()
    return step


BASELINE = 'original code (FFT path, verified)'


def bench_sequence(args, device: torch.device) -> List[Dict]:
    torch.manual_seed(0)
    batch, length = (4, 64) if args.quick else (args.seq_batch_size, args.seq_length)
    ours, name = _our_sequence_model(args.quick)
    x = torch.randn(batch, 1, length, device=device)
    target = torch.randint(0, 10, (batch,), device=device)
    if ours is None:
        print(f'sequence: skipped, {name}')
        return []
    ours = ours.to(device)
    # the baseline is timed only if it gives the original code's reference outputs
    verified, why = verify_original_tcn()
    if verified is None or not verified <= 1e-5:
        print(f'sequence: no comparison with the original method: the baseline could not be verified ({why}); '
              f'{name} alone:')
        ours.train()
        times, _ = alternate(_sequence_step_fn(ours, x, target), lambda: None, args.reps, device)
        print(f'  training step {batch / statistics.median(times):.1f} seq/s (batch {batch}, length {length})')
        return []
    original = OriginalTCN(**(dict(hidden=8, blocks=2) if args.quick else {})).to(device)
    with torch.no_grad():  # BN statistics away from the identity, so the comparison means something
        for m in original.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.)
                m.bias.normal_(0, 0.1)
        original.eval()(x)  # sets train_length, as the original's first forward does
    problem = _load_original_into_ours(original, ours)
    if problem is None:
        with torch.no_grad():
            diff = relative_error(ours.eval()(x), original.eval()(x))
        note = f'baseline {why}; outputs vs ours, same weights: max rel diff {diff:.1e}'
    else:
        note = f'baseline {why}; outputs not compared: {problem}'
    rows = []
    ours.train(), original.train()
    times_a, times_b = alternate(_sequence_step_fn(ours, x, target), _sequence_step_fn(original, x, target),
                                 args.reps, device)
    rows.append(_row(f'sequence training step (Adam), batch {batch} length {length}', 'seq/s', name, times_a,
                     BASELINE, times_b, batch, note=note))
    ours.eval(), original.eval()

    def infer(model):
        def run():
            with torch.no_grad():
                model(x)
        return run
    times_a, times_b = alternate(infer(ours), infer(original), args.reps, device)
    rows.append(_row(f'sequence inference, batch {batch} length {length}', 'seq/s', name, times_a,
                     BASELINE, times_b, batch))
    if hasattr(ours, 'reparameterize'):
        # deployed: kernels sampled once for this length, small kernel merged, BNs folded
        deployed = copy.deepcopy(ours).eval()
        deployed.reparameterize(length)
        # (the training steps above changed both models' weights differently); the reference is the training form's
        # two branches per unit, not the eval-mode fold the deployed model is made of
        with torch.no_grad(), two_branch_eval(ours):
            note = f'deployed vs its training form: max rel diff {relative_error(deployed(x), ours(x)):.1e}'
        times_a, times_b = alternate(infer(deployed), infer(original), args.reps, device)
        rows.append(_row(f'sequence inference, batch {batch} length {length}', 'seq/s', f'{name} (deployed)',
                         times_a, BASELINE, times_b, batch, note=note))
    return rows


def bench_compile(args, device: torch.device) -> List[Dict]:
    """Training steps (AdamW) of ``torch.compile``d ``smpconvnet_t`` and ``convnext_tiny``, after compiling (two
    warm-up steps each, not timed), next to their eager ratio measured in the same run. Compiling takes minutes on a
    small CPU, so this workload runs only when asked for (``--workloads compile``)."""
    torch.manual_seed(0)
    ours, ref = _image_models(args.quick)
    ours, ref = ours.train().to(device), ref.train().to(device)
    batch = args.train_batch_size
    x = torch.randn(batch, 3, args.img_size, args.img_size, device=device)
    target = torch.randint(0, ours.num_classes, (batch,), device=device)
    compiled = [torch.compile(copy.deepcopy(m)) for m in (ours, ref)]
    steps = [_train_step_fn(m, x, target) for m in [ours, ref] + compiled]
    times = alternate_all(steps, args.reps, device, warmup=2)
    name = f'training step (fwd + bwd + AdamW), batch {batch} at {args.img_size} px, eager and compiled in one run'
    return [_row(name, 'img/s', 'smpconvnet_t (eager)', times[0], 'convnext_tiny (eager)', times[1], batch),
            _row(name, 'img/s', 'smpconvnet_t (torch.compile)', times[2], 'convnext_tiny (torch.compile)', times[3],
                 batch, note='both compiled with torch.compile defaults')]


# ---------------------------------------------------------------------------------------------------------
# Kernel generators: point kernels vs the MLP kernel networks they replace (the paper's central claim)


def saved_for_backward_mib(fn: Callable[[], torch.Tensor], exclude: List[torch.Tensor]) -> float:
    """MiB that autograd keeps for the backward of ``fn()`` (each storage counted once; the ``exclude`` tensors,
    e.g. the parameters, which are resident anyway, left out) plus the output itself: the memory a kernel generator
    holds from its forward to its backward."""
    excluded = {t.untyped_storage().data_ptr() for t in exclude}
    storages: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in excluded:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    storages.setdefault(out.untyped_storage().data_ptr(), out.untyped_storage().nbytes())
    return sum(storages.values()) / 2 ** 20


def _kernel_banks(quick: bool):
    """(description, point kernel, kernel size) of the two banks the comparison generates."""
    from ..layers.point_kernel import PointKernel
    k2, c2, k1, c1 = (31, 16, 64, 8) if quick else (31, 384, 784, 30)
    image = PointKernel(k2 * k2 // 4, c2, 1, ndim=2, shared_coords=True, init_radius=4. / k2, coord_std=0.2,
                        r_min=1e-3)
    sequence = PointKernel(30, c1, c1, ndim=1, shared_coords=False, init_radius=0.002, coord_std=0.1,
                           coord_init='recent', r_min=1e-4, normalize_by_count=True)
    return [(f'{k2}x{k2} depthwise bank, {c2} channels (ImageNet stage 3)', image, [k2, k2]),
            (f'{k1}-tap causal bank, {c1} x {c1} channels (sMNIST)', sequence, [k1])]


def _sirens(point_kernel: nn.Module) -> List[Tuple[str, nn.Module]]:
    from ._baselines import SirenKernel, matched_hidden_width
    o, i, ndim = point_kernel.out_channels, point_kernel.in_channels, point_kernel.ndim
    params = sum(p.numel() for p in point_kernel.parameters())
    matched = matched_hidden_width(params, ndim, o * i)
    return [('SIREN kernel net, hidden 32 (CKConv)', SirenKernel(o, i, ndim, 32)),
            (f'SIREN kernel net, hidden {matched} (same parameters)', SirenKernel(o, i, ndim, matched))]


def bench_kernelnet(args, device: torch.device) -> List[Dict]:
    """Forward + backward of each kernel bank (point kernel vs SIREN kernel nets, hidden 32 and parameter-matched),
    the memory each keeps for its backward, and a whole ``smpconv_tcn_smnist`` training step with each generator."""
    import timm
    torch.manual_seed(0)
    rows = []
    for description, point, size in _kernel_banks(args.quick):
        generators = [(f'point kernel, {point.n_points} points', point)] + _sirens(point)
        generators = [(label, gen.to(device)) for label, gen in generators]
        grad = torch.randn([point.out_channels, point.in_channels] + size, device=device)

        def step(gen):
            def run():
                gen(size).backward(grad)
            return run
        times = alternate_all([step(gen) for _, gen in generators], args.reps, device)
        memory = [saved_for_backward_mib(lambda: gen(size), list(gen.parameters())) for _, gen in generators]
        params = [sum(p.numel() for p in gen.parameters()) for _, gen in generators]
        for j in (1, 2):
            rows.append(_row(
                f'kernel generation, forward + backward: {description}', 'banks/s',
                f'{generators[0][0]} ({params[0]:,} parameters)', times[0],
                f'{generators[j][0]} ({params[j]:,})', times[j], 1,
                note=f'kept for backward: {memory[0]:.1f} vs {memory[j]:.1f} MiB'))

    # a whole training step of the sMNIST model with each generator in every SMP unit
    from ._baselines import SirenKernel
    batch, length = (4, 64) if args.quick else (args.seq_batch_size, args.seq_length)
    kwargs = dict(num_blocks=2, hidden_channels=8) if args.quick else {}
    x = torch.randn(batch, 1, length, device=device)
    target = torch.randint(0, 10, (batch,), device=device)
    models = [timm.create_model('smpconv_tcn_smnist', **kwargs)]
    point = models[0].blocks[-1].conv2.smp.kernel
    for _, siren in _sirens(point):
        model = timm.create_model('smpconv_tcn_smnist', **kwargs)
        for unit in [m for m in model.modules() if hasattr(m, 'smp') and hasattr(m.smp, 'kernel')]:
            kernel = unit.smp.kernel
            unit.smp.kernel = SirenKernel(kernel.out_channels, kernel.in_channels, 1,
                                          siren.layers[0].out_features)
        models.append(model)
    models = [m.train().to(device) for m in models]
    times = alternate_all([_sequence_step_fn(m, x, target) for m in models], args.reps, device)
    labels = ['smpconv_tcn_smnist (point kernels)'] + [f'same model, {label}' for label, _ in _sirens(point)]
    for j in (1, 2):
        rows.append(_row(f'sequence training step (Adam), batch {batch} length {length}, kernel generator swapped',
                         'seq/s', labels[0], times[0], labels[j], times[j], batch))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Command line


def _add_arguments(parser: argparse.ArgumentParser):
    parser.add_argument('--workloads', default=','.join(WORKLOADS),
                        help=f'comma-separated subset of {",".join(WORKLOADS + OPTIONAL_WORKLOADS)} (default: '
                             f'{",".join(WORKLOADS)}; compile only when named: it takes minutes)')
    parser.add_argument('--reps', type=int, default=None, help='timed repetitions per side (default 7; 1 with --quick)')
    parser.add_argument('--batch-size', type=int, default=8, help='inference batch size (default 8)')
    parser.add_argument('--train-batch-size', type=int, default=4, help='training batch size (default 4)')
    parser.add_argument('--img-size', type=int, default=224, help='image size (default 224)')
    parser.add_argument('--seq-batch-size', type=int, default=32, help='sequence batch size (default 32)')
    parser.add_argument('--seq-length', type=int, default=784, help='sequence length (default 784, sMNIST)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (default cpu)')
    parser.add_argument('--json', metavar='PATH', default=None,
                        help='also write every figure (both sides, medians, min/max, each repetition, ratios) with the '
                             'versions, threads and device to PATH as JSON')
    parser.add_argument('--force', action='store_true', help='replace the --json file if it exists')
    parser.add_argument('--markdown', metavar='JSON', default=None,
                        help='measure nothing: print the Markdown speed table of a --json report (docs/speed.md and '
                             'the README show one, from docs/bench-cpu.json)')
    parser.add_argument('--quick', action='store_true',
                        help='reduced models (smpconvnet_t and convnext_tiny with one block per stage, 16-128 channels; '
                             'a 2-block, 8-channel SMP-TCN at length 64, batch 4; kernel banks of 16 channels and of '
                             '64 taps, 8 x 8), small images (64 px, batch 2), one warm-up '
                             'and one timed repetition: checks that every workload runs, prints no ratio')


def run(args: argparse.Namespace) -> int:
    if args.markdown is not None and not args.markdown.strip():
        raise ValueError('--markdown is empty: give the --json report to print the table of')
    if args.markdown is not None:
        defaults = argparse.ArgumentParser()
        _add_arguments(defaults)
        ignored = [f"--{k.replace('_', '-')}" for k, v in vars(defaults.parse_args([])).items()
                   if k != 'markdown' and hasattr(args, k) and getattr(args, k) != v]
        if ignored:  # they would do nothing: said, not ignored
            raise ValueError(f"--markdown measures nothing, it prints the table of a --json report: "
                             f"{', '.join(ignored)} would do nothing with it")
        path = Path(args.markdown)
        if path.is_dir() or not path.is_file():
            raise FileNotFoundError(
                f'--markdown: {args.markdown!r} is {"a folder" if path.is_dir() else "not a file"}, expected a report '
                f'written by smpconvnet bench --json PATH')
        try:
            table = markdown_table(json.loads(path.read_text(encoding='utf-8')))
        except (ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError) as e:
            raise ValueError(f'--markdown: {path} is not a report of smpconvnet bench --json PATH ({e})') from None
        print(table, end='')
        return 0
    workloads = [w.strip() for w in args.workloads.split(',') if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS + OPTIONAL_WORKLOADS]
    if unknown or not workloads:
        raise ValueError(f'--workloads {args.workloads!r}: expected a comma-separated subset of '
                         f'{",".join(WORKLOADS + OPTIONAL_WORKLOADS)}')
    if not (args.device == 'cpu' or args.device.split(':')[0] == 'cuda'):
        raise ValueError(f"--device must be cpu or cuda (cuda:N), got {args.device!r}")
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda was given but CUDA is not available')
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f'--threads must be a positive number of threads, got {args.threads}')
        torch.set_num_threads(args.threads)
    if args.json is not None and not args.json.strip():  # '' read as "not given": everything ran, nothing written
        raise ValueError('--json is empty: give the file to write the report to')
    if args.force and not args.json:
        raise ValueError('--force replaces the --json file: add --json PATH')
    if args.json:
        out = Path(args.json)
        if out.is_dir() or not out.resolve().parent.is_dir():
            raise ValueError(f'--json {args.json}: ' + ('is a folder' if out.is_dir() else
                             f'its folder {out.resolve().parent} does not exist') + ', expected a file path to write')
        if out.exists() and not args.force:  # before the measuring, not after it
            raise FileExistsError(f'--json {args.json} exists; add --force to replace it')
    if args.quick:
        args.img_size = min(args.img_size, 64)
        args.batch_size = min(args.batch_size, 2)
        args.train_batch_size = min(args.train_batch_size, 2)
    if args.reps is None:
        args.reps = 1 if args.quick else 7
    if args.reps < 1:
        raise ValueError(f'--reps must be at least 1, got {args.reps}')
    from ..layers.conv_backends import get_default_backend
    print(f'smpconvnet bench: device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, '
          f'{args.reps} alternating repetitions per side, medians; conv backend {get_default_backend()!r}'
          f'{" (--quick: tiny sizes, not a measurement)" if args.quick else ""}', flush=True)
    benches = dict(inference=bench_inference, train=bench_train, memory=bench_memory, sequence=bench_sequence,
                   kernelnet=bench_kernelnet, compile=bench_compile)
    measured: List[Dict] = []
    for workload in workloads:
        rows = benches[workload](args, device)
        for row in rows if isinstance(rows, list) else [rows]:
            _print_row(row, args.quick)
            measured.append(dict(row, workload=workload))
    if args.json:
        _write_json(args, device, measured)
    return 0


def _write_json(args: argparse.Namespace, device: torch.device, rows: List[Dict]):
    """Every figure of the run (both sides, medians, min/max, every repetition, ratio) with what it ran on,
    written atomically to ``--json PATH``, so that runs on different machines can be compared."""
    import datetime
    import platform

    import timm

    from .. import __version__
    from ..atomic_io import atomic_file
    report = dict(
        smpconvnet=__version__, torch=torch.__version__, timm=timm.__version__, python=platform.python_version(),
        machine=platform.machine(), processor=platform.processor(), device=str(device),
        threads=torch.get_num_threads(), reps=args.reps, quick=bool(args.quick),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        arguments={k: v for k, v in vars(args).items() if k not in ('func', 'json', 'force')},
        rows=[dict(row, ratio=None if args.quick else row['ratio']) for row in rows])
    with atomic_file(args.json) as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=str))
    print(f'wrote {args.json}')


def markdown_table(report: Dict) -> str:
    """The speed table of a ``--json`` report, in Markdown: one line per row with both sides' medians, the ratio of
    the medians and the range of the per-repetition ratios (each repetition measures both sides back to back), then
    what the run was measured on. What ``docs/speed.md`` and the README show, so that they hold one run's figures."""
    if report.get('quick'):
        raise ValueError('a --quick report measures nothing: run the bench without --quick')
    lines = ['| workload | ours (or the first side) | reference | ratio (range over repetitions) |',
             '| --- | --- | --- | --- |']
    for row in report['rows']:
        pairs = [a / b for a, b in zip(row.get('a_rates', []), row.get('b_rates', []))]
        spread = f' ({min(pairs):.2f}-{max(pairs):.2f}x)' if len(pairs) > 1 else ''  # memory: one measurement
        unit = row['unit']
        lines.append(
            f"| {row['name']} | {row['a']}: {row['a_value']:.4g} {unit} | {row['b']}: {row['b_value']:.4g} {unit} | "
            f"**{row['ratio']:.2f}x**{spread} |")
    lines.append('')
    workloads = report.get('arguments', {}).get('workloads', '')
    command = f"smpconvnet bench --reps {report['reps']}" + (f' --workloads {workloads}' if workloads else '')
    lines.append(
        f"Measured {report['date'][:10]} with `{command}` on {report['device']}, "
        f"{report['threads']} threads, torch {report['torch']}, timm {report['timm']}, smpconvnet "
        f"{report['smpconvnet']} ({report['reps']} alternating repetitions per side, medians).")
    return '\n'.join(lines) + '\n'


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'bench', help='speed of smpconvnet_t vs convnext_tiny and of the sequence model vs the original method',
        description=__doc__.replace('``', ''),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m smpconvnet.cli.bench', description=__doc__.replace('``', ''),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
