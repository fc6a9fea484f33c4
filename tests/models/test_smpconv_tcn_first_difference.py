"""SMP-TCNs that read each series and its first difference (``first_difference=True``, MultiRocket's second view):
the blocks see ``[x, dx]`` (2C channels) of a C-channel input, causally; padding, compiled, traced, deployed and
ensembled forms agree; the state dict's marker keeps such weights out of a 2C-channel model; ``in_chans=`` adapts the
series' and the difference's halves apart; what the option does not do raises.

Small networks (2 blocks x 8 channels); float64 where the comparison is exact (1e-12).
"""
import copy
import warnings

import pytest
import timm
import torch

from smpconvnet.models.smpconv_tcn import SMPConvTCN, checkpoint_filter_fn, with_first_difference
from conftest import randomize_bn, rel_err, unpickled_without


def diff_model(**kwargs):
    args = dict(in_chans=2, num_classes=3, num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5,
                kernel_length=16, first_difference=True)
    args.update(kwargs)
    return randomize_bn(SMPConvTCN(**args), example=torch.randn(4, args['in_chans'], 40)).eval().double()


def _series(length=40):
    torch.manual_seed(0)
    return torch.randn(3, 2, length, dtype=torch.float64)


def test_the_difference_is_the_step_minus_the_step_before():
    x = torch.tensor([[[1., 4., 2., 2.]]])
    assert with_first_difference(x).tolist() == [[[1., 4., 2., 2.], [0., 3., -2., 0.]]]
    assert with_first_difference(x[:, :, :1]).tolist() == [[[1.], [0.]]]  # one step: no difference yet


@pytest.mark.parametrize('kwargs', [dict(), dict(causal=False, kernel_length=9, global_pool='avg'),
                                    dict(global_pool='avg', zero_pad_to=50), dict(kernel_length=None)])
def test_the_blocks_read_the_series_and_its_first_difference(kwargs):
    """The model = a model of 2C input channels given ``[x, dx]`` with the same weights (its state dict without the
    marker), exactly; also through ``lengths`` (a padded batch)."""
    model = diff_model(**kwargs)
    plain = SMPConvTCN(**dict(dict(in_chans=4, num_classes=3, num_blocks=2, hidden_channels=8, kernel_length=16),
                              **kwargs)).double().eval()
    state = {k: v for k, v in model.state_dict().items() if k != 'first_differenced'}
    plain.load_state_dict(state)
    x = _series()
    lengths = torch.tensor([40, 23, 7])
    with torch.no_grad():
        # zero_pad_to: the difference of the zero-padded series (the step after its end: minus its last value)
        padded = torch.nn.functional.pad(x, (0, kwargs.get('zero_pad_to', 40) - 40))
        assert rel_err(model(x), plain(with_first_difference(padded))) < 1e-12
        if not kwargs.get('zero_pad_to'):
            dx = with_first_difference(x)
            for i, n in enumerate(lengths.tolist()):
                dx[i, :, n:] = 0.
            assert rel_err(model(x, lengths=lengths), plain(dx, lengths=lengths)) < 1e-12


@pytest.mark.parametrize('causal', [True, False])
def test_a_padded_series_gives_what_it_gives_alone(causal):
    """Anything in the padding (NaN, 100) changes nothing: the step after a series' end, whose difference would be
    minus its last value, is padding too."""
    model = diff_model(causal=causal, kernel_length=9 if not causal else 16, global_pool='avg')
    x = _series()
    lengths = torch.tensor([40, 23, 7])
    garbage = x.clone()
    garbage[1, :, 23:] = 100.
    garbage[2, :, 7:] = float('nan')
    with torch.no_grad():
        alone = torch.cat([model(x[i:i + 1, :, :n]) for i, n in enumerate(lengths.tolist())])
        assert rel_err(model(garbage, lengths=lengths), alone) < 1e-12


def test_step_t_reads_steps_0_to_t_only():
    """Causal: the per-step outputs of a prefix are those of the whole series (streaming is kept)."""
    model = diff_model()
    x = _series()
    with torch.no_grad():
        assert rel_err(model.forward_sequence(x)[..., :25], model.forward_sequence(x[..., :25])) < 1e-12


def test_compiled_traced_deployed_and_ensembled_forms_agree():
    model = diff_model()
    x = _series()
    with torch.no_grad():
        expected = model(x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            scripted = torch.jit.script(model)
        assert rel_err(scripted(x), expected) < 1e-12
        assert rel_err(torch.fx.symbolic_trace(model)(x), expected) < 1e-12
        deployed = timm.utils.reparameterize_model(copy.deepcopy(model))
        assert deployed.is_deployed and rel_err(deployed(x), expected) < 1e-12
        ensemble = timm.create_model('smpconv_tcn_chartraj', num_members=2, in_chans=2, num_classes=3, num_blocks=2,
                                     hidden_channels=8, first_difference=True).eval().double()
        assert ensemble.first_difference and all(m.first_difference for m in ensemble.members)
        from smpconvnet.models.smpconv_tcn import combine_log_probs
        assert rel_err(ensemble(x), combine_log_probs([m(x) for m in ensemble.members])) < 1e-12


def test_weights_of_the_other_reading_do_not_load(tmp_path):
    """A C-channel model reading differences has the shapes of a 2C-channel model: the ``first_differenced`` marker
    makes checkpoint_filter_fn and strict loading refuse the mix-up, and the hint, built as printed, loads them."""
    model = diff_model()
    plain = SMPConvTCN(in_chans=4, num_classes=3, num_blocks=2, hidden_channels=8, kernel_length=16).double()
    with pytest.raises(ValueError, match='reads each series and its first difference \\(first_difference=True\\), '
                                         'this model the series alone .*: create it with first_difference=True'):
        checkpoint_filter_fn(model.state_dict(), plain)
    with pytest.raises(ValueError, match='create it with first_difference=False'):
        checkpoint_filter_fn({k: v for k, v in plain.state_dict().items()}, diff_model(in_chans=4))
    with pytest.raises(RuntimeError, match='create it with first_difference=True'):
        plain.load_state_dict(model.state_dict())
    with pytest.raises(ValueError) as refusal:
        checkpoint_filter_fn(model.state_dict(), plain)
    args = str(refusal.value).split('the model that matches: pass ')[1].split(' to timm.create_model')[0]
    assert 'in_chans=2' in args and 'first_difference=True' in args
    fresh = eval(f'SMPConvTCN({args})', {'SMPConvTCN': SMPConvTCN}).double().eval()  # the hint, as printed
    fresh.load_state_dict(checkpoint_filter_fn(model.state_dict(), fresh))
    with torch.no_grad():
        assert rel_err(fresh.eval()(_series()), model(_series())) == 0
    # a bare weight file tells its reading: load_model builds the first-difference model of C channels
    import safetensors.torch
    from smpconvnet.weights.sources import load_model
    path = tmp_path / 'bare.safetensors'
    safetensors.torch.save_file(model.float().state_dict(), str(path))
    loaded = load_model(str(path))[0]
    assert loaded.first_difference and loaded.in_chans == 2


def test_other_input_channels_adapt_the_series_and_its_difference_apart():
    """``in_chans=`` of other weights' (timm's rule for a first conv): a signal repeated on every channel of a
    3-channel model gives the 1-channel weights' response; adapting [x, dx] as one tensor would
    read x where the difference is."""
    one = diff_model(in_chans=1)
    three = diff_model(in_chans=3)
    three.load_state_dict(checkpoint_filter_fn(one.state_dict(), three))
    x = _series()[:, :1]
    with torch.no_grad():
        # (1e-7: the adaptation computes in float32, as for every first conv)
        assert rel_err(three(x.repeat(1, 3, 1)), one(x)) < 1e-7


def test_what_the_option_does_not_do():
    model = diff_model().float()
    with pytest.raises(ValueError, match='first_difference=True.*needs regular steps'):
        model(torch.randn(1, 2, 10), timestamps=torch.arange(10.))
    for bad in ('true', 1, None):
        with pytest.raises(ValueError, match='first_difference must be True or False'):
            SMPConvTCN(first_difference=bad)


def test_models_saved_whole_before_the_option_still_run():
    """A whole-model pickle from before the option lacks the attribute: it unpickles as a model of the series alone."""
    model = diff_model(first_difference=False).float()
    old = unpickled_without(model, 'first_difference')
    x = torch.randn(2, 2, 30)
    with torch.no_grad():
        assert old.first_difference is False and rel_err(old(x), model(x)) == 0


def test_refusals_name_the_file_and_what_to_build(tmp_path):
    """Trial 74 #1, #3-#5: the marker's refusal through timm names the file and breaks the loop of a checkpoint_path
    over pretrained weights; strict=False loading refuses too (the shapes fit); the shortcut refusal names the
    in_chans asked for; [x, dx] given to the model is told to pass the series alone."""
    import safetensors.torch
    path = tmp_path / 'diff.safetensors'
    safetensors.torch.save_file(timm.create_model('smpconv_tcn_gunpoint', first_difference=True).state_dict(),
                                str(path))
    with pytest.raises(ValueError, match=f'checkpoint_path for smpconv_tcn_gunpoint: {path} does not fit the model: '
                                         'checkpoint of a network that reads each series and its first difference'):
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(path))
    with pytest.raises(ValueError, match='smpconv_tcn_gunpoint.aeon/model.safetensors does not fit.*create it with '
                                         'first_difference=False.*pass pretrained=False to load it alone'):
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, checkpoint_path=str(path), first_difference=True)
    # said only where a checkpoint_path= was given (trial 74b #5), naming it
    with pytest.raises(ValueError) as refused:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, checkpoint_path=str(path), first_difference=True)
    assert f'loads your checkpoint_path= file ({path}) over the pretrained weights' in str(refused.value)
    with pytest.raises(ValueError, match='create it with first_difference=False') as refused:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, first_difference=True)
    assert 'checkpoint_path' not in str(refused.value) and 'pretrained=False' not in str(refused.value)
    assert timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(path), first_difference=True)
    diff = SMPConvTCN(in_chans=2, num_blocks=2, hidden_channels=8, first_difference=True)
    plain = SMPConvTCN(in_chans=4, num_blocks=2, hidden_channels=8)
    for model, weights, want in ((plain, diff, True), (diff, plain, False)):
        with pytest.raises(RuntimeError, match=f'create it with first_difference={want}'):
            model.load_state_dict(weights.state_dict(), strict=False)
    with pytest.raises(ValueError, match='no 1 x 1 shortcut \\(in_chans=4: its 4 channels and their first differences '
                                         '\\(first_difference=True\\) make 8, its width.*adapted to 4 input channels'):
        checkpoint_filter_fn(diff.state_dict(), SMPConvTCN(in_chans=4, num_blocks=2, hidden_channels=8,
                                                           first_difference=True))
    with pytest.raises(ValueError, match='it computes the first difference itself \\(first_difference=True\\): pass '
                                         'the 2 channels of the series alone'):
        diff(with_first_difference(torch.randn(1, 2, 20)))
    with pytest.raises(ValueError, match='create the model with in_chans=4'):  # other data of 4 channels (trial 74b)
        diff(torch.randn(1, 4, 20))


def test_a_first_layer_adapted_and_back_is_told_by_its_halves(tmp_path, capsys):
    """Trial 74 #2: weights of 3 channels adapted to 6 repeat each half ([x | dx]) with period 3, not the whole
    first layer: evaluate-seq says so of a bare file, as of a plain model's."""
    import safetensors.torch
    from smpconvnet.cli import main
    args = dict(num_blocks=2, hidden_channels=8)
    for fd in (True, False):
        three = timm.create_model('smpconv_tcn_basicmotions', in_chans=3, first_difference=fd, **args)
        six = timm.create_model('smpconv_tcn_basicmotions', first_difference=fd, **args)
        path = tmp_path / f'back6_{fd}.safetensors'
        safetensors.torch.save_file(checkpoint_filter_fn(three.state_dict(), six), str(path))
        assert main(['evaluate-seq', 'smpconv_tcn_basicmotions', '--model-kwargs',
                     f'pretrained_cfg_overlay={{"file": "{path}"}}', 'num_blocks=2', 'hidden_channels=8',
                     f'first_difference={fd}']) == 0
        err = capsys.readouterr().err
        assert 'first layer repeats the weights of its first 3 input channel(s) over its 6, exactly' in err, err
