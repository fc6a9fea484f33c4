"""timm's factory arguments: ``timm.create_model(name, device=..., dtype=...)`` creates every parameter and buffer
there and in that dtype (point coordinates and radii: float32 at least), including ``device='meta'`` followed by
``to_empty()`` and ``load_state_dict``; the classifier made by ``reset_classifier`` follows the model."""
import re

import pytest
import timm
import torch

from conftest import rel_err
from smpconvnet import PointKernel
from smpconvnet.layers import PointwiseConv2d
from smpconvnet.layers.causal_conv import CausalConv1d
from smpconvnet.layers.norm import MaskedBatchNorm1d
from smpconvnet.models.smpconvnet import LargeKernelDepthwiseConv2d

FAMILIES = {
    'smpconvnet': ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5), (2, 3, 64, 64)),
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=2, hidden_channels=8), (2, 1, 100)),
    'trained_tcn': ('smpconv_tcn_arrowhead', {}, (2, 1, 251)),  # a single trained model (centred, 33 taps)
    'resnet': ('smpconv_resnet_cifar10', dict(block_channels=(8, 8), num_classes=4), (2, 3, 32, 32)),
}
POSITIONS = ('.kernel.coords', '.kernel.radius')


def _tensors(model):
    return list(model.named_parameters()) + list(model.named_buffers())


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_meta_init_then_to_empty_and_load(family):
    name, kwargs, shape = FAMILIES[family]
    reference = timm.create_model(name, **kwargs).eval()
    model = timm.create_model(name, device='meta', dtype=torch.float32, **kwargs)
    assert {t.device.type for _, t in _tensors(model)} == {'meta'}
    model = model.to_empty(device='cpu')
    model.load_state_dict(reference.state_dict())
    x = torch.randn(shape)
    with torch.no_grad():
        assert rel_err(model.eval()(x), reference(x)) == 0.


@pytest.mark.parametrize('dtype', [torch.float64, torch.bfloat16])
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_dtype_reaches_every_parameter(family, dtype):
    name, kwargs, shape = FAMILIES[family]
    model = timm.create_model(name, device='cpu', dtype=dtype, **kwargs)
    for n, t in _tensors(model):
        if not t.is_floating_point():
            continue
        expected = torch.float32 if dtype == torch.bfloat16 and n.endswith(POSITIONS) else dtype
        assert t.dtype == expected, n
    model.reset_classifier(3)
    assert {p.dtype for p in model.get_classifier().parameters()} == {dtype}
    with torch.no_grad():
        assert model.eval()(torch.randn(shape, dtype=dtype)).dtype == dtype


def test_layers_take_factory_arguments():
    dd = dict(device='meta', dtype=torch.float64)
    layers = [PointKernel(8, 4, 2, ndim=1, **dd), PointwiseConv2d(4, 6, **dd), CausalConv1d(4, 6, 5, bias=True, **dd),
              MaskedBatchNorm1d(4, **dd), LargeKernelDepthwiseConv2d(4, 13, **dd)]
    for layer in layers:
        assert {(t.device.type, t.dtype) for _, t in _tensors(layer) if t.is_floating_point()} == {
            ('meta', torch.float64)}, type(layer).__name__
    low = PointKernel(8, 4, 2, ndim=2, dtype=torch.float16)
    assert (low.coords.dtype, low.radius.dtype, low.weights.dtype) == (torch.float32, torch.float32, torch.float16)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_meta_model_runs_to_its_output_shapes(family):
    """timm checks configurations on the meta device (no memory): the forward (both forms, autocast-free paths
    included) must run there and give the eager shapes."""
    name, kwargs, shape = FAMILIES[family]
    reference = timm.create_model(name, **kwargs).eval()
    model = timm.create_model(name, device='meta', dtype=torch.float32, **kwargs).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        expected = reference.forward_features(x).shape, reference(x).shape
        assert (model.forward_features(x.to('meta')).shape, model(x.to('meta')).shape) == expected
        model.to(torch.bfloat16)
        assert model(x.to('meta', torch.bfloat16)).dtype == torch.bfloat16


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_reset_classifier_keeps_device_dtype_and_mode(family):
    name, kwargs, _ = FAMILIES[family]
    model = timm.create_model(name, device='meta', dtype=torch.float64, **kwargs).eval()
    for pool in (None, '', 'avg'):
        model.reset_classifier(3, pool)
        assert all(not m.training for m in model.modules())
        assert {(p.device.type, p.dtype) for p in model.get_classifier().parameters()} == {('meta', torch.float64)}


@pytest.mark.parametrize('name', ['smpconvnet_t', 'smpconv_resnet_cifar10', 'smpconv_tcn_smnist'])
@pytest.mark.parametrize('arg, value, least', [('num_classes', 'abc', 0), ('num_classes', 2.0, 0),
                                               ('num_classes', -1, 0), ('in_chans', 0, 1), ('in_chans', True, 1)])
def test_class_and_channel_counts_are_checked_by_name(name, arg, value, least):
    """A wrong num_classes / in_chans (a string from a config, a float) names the argument and what it takes; in the
    image families it failed deep inside ("'>' not supported between instances of 'str' and 'int'")."""
    with pytest.raises(ValueError, match=rf'^{arg} must be an int of at least {least}, got {re.escape(repr(value))}$'):
        timm.create_model(name, **{arg: value})


@pytest.mark.parametrize('name', ['smpconvnet_t', 'smpconv_resnet_cifar10', 'smpconv_tcn_smnist'])
def test_integer_counts_of_any_type_are_taken_as_ints(name):
    """A NumPy integer or a 0-d integer tensor (``labels.max() + 1``) is a count: taken, stored as a Python int (they
    were refused with "must be an int")."""
    import numpy as np
    model = timm.create_model(name, num_classes=torch.tensor([0, 3]).max() + 1, in_chans=np.int64(2))
    assert type(model.num_classes) is int and model.num_classes == 4 and model.get_classifier().out_features == 4
    assert type(model.in_chans) is int and model.in_chans == 2
