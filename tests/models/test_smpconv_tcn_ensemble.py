"""SMPConvTCNEnsemble: M SMP-TCNs classifying by their mean class probabilities, as one timm model.

Every output is checked against the members run one by one (what averaging separately trained seeds computes);
small networks (2 blocks x 8 channels, 40 steps). Tolerances: 1e-6 relative where the ensemble only regroups the
members' float32 arithmetic, 1e-4 for deployed (re-parameterised) forms, as for single SMP-TCNs.
"""
import copy
import re

import pytest
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from smpconvnet.models.smpconv_tcn import SMPConvTCN, SMPConvTCNEnsemble, combine_log_probs
from smpconvnet.weights.sources import identify_checkpoint
from conftest import randomize_bn, rel_err

SMALL = dict(num_blocks=2, hidden_channels=8, init_radius=0.1, coord_std=0.5, seq_len=40)


def small_ensemble(members=3, **kwargs):
    model = timm.create_model('smpconv_tcn_chartraj', num_members=members, **dict(SMALL, **kwargs))
    for i, member in enumerate(model.members):
        randomize_bn(member, seed=i)
    return model.eval()


def mean_probs(models, *args, **kwargs):
    return torch.stack([F.softmax(m(*args, **kwargs), dim=1) for m in models]).mean(0)


def test_output_is_the_members_mean_probability():
    model = small_ensemble()
    assert isinstance(model, SMPConvTCNEnsemble) and len(model.members) == 3
    x, lengths = torch.randn(4, 3, 40), torch.tensor([40, 31, 12, 1])
    with torch.no_grad():
        assert rel_err(model(x).softmax(1), mean_probs(model.members, x)) < 1e-6
        assert rel_err(model(x, lengths=lengths).softmax(1), mean_probs(model.members, x, lengths=lengths)) < 1e-6
        # [B, C, 1, L] input (timm's tools) is the same sequence
        assert rel_err(model(x.unsqueeze(2)), model(x)) < 1e-6
        # per-step predictions: classes on dim 1, each step from the members' per-step logits
        per_step = torch.stack([F.softmax(m.forward_sequence(x), dim=1) for m in model.members]).mean(0)
        assert rel_err(model.forward_sequence(x).softmax(1), per_step) < 1e-6
        # the ensemble's prediction is the members' averaged one, not a vote or a logit mean
        assert torch.equal(model(x).argmax(1), mean_probs(model.members, x).argmax(1))


def test_one_output_is_the_members_mean():
    """num_classes=1 (a regression target, or one logit): no class distribution to average (the log-softmax of one
    class is always 0), so the ensemble gives the members' mean output, per sequence and per step."""
    model = small_ensemble(num_classes=1)
    x = torch.randn(4, 3, 40)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (4, 1) and out.abs().max() > 0
        assert rel_err(out, torch.stack([m(x) for m in model.members]).mean(0)) < 1e-6
        per_step = torch.stack([m.forward_sequence(x) for m in model.members]).mean(0)
        assert rel_err(model.forward_sequence(x), per_step) < 1e-6
        # a regression head put on a classifier ensemble by reset_classifier is averaged too
        classifier = small_ensemble()
        classifier.reset_classifier(1)
        assert rel_err(classifier(x), torch.stack([m(x) for m in classifier.members]).mean(0)) < 1e-6


def test_combine_log_probs_is_log_of_mean_softmax():
    a, b = torch.randn(5, 4) * 3, torch.randn(5, 4) * 3
    expected = ((a.softmax(1) + b.softmax(1)) / 2).log()
    assert rel_err(combine_log_probs([a, b]), expected) < 1e-6
    # one member: its own probabilities
    assert rel_err(combine_log_probs([a]).softmax(1), a.softmax(1)) < 1e-6
    # 16-bit logits: combined in float32, returned in their dtype (within bfloat16's own rounding of the result)
    low = combine_log_probs([a.bfloat16(), b.bfloat16()])
    exact = combine_log_probs([a.bfloat16().float(), b.bfloat16().float()])
    assert low.dtype == torch.bfloat16 and rel_err(low, exact) < 2 ** -8


def test_members_from_separately_trained_models(tmp_path):
    """An ensemble state dict is its members' state dicts under members.<i>.: the shipped form of seeds trained one
    by one (scripts/package_seq_weights.py), loaded through timm's pretrained path."""
    singles = [randomize_bn(timm.create_model('smpconv_tcn_chartraj', **SMALL), seed=i).eval() for i in range(3)]
    state = {f'members.{i}.{k}': v for i, m in enumerate(singles) for k, v in m.state_dict().items()}
    save_file(state, str(tmp_path / 'model.safetensors'))
    model = timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=3,
                              pretrained_cfg_overlay=dict(file=str(tmp_path / 'model.safetensors')), **SMALL).eval()
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        assert rel_err(model(x).softmax(1), mean_probs(singles, x)) < 1e-6
    # the architecture, member count included, from the weights alone
    source = identify_checkpoint(state)
    assert source.model_args['num_members'] == 3 and source.model_args['hidden_channels'] == 8


def test_wrong_member_count_or_single_model_weights_are_refused(tmp_path):
    """Each error says which model fits, and creating that model loads the file."""
    model = small_ensemble(members=3)
    three = str(tmp_path / 'three.safetensors')
    save_file(model.state_dict(), three)
    with pytest.raises(ValueError, match='an ensemble of 3 SMP-TCNs, the model of 2: create it with num_members=3'):
        timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=2,
                          pretrained_cfg_overlay=dict(file=three), **SMALL)
    timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=3, pretrained_cfg_overlay=dict(file=three),
                      **SMALL)
    with pytest.raises(ValueError, match='the model a single SMP-TCN: create it with num_members=3'):
        timm.create_model('smpconv_tcn_chartraj', checkpoint_path=three, **SMALL)
    single = str(tmp_path / 'single.safetensors')
    save_file(model.members[0].state_dict(), single)
    with pytest.raises(ValueError, match=r"a single SMP-TCN .*create it with num_members=1 and the arguments it was "
                                         r"trained with: pass .*model.members\[0\]") as e:
        timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=2,
                          pretrained_cfg_overlay=dict(file=single), **SMALL)
    # every argument its shapes tell (trial 66: num_members=1 alone, then refused again for the class count): copied
    # as printed, with nothing else, it loads the file
    hint = eval('dict(' + re.search(r'pass (.*?) to timm\.create_model', str(e.value)).group(1) + ')')
    assert hint['num_members'] == 1 and hint['num_classes'] == model.members[0].num_classes
    copied = timm.create_model('smpconv_tcn_chartraj', checkpoint_path=single, **hint)
    assert all(torch.equal(v, model.members[0].state_dict()[k]) for k, v in copied.state_dict().items())
    # its other way, copied: an ensemble of the file's architecture (trial 66b: the registered one's members refused
    # a file of other widths), the file in its first member
    code = re.search(r'(model = timm\.create_model\(.*\); model\.members\[0\]\.load_state_dict\(state_dict\))',
                     str(e.value)).group(1)
    scope = dict(timm=timm, state_dict=model.members[0].state_dict())
    exec(code, scope)
    assert scope['model'].num_members == 2 and all(
        torch.equal(v, model.members[0].state_dict()[k]) for k, v in scope['model'].members[0].state_dict().items())
    one = timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=1,
                            pretrained_cfg_overlay=dict(file=single), **SMALL)  # as the hint says
    assert isinstance(one, SMPConvTCN) and all(torch.equal(v, model.members[0].state_dict()[k])
                                               for k, v in one.state_dict().items())
    gap = {k.replace('members.1.', 'members.5.'): v for k, v in model.state_dict().items()}
    save_file(gap, str(tmp_path / 'gap.safetensors'))
    with pytest.raises(ValueError, match=r'members \[0, 2, 5\]: .*numbered 0..M-1'):
        timm.create_model('smpconv_tcn_chartraj', checkpoint_path=str(tmp_path / 'gap.safetensors'), num_members=3,
                          **SMALL)
    with pytest.raises(ValueError, match='num_members must be an int of at least 1'):
        SMPConvTCNEnsemble(num_members=0)
    import numpy as np
    assert timm.create_model('smpconv_tcn_chartraj', num_members=np.int64(2), **SMALL).num_members == 2
    for bad in (2.5, '3', True, -1):
        with pytest.raises(ValueError, match=r'num_members must be an int of at least 1 .*got ' + repr(bad)):
            timm.create_model('smpconv_tcn_chartraj', num_members=bad, **SMALL)
    with pytest.raises(ValueError, match="features_only needs feature_cls='getter'"):
        timm.create_model('smpconv_tcn_chartraj', num_members=2, features_only=True, feature_cls='hook', **SMALL)
    with pytest.raises(ValueError, match="concatenated features, 24 channels, got 8"):
        model.forward_head(torch.randn(1, 8, 40))


def test_every_loading_path_and_fine_tuning(tmp_path):
    """An ensemble's weights file loads as a single TCN's does (checkpoint_path=, smpconvnet.load_model, a deployed
    file), and a new num_classes gives every member a new classifier."""
    import smpconvnet
    from smpconvnet.weights.folders import write_model_folder
    model = small_ensemble()
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        expected = model(x)
    write_model_folder(model, tmp_path / 'ens', card='', model_args=dict(SMALL, num_members=3))
    weights = str(tmp_path / 'ens' / 'model.safetensors')
    loaded = timm.create_model('smpconv_tcn_chartraj', checkpoint_path=weights, num_members=3, **SMALL).eval()
    with torch.no_grad():
        assert rel_err(loaded(x), expected) < 1e-6
        assert rel_err(smpconvnet.load_model(weights)[0].eval()(x), expected) < 1e-6
        assert rel_err(smpconvnet.load_model(str(tmp_path / "ens"))[0].eval()(x), expected) < 1e-6
    tuned = timm.create_model(f'local-dir:{tmp_path / "ens"}', pretrained=True, num_classes=5).eval()
    assert tuned.pretrained_cfg['classifier'] == tuple(f'members.{i}.head' for i in range(3))
    assert [m.head.out_features for m in tuned.members] == [5, 5, 5]
    assert torch.equal(tuned.members[2].blocks[0].conv1.smp.kernel.weights,
                       model.members[2].blocks[0].conv1.smp.kernel.weights)
    deployed = timm.utils.reparameterize_model(copy.deepcopy(model))
    save_file(deployed.state_dict(), str(tmp_path / 'deployed.safetensors'))
    again = timm.create_model('smpconv_tcn_chartraj', checkpoint_path=str(tmp_path / 'deployed.safetensors'),
                              num_members=3, **SMALL).eval()
    with torch.no_grad():
        assert again.is_deployed and rel_err(again(x).softmax(1), expected.softmax(1)) < 1e-4


def test_features_head_and_intermediates():
    model = small_ensemble()
    x, lengths = torch.randn(2, 3, 40), torch.tensor([40, 25])
    with torch.no_grad():
        feats = model.forward_features(x, lengths=lengths)
        assert feats.shape == (2, 24, 40) and model.num_features == model.head_hidden_size == 24
        expected = torch.cat([m.forward_features(x, lengths=lengths) for m in model.members], dim=1)
        assert rel_err(feats, expected) < 1e-6
        pre = model.forward_head(feats, pre_logits=True, lengths=lengths)
        assert rel_err(pre, torch.cat([m.forward_head(m.forward_features(x, lengths=lengths), pre_logits=True,
                                                      lengths=lengths) for m in model.members], dim=1)) < 1e-6
        assert rel_err(model.forward_head(feats, lengths=lengths), model(x, lengths=lengths)) < 1e-6
        final, inter = model.forward_intermediates(x, indices=[0, 1])
        assert [t.shape for t in inter] == [(2, 24, 40)] * 2 and rel_err(final, model.forward_features(x)) < 1e-6
        member_inter = [m.forward_intermediates(x, indices=[0])[1][0] for m in model.members]
        assert rel_err(inter[0], torch.cat(member_inter, dim=1)) < 1e-6
        assert [f['num_chs'] for f in model.feature_info] == [24, 24]
        model.reset_classifier(0)
        assert rel_err(model(x, lengths=lengths), pre) < 1e-6
        model.reset_classifier(5, global_pool='')
        assert model(x).shape == (2, 5, 40) and model.global_pool == ''


def test_assigning_global_pool_reaches_the_members():
    """`ensemble.global_pool = 'avg'` changed the attribute the ensemble reported and nothing the members read: the
    outputs stayed those of their own pooling. As on a single SMPConvTCN, the assignment now changes the pooling."""
    model = small_ensemble(global_pool='max')
    x, lengths = torch.randn(2, 3, 40), torch.tensor([40, 25])
    with torch.no_grad():
        by_max = model(x, lengths=lengths)
        model.global_pool = 'avg'
        assert [m.global_pool for m in model.members] == ['avg'] * 3 and model.global_pool == 'avg'
        by_avg = model(x, lengths=lengths)
        assert rel_err(by_avg.softmax(1), mean_probs(model.members, x, lengths=lengths)) < 1e-6
        assert rel_err(by_avg, by_max) > 1e-3
        model.set_global_pool('max')
        assert rel_err(model(x, lengths=lengths), by_max) < 1e-6 and model.global_pool == 'max'
    # an unknown value is refused, as set_global_pool refuses it (a single model pooled it as 'avgmax', silently)
    with pytest.raises(ValueError, match="global_pool must be 'last', 'avg', 'max', 'avgmax' or ''"):
        model.global_pool = 'mean'
    single = model.members[0]
    single.global_pool = 'mean'
    with pytest.raises(ValueError, match="got 'mean'"):
        single(x)
    # one member's own pooling: the ensemble mixed poolings under its first member's name ('avg' against 'max'), or
    # failed in torch.stack ('' against pooled members); refused, with the call that sets them all
    for pool in ('avg', ''):
        single.global_pool = pool
        message = (rf"members\[1\]\.global_pool is 'max', members\[0\]'s '{pool}': the members pool as one model; set "
                   r"the ensemble's \(model\.set_global_pool\(\.\.\.\)\)")
        with pytest.raises(ValueError, match=message):
            model(x, lengths=lengths)
        with pytest.raises(ValueError, match=message):
            model.forward_head(model.forward_features(x, lengths=lengths), lengths=lengths)
    model.set_global_pool('max')
    with torch.no_grad():
        assert rel_err(model(x, lengths=lengths), by_max) < 1e-6


def test_reparameterize_matches_training_form(tmp_path):
    model = small_ensemble()
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        expected = model(x)
        deployed = timm.utils.reparameterize_model(copy.deepcopy(model))
        assert deployed.is_deployed and not model.is_deployed
        assert rel_err(deployed(x).softmax(1), expected.softmax(1)) < 1e-4
        # a deployed state dict loads into a training-form ensemble, which re-parameterises itself to fit
        save_file(deployed.state_dict(), str(tmp_path / 'deployed.safetensors'))
        loaded = timm.create_model('smpconv_tcn_chartraj', pretrained=True, num_members=3,
                                   pretrained_cfg_overlay=dict(file=str(tmp_path / 'deployed.safetensors')),
                                   **SMALL).eval()
        assert loaded.is_deployed and rel_err(loaded(x).softmax(1), expected.softmax(1)) < 1e-4


def test_torchscript_and_training_step():
    model = small_ensemble()
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        scripted = torch.jit.script(model)
        assert rel_err(scripted(x), model(x)) < 1e-6
        # the pooling of a scripted ensemble is its members' as scripted: assigning it is refused (it was set as a
        # Python attribute no member read, the outputs unchanged); set before scripting, it is what they read
        assert scripted.global_pool == model.global_pool == 'last'
        with pytest.raises(RuntimeError, match="constant 'global_pool'"):
            scripted.global_pool = 'avg'
        model.global_pool = 'avg'
        assert rel_err(scripted(x), model(x)) > 1e-3
        assert rel_err(torch.jit.script(model)(x), model(x)) < 1e-6
    # cross-entropy on the ensemble's logits trains every member (the mixture's likelihood)
    model.train()
    F.cross_entropy(model(x), torch.tensor([0, 1])).backward()
    assert all(m.head.weight.grad is not None and m.head.weight.grad.abs().sum() > 0 for m in model.members)
    assert set(model.no_weight_decay()) == {f'members.{i}.{n}' for i, m in enumerate(model.members)
                                            for n in m.no_weight_decay()}
    assert all(isinstance(m, SMPConvTCN) for m in model.members)


def test_write_ensemble_folder_from_runs(tmp_path):
    """Model folders of one architecture (train-seq runs of several seeds) become one loadable ensemble folder;
    folders that do not fit together are refused by name."""
    from smpconvnet.weights.folders import write_ensemble_folder, write_model_folder
    singles = [randomize_bn(timm.create_model('smpconv_tcn_chartraj', **SMALL), seed=i).eval() for i in range(2)]
    args = dict(SMALL, in_chans=3, num_classes=20)
    for i, m in enumerate(singles):
        write_model_folder(m, tmp_path / f'run{i}', card='', model_args=args)
    dst = write_ensemble_folder([tmp_path / 'run0', tmp_path / 'run1'], tmp_path / 'ens')
    model = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()
    assert list(model.pretrained_cfg['first_conv']) == ['members.0.blocks.0.conv1.small', 'members.1.blocks.0.conv1.small']
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        assert isinstance(model, SMPConvTCNEnsemble) and rel_err(model(x).softmax(1), mean_probs(singles, x)) < 1e-6
    with pytest.raises(FileExistsError):
        write_ensemble_folder([tmp_path / 'run0'], dst)
    # a member run of a registered ensemble records num_members=1, a folder written before none: the same model (trial
    # 30: a shipped single model could not join new seeds' runs)
    write_model_folder(singles[1], tmp_path / 'member1', card='', model_args=dict(args, num_members=1))
    mixed = write_ensemble_folder([tmp_path / 'run0', tmp_path / 'member1'], tmp_path / 'mixed')
    with torch.no_grad():
        assert torch.equal(timm.create_model(f'local-dir:{mixed}', pretrained=True).eval()(x), model(x))
    other = timm.create_model('smpconv_tcn_chartraj', **dict(SMALL, hidden_channels=4))
    write_model_folder(other, tmp_path / 'other', card='', model_args=dict(args, hidden_channels=4))
    with pytest.raises(ValueError, match='other differs from .*run0 in model_args'):
        write_ensemble_folder([tmp_path / 'run0', tmp_path / 'other'], tmp_path / 'bad')
    with pytest.raises(ValueError, match='already holds an ensemble'):
        write_ensemble_folder([tmp_path / 'run0', dst], tmp_path / 'bad')
    with pytest.raises(ValueError, match='a folder is given twice'):
        write_ensemble_folder([tmp_path / 'run0', tmp_path / 'run0'], tmp_path / 'bad')
    with pytest.raises(ValueError, match='no model.safetensors'):
        write_ensemble_folder([tmp_path], tmp_path / 'bad')
    with pytest.raises(TypeError, match='a list of member folders, got the single path'):
        write_ensemble_folder(str(tmp_path / 'run0'), tmp_path / 'bad')
    assert not (tmp_path / 'bad').exists()


@pytest.mark.parametrize('name', ['smpconv_tcn_japanesevowels.aeon', 'smpconv_tcn_pickupgesturewiimotez.aeon'])
def test_a_new_classifier_drops_the_weights_label_names(name):
    """``label_names`` name the weights' classes: a model created with another ``num_classes``, or given another
    classifier by ``reset_classifier``, has none in its pretrained_cfg (an argmax mapped through them would name a
    wrong class silently); the same number of classes keeps them; the rest of the cfg still describes the weights."""
    model = timm.create_model(name, pretrained=True)
    labels = tuple(model.pretrained_cfg['label_names'])
    assert len(labels) == model.num_classes
    model.reset_classifier(model.num_classes)
    assert tuple(model.pretrained_cfg['label_names']) == labels
    model.reset_classifier(0)  # no classifier, no argmax to map: the weights' labels stay, as for features_only
    assert tuple(model.pretrained_cfg['label_names']) == labels
    assert tuple(timm.create_model(name, pretrained=True, features_only=True).pretrained_cfg['label_names']) == labels
    model.reset_classifier(3)
    assert 'label_names' not in model.pretrained_cfg and model.default_cfg is model.pretrained_cfg
    other = timm.create_model(name, pretrained=True, num_classes=len(labels) + 1)
    assert 'label_names' not in other.pretrained_cfg and other.pretrained_cfg['num_classes'] == len(labels)
    assert 'label_names' in timm.create_model(name, pretrained=True).pretrained_cfg  # a fresh cfg each time


def test_one_member_of_a_registered_ensemble_is_the_smp_tcn_itself(tmp_path):
    """``num_members=1`` builds one SMP-TCN of a registered ensemble's architecture (its card's member commands):
    it built an ensemble of one, whose runs write_ensemble_folder refused ("already holds an ensemble")."""
    from smpconvnet.weights.folders import write_ensemble_folder, write_model_folder
    kwargs = dict(num_blocks=1, hidden_channels=4, num_members=1)
    singles = [randomize_bn(timm.create_model('smpconv_tcn_pickupgesturewiimotez', **kwargs), seed=i).eval()
               for i in range(2)]
    assert all(type(m) is SMPConvTCN and m.pretrained_cfg['classifier'] == 'head' for m in singles)
    for i, m in enumerate(singles):
        write_model_folder(m, tmp_path / f'run{i}', card='', model_args=dict(kwargs, in_chans=1, num_classes=10))
    dst = write_ensemble_folder([tmp_path / 'run0', tmp_path / 'run1'], tmp_path / 'e')
    model = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()
    x = torch.randn(2, 1, 50)
    with torch.no_grad():
        assert model.num_members == 2 and rel_err(model(x).softmax(1), mean_probs(singles, x)) < 1e-6


def test_a_single_models_folder_of_a_variant_registered_as_an_ensemble_since_loads_as_one(tmp_path, monkeypatch):
    """A folder written while a variant was one SMP-TCN records no num_members; once the variant is registered as an
    ensemble (ACSF1's), it was built as one and refused ("an ensemble of 5", with a hint that looped): it loads as
    the one model its file holds, through timm's local-dir: and load_model. Weights with members still build the
    ensemble, and an explicit num_members is the caller's."""
    import json
    from smpconvnet import load_model
    from smpconvnet.models import seq_zoo
    entry = seq_zoo.SEQ_ZOO['smpconv_tcn_acsf1']
    monkeypatch.setitem(entry, 'arch', dict(entry['arch'], num_members=3))
    small = dict(num_blocks=1, hidden_channels=4, n_points=3)
    single = randomize_bn(timm.create_model('smpconv_tcn_acsf1', num_members=1, **small)).eval()
    folder = tmp_path / 'old'
    folder.mkdir()
    save_file(single.state_dict(), str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text(json.dumps(dict(architecture='smpconv_tcn_acsf1', num_classes=10,
                                                        model_args=small, pretrained_cfg=dict(num_classes=10))))
    x = torch.randn(2, 1, 300)
    with torch.no_grad():
        for loaded in (timm.create_model(f'local-dir:{folder}', pretrained=True),
                       load_model(str(folder))[0]):
            assert isinstance(loaded, SMPConvTCN)
            assert torch.equal(loaded.eval()(x), single(x))
        with pytest.raises(ValueError, match='a single SMP-TCN .*create it with num_members=1'):
            timm.create_model(f'local-dir:{folder}', pretrained=True, num_members=3)
        # the folder's weights file alone is not built as one model of the variant's architecture: refused, its
        # hint (trial 48: with num_members=1, as its keys hold one model) loading it as the folder records it
        with pytest.raises(ValueError, match="trained with num_members=1 .*names no num_members: one model's") as e:
            timm.create_model('smpconv_tcn_acsf1', pretrained=True, **small,
                              pretrained_cfg_overlay=dict(file=str(folder / 'model.safetensors')))
        hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
        copied = eval(f'timm.create_model("smpconv_tcn_acsf1", pretrained=True, **small, pretrained_cfg_overlay='
                      f'dict(file={str(folder / "model.safetensors")!r}), {hint})', {'timm': timm, 'small': small})
        assert torch.equal(copied.eval()(x), single(x))
        # a bare file (no recorded arguments) is not built as one model of the variant's architecture: its kernel
        # length may differ with the same shapes (trial 27: 33-tap weights in the 65-tap variant scored 0.02)
        save_file(single.state_dict(), str(tmp_path / 'bare.safetensors'))
        with pytest.raises(ValueError, match='a single SMP-TCN .*create it with num_members=1'):
            timm.create_model('smpconv_tcn_acsf1', pretrained=True, **small,
                              pretrained_cfg_overlay=dict(file=str(tmp_path / 'bare.safetensors')))
    # a folder with pytorch_model.bin instead (timm's local-dir: loads it where model.safetensors is missing): it was
    # refused with the hint, its keys not read at build
    bin_folder = tmp_path / 'old_bin'
    bin_folder.mkdir()
    torch.save(single.state_dict(), str(bin_folder / 'pytorch_model.bin'))
    (bin_folder / 'config.json').write_text((folder / 'config.json').read_text())
    with torch.no_grad():
        for loaded in (timm.create_model(f'local-dir:{bin_folder}', pretrained=True), load_model(str(bin_folder))[0]):
            assert isinstance(loaded, SMPConvTCN)
            assert torch.equal(loaded.eval()(x), single(x))
    members = timm.create_model('smpconv_tcn_acsf1', **small)
    assert isinstance(members, SMPConvTCNEnsemble) and members.num_members == 3
    save_file(members.state_dict(), str(folder / 'model.safetensors'))
    assert isinstance(timm.create_model(f'local-dir:{folder}', pretrained=True), SMPConvTCNEnsemble)
    torch.save(members.state_dict(), str(bin_folder / 'pytorch_model.bin'))
    assert isinstance(timm.create_model(f'local-dir:{bin_folder}', pretrained=True), SMPConvTCNEnsemble)


@pytest.mark.parametrize('case', ['fixed', 'centred', 'ensemble'])
def test_a_deployed_size_hint_loads_the_deployed_weights(case):
    """Trial 50: a deployed SMP-TCN's size hint gave the model's own kernel_length (kernel_length=32 for static
    kernels of 16 taps: the copy was refused again), left out the member count of a deployed ensemble, and called the
    79 taps of a centred model deployed for 40 steps 'kernels as long as an input of that length'. The hint gives the
    static kernels' taps, the member count and the deployment length; copied, it loads the deployed weights exactly."""
    from smpconvnet.models.smpconv_tcn import checkpoint_filter_fn
    small = dict(num_blocks=2, hidden_channels=8, n_points=6, global_pool='max')
    if case == 'fixed':
        trained = timm.create_model('smpconv_tcn_gunpoint', kernel_length=16, **small).eval().reparameterize(40)
        other = dict(kernel_length=32, global_pool='max')
    elif case == 'centred':
        trained = timm.create_model('smpconv_tcn_gunpoint', kernel_length=None, causal=False,
                                    **small).eval().reparameterize(40)
        other = dict(causal=False, global_pool='max')
    else:
        trained = timm.create_model('smpconv_tcn_gunpoint', num_members=3, kernel_length=16,
                                    **small).eval().reparameterize(40)
        other = dict(num_members=3, kernel_length=32, global_pool='max')
    state = trained.state_dict()
    with pytest.raises(ValueError, match='deployed from: pass ') as e:
        checkpoint_filter_fn(state, timm.create_model('smpconv_tcn_gunpoint', hidden_channels=12, **other))
    message = ' '.join(str(e.value).split())
    if case == 'centred':
        assert 'its static kernels have 79 taps: kernel_length=79, or kernels as long as an input of 40 steps' in message
    args = re.search(r'pass (.+) to timm\.create_model', message).group(1)
    assert ('num_members=3' in args) == (case == 'ensemble') and ('kernel_length=16' in args) == (case != 'centred')
    fitting = eval(f"timm.create_model('smpconv_tcn_gunpoint', {args})", {'timm': timm}).eval()
    fitting.load_state_dict(checkpoint_filter_fn(state, fitting))
    x = torch.randn(2, 1, 40)
    with torch.no_grad():
        assert torch.equal(fitting(x), trained(x))


@pytest.mark.parametrize('case', ['members_into_one', 'members_into_other_count', 'centred_into_causal'])
def test_a_member_count_or_causality_refusal_names_every_argument(tmp_path, case):
    """Trial 51: an ensemble's weights into one model or another member count, and centred weights into a causal
    model, were refused naming num_members or causal alone; copied, the next refusal named the sizes. The refusal's
    hint names every argument the shapes tell (and the model's kernel length and pooling), and copied it loads them."""
    small = dict(num_blocks=2, hidden_channels=8, n_points=6, num_classes=3)
    if case == 'centred_into_causal':
        trained, other = timm.create_model('smpconv_tcn_gunpoint', causal=False, **small), dict(hidden_channels=12)
    else:
        trained = timm.create_model('smpconv_tcn_gunpoint', num_members=3, **small)
        other = dict(num_members=2) if case == 'members_into_other_count' else {}
    trained.eval()
    file = tmp_path / 'weights.safetensors'
    save_file(trained.state_dict(), str(file))
    how = dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))
    with pytest.raises(ValueError, match='num_members=3' if 'members' in case else 'causal=False') as e:
        timm.create_model('smpconv_tcn_gunpoint', **how, **other)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("smpconv_tcn_gunpoint", **how, {hint})', {'timm': timm, 'how': how}).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(copied(x), trained(x))


def test_a_centred_hint_never_offers_an_even_kernel_length(tmp_path):
    """Trial 52: a centred 3-member ensemble into OSULeaf's variant (32 taps) got a hint with causal=False and the
    model's kernel_length=32, which no centred model can be built with: the model's length made odd, which here is the
    trained one, and the copy loads the weights exactly."""
    trained = timm.create_model('smpconv_tcn_gunpoint', num_members=3, causal=False, kernel_length=33, num_blocks=2,
                                hidden_channels=8, n_points=6).eval()
    file = tmp_path / 'centred.safetensors'
    save_file(trained.state_dict(), str(file))
    how = dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))
    with pytest.raises(ValueError, match='num_members=3') as e:
        timm.create_model('smpconv_tcn_osuleaf', **how)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    assert 'kernel_length=33' in hint and 'causal=False' in hint
    copied = eval(f'timm.create_model("smpconv_tcn_osuleaf", **how, {hint})', {'timm': timm, 'how': how}).eval()
    x = torch.randn(2, 1, 100)
    with torch.no_grad():
        assert torch.equal(copied(x), trained(x))


def test_a_commands_hint_for_a_single_model_file_of_a_shipped_ensemble_works_as_printed(tmp_path, capsys):
    """Trial 66b: `info smpconv_tcn_osuleaf --model-kwargs checkpoint_path=W` refused W (one SMP-TCN) with the
    arguments that build it; given them, --pretrained auto loaded the shipped 5-member weights into the one-member
    model first and refused those, asking for num_members=5. With checkpoint_path the file is the weights: nothing is
    loaded before it, and the printed command works."""
    import shlex
    from smpconvnet.cli import main
    single = timm.create_model('smpconv_tcn_osuleaf', num_members=1, num_blocks=2, hidden_channels=8).eval()
    path = str(tmp_path / 'single.safetensors')
    save_file(single.state_dict(), path)
    with pytest.raises(ValueError, match='a single SMP-TCN') as e:
        timm.create_model('smpconv_tcn_osuleaf', checkpoint_path=path)
    words = shlex.split(re.search(r'a command: --model-kwargs ([^;)]*)', str(e.value)).group(1))
    assert 'num_members=1' in words
    assert main(['info', 'smpconv_tcn_osuleaf', '--model-kwargs', f'checkpoint_path={path}', *words]) == 0
    assert f'weights from {path} (checkpoint_path=' in capsys.readouterr().out
