"""SMP-TCN sequence models: registry, continuous-signal features, re-parameterisation, timm API, bad input.

Small networks (2 blocks x 8 channels, lengths <= 64) keep this file fast; the paper-size models are only
built, not run. Numerical tolerances are relative to the largest reference magnitude.
"""
import copy
import functools

import pytest
import timm
import timm.optim
import timm.scheduler
import torch
import torch.nn as nn

from smpconvnet.layers.causal_conv import (
    FFT_MIN_KERNEL_SIZE, causal_conv1d, causal_conv1d_direct, causal_conv1d_fft, fft_size, use_fft_for)
from smpconvnet.models import smpconv_tcn
from smpconvnet.layers.point_kernel import PointKernel
from smpconvnet.models.smpconv_tcn import (
    MaskedBatchNorm1d, SMPConvTCN, SMPLargeKernel1d, radius_param_groups, sequence_input_size)
from conftest import randomize_bn, rel_err

PAPER_MODELS = {
    # name: (in_chans, length, classes, parameters)
    'smpconv_tcn_smnist': (1, 784, 10, 371320),
    'smpconv_tcn_pmnist': (1, 784, 10, 371320),
    'smpconv_tcn_scifar10': (3, 1024, 10, 373480),
    'smpconv_tcn_chartraj': (3, 182, 20, 373790),
    'smpconv_tcn_speech_mfcc': (20, 161, 10, 391840),
    'smpconv_tcn_speech_raw': (1, 16000, 10, 370960),
}


def small_model(name='smpconv_tcn_chartraj', **kwargs):
    """A 2-block, 8-channel model with wide points (so the kernels are not sparse at short lengths)."""
    args = dict(num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5)
    args.update(kwargs)
    return randomize_bn(timm.create_model(name, **args)).eval()


@pytest.mark.parametrize('name', sorted(PAPER_MODELS))
def test_paper_models_registered(name):
    in_chans, length, classes, params = PAPER_MODELS[name]
    model = timm.create_model(name)
    assert sum(p.numel() for p in model.parameters()) == params
    assert sequence_input_size(model.pretrained_cfg) == (in_chans, length)
    assert model.pretrained_cfg['num_classes'] == classes == model.num_classes
    assert model.in_chans == in_chans and model.seq_len == length
    assert model.pretrained_cfg['tag'] == 'untrained'  # paper configuration, no weights
    assert len(model.blocks) == 6 and model.num_features == 30
    pk = model.blocks[0].conv1.smp.kernel
    assert (pk.n_points, pk.r_min, pk.ndim, pk.shared_coords, pk.normalize_by_count) == (30, 1e-4, 1, False, True)
    # 'recent' coordinate initialisation: trunc-normal in [-1, 0], doubled, plus 1
    assert pk.coords.min() >= -1 and pk.coords.max() <= 1 and pk.coords.mean() > 0.5


def test_paper_hyper_parameters():
    raw = timm.create_model('smpconv_tcn_speech_raw')
    mfcc = timm.create_model('smpconv_tcn_speech_mfcc')
    smnist = timm.create_model('smpconv_tcn_smnist')
    assert raw.blocks[0].conv1.smp.bias is None and smnist.blocks[0].conv1.smp.bias is not None
    assert raw.blocks[0].conv1.smp.kernel.radius.max().item() == pytest.approx(2e-4)
    assert mfcc.blocks[0].conv1.smp.kernel.radius.max().item() == pytest.approx(0.012)
    assert mfcc.blocks[0].drop.p == 0.2 and raw.blocks[0].drop.p == 0.1 and smnist.blocks[0].drop.p == 0
    assert smnist.input_drop.p == 0.1 and mfcc.input_drop.p == 0
    assert smnist.blocks[0].conv1.small.weight.shape[-1] == 5


def test_constructor_arguments_overridable():
    model = timm.create_model(
        'smpconv_tcn_smnist', in_chans=4, num_classes=3, num_blocks=3, hidden_channels=6, n_points=7,
        init_radius=0.05, coord_std=0.2, small_kernel_size=3, bias=False, dropout=0.25, r_min=1e-3,
        use_fft=True, kernel_length=20, global_pool='avg', seq_len=50)
    assert len(model.blocks) == 3 and model.num_features == 6 and model.in_chans == 4
    smp = model.blocks[1].conv2.smp
    assert smp.kernel.n_points == 7 and smp.kernel.r_min == 1e-3 and smp.bias is None and smp.use_fft is True
    assert smp.kernel_length == 20 and model.blocks[1].drop.p == 0.25 and model.seq_len == 50
    assert model.blocks[0].conv1.small.weight.shape == (6, 4, 3)
    assert model(torch.randn(2, 4, 30)).shape == (2, 3)


@pytest.mark.parametrize('length', [2, 17, 64])
def test_any_length_and_time_rescaling(length):
    """The kernel is resampled to the input length: a trained model sees a time-rescaled kernel."""
    model = small_model()
    x = torch.randn(2, 3, length)
    with torch.no_grad():
        assert model(x).shape == (2, 20)
        assert model.forward_sequence(x).shape == (2, 20, length)
        kernel = model.blocks[0].conv1.smp.make_kernel(length)
        grid = torch.linspace(-1, 1, length)
        assert torch.allclose(kernel, model.blocks[0].conv1.smp.kernel.sample(grid), atol=1e-6)


def test_prefix_outputs_depend_on_kernel_length_mode():
    """kernel_length=None: the kernel spans the whole input, so a prefix sees a compressed kernel (outputs change).
    kernel_length=K: one tap per step at any length, so running a prefix gives exactly the prefix outputs."""
    x = torch.randn(2, 3, 48)
    with torch.no_grad():
        rescaled = small_model()
        assert rel_err(rescaled.forward_sequence(x[..., :30]), rescaled.forward_sequence(x)[..., :30]) > 1e-3
        fixed = small_model(kernel_length=48)
        assert rel_err(fixed.forward_sequence(x[..., :30]), fixed.forward_sequence(x)[..., :30]) < 1e-5


@pytest.mark.parametrize('use_fft', [False, True])
def test_causality(use_fft):
    model = small_model(use_fft=use_fft)
    x = torch.randn(2, 3, 64)
    t = 40
    x2 = x.clone()
    x2[:, :, t] += 3.
    x2[:, :, t + 5:] = torch.randn(2, 3, 64 - t - 5)
    with torch.no_grad():
        y, y2 = model.forward_sequence(x), model.forward_sequence(x2)
    before = (y2[..., :t] - y[..., :t]).abs().max().item()
    scale = y.abs().max().item()
    if use_fft:
        assert before < 1e-6 * scale  # round-off of the transform only
    else:
        assert before == 0.
    assert (y2[..., t:] - y[..., t:]).abs().max().item() > 1e-3 * scale


def test_causality_with_timestamps():
    model = small_model()
    x, ts = torch.randn(2, 3, 32), torch.cumsum(torch.rand(2, 32) + 0.1, dim=1)
    x2 = x.clone()
    x2[:, :, 20:] = torch.randn(2, 3, 12)
    with torch.no_grad():
        y, y2 = model.forward_sequence(x, ts), model.forward_sequence(x2, ts)
    assert torch.equal(y[..., :20], y2[..., :20])


def test_regular_timestamps_match_plain_path():
    """Regular sampling in any time unit (shared [L], or per sample [B, L] with its own offset and step)."""
    model = small_model()
    x = torch.randn(3, 3, 40)
    with torch.no_grad():
        plain = model.forward_sequence(x)
        shared = model.forward_sequence(x, timestamps=torch.arange(40.))
        per_sample = torch.stack([torch.arange(40.) * s + o for s, o in [(1., 0.), (0.01, 5.), (3.5, -2.)]])
        batched = model.forward_sequence(x, timestamps=per_sample)
    assert rel_err(shared, plain) < 1e-5
    assert rel_err(batched, plain) < 1e-5


def test_timestamps_in_a_padded_batch_of_whole_series_kernels_warn_that_they_differ():
    """Regular timestamps with `lengths` shorter than the batch gave other outputs than `lengths` alone (the shipped
    JapaneseVowels model: 5 of its 370 test predictions), silently: each series' kernels span its own time range
    there, the padded batch's steps without timestamps. Said where the caller called (not at a line of the
    model's); full lengths and fixed kernel lengths, where the two agree, do not warn."""
    import warnings
    model = small_model().eval()
    x, lengths = torch.randn(3, 3, 40), torch.tensor([40, 25, 9])
    with torch.no_grad():
        with pytest.warns(UserWarning, match=r'timestamps with lengths shorter than the padded batch: .*give other '
                                             r'outputs than model\(x, lengths=lengths\)') as record:
            timed = model(x, lengths=lengths, timestamps=torch.arange(40.))
        assert record[0].filename == __file__
        assert rel_err(timed, model(x, lengths=lengths)) > 1e-3  # what the warning is for
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            full = model(x, lengths=torch.full((3,), 40), timestamps=torch.arange(40.))
            assert rel_err(full, model(x)) < 1e-5
            fixed = small_model(kernel_length=8).eval()
            assert rel_err(fixed(x, lengths=lengths, timestamps=torch.arange(40.)), fixed(x, lengths=lengths)) < 1e-5


def test_irregular_timestamps_evaluate_kernel_at_time_differences():
    """Layer level: y[i] = bias + sum_{j <= i} K(1 - 2 (t_i - t_j) / (t_last - t_0)) x[j], with K from
    PointKernel.sample, against an explicit double loop."""
    model = small_model()
    x = torch.randn(2, 3, 12)
    ts = torch.cumsum(torch.rand(2, 12) * 2 + 0.05, dim=1)
    conv = model.blocks[0].conv1.smp
    with torch.no_grad():
        positions = model._time_positions(x, ts, None)
        y = conv(x, positions)
        expected = torch.zeros_like(y) + conv.bias[None, :, None]
        for b in range(2):
            span = ts[b, -1] - ts[b, 0]
            for i in range(12):
                for j in range(i + 1):
                    k = conv.kernel.sample(torch.tensor([1 - 2 * (ts[b, i] - ts[b, j]) / span]))[..., 0]
                    expected[b, :, i] += k @ x[b, :, j]
    assert rel_err(y, expected) < 1e-5


@pytest.mark.parametrize('mode', ['shared', 'per_sample', 'lengths', 'kernel_length'])
def test_timestamps_on_a_grid_take_the_exact_fast_path(monkeypatch, mode):
    """Regular sampling with missing steps (the paper's irregular set-up): the SMP convolutions run as a regular
    convolution on the grid; equal to the pairwise evaluation."""
    model = small_model(kernel_length=80) if mode == 'kernel_length' else small_model()
    gen = torch.Generator().manual_seed(3)
    keep = torch.sort(torch.randperm(80, generator=gen)[:50]).values.float()  # 50 of 80 steps
    x = torch.randn(2, 3, 50)
    lengths = None
    if mode == 'shared':
        ts = keep * 0.25 + 3.
    elif mode == 'per_sample':
        ts = torch.stack([keep * 0.25 + 3., keep * 2. - 1.])  # same grid shape, other units and offsets
    elif mode == 'lengths':
        ts = torch.stack([keep, keep])
        ts[1, 30:] = keep[29] + torch.arange(1., 21.) * 4  # sample 1 ends at step 30 (same span as sample 0)
        ts[1, 29] = keep[-1]
        lengths = torch.tensor([50, 30])
    else:
        ts = keep  # in units of steps, with a fixed kernel length
    with torch.no_grad():
        positions = model._time_positions(x, ts, lengths)
        assert positions.grid is not None
        # nor are the pairwise [B, L, L] matrices built (O(L^2): 4.7 GB at 16000 steps, for the grid path to ignore)
        assert positions.pos.numel() == 0 and positions.valid.numel() == 0
        fast = model(x, timestamps=ts, lengths=lengths)
        fast_steps = model.forward_sequence(x, timestamps=ts, lengths=lengths)
        monkeypatch.setattr(smpconv_tcn, '_GRID_FAST_PATH', False)
        assert model._time_positions(x, ts, lengths).grid is None
        dense = model(x, timestamps=ts, lengths=lengths)
        dense_steps = model.forward_sequence(x, timestamps=ts, lengths=lengths)
    assert rel_err(fast, dense) < 1e-5
    if lengths is None:
        assert rel_err(fast_steps, dense_steps) < 1e-5


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_float32_fractional_timestamps_take_the_grid_path(monkeypatch, dtype):
    """Times such as ``0.1 k`` in float32 carry float32's rounding (the smallest gap was 1e-3 off at 16000 steps):
    they missed the grid path's 1e-6 from about 15 steps and took the O(L^2) pairwise one (102 s at 3000 steps
    against 0.02 s). The step is fitted to the timestamps, which are on the grid to their dtype's rounding."""
    model = small_model()
    gen = torch.Generator().manual_seed(5)
    keep = torch.sort(torch.randperm(440, generator=gen)[:400]).values
    ts = keep.to(dtype) * 0.1 + 5.  # in seconds at 10 Hz, 40 steps missing
    x = torch.randn(2, 3, 400)
    with torch.no_grad():
        assert model._time_positions(x, ts, None).grid is not None
        fast = model(x, timestamps=ts)
        monkeypatch.setattr(smpconv_tcn, '_GRID_FAST_PATH', False)
        dense = model(x, timestamps=ts)
        # off the grid by a hundredth of a step (0.001 s): not a grid, however the step is fitted
        off = ts.clone()
        off[200] += 0.001
        monkeypatch.setattr(smpconv_tcn, '_GRID_FAST_PATH', True)
        assert model._time_positions(x, off, None).grid is None
    assert rel_err(fast, dense) < 1e-5
    # what the grid must not snap (a trial found both): float32 times 4% of a step off at 1e4 s, within 8 units in
    # the last place of float32 there; one time 1% of a step off after 15000 steps in float64 (1e-6 of its count)
    valid = torch.ones(1, 300, dtype=torch.bool)
    jittered = torch.arange(300, dtype=torch.float64) * 0.1 + 1e4
    jittered[150::7] += 0.004
    eps32, eps64 = torch.finfo(torch.float32).eps, torch.finfo(torch.float64).eps
    assert model._grid_alignment(jittered.float().double()[None], valid, eps32) is None
    long = torch.arange(16000, dtype=torch.float64) * 0.1
    assert model._grid_alignment(long[None], torch.ones(1, 16000, dtype=torch.bool), eps64) is not None
    long[15000] += 0.001
    assert model._grid_alignment(long[None], torch.ones(1, 16000, dtype=torch.bool), eps64) is None


def test_irregular_input_with_lengths_is_padding_independent():
    """With timestamps, each sample's kernel spans its own time range: padding changes nothing."""
    model = small_model()
    ts = torch.cumsum(torch.rand(2, 30) + 0.1, dim=1)
    x = torch.randn(2, 3, 30)
    lengths = torch.tensor([30, 19])
    with torch.no_grad():
        batch = model(x, timestamps=ts, lengths=lengths)
        alone = model(x[1:, :, :19], timestamps=ts[1:, :19])
        assert rel_err(batch[1:], alone) < 1e-5
        # the padding's times and values may hold anything, NaN and inf too; the valid times must be finite
        for pad in (float('nan'), float('inf'), 1e30):
            ts_padded, x_padded = ts.clone(), x.clone()
            ts_padded[1, 19:], x_padded[1, :, 19:] = pad, pad
            assert rel_err(model(x_padded, timestamps=ts_padded, lengths=lengths)[1:], alone) < 1e-5
        ts_padded[1, 5] = float('nan')
        with pytest.raises(ValueError, match='timestamps must be finite on the valid steps'):
            model(x, timestamps=ts_padded, lengths=lengths)


def test_per_step_and_last_step_outputs():
    model = small_model()
    x = torch.randn(2, 3, 33)
    with torch.no_grad():
        per_step = model.forward_sequence(x)
        features = model.forward_features(x)
        assert features.shape == (2, 8, 33)
        assert rel_err(model(x), per_step[..., -1]) < 1e-6
        assert model.forward_head(features, pre_logits=True).shape == (2, 8)
        model.reset_classifier(20, global_pool='avg')  # mean of per-step features, a linear head: mean of logits
        assert rel_err(model(x), model.forward_sequence(x).mean(-1)) < 1e-5


def test_lengths_pick_last_valid_step():
    x = torch.randn(3, 3, 40)
    lengths = torch.tensor([40, 12, 27])
    with torch.no_grad():
        # kernel spans the padded length: logits are the per-step outputs at lengths - 1
        model = small_model()
        per_step = model.forward_sequence(x)
        assert rel_err(model(x, lengths=lengths), per_step[torch.arange(3), :, lengths - 1]) < 1e-6
        # fixed kernel length: each padded sample gives exactly what it gives alone
        fixed = small_model(kernel_length=40)
        batch = fixed(x, lengths=lengths)
        for b in range(3):
            alone = fixed(x[b:b + 1, :, :lengths[b]])
            assert rel_err(batch[b:b + 1], alone) < 1e-5


@pytest.mark.parametrize('pad', [float('nan'), float('inf'), 1e30])
@pytest.mark.parametrize('kwargs', [dict(use_fft=True), dict(use_fft=False), dict(causal=False),
                                    dict(global_pool='max', use_fft=True)])
def test_non_finite_or_huge_padding_never_reaches_valid_steps(pad, kwargs):
    """Padding after ``lengths`` is zeroed before the first convolution: an FFT convolution mixes every step of its
    input, and NaN * 0 is NaN, so NaN, inf or 1e30 padding would otherwise reach the valid steps (it did: NaN logits
    for every sample of the batch)."""
    model = small_model(kernel_length=17 if kwargs.get('causal') is False else 40, **kwargs)
    x = torch.randn(3, 3, 40)
    lengths = torch.tensor([40, 12, 27])
    padded = x.clone()
    for b in range(3):
        padded[b, :, lengths[b]:] = pad
    with torch.no_grad():
        batch = model(padded, lengths=lengths)
        deployed = copy.deepcopy(model).reparameterize()(padded, lengths=lengths)
        for b in range(3):
            alone = model(x[b:b + 1, :, :lengths[b]])
            assert rel_err(batch[b:b + 1], alone) < 1e-5
            assert rel_err(deployed[b:b + 1], alone) < 1e-5
    # training: the loss and every gradient stay finite
    model.train()
    model(padded, lengths=lengths).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('pool', ['max', 'avgmax'])
def test_max_pooling_reads_the_valid_steps_only(pool):
    """'max' is the maximum of each feature over the valid steps, 'avgmax' its mean with the average (timm's
    names); a right-padded sample gives what it gives alone, however large the padding's features are."""
    model = small_model(kernel_length=16, global_pool=pool)
    x = torch.randn(3, 3, 40)
    lengths = torch.tensor([40, 12, 27])
    with torch.no_grad():
        features = model.forward_features(x)
        maximum, mean = features.amax(-1), features.mean(-1)
        assert torch.equal(model.forward_head(features, pre_logits=True),
                           maximum if pool == 'max' else 0.5 * (mean + maximum))
        padded = x.clone()
        for b in range(3):
            padded[b, :, lengths[b]:] = 50.  # padding whose features dwarf the valid steps'
        batch = model(padded, lengths=lengths)
        for b in range(3):
            alone = model(x[b:b + 1, :, :lengths[b]])
            assert rel_err(batch[b:b + 1], alone) < 1e-5
        # the deployed form pools the same way
        deployed = copy.deepcopy(model).reparameterize()
        assert rel_err(deployed(padded, lengths=lengths), batch) < 1e-5


def test_masked_batchnorm_ignores_padding_in_training():
    model = small_model(kernel_length=24).train()
    x = torch.randn(4, 3, 24)
    lengths = torch.tensor([24, 10, 16, 5])
    x2 = x.clone()
    for b, n in enumerate(lengths.tolist()):
        x2[b, :, n:] = torch.randn(3, 24 - n) * 100  # different padding
    m1, m2 = copy.deepcopy(model), copy.deepcopy(model)
    y1, y2 = m1(x, lengths=lengths), m2(x2, lengths=lengths)
    assert rel_err(y2, y1) < 1e-5
    for a, b in zip(m1.modules(), m2.modules()):
        if isinstance(a, MaskedBatchNorm1d):
            assert torch.allclose(a.running_mean, b.running_mean, atol=1e-6)
            assert torch.allclose(a.running_var, b.running_var, atol=1e-6)


def test_masked_batchnorm_equals_batchnorm_without_padding():
    bn, ref = MaskedBatchNorm1d(5), nn.BatchNorm1d(5)
    x = torch.randn(3, 5, 11)
    mask = torch.ones(3, 1, 11, dtype=torch.bool)
    assert torch.allclose(bn(x, mask), ref(x), atol=1e-5)
    assert torch.allclose(bn.running_var, ref.running_var, atol=1e-6)
    assert torch.allclose(bn.running_mean, ref.running_mean, atol=1e-6)


def test_masked_batchnorm_and_valid_mean_in_float16_do_not_overflow():
    """In float16 the masked statistics were summed in float16: 16 x 1460 steps of data of mean 3 passed 65504, so
    the batch statistics, then the running variance, were inf and the outputs NaN (a GunPoint model in training
    mode with lengths gave logits 0.1 off, then 0.3 off in eval once its running statistics were inf).
    nn.BatchNorm1d accumulates in float32; so do these now. Tolerance: float16 rounding of the output (2e-3)."""
    torch.manual_seed(0)
    x = torch.randn(16, 4, 1460) * 2 + 3
    mask = torch.ones(16, 1, 1460, dtype=torch.bool)
    mask[3, :, 700:] = False
    ref = MaskedBatchNorm1d(4).train()
    half = MaskedBatchNorm1d(4).half().train()
    y_ref, y_half = ref(x, mask), half(x.half(), mask)
    assert y_half.dtype == torch.float16
    valid = mask.expand_as(x)
    assert rel_err(y_half.float()[valid], y_ref[valid]) < 2e-3
    assert torch.isfinite(half.running_var).all()
    assert rel_err(half.running_var.float(), ref.running_var) < 2e-3
    assert rel_err(half.running_mean.float(), ref.running_mean) < 2e-3
    # the classifier's mean over the valid steps: an inf sum in float16
    lengths = torch.full((16,), 1460)
    lengths[3] = 700
    pooled = smpconv_tcn._valid_mean(x.half() * 4, lengths)
    assert pooled.dtype == torch.float16 and torch.isfinite(pooled).all()
    assert rel_err(pooled.float(), smpconv_tcn._valid_mean(x * 4, lengths)) < 2e-3
    # the model: training-mode float16 with lengths against float32 (was 0.1 off, with inf running statistics)
    model = small_model(num_blocks=2, hidden_channels=8, in_chans=1, num_classes=3, dropout=0.)
    model_half = copy.deepcopy(model).half()
    xs, ls = torch.randn(64, 1, 1000) + 2, torch.randint(500, 1001, (64,))
    with torch.no_grad():
        out, out_half = model.train()(xs, lengths=ls), model_half.train()(xs.half(), lengths=ls)
    assert rel_err(out_half.float(), out) < 1e-2
    assert all(torch.isfinite(b).all() for b in model_half.buffers())


def test_fft_chosen_for_long_kernels():
    assert not use_fft_for(FFT_MIN_KERNEL_SIZE - 1) and use_fft_for(FFT_MIN_KERNEL_SIZE)
    assert use_fft_for(10, True) and not use_fft_for(10_000, False)
    for n in [1, 2, 3, 7, 97, 1567, 31999]:
        m = fft_size(n)
        assert m >= n and m % 2 == 0 and m <= 2 * max(n, 2)
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        assert r == 1
    # a kernel longer than the input is cut to the taps that can meet it, exactly
    x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 30)
    assert rel_err(causal_conv1d(x, w), causal_conv1d_direct(x, w)) < 1e-6
    assert rel_err(causal_conv1d(x, w, use_fft=True), causal_conv1d_direct(x, w)) < 1e-5
    x, w = torch.randn(2, 3, 300), torch.randn(4, 3, 300)
    b = torch.randn(4)
    assert rel_err(causal_conv1d_fft(x, w, b), causal_conv1d_direct(x, w, b)) < 1e-5
    auto, direct = small_model(), small_model(use_fft=False)
    direct.load_state_dict(auto.state_dict())
    x = torch.randn(2, 3, FFT_MIN_KERNEL_SIZE + 20)
    with torch.no_grad():
        assert rel_err(auto(x), direct(x)) < 1e-4


def test_reparameterize_fixed_length():
    model = small_model(seq_len=48)
    x = torch.randn(3, 3, 48)
    with torch.no_grad():
        expected = model.forward_sequence(x)
        deployed = timm.utils.reparameterize_model(model)
        assert deployed.is_deployed and not model.is_deployed
        assert not any(isinstance(m, (nn.BatchNorm1d, PointKernel, SMPLargeKernel1d)) for m in deployed.modules())
        assert rel_err(deployed.forward_sequence(x), expected) < 1e-4
        assert rel_err(deployed(x), expected[..., -1]) < 1e-4
        with pytest.raises(ValueError, match='re-parameterised for sequences of length 48, got length 30'):
            deployed(torch.randn(1, 3, 30))
        with pytest.raises(ValueError, match='timestamps need the point kernels'):
            deployed(x, timestamps=torch.arange(48.))
        # state dict round trip into another deployed model
        other = timm.utils.reparameterize_model(small_model(seq_len=48))
        other.load_state_dict(deployed.state_dict())
        assert rel_err(other(x), expected[..., -1]) < 1e-4


def test_deployed_model_traces_and_low_precision_runs():
    model = small_model(seq_len=40)
    x = torch.randn(2, 3, 40)
    deployed = copy.deepcopy(model).reparameterize()
    with torch.no_grad():
        traced = torch.jit.trace(deployed, x)
        assert rel_err(traced(x), deployed(x)) < 1e-6
    # bfloat16 autocast, both paths (the FFT runs in float32); default BatchNorm statistics, because random ones
    # folded into bfloat16 kernels and biases amplify its 8-bit mantissa far beyond this check's purpose
    model = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, init_radius=0.1,
                              coord_std=0.5, seq_len=40).eval()
    deployed = copy.deepcopy(model).reparameterize()
    with torch.no_grad():
        expected = model.forward_features(x)
        for use_fft in (False, True):
            for m in (model, deployed):
                for conv in m.modules():
                    if hasattr(conv, 'use_fft'):
                        conv.use_fft = use_fft
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    out = m.forward_features(x)
                assert out.dtype in (torch.bfloat16, torch.float32) and rel_err(out.float(), expected) < 0.05
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model.forward_features(x, timestamps=torch.arange(40.) * 0.37)
        assert rel_err(out.float(), expected) < 0.05


def test_reparameterize_needs_a_length():
    model = small_model(seq_len=None)
    model.seq_len = None
    with pytest.raises(ValueError, match='needs the deployment length'):
        model.reparameterize()


def test_reparameterize_fixed_kernel_length_accepts_any_length():
    model = small_model(kernel_length=32, small_kernel_size=5)
    deployed = copy.deepcopy(model).reparameterize()
    with torch.no_grad():
        for length in (3, 20, 50):
            x = torch.randn(2, 3, length)
            assert rel_err(deployed.forward_sequence(x), model.forward_sequence(x)) < 1e-4


def test_no_weight_decay_and_param_groups():
    model = small_model()
    nwd = model.no_weight_decay()
    assert 'blocks.0.conv1.smp.kernel.radius' in nwd and 'blocks.1.conv2.smp.kernel.coords' in nwd
    assert not any(n.endswith('weights') for n in nwd)
    groups = radius_param_groups(model, weight_decay=1e-5, radius_lr_scale=0.1, lr=1e-3)
    radius_group = groups[-1]
    assert radius_group['lr_scale'] == 0.1 and radius_group['lr'] == pytest.approx(1e-4)
    assert radius_group['weight_decay'] == 0 and len(radius_group['params']) == 4
    assert sum(len(g['params']) for g in groups) == len(list(model.parameters()))
    # timm's optimizer factory and scheduler honour the groups and lr_scale; radii stay in range
    opt = timm.optim.create_optimizer_v2(model, 'adam', lr=1e-3, param_group_fn=radius_param_groups)
    sched, _ = timm.scheduler.create_scheduler_v2(opt, 'cosine', num_epochs=10, warmup_epochs=0)
    sched.step(1)
    assert opt.param_groups[-1]['lr'] == pytest.approx(0.1 * opt.param_groups[0]['lr'])
    # the factory's weight_decay reaches no group (each sets its own, as the docs say); a partial sets it
    decays = [g['weight_decay'] for g in timm.optim.create_optimizer_v2(
        model, 'adam', lr=1e-3, weight_decay=0.05, param_group_fn=radius_param_groups).param_groups]
    assert decays == [1e-5, 0., 0.]
    decays = [g['weight_decay'] for g in timm.optim.create_optimizer_v2(
        model, 'adam', lr=1e-3, param_group_fn=functools.partial(radius_param_groups, weight_decay=0.05)).param_groups]
    assert decays == [0.05, 0., 0.]
    model.train()
    with torch.no_grad():
        for p in model.parameters():
            p.grad = None
        for m in model.modules():
            if isinstance(m, PointKernel):
                m.radius.fill_(0.5)
    loss = model(torch.randn(4, 3, 20)).sum()
    loss.backward()
    for m in model.modules():
        if isinstance(m, PointKernel):
            assert m.radius.grad is not None and m.coords.grad is not None and m.weights.grad is not None
            m.radius.grad.fill_(-1e6)  # push every radius far above 1
    for g in opt.param_groups:
        g['lr'] = 10.
    opt.step()
    for m in model.modules():
        if isinstance(m, PointKernel):
            assert m.radius.max() <= 1. and m.radius.min() >= 1e-4


def test_timm_api():
    model = small_model()
    x = torch.randn(2, 3, 25)
    with torch.no_grad():
        assert model.get_classifier().out_features == 20
        model.reset_classifier(5)
        assert model(x).shape == (2, 5)
        model.reset_classifier(0)
        assert model(x).shape == (2, 8)
        final, inter = model.forward_intermediates(x)
        assert len(inter) == 2 and all(t.shape == (2, 8, 25) for t in inter)
        assert torch.equal(final, inter[-1])
        assert len(model.forward_intermediates(x, indices=1, intermediates_only=True)) == 1
    features = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, features_only=True)
    outs = features(x)
    assert [o.shape for o in outs] == [(2, 8, 25)] * 2
    model = small_model().train()
    ref = copy.deepcopy(model)
    model.set_grad_checkpointing(True)
    torch.manual_seed(1)
    y = model(x)
    torch.manual_seed(1)
    y_ref = ref(x)
    assert rel_err(y, y_ref) < 1e-6
    y.sum().backward()
    assert model.blocks[0].conv1.smp.kernel.coords.grad is not None


BAD_INPUTS = [
    (dict(x=torch.randn(3, 40)), r'expects a batch of sequences \[B, 3, L\].*got \[3, 40\].*unsqueeze'),
    (dict(x=torch.randn(1, 3, 4, 40)), r'expects a batch of sequences \[B, 3, L\].*\[1, 3, 4, 40\]'),
    (dict(x=torch.randn(2, 5, 40)), r'built for 3 input channels, got 5.*create the model with in_chans=5'),
    (dict(x=torch.randn(2, 40, 3)), r'built for 3 input channels, got 40.*for a \[B, L, C\] batch pass x.transpose'),
    (dict(x=torch.randn(2, 3, 0)), r'at least 2 steps.*got length 0'),
    (dict(x=torch.randn(2, 3, 1)), r'at least 2 steps.*got length 1'),
    (dict(timestamps=torch.arange(39.)), r'timestamps must be a floating-point tensor of shape \[40\] or \[2, 40\]'),
    (dict(timestamps=torch.arange(40)), r'floating-point.*dtype torch.int64'),
    (dict(timestamps=torch.cat([torch.arange(20.), torch.arange(20.)])), r'strictly increasing.*step 20'),
    (dict(timestamps=torch.ones(2, 40)), r'strictly increasing'),
    (dict(timestamps=torch.full((40,), float('nan'))), r'finite'),
    (dict(lengths=torch.tensor([40, 41])), r'lengths must lie in \[1, 40\].*to 41'),
    (dict(lengths=torch.tensor([0, 40])), r'lengths must lie in \[1, 40\].*from 0'),
    (dict(lengths=torch.tensor([40.])), r'integer tensor of shape \[2\]'),
    (dict(lengths=torch.tensor([40, 1]), timestamps=torch.arange(40.)), r'lengths must lie in \[2, 40\]'),
]


def test_a_univariate_batch_without_channel_axis_gets_the_right_hint():
    model = timm.create_model('smpconv_tcn_gunpoint', num_classes=2, hidden_channels=4)
    hint = r'for a batch of univariate sequences \[B, L\] add the channel axis: x.unsqueeze\(1\)'
    with pytest.raises(ValueError, match=hint):
        model(torch.randn(2, 150))
    assert model(torch.randn(2, 150).unsqueeze(1)).shape == (2, 2)  # as the hint says


def test_an_image_batch_gets_the_sequential_image_hint():
    # sequential MNIST's model given MNIST images [B, 1, 28, 28]: what to do, tried as printed
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=1, hidden_channels=4)
    images = torch.randn(2, 1, 28, 28)
    with pytest.raises(ValueError, match=r'read as the sequence of its pixels, row by row .*x\.flatten\(2\)'):
        model(images)
    assert model(images.flatten(2)).shape == (2, 10)
    with torch.no_grad():
        assert torch.equal(torch.jit.script(model.eval())(images.flatten(2)), model(images.flatten(2)))


@pytest.mark.parametrize('inputs,message', BAD_INPUTS, ids=[m[:30] for _, m in BAD_INPUTS])
def test_bad_input_errors(inputs, message):
    model = small_model()
    args = dict(x=torch.randn(2, 3, 40))
    args.update(inputs)
    with pytest.raises(ValueError, match=message):
        model(**args)


def test_an_empty_sequence_error_of_a_fixed_kernel_length_model():
    # a fixed kernel length takes one step, not none: its message said at least 2 steps, for timestamps
    model = small_model(kernel_length=8)
    assert model(torch.randn(2, 3, 1)).shape[0] == 2
    with pytest.raises(ValueError, match=r'at least 1 step \(an empty sequence has nothing to convolve\), got length 0'):
        model(torch.randn(2, 3, 0))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match='kernel_length must be None or an int of at least 2'):
        SMPConvTCN(kernel_length=1)
    for name, value in (('kernel_length', 32.5), ('kernel_length', '32'), ('seq_len', 150.0), ('seq_len', True)):
        with pytest.raises(ValueError, match=f'{name} must be None or an int of at least 2 .steps., got {value!r}'):
            SMPConvTCN(**{name: value})
    # a float that stands for a count gets the value to type (trial 58: the hint of a list repeated the float)
    with pytest.raises(ValueError, match=r"hidden_channels must be an int of at least 1, got 16.0 \(hidden_channels=16\)$"):
        SMPConvTCN(hidden_channels=16.0)
    with pytest.raises(ValueError, match=r"n_points must be an int of at least 1, got 30.5$"):
        SMPConvTCN(n_points=30.5)
    with pytest.raises(ValueError, match=r"seq_len must be None or an int of at least 2 \(steps\), got 150.0 "
                                         r"\(seq_len=150\)$"):
        SMPConvTCN(seq_len=150.0)
    with pytest.raises(ValueError, match=r"num_blocks must be an int of at least 1, got 2.0 \(num_blocks=2\)"):
        timm.create_model('smpconv_tcn_gunpoint', num_blocks=2.0)  # (feature indices are built from it first)
    with pytest.raises(ValueError, match="global_pool must be 'last', 'avg', 'max', 'avgmax' or ''"):
        SMPConvTCN(global_pool='catavgmax')
    with pytest.raises(ValueError, match="global_pool must be 'last', 'avg', 'max', 'avgmax' or ''"):
        small_model().set_global_pool('avg_max')
    with pytest.raises(ValueError, match='num_blocks must be an int of at least 1, got 0$'):
        SMPConvTCN(num_blocks=0)


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
def test_sequences_as_1xL_images(deployed):
    """timm's generic tooling builds ``[B, C, 1, L]`` inputs from ``input_size`` ``(C, 1, L)``: the same outputs as
    ``[B, C, L]``, through every entry point; per-step outputs keep the input's layout (``[B, C', 1, L]``, the
    feature map of a 1 x L image, whose size ``pool_size`` (1, L) states)."""
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8).eval()
    if deployed:
        model = timm.utils.reparameterize_model(model)
    x = torch.randn(2, 3, 182)
    with torch.no_grad():
        assert torch.equal(model(x.unsqueeze(2)), model(x))
        assert torch.equal(model.forward_features(x.unsqueeze(2)), model.forward_features(x).unsqueeze(2))
        assert torch.equal(model.forward_sequence(x.unsqueeze(2)), model.forward_sequence(x).unsqueeze(2))
        features = model.forward_features(x.unsqueeze(2))
        assert torch.equal(model.forward_head(features), model(x))
        assert features.shape[-2:] == model.pretrained_cfg['pool_size'] == (1, 182)
        for a, b in zip(model.forward_intermediates(x.unsqueeze(2), intermediates_only=True),
                        model.forward_intermediates(x, intermediates_only=True)):
            assert torch.equal(a, b.unsqueeze(2))
    cfg = timm.data.resolve_data_config({}, model=model)
    assert cfg['input_size'] == (3, 1, 182)
    assert model(torch.randn(1, *cfg['input_size'])).shape == (1, 20)


def test_pretrained_weights_for_other_input_channels():
    """timm's contract (``test_model_load_pretrained``): ``in_chans=`` with ``pretrained=True`` adapts the input
    weights. A signal repeated on every channel gives the pretrained model's response to it on one channel."""
    reference = timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True).eval()  # 12 channels
    one = timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=1).eval()
    twice = timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=24).eval()
    x = torch.randn(2, 1, 29)
    with torch.no_grad():
        expected = reference(x.expand(-1, 12, -1))
        assert rel_err(one(x), expected) < 1e-5
        assert rel_err(twice(x.expand(-1, 24, -1)), expected) < 1e-5  # exact for multiples of the channels
    features = timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=1, num_classes=0)
    assert features(x).shape == (2, reference.num_features)
    # in_chans equal to the width (32): no 1 x 1 shortcut to take the weights' (it said "Unexpected key(s)")
    with pytest.raises(ValueError, match=r'first block has no 1 x 1 shortcut \(in_chans=32 equals its width'):
        timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=32)


def test_weights_without_first_shortcut_adapt_to_other_input_channels(tmp_path):
    """Weights trained with in_chans equal to the width have no 1 x 1 shortcut in their first block (it adds its
    input unchanged); another in_chans needs one. It is the identity, adapted as the other first-layer weights: a
    signal repeated on every channel gives the checkpoint's response (it failed with "Missing key(s)")."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    trained = timm.create_model('smpconv_tcn_gunpoint', in_chans=32, num_classes=2).eval()
    assert 'blocks.0.shortcut.weight' not in trained.state_dict()
    save_file(trained.state_dict(), str(tmp_path / 'w.safetensors'))
    x = torch.randn(2, 1, 50)
    for in_chans in (1, 64):
        model = timm.create_model('smpconv_tcn_gunpoint', in_chans=in_chans, num_classes=2, pretrained=True,
                                  pretrained_cfg_overlay=dict(file=str(tmp_path / 'w.safetensors'))).eval()
        with torch.no_grad():
            assert rel_err(model(x.expand(-1, in_chans, -1)), trained(x.expand(-1, 32, -1))) < 1e-5


def test_adapted_input_weights_are_not_reported_as_loaded_unchanged(caplog):
    """timm's check after the family's filter logged that the (adapted) first layer's weights 'already match the
    model ... Loading unchanged'; the adaptation is the family's, and the log is left out."""
    import logging
    with caplog.at_level(logging.INFO, logger='timm'):
        timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=3)
    assert caplog.records and not any('Loading unchanged' in r.getMessage() for r in caplog.records)


def test_global_pool_none_gives_per_step_outputs():
    """timm's ``global_pool=''``: no pooling. With a classifier, per-step logits (``forward_sequence``); without,
    per-step features; ``reset_classifier(n)`` keeps the pooling, ``reset_classifier(n, '')`` removes it."""
    torch.manual_seed(0)
    reference = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8).eval()
    unpooled = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, global_pool='').eval()
    unpooled.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 60)
    with torch.no_grad():
        features = reference.forward_features(x)
        assert torch.equal(unpooled(x), reference.forward_sequence(x))
        assert rel_err(unpooled(x)[:, :, -1], reference(x)) < 1e-6  # the classifier on [B, L, C] rows: rounding
        reference.reset_classifier(20, '')
        assert reference.global_pool == '' and reference(x).shape == (2, 20, 60)
        reference.reset_classifier(0)
        assert reference.global_pool == '' and torch.equal(reference(x), features)
        assert torch.equal(reference(x.unsqueeze(2)), features.unsqueeze(2))
        reference.reset_classifier(0, 'last')
        assert torch.equal(reference(x), features[:, :, -1])


@pytest.mark.parametrize('length,kernel_length', [(300, None), (50, None), (3, None), (200, 40)])
def test_eval_forward_folds_each_unit_exactly_and_differentiably(length, kernel_length):
    """In eval mode a unit runs as one convolution with its folded kernel (SMP + small kernel, both BatchNorms),
    rebuilt at every call: outputs and every gradient (frozen-BatchNorm fine-tuning, input saliency) equal the two
    branches computed separately, on the FFT and direct paths, inputs shorter than the small kernel and fixed kernel
    lengths; a changed parameter changes the output at once."""
    model = small_model(kernel_length=kernel_length)
    unit = model.blocks[0].conv2
    x = torch.randn(3, unit.smp.in_chs, length, requires_grad=True)
    params = [p for p in unit.parameters()]

    calls = []
    hook = unit.small.register_forward_hook(lambda *_: calls.append(1))
    folded = unit(x)
    hook.remove()
    assert not calls  # the small kernel was folded, not run
    separate = unit.smp_norm(unit.smp(x)) + unit.small_norm(unit.small(x))
    assert rel_err(folded, separate) < 1e-5
    g = torch.randn_like(folded)
    grads_folded = torch.autograd.grad(folded, [x] + params, g)
    grads_separate = torch.autograd.grad(separate, [x] + params, g)
    for a, b in zip(grads_folded, grads_separate):
        assert rel_err(a, b) < 1e-5
    with torch.no_grad():
        unit.small.weight.add_(0.1)
        unit.smp.kernel.coords.add_(0.05)
        moved = unit(x)
        assert rel_err(moved, unit.smp_norm(unit.smp(x)) + unit.small_norm(unit.small(x))) < 1e-5
        assert rel_err(moved, folded) > 1e-3


@pytest.mark.parametrize('length', [50, 129])
def test_torch_func_forward_ad_and_checkpointing_work(length):
    """The hand-written autograd Functions (FFT convolution, 1-D point sampling) give way to plain operations under
    torch.func transforms and forward-mode AD; gradient checkpointing unpacks their saved tensors once. Each
    equals plain autograd."""
    from torch.func import functional_call, grad, vmap
    import torch.autograd.forward_ad as fwAD
    model = small_model('smpconv_tcn_smnist', init_radius=0.002, coord_std=0.1)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())
    x = torch.randn(3, 1, length)
    by_func = grad(lambda p, x: functional_call(model, (p, buffers), (x,)).square().sum())(params, x)
    by_autograd = torch.autograd.grad(model(x).square().sum(), list(model.parameters()))
    for (name, _), expected in zip(model.named_parameters(), by_autograd):
        assert rel_err(by_func[name], expected) < 1e-5, name
    mapped = vmap(lambda xi: functional_call(model, (params, buffers), (xi.unsqueeze(0),)))(x)
    assert rel_err(mapped.squeeze(1), model(x)) < 1e-5
    tangent = torch.randn_like(x)
    with fwAD.dual_level():
        jvp = fwAD.unpack_dual(model(fwAD.make_dual(x, tangent))).tangent
    x_req = x.clone().requires_grad_()
    out = model(x_req)
    jac_rows = [torch.autograd.grad(out[:, j].sum(), x_req, retain_graph=True)[0] for j in range(out.shape[1])]
    assert rel_err(jvp, torch.stack([(r * tangent).sum(dim=(1, 2)) for r in jac_rows], 1)) < 1e-4
    model.train()
    torch.manual_seed(0)
    expected = torch.autograd.grad(model(x).sum(), list(model.parameters()))
    model.set_grad_checkpointing(True)
    torch.manual_seed(0)
    for a, b in zip(torch.autograd.grad(model(x).sum(), list(model.parameters())), expected):
        assert rel_err(a, b) < 1e-5


def test_batchnorms_in_training_mode_inside_an_eval_model_use_batch_statistics():
    """Test-time adaptation puts BatchNorms back in training mode in an eval model: no folding then, the batch's
    statistics normalise and the running ones are updated."""
    model = small_model()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.train()
    unit = model.blocks[0].conv1
    x = torch.randn(4, 3, 129)
    before = unit.smp_norm.running_mean.clone()
    reference = copy.deepcopy(unit)
    out = unit(x)
    expected = reference.smp_norm(reference.smp(x)) + reference.small_norm(reference.small(x))
    assert rel_err(out, expected) < 1e-5
    assert not torch.equal(unit.smp_norm.running_mean, before) and unit.smp_norm.num_batches_tracked == 1


@pytest.mark.parametrize('variant', ['smpconv_tcn_gunpoint', 'smpconv_resnet_cifar10'])
def test_a_string_for_a_switch_is_refused(variant):
    """Trial 51: bias='false' (a string, as a hand-written config might hold) built biased layers: any non-empty
    string is truthy. A switch takes True or False only."""
    with pytest.raises(ValueError, match="bias must be True or False, got 'false'"):
        timm.create_model(variant, bias='false')


def test_sync_batchnorm_conversion_trains_and_deploys_as_the_masked_batchnorms():
    """timm's train.py --sync-bn (nn.SyncBatchNorm.convert_sync_batchnorm) replaces the units' masked BatchNorms with
    SyncBatchNorms, which take no mask: training failed with TypeError (trial 73b F1). Equal lengths train as before
    (one process: SyncBatchNorm is BatchNorm), eval mode with lengths too, re-parameterisation folds them; a padded
    batch in training, whose statistics SyncBatchNorm cannot mask, is refused by name."""
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_gunpoint')
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    assert isinstance(synced.blocks[0].conv1.smp_norm, nn.SyncBatchNorm)
    x, lengths = torch.randn(4, 1, 150), torch.tensor([150, 100, 150, 120])
    outs = []
    for m in (model, synced):
        torch.manual_seed(1)  # (dropout)
        out = m.train()(x)
        out.sum().backward()
        outs.append(out)
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(model.blocks[0].conv1.smp.kernel.coords.grad, synced.blocks[0].conv1.smp.kernel.coords.grad)
    assert torch.equal(model.blocks[0].conv1.smp_norm.running_var, synced.blocks[0].conv1.smp_norm.running_var)
    with pytest.raises(TypeError, match=r'SyncBatchNorm cannot leave the padded steps .*without --sync-bn'):
        synced(x, lengths=lengths)
    torch.manual_seed(1)
    full = copy.deepcopy(synced)(x, lengths=torch.full((4,), 150))  # nothing padded: nothing to leave out
    torch.manual_seed(1)
    assert rel_err(full, copy.deepcopy(model).train()(x, lengths=torch.full((4,), 150))) < 1e-6  # (masked sums)
    model.eval(), synced.eval()
    assert torch.equal(model(x, lengths=lengths), synced(x, lengths=lengths))
    deployed = timm.utils.reparameterize_model(copy.deepcopy(synced))
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in deployed.modules())
    assert rel_err(deployed(x), model(x)) < 1e-5


def test_float16_autocast_gives_the_float32_answer_and_deploys_the_same_kernels():
    """torch.autocast's float16 (timm's train.py --amp, CUDA's default) made every shipped SMP-TCN output NaN and a
    model re-parameterised inside it NaN for good (trial 75 F1): the kernels are sampled in float32 under autocast,
    so the outputs are float32's to 16-bit rounding and the deployed kernels are exactly float32's."""
    from smpconvnet.layers import point_kernel
    model = timm.create_model('smpconv_tcn_gunpoint', pretrained=True).eval()
    x = torch.randn(4, 1, 150, generator=torch.Generator().manual_seed(0))
    reference = model(x)
    for dense in (False, True):  # the CPU's windowed sampling, and the dense GEMM GPUs run
        with pytest.MonkeyPatch.context() as mp:
            if dense:
                mp.setattr(point_kernel, '_window_width', lambda *a: None)
            with torch.no_grad(), torch.autocast('cpu', dtype=torch.float16):
                out = model(x)
                deployed = timm.utils.reparameterize_model(copy.deepcopy(model))
            assert out.dtype == torch.float16 and rel_err(out.float(), reference) < 2e-3
            assert rel_err(deployed(x), reference) < 1e-6
    model.train()
    with torch.autocast('cpu', dtype=torch.float16):
        loss = model(x).float().logsumexp(-1).mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
