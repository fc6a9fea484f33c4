"""Weights recorded as trained with another kernel length (or pooling, or kernel sizes) than the model they are loaded
into: their shapes cannot tell it, so they loaded silently and gave other outputs. A model folder's config.json and,
since, the metadata of every model.safetensors this project writes record the architecture; timm's ways of loading a
file (``pretrained_cfg_overlay=dict(file=...)``, ``checkpoint_path=``) refuse a mismatch with hints that work as
printed, and ``load_model`` reads a bare copy's recorded values instead of assuming them."""
import copy
import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
import timm
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import smpconvnet
from conftest import rel_err
from smpconvnet.models import RECORDED_ARGS_KEY, recorded_model_args
from smpconvnet.weights.folders import write_model_folder

SMALL = dict(num_blocks=2, hidden_channels=8, n_points=6)


def _trained_folder(tmp_path, name='run', **arch):
    """A model folder as train-seq / reparam write it, of an SMP-TCN built with ``arch`` (its weights randomised, its
    BatchNorm statistics moved off the defaults so that a wrong load shows)."""
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL, **arch).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    folder = write_model_folder(model, tmp_path / name, card='test', model_args=model.arch_args)
    return model, folder


def _call_in(message):
    # the timm.create_model(...) call a message prints, as a user would copy it
    return re.search(r"timm\.create_model\('local-dir:[^']+', pretrained=True\)", message).group(0)


def test_a_folders_weights_of_another_kernel_length_are_refused_with_working_hints(tmp_path):
    trained, folder = _trained_folder(tmp_path, kernel_length=16)
    x = torch.randn(2, 1, 150)
    expected = trained(x)
    file = folder / 'model.safetensors'
    with pytest.raises(ValueError) as e:  # the variant's whole-series kernels: loaded silently before
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)), **SMALL)
    message = str(e.value)
    assert message.startswith(f'pretrained weights for smpconv_tcn_gunpoint: {file} was trained with kernel_length=16')
    assert 'kernel_length=None' in message and 'pass kernel_length=16 to timm.create_model' in message
    # both hints, as printed
    as_trained = eval(_call_in(message), {'timm': timm}).eval()
    asked = timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)),
                              kernel_length=16, **SMALL).eval()
    with torch.no_grad():
        assert torch.equal(as_trained(x), expected) and torch.equal(asked(x), expected)
    # timm's checkpoint_path= (read after the build) is checked the same way
    with pytest.raises(ValueError, match=f'checkpoint_path for smpconv_tcn_gunpoint: {re.escape(str(file))} was '
                                         f'trained with kernel_length=16'):
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(file), **SMALL)
    # another kernel length asked for is taken as asked (an SMP kernel resampled on purpose)
    resampled = timm.create_model('smpconv_tcn_gunpoint', pretrained=True, kernel_length=32,
                                  pretrained_cfg_overlay=dict(file=str(file)), **SMALL).eval()
    assert resampled.kernel_length == 32


def test_a_copy_of_the_weights_tells_its_trained_length(tmp_path):
    """Trial 68 B: a copy of a sequence model folder's model.safetensors recorded its model arguments, not the length
    its weights were trained at (a run on GunPoint padded to 300 was scored at the registered 150, 0.66 for 0.94). The
    metadata records it beside them, as a JSON entry no argument can be named (one key: see below), which
    recorded_model_args leaves out; an untrained model records none, nor does an image model."""
    from smpconvnet.models import RECORDED_TRAINED_LENGTH, recorded_trained_length
    from smpconvnet.weights.folders import retrained_cfg, set_pretrained_cfg
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL)
    set_pretrained_cfg(model, retrained_cfg(model.pretrained_cfg, input_size=(1, 1, 300),
                                            description='trained with smpconvnet train-seq on GunPoint'))
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=dict(SMALL))
    shutil.copy(folder / 'model.safetensors', tmp_path / 'copy.safetensors')
    with safe_open(str(tmp_path / 'copy.safetensors'), framework='pt') as f:
        assert list(f.metadata()) == [RECORDED_ARGS_KEY]
        assert json.loads(f.metadata()[RECORDED_ARGS_KEY])[RECORDED_TRAINED_LENGTH] == 300
    assert recorded_trained_length(tmp_path / 'copy.safetensors') == 300
    assert RECORDED_TRAINED_LENGTH not in recorded_model_args(tmp_path / 'copy.safetensors')[0]
    loaded = timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / 'copy.safetensors'), **SMALL)
    assert loaded.pretrained_cfg['input_size'] == (1, 1, 300) and loaded.seq_len == 300
    # load_model of the copy alone (it names no model): built for 300 steps, not the assumed model's length
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        bare = smpconvnet.load_model(str(tmp_path / 'copy.safetensors'))[0]
    assert bare.pretrained_cfg['input_size'] == (1, 1, 300) and 'input length' not in bare.pretrained_cfg[
        'description'].split(';')[0]
    # its first layer adapted to other channels: said (trial 68c F1: a bare file's description did not)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        three = smpconvnet.load_model(str(tmp_path / 'copy.safetensors'), in_chans=3)[0]
    assert "first layer adapted to 3 input channels from the weights' 1" in three.pretrained_cfg['description']
    assert three.pretrained_cfg['input_size'] == (3, 1, 300)
    # ... and keeps it where it is saved or deployed again (trial 68b: push_model's card said "assumed L = 300" of
    # a file that recorded 150, reparam wrote a file that recorded none and did not warn)
    from smpconvnet.weights.push import push_model
    push_model(bare, 'me/x', dry_run=str(tmp_path / 'card'), quiet=True)
    assert '(trained at L = 300)' in (tmp_path / 'card' / 'README.md').read_text()
    assert recorded_trained_length(tmp_path / 'card' / 'model.safetensors') == 300
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        other = smpconvnet.load_model(str(tmp_path / 'copy.safetensors'), seq_len=200)[0]
    assert other.pretrained_cfg['description'].endswith('seq_len=200, its deployment length (trained at 300)')
    from smpconvnet.weights.deploy import reparameterize_to_folder
    with pytest.warns(UserWarning, match='deployed for 200 steps: its kernels span the whole input'):
        reparameterize_to_folder(str(tmp_path / 'copy.safetensors'), str(tmp_path / 'bare200'),
                                 model_kwargs=dict(seq_len=200), quiet=True)
    assert recorded_trained_length(tmp_path / 'bare200' / 'model.safetensors') == 300
    random = write_model_folder(timm.create_model('smpconv_tcn_gunpoint', seq_len=300, **SMALL), tmp_path / 'r',
                                card='', model_args=dict(SMALL, seq_len=300))
    assert recorded_trained_length(random / 'model.safetensors') is None  # (seq_len is a deployment length)
    image = write_model_folder(timm.create_model('smpconv_resnet_cifar10'), tmp_path / 'img', card='',
                               model_args={'num_classes': 10})
    with safe_open(str(image / 'model.safetensors'), framework='pt') as f:
        assert RECORDED_TRAINED_LENGTH not in json.loads(f.metadata()[RECORDED_ARGS_KEY])
    # a deployed file of it, for 200 steps, loaded into the training form's name: deployed for 200, trained at 300,
    # as its folder says (trial 68 D: said nothing, and scored without a warning)
    reparameterize_to_folder(str(folder), str(tmp_path / 'dep200'), input_size=(1, 200), quiet=True)
    shutil.copy(tmp_path / 'dep200' / 'model.safetensors', tmp_path / 'dep200.safetensors')
    for file in (tmp_path / 'dep200' / 'model.safetensors', tmp_path / 'dep200.safetensors'):
        cfg = timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(file), **SMALL).pretrained_cfg
        assert cfg['input_size'] == (1, 1, 200) and '(trained at 300)' in cfg['description'], file


def test_a_bare_copy_of_the_weights_tells_its_architecture(tmp_path):
    """A copy of a folder's model.safetensors carries the folder's record: load_model builds it as recorded (every
    argument: use_fft was left out, 4e-6 off), timm's pretrained overlay into another model is refused."""
    trained, folder = _trained_folder(tmp_path, kernel_length=16, global_pool='last', use_fft=True)
    bare = tmp_path / 'copy.safetensors'
    shutil.copy(folder / 'model.safetensors', bare)
    recorded, where = recorded_model_args(bare)
    assert recorded['kernel_length'] == 16 and recorded['global_pool'] == 'last' and 'metadata' in where
    with safe_open(str(bare), framework='pt') as f:
        assert list(f.metadata()) == [RECORDED_ARGS_KEY]  # one key: see the test below
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(bare)), **SMALL)
    assert "global_pool='last', kernel_length=16, use_fft=True (the model_args in its metadata)" in str(e.value)
    assert 'local-dir' not in str(e.value)  # no folder to load: the arguments are the hint
    # load_model reads them instead of assuming the family's (global_pool='last', kernel_length=None, with a warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        loaded, description = smpconvnet.load_model(str(bare))
    assert not [w for w in caught if 'cannot be read from its weights' in str(w.message)]
    assert "kernel_length=16, use_fft=True as recorded with it" in description
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), trained(x))


def test_weights_with_nothing_recorded_load_as_before(tmp_path):
    """A state dict saved without metadata (``save_file`` of a ``state_dict()``) tells nothing: loaded as the caller
    builds it, as timm does."""
    trained, _ = _trained_folder(tmp_path, kernel_length=16)
    plain = tmp_path / 'plain.safetensors'
    save_file(trained.state_dict(), str(plain))
    assert recorded_model_args(plain) == (None, '')
    model = timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(plain)),
                              kernel_length=16, **SMALL).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(model(x), trained(x))


def test_the_shipped_weights_load_as_registered():
    """Every shipped folder records its architecture (config.json), which is now checked: each registered variant
    matches its own."""
    from smpconvnet.models.seq_zoo import SEQ_ZOO
    for name in SEQ_ZOO:
        folder_args, _ = recorded_model_args(smpconvnet.models.WEIGHTS_DIR / f'{name}.aeon' / 'model.safetensors')
        model = timm.create_model(f'{name}.aeon', pretrained=True)
        for key in smpconvnet.models.SHAPE_BLIND_ARGS['tcn']:  # (folders of older cards record what was given)
            assert model.arch_args[key] == folder_args.get(key, model.arch_args[key]), (name, key)
        if model.arch_args['kernel_length'] is not None:
            assert folder_args['kernel_length'] == model.arch_args['kernel_length'], name


def test_an_smp_resnets_kernel_size_is_checked(tmp_path):
    args = dict(stem_channels=8, block_channels=(8, 12), n_points=6, init_radius=0.3, coord_std=0.4)
    trained = timm.create_model('smpconv_resnet_cifar10', kernel_size=9, **args).eval()
    folder = write_model_folder(trained, tmp_path / 'resnet', card='test', model_args=dict(kernel_size=9, **args))
    file = folder / 'model.safetensors'
    with pytest.raises(ValueError, match='was trained with kernel_size=9 .* is built with kernel_size=33'):
        timm.create_model('smpconv_resnet_cifar10', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)),
                          **args)
    with pytest.raises(ValueError, match='checkpoint_path for smpconv_resnet_cifar10: .*kernel_size=9'):
        timm.create_model('smpconv_resnet_cifar10', checkpoint_path=str(file), **args)
    x = torch.randn(1, 3, 32, 32)
    loaded = eval(_call_in(str(pytest.raises(ValueError, timm.create_model, 'smpconv_resnet_cifar10', pretrained=True,
                                              pretrained_cfg_overlay=dict(file=str(file)), **args).value)),
                  {'timm': timm}).eval()
    with torch.no_grad():
        assert torch.equal(loaded(x), trained(x))


def test_an_smpconvnets_kernel_sizes_are_checked(tmp_path):
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5)
    trained = timm.create_model('smpconvnet_t', large_kernel_sizes=(31, 29, 27, 15), **args).eval()
    folder = write_model_folder(trained, tmp_path / 'net', card='test',
                                model_args=dict(large_kernel_sizes=(31, 29, 27, 15), **args))
    with pytest.raises(ValueError, match=r'large_kernel_sizes=\[31, 29, 27, 15\] .* large_kernel_sizes=\[31, 29, 27, '
                                         r'13\]'):
        timm.create_model('smpconvnet_t', pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(folder / 'model.safetensors')), **args)


def test_a_train_seq_runs_weights_record_their_architecture(tmp_path):
    """Trial 29: train-seq wrote its model.safetensors without the record, so a copy of a run's weights still loaded
    silently into a model of another kernel length."""
    from smpconvnet.cli import main as cli_main
    run = tmp_path / 'run'
    assert cli_main(['train-seq', '--model', 'smpconv_tcn_gunpoint', '--dataset', 'GunPoint', '--epochs', '1',
                     '--threads', '1', '--no-progress', '--no-test', '--output', str(run), '--model-kwargs',
                     'kernel_length=16', 'num_blocks=1', 'hidden_channels=4']) == 0
    copy = tmp_path / 'copy.safetensors'
    shutil.copy(run / 'model.safetensors', copy)
    assert recorded_model_args(copy)[0]['kernel_length'] == 16
    with pytest.raises(ValueError, match=f'{re.escape(str(copy))} was trained with kernel_length=16 .*metadata'):
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(copy)),
                          num_blocks=1, hidden_channels=4)
    x = torch.randn(2, 1, 150)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the assumed input length and normalisation of a bare file
        loaded, _ = smpconvnet.load_model(str(copy))
    trained = timm.create_model(f'local-dir:{run}', pretrained=True).eval()
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), trained(x))


def test_recorded_none_values_get_a_hint_that_works(tmp_path):
    """Trial 29: 'pass kernel_length=None to timm.create_model' could not work (timm drops None arguments): where a
    recorded value is None, the hint is the folder (local-dir:) or smpconvnet.load_model, which reads the record."""
    trained, folder = _trained_folder(tmp_path, num_classes=6)  # whole-series kernels: kernel_length=None
    bare = tmp_path / 'bare.safetensors'
    shutil.copy(folder / 'model.safetensors', bare)
    x = torch.randn(2, 1, 100)
    for file in (folder / 'model.safetensors', bare):
        with pytest.raises(ValueError) as e:  # registered with 32 taps
            timm.create_model('smpconv_tcn_osuleaf', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)),
                              **SMALL)
        message = str(e.value)
        assert 'kernel_length=None' in message and 'pass kernel_length=None' not in message
        call = re.search(r"smpconvnet\.load_model\('[^']+'\)", message).group(0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            loaded, _ = eval(call, {'smpconvnet': smpconvnet})
        with torch.no_grad():
            assert torch.equal(loaded.eval()(x), trained(x))
    assert 'local-dir' in str(pytest.raises(ValueError, timm.create_model, 'smpconv_tcn_osuleaf', pretrained=True,
                                            pretrained_cfg_overlay=dict(file=str(folder / 'model.safetensors')),
                                            **SMALL).value)


def test_the_hints_work_on_the_command_line(tmp_path, capsys):
    """Trial 29: a command that loads a registered name with other weights printed Python only; the hint now names the
    command-line form too (the folder as the model, or --model-kwargs), each working as printed."""
    import shlex
    from smpconvnet.cli import main as cli_main
    _, folder = _trained_folder(tmp_path, kernel_length=16)
    base = ['info', 'smpconv_tcn_gunpoint', '--model-kwargs', 'num_blocks=2', 'hidden_channels=8', 'n_points=6',
            'pretrained_cfg_overlay=' + json.dumps({'file': str(folder / 'model.safetensors')})]
    assert cli_main(base) == 1
    err = capsys.readouterr().err
    # (the command's own --model-kwargs with the recorded value, to give in their place)
    words = shlex.split(re.search(r'a command: --model-kwargs ([^)]+)\)', err).group(1))
    assert words == base[3:] + ['kernel_length=16']
    assert cli_main(base[:3] + words) == 0
    assert cli_main(['info', re.search(r'a command: give it ([^)]+)\)', err).group(1)]) == 0


def test_the_features_only_hint_carries_the_recorded_values(tmp_path):
    """Trial 29: timm's checkpoint_path= with features_only=True is refused with a hint to load the file as
    pretrained weights; the hint left out the recorded kernel length and ran into the kernel-length refusal."""
    trained, folder = _trained_folder(tmp_path, kernel_length=16)
    file = str(folder / 'model.safetensors')
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=file, features_only=True, **SMALL)
    call = re.search(r'timm\.create_model\(.*\)\)$', str(e.value)).group(0)
    assert 'kernel_length=16' in call
    features = eval(call, {'timm': timm}).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(features(x)[-1], trained.forward_features(x))


def test_an_smpconvnets_pooling_is_checked(tmp_path):
    """Trial 29: an SMPConvNet's 'max' pooling changes no shape and was not checked."""
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5)
    trained = timm.create_model('smpconvnet_t', global_pool='max', **args).eval()
    folder = write_model_folder(trained, tmp_path / 'net', card='test', model_args=dict(global_pool='max', **args))
    with pytest.raises(ValueError, match="was trained with global_pool='max' .* is built with global_pool='avg'"):
        timm.create_model('smpconvnet_t', pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(folder / 'model.safetensors')), **args)
    bare = tmp_path / 'bare.safetensors'
    shutil.copy(folder / 'model.safetensors', bare)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded, _ = smpconvnet.load_model(str(bare))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), trained(x))


def test_saving_the_same_weights_twice_gives_the_same_bytes(tmp_path):
    """safetensors writes its metadata map in a random order each time (safetensors issue 584): with two keys, about
    every other save of the same weights differed byte for byte (a folder re-made from its card's command did in CI).
    Twenty model folders of one model are one file."""
    model = timm.create_model('smpconv_tcn_gunpoint', kernel_length=16, **SMALL)
    files = set()
    for i in range(20):
        write_model_folder(model, tmp_path / str(i), card='test', model_args=model.arch_args)
        files.add((tmp_path / str(i) / 'model.safetensors').read_bytes())
    assert len(files) == 1



def test_a_train_seq_checkpoint_records_its_architecture(tmp_path):
    """train-seq's OUTPUT/checkpoint.pth records its architecture (config['model_args']): timm's checkpoint_path= and
    a pretrained overlay of it into a model of another kernel length and causality are refused (both loaded before,
    one of them silently); the hint names every argument to pass, and copied gives the run's model."""
    pytest.importorskip('aeon')
    from smpconvnet.train import seq_trainer
    arch = dict(num_blocks=1, hidden_channels=4, n_points=4, kernel_length=9, causal=False)
    seq_trainer.train(seq_trainer.TrainConfig(
        model='smpconv_tcn_smnist', model_kwargs=arch, dataset='JapaneseVowels', epochs=1, batch_size=64, lr=1e-2,
        warmup_epochs=0, output=str(tmp_path / 'run'), progress=False, threads=0, eval_test=False))
    ckpt = tmp_path / 'run' / seq_trainer.CHECKPOINT_NAME
    recorded, where = recorded_model_args(ckpt)
    assert recorded['kernel_length'] == 9 and recorded['causal'] is False and where == "its train-seq config's model_args"
    # built as sMNIST's variant (6 blocks of 30 channels, 10 classes, 1 input channel): the hint names every
    # recorded argument the model is built otherwise with (it named the kernel's alone: its shapes then failed)
    for how in (dict(checkpoint_path=str(ckpt)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(ckpt)))):
        with pytest.raises(ValueError) as e:
            timm.create_model('smpconv_tcn_smnist', **how)
        message = str(e.value)
        assert f'{ckpt} was trained with kernel_length=9, causal=False, in_chans=12, num_classes=9' in message, message
        hint = re.search(r'pass (.+) to timm\.create_model', message).group(1)
        model = eval(f'timm.create_model("smpconv_tcn_smnist", **how, {hint})', {'timm': timm, 'how': how}).eval()
        expected = smpconvnet.load_model(str(ckpt))[0].eval()
        x = torch.randn(2, 12, 29)
        with torch.no_grad():
            assert torch.equal(model(x), expected(x))


def test_a_train_py_checkpoint_records_the_model_it_names(tmp_path):
    """A train.py checkpoint's record is the model its args name (args.model), built with the command's arguments:
    OSULeaf's registered 32-tap kernels and mean pooling loaded silently into another variant (only the command's
    arguments were recorded), and a None among them, which timm's create_model drops, was read as the record."""
    import argparse
    args = dict(num_classes=2, in_chans=1)
    trained = timm.create_model('smpconv_tcn_osuleaf', num_members=1, **args).eval()
    namespace = argparse.Namespace(model='smpconv_tcn_osuleaf', model_kwargs=dict(num_members=1, kernel_length=None),
                                   gp=None, input_size=None, **args)
    path = tmp_path / 'last.pth.tar'
    torch.save(dict(epoch=3, arch='smpconvtcn', state_dict=trained.state_dict(), args=namespace), path)
    recorded, where = recorded_model_args(path)
    assert recorded['kernel_length'] == 32 and recorded['global_pool'] == 'avg' and 'smpconv_tcn_osuleaf' in where
    x = torch.randn(2, 1, 427)
    with torch.no_grad():
        expected = trained(x)
        loaded, _ = smpconvnet.load_model(str(path))
        assert torch.equal(loaded.eval()(x), expected)
        # the model it names loads it (the None was refused as recorded)
        same = timm.create_model('smpconv_tcn_osuleaf', num_members=1, checkpoint_path=str(path), **args).eval()
        assert torch.equal(same(x), expected)
        with pytest.raises(ValueError) as e:
            timm.create_model('smpconv_tcn_chartraj', checkpoint_path=str(path), **args)
        assert "was trained with global_pool='avg', kernel_length=32" in str(e.value)
        hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
        copied = eval(f'timm.create_model("smpconv_tcn_chartraj", checkpoint_path=path, **args, {hint})',
                      {'timm': timm, 'path': str(path), 'args': args}).eval()
        assert torch.equal(copied(x), expected)


def test_a_train_py_checkpoint_records_its_model_kwargs(tmp_path):
    """timm train.py's checkpoints record the command's --model-kwargs and --gp (args): a pretrained overlay of one
    into a model with another pooling is refused, naming it."""
    import argparse
    model = timm.create_model('smpconv_tcn_gunpoint', kernel_length=16, **SMALL)
    args = argparse.Namespace(model='smpconv_tcn_gunpoint', model_kwargs=dict(kernel_length=16, **SMALL), gp='max',
                              num_classes=None, in_chans=None, input_size=None)
    path = tmp_path / 'last.pth.tar'
    torch.save(dict(epoch=3, arch='smpconv_tcn_gunpoint', state_dict=model.state_dict(), args=args), path)
    recorded, where = recorded_model_args(path)
    assert recorded.items() >= dict(kernel_length=16, global_pool='max', **SMALL).items() and 'train.py' in where
    with pytest.raises(ValueError, match=r"trained with global_pool='max', kernel_length=16 \(its train\.py args: "
                                         r"smpconv_tcn_gunpoint with the command's model arguments\)"):
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)),
                          **SMALL)


def test_the_hint_names_every_recorded_argument_of_every_family(tmp_path):
    """A refusal's hint, copied, loads the weights in one go: an ensemble's member count (it was left out, and the
    filter then refused the single model), one model's into a variant registered as an ensemble (num_members=1), an
    SMP-ResNet's widths recorded by train.py (the hint named the pooling and kernel size alone: a shape error next)."""
    import argparse
    ensemble = timm.create_model('smpconv_tcn_gunpoint', num_members=2, kernel_length=16, **SMALL).eval()
    path = tmp_path / 'ensemble.safetensors'
    save_file(ensemble.state_dict(), str(path), metadata=smpconvnet.models.recorded_args_metadata(ensemble.arch_args))
    single = timm.create_model('smpconv_tcn_gunpoint', kernel_length=16, use_fft=True, **SMALL).eval()
    save_file(single.state_dict(), str(tmp_path / 'single.safetensors'),
              metadata=smpconvnet.models.recorded_args_metadata(single.arch_args))
    x = torch.randn(2, 1, 150)
    for file, variant, expected in ((path, 'smpconv_tcn_chartraj', ensemble),
                                    (tmp_path / 'single.safetensors', 'smpconv_tcn_osuleaf', single)):
        with pytest.raises(ValueError) as e:
            timm.create_model(variant, checkpoint_path=str(file))
        hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
        assert f'num_members={getattr(expected, "num_members", 1)}' in hint
        copied = eval(f'timm.create_model({variant!r}, checkpoint_path={str(file)!r}, {hint})', {'timm': timm}).eval()
        with torch.no_grad():
            assert torch.equal(copied(x), expected(x))
    kwargs = dict(stem_channels=8, block_channels=(8, 16), kernel_size=9, n_points=6, num_classes=3)
    resnet = timm.create_model('smpconv_resnet_cifar10', global_pool='max', **kwargs).eval()
    args = argparse.Namespace(model='smpconv_resnet_cifar10', model_kwargs=kwargs, gp='max', num_classes=3,
                              in_chans=None, input_size=None)
    torch.save(dict(epoch=1, state_dict=resnet.state_dict(), args=args), tmp_path / 'resnet.pth.tar')
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_resnet_cifar10', checkpoint_path=str(tmp_path / 'resnet.pth.tar'))
    assert "device" not in str(e.value)  # (the record's model is built on the meta device: not the record's)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("smpconv_resnet_cifar10", checkpoint_path={str(tmp_path / "resnet.pth.tar")!r}, '
                  f'{hint})', {'timm': timm}).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(copied(x), resnet(x))


def test_one_members_record_into_a_registered_ensemble_is_refused_with_its_whole_record(tmp_path):
    """One OSULeaf member trained by train.py on two classes, loaded into the variant (an ensemble of 5): its record's
    checked arguments all agree, so it passed the record check; the filter then asked for num_members=1 alone, and
    with it timm met the head of 2 classes as a raw size mismatch. The refusal now names the member count and the
    classes in one hint, which loads the weights as trained; an ensemble's record into one model likewise."""
    import argparse
    args = dict(num_classes=2, in_chans=1)
    member = timm.create_model('smpconv_tcn_osuleaf', num_members=1, **args).eval()
    namespace = argparse.Namespace(model='smpconv_tcn_osuleaf', model_kwargs=dict(num_members=1), gp=None,
                                   input_size=None, **args)
    path = tmp_path / 'last.pth.tar'
    torch.save(dict(epoch=3, arch='smpconv_tcn_osuleaf', state_dict=member.state_dict(), args=namespace), path)
    x = torch.randn(2, 1, 427)
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_osuleaf', checkpoint_path=str(path))
    assert ('was trained with num_classes=2, num_members=1' in str(e.value)
            and 'is built with num_classes=6, num_members=5' in str(e.value))
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("smpconv_tcn_osuleaf", checkpoint_path={str(path)!r}, {hint})',
                  {'timm': timm}).eval()
    with torch.no_grad():
        assert torch.equal(copied(x), member(x))
    with pytest.raises(ValueError) as e:  # into one model: the member count agrees, and is not listed as differing
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(path))
    assert 'num_members' not in str(e.value).split('load them as trained')[0]

    ensemble = timm.create_model('smpconv_tcn_gunpoint', num_members=2, **SMALL).eval()
    file = tmp_path / 'ensemble.safetensors'
    save_file(ensemble.state_dict(), str(file), metadata=smpconvnet.models.recorded_args_metadata(ensemble.arch_args))
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)), **SMALL)
    assert 'was trained with num_members=2' in str(e.value) and 'is built with num_members=1' in str(e.value)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("smpconv_tcn_gunpoint", pretrained=True, '
                  f'pretrained_cfg_overlay=dict(file={str(file)!r}), **SMALL, {hint})',
                  {'timm': timm, 'SMALL': SMALL}).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(copied(x), ensemble(x))


def _copy_of_the_hint(variant, how, args, match, pattern=r'pass (.+) to timm\.create_model'):
    """The model ``timm.create_model(variant, **how, **args)`` refuses (its message matching ``match``), built again
    with the refusal's hint (``pattern``'s group) copied literally."""
    with pytest.raises(ValueError, match=match) as e:
        timm.create_model(variant, **how, **args)
    hint = re.search(pattern, str(e.value)).group(1)
    return eval(f'timm.create_model({variant!r}, **how, **args, {hint})', {'timm': timm, 'how': how, 'args': args}).eval()


def _below_the_default_bound(family):
    """(variant, arguments, input, model): a model of ``family`` built with r_min=1e-6 whose radii lie between that
    bound and the family's default one, so that a model of the default bound reads them clamped."""
    if family == 'tcn':
        variant, args, x = 'smpconv_tcn_gunpoint', dict(SMALL), torch.randn(2, 1, 150)
    elif family == 'resnet':
        variant = 'smpconv_resnet_cifar10'
        args, x = dict(stem_channels=8, block_channels=(8, 12), n_points=6, kernel_size=9), torch.randn(1, 3, 32, 32)
    else:
        variant, x = 'smpconvnet_t', torch.randn(1, 3, 64, 64)
        args = dict(layers=(1, 1, 1, 1), channels=(8, 8, 8, 8), large_kernel_sizes=(7, 7, 5, 5), num_classes=5)
    torch.manual_seed(0)
    trained = timm.create_model(variant, r_min=1e-6, **args).eval()
    with torch.no_grad():  # radii between the trained bound and the default one (1e-4 / 1e-3): clamped by the default
        for name, p in trained.named_parameters():
            if name.endswith('radius'):
                p.uniform_(2e-6, 5e-5)
            elif name.endswith('coords') and family != 'tcn':
                p.fill_(1e-5)  # (beside the grid's centre: the kernel there reads the radius)
            elif name.endswith('kernel.weights'):
                p.normal_(0, 1)
    return variant, args, x, trained


@pytest.mark.parametrize('family', ['tcn', 'resnet', 'smpconvnet'])
def test_a_smaller_radius_bound_than_the_models_is_checked(tmp_path, family):
    """Radii trained below the model's ``r_min`` (the radius bound, recorded; the kernel reads its radii clamped to
    it) loaded silently into a model of the default bound and gave other outputs: refused like a kernel length, the
    hint loading them as trained."""
    variant, args, x, trained = _below_the_default_bound(family)
    default = timm.create_model(variant, **args).eval()
    default.load_state_dict(trained.state_dict())
    with torch.no_grad():
        assert not torch.equal(default(x), trained(x))  # (what loading them silently gave)
    folder = write_model_folder(trained, tmp_path / 'run', card='test', model_args=dict(args, r_min=1e-6))
    file = folder / 'model.safetensors'
    for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))), dict(checkpoint_path=str(file))):
        copied = _copy_of_the_hint(variant, how, args, r'was trained with r_min=1e-06 .* is built with r_min=0\.00?01')
        with torch.no_grad():
            assert torch.equal(copied(x), trained(x))
    loaded, _ = smpconvnet.load_model(str(file))
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), trained(x))


@pytest.mark.parametrize('family', ['tcn', 'resnet', 'smpconvnet'])
def test_deployed_weights_load_whatever_radius_bound_was_recorded(tmp_path, family):
    """Trial 41: a deployed (re-parameterised) file holds no radii, so its recorded r_min changes nothing: it loads
    into a model of the default bound (refused by the r_min check at first), equal to the deployed network."""
    from timm.utils import reparameterize_model
    variant, args, x, trained = _below_the_default_bound(family)
    if family == 'tcn':
        deployed = smpconvnet.weights.deploy.deploy(trained, x[:1])
        recorded = dict(args, r_min=1e-6, seq_len=x.shape[-1])
    else:
        deployed = reparameterize_model(trained)
        recorded = dict(args, r_min=1e-6)
    file = write_model_folder(deployed, tmp_path / 'deployed', card='test', model_args=recorded) / 'model.safetensors'
    extra = dict(seq_len=x.shape[-1]) if family == 'tcn' else {}
    with torch.no_grad():
        expected = deployed(x)
        for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))),
                    dict(checkpoint_path=str(file))):
            loaded = timm.create_model(variant, **how, **args, **extra).eval()
            assert torch.equal(loaded(x), expected)


@pytest.mark.parametrize('family', ['tcn', 'resnet', 'smpconvnet'])
def test_radii_below_the_bound_of_a_file_without_a_record_are_warned(tmp_path, family):
    """Trial 41: a bare state dict records no r_min; radii below the model's bound show it was trained with a smaller
    one (training keeps them within it): every loading path warns, naming the argument that loads them as trained."""
    variant, args, x, trained = _below_the_default_bound(family)
    path = tmp_path / 'bare.pth'
    torch.save(trained.state_dict(), path)
    with pytest.warns(UserWarning, match=r'SMP point radii are below the radius bound') as caught:
        loaded = timm.create_model(variant, checkpoint_path=str(path), **args).eval()
    hint = re.search(r'pass (r_min=\S+) where the model is built', str(caught[-1].message)).group(1)
    with pytest.warns(UserWarning, match=r'radius bound'):
        timm.create_model(variant, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)), **args)
    with pytest.warns(UserWarning, match=r'radius bound'):
        smpconvnet.load_model(str(path), **args)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the hint, copied: loaded as trained, no warning
        copied = eval(f'timm.create_model({variant!r}, checkpoint_path={str(path)!r}, **args, {hint})',
                      {'timm': timm, 'args': args}).eval()
    with torch.no_grad():
        assert not torch.equal(loaded(x), trained(x))
        assert torch.equal(copied(x), trained(x))


def test_a_refusal_offers_the_folder_only_where_its_config_builds_the_weights(tmp_path):
    """Trial 41: a folder's config.json without r_min (local-dir: builds the default) beside weights whose metadata
    records r_min=1e-6 and radii below the default: the refusal's first hint was the failing call itself. The folder
    is offered only where its config builds the recorded values; the other hint loads the weights as trained. Trial
    42: a config without a key whose value is the default's, or with other settings that change no weight (dropout),
    loads as before."""
    variant, args, x, trained = _below_the_default_bound('tcn')
    folder = write_model_folder(trained, tmp_path / 'run', card='test', model_args=dict(args, r_min=1e-6))
    config = json.loads((folder / 'config.json').read_text())
    del config['model_args']['r_min']
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r'was trained with r_min=1e-06') as e:
        timm.create_model(f'local-dir:{folder}', pretrained=True)
    assert 'local-dir' not in str(e.value).split('load them as trained:')[1]
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("local-dir:{folder}", pretrained=True, {hint})', {'timm': timm}).eval()
    with torch.no_grad():
        assert torch.equal(copied(x), trained(x))
    # a key left out whose value is the default's, and an edited dropout: the same network (as before)
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL).eval()
    folder = write_model_folder(model, tmp_path / 'plain', card='test', model_args=model.arch_args)
    config = json.loads((folder / 'config.json').read_text())
    config['model_args'].pop('zero_pad_to')
    config['model_args']['dropout'] = 0.3
    (folder / 'config.json').write_text(json.dumps(config))
    with torch.no_grad():
        assert torch.equal(timm.create_model(f'local-dir:{folder}', pretrained=True).eval()(x), model(x))


def test_radii_at_the_bound_are_not_warned_in_any_precision(tmp_path):
    """Radii stored at the bound (where training's projection puts them) do not warn, also where half precision
    rounds the bound below itself (bfloat16's 1e-3: 0.000999)."""
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        model = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(8, 8, 8, 8), num_classes=5)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith('radius'):
                    p.fill_(0).clamp_(model.stages[0].blocks[0].large_kernel.smp.conv.kernel.r_min, 1.)
        path = tmp_path / f'{dtype}.pth'
        torch.save({k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
        with warnings.catch_warnings(record=True) as caught:  # (16-bit radii warn of their precision themselves)
            warnings.simplefilter('always')
            timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(8, 8, 8, 8), num_classes=5,
                              checkpoint_path=str(path))
        assert not [w for w in caught if 'radius bound' in str(w.message)], dtype


def test_another_recorded_radius_bound_loads_where_no_radius_lies_below_the_models(tmp_path):
    """Trial 42: weights recorded with r_min=1e-6 whose radii all lie above the model's bound are the same network in
    a model of the default bound (nothing is clamped): they load, equal, on both routes (refused at first)."""
    model = timm.create_model('smpconv_tcn_gunpoint', r_min=1e-6, **SMALL).eval()  # (radii from 0.012 up)
    file = write_model_folder(model, tmp_path / 'run', card='test', model_args=dict(SMALL, r_min=1e-6))
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file / 'model.safetensors'))),
                    dict(checkpoint_path=str(file / 'model.safetensors'))):
            assert torch.equal(timm.create_model('smpconv_tcn_gunpoint', **how, **SMALL).eval()(x), model(x))


@pytest.mark.parametrize('value', [0.0, -0.01, 3.0, float('nan'), float('inf')])
def test_radii_no_training_keeps_are_called_damaged(tmp_path, value):
    """Trials 42-43: no bound keeps a radius at or below 0 (r_min > 0), above 1 (the upper bound: read clamped, 0.42
    off) or not finite (every output NaN): the warning says the file is damaged or edited (silent before, for the
    last three), instead of naming an r_min= that would be refused."""
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL)
    state_dict = model.state_dict()
    state_dict['blocks.0.conv1.smp.kernel.radius'][0, 0] = value
    torch.save(state_dict, tmp_path / 'damaged.pth')
    with pytest.warns(UserWarning, match=r'blocks\.0\.conv1\.smp\.kernel\.radius \(1, .*a damaged or edited file') as w:
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / 'damaged.pth'), **SMALL)
    assert not [m for m in w if 'pass r_min=' in str(m.message)]


def test_config_edits_that_change_no_output_load(tmp_path):
    """Trial 43: a folder's config.json whose init_radius, coord_std (initialisation only) or r_min (clamping none of
    its radii) differ from its weights' metadata was refused as not describing them: it loads, equal. An r_min that
    clamps its radii is still refused."""
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL).eval()  # (radii from 0.012 up)
    x = torch.randn(2, 1, 150)
    folder = write_model_folder(model, tmp_path / 'run', card='test', model_args=model.arch_args)
    original = (folder / 'config.json').read_text()
    for key, value in (('init_radius', 0.5), ('coord_std', 0.3), ('r_min', 1e-3), ('r_min', 1e-6)):
        config = json.loads(original)
        config['model_args'][key] = value
        (folder / 'config.json').write_text(json.dumps(config))
        with torch.no_grad():
            assert torch.equal(timm.create_model(f'local-dir:{folder}', pretrained=True).eval()(x), model(x)), key
    config = json.loads(original)
    config['model_args']['r_min'] = 0.05
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r'records r_min=0\.05 .* r_min=0\.0001: the config.json does not describe'):
        timm.create_model(f'local-dir:{folder}', pretrained=True)


@pytest.mark.parametrize('below', ['ema', 'weights'])
def test_the_radius_check_reads_the_weights_timm_loads(tmp_path, below):
    """Trial 43: timm's load_checkpoint(use_ema=False) (validate.py's default) loads a checkpoint's 'state_dict', not
    its EMA weights; the r_min check read the EMA ones: refused weights it would load unclamped, and let through
    weights it clamps (0.49 off, warned only as a bare state dict)."""
    import argparse
    from timm.models import load_checkpoint as timm_load_checkpoint
    load_checkpoint = smpconvnet.models.with_checkpoint_checks(timm_load_checkpoint)  # (as `smpconvnet validate`)
    trained = timm.create_model('smpconv_tcn_gunpoint', r_min=1e-5, **SMALL).eval()
    low = {k: v.clone() for k, v in trained.state_dict().items()}
    for k in low:
        if k.endswith('radius'):
            low[k].fill_(3e-5)
    high = trained.state_dict()
    weights, ema = (high, low) if below == 'ema' else (low, high)
    args = argparse.Namespace(model='smpconv_tcn_gunpoint', model_kwargs=dict(SMALL, r_min=1e-5), gp=None,
                              num_classes=None, in_chans=None, input_size=None)
    torch.save({'state_dict': weights, 'state_dict_ema': ema, 'args': args, 'epoch': 1}, tmp_path / 'ck.pth.tar')
    model = timm.create_model('smpconv_tcn_gunpoint', **SMALL).eval()
    if below == 'ema':  # the weights loaded are not clamped by the default bound: the same network
        load_checkpoint(model, str(tmp_path / 'ck.pth.tar'), use_ema=False)
        expected = timm.create_model('smpconv_tcn_gunpoint', r_min=1e-5, **SMALL).eval()
        expected.load_state_dict(weights)
        x = torch.randn(2, 1, 150)
        with torch.no_grad():
            assert torch.equal(model(x), expected(x))
    else:
        with pytest.raises(ValueError, match='was trained with r_min=1e-05'):
            load_checkpoint(model, str(tmp_path / 'ck.pth.tar'), use_ema=False)


def test_remapped_loads_are_checked_for_their_radii_too(tmp_path):
    """Trial 44: timm's load_checkpoint(..., remap=True) skipped the radius checks (a clamped load, 2.5% off, and NaN
    radii, loaded without a word)."""
    variant, args, x, trained = _below_the_default_bound('tcn')
    torch.save(trained.state_dict(), tmp_path / 'bare.pth')
    load_checkpoint = smpconvnet.models.with_checkpoint_checks(timm.models.load_checkpoint)
    with pytest.warns(UserWarning, match='radius bound'):
        load_checkpoint(timm.create_model(variant, **args), str(tmp_path / 'bare.pth'), remap=True)


def test_a_refusal_names_what_makes_another_network_not_the_initialisation(tmp_path):
    """Trial 44: a run trained with another init_radius (initialisation only) was refused as 'trained with r_min=...,
    init_radius=...': the refusal names r_min alone; its hint still carries every recorded value."""
    variant, args, x, trained = _below_the_default_bound('tcn')
    file = write_model_folder(trained, tmp_path / 'run', card='test',
                              model_args=dict(args, r_min=1e-6, init_radius=3e-5)) / 'model.safetensors'
    with pytest.raises(ValueError, match=r'was trained with r_min=1e-06 \(') as e:
        timm.create_model(variant, checkpoint_path=str(file), **args)
    assert 'init_radius=3e-05' in str(e.value).split('load them as trained')[1]


def test_a_config_disagreeing_with_its_weights_matters_only_where_the_model_is_built_from_it(tmp_path):
    """Trial 44: a folder whose config.json was edited away from its weights' metadata was refused where the caller
    passed the recorded value to local-dir: (the network built is the one trained), and on timm's routes that never
    read the config (checkpoint_path=, the pretrained overlay) with the file's own arguments. Both load, equal; the
    config's value built as it stands is still refused."""
    variant, args, x, trained = _below_the_default_bound('tcn')
    folder = write_model_folder(trained, tmp_path / 'run', card='test', model_args=trained.arch_args)
    config = json.loads((folder / 'config.json').read_text())
    config['model_args'].update(r_min=1e-4, global_pool='max')
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match='the config.json does not describe these weights'):
        timm.create_model(f'local-dir:{folder}', pretrained=True)
    with pytest.raises(ValueError, match='the config.json does not describe these weights'):  # (one of two given)
        timm.create_model(f'local-dir:{folder}', pretrained=True, r_min=1e-6)
    file = str(folder / 'model.safetensors')
    with torch.no_grad():
        asked = timm.create_model(f'local-dir:{folder}', pretrained=True, r_min=1e-6, global_pool='avg').eval()
        assert torch.equal(asked(x), trained(x))
        for how in (dict(checkpoint_path=file), dict(pretrained=True, pretrained_cfg_overlay=dict(file=file))):
            assert torch.equal(timm.create_model(variant, **how, **args, r_min=1e-6).eval()(x), trained(x))
        # (and without the arguments, the record check of those routes refuses as for any file)
        with pytest.raises(ValueError, match='was trained with r_min=1e-06'):
            timm.create_model(variant, checkpoint_path=file, **args)


FAMILIES = {
    'smpconv_tcn_smnist': (dict(num_blocks=3, hidden_channels=8, n_points=6), (64,)),
    'smpconv_resnet_cifar10': (dict(block_channels=(8, 16), kernel_size=7), (32, 32)),
    'smpconvnet_t': (dict(layers=(1, 1, 1, 1), channels=(8, 16, 24, 32), large_kernel_sizes=(7, 7, 7, 7)), (64, 64)),
}


def _edited_cfg(config, key, value):
    # the pretrained_cfg's statement of key (what timm builds a model with where model_args lack it)
    if key == 'in_chans':
        config['pretrained_cfg']['input_size'] = [value, *config['pretrained_cfg']['input_size'][1:]]
    else:
        config['pretrained_cfg']['num_classes'] = config['num_classes'] = value


@pytest.mark.parametrize('name', list(FAMILIES))
@pytest.mark.parametrize('key, other', [('num_classes', 3), ('in_chans', 1)])
@pytest.mark.parametrize('writer', ['project', 'timm'])
def test_a_config_without_the_class_count_or_channels_builds_its_pretrained_cfg(tmp_path, name, key, other, writer):
    """Trial 45 / 46: a folder whose config.json's model_args lost num_classes (or in_chans) is built, as timm builds
    any model, with its pretrained_cfg's (num_classes, input_size), which state its weights': it loads as trained
    (an SMP-TCN was built with the variant's: a new random head, 0.41 off, or a stem summed to other channels, silently,
    from the project's writer and from timm's save_for_hf alike). Where the pretrained_cfg states another value too,
    weights that record theirs (the project's writer) are refused with a hint that loads them as trained; timm's
    writer records none, and the pretrained_cfg is all there is."""
    args, size = FAMILIES[name]
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=5, in_chans=2, **args).eval()
    if writer == 'project':
        folder = write_model_folder(model, tmp_path / 'run', card='test', model_args=dict(
            getattr(model, 'arch_args', None) or dict(num_classes=5, in_chans=2, **args)))
    else:
        folder = tmp_path / 'run'
        timm.models.save_for_hf(model, str(folder), safe_serialization=True)
    config = json.loads((folder / 'config.json').read_text())
    del config['model_args'][key]
    (folder / 'config.json').write_text(json.dumps(config))
    x = torch.randn(2, 2, *size)
    with torch.no_grad():
        assert torch.equal(timm.create_model(f'local-dir:{folder}', pretrained=True).eval()(x), model(x))
        assert torch.equal(smpconvnet.load_model(folder)[0].eval()(x), model(x))
    if writer == 'timm':
        return
    _edited_cfg(config, key, other)
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f'was trained with {key}=') as e:
        timm.create_model(f'local-dir:{folder}', pretrained=True)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f'timm.create_model("local-dir:{folder}", pretrained=True, {hint})', {'timm': timm}).eval()
    with torch.no_grad():
        assert torch.equal(copied(x), model(x))
    if key == 'num_classes':
        # features come before the classifier: the class count the config states changes none of them (trial 46: it
        # was refused)
        features = timm.create_model(f'local-dir:{folder}', pretrained=True, features_only=True).eval()
        wanted = timm.create_model(f'local-dir:{folder}', pretrained=True, features_only=True, num_classes=5).eval()
        with torch.no_grad():
            assert all(torch.equal(a, b) for a, b in zip(features(x), wanted(x)))


def test_smpconvnet_weights_of_other_channels_unasked_get_the_projects_refusal(tmp_path):
    """Trial 48: SMPConvNet weights of 2 input channels into a model of its cfg's 3, through the overlay, got timm's
    RuntimeError (\'correct the source pretrained_cfg\'), through checkpoint_path= a bare size mismatch: refused as the
    other families refuse them, naming the file and the in_chans= that loads them, which copied loads them exactly."""
    args, size = FAMILIES['smpconvnet_t']
    model = timm.create_model('smpconvnet_t', num_classes=5, in_chans=2, **args).eval()
    file = tmp_path / 'two.safetensors'
    save_file(model.state_dict(), str(file))
    x = torch.randn(2, 2, *size)
    for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))), dict(checkpoint_path=str(file))):
        with pytest.raises(ValueError, match=f'{file} does not fit the model: checkpoint has 2 input channels in its '
                                             r'first layer \(stem.0.conv.weight\), and the model 3.*in_chans=2') as e:
            timm.create_model('smpconvnet_t', num_classes=5, **args, **how)
        asked = re.search(r'create the model with (in_chans=\d+)', str(e.value)).group(1)
        copied = eval(f'timm.create_model("smpconvnet_t", num_classes=5, **args, **how, {asked})',
                      {'timm': timm, 'args': args, 'how': how}).eval()
        with torch.no_grad():
            assert torch.equal(copied(x), model(x))
    deployed = copy.deepcopy(model).reparameterize()  # (a deployed file: the same)
    save_file(deployed.state_dict(), str(tmp_path / 'deployed.safetensors'))
    with pytest.raises(ValueError, match='checkpoint has 2 input channels'):
        timm.create_model('smpconvnet_t', num_classes=5, **args, checkpoint_path=str(tmp_path / 'deployed.safetensors'))
    # ImageNet-channel weights into in_chans=1, asked for: timm's adaptation, as before (the first conv summed)
    rgb = timm.create_model('smpconvnet_t', num_classes=5, **args).eval()
    save_file(rgb.state_dict(), str(tmp_path / 'rgb.safetensors'))
    grey = timm.create_model('smpconvnet_t', num_classes=5, in_chans=1, **args, pretrained=True,
                             pretrained_cfg_overlay=dict(file=str(tmp_path / 'rgb.safetensors'))).eval()
    with torch.no_grad():
        assert rel_err(grey(x[:, :1]), rgb(x[:, :1].expand(-1, 3, -1, -1))) < 1e-5


@pytest.mark.parametrize('name', ['smpconv_tcn_smnist', 'smpconv_resnet_cifar10'])
def test_weights_whose_cfg_states_other_channels_are_not_adapted(tmp_path, name):
    """Trial 46: a folder saved by timm (no record with the weights) whose config.json lost in_chans and whose
    pretrained_cfg's input_size states 1 channel for 2-channel weights was built with 1 channel and its first layer
    summed to it, silently (timm refuses such a first conv: it adapts one only from the channels its cfg states).
    Refused, naming the weights' channels; a caller's own in_chans still adapts them, as timm's contract asks."""
    args, size = FAMILIES[name]
    model = timm.create_model(name, num_classes=5, in_chans=2, **args).eval()
    folder = tmp_path / 'run'
    timm.models.save_for_hf(model, str(folder), safe_serialization=True)
    config = json.loads((folder / 'config.json').read_text())
    del config['model_args']['in_chans']
    _edited_cfg(config, 'in_chans', 1)
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r'has 2 input channels in its first layer .*, and the model 1.*in_chans=2'):
        timm.create_model(f'local-dir:{folder}', pretrained=True)
    x = torch.randn(2, 2, *size)
    with torch.no_grad():
        assert torch.equal(timm.create_model(f'local-dir:{folder}', pretrained=True, in_chans=2).eval()(x), model(x))
        one = timm.create_model(f'local-dir:{folder}', pretrained=True, in_chans=1).eval()  # asked for: adapted
        assert rel_err(one(x[:, :1]), model(x[:, :1].expand(-1, 2, *([-1] * len(size))))) < 1e-5
    # a weights file named by an overlay alone, into the variant's cfg (1 or 3 channels), the same
    file = folder / 'model.safetensors'
    with pytest.raises(ValueError, match='has 2 input channels'):
        timm.create_model(name, pretrained=True, num_classes=5, **args, pretrained_cfg_overlay=dict(file=str(file)))
    # and a checkpoint_path= (trial 47: adapted there, silently); asked for, adapted as on the pretrained route
    with pytest.raises(ValueError, match='has 2 input channels'):
        timm.create_model(name, num_classes=5, **args, checkpoint_path=str(file))
    one = timm.create_model(name, num_classes=5, in_chans=1, **args, checkpoint_path=str(file)).eval()
    with torch.no_grad():
        assert rel_err(one(x[:, :1]), model(x[:, :1].expand(-1, 2, *([-1] * len(size))))) < 1e-5


def test_a_partial_record_of_one_model_into_an_ensemble_gets_num_members_in_its_hint(tmp_path):
    """Trial 48: one model's weights whose record is partial (an older folder's: the kernel length alone) into a
    variant registered as an ensemble: the hint named the kernel length alone, and the filter then refused the single
    model (two steps). Its keys hold no members: the hint says num_members=1 too, and loads it in one go."""
    single = timm.create_model('smpconv_tcn_osuleaf', num_members=1, kernel_length=16, **SMALL).eval()
    path = tmp_path / 'partial.safetensors'
    save_file(single.state_dict(), str(path), metadata={RECORDED_ARGS_KEY: json.dumps(dict(kernel_length=16))})
    with pytest.raises(ValueError, match='was trained with kernel_length=16') as e:
        timm.create_model('smpconv_tcn_osuleaf', checkpoint_path=str(path), **SMALL)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    assert 'num_members=1' in hint
    copied = eval(f'timm.create_model("smpconv_tcn_osuleaf", checkpoint_path={str(path)!r}, **SMALL, {hint})',
                  {'timm': timm, 'SMALL': SMALL}).eval()
    x = torch.randn(2, 1, 427)
    with torch.no_grad():
        assert torch.equal(copied(x), single(x))


def test_a_partial_record_is_not_offered_as_the_model_trained(tmp_path):
    """Trial 50: an ensemble's weights whose record holds its widths alone, refused by a single model, were said to
    record 'the model it was trained as: smpconvnet.load_model(F) builds that model'; load_model then assumed the
    kernel length and pooling (warned) and gave other outputs. A record without what no shape tells is not offered."""
    ensemble = timm.create_model('smpconv_tcn_osuleaf', num_members=2, **SMALL).eval()
    path = tmp_path / 'partial.safetensors'
    save_file(ensemble.state_dict(), str(path), metadata={RECORDED_ARGS_KEY: json.dumps(SMALL)})
    with pytest.raises(ValueError, match='ensemble of 2') as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    assert 'records the model it was trained as' not in str(e.value)
    # (a whole record is offered: test_sources' trial-34 test copies that hint)


@pytest.mark.parametrize('variant, args, size', [
    ('smpconv_tcn_gunpoint', dict(num_blocks=2, hidden_channels=8, n_points=6), (150,)),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), n_points=6), (32, 32)),
    ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(8, 8, 16, 16)), (64, 64)),
])
@pytest.mark.parametrize('deployed', [False, True])
def test_weights_of_another_size_and_other_channels_get_one_refusal(tmp_path, variant, args, size, deployed):
    """Trial 50: weights of another size and other input channels were refused for their channels first, naming
    in_chans alone, then, given it, for their size (SMP-ResNet, SMP-TCN, a deployed SMPConvNet): the size refusal
    comes first, its hint naming the channels too, and copied it loads them exactly."""
    trained = timm.create_model(variant, in_chans=2, **args).eval()
    if deployed:
        trained.reparameterize(*([size[0]] if 'tcn' in variant else []))
    file = tmp_path / 'weights.safetensors'
    save_file(trained.state_dict(), str(file))
    for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))), dict(checkpoint_path=str(file))):
        fitting = _copy_of_the_hint(variant, how, {}, r'pass .*in_chans=2.* to timm\.create_model')
        x = torch.randn(2, 2, *size)
        with torch.no_grad():
            assert torch.equal(fitting(x), trained(x))


@pytest.mark.parametrize('variant, args, size', [
    ('smpconv_tcn_gunpoint', dict(num_blocks=2, hidden_channels=8, n_points=6), (150,)),
    ('smpconv_tcn_osuleaf', dict(num_blocks=2, hidden_channels=8, n_points=6), (150,)),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), n_points=6), (32, 32)),
    ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(8, 8, 16, 16)), (64, 64)),
])
def test_a_classifier_of_another_count_names_num_classes(tmp_path, variant, args, size):
    """Trial 50: weights whose classifier has another class count than the model (num_classes forgotten) got torch's
    bare size mismatch: refused naming both counts and num_classes=, which copied keeps the trained classifier
    (another count, on the pretrained route, still trains a new one: timm's fine-tuning idiom)."""
    trained = timm.create_model(variant, num_classes=7, **args).eval()
    file = tmp_path / 'seven.safetensors'
    save_file(trained.state_dict(), str(file))
    x = torch.randn(2, trained.pretrained_cfg['input_size'][0], *size)
    for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))), dict(checkpoint_path=str(file))):
        copied = _copy_of_the_hint(variant, how, args, f'{file} does not fit the model: checkpoint has a classifier of '
                                                       r'7 classes, the model \d+: pass num_classes=7',
                                   r'pass (num_classes=\d+)')
        with torch.no_grad():
            assert torch.equal(copied(x), trained(x))
    new = timm.create_model(variant, **args, num_classes=3, pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))
    assert new.num_classes == 3
    # a new classifier of the registered count (timm keeps the file's where the count is its cfg's): the refusal says
    # how (trial 51: it said 'num_classes= of your own classes', which is the refused call), and that copied works
    registered = timm.create_model(variant, **args).num_classes
    with pytest.raises(ValueError) as e:
        timm.create_model(variant, **args, num_classes=registered, pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(file)))
    overlay = re.search(r'pretrained_cfg_overlay=(dict\([^)]*\)) with num_classes=(\d+)', str(e.value))
    assert int(overlay.group(2)) == registered
    new = eval(f'timm.create_model({variant!r}, **args, pretrained=True, pretrained_cfg_overlay={overlay.group(1)}, '
               f'num_classes={registered})', {'timm': timm, 'args': args})
    assert new.num_classes == registered


@pytest.mark.parametrize('variant, args, size', [
    ('smpconv_tcn_gunpoint', dict(num_blocks=2, hidden_channels=8, n_points=6), (150,)),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), n_points=6), (32, 32)),
    ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(8, 8, 16, 16)), (64, 64)),
])
def test_weights_of_other_channels_and_classes_get_one_refusal(tmp_path, variant, args, size):
    """Trial 51: weights of the model's size but other input channels and classes were refused for their channels
    (in_chans=2 alone), then, given it, for their classifier: one refusal names both, and copied it loads them."""
    trained = timm.create_model(variant, in_chans=2, num_classes=5, **args).eval()
    file = tmp_path / 'weights.safetensors'
    save_file(trained.state_dict(), str(file))
    x = torch.randn(2, 2, *size)
    for how in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))), dict(checkpoint_path=str(file))):
        copied = _copy_of_the_hint(variant, how, args, 'checkpoint has 2 input channels',
                                   r'create the model with (in_chans=2, num_classes=5) \(a command')
        with torch.no_grad():
            assert torch.equal(copied(x), trained(x))


@pytest.mark.parametrize('older_timm, safetensors', [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize('name', list(FAMILIES))
def test_a_pooling_recorded_at_the_config_root_only_is_the_weights(tmp_path, monkeypatch, name, older_timm,
                                                                  safetensors):
    """A model folder whose config.json gives the pooling at its root and not in model_args (timm's
    save_config_for_hf writes it there, read off the saved head; older timm wrote no model_args): timm's local-dir: /
    hf-hub: ignore the root and built the default mean pooling around max-pooled weights, silently (0.055 off for an
    SMP-TCN). timm's paths refuse, naming the pooling, with a hint that copied loads them exactly; load_model builds
    the recorded pooling, from a folder and from the Hub cache. Trial 53: a Hub repo holding save_for_hf's default
    pytorch_model.bin alone went unchecked (loaded silently mean-pooled, 0.073 off)."""
    from huggingface_hub import constants as hf_constants
    from conftest import add_to_hf_cache
    args, size = FAMILIES[name]
    torch.manual_seed(0)
    # (with no model_args, the variant's own architecture: the pretrained_cfg tells the class count alone)
    model = timm.create_model(name, num_classes=5, global_pool='max', **({} if older_timm else args)).eval()
    folder = tmp_path / 'run'
    timm.models.save_for_hf(model, str(folder), safe_serialization=safetensors)
    config = json.loads((folder / 'config.json').read_text())
    assert config['global_pool'] == 'max'
    del config['model_args']['global_pool']
    if older_timm:  # no model_args at all: the class count and channels come from the pretrained_cfg
        del config['model_args']
    (folder / 'config.json').write_text(json.dumps(config))
    cache = tmp_path / 'hf' / 'hub'
    add_to_hf_cache(cache, 'someone/max-pooled', folder)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    x = torch.randn(2, model.pretrained_cfg['input_size'][0], *size)
    for spec in (f'local-dir:{folder}', 'hf-hub:someone/max-pooled'):
        with pytest.raises(ValueError, match=r"trained with global_pool='max' \(.*the global_pool at .*root") as e:
            timm.create_model(spec, pretrained=True)
        hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
        assert 'local-dir:' not in str(e.value).split('load them as trained')[1]  # the refused call is no hint
        copied = eval(f'timm.create_model({spec!r}, pretrained=True, {hint})', {'timm': timm}).eval()
        loaded = smpconvnet.load_model(folder if spec.startswith('local-dir:') else spec)[0].eval()
        with torch.no_grad():
            assert torch.equal(copied(x), model(x))
            assert torch.equal(loaded(x), model(x))
    # a caller's own pooling stands (a new head is the caller's to train): built as asked, nothing refused
    assert smpconvnet.load_model(folder, global_pool='avg')[0].eval()


def test_a_root_pooling_the_model_does_not_take_names_the_config(tmp_path):
    """Trial 53: a hand-edited root global_pool the family does not take ('catavgmax' on an SMP-TCN) failed in
    load_model with the model's own error, though the caller had passed no global_pool: the config is named."""
    args, _ = FAMILIES['smpconv_tcn_smnist']
    folder = tmp_path / 'run'
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_smnist', **args), str(folder), safe_serialization=True)
    config = json.loads((folder / 'config.json').read_text())
    config['global_pool'] = 'catavgmax'
    del config['model_args']['global_pool']
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=re.escape(str(folder / 'config.json')) + r" records global_pool='catavgmax' "
                                         r'at its root .*which the model does not take'):
        smpconvnet.load_model(folder)


def test_a_folders_own_arguments_are_not_taken_as_asked(tmp_path):
    """Trial 62: a train.py checkpoint fine-tuned from a local-dir: folder with --gp max loaded silently into
    timm.create_model('local-dir:FOLDER', checkpoint_path=...), an average-pooled network (logits 0.053 off): timm
    passes the folder's config.json arguments as if the caller had given them (global_pool='avg'), and values the
    caller gives are taken as asked. The folder's own are not; the refusal's hint no longer repeats timm's
    pretrained_model_args, and copied it loads the weights as trained."""
    import argparse
    from smpconvnet.cli import main
    fixture = Path(__file__).resolve().parents[1] / 'fixtures' / 'official_smpconvnet_small.safetensors'
    assert main(['convert', str(fixture), str(tmp_path / 'small')]) == 0
    folder = f"local-dir:{tmp_path / 'small'}"
    trained = timm.create_model(folder, pretrained=True, num_classes=3, global_pool='max').eval()
    args = argparse.Namespace(model=folder, gp='max', num_classes=3, input_size=[3, 64, 64], in_chans=None,
                              model_kwargs={})
    path = tmp_path / 'last.pth.tar'
    torch.save(dict(epoch=0, state_dict=trained.state_dict(), args=args), path)
    with pytest.raises(ValueError) as e:
        timm.create_model(folder, checkpoint_path=str(path), num_classes=3)
    assert "was trained with global_pool='max'" in str(e.value) and 'pretrained_model_args' not in str(e.value)
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    assert hint == "global_pool='max'"
    x = torch.randn(2, 3, 64, 64)
    copied = eval(f'timm.create_model(folder, checkpoint_path=path, num_classes=3, {hint})',
                  {'timm': timm, 'folder': folder, 'path': str(path)}).eval()
    with torch.no_grad():
        assert torch.equal(copied(x), trained(x))
    # a value the caller gives otherwise than the folder is still taken as asked
    avg = timm.create_model(folder, checkpoint_path=str(path), num_classes=3, global_pool='avgmax')
    assert avg.head.global_pool.pool_type == 'avgmax'


def test_checkpoint_path_adapts_an_image_models_first_layer_where_in_chans_is_asked(tmp_path):
    """Trial 62: timm.create_model(..., checkpoint_path=FILE, in_chans=1) of 3-channel SMPConvNet weights failed in
    the strict load with torch's bare size mismatch (the pretrained_cfg_overlay route adapts it): adapted as timm
    adapts a pretrained first conv, exact for one channel (a grey image as its three channels)."""
    args = dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], num_classes=10)
    trained = timm.create_model('smpconvnet_t', **args).eval()
    path = tmp_path / 'w.pth'
    torch.save(trained.state_dict(), path)
    grey = timm.create_model('smpconvnet_t', checkpoint_path=str(path), in_chans=1, **args).eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        assert rel_err(grey(x), trained(x.repeat(1, 3, 1, 1))) < 1e-5
