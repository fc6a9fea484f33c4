"""SMP-TCNs that read variable-length series zero-padded (``zero_pad_to=N``), as MiniRocket reads a zero-padded set:
a series' length is part of the input. The padding's values, the batch and the input's own padding change nothing;
BatchNorm and pooling see all N steps; compiled, traced, deployed and ensembled forms agree; what the option does not
do raises.

Small networks (2 blocks x 8 channels, N <= 40); float64 where the comparison is exact.
"""
import copy
import warnings

import pytest
import timm
import torch

from smpconvnet.models.smpconv_tcn import SMPConvTCN, checkpoint_filter_fn
from conftest import randomize_bn, rel_err, unpickled_without

N = 40


def padded_model(**kwargs):
    args = dict(in_chans=2, num_classes=3, num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5,
                global_pool='avg', zero_pad_to=N)
    args.update(kwargs)
    return randomize_bn(timm.create_model('smpconv_tcn_chartraj', **args)).eval().double()


def _series():
    torch.manual_seed(0)
    lengths = torch.tensor([N, 23, 7])
    x = torch.randn(3, 2, N, dtype=torch.float64)
    zeroed = x.clone()
    garbage = x.clone()
    for i, n in enumerate(lengths.tolist()):
        zeroed[i, :, n:] = 0.
        garbage[i, :, n:] = float('nan') if i == 2 else 100.
    return x, lengths, zeroed, garbage


@pytest.mark.parametrize('causal,pool,kernel_length', [(True, 'avg', None), (True, 'last', None),
                                                       (False, 'avg', None), (False, 'avg', 9)])
def test_a_series_is_read_zero_padded_to_n_steps(causal, pool, kernel_length):
    """``model(x, lengths)`` with anything in the padding (NaN too) = ``model(zero-padded x)`` = each series alone at
    its true length (padded by the model) = the series in a shorter batch; exact (float64, 1e-12)."""
    model = padded_model(causal=causal, global_pool=pool, kernel_length=kernel_length)
    x, lengths, zeroed, garbage = _series()
    with torch.no_grad():
        expected = model(zeroed)
        assert rel_err(model(garbage, lengths=lengths), expected) < 1e-12
        alone = torch.cat([model(x[i:i + 1, :, :n]) for i, n in enumerate(lengths.tolist())])
        assert rel_err(alone, expected) < 1e-12
        assert rel_err(model(garbage[1:, :, :23], lengths=lengths[1:]), expected[1:]) < 1e-12
        assert rel_err(model(zeroed[:, :, None]), expected) < 1e-12  # timm's [B, C, 1, L] layout
        feats = model.forward_features(garbage, lengths=lengths)
        assert feats.shape == (3, 8, N)
        assert rel_err(model.forward_head(feats, lengths=lengths), expected) < 1e-12  # lengths do not cut the pooling


def test_the_length_is_visible_and_batchnorm_sees_every_step():
    """The same 10 valid steps as a 10-step series and as the start of a 30-step one whose remaining steps are 0
    are one input (what zero padding means); in training the BatchNorm statistics are those of the N zero-padded
    steps, not of the valid ones (a model without ``zero_pad_to`` masks the padding out)."""
    model = padded_model()
    x = torch.randn(1, 2, 10, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(model(x), model(x, lengths=torch.tensor([10]))) < 1e-12
        longer = torch.cat([x, torch.zeros(1, 2, 20, dtype=torch.float64)], -1)
        assert rel_err(model(longer, lengths=torch.tensor([30])), model(x)) < 1e-12
    for zero_pad_to, same in ((N, True), (None, False)):
        model = padded_model(zero_pad_to=zero_pad_to).train()
        _, lengths, zeroed, garbage = _series()
        garbage = torch.nan_to_num(garbage)
        bn = model.blocks[0].conv1.smp_norm
        before = bn.running_mean.clone()
        model(garbage, lengths=lengths)
        with_lengths = bn.running_mean.clone()
        bn.running_mean.copy_(before)
        model(zeroed)
        assert (rel_err(with_lengths, bn.running_mean) < 1e-12) == same


def test_compiled_traced_deployed_and_ensembled_forms_agree():
    model = padded_model()
    x, lengths, zeroed, garbage = _series()
    with torch.no_grad():
        expected = model(zeroed)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            scripted = torch.jit.script(model)
        assert rel_err(scripted(garbage, lengths=lengths), expected) < 1e-12
        assert rel_err(scripted(x[2:, :, :7]), expected[2:]) < 1e-12
        assert rel_err(torch.fx.symbolic_trace(model)(x[2:, :, :7]), expected[2:]) < 1e-12
        deployed = copy.deepcopy(model).reparameterize()  # for N steps: every input is padded to N
        assert deployed.is_deployed and rel_err(deployed(garbage, lengths=lengths), expected) < 1e-12
        assert rel_err(deployed(x[2:, :, :7]), expected[2:]) < 1e-12
        ensemble = timm.create_model('smpconv_tcn_chartraj', num_members=2, in_chans=2, num_classes=3, num_blocks=2,
                                     hidden_channels=8, global_pool='avg', zero_pad_to=N).eval().double()
        members = [ensemble.members[i](zeroed) for i in range(2)]
        from smpconvnet.models.smpconv_tcn import combine_log_probs
        assert rel_err(ensemble(garbage, lengths=lengths), combine_log_probs(members)) < 1e-12


def test_what_zero_padding_does_not_do():
    model = padded_model().float()
    with pytest.raises(ValueError, match=f'zero-padded to {N} steps \\(zero_pad_to={N}\\), got {N + 1} steps'):
        model(torch.randn(1, 2, N + 1))
    with pytest.raises(ValueError, match='timestamps need the true lengths'):
        model(torch.randn(1, 2, 10), timestamps=torch.arange(10.))
    with pytest.raises(ValueError, match=f'reparameterize\\(length={N}\\), not length=30'):
        copy.deepcopy(model).reparameterize(length=30)
    for bad in (0, 1, True, 3.0, '40'):
        with pytest.raises(ValueError, match='zero_pad_to must be None or an int of at least 2'):
            SMPConvTCN(zero_pad_to=bad)


def test_timms_reparameterize_model_deploys_for_n_steps_whatever_the_cfg_says():
    """``timm.utils.reparameterize_model`` (block by block) deploys for zero_pad_to steps, also when the cfg's length
    (seq_len) is another or there is none; a 1-step series alone is padded like any other."""
    x = torch.randn(2, 3, 50)
    for model in (timm.create_model('smpconv_tcn_chartraj', zero_pad_to=200, num_blocks=2, hidden_channels=8),
                  SMPConvTCN(in_chans=3, num_blocks=2, hidden_channels=8, zero_pad_to=200)):
        model = randomize_bn(model).eval()
        assert model.seq_len == 200
        with torch.no_grad():
            expected = model(x)
            single = model(x[:1, :, :1])
            deployed = timm.utils.reparameterize_model(copy.deepcopy(model))
            assert deployed.is_deployed
            assert rel_err(deployed(x), expected) < 1e-5 and rel_err(deployed(x[:1, :, :1]), single) < 1e-5
            assert rel_err(model(x[:1, :, :1]), model(torch.cat([x[:1, :, :1], torch.zeros(1, 3, 199)], -1))) == 0


def test_weights_of_the_other_reading_do_not_load(tmp_path):
    """Weights trained zero-padded and weights trained at true lengths (or padded to another N) have the same shapes
    and give other outputs: the state dict's ``zero_padded_to`` marker makes strict loading and
    ``checkpoint_filter_fn`` refuse the mix-up, naming the zero_pad_to that fits."""
    padded = padded_model()
    plain = padded_model(zero_pad_to=None)
    longer = padded_model(zero_pad_to=N + 10)
    assert int(padded.state_dict()['zero_padded_to']) == N and 'zero_padded_to' not in plain.state_dict()
    with pytest.raises(ValueError, match=f'zero-padded to {N} steps.*create it with zero_pad_to={N}'):
        checkpoint_filter_fn(padded.state_dict(), plain)
    with pytest.raises(ValueError, match='weights read series at their true lengths.*create it without zero_pad_to'):
        checkpoint_filter_fn(plain.state_dict(), padded)
    with pytest.raises(ValueError, match=f'create it with zero_pad_to={N}'):
        checkpoint_filter_fn(padded.state_dict(), longer)
    with pytest.raises(RuntimeError, match=f'weights read series zero-padded to {N} steps.*zero_pad_to={N}'):
        plain.load_state_dict(padded.state_dict())
    for strict in (True, False):  # another N: the marker is not overwritten, the load fails
        with pytest.raises(RuntimeError, match=f'zero-padded to {N} steps, this model zero-padded to {N + 10}'):
            longer.load_state_dict(padded.state_dict(), strict=strict)
    assert int(longer.zero_padded_to) == N + 10
    with pytest.raises(RuntimeError, match='at their true lengths.*without zero_pad_to'):
        padded.load_state_dict(plain.state_dict(), strict=False)
    # a bare weight file tells its reading: load_model builds the zero-padding model for it
    import safetensors.torch
    from smpconvnet.weights.sources import load_model
    path = tmp_path / 'bare.safetensors'
    safetensors.torch.save_file(padded.float().state_dict(), str(path))
    assert load_model(str(path))[0].zero_pad_to == N
    padded.double()
    fresh = padded_model()
    fresh.load_state_dict(checkpoint_filter_fn(padded.state_dict(), fresh))
    x = torch.randn(2, 2, 30, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(fresh(x), padded(x)) == 0
    # the shipped models read true lengths: asking for zero padding with their weights is refused
    with pytest.raises(ValueError, match='weights read series at their true lengths'):
        timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, zero_pad_to=29)


def test_models_saved_whole_before_zero_padding_still_run():
    """A whole-model pickle from before the option lacks the attribute: it unpickles as a model that reads true
    lengths."""
    model = padded_model(zero_pad_to=None).float()
    old = unpickled_without(model, 'zero_pad_to')
    x = torch.randn(2, 2, 30)
    with torch.no_grad():
        assert old.zero_pad_to is None and rel_err(old(x, lengths=torch.tensor([30, 9])),
                                                   model(x, lengths=torch.tensor([30, 9]))) == 0
