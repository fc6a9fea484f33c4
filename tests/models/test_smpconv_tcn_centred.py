"""Centred ('same') SMP-TCNs (``causal=False``): the convolution against its definition, what each step sees,
variable-length batches, eval-mode folding and re-parameterisation, compiled / traced / exported forms, checkpoints
that cannot be mixed up with causal ones, and the errors for what a centred model does not do.

Small networks (2 blocks x 8 channels, lengths <= 300); tolerances relative to the largest reference magnitude.
"""
import copy
import warnings

import pytest
import timm
import torch

from smpconvnet.layers.causal_conv import SameConv1d
from smpconvnet.models.smpconv_tcn import SMPConv1d, SMPConvTCN, SMPLargeKernel1d, checkpoint_filter_fn
from conftest import randomize_bn, rel_err


def centred_model(**kwargs):
    """A 2-block, 8-channel centred model with wide points (the kernels reach far at short lengths)."""
    args = dict(in_chans=3, num_classes=4, num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5,
                causal=False, global_pool='avg')
    args.update(kwargs)
    return randomize_bn(timm.create_model('smpconv_tcn_chartraj', **args)).eval()


@pytest.mark.parametrize('kernel_length', [None, 7])
@pytest.mark.parametrize('use_fft', [False, True])
def test_centred_smp_conv_is_the_point_kernel_at_step_differences(kernel_length, use_fft):
    """Output step i weighs input step j with the point kernel at ``(j - i) / (L - 1)`` (2L - 1 taps over [-1, 1], 0
    the current step) or ``2 (j - i) / (K - 1)`` for K fixed taps, zero beyond the kernel: evaluated pair by pair with
    ``PointKernel.sample``, float64, 1e-12, both paths."""
    torch.manual_seed(0)
    conv = SMPConv1d(3, 4, 6, 0.2, 0.4, kernel_length=kernel_length, use_fft=use_fft, causal=False).double()
    length = 11
    x = torch.randn(2, 3, length, dtype=torch.float64)
    steps = torch.arange(length, dtype=torch.float64)
    diff = steps[None, :] - steps[:, None]                                           # j - i, [i, j]
    half = (length - 1) if kernel_length is None else (kernel_length - 1) // 2
    pos = diff / half
    k = conv.kernel.sample(pos.reshape(-1)).reshape(4, 3, length, length) * (diff.abs() <= half)
    expected = torch.einsum('ocij,bcj->boi', k, x) + conv.bias[None, :, None]
    assert rel_err(conv(x), expected) < 1e-12
    assert conv.make_kernel(length).shape[-1] == (2 * length - 1 if kernel_length is None else kernel_length)


def test_each_step_sees_the_whole_series_and_starts_centred():
    """A centred model's first step depends on the last input step (a causal one's does not), and its points start
    around the current step (0), a causal one's near +1."""
    x = torch.randn(2, 3, 40)
    moved = x.clone()
    moved[..., -1] += 1.
    for causal in (True, False):
        model = centred_model(causal=causal)
        with torch.no_grad():
            change = (model.forward_features(x)[..., 0] - model.forward_features(moved)[..., 0]).abs().max()
        assert (change > 1e-4) if not causal else (change == 0)
        coords = centred_model(causal=causal, coord_std=0.1).blocks[0].conv1.smp.kernel.coords
        assert (coords.mean().abs() < 0.05) if not causal else (coords.mean() > 0.8)


@pytest.mark.parametrize('kernel_length', [None, 9])
def test_padded_samples_with_lengths(kernel_length):
    """Right-padded batches with ``lengths``: the padding is zeroed before every convolution, so with a fixed kernel
    length each sample gives what it gives alone whatever the padding holds (with kernel_length=None the kernel is
    sampled for the padded length: then the padding's values still change nothing); the deployed model agrees; in
    training the BatchNorm statistics come from the valid steps."""
    model = centred_model(kernel_length=kernel_length)
    lengths = torch.tensor([30, 17, 5])
    x = torch.randn(3, 3, 30)
    garbage = x.clone()
    for i, n in enumerate(lengths.tolist()):
        garbage[i, :, n:] = 100. * torch.randn(3, 30 - n)
    with torch.no_grad():
        out = model(x, lengths=lengths)
        assert rel_err(model(garbage, lengths=lengths), out) < 1e-6
        if kernel_length is not None:
            alone = torch.cat([model(x[i:i + 1, :, :n]) for i, n in enumerate(lengths.tolist())])
            assert rel_err(out, alone) < 1e-5
        deployed = copy.deepcopy(model).reparameterize(length=30)
        assert rel_err(deployed(garbage, lengths=lengths), out) < 1e-5
    model.train()
    bn = model.blocks[0].conv1.smp_norm
    mean_before = bn.running_mean.clone()
    model(garbage, lengths=lengths)
    shift_garbage = bn.running_mean - mean_before
    bn.running_mean.copy_(mean_before)
    model(x, lengths=lengths)
    assert rel_err(shift_garbage, bn.running_mean - mean_before) < 1e-5



@pytest.mark.parametrize('num_members', [None, 2])
def test_features_only_takes_lengths(num_members):
    """timm's ``features_only`` wrapper of an SMP-TCN (and of an ensemble) takes ``lengths`` as the model does: each
    block's features of a padded sample at its valid steps are those of the sample alone (a centred model reads
    right, into the padding, so without lengths they differ), whatever the padding holds; ``feature_cls='getter'``
    gives the same wrapper."""
    extra = {} if num_members is None else dict(num_members=num_members)
    args = dict(num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5, causal=False, kernel_length=9,
                **extra)
    torch.manual_seed(0)
    features = timm.create_model('smpconv_tcn_chartraj', features_only=True, **args).eval()
    randomize_bn(features)
    assert type(features) is type(timm.create_model('smpconv_tcn_chartraj', features_only=True,
                                                    feature_cls='getter', **args))
    lengths = torch.tensor([30, 17, 5])
    x = torch.randn(3, 3, 30)
    for i, n in enumerate(lengths.tolist()):
        x[i, :, n:] = 100. * torch.randn(3, 30 - n)
    with torch.no_grad():
        padded = features(x, lengths=lengths)
        unmasked = features(x)
        for i, n in enumerate(lengths.tolist()):
            alone = features(x[i:i + 1, :, :n])
            for block, (f, a) in enumerate(zip(padded, alone)):
                assert f.shape[1] == features.feature_info.channels()[block]
                assert rel_err(f[i:i + 1, :, :n], a) < 1e-5
        assert rel_err(unmasked[-1][1:2, :, :17], padded[-1][1:2, :, :17]) > 1e-2

@pytest.mark.parametrize('length,kernel_length', [(300, None), (50, None), (3, None), (60, 41)])
def test_eval_folding_and_reparameterisation_are_exact(length, kernel_length):
    """In eval mode each unit runs as one centred convolution with its folded kernel (the small kernel added at the
    middle taps): outputs and gradients equal the two branches (FFT path at 300 steps, inputs shorter than the small
    kernel); ``reparameterize`` gives ``SameConv1d`` layers with the same outputs, a state dict that loads back
    through ``checkpoint_filter_fn`` (the length read off 2L - 1-tap kernels), and TorchScript equal to eager."""
    model = centred_model(kernel_length=kernel_length).double()
    unit = model.blocks[0].conv2
    x = torch.randn(3, 8, length, dtype=torch.float64, requires_grad=True)
    folded = unit(x)
    separate = unit.smp_norm(unit.smp(x)) + unit.small_norm(unit.small(x))
    assert rel_err(folded, separate) < 1e-12
    g = torch.randn_like(folded)
    params = list(unit.parameters())
    for a, b in zip(torch.autograd.grad(folded, [x] + params, g), torch.autograd.grad(separate, [x] + params, g)):
        assert rel_err(a, b) < 1e-12

    seq = torch.randn(2, 3, length, dtype=torch.float64)
    with torch.no_grad():
        expected = model(seq)
        deployed = copy.deepcopy(model).reparameterize(length=length)
        assert deployed.is_deployed
        assert all(isinstance(b.conv1, SameConv1d) and isinstance(b.conv2, SameConv1d) for b in deployed.blocks)
        assert not any(isinstance(m, SMPLargeKernel1d) for m in deployed.modules())
        assert rel_err(deployed(seq), expected) < 1e-12
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            assert rel_err(torch.jit.script(deployed)(seq), expected) < 1e-12
            assert rel_err(torch.jit.script(model)(seq), expected) < 1e-12
        # at 3 steps the deployed kernels are as long as the small kernel and do not tell the length: seq_len does
        fresh = centred_model(kernel_length=kernel_length, **(dict(seq_len=length) if length < 5 else {})).double()
        fresh.load_state_dict(checkpoint_filter_fn(deployed.state_dict(), fresh))
        assert fresh.is_deployed and rel_err(fresh(seq), expected) < 1e-12
        if kernel_length is None:
            with pytest.raises(ValueError, match=f'length {length}, got length {length + 1}'):
                deployed(torch.randn(1, 3, length + 1, dtype=torch.float64))


def test_traces_and_exports():
    """torch.fx (timm's feature extraction) and ONNX (direct convolutions under an export) give the eager outputs."""
    model = centred_model(seq_len=200)
    x = torch.randn(2, 3, 200)  # 399 taps: FFT eagerly
    with torch.no_grad():
        expected = model(x)
        assert rel_err(torch.fx.symbolic_trace(model)(x), expected) < 1e-5
        features = timm.create_model('smpconv_tcn_chartraj', features_only=True, num_blocks=3, hidden_channels=8,
                                     causal=False)
        assert [f.shape for f in features(x)] == [(2, 8, 200)] * 3
    ort = pytest.importorskip('onnxruntime')
    import io
    buffer = io.BytesIO()
    deployed = timm.utils.reparameterize_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(deployed, (x,), buffer, dynamo=False, input_names=['input'])
    session = ort.InferenceSession(buffer.getvalue(), providers=['CPUExecutionProvider'])
    assert rel_err(torch.from_numpy(session.run(None, {'input': x.numpy()})[0]), expected) < 1e-4


def test_centred_and_causal_checkpoints_do_not_mix():
    """The same shapes give other outputs, so a centred state dict carries a ``centred`` marker: loading it into a
    causal model (or the reverse) fails, strictly and through ``checkpoint_filter_fn``, naming the argument; the hint
    works."""
    centred, causal = centred_model(), centred_model(causal=True)
    with pytest.raises(RuntimeError, match='centred'):
        causal.load_state_dict(centred.state_dict())
    with pytest.raises(RuntimeError, match='centred'):
        centred.load_state_dict(causal.state_dict())
    with pytest.raises(ValueError, match='a centred SMP-TCN, the model a causal one .* causal=False'):
        checkpoint_filter_fn(centred.state_dict(), causal)
    with pytest.raises(ValueError, match='a causal SMP-TCN, the model a centred one .* causal=True'):
        checkpoint_filter_fn(causal.state_dict(), centred)
    # neither the kernels' taps nor the pooling are in the weights: the hint says they must be the weights' too (the
    # registered ACSF1 and ArrowHead models have 33 taps; the causal models they replaced had whole-series kernels,
    # ArrowHead's read the last step, and with causal=True alone their weights loaded without an error: 53 of 175
    # ArrowHead test series right, 133 with the earlier model's arguments)
    with pytest.raises(ValueError, match=r"causal=True; and with the kernel_length and global_pool it was trained "
                                         r"with: this model has kernel_length=33, global_pool='avg', which the "
                                         r"state dict does not record .*kernel_length=None"):
        checkpoint_filter_fn(causal.state_dict(), centred_model(kernel_length=33, global_pool='avg'))
    with pytest.raises(ValueError, match=r"causal=True; and with the kernel_length and global_pool it was trained "
                                         r"with: this model has kernel_length=None \(kernels as long as the input\), "
                                         r"global_pool='max', which the state dict does not record \(the model "
                                         r"that matches: pass .*causal=True, global_pool='max' to timm"):
        checkpoint_filter_fn(causal.state_dict(), centred_model(global_pool='max'))
    # centred 33-tap weights into a causal whole-series model (trial 18: causal=False alone gave 72 of 175 ArrowHead
    # test series right, 147 with kernel_length=33 too)
    with pytest.raises(ValueError, match=r"causal=False; and with the kernel_length and global_pool it was trained "
                                         r"with: this model has kernel_length=None \(kernels as long as the input\)"):
        checkpoint_filter_fn(centred_model(kernel_length=33).state_dict(), causal)
    again = centred_model(causal=False)
    again.load_state_dict(checkpoint_filter_fn(centred.state_dict(), again))
    x = torch.randn(2, 3, 20)
    with torch.no_grad():
        assert torch.equal(again(x), centred(x))


def test_what_a_centred_model_does_not_do():
    """No causal per-step predictions: the hint, run as printed, gives per-step outputs from the same classifier
    (their mean over the steps is the 'avg' logits), for a single model and an ensemble; no timestamps; kernels need
    a middle tap, and the suggested size builds."""
    x = torch.randn(2, 3, 20)
    for model in (centred_model(), centred_model(num_members=2)):
        with torch.no_grad():
            pooled = model(x)
        with pytest.raises(ValueError, match=r"call model.set_global_pool\(''\) and then model\(x\)") as e:
            model.forward_sequence(x)
        exec(str(e.value).split('call ', 1)[1].split(' and then ')[0])
        with torch.no_grad():
            per_step = model(x)
        assert per_step.shape == (2, 4, 20)
        if not hasattr(model, 'members'):
            assert rel_err(per_step.mean(-1), pooled) < 1e-6
        with pytest.raises(ValueError, match='timestamps need a causal model'):
            model(x, timestamps=torch.arange(20.))
        assert not model.causal
    # 1 is odd but has no tap either side: its message says at least 3 (it read as if 1 were even)
    for bad in (dict(kernel_length=8), dict(kernel_length=1), dict(kernel_length=-4), dict(small_kernel_size=4)):
        with pytest.raises(ValueError, match='odd kernels' if bad != dict(kernel_length=1) else
                           r'odd kernels of at least 3 taps .*got kernel_length=1: pass kernel_length=3$') as e:
            SMPConvTCN(causal=False, **bad)
        SMPConvTCN(causal=False, **eval(f"dict({str(e.value).split('pass ')[1]})"))


def test_a_centred_models_card_does_not_call_it_causal():
    """The card of a folder (reparam, convert) names the kind of network: the shipped ACSF1 model's said causal."""
    from smpconvnet.weights.folders import model_card
    for kwargs, kind in (({}, "centred ('same') temporal convolutional network"),
                         ({'num_members': 2}, "ensemble of centred ('same') temporal convolutional networks"),
                         ({'causal': True}, 'causal temporal convolutional network')):
        card = model_card('smpconv_tcn_chartraj', centred_model(**kwargs), {}, 'd', 's', 'c')
        assert kind in card and ('causal' in kind or 'causal temporal' not in card)


def test_a_deployed_card_with_fixed_kernels_takes_any_length():
    """Deployed kernels of kernel_length taps do not depend on the input length: the card said 'only' the length it
    was deployed at (a deployed ACSF1 or OSULeaf model runs at any length)."""
    from smpconvnet.weights.folders import model_card
    model = centred_model(kernel_length=7)
    card = model_card('smpconv_tcn_chartraj', model, {'seq_len': 20}, 'd', 's', 'c', deployed=True)
    assert 'of any length (the deployed kernels have 7 taps whatever the length' in card and ' only (' not in card
    whole = model_card('smpconv_tcn_chartraj', centred_model(), {'seq_len': 20}, 'd', 's', 'c', deployed=True)
    assert '20]` only (the deployed kernels are materialised for this length' in whole
