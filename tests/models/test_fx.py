"""torch.fx, as detection and segmentation frameworks use it: ``torch.fx.symbolic_trace``, torchvision's feature
extraction and timm's ``features_only=True, feature_cls='fx'`` trace the image families in training and deployed
form, and the traced graphs give eager's outputs. The data-dependent choices (convolution backend per shape,
memory format per device, input checks) are fx leaves (``torch.fx.wrap``, timm's ``register_notrace_function``).

Not yet: the SMP-TCN (its kernel has as many taps as the input has steps, which a symbolic trace cannot size)."""
import warnings

import pytest
import timm
import torch
from timm.utils import reparameterize_model
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from conftest import randomize_bn, rel_err

FAMILIES = {
    # 224 px: the deployed stages run through the FFT and Toeplitz backends (outside the graph, as leaves)
    'smpconvnet': ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5),
                   (2, 3, 224, 224)),
    'resnet': ('smpconv_resnet_cifar10', dict(block_channels=(8, 8), num_classes=4), (2, 3, 32, 32)),
}


def _model(family, deployed, **extra):
    name, kwargs, shape = FAMILIES[family]
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model(name, **kwargs, **extra)).eval()
    return (reparameterize_model(model) if deployed else model), torch.randn(shape)


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_symbolic_trace_equals_eager(family, deployed):
    model, x = _model(family, deployed)
    graph = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        assert rel_err(graph(x), model(x)) < 1e-6


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_torchvision_feature_extractor_equals_intermediates(family, deployed):
    model, x = _model(family, deployed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torchvision's note on train / eval node names
        _, eval_nodes = get_graph_node_names(model)
        stage = 'stages.1' if family == 'smpconvnet' else 'blocks.1'
        assert any(n.startswith(stage + '.') for n in eval_nodes)  # traced into, not a leaf
        extractor = create_feature_extractor(model, return_nodes={stage: 'feat'})
    with torch.no_grad():
        expected = model.forward_intermediates(x, indices=[1], intermediates_only=True)[0]
        assert rel_err(extractor(x)['feat'], expected) < 1e-6


def test_timm_fx_features_equal_intermediates():
    fx_model, x = _model('smpconvnet', False, features_only=True, feature_cls='fx')
    model, _ = _model('smpconvnet', False)
    state = {k[len('graph_module.'):]: v for k, v in fx_model.state_dict().items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith('head.') for k in missing)
    with torch.no_grad():
        features = fx_model(x)
        expected = model.forward_intermediates(x, intermediates_only=True)
    assert len(features) == len(expected) == 4
    for a, b in zip(features, expected):
        assert rel_err(a, b) < 1e-6


def test_timm_fx_features_of_the_deployed_model():
    """Deploy first, then extract (an fx graph holds plain containers, which have nothing to re-parameterise)."""
    from timm.models import FeatureGraphNet
    model, x = _model('smpconvnet', deployed=True)
    features = FeatureGraphNet(model, out_indices=(0, 1, 2, 3))
    with torch.no_grad():
        for a, b in zip(features(x), model.forward_intermediates(x, intermediates_only=True)):
            assert rel_err(a, b) < 1e-6
