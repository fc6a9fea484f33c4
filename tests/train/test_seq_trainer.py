"""The sequence training loop (``smpconvnet train-seq``) and its data handling, on tiny models and data."""
import json
import copy
import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models import build_model_with_cfg, register_model

from smpconvnet.data import sequences as seq_data
from smpconvnet.train import seq_trainer as train_seq
from smpconvnet.cli import main as cli_main
from smpconvnet.layers.point_kernel import PointKernel
from smpconvnet.models.smpconv_tcn import SMPConvTCN

aeon = pytest.importorskip('aeon')  # in the dev extra; the loaders need it


class TinySeqNet(nn.Module):
    """A tiny causal point-kernel network with the SMP-TCN interface (``forward(x, timestamps, lengths)``):
    one full-length SMP convolution, BatchNorm (so running statistics are part of the resumed state), dropout
    (so the global RNG matters) and a linear head on the last true step."""

    def __init__(self, in_chans=1, num_classes=3, hidden=4, dropout=0.1, **kwargs):
        super().__init__()
        self.num_classes = num_classes
        self.kernel = PointKernel(5, hidden, in_chans, ndim=1, shared_coords=False, init_radius=0.3, r_min=1e-4,
                                  coord_init='recent', weight_std=0.3, normalize_by_count=True)
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.norm = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def no_weight_decay(self):
        return {'kernel.radius', 'kernel.coords'}

    def forward(self, x, timestamps=None, lengths=None):
        length = x.shape[-1]
        w = self.kernel([length])
        y = F.conv1d(F.pad(x, (length - 1, 0)), w, self.bias)
        y = self.drop(F.relu(self.norm(y)))
        if lengths is None:
            feat = y[:, :, -1]
        else:
            feat = y[torch.arange(len(y)), :, lengths - 1]
        return self.head(feat)


@register_model
def _test_tiny_seqnet(pretrained=False, **kwargs):
    # through timm's builder, so that pretrained loading (local-dir:, file) works as for the real models
    return build_model_with_cfg(TinySeqNet, '_test_tiny_seqnet', pretrained, **kwargs)


def _cfg(tmp_path, name, **kw):
    base = dict(model='_test_tiny_seqnet', dataset='JapaneseVowels', epochs=2, batch_size=64, lr=1e-2,
                warmup_epochs=0.5, output=str(tmp_path / name), progress=False, threads=1, seed=3, augment=True)
    base.update(kw)
    return train_seq.TrainConfig(**base)


@pytest.mark.parametrize('extra', [{}, {'mixup': 0.4}, {'model_ema': True, 'model_ema_decay': 0.5}])
def test_resume_is_exact(tmp_path, extra):
    """2 epochs straight == 1 epoch, stop, resume for 1 more: identical weights, optimizer and schedule (mixup
    draws from Python's RNG and the data generator, both part of the checkpoint; the weights' moving average is
    part of it too)."""
    straight = train_seq.train(_cfg(tmp_path, 'a', **extra))
    first = _cfg(tmp_path, 'b', epochs=2, **extra)
    # stop after one epoch: run a 2-epoch configuration but interrupt it via a 1-epoch run of the same options
    # would change the schedule, so emulate the interruption by truncating the run after epoch 1
    import smpconvnet.train.seq_trainer as ts
    real_save = ts.save_atomic
    calls = {'n': 0}

    class Stop(Exception):
        pass

    def save_then_stop(obj, path, saver=torch.save):
        real_save(obj, path, saver)
        if str(path).endswith(ts.CHECKPOINT_NAME):
            calls['n'] += 1
            raise Stop

    ts.save_atomic = save_then_stop
    try:
        with pytest.raises(Stop):
            train_seq.train(first)
    finally:
        ts.save_atomic = real_save
    ckpt = torch.load(tmp_path / 'b' / ts.CHECKPOINT_NAME, weights_only=False)
    assert ckpt['epoch'] == 1 and calls['n'] == 1
    resumed = train_seq.train(_cfg(tmp_path, 'b', resume=True, **extra))

    a = torch.load(tmp_path / 'a' / ts.CHECKPOINT_NAME, weights_only=False)
    b = torch.load(tmp_path / 'b' / ts.CHECKPOINT_NAME, weights_only=False)
    assert a['epoch'] == b['epoch'] == 2 and a['num_updates'] == b['num_updates'] > 0
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    assert ('state_dict_ema' in a) == ('state_dict_ema' in b) == bool(extra.get('model_ema'))
    for k in a.get('state_dict_ema', {}):
        assert torch.equal(a['state_dict_ema'][k], b['state_dict_ema'][k]), k
    for sa, sb in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert torch.equal(sa['exp_avg'], sb['exp_avg'])
    assert [g['lr'] for g in a['optimizer']['param_groups']] == [g['lr'] for g in b['optimizer']['param_groups']]
    assert straight['test'] == resumed['test']
    # the exported, timm-loadable model is the trained one (with --model-ema: the weights' average)
    import timm
    loaded = timm.create_model(f'local-dir:{tmp_path / "b"}', pretrained=True)
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, b.get('state_dict_ema', b['state_dict'])[k]), k
    # a sequence's preprocessing has no resize or crop (not timm's image defaults, 'bicubic' and 0.875)
    assert (loaded.pretrained_cfg['interpolation'], loaded.pretrained_cfg['crop_pct']) == ('', 1.0)
    # resuming with other options is refused, as is overwriting without --force
    # the log is the checkpoint's history, each epoch once
    log = [json.loads(line) for line in (tmp_path / 'b' / ts.LOG_NAME).read_text().splitlines()]
    assert log == b['history'] and [r['epoch'] for r in log] == [1, 2]
    with pytest.raises(ValueError, match=r'changed: --lr 0\.01 in the checkpoint, 0\.5 now'):
        train_seq.train(_cfg(tmp_path, 'b', resume=True, lr=0.5, **extra))
    with pytest.raises(ValueError, match=r'changed: --warmup-epochs 0\.5 in the checkpoint, 2 now'):  # not 2.0
        train_seq.train(_cfg(tmp_path, 'b', resume=True, warmup_epochs=2.0, **extra))
    # an option whose default means "not given" is said so (trial 68: "--length 0 in the checkpoint")
    with pytest.raises(ValueError, match=r'changed: --length not given \(the longest sequence of the data set\) in '
                                         r'the checkpoint, 40 now'):
        train_seq.train(_cfg(tmp_path, 'b', resume=True, length=40, **extra))
    with pytest.raises(FileExistsError, match='--resume'):
        train_seq.train(_cfg(tmp_path, 'b', **extra))
    # a finished run whose checkpoint was deleted (scripts/train_aeon.py keeps only the model) is protected too;
    # --force starts over without leaving the old run's log entries behind
    (tmp_path / 'b' / ts.CHECKPOINT_NAME).unlink()
    with pytest.raises(FileExistsError, match='holds a run'):
        train_seq.train(_cfg(tmp_path, 'b', **extra))
    train_seq.train(_cfg(tmp_path, 'b', force=True, **extra))
    epochs = [json.loads(line)['epoch'] for line in (tmp_path / 'b' / ts.LOG_NAME).read_text().splitlines()]
    assert epochs == [1, 2]


def test_checkpoint_is_read_by_timms_resume_and_load_checkpoint(tmp_path):
    """checkpoint.pth has timm's CheckpointSaver keys: timm's resume_checkpoint restores the weights and the optimizer
    and returns the number of finished epochs (the next epoch to run), load_checkpoint takes the weights' moving
    average; a checkpoint with the earlier keys ('model', 'model_ema') still resumes and loads."""
    import timm
    from timm.models import load_checkpoint, resume_checkpoint
    import smpconvnet
    cfg = _cfg(tmp_path, 'r', model_ema=True, model_ema_decay=0.5)
    train_seq.train(cfg)
    path = tmp_path / 'r' / 'checkpoint.pth'
    ckpt = torch.load(path, weights_only=True)  # timm's default: safe loading
    assert ckpt['arch'] == cfg.model and 'model' not in ckpt and 'model_ema' not in ckpt
    model = timm.create_model(ckpt['arch'], **ckpt['config']['model_args'])
    optimizer = train_seq.build_optimizer(model, cfg)
    assert resume_checkpoint(model, str(path), optimizer) == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt['state_dict'][k]), k
    assert not torch.equal(ckpt['state_dict']['head.weight'], ckpt['state_dict_ema']['head.weight'])
    assert train_seq.is_checkpoint(ckpt)
    assert not train_seq.is_checkpoint({k: v for k, v in ckpt.items() if k != 'state_dict'})  # no weights
    assert not train_seq.is_checkpoint(dict(ckpt, state_dict=None))
    state = optimizer.state_dict()
    for key, saved in ckpt['optimizer']['state'].items():
        assert torch.equal(state['state'][key]['exp_avg'], saved['exp_avg']), key
    load_checkpoint(model, str(path))  # use_ema=True: the average, which the run exported
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt['state_dict_ema'][k]), k

    # the earlier layout: resumed by train-seq, read by the model sources
    old = {('model' if k == 'state_dict' else 'model_ema' if k == 'state_dict_ema' else k): v
           for k, v in ckpt.items() if k != 'arch'}
    torch.save(old, path)
    assert train_seq.checkpoint_weights(old) is old['model'] and train_seq.checkpoint_weights(old, ema=True) is \
        old['model_ema'] and train_seq.is_checkpoint(old)
    (tmp_path / 'r' / 'model.safetensors').unlink()
    train_seq.train(_cfg(tmp_path, 'r', resume=True, model_ema=True, model_ema_decay=0.5))  # exports it again
    from safetensors.torch import load_file
    exported = load_file(tmp_path / 'r' / 'model.safetensors')
    for k in ckpt['state_dict_ema']:
        assert torch.equal(exported[k], ckpt['state_dict_ema'][k]), k
    loaded, _ = smpconvnet.load_model(str(path))
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, ckpt['state_dict_ema'][k]), k
    with pytest.raises(KeyError, match="'state_dict' or 'model'"):
        train_seq.checkpoint_weights({'args': {}})


def test_another_commands_model_folder_is_not_taken_for_a_run(tmp_path):
    """A folder from `reparam` or `convert` (weights, config, card, no run files) was called "a run" whose --resume
    then failed, and --force replaced its weights and config while its card, describing the other model, stayed.
    It is refused, --force or not, and left as it was."""
    folder = tmp_path / 'deployed'
    folder.mkdir()
    for name in ('model.safetensors', 'config.json', 'README.md'):
        (folder / name).write_text('theirs')
    for force in (False, True):
        with pytest.raises(ValueError, match=r'holds model\.safetensors and config\.json but no train-seq run '
                                             r'\(checkpoint\.pth, log\.jsonl, results\.json\): another model '
                                             r'folder or your own files'):
            train_seq.train(_cfg(tmp_path, 'deployed', force=force))
    assert {p.name: p.read_text() for p in folder.iterdir()} == dict.fromkeys(
        ('model.safetensors', 'config.json', 'README.md'), 'theirs')


def test_window_slicing_augmentation():
    """--aug-warp: each sample becomes a window of 1 - warp to all of its length, linearly stretched back; on a
    ramp that is again a ramp, from a point in the first warp-fraction to one in the last, never steeper."""
    length, warp = 101, 0.3
    x = torch.arange(length, dtype=torch.float32).repeat(64, 2, 1)  # [64, 2, L]
    lengths = torch.full((64,), length)
    g = torch.Generator().manual_seed(0)
    out = seq_data.augment_batch(x, lengths, g, scale=0.0, jitter=0.0, warp=warp)
    assert out.shape == x.shape
    assert torch.equal(out[:, 0], out[:, 1])  # one window per sample, the same for all its channels
    steps = out[:, 0].diff(dim=-1)
    assert torch.allclose(steps, steps[:, :1].expand_as(steps), atol=1e-4)  # still a straight line
    slope = steps[:, 0]
    assert (slope <= 1 + 1e-5).all() and (slope >= (1 - warp) * (length - 1) / (length - 1) - 0.02).all()
    assert (out[:, 0, 0] >= 0).all() and (out[:, 0, -1] <= length - 1 + 1e-4).all()
    assert (out[:, 0, 0] <= warp * length + 1).all() and (out[:, 0, -1] >= (1 - warp) * length - 2).all()
    assert slope.std() > 0.01  # windows differ between samples
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(out, seq_data.augment_batch(x, lengths, g2, scale=0.0, jitter=0.0, warp=warp))
    # warp 0: untouched
    assert torch.equal(seq_data.augment_batch(x, lengths, g, scale=0.0, jitter=0.0, warp=0.0), x)


def test_time_reversal_augmentation():
    """--aug-flip p: a sample's valid steps reversed with probability p (all its channels), the padding left zero;
    every other draw as without it, so the recipes without --aug-flip train as before."""
    x = torch.arange(1, 13, dtype=torch.float32).repeat(4, 2, 1)  # [4, 2, 12], steps 1..12
    lengths = torch.tensor([12, 7, 3, 12])
    mask = torch.arange(12) < lengths.view(-1, 1)
    x = x * mask.unsqueeze(1)
    out = seq_data.augment_batch(x, lengths, torch.Generator().manual_seed(0), scale=0.0, jitter=0.0, flip=1.0)
    for i, n in enumerate(lengths.tolist()):
        assert torch.equal(out[i, :, :n], x[i, :, :n].flip(-1))
        assert (out[i, :, n:] == 0).all()
    # p = 0.5: some reversed, some not, reproducibly
    x = x.repeat(16, 1, 1)
    lengths = lengths.repeat(16)
    half = seq_data.augment_batch(x, lengths, torch.Generator().manual_seed(1), scale=0.0, jitter=0.0, flip=0.5)
    kept = (half == x).flatten(1).all(1)
    assert 10 < int(kept.sum()) < 54
    assert torch.equal(half, seq_data.augment_batch(x, lengths, torch.Generator().manual_seed(1), scale=0.0,
                                                    jitter=0.0, flip=0.5))
    # off: no draw, so the scaling and jitter of a run without it are unchanged
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    assert torch.equal(seq_data.augment_batch(x, lengths, g1, flip=0.0), seq_data.augment_batch(x, lengths, g2))
    assert torch.equal(g1.get_state(), g2.get_state())


def test_flip_option_checks(tmp_path):
    with pytest.raises(ValueError, match=r'--aug-flip 1.5: expected a value in \[0, 1\]'):
        train_seq.train(_cfg(tmp_path, 'f', aug_flip=1.5))
    with pytest.raises(ValueError, match='--aug-flip 0.5: .*act with --augment only: add --augment'):
        train_seq.train(_cfg(tmp_path, 'f', augment=False, aug_flip=0.5))


def test_warp_needs_equal_lengths_and_mixup_classification(tmp_path):
    with pytest.raises(ValueError, match='equal-length sequences without padding; JapaneseVowels has variable '):
        train_seq.train(_cfg(tmp_path, 'w', aug_warp=0.2))  # JapaneseVowels: variable lengths
    # one length, padded by --length: said so (trial 68b: "variable lengths" of GunPoint at 300)
    with pytest.raises(ValueError, match="GunPoint's are 150-step series right-padded with zeros by --length 300: "
                                         "leave --length out"):
        train_seq.train(_cfg(tmp_path, 'w', dataset='GunPoint', length=300, aug_shift=0.1))
    with pytest.raises(ValueError, match=r'--aug-warp 1.0: expected a value in \[0, 1\)'):
        train_seq.train(_cfg(tmp_path, 'w', augment=False, aug_warp=1.0))
    with pytest.raises(ValueError, match='--mixup -0.1: expected a value at least 0'):
        train_seq.train(_cfg(tmp_path, 'w', mixup=-0.1))
    with pytest.raises(ValueError, match="--mixup: the adding problem's target is computed from its inputs"):
        train_seq.train(train_seq.TrainConfig(
            model='_test_tiny_seqnet', dataset='adding', adding_length=8, adding_train=16, adding_test=8,
            epochs=1, batch_size=8, output=str(tmp_path / 'm'), progress=False, threads=1, mixup=0.2,
            model_kwargs={'in_chans': 2, 'num_classes': 1}))


def test_param_groups_and_schedule():
    model = TinySeqNet(in_chans=2, num_classes=3)
    cfg = train_seq.TrainConfig(lr=1e-2, weight_decay=0.05, radius_lr_factor=0.1, epochs=10, warmup_epochs=2,
                                min_lr_ratio=0.01)
    opt = train_seq.build_optimizer(model, cfg)
    assert isinstance(opt, torch.optim.Adam)
    groups = {g['name']: g for g in opt.param_groups}
    assert [id(p) for p in groups['radius']['params']] == [id(model.kernel.radius)]
    assert groups['radius']['weight_decay'] == 0 and groups['no_decay']['weight_decay'] == 0
    assert groups['decay']['weight_decay'] == 0.05
    decayed = {id(p) for p in groups['decay']['params']}
    assert id(model.kernel.coords) not in decayed and id(model.head.bias) not in decayed
    assert id(model.kernel.weights) in decayed and id(model.head.weight) in decayed
    sched = train_seq.build_scheduler(opt, cfg, steps_per_epoch=5)
    lrs = []
    for step in range(1, 51):
        sched.step_update(step)
        lrs.append({g['name']: g['lr'] for g in opt.param_groups})
    # linear warm-up over 10 updates to the peak, then cosine down to min_lr; radii always at 0.1x
    assert lrs[4]['decay'] == pytest.approx(5e-3)
    assert lrs[9]['decay'] == pytest.approx(1e-2)
    assert lrs[-1]['decay'] == pytest.approx(1e-4, rel=1e-3)
    assert all(a['decay'] >= b['decay'] for a, b in zip(lrs[9:], lrs[10:]))
    for lr in lrs:
        assert lr['radius'] == pytest.approx(0.1 * lr['decay'])


def test_radius_clipping_by_optimizer_hook():
    model = TinySeqNet()
    opt = train_seq.build_optimizer(model, train_seq.TrainConfig(lr=10.0))
    model.kernel.radius.grad = torch.full_like(model.kernel.radius, -1.0)  # pushes radii above 1
    opt.step()
    assert train_seq.radii_in_bounds(model) and float(model.kernel.radius.detach().max()) == 1.0


def test_variable_length_data_and_preprocessing():
    train = seq_data.load_aeon('JapaneseVowels', 'train')
    test = seq_data.load_aeon('JapaneseVowels', 'test', label_names=train.label_names)
    assert train.label_names == [str(i) for i in range(1, 10)] and len(train) == 270 and len(test) == 370
    assert train.num_channels == 12 and int(train.lengths.min()) == 7 and train.max_length == 26
    assert test.max_length == 29  # test sequences run longer than any training one
    mean, std = seq_data.channel_stats(train)
    z = seq_data.standardize(train, mean, std)
    allz = torch.cat(z.sequences, dim=1)
    assert torch.allclose(allz.mean(1), torch.zeros(12), atol=1e-5)
    assert torch.allclose(allz.std(1, unbiased=False), torch.ones(12), atol=1e-5)
    x, lengths = seq_data.pad_batch(z.sequences[:5], 29)
    assert x.shape == (5, 12, 29)
    for i in range(5):
        n = int(lengths[i])
        assert torch.equal(x[i, :, :n], z.sequences[i]) and not x[i, :, n:].any()
    with pytest.raises(ValueError, match='does not fit'):
        seq_data.pad_batch(z.sequences[:5], 6)
    with pytest.raises(ValueError, match='split'):
        seq_data.load_aeon('JapaneseVowels', 'validation')
    # labels outside a given order (another set's classes): a ValueError that says which, as attributes too
    with pytest.raises(seq_data.UnknownLabelsError, match=r"labels \['9'\] not in the label order") as raised:
        seq_data.load_aeon('JapaneseVowels', 'test', label_names=train.label_names[:8])
    assert isinstance(raised.value, ValueError) and raised.value.labels == ['9']
    assert raised.value.label_names == train.label_names[:8]
    # unknown names: the right spelling, or the sets readable offline (aeon's own message asks for a download)
    with pytest.raises(ValueError, match="did you mean 'JapaneseVowels'"):
        seq_data.load_aeon('japanesevowels', 'train')
    with pytest.raises(ValueError, match='readable offline: ACSF1, ArrowHead, .*PickupGestureWiimoteZ'):
        seq_data.load_aeon('NoSuchSet', 'train')
    for name in seq_data.AEON_OFFLINE_SETS:  # the list is true of the installed aeon
        assert len(seq_data.load_aeon(name, 'test')) > 0


def test_padding_does_not_change_predictions():
    """A sample's prediction is the same alone or in a batch with longer samples (fixed padded length)."""
    torch.manual_seed(0)
    model = TinySeqNet(in_chans=2, num_classes=3).eval()
    seqs = [torch.randn(2, n) for n in (5, 9, 12)]
    data = seq_data.SequenceSet(seqs, torch.tensor([0, 1, 2]))
    together = torch.cat([model(x, lengths=l) for x, l, _ in seq_data.batches(data, 3, 12)])
    alone = torch.cat([model(x, lengths=l) for x, l, _ in seq_data.batches(data, 1, 12)])
    assert torch.allclose(together, alone, atol=1e-6)
    # and equals running the unpadded sequence through the same grid length (causality)
    x, l = seq_data.pad_batch([seqs[0]], 12)
    assert torch.allclose(model(x, lengths=l), alone[:1], atol=1e-6)


def test_label_order_and_split():
    assert seq_data.label_order(['10', '2', '1']) == ['1', '2', '10']
    assert seq_data.label_order(['b', 'a', '10']) == ['10', 'a', 'b']
    targets = torch.tensor([0] * 10 + [1] * 5)
    tr, held = seq_data.stratified_split(targets, 0.2, torch.Generator().manual_seed(0))
    assert sorted(tr + held) == list(range(15)) and len(held) == 3
    assert sorted(targets[held].tolist()) == [0, 0, 1]


def test_stratified_kfold_partitions_every_class():
    targets = torch.tensor([0] * 10 + [1] * 5 + [2] * 2)
    held_parts = []
    for fold in range(5):
        tr, held = seq_data.stratified_kfold(targets, 5, fold, torch.Generator().manual_seed(3))
        assert sorted(tr + held) == list(range(17)) and not set(tr) & set(held)
        assert targets[held].tolist().count(0) == 2 and targets[held].tolist().count(1) == 1
        held_parts += held
    assert sorted(held_parts) == list(range(17))  # the held-out folds partition the data
    # the same seed gives the same partition; another seed another
    again = seq_data.stratified_kfold(targets, 5, 2, torch.Generator().manual_seed(3))
    assert again == seq_data.stratified_kfold(targets, 5, 2, torch.Generator().manual_seed(3))
    assert again != seq_data.stratified_kfold(targets, 5, 2, torch.Generator().manual_seed(4))
    for folds, fold in ((1, 0), (5, 5), (5, -1), (18, 0)):
        with pytest.raises(ValueError, match='fold'):
            seq_data.stratified_kfold(targets, folds, fold, torch.Generator())


def test_model_kwargs_take_json_and_python_spellings():
    """``--model-kwargs`` values: JSON, else Python literals (``causal=False`` is False, not the truthy string
    'False'), else strings; a non-bool ``causal`` that still gets through is refused by the model."""
    assert train_seq.parse_model_kwargs(
        ['causal=False', 'x=true', 'pool=avg', 'q="avg"', 'n=None', 'r=0.1', 'size=(3, 4)', 'odd={[]}']) == dict(
        causal=False, x=True, pool='avg', q='avg', n=None, r=0.1, size=(3, 4), odd='{[]}')
    with pytest.raises(ValueError, match='key=value'):
        train_seq.parse_model_kwargs(['causal'])
    with pytest.raises(ValueError, match="causal must be True or False, got 'no'"):
        SMPConvTCN(causal='no')


def test_cv_arguments_are_checked_by_name():
    from smpconvnet.train.seq_trainer import TrainConfig, load_data
    pytest.importorskip('aeon')
    for kwargs, message in ((dict(cv_fold=1), '--cv-fold 1 needs --cv-folds'),
                            (dict(cv_folds=1), '--cv-folds must be at least 2'),
                            (dict(cv_folds=5, cv_fold=5), '--cv-fold in'),
                            (dict(cv_folds=5, val_fraction=0.2), '--val-fraction and --cv-folds')):
        with pytest.raises(ValueError, match=message):
            load_data(TrainConfig(dataset='GunPoint', **kwargs))
    data = load_data(TrainConfig(dataset='GunPoint', cv_folds=5, cv_fold=4))
    assert len(data.val) == 10 and len(data.train) == 40


def test_adding_problem():
    x, y = seq_data.make_adding_problem(500, 100, torch.Generator().manual_seed(0))
    assert x.shape == (500, 2, 100)
    assert torch.equal(x[:, 1].sum(1), torch.full((500,), 2.0))
    assert (x[:, 1, :50].sum(1) == 1).all()
    assert torch.allclose((x[:, 0] * x[:, 1]).sum(1), y)
    # the baseline: predicting the mean
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(seq_data.ADDING_BASELINE_MSE, rel=0.15)


def test_cli_help_and_errors(tmp_path, capsys):
    for cmd in ('train-seq', 'evaluate-seq'):
        with pytest.raises(SystemExit) as e:
            cli_main([cmd, '--help'])
        assert e.value.code == 0
    assert 'train-seq' in capsys.readouterr().out or True
    # the error alone: the warm-up warning (--epochs 1, 5 warm-up epochs) came first, about a run that cannot start
    rc = cli_main(['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'NoSuchDataSet123',
                   '--output', str(tmp_path / 'x'), '--no-progress', '--epochs', '1', '--warmup-epochs', '5'])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'NoSuchDataSet123' in err and 'warning' not in err
    # a misspelt model argument and an image model: one line naming the option, before any training
    for args, message in ((['--model', 'smpconv_tcn_gunpoint', '--model-kwargs', 'hidden_chanels=3'],
                           "--model-kwargs hidden_chanels=3: .*unexpected keyword argument 'hidden_chanels' "
                           r"\(did you mean 'hidden_channels'\? SMPConvTCN takes in_chans, "),
                          (['--model', 'smpconv_resnet_cifar10'],
                           '--model smpconv_resnet_cifar10 is not a sequence model')):
        rc = cli_main(['train-seq', '--dataset', 'GunPoint', '--output', str(tmp_path / 'y'), '--no-progress',
                       '--epochs', '1'] + args)
        err = capsys.readouterr().err
        assert rc == 1 and re.search(message, err) and 'Traceback' not in err, err
        assert not (tmp_path / 'y').exists()  # a run that failed before training leaves no empty folder
    # a registered architecture without weights: what to evaluate instead, not timm's "use pretrained=False"
    assert cli_main(['evaluate-seq', 'smpconv_tcn_smnist']) == 1
    err = capsys.readouterr().err
    assert 'smpconv_tcn_smnist has no trained weights' in err and 'pretrained=False' not in err
    rc = cli_main(['train-seq', '--model', '_test_tiny_seqnet', '--output', str(tmp_path / 'y'), '--resume'])
    assert rc == 1 and 'no checkpoint' in capsys.readouterr().err


def test_cli_trains_regression(tmp_path, capsys):
    """The command line end to end on a small adding problem (regression head, MSE)."""
    rc = cli_main(['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'adding', '--adding-length', '20',
                   '--adding-train', '64', '--adding-test', '32', '--epochs', '1', '--batch-size', '32',
                   '--output', str(tmp_path / 'r'), '--no-progress', '--threads', '1'])
    assert rc == 0
    res = json.loads((tmp_path / 'r' / 'results.json').read_text())
    assert res['test']['n'] == 32 and res['test']['mse'] > 0
    cfg = json.loads((tmp_path / 'r' / 'config.json').read_text())
    assert cfg['num_classes'] == 1 and cfg['pretrained_cfg']['input_size'] == [2, 1, 20]
    # evaluate-seq of an adding-problem run, its checkpoint and its deployed folder (which has no results.json):
    # the run's test MSE, from the split drawn again (it refused, pointing to a results.json the folder lacked)
    assert cli_main(['train-seq', '--model', 'smpconv_tcn_smnist', '--dataset', 'adding', '--adding-length', '20',
                     '--adding-train', '32', '--adding-test', '8', '--epochs', '1', '--warmup-epochs', '0',
                     '--output', str(tmp_path / 's'), '--no-progress', '--threads', '1',
                     '--model-kwargs', 'num_blocks=1', 'hidden_channels=4']) == 0
    mse = json.loads((tmp_path / 's' / 'results.json').read_text())['test']['mse']
    assert cli_main(['reparam', str(tmp_path / 's'), str(tmp_path / 'd')]) == 0
    capsys.readouterr()
    for model in ('s', 's/checkpoint.pth', 'd'):
        assert cli_main(['evaluate-seq', str(tmp_path / model)]) == 0
        out = capsys.readouterr().out
        assert re.search(r'on adding \(test split\): MSE ([0-9.]+) over 8 sequences', out), out
        assert abs(float(re.search(r'MSE ([0-9.]+)', out).group(1)) - mse) < 1e-4
    assert cli_main(['evaluate-seq', str(tmp_path / 'd'), '--dataset', 'GunPoint']) == 1
    assert 'regression model of the adding problem: it cannot score GunPoint' in capsys.readouterr().err
    # info and the card say regression, not classes / classification
    assert cli_main(['info', str(tmp_path / 'd')]) == 0
    assert 'outputs:     1 (a regression: adding)' in capsys.readouterr().out
    card = (tmp_path / 'd' / 'README.md').read_text()
    assert 'time-series-regression' in card and 'classification' not in card
    # a run written before the sample counts were recorded: what cannot be done, and where its MSE is
    cfg = json.loads((tmp_path / 's' / 'config.json').read_text())
    del cfg['dataset']['test_samples']
    (tmp_path / 's' / 'config.json').write_text(json.dumps(cfg))
    assert cli_main(['evaluate-seq', str(tmp_path / 's')]) == 1
    assert 'does not record how many test sequences' in capsys.readouterr().err


def test_train_leaves_the_thread_count_as_it_found_it(tmp_path):
    """``threads`` applies to the run only: torch's thread count is process-wide, and a caller's later work (or
    the next test) must not run on one thread because a training run asked for it."""
    before = torch.get_num_threads()
    threads = 1 if before > 1 else 2
    train_seq.train(_cfg(tmp_path, 't', epochs=1, threads=threads))
    assert torch.get_num_threads() == before


def test_heldout_predictions_rebuild_the_fold(tmp_path):
    """``heldout_predictions`` (ensemble scoring in scripts/train_aeon.py) gives the run's own held-out result: same
    samples, same count of correct predictions as recorded at the end of training."""
    cfg = _cfg(tmp_path, 'fold', cv_folds=3, cv_fold=1, eval_test=False, epochs=1)
    results = train_seq.train(cfg)
    logits, targets = train_seq.heldout_predictions(tmp_path / 'fold')
    fold = train_seq.load_data(cfg).val
    assert torch.equal(targets, fold.targets) and logits.shape == (len(fold), 9)
    assert int((logits.argmax(1) == targets).sum()) == results['val']['correct']
    whole = _cfg(tmp_path, 'whole', eval_test=False, epochs=1)
    train_seq.train(whole)
    with pytest.raises(ValueError, match='no dataset.validation'):
        train_seq.heldout_predictions(tmp_path / 'whole')


def test_precise_bn_uses_the_valid_steps_of_the_whole_training_split_without_dropout():
    """``recompute_bn_statistics``: every BatchNorm's running mean / variance become the mean / unbiased variance of
    everything it received, over the valid (unpadded) steps of all sequences, every step weighted equally whatever
    the batch sizes (a last small batch of one class does not count as much as a full one); dropout off (two calls
    give the same statistics); momenta restored, model left in eval mode."""
    import timm
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_japanesevowels', num_classes=3, hidden_channels=8, dropout=0.5)
    model.train()
    lengths = [7, 12, 20, 15, 9]
    data = seq_data.SequenceSet([torch.randn(12, n) * (3 + i) + i for i, n in enumerate(lengths)],
                                torch.tensor([0, 1, 2, 0, 1]))
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    seen = {m: [] for m in norms}
    hooks = [m.register_forward_pre_hook(lambda m, args: seen[m].append(args)) for m in norms]
    assert train_seq.recompute_bn_statistics(model, data, 24, batch_size=2) == len(norms) > 0  # batches 2, 2, 1
    for h in hooks:
        h.remove()
    assert not model.training and all(m.momentum == 0.1 for m in norms)
    first = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    for m in norms:
        assert len(seen[m]) == 3 and all(x.shape[-1] == 24 and mask is not None for x, mask in seen[m])
        valid = torch.cat([x.transpose(0, 1)[:, mask[:, 0]] for x, mask in seen[m]], dim=1)  # [C, valid steps]
        assert valid.shape[1] == sum(lengths)
        torch.testing.assert_close(m.running_mean, valid.mean(1), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(m.running_var, valid.var(1), rtol=1e-4, atol=1e-6)
    # the first BatchNorms see the input itself: the same statistics in one batch as in three unequal ones
    train_seq.recompute_bn_statistics(model, data, 24, batch_size=8)
    stem = model.blocks[0].conv1.smp_norm
    torch.testing.assert_close(stem.running_mean, first[norms.index(stem)][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stem.running_var, first[norms.index(stem)][1], rtol=1e-5, atol=1e-6)
    train_seq.recompute_bn_statistics(model, data, 24, batch_size=2)
    for m, (mean, var) in zip(norms, first):
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)  # no dropout noise
    assert train_seq.recompute_bn_statistics(nn.Linear(2, 2), data, 24) == 0


def test_precise_bn_option_exports_the_training_split_statistics(tmp_path):
    """``--precise-bn``: the checkpoint keeps training's running statistics, the exported model (and its recorded
    results) those of the whole training split."""
    import timm
    train_seq.train(_cfg(tmp_path, 'p', epochs=1, precise_bn=True))
    ckpt = torch.load(tmp_path / 'p' / train_seq.CHECKPOINT_NAME, weights_only=False)
    exported = timm.create_model(f'local-dir:{tmp_path / "p"}', pretrained=True)
    assert not torch.equal(exported.norm.running_mean, ckpt['state_dict']['norm.running_mean'])
    data = train_seq.load_data(_cfg(tmp_path, 'p'))
    again = timm.create_model(f'local-dir:{tmp_path / "p"}', pretrained=True)
    train_seq.recompute_bn_statistics(again, data.train, data.length)
    assert torch.equal(again.norm.running_mean, exported.norm.running_mean)
    results = json.loads((tmp_path / 'p' / 'results.json').read_text())
    assert results['precise_bn'] and results['test'] == train_seq.evaluate(exported, data.test, data.length)
    # the checkpoint scored silently otherwise than results.json (evaluate-seq, reparam, export): it says so
    from smpconvnet.weights.sources import load_model
    with pytest.warns(UserWarning, match="checkpoint of a --precise-bn run .*load the run's folder"):
        load_model(str(tmp_path / 'p' / train_seq.CHECKPOINT_NAME))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_model(str(tmp_path / 'p'))
    # it acts after the last epoch only: a finished run resumed without it exports the checkpoint's statistics,
    # with it the recomputed ones again
    train_seq.train(_cfg(tmp_path, 'p', epochs=1, resume=True))
    plain = timm.create_model(f'local-dir:{tmp_path / "p"}', pretrained=True)
    assert torch.equal(plain.norm.running_mean, ckpt['state_dict']['norm.running_mean'])
    assert 'precise_bn' not in json.loads((tmp_path / 'p' / 'results.json').read_text())
    train_seq.train(_cfg(tmp_path, 'p', epochs=1, resume=True, precise_bn=True))
    again = timm.create_model(f'local-dir:{tmp_path / "p"}', pretrained=True)
    assert torch.equal(again.norm.running_mean, exported.norm.running_mean)


def test_an_unfinished_run_folder_loads_its_last_checkpoint(tmp_path, capsys):
    """A run folder whose run has not finished (no config.json / model.safetensors yet) is read through its
    checkpoint by every command that takes a model, as the docs say of "any run folder"."""
    from smpconvnet.weights.sources import load_model_with_config
    train_seq.train(_cfg(tmp_path, 'u', epochs=1, model='smpconv_tcn_japanesevowels',
                         model_kwargs={'hidden_channels': 4}))
    for name in ('config.json', 'model.safetensors', 'results.json'):
        (tmp_path / 'u' / name).unlink()  # as after an interruption
    ckpt = torch.load(tmp_path / 'u' / train_seq.CHECKPOINT_NAME, weights_only=False)
    for spec in (str(tmp_path / 'u'), f'local-dir:{tmp_path / "u"}'):
        model, description, extra = load_model_with_config(spec)
        assert 'unfinished run, read from its last checkpoint' in description and extra['dataset']['name'] == 'JapaneseVowels'
        for k, v in model.state_dict().items():
            assert torch.equal(v, ckpt['state_dict'][k]), k
    capsys.readouterr()
    assert cli_main(['evaluate-seq', str(tmp_path / 'u')]) in (0, None)
    assert 'JapaneseVowels' in capsys.readouterr().out


def test_ctrl_c_in_train_seq_is_one_line_with_the_way_to_resume(tmp_path, capsys, monkeypatch):
    """Ctrl-C during training: no traceback, exit status 130, and (once a checkpoint exists) how to continue."""
    real_save = train_seq.save_atomic

    def save_then_interrupt(obj, path, saver=torch.save):
        real_save(obj, path, saver)
        if Path(path).name == train_seq.CHECKPOINT_NAME:
            raise KeyboardInterrupt
    monkeypatch.setattr(train_seq, 'save_atomic', save_then_interrupt)
    argv = ['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'GunPoint', '--epochs', '2', '--no-progress',
            '--output', str(tmp_path / 'r')]
    assert cli_main(argv) == 130
    err = capsys.readouterr().err
    assert 'Traceback' not in err and f'interrupted; {tmp_path / "r"}/checkpoint.pth holds its last finished epoch' in err
    monkeypatch.setattr(train_seq, 'save_atomic', real_save)
    assert cli_main(argv + ['--resume']) == 0  # as the message says
    assert json.loads((tmp_path / 'r' / 'results.json').read_text())['epochs'] == 2
    capsys.readouterr()

    # --force interrupted in its first epoch: the earlier run is whole, and no hint points at it as this run's
    def interrupt_step(*args, **kwargs):
        raise KeyboardInterrupt
    before = {p.name: p.read_bytes() for p in (tmp_path / 'r').iterdir()}
    monkeypatch.setattr(train_seq, '_loss', interrupt_step)
    assert cli_main(argv + ['--force', '--seed', '5']) == 130
    err = capsys.readouterr().err
    assert 'nothing was replaced' in err and '--resume' not in err, err
    assert {p.name: p.read_bytes() for p in (tmp_path / 'r').iterdir()} == before
    monkeypatch.undo()
    # ... and after an epoch: the hint's command (--resume instead of --force) continues it
    monkeypatch.setattr(train_seq, 'save_atomic', save_then_interrupt)
    assert cli_main(argv + ['--force', '--seed', '5']) == 130
    err = capsys.readouterr().err
    assert 'the same command with --resume instead of --force continues it' in err, err
    monkeypatch.setattr(train_seq, 'save_atomic', real_save)
    assert cli_main(argv + ['--resume', '--seed', '5']) == 0
    assert json.loads((tmp_path / 'r' / 'results.json').read_text())['seed'] == 5
    # a folder of exported files only (no checkpoint: scripts/train_aeon.py keeps none) is the earlier run too
    (tmp_path / 'r' / train_seq.CHECKPOINT_NAME).unlink()
    capsys.readouterr()
    monkeypatch.setattr(train_seq, '_loss', interrupt_step)
    assert cli_main(argv + ['--force']) == 130
    assert 'nothing was replaced' in capsys.readouterr().err


def test_a_zero_padded_model_trains_and_scores_as_recorded(tmp_path):
    """``--model-kwargs zero_pad_to=N`` on a variable-length set: the run's model reads the series zero-padded (its
    config records it), loads back from the folder as such and scores on the test split what the run recorded."""
    from smpconvnet.weights.sources import load_model
    cfg = _cfg(tmp_path, 'zp', model='smpconv_tcn_japanesevowels', epochs=1, batch_size=64,
               model_kwargs={'zero_pad_to': 29, 'hidden_channels': 8, 'global_pool': 'avg'})
    results = train_seq.train(cfg)
    config = json.loads((tmp_path / 'zp' / 'config.json').read_text())
    assert config['model_args']['zero_pad_to'] == 29
    assert config['pretrained_cfg']['fixed_input_size'] and config['pretrained_cfg']['input_size'] == [12, 1, 29]
    model, _ = load_model(str(tmp_path / 'zp'))
    assert model.zero_pad_to == 29
    assert train_seq.evaluate_pretrained(str(tmp_path / 'zp'))['correct'] == results['test']['correct']
    short = _cfg(tmp_path, 'short', model='smpconv_tcn_japanesevowels', epochs=1, model_kwargs={'zero_pad_to': 10})
    with pytest.raises(ValueError, match=r'zero_pad_to=10: the series of JapaneseVowels are read at up to 29 steps'
                                         r'.*pass zero_pad_to=29 or more'):
        train_seq.train(short)


def test_a_run_folder_records_the_whole_architecture(tmp_path, monkeypatch):
    """A run folder (and its checkpoint) records every architecture argument, the registered variant's included:
    after the variant is redefined with the same parameter shapes (JapaneseVowels' init_radius and pooling were), the
    folder still builds the network its weights were trained in. It recorded only the arguments given before, and
    loaded into the new definition without an error, giving other outputs; then it recorded no None, and whole-series
    kernels loaded as the redefined variant's 33 taps."""
    import timm
    from smpconvnet.models import seq_zoo
    cfg = train_seq.TrainConfig(model='smpconv_tcn_gunpoint', dataset='GunPoint', epochs=1, batch_size=25,
                                output=str(tmp_path / 'run'), progress=False, threads=1, eval_test=False,
                                model_kwargs={'num_blocks': 1, 'hidden_channels': 4})
    train_seq.train(cfg)
    recorded = json.loads((tmp_path / 'run' / 'config.json').read_text())['model_args']
    registered = seq_zoo.SEQ_ZOO['smpconv_tcn_gunpoint']['arch']
    # the variant's arguments, the ones given and the class defaults (causal among them); None too (whole-series
    # kernels: kernel_length=None, which a variant redefined with a kernel length must not override)
    assert recorded == dict(registered, num_blocks=1, hidden_channels=4, causal=True, input_dropout=0.0, drop_rate=0.0,
                            kernel_length=None, use_fft=None, seq_len=None, zero_pad_to=None, first_difference=False)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        before = timm.create_model(f'local-dir:{tmp_path / "run"}', pretrained=True).eval()(x)
        # redefined: the same shapes, another network
        monkeypatch.setitem(seq_zoo.SEQ_ZOO['smpconv_tcn_gunpoint'], 'arch', dict(
            registered, causal=False, init_radius=0.0625, global_pool='max', kernel_length=33))
        after = timm.create_model(f'local-dir:{tmp_path / "run"}', pretrained=True).eval()
        assert after.kernel_length is None and torch.equal(before, after(x))
        # its checkpoint too: timm's create_model dropped the recorded None there (33 taps, other outputs)
        from smpconvnet.weights.sources import load_model
        resumed = load_model(str(tmp_path / 'run' / train_seq.CHECKPOINT_NAME))[0].eval()
        assert (resumed.kernel_length, resumed.causal) == (None, True) and torch.equal(before, resumed(x))
        ckpt = torch.load(tmp_path / 'run' / train_seq.CHECKPOINT_NAME, weights_only=False)
        assert train_seq.checkpoint_config(ckpt)['model_args'] == recorded


def test_options_that_would_train_something_else_are_refused_before_training(tmp_path, capsys):
    """A classifier of another size (its folder records the data's and would not load), no pooling (one prediction
    per step), shifts / window slicing / scaling / jitter without --augment (silently ignored before): one line
    naming the option, and no run folder; so is a device that is no torch device or is not there."""
    base = ['train-seq', '--model', 'smpconv_tcn_gunpoint', '--dataset', 'GunPoint', '--epochs', '1',
            '--no-progress', '--no-test', '--output', str(tmp_path / 'g')]
    for args, message in ((['--model-kwargs', 'num_classes=7'], r'num_classes=7: GunPoint has 2 classes; .*leave '
                                                                 r'num_classes out'),
                          (['--model-kwargs', "global_pool=''"], "global_pool='': a model without pooling gives a "
                                                                 'prediction per step'),
                          # trial 51: it loads no weights (a run 'from' the shipped GunPoint model scored chance)
                          (['--model-kwargs', 'pretrained_cfg_overlay={"file": "w.safetensors"}'],
                           r'train-seq trains a model from random initialisation .* pretrained_cfg_overlay= .*--model '
                           r'smpconv_tcn_gunpoint, no loading arguments\)'),
                          (['--model-kwargs', 'checkpoint_path=w.safetensors'], 'checkpoint_path= would be ignored'),
                          (['--aug-shift', '0.1'], '--aug-shift 0.1: circular shifts .* act with --augment only'),
                          (['--aug-warp', '0.2'], '--aug-warp 0.2: circular shifts .* act with --augment only'),
                          (['--aug-jitter', '0.1'], '--aug-jitter 0.1: amplitude scaling, jitter and time reversal '
                                                    'act with --augment only: add --augment'),
                          (['--device', 'foo'], r"--device 'foo': expected a torch device, e\.g\. cpu or cuda"),
                          (['--device', 'meta'], r'--device meta: expected cpu, cuda \(cuda:N\) or mps'),
                          (['--threads', '-1'], '--threads -1: expected a value at least 0'),
                          (['--model-ema', '--model-ema-decay', '0'], r'--model-ema-decay 0\.0: expected a value '
                                                                      r'in \(0, 1\)'),
                          (['--resume', '--force'], '--resume and --force: .* pass one of them'),
                          # options that do nothing here, even at their default values
                          (['--split-seed', '0'], '--split-seed 0: the seed of the validation hold-out or of the '
                                                  'cross-validation folds acts with --val-fraction or --cv-folds only'),
                          (['--adding-length', '500', '--adding-test', '1000'],
                           "--adding-length 500 and --adding-test 1000: the adding problem's sizes act with "
                           '--dataset adding only'),
                          (['--model-ema-decay', '0.99'], '--model-ema-decay 0.99: .* act with --model-ema only'),
                          (['--threads', '100000'], r'--threads 100000: this machine has \d+ CPUs'),
                          (['--val-fraction', '1'], r'--val-fraction 1\.0: expected a value in \[0, 1\)'),
                          # the adding problem: no hold-out, folds, padding or labels; augmenting would break its
                          # targets
                          (['--dataset', 'adding', '--val-fraction', '0.2', '--split-seed', '3'],
                           '--val-fraction 0.2: the adding problem .* has no hold-out'),
                          (['--dataset', 'adding', '--cv-folds', '3', '--cv-fold', '1'],
                           '--cv-folds 3 and --cv-fold 1: the adding problem'),
                          (['--dataset', 'adding', '--length', '500'], '--length 500: the adding problem'),
                          (['--dataset', 'adding', '--label-smoothing', '0'], '--label-smoothing 0.0: the adding'),
                          (['--dataset', 'adding', '--augment'], "--augment: the adding problem's target is computed "
                                                                 'from its inputs'),
                          *([(['--device', 'cuda'], '--device cuda: CUDA is not available on this machine; leave '
                                                    '--device out')] if not torch.cuda.is_available() else [])):
        assert cli_main(base + args) == 1
        err = capsys.readouterr().err
        assert re.search(message, err) and 'Traceback' not in err, err
        assert not (tmp_path / 'g').exists()
    for model, said in (('smpconv_tcn_gunpoint.aeon', 'the pretrained tag .aeon would be ignored'),
                        (f'local-dir:{tmp_path}', 'train-seq trains a registered architecture')):
        assert cli_main([a if a != 'smpconv_tcn_gunpoint' else model for a in base]) == 1
        err = capsys.readouterr().err
        # the command as given (trial 57: an empty '--model-kwargs :' where none were)
        assert said in err and f'error: --model {model}: train-seq' in err
        assert not (tmp_path / 'g').exists()
    # through the library, values other than the defaults are refused the same way (defaults cannot be told apart)
    for kw, message in (({'aug_scale': 0.5}, '--aug-scale 0.5: amplitude scaling, jitter and time reversal act '
                                             'with --augment only'),
                        ({'aug_jitter': 0.1, 'aug_scale': 0.2}, '--aug-scale 0.2 and --aug-jitter 0.1: amplitude '
                                                                'scaling'),
                        ({'model_ema_decay': 0.9}, '--model-ema-decay 0.9: .* act with --model-ema only'),
                        ({'split_seed': 3}, '--split-seed 3: the seed .* acts with --val-fraction or --cv-folds only'),
                        ({'adding_train': 10}, "--adding-train 10: the adding problem's sizes act with --dataset "
                                               'adding only')):
        with pytest.raises(ValueError, match=message):
            train_seq.train(_cfg(tmp_path, 'lib', augment=False, **kw))
        assert not (tmp_path / 'lib').exists()
    # wrong types: the field, its option and what was expected, not an error from deep inside
    for kw, message in (({'output': 123}, r'output=123 \(--output\): expected a string'),({'epochs': '10'}, r"epochs='10' \(--epochs\): expected an integer, got str"),
                        ({'batch_size': True}, r'batch_size=True \(--batch-size\): expected an integer, got bool'),
                        ({'lr': '1e-3'}, r"lr='1e-3' \(--lr\): expected a number"),
                        ({'model_kwargs': ['x=1']}, r"model_kwargs=\['x=1'\] \(--model-kwargs\): expected a dict")):
        with pytest.raises(TypeError, match=message):
            train_seq.train(_cfg(tmp_path, 'lib', **kw))
        assert not (tmp_path / 'lib').exists()
    # an --output that is a file, or lies under one: named, nothing written
    (tmp_path / 'afile').write_text('keep')
    for output in (tmp_path / 'afile', tmp_path / 'afile' / 'run'):
        assert cli_main(base[:-1] + [str(output)]) == 1
        err = capsys.readouterr().err
        assert f'--output {output}: {tmp_path / "afile"} is a file, not a folder' in err, err
    assert (tmp_path / 'afile').read_text() == 'keep'
    # the data's own number of classes is fine, and --aug-scale with --augment is taken; a Path is an output folder
    cfg = _cfg(tmp_path, 'ok', epochs=1, model_kwargs={'num_classes': 9}, aug_shift=0.0)
    cfg.output = tmp_path / 'ok'
    train_seq.train(cfg)
    assert json.loads((tmp_path / 'ok' / 'config.json').read_text())['num_classes'] == 9


def test_an_average_whose_batchnorm_statistics_are_off_is_said():
    """timm's ModelEmaV3 averages BatchNorm statistics too: ItalyPowerDemand's --model-ema runs (300 updates, 4.95% of
    the average the first update's, under the 5% of the warning before training) exported running variances a median
    55 times the trained model's in a layer and scored chance on held-out folds without a word. A layer whose median
    channel is more than 10x off either way (here 20x and 1 / 20) is named; a layer 5x off, or one channel 50x off
    (a trial's false alarm: a channel of variance 1e-4 in a model that scored 14 of 14), is not."""
    import timm
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=3, hidden_channels=4, n_points=3)
    quiet = [copy.deepcopy(model) for _ in range(3)]
    quiet[1].blocks[1].conv1.smp_norm.running_var.mul_(5.)
    quiet[2].blocks[1].conv1.smp_norm.running_var[0] *= 50.
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for averaged in quiet:
            train_seq._warn_of_averaged_batchnorm(model, averaged, 0.0495)
    for scale in (20., 1 / 20):
        off = copy.deepcopy(model)
        off.blocks[2].conv2.small_norm.running_var.mul_(scale)
        with pytest.warns(UserWarning, match=re.escape(
                "--model-ema: the exported average's BatchNorm running variances are a median 20 times off the "
                "trained model's in blocks.2.conv2.small_norm (the first update still weighs 4.95% of the average")
                + '.*add --precise-bn'):
            train_seq._warn_of_averaged_batchnorm(model, off, 0.0495)


def _record_ema_updates(monkeypatch):
    """The model's state dict at every update of train-seq's moving average (a list, filled as it trains)."""
    steps = []

    class Recording(train_seq.ModelEmaV3):
        def update(self, model, step=None):
            steps.append({k: v.detach().clone() for k, v in model.state_dict().items()})
            super().update(model, step)

    monkeypatch.setattr(train_seq, 'ModelEmaV3', Recording)
    return steps


def test_model_ema_warmup_is_timms_and_lets_the_first_updates_fade(tmp_path, monkeypatch, capsys):
    """``--model-ema-warmup`` (timm train.py's option): the decay at update t is ``1 - (1 + t')^(-2/3)`` (t' = t - 1),
    up to ``--model-ema-decay``, so a run too short for its decay (warned of without it: the first update kept most of
    the average) exports an average in which the first update weighs little, unwarned; recorded in the results and
    a resume key; refused without --model-ema."""
    import timm
    steps = _record_ema_updates(monkeypatch)
    short = dict(batch_size=32, model_ema=True, model_ema_decay=0.99, eval_test=False)
    with pytest.warns(UserWarning, match=r'--model-ema with decay 0.99 over \d+ updates: .*add --model-ema-warmup'):
        train_seq.train(_cfg(tmp_path, 'plain', **short))
    steps.clear()
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='--model-ema')
        results = train_seq.train(_cfg(tmp_path, 'warm', model_ema_warmup=True, **short))
    assert results['model_ema_warmup'] is True and results['model_ema_decay'] == 0.99
    expected = dict(steps[0])
    for t, w in enumerate(steps[1:], start=2):
        d = min(1 - (1 + (t - 1)) ** (-2 / 3), 0.99)
        expected = {k: d * e + (1 - d) * w[k] if e.is_floating_point() else w[k] for k, e in expected.items()}
    exported = timm.create_model(f'local-dir:{tmp_path / "warm"}', pretrained=True)
    for k, v in exported.state_dict().items():
        assert torch.allclose(v, expected[k], rtol=1e-5, atol=1e-6), k
    ema = train_seq.ModelEmaV3(exported, decay=0.99, use_warmup=True)
    assert train_seq.first_update_share(ema, len(steps)) < 0.05 < train_seq.first_update_share(
        train_seq.ModelEmaV3(exported, decay=0.99), len(steps))
    with pytest.raises(ValueError, match='--model-ema-warmup'):
        train_seq.train(_cfg(tmp_path, 'warm', resume=True, model_ema=True, model_ema_decay=0.99, eval_test=False,
                             batch_size=32))
    with pytest.raises(ValueError, match="^--model-ema-warmup: the decay of the weights' moving average and its "
                                         'warm-up act with --model-ema only'):
        train_seq.train(_cfg(tmp_path, 'x', model_ema_warmup=True))
    assert cli_main(['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'GunPoint', '--model-ema-warmup',
                     '--output', str(tmp_path / 'c')]) == 1
    assert 'error: --model-ema-warmup: the decay' in capsys.readouterr().err


def test_model_ema_exports_the_moving_average_of_the_weights_it_does_not_change(tmp_path, monkeypatch, capsys):
    """``--model-ema``: the optimizer trains the very weights of a run without it (the average draws no random
    numbers); the exported model, its recorded results and the validation are the average: a copy of the weights
    after the first update, then ``e = d * e + (1 - d) * w`` after each (recomputed here from every update's
    weights, BatchNorm statistics included); with ``--precise-bn`` the average gets the recomputed statistics."""
    import timm
    steps = _record_ema_updates(monkeypatch)
    plain = train_seq.train(_cfg(tmp_path, 'plain', batch_size=32, val_fraction=0.25))
    averaged = train_seq.train(_cfg(tmp_path, 'ema', batch_size=32, val_fraction=0.25, model_ema=True,
                                    model_ema_decay=0.8))
    a = torch.load(tmp_path / 'plain' / train_seq.CHECKPOINT_NAME, weights_only=False)
    b = torch.load(tmp_path / 'ema' / train_seq.CHECKPOINT_NAME, weights_only=False)
    assert len(steps) == b['num_updates'] > 2
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    expected = dict(steps[0])
    for w in steps[1:]:
        expected = {k: 0.8 * e + 0.2 * w[k] if e.is_floating_point() else w[k] for k, e in expected.items()}
    exported = timm.create_model(f'local-dir:{tmp_path / "ema"}', pretrained=True)
    for k, v in exported.state_dict().items():
        assert torch.allclose(v, expected[k], rtol=1e-6, atol=1e-7), k
        assert torch.equal(v, b['state_dict_ema'][k]), k
    assert not torch.equal(exported.kernel.weights, b['state_dict']['kernel.weights'])
    data = train_seq.load_data(_cfg(tmp_path, 'ema', batch_size=32, val_fraction=0.25))
    assert averaged['test'] == train_seq.evaluate(exported, data.test, data.length) != plain['test']
    assert averaged['val'] == train_seq.evaluate(exported, data.val, data.length)
    assert averaged['model_ema_decay'] == 0.8 and 'model_ema_decay' not in plain
    # a decay the run is too short for exports mostly the first update's weights (a short run scored chance): said
    with pytest.warns(UserWarning, match=r'--model-ema with decay 0.99 over \d+ updates: .*at most 0\.\d+ for 5%'):
        train_seq.train(_cfg(tmp_path, 'short', batch_size=32, model_ema=True, model_ema_decay=0.99, eval_test=False))
    last_val = json.loads((tmp_path / 'ema' / train_seq.LOG_NAME).read_text().splitlines()[-1])['val_accuracy']
    assert last_val == averaged['val']['accuracy']
    # precise BatchNorm statistics are those of the average
    train_seq.train(_cfg(tmp_path, 'ema', batch_size=32, val_fraction=0.25, model_ema=True, model_ema_decay=0.8,
                         resume=True, precise_bn=True))
    precise = timm.create_model(f'local-dir:{tmp_path / "ema"}', pretrained=True)
    train_seq.recompute_bn_statistics(exported, data.train, data.length)
    assert torch.equal(precise.norm.running_mean, exported.norm.running_mean)
    assert torch.equal(precise.kernel.weights, exported.kernel.weights)
    # the command line: the decay needs --model-ema, and a decay of 1 would average nothing in
    base = ['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'GunPoint', '--epochs', '1', '--no-progress',
            '--output', str(tmp_path / 'c')]
    for args, message in ((['--model-ema-decay', '0.9'], "--model-ema-decay 0.9: the decay of the weights' moving "
                                                         'average and its warm-up act with --model-ema only: add '
                                                         '--model-ema'),
                          (['--model-ema', '--model-ema-decay', '1'], r'--model-ema-decay 1.0: expected a value in '
                                                                      r'\(0, 1\)')):
        capsys.readouterr()
        assert cli_main(base + args) == 1
        err = capsys.readouterr().err
        assert re.search(message, err) and 'Traceback' not in err, err
        assert not (tmp_path / 'c').exists()


def test_a_run_shorter_than_its_warm_up_says_so(tmp_path):
    with pytest.warns(UserWarning, match=r'--epochs 1 is less than --warmup-epochs 5: .*never reaches --lr'):
        train_seq.train(_cfg(tmp_path, 'w', epochs=1, warmup_epochs=5))


def test_resume_of_a_damaged_or_foreign_checkpoint_names_it(tmp_path):
    cfg = _cfg(tmp_path, 'r', epochs=1)
    train_seq.train(cfg)
    ckpt = tmp_path / 'r' / train_seq.CHECKPOINT_NAME
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:len(data) // 3])
    with pytest.raises(ValueError, match=rf'--resume: {re.escape(str(ckpt))} is not a readable checkpoint '
                                         r'\(corrupt or truncated\?\).*--force starts the run over'):
        train_seq.train(_cfg(tmp_path, 'r', epochs=1, resume=True))
    torch.save({'model': {}}, ckpt)
    with pytest.raises(ValueError, match='is not a train-seq checkpoint'):
        train_seq.train(_cfg(tmp_path, 'r', epochs=1, resume=True))


def test_force_keeps_the_old_run_until_the_new_one_is_checked(tmp_path, capsys):
    """`train-seq --force` with a bad data set, model argument, device or option: the error, and the old run still
    whole (its checkpoint, weights, log and results were deleted before those were checked)."""
    out = tmp_path / 'run'
    train_seq.train(_cfg(tmp_path, 'run', epochs=1))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    base = ['train-seq', '--model', '_test_tiny_seqnet', '--dataset', 'JapaneseVowels', '--epochs', '1',
            '--no-progress', '--output', str(out), '--force']
    for args, message in ((['--dataset', 'NoSuchSet'], 'NoSuchSet'), (['--model', 'smpconv_tcn_japanesevowels', '--model-kwargs', 'hiden=3'], 'hiden'),
                          (['--model', 'smpconv_tcn_japanesevowels', '--model-kwargs', 'num_classes=3'],
                           'JapaneseVowels has 9 classes'),
                          (['--device', 'foo'], 'foo'), (['--lr', '-1'], '--lr -1.0: expected a positive'),
                          (['--label-smoothing', '1.5'], r'--label-smoothing 1.5: expected a value in \[0, 1\)'),
                          (['--min-lr-ratio', 'nan'], '--min-lr-ratio nan: expected'),
                          (['--model-kwargs', 'in_chans=3'], 'in_chans=3: JapaneseVowels has 12 channel'),
                          (['--min-lr-ratio', '5'], r'--min-lr-ratio 5.0: expected a value in \[0, 1\]'),
                          (['--augment', '--aug-shift', '-0.3'], r'--aug-shift -0.3: expected a value in \[0, 1\]'),
                          (['--warmup-epochs', '-1'], '--warmup-epochs -1.0: expected a value at least 0')):
        assert cli_main(base + args) == 1  # a repeated option: argparse takes the last
        err = capsys.readouterr().err
        assert message in err or re.search(message, err), err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_force_replaces_the_old_run_only_once_the_new_one_has_trained_an_epoch(tmp_path, monkeypatch):
    """An error in the first epoch (here a failing step) leaves the old run whole; it lost its weights, checkpoint,
    log and results when they were deleted before training."""
    out = tmp_path / 'run'
    train_seq.train(_cfg(tmp_path, 'run', epochs=1))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(*args, **kwargs):
        raise RuntimeError('a step that fails')
    monkeypatch.setattr(train_seq, '_loss', fail)
    with pytest.raises(RuntimeError, match='a step that fails'):
        train_seq.train(_cfg(tmp_path, 'run', epochs=1, force=True))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.undo()
    train_seq.train(_cfg(tmp_path, 'run', epochs=1, force=True, seed=4))
    assert len((out / train_seq.LOG_NAME).read_text().splitlines()) == 1  # the new run's log alone


def test_a_folder_s_config_json_is_a_run_s_file(tmp_path):
    """An unrelated config.json in --output was overwritten without --force (later: with --force); it is no run's
    file, so it is refused either way and kept. A run's config.json is replaced by --force."""
    folder = tmp_path / 'proj'
    folder.mkdir()
    (folder / 'config.json').write_text('{"my": "settings"}')
    for force in (False, True):
        with pytest.raises(ValueError, match='holds config.json but no train-seq run'):
            train_seq.train(_cfg(tmp_path, 'proj', epochs=1, force=force))
    assert (folder / 'config.json').read_text() == '{"my": "settings"}'
    (folder / 'config.json').unlink()
    train_seq.train(_cfg(tmp_path, 'proj', epochs=1))
    with pytest.raises(FileExistsError, match='holds a run'):
        train_seq.train(_cfg(tmp_path, 'proj', epochs=1))
    train_seq.train(_cfg(tmp_path, 'proj', epochs=1, force=True))
    assert json.loads((folder / 'config.json').read_text())['architecture'] == '_test_tiny_seqnet'


def test_a_registered_ensemble_trained_without_num_members_is_warned_of():
    """Trial 30: `train-seq --model smpconv_tcn_osuleaf` (the docs' example, written when it was one model) trained
    all 5 members of the registered ensemble jointly, five times the time, without a word: warned, with the option
    that trains one member (its card's commands) and the one that says joint training is meant."""
    from types import SimpleNamespace
    data = SimpleNamespace(in_chans=1, num_classes=6, task='classification', dataset={'name': 'OSULeaf'}, length=427)
    with pytest.warns(UserWarning, match=r'--model smpconv_tcn_osuleaf is registered as an ensemble of 5 SMP-TCNs: '
                                         r'this run trains them jointly.*add --model-kwargs num_members=1 .*or '
                                         r'num_members=5 to mean joint training'):
        joint = train_seq.build_model(train_seq.TrainConfig(model='smpconv_tcn_osuleaf', dataset='OSULeaf'), data)
    assert joint.num_members == 5
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for members in (1, 5):
            model = train_seq.build_model(train_seq.TrainConfig(
                model='smpconv_tcn_osuleaf', dataset='OSULeaf', model_kwargs={'num_members': members}), data)
            assert getattr(model, 'num_members', 1) == members
