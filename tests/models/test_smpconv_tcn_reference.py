"""SMP-TCN against outputs of the original implementation (tests/fixtures/official_tcn_*).

``official_tcn_small.safetensors`` is a random 2-block, 8-channel network of the original code; its logits
on ``input`` (3 x 1 x 64) and its first SMP kernel are in ``official_tcn_small_io.safetensors``.
Tolerance: max abs error / max abs reference value <= 1e-4 (observed: about 2e-7).
"""
import csv
import json
import re

import pytest
import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from smpconvnet.models.smpconv_tcn import SMPLargeKernel1d, checkpoint_filter_fn
from conftest import FIXTURES, randomize_bn, rel_err

TOL = 1e-4
TCN_CKPT = FIXTURES / 'official_tcn_small.safetensors'
TCN_IO = FIXTURES / 'official_tcn_small_io.safetensors'
SMNIST_KEYS = FIXTURES / 'official_tcn_smnist_keys.tsv'


def reference_config():
    """The original's config (saved in the checkpoint's metadata), as constructor arguments."""
    with safe_open(str(TCN_CKPT), 'pt') as f:
        meta = f.metadata()
    cfg = json.loads(meta['config'])
    return dict(
        in_chans=int(meta['in_channels']), num_classes=int(meta['num_classes']),
        num_blocks=cfg['net']['no_blocks'], hidden_channels=cfg['net']['no_hidden'],
        n_points=cfg['kernel']['n_points'], init_radius=cfg['kernel']['radius'],
        coord_std=cfg['kernel']['coord_std'], small_kernel_size=cfg['conv']['small_kernel_size'],
        bias=cfg['conv']['bias'], dropout=cfg['net']['dropout'])


def load_reference_model(file=TCN_CKPT, **kwargs):
    """The reference network through timm's own pretrained path (file overlay + size overrides)."""
    args = dict(reference_config(), **kwargs)
    return timm.create_model(
        'smpconv_tcn_smnist', pretrained=True, pretrained_cfg_overlay=dict(file=str(file)), **args).eval()


@pytest.fixture(scope='module')
def io():
    return load_file(TCN_IO)


@pytest.mark.parametrize('use_fft', [True, False, None])
def test_logits_match_original(io, use_fft):
    model = load_reference_model(use_fft=use_fft)
    with torch.no_grad():
        logits = model(io['input'])
        per_step = model.forward_sequence(io['input'])
    assert rel_err(logits, io['logits']) < TOL
    assert rel_err(per_step[..., -1], io['logits']) < TOL


def test_first_kernel_matches_original(io):
    """Same orientation as the original (no flip): tap K-1 weighs the current step."""
    model = load_reference_model()
    with torch.no_grad():
        kernel = model.blocks[0].conv1.smp.make_kernel(io['input'].shape[-1])
    assert kernel.shape == io['block0_conv1_kernel'].shape
    assert rel_err(kernel, io['block0_conv1_kernel']) < 1e-5


def test_reparameterised_reference_matches_original(io):
    model = load_reference_model().reparameterize(length=io['input'].shape[-1])
    assert model.is_deployed
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, SMPLargeKernel1d)) for m in model.modules())
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


def test_reparameterize_model_uses_seq_len(io):
    model = load_reference_model(seq_len=io['input'].shape[-1])
    deployed = timm.utils.reparameterize_model(model)
    with torch.no_grad():
        assert rel_err(deployed(io['input']), io['logits']) < TOL


@pytest.mark.parametrize('wrap', ['model', 'module'])
def test_wrapped_original_checkpoint_loads(io, tmp_path, wrap):
    sd = load_file(TCN_CKPT)
    ckpt = {'model': {'module.' + k: v for k, v in sd.items()}} if wrap == 'model' else \
        {'module.' + k: v for k, v in sd.items()}
    path = tmp_path / 'checkpoint.pth'
    torch.save(ckpt, path)
    model = load_reference_model(file=path)
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


def test_original_checkpoint_through_checkpoint_path(io):
    """``timm.create_model(..., checkpoint_path=original)`` goes through the family's filter: the original's
    logits."""
    model = timm.create_model('smpconv_tcn_smnist', checkpoint_path=str(TCN_CKPT), **reference_config()).eval()
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


def _smnist_original_state_dict():
    """A random state dict with exactly the keys and shapes of the released sMNIST checkpoint."""
    gen = torch.Generator().manual_seed(0)
    sd = {}
    with open(SMNIST_KEYS) as f:
        for row in csv.DictReader(f, delimiter='\t'):
            shape = json.loads(row['shape'])
            if row['key'].endswith('num_batches_tracked'):
                sd[row['key']] = torch.tensor(7)
            elif row['key'].endswith('train_length'):
                sd[row['key']] = torch.tensor([784], dtype=torch.int32)
            elif row['key'].endswith(('running_var', 'Kernel.radius')):
                sd[row['key']] = torch.rand(shape, generator=gen) * 0.05 + 0.01
            else:
                sd[row['key']] = torch.randn(shape, generator=gen) * 0.1
    return sd


def test_smnist_parameter_count_is_original():
    sd = _smnist_original_state_dict()
    buffers = ('running_mean', 'running_var', 'num_batches_tracked', 'train_length')
    official = sum(v.numel() for k, v in sd.items() if not k.endswith(buffers))
    model = timm.create_model('smpconv_tcn_smnist')
    assert official == 371320
    assert sum(p.numel() for p in model.parameters()) == official


def test_smnist_original_layout_loads(tmp_path):
    sd = _smnist_original_state_dict()
    path = tmp_path / 'smnist.pth'
    torch.save({'model': sd}, path)
    model = timm.create_model('smpconv_tcn_smnist', pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    # every original tensor landed somewhere (strict load), values unchanged
    msd = model.state_dict()
    assert torch.equal(msd['blocks.3.conv2.smp.kernel.weights'], sd['backbone.3.cconv2.Kernel.weights'])
    assert torch.equal(msd['blocks.0.conv1.smp.kernel.radius'], sd['backbone.0.cconv1.Kernel.radius'][..., 0])
    assert torch.equal(msd['blocks.5.conv1.small_norm.running_var'], sd['backbone.5.norm1s.running_var'])
    assert torch.equal(msd['blocks.0.shortcut.weight'], sd['backbone.0.shortcut.0.weight'])
    assert torch.equal(msd['head.weight'], sd['finallyr.weight'])
    converted = checkpoint_filter_fn({'model': sd}, model)
    assert len(converted) == len(sd) - 12  # the 12 train_length buffers are dropped
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, 100)).shape == (2, 10)


def test_wrong_size_checkpoint_is_refused():
    sd = load_file(TCN_CKPT)  # 2 blocks x 8 channels
    model = timm.create_model('smpconv_tcn_smnist')  # 6 blocks x 30 channels
    with pytest.raises(ValueError, match=r'2 blocks, 8 hidden channels.*6 blocks, 30 hidden channels') as e:
        checkpoint_filter_fn(sd, model)
    # the arguments it names, copied literally, build a model the weights fit (trial 46: they were left blank)
    args = re.search(r'create the model that matches: pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconv_tcn_smnist', {args})", {'timm': timm})
    fitting.load_state_dict(checkpoint_filter_fn(sd, fitting))
    # a deployed one's too
    fitting.eval().reparameterize(length=50)
    deployed = fitting.state_dict()
    with pytest.raises(ValueError, match='deployed from: ') as e:
        checkpoint_filter_fn(deployed, timm.create_model('smpconv_tcn_smnist'))
    args = re.search(r'deployed from: pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconv_tcn_smnist', {args})", {'timm': timm})
    fitting.load_state_dict(checkpoint_filter_fn(deployed, fitting))
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8, n_points=16)
    with pytest.raises(ValueError, match=r'30 points.*16 points'):
        checkpoint_filter_fn(sd, model)
    with pytest.raises(ValueError, match='is not an SMP-TCN state dict'):
        checkpoint_filter_fn({'model': 'not a state dict'}, model)
    # the checkpoint's own input channels, not those its first layer was adapted to (it said 3 of a 1-channel file)
    with pytest.raises(ValueError, match=r'checkpoint is an SMP-TCN with 2 blocks, 8 hidden channels, 1 input '
                                         r'channels, .* the model has 6 blocks, 30 hidden channels, 3 input channels'):
        checkpoint_filter_fn(sd, timm.create_model('smpconv_tcn_smnist', in_chans=3))


@pytest.mark.parametrize('length', [64, 784])
def test_deployed_checkpoint_through_checkpoint_path_tells_its_length(io, tmp_path, length):
    """A TCN deployed for any length loads through ``checkpoint_path=`` without ``seq_len`` (the cfg's default length
    gives way to the checkpoint's), as through the pretrained path; an explicit other seq_len is refused."""
    from safetensors.torch import save_file
    deployed = load_reference_model().reparameterize(length=length)
    save_file(deployed.state_dict(), str(tmp_path / 'deployed.safetensors'))
    model = timm.create_model(
        'smpconv_tcn_smnist', checkpoint_path=str(tmp_path / 'deployed.safetensors'), **reference_config()).eval()
    assert model.is_deployed and model.seq_len == length
    x = torch.randn(2, io['input'].shape[1], length)
    with torch.no_grad():
        assert rel_err(model(x), deployed(x)) < 1e-6
    with pytest.raises(ValueError, match=f'{length}-tap kernels, but the model was created for seq_len=100'):
        timm.create_model('smpconv_tcn_smnist', checkpoint_path=str(tmp_path / 'deployed.safetensors'),
                          seq_len=100, **reference_config())


def test_a_checkpoint_of_another_size_names_every_argument_its_shapes_tell():
    """Trial 47: the size hint left out the small kernel and the bias (copied, it was refused again, or missed keys),
    and said nothing of the kernel length: it names them, the last as the model's own, and builds a model the
    weights load into exactly where that is the trained one."""
    trained = randomize_bn(timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8, n_points=6,
                                             small_kernel_size=3, bias=False, kernel_length=16, global_pool='avg',
                                             in_chans=2, num_classes=4)).eval()
    with pytest.raises(ValueError, match='its kernel length and pooling they do not') as e:
        checkpoint_filter_fn(trained.state_dict(), timm.create_model('smpconv_tcn_smnist', kernel_length=16,
                                                                     global_pool='avg'))
    args = re.search(r'create the model that matches: pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconv_tcn_smnist', {args})", {'timm': timm}).eval()
    fitting.load_state_dict(checkpoint_filter_fn(trained.state_dict(), fitting))
    x = torch.randn(2, 2, 40)
    with torch.no_grad():
        assert torch.equal(fitting(x), trained(x))


@pytest.mark.parametrize('seq_len', [None, 50])
def test_deployed_checkpoint_of_another_class_count_keeps_its_head_through_the_overlay(tmp_path, seq_len):
    """Trial 47: a TCN deployed for 50 steps with 4 classes, loaded with pretrained=True and pretrained_cfg_overlay
    (the route load_model's hint names) into a model of 4 classes, got a random head, silently (0.15-0.20 off): the
    filter's deployment replaced the model's pretrained cfg, so timm's head check read the old one (10 classes)."""
    from safetensors.torch import save_file
    args = dict(num_blocks=3, hidden_channels=8, n_points=6, num_classes=4)
    deployed = randomize_bn(timm.create_model('smpconv_tcn_smnist', **args)).eval()
    deployed.reparameterize(length=50)
    save_file(deployed.state_dict(), str(tmp_path / 'd.safetensors'))
    length = {'seq_len': seq_len} if seq_len else {}
    model = timm.create_model('smpconv_tcn_smnist', pretrained=True, **args, **length,
                              pretrained_cfg_overlay=dict(file=str(tmp_path / 'd.safetensors'))).eval()
    x = torch.randn(2, 1, 50)
    with torch.no_grad():
        assert torch.equal(model(x), deployed(x))


def test_checkpoint_path_with_features_only_says_how():
    """timm would load the file into the features_only wrapper (other keys): a ValueError whose hint, with the model
    arguments passed (this test's model size), loads it when run as printed."""
    with pytest.raises(ValueError, match='features_only=True') as e:
        timm.create_model('smpconv_tcn_smnist', features_only=True, checkpoint_path=str(TCN_CKPT),
                          **reference_config())
    hint = str(e.value).split('instead: ', 1)[1]
    assert all(f'{k}={v!r}' in hint for k, v in reference_config().items())
    features = eval(hint).eval()  # the printed call, literally
    reference = load_reference_model()
    with torch.no_grad():
        assert rel_err(features(io_input())[-1], reference.forward_features(io_input())) < 1e-6


def test_checkpoint_path_with_features_only_hint_keeps_device_dtype_and_overlay():
    """The hint repeats a torch.device as runnable source (its repr, ``device(type='cpu')``, is not) and keeps the
    caller's pretrained_cfg_overlay fields next to the file; run as printed, it builds the same features."""
    import numpy as np
    with pytest.raises(ValueError, match='features_only=True') as e:
        timm.create_model('smpconv_tcn_smnist', features_only=True, checkpoint_path=str(TCN_CKPT),
                          device=torch.device('cpu'), dtype=torch.float32,
                          pretrained_cfg=dict(mean=(0.5,), std=(2.0,)), pretrained_cfg_overlay=dict(description='mine'),
                          **dict(reference_config(), dropout=np.float64(reference_config()['dropout'])))
    hint = str(e.value).split('instead: ', 1)[1]
    assert "device='cpu'" in hint and 'dtype=torch.float32' in hint and "description='mine'" in hint
    features = eval(hint, {'timm': timm, 'torch': torch}).eval()  # the printed call, literally (no numpy)
    assert features.pretrained_cfg['description'] == 'mine' and features.pretrained_cfg['mean'] == (0.5,)
    with torch.no_grad():
        assert rel_err(features(io_input())[-1], load_reference_model().forward_features(io_input())) < 1e-6


def io_input():
    return load_file(TCN_IO)['input']
