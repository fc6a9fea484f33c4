"""TorchScript (``torch.jit.script``, as timm's tests and older deployment stacks use it): every family scripts in
training and deployed form and gives the eager outputs. Under TorchScript every convolution runs directly
(``F.conv2d`` / ``F.conv1d``: the FFT and Toeplitz backends and their caches stay in eager mode), so outputs agree to
float rounding. The fx graph of each family scripts too (timm's fx + TorchScript path)."""
import warnings

import pytest
import timm
import torch
from timm.layers import set_scriptable
from timm.utils import reparameterize_model

from conftest import randomize_bn, rel_err

FAMILIES = {
    'smpconvnet': ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5),
                   (2, 3, 64, 64)),
    'resnet': ('smpconv_resnet_cifar10', dict(block_channels=(8, 8), num_classes=4), (2, 3, 32, 32)),
    # 150 steps: the eager kernels of 150 taps go through the FFT, the scripted ones directly
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=2, hidden_channels=8, n_points=4, num_classes=3, seq_len=150),
            (2, 1, 150)),
}


def _model(family, deployed):
    name, kwargs, shape = FAMILIES[family]
    torch.manual_seed(0)
    with set_scriptable(True):
        model = randomize_bn(timm.create_model(name, **kwargs)).eval()
    return (reparameterize_model(model) if deployed else model), torch.randn(shape)


def _script(module):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch.jit.script is deprecated upstream, still what timm tests
        return torch.jit.script(module)


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_scripted_equals_eager(family, deployed):
    model, x = _model(family, deployed)
    scripted = _script(model)
    with torch.no_grad():
        assert rel_err(scripted(x), model(x)) < 1e-5
        if family == 'tcn':  # the [B, C, 1, L] layout of timm's tools
            assert rel_err(scripted(x.unsqueeze(2)), model(x)) < 1e-5


def test_scripted_tcn_keeps_its_checks():
    model, x = _model('tcn', deployed=False)
    scripted = _script(model)
    with pytest.raises(Exception, match='in_chans'):
        scripted(torch.randn(2, 3, 150))
    with pytest.raises(Exception, match='TorchScript'):
        scripted(x, timestamps=torch.arange(150.))
    deployed = _script(reparameterize_model(model))
    with pytest.raises(Exception, match='length 150'):
        deployed(torch.randn(2, 1, 100))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_scripted_fx_graph_equals_eager(family):
    model, x = _model(family, deployed=False)
    scripted = _script(torch.fx.symbolic_trace(model))
    with torch.no_grad():
        assert rel_err(scripted(x), model(x)) < 1e-5


@pytest.mark.parametrize('pool', ['avg', 'max', 'avgmax'])
def test_scripted_tcn_checks_lengths(pool):
    model, x = _model('tcn', deployed=False)
    model.reset_classifier(3, pool)
    scripted = _script(model)
    with pytest.raises(Exception, match=r'lengths must lie in \[1, 150\]'):
        scripted(x, lengths=torch.tensor([0, 150]))
    with pytest.raises(Exception, match='lengths must be an integer tensor of shape'):
        scripted(x, lengths=torch.tensor([1.5, 150.]))
    lengths = torch.tensor([90, 150])
    with torch.no_grad():
        assert rel_err(scripted(x, lengths=lengths), model(x, lengths=lengths)) < 1e-5
