"""The checkpoints and folders users have, read by every command that takes a model (``load_model``):

* checkpoints of timm's ``train.py`` (``CheckpointSaver``: the model named in ``args``, EMA weights first,
  ``--channels-last`` tensors), for every model family; ones that name no model (``arch`` key, shapes only);
* ``OUTPUT/checkpoint.pth`` of ``smpconvnet train-seq`` (this version's and earlier ones, without a recorded
  config), through ``load_model``, ``evaluate-seq``, ``info`` and ``reparam``;
* deployed folders of ``smpconvnet reparam``, through timm's own ``local-dir:`` loading (hence ``hf-hub:``),
  ``load_model`` and ``evaluate-seq``, including folders written before ``seq_len`` was recorded.
"""
import argparse
import copy
import json
import re
import shlex
import shutil
import warnings

import pytest
import timm
import torch
from timm.utils import CheckpointSaver, ModelEmaV3

import smpconvnet.models.smpconv_resnet
import smpconvnet.models.smpconv_tcn
import smpconvnet.models.smpconvnet
from conftest import randomize_bn, rel_err
from smpconvnet.train import seq_trainer as train_seq
from smpconvnet.cli import main as cli_main
from smpconvnet.weights.sources import identify_checkpoint, load_model, load_model_with_config, read_checkpoint
from smpconvnet.weights.folders import write_model_folder
from smpconvnet.weights.deploy import deploy, reparameterize_to_folder

# one small member of every family: (architecture, the model arguments train.py is asked for, input shape)
FAMILIES = {
    'smpconvnet': ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128)), (3, 64, 64)),
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=2, hidden_channels=8, n_points=6), (2, 50)),
    'resnet': ('smpconv_resnet_cifar10', dict(stem_channels=4, block_channels=(4, 6), n_points=5), (1, 16, 16)),
}
NUM_CLASSES = {'smpconvnet': 3, 'tcn': 5, 'resnet': 3}


def _is_deployed(model):
    return not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _input(shape, batch=2, seed=3):
    return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(seed))


def _train_py_args(**overrides):
    """The ``args`` namespace timm's train.py gives CheckpointSaver (the fields that matter, train.py's defaults)."""
    args = dict(model='smpconvnet_t', pretrained=False, initial_checkpoint='', num_classes=None, in_chans=None,
                input_size=None, img_size=None, gp=None, model_kwargs={}, channels_last=False, drop=0.0,
                drop_path=None, model_ema=True, model_ema_decay=0.9998, epochs=300, lr=None, opt='adamw',
                device='cpu', distributed=False, world_size=1, rank=0)
    args.update(overrides)
    return argparse.Namespace(**args)


def _save_train_py_checkpoint(tmp_path, model, args, ema=True):
    """What train.py writes: CheckpointSaver(model, optimizer, args, model_ema).save_checkpoint(epoch, metric);
    returns (path of last.pth.tar, the EMA model or None)."""
    model_ema = None
    if ema:
        model_ema = ModelEmaV3(model)
        randomize_bn(model_ema.module, seed=7)  # EMA weights that differ from the model's: which one loads is seen
        with torch.no_grad():
            for p in model_ema.module.parameters():
                p.add_(0.01)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    out = tmp_path / 'output'
    out.mkdir()
    saver = CheckpointSaver(model, optimizer, args=args, model_ema=model_ema, checkpoint_dir=str(out),
                            recovery_dir=str(out), max_history=2)
    saver.save_checkpoint(epoch=4, metric=0.5)
    return out / 'last.pth.tar', (model_ema.module if ema else None)


def _family_model(family, channels_last=False, **extra):
    arch, kwargs, shape = FAMILIES[family]
    in_chans = shape[0]
    model = timm.create_model(arch, in_chans=in_chans, num_classes=NUM_CLASSES[family], **kwargs, **extra)
    randomize_bn(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


# ---------------------------------------------------------------------------------------------------------
# timm's train.py checkpoints

@pytest.mark.parametrize('family,channels_last', [
    ('smpconvnet', False), ('smpconvnet', True), ('tcn', False), ('resnet', False), ('resnet', True)])
def test_train_py_checkpoint_loads_with_its_ema_weights(tmp_path, family, channels_last):
    """A CheckpointSaver checkpoint of every family (non-default architecture in args.model_kwargs, classes and
    input channels in args) loads through load_model with the EMA weights, as timm's own loader prefers them."""
    arch, kwargs, shape = FAMILIES[family]
    model = _family_model(family, channels_last)
    # in_chans as train.py receives it: --in-chans for the TCN, --input-size C H W for the ResNet, default (3) else
    io = dict(in_chans=2) if family == 'tcn' else dict(input_size=(1, 16, 16)) if family == 'resnet' else {}
    args = _train_py_args(model=arch, num_classes=NUM_CLASSES[family], model_kwargs=dict(kwargs),
                          channels_last=channels_last, **io)
    path, ema = _save_train_py_checkpoint(tmp_path, model, args)
    checkpoint = read_checkpoint(path)
    assert checkpoint['arch'] == arch and isinstance(checkpoint['args'], argparse.Namespace)
    if channels_last:  # the case really is covered: 4-D tensors stored in channels_last memory format
        sd = checkpoint['state_dict_ema']
        w = next(v for v in sd.values() if v.dim() == 4 and v.shape[1] > 1 and v.shape[-1] > 1)
        assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()

    loaded, source = load_model(str(path))
    assert 'train.py' in source and 'EMA' in source and str(path) in source
    ref_sd, sd = ema.state_dict(), loaded.state_dict()
    assert ref_sd.keys() == sd.keys()
    assert all(torch.equal(ref_sd[k], sd[k]) for k in ref_sd)
    x = _input(shape)
    with torch.inference_mode():
        assert rel_err(loaded.eval()(x), ema.eval()(x)) <= 1e-5


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_features_only_from_a_checkpoint_file(tmp_path, family):
    """``load_model(file, features_only=True)`` of a train.py checkpoint (EMA weights), and of an SMP-TCN's bare
    safetensors state dict, gives timm's feature wrapper holding those weights: its features equal the whole model's
    ``forward_intermediates`` (the wrapper's keys are not the file's: it is loaded as the wrapped model's weights)."""
    from safetensors.torch import save_file
    arch, kwargs, shape = FAMILIES[family]
    io = dict(in_chans=shape[0]) if family != 'smpconvnet' else {}
    path, _ = _save_train_py_checkpoint(tmp_path, _family_model(family), _train_py_args(
        model=arch, num_classes=NUM_CLASSES[family], model_kwargs=dict(kwargs), **io))
    specs = [(path, {})]
    if family == 'tcn':  # (a bare state dict of the image families names no kernel sizes: refused elsewhere)
        specs.append((tmp_path / 'bare.safetensors', dict(kwargs, num_classes=NUM_CLASSES[family], **io)))
        save_file({k: v.contiguous() for k, v in _family_model(family).state_dict().items()}, str(specs[-1][0]))
    x = _input(shape)
    for spec, extra in specs:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # a bare file's assumed arguments (tested elsewhere)
            whole, _ = load_model(str(spec), **extra)
            features, source = load_model(str(spec), features_only=True, **extra)
        assert str(spec) in source and hasattr(features, 'feature_info')
        with torch.no_grad():
            got = features.eval()(x)
            expected = whole.eval().forward_intermediates(x, intermediates_only=True)
        assert len(got) == len(expected) and all(torch.equal(g, e) for g, e in zip(got, expected)), spec

@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_commands_take_train_py_checkpoints(tmp_path, family, capsys):
    """reparam, info and export (all through load_model) read a train.py checkpoint; the deployed folder equals
    the EMA model and loads back through timm."""
    arch, kwargs, shape = FAMILIES[family]
    model = _family_model(family)
    # the image size and crop train.py trained and validated with (--img-size 64 --crop-pct 1.0)
    io = dict(in_chans=shape[0]) if family != 'smpconvnet' else dict(img_size=shape[-1], crop_pct=1.0)
    path, ema = _save_train_py_checkpoint(
        tmp_path, model, _train_py_args(model=arch, num_classes=NUM_CLASSES[family], model_kwargs=dict(kwargs), **io))
    size = ','.join(str(s) for s in shape)
    dst = tmp_path / 'deployed'
    assert cli_main(['reparam', str(path), str(dst), '--input-size', size]) == 0
    assert 'classifier is new' not in capsys.readouterr().err
    assert cli_main(['info', str(path), '--input-size', size]) == 0
    # the trained model, not the registered weights: info headed it smpconvnet_t.in1k with their Hub repo
    assert '.in1k' not in capsys.readouterr().out
    assert cli_main(['export', str(path), '--format', 'torchscript', '-o', str(tmp_path / 'm.pt'),
                     '--input-size', size]) == 0
    capsys.readouterr()
    # its folder said "classifier new, initialised at random (3 classes; the weights' had 1000)" of the trained head
    # (evaluate-seq then refused a deployed TCN), and kept 224 px / crop 0.875 for a model trained at 64 px / 1.0
    config = json.loads((dst / 'config.json').read_text())
    cfg = config['pretrained_cfg']
    assert 'new_classifier' not in config and 'random' not in cfg.get('description', '')
    assert cfg['num_classes'] == NUM_CLASSES[family] and 'tag' not in cfg and 'hf_hub_id' not in cfg
    if family == 'smpconvnet':
        assert cfg['input_size'] == [3, 64, 64] and cfg['crop_pct'] == 1.0
    deployed = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()
    if family == 'smpconvnet':
        data = timm.data.resolve_data_config({}, model=deployed)
        assert data['input_size'] == (3, 64, 64) and data['crop_pct'] == 1.0
        # the final feature map's size at 64 px (it said the base's 7 x 7 of 224 px)
        with torch.inference_mode():
            assert tuple(cfg['pool_size']) == tuple(deployed.forward_features(torch.randn(1, 3, 64, 64)).shape[-2:])
    assert _is_deployed(deployed)
    x = _input(shape)
    with torch.inference_mode():
        assert rel_err(deployed(x), ema.eval()(x)) <= 1e-4  # deployed vs training form


def test_checkpoints_that_name_no_model_or_only_an_arch(tmp_path):
    """CheckpointSaver without args writes the class name as 'arch' (not a registered model): the shapes tell the
    model, for every family. A registered 'arch' with this package's layout (no kernel grids, which failed with
    "cannot tell the SMP kernel sizes") takes that architecture's kernel sizes."""
    for family, (arch, kwargs, shape) in FAMILIES.items():
        model = _family_model(family).eval()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        out = tmp_path / family
        out.mkdir()
        CheckpointSaver(model, opt, checkpoint_dir=str(out), recovery_dir=str(out)).save_checkpoint(epoch=0)
        checkpoint = read_checkpoint(out / 'last.pth.tar')
        assert checkpoint['arch'] == type(model).__name__.lower() and not timm.is_model(checkpoint['arch'])
        loaded, _ = load_model(str(out / 'last.pth.tar'))
        x = _input(shape)
        with torch.inference_mode():
            assert rel_err(loaded.eval()(x), model(x)) <= 1e-5, family

    model = _family_model('smpconvnet').eval()
    path = tmp_path / 'arch.pth'
    torch.save({'arch': 'smpconvnet_t', 'epoch': 1, 'state_dict': model.state_dict()}, path)
    source = identify_checkpoint(read_checkpoint(path))
    assert source.architecture == 'smpconvnet_t'
    assert source.model_args == dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], num_classes=3)
    loaded, _ = load_model(str(path))
    x = _input((3, 64, 64))
    with torch.inference_mode():
        assert rel_err(loaded.eval()(x), model(x)) <= 1e-5


@pytest.mark.parametrize('members', [0, 2])
def test_bare_centred_weights_load_as_a_centred_model(tmp_path, members):
    """A bare state dict of a centred SMP-TCN (single or ensemble) has the shapes of a causal one: its ``centred``
    marker tells ``load_model`` (and so every command) to build ``causal=False``; the outputs are the saved model's
    (a bare file does not tell the pooling or kernel length: these are the family default's, as here)."""
    from safetensors.torch import save_file
    extra = dict(num_members=members) if members else {}
    model = randomize_bn(timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8, causal=False,
                                           num_classes=2, **extra)).eval()
    path = tmp_path / 'model.safetensors'
    save_file(model.state_dict(), str(path))
    loaded, _ = load_model(str(path))
    assert not loaded.causal
    x = torch.randn(2, 1, 150)
    with torch.inference_mode():
        assert rel_err(loaded.eval()(x), model(x)) <= 1e-6


def test_bare_weights_of_a_model_built_otherwise_warn_with_a_command_that_loads_them(tmp_path, capsys):
    """A bare state dict names no model, and pooling and kernel length change no tensor shape: one OSULeaf model's
    weights (mean pooling, 32-tap kernels; a member of the shipped ensemble) load into the family default (last step,
    whole-series kernels) with other outputs. ``load_model`` warns, names the registered model whose shapes they fit,
    and its command, copied literally, gives the saved model's outputs (one model's weights into a variant registered
    as an ensemble: with num_members=1, which the hint had left out when the variant became one); passing the
    arguments gives them too, without a warning."""
    import warnings
    from safetensors.torch import save_file
    shipped = timm.create_model('smpconv_tcn_osuleaf.aeon', pretrained=True).eval()
    model = shipped.members[0]
    path = tmp_path / 'osuleaf.safetensors'
    save_file(model.state_dict(), str(path))
    x = torch.randn(2, 1, 427, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match='global_pool and kernel_length cannot be read') as record:
        assumed, _ = load_model(str(path))
    with torch.inference_mode():
        assert rel_err(assumed.eval()(x), model(x)) > 0.1  # what the warning is for
    message = str(record[0].message)
    assert "smpconv_tcn_osuleaf (global_pool='avg', kernel_length=32)" in message
    command = re.search(r"(timm\.create_model\('smpconv_tcn_osuleaf'.*?\)\))", message).group(1)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        copied = eval(command, {'timm': timm}).eval()
    # the arguments passed: the outputs, but still the assumed model's data config, which a second warning names
    # (following the first's advice silenced every reminder), with overlays that give the data's own
    with pytest.warns(UserWarning, match='names no model: built with global_pool=.avg., kernel_length=32, it has the '
                                         r'input length and normalisation \(no labels\) of smpconv_tcn_smnist '
                                         r'\(input_size=\(1, 1, 784\)') as record:
        passed, described = load_model(str(path), global_pool='avg', kernel_length=32)
    with torch.inference_mode():
        # passed builds the family's automatic conv path; the OSULeaf variant runs the FFT path it was trained with
        # (use_fft=True), the same convolution: rounding only
        assert rel_err(copied(x), model(x)) == 0 and rel_err(passed.eval()(x), model(x)) <= 1e-6
    reminder = str(record[0].message)
    assert eval(re.search(r"(timm\.create_model\('smpconv_tcn_osuleaf'.*?\)\))", reminder).group(1),
                {'timm': timm}).pretrained_cfg['input_size'] == (1, 1, 427)
    overlay = shlex.split(reminder.split('(as assumed here: ')[1][:-1])
    assert overlay[0] == '--model-kwargs' and overlay[1].startswith('pretrained_cfg_overlay={"input_size": [1, 1, 784]')
    own = dict(json.loads(overlay[1].split('=', 1)[1]), input_size=(1, 1, 427), mean=shipped.pretrained_cfg['mean'],
               std=shipped.pretrained_cfg['std'])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        told, _ = load_model(str(path), global_pool='avg', kernel_length=32, pretrained_cfg_overlay=own)
    assert {k: told.pretrained_cfg[k] for k in own} == {k: shipped.pretrained_cfg[k] for k in own}
    # the description names the model that was built: the arguments passed too (it named the file's shapes only)
    assert described.endswith(f", built with {{'global_pool': 'avg', 'kernel_length': 32}} from {path}")
    # the cfg that says what the file is, under timm's alias too (timm's ONNX export reads default_cfg)
    assert passed.default_cfg is passed.pretrained_cfg and 'names no model' in passed.default_cfg['description']
    # on the command line: the registered name in place of the file, with the file as its weights (its input
    # length, normalisation and labels are the registered model's), copied literally, deploys and evaluates it
    # exactly, as evaluate-seq's error on the bare file says too
    hint = re.search(r'on the command line, give smpconv_tcn_osuleaf in place of the file and add (--model-kwargs .*?)'
                     r'\. Otherwise', message).group(1)
    options = shlex.split(hint)
    assert options == ['--model-kwargs', 'pretrained_cfg_overlay=' + json.dumps({'file': str(path)}), 'num_members=1']
    assert 'num_members=1, pretrained_cfg_overlay' in command
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert cli_main(['reparam', 'smpconv_tcn_osuleaf', str(tmp_path / 'deployed'), *options]) == 0
        deployed, _ = load_model(str(tmp_path / 'deployed'))
        with torch.inference_mode():
            assert rel_err(deployed.eval()(x), model(x)) < 1e-5
        capsys.readouterr()
        assert cli_main(['evaluate-seq', 'smpconv_tcn_osuleaf', *options]) == 0
        assert cli_main(['evaluate-seq', 'smpconv_tcn_osuleaf.aeon']) == 0
    scores = re.findall(r'accuracy (\S+) \((\d+)/\d+\)', capsys.readouterr().out)
    card = shipped.pretrained_cfg['file'].replace('model.safetensors', 'config.json')
    results = json.loads(open(card).read())['results']  # the member's own score, and the ensemble's
    assert len(scores) == 2 and int(scores[0][1]) == round(results['test_accuracy_per_seed']['0'] * 242)
    assert int(scores[1][1]) == results['test']['correct']
    assert cli_main(['evaluate-seq', str(path)]) == 1
    error = capsys.readouterr().err
    assert 'records no label_names' in error and f'give smpconv_tcn_osuleaf in place of the file and add {hint}' in error
    # an argument given is not overridden by a suggestion; an ensemble's suggestion builds the ensemble
    with pytest.warns(UserWarning) as record:
        load_model(str(path), global_pool='last')
    assert 'kernel_length cannot be read' in str(record[0].message) and 'create_model' not in str(record[0].message)
    assert '(as assumed here: --model-kwargs kernel_length=None; ' in str(record[0].message)
    ensemble = timm.create_model('smpconv_tcn_osuleaf', num_members=2).eval()
    save_file(ensemble.state_dict(), str(path))
    with pytest.warns(UserWarning) as record:
        load_model(str(path))
    command = re.search(r"(timm\.create_model\('smpconv_tcn_osuleaf'.*?\)\))", str(record[0].message)).group(1)
    assert 'num_members=2' in command
    with torch.inference_mode():
        assert rel_err(eval(command, {'timm': timm}).eval()(x), ensemble(x)) == 0


def test_bare_weights_built_as_the_assumed_model_still_name_the_model_they_fit(tmp_path):
    """Weights that pool and span as the assumed sMNIST model does (pMNIST's) are named all the same (the warning had
    named no registered model then); the shipped ArrowHead's centred 33-tap mean-pooled weights are named with their
    values, and the named command gives the shipped model exactly, with its own data config (251 steps, not
    sMNIST's 784)."""
    from safetensors.torch import save_file
    path = tmp_path / 'pmnist.safetensors'
    pmnist = timm.create_model('smpconv_tcn_pmnist').eval()
    save_file(pmnist.state_dict(), str(path))
    with pytest.warns(UserWarning, match="If it was saved from smpconv_tcn_pmnist .global_pool='last', "
                                         'kernel_length=None.') as record:
        load_model(str(path))
    command = re.search(r"(timm\.create_model\('smpconv_tcn_pmnist'.*?\)\))", str(record[0].message)).group(1)
    x = torch.randn(2, 1, 784)
    with torch.no_grad():
        assert rel_err(eval(command, {'timm': timm}).eval()(x), pmnist(x)) == 0

    shipped = timm.create_model('smpconv_tcn_arrowhead.aeon', pretrained=True).eval()
    path = tmp_path / 'arrowhead.safetensors'
    save_file(shipped.state_dict(), str(path))
    with pytest.warns(UserWarning, match="If it was saved from smpconv_tcn_arrowhead .global_pool='avg', "
                                         'kernel_length=33.') as record:
        load_model(str(path))
    command = re.search(r"(timm\.create_model\('smpconv_tcn_arrowhead'.*?\)\))", str(record[0].message)).group(1)
    copied = eval(command, {'timm': timm}).eval()
    assert copied.pretrained_cfg['input_size'] == (1, 1, 251) and copied.pretrained_cfg['mean'] == \
        shipped.pretrained_cfg['mean']
    x = torch.randn(2, 1, 251)
    with torch.no_grad():
        assert rel_err(copied(x), shipped(x)) == 0


def test_bare_smp_resnet_weights_with_concatenated_pooling_load_exactly(tmp_path):
    """timm's 'catavgmax' pooling doubles the SMP-ResNet head's input: a bare state dict shows it, so it loads as
    that model, without a pooling warning (kernel_size is still assumed); 'max' shows nothing and is warned about."""
    from safetensors.torch import save_file
    args = dict(stem_channels=4, block_channels=(4, 6), n_points=5, num_classes=3)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for pool, warned in (('catavgmax', 'kernel_size cannot be read'), ('max', 'global_pool and kernel_size')):
        model = randomize_bn(timm.create_model('smpconv_resnet_cifar10', global_pool=pool, **args)).eval()
        path = tmp_path / f'{pool}.safetensors'
        save_file(model.state_dict(), str(path))
        with pytest.warns(UserWarning, match=warned) as record:
            loaded, _ = load_model(str(path))
        assert len(record) == 1
        if pool == 'catavgmax':
            with torch.inference_mode():
                assert rel_err(loaded.eval()(x), model(x)) == 0


def test_bare_smpconvnet_weights_say_their_pooling_was_assumed(tmp_path, capsys):
    """An SMPConvNet's pooling shows in its weights only as 'catavgmax' (a head twice as wide: it failed to load,
    now it loads exactly); 'max' loaded as mean pooling with a warning about the kernel sizes alone. The warning now
    names the pooling too, and its command-line hint, copied, loads the weights as trained."""
    from safetensors.torch import save_file
    small = dict(channels=[8, 8, 16, 16], layers=[1, 1, 1, 1], num_classes=5)
    x = torch.randn(2, 3, 64, 64)
    for pool in ('catavgmax', 'max'):
        trained = randomize_bn(timm.create_model('smpconvnet_t', global_pool=pool, **small)).eval()
        path = tmp_path / f'{pool}.safetensors'
        save_file(trained.state_dict(), str(path))
        with pytest.warns(UserWarning, match='names no model') as record:
            model, _ = load_model(str(path))
        message = str(record[0].message)
        if pool == 'catavgmax':
            assert 'pooling' not in message and model.head.global_pool.pool_type == 'catavgmax'
            with torch.no_grad():
                assert torch.equal(model.eval()(x), trained(x))
            continue
        assert "its pooling cannot be read from its weights either" in message and "global_pool='avg' was assumed" in message
        # timm's CheckpointSaver without args names the family alone: its kernel sizes are the registered ones it
        # fits, its pooling is still unknown (it loaded as mean pooling without a word)
        torch.save(dict(epoch=1, arch='smpconvnet', state_dict=trained.state_dict()), tmp_path / 'named.pth.tar')
        with pytest.warns(UserWarning, match=r"^\S+ names no model: its pooling cannot be read from its weights \("):
            load_model(str(tmp_path / 'named.pth.tar'))
        hint = shlex.split(re.search(r'as assumed here: --model-kwargs (.+)\)$', message).group(1))
        hint = [h.replace('global_pool=avg', 'global_pool=max') for h in hint]  # what the user knows it was
        assert cli_main(['reparam', str(path), str(tmp_path / 'd'), '--model-kwargs', *hint]) == 0
        assert 'names no model' not in capsys.readouterr().err
        deployed = timm.create_model(f'local-dir:{tmp_path / "d"}', pretrained=True).eval()
        with torch.no_grad():
            assert rel_err(deployed(x), trained(x)) < 1e-5


def test_a_legacy_torch_save_file_loads(tmp_path):
    """torch.save's legacy format (no zip archive: _use_new_zipfile_serialization=False, files of PyTorch < 1.6) was
    refused by load_model and the commands, which timm loads; a plain pickle still is."""
    import pickle
    trained = randomize_bn(timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, n_points=4)).eval()
    torch.save(trained.state_dict(), tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the assumed arguments' warning; torch's on the legacy pickle protocol
        model, _ = load_model(str(tmp_path / 'legacy.pth'), global_pool='avg', kernel_length=None)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), trained(x))
    (tmp_path / 'plain.pth').write_bytes(pickle.dumps({'a': 1}))
    with pytest.raises(ValueError, match='is not a torch.save checkpoint'):
        load_model(str(tmp_path / 'plain.pth'))


def test_checkpoint_errors_name_the_file_and_what_was_expected(tmp_path):
    path = tmp_path / 'unknown.pth'
    torch.save({'state_dict': {'encoder.weight': torch.zeros(2, 2)}, 'epoch': 1}, path)
    with pytest.raises(ValueError, match='names no model') as e:
        load_model(str(path))
    assert str(path) in str(e.value) and 'stem.0.conv.weight' in str(e.value)
    # the recorded architecture does not match the weights: the file, the model and the difference
    model = _family_model('tcn')
    path, _ = _save_train_py_checkpoint(tmp_path, model, _train_py_args(
        model='smpconv_tcn_smnist', num_classes=5, in_chans=2, model_kwargs=dict(num_blocks=3)), ema=False)
    with pytest.raises(ValueError, match='do not load into smpconv_tcn_smnist') as e:
        load_model(str(path))
    assert str(path) in str(e.value) and 'num_blocks' in str(e.value)
    assert cli_main(['info', str(path)]) == 1
    # a state dict that is neither form is not taken for a deployed one: refused, the model left as it was
    for family, module in (('smpconvnet', smpconvnet.models.smpconvnet), ('tcn', smpconvnet.models.smpconv_tcn),
                           ('resnet', smpconvnet.models.smpconv_resnet)):
        model = _family_model(family)
        with pytest.raises((ValueError, KeyError)):
            module.checkpoint_filter_fn({'fc.weight': torch.zeros(3, 3)}, model)
        assert not _is_deployed(model), family


# ---------------------------------------------------------------------------------------------------------
# train-seq checkpoints

def _train_seq_run(tmp_path):
    cfg = train_seq.TrainConfig(
        model='smpconv_tcn_smnist', model_kwargs=dict(num_blocks=1, hidden_channels=4, n_points=4),
        dataset='JapaneseVowels', epochs=1, batch_size=64, lr=1e-2, warmup_epochs=0, output=str(tmp_path / 'run'),
        progress=False, threads=0, eval_test=False)  # threads=0: the process-wide thread count stays as it is
    train_seq.train(cfg)
    return tmp_path / 'run'


def _accuracy(out):
    m = re.search(r'accuracy [0-9.]+ \((\d+)/(\d+)\)', out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_train_seq_checkpoints_are_read_by_every_command(tmp_path, capsys):
    """OUTPUT/checkpoint.pth loads with its architecture (model_kwargs, in_chans / num_classes of the data) and
    preprocessing; evaluate-seq, info and reparam take it; a checkpoint of an earlier version (no recorded config)
    gives the same model and preprocessing, rebuilt from its options and data set."""
    pytest.importorskip('aeon')
    run = _train_seq_run(tmp_path)
    final = timm.create_model(f'local-dir:{run}', pretrained=True).eval()
    ckpt = run / train_seq.CHECKPOINT_NAME
    model, source, extra = load_model_with_config(str(ckpt))
    assert 'train-seq' in source and extra['dataset']['name'] == 'JapaneseVowels'
    assert model.state_dict().keys() == final.state_dict().keys()
    assert all(torch.equal(model.state_dict()[k], final.state_dict()[k]) for k in final.state_dict())
    for key in ('input_size', 'mean', 'std', 'label_names', 'num_classes'):
        assert list(model.pretrained_cfg[key]) == list(final.pretrained_cfg[key]) \
            if isinstance(final.pretrained_cfg[key], (list, tuple)) else \
            model.pretrained_cfg[key] == final.pretrained_cfg[key], key
    # the run's recorded cfg is the whole cfg, as timm reads the folder's config.json: nothing of the registered
    # default tag (its name, Hub id, licence, shipped file) is claimed for these weights
    assert timm.models.get_pretrained_cfg('smpconv_tcn_smnist').tag == 'untrained'
    assert (json.loads(json.dumps({k: v for k, v in model.pretrained_cfg.items() if k != 'file'}))
            == json.loads(json.dumps({k: v for k, v in final.pretrained_cfg.items() if k not in ('file', 'source')})))
    assert model.pretrained_cfg['file'] == str(ckpt)

    old = read_checkpoint(ckpt)
    del old['config']  # as train-seq wrote it before the config was recorded
    torch.save(old, tmp_path / 'old.pth')
    old_model, _, old_extra = load_model_with_config(str(tmp_path / 'old.pth'))
    assert old_extra == extra
    assert all(torch.equal(old_model.state_dict()[k], v) for k, v in final.state_dict().items())
    for key in ('input_size', 'mean', 'std', 'label_names'):
        assert list(old_model.pretrained_cfg[key]) == list(final.pretrained_cfg[key]), key

    assert cli_main(['evaluate-seq', f'local-dir:{run}']) == 0
    expected = _accuracy(capsys.readouterr().out)
    for spec in (str(ckpt), str(tmp_path / 'old.pth')):
        assert cli_main(['evaluate-seq', spec]) == 0
        assert _accuracy(capsys.readouterr().out) == expected, spec
    assert cli_main(['info', str(ckpt)]) == 0
    # the deployed folder keeps the data set: evaluate-seq finds it and gives the same result
    assert cli_main(['reparam', str(ckpt), str(tmp_path / 'deployed')]) == 0
    config = json.loads((tmp_path / 'deployed' / 'config.json').read_text())
    assert config['dataset']['name'] == 'JapaneseVowels' and config['model_args']['seq_len'] == 29
    assert not {'tag', 'license'} & set(config['pretrained_cfg']), config['pretrained_cfg']
    capsys.readouterr()
    assert cli_main(['evaluate-seq', f'local-dir:{tmp_path / "deployed"}']) == 0
    assert _accuracy(capsys.readouterr().out) == expected


# ---------------------------------------------------------------------------------------------------------
# deployed folders through timm

DEPLOY = {
    'smpconvnet': ('smpconvnet_t', dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], num_classes=7), (3, 64, 64)),
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=2, hidden_channels=8, seq_len=64), (1, 64)),
    'resnet': ('smpconv_resnet_cifar10', dict(stem_channels=6, block_channels=[6, 8]), (3, 32, 32)),
}


def _deployed_folder(tmp_path, family, input_size=None):
    """A training-form folder of ``family`` and its `smpconvnet reparam` folder; the reference deployed model."""
    arch, kwargs, shape = DEPLOY[family]
    shape = input_size or shape
    model = randomize_bn(timm.create_model(arch, **kwargs)).eval()
    src = write_model_folder(model, tmp_path / f'{family}_src', card='# test\n', model_args=kwargs)
    dst = tmp_path / f'{family}_deployed'
    reparameterize_to_folder(str(src), str(dst), input_size=shape, quiet=True)
    return dst, deploy(model, _input(shape)), shape


@pytest.mark.parametrize('family', sorted(DEPLOY))
def test_deployed_folder_loads_through_timm(tmp_path, family):
    """timm.create_model('local-dir:DST', pretrained=True) gives the deployed model: the same tensors as the model
    that was saved, and its outputs; load_model(DST) too."""
    dst, reference, shape = _deployed_folder(tmp_path, family)
    config = json.loads((dst / 'config.json').read_text())
    assert config['deployed'] is True
    if family == 'tcn':
        assert config['model_args']['seq_len'] == config['deployed_length'] == 64
    x = _input(shape)
    with torch.inference_mode():
        expected = reference(x)
    for model in (timm.create_model(f'local-dir:{dst}', pretrained=True).eval(), load_model(str(dst))[0]):
        assert _is_deployed(model)
        ref_sd, sd = reference.state_dict(), model.state_dict()
        assert sd.keys() == ref_sd.keys()
        assert all(torch.equal(sd[k], ref_sd[k]) for k in ref_sd)
        with torch.inference_mode():
            assert rel_err(model(x), expected) <= 1e-5


def _as_written_before_seq_len(folder):
    # a deployed folder as written before seq_len was recorded: not in its config.json, and its weights without the
    # metadata record written since (which holds the config's model_args)
    from safetensors.torch import load_file, save_file
    config = json.loads((folder / 'config.json').read_text())
    del config['model_args']['seq_len']
    (folder / 'config.json').write_text(json.dumps(config))
    save_file(load_file(str(folder / 'model.safetensors')), str(folder / 'model.safetensors'))


def test_older_deployed_sequence_folders_still_load(tmp_path):
    """A deployed TCN folder written before seq_len was recorded ("deployed_length" only): load_model uses it, timm
    reads the length off the kernels; a seq_len that disagrees with the kernels, or a length the kernels cannot
    tell, is an error that says what to pass."""
    dst, reference, shape = _deployed_folder(tmp_path, 'tcn')
    _as_written_before_seq_len(dst)
    x = _input(shape)
    with torch.inference_mode():
        expected = reference(x)
    for model in (load_model(str(dst))[0], timm.create_model(f'local-dir:{dst}', pretrained=True).eval()):
        with torch.inference_mode():
            assert rel_err(model(x), expected) <= 1e-5
        with pytest.raises(ValueError, match='length 64'):  # deployed for 64 steps, as the reference
            model(_input((1, 50)))
    with pytest.raises(ValueError, match='seq_len=50'):
        timm.create_model(f'local-dir:{dst}', pretrained=True, seq_len=50)

    # deployed for 4 steps, shorter than the small kernel (5 taps): only the recorded length tells
    short, short_ref, _ = _deployed_folder(tmp_path / 'short', 'tcn', input_size=(1, 4))
    _as_written_before_seq_len(short)
    with pytest.raises(ValueError, match='seq_len='):
        timm.create_model(f'local-dir:{short}', pretrained=True)
    x = _input((1, 4))
    with torch.inference_mode():
        assert rel_err(load_model(str(short))[0](x), short_ref(x)) <= 1e-5


def test_evaluate_seq_on_a_deployed_shipped_model(tmp_path, capsys):
    """`smpconvnet reparam` of a shipped sequence model, then `evaluate-seq local-dir:DST`: the shipped accuracy."""
    pytest.importorskip('aeon')
    name = 'smpconv_tcn_japanesevowels'
    assert cli_main(['evaluate-seq', f'{name}.aeon']) == 0
    expected = _accuracy(capsys.readouterr().out)
    assert cli_main(['reparam', f'{name}.aeon', str(tmp_path / 'deployed')]) == 0
    capsys.readouterr()
    assert cli_main(['evaluate-seq', f'local-dir:{tmp_path / "deployed"}']) == 0
    assert _accuracy(capsys.readouterr().out) == expected


@pytest.mark.parametrize('via', ['pretrained_cfg_overlay', 'checkpoint_path'])
@pytest.mark.parametrize('kind', ['truncated_safetensors', 'cut_safetensors', 'empty_pth', 'truncated_pth', 'folder',
                                  'garbled_pickle', 'cut_tensor_data', 'half_legacy_pickle'])
@pytest.mark.parametrize('name', ['smpconv_tcn_osuleaf', 'smpconvnet_t', 'smpconv_resnet_cifar10'])
def test_bad_weights_file_through_timm_names_the_file(tmp_path, name, kind, via):
    """``pretrained_cfg_overlay=dict(file=...)`` (timm's way to load a local file as a model's pretrained weights)
    and ``checkpoint_path=`` (read by timm after building the model) with a bad file: a ValueError naming the model,
    the file and what was expected, not a bare EOFError / SafetensorError or a Hub hint."""
    import safetensors.torch
    good_st, good_pth = tmp_path / 'good.safetensors', tmp_path / 'good.pth'
    safetensors.torch.save_file({'w': torch.randn(5000)}, str(good_st))
    torch.save({'w': torch.randn(5000)}, good_pth)
    path = tmp_path / {'truncated_safetensors': 'a.safetensors', 'cut_safetensors': 'b.safetensors',
                       'empty_pth': 'c.pth', 'truncated_pth': 'd.pth', 'folder': 'e', 'garbled_pickle': 'f.pth',
                       'cut_tensor_data': 'g.pth', 'half_legacy_pickle': 'h.pth'}[kind]
    if kind == 'truncated_safetensors':
        path.write_bytes(good_st.read_bytes()[:100])
    elif kind == 'cut_safetensors':
        path.write_bytes(good_st.read_bytes()[:-100])
    elif kind == 'empty_pth':
        path.touch()
    elif kind == 'truncated_pth':
        path.write_bytes(good_pth.read_bytes()[:2000])
    elif kind in ('garbled_pickle', 'cut_tensor_data'):  # a complete zip archive whose contents are damaged
        import zipfile
        with zipfile.ZipFile(good_pth) as src, zipfile.ZipFile(path, 'w') as dst:
            for member in src.namelist():
                data = src.read(member)
                if kind == 'garbled_pickle' and member.endswith('data.pkl'):
                    data = bytes(range(256)) * (len(data) // 256 + 1)
                if kind == 'cut_tensor_data' and member.endswith('/data/0'):
                    data = data[:10]
                dst.writestr(member, data)
    elif kind == 'half_legacy_pickle':
        torch.save({'w': torch.randn(5000)}, good_pth, _use_new_zipfile_serialization=False)
        path.write_bytes(good_pth.read_bytes()[:len(good_pth.read_bytes()) // 2])
    else:
        path.mkdir()
    expected = {'truncated_safetensors': 'not a readable .safetensors file', 'cut_safetensors': 'corrupt or truncated',
                'empty_pth': r'is empty \(0 bytes\)', 'truncated_pth': 'not a readable PyTorch checkpoint',
                'folder': "is a folder.*local-dir:", 'garbled_pickle': 'could not be read|pickled Python objects',
                'cut_tensor_data': 'could not be read', 'half_legacy_pickle': 'could not be read'}[kind]
    if via == 'checkpoint_path':
        kwargs = dict(num_classes=10, in_chans=3) if 'tcn' in name else {}  # only the file matters here
        with pytest.raises(ValueError, match=f'checkpoint_path for {name}: {re.escape(str(path))} .*({expected})'):
            timm.create_model(name, checkpoint_path=str(path), **kwargs)
        return
    with pytest.raises(ValueError, match=f'pretrained weights for {name}: {re.escape(str(path))} .*({expected})'):
        timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))


def test_checkpoint_path_of_a_missing_file_and_of_timm_models(tmp_path):
    """A missing ``checkpoint_path`` names the model and the file; timm's own models keep timm's behaviour."""
    with pytest.raises(FileNotFoundError, match=f'checkpoint_path for smpconv_resnet_cifar10: .*{tmp_path.name}'):
        timm.create_model('smpconv_resnet_cifar10', checkpoint_path=str(tmp_path / 'nope.pth'))
    (tmp_path / 'empty.pth').touch()
    with pytest.raises(EOFError):  # timm's reader, unchanged for models outside this project
        timm.create_model('resnet10t', checkpoint_path=str(tmp_path / 'empty.pth'))


def test_bare_weights_are_said_to_take_labels_only_where_the_model_has_them(tmp_path):
    """A bare state dict takes the assumed registered model's input length and normalisation, and its labels only
    where the built model has them: the warning and the description said "and labels" for every bare file, though
    the family default (smpconv_tcn_smnist) has none and a classifier of another size drops a model's labels."""
    from safetensors.torch import save_file
    model = timm.create_model('smpconv_tcn_osuleaf', num_classes=4, global_pool='avg', kernel_length=32).eval()
    path = tmp_path / 'four.safetensors'
    save_file(model.state_dict(), str(path))
    for features_only in (False, True):
        with pytest.warns(UserWarning, match='names no model') as record:
            loaded, _ = load_model(str(path), **(dict(features_only=True) if features_only else {}))
        assert not loaded.pretrained_cfg.get('label_names')
        message = str(record[0].message)
        assert 'normalisation (no labels)' in message and 'and labels' not in message
        assert 'normalisation (no labels) of smpconv_tcn_smnist' in loaded.pretrained_cfg['description']
    assert loaded.model.pretrained_cfg['description'] == loaded.pretrained_cfg['description']
    # a caller's description wins; labels and normalisation the caller gives are not the assumed model's
    with pytest.warns(UserWarning, match='names no model'):
        loaded, _ = load_model(str(path), pretrained_cfg_overlay=dict(description='mine'))
    assert loaded.pretrained_cfg['description'] == 'mine'
    # the cfg describes the file's weights: its classifier's size, no tag of the assumed model ('untrained')
    assert loaded.pretrained_cfg['num_classes'] == 4 and 'tag' not in loaded.pretrained_cfg
    with pytest.warns(UserWarning, match='names no model') as record:
        loaded, _ = load_model(str(path), pretrained_cfg_overlay=dict(label_names=tuple('abcd'), mean=(.5,), std=(2.,)))
    assert loaded.pretrained_cfg['label_names'] == tuple('abcd')
    assert 'so the input length of smpconv_tcn_smnist was assumed' in loaded.pretrained_cfg['description']
    assert 'were assumed (global_pool=\'last\', kernel_length=None), with its input length. ' in str(record[0].message)


def test_a_none_argument_that_timm_drops_is_refused(tmp_path):
    """timm's create_model drops None arguments: ``kernel_length=None`` (whole-series kernels) asked of a variant
    registered with 32 / 33 taps built the short-kernel model, and train-seq recorded None in its run folder, which
    then loaded as another network than the one trained (evaluate-seq 0.56 against the run's own 0.49). Refused by
    every loading path and by train-seq before it trains; a None that is the model's own passes."""
    with pytest.raises(ValueError, match=r"^kernel_length=None: timm's create_model drops None arguments, so "
                                         r"smpconv_tcn_osuleaf is built with its own kernel_length=32: leave "
                                         r"kernel_length out for that"):
        load_model('smpconv_tcn_osuleaf', pretrained=False, kernel_length=None)
    assert load_model('smpconv_tcn_gunpoint', pretrained=False, kernel_length=None)[0].kernel_length is None
    # arguments the network keeps no attribute of, and a features_only wrapper's (the check read attributes only)
    for name, kwargs, built in (('smpconv_tcn_pickupgesturewiimotez', dict(num_members=None), 'num_members=5'),
                                ('smpconv_tcn_gunpoint', dict(dropout=None), 'dropout=0.1'),
                                ('smpconv_tcn_osuleaf', dict(features_only=True, kernel_length=None),
                                 'kernel_length=32')):
        with pytest.raises(ValueError, match=f'is built with its own {built}: '):
            load_model(name, pretrained=False, **kwargs)
    # seq_len=None is the class default (the model sets its length from its cfg after the build): not refused
    assert load_model('smpconv_tcn_gunpoint', pretrained=False, seq_len=None)[0].seq_len == 150
    pytest.importorskip('aeon')
    cfg = train_seq.TrainConfig(model='smpconv_tcn_acsf1', dataset='GunPoint', epochs=1, batch_size=25,
                                output=str(tmp_path / 'run'), progress=False, threads=1, eval_test=False,
                                model_kwargs={'num_blocks': 1, 'hidden_channels': 4, 'kernel_length': None})
    with pytest.raises(ValueError, match=r"^kernel_length=None: .* --model smpconv_tcn_acsf1 is built with its own "
                                         r"kernel_length=65"):
        train_seq.train(cfg)
    assert not (tmp_path / 'run').exists()


def test_a_damaged_weights_file_in_a_model_folder_is_named(tmp_path, capsys):
    """A run folder (or `local-dir:`) whose model.safetensors is truncated: the file and what was expected, as for
    shipped weights (it was safetensors' traceback, 'invalid header length', naming no file)."""
    from smpconvnet.cli import main
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4)
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    weights = folder / 'model.safetensors'
    weights.write_bytes(weights.read_bytes()[:1000])
    expected = f'pretrained weights for smpconv_tcn_gunpoint: {re.escape(str(weights))} is not a readable .safetensors'
    for load in (lambda: timm.create_model(f'local-dir:{folder}', pretrained=True), lambda: load_model(str(folder))):
        with pytest.raises(ValueError, match=expected):
            load()
    assert main(['reparam', str(folder), str(tmp_path / 'dep')]) == 1
    err = capsys.readouterr().err
    assert re.search(expected, err) and 'Traceback' not in err and not (tmp_path / 'dep').exists()


def test_a_torch_file_holding_no_state_dict_is_named_on_every_path(tmp_path):
    """A torch file holding a list: timm's pretrained overlay met it as a bare AttributeError ('list' object has no
    attribute 'items'), checkpoint_path called it unreadable; a dict of no tensors got the filter's message without
    the file. Every path names the file and what was expected."""
    torch.save([1, 2, 3], tmp_path / 'list.pth')
    torch.save({'a': [1]}, tmp_path / 'dict.pth')
    for file, message in ((tmp_path / 'list.pth', 'holds a list, expected a state dict'),
                          (tmp_path / 'dict.pth', 'does not fit the model: checkpoint is not an SMP-TCN state dict')):
        for what, kwargs in (('pretrained weights', dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))),
                             ('checkpoint_path', dict(checkpoint_path=str(file)))):
            with pytest.raises(ValueError, match=f'^{what} for smpconv_tcn_gunpoint: {re.escape(str(file))} {message}'):
                timm.create_model('smpconv_tcn_gunpoint', **kwargs)
        with pytest.raises(ValueError, match=re.escape(str(file))):
            load_model(str(file))


def test_a_folders_weights_file_given_alone_is_read_with_its_folders_config(tmp_path, capsys):
    """A model folder's model.safetensors given as a file (load_model, info, reparam): its record's arguments were used
    but the data config was an assumed variant's (smpconv_tcn_smnist's 784 steps and MNIST normalisation, 'names no
    model'), which evaluation and a deployment for the assumed length would use. The folder's config.json is read,
    as for the folder; a file that is not the one its folder loads is read alone."""
    import warnings
    from smpconvnet.cli import main
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, kernel_length=16, seq_len=300)
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    weights = folder / 'model.safetensors'
    x = torch.randn(2, 1, 300)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        from_folder, _ = load_model(str(folder))
        from_file, description = load_model(str(weights))
    assert f'weights from {folder}' in description
    assert from_file.pretrained_cfg == from_folder.pretrained_cfg
    assert from_file.pretrained_cfg['input_size'] == (1, 1, 300) and from_file.pretrained_cfg['mean'] != (0.1307,)
    with torch.no_grad():
        assert torch.equal(from_file.eval()(x), from_folder.eval()(x))
    assert main(['reparam', str(weights), str(tmp_path / 'dep')]) == 0
    assert json.loads((tmp_path / 'dep' / 'config.json').read_text())['deployed_length'] == 300
    # a pytorch_model.bin beside model.safetensors is not what the folder loads: read alone, as a bare file
    torch.save(model.state_dict(), folder / 'pytorch_model.bin')
    with pytest.warns(UserWarning, match='names no model'):
        load_model(str(folder / 'pytorch_model.bin'))


def test_a_folder_with_a_bad_config_or_other_weights_is_named(tmp_path, capsys):
    """config.json that is no object, names no or an unknown architecture; weights of another network: the file and
    what was expected (a list gave AttributeError's traceback, no architecture a bare KeyError, a wrong shape
    torch's key list without the file)."""
    from safetensors.torch import save_file
    from smpconvnet.cli import main
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4)
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    config = folder / 'config.json'
    good = config.read_text()
    for text, message in (('[1, 2]', 'holds no "architecture": expected timm\'s model config'),
                          ('{"num_classes": 2}', 'holds no "architecture"'),
                          ('{"architecture": "nope_model"}', "names the architecture 'nope_model', which timm does not")):
        config.write_text(text)
        with pytest.raises(ValueError, match=f'{re.escape(str(config))} {message}'):
            load_model(str(folder))
        assert main(['info', str(folder)]) == 1
        err = capsys.readouterr().err
        assert str(config) in err and 'Traceback' not in err
    config.write_text(good)
    other = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=8)
    save_file(other.state_dict(), str(folder / 'model.safetensors'))
    with pytest.raises(ValueError, match=f'{re.escape(str(folder / "model.safetensors"))} does not fit the model: '
                                         'checkpoint is an SMP-TCN'):
        load_model(str(folder))


def test_bare_smpconvnet_weights_load_with_the_kernel_sizes_assumed(tmp_path, capsys):
    """A plain state dict of an SMPConvNet names no kernel size (a point kernel is sampled at any size): every command
    refused smpconvnet_t's own. The sizes are now those of the registered SMPConvNet its shapes are nearest, else the
    odd sizes whose k * k // 4 are its points per kernel, with a warning whose --model-kwargs hint gives them (and
    other sizes load as given); the model carries no registered tag (info headed such files smpconvnet_t.in1k)."""
    from safetensors.torch import save_file
    small = dict(channels=[8, 8, 16, 16], layers=[1, 1, 1, 1], num_classes=5)
    x = torch.randn(2, 3, 64, 64)
    for name, sizes, kind in (('registered.safetensors', None, 'those of smpconvnet_t, the registered SMPConvNet'),
                              ('custom.safetensors', [15, 13, 11, 7], 'the odd sizes k whose k * k // 4')):
        kwargs = dict(small, **({'large_kernel_sizes': sizes} if sizes else {}))
        trained = randomize_bn(timm.create_model('smpconvnet_t', **kwargs)).eval()
        save_file(trained.state_dict(), str(tmp_path / name))
        with pytest.warns(UserWarning, match=re.escape(kind)) as record:
            model, _ = load_model(str(tmp_path / name))
        with torch.no_grad():
            assert torch.equal(model.eval()(x), trained(x))
        assert 'tag' not in model.pretrained_cfg and 'hf_hub_id' not in model.pretrained_cfg
        hint = shlex.split(re.search(r'as assumed here: --model-kwargs (.+)\)$', str(record[0].message)).group(1))
        assert hint[0].startswith('large_kernel_sizes=[') and hint[1:] == ['global_pool=avg']
        assert cli_main(['info', str(tmp_path / name), '--model-kwargs', *hint]) == 0
        out, err = capsys.readouterr()
        assert 'names no model' not in err and '.in1k' not in out
        # the hint's sizes given: the cfg's classes are still the file's (reparam recorded its 5-class head as new)
        given, _ = load_model(str(tmp_path / name), large_kernel_sizes=sizes or [31, 29, 27, 13])
        assert given.pretrained_cfg['num_classes'] == 5
        assert cli_main(['reparam', str(tmp_path / name), str(tmp_path / f'd_{name}'), '--model-kwargs', *hint]) == 0
        assert 'new_classifier' not in json.loads((tmp_path / f'd_{name}' / 'config.json').read_text())
        capsys.readouterr()
    # points no odd k * k // 4 gives (n_points_divide=8): the error says to give the sizes (it spoke of smpconvnet_t's)
    other = timm.create_model('smpconvnet_t', **small, large_kernel_sizes=[13, 11, 9, 7], n_points_divide=8).eval()
    save_file(other.state_dict(), str(tmp_path / 'div8.safetensors'))
    with pytest.raises(ValueError, match=r"fit neither .* give the sizes its model was built with"):
        load_model(str(tmp_path / 'div8.safetensors'))
    given, _ = load_model(str(tmp_path / 'div8.safetensors'), large_kernel_sizes=[13, 11, 9, 7])
    with torch.no_grad():
        assert torch.equal(given.eval()(x), other(x))
    # n_points_divide given: the sizes its points give with it (a given divide was not used to infer them)
    with pytest.warns(UserWarning, match='names no model'):
        divided, _ = load_model(str(tmp_path / 'div8.safetensors'), n_points_divide=8)
    assert list(divided.large_kernel_sizes) == [13, 11, 9, 7]
    with torch.no_grad():
        assert torch.equal(divided.eval()(x), other(x))
    with pytest.raises(ValueError, match=r'fit no single odd size k per stage with k \* k // 3 points'):
        load_model(str(tmp_path / 'div8.safetensors'), n_points_divide=3)
    # sizes given that the points do not fit: the strict load says so
    with pytest.raises(ValueError, match=r'as k \* k // n_points_divide'):
        load_model(str(tmp_path / 'custom.safetensors'), large_kernel_sizes=[5, 5, 5, 5])


def test_points_that_two_kernel_sizes_give_are_refused_not_guessed(tmp_path):
    """With a divisor above 4 small kernels share a point count (11 * 11 // 64 == 9 * 9 // 64 == 1): weights of 11x11
    kernels given n_points_divide=64 built 9x9 ones (the smallest size that fit), which take the same parameters and
    compute another function. Such counts are refused with the hint to give the sizes; given, they load exactly."""
    from safetensors.torch import save_file
    from smpconvnet.models.smpconvnet import kernel_sizes_for_points
    assert kernel_sizes_for_points([1], 64) is None and kernel_sizes_for_points([3], 64) == [15]
    assert kernel_sizes_for_points([240, 210, 182, 42], 4) == [31, 29, 27, 13]
    assert kernel_sizes_for_points([1], 13) == [5]  # (the search tried only isqrt(n * d) and the next: None)
    args = dict(channels=[8, 8, 16, 16], layers=[1, 1, 1, 1], num_classes=5, large_kernel_sizes=[11, 11, 15, 15],
                small_kernel_size=3, n_points_divide=64)
    trained = timm.create_model('smpconvnet_t', **args).eval()
    save_file(trained.state_dict(), str(tmp_path / 'div64.safetensors'))
    with pytest.raises(ValueError, match=r'\[1, 1, 3, 3\] fit no single odd size k per stage with k \* k // 64 points.*'
                                         r'give the sizes its model was built with'):
        load_model(str(tmp_path / 'div64.safetensors'), n_points_divide=64, small_kernel_size=3)
    given, _ = load_model(str(tmp_path / 'div64.safetensors'), n_points_divide=64, small_kernel_size=3,
                          large_kernel_sizes=[11, 11, 15, 15])
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(given.eval()(x), trained(x))


def test_bare_smpconvnet_weights_of_other_widths_are_described_with_them(tmp_path):
    """Trial 64: a file of smpconvnet_t built with dw_ratio=2, ffn_ratio=2 (or small_kernel_size=3) was described as
    'SMPConvNet smpconvnet_t' by the route that assumes its kernel sizes (in cards: the Source line), as a
    non-standard one without those values by the route given its sizes; both name them now."""
    from safetensors.torch import save_file
    for built, said in ((dict(dw_ratio=2, ffn_ratio=2), 'dw_ratio=2.0, ffn_ratio=2.0'),
                        (dict(small_kernel_size=3), 'small_kernel_size=3')):
        path = tmp_path / 'w.safetensors'
        save_file(timm.create_model('smpconvnet_t', **built).state_dict(), str(path))
        with pytest.warns(UserWarning, match='names no model'):
            _, assumed = load_model(str(path))
        assert assumed.startswith(f'SMPConvNet smpconvnet_t ({said}), kernel sizes of smpconvnet_t'), assumed
        _, given = load_model(str(path), large_kernel_sizes=[31, 29, 27, 13])
        assert given.startswith("a non-standard SMPConvNet (channels [96, 192, 384, 768], layers [2, 2, 8, 2], "
                                f"kernels [31, 29, 27, 13], {said}): neither"), given


def test_weights_from_files_carry_no_registered_tag(tmp_path, capsys):
    """The registered weights' tag and Hub repo name those weights: a 10-class original-layout file and an overlay
    file were headed smpconvnet_t.in1k / the registered GunPoint tag by info."""
    from pathlib import Path
    original = str(Path(__file__).parent.parent / 'fixtures' / 'official_smpconvnet_small.safetensors')
    assert cli_main(['info', original]) == 0
    assert '.in1k' not in capsys.readouterr().out
    from safetensors.torch import save_file
    save_file(timm.create_model('smpconv_tcn_gunpoint').state_dict(), str(tmp_path / 'w.safetensors'))
    overlay = json.dumps({'file': str(tmp_path / 'w.safetensors')})
    assert cli_main(['reparam', 'smpconv_tcn_gunpoint', str(tmp_path / 'd'), '--model-kwargs',
                     f'pretrained_cfg_overlay={overlay}']) == 0
    capsys.readouterr()
    cfg = json.loads((tmp_path / 'd' / 'config.json').read_text())['pretrained_cfg']
    # GunPoint's input length, normalisation and labels stay: the overlay's purpose
    assert 'tag' not in cfg and 'hf_hub_id' not in cfg and 'file' not in cfg and cfg['label_names'] == ['1', '2']


@pytest.mark.parametrize('family', list(FAMILIES))
def test_a_weights_file_with_another_num_classes_gets_a_new_classifier(tmp_path, family, capsys):
    """timm's fine-tuning idiom: pretrained weights with another ``num_classes`` keep all but the classifier, which is
    new. A weights file given so failed with a size mismatch; its other weights must load exactly."""
    from safetensors.torch import save_file
    arch, kwargs, shape = FAMILIES[family]
    kwargs = dict(kwargs, in_chans=shape[0])
    trained = randomize_bn(timm.create_model(arch, num_classes=NUM_CLASSES[family], **kwargs)).eval()
    path = tmp_path / 'w.safetensors'
    save_file(trained.state_dict(), str(path))
    x = torch.randn(2, *shape)
    given = dict(kwargs, large_kernel_sizes=[31, 29, 27, 13]) if family == 'smpconvnet' else {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the assumed arguments' warning, tested elsewhere
        model, _ = load_model(str(path), num_classes=7, **given)
        features, _ = load_model(str(path), num_classes=0, **given)
    assert model.get_classifier().weight.shape[0] == 7
    assert model.pretrained_cfg['num_classes'] == NUM_CLASSES[family]  # what the weights classify: commands warn
    # timm's own path: num_classes=0 failed for the SMP-ResNet (its filter refused the classifier the model lacks)
    timm_features = timm.create_model(arch, pretrained=True, num_classes=0, **kwargs,
                                      pretrained_cfg_overlay=dict(file=str(path)))
    with torch.no_grad():
        expected = trained.forward_head(trained.forward_features(x), pre_logits=True)
        assert torch.equal(features.eval()(x), expected)
        assert torch.equal(timm_features.eval()(x), expected)
    assert cli_main(['info', str(path), '--model-kwargs', 'num_classes=7']) == 0
    out, err = capsys.readouterr()
    assert 'classes:     7' in out and 'the classifier is new and initialised at random' in err
    # a file whose class count is the architecture's default (its arguments name none): it failed the same way
    default = randomize_bn(timm.create_model(arch, **kwargs)).eval()
    save_file(default.state_dict(), str(tmp_path / 'default.safetensors'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for classes in (3, 0):
            other, _ = load_model(str(tmp_path / 'default.safetensors'), num_classes=classes, **given)
            with torch.no_grad():
                assert torch.equal(other.eval().forward_head(other.forward_features(x), pre_logits=True),
                                   default.forward_head(default.forward_features(x), pre_logits=True))
            assert other.num_classes == classes
    # other mismatches still fail, with the file named
    with pytest.raises(ValueError, match=r'w\.safetensors: .*do not load into'):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            other = {'tcn': dict(hidden_channels=3), 'resnet': dict(n_points=2), 'smpconvnet': dict(n_points_divide=2)}
            load_model(str(path), num_classes=7, **other[family], **given)


def test_the_original_checkpoint_with_another_num_classes_gets_a_new_classifier():
    from pathlib import Path
    original = str(Path(__file__).parent.parent / 'fixtures' / 'official_smpconvnet_small.safetensors')
    plain, _ = load_model(original)
    model, _ = load_model(original, num_classes=3)
    assert model.get_classifier().weight.shape[0] == 3
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(plain.eval().forward_head(plain.forward_features(x), pre_logits=True),
                           model.eval().forward_head(model.forward_features(x), pre_logits=True))


def test_a_refused_original_grid_is_named_as_the_file_names_it(tmp_path):
    """An original-layout file whose kernel_coord grid is not the original's: its shapes fit, so the refusal says
    the weights do not load (it said they "do not fit" the architecture), and a key the file prefixes with
    ``module.`` (DataParallel) is said to be named without that prefix."""
    from pathlib import Path
    from safetensors.torch import load_file, save_file
    sd = load_file(str(Path(__file__).parent.parent / 'fixtures' / 'official_smpconvnet_small.safetensors'))
    key = next(k for k in sd if k.endswith('.kernel_coord'))
    for prefix in ('', 'module.'):
        path = tmp_path / f'grid{len(prefix)}.safetensors'
        save_file({prefix + k: v + 0.05 if k == key else v for k, v in sd.items()}, str(path))
        with pytest.raises(ValueError) as e:
            load_model(str(path))
        assert str(e.value).startswith(f'{path}: ') and 'weights do not load into smpconvnet_t' in str(e.value)
        assert 'do not fit' not in str(e.value) and f"{key}: not the original's grid" in str(e.value)
        assert str(e.value).endswith(" (keys named without the file's 'module.' prefix)") == bool(prefix)


def test_trial_33_folder_records_deployed_copies_and_odd_torch_files(tmp_path, capsys):
    """Trial 33's findings. (1) A folder whose config.json and model.safetensors' metadata disagree (edited, or other
    weights copied in) loaded silently as the config said (the shipped OSULeaf with kernel_length=16: 0.13
    accuracy): refused, naming both. (2) A deployed model.safetensors copied out of its folder could not be loaded
    though its metadata records every argument, and a refusal's hint named it: it loads as recorded. (3) A torch file
    holding a str under 'model', a list under 'state_dict' or a key that is no name gave bare AttributeErrors.
    (4) A folder's config.json that cannot be read made its weights file load as an assumed model; a symbolic link
    to a folder's weights is read with the folder's config.json. (5) A bare SMP-ResNet copy's assumed data config
    got no warning."""
    import os
    import shutil
    model = randomize_bn(timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4,
                                           kernel_length=16)).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    x = torch.randn(2, 1, 150)
    # (1)
    edited = tmp_path / 'edited'
    shutil.copytree(folder, edited)
    config = json.loads((edited / 'config.json').read_text())
    config['model_args']['kernel_length'] = 8
    (edited / 'config.json').write_text(json.dumps(config))
    message = (f'{re.escape(str(edited / "config.json"))} records kernel_length=8 and '
               f'{re.escape(str(edited / "model.safetensors"))} \\(its metadata, written with the weights\\) '
               f'kernel_length=16')
    for spec in (str(edited), str(edited / 'model.safetensors'), f'local-dir:{edited}'):
        with pytest.raises(ValueError, match=message):
            load_model(spec)
    assert cli_main(['info', str(edited)]) == 1 and 'does not describe these weights' in capsys.readouterr().err
    shutil.copy(edited / 'model.safetensors', tmp_path / 'copy.safetensors')  # the message's way out: the copy
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # (its data config is assumed: warned)
        copy, _ = load_model(str(tmp_path / 'copy.safetensors'))
    with torch.no_grad():
        assert torch.equal(copy.eval()(x), model(x))
    # (2)
    assert cli_main(['reparam', str(folder), str(tmp_path / 'deployed')]) == 0
    shutil.copy(tmp_path / 'deployed' / 'model.safetensors', tmp_path / 'deployed.safetensors')
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_osuleaf', pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(tmp_path / 'deployed.safetensors')))
    hint = re.search(r"load them as trained: (smpconvnet\.load_model\('[^']+'\))", str(e.value)).group(1)
    with pytest.warns(UserWarning, match='names no model'):
        deployed, description = eval(hint, {'smpconvnet': __import__('smpconvnet')})
    assert description.startswith('deployed SMP-TCN state dict') and deployed.pretrained_cfg['input_size'] == (1, 1, 150)
    with torch.no_grad():
        assert rel_err(deployed.eval()(x), model(x)) <= 1e-5  # deployed vs training form
    for kwargs in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / 'deployed.safetensors'))),
                   dict(checkpoint_path=str(tmp_path / 'deployed.safetensors'))):  # the filter's refusal named no file
        with pytest.raises(ValueError, match=f'{re.escape(str(tmp_path / "deployed.safetensors"))} does not fit the '
                                             f'model: deployed') as e:
            timm.create_model('smpconv_tcn_gunpoint', kernel_length=16, seq_len=150, **kwargs)
        # its hint names arguments without values; the file's record gives them: load_model, copied, loads it
        hint = re.search(r"records the model it was trained as: (smpconvnet\.load_model\('[^']+'\))", str(e.value))
        with pytest.warns(UserWarning, match='names no model'):
            again, _ = eval(hint.group(1), {'smpconvnet': __import__('smpconvnet')})
        with torch.no_grad():
            assert torch.equal(again.eval()(x), deployed(x))
    # (3)
    for name, obj, problem in (('str', {'model': 'hello'}, "holds a str under 'model'"),
                               ('list', {'state_dict': [1, 2]}, "holds a list under 'state_dict'"),
                               ('int', {1: torch.zeros(2)}, r'holds a mapping whose keys are not parameter names \(1\)')):
        file = tmp_path / f'{name}.pth'
        torch.save(obj, file)
        for load in (lambda: load_model(str(file)),
                     lambda: timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(file)),
                     lambda: timm.create_model('smpconv_tcn_gunpoint', pretrained=True,
                                               pretrained_cfg_overlay=dict(file=str(file)))):
            with pytest.raises(ValueError, match=f'{re.escape(str(file))} {problem}, expected a state dict'):
                load()
    torch.save({'a': 1, 'b': 2}, tmp_path / 'values.pth')  # convert named no file
    assert cli_main(['convert', str(tmp_path / 'values.pth'), str(tmp_path / 'converted')]) == 1
    assert f"error: {tmp_path / 'values.pth'}: cannot tell which SMPConvNet" in capsys.readouterr().err
    # (4)
    broken = tmp_path / 'broken'
    shutil.copytree(folder, broken)
    (broken / 'config.json').write_text('{"arch')
    with pytest.raises(ValueError, match=f'{re.escape(str(broken / "config.json"))} is not a readable config.json.*'
                                         f'copy model.safetensors out of the folder'):
        load_model(str(broken / 'model.safetensors'))
    (tmp_path / 'links').mkdir()
    os.symlink(folder / 'model.safetensors', tmp_path / 'links' / 'model.safetensors')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        linked, _ = load_model(str(tmp_path / 'links' / 'model.safetensors'))
    assert linked.pretrained_cfg == load_model(str(folder))[0].pretrained_cfg
    # (5)
    resnet = timm.create_model('smpconv_resnet_cifar10', stem_channels=8, block_channels=(8, 16), n_points=6)
    resnet_folder = write_model_folder(resnet, tmp_path / 'resnet', card='', model_args=dict(
        stem_channels=8, block_channels=[8, 16], n_points=6, kernel_size=33, global_pool='avg'))
    shutil.copy(resnet_folder / 'model.safetensors', tmp_path / 'resnet.safetensors')
    with pytest.warns(UserWarning, match=r'names no model: .* input size and normalisation .*assumed.*'
                                         r'input_size=\(C, H, W\)'):
        load_model(str(tmp_path / 'resnet.safetensors'))


def test_trial_34_deployed_smpconvnet_copies_linked_bins_and_none_state_dicts(tmp_path):
    """Trial 34: a deployed SMPConvNet's model.safetensors copied out of its folder raised a TypeError (its stages
    have no point kernels to read sizes from); a symbolic link to a folder's pytorch_model.bin given to timm lost the
    folder's record (another pooling and kernel length, silently); None under 'state_dict' gave a bare
    AttributeError through timm's pretrained overlay."""
    import os
    import shutil
    from pathlib import Path
    fixture = Path(__file__).resolve().parents[1] / 'fixtures' / 'official_smpconvnet_small.safetensors'
    assert cli_main(['convert', str(fixture), str(tmp_path / 'conv')]) == 0
    assert cli_main(['reparam', str(tmp_path / 'conv'), str(tmp_path / 'dep')]) == 0
    shutil.copy(tmp_path / 'dep' / 'model.safetensors', tmp_path / 'copy.safetensors')
    with pytest.warns(UserWarning, match='names no model'):
        copy, description = load_model(str(tmp_path / 'copy.safetensors'))
    assert description.startswith('deployed SMPConvNet state dict')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(copy.eval()(x), load_model(str(tmp_path / 'dep'))[0].eval()(x))
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, kernel_length=8,
                              global_pool='max')
    folder = tmp_path / 'bin'
    folder.mkdir()
    torch.save(model.state_dict(), folder / 'pytorch_model.bin')
    (folder / 'config.json').write_text(json.dumps(dict(architecture='smpconv_tcn_gunpoint', num_classes=2,
                                                        model_args=model.arch_args)))
    (tmp_path / 'links').mkdir()
    os.symlink(folder / 'pytorch_model.bin', tmp_path / 'links' / 'w.bin')
    for kwargs in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / 'links' / 'w.bin'))),
                   dict(checkpoint_path=str(tmp_path / 'links' / 'w.bin'))):
        with pytest.raises(ValueError, match="was trained with global_pool='max', kernel_length=8"):
            timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **kwargs)
    torch.save({'state_dict': None, 'model': model.state_dict()}, tmp_path / 'none.pth')
    with pytest.raises(ValueError, match=r"none\.pth holds a NoneType under 'state_dict'"):
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(tmp_path / 'none.pth')))


def test_a_safetensors_file_without_its_suffix_loads_or_gets_a_hint_that_works(tmp_path, monkeypatch):
    """A Hugging Face cache blob is named by its hash, without a suffix: it was called a corrupt PyTorch checkpoint
    on every path. load_model, the commands and checkpoint_path= read it by its header; timm's pretrained loader
    tells the format by the suffix, so the overlay route refuses it and every hint names a copy that has one."""
    import shutil
    from smpconvnet.models import is_safetensors_file
    model = timm.create_model('smpconv_tcn_gunpoint').eval()
    timm.models.save_for_hf(model, tmp_path / 'named', safe_serialization='both')
    blob = tmp_path / '0a1b2c3d4e'
    shutil.copy(tmp_path / 'named' / 'model.safetensors', blob)
    assert is_safetensors_file(blob) and not is_safetensors_file(tmp_path / 'named' / 'pytorch_model.bin')
    shutil.copy(tmp_path / 'named' / 'pytorch_model.bin', tmp_path / 'bin_blob')
    assert not is_safetensors_file(tmp_path / 'bin_blob')
    x = torch.randn(2, 1, 150)
    expected = model(x)
    with torch.no_grad():
        loaded = timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(blob)).eval()
        assert torch.equal(loaded(x), expected)
        with pytest.warns(UserWarning, match='names no model') as record:
            loaded, _ = load_model(str(blob), global_pool='avg')
        assert torch.equal(loaded.eval()(x), expected)
    hint = next(str(w.message) for w in record if 'names no model' in str(w.message))
    # the copy goes to the working directory, not beside the blob (a Hugging Face cache's blobs/ is not the user's)
    assert f'cp {blob} {blob.name}.safetensors' in hint and f"file='{blob.name}.safetensors'" in hint
    assert read_checkpoint(blob).keys() == model.state_dict().keys()
    with pytest.raises(ValueError, match=r'without the \.safetensors suffix .*\(cp '):
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(blob)))
    (tmp_path / 'work').mkdir()
    monkeypatch.chdir(tmp_path / 'work')
    shutil.copy(blob, f'{blob.name}.safetensors')  # the hint, followed
    with torch.no_grad():
        loaded = timm.create_model('smpconv_tcn_gunpoint', pretrained=True,
                                   pretrained_cfg_overlay=dict(file=f'{blob.name}.safetensors')).eval()
        assert torch.equal(loaded(x), expected)


def test_a_wrapped_wrapper_loads_on_every_path(tmp_path):
    """{'state_dict': {'model': state_dict}} loaded through timm (its reader opens one wrapper, the family's filter the
    other) but load_model called it a checkpoint of no known model."""
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    path = tmp_path / 'wrapped.pth'
    torch.save({'state_dict': {'model': model.state_dict()}, 'epoch': 3}, path)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        expected = model(x)
        with pytest.warns(UserWarning, match='names no model'):
            loaded, description = load_model(str(path), global_pool='avg')
        assert torch.equal(loaded.eval()(x), expected) and 'epoch 3' in description
        for kwargs in (dict(checkpoint_path=str(path)),
                       dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))):
            loaded = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **kwargs).eval()
            assert torch.equal(loaded(x), expected)


@pytest.mark.parametrize('outer', ['model', 'state_dict'])
def test_a_training_checkpoint_saved_inside_another_keeps_its_record(tmp_path, outer):
    """Trial 36: a timm train.py checkpoint (its args record global_pool='max', kernel_length=32) saved inside another
    wrapper loaded silently as the variant's avg / whole-series model on timm's paths (0.049 off), and load_model
    built an assumed model; a train-seq checkpoint so wrapped likewise. The record is read where the weights are."""
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, global_pool='max',
                              kernel_length=32).eval()
    args = argparse.Namespace(model='smpconv_tcn_gunpoint', gp=None, num_classes=None, in_chans=None, input_size=None,
                              model_kwargs=dict(num_blocks=1, hidden_channels=4, global_pool='max', kernel_length=32))
    path = tmp_path / 'wrapped.pth.tar'
    torch.save({outer: {'epoch': 5, 'arch': 'smpconv_tcn_gunpoint', 'state_dict': model.state_dict(), 'args': args}},
               path)
    x = torch.randn(2, 1, 150)
    for kwargs in (dict(checkpoint_path=str(path)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))):
        with pytest.raises(ValueError, match="was trained with global_pool='max', kernel_length=32"):
            timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **kwargs)
    loaded, _ = load_model(str(path))
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), model(x))
    config = {'architecture': 'smpconv_tcn_gunpoint', 'model_args': dict(model.arch_args)}  # (train-seq's config)
    torch.save({outer: {'model': model.state_dict(), 'config': config}}, path)
    with pytest.raises(ValueError, match="was trained with .*kernel_length=32"):
        timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, checkpoint_path=str(path))


def _gunpoint_train_py_args(**model_kwargs):
    return argparse.Namespace(model='smpconv_tcn_gunpoint', gp=None, num_classes=None, in_chans=None, input_size=None,
                              model_kwargs=dict(num_blocks=1, hidden_channels=4, **model_kwargs))


@pytest.mark.parametrize('layout', ['legacy', 'legacy_nested', 'outer_args_inner_config', 'outer_config_inner_args',
                                    'outer_ema', 'outer_args_inner_arch', 'outer_args_inner_settings',
                                    'legacy_outer_args_inner_arch', 'args_and_config_at_one_level',
                                    'outer_args_inner_other_namespace', 'outer_args_inner_partial_config'])
def test_records_of_legacy_files_and_of_two_levels_are_read_as_the_weights_were_trained(tmp_path, layout):
    """Trial 37: a legacy-format torch.save file's record was not read on timm's paths (0.029 off, silently); records
    at two levels were mixed (an outer config read before an inner args: a wrong refusal whose hint loaded another
    network; load_model the outer args: 0.027 off, silently); EMA weights outside a wrapped checkpoint lost its
    record (0.019 off). The record read is that of the level nearest the weights, else of the checkpoint beside.
    Trial 38: an inner level holding a bare arch, or a config / args dict of other settings, hid the outer record
    (0.29 off, silently): only a record that describes the network counts; train.py's args namespace is read
    before a config at the same level on every path. Trial 39: nor another script's namespace (no model), nor a
    config without a model folder's architecture."""
    trained = dict(global_pool='max', kernel_length=32)
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **trained).eval()
    sd = model.state_dict()
    wrong_args = _gunpoint_train_py_args(global_pool='last', kernel_length=16)
    wrong_config = {'architecture': 'smpconv_tcn_gunpoint', 'num_classes': 2,
                    'model_args': dict(num_blocks=1, hidden_channels=4, global_pool='last', kernel_length=16)}
    inner_config = {'architecture': 'smpconv_tcn_gunpoint', 'num_classes': 2, 'model_args': dict(model.arch_args)}
    checkpoint, save = {
        'legacy': ({'state_dict': sd, 'args': _gunpoint_train_py_args(**trained), 'epoch': 1}, dict(legacy=True)),
        'legacy_nested': ({'model': {'state_dict': sd, 'args': _gunpoint_train_py_args(**trained)}}, dict(legacy=True)),
        'outer_args_inner_config': ({'args': wrong_args, 'model': {'state_dict': sd, 'config': inner_config}}, {}),
        'outer_config_inner_args': ({'config': wrong_config,
                                     'model': {'state_dict': sd, 'args': _gunpoint_train_py_args(**trained)}}, {}),
        'outer_ema': ({'state_dict_ema': sd, 'model': {'state_dict': {k: v + 1 if v.is_floating_point() else v
                                                                      for k, v in sd.items()},
                                                        'args': _gunpoint_train_py_args(**trained)}}, {}),
        'outer_args_inner_arch': ({'args': _gunpoint_train_py_args(**trained),
                                   'model': {'state_dict': sd, 'arch': 'smpconv_tcn_gunpoint'}}, {}),
        'outer_args_inner_settings': ({'args': _gunpoint_train_py_args(**trained),
                                       'model': {'state_dict': sd, 'config': {'lr': 0.1}, 'args': {'lr': 0.1}}}, {}),
        'legacy_outer_args_inner_arch': ({'args': _gunpoint_train_py_args(**trained),
                                          'model': {'state_dict': sd, 'arch': 'smpconv_tcn_gunpoint'}},
                                         dict(legacy=True)),
        'args_and_config_at_one_level': ({'state_dict': sd, 'args': _gunpoint_train_py_args(**trained),
                                          'config': wrong_config}, {}),
        # trial 39: another script's namespace, a config whose model_args is not a model folder's
        'outer_args_inner_other_namespace': ({'args': _gunpoint_train_py_args(**trained),
                                              'model': {'state_dict': sd, 'args': argparse.Namespace(lr=0.1)}}, {}),
        'outer_args_inner_partial_config': ({'args': _gunpoint_train_py_args(**trained),
                                             'model': {'state_dict': sd, 'config': {'model_args': {'drop_rate': 0.}}}},
                                            {}),
    }[layout]
    path = tmp_path / 'checkpoint.pth.tar'
    torch.save(checkpoint, path, **({'_use_new_zipfile_serialization': False} if save else {}))
    for kwargs in (dict(checkpoint_path=str(path)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))):
        with pytest.raises(ValueError, match="was trained with global_pool='max', kernel_length=32"):
            timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **kwargs)
        loaded = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **trained, **kwargs)
        x = torch.randn(2, 1, 150)
        with torch.no_grad():
            assert torch.equal(loaded.eval()(x), model(x))
    with warnings.catch_warnings():
        # the record names the model, nothing of its architecture is assumed (a config without train-seq's other
        # records names no data: its input length and normalisation are, with a warning)
        warnings.simplefilter('ignore' if layout == 'outer_args_inner_config' else 'error')
        loaded, _ = load_model(str(path))
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), model(x))


@pytest.mark.parametrize('source', ['local-dir', 'hf-hub'])
def test_a_train_py_run_fine_tuned_from_a_model_folder_keeps_its_record(tmp_path, monkeypatch, source):
    """Trial 40: a train.py checkpoint of a run fine-tuned from a model folder (--model local-dir:FOLDER, or an
    hf-hub: repo) recorded only the command's arguments: the folder's pooling was not read, and it loaded silently
    as the variant's (0.030 off). The folder's config.json (a cached repo's, offline) is its record now."""
    from conftest import serve_from_offline_hf_cache
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, global_pool='max',
                              kernel_length=32).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    name = f'local-dir:{folder}'
    if source == 'hf-hub':
        name = serve_from_offline_hf_cache(monkeypatch, tmp_path, 'me/run', folder)
    args = argparse.Namespace(model=name, model_kwargs={}, gp=None, num_classes=2, in_chans=None, input_size=None)
    path = tmp_path / 'last.pth.tar'
    torch.save({'state_dict': model.state_dict(), 'args': args, 'epoch': 1, 'arch': name}, path)
    x = torch.randn(2, 1, 150)
    for kwargs in (dict(checkpoint_path=str(path)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))):
        with pytest.raises(ValueError, match="was trained with global_pool='max', kernel_length=32"):
            timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, **kwargs)
        loaded = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, global_pool='max',
                                   kernel_length=32, **kwargs).eval()
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))
    # load_model (and the commands) build it with the folder's data config too (trial 41: a cached hf-hub: repo was
    # 'a name that cannot be resolved here', its series assumed sMNIST's 784 steps, and reparam deployed for those)
    loaded, description = load_model(str(path))
    assert 'cannot be resolved' not in description
    for key in ('input_size', 'mean', 'std'):
        assert tuple(loaded.pretrained_cfg[key]) == tuple(model.pretrained_cfg[key]), key
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), model(x))


def test_a_train_py_checkpoint_naming_a_repo_not_cached_says_so(tmp_path, monkeypatch):
    """Trial 42: a train.py checkpoint fine-tuned from an hf-hub: repo that is not in the cache (or a folder not on
    this machine) was warned of as 'naming no model': the warning names the repo and why it cannot be read."""
    from huggingface_hub import constants as hf_constants
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(tmp_path / 'empty'))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    for name, why in (('hf-hub:me/notcached', 'the repo is not in the Hugging Face cache'),
                      (f'local-dir:{tmp_path / "gone"}', 'the folder is not on this machine')):
        args = argparse.Namespace(model=name, model_kwargs={}, gp=None, num_classes=2, in_chans=None,
                                  input_size=None)
        torch.save({'state_dict': model.state_dict(), 'args': args, 'epoch': 1}, tmp_path / 'last.pth.tar')
        with pytest.warns(UserWarning, match=re.escape(f'names {name}, which cannot be read here ({why}')):
            load_model(str(tmp_path / 'last.pth.tar'))


def test_a_bare_deployed_smpconvnet_file_loads_as_deployed(tmp_path, capsys):
    """Trial 48: load_model of a deployed SMPConvNet's weights alone (no folder) was refused with advice to give
    large_kernel_sizes=[...], which then failed otherwise: its static kernels show their sizes, so the trained form
    they were deployed from is built, re-parameterised and loaded (its pooling assumed, with a warning, as a trained
    bare file's; given, taken); an SMP-ResNet's too. A deployed SMP-TCN (whose kernel length no shape tells) is
    refused with the file named in the hint."""
    from safetensors.torch import save_file
    from smpconvnet.cli import main as cli_main
    torch.manual_seed(0)
    trained = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(8, 8, 16, 16), in_chans=2,
                                large_kernel_sizes=(7, 7, 5, 3), small_kernel_size=3, num_classes=5,
                                global_pool='max').eval()
    deployed = copy.deepcopy(trained).reparameterize()
    file = tmp_path / 'deployed.safetensors'
    save_file(deployed.state_dict(), str(file))
    x = torch.randn(2, 2, 64, 64)
    with pytest.warns(UserWarning, match="its pooling cannot be read.*global_pool='avg' was assumed"):
        assumed, _ = load_model(str(file))
    model, description = load_model(str(file), global_pool='max')
    assert description.startswith('deployed SMPConvNet state dict of smpconvnet_t') and _is_deployed(model)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), deployed(x)) and rel_err(model(x), trained(x)) < 1e-5
        assert not torch.equal(assumed.eval()(x), deployed(x))  # (the pooling the warning names)
    assert cli_main(['info', str(file), '--model-kwargs', 'global_pool=max']) == 0
    # an SMP-ResNet's likewise: its static kernels show the kernel size, the pooling is assumed unless given
    resnet = timm.create_model('smpconv_resnet_cifar10', stem_channels=8, block_channels=(8, 12), n_points=6,
                               kernel_size=9, small_kernel_size=3, num_classes=4, in_chans=2, global_pool='max').eval()
    deployed = copy.deepcopy(resnet).reparameterize()
    save_file(deployed.state_dict(), str(tmp_path / 'resnet.safetensors'))
    with pytest.warns(UserWarning, match=r"global_pool cannot be read.*\(global_pool='avg'\)"):
        load_model(str(tmp_path / 'resnet.safetensors'))
    model, description = load_model(str(tmp_path / 'resnet.safetensors'), global_pool='max')
    assert description.startswith('deployed SMP-ResNet state dict of smpconv_resnet_cifar10') and _is_deployed(model)
    assert model.pretrained_cfg['input_size'][0] == 2  # (the file's channels, not the assumed model's 3)
    x = torch.randn(2, 2, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), deployed(x)) and rel_err(model(x), resnet(x)) < 1e-5
    # 'catavgmax' shows in the head: nothing is assumed of the architecture, its data config still is (trial 51: no
    # warning, and the registered CIFAR-10 description)
    cat = timm.create_model('smpconv_resnet_cifar10', stem_channels=8, block_channels=(8, 12), n_points=6,
                            num_classes=4, global_pool='catavgmax').eval()
    save_file(copy.deepcopy(cat).reparameterize().state_dict(), str(tmp_path / 'cat.safetensors'))
    with pytest.warns(UserWarning, match='names no model: it has the input size and normalisation'):
        model, _ = load_model(str(tmp_path / 'cat.safetensors'))
    assert 'CIFAR' not in model.pretrained_cfg.get('description', '')
    tcn = timm.create_model('smpconv_tcn_gunpoint', num_blocks=2, hidden_channels=8).eval().reparameterize(150)
    save_file(tcn.state_dict(), str(tmp_path / 'tcn.safetensors'))
    with pytest.raises(ValueError, match=re.escape(f"pretrained_cfg_overlay=dict(file='{tmp_path / 'tcn.safetensors'}')")):
        load_model(str(tmp_path / 'tcn.safetensors'))


def test_a_bare_file_loaded_for_other_channels_describes_the_models_input(tmp_path):
    """Trial 50: load_model(F, in_chans=3) of 2-channel weights adapted the first layer, but the model's
    pretrained_cfg kept the file's 2 channels (input_size, a 2-value mean / std): timm's transforms then failed on
    3-channel input. The cfg describes the model's input: the channels asked for."""
    from safetensors.torch import save_file
    for name, args in (('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), n_points=6)),
                       ('smpconv_tcn_gunpoint', dict(num_blocks=2, hidden_channels=8, n_points=6))):
        file = tmp_path / f'{name}.safetensors'
        save_file(timm.create_model(name, in_chans=2, **args).state_dict(), str(file))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # (its pooling and data config are assumed: warned)
            model, _ = load_model(str(file), in_chans=3)
            as_trained, _ = load_model(str(file))
        cfg = timm.data.resolve_data_config({}, model=model)
        assert cfg['input_size'][0] == 3 and len(cfg['mean']) == len(cfg['std']) == 3, (name, cfg)
        assert as_trained.pretrained_cfg['input_size'][0] == 2


@pytest.mark.parametrize('kwargs', [dict(trust_pickle='False'), dict(trust_pickle='no'), dict(trust_pickle=None),
                                    dict(pretrained='no'), dict(pretrained='false'), dict(pretrained=None)])
def test_load_model_refuses_flags_of_another_type(tmp_path, kwargs):
    """Trial 53: a string is truthy: load_model(F, trust_pickle='False') unpickled a checkpoint holding other objects
    (code can run), pretrained='no' loaded weights, pretrained=None gave random ones. Refused, naming the argument."""
    import fractions
    file = tmp_path / 'p.pth'
    torch.save({'state_dict': timm.create_model('smpconv_tcn_gunpoint').state_dict(), 'arch': 'smpconv_tcn_gunpoint',
                'extra': fractions.Fraction(1, 3)}, file)
    (name,) = kwargs
    with pytest.raises(ValueError, match=f'{name} must be True'):
        load_model(str(file) if name == 'trust_pickle' else 'smpconv_tcn_gunpoint', **kwargs)


def test_load_model_takes_flags_as_timm_does():
    """Trial 54: the check above refused numpy's bools and 0 / 1, which timm takes."""
    import numpy as np
    shipped = load_model('smpconv_tcn_gunpoint')[0].state_dict()
    for yes in (np.True_, 1, True):
        model = load_model('smpconv_tcn_gunpoint', pretrained=yes, trust_pickle=np.False_)[0]
        assert all(torch.equal(v, shipped[k]) for k, v in model.state_dict().items())
    assert load_model('smpconv_tcn_gunpoint', pretrained=0)[1].startswith('random weights')


@pytest.mark.parametrize('case, expected', [
    ('model_args_list', r'its "model_args" is list \[1\], expected a JSON object'),
    ('pretrained_cfg_str', r"its \"pretrained_cfg\" is str 'x', expected a JSON object"),
    ('flat', r'has no "pretrained_cfg" object, .* which global_pool, model_args, train_command are not'),
    ('unknown_arg', r"cannot build smpconv_tcn_gunpoint with its model_args .*'bogus_arg': 1.*unexpected keyword "
                    r"argument 'bogus_arg' \(SMPConvTCN takes in_chans, num_classes, num_blocks, hidden_channels, "),
    ('misspelt_arg', r"unexpected keyword argument 'hiden_channels' \(did you mean 'hidden_channels'\? SMPConvTCN "
                     r"takes in_chans, "),
])
def test_a_damaged_config_json_is_named(tmp_path, capsys, case, expected):
    """Trial 53: a config.json whose model_args or pretrained_cfg is no object, a flat config (older timm's layout)
    with keys no pretrained cfg has, or an argument the model does not take, gave bare AttributeErrors / TypeErrors in
    load_model and in every command (exit 1, a traceback): named, with what was expected (trial 54: for an argument,
    the ones the model takes, the closest first)."""
    folder = write_model_folder(timm.create_model('smpconv_tcn_gunpoint'), tmp_path / 'run', card='test',
                                model_args=dict(in_chans=1, num_classes=2))
    config = json.loads((folder / 'config.json').read_text())
    config['train_command'] = 'smpconvnet train-seq ...'
    if case == 'model_args_list':
        config['model_args'] = [1]
    elif case == 'pretrained_cfg_str':
        config['pretrained_cfg'] = 'x'
    elif case == 'flat':
        config.update(config.pop('pretrained_cfg'))
    elif case == 'misspelt_arg':
        config['model_args']['hiden_channels'] = 32
    else:
        config['model_args']['bogus_arg'] = 1
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=re.escape(str(folder / 'config.json')) + '.*' + expected):
        load_model(str(folder))
    capsys.readouterr()
    assert cli_main(['info', str(folder)]) != 0
    err = capsys.readouterr().err
    assert 'config.json' in err and 'Traceback' not in err


def test_pretrained_false_builds_a_folders_or_repos_architecture_at_random(tmp_path, monkeypatch, capsys):
    """Trial 54: load_model(FOLDER, pretrained=False) and ``info FOLDER --pretrained no`` loaded the folder's weights
    (info --help said "no: random"); timm builds local-dir: / hf-hub: without weights at random. Now as timm: the
    folder's (the repo's, a deployed folder's training form) architecture with random weights, said so in the
    description and the pretrained cfg (a registered tag's too: info showed its shipped file); a checkpoint file and
    a folder without config.json, read for their weights alone, are refused, naming what builds at random (trial
    55: the model folder a file is in, never a deployed folder, which is refused no more)."""
    from huggingface_hub import constants as hf_constants
    from conftest import add_to_hf_cache
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, global_pool='max',
                              kernel_length=32).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    deployed = tmp_path / 'deployed'
    reparameterize_to_folder(str(folder), str(deployed))
    cache = tmp_path / 'hf' / 'hub'
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    add_to_hf_cache(cache, 'me/run', folder)
    add_to_hf_cache(cache, 'me/deployed', deployed)
    trained = model.state_dict()
    x = torch.randn(2, 1, 150)
    for spec in (str(folder), f'local-dir:{folder}', 'hf-hub:me/run', str(deployed), 'hf-hub:me/deployed'):
        loaded, description = load_model(spec)
        with torch.no_grad():
            assert rel_err(loaded.eval()(x), model(x)) < 1e-5, spec  # (deployed: within float error)
        assert load_model(spec, pretrained='auto')[1] == description
        random, description = load_model(spec, pretrained=False)
        assert description.startswith('random weights (pretrained=False) in the architecture of '), description
        assert random.pretrained_cfg['description'] == description and 'file' not in random.pretrained_cfg
        # the folder's architecture (its pooling and kernel length too; a deployed one's training form), at random
        assert (random.global_pool, random.kernel_length, random.is_deployed) == ('max', 32, False)
        state = random.state_dict()
        assert state.keys() == trained.keys() and all(v.shape == trained[k].shape for k, v in state.items())
        assert not any(torch.equal(v, trained[k]) for k, v in state.items() if k.endswith('.weight')
                       and v.dim() > 1), spec
    capsys.readouterr()
    assert cli_main(['info', str(folder), '--pretrained', 'no', '--json']) == 0
    assert json.loads(capsys.readouterr().out)['weights'].startswith('random weights (pretrained=False)')
    # a registered tag built at random: its cfg no longer names the shipped file and tag
    random = load_model('smpconv_tcn_gunpoint.aeon', pretrained=False)[0]
    assert (random.pretrained_cfg.get('file'), random.pretrained_cfg.get('tag')) == (None, None)
    assert random.pretrained_cfg['input_size'] == (1, 1, 150)  # the architecture's data config stays
    (tmp_path / 'noconf').mkdir()
    shutil.copy(folder / 'model.safetensors', tmp_path / 'noconf' / 'model.safetensors')
    shutil.copy(folder / 'model.safetensors', tmp_path / 'copy.safetensors')
    drop = 'drop pretrained=False (--pretrained no) to load them, or '
    anywhere = 'give a model name, a model folder or an hf-hub: name for random weights in an architecture'
    for path, what, instead in ((folder / 'model.safetensors', 'a checkpoint file', f'{drop}give its folder {folder} '),
                                (deployed / 'model.safetensors', 'a checkpoint file', f'{drop}give its folder {deployed} '),
                                (folder / 'config.json', 'a file', f'give its folder {folder} '),
                                (tmp_path / 'copy.safetensors', 'a checkpoint file', drop + anywhere),
                                (tmp_path / 'noconf', 'a folder without config.json',
                                 f'give {tmp_path / "noconf" / "model.safetensors"} without pretrained=False '
                                 f'(--pretrained no) to load its weights, or {anywhere}')):
        message = (f'{path}: pretrained=False (--pretrained no) asks for random weights, but {what} is read for the '
                   f'weights it holds: {instead}')
        with pytest.raises(ValueError, match=re.escape(message)):
            load_model(str(path), pretrained=False)
        assert cli_main(['info', str(path), '--pretrained', 'no']) == 1
        assert message in capsys.readouterr().err
        if what == 'a checkpoint file':
            assert load_model(str(path))[0] is not None  # without it, the weights load
        if 'without pretrained=False' in instead:  # the advice, taken
            assert load_model(instead.split('give ')[1].split(' without')[0])[0] is not None
        if 'give its folder' in instead:  # the advice, taken
            assert load_model(instead.split('give its folder ')[1].split(' ')[0], pretrained=False)[0] is not None


def test_a_folder_without_weights_says_so(tmp_path, capsys):
    """Trial 55: a model folder holding a config.json and no weights (the shipped smpconvnet_t.in1k folder, whose
    weights are not published) gave timm's bare "No suitable checkpoints found" under --pretrained auto and yes:
    'auto' builds it at random, saying why (as it does for a name without weights); True names what is missing."""
    folder = write_model_folder(timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4),
                                tmp_path / 'run', card='', model_args=dict(num_blocks=1, hidden_channels=4))
    (folder / 'model.safetensors').unlink()
    model, description = load_model(str(folder), pretrained='auto')
    assert description == f'random weights (no weights file in the folder) in the architecture of {folder}'
    assert model.arch_args['hidden_channels'] == 4
    with pytest.raises(FileNotFoundError, match=re.escape(
            f'{folder} holds a config.json but no weights file (model.safetensors or pytorch_model.bin, what timm\'s '
            f'local-dir: reads): copy the weights in, or pass pretrained=False (--pretrained no)')):
        load_model(str(folder), pretrained=True)
    assert cli_main(['info', str(folder)]) == 0
    assert '(random weights)' in capsys.readouterr().out.splitlines()[0]


def test_checkpoint_path_is_named_as_the_weights(tmp_path):
    """Trial 55: checkpoint_path= (timm loads it after the build) was not in the description: reparam's card called
    a trained file's weights random (random_weights: true) under --pretrained no, and a random file's the folder's."""
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=dict(num_blocks=1, hidden_channels=4))
    other = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    torch.save(other.state_dict(), tmp_path / 'other.pth')
    # (nothing loaded before the file: no "over random weights"; trial 67b. Nor a registered name's weights by
    # default: trial 67c, the shipped ones were refused by the narrower model, whose hint asked for their width)
    for spec, pretrained, over in ((str(folder), True, f', over weights from {folder}'),
                                   ('smpconv_tcn_gunpoint', False, ''), ('smpconv_tcn_gunpoint.aeon', True, ''),
                                   (str(folder), False, f', in the architecture of {folder}')):
        loaded, description = load_model(spec, pretrained=pretrained, checkpoint_path=str(tmp_path / 'other.pth'),
                                         num_blocks=1, hidden_channels=4)
        assert description == f'weights from {tmp_path / "other.pth"} (checkpoint_path={over})'
        # (a state dict records no trained length: the cfg's, said taken for it; trial 69b)
        assert loaded.pretrained_cfg['description'] == \
            f"{description}; trained length not recorded with these weights (taken as the cfg's 150 steps)"
        assert all(torch.equal(v, other.state_dict()[k]) for k, v in loaded.state_dict().items())
    out = tmp_path / 'deployed'
    assert cli_main(['reparam', 'smpconv_tcn_gunpoint', str(out), '--pretrained', 'no', '--model-kwargs',
                     f'checkpoint_path={folder / "model.safetensors"}', 'num_blocks=1', 'hidden_channels=4']) == 0
    config = json.loads((out / 'config.json').read_text())
    assert 'random_weights' not in config and 'random' not in config['pretrained_cfg']['description'].split('over')[0]
    # trial 56: the weights of a folder reparam deployed from random weights, said to be random (its config.json
    # says so; they were headed as trained); a training-form checkpoint into a deployed folder gave torch's key list
    assert cli_main(['reparam', str(folder), str(tmp_path / 'random'), '--pretrained', 'no']) == 0
    random_file = tmp_path / 'random' / 'model.safetensors'
    description = load_model(str(out), checkpoint_path=str(random_file))[1]
    assert description == f'random weights (not trained) from {random_file} (checkpoint_path=, over deployed weights from {out})'
    with pytest.raises(ValueError, match=re.escape(
            f'checkpoint_path={tmp_path / "other.pth"} does not fit {out}, a deployed (re-parameterised) folder (Error(s) '
            f'in loading state_dict for SMPConvTCN:); a training-form checkpoint loads into its training form, which '
            f'pretrained=False (--pretrained no) builds from the folder')):
        load_model(str(out), checkpoint_path=str(tmp_path / 'other.pth'))
    loaded = load_model(str(out), pretrained=False, checkpoint_path=str(tmp_path / 'other.pth'))[0]  # the advice
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_an_hf_hub_repo_without_its_weights_is_named(tmp_path, monkeypatch):
    """Trial 56: a cached repo holding a config.json and no weights was refused as the registered tag its
    pretrained_cfg names (smpconv_tcn_gunpoint.aeon), with advice for registered names (another Hub namespace):
    the repo is named, with where it was looked for."""
    from huggingface_hub import constants as hf_constants
    from conftest import add_to_hf_cache
    folder = write_model_folder(timm.create_model('smpconv_tcn_gunpoint.aeon'), tmp_path / 'run', card='',
                                model_args={})
    (folder / 'model.safetensors').unlink()
    cache = tmp_path / 'hf' / 'hub'
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    add_to_hf_cache(cache, 'me/noweights', folder)
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"hf-hub:me/noweights: the Hub repo 'me/noweights' (revision main) could not be read from the cache "
            f"{cache} and offline mode (HF_HUB_OFFLINE=1) downloads nothing")) as e:
        load_model('hf-hub:me/noweights')
    assert 'SMPCONVNET_HUB_NAMESPACE' not in str(e.value) and 'smpconv_tcn_gunpoint.aeon' not in str(e.value)
    assert load_model('hf-hub:me/noweights', pretrained=False)[1].startswith('random weights (pretrained=False)')


@pytest.mark.parametrize('where', ['deployed', 'hf-hub', 'file', 'ensemble'])
def test_a_misspelt_argument_is_named_on_every_path(tmp_path, monkeypatch, capsys, where):
    """Trial 55: a misspelt --model-kwargs key on a deployed folder or an hf-hub: repo gave a bare traceback, on a
    checkpoint file no suggestion, on an ensemble the ensemble's own argument alone: the closest name and the
    arguments of the class that refused it, on every path."""
    from huggingface_hub import constants as hf_constants
    from conftest import add_to_hf_cache
    folder = write_model_folder(timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4),
                                tmp_path / 'run', card='', model_args=dict(num_blocks=1, hidden_channels=4))
    spec = {'file': str(folder / 'model.safetensors'), 'ensemble': 'smpconv_tcn_osuleaf.aeon'}.get(where)
    if where == 'deployed':
        spec = str(tmp_path / 'deployed')
        reparameterize_to_folder(str(folder), spec)
    if where == 'hf-hub':
        cache = tmp_path / 'hf' / 'hub'
        monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
        monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
        add_to_hf_cache(cache, 'me/run', folder)
        spec = 'hf-hub:me/run'
    expected = ("unexpected keyword argument 'hiden_channels' (did you mean 'hidden_channels'? SMPConvTCN takes "
                "in_chans, num_classes, num_blocks, hidden_channels, ")
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_model(spec, hiden_channels=4)
    # every variant's entry point takes num_members (trial 56: 'num_membrs' got 'num_blocks' suggested)
    with pytest.raises(ValueError, match=r"'num_membrs' \(did you mean 'num_members'\? .*, num_members\)"):
        load_model(spec, num_membrs=3)
    assert cli_main(['info', spec, '--model-kwargs', 'hiden_channels=4']) == 1
    err = capsys.readouterr().err
    assert expected in err and 'Traceback' not in err
