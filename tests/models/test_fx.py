"""torch.fx, as detection and segmentation frameworks use it: ``torch.fx.symbolic_trace``, torchvision's feature
extraction and timm's ``features_only=True, feature_cls='fx'`` trace the image families in training and deployed
form, and the traced graphs give eager's outputs. The data-dependent choices (convolution backend per shape,
memory format per device, input checks, the SMP-TCN's input layout) are fx leaves (``torch.fx.wrap``, timm's
``register_notrace_function``); the SMP-TCN's point-kernel convolution, whose kernel has as many taps as the input
has steps, is a leaf module (``register_notrace_module``), so one graph serves every input length."""
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
    # 200 steps: kernels of 200 taps go through the FFT
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=3, hidden_channels=8, n_points=4, num_classes=3, seq_len=200),
            (2, 1, 200)),
}
STAGE = {'smpconvnet': 'stages.1', 'resnet': 'blocks.1', 'tcn': 'blocks.1'}


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
        stage = STAGE[family]
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


@pytest.mark.parametrize('length', [200, 37])
def test_traced_tcn_follows_the_input_length(length):
    """One graph of the training-form SMP-TCN serves every length (its kernels are sampled for the input), in the
    [B, C, L] and the [B, C, 1, L] layout."""
    model, _ = _model('tcn', deployed=False)
    graph = torch.fx.symbolic_trace(model)
    x = torch.randn(2, 1, length)
    with torch.no_grad():
        assert rel_err(graph(x), model(x)) < 1e-6
        assert rel_err(graph(x.unsqueeze(2)), model(x)) < 1e-6
    with pytest.raises(ValueError, match='built for 1 input channel, got 3'):  # the input check stays in the graph
        graph(torch.randn(2, 3, length))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_traced_training_graph_gives_eager_gradients(family):
    model, x = _model(family, deployed=False)
    model.train()
    graph = torch.fx.symbolic_trace(model)
    torch.manual_seed(1)
    graph(x).square().sum().backward()
    traced = {n: p.grad.clone() for n, p in graph.named_parameters()}
    model.zero_grad()  # the graph holds the model's own parameters
    torch.manual_seed(1)  # the same dropout masks
    model(x).square().sum().backward()
    assert traced.keys() == {n for n, _ in model.named_parameters()}
    # relative to the largest gradient: some are zero up to rounding (an SMP bias before its training-mode
    # BatchNorm), and the eager graph may sample point kernels with its own backward (other rounding)
    scale = max(p.grad.abs().max().item() for p in model.parameters())
    for n, p in model.named_parameters():
        assert (traced[n] - p.grad).abs().max().item() <= 1e-5 * scale, n


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
def test_timm_fx_features_of_the_tcn(deployed):
    """timm's fx feature extraction of a sequence model: [B, C, 1, L] in, each block's output as the block gives it
    ([B, hidden, L]: graph nodes, unlike ``forward_intermediates``, keep the network's internal layout)."""
    from timm.models import FeatureGraphNet
    model, x = _model('tcn', deployed)
    features = FeatureGraphNet(model, out_indices=(0, 1, 2))
    with torch.no_grad():
        out = features(x.unsqueeze(2))
        expected = model.forward_intermediates(x, intermediates_only=True)
    assert [tuple(o.shape) for o in out] == [(2, 8, 200)] * 3
    for a, b in zip(out, expected):
        assert rel_err(a, b) < 1e-6


def test_feature_extractors_keep_the_input_checks():
    """torchvision's and timm's fx feature extractors keep only the nodes their outputs use: the input checks are in
    the data path, so the extracted graphs refuse what the model refuses (a deployed TCN's other lengths, an image
    size that is no multiple of the stride) instead of computing wrong features."""
    from timm.models import FeatureGraphNet
    model, x = _model('tcn', deployed=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        extractor = create_feature_extractor(model, return_nodes={'blocks.1': 'feat'})
    with pytest.raises(ValueError, match='re-parameterised for sequences of length 200, got length 150'):
        extractor(torch.randn(2, 1, 150))
    with pytest.raises(ValueError, match='re-parameterised for sequences of length 200, got length 150'):
        FeatureGraphNet(model, out_indices=(0, 1))(torch.randn(2, 1, 150))
    image, _ = _model('smpconvnet', deployed=False)
    with pytest.raises(ValueError, match='multiples of 32'):
        FeatureGraphNet(image, out_indices=(0, 1))(torch.randn(1, 3, 70, 70))


def test_features_only_tcn_deploys():
    """A ``features_only`` SMP-TCN knows its deployment length (from its pretrained cfg, as the plain model does), so
    ``timm.utils.reparameterize_model`` deploys the wrapper and the features stay the same."""
    features = timm.create_model('smpconv_tcn_osuleaf.aeon', pretrained=True, features_only=True).eval()
    deployed = reparameterize_model(features)
    x = torch.randn(2, 1, 427)
    with torch.no_grad():
        for a, b in zip(deployed(x), features(x)):
            assert rel_err(a, b) < 1e-5
