"""timm's own model test conventions (tests/test_models.py upstream), applied to the registered SMPConvNets."""
import warnings

import pytest
import timm
import torch

MODELS = ['smpconvnet_t', 'smpconvnet_b']
# input sizes as upstream: forward at the default size, backward at 128, torchscript at 128, features at 96
BWD_SIZE, JIT_SIZE, FEAT_SIZE = 128, 128, 96


@pytest.fixture(scope='module', params=MODELS)
def model_name(request):
    return request.param


def test_model_forward(model_name):
    model = timm.create_model(model_name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, *model.pretrained_cfg['input_size']))
    assert out.shape == (1, 1000)
    assert not torch.isnan(out).any()


def test_model_backward(model_name):
    model = timm.create_model(model_name, num_classes=42).train()
    num_params = sum(p.numel() for p in model.parameters())
    out = model(torch.randn(2, 3, BWD_SIZE, BWD_SIZE))
    out.mean().backward()
    for n, p in model.named_parameters():
        assert p.grad is not None, f'No gradient for {n}'
    assert sum(p.grad.numel() for p in model.parameters()) == num_params
    assert out.shape[-1] == 42 and not torch.isnan(out).any()


def test_model_default_cfgs(model_name):
    model = timm.create_model(model_name).eval()
    cfg = model.pretrained_cfg
    state = model.state_dict()
    x = torch.randn(1, *cfg['input_size'])
    with torch.no_grad():
        assert model.forward_features(x).shape[-2:] == cfg['pool_size']
        model.reset_classifier(0)
        assert model(x).shape == (1, model.num_features)
        model.reset_classifier(0, '')
        assert model(x).shape[-2:] == cfg['pool_size']
    assert cfg['classifier'] + '.weight' in state
    assert cfg['first_conv'] + '.weight' in state


def test_model_forward_torchscript(model_name):
    with timm.layers.set_scriptable(True):
        model = timm.create_model(model_name).eval()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        scripted = torch.jit.script(model)
    with torch.no_grad():
        out = scripted(torch.randn(1, 3, JIT_SIZE, JIT_SIZE))
    assert out.shape == (1, 1000) and not torch.isnan(out).any()


def test_model_forward_features(model_name):
    model = timm.create_model(model_name, features_only=True).eval()
    channels = model.feature_info.channels()
    assert len(channels) >= 4
    with torch.no_grad():
        outs = model(torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE))
    assert len(outs) == len(channels)
    for c, o in zip(channels, outs):
        assert o.shape[:2] == (1, c) and not torch.isnan(o).any()


def test_model_forward_intermediates(model_name):
    model = timm.create_model(model_name).eval()
    x = torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE)
    with torch.no_grad():
        final, inter = model.forward_intermediates(x)
        assert len(inter) == len(model.feature_info)
        for info, t in zip(model.feature_info, inter):
            assert t.shape[1] == info['num_chs'] and t.shape[-1] == FEAT_SIZE // info['reduction']
        torch.testing.assert_close(final, model.forward_features(x))


@pytest.mark.parametrize('name,kwargs,shape', [
    ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128)), (1, 3, 64, 64)),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), kernel_size=9, n_points=6),
     (1, 3, 32, 32)),
])
def test_head_hidden_size_is_the_width_of_pre_logits(name, kwargs, shape):
    """timm's ``head_hidden_size`` is the width ``forward_head(pre_logits=True)`` returns (what a new head is built
    for): 'catavgmax' pooling doubles it, as timm's ResNet says; it said the unpooled width. It follows
    ``reset_classifier`` and ``prune_intermediate_layers`` too."""
    x = torch.randn(shape)
    for pool, other in (('avg', 'catavgmax'), ('catavgmax', 'avg')):
        model = timm.create_model(name, global_pool=pool, **kwargs).eval()
        with torch.no_grad():
            assert model.forward_head(model.forward_features(x), pre_logits=True).shape[1] == model.head_hidden_size
            model.reset_classifier(5, other)
            assert model.forward_head(model.forward_features(x), pre_logits=True).shape[1] == model.head_hidden_size
            model.prune_intermediate_layers(indices=[0], prune_head=False)
            model.reset_classifier(0)
            assert model.forward_head(model.forward_features(x), pre_logits=True).shape[1] == model.head_hidden_size
