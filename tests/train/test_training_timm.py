"""SMPConvNet under timm's training machinery: the `smpconvnet train` launcher, the SMP-specific needs
(radius bounds with AMP, no weight decay and 0.1 x learning rate for radii, gradient checkpointing, EMA,
checkpoints), and a short run of the ImageNet recipe on a tiny generated ImageFolder.

No timm checkout is needed: the launcher is tested with a stand-in train.py written here, the recipe with
timm's library components (those train.py uses).
"""
import argparse
import copy
import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from timm.data import Mixup, create_dataset, create_loader, resolve_data_config
from timm.loss import SoftTargetCrossEntropy
from timm.models import load_checkpoint
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2, scheduler_kwargs
from timm.utils import CheckpointSaver, ModelEmaV3, NativeScaler, reparameterize_model

from conftest import rel_err
from smpconvnet import PointKernel
from smpconvnet.cli import main
from smpconvnet.train.timm_scripts import RADIUS_LR_SCALE, load_recipe, param_groups_smp, run_timm_script

ROOT = Path(__file__).resolve().parents[2]
# a reduced SMPConvNet-T for CPU tests (the full kernels 31/29/27/13, one block pair per stage), run on
# 32 px inputs (feature maps 8, 4, 2, 1) to keep the tests fast
TINY = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=3)
R_MIN, R_MAX = 1e-3, 1.


def _tiny(**kwargs):
    return timm.create_model('smpconvnet_t', **{**TINY, **kwargs})


def _radii(model):
    return [m.radius for m in model.modules() if isinstance(m, PointKernel)]


def _radius_names(model):
    return {n for n, _ in model.named_parameters() if n.endswith('.kernel.radius')}


def _group_of(optimizer, param):
    return next(g for g in optimizer.param_groups if any(p is param for p in g['params']))


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = str(ROOT) + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    return env


# ---------------------------------------------------------------------------------------------------------
# The launcher: a stand-in for timm's train.py that records what it sees

FAKE_TRAIN_PY = textwrap.dedent('''
    import argparse, json, sys
    import timm
    from timm.optim import create_optimizer_v2   # imported as timm's train.py does, at the top

    if __name__ == '__main__':
        record = {'argv': sys.argv[1:], 'registered': timm.is_model('smpconvnet_t'), 'groups': None}
        if record['registered']:
            parser = argparse.ArgumentParser()
            parser.add_argument('--model')
            args, _ = parser.parse_known_args()
            model = timm.create_model(args.model, layers=(1, 1, 1, 1), channels=(16, 32, 64, 128))
            radius_ids = {id(p) for n, p in model.named_parameters() if n.endswith('.kernel.radius')}
            optimizer = create_optimizer_v2(model, opt='adamw', lr=1e-3, weight_decay=0.05)
            record['groups'] = [
                dict(n=len(g['params']), n_radius=sum(id(p) in radius_ids for p in g['params']),
                     weight_decay=g['weight_decay'], lr_scale=g.get('lr_scale')) for g in optimizer.param_groups]
            record['n_radius'] = len(radius_ids)
        with open(RECORD, 'w') as f:
            json.dump(record, f)
''')


def _fake_train_py(tmp_path):
    record = tmp_path / 'record.json'
    script = tmp_path / 'train.py'
    script.write_text(f'RECORD = {str(record)!r}\n' + FAKE_TRAIN_PY)
    return script, record


ODD_ARGS = ['--model', 'smpconvnet_t', '--config', 'my recipe.yaml', '-b', '64', '--flag', '--', '--after']


def test_launcher_registers_models_and_passes_argv_unchanged(tmp_path):
    script, record = _fake_train_py(tmp_path)
    r = subprocess.run(
        [sys.executable, '-m', 'smpconvnet', 'train', '--train-script', str(script), '--'] + ODD_ARGS,
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(record.read_text())
    assert seen['argv'] == ODD_ARGS
    assert seen['registered']
    # timm's optimiser factory, as train.py calls it, now puts the radii in their own group at 0.1 x lr
    radius_groups = [g for g in seen['groups'] if g['n_radius']]
    assert radius_groups == [dict(n=seen['n_radius'], n_radius=seen['n_radius'], weight_decay=0.0,
                                  lr_scale=RADIUS_LR_SCALE)]
    assert {g['weight_decay'] for g in seen['groups']} == {0.0, 0.05}

    # the stand-in really needs the launcher: run directly, it sees no SMPConv model
    r = subprocess.run([sys.executable, str(script)] + ODD_ARGS, capture_output=True, text=True, env=_env(),
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(record.read_text())['registered'] is False


def test_launcher_under_torchrun_module_mode(tmp_path):
    """`torchrun ... -m smpconvnet train --train-script PATH -- ARGS`, the multi-GPU / multi-node form."""
    script, record = _fake_train_py(tmp_path)
    r = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '1',
         '-m', 'smpconvnet', 'train', '--train-script', str(script), '--radius-lr-scale', '1', '--'] + ODD_ARGS,
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(record.read_text())
    assert seen['argv'] == ODD_ARGS and seen['registered']
    # --radius-lr-scale 1: timm's own grouping, radii without decay through no_weight_decay()
    assert all(g['lr_scale'] is None for g in seen['groups'])
    assert [g['weight_decay'] for g in seen['groups'] if g['n_radius']] == [0.0]


def test_launcher_returns_the_scripts_status_and_restores_timm(tmp_path, capsys):
    script = tmp_path / 'exits.py'
    script.write_text('import sys\nif __name__ == "__main__":\n    sys.exit(int(sys.argv[1]))\n')
    before = timm.optim.create_optimizer_v2
    assert run_timm_script(str(script), ['3'], radius_lr_scale=0.1) == 3
    assert run_timm_script(str(script), ['0'], radius_lr_scale=0.1) == 0
    assert timm.optim.create_optimizer_v2 is before
    failing = tmp_path / 'fails.py'
    failing.write_text('raise ValueError("inside the script")\n')
    assert main(['train', '--train-script', str(failing)]) == 1
    assert 'Traceback' in capsys.readouterr().err  # the script's own traceback, not a one-line summary
    assert main(['train', '--train-script', str(tmp_path / 'nope.py'), '--', '--model', 'x']) == 1
    assert 'pytorch-image-models checkout' in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# SMP-specific needs under timm's optimiser, scheduler, AMP, EMA and checkpoints

def test_radii_get_no_weight_decay_through_create_optimizer_v2():
    model = _tiny()
    assert _radius_names(model) <= model.no_weight_decay()
    optimizer = create_optimizer_v2(model, 'adamw', lr=4e-3, weight_decay=0.05)
    params = dict(model.named_parameters())
    for name in _radius_names(model):
        assert _group_of(optimizer, params[name])['weight_decay'] == 0.
    assert _group_of(optimizer, params['stages.0.blocks.0.pw1.conv.weight'])['weight_decay'] == 0.05
    assert _group_of(optimizer, params['stages.0.blocks.0.large_kernel.smp.conv.kernel.weights'])['weight_decay'] \
        == 0.05


def test_radius_lr_scale_is_honoured_by_timm_schedulers():
    recipe = load_recipe('smpconvnet_t_in1k')
    model = _tiny()
    optimizer = create_optimizer_v2(
        model, 'adamw', lr=4e-3, weight_decay=0.05,
        param_group_fn=functools.partial(param_groups_smp, weight_decay=0.05))
    radius_group = _group_of(optimizer, _radii(model)[0])
    assert radius_group['lr_scale'] == RADIUS_LR_SCALE and radius_group['weight_decay'] == 0.
    assert all(any(p is q for q in radius_group['params']) for p in _radii(model))
    assert sum(len(g['params']) for g in optimizer.param_groups) == len(list(model.parameters()))
    others = [g for g in optimizer.param_groups if g is not radius_group]
    scheduler, _ = create_scheduler_v2(
        optimizer, **scheduler_kwargs(argparse.Namespace(**recipe)), updates_per_epoch=3)
    for update in (1, 15, 29, 30, 400, 899):  # warm-up, its end, cosine
        scheduler.step_update(update)
        assert others[0]['lr'] > 0
        for g in others:
            assert g['lr'] == others[0]['lr']
        assert radius_group['lr'] == pytest.approx(RADIUS_LR_SCALE * others[0]['lr'], rel=1e-12)

    # the first AdamW step moves every parameter by its lr (weight decay off for this check, which it would
    # add to the coordinates' move): radii by 0.1 x what coordinates move
    for g in optimizer.param_groups:
        g['lr'], g['weight_decay'] = 1e-3 * g.get('lr_scale', 1.), 0.
    kernel = model.stages[0].blocks[0].large_kernel.smp.conv.kernel
    radius0, coords0 = kernel.radius.detach().clone(), kernel.coords.detach().clone()
    model(torch.randn(2, 3, 32, 32)).logsumexp(-1).sum().backward()
    optimizer.step()
    moved_radius = (kernel.radius - radius0).abs()[kernel.radius.grad != 0]
    moved_coords = (kernel.coords - coords0).abs()[kernel.coords.grad != 0]
    assert moved_radius.max().item() == pytest.approx(1e-4, rel=1e-2)
    assert moved_coords.max().item() == pytest.approx(1e-3, rel=1e-2)


def test_radii_stay_in_bounds_with_timm_optimizer_and_amp():
    """bfloat16 autocast (CPU) with timm's NativeScaler and AdamW from create_optimizer_v2: a loss that pushes
    every radius up, then down, by far more than its range leaves all radii in [r_min, 1] after each step."""
    model = _tiny()
    scaler = NativeScaler(device='cpu')
    x = torch.randn(4, 3, 32, 32)
    weights0 = model.head.fc.weight.detach().clone()
    for step in range(2):
        # a fresh optimiser per direction, so that Adam's first step moves every radius by the full lr
        optimizer = create_optimizer_v2(
            model, 'adamw', lr=1.0, weight_decay=0.05,
            param_group_fn=functools.partial(param_groups_smp, weight_decay=0.05, radius_lr_scale=1.))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(x)
            assert out.dtype == torch.bfloat16
            # radii up for the first step, down for the second: both bounds get hit
            # (1e6: radii on a bound keep their gradient through the kernel, which the push must dominate)
            loss = out.float().logsumexp(-1).mean() + (1 if step else -1) * 1e6 * sum(r.sum() for r in _radii(model))
        optimizer.zero_grad()
        scaler(loss, optimizer)
        radii = torch.cat([r.detach().flatten() for r in _radii(model)])
        assert radii.min() >= R_MIN and radii.max() <= R_MAX
        assert (radii == (R_MAX if step == 0 else R_MIN)).all()  # the bound was reached, so it was enforced
    assert not torch.equal(model.head.fc.weight, weights0)  # the scaler really stepped


def test_grad_checkpointing_gives_the_same_gradients():
    model = _tiny(drop_path_rate=0.)
    reference = copy.deepcopy(model)
    model.set_grad_checkpointing(True)
    assert all(s.grad_checkpointing for s in model.stages)
    x = torch.randn(2, 3, 64, 64)  # 64 px: the last stage keeps 2x2 positions for BN
    model(x).square().sum().backward()
    reference(x).square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert p.grad is not None, name
        assert rel_err(p.grad, q.grad) < 1e-5, name


def test_model_ema_v3_tracks_the_model_and_deploys():
    model = _tiny()
    ema = ModelEmaV3(model, decay=0.75)
    before = copy.deepcopy(ema.module.state_dict())
    optimizer = create_optimizer_v2(model, 'adamw', lr=1e-2, weight_decay=0.05)
    model(torch.randn(2, 3, 32, 32)).logsumexp(-1).sum().backward()
    optimizer.step()
    ema.update(model, step=10)  # as train.py calls it (step 1 would copy the model: timm starts the EMA there)
    for name, value in model.state_dict().items():
        if value.dtype.is_floating_point:
            expected = 0.75 * before[name] + 0.25 * value
            assert torch.allclose(ema.module.state_dict()[name], expected, rtol=1e-6, atol=1e-7), name
    assert all(R_MIN <= r.min() and r.max() <= R_MAX for r in _radii(ema.module))
    ema.module.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = ema.module(x)
        deployed = reparameterize_model(copy.deepcopy(ema.module))
        assert rel_err(deployed(x), y) < 1e-4


# ---------------------------------------------------------------------------------------------------------
# The recipe on a tiny ImageFolder, through timm's components

def _tiny_image_folder(root: Path, per_class: int = 8, size: int = 64):
    """3 classes of generated images: a red checkerboard, green stripes, a blue disc, with noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    patterns = [(xx // 8 + yy // 8) % 2, (xx // 4) % 2, ((xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (size / 3) ** 2)]
    colours = [(220, 40, 40), (40, 200, 60), (50, 70, 230)]
    for c, (pattern, colour) in enumerate(zip(patterns, colours)):
        folder = root / 'train' / f'class{c}'
        folder.mkdir(parents=True)
        for i in range(per_class):
            img = np.array(colour)[None, None] * (0.5 + 0.5 * pattern[..., None]) + rng.normal(0, 20, (size, size, 3))
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(folder / f'{i}.png')


def test_recipe_trains_a_tiny_image_folder_through_timm(tmp_path):
    """Phase 1 runs the recipe's settings for one epoch (RandAugment, random erasing, mixup/cutmix with label
    smoothing, AdamW with the radius group, warm-up + cosine per update, EMA); phase 2 shows learning
    (plain crops, no mixup, constant lr); then timm's CheckpointSaver output reloads through create_model."""
    torch.manual_seed(0)
    recipe = load_recipe('smpconvnet_t_in1k')
    _tiny_image_folder(tmp_path / 'data')
    model = _tiny(drop_path_rate=recipe['drop_path'])
    # 64 px images, 32 px crops
    data_config = resolve_data_config(dict(input_size=(3, 32, 32), crop_pct=1.0), model=model)
    batch_size, per_epoch = 8, 3

    dataset = create_dataset('', root=str(tmp_path / 'data'), split='train', is_training=True)
    assert len(dataset) == 24
    loader = create_loader(
        dataset, input_size=data_config['input_size'], batch_size=batch_size, is_training=True,
        use_prefetcher=False, no_aug=False, re_prob=recipe['reprob'], re_mode=recipe['remode'],
        re_count=recipe['recount'], scale=recipe['scale'], ratio=recipe['ratio'], hflip=recipe['hflip'],
        vflip=recipe['vflip'], color_jitter=recipe['color_jitter'], auto_augment=recipe['aa'],
        interpolation=recipe['train_interpolation'], mean=data_config['mean'], std=data_config['std'],
        num_workers=0)
    mixup = Mixup(
        mixup_alpha=recipe['mixup'], cutmix_alpha=recipe['cutmix'], cutmix_minmax=recipe['cutmix_minmax'],
        prob=recipe['mixup_prob'], switch_prob=recipe['mixup_switch_prob'], mode=recipe['mixup_mode'],
        label_smoothing=recipe['smoothing'], num_classes=3)
    criterion = SoftTargetCrossEntropy()
    lr = recipe['lr_base'] * 64 / recipe['lr_base_size'] * 100  # train.py's linear rule, raised for a short run
    optimizer = create_optimizer_v2(
        model, recipe['opt'], lr=lr, weight_decay=recipe['weight_decay'], eps=recipe['opt_eps'],
        param_group_fn=functools.partial(param_groups_smp, weight_decay=recipe['weight_decay']))
    # the recipe's schedule shape, shortened: 1 warm-up + 1 cosine epoch of 3 updates
    sched_args = argparse.Namespace(**{**recipe, 'epochs': 1, 'warmup_epochs': 1})
    scheduler, num_epochs = create_scheduler_v2(
        optimizer, **scheduler_kwargs(sched_args), updates_per_epoch=per_epoch)
    assert num_epochs == 2
    ema = ModelEmaV3(model, decay=0.9)  # the recipe uses EMA; 0.9999 would not move in a few steps
    ema_init = copy.deepcopy(ema.module.state_dict())

    # phase 1: the recipe's augmentation, mixup and schedule, as train.py's loop steps them
    model.train()
    radius_group = _group_of(optimizer, _radii(model)[0])
    num_updates, phase1_losses = 0, []
    for epoch in range(num_epochs):
        for x, y in loader:
            assert x.shape == (batch_size, 3, 32, 32)
            x, y = mixup(x, y)
            assert y.shape == (batch_size, 3) and (y.max(-1).values < 1).all()  # soft, smoothed targets
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            num_updates += 1
            scheduler.step_update(num_updates)
            ema.update(model, step=num_updates)
            phase1_losses.append(loss.item())
            radii = torch.cat([r.detach().flatten() for r in _radii(model)])
            assert R_MIN <= radii.min() and radii.max() <= R_MAX
            assert radius_group['lr'] == pytest.approx(RADIUS_LR_SCALE * optimizer.param_groups[0]['lr'])
    assert num_updates == 6 and all(np.isfinite(phase1_losses))
    assert optimizer.param_groups[0]['lr'] < 0.01 * lr  # the cosine reached its end
    assert any(not torch.equal(v, ema_init[k]) for k, v in ema.module.state_dict().items())

    # phase 2: learning, on clean crops of all 24 images (full batch), constant lr
    clean = create_loader(
        create_dataset('', root=str(tmp_path / 'data'), split='train'), input_size=data_config['input_size'],
        batch_size=24, is_training=False, use_prefetcher=False, interpolation='bilinear', crop_pct=1.0,
        mean=data_config['mean'], std=data_config['std'], num_workers=0)
    x, y = next(iter(clean))
    for g in optimizer.param_groups:
        g['lr'] = 3e-3 * g.get('lr_scale', 1.)
    losses, correct = [], []
    # 16 steps: after 8 the accuracy still oscillates (0.75-0.96) and where it stops depends on the CPU's rounding
    for _ in range(16):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        correct.append((logits.argmax(-1) == y).float().mean().item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
        losses.append(loss.item())
    radii = torch.cat([r.detach().flatten() for r in _radii(model)])
    assert R_MIN <= radii.min() and radii.max() <= R_MAX
    assert losses[-1] < 0.5 * losses[0], losses
    assert correct[-1] >= 0.9, correct  # training-mode predictions (batch statistics)
    model.eval()
    with torch.no_grad():
        logits = model(x)

    # the checkpoint timm's CheckpointSaver writes reloads through create_model(checkpoint_path=...), which
    # (timm's load_checkpoint default) takes the EMA weights when the checkpoint has them
    saver = CheckpointSaver(
        model, optimizer, args=argparse.Namespace(**recipe), model_ema=ema,
        checkpoint_dir=str(tmp_path / 'out'), recovery_dir=str(tmp_path / 'out'), max_history=1)
    os.makedirs(tmp_path / 'out')
    saver.save_checkpoint(epoch=2, metric=1.0)
    checkpoint = tmp_path / 'out' / 'model_best.pth.tar'
    ema_reloaded = timm.create_model('smpconvnet_t', **TINY, checkpoint_path=str(checkpoint)).eval()
    reloaded = _tiny().eval()
    load_checkpoint(reloaded, str(checkpoint), use_ema=False)
    ema.module.eval()
    with torch.no_grad():
        ema_logits = ema.module(x)
        assert not torch.equal(ema_logits, logits)
        assert torch.equal(ema_reloaded(x), ema_logits)
        assert torch.equal(reloaded(x), logits)
        assert rel_err(reparameterize_model(ema_reloaded)(x), ema_logits) < 1e-4
        assert rel_err(reparameterize_model(reloaded)(x), logits) < 1e-4


# what timm's benchmark.py / onnx_export.py do with --model and --reparam: create_model, reparameterize_model
FAKE_BENCHMARK_PY = textwrap.dedent('''
    import argparse, json, sys
    import timm, torch
    from timm.utils import reparameterize_model

    if __name__ == '__main__':
        parser = argparse.ArgumentParser()
        parser.add_argument('--model')
        parser.add_argument('--reparam', action='store_true')
        parser.add_argument('--out')
        args = parser.parse_args()
        model = timm.create_model(args.model, layers=(1, 1, 1, 1), channels=(16, 32, 64, 128)).eval()
        if args.reparam:
            model = reparameterize_model(model)
        with torch.no_grad():
            out = model(torch.randn(2, 3, 64, 64))
        bns = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        json.dump({'argv': sys.argv[1:], 'shape': list(out.shape), 'batchnorms': bns}, open(args.out, 'w'))
''')


def test_launcher_runs_any_timm_script(tmp_path):
    """`smpconvnet timm SCRIPT -- ARGS`: benchmark.py, onnx_export.py, inference.py ... unchanged, models registered
    (checked by hand with those scripts of timm's repository; a stand-in here, as the package ships no scripts)."""
    script = tmp_path / 'benchmark.py'
    script.write_text(FAKE_BENCHMARK_PY)
    out = tmp_path / 'out.json'
    args = ['--model', 'smpconvnet_t', '--reparam', '--out', str(out)]
    r = subprocess.run([sys.executable, '-m', 'smpconvnet', 'timm', str(script), '--'] + args,
                       capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(out.read_text())
    assert seen['argv'] == args and seen['shape'] == [2, 1000] and seen['batchnorms'] == 0
    r = subprocess.run([sys.executable, '-m', 'smpconvnet', 'timm', str(tmp_path / 'nope.py'), '--'],
                       capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and 'nope.py not found' in r.stderr


# timm's onnx_export.py, as far as it builds the model: its own options, no --model-kwargs
FAKE_ONNX_EXPORT_PY = textwrap.dedent('''
    import argparse, timm

    parser = argparse.ArgumentParser()
    parser.add_argument('output')
    parser.add_argument('--model', default='smpconvnet_t')
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--num-classes', type=int, default=1000)

    if __name__ == '__main__':
        args = parser.parse_args()
        model = timm.create_model(args.model, num_classes=args.num_classes, in_chans=3,
                                  pretrained=not args.checkpoint, checkpoint_path=args.checkpoint, exportable=True)
''')


def _check_exported_sequence_model(command, onnx, model, tmp_path):
    # runs a printed `smpconvnet export ...` command (to ``onnx``) and checks that the ONNX file gives ``model``'s
    # outputs on 1 x 150 series; returns its session
    r = subprocess.run([sys.executable, '-m'] + command + ['-o', str(onnx)], capture_output=True, text=True,
                       env=_env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    session = ort.InferenceSession(str(onnx))
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {'input': x.numpy(), 'lengths': np.full(2, 150, dtype=np.int64)}
                      if len(session.get_inputs()) == 2 else {'input': x.numpy()})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return session


def test_launcher_names_a_way_where_the_script_takes_no_model_kwargs(tmp_path, capsys):
    """A checkpoint's refusal says which --model-kwargs build its model; under a script without that option
    (timm's onnx_export.py) the launcher names the project's export command, which works as printed."""
    import shlex
    from conftest import SMALL_CKPT
    script = tmp_path / 'onnx_export.py'
    script.write_text(FAKE_ONNX_EXPORT_PY)
    assert run_timm_script(str(script), [str(tmp_path / 'out.onnx'), '--checkpoint', str(SMALL_CKPT)]) == 1
    err = capsys.readouterr().err
    assert "--model-kwargs 'channels=[16, 32, 64, 128]'" in err
    said = err.strip().splitlines()[-1]
    assert said.startswith('onnx_export.py takes no --model-kwargs'), said
    command = shlex.split(said.split('`')[1])
    assert command[:2] == ['smpconvnet', 'export']
    r = subprocess.run([sys.executable, '-m'] + command + ['--no-check'], capture_output=True, text=True,
                       env=_env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.glob('*.onnx')] == ['official_smpconvnet_small_safetensors.onnx']
    # trial 65: with the script's --model, the command builds that model with the refusal's arguments (a bare file
    # names none: `export FILE` alone built smpconv_tcn_smnist, deployed for 784 steps, from a GunPoint file)
    tcn = timm.create_model('smpconv_tcn_gunpoint', hidden_channels=16).eval()
    torch.save(tcn.state_dict(), tmp_path / 'h16.pth')
    assert run_timm_script(str(script), [str(tmp_path / 'tcn.onnx'), '--model', 'smpconv_tcn_gunpoint',
                                         '--checkpoint', str(tmp_path / 'h16.pth'), '--num-classes', '2']) == 1
    said = capsys.readouterr().err.strip().splitlines()[-1]
    command = shlex.split(said.split('`')[1])
    assert command[:5] == ['smpconvnet', 'export', 'smpconv_tcn_gunpoint', '--pretrained', 'no'], said
    _check_exported_sequence_model(command, tmp_path / 'tcn.onnx', tcn, tmp_path)
    # trial 65: where the refusal asks for another class count alone, the script's own --num-classes, which works
    small = timm.create_model('smpconvnet_t', channels=(16, 32, 64, 128), layers=(1, 1, 1, 1), num_classes=5)
    torch.save(small.state_dict(), tmp_path / 'five.pth')
    big = ['--checkpoint', str(tmp_path / 'five.pth')]
    fake = FAKE_ONNX_EXPORT_PY.replace("parser.add_argument('--num-classes'", "parser.add_argument('--channels', "
                                       "type=int, nargs=4, default=(16, 32, 64, 128))\nparser.add_argument("
                                       "'--num-classes'").replace(
        'in_chans=3,', 'in_chans=3, channels=args.channels, layers=(1, 1, 1, 1),')
    script.write_text(fake)
    assert run_timm_script(str(script), [str(tmp_path / 'out.onnx')] + big) == 1
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == 'onnx_export.py takes no --model-kwargs: its own --num-classes 5 builds the model that ' \
                   'checkpoint needs', said
    assert run_timm_script(str(script), [str(tmp_path / 'out.onnx')] + big + ['--num-classes', '5']) == 0
    # a script that takes --model-kwargs (train.py, validate.py) gets the refusal alone
    script.write_text(FAKE_ONNX_EXPORT_PY.replace("'--num-classes'", "'--model-kwargs', '--num-classes'"))
    assert run_timm_script(str(script), [str(tmp_path / 'out.onnx'), '--checkpoint', str(SMALL_CKPT)]) == 1
    assert 'takes no --model-kwargs' not in capsys.readouterr().err


def test_launcher_scripts_load_checkpoint_takes_original_files(tmp_path, capsys):
    """A script's ``timm.models.load_checkpoint`` (validate.py's ``--checkpoint``) reads this project's models'
    files through the family's checkpoint filter and names a bad file; timm's function is restored after the run."""
    from safetensors.torch import load_file
    from conftest import SMALL_CKPT, SMALL_IO, SMALL_KWARGS, rel_err
    out = tmp_path / 'logits.pt'
    script = tmp_path / 'validate.py'
    script.write_text(
        'import sys, torch\n'
        'from timm.models import create_model, load_checkpoint\n'
        'from safetensors.torch import load_file\n'
        'if __name__ == "__main__":\n'
        f'    model = create_model("smpconvnet_t", **{SMALL_KWARGS!r}).eval()\n'
        '    load_checkpoint(model, sys.argv[1])\n'
        '    with torch.no_grad():\n'
        f'        torch.save(model(load_file({str(SMALL_IO)!r})["input"]), {str(out)!r})\n')
    before = timm.models.load_checkpoint
    assert run_timm_script(str(script), [str(SMALL_CKPT)]) == 0
    assert rel_err(torch.load(out), load_file(SMALL_IO)['logits']) < 1e-4
    (tmp_path / 'empty.pth').touch()
    assert run_timm_script(str(script), [str(tmp_path / 'empty.pth')]) == 1
    assert f'checkpoint for smpconvnet_t: {tmp_path / "empty.pth"} is empty' in capsys.readouterr().err
    assert timm.models.load_checkpoint is before


# validate.py's model creation and --checkpoint load, as far as they go, for smpconv_tcn_gunpoint; its outputs on
# a fixed input saved to OUT (set before this text)
FAKE_VALIDATE_PY = textwrap.dedent('''
    import argparse, torch
    from timm.models import create_model, load_checkpoint
    from timm.utils import ParseKwargs

    parser = argparse.ArgumentParser()
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--num-classes', type=int, default=None)
    parser.add_argument('--gp', default=None)
    parser.add_argument('--in-chans', type=int, default=None)
    parser.add_argument('--input-size', default=None, nargs=3, type=int)
    parser.add_argument('--model-kwargs', nargs='*', default={}, action=ParseKwargs)

    if __name__ == '__main__':
        args = parser.parse_args()
        in_chans = 3
        if args.in_chans is not None:
            in_chans = args.in_chans
        elif args.input_size is not None:
            in_chans = args.input_size[0]
        model = create_model('smpconv_tcn_gunpoint', num_classes=args.num_classes, in_chans=in_chans,
                             global_pool=args.gp, **args.model_kwargs)
        load_checkpoint(model, args.checkpoint)
        torch.manual_seed(0)
        with torch.no_grad():
            torch.save(model.eval()(torch.randn(2, in_chans, 150)), OUT)
''')


def test_a_timm_scripts_refusal_hint_is_given_in_its_own_options(tmp_path, capsys):
    """A timm script keeps the last --model-kwargs given (timm's ParseKwargs) and passes in_chans, num_classes and
    global_pool from options of its own (--in-chans, --num-classes, --gp). A refusal's "(a command: --model-kwargs
    in_chans=2; ...)" added to a validate.py command dropped its other model arguments (trial 71b #3), and trial 72 #2:
    one naming num_classes=, in_chans= or global_pool= ended in "create_model() got multiple values for keyword
    argument". The hint is the script's own options for those and its whole --model-kwargs for the rest, and works
    added to the command. Trial 72 #3: validate.py's default in_chans=3 (no --in-chans given) adapted a 2-channel
    checkpoint without a word; it is refused as where nothing asked, and --in-chans 3 adapts it."""
    import re
    import shlex
    script = tmp_path / 'validate.py'
    out = tmp_path / 'out.pt'
    script.write_text(f'OUT = {str(out)!r}\n' + FAKE_VALIDATE_PY)
    small = dict(num_blocks=2, hidden_channels=8, n_points=6)
    given = [f'{k}={v}' for k, v in small.items()]

    def outputs(model, chans):
        torch.manual_seed(0)
        with torch.no_grad():
            return model.eval()(torch.randn(2, chans, 150))
    from smpconvnet.weights.folders import write_model_folder
    for args, name in ((dict(in_chans=2), 'two'), (dict(num_classes=5), 'five'), (dict(global_pool='max'), 'max')):
        trained = timm.create_model('smpconv_tcn_gunpoint', **small, **args).eval()
        file = tmp_path / f'{name}.pth'
        if name == 'max':  # (pooling no shape shows: a file that records it)
            write_model_folder(trained, tmp_path / name, card='', model_args=dict(small, **args))
            file = tmp_path / name / 'model.safetensors'
        else:
            torch.save(trained.state_dict(), file)
        command = ['--checkpoint', str(file), '--model-kwargs', *given] + (['--in-chans', '1'] if name != 'two' else [])
        assert run_timm_script(str(script), command) == 1
        err = ' '.join(capsys.readouterr().err.split())
        ways = re.findall(r'\(a command: ([^;)]+)[;)]', err)
        if name == 'max':  # (the recorded folder is named first: the script's way to load it)
            assert ways[0] == f'--model local-dir:{tmp_path / name} --pretrained in place of its checkpoint', ways
        hint = shlex.split(ways[-1])
        assert '--model-kwargs' not in hint or hint[hint.index('--model-kwargs') + 1:][:3] == given, err
        assert not any(w.startswith(('in_chans=', 'num_classes=', 'global_pool=')) for w in hint), hint
        assert run_timm_script(str(script), command + hint) == 0, capsys.readouterr().err
        assert torch.equal(torch.load(out), outputs(trained, args.get('in_chans', 1))), name
    # asked for 3 channels, the 2-channel checkpoint is adapted, as the description says
    assert run_timm_script(str(script), ['--checkpoint', str(tmp_path / 'two.pth'), '--in-chans', '3',
                                         '--model-kwargs', *given]) == 0
    assert torch.load(out).shape == (2, 2)


def test_a_scripts_refusal_of_a_recorded_network_names_its_channels_too(tmp_path, capsys):
    """Trial 72c #5: a train.py checkpoint whose args record global_pool='max' and in_chans=1, given to a script
    without --in-chans (its default 3), was refused with "--gp max" alone; copied, a second refusal asked for
    --in-chans 1. The first hint names both, and loads the network as trained in one go."""
    import re
    import shlex
    out = tmp_path / 'out.pt'
    script = tmp_path / 'validate.py'
    script.write_text(f'OUT = {str(out)!r}\n' + FAKE_VALIDATE_PY)
    small = dict(num_blocks=2, hidden_channels=8, n_points=6)
    trained = timm.create_model('smpconv_tcn_gunpoint', global_pool='max', **small).eval()
    file = tmp_path / 'trained.pth.tar'
    torch.save({'state_dict': trained.state_dict(), 'epoch': 3, 'args': argparse.Namespace(
        model='smpconv_tcn_gunpoint', in_chans=1, input_size=None, gp='max', num_classes=None, model_kwargs=small)},
        file)
    command = ['--checkpoint', str(file), '--model-kwargs', *[f'{k}={v}' for k, v in small.items()]]
    assert run_timm_script(str(script), command) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert "trained with global_pool='max'" in err
    hint = shlex.split(re.findall(r'\(a command: ([^;)]+)[;)]', err)[-1])
    assert '--gp' in hint and hint[hint.index('--in-chans') + 1] == '1', hint
    assert run_timm_script(str(script), command + hint) == 0, capsys.readouterr().err
    torch.manual_seed(0)
    with torch.no_grad():
        assert torch.equal(torch.load(out), trained(torch.randn(2, 1, 150)))


def test_a_scripts_fixed_in_chans_does_not_adapt_a_checkpoint_of_other_channels(tmp_path, capsys):
    """Trial 72b #1: timm's onnx_export.py builds every model with in_chans=3 (no --in-chans option): a 1-channel
    GunPoint checkpoint became a model of 3 input channels without a word (0.7467 on the series beside two zero
    channels for the trained 1.0). The script's in_chans is no request of the caller's: the checkpoint is refused,
    and the launcher names the project's export command, which exports the checkpoint's own network."""
    import shlex
    script = tmp_path / 'onnx_export.py'
    script.write_text(FAKE_ONNX_EXPORT_PY)
    trained = timm.create_model('smpconv_tcn_gunpoint').eval()  # (the registered width: the channels alone differ)
    torch.save(trained.state_dict(), tmp_path / 'gp.pth')
    args = [str(tmp_path / 'gp.onnx'), '--model', 'smpconv_tcn_gunpoint', '--checkpoint', str(tmp_path / 'gp.pth'),
            '--num-classes', '2']
    assert run_timm_script(str(script), args) == 1
    err = capsys.readouterr().err
    assert 'which no in_chans= asked for (the script\'s default' in err and 'in_chans=1' in err
    said = err.strip().splitlines()[-1]
    command = shlex.split(said.split('`')[1])
    # (the script's --num-classes with it: trial 72c #2, a second refusal asked for it)
    assert command[:2] == ['smpconvnet', 'export'] and 'in_chans=1' in command and 'num_classes=2' in command, said
    session = _check_exported_sequence_model(command, tmp_path / 'gp.onnx', trained, tmp_path)
    assert session.get_inputs()[0].shape[1] == 1
    # the shipped 1-channel weights (no --checkpoint: pretrained) are refused alike, and the export command is named
    # (trial 72c #1: the refusal's --model-kwargs alone, which the script does not take)
    assert run_timm_script(str(script), [str(tmp_path / 'gp.onnx'), '--model', 'smpconv_tcn_gunpoint',
                                         '--num-classes', '2']) == 1
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.split('`')[1] == 'smpconvnet export smpconv_tcn_gunpoint --model-kwargs in_chans=1 num_classes=2', said
    # a 3-channel checkpoint at the script's 3 loads as before (smpconvnet_t's ImageNet-style files)
    from conftest import SMALL_CKPT, SMALL_KWARGS
    arch = {k: v for k, v in SMALL_KWARGS.items() if k not in ('num_classes', 'in_chans')}
    script.write_text(FAKE_ONNX_EXPORT_PY.replace("in_chans=3,", f"in_chans=3, **{arch!r},"))
    assert run_timm_script(str(script), [str(tmp_path / 'out.onnx'), '--checkpoint', str(SMALL_CKPT), '--num-classes',
                                         str(SMALL_KWARGS.get('num_classes', 1000))]) == 0, capsys.readouterr().err


def test_a_scripts_refusal_names_no_smpconvnet_command_form_for_a_file(tmp_path, capsys):
    """Trial 73b F2: a timm script's refusal of a recorded checkpoint of another shape ended in "load_model(F) builds
    that model (a command: give it F)": no option of train.py or validate.py. There it says the file is for
    smpconvnet's commands; smpconvnet's own commands still get "give it F"."""
    out = tmp_path / 'out.pt'
    script = tmp_path / 'validate.py'
    script.write_text(f'OUT = {str(out)!r}\n' + FAKE_VALIDATE_PY)
    small = dict(num_blocks=3, hidden_channels=8, n_points=6)
    file = tmp_path / 'three.pth.tar'
    torch.save({'state_dict': timm.create_model('smpconv_tcn_gunpoint', **small).state_dict(), 'epoch': 3,
                'args': argparse.Namespace(model='smpconv_tcn_gunpoint', in_chans=1, input_size=None, gp=None,
                                           num_classes=None, model_kwargs=small)}, file)
    assert run_timm_script(str(script), ['--checkpoint', str(file), '--in-chans', '1', '--model-kwargs',
                                         'num_blocks=2', 'hidden_channels=8', 'n_points=6']) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert 'records the model it was trained as' in err and 'give it' not in err, err
    assert "not in a timm script, which builds its model from its options: smpconvnet's commands take the file" in err
    assert main(['info', 'smpconv_tcn_gunpoint', '--model-kwargs', f'checkpoint_path={file}', 'num_blocks=2',
                 'hidden_channels=8', 'n_points=6']) == 1
    assert f'(a command: give it {file})' in ' '.join(capsys.readouterr().err.split())
