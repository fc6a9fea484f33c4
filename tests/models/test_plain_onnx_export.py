"""Plain ``torch.onnx.export``, both exporters, no context manager: every family exports, deployed and in training
form, and onnxruntime gives PyTorch's outputs (relative tolerance 1e-4). Under an export every convolution is
computed directly (``smpconvnet.layers.conv_backends.exporting``): ONNX has no FFT operator."""
import warnings

import pytest
import timm
import torch
from timm.utils import reparameterize_model

from conftest import randomize_bn, rel_err

ort = pytest.importorskip('onnxruntime')  # in the dev / export extras

TOL = 1e-4
FAMILIES = {
    # 96 px: eagerly, the deployed SMPConvNet's stages run through the FFT (24x24) and Toeplitz (12x12 and less)
    'smpconvnet': ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5), (3, 96, 96)),
    # 200 taps: FFT eagerly (from 128)
    'tcn': ('smpconv_tcn_smnist', dict(num_blocks=2, hidden_channels=8, seq_len=200), (1, 200)),
    'resnet': ('smpconv_resnet_cifar10', dict(block_channels=(8, 8), num_classes=4), (3, 32, 32)),
}


def _model(family, deployed):
    name, kwargs, size = FAMILIES[family]
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model(name, **kwargs)).eval()
    return (reparameterize_model(model) if deployed else model), size


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


# The TorchScript-based exporter cannot represent the training-form SMP-TCN: its kernel is sampled with as many taps as
# the input has steps, a convolution "of unknown shape" to that exporter. The dynamo exporter below takes it.
TORCHSCRIPT_CASES = [(f, d) for f in sorted(FAMILIES) for d in (True, False) if (f, d) != ('tcn', False)]


@pytest.mark.parametrize('family,deployed', TORCHSCRIPT_CASES,
                         ids=[f"{f}-{'deployed' if d else 'training_form'}" for f, d in TORCHSCRIPT_CASES])
def test_torchscript_exporter_dynamic_batch(family, deployed, tmp_path):
    model, size = _model(family, deployed)
    path = tmp_path / 'model.onnx'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, (torch.randn(2, *size),), str(path), dynamo=False, input_names=['input'],
                          output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    x = torch.randn(3, *size)  # another batch size than the export's
    with torch.no_grad():
        expected = model(x)
    assert rel_err(_run(path, x), expected) < TOL


@pytest.mark.parametrize('deployed', [True, False], ids=['deployed', 'training_form'])
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_dynamo_exporter(family, deployed, tmp_path):
    pytest.importorskip('onnxscript')
    model, size = _model(family, deployed)
    x = torch.randn(2, *size)
    path = tmp_path / 'model.onnx'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, (x,), str(path))  # the default exporter (dynamo) in this torch
    with torch.no_grad():
        expected = model(x)
    assert rel_err(_run(path, x), expected) < TOL
