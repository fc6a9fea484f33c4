"""SMPConvNet against outputs of the original implementation (tests/fixtures/official_smpconvnet_small*).

Tolerance: max abs error / max abs reference value <= 1e-4 (observed: about 1e-6).
"""
import csv
import re

import pytest
import timm
import torch
from safetensors.torch import load_file, save_file

from smpconvnet import checkpoint_filter_fn, infer_config_from_checkpoint
from conftest import FIXTURES, SMALL_CKPT, SMALL_IO, SMALL_KWARGS, load_smpconvnet_reference, randomize_bn, rel_err

TOL = 1e-4


@pytest.fixture(scope='module')
def io():
    return load_file(SMALL_IO)


def test_outputs_match_original(io):
    model = load_smpconvnet_reference()
    with torch.no_grad():
        features = model.forward_features(io['input'])
        logits = model.forward_head(features)
        kernel = model.stages[0].blocks[0].large_kernel.smp.conv.make_kernel()[:, 0]
        direct_logits = model(io['input'])
    assert rel_err(features, io['features']) < TOL
    assert rel_err(logits, io['logits']) < TOL
    assert rel_err(direct_logits, io['logits']) < TOL
    assert rel_err(kernel, io['stage0_block0_kernel']) < TOL


@pytest.mark.parametrize('wrap', ['model', 'model_ema', 'state_dict', 'module', 'ema_and_model'])
def test_wrapped_original_checkpoints_load(io, tmp_path, wrap):
    sd = load_file(SMALL_CKPT)
    if wrap == 'module':
        ckpt = {'module.' + k: v for k, v in sd.items()}
    elif wrap == 'ema_and_model':
        # EMA weights are preferred, as timm does; the plain weights here are garbage
        ckpt = {'model': {k: torch.zeros_like(v) for k, v in sd.items()}, 'model_ema': sd, 'epoch': 300}
    else:
        ckpt = {wrap: {'module.' + k: v for k, v in sd.items()}, 'epoch': 299}
    path = tmp_path / 'checkpoint.pth'
    torch.save(ckpt, path)
    model = load_smpconvnet_reference(file=path)
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


@pytest.mark.parametrize('form', ['original', 'wrapped_original', 'deployed'])
def test_checkpoint_path_takes_every_layout(io, tmp_path, form):
    """``timm.create_model(..., checkpoint_path=)`` (timm's train.py ``--initial-checkpoint``) loads the original
    layout, a wrapped training checkpoint and a deployed state dict through the family's filter: the original's
    outputs."""
    sd = load_file(SMALL_CKPT)
    path = tmp_path / 'checkpoint.pth'
    if form == 'original':
        path = SMALL_CKPT
    elif form == 'wrapped_original':
        torch.save({'state_dict': {'module.' + k: v for k, v in sd.items()}, 'epoch': 3}, path)
    else:
        deployed = timm.utils.reparameterize_model(load_smpconvnet_reference())
        save_file(deployed.state_dict(), tmp_path / 'deployed.safetensors')
        path = tmp_path / 'deployed.safetensors'
    model = timm.create_model('smpconvnet_t', checkpoint_path=str(path), **SMALL_KWARGS).eval()
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


@pytest.mark.parametrize('given', [{}, {'in_chans': 1, 'num_classes': 5}])
def test_a_checkpoint_of_another_size_names_every_argument_it_needs(io, given):
    """The hint of a size mismatch works as printed: it had named channels= / layers= only, and the strict load of
    ``checkpoint_path=`` then failed on the classifier (trial 25); the class count and input channels are named too."""
    with pytest.raises(ValueError, match='create the model that matches the checkpoint: pass ') as e:
        timm.create_model('smpconvnet_t', checkpoint_path=str(SMALL_CKPT), **given)
    hint = re.search(r'pass (.*) to timm\.create_model', str(e.value)).group(1)
    fit = eval(f'dict({hint})')  # the arguments as a user would paste them
    assert fit == dict(SMALL_KWARGS, **({'in_chans': 3} if given else {}), global_pool='avg')
    model = timm.create_model('smpconvnet_t', checkpoint_path=str(SMALL_CKPT), **dict(given, **fit)).eval()
    with torch.no_grad():
        assert rel_err(model(io['input']), io['logits']) < TOL


@pytest.mark.parametrize('trained', [dict(small_kernel_size=3), dict(large_kernel_sizes=(13, 11, 9, 7)),
                                     dict(dw_ratio=2), dict(ffn_ratio=2), dict(channels=(16, 32, 64, 96), ffn_ratio=2),
                                     dict(n_points_divide=2)])
def test_a_checkpoint_of_other_kernel_sizes_or_widths_names_them(tmp_path, trained):
    """Trial 64: weights of another small_kernel_size, large_kernel_sizes, dw_ratio or ffn_ratio (channels and layers
    equal) were refused with the same description of the checkpoint and the model and no argument to pass; their
    values are said on both sides and the hint, copied, loads the file exactly. Trial 65: so is n_points_divide (with
    the model's kernel sizes: point counts alone cannot tell both), whose hint had named no value."""
    base = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), large_kernel_sizes=(13, 11, 9, 5), num_classes=4)
    torch.manual_seed(0)
    source = randomize_bn(timm.create_model('smpconvnet_t', **dict(base, **trained))).eval()
    path = tmp_path / 'w.pth'
    torch.save(source.state_dict(), path)
    with pytest.raises(ValueError, match='create the model that matches the checkpoint: pass ') as e:
        timm.create_model('smpconvnet_t', checkpoint_path=str(path), **base)
    said = str(e.value)
    for k, v in trained.items():
        if k != 'channels':
            told = list(v) if isinstance(v, tuple) else float(v) if 'ratio' in k else v
            assert f'{k}={told!r}' in said.split(', but the model is')[0], said
    if 'n_points_divide' in trained:  # (an inference from point counts, said so)
        assert "n_points_divide=2 is read off its point counts with this model's large_kernel_sizes" in said
    hint = re.search(r'pass (.*) to timm\.create_model', said).group(1)
    model = timm.create_model('smpconvnet_t', checkpoint_path=str(path), **dict(base, **eval(f'dict({hint})'))).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_point_counts_that_fit_nothing_lead_the_hint(tmp_path):
    """Trial 65b: a file of 13x13 kernels with n_points_divide=2 (84 points each: no odd size with the model's divisor 4,
    nor its kernel sizes with another) loaded into a model of its channels and layers was told first to pass
    global_pool='avg', the model's own, and only after it the sizes and divisor it needs. The hint leads with them
    now, names the pooling only with other arguments, and the sizes and divisor it asks for load the file exactly."""
    base = dict(layers=(1, 1, 1, 1), channels=(8, 8, 16, 16), num_classes=5)
    torch.manual_seed(0)
    source = randomize_bn(timm.create_model('smpconvnet_t', large_kernel_sizes=(13, 13, 13, 13), n_points_divide=2,
                                            **base)).eval()
    path = tmp_path / 'w.pth'
    torch.save(source.state_dict(), path)
    lead = ("create the model that matches the checkpoint: its SMP kernels' point counts fit no odd kernel size with "
            "n_points_divide=4 (k * k // n_points_divide) nor this model's kernel sizes with another divisor: pass the "
            "large_kernel_sizes and n_points_divide it was trained with")
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconvnet_t', checkpoint_path=str(path), **base)
    assert str(e.value).endswith(lead) and 'global_pool' not in str(e.value), str(e.value)
    with pytest.raises(ValueError) as e:  # other arguments too: after the sizes and divisor
        timm.create_model('smpconvnet_t', checkpoint_path=str(path), **dict(base, num_classes=3))
    said = str(e.value)
    assert f'{lead}, and pass ' in said and said.index('global_pool') > said.index('n_points_divide it was'), said
    assert eval(f"dict({re.search(r'and pass (.*) to timm', said).group(1)})") == dict(num_classes=5, global_pool='avg')
    model = timm.create_model('smpconvnet_t', checkpoint_path=str(path), large_kernel_sizes=(13, 13, 13, 13),
                              n_points_divide=2, **base).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_an_original_checkpoint_of_another_divisor_names_it(tmp_path):
    """Trial 66: an original-layout checkpoint with k * k // 8 points per kernel (its grids give the kernel sizes) was
    told the channels and layers alone; the hint, copied, failed on the radius shapes with two equal descriptions (the
    launcher's export hint too). Its divisor is named now and the hint loads it; counts no divisor gives with its
    grids' sizes are said to be no file the original code saves."""
    sd = load_file(str(SMALL_CKPT))
    grid_sizes = {int(k.split('.')[1]): v.shape[-1] for k, v in sd.items() if k.endswith('kernel_coord')}
    cut = {}
    for k, v in sd.items():
        m = re.match(r'stages\.(\d)\.blocks\.\d+\.large_kernel\.smp\.conv\.(radius|weight_coord|weights)$', k)
        n = grid_sizes[int(m.group(1))] ** 2 // 8 if m else None  # (coords [1, n, 2], radii [1, n], weights [C, 1, n])
        cut[k] = v if n is None else (v[:, :n] if m.group(2) != 'weights' else v[..., :n]).contiguous()
    path = tmp_path / 'div8.pth'
    torch.save({'model': cut}, path)
    with pytest.raises(ValueError, match='create the model that matches the checkpoint: pass ') as e:
        timm.create_model('smpconvnet_t', checkpoint_path=str(path))
    said = str(e.value)
    assert 'n_points_divide=8' in said and 'read off its point counts' not in said, said
    hint = eval('dict(' + re.search(r'pass (.*) to timm\.create_model', said).group(1) + ')')
    assert hint['n_points_divide'] == 8
    model = timm.create_model('smpconvnet_t', checkpoint_path=str(path), **hint).eval()
    assert all(s.blocks[0].large_kernel.smp.conv.kernel.radius.shape[-1] == grid_sizes[i] ** 2 // 8
               for i, s in enumerate(model.stages))
    fewer = {k: (v[..., :-1] if k.endswith('weights') else v[:, :-1]) for k, v in cut.items()
             if re.match(r'stages\.0\..*\.smp\.conv\.(radius|weight_coord|weights)$', k)}
    torch.save({'model': dict(cut, **fewer)}, path)
    with pytest.raises(ValueError, match='fit its kernel_coord grids. sizes .* with no n_points_divide .*: the original '
                                         'code saves no such file'):
        timm.create_model('smpconvnet_t', checkpoint_path=str(path), **hint)


def test_converted_checkpoint_loads_and_roundtrips(io, tmp_path):
    model = load_smpconvnet_reference()
    path = tmp_path / 'converted.safetensors'
    save_file(model.state_dict(), path)
    again = load_smpconvnet_reference(file=path)  # this package's own layout goes through the same filter
    with torch.no_grad():
        assert rel_err(again(io['input']), io['logits']) < TOL


def test_new_head_and_in_chans_through_pretrained_path(io):
    model = load_smpconvnet_reference(num_classes=5, in_chans=1)
    assert model.get_classifier().out_features == 5
    with torch.no_grad():
        out = model(io['input'][:, :1])
    assert out.shape == (2, 5)
    ref = load_smpconvnet_reference()
    torch.testing.assert_close(
        model.stages[0].blocks[0].large_kernel.smp.conv.kernel.coords,
        ref.stages[0].blocks[0].large_kernel.smp.conv.kernel.coords)


def test_original_kernel_grids_are_checked(io, tmp_path):
    """The conversion drops the original's ``kernel_coord`` grids and samples the points on linspace(-1, 1, k) x
    linspace(-1, 1, k) ('ij'): a checkpoint holding another grid (the 'xy' meshgrid, a corrupted one, one of another
    shape, a block's grid of another size than its stage's) would convert to other kernels, so it is refused naming
    the key; copies of the right grid in float16, bfloat16 or float64 load."""
    sd = load_file(SMALL_CKPT)
    key = 'stages.1.blocks.0.large_kernel.smp.conv.kernel_coord'
    k = sd[key].shape[-1]
    axis = torch.linspace(-1, 1, k)
    value_error = key.replace('.', r'\.') + r": not the original's grid of a 29x29 kernel"
    shape_error = key.replace('.', r'\.') + r": expected the original's kernel grid of shape \[1, 2, k, k\]"
    for grid, message in ((torch.stack(torch.meshgrid(axis, axis, indexing='xy')).unsqueeze(0), value_error),
                          (torch.zeros(1, 2, k, k), value_error), (torch.full((1, 2, k, k), float('nan')), value_error),
                          (sd[key] * 0.99, value_error), (sd[key].bfloat16() * 0.99, value_error),
                          (sd[key][:, :, :1], shape_error), (sd[key][:, :, :, :-2], shape_error),
                          (torch.tensor(0.), shape_error)):
        path = tmp_path / 'grid.safetensors'
        save_file({**sd, key: grid.contiguous()}, path)
        with pytest.raises(ValueError, match=message):
            load_smpconvnet_reference(file=path)
    # a block of a stage with a grid of its own size (a valid grid), first or later: every block of a stage has one
    # size, and the error names both grids (a hint to pass the first block's size as large_kernel_sizes had failed)
    axis = torch.linspace(-1, 1, 25)
    for block, sizes in ((2, (25, 27)), (0, (27, 25))):
        odd = f'stages.2.blocks.{block}.large_kernel.smp.conv.kernel_coord'
        save_file({**sd, odd: torch.stack(torch.meshgrid(axis, axis, indexing='ij')).unsqueeze(0)},
                  tmp_path / 'k.safetensors')
        with pytest.raises(ValueError, match=re.escape(
                f'stages.2.blocks.2.large_kernel.smp.conv.kernel_coord: a {sizes[0]}x{sizes[0]} kernel grid, but '
                f'stages.2.blocks.0.large_kernel.smp.conv.kernel_coord of the same stage is {sizes[1]}x{sizes[1]}')):
            load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    # a stage without grids: its kernel size cannot be told (the sizes of the others had been taken for the model's)
    save_file({k: v for k, v in sd.items() if not (k.startswith('stages.3.') and k.endswith('.kernel_coord'))},
              tmp_path / 'k.safetensors')
    with pytest.raises(ValueError, match=re.escape('without a large_kernel.smp.conv.kernel_coord grid in every stage '
                                                   '(none in stage 3): its kernel sizes cannot be told') + '.*'
                       + re.escape('load the checkpoint as the original code saved it')):
        load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    save_file({k: v for k, v in sd.items() if not (k.startswith(('stages.0.', 'stages.2.'))
                                                   and k.endswith('.kernel_coord'))}, tmp_path / 'k.safetensors')
    with pytest.raises(ValueError, match=re.escape('every stage (none in stages 0, 2)')):
        load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    # a grid of a block or a stage the checkpoint does not have (it was counted as one: accepted, or named no key)
    for stray in ('stages.3.blocks.2.large_kernel.smp.conv.kernel_coord',
                  'stages.4.blocks.0.large_kernel.smp.conv.kernel_coord'):
        save_file({**sd, stray: sd['stages.3.blocks.0.large_kernel.smp.conv.kernel_coord'].clone()},
                  tmp_path / 'k.safetensors')
        with pytest.raises(ValueError, match=re.escape(f'{stray}: a kernel grid of a block without an SMP kernel (the '
                                                       'checkpoint has no point weights for that block)')):
            load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    # a key named like a grid elsewhere is no grid of the original's: the strict load names it (it was dropped)
    for stray in ('stages.0.blocks.0.large_kernel.smp.kernel_coord', 'stem.0.kernel_coord'):
        save_file({**sd, stray: sd[key].clone()}, tmp_path / 'k.safetensors')
        with pytest.raises((ValueError, RuntimeError), match=re.escape(f'"{stray}"')):
            load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    save_file({**sd, key: torch.zeros(1, 2, 0, 0)}, tmp_path / 'k.safetensors')
    with pytest.raises(ValueError, match=shape_error):
        load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    # float8 holds [-1, 1] to 1/16, about a tap spacing here: its tolerance would let a shifted grid pass
    save_file({**sd, key: sd[key].to(torch.float8_e4m3fn)}, tmp_path / 'k.safetensors')
    with pytest.raises(ValueError, match=key.replace('.', r'\.') + r': a torch\.float8_e4m3fn grid of a 29x29 kernel '
                                         r'cannot be checked: its precision \(0\.062\) is more than a quarter'):
        load_smpconvnet_reference(file=tmp_path / 'k.safetensors')
    for dtype, tol in ((torch.float16, 1e-2), (torch.bfloat16, 5e-2), (torch.float64, TOL)):
        save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, tmp_path / 'copy.safetensors')
        with torch.no_grad():
            assert rel_err(load_smpconvnet_reference(file=tmp_path / 'copy.safetensors')(io['input']), io['logits']) < tol


def read_keys(name):
    with open(FIXTURES / name) as f:
        rows = list(csv.reader(f, delimiter='\t'))[1:]
    return {k: eval(shape) for k, shape in rows}


@pytest.mark.parametrize('variant,keys_file', [
    ('smpconvnet_t', 'official_smpconvnet_t_keys.tsv'),
    ('smpconvnet_b', 'official_smpconvnet_b_keys.tsv'),
])
def test_official_key_layout_loads(variant, keys_file):
    keys = read_keys(keys_file)
    original = {k: torch.randn(shape) if shape else torch.tensor(0) for k, shape in keys.items()}
    for k, shape in keys.items():
        if k.endswith('kernel_coord'):  # the original's grid (checked: check_kernel_coord_grids)
            axis = torch.linspace(-1, 1, shape[-1])
            original[k] = torch.stack(torch.meshgrid(axis, axis, indexing='ij')).unsqueeze(0)
        if k.endswith('radius'):
            original[k] = torch.rand(shape) * 0.5 + 0.1
    model = timm.create_model(variant)
    params = sum(p.numel() for p in model.parameters())
    assert params == sum(torch.Size(s).numel() for k, s in keys.items()
                         if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked', 'kernel_coord')))
    state_dict = checkpoint_filter_fn({'model': original}, model)
    result = model.load_state_dict(state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    cfg = infer_config_from_checkpoint(original)
    assert cfg['large_kernel_sizes'] == [31, 29, 27, 13]
    assert cfg['channels'] == [info['num_chs'] for info in model.feature_info]


def test_parameter_counts_are_the_papers():
    assert sum(p.numel() for p in timm.create_model('smpconvnet_t').parameters()) == 26_705_248
    assert sum(p.numel() for p in timm.create_model('smpconvnet_b').parameters()) == 79_546_520


def test_checkpoint_of_another_size_is_refused():
    keys = read_keys('official_smpconvnet_t_keys.tsv')
    original_t = {k: torch.zeros(s) if s else torch.tensor(0) for k, s in keys.items()}
    model_b = timm.create_model('smpconvnet_b')
    with pytest.raises(ValueError, match=r'checkpoint is smpconvnet_t .*but the model is smpconvnet_b'):
        checkpoint_filter_fn({'model': original_t}, model_b)


def test_checkpoint_with_other_kernel_sizes_is_refused():
    with pytest.raises(ValueError, match=r'large_kernel_sizes=\[31, 29, 27, 13\], but the model is .*'
                                         r'large_kernel_sizes=\[31, 29, 27, 11\].*pass large_kernel_sizes='
                                         r'\[31, 29, 27, 13\]'):
        load_smpconvnet_reference(large_kernel_sizes=[31, 29, 27, 11])


def test_not_a_checkpoint_is_refused(tmp_path):
    model = timm.create_model('smpconvnet_t', **SMALL_KWARGS)
    with pytest.raises(ValueError, match='is not an SMPConvNet state dict'):
        checkpoint_filter_fn({'epoch': 3, 'args': 'x'}, model)
    with pytest.raises(ValueError, match='no stem.0.conv.weight'):
        checkpoint_filter_fn({'fc.weight': torch.zeros(3, 3)}, model)


@pytest.mark.parametrize('deployed', [False, True])
def test_a_size_hint_keeps_the_pooling_the_head_shows(deployed):
    """'catavgmax' doubles the classifier's input: the one pooling a shape shows. The size hint gave the model's
    pooling instead, and the copy then failed on the head's shape: it gives the head's."""
    trained = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(8, 8, 16, 16), num_classes=5,
                                global_pool='catavgmax').eval()
    if deployed:
        trained.reparameterize()
    with pytest.raises(ValueError, match="global_pool='catavgmax'") as e:
        checkpoint_filter_fn(trained.state_dict(), timm.create_model('smpconvnet_t', layers=(1, 1, 2, 1)))
    args = re.search(r': pass (.+) to timm\.create_model', str(e.value)).group(1)
    fitting = eval(f"timm.create_model('smpconvnet_t', {args})", {'timm': timm}).eval()
    fitting.load_state_dict(checkpoint_filter_fn(trained.state_dict(), fitting))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(fitting(x), trained(x))


def test_a_deployed_checkpoint_of_another_architecture_names_the_arguments_that_fit_it():
    """Trial 46: the refusal named the arguments without their values ('layers=, channels=, large_kernel_sizes='): it
    gives those the shapes tell (trial 47, 48: the kernel sizes, small kernel and width ratios too) and the model's
    pooling, which copied literally build a model the checkpoint loads into."""
    small = dict(channels=(8, 16, 24, 32), large_kernel_sizes=(7, 5, 7, 3), small_kernel_size=3, dw_ratio=2,
                 ffn_ratio=2, global_pool='max')
    x = torch.randn(1, 2, 64, 64)
    for deployed in (False, True):  # (trial 47: the trained form's hint left out its kernel sizes)
        trained = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), num_classes=5, in_chans=2, **small).eval()
        if deployed:
            trained.reparameterize()
        with pytest.raises(ValueError, match='deployed from: pass ' if deployed else 'the checkpoint: pass ') as e:
            checkpoint_filter_fn(trained.state_dict(), timm.create_model('smpconvnet_t', layers=(1, 1, 2, 1),
                                                                         global_pool='max'))
        # (the pooling is the model's: no shape tells it, and the message says so; trial 48: it was left out)
        assert "its pooling they do not: this model's global_pool" in str(e.value)
        args = re.search(r': pass (.+) to timm\.create_model', str(e.value)).group(1)
        fitting = eval(f"timm.create_model('smpconvnet_t', {args})", {'timm': timm}).eval()
        fitting.load_state_dict(checkpoint_filter_fn(trained.state_dict(), fitting))
        with torch.no_grad():
            assert torch.equal(fitting(x), trained(x))
