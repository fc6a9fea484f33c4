"""Warnings about a call are shown at the caller's line (smpconvnet.user_warnings), whichever path reached them:
``load_model``, timm's pretrained loading, ``load_state_dict``, ``train``. A fixed stacklevel showed internal lines
(sources.py, torch's module.py) on some of these paths."""
import warnings

import pytest
import timm
import torch
from safetensors.torch import save_file

import smpconvnet
from smpconvnet.train import seq_trainer
from smpconvnet.user_warnings import caller_stacklevel


def _warn_here():
    warnings.warn('from a function outside the package', UserWarning, stacklevel=caller_stacklevel())


def test_a_function_outside_the_package_is_its_own_caller():
    with pytest.warns(UserWarning) as record:
        _warn_here()
    assert record[0].filename == __file__ and record[0].lineno == _warn_here.__code__.co_firstlineno + 1


def test_bare_file_warnings_point_at_the_callers_line(tmp_path):
    shipped = timm.create_model('smpconv_tcn_arrowhead.aeon', pretrained=True)
    path = tmp_path / 'arrowhead.safetensors'
    save_file(shipped.state_dict(), str(path))
    with pytest.warns(UserWarning, match='names no model') as record:
        smpconvnet.load_model(str(path))
    assert [w.filename for w in record] == [__file__]
    # the arguments given: the second warning (the data config still assumed), through load_model_with_config
    with pytest.warns(UserWarning, match='it has the input length and normalisation') as record:
        smpconvnet.load_model(str(path), global_pool='last', kernel_length=None)
    assert [w.filename for w in record] == [__file__]


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_16_bit_point_coordinates_warn_at_the_load(tmp_path, dtype):
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True)
    state = {k: v.to(dtype) if k.endswith(('coords', 'radius')) else v for k, v in model.state_dict().items()}
    with pytest.warns(UserWarning, match='point coordinates and radii need float32') as record:
        model.load_state_dict(state)
    assert {w.filename for w in record} == {__file__}
    path = tmp_path / 'half.safetensors'
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    # through timm's pretrained loading (builder, load_pretrained, torch's load_state_dict)
    with pytest.warns(UserWarning, match='point coordinates and radii need float32') as record:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    assert {w.filename for w in record} == {__file__}


def test_training_option_warnings_point_at_the_train_call(tmp_path):
    cfg = seq_trainer.TrainConfig(model='smpconv_tcn_gunpoint', dataset='GunPoint', epochs=1, warmup_epochs=2,
                                  batch_size=50, output=str(tmp_path / 'run'), progress=False, threads=1,
                                  model_kwargs={'hidden_channels': 4, 'num_blocks': 1})
    with pytest.warns(UserWarning, match='--epochs 1 is less than --warmup-epochs 2') as record:
        seq_trainer.train(cfg)
    assert {w.filename for w in record if 'warmup' in str(w.message)} == {__file__}
