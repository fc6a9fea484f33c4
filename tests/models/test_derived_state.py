"""No silent wrong answers: state derived from parameters follows them and is never saved; 16-bit point kernels
are the float32 kernels rounded once; inference_mode / autocast / empty batches work for every family.

Each test here failed before the derived-state cache was checked against the kernel's values, before point
positions were computed (and coordinates kept) in float32, and before the edge cases below were handled.
"""
import copy
import io
import pickle

import pytest
import timm
import torch
from timm.utils import ModelEmaV3, reparameterize_model

from conftest import randomize_bn, rel_err
from smpconvnet import PointKernel
from smpconvnet.layers.conv_backends import KernelCache

# a reduced SMPConvNet-T with the full kernels 31/29/27/13: at 224 px its stages run through the cached FFT
# spectrum (56x56, 28x28) and the cached Toeplitz matrices (14x14, 7x7) of the deployed form
TINY = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), num_classes=5)
IMAGE = (1, 3, 224, 224)
TCN = dict(num_blocks=2, hidden_channels=8, seq_len=96)
RESNET = dict(block_channels=(8, 8), num_classes=4)

# float32 through the fast backends vs a fresh model: the deployed tests' own tolerance
TOL = 1e-4


def _deployed(seed: int = 0):
    torch.manual_seed(seed)
    # (BatchNorm statistics of its activations at the tests' 224 px)
    return reparameterize_model(randomize_bn(timm.create_model('smpconvnet_t', **TINY), seed,
                                             example=torch.randn((4,) + IMAGE[1:])).eval())


def _fresh_like(model):
    fresh = reparameterize_model(timm.create_model('smpconvnet_t', **TINY).eval())
    fresh.load_state_dict(model.state_dict())
    return fresh.to(next(model.parameters()).dtype)


def _caches(model):
    return [m.kernel_cache for m in model.modules() if hasattr(m, 'kernel_cache')]


def _large_kernels(model):
    return [m.weight for m in model.modules() if hasattr(m, 'kernel_cache')]


def _edit_data(model):
    for w in _large_kernels(model):
        w.data.mul_(-4.)


def _edit_copy(model):
    with torch.no_grad():
        for w in _large_kernels(model):
            w.copy_(torch.randn_like(w))


def _edit_load_state_dict(model, assign=False):
    donor = _deployed(seed=1)
    model.load_state_dict(donor.state_dict(), assign=assign)


def _edit_to_double(model):
    model.double()


def _edit_optimizer_step(model):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    model(torch.randn(IMAGE)).square().mean().backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.)  # (a step of a set size: the outputs are in the 100s)
    opt.step()
    model.eval()


EDITS = {
    'data': _edit_data,
    'copy_no_grad': _edit_copy,
    'load_state_dict': _edit_load_state_dict,
    'load_state_dict_assign': lambda m: _edit_load_state_dict(m, assign=True),
    'to_double': _edit_to_double,
    'optimizer_step': _edit_optimizer_step,
}


@pytest.mark.parametrize('edit', sorted(EDITS))
def test_deployed_cache_follows_every_parameter_change(edit):
    model = _deployed()
    x = torch.randn(IMAGE)
    with torch.no_grad():
        before = model(x)
    assert all(len(c) == 1 for c in _caches(model)), 'the deployed stages keep their spectra / Toeplitz matrices'
    EDITS[edit](model)
    x = x.to(next(model.parameters()).dtype)
    with torch.no_grad():
        after = model(x)
        expected = _fresh_like(model)(x)
    if edit != 'to_double':
        assert rel_err(after, before) > 1e-3, 'the edit changes the output'
    assert rel_err(after, expected) < TOL


def test_deployed_cache_follows_ema_updates():
    model = _deployed()
    ema = ModelEmaV3(model, decay=0.5)
    x = torch.randn(IMAGE)
    with torch.no_grad():
        ema.module(x)  # fills the EMA copy's caches
        for w in _large_kernels(model):
            w.data.mul_(-1.)
    ema.update(model)
    with torch.no_grad():
        assert rel_err(ema.module(x), _fresh_like(ema.module)(x)) < TOL


def test_derived_state_is_never_saved():
    model = _deployed()

    def saved_bytes(obj, saver=torch.save):
        buf = io.BytesIO()
        saver(obj, buf)
        return len(buf.getvalue())

    keys = set(model.state_dict())
    pickled, scripted = saved_bytes(model), saved_bytes(torch.jit.script(model), torch.jit.save)
    with torch.no_grad():
        model(torch.randn(IMAGE))
    assert all(len(c) == 1 for c in _caches(model))
    assert set(model.state_dict()) == keys
    # the caches hold 12 MB here (the 14x14 Toeplitz bank alone 64 x 196 x 196 floats, the smallest entry, the
    # 7x7 bank, 1.2 MB): none of it goes (pickles differ by a few hundred bytes of bookkeeping)
    assert saved_bytes(model) <= pickled + 16384
    assert saved_bytes(torch.jit.script(model), torch.jit.save) <= scripted + 16384
    assert all(len(c) == 0 for c in _caches(copy.deepcopy(model)))
    assert all(len(c) == 0 for c in _caches(pickle.loads(pickle.dumps(model))))
    # a copy still computes, with its own cache
    clone = copy.deepcopy(model)
    x = torch.randn(IMAGE)
    with torch.no_grad():
        assert torch.equal(clone(x), model(x))


def test_kernel_cache_builds_once_per_kernel_and_size():
    cache, calls = KernelCache(), []
    weight = torch.randn(4, 1, 5, 5)

    def build(w):
        calls.append(1)
        return w * 2

    cache.get(('fft', 8, 8), weight, build)
    cache.get(('fft', 8, 8), weight.clone(), build)
    assert len(calls) == 1
    weight.data[0, 0, 0, 0] += 1.   # not seen by the version counter
    assert torch.equal(cache.get(('fft', 8, 8), weight, build), weight * 2) and len(calls) == 2
    cache.get(('fft', 9, 9), weight, build)
    assert len(calls) == 3 and len(cache) == 1


# ---------------------------------------------------------------------------------------------------------
# inference_mode, no_grad and autocast, every family, both forms

def _families():
    torch.manual_seed(0)
    return {
        'smpconvnet': (randomize_bn(timm.create_model('smpconvnet_t', **TINY)).eval(), torch.randn(2, 3, 64, 64)),
        'tcn': (randomize_bn(timm.create_model('smpconv_tcn_smnist', **TCN)).eval(), torch.randn(2, 1, 96)),
        'resnet': (randomize_bn(timm.create_model('smpconv_resnet_cifar10', **RESNET)).eval(),
                   torch.randn(2, 3, 32, 32)),
    }


def _family(family, deployed):
    model, x = _families()[family]
    return (reparameterize_model(model) if deployed else model), x


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
@pytest.mark.parametrize('family', ['smpconvnet', 'tcn', 'resnet'])
def test_inference_mode_no_grad_and_autocast(family, deployed):
    model, x = _family(family, deployed)
    with torch.no_grad():
        expected = model(x)
    for _ in range(2):  # the second call reuses what the first cached
        with torch.inference_mode():
            assert rel_err(model(x), expected) < TOL
        with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):
            assert rel_err(model(x), expected) < 5e-2
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            assert rel_err(model(x), expected) < 5e-2
    with torch.no_grad():  # caches built under inference_mode serve normal calls too
        assert rel_err(model(x), expected) < TOL


# ---------------------------------------------------------------------------------------------------------
# 16-bit point kernels

POINT_KERNELS = {
    'tcn_1d': dict(n_points=30, out_channels=6, in_channels=3, ndim=1, shared_coords=False, init_radius=0.002,
                   coord_std=0.1, coord_init='recent', normalize_by_count=True, r_min=1e-4),
    'raw_audio_1d': dict(n_points=30, out_channels=4, in_channels=2, ndim=1, shared_coords=False,
                         init_radius=0.0002, coord_std=0.1, coord_init='recent', normalize_by_count=True, r_min=1e-4),
    'imagenet_2d': dict(n_points=240, out_channels=8, ndim=2, shared_coords=True, init_radius=4 / 31),
    'resnet_2d': dict(n_points=16, out_channels=4, in_channels=3, ndim=2, shared_coords=False, init_radius=0.12,
                      coord_std=0.05, normalize_by_count=True, r_min=1e-4),
}
SIZES = {1: [784], 2: [31, 31]}


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', sorted(POINT_KERNELS))
def test_16bit_point_kernel_is_the_float32_kernel_rounded(name, dtype):
    torch.manual_seed(0)
    kernel = PointKernel(**POINT_KERNELS[name])
    reference = copy.deepcopy(kernel)
    low = kernel.to(dtype)
    # coordinates and radii keep float32: a 16-bit coordinate near 1 is off by more than a point's radius
    assert low.coords.dtype == low.radius.dtype == torch.float32 and low.weights.dtype == dtype
    reference.weights.data = low.weights.data.float()  # the same (rounded) weights in float32
    size = SIZES[kernel.ndim]
    got = low(size)
    assert got.dtype == dtype
    assert torch.equal(got, reference(size).to(dtype))
    positions = torch.rand(50, kernel.ndim) * 2 - 1
    assert torch.equal(low.sample(positions.to(dtype)), reference.sample(positions.to(dtype).float()).to(dtype))


# the rounding of 16-bit arithmetic through the network: measured on these models (their BatchNorm statistics those
# of their activations), SMPConvNet 6.7e-3 (float16) and 4.5e-2 (bfloat16), its deployed form of plain convolutions
# 6.0e-3 and 3.1e-2, the SMP-TCN's 1.4e-3 and 3.3e-2; positions are checked exactly above (16-bit kernels are the
# float32 kernels rounded once), and 16-bit positions put speech_raw's 2e-4 radii far off
@pytest.mark.parametrize('dtype,tol', [(torch.float16, 1e-2), (torch.bfloat16, 6e-2)])
@pytest.mark.parametrize('family', ['smpconvnet', 'tcn', 'resnet', 'speech_raw'])
def test_16bit_models_match_float32(family, dtype, tol):
    if family == 'speech_raw':  # radii of 2e-4: the case where 16-bit positions went furthest wrong
        torch.manual_seed(0)
        model, x = timm.create_model('smpconv_tcn_speech_raw', num_blocks=2, hidden_channels=8).eval(), \
            torch.randn(2, 1, 4000)
    else:
        model, x = _families()[family]
    with torch.no_grad():
        expected = model(x)
        low = copy.deepcopy(model).to(dtype)
        assert rel_err(low(x.to(dtype)), expected) < tol


def test_16bit_timestamps_path():
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_smnist', **TCN).eval()
    x = torch.randn(2, 1, 40)
    timestamps = torch.sort(torch.rand(40) * 10).values
    with torch.no_grad():
        expected = model(x, timestamps=timestamps)
        got = copy.deepcopy(model).half()(x.half(), timestamps=timestamps.half().float())
    assert rel_err(got, expected) < 5e-3


# ---------------------------------------------------------------------------------------------------------
# Edge cases timm's own models handle

@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
@pytest.mark.parametrize('family', ['smpconvnet', 'tcn', 'resnet'])
def test_empty_batch_gives_empty_output(family, deployed):
    model, x = _family(family, deployed)
    with torch.no_grad():
        out = model(x[:0])
        feats = model.forward_features(x[:0])
    assert out.shape == (0, model.num_classes)
    assert feats.shape[0] == 0


def test_tcn_grad_checkpointing_also_in_eval_mode():
    """Fine-tuning with frozen BatchNorm (eval mode, gradients on) saves memory like timm's models."""
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_smnist', **TCN).eval()
    x = torch.randn(2, 1, 96)

    def saved_tensors(checkpointing):
        model.set_grad_checkpointing(checkpointing)
        count = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: count.append(t.numel()) or t, lambda t: t):
            out = model(x)
        grads = torch.autograd.grad(out.sum(), list(model.parameters()))
        return sum(count), grads

    plain, g_plain = saved_tensors(False)
    ckpt, g_ckpt = saved_tensors(True)
    assert ckpt < plain / 2
    assert max(rel_err(a, b) for a, b in zip(g_ckpt, g_plain)) < 1e-5


def test_tcn_reparameterize_again_for_another_length_raises():
    model = timm.create_model('smpconv_tcn_smnist', **TCN).eval()
    model.reparameterize(length=96)
    model.reparameterize(length=96)  # the same length: nothing to do
    model.reparameterize()
    with pytest.raises(ValueError, match=r'already re-parameterised for sequences of length 96.*training-form'):
        model.reparameterize(length=500)
    assert model(torch.randn(1, 1, 96)).shape == (1, 10)


@pytest.mark.parametrize('members', [None, 2], ids=['single', 'ensemble'])
def test_tcn_reparameterized_for_a_length_says_it_in_its_cfg(members):
    """Deployed for 100 steps, a GunPoint model (trained on 150) takes 100 steps only: its pretrained cfg, which timm's
    data config reads, says so. It kept (1, 1, 150), and an input built from resolve_model_data_config was refused.
    A bad length is refused before anything changes (it was set, and the model could not be deployed again)."""
    kwargs = {} if members is None else dict(num_members=members)
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=members is None, **kwargs).eval()
    assert tuple(model.pretrained_cfg['input_size']) == (1, 1, 150)
    for bad in (-5, 0, 1, 1.5, '100', True):
        with pytest.raises(ValueError, match=r'an int of at least 2, got'):
            model.reparameterize(length=bad)
        assert model.seq_len == 150 and tuple(model.pretrained_cfg['input_size']) == (1, 1, 150)
    model.reparameterize(length=100)
    cfg = timm.data.resolve_model_data_config(model)
    assert cfg['input_size'] == (1, 1, 100)
    assert model.default_cfg is model.pretrained_cfg and model.pretrained_cfg['pool_size'] == (1, 100)
    with torch.no_grad():
        assert model(torch.randn(2, *cfg['input_size'])).shape == (2, 2)
    # fixed-length kernels take any length deployed: the cfg follows the length
    short = timm.create_model('smpconv_tcn_osuleaf.aeon', pretrained=True).eval().reparameterize(length=200)
    assert tuple(short.pretrained_cfg['input_size']) == (1, 1, 200)


@pytest.mark.parametrize('deployed', [False, True], ids=['training_form', 'deployed'])
def test_tcn_fixed_kernel_length_takes_a_single_step(deployed):
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8, kernel_length=16).eval()
    if deployed:
        model = reparameterize_model(model)
    x = torch.randn(3, 1, 1)
    with torch.no_grad():
        out = model(x)
        # causal: one step alone gives what the first step of a longer sequence gives
        longer = model.forward_sequence(torch.cat([x, torch.randn(3, 1, 7)], -1))[..., 0]
    assert rel_err(out, longer) < 1e-5
    with pytest.raises(ValueError, match='at least 2 steps'):
        timm.create_model('smpconv_tcn_smnist', **TCN)(torch.randn(1, 1, 1))


def test_kernel_cache_is_safe_to_share_between_threads():
    """Two input sizes whose Toeplitz banks have the same shape (12x14, 14x12), two threads: every output right,
    no error (the entry is read and replaced as one tuple)."""
    import threading
    import torch.nn.functional as F
    from smpconvnet.models.smpconvnet import LargeKernelDepthwiseConv2d
    torch.manual_seed(0)
    conv = LargeKernelDepthwiseConv2d(16, 27).eval()
    inputs = {s: torch.randn(2, 16, *s) for s in ((12, 14), (14, 12))}
    expected = {s: F.conv2d(x, conv.weight, conv.bias, padding=13, groups=16) for s, x in inputs.items()}
    outcomes = []

    def work(size):
        for _ in range(150):
            try:
                with torch.no_grad():
                    outcomes.append(rel_err(conv(inputs[size]), expected[size]) < 1e-5)
            except Exception as e:  # noqa: BLE001  (an error is a failure too)
                outcomes.append(repr(e))

    threads = [threading.Thread(target=work, args=(s,)) for s in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 300 and all(o is True for o in outcomes), [o for o in outcomes if o is not True][:3]


def test_16bit_coordinates_in_a_state_dict_warn():
    """A state dict whose coordinates were cast to 16 bits loads (as float32) but has lost their precision: a
    warning says so instead of silently changing the kernels."""
    model = timm.create_model('smpconv_tcn_smnist', **TCN)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    with pytest.warns(UserWarning, match=r'kernel\.coords is stored in torch\.float16.*float32'):
        model.load_state_dict(state)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        model.load_state_dict(model.half().state_dict())  # coordinates stay float32 under .half()


def test_reparameterize_for_a_new_seq_len_on_a_deployed_tcn_raises():
    model = timm.create_model('smpconv_tcn_smnist', **TCN).eval().reparameterize()
    model.seq_len = 50
    with pytest.raises(ValueError, match='already re-parameterised for sequences of length 96'):
        model.reparameterize()
