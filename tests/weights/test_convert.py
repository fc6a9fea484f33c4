"""`smpconvnet convert`: original checkpoints -> timm/Hub folders, checked against the original implementation."""
import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file, save_file

from smpconvnet.weights import convert as convert_mod
from smpconvnet.cli import main
from smpconvnet.weights.convert import convert_checkpoint
from smpconvnet.weights.sources import detect_architecture, read_checkpoint

from conftest import FIXTURES, SMALL_CKPT, SMALL_IO, rel_err

SMALL_ARGS = dict(large_kernel_sizes=[31, 29, 27, 13], layers=[1, 1, 2, 1], channels=[16, 32, 64, 128],
                  n_points_divide=4, num_classes=10)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    dst = tmp_path_factory.mktemp('conv') / 'small'
    report = convert_checkpoint(SMALL_CKPT, dst, quiet=True)
    return dst, report


def _entries(parent: Path):
    return sorted(p.name for p in parent.iterdir())


def test_converted_folder_reproduces_the_original_outputs(converted):
    dst, report = converted
    assert _entries(dst) == ['README.md', 'config.json', 'model.safetensors']
    io = load_file(str(SMALL_IO))
    model = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()
    with torch.inference_mode():
        logits = model(io['input'])
        features = model.forward_features(io['input'])
    # outputs of the original implementation (tests/fixtures), relative to their max
    assert rel_err(logits, io['logits']) < 1e-4
    assert rel_err(features, io['features']) < 1e-4
    assert report['max_rel_diff'] <= convert_mod.VERIFY_TOLERANCE


def test_config_records_the_non_standard_size_and_the_card_the_source(converted):
    dst, report = converted
    config = json.loads((dst / 'config.json').read_text())
    assert config['architecture'] == 'smpconvnet_t' and config['num_classes'] == 10
    assert {k: config['model_args'][k] for k in SMALL_ARGS} == SMALL_ARGS
    assert config['pretrained_cfg']['num_classes'] == 10 and config['num_features'] == 128
    assert 'neither SMPConvNet-T nor -B' in report['description']
    card = (dst / 'README.md').read_text()
    assert card.startswith('---\n') and 'library_name: timm' in card and 'license: mit' in card
    assert report['source_sha256'] in card and 'smpconvnet convert' in card
    assert 'imagenet-1k' not in card  # a 10-class custom network makes no ImageNet claim
    # nor its config (a folder headed smpconvnet_t.in1k, with the ImageNet weights' Hub repo)
    assert not {'tag', 'hf_hub_id', 'paper_name'} & set(config['pretrained_cfg'])


def _small_state_dict():
    return load_file(str(SMALL_CKPT))


@pytest.mark.parametrize('wrap', ['model', 'model_ema_module'])
def test_released_pth_layouts_convert_to_the_same_weights(tmp_path, converted, wrap):
    sd = _small_state_dict()
    if wrap == 'model':
        checkpoint = {'model': sd, 'epoch': 299, 'args': argparse.Namespace(lr=4e-3, model='SMPConv_T')}
    else:
        # EMA weights are preferred, as timm does; the plain weights are made different to prove it
        checkpoint = {'model': {k: torch.zeros_like(v) for k, v in sd.items()},
                      'model_ema': {'module.' + k: v for k, v in sd.items()}}
    src = tmp_path / 'release.pth'
    torch.save(checkpoint, src)
    convert_checkpoint(src, tmp_path / 'out', quiet=True)
    expected = load_file(str(converted[0] / 'model.safetensors'))
    actual = load_file(str(tmp_path / 'out' / 'model.safetensors'))
    assert set(actual) == set(expected) and all(torch.equal(actual[k], expected[k]) for k in expected)


def _random_official(name: str, num_classes: int = 1000):
    # zeros: detection reads shapes only, and zeros of 80M floats cost no time to make
    sd = {}
    for line in (FIXTURES / f'official_smpconvnet_{name}_keys.tsv').read_text().splitlines()[1:]:
        key, shape = line.split('\t')
        shape = json.loads(shape)
        if key.startswith('head.'):
            shape[0] = num_classes
        sd[key] = torch.zeros(shape)
    return sd


def test_t_and_b_are_recognised_from_the_shapes():
    assert detect_architecture(_random_official('t')) == ('smpconvnet_t', {}, 'SMPConvNet-T')
    assert detect_architecture({'model': _random_official('b')}) == ('smpconvnet_b', {}, 'SMPConvNet-B')
    # a fine-tuned T with another head is still T, its classes recorded
    assert detect_architecture(_random_official('t', 37)) == ('smpconvnet_t', {'num_classes': 37}, 'SMPConvNet-T')


def test_an_unrecognisable_checkpoint_says_so():
    with pytest.raises(ValueError, match='cannot tell which SMPConvNet'):
        detect_architecture({'model': {'conv1.weight': torch.zeros(3, 3, 7, 7)}})
    sd = _random_official('t')
    for k in [k for k in sd if '.smp.conv.' in k]:
        sd.pop(k)
    with pytest.raises(ValueError, match='cannot tell'):
        detect_architecture(sd)
    # grids for some stages only: the message had said the checkpoint has none
    sd = _random_official('t')
    for k in [k for k in sd if k.startswith('stages.0.') and k.endswith('.kernel_coord')]:
        sd.pop(k)
    with pytest.raises(ValueError, match=re.escape('has kernel_coord grids for some stages only (none in stage 0;')):
        detect_architecture(sd)
    # the stages without grids are named (the message had not said which)
    sd = _random_official('t')
    for k in [k for k in sd if k.startswith(('stages.1.', 'stages.3.')) and k.endswith('.kernel_coord')]:
        sd.pop(k)
    with pytest.raises(ValueError, match=re.escape('some stages only (none in stages 1, 3;')):
        detect_architecture(sd)


def test_a_checkpoint_of_another_smp_family_is_refused_with_commands_that_read_it(tmp_path, capsys):
    """The original SMP-TCN's checkpoint layout (the reference's sequence model) got "cannot tell which SMPConvNet
    this is: not an SMPConvNet checkpoint", with nothing of what reads it; so did an SMP-ResNet's. The error names
    what it holds and commands that read it as it is, which then work as printed."""
    src = FIXTURES / 'official_tcn_small.safetensors'
    assert main(['convert', str(src), str(tmp_path / 'c')]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'smpconvnet convert: error: {src} holds an SMP-TCN state dict that names no model, not an '
                          'SMPConvNet ImageNet checkpoint')
    assert not (tmp_path / 'c').exists()
    reparam = err.split('e.g. `')[1].split('`')[0].replace('OUT', str(tmp_path / 'deployed')).split()
    info = err.split(', `')[1].split('`')[0].split()
    assert reparam[:2] == ['smpconvnet', 'reparam'] and info[:2] == ['smpconvnet', 'info']
    assert main(reparam[1:]) == 0 and main(info[1:]) == 0
    assert capsys.readouterr().err.count("warning: " + str(src) + " names no model") == 2
    resnet = tmp_path / 'resnet.safetensors'
    save_file(timm.create_model('smpconv_resnet_cifar10').state_dict(), str(resnet))
    assert main(['convert', str(resnet), str(tmp_path / 'r')]) == 1
    assert 'holds an SMP-ResNet state dict that names no model' in capsys.readouterr().err
    # the weights of a registered model: its hint builds that model (pooling, kernel length, data config), where
    # the file alone is read as the family's default (another network: 'last' pooling, whole-series kernels)
    shipped = timm.create_model('smpconv_tcn_osuleaf.aeon', pretrained=True).eval()
    bare = tmp_path / 'osuleaf.safetensors'
    save_file(shipped.state_dict(), str(bare))
    assert main(['convert', str(bare), str(tmp_path / 'c')]) == 1
    err = capsys.readouterr().err
    hint = err.split('give smpconv_tcn_osuleaf in place of the file and add ')[1].split(' (e.g.')[0]
    assert main(['reparam', 'smpconv_tcn_osuleaf', str(tmp_path / 'osu'), *shlex.split(hint)]) == 0
    x = torch.randn(2, 1, 427)
    with torch.no_grad():
        assert rel_err(timm.create_model(f'local-dir:{tmp_path / "osu"}', pretrained=True).eval()(x), shipped(x)) < 1e-5
    # a file whose folder records the model (a model, run or deployed folder): the folder, which then loads
    folder = tmp_path / 'osu'  # reparam's deployed folder
    assert main(['convert', str(folder / 'model.safetensors'), str(tmp_path / 'c')]) == 1
    err = capsys.readouterr().err
    assert f'its folder {folder} records the model: give the folder to any command, e.g. `smpconvnet info ' \
           f'{folder}`' in err
    assert main(['info', str(folder)]) == 0
    from_folder = capsys.readouterr().out
    # and the file itself, given to a command that reads models, is read with its folder's config.json (a deployed
    # state dict names no architecture: it was refused with the hint above)
    assert main(['info', str(folder / 'model.safetensors')]) == 0
    out = capsys.readouterr().out.replace(f'{folder / "model.safetensors"}:', f'{folder}:')
    assert out.replace(' (the folder of model.safetensors, whose config.json names its model)', '') == from_folder


def test_load_errors_name_the_keys_as_the_file_does(tmp_path):
    """A missing, extra or misshapen tensor in an authors'-layout file was named by this package's key
    (`...smp.conv.kernel.radius`, `...norm.weight`), which the file does not have; the errors name the file's, and the
    renaming is the exact inverse of the layout conversion for every key of SMPConvNet-T."""
    import ast
    from smpconvnet.models.smpconvnet import original_key, remap_original_keys
    rows = [line.split('\t') for line in (FIXTURES / 'official_smpconvnet_t_keys.tsv').read_text().splitlines()[1:]]
    for key, shape in rows:
        if not key.endswith('.kernel_coord'):
            (renamed,) = remap_original_keys({key: torch.zeros(ast.literal_eval(shape))}, rotate=False)
            assert original_key(renamed) == key
    sd = load_file(str(SMALL_CKPT))
    cases = (({'stages.0.blocks.0.large_kernel.smp.conv.radius': None},
              'Missing key(s) in the checkpoint: "stages.0.blocks.0.large_kernel.smp.conv.radius"'),
             ({'transitions.0.extra': torch.zeros(1)}, 'Unexpected key(s) in the checkpoint: "transitions.0.extra"'),
             ({'stages.0.blocks.1.preffn_bn.weight': torch.zeros(5)},
              "checkpoint tensor stages.0.blocks.1.preffn_bn.weight (this package's stages.0.blocks.1.norm.weight) "
              'has shape [5], the model expects [16]'))
    for change, message in cases:
        broken = {k: v for k, v in sd.items() if change.get(k, v) is not None}
        broken.update({k: v for k, v in change.items() if v is not None})
        save_file(broken, str(tmp_path / 'broken.safetensors'))
        with pytest.raises(ValueError) as e:
            convert_checkpoint(tmp_path / 'broken.safetensors', tmp_path / 'out', quiet=True)
        assert message in str(e.value) and not (tmp_path / 'out').exists()


def test_refuses_to_overwrite_without_force(tmp_path, converted):
    dst = tmp_path / 'out'
    dst.mkdir()
    (dst / 'keep.txt').write_text('mine')
    for force in (False, True):  # a folder of other things is not replaced, --force or not
        with pytest.raises(ValueError, match='holds keep.txt, which this command does not write'):
            convert_checkpoint(SMALL_CKPT, dst, force=force, quiet=True)
    assert _entries(dst) == ['keep.txt']
    (dst / 'keep.txt').unlink()
    convert_checkpoint(SMALL_CKPT, dst, force=True, quiet=True)  # an empty folder is replaced
    with pytest.raises(FileExistsError, match='--force'):
        convert_checkpoint(SMALL_CKPT, dst, quiet=True)
    (dst / 'model.onnx').write_bytes(b'an export beside it')
    with pytest.raises(ValueError, match='holds model.onnx, which this command does not write'):
        convert_checkpoint(SMALL_CKPT, dst, force=True, quiet=True)
    (dst / 'model.onnx').unlink()
    convert_checkpoint(SMALL_CKPT, dst, force=True, quiet=True)  # an earlier output folder is replaced
    assert _entries(dst) == ['README.md', 'config.json', 'model.safetensors']
    assert _entries(tmp_path) == ['out']  # no temporary or backup folder left behind


def test_a_failed_verification_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(convert_mod, 'VERIFY_TOLERANCE', -1.0)  # no output can pass
    with pytest.raises(RuntimeError, match='verification failed'):
        convert_checkpoint(SMALL_CKPT, tmp_path / 'out', quiet=True)
    assert _entries(tmp_path) == []


def test_corrupt_and_truncated_files_give_clear_errors(tmp_path):
    data = SMALL_CKPT.read_bytes()
    (tmp_path / 'cut.safetensors').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='corrupt or truncated'):
        read_checkpoint(tmp_path / 'cut.safetensors')
    torch.save({'model': _small_state_dict()}, tmp_path / 'full.pth')
    data = (tmp_path / 'full.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 3])
    with pytest.raises(ValueError, match='corrupt or truncated'):
        read_checkpoint(tmp_path / 'cut.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='empty'):
        read_checkpoint(tmp_path / 'empty.pth')
    torch.save([1, 2, 3], tmp_path / 'list.pth')
    with pytest.raises(ValueError, match='expected a state dict'):
        read_checkpoint(tmp_path / 'list.pth')
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / 'absent.pth')


class Arbitrary:  # a pickled object safe loading must refuse
    pass


def test_unsafe_pickles_need_explicit_trust(tmp_path):
    torch.save({'model': _small_state_dict(), 'extra': Arbitrary()}, tmp_path / 'odd.pth')
    with pytest.raises(ValueError, match='--trust-pickle'):
        read_checkpoint(tmp_path / 'odd.pth')
    assert 'model' in read_checkpoint(tmp_path / 'odd.pth', trust_pickle=True)


def test_cli_convert(tmp_path, capsys):
    dst = tmp_path / 'cli'
    assert main(['convert', str(SMALL_CKPT), str(dst)]) == 0
    out = capsys.readouterr().out
    assert '[4/4] verifying' in out and 'done in' in out
    assert main(['convert', str(SMALL_CKPT), str(dst)]) == 1
    assert 'exists' in capsys.readouterr().err
    bad = tmp_path / 'bad.safetensors'
    save_file({'conv1.weight': torch.zeros(3, 3)}, str(bad))
    assert main(['convert', str(bad), str(tmp_path / 'bad')]) == 1
    assert 'cannot tell which SMPConvNet' in capsys.readouterr().err
    # a file in this package's layout (convert's own output): named as such, with what reads it (it said "cannot tell
    # the SMP kernel sizes ... names no model"); beside its config.json, the folder, which loads as printed
    own = dst / 'model.safetensors'
    assert main(['convert', str(own), str(tmp_path / 'again')]) == 1
    err = capsys.readouterr().err
    assert "in this package's layout already" in err and f'give local-dir:{dst} to any command' in err
    assert main(['info', f'local-dir:{dst}']) == 0
    loose = tmp_path / 'loose.safetensors'
    save_file(load_file(str(own)), str(loose))
    assert main(['convert', str(loose), str(tmp_path / 'again')]) == 1
    assert f'`smpconvnet reparam {loose} OUT`' in capsys.readouterr().err
    assert not (tmp_path / 'again').exists()
