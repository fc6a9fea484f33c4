"""Inference re-parameterisation: the deployed model equals the eval-mode training form.

Tolerance: max abs error / max abs reference value <= 1e-4.
"""
import copy
import io as _io
import warnings

import pytest
import timm
import torch
import torch.nn as nn
from safetensors.torch import load_file

from smpconvnet import PointKernel
from smpconvnet.models.smpconvnet import LargeKernelDepthwiseConv2d, SMPBlock
from conftest import SMALL_IO, SMALL_KWARGS, load_smpconvnet_reference, randomize_bn, rel_err

TOL = 1e-4


def assert_deployed(model: nn.Module):
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert not any(isinstance(m, PointKernel) for m in model.modules())
    assert not any(n.endswith(('radius', 'coords')) for n, _ in model.named_parameters())
    for block in model.modules():
        if isinstance(block, SMPBlock):
            assert isinstance(block.large_kernel, LargeKernelDepthwiseConv2d)
            assert block.large_kernel.bias is not None


@pytest.fixture(scope='module')
def reference():
    model = load_smpconvnet_reference()
    deployed = timm.utils.reparameterize_model(model)
    return model, deployed, load_file(SMALL_IO)


def test_reference_network_deploys_exactly(reference):
    model, deployed, io = reference
    assert_deployed(deployed)
    with torch.no_grad():
        assert rel_err(deployed(io['input']), io['logits']) < TOL
        assert rel_err(deployed(io['input']), model(io['input'])) < TOL
        assert rel_err(deployed.forward_features(io['input']), io['features']) < TOL
    # the training form is untouched by timm's (copying) reparameterize_model
    assert any(isinstance(m, PointKernel) for m in model.modules())


def test_model_reparameterize_in_place_and_idempotent(reference):
    model, deployed, io = reference
    again = load_smpconvnet_reference()
    assert again.reparameterize() is again
    again.reparameterize()
    timm.utils.reparameterize_model(again, inplace=True)
    assert_deployed(again)
    with torch.no_grad():
        torch.testing.assert_close(again(io['input']), deployed(io['input']))


def test_smpconvnet_t_deploys_exactly():
    model = timm.create_model('smpconvnet_t')
    with torch.no_grad():
        for m in model.modules():  # outputs of a realistic magnitude, radii all over their range
            if isinstance(m, PointKernel):
                m.weights.normal_(0, 0.3)
                m.radius.uniform_(1e-3, 1.)
        model = randomize_bn(model).eval()  # (statistics of those kernels' activations)
        x = torch.randn(2, 3, 224, 224)
        ref = model(x)
        deployed = timm.utils.reparameterize_model(model)
        assert_deployed(deployed)
        assert ref.abs().max() > 1e-2
        assert rel_err(deployed(x), ref) < TOL


def test_deployed_keeps_timm_api(reference):
    model, deployed, io = reference
    x = io['input']
    with torch.no_grad():
        feats = deployed.forward_intermediates(x, intermediates_only=True)
        ref_feats = model.forward_intermediates(x, intermediates_only=True)
        for a, b in zip(feats, ref_feats):
            assert rel_err(a, b) < TOL
        pre = deployed.forward_head(deployed.forward_features(x), pre_logits=True)
        assert rel_err(pre, model.forward_head(model.forward_features(x), pre_logits=True)) < TOL
    head_reset = timm.utils.reparameterize_model(model)
    head_reset.reset_classifier(3)
    assert head_reset(x).shape == (2, 3)
    features = timm.create_model('smpconvnet_t', features_only=True, **SMALL_KWARGS)
    features = timm.utils.reparameterize_model(randomize_bn(features).eval())
    assert_deployed(features)
    assert [f.shape[1] for f in features(x)] == [16, 32, 64, 128]


def test_deployed_state_dict_roundtrip(reference):
    model, deployed, io = reference
    buffer = _io.BytesIO()
    torch.save(deployed.state_dict(), buffer)
    fresh = timm.utils.reparameterize_model(timm.create_model('smpconvnet_t', **SMALL_KWARGS))
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval()(io['input']), deployed(io['input']))


def test_torchscript_trace_and_compile(reference):
    model, deployed, io = reference
    x = io['input']
    with torch.no_grad():
        expected = deployed(x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # torch.jit deprecation notices
            scripted = torch.jit.script(deployed)
            traced = torch.jit.trace(deployed, x)
            scripted_train_form = torch.jit.script(model)
        torch.testing.assert_close(scripted(x), expected)
        torch.testing.assert_close(traced(x), expected)
        assert rel_err(scripted_train_form(x), expected) < TOL
        compiled = torch.compile(deployed)
        assert rel_err(compiled(x), expected) < TOL


def test_deployed_train_mode_is_still_a_network(reference):
    _, deployed, io = reference
    deployed = timm.utils.reparameterize_model(deployed).train()
    out = deployed(io['input'])
    out.sum().backward()  # fine-tuning a deployed model is plain convolutions
    assert deployed.stem[0].conv.weight.grad is not None


@pytest.mark.parametrize('convert', ['freeze', 'sync_bn'])
@pytest.mark.parametrize('name, kwargs, frozen', [
    ('smpconvnet_t', SMALL_KWARGS, ['stem', 'stages.0', 'stages.1']),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), kernel_size=9, n_points=6,
                                    init_radius=0.3, coord_std=0.4), ['blocks.0']),
])
def test_frozen_and_sync_batchnorms_are_folded_and_the_deployed_folder_loads(tmp_path, name, kwargs, frozen, convert):
    """The fine-tuning recipe of docs/training.md freezes the early stages (`timm.utils.freeze`: BatchNorm2d becomes
    FrozenBatchNorm2d); timm's train.py --sync-bn makes every BatchNorm a SyncBatchNorm (trial 73). Re-parameterisation
    left those in place (outputs right, but not one plain conv per block) and the model was taken for a deployed one:
    its folder did not load (missing keys)."""
    from smpconvnet.layers.reparam import is_batchnorm
    from smpconvnet.weights.folders import write_model_folder
    from smpconvnet.weights.sources import load_model
    model = randomize_bn(timm.create_model(name, **kwargs))
    if convert == 'freeze':
        timm.utils.freeze(model, frozen)
    else:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert sum(type(m).__name__ in ('FrozenBatchNorm2d', 'SyncBatchNorm') for m in model.modules()) > 0
    model.eval()
    x = torch.randn(2, 3, 64, 64) if name == 'smpconvnet_t' else torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        deployed = timm.utils.reparameterize_model(model)
        assert not any(is_batchnorm(m) for m in deployed.modules())
        assert rel_err(deployed(x), expected) < TOL
        write_model_folder(deployed, tmp_path / 'deployed', 'card', model_args=kwargs, deployed=True)
        loaded, description = load_model(str(tmp_path / 'deployed'))
        assert description.startswith('deployed weights')
        assert rel_err(loaded.eval()(x), expected) < TOL


@pytest.mark.parametrize('name,kwargs,shape', [('smpconvnet_t', SMALL_KWARGS, (2, 3, 64, 64)),
                                               ('smpconv_resnet_cifar10', {}, (2, 3, 32, 32))])
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reparameterized_inside_autocast_deploys_the_float32_weights(name, kwargs, shape, dtype):
    """timm.utils.reparameterize_model called inside an autocast region: a pre-norm folded into the following 1x1
    conv took its bias from a 16-bit matrix product (relative 3e-3 in float16, 4e-2 in bfloat16 on smpconvnet_t's
    deployed outputs: trial 75) and SMP kernels were sampled in 16 bits; the deployed weights are now those deployed
    outside it, bit for bit."""
    model = randomize_bn(timm.create_model(name, **{'num_classes': 10, **kwargs}).eval(),
                         example=torch.randn(shape, generator=torch.Generator().manual_seed(0)))
    expected = timm.utils.reparameterize_model(copy.deepcopy(model)).state_dict()
    with torch.no_grad(), torch.autocast('cpu', dtype=dtype):
        deployed = timm.utils.reparameterize_model(copy.deepcopy(model)).state_dict()
    assert expected.keys() == deployed.keys()
    assert [k for k in expected if not torch.equal(expected[k], deployed[k])] == []
