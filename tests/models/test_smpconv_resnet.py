"""The paper's CIFAR-10 SMP ResNet: layout and parameter count, forward/backward, FFT and direct paths,
exact re-parameterisation, original key layout and kernel orientation, bad input.

Most tests use a reduced network (2 blocks, 9x9 kernels, 16x16 input); the paper-size one is built and run once.
"""
import copy

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F

from smpconvnet.layers.point_kernel import PointKernel
from smpconvnet.models.smpconv_resnet import (
    SMPConvResNet, SMPLargeKernel2d, checkpoint_filter_fn, conv2d_same, conv2d_same_fft)
from conftest import randomize_bn, rel_err

REDUCED = dict(stem_channels=8, block_channels=(8, 12), kernel_size=9, n_points=6, init_radius=0.3, coord_std=0.4)


def reduced_model(**kwargs):
    return randomize_bn(timm.create_model('smpconv_resnet_cifar10', **dict(REDUCED, **kwargs))).eval()


def test_paper_model():
    model = timm.create_model('smpconv_resnet_cifar10').eval()
    assert sum(p.numel() for p in model.parameters()) == 489646  # the paper's 490k
    cfg = model.pretrained_cfg
    assert cfg['input_size'] == (3, 32, 32) and cfg['num_classes'] == 10 and cfg['tag'] == 'untrained'
    assert [b.conv1.smp.kernel.out_channels for b in model.blocks] == [24, 24, 36, 36, 36, 48, 48]
    pk = model.blocks[0].conv1.smp.kernel
    assert (pk.n_points, pk.ndim, pk.shared_coords, pk.normalize_by_count) == (16, 2, False, True)
    assert pk.radius.max().item() == pytest.approx(0.12) and model.blocks[0].conv1.smp.kernel_size == 33
    assert model.blocks[0].conv1.small.kernel_size == (3, 3) and model.blocks[0].drop.p == 0.1
    with torch.no_grad():  # a small input keeps this fast: the 33x33 kernels are cropped to 15x15 for 8x8
        assert model(torch.randn(1, 3, 8, 8)).shape == (1, 10)


def test_forward_backward_and_features():
    model = reduced_model().train()
    x = torch.randn(2, 3, 16, 16)
    model(x).logsumexp(-1).sum().backward()
    pk = model.blocks[1].conv2.smp.kernel
    assert all(g is not None and g.abs().sum() > 0 for g in (pk.coords.grad, pk.radius.grad, pk.weights.grad))
    # gradient checkpointing gives the same gradients (dropout off to make the passes deterministic)
    model.set_grad_checkpointing(True)
    model.blocks[0].drop.p = model.blocks[1].drop.p = 0.
    model.zero_grad()
    model(x).logsumexp(-1).sum().backward()
    checkpointed = pk.coords.grad.clone()
    model.set_grad_checkpointing(False)
    model.zero_grad()
    model(x).logsumexp(-1).sum().backward()
    assert torch.allclose(checkpointed, pk.coords.grad, rtol=1e-4, atol=1e-7)
    model.eval()
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (2, 12, 16, 16)
        assert model.forward_head(feats, pre_logits=True).shape == (2, 12)
        inter = model.forward_intermediates(x, intermediates_only=True)
        assert [t.shape[1] for t in inter] == [8, 12]
        model.reset_classifier(4)
        assert model(x).shape == (2, 4)
    assert 'blocks.0.conv1.smp.kernel.radius' in model.no_weight_decay()
    net = timm.create_model('smpconv_resnet_cifar10', features_only=True, **REDUCED)
    assert [o.shape[1] for o in net(x)] == [8, 12]


def test_fft_and_direct_paths_agree():
    x, w, b = torch.randn(2, 5, 13, 17), torch.randn(4, 5, 9, 9), torch.randn(4)
    expected = F.conv2d(x, w, b, padding=4)
    assert rel_err(conv2d_same_fft(x, w, b), expected) < 1e-5
    assert rel_err(conv2d_same(x, w, b, use_fft=False), expected) == 0
    # kernels larger than the input are cropped to the taps that can meet it (2H-1 x 2W-1), exactly
    big = torch.randn(4, 5, 41, 41)
    small_x = torch.randn(2, 5, 6, 9)
    expected = F.conv2d(small_x, big, padding=20)
    assert rel_err(conv2d_same(small_x, big, use_fft=False), expected) < 1e-6
    assert rel_err(conv2d_same(small_x, big, use_fft=True), expected) < 1e-5
    fft_model, direct_model = reduced_model(use_fft=True), reduced_model(use_fft=False)
    direct_model.load_state_dict(fft_model.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert rel_err(fft_model(x), direct_model(x)) < 1e-5


def test_reparameterize():
    model = reduced_model()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        deployed = timm.utils.reparameterize_model(model)
        assert not any(isinstance(m, (nn.BatchNorm2d, PointKernel, SMPLargeKernel2d)) for m in deployed.modules())
        assert rel_err(deployed(x), expected) < 1e-4
        own = copy.deepcopy(model).reparameterize()
        assert rel_err(own(x), expected) < 1e-4


def _original_kernel(coords, radius, weights, k):
    """The original's sampling, from its definition: W[o, i, u, v] = K_oi(g[v], g[k-1-u]), normalised by the
    number of active points (coords [O, N, 2], radius [O, N, 1, 1], weights [O, I, N])."""
    g = torch.linspace(-1, 1, k)
    x0 = g[None, :].expand(k, k)            # x0 at [u, v] is g[v]
    x1 = g.flip(0)[:, None].expand(k, k)    # x1 at [u, v] is g[k-1-u]
    d = (coords[:, :, 0, None, None] - x0).abs() + (coords[:, :, 1, None, None] - x1).abs()  # [O, N, k, k]
    terms = F.relu(1 - d / radius)
    terms = terms / ((terms != 0).sum(1, keepdim=True) + 1e-6)
    return torch.einsum('oin,onuv->oiuv', weights, terms)


def _original_state_dict(model: SMPConvResNet):
    """This model's weights in the original's key layout (stem ``cconv1``..., ``blocks.i.norm1s``, ``out_layer``)."""
    sd = {}
    units = {'conv1.smp': 'cconv1', 'conv2.smp': 'cconv2', 'conv1.small': 'cconv1s', 'conv2.small': 'cconv2s',
             'conv1.smp_norm': 'norm1', 'conv2.smp_norm': 'norm2', 'conv1.small_norm': 'norm1s',
             'conv2.small_norm': 'norm2s'}
    stem = {'stem.smp': 'cconv1', 'stem.small': 'cconv1s', 'stem.smp_norm': 'norm1', 'stem.small_norm': 'norm1s'}
    gen = torch.Generator().manual_seed(0)
    for k, v in model.state_dict().items():
        if k.startswith('head.'):
            sd['out_layer.' + k.split('.')[1]] = v.reshape(*v.shape, 1, 1) if k.endswith('weight') else v
            continue
        prefix, rest = '', k
        if k.startswith('blocks.'):
            parts = k.split('.')
            prefix, rest = f'blocks.{parts[1]}.', '.'.join(parts[2:])
            if rest.startswith('shortcut.'):
                sd[prefix + 'shortcut.0.' + rest.split('.')[-1]] = v
                continue
            table = units
        else:
            table = stem
        module = next(m for m in sorted(table, key=len, reverse=True) if rest.startswith(m + '.'))
        tail = rest[len(module) + 1:]
        name = prefix + table[module]
        if tail == 'kernel.coords':
            sd[name + '.Kernel.weight_coord'] = torch.rand(v.shape, generator=gen) * 2.4 - 1.2  # some outside [-1, 1]
        elif tail == 'kernel.radius':
            sd[name + '.Kernel.radius'] = (torch.rand(v.shape, generator=gen) * 0.4 + 0.1).reshape(*v.shape, 1, 1)
        elif tail == 'kernel.weights':
            sd[name + '.Kernel.weights'] = torch.randn(v.shape, generator=gen) * 0.1
        else:
            sd[name + '.' + tail] = v
        if tail == 'kernel.weights':
            sd[name + '.train_length'] = torch.tensor([model.kernel_size], dtype=torch.int32)
    return sd


def test_original_layout_and_kernel_orientation(tmp_path):
    model = reduced_model()
    original = _original_state_dict(model)
    path = tmp_path / 'cifar_resnet.pth'
    torch.save({'model': original}, path)
    loaded = timm.create_model(
        'smpconv_resnet_cifar10', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)), **REDUCED)
    k = REDUCED['kernel_size']
    for ours, name in [(loaded.stem.smp, 'cconv1'), (loaded.blocks[1].conv2.smp, 'blocks.1.cconv2')]:
        expected = _original_kernel(
            original[name + '.Kernel.weight_coord'], original[name + '.Kernel.radius'],
            original[name + '.Kernel.weights'], k)
        with torch.no_grad():
            assert rel_err(ours.make_kernel(), expected) < 1e-5
    with pytest.raises(ValueError, match='has shape'):
        checkpoint_filter_fn(original, timm.create_model('smpconv_resnet_cifar10', **dict(REDUCED, n_points=5)))


@pytest.mark.parametrize('shape,message', [
    ((2, 4, 16, 16), 'built for 3 input channels, got 4.*create the model with in_chans=4'),
    ((2, 16, 16, 3), r'channels last\?\); pass x.permute\(0, 3, 1, 2\)'),  # said "in_chans=16"
    ((3, 16, 16), r'expects an image batch \[B, 3, H, W\]'),
    ((2, 3, 0, 16), 'empty image'),
])
def test_bad_input(shape, message):
    model = reduced_model()
    with pytest.raises(ValueError, match=message):
        model(torch.randn(shape))


@pytest.mark.parametrize('fixture', ['official_tcn_small.safetensors', 'official_smpconvnet_small.safetensors'])
def test_another_familys_checkpoint_is_named(fixture):
    """An SMP-TCN's or SMPConvNet's original checkpoint: 'not an SMP-ResNet state dict', not a KeyError."""
    from conftest import FIXTURES
    with pytest.raises(ValueError, match='not an SMP-ResNet state dict'):
        timm.create_model('smpconv_resnet_cifar10', checkpoint_path=str(FIXTURES / fixture))


def test_pretrained_weights_for_other_input_channels(tmp_path):
    """in_chans= with pretrained weights adapts the stem's point kernel and small conv, as timm adapts a first conv
    (the other families did; this one failed on the stem's shape with a hint that did not name in_chans): a grey
    image gives what the 3-channel model gives it repeated on every channel."""
    from safetensors.torch import save_file
    small = dict(block_channels=(8, 8), kernel_size=9, n_points=6)
    reference = randomize_bn(timm.create_model('smpconv_resnet_cifar10', **small)).eval()
    save_file(reference.state_dict(), str(tmp_path / 'w.safetensors'))
    grey = timm.create_model('smpconv_resnet_cifar10', **small, in_chans=1, pretrained=True,
                             pretrained_cfg_overlay=dict(file=str(tmp_path / 'w.safetensors'))).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert rel_err(grey(x), reference(x.expand(-1, 3, -1, -1))) < 1e-5


@pytest.mark.parametrize('deployed', [False, True])
def test_a_checkpoint_of_another_size_names_the_arguments_that_fit_it(deployed):
    """Trial 46: the refusal of a checkpoint of another size named the arguments to set without their values
    ('stem_channels=, block_channels=, ...'): it gives the values its shapes tell, which copied literally build a model
    the checkpoint loads into."""
    import re
    trained = timm.create_model('smpconv_resnet_cifar10', block_channels=(8, 16), kernel_size=7, in_chans=2,
                                num_classes=4, small_kernel_size=5, bias=True, global_pool='max').eval()
    if deployed:
        trained.reparameterize()
    state_dict = trained.state_dict()
    with pytest.raises(ValueError, match='create the model') as e:
        checkpoint_filter_fn(state_dict, timm.create_model('smpconv_resnet_cifar10', block_channels=(8, 32),
                                                           kernel_size=7, global_pool='max'))
    # (the pooling and a trained one's kernel size are the model's: no shape tells them, and the message says so)
    assert ("its pooling they do not" if deployed else "its kernel size and pooling they do not") in str(e.value)
    args = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconv_resnet_cifar10', {args})", {'timm': timm})
    fitting.load_state_dict(checkpoint_filter_fn(state_dict, fitting))
    x = torch.randn(2, 2, 16, 16)
    with torch.no_grad():
        assert torch.equal(fitting.eval()(x), trained(x))


@pytest.mark.parametrize('deployed', [False, True])
def test_a_size_hint_keeps_the_pooling_the_head_shows(deployed):
    """'catavgmax' doubles the classifier's input: the one pooling a shape shows. The size hint gave the model's
    pooling instead (a trained checkpoint's), and the copy then failed on the head's shape: it gives the head's."""
    import re
    trained = timm.create_model('smpconv_resnet_cifar10', block_channels=(8, 16), kernel_size=7, num_classes=4,
                                global_pool='catavgmax').eval()
    if deployed:
        trained.reparameterize()
    with pytest.raises(ValueError, match="global_pool='catavgmax'") as e:
        checkpoint_filter_fn(trained.state_dict(), timm.create_model('smpconv_resnet_cifar10', block_channels=(8, 32),
                                                                     kernel_size=7))
    args = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconv_resnet_cifar10', {args})", {'timm': timm})
    fitting.load_state_dict(checkpoint_filter_fn(trained.state_dict(), fitting))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(fitting.eval()(x), trained(x))


@pytest.mark.parametrize('kwargs,match', [
    # a bare number failed in len() ("object of type 'int' has no len()"), a float inside torch (trial 58)
    (dict(block_channels=64), r'block_channels=64: expected a list with one entry per block \(e\.g\. '
                              r'block_channels=\[64,64,64,64,64,64,64\] for 7 blocks\)$'),
    (dict(block_channels=[64.0, 128]), r'block_channels=\[64\.0, 128\]: expected whole numbers of at least 1, one '
                                       r'per block \(e\.g\. block_channels=\[64,128\]\)$'),
    (dict(stem_channels=0), r'stem_channels must be an int of at least 1, got 0$'),
    (dict(n_points=16.0), r'n_points must be an int of at least 1, got 16\.0 \(n_points=16\)$'),
    # trial 59: built, then failed in the forward pass inside torch
    (dict(kernel_size=33.0), r'kernel_size must be an int of at least 1, got 33\.0 \(kernel_size=33\)$'),
    (dict(kernel_size=32), r'kernel_size=32: kernel sizes must be odd .*, got 32; give kernel_size=33 \(one tap '
                           r'more\)$'),
    # trial 63: both odd, it said "kernel sizes must be odd with small_kernel_size <= kernel_size"
    (dict(kernel_size=3, small_kernel_size=5), r'^small_kernel_size \(5\) must not exceed kernel_size \(3\)$'),
    (dict(kernel_size=4, small_kernel_size=6), r'kernel_size=4: .* give kernel_size=5 \(one tap more\)$'),
    (dict(kernel_size=5, small_kernel_size=6), r'small_kernel_size=6: .* give small_kernel_size=5 \(one tap less\)$'),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        timm.create_model('smpconv_resnet_cifar10', **kwargs)


def test_an_even_kernel_is_refused_naming_it():
    """Trial 73c F5: SMPConv2d with an even kernel (a 'same' convolution) failed on a shape in its forward ("size of
    tensor a (9) must match ... (8)"); it is refused when built, naming kernel_size."""
    from smpconvnet.models.smpconv_resnet import SMPConv2d
    with pytest.raises(ValueError, match="kernel_size must be odd .*got 4"):
        SMPConv2d(3, 5, 4, n_points=6, init_radius=0.1, coord_std=0.3)
    assert SMPConv2d(3, 5, 5, n_points=6, init_radius=0.1, coord_std=0.3)(torch.randn(1, 3, 8, 8)).shape == (1, 5, 8, 8)
