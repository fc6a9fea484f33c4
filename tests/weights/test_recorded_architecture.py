"""Weights recorded as trained with another kernel length (or pooling, or kernel sizes) than the model they are loaded
into: their shapes cannot tell it, so they loaded silently and gave other outputs. A model folder's config.json and,
since, the metadata of every model.safetensors this project writes record the architecture; timm's ways of loading a
file (``pretrained_cfg_overlay=dict(file=...)``, ``checkpoint_path=``) refuse a mismatch with hints that work as
printed, and ``load_model`` reads a bare copy's recorded values instead of assuming them."""
import re
import shutil
import warnings

import pytest
import timm
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import smpconvnet
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


def test_a_bare_copy_of_the_weights_tells_its_architecture(tmp_path):
    trained, folder = _trained_folder(tmp_path, kernel_length=16, global_pool='last')
    bare = tmp_path / 'copy.safetensors'
    shutil.copy(folder / 'model.safetensors', bare)
    recorded, where = recorded_model_args(bare)
    assert recorded['kernel_length'] == 16 and recorded['global_pool'] == 'last' and 'metadata' in where
    with safe_open(str(bare), framework='pt') as f:
        assert f.metadata()['format'] == 'pt' and RECORDED_ARGS_KEY in f.metadata()
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(bare)), **SMALL)
    assert "global_pool='last', kernel_length=16 (the model_args in its metadata)" in str(e.value)
    assert 'local-dir' not in str(e.value)  # no folder to load: the arguments are the hint
    # load_model reads them instead of assuming the family's (global_pool='last', kernel_length=None, with a warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        loaded, description = smpconvnet.load_model(str(bare))
    assert not [w for w in caught if 'cannot be read from its weights' in str(w.message)]
    assert "kernel_length=16 as recorded with it" in description
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
