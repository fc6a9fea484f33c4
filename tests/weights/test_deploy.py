"""`smpconvnet reparam` and `smpconvnet export`: the deployed form saved, reloaded, and exported to ONNX and
TorchScript, each checked against PyTorch."""
import copy
import json
import re
import shlex
import shutil
import warnings
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import timm
import torch

from smpconvnet.cli import main
from smpconvnet.weights.sources import load_model
from smpconvnet.weights.folders import write_model_folder
from smpconvnet.models import WEIGHTS_DIR
from smpconvnet.weights.deploy import EXPORT_TOLERANCE, export_model, reparameterize_to_folder

from conftest import randomize_bn, rel_err

TINY = dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], num_classes=7)


@pytest.fixture(scope='module')
def trained_folder(tmp_path_factory):
    """A tiny network with non-trivial BatchNorms, saved as a model folder; and its eval-mode model."""
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model('smpconvnet_t', **TINY)).eval()
    folder = write_model_folder(model, tmp_path_factory.mktemp('m') / 'tiny', card='# tiny\n')
    return folder, model


def _input(batch: int, size: int = 224, seed: int = 3):
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_onnx_export_runs_in_onnxruntime_with_a_dynamic_batch(trained_folder, tmp_path):
    folder, model = trained_folder
    out = tmp_path / 'tiny.onnx'
    report = export_model(str(folder), str(out), 'onnx', quiet=True)
    assert report['exported_vs_pytorch'] < EXPORT_TOLERANCE
    graph = onnx.load(str(out)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    assert not any(n.op_type == 'BatchNormalization' for n in graph.node)  # re-parameterised first
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    x = _input(3)  # neither the export batch (1) nor the check batch (2)
    with torch.inference_mode():
        expected = model(x)
    actual = torch.from_numpy(session.run(None, {'input': x.numpy()})[0])
    assert actual.shape == (3, 7)
    assert rel_err(actual, expected) < 1e-4  # ONNX vs the training form in PyTorch


def test_torchscript_export_reloads_and_matches(trained_folder, tmp_path):
    folder, model = trained_folder
    out = tmp_path / 'tiny.pt'
    report = export_model(str(folder), str(out), 'torchscript', input_size=(3, 64, 64), quiet=True)
    assert report['exported_vs_pytorch'] < EXPORT_TOLERANCE
    scripted = torch.jit.load(str(out))
    x = _input(3, 64)
    with torch.inference_mode():
        assert rel_err(scripted(x), model(x)) < 1e-4


def test_sequence_model_exports_to_onnx(tmp_path):
    # a 1-D model: input (C, L), its FFT convolutions exported as direct ones
    out = tmp_path / 'tcn.onnx'
    report = export_model('smpconv_tcn_smnist', str(out), 'onnx', pretrained=False, input_size=(1, 64),
                          quiet=True)
    assert report['input_size'] == [1, 64] and report['exported_vs_pytorch'] < EXPORT_TOLERANCE


def test_reparam_folder_loads_back_as_the_deployed_model(trained_folder, tmp_path):
    folder, model = trained_folder
    dst = tmp_path / 'deployed'
    report = reparameterize_to_folder(str(folder), str(dst), input_size=(3, 64, 64), quiet=True)
    assert report['max_rel_diff'] < EXPORT_TOLERANCE and report['reloaded_max_rel_diff'] < EXPORT_TOLERANCE
    config = json.loads((dst / 'config.json').read_text())
    assert config['deployed'] is True and config['model_args']['layers'] == TINY['layers']
    deployed, source = load_model(str(dst))
    assert 'deployed' in source
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in deployed.modules())
    x = _input(2, 96)
    with torch.inference_mode():
        assert rel_err(deployed(x), model(x)) < 1e-4
    # deployed twice makes no sense, and nothing is overwritten unasked
    with pytest.raises(ValueError, match='already deployed'):
        reparameterize_to_folder(str(dst), str(tmp_path / 'again'), quiet=True)
    with pytest.raises(FileExistsError, match='--force'):
        reparameterize_to_folder(str(folder), str(dst), quiet=True)


def test_export_refuses_to_overwrite_and_rejects_unknown_formats(trained_folder, tmp_path):
    folder, _ = trained_folder
    out = tmp_path / 'x.onnx'
    out.write_text('mine')
    with pytest.raises(FileExistsError, match='--force'):
        export_model(str(folder), str(out), quiet=True)
    assert out.read_text() == 'mine'
    with pytest.raises(ValueError, match="'onnx' or 'torchscript'"):
        export_model(str(folder), str(tmp_path / 'y'), 'tflite', quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.onnx']
    # --force replaces an earlier export, not a user's file of another kind (r.yaml was replaced by a graph)
    (tmp_path / 'r.yaml').write_text('a: 1')
    with pytest.raises(ValueError, match=r"r\.yaml: an export's name ends in \.onnx .* name it .*r\.onnx"):
        export_model(str(folder), str(tmp_path / 'r.yaml'), force=True, quiet=True)
    assert (tmp_path / 'r.yaml').read_text() == 'a: 1'
    # nor is an export written under such a name (x9.txt was written, then refused by --force)
    with pytest.raises(ValueError, match=r"x9\.txt: an export's name ends in \.onnx .* name it .*x9\.onnx"):
        export_model(str(folder), str(tmp_path / 'x9.txt'), quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['r.yaml', 'x.onnx']


def test_export_refuses_a_name_of_the_other_format_and_an_empty_output(trained_folder, tmp_path, capsys):
    """`export --format torchscript -o m.onnx` wrote a TorchScript file named .onnx without a word (onnxruntime then
    fails far from the cause); `-o ""` silently wrote the default name. Both are refused before any work, and the
    hint's spelling works."""
    folder, _ = trained_folder
    with pytest.raises(ValueError, match=r"a \.onnx name for a TorchScript file; name it .*m\.pt or choose "
                                         r"--format onnx"):
        export_model(str(folder), str(tmp_path / 'm.onnx'), 'torchscript', quiet=True)
    with pytest.raises(ValueError, match=r"a \.pth name for an ONNX file; name it .*m\.onnx"):
        export_model(str(folder), str(tmp_path / 'm.pth'), 'onnx', quiet=True)
    with pytest.raises(ValueError, match=r"a \.safetensors name for a TorchScript file; name it .*m\.pt"):
        export_model(str(folder), str(tmp_path / 'm.safetensors'), 'torchscript', quiet=True)
    assert main(['export', str(folder), '-o', '']) == 1
    assert '--output is empty' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [] and not any(Path.cwd().glob('*.onnx'))
    argv = ['export', str(folder), '--input-size', '3,64,64', '--no-check']
    assert main(argv + ['--format', 'torchscript', '-o', str(tmp_path / 'm.onnx')]) == 1
    assert main(argv + ['--format', 'onnx', '-o', str(tmp_path / 'm.onnx')]) == 0  # the hint: --format onnx
    assert (tmp_path / 'm.onnx').is_file()


def test_cli_export_and_reparam(trained_folder, tmp_path, capsys):
    folder, _ = trained_folder
    out = tmp_path / 'cli.pt'
    assert main(['export', str(folder), '--format', 'torchscript', '-o', str(out), '--input-size', '3,64,64']) == 0
    text = capsys.readouterr().out
    assert out.is_file() and '[4/4] checking' in text and 'outputs equal PyTorch' in text
    assert main(['reparam', str(folder), str(tmp_path / 'dep'), '--input-size', '3,64,64']) == 0
    assert main(['export', 'no_such_model', '-o', str(tmp_path / 'z.onnx')]) == 1
    assert 'neither a registered timm model' in capsys.readouterr().err


def test_onnx_export_at_a_small_resolution_where_kernels_exceed_the_maps(trained_folder, tmp_path):
    # at 64 px the 7x7 .. 2x2 maps are smaller than the 31 .. 13 kernels: the exported graph must not freeze
    # a crop computed from the traced size, and must still equal PyTorch
    folder, model = trained_folder
    out = tmp_path / 'tiny64.onnx'
    report = export_model(str(folder), str(out), 'onnx', input_size=(3, 64, 64), quiet=True)
    assert report['exported_vs_pytorch'] < EXPORT_TOLERANCE
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    x = _input(3, 64)
    with torch.inference_mode():
        expected = model(x)
    assert rel_err(torch.from_numpy(session.run(None, {'input': x.numpy()})[0]), expected) < 1e-4


def test_reparam_card_of_a_sequence_model_names_what_it_is(tmp_path):
    """The card of a deployed SMP-TCN describes a sequence model (its name, sequences of its channels and length),
    not an ImageNet backbone; an image model's card still says ImageNet backbone."""
    dst = tmp_path / 'gunpoint_deployed'
    reparameterize_to_folder('smpconv_tcn_gunpoint.aeon', str(dst), quiet=True)
    card = (dst / 'README.md').read_text()
    assert card.splitlines()[card.splitlines().index('---', 1) + 1] == \
        '# smpconv_tcn_gunpoint (deployed, re-parameterised)'
    assert 'causal temporal convolutional network (sequence model)' in card and 'ImageNet' not in card
    assert '- time-series-classification' in card and 'image-classification' not in card
    # the deployed form takes the length its kernels were materialised for, and only that one
    assert '- **Input:** sequences `[B, 1, 150]` only' in card and 'mean (-4.911e-10,)' in card
    assert '- **Weights:** GunPoint (UCR)' in card and "`label_names` = ['1', '2']" in card
    assert "`smpconvnet reparam smpconv_tcn_gunpoint.aeon gunpoint_deployed`" in card
    # a sequence has no resize: the deployed cfg keeps the source's interpolation '' (timm would fill in 'bicubic')
    assert timm.create_model(f'local-dir:{dst}', pretrained=True).pretrained_cfg['interpolation'] == ''
    from smpconvnet.weights.folders import model_card
    image = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), num_classes=0)
    assert 'ImageNet backbone' in model_card('smpconvnet_t', image, dict(layers=(1, 1, 1, 1)), 'x', 's', 'c')


def test_export_of_a_deployed_folder_at_another_length_is_refused_in_words(tmp_path):
    """A folder deployed for 100 steps, exported for 150: it warned that 100 was the length the model was trained at
    (it was trained at 150), then failed with a Python hint (model.reparameterize(length=150)). Refused before any
    work, with options that work when copied."""
    dst = tmp_path / 'gp100'
    reparameterize_to_folder('smpconv_tcn_gunpoint.aeon', str(dst), input_size=(1, 100), quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no warning first
        with pytest.raises(ValueError, match=r'^--input-size 1,150: the model is deployed for 100 steps .*: leave '
                                             r'--input-size out, or start from the training-form model it was '
                                             r'deployed from \(smpconv_tcn_gunpoint.aeon\) with --input-size 1,150$'):
            export_model(str(dst), str(tmp_path / 'x.onnx'), input_size=(1, 150), quiet=True)
        # another channel count: not in_chans= on the deployed weights (that failed on their shapes)
        with pytest.raises(ValueError, match=r'pass --input-size 1,100 .*or build it for 2 from the training-form '
                                             r'model it was deployed from \(smpconv_tcn_gunpoint.aeon\) with '
                                             r'--input-size 2,100 --model-kwargs in_chans=2$'):
            export_model(str(dst), str(tmp_path / 'x.onnx'), input_size=(2, 100), quiet=True)
    assert not (tmp_path / 'x.onnx').exists()
    # its warning's hint names the training form, which takes --input-size (trial 68b: the deployed folder's own
    # export was told to pass it, and refused it)
    with pytest.warns(UserWarning, match=r'deploy its training form \(smpconv_tcn_gunpoint.aeon\) with --input-size '
                                         r'1,150 \(pad'):
        assert export_model(str(dst), str(tmp_path / 'x.onnx'), quiet=True)['input_size'] == [1, 100]
    report = export_model('smpconv_tcn_gunpoint.aeon', str(tmp_path / 'y.onnx'), input_size=(1, 150), quiet=True)
    assert report['input_size'] == [1, 150]


def test_torchscript_of_a_length_deployed_sequence_model_keeps_its_length_check(tmp_path):
    """A TCN deployed for one length exports to TorchScript with its length check (a trace would freeze the check at
    trace time and then run any length silently, with kernels materialised for another)."""
    folder = tmp_path / 'tcn'
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8, num_classes=5, seq_len=100)
    write_model_folder(randomize_bn(model).eval(), folder, '# tcn\n')
    out = tmp_path / 'tcn.pt'
    report = export_model(str(folder), str(out), 'torchscript', input_size=(1, 100), quiet=True)
    assert report['method'] == 'torch.jit.script'
    scripted = torch.jit.load(str(out))
    x = torch.randn(3, 1, 100)
    with torch.no_grad():
        assert rel_err(scripted(x), model.eval()(x)) < EXPORT_TOLERANCE
    with pytest.raises(Exception, match='re-parameterised for sequences of length 100, got length 150'):
        scripted(torch.randn(3, 1, 150))


def test_variable_length_model_exports_lengths_and_scores_as_pytorch(tmp_path):
    """A sequence classifier's ONNX file takes ``lengths`` as its second input: on the real, right-padded
    JapaneseVowels test split (370 series of 7-29 steps) onnxruntime classifies as PyTorch with ``lengths`` does,
    at the accuracy recorded with the shipped weights (without lengths the padding is read as data)."""
    from smpconvnet.data import sequences as seq_data
    from smpconvnet.weights.deploy import run_onnx
    name = 'smpconv_tcn_japanesevowels.aeon'
    out = tmp_path / 'jv.onnx'
    report = export_model(name, str(out), 'onnx', quiet=True)
    assert report['inputs'] == ['input', 'lengths'] and report['exported_vs_pytorch'] <= EXPORT_TOLERANCE
    assert [i.name for i in onnx.load(str(out)).graph.input] == ['input', 'lengths']
    model = timm.create_model(name, pretrained=True).eval()
    cfg = model.pretrained_cfg
    data = seq_data.standardize(seq_data.load_aeon('JapaneseVowels', 'test', label_names=list(cfg['label_names'])),
                                cfg['mean'], cfg['std'])
    x, lengths = seq_data.pad_batch(data.sequences, 29)
    with torch.no_grad():
        expected = model(x, lengths=lengths)
    actual = run_onnx(out, x, lengths)
    assert rel_err(actual, expected) < EXPORT_TOLERANCE
    accuracy = (actual.argmax(1) == data.targets).float().mean().item()
    assert accuracy == (expected.argmax(1) == data.targets).float().mean().item()
    recorded = json.loads((WEIGHTS_DIR / name / 'config.json').read_text())['results']['test']
    assert round(accuracy * 370) == recorded['correct'] and recorded['n'] == 370
    # without lengths run_onnx reads every series whole (lengths = L), as the model without lengths does
    with torch.no_grad():
        assert rel_err(run_onnx(out, x[:4]), model(x[:4])) < EXPORT_TOLERANCE
    # NumPy input, as onnxruntime users hold it (a float64 array too): it failed on `.numpy()`
    assert torch.equal(run_onnx(out, x[:4].double().numpy(), lengths[:4].numpy()), run_onnx(out, x[:4], lengths[:4]))
    # a reversed (negatively strided) array is copied; lengths that are no whole numbers are refused, not truncated
    flipped = x[:4].flip(-1).numpy()[..., ::-1]
    assert torch.equal(run_onnx(out, flipped, lengths[:4]), run_onnx(out, x[:4], lengths[:4]))
    for bad in (lengths[:4].float() - 0.1, torch.tensor([29., float('inf'), 5., 7.]), torch.ones(4, dtype=torch.bool)):
        with pytest.raises(ValueError, match='whole numbers'):
            run_onnx(out, x[:4], bad)
    for bad in ([29, 0, 5, 7], [29, 30, 5, 7], [29, -5, 5, 7]):  # the exported graph gave NaN or other outputs
        with pytest.raises(ValueError, match=r'must lie in \[1, 29\]'):
            run_onnx(out, x[:4], torch.tensor(bad))


@pytest.mark.parametrize('pool', ['max', 'avgmax'])
def test_max_pooling_sequence_model_exports_lengths(tmp_path, pool):
    """A model pooling the maximum over the valid steps exports with ``lengths`` too: onnxruntime gives PyTorch's
    outputs on a right-padded batch whose padding would win an unmasked maximum."""
    from smpconvnet.weights.deploy import run_onnx
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8,
                                           kernel_length=16, global_pool=pool)).eval()
    folder = write_model_folder(model, tmp_path / pool, card='# max pooling\n')
    out = tmp_path / f'{pool}.onnx'
    report = export_model(str(folder), str(out), 'onnx', input_size=(3, 40), quiet=True)
    assert report['inputs'] == ['input', 'lengths'] and report['exported_vs_pytorch'] <= EXPORT_TOLERANCE
    x, lengths = torch.randn(3, 3, 40), torch.tensor([40, 12, 27])
    x[1, :, 12:], x[2, :, 27:] = 50., 50.
    with torch.no_grad():
        expected = model(x, lengths=lengths)
    assert rel_err(run_onnx(out, x, lengths), expected) < EXPORT_TOLERANCE


def test_a_zero_padding_model_is_deployed_for_n_steps_from_a_shorter_example(tmp_path):
    """`smpconvnet reparam --input-size C,L` with L below zero_pad_to deploys for zero_pad_to steps (the model pads
    shorter series itself), and the saved folder reloads and reads short and full-length series as trained."""
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8,
                                           zero_pad_to=40)).eval()
    folder = write_model_folder(model, tmp_path / 'zp', card='# zero-padding\n')
    dst = tmp_path / 'deployed'
    assert main(['reparam', str(folder), str(dst), '--input-size', '3,17']) == 0
    config = json.loads((dst / 'config.json').read_text())
    assert config['model_args']['seq_len'] == config['deployed_length'] == 40  # what the kernels were sampled for
    # the cfg tells the input size the model reads (not the registered variant's 182 steps)
    assert config['pretrained_cfg']['input_size'] == [3, 1, 40] and config['pretrained_cfg']['fixed_input_size']
    assert 'L up to 40' in (dst / 'README.md').read_text()
    deployed, _ = load_model(str(dst))
    with torch.inference_mode():
        for length in (17, 40):
            x = torch.randn(2, 3, length)
            assert rel_err(deployed(x), model(x)) < 1e-5


def test_a_zero_padding_model_exports_for_n_steps_only(tmp_path, capsys):
    """The exported graph takes the example's length: for a zero_pad_to model that is N (the default), another
    --input-size is refused with a hint that works when copied."""
    model = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, zero_pad_to=40).eval()
    folder = write_model_folder(model, tmp_path / 'zp', card='# zero-padding\n')
    out = tmp_path / 'zp.onnx'
    for wrong in ('3,17', '4,17'):  # the hint gives the model's channels, whatever was asked for
        assert main(['export', str(folder), '-o', str(out), '--input-size', wrong]) == 1
        err = capsys.readouterr().err
        assert 'zero-padded to 40 steps' in err and not out.exists()
        hint = err.split('pass ')[1].split(' (')[0].split()
        assert hint == ['--input-size', '3,40']
    assert main(['export', str(folder), '-o', str(out)] + hint) == 0
    assert out.exists()
    assert main(['export', str(folder), '-o', str(out), '--force']) == 0  # the default input size is N
    # a TorchScript file pads shorter series itself: any length up to N is fine there
    ts = tmp_path / 'zp.pt'
    assert main(['export', str(folder), '--format', 'torchscript', '-o', str(ts), '--input-size', '3,17']) == 0
    scripted = torch.jit.load(str(ts))
    with torch.inference_mode():
        for length in (17, 40):
            x = torch.randn(2, 3, length)
            assert rel_err(scripted(x), model(x)) < 1e-5


def test_deployed_sequence_model_is_checked_against_the_unfolded_training_form(tmp_path, monkeypatch, capsys):
    """Eval-mode SMP-TCN units run the folded convolution the deployed model is made of, so reparam and export
    compare the deployed model with the units' two branches and BatchNorms (``two_branch_eval``): a fold that is
    wrong by 1% is caught (it passed when the reference was the eval-mode model), the exact one passes; the demo's
    training-form figure is that unfolded computation too."""
    from smpconvnet.models.smpconv_tcn import SMPLargeKernel1d, two_branch_eval
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    x = torch.randn(2, 1, 150)
    unit = model.blocks[0].conv1
    with torch.no_grad():
        folded = unit(x)
        expected = unit.smp_norm(unit.smp(x)) + unit.small_norm(unit.small(x))
        with two_branch_eval(model):
            assert torch.equal(unit(x), expected)
            copied = copy.deepcopy(model)  # a copy made inside folds as usual
            with two_branch_eval(model):  # nested
                assert torch.equal(unit(x), expected)
            assert torch.equal(unit(x), expected)  # still inside the outer context
            assert torch.equal(copied.blocks[0].conv1(x), folded)
        assert torch.equal(unit(x), folded) and rel_err(folded, expected) < 1e-6  # restored
        with pytest.raises(KeyError):
            with two_branch_eval(model):
                raise KeyError('inside')
        assert torch.equal(unit(x), folded)
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / 'ok')]) == 0
    exact = SMPLargeKernel1d.folded_kernel

    def off_by_one_percent(self, kernel_size):
        weight, bias = exact(self, kernel_size)
        return weight * 1.01, bias
    monkeypatch.setattr(SMPLargeKernel1d, 'folded_kernel', off_by_one_percent)
    with pytest.raises(RuntimeError, match='differs from the training form'):
        reparameterize_to_folder('smpconv_tcn_gunpoint.aeon', str(tmp_path / 'wrong'), quiet=True)
    with pytest.raises(RuntimeError, match='differs'):
        export_model('smpconv_tcn_gunpoint.aeon', str(tmp_path / 'wrong.onnx'), quiet=True)


def test_a_random_model_saved_with_timm_does_not_claim_the_tags_weights(tmp_path, capsys):
    """timm keeps a random model's pretrained cfg as the weights' (a tag's, a folder's), and ``save_for_hf`` writes
    it: the cfg's description of the trained weights then headed reparam's card of random weights ("Weights: GunPoint
    ...", trials 57 and 59). Built with pretrained=False, the cfg says so (tag, normalisation and labels kept, as timm
    keeps them); with the weights, or with checkpoint_path= (trial 59: said random), it is the weights'."""
    random = timm.create_model('smpconv_tcn_gunpoint')
    trained = timm.create_model('smpconv_tcn_gunpoint', pretrained=True)
    registered = trained.pretrained_cfg['description']
    assert registered.startswith('GunPoint (UCR)')
    unrecorded = '(weights loaded into it since are not recorded here)'
    assert random.pretrained_cfg['description'] == (
        'created with pretrained=False: initialised at random, not with the weights of smpconv_tcn_gunpoint.aeon '
        f'{unrecorded}; the description of its cfg: {registered}')
    assert random.default_cfg is random.pretrained_cfg and random.pretrained_cfg['tag'] == 'aeon'
    assert random.pretrained_cfg['mean'] == trained.pretrained_cfg['mean']
    features = timm.create_model('smpconv_tcn_gunpoint', features_only=True)
    assert features.pretrained_cfg['description'].startswith('created with pretrained=False: initialised at random')
    # an 'untrained' tag names no weights
    assert timm.create_model('smpconv_tcn_smnist').pretrained_cfg['description'].startswith(
        f'created with pretrained=False: initialised at random {unrecorded}; the description of its cfg: sequential '
        'MNIST')
    assert timm.create_model('smpconvnet_t', num_classes=3).pretrained_cfg['description'] == (
        f'created with pretrained=False: initialised at random, not with the weights of smpconvnet_t.in1k {unrecorded}')
    own = timm.create_model('smpconv_tcn_gunpoint', pretrained_cfg_overlay=dict(description='mine'))
    assert own.pretrained_cfg['description'] == 'mine'
    # timm's checkpoint_path= builds with pretrained=False and then loads the file: its weights, said so
    torch.save(trained.state_dict(), tmp_path / 'trained.pth')
    loaded = timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / 'trained.pth'))
    # (a state dict records no trained length: the cfg's, said taken for it; trial 69b)
    unrecorded = "trained length not recorded with these weights (taken as the cfg's 150 steps)"
    assert loaded.pretrained_cfg['description'] == (f"weights from {tmp_path / 'trained.pth'} (checkpoint_path=); "
                                                    f"the description of its cfg: {registered}; {unrecorded}")
    # timm's other way to give a tag other weights (trial 60: random weights kept the tag's description)
    from safetensors.torch import save_file
    save_file(random.state_dict(), str(tmp_path / 'random.safetensors'))
    overlaid = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(tmp_path / 'random.safetensors')))
    assert overlaid.pretrained_cfg['description'] == (
        f"weights from {tmp_path / 'random.safetensors'} (pretrained_cfg_overlay file=); the description of its cfg: "
        f'{registered}; {unrecorded}')
    for model, folder in ((random, 'random'), (trained, 'trained')):
        timm.models.save_for_hf(model, str(tmp_path / folder))
        assert main(['reparam', str(tmp_path / folder), str(tmp_path / f'{folder}_deployed')]) == 0
    capsys.readouterr()
    cards = {f: (tmp_path / f'{f}_deployed' / 'README.md').read_text() for f in ('random', 'trained')}
    # (saved from a model built at random: the folder's weights, trained since or not, which nothing recorded)
    assert ("- **Weights:** not recorded: weights from random, saved from a model built with "
            'pretrained=False, which records nothing of what trained them; the description of its cfg: '
            f'{registered}') in cards['random'] and 'initialised at random' not in cards['random']
    assert f'- **Weights:** {registered}' in cards['trained'] and 'initialised at random' not in cards['trained']
    # a folder's cfg (timm's local-dir:, as hf-hub:) built without its weights: its description is the trained one's
    folder_random = timm.create_model(f"local-dir:{tmp_path / 'trained'}", pretrained=False)
    assert folder_random.pretrained_cfg['description'].startswith(
        f"created with pretrained=False: initialised at random, not with the weights of {tmp_path / 'trained'}")
    folder_trained = timm.create_model(f"local-dir:{tmp_path / 'trained'}", pretrained=True)
    assert folder_trained.pretrained_cfg['description'] == registered


@pytest.mark.parametrize('source', ['folder', 'local-dir', 'hf-hub'])
def test_a_model_trained_from_scratch_and_saved_with_timm_is_not_called_random(tmp_path, monkeypatch, capsys,
                                                                                source):
    """Trial 65: a model built with pretrained=False, trained in place (timm's way to train from scratch) and saved
    with save_for_hf was headed "(random weights)" by info, and reparam's and push's cards said "initialised at
    random", for weights that score 1.0: the saved cfg's description said how the model was built. Loaded with its
    weights, they are the folder's, which nothing records the training of: said so, with no tag (trial 65: info
    headed such folders and overlays on them with the tag of the authors' or shipped weights)."""
    from conftest import serve_from_offline_hf_cache
    from smpconvnet.models import describes_trained_weights, said_random
    shipped = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    scratch = timm.create_model('smpconv_tcn_gunpoint.aeon')
    scratch.load_state_dict(shipped.state_dict())  # (its training, in short)
    timm.models.save_for_hf(scratch, tmp_path / 'ft', safe_serialization=True)
    name, where = str(tmp_path / 'ft'), str(tmp_path / 'ft')
    if source == 'local-dir':
        name = f'local-dir:{where}'
    elif source == 'hf-hub':
        name = where = serve_from_offline_hf_cache(monkeypatch, tmp_path, 'me/ft', tmp_path / 'ft')
    said = (f'not recorded: weights from {where}, saved from a model built with pretrained=False, which records '
            f"nothing of what trained them; the description of its cfg: {shipped.pretrained_cfg['description']}")
    x = torch.randn(3, 1, 150)
    routes = [load_model(name)[0]] + ([] if source == 'folder' else [timm.create_model(name, pretrained=True)])
    for model in routes:
        cfg = model.pretrained_cfg
        assert cfg['description'] == said and not said_random(cfg) and not describes_trained_weights(cfg)
        with torch.no_grad():
            assert torch.equal(model.eval()(x), shipped(x))
    assert main(['info', name]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f'{name}: smpconv_tcn_gunpoint'
    assert main(['reparam', name, str(tmp_path / 'dep')]) == 0
    card = (tmp_path / 'dep' / 'README.md').read_text()
    # (a card names a path by its last part)
    shown = said if source == 'hf-hub' else said.replace(where, where.rsplit('/', 1)[-1])
    assert shown in card and 'initialised at random' not in card
    # built without its weights, it is random, and says so
    if source != 'folder':
        assert said_random(timm.create_model(name, pretrained=False).pretrained_cfg)
    # an overlay's file over the folder: its weights, headed without the tag
    torch.save(shipped.state_dict(), tmp_path / 'w.pth')
    capsys.readouterr()
    assert main(['info', name, '--model-kwargs', f'pretrained_cfg_overlay={{"file": "{tmp_path / "w.pth"}"}}']) == 0
    assert capsys.readouterr().out.splitlines()[0] == f'{name}: smpconv_tcn_gunpoint'


def test_a_model_built_at_random_by_load_model_trained_and_saved_with_timm_is_not_called_random(tmp_path, capsys):
    """Trial 66b B: a model smpconvnet.load_model built at random ("random weights (pretrained=False)", of a name or
    of a folder's architecture), trained in place and saved with save_for_hf, was read back as random weights (info
    headed it so) for trained weights. Said as for timm's pretrained=False builds; a folder reparam wrote of random
    weights ("... not trained") still says so."""
    from smpconvnet.models import describes_trained_weights, said_random
    shipped = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    timm.models.save_for_hf(shipped, tmp_path / 'src', safe_serialization=True)
    for spec, built in (('smpconv_tcn_gunpoint', 'random weights (pretrained=False)'),
                        (str(tmp_path / 'src'), f'random weights (pretrained=False) in the architecture of '
                                                f'{tmp_path / "src"}')):
        scratch, description = load_model(spec, pretrained=False)
        assert description == built and said_random(scratch.pretrained_cfg)
        scratch.load_state_dict(shipped.state_dict())  # (its training, in short)
        out = tmp_path / 'ft'
        shutil.rmtree(out, ignore_errors=True)
        timm.models.save_for_hf(scratch, out, safe_serialization=True)
        said = f'not recorded: weights from {out}, saved from a model built with {built}, which records nothing of ' \
               f'what trained them'
        for model in (load_model(str(out))[0], timm.create_model(f'local-dir:{out}', pretrained=True)):
            cfg = model.pretrained_cfg
            assert cfg['description'] == said and not said_random(cfg) and not describes_trained_weights(cfg)
        capsys.readouterr()
        assert main(['info', str(out)]) == 0
        assert capsys.readouterr().out.splitlines()[0] == f'{out}: smpconv_tcn_gunpoint'
    assert main(['reparam', 'smpconv_tcn_gunpoint', str(tmp_path / 'rnd'), '--pretrained', 'no']) == 0
    assert timm.create_model(f'local-dir:{tmp_path / "rnd"}', pretrained=True).pretrained_cfg['description'] == \
        'random weights (pretrained=False): not trained'


@pytest.mark.parametrize('source', ['local-dir', 'hf-hub'])
def test_a_model_trained_after_a_checkpoint_or_a_new_classifier_and_saved_with_timm_is_not_described_by_its_build(
        tmp_path, monkeypatch, capsys, source):
    """Trial 66: a model built with checkpoint_path=W (or with a new classifier: num_classes=3), trained in place and
    saved with save_for_hf, reloaded from the folder or Hub repo, said its weights were W's (and its classifier
    "initialised at random"): info, load_model's model and reparam's card too. The folder's weights are said, with
    what the model it was saved from was built with and that nothing records its training since, again when such a
    reloaded model is saved; the fine-tuning recipe's retrained_cfg says what they were trained from."""
    from conftest import serve_from_offline_hf_cache
    from smpconvnet.models import describes_trained_weights
    from smpconvnet.weights.folders import retrained_cfg, write_model_folder
    shipped = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    registered = shipped.pretrained_cfg['description']
    torch.save(shipped.state_dict(), tmp_path / 'w.pth')
    x = torch.randn(3, 1, 150)

    def trained(model):  # (its training, in short: weights that are no longer the ones it was built with)
        with torch.no_grad():
            model.head.bias.add_(0.5)
        return model.eval()

    def reloaded(folder):
        name, where = f'local-dir:{folder}', str(folder)
        if source == 'hf-hub':
            name = where = serve_from_offline_hf_cache(monkeypatch, tmp_path, f'me/{folder.name}', folder)
        return timm.create_model(name, pretrained=True).eval(), name, where

    tuned = trained(timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / 'w.pth')))
    timm.models.save_for_hf(tuned, tmp_path / 'ft', safe_serialization=True)
    model, name, where = reloaded(tmp_path / 'ft')
    said = (f"not recorded: weights from {where}, saved from a model built with weights from {tmp_path / 'w.pth'} "
            f"(checkpoint_path=), which records nothing of what trained them; the description of its cfg: {registered}; "
            f"trained length not recorded with these weights (taken as the cfg's 150 steps)")  # (a state dict's)
    with torch.no_grad():
        assert torch.equal(model(x), tuned(x))
    assert model.pretrained_cfg['description'] == said and not describes_trained_weights(model.pretrained_cfg)
    assert load_model(name)[0].pretrained_cfg['description'] == said
    assert main(['reparam', name, str(tmp_path / 'dep')]) == 0
    card = (tmp_path / 'dep' / 'README.md').read_text()
    assert f"built with weights from w.pth (checkpoint_path=)" in card and '**Weights:** weights from w.pth' not in card
    # saved again from the reloaded model: the new folder's weights, built with the first folder's
    timm.models.save_for_hf(trained(model), tmp_path / 'ft2', safe_serialization=True)
    again, _, where2 = reloaded(tmp_path / 'ft2')
    assert again.pretrained_cfg['description'] == (
        f'not recorded: weights from {where2}, saved from a model built with weights from {where}, which records '
        f'nothing of what trained them; the description of its cfg: {registered}; trained length not recorded with '
        f"these weights (taken as the cfg's 150 steps)")
    # a new classifier, trained and saved: not said to be initialised at random
    head = trained(timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, num_classes=3))
    timm.models.save_for_hf(head, tmp_path / 'nc3', safe_serialization=True)
    model, name, _ = reloaded(tmp_path / 'nc3')
    assert model.pretrained_cfg['description'] == (
        f"{registered}; classifier built new before these weights were saved (3 classes; the weights' had 2), trained "
        f"since or not: not recorded")
    capsys.readouterr()
    assert main(['info', name]) == 0
    assert 'initialised at random' not in capsys.readouterr().out
    # saved again from the reloaded model (trial 66b: "when the model saved here was built" was false of it), and a
    # newer classifier's note in place of the older one's (one of 3 classes stayed beside 9's)
    timm.models.save_for_hf(model, tmp_path / 'nc3b', safe_serialization=True)
    assert reloaded(tmp_path / 'nc3b')[0].pretrained_cfg['description'] == model.pretrained_cfg['description']
    # a 3-class file loaded strictly over the folder: its classifier, with no note of an earlier one
    torch.save(model.state_dict(), tmp_path / 'nc3.pth')
    over = timm.create_model(f"local-dir:{tmp_path / 'nc3'}", pretrained=True, checkpoint_path=str(tmp_path / 'nc3.pth'))
    assert 'classifier' not in over.pretrained_cfg['description']
    nine = timm.create_model(f"local-dir:{tmp_path / 'nc3'}", pretrained=True, num_classes=9)
    assert nine.pretrained_cfg['description'] == (
        f"{registered}; classifier new, initialised at random (9 classes; the weights' had 3)")
    # the fine-tuning recipe (docs/training.md): what they were trained from
    head.pretrained_cfg = retrained_cfg(head.pretrained_cfg, input_size=(1, 1, 150), num_classes=3)
    write_model_folder(head, tmp_path / 'recipe', 'card')
    model, _, _ = reloaded(tmp_path / 'recipe')
    assert model.pretrained_cfg['description'] == f'trained from the weights of smpconv_tcn_gunpoint.aeon: {registered}'
    assert describes_trained_weights(model.pretrained_cfg)
    # fine-tuned at another length: trained at the cfg's (trial 66b: "(trained at 150)" stayed, and reparam's card
    # said the kernels of a model trained at 300 were other than the trained ones)
    from smpconvnet.weights.folders import cfg_trained_length
    longer = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, seq_len=300)
    cfg = retrained_cfg(longer.pretrained_cfg, input_size=(1, 1, 300))
    assert cfg['description'] == f'trained from the weights of smpconv_tcn_gunpoint.aeon: {registered}'
    assert cfg_trained_length(cfg) == 300
    # a build's notes after whose weights it holds: not "the description of its cfg" where the cfg has none
    from safetensors.torch import save_file
    small = dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128])
    save_file(timm.create_model('smpconvnet_t', **small).state_dict(), str(tmp_path / 'in1k.safetensors'))
    ten = timm.create_model('smpconvnet_t', pretrained=True, num_classes=10, **small,
                            pretrained_cfg_overlay=dict(file=str(tmp_path / 'in1k.safetensors')))
    assert ten.pretrained_cfg['description'] == (
        f"weights from {tmp_path / 'in1k.safetensors'} (pretrained_cfg_overlay file=); classifier new, initialised at "
        f"random (10 classes; the weights' had 1000)")
    # saved and reloaded: the folder's weights (trial 66c: the file's were said, the notes following them directly)
    timm.models.save_for_hf(ten, tmp_path / 'ten', safe_serialization=True)
    model, _, where = reloaded(tmp_path / 'ten')
    assert model.pretrained_cfg['description'] == (
        f"not recorded: weights from {where}, saved from a model built with weights from "
        f"{tmp_path / 'in1k.safetensors'} (pretrained_cfg_overlay file=), which records nothing of what trained them; "
        f"classifier built new before these weights were saved (10 classes; the weights' had 1000), trained since or "
        f"not: not recorded")
    # what retrained_cfg says of them: trained, not "trained since or not"
    assert 'trained since or not' not in retrained_cfg(model.pretrained_cfg, num_classes=10)['description']


def test_checkpoint_path_over_pretrained_weights_is_said_to_be_its_weights(tmp_path, capsys):
    """Trial 65: timm.create_model(tag, pretrained=True, checkpoint_path=W) (train.py's --pretrained with
    --initial-checkpoint) loaded W's weights and kept the tag's description: save_for_hf's config.json and
    push_model's card described the shipped weights, and info headed the saved folder with their tag (it scored 0.77
    where the tag's score 1.0). Said as with pretrained=False: W's weights."""
    shipped = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    other = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True)
    with torch.no_grad():
        for n, p in other.named_parameters():
            if 'radius' not in n:  # (radii stay in their trained range)
                p.add_(0.05 * torch.randn_like(p))
    torch.save(other.state_dict(), tmp_path / 'w.pth')
    registered = shipped.pretrained_cfg['description']
    said = (f"weights from {tmp_path / 'w.pth'} (checkpoint_path=); the description of its cfg: {registered}; "
            f"trained length not recorded with these weights (taken as the cfg's 150 steps)")  # (a state dict's)
    for pretrained in (True, False):
        model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=pretrained,
                                  checkpoint_path=str(tmp_path / 'w.pth')).eval()
        assert model.pretrained_cfg['description'] == said
        with torch.no_grad():
            x = torch.randn(2, 1, 150)
            assert torch.equal(model(x), other.eval()(x)) and not torch.equal(model(x), shipped(x))
    timm.models.save_for_hf(model, tmp_path / 'saved', safe_serialization=True)
    assert json.loads((tmp_path / 'saved' / 'config.json').read_text())['pretrained_cfg']['description'] == said
    assert main(['info', str(tmp_path / 'saved')]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{tmp_path / 'saved'}: smpconv_tcn_gunpoint"
    # a second file over the first: the second's, said once
    torch.save(shipped.state_dict(), tmp_path / 'w2.pth')
    again = timm.create_model(f"local-dir:{tmp_path / 'saved'}", pretrained=True,
                              checkpoint_path=str(tmp_path / 'w2.pth'))
    assert again.pretrained_cfg['description'] == (f"weights from {tmp_path / 'w2.pth'} (checkpoint_path=); the "
                                                   f'description of its cfg: {registered}; trained length not '
                                                   f"recorded with these weights (taken as the cfg's 150 steps)")
    # trial 65: a file of 3 classes loaded with num_classes=3 brings its classifier: not "classifier new" (the strict
    # load refuses any other size), and the command does not warn of one
    three = timm.create_model('smpconv_tcn_gunpoint.aeon', num_classes=3)
    torch.save(three.state_dict(), tmp_path / 'three.pth')
    for pretrained in (True, False):
        model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=pretrained, num_classes=3,
                                  checkpoint_path=str(tmp_path / 'three.pth'))
        assert 'classifier new' not in model.pretrained_cfg['description']
    capsys.readouterr()
    assert main(['info', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs', f"checkpoint_path={tmp_path / 'three.pth'}",
                 'num_classes=3']) == 0
    assert 'classifier is new' not in capsys.readouterr().err
    # ... while a new classifier over the tag's weights is one (timm's fine-tuning idiom)
    assert timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, num_classes=3).pretrained_cfg[
        'description'].endswith("classifier new, initialised at random (3 classes; the weights' had 2)")
    # trial 65: a folder saved from one that said whose weights it held, built at random and given a file, says
    # the file's weights once (it said "weights from F; the description of its cfg: not recorded: weights from ...")
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_gunpoint.aeon'), tmp_path / 'r1')
    timm.models.save_for_hf(timm.create_model(f"local-dir:{tmp_path / 'r1'}", pretrained=True), tmp_path / 'r2')
    chained = timm.create_model(f"local-dir:{tmp_path / 'r2'}", checkpoint_path=str(tmp_path / 'w.pth'))
    assert chained.pretrained_cfg['description'] == said

def test_a_folder_deployed_from_random_weights_says_so(tmp_path, capsys):
    """``reparam --pretrained no`` writes a folder that says its weights are random in config.json (no pretrained
    tag naming the trained model, a description, ``random_weights``), so info does not name the trained model and
    evaluate-seq warns; a folder deployed from the trained weights keeps its tag and draws no warning."""
    pytest.importorskip('aeon')
    for pretrained, folder in (('no', 'random'), ('yes', 'trained')):
        assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / folder), '--pretrained', pretrained]) == 0
    capsys.readouterr()
    config = json.loads((tmp_path / 'random' / 'config.json').read_text())
    assert config['random_weights'] is True and 'tag' not in config['pretrained_cfg']
    assert config['pretrained_cfg']['description'] == 'random weights (pretrained=False): not trained'
    trained = json.loads((tmp_path / 'trained' / 'config.json').read_text())
    assert 'random_weights' not in trained and trained['pretrained_cfg']['tag'] == 'aeon'
    assert main(['info', str(tmp_path / 'random')]) == 0
    # (trial 55: the header said nothing of it, the weights line "deployed weights from ...")
    assert capsys.readouterr().out.splitlines()[0] == f"{tmp_path / 'random'}: smpconv_tcn_gunpoint (random weights)"
    assert main(['evaluate-seq', str(tmp_path / 'random')]) == 0
    assert 'holds random weights' in capsys.readouterr().err
    assert main(['evaluate-seq', str(tmp_path / 'trained')]) == 0
    assert 'random weights' not in capsys.readouterr().err


def test_exporting_a_deployed_folder_claims_no_training_form_comparison(tmp_path, capsys):
    """A deployed folder has no training form: export records no deployed-vs-training figure (it compared the
    deployed model with itself, 0.0) and says why; from the training form the figure is a real comparison."""
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / 'deployed')]) == 0
    capsys.readouterr()
    report = export_model(str(tmp_path / 'deployed'), str(tmp_path / 'a.pt'), fmt='torchscript')
    assert report['deployed_vs_training'] is None
    assert 'the source is deployed: no training form to compare with' in capsys.readouterr().out
    report = export_model('smpconv_tcn_gunpoint.aeon', str(tmp_path / 'b.pt'), fmt='torchscript', quiet=True)
    assert 0 < report['deployed_vs_training'] <= EXPORT_TOLERANCE


def test_evaluating_a_folder_without_classifier_says_so(tmp_path, capsys):
    """A folder deployed with num_classes=0 outputs pooled features: evaluate-seq refuses it saying why (it said
    only that no label_names were recorded)."""
    pytest.importorskip('aeon')
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / 'features'), '--model-kwargs',
                 'num_classes=0']) == 0
    capsys.readouterr()
    assert main(['evaluate-seq', str(tmp_path / 'features')]) == 1
    assert 'has no classifier (num_classes=0: it outputs pooled features)' in capsys.readouterr().err



def test_demo_of_a_sequence_folder_points_to_evaluate_seq(tmp_path, capsys):
    """``smpconvnet demo FOLDER`` of a sequence model fed it the demo's images (a channel-count error); it now says
    the demo runs the registered sequence models and gives the evaluate-seq command, which works as printed."""
    pytest.importorskip('aeon')
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / 'gp')]) == 0
    capsys.readouterr()
    assert main(['demo', str(tmp_path / 'gp')]) == 1
    err = capsys.readouterr().err
    assert 'is a sequence model; the demo runs the registered ones' in err
    command = err.split('`')[1]
    assert main(command.split()[1:]) == 0 and 'accuracy 1.0000 (150/150)' in capsys.readouterr().out


def test_a_folder_deployed_from_a_tag_records_the_whole_architecture(tmp_path, monkeypatch):
    """A folder deployed from a registered tag records every architecture argument (the variant's and the class
    defaults, None included), as run folders do: it recorded only the caller's overrides (in_chans, num_classes,
    global_pool), so a later redefinition of the variant with the same shapes (ACSF1's, from causal whole-series to
    centred 33-tap kernels) rebuilt the folder into the new network."""
    from smpconvnet.models import seq_zoo
    dst = tmp_path / 'gunpoint_deployed'
    reparameterize_to_folder('smpconv_tcn_gunpoint.aeon', str(dst), quiet=True)
    recorded = json.loads((dst / 'config.json').read_text())['model_args']
    registered = seq_zoo.SEQ_ZOO['smpconv_tcn_gunpoint']['arch']
    assert recorded == dict(registered, causal=True, kernel_length=None, zero_pad_to=None, first_difference=False,
                            use_fft=None, seq_len=150, input_dropout=0.0, drop_rate=0.0)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        before = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()(x)
        monkeypatch.setitem(seq_zoo.SEQ_ZOO['smpconv_tcn_gunpoint'], 'arch', dict(
            registered, causal=False, kernel_length=33, global_pool='max'))
        after = timm.create_model(f'local-dir:{dst}', pretrained=True).eval()
        assert (after.causal, after.kernel_length, after.global_pool) == (True, None, registered['global_pool'])
        assert torch.equal(before, after(x))


def test_reparam_and_export_into_their_own_source_are_refused(tmp_path, capsys):
    """`reparam RUN RUN --force` exited 0 and left only the deployed files: the run's checkpoint, log and results
    were gone."""
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4)
    run = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    (run / 'log.jsonl').write_text('{}\n')
    before = sorted(p.name for p in run.iterdir())
    for argv in (['reparam', str(run), str(run), '--force'], ['reparam', f'local-dir:{run}', str(tmp_path), '--force'],
                 ['export', str(run), '-o', str(run), '--force']):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert 'the destination' in err and 'would delete what it is written from' in err, err
    # a file of the source folder: the run's weights replaced by a TorchScript file ('done ... outputs equal')
    assert main(['export', str(run), '--format', 'torchscript', '-o', str(run / 'model.safetensors'), '--force']) == 1
    assert 'lies inside' in capsys.readouterr().err
    # a checkpoint file given as the source is read with its folder's files: they are the source too
    torch.save({'model': model.state_dict()}, run / 'checkpoint.pth')
    before = sorted(p.name for p in run.iterdir())
    assert main(['export', str(run / 'checkpoint.pth'), '-o', str(run / 'model.safetensors'), '--force']) == 1
    assert 'lies inside the folder of' in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == before
    assert main(['reparam', str(run), str(run / 'deployed')]) == 0  # inside the source is fine


def test_a_folder_deployed_with_an_adapted_first_layer_says_so(tmp_path, capsys):
    """``in_chans=`` adapts the weights' first layer (timm's rule, approximate for 3 of 6 channels): the deployed folder
    was tagged as the published weights, and its card gave their 6 channels' normalisation for 3-channel input."""
    assert main(['reparam', 'smpconv_tcn_basicmotions', str(tmp_path / 'd'), '--model-kwargs', 'in_chans=3']) == 0
    cfg = json.loads((tmp_path / 'd' / 'config.json').read_text())['pretrained_cfg']
    assert 'tag' not in cfg and "first layer adapted to 3 input channels from the weights' 6" in cfg['description']
    assert cfg['input_size'][0] == 3 and len(cfg['mean']) == len(cfg['std']) == 3
    card = (tmp_path / 'd' / 'README.md').read_text()
    assert f"mean ({cfg['mean'][0]:.4g}, {cfg['mean'][0]:.4g}, {cfg['mean'][0]:.4g})" in card
    # from one channel: the card gave the one value for 3 channels
    assert main(['reparam', 'smpconv_tcn_gunpoint', str(tmp_path / 'g'), '--model-kwargs', 'in_chans=3']) == 0
    mean = json.loads((tmp_path / 'g' / 'config.json').read_text())['pretrained_cfg']['mean']
    assert len(mean) == 3 and f"mean ({mean[0]:.4g}, {mean[0]:.4g}, {mean[0]:.4g})" in (
        tmp_path / 'g' / 'README.md').read_text()
    # weights that have 2 channels, loaded into an assumed 1-channel model's cfg, are not adapted
    from safetensors.torch import save_file
    trained = timm.create_model('smpconv_tcn_smnist', in_chans=2, num_blocks=1, hidden_channels=4)
    save_file(trained.state_dict(), str(tmp_path / 'w.safetensors'))
    capsys.readouterr()
    assert main(['reparam', str(tmp_path / 'w.safetensors'), str(tmp_path / 'b')]) == 0
    assert 'names no model' in capsys.readouterr().err
    cfg = json.loads((tmp_path / 'b' / 'config.json').read_text())['pretrained_cfg']
    assert 'adapted' not in cfg['description'] and cfg['input_size'][0] == 2


def test_commands_refuse_to_write_into_weights_stores(tmp_path, monkeypatch, capsys):
    """reparam / convert / export into the package's shipped weights or the Hugging Face cache replaced published
    weights unseen: `reparam smpconv_tcn_gunpoint.aeon <its shipped folder> --force` made the registered name load
    the deployed model, and a deployed GunPoint written over ArrowHead's folder broke ArrowHead."""
    from huggingface_hub import constants as hf_constants
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(tmp_path / 'hub'))
    shipped = WEIGHTS_DIR / 'smpconv_tcn_gunpoint.aeon'
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    snapshot = tmp_path / 'hub' / 'models--org--gp' / 'snapshots' / 'r1'
    fixture = str(Path(__file__).parent.parent / 'fixtures' / 'official_smpconvnet_small.safetensors')
    for args in (['reparam', 'smpconv_tcn_gunpoint.aeon', str(shipped), '--force'],
                 ['reparam', 'smpconv_tcn_gunpoint.aeon', str(WEIGHTS_DIR / 'smpconv_tcn_arrowhead.aeon'), '--force'],
                 ['reparam', 'smpconv_tcn_gunpoint.aeon', str(WEIGHTS_DIR / 'new.aeon')],
                 ['convert', fixture, str(WEIGHTS_DIR / 'smpconv_tcn_osuleaf.aeon'), '--force'],
                 ['export', 'smpconv_tcn_gunpoint.aeon', '-o', str(WEIGHTS_DIR / 'g.onnx')],
                 ['reparam', 'smpconv_tcn_gunpoint.aeon', str(snapshot)]):
        assert main(args) == 1
        err = capsys.readouterr().err
        store = "the Hugging Face Hub cache" if args[2] == str(snapshot) else "the package's shipped weights"
        assert f'lies in {store}' in err and 'write to another folder' in err, err
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before
    assert not (WEIGHTS_DIR / 'new.aeon').exists() and not snapshot.exists()


def test_feature_extractors_are_refused_by_reparam_and_export_with_hints_that_work(tmp_path, capsys):
    """`--model-kwargs features_only=True` crashed reparam and export on the list of feature maps (AttributeError in
    the deployed-vs-training check). Both refuse it before any work; the hints, copied, give the features."""
    name = 'smpconv_tcn_gunpoint.aeon'
    dst, out = tmp_path / 'dep', tmp_path / 'f.onnx'
    assert main(['reparam', name, str(dst), '--model-kwargs', 'features_only=True']) == 1
    err = capsys.readouterr().err
    assert 'features_only=True: reparam saves a model with one output' in err and not dst.exists()
    assert "timm.create_model('local-dir:DST', pretrained=True, features_only=True)" in err
    assert main(['export', name, '-o', str(out), '--model-kwargs', 'features_only=True']) == 1
    err = capsys.readouterr().err
    assert 'features_only=True: export saves a model with one output' in err and not out.exists()
    hints = [h.split(' (')[0].split() for h in err.split('pass ')[1].split(' or ')]
    assert hints == [['--model-kwargs', 'num_classes=0'], ['--model-kwargs', 'num_classes=0', 'global_pool=']]
    model = timm.create_model(name, pretrained=True).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        expected = [model.forward_head(model.forward_features(x), pre_logits=True), model.forward_features(x)]
    from smpconvnet.weights.deploy import run_onnx
    for hint, want in zip(hints, expected):
        assert main(['export', name, '-o', str(out), '--force'] + hint) == 0
        assert rel_err(run_onnx(out, x), want) < EXPORT_TOLERANCE
    assert main(['reparam', name, str(dst)]) == 0
    features = timm.create_model(f'local-dir:{dst}', pretrained=True, features_only=True).eval()
    with torch.no_grad():
        assert rel_err(features(x)[-1], expected[1]) < 1e-5


def test_input_size_is_checked_against_the_model_with_hints_that_work(tmp_path, capsys):
    """`--input-size 1,150,3` for a sequence model failed in its forward, on an example batch the user never gave,
    with a Python hint (x.flatten(2)); `--input-size 2,150` said 'create the model with in_chans=2'. The option is
    checked first, and the hints are command-line options that work."""
    name, out = 'smpconv_tcn_gunpoint.aeon', tmp_path / 'g.onnx'
    assert main(['export', name, '-o', str(out), '--input-size', '1,150,3']) == 1
    err = capsys.readouterr().err
    assert "--input-size 1,150,3 (input_size=(1, 150, 3)): a sequence model's input size is C,L" in err
    assert err.strip().endswith('e.g. its own: --input-size 1,150')
    assert main(['info', 'smpconvnet_t', '--input-size', '3,64']) == 1
    assert "an image model's input size is C,H,W" in capsys.readouterr().err
    assert main(['export', name, '-o', str(out), '--input-size', '2,150']) == 1
    err = capsys.readouterr().err
    assert 'the model takes 1 input channel:' in err and not out.exists()
    hints = [h.split(' (')[0].split() for h in err.split('pass ')[1].split(', or build it for 2 with ')]
    assert hints == [['--input-size', '1,150'], ['--model-kwargs', 'in_chans=2']]
    for hint in hints:
        assert main(['export', name, '-o', str(out), '--force', '--input-size', '2,150' if 'in_chans=2' in hint
                     else hint[1]] + (hint if 'in_chans=2' in hint else [])) == 0
    assert [i.name for i in onnx.load(str(out)).graph.input] == ['input', 'lengths']
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[1].dim_value == 2
    # one step: refused as the option, before the warning about other lengths (it was the Python API's
    # "reparameterize(length=...)" after that warning); the hint, copied, deploys
    for command in (['reparam', name, str(tmp_path / 'r')], ['export', name, '-o', str(out), '--force']):
        assert main(command + ['--input-size', '1,1']) == 1
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [
            f"smpconvnet {command[0]}: error: --input-size 1,1 (input_size=(1, 1)): a sequence model's kernels are "
            "deployed for at least 2 steps; leave --input-size out to deploy it for its own, --input-size 1,150"]
        assert main(command + ['--input-size', '1,150']) == 0


def test_an_opset_the_models_cannot_export_to_is_refused_in_one_line(tmp_path, capsys):
    """`--opset 5` printed 131 lines of graph before torch's own error; it is refused before any work."""
    out = tmp_path / 'o.onnx'
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '-o', str(out), '--opset', '5']) == 1
    err = capsys.readouterr().err
    assert err.strip() == 'smpconvnet export: error: --opset 5 (opset=5): the models export to ONNX opsets 9 to ' \
                          '23 (the default is 17)'
    assert not out.exists()
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '-o', str(out), '--opset', '24']) == 1  # 131 lines too
    assert capsys.readouterr().err.strip().endswith('opsets 9 to 23 (the default is 17)')
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '-o', str(out), '--opset', '9']) == 0
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '-o', str(out), '--opset', '23', '--force']) == 0
    # with TorchScript it was ignored without a word
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '--format', 'torchscript', '-o', str(tmp_path / 't.pt'),
                 '--opset', '3']) == 1
    assert capsys.readouterr().err.strip().endswith('--opset 3 is an ONNX opset: leave it out with --format torchscript')
    assert not (tmp_path / 't.pt').exists()
    # the file fixes the length: another is refused in words (it was onnxruntime's INVALID_ARGUMENT)
    from smpconvnet.weights.deploy import run_onnx
    with pytest.raises(ValueError, match=r'o\.onnx takes input \[batch, 1, 150\], got \[2, 1, 100\]: an exported '
                                         r'file fixes all but the batch size'):
        run_onnx(out, torch.randn(2, 1, 100))


def test_small_images_export_to_onnx(tmp_path):
    """The SMP-ResNet's 33 x 33 kernels, cropped for a 16 px map, gave the ONNX exporter a kernel of unknown shape with
    the dynamic batch axis: export failed at 16 px and below (17 px and PyTorch were fine). Traced, they are not
    cropped (exact)."""
    from smpconvnet.weights.deploy import run_onnx
    torch.manual_seed(0)
    model = randomize_bn(timm.create_model('smpconv_resnet_cifar10', num_classes=3)).eval()
    folder = write_model_folder(model, tmp_path / 'r', card='# resnet\n')
    for size in ((3, 16, 16), (3, 1, 9)):
        out = tmp_path / f'r{size[1]}.onnx'
        report = export_model(str(folder), str(out), 'onnx', input_size=size, quiet=True)
        assert report['exported_vs_pytorch'] <= EXPORT_TOLERANCE
        x = torch.randn(2, *size)
        with torch.no_grad():
            assert rel_err(run_onnx(out, x), model(x)) < EXPORT_TOLERANCE


def test_per_step_onnx_files_take_lengths_where_the_outputs_depend_on_them(tmp_path):
    """A centred model's per-step outputs (global_pool='') depend on a right-padded batch's lengths (its kernels reach
    into the padding, which it zeroes before every convolution): its ONNX file takes them and gives each series'
    outputs as alone (without, 3e-2 off). A causal per-step file takes none; run_onnx says so when given them (it
    failed with onnxruntime's 'Invalid input name: lengths')."""
    from smpconvnet.weights.deploy import run_onnx
    torch.manual_seed(0)
    centred = randomize_bn(timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, causal=False,
                                             kernel_length=9, global_pool='')).eval()
    folder = write_model_folder(centred, tmp_path / 'centred', card='# centred\n')
    out = tmp_path / 'centred.onnx'
    report = export_model(str(folder), str(out), 'onnx', input_size=(3, 40), quiet=True)
    assert report['inputs'] == ['input', 'lengths'] and report['exported_vs_pytorch'] <= EXPORT_TOLERANCE
    x = torch.randn(2, 3, 40)
    x[1, :, 25:] = 0.
    with torch.no_grad():
        alone = centred(x[1:, :, :25])
    assert rel_err(run_onnx(out, x, torch.tensor([40, 25]))[1:, :, :25], alone) < 1e-5
    causal = randomize_bn(timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, kernel_length=9,
                                            global_pool='')).eval()
    folder = write_model_folder(causal, tmp_path / 'causal', card='# causal\n')
    out = tmp_path / 'causal.onnx'
    assert export_model(str(folder), str(out), 'onnx', input_size=(3, 40), quiet=True)['inputs'] == ['input']
    with pytest.raises(ValueError, match=r"causal\.onnx takes no lengths \(its inputs: input\).*read "
                                         r"outputs\[b, :, :lengths\[b\]\]"):
        run_onnx(out, x, torch.tensor([40, 25]))
    with torch.no_grad():
        assert rel_err(run_onnx(out, x)[1:, :, :25], causal(x[1:, :, :25])) < 1e-5


def test_a_pooling_torchscript_cannot_compile_is_named_and_onnx_exports_it(tmp_path, capsys):
    """Trial 51: export --format torchscript of a model with timm's 'catavgmax' pooling failed with TorchScript's
    compile error (a page of timm's source): the pooling is named and ONNX offered, which exports it, checked."""
    model = timm.create_model('smpconv_resnet_cifar10', stem_channels=8, block_channels=(8, 12), n_points=6,
                              global_pool='catavgmax').eval()
    folder = write_model_folder(model, tmp_path / 'cat', card='test', model_args=dict(
        stem_channels=8, block_channels=[8, 12], n_points=6, global_pool='catavgmax'))
    assert main(['export', str(folder), '--format', 'torchscript', '-o', str(tmp_path / 'cat.pt')]) == 1
    err = capsys.readouterr().err
    assert "timm's AdaptiveCatAvgMaxPool2d" in err and 'export it with --format onnx' in err and 'Traceback' not in err
    assert not (tmp_path / 'cat.pt').exists()
    assert main(['export', str(folder), '--format', 'onnx', '-o', str(tmp_path / 'cat.onnx')]) == 0


def test_a_folder_deployed_for_one_length_says_its_input_size_is_fixed(tmp_path):
    """Whole-series kernels deployed for L steps take no other length: config.json says fixed_input_size (it said
    false, from the traits timm gave the training form, while the card said "only"), and the model timm builds from
    the folder says so too; kernels of a fixed number of taps take any length and say false."""
    for tag, fixed in (('smpconv_tcn_gunpoint.aeon', True), ('smpconv_tcn_arrowhead.aeon', False)):
        folder = tmp_path / tag
        reparameterize_to_folder(tag, str(folder), quiet=True)
        assert json.loads((folder / 'config.json').read_text())['pretrained_cfg']['fixed_input_size'] is fixed
        model = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
        assert model.pretrained_cfg['fixed_input_size'] is fixed
        assert timm.models.get_model_input_config(model)['fixed_input_size'] is fixed
        length = model.pretrained_cfg['input_size'][-1]
        with torch.no_grad():
            model(torch.randn(1, 1, length))
            if fixed:
                with pytest.raises(ValueError, match=f're-parameterised for sequences of length {length}'):
                    model(torch.randn(1, 1, length + 10))
            else:
                model(torch.randn(1, 1, length + 10))


def test_cards_and_info_of_random_or_new_classifier_models_say_so(tmp_path, capsys):
    """Trial 59: push_model's card called any model "trained or fine-tuned with smpconvnet", an image model's card had
    no Weights line (its cfg said random), a random sequence model's said "trained at L = 150", info headed a random
    model saved with save_for_hf with the trained weights' tag, and a pretrained model built with another
    num_classes kept the trained weights' description alone in what timm's save_for_hf writes."""
    from smpconvnet.weights.push import push_model
    push_model(timm.create_model('smpconvnet_t', num_classes=10), 'me/x', dry_run=str(tmp_path / 'image'), quiet=True)
    push_model(timm.create_model('smpconv_tcn_gunpoint'), 'me/x', dry_run=str(tmp_path / 'seq'), quiet=True)
    image, seq = ((tmp_path / f / 'README.md').read_text() for f in ('image', 'seq'))
    assert '- **Weights:** created with pretrained=False: initialised at random, not with the weights of ' \
           'smpconvnet_t.in1k' in image
    assert '- **Source:** the model given to smpconvnet.weights.push.push_model' in image
    assert 'trained or fine-tuned' not in image + seq and 'trained at' not in seq
    assert '(the length of its cfg: L = 150)' in seq
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_gunpoint'), str(tmp_path / 'saved'))
    assert main(['info', str(tmp_path / 'saved')]) == 0
    # (no tag; not "random weights" either since trial 65: the folder's weights may have been trained since the build)
    assert capsys.readouterr().out.splitlines()[0] == f"{tmp_path / 'saved'}: smpconv_tcn_gunpoint"
    new_head = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, num_classes=5)
    timm.models.save_for_hf(new_head, str(tmp_path / 'five'))
    cfg = json.loads((tmp_path / 'five' / 'config.json').read_text())['pretrained_cfg']
    assert cfg['description'].endswith("; classifier new, initialised at random (5 classes; the weights' had 2)")
    assert 'label_names' not in cfg
    # reparam of it says so once
    assert main(['reparam', str(tmp_path / 'five'), str(tmp_path / 'five_deployed')]) == 0
    capsys.readouterr()
    deployed = json.loads((tmp_path / 'five_deployed' / 'config.json').read_text())['pretrained_cfg']
    # (built new before the folder's weights were saved: trained since or not, trial 66)
    assert deployed['description'].count("classifier built new before these weights were saved (5 classes") == 1


def test_a_deployed_card_claims_no_trained_length_for_random_or_unrecorded_weights(tmp_path, capsys):
    """Trial 60: reparam's cards of random weights said "trained at L = 150" and, deployed for another length, "other
    kernels than the trained ones" (beside "Weights: random ... not trained"); a weight file that names no model had
    the assumed model's length on its card as the trained one. Said as what it is: the cfg's, or assumed."""
    from safetensors.torch import save_file
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', '--pretrained', 'no', '--input-size', '1,200',
                 str(tmp_path / 'r200')]) == 0
    assert main(['reparam', 'smpconv_tcn_gunpoint.aeon', '--pretrained', 'no', '--model-kwargs', 'kernel_length=31',
                 str(tmp_path / 'r31')]) == 0
    trained = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True)
    save_file(trained.state_dict(), str(tmp_path / 'w.safetensors'))
    assert main(['reparam', str(tmp_path / 'w.safetensors'), '--input-size', '1,150', str(tmp_path / 'bare')]) == 0
    assert 'names no model' in capsys.readouterr().err  # (its warning)
    r200, r31, bare = ((tmp_path / f / 'README.md').read_text() for f in ('r200', 'r31', 'bare'))
    assert 'another raises a ValueError; the length of its cfg: L = 150)' in r200
    assert '(the deployed kernels have 31 taps whatever the length; the length of its cfg: L = 150)' in r31
    assert 'another raises a ValueError; assumed L = 784, not recorded with the weights)' in bare
    for card in (r200, r31, bare):
        assert 'trained at' not in card and 'other kernels than the trained ones' not in card
        assert 'computes something else' not in card
    with pytest.raises(ValueError, match='ffn_ratio must be a number > 0'):
        timm.create_model('smpconvnet_t', ffn_ratio=float('inf'))


def test_push_model_records_a_deployed_or_adapted_model_as_it_is(tmp_path):
    """Trial 61: push_model's card of a deployed sequence model read as a training-form model of any length, to be
    re-parameterised after loading, with no "deployed" in its config.json, while the model took 150 steps only; one
    built with in_chans=3 had a card of 1 channel and one mean beside a config.json of 3. Recorded as reparam records
    them: the card, config.json and the folder loaded back (timm and load_model) agree with the model."""
    from smpconvnet.weights.push import push_model
    trained = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    deployed = timm.utils.reparameterize_model(copy.deepcopy(trained))
    cfg_before = dict(deployed.pretrained_cfg)
    push_model(deployed, 'me/x', dry_run=str(tmp_path / 'dep'), quiet=True)
    assert deployed.pretrained_cfg == cfg_before  # (the caller's model is left as it is)
    config = json.loads((tmp_path / 'dep' / 'config.json').read_text())
    assert config['deployed'] is True and config['deployed_length'] == 150 and config['model_args']['seq_len'] == 150
    assert config['pretrained_cfg']['fixed_input_size'] is True
    card = (tmp_path / 'dep' / 'README.md').read_text()
    assert '# smpconv_tcn_gunpoint (deployed, re-parameterised)' in card and 'reparameterize_model' not in card
    assert '- **Input:** sequences `[B, 1, 150]` only (the deployed kernels are materialised for this length' in card
    x = torch.randn(2, 1, 150)
    for loaded in (load_model(str(tmp_path / 'dep'))[0],
                   timm.create_model(f"local-dir:{tmp_path / 'dep'}", pretrained=True)):
        with torch.no_grad():
            assert torch.equal(loaded.eval()(x), deployed(x))
    three = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=3)
    push_model(three, 'me/x', dry_run=str(tmp_path / 'three'), quiet=True)
    card = (tmp_path / 'three' / 'README.md').read_text()
    assert 'sequences `[B, 3, L]` (trained at L = 150)' in card and 'mean (-4.911e-10, -4.911e-10, -4.911e-10)' in card
    assert json.loads((tmp_path / 'three' / 'config.json').read_text())['pretrained_cfg']['input_size'] == [3, 1, 150]


def test_an_image_models_new_classifier_is_said_in_its_description(tmp_path):
    """Trial 62: an image model built from trained weights with another num_classes (a new, random classifier) kept
    the weights' description alone, so push_model's card and save_for_hf's config.json described the trained
    classes (the SMP-TCN said so); the same wording, once, as reparam's."""
    from smpconvnet.weights.push import push_model
    model = timm.create_model('smpconvnet_t', layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], num_classes=10)
    model.pretrained_cfg = dict(model.pretrained_cfg, description='ten-class weights')  # (as if trained)
    write_model_folder(model, tmp_path / 'ten', card='---\nlicense: mit\n---\n# ten\n')
    four = timm.create_model(f"local-dir:{tmp_path / 'ten'}", pretrained=True, num_classes=4)
    assert four.pretrained_cfg['description'] == \
        "ten-class weights; classifier new, initialised at random (4 classes; the weights' had 10)"
    push_model(four, 'me/x', dry_run=str(tmp_path / 'card'), quiet=True)
    assert (tmp_path / 'card' / 'README.md').read_text().count('classifier new, initialised at random') == 1
    same = timm.create_model(f"local-dir:{tmp_path / 'ten'}", pretrained=True)
    assert 'classifier new' not in (same.pretrained_cfg.get('description') or '')
    features = timm.create_model(f"local-dir:{tmp_path / 'ten'}", pretrained=True, features_only=True)
    assert 'classifier new' not in (features.pretrained_cfg.get('description') or '')


def test_trained_weights_deployed_for_another_length_in_python_say_so(tmp_path):
    """Trial 63: model.reparameterize(length=300) of GunPoint's weights (trained at 150) kept the trained model's
    description, so push_model's card and save_for_hf's config.json described the trained model (it scored 0.4933
    against 1.0 reloaded); reparam --input-size 1,300 said it. Said as for seq_len=300."""
    from smpconvnet.weights.push import push_model
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True).eval()
    model.reparameterize(length=300)
    assert model.pretrained_cfg['description'].endswith('; seq_len=300, its deployment length (trained at 150)')
    push_model(model, 'me/x', dry_run=str(tmp_path / 'card'), quiet=True)
    card = (tmp_path / 'card' / 'README.md').read_text()
    assert 'trained at L = 150: its kernels span the whole input, so these are other kernels than the trained ones' \
        in card


def test_trained_weights_created_for_another_length_keep_their_trained_length(tmp_path):
    """The tag's weights, an overlay's file and a checkpoint_path= file (GunPoint's, trained at 150) created with
    seq_len=200 say "(trained at 150)", which cfg_trained_length and the card read (trial 66c D2: the checkpoint's
    said 200); a random model says no trained length (trial 67: a folder saved from one, trained at 300, was scored
    at the cfg's 150 where its description quoted it)."""
    from safetensors.torch import save_file
    from smpconvnet.weights.folders import cfg_trained_length
    from smpconvnet.weights.push import push_model
    trained = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True)
    file = WEIGHTS_DIR / 'smpconv_tcn_gunpoint.aeon' / 'model.safetensors'  # (its folder records 150)
    ways = dict(tag=dict(pretrained=True), overlay=dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file))),
                checkpoint_path=dict(checkpoint_path=str(file)))  # (trial 66c D2: said trained at 200)
    for way, kwargs in ways.items():
        model = timm.create_model('smpconv_tcn_gunpoint.aeon', seq_len=200, **kwargs)
        assert model.pretrained_cfg['input_size'] == (1, 1, 200), way
        assert cfg_trained_length(model.pretrained_cfg) == 150, way
        assert model.pretrained_cfg['description'].endswith('; seq_len=200, its deployment length (trained at 150)')
    push_model(model.eval(), 'me/x', dry_run=str(tmp_path / 'card'), quiet=True)
    assert 'trained at L = 150' in (tmp_path / 'card' / 'README.md').read_text()
    # a copy that records nothing: the cfg's 150 is said taken for it, not the trained length (trial 69b)
    copy = tmp_path / 'gp.safetensors'
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(copy))
    for kwargs in (dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(copy))), dict(checkpoint_path=str(copy))):
        model = timm.create_model('smpconv_tcn_gunpoint.aeon', seq_len=200, **kwargs)
        assert cfg_trained_length(model.pretrained_cfg) is None
        assert model.pretrained_cfg['description'].endswith(
            "; seq_len=200, its deployment length (taken as trained at 150); trained length not recorded with these "
            "weights (taken as the cfg's 150 steps)")
    random = timm.create_model('smpconv_tcn_gunpoint.aeon', seq_len=200)
    assert cfg_trained_length(random.pretrained_cfg) is None
    assert random.pretrained_cfg['description'].startswith('created with pretrained=False: initialised at random')
    assert '(trained at' not in random.pretrained_cfg['description']


def test_a_file_trained_at_another_length_is_said_trained_at_the_length_it_records(tmp_path):
    """Trial 67c: a file trained at 300 steps (its folder's config.json and its metadata record it), loaded with
    checkpoint_path= or as an overlay's file into a model created with seq_len=, was said trained at the cfg's 150:
    evaluate-seq scored it 0.52 (0.95 at 300), reparam warned falsely and its hint deployed it for 150. A strict
    load's cfg states the file's class count and channels, without "classifier new" or "first layer adapted"."""
    from smpconvnet.weights.folders import cfg_trained_length, retrained_cfg, set_pretrained_cfg
    small = dict(hidden_channels=8, num_blocks=2)
    # weights trained at 300 steps, as train-seq describes them (a run on series padded to 300: --length 300)
    model = timm.create_model('smpconv_tcn_gunpoint', **small)
    set_pretrained_cfg(model, retrained_cfg(model.pretrained_cfg, input_size=(1, 1, 300), pool_size=(1, 300),
                                            description='trained with smpconvnet train-seq on GunPoint'))
    run = write_model_folder(model, tmp_path / 'run300', card='', model_args=small)
    shutil.copy(run / 'model.safetensors', tmp_path / 'copy.safetensors')  # (its metadata alone)
    # a model created with seq_len=300 and never trained: its seq_len is a deployment length, not a trained one
    # (trial 68 A: a run created so trains at its data's 150; a copy of its file was scored at 300)
    untrained = write_model_folder(timm.create_model('smpconv_tcn_gunpoint', seq_len=300, **small),
                                   tmp_path / 'sl300', card='', model_args=dict(small, seq_len=300))
    shutil.copy(untrained / 'model.safetensors', tmp_path / 'sl300.safetensors')
    cfg = timm.create_model('smpconv_tcn_gunpoint.aeon', checkpoint_path=str(tmp_path / 'sl300.safetensors'),
                            **small).pretrained_cfg
    assert cfg['input_size'] == (1, 1, 150)
    for file in (run / 'model.safetensors', tmp_path / 'copy.safetensors'):
        for way in (dict(checkpoint_path=str(file)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))):
            for length, said in ((300, ''), (400, '; seq_len=400, its deployment length (trained at 300)')):
                cfg = timm.create_model('smpconv_tcn_gunpoint.aeon', seq_len=length, **small, **way).pretrained_cfg
                assert cfg_trained_length(cfg) == 300 and cfg['description'].endswith(
                    'GunPoint (UCR): hand motion as 150-step 1-D series, 2 classes, 50 train / 150 test' + said)
    # a train-seq checkpoint of a run at 300 steps without seq_len= records the length in its config's pretrained_cfg
    # only (trial 67d: said trained at 150, scored 0.6467 for 0.9733)
    plain = timm.create_model('smpconv_tcn_gunpoint', **small)
    torch.save({'arch': 'smpconv_tcn_gunpoint', 'state_dict': plain.state_dict(),
                'config': {'architecture': 'smpconv_tcn_gunpoint', 'model_args': dict(small, seq_len=None),
                           'pretrained_cfg': {'input_size': [1, 1, 300], 'description': 'trained with train-seq'}}},
               tmp_path / 'checkpoint.pth')
    cfg = timm.create_model('smpconv_tcn_gunpoint.aeon', seq_len=400, checkpoint_path=str(tmp_path / 'checkpoint.pth'),
                            **small).pretrained_cfg
    assert cfg_trained_length(cfg) == 300
    # created for no length, the model takes the file's (trial 67d: built at the cfg's 150, the file trained at 300
    # scored 0.6467 for 0.9733), as a folder of it does; a file that records no length keeps the cfg's, a deployed one
    # its kernels'
    torch.save(plain.state_dict(), tmp_path / 'bare.pth')
    for file in (run / 'model.safetensors', tmp_path / 'copy.safetensors', tmp_path / 'checkpoint.pth',
                 tmp_path / 'bare.pth'):
        for way in (dict(checkpoint_path=str(file)), dict(pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))):
            if file.suffix == '.pth' and 'file' in str(way):
                continue  # (an overlay's file is a state dict of safetensors or torch.save; timm reads it whole)
            model = timm.create_model('smpconv_tcn_gunpoint.aeon', **small, **way)
            length = 150 if file.name == 'bare.pth' else 300
            assert model.pretrained_cfg['input_size'] == (1, 1, length) and model.seq_len == length, (file, way)
            assert model.pretrained_cfg['pool_size'] == (1, length)
            assert timm.data.resolve_data_config(model=model)['input_size'] == (1, 1, length)
            assert model._seq_len_is_default  # (the file's length, not one asked for)
    deployed = timm.create_model('smpconv_tcn_gunpoint', **small).eval()
    deployed.reparameterize(length=200)
    torch.save(deployed.state_dict(), tmp_path / 'deployed.pth')
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', checkpoint_path=str(tmp_path / 'deployed.pth'), **small)
    assert model.pretrained_cfg['input_size'] == (1, 1, 200) and model.seq_len == 200  # (its kernels')
    five = timm.create_model('smpconv_tcn_gunpoint', num_classes=5, in_chans=3)
    torch.save(five.state_dict(), tmp_path / 'f53.pth')
    cfg = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, num_classes=5, in_chans=3,
                            checkpoint_path=str(tmp_path / 'f53.pth')).pretrained_cfg
    assert (cfg['num_classes'], cfg['input_size'][0], cfg.get('label_names')) == (5, 3, None)
    assert 'adapted' not in cfg['description'] and 'classifier' not in cfg['description']
    # created for another length too: its mean and std for the 3 channels (trial 67d: one entry beside 3 channels)
    cfg = timm.create_model('smpconv_tcn_gunpoint.aeon', num_classes=5, in_chans=3, seq_len=300,
                            checkpoint_path=str(tmp_path / 'f53.pth')).pretrained_cfg
    assert cfg['input_size'] == (3, 1, 300) and len(cfg['mean']) == len(cfg['std']) == 3
    # an overlay's 3-channel file, loaded unchanged into the model of in_chans=3: its cfg states the 3 channels, so
    # reparam's folder does not say its first layer was adapted from the tag's 1 (trial 67d #7)
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in five.state_dict().items()}, str(tmp_path / 'f53.safetensors'))
    overlay = json.dumps({'file': str(tmp_path / 'f53.safetensors')})
    cfg = timm.create_model('smpconv_tcn_gunpoint', pretrained=True, num_classes=5, in_chans=3,
                            pretrained_cfg_overlay=json.loads(overlay)).pretrained_cfg
    assert cfg['input_size'] == (3, 1, 150) and len(cfg['mean']) == len(cfg['std']) == 3
    assert main(['reparam', 'smpconv_tcn_gunpoint', str(tmp_path / 'dep53'), '--model-kwargs',
                 f'pretrained_cfg_overlay={overlay}', 'num_classes=5', 'in_chans=3']) == 0
    config = json.loads((tmp_path / 'dep53' / 'config.json').read_text())
    assert 'adapted' not in config['pretrained_cfg']['description'] and 'adapted' not in \
        (tmp_path / 'dep53' / 'README.md').read_text()
    assert config['pretrained_cfg']['input_size'] == [3, 1, 150]


def test_a_first_layer_adapted_to_other_channels_is_said_in_its_description(tmp_path):
    """Trial 63: a model built from trained weights with other input channels (in_chans=1 from BasicMotions' 6) kept
    the weights' description alone, so push_model's card read "6 channels" beside an input of [B, 1, L]; reparam said
    it. The same wording, once, in both."""
    from smpconvnet.weights.push import push_model
    model = timm.create_model('smpconv_tcn_basicmotions.aeon', pretrained=True, in_chans=1)
    note = ("first layer adapted to 1 input channels from the weights' 6 (timm's rule: the weights' 6 channels summed, "
            "so it responds as the trained network to the input repeated on its 6 channels)")
    assert note in model.pretrained_cfg['description']
    # what the note says it computes (trial 71b #8: "exact for 1 or a multiple of 6" read as the trained outputs)
    trained = timm.create_model('smpconv_tcn_basicmotions.aeon', pretrained=True).eval()
    x = torch.randn(2, 1, 100)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), trained(x.repeat(1, 6, 1)), rtol=1e-5, atol=1e-5)
    # a folder written before says the rule in its older words: the same note, not told twice
    from smpconvnet.models._pretrained import adapted_channels_note, with_note
    older = ("BasicMotions; first layer adapted to 1 input channels from the weights' 6 (timm's rule: exact for 1 or a "
             "multiple of 6, approximate otherwise)")
    assert with_note(older, adapted_channels_note(1, 6)) == older
    push_model(model, 'me/x', dry_run=str(tmp_path / 'card'), quiet=True)
    assert (tmp_path / 'card' / 'README.md').read_text().count(note) == 1
    assert main(['reparam', 'smpconv_tcn_basicmotions.aeon', str(tmp_path / 'dep'), '--model-kwargs',
                 'in_chans=1']) == 0
    assert (tmp_path / 'dep' / 'README.md').read_text().count(note) == 1
    assert 'adapted' not in timm.create_model('smpconv_tcn_basicmotions.aeon', pretrained=True).pretrained_cfg[
        'description']
    # a checkpoint_path= file's first layer adapted likewise (trial 68 F: said on the overlay's route only), by timm
    # and load_model; one of the model's channels is not
    from smpconvnet.weights.sources import load_model
    small = dict(hidden_channels=8, num_blocks=2)
    for chans in (1, 3):
        torch.save(timm.create_model('smpconv_tcn_gunpoint', in_chans=chans, **small).state_dict(),
                   tmp_path / f'c{chans}.pth')
    note = "first layer adapted to 3 input channels from the weights' 1 (timm's rule"
    for file, said in (('c1.pth', True), ('c3.pth', False)):
        built = timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / file), in_chans=3, **small)
        loaded = load_model('smpconv_tcn_gunpoint', checkpoint_path=str(tmp_path / file), in_chans=3, **small)[0]
        for model in (built, loaded):
            assert (note in model.pretrained_cfg['description']) == said, (file, model.pretrained_cfg['description'])
            assert 'adapted' in model.pretrained_cfg['description'] or not said
    # a folder's weights adapted so: its cfg states the model's channels (trial 68b: a 1-channel input size, which
    # timm's data config builds inputs from, beside a 3-channel first layer)
    one = timm.create_model('smpconv_tcn_gunpoint', **small)
    folder = write_model_folder(one, tmp_path / 'one', card='', model_args=small)
    for model in (timm.create_model(f'local-dir:{folder}', pretrained=True, in_chans=3),
                  load_model(str(folder), in_chans=3)[0]):
        cfg = model.pretrained_cfg
        assert cfg['input_size'][0] == 3 and len(cfg['mean']) == len(cfg['std']) == 3, cfg
        assert timm.data.resolve_data_config(model=model)['input_size'][0] == 3


def test_a_first_layer_is_said_adapted_from_the_channels_of_the_weights_loaded(tmp_path):
    """Trial 66b E: an overlay's file whose first layer has the model's channels (a 3-channel file, in_chans=3 over
    GunPoint's 1-channel cfg) loads unchanged, and was said to be "adapted to 3 input channels from the weights' 1"
    (its cfg's count); adapted to 2, it was said to be from 1, not the file's 3. An image model's stem likewise
    (timm logs it as loaded unchanged)."""
    from safetensors.torch import save_file
    three = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=3)
    file = tmp_path / 'gp3.safetensors'
    save_file({k: v.contiguous() for k, v in three.state_dict().items()}, str(file))
    overlay = dict(file=str(file))
    kept = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=3, pretrained_cfg_overlay=overlay)
    assert all(torch.equal(a, b) for a, b in zip(kept.state_dict().values(), three.state_dict().values()))
    assert 'adapted' not in kept.pretrained_cfg['description']
    two = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=2, pretrained_cfg_overlay=overlay)
    assert ("first layer adapted to 2 input channels from the weights' 3 (timm's rule: the first 2 of the weights' 3 "
            "channels kept and scaled by 3/2, so it responds as the trained network to them so scaled with its other 1 "
            "at zero)") in two.pretrained_cfg['description']
    mine = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=2,
                             pretrained_cfg_overlay=dict(overlay, description='mine')).pretrained_cfg['description']
    assert mine.startswith("mine; first layer adapted to 2 input channels from the weights' 3")  # (trial 67b)
    # with seq_len= too (trial 67: its cfg's input size then had the model's channels, and the note was left out)
    for name in ('smpconv_tcn_gunpoint.aeon', 'smpconv_tcn_pickupgesturewiimotez.aeon'):
        said = timm.create_model(name, pretrained=True, in_chans=2, seq_len=200).pretrained_cfg['description']
        assert "first layer adapted to 2 input channels from the weights' 1" in said and '(trained at ' in said
    stem = timm.create_model('smpconvnet_t', in_chans=1, num_classes=4)
    file = tmp_path / 't1.safetensors'
    save_file({k: v.contiguous() for k, v in stem.state_dict().items()}, str(file))
    image = timm.create_model('smpconvnet_t', pretrained=True, in_chans=1, num_classes=4,
                              pretrained_cfg_overlay=dict(file=str(file), num_classes=4))
    assert torch.equal(image.stem[0].conv.weight, stem.stem[0].conv.weight)
    assert image.pretrained_cfg['description'] == f'weights from {file} (pretrained_cfg_overlay file=)'


def test_a_model_saved_with_an_adapted_first_layer_is_scored_and_deployed_by_its_hints(tmp_path, capsys):
    """Trial 68c F2 / F3: a folder saved after its first layer was adapted (its weights have 2 channels now, from
    GunPoint's 1) was refused on GunPoint with "GunPoint has 1 channels, ... expects 2" and no way to score it; a
    deployed one adapted to 3 channels named its tag (1 channel) as the training form to deploy for 3, which the tag
    refuses. Each hint, copied, runs."""
    pytest.importorskip('aeon')
    from smpconvnet.weights.deploy import deploy
    from smpconvnet.weights.push import push_model
    assert main(['evaluate-seq', 'smpconv_tcn_gunpoint.aeon']) == 0
    tag_score = capsys.readouterr().out.split('accuracy ')[1].split(' in ')[0]
    two = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=2)
    timm.models.save_for_hf(two, str(tmp_path / 'two'))
    for given in ([], ['--model-kwargs', 'in_chans=2']):
        assert main(['evaluate-seq', str(tmp_path / 'two'), *given]) == 1
        err = capsys.readouterr().err
        assert (f'GunPoint has 1 channel(s), {tmp_path / "two"} expects 2: its first layer was adapted to 2 from '
                f'weights of 1 (its description says so); to score it on GunPoint\'s series pass --model-kwargs '
                f'in_chans=1') in err, err
    assert main(['evaluate-seq', str(tmp_path / 'two'), '--model-kwargs', 'in_chans=1']) == 0  # the hint, copied
    assert capsys.readouterr().out.split('accuracy ')[1].split(' in ')[0] == tag_score  # adapted back exactly
    # a copy of such a folder's file (this project's writers record the adaptation in its metadata): the same
    # refusal and hint on every route that loads a file (trial 69 F3: "as the series they were trained on", no way on)
    push_model(two, 'me/x', dry_run=str(tmp_path / 'two-pushed'), quiet=True)
    copied = tmp_path / 'two.safetensors'
    shutil.copy(tmp_path / 'two-pushed' / 'model.safetensors', copied)
    for way in (f'pretrained_cfg_overlay={{"file": "{copied}"}}', f'checkpoint_path={copied}'):
        argv = ['evaluate-seq', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs', way]
        assert main(argv + ['in_chans=2']) == 1
        err = capsys.readouterr().err
        assert 'its first layer was adapted to 2 from weights of 1' in err, err
        # (the caller's other arguments kept, the file among them)
        hint = shlex.split(re.search(r'pass --model-kwargs (.*) \(model_kwargs=', err).group(1))
        assert hint == [way, 'in_chans=1'], hint
        # (and in its Python form: trial 71c, in_chans alone)
        python_form = re.search(r'\(model_kwargs=(dict\(.*\))\): timm', err).group(1)
        from smpconvnet.train.seq_trainer import parse_model_kwargs
        assert eval(python_form) == dict(parse_model_kwargs([way]), in_chans=1), python_form
        assert main(argv[:3] + hint) == 0, way
        assert capsys.readouterr().out.split('accuracy ')[1].split(' in ')[0] == tag_score
    # a copy of timm's save_for_hf folder records nothing of it: in_chans=1 is not refused (trial 70b: "as the series
    # they were trained on", and the file's own 2 channels refused by the data, no way on), it warns and scores
    timm.models.save_for_hf(two, str(tmp_path / 'two-hf'), safe_serialization=True)
    shutil.copy(tmp_path / 'two-hf' / 'model.safetensors', tmp_path / 'two-hf.safetensors')
    argv = ['evaluate-seq', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs',
            f'checkpoint_path={tmp_path / "two-hf.safetensors"}']
    assert main(argv + ['in_chans=2']) == 1
    hint = shlex.split(re.search(r'pass --model-kwargs (.*) \(timm', capsys.readouterr().err).group(1))
    assert hint == [argv[-1], 'in_chans=1'], hint
    assert main(argv[:3] + hint) == 0
    out, err = capsys.readouterr()
    assert out.split('accuracy ')[1].split(' in ')[0] == tag_score
    assert 'the trained model only if they were adapted from 1 channel(s) before they were saved' in err
    # a file of this project's writers records an adaptation where there was one: 2 channels that record none are
    # the trained ones (trial 70c: a random 2-channel file was taken with in_chans=1 without a word); the data set's
    # 1 channel asked for is taken, saying what the adapted layer computes (trial 72b #4: refused "to inputs the data
    # set does not have", a loop), and another count is refused, naming the data set's
    push_model(timm.create_model('smpconv_tcn_gunpoint.aeon', in_chans=2), 'me/x', dry_run=str(tmp_path / 'r2'),
               quiet=True)
    r2 = f'checkpoint_path={tmp_path / "r2" / "model.safetensors"}'
    assert main(['evaluate-seq', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs', r2, 'in_chans=1']) == 0
    assert ("in_chans=1: the weights read 2 channel(s) and the data set 1: their first layer was adapted (timm's rule: "
            "the weights' 2 channels summed") in capsys.readouterr().err
    assert main(['evaluate-seq', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs', r2, 'in_chans=3']) == 1
    assert 'the data set has 1: give in_chans=1' in capsys.readouterr().err
    from smpconvnet import load_model
    with pytest.warns(UserWarning, match='names no model'):
        said = load_model(str(copied))[0].pretrained_cfg['description']
    assert "first layer adapted before these weights were saved (2 input channels from the weights' 1)" in said
    # deployed, it does not adapt back: the hint names the weights it was adapted from, and in_chans=1 is refused
    # without "as the series they were trained on" (trial 69 F2: the two refusals sent the user to each other)
    assert main(['reparam', str(tmp_path / 'two'), str(tmp_path / 'two-dep')]) == 0
    capsys.readouterr()
    for given in ([], ['--model-kwargs', 'in_chans=1']):
        assert main(['evaluate-seq', str(tmp_path / 'two-dep'), *given]) == 1
        err = capsys.readouterr().err.rstrip()
        assert 'deployed weights do not adapt to other channels' in err and 'trained on' not in err, err
        assert err.endswith('score the weights it was adapted from (smpconvnet evaluate-seq smpconv_tcn_gunpoint.aeon)')
    # weights of more channels adapted and back are not given back, nor is their per-channel normalisation (trial 69
    # F1: JapaneseVowels' 12 to 24 and back scored 0.3973 for 0.9838, said nothing; the hint had advised it)
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=24),
                            str(tmp_path / 'jv24'))
    assert main(['evaluate-seq', str(tmp_path / 'jv24')]) == 1
    err = capsys.readouterr().err.rstrip()
    assert 'pass --model-kwargs in_chans' not in err and 'normalisation, which was averaged' in err
    # (its weights come back whole: trial 71b, "does not give the weights" was said of them)
    assert 'adapting it back gives the weights of 12 channels back, but not their per-channel normalisation' in err
    assert err.endswith('(smpconvnet evaluate-seq smpconv_tcn_japanesevowels.aeon)')
    assert main(['evaluate-seq', str(tmp_path / 'jv24'), '--model-kwargs', 'in_chans=12']) == 0
    assert "jv24's first layer was adapted from weights of 12 channels to others and back" in capsys.readouterr().err
    # a copy of its file (its first layer adapted from 12 to 24 recorded), adapted back on a file's route: the weights
    # come back whole with the tag's per-channel normalisation, no word (trial 70b: warned falsely); through 8
    # channels, 4 were dropped: said
    push_model(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=24), 'me/x',
               dry_run=str(tmp_path / 'jv24p'), quiet=True)
    push_model(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=8), 'me/x',
               dry_run=str(tmp_path / 'jv8p'), quiet=True)
    push_model(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=1), 'me/x',
               dry_run=str(tmp_path / 'jv1p'), quiet=True)
    for folder, said in (('jv24p', None), ('jv8p', "adapted to 8 channels, its first layer lost 4 of the weights' 12"),
                         ('jv1p', "adapted to 1 channel, its first layer summed the weights' 12 into one")):
        assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs',
                     f'pretrained_cfg_overlay={{"file": "{tmp_path / folder / "model.safetensors"}"}}',
                     'in_chans=12']) == 0
        out, err = capsys.readouterr()
        assert (said in err) if said else ('warning' not in err and 'accuracy 0.9838 (364/370)' in out), err
    # adapted to 8 and back to 12, then saved: a copy of its file records the 8 it went through, and warns as its
    # folder does (trial 70c: the metadata recorded nothing, in_chans being the weights' 12; scored 0.6432 silently)
    push_model(timm.create_model(f'local-dir:{tmp_path / "jv8p"}', pretrained=True, in_chans=12), 'me/x',
               dry_run=str(tmp_path / 'jv8back'), quiet=True)
    copied = tmp_path / 'jv8back.safetensors'
    copied.write_bytes((tmp_path / 'jv8back' / 'model.safetensors').read_bytes())
    for way in (f'pretrained_cfg_overlay={{"file": "{copied}"}}', f'checkpoint_path={copied}'):
        assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', way]) == 0
        err = capsys.readouterr().err
        assert ("first layer was adapted from weights of 12 channels to others and back (its description says so): "
                "adapted to 8 channels, its first layer lost 4 of the weights' 12") in err, (way, err)
    # adapted to 8, then to 24: the copy records the 8 it went through (trial 71, through 6: it recorded 24 from 12,
    # and adapted back to 12 scored 0.4541 without a word), said on scoring it adapted back, and in the refusal
    push_model(timm.create_model(f'local-dir:{tmp_path / "jv8p"}', pretrained=True, in_chans=24), 'me/x', dry_run=str(tmp_path / 'jv8to24'), quiet=True)
    via = tmp_path / 'jv8to24.safetensors'
    via.write_bytes((tmp_path / 'jv8to24' / 'model.safetensors').read_bytes())
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', f'checkpoint_path={via}',
                 'in_chans=12']) == 0
    assert "adapted to 8 channels, its first layer lost 4 of the weights' 12" in capsys.readouterr().err
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', f'checkpoint_path={via}',
                 'in_chans=24']) == 1
    err = capsys.readouterr().err
    assert 'adapting it back does not give the weights of 12 channels (it went through 8, which dropped 4 of them)' \
        in err and 'averaged' not in err, err
    # a copy adapted to 24 only is refused on 12 channels with the way back that works, its file kept (trial 71: "nor
    # their per-channel normalisation, which was averaged", of the registered model's own)
    copy24 = f'pretrained_cfg_overlay={{"file": "{tmp_path / "jv24p" / "model.safetensors"}"}}'
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', copy24, 'in_chans=24']) == 1
    hint = re.search(r"series pass --model-kwargs (.*) \(model_kwargs=", capsys.readouterr().err).group(1)
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', *shlex.split(hint)]) == 0
    out, err = capsys.readouterr()
    assert 'accuracy 0.9838 (364/370)' in out and 'warning' not in err, (hint, err)
    # a file that records nothing (timm's save_for_hf) of 12 adapted to 6: not sent back to in_chans=12, which only
    # repeats its 6 (trial 71: 0.4541, and the warning read as a fix)
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=6),
                            str(tmp_path / 'hf6'), safe_serialization=True)
    shutil.copy(tmp_path / 'hf6' / 'model.safetensors', tmp_path / 'hf6.safetensors')  # (a copy: its folder records)
    six = f'pretrained_cfg_overlay={{"file": "{tmp_path / "hf6.safetensors"}"}}'
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', six, 'in_chans=6']) == 1
    err = capsys.readouterr().err
    assert "it kept 6 of them and timm's rule cannot give the others back" in err and 'in_chans=12' not in err, err
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs', six, 'in_chans=12']) == 0
    assert 'it repeats the 6 it has, so this is no trained model' in capsys.readouterr().err
    # adapted back to 12 from it and saved by timm's save_for_hf: the folder says it was adapted from 6 (trial 71b:
    # 0.3189 without a word), and a copy of its file, which records nothing, is told by its first layer, whose 12
    # channels repeat 6 exactly (0.4541 without a word)
    timm.models.save_for_hf(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=12,
                                              checkpoint_path=str(tmp_path / 'hf6.safetensors')),
                            str(tmp_path / 'hf6_12'), safe_serialization=True)
    shutil.copy(tmp_path / 'hf6_12' / 'model.safetensors', tmp_path / 'hf6_12.safetensors')
    assert main(['evaluate-seq', str(tmp_path / 'hf6_12')]) == 0
    assert "first layer was adapted to 12 input channels from weights of 6" in capsys.readouterr().err
    assert main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon', '--model-kwargs',
                 f'checkpoint_path={tmp_path / "hf6_12.safetensors"}']) == 0
    out, err = capsys.readouterr()
    assert 'accuracy 0.4541' in out, out
    assert "first layer repeats the weights of its first 6 input channel(s) over its 12, exactly" in err, err
    # deployed, or one member of an ensemble: the same word (trial 71c: 0.4541 and 0.9432 without one)
    assert main(['reparam', 'smpconv_tcn_japanesevowels.aeon', str(tmp_path / 'hf6_12d'), '--model-kwargs',
                 f'checkpoint_path={tmp_path / "hf6_12.safetensors"}']) == 0
    capsys.readouterr()
    assert main(['evaluate-seq', str(tmp_path / 'hf6_12d')]) == 0
    assert "first layer repeats the weights of its first 6 input channel(s) over its 12, exactly" in \
        capsys.readouterr().err
    from smpconvnet.weights.folders import write_ensemble_folder
    push_model(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True), 'me/x',
               dry_run=str(tmp_path / 'jvplain'), quiet=True)
    push_model(timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True,
                                 checkpoint_path=str(tmp_path / 'hf6_12.safetensors')), 'me/x',
               dry_run=str(tmp_path / 'jv6_12member'), quiet=True)
    write_ensemble_folder([str(tmp_path / 'jvplain'), str(tmp_path / 'jv6_12member')], str(tmp_path / 'ens6'))
    assert main(['evaluate-seq', str(tmp_path / 'ens6')]) == 0
    assert "first layer (members.1.blocks.0.conv1.small: 6) repeats the weights of its first 6" in \
        capsys.readouterr().err
    # (trained weights repeat nothing: no such word of the shipped models of several channels, ensembles too)
    from smpconvnet.models import repeated_input_channels
    for name in ('smpconv_tcn_japanesevowels.aeon', 'smpconv_tcn_basicmotions.aeon',
                 'smpconv_tcn_pickupgesturewiimotez.aeon'):
        model = timm.create_model(name, pretrained=True)
        first = model.pretrained_cfg['first_conv']
        for conv in (first,) if isinstance(first, str) else first:
            assert repeated_input_channels(model.get_submodule(conv).weight) is None, (name, conv)
    assert repeated_input_channels(torch.randn(4, 3, 5).repeat(1, 2, 1)) == 3
    assert repeated_input_channels(torch.randn(4, 1, 5).repeat(1, 7, 1)[:, :5]) == 1
    for command, out in (('reparam', []), ('export', ['-o'])):
        assert main([command, 'smpconv_tcn_japanesevowels.aeon', *out,
                     str(tmp_path / ('jv8back.onnx' if out else 'jv8back_deployed')),
                     '--model-kwargs', f'checkpoint_path={copied}']) == 0
        assert "adapted to 8 channels, its first layer lost 4 of the weights' 12" in capsys.readouterr().err
    # deployed or exported so, the same (trial 69b (c)1: without a word); the hint's weights deploy with none
    for command, what, out in (('reparam', 'the deployed model', []), ('export', 'the exported file', ['-o'])):
        suffix = '.onnx' if out else ''
        assert main([command, str(tmp_path / 'jv24'), *out, str(tmp_path / f'jv12{suffix}'), '--model-kwargs',
                     'in_chans=12']) == 0
        err = capsys.readouterr().err
        assert "jv24's first layer was adapted from weights of 12 channels to others and back" in err, err
        hint = re.search(r'\(give (\S+) instead of (\S+)\)', err)
        assert f'{what} is not the weights it was adapted from' in err and hint.group(2) == str(tmp_path / 'jv24')
        assert main([command, hint.group(1), *out, str(tmp_path / f'given{suffix}')]) == 0
        assert 'warning' not in capsys.readouterr().err
    assert main(['info', str(tmp_path / 'jv24'), '--model-kwargs', 'in_chans=12']) == 0
    assert '(aeon weights, first layer adapted to 12 input channels)' in capsys.readouterr().out.splitlines()[0]
    # deployed with 3 channels and pushed (push_model keeps the tag, as timm's save_for_hf does): its hints name the
    # tag built for 3 channels
    three = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, in_chans=3).eval()
    push_model(deploy(three, torch.randn(2, 3, 150)), 'me/x', dry_run=str(tmp_path / 'three'), quiet=True)
    capsys.readouterr()
    assert main(['info', str(tmp_path / 'three')]) == 0  # (it was headed as the tag's model, smpconv_tcn_gunpoint.aeon)
    assert capsys.readouterr().out.splitlines()[0] == \
        f'{tmp_path / "three"}: smpconv_tcn_gunpoint (aeon weights, first layer adapted to 3 input channels)'
    out = str(tmp_path / 'three.pt')
    assert main(['export', str(tmp_path / 'three'), '--format', 'torchscript', '-o', out, '--input-size',
                 '3,300']) == 1
    err = capsys.readouterr().err.rstrip()
    assert err.endswith('start from the training-form model it was deployed from (smpconv_tcn_gunpoint.aeon) with '
                        '--input-size 3,300 --model-kwargs in_chans=3'), err
    assert main(['export', 'smpconv_tcn_gunpoint.aeon', '--format', 'torchscript', '-o', out, '--input-size',
                 '3,300', '--model-kwargs', 'in_chans=3']) == 0
    assert 'deployed for 300 steps' in capsys.readouterr().err  # (whole-series kernels trained at 150: warned)
    # evaluate-seq's redeploy hint: JapaneseVowels' tag (12 channels) adapted to 1, deployed for 20 steps, on GunPoint
    # (1 channel, 150 steps; labels 1 and 2, among JapaneseVowels' 1-9: warned)
    one = timm.create_model('smpconv_tcn_japanesevowels.aeon', pretrained=True, in_chans=1).eval()
    push_model(deploy(one, torch.randn(2, 1, 20)), 'me/x', dry_run=str(tmp_path / 'one'), quiet=True)
    capsys.readouterr()
    assert main(['evaluate-seq', str(tmp_path / 'one'), '--dataset', 'GunPoint']) == 1
    err = capsys.readouterr().err.rstrip()
    # (for GunPoint's 150 steps, more than the 29 it was trained at: trial 70, deployed for 29 it was refused again)
    hint = ('smpconvnet reparam smpconv_tcn_japanesevowels.aeon smpconv_tcn_japanesevowels-deployed --input-size '
            '1,150 --model-kwargs in_chans=1')
    assert err.endswith(f'({hint})'), err
    assert 'smpconvnet evaluate-seq smpconv_tcn_japanesevowels.aeon' not in err  # (its own data set, 12 channels)
    assert main([*hint.split()[1:3], str(tmp_path / 'redeployed'), *hint.split()[4:]]) == 0
    capsys.readouterr()
    assert main(['evaluate-seq', str(tmp_path / 'redeployed'), '--dataset', 'GunPoint']) == 0
    assert 'is deployed for 150 steps' not in capsys.readouterr().err  # (as the training form reads them)


def test_a_tag_whose_weights_are_not_available_is_refused_not_written_random(tmp_path, capsys):
    """Trial 73: `export smpconvnet_t.in1k` (its weights not published) wrote the network with random weights and
    ended well, a progress line saying so; named with its tag, the model is the tag's weights. It is refused, naming
    why and --pretrained no, which (copied) writes the random architecture; a tag of no weights ('.untrained') and
    the bare name, whose default tag has none, still build random weights under 'auto'."""
    small = ['--model-kwargs', 'layers=[1,1,2,1]', 'channels=[16,32,64,128]']
    for command, out in (('export', tmp_path / 'm.onnx'), ('reparam', tmp_path / 'folder')):
        where = ['-o', str(out)] if command == 'export' else [str(out)]
        words = [command, 'smpconvnet_t.in1k', *where, '--input-size', '3,64,64', *small]
        assert main(words) == 1
        err = ' '.join(capsys.readouterr().err.split())
        assert 'smpconvnet_t.in1k names the weights of its tag, which are not available' in err, err
        assert not out.exists()
        hint = re.search(r'pass (--pretrained no) \(', err).group(1).split()
        assert main(words + hint) == 0 and out.exists()
    with pytest.raises(ValueError, match='names the weights of its tag'):
        reparameterize_to_folder('smpconvnet_t.in1k', str(tmp_path / 'python'), input_size=(3, 64, 64), quiet=True,
                                 model_kwargs=dict(layers=[1, 1, 2, 1], channels=[16, 32, 64, 128]))
    for name in ('smpconvnet_t', 'smpconv_resnet_cifar10.untrained'):
        report = reparameterize_to_folder(name, str(tmp_path / name), quiet=True, input_size=(
            3, 64, 64) if name == 'smpconvnet_t' else None, model_kwargs=dict(
            layers=[1, 1, 2, 1], channels=[16, 32, 64, 128]) if name == 'smpconvnet_t' else dict(block_channels=(8, 8)))
        assert report['source'].startswith('random weights')


def test_a_models_refusal_of_an_input_names_the_commands_option(tmp_path, capsys):
    """Trial 73: `export smpconvnet_t --input-size 3,50,50` ended in the model's own "create the model with
    strict_img_size=False", a Python argument; in a command it is followed by the command's --model-kwargs with it,
    which (copied in place of the command's own) exports."""
    out = tmp_path / 'm.onnx'
    words = ['export', 'smpconvnet_t', '-o', str(out), '--input-size', '3,50,50', '--model-kwargs',
             'layers=[1,1,2,1]', 'channels=[16,32,64,128]']
    assert main(words) == 1
    err = ' '.join(capsys.readouterr().err.split())
    hint = shlex.split(re.search(r'strict_img_size=False \(a command: ([^)]+)\)', err).group(1))
    assert hint[1:] == ['layers=[1, 1, 2, 1]', 'channels=[16, 32, 64, 128]', 'strict_img_size=False'], hint
    assert main(words[:words.index('--model-kwargs')] + hint) == 0 and out.exists()


def test_the_deployment_check_compares_the_features_the_logits_can_hide(tmp_path, monkeypatch):
    """Trial 73b: an untrained network's logits can be its classifier's bias whatever its blocks compute, so reparam's
    and export's check of the deployed form against the training form compared little. The features before the head
    are compared too: a deployed block made wrong is refused even where the logits are the bias alone."""
    import smpconvnet.weights.deploy as deploy_module
    small = dict(layers=[1, 1, 2, 1], channels=[16, 32, 64, 128], num_classes=10)
    model = randomize_bn(timm.create_model('smpconvnet_t', **small)).eval()
    with torch.no_grad():
        model.head.fc.weight.zero_()  # logits: the bias, for every input
    write_model_folder(model, tmp_path / 'src', 'card', model_args=small)
    real = deploy_module.deploy

    def wrong(model, example=None):
        deployed = real(model, example)
        with torch.no_grad():
            next(m for m in deployed.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1).weight.mul_(1.5)
        return deployed
    monkeypatch.setattr(deploy_module, 'deploy', wrong)
    with pytest.raises(RuntimeError, match='the deployed model differs from the training form'):
        reparameterize_to_folder(str(tmp_path / 'src'), str(tmp_path / 'dst'), input_size=(3, 64, 64), quiet=True)
    with pytest.raises(RuntimeError, match='the deployed model differs from the training form'):
        export_model(str(tmp_path / 'src'), str(tmp_path / 'm.onnx'), input_size=(3, 64, 64), quiet=True)
    assert not (tmp_path / 'dst').exists() and not (tmp_path / 'm.onnx').exists()


def test_a_tag_of_no_weights_asked_for_its_weights_names_the_way_to_random_ones(capsys):
    """Trial 73b F4: `info smpconv_resnet_cifar10.untrained --pretrained yes` printed timm's "No pretrained weights exist
    for smpconv_resnet_cifar10. Use `pretrained=False`", without its tag or the command's --pretrained no."""
    assert main(['info', 'smpconv_resnet_cifar10.untrained', '--pretrained', 'yes']) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert 'smpconv_resnet_cifar10.untrained has no pretrained weights' in err and '--pretrained no' in err, err
    assert main(['info', 'smpconv_resnet_cifar10.untrained', '--pretrained', 'no']) == 0
    with pytest.raises(RuntimeError, match=r'smpconv_tcn_smnist.untrained has no pretrained weights .*pretrained=False'):
        timm.create_model('smpconv_tcn_smnist', pretrained=True)


def test_deploying_with_the_pretrained_path_overlay_warns_of_its_new_classifier(tmp_path):
    """Trial 73c F2: `reparam` / `export` with train.py --pretrained-path's overlay (num_classes=-1 beside the file)
    deployed a random classifier with no warning, where num_classes= of another count warns."""
    file = tmp_path / 'gunpoint.safetensors'
    shutil.copyfile(WEIGHTS_DIR / 'smpconv_tcn_gunpoint.aeon' / 'model.safetensors', file)
    overlay = dict(file=str(file), num_classes=-1, input_size=[1, 1, 150])
    with pytest.warns(UserWarning, match=r"num_classes=-1 in its pretrained_cfg_overlay .*the classifier is new and "
                                         r"initialised at random; leave num_classes out of the overlay to deploy"):
        reparameterize_to_folder('smpconv_tcn_gunpoint', str(tmp_path / 'new'), quiet=True,
                                 model_kwargs=dict(pretrained_cfg_overlay=overlay))
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        reparameterize_to_folder('smpconv_tcn_gunpoint', str(tmp_path / 'kept'), quiet=True, model_kwargs=dict(
            pretrained_cfg_overlay={k: v for k, v in overlay.items() if k != 'num_classes'}))


def test_input_size_longer_than_zero_pad_to_is_named(tmp_path, capsys):
    """A zero-padding model (zero_pad_to=29) given --input-size 12,40: reparam, info and a TorchScript export said the
    model's own error about an example batch [2, 12, 40] the user never passed (trial 75 F2); now --input-size is
    named with a size that works, which the hint's copy then deploys."""
    common = ['--pretrained', 'no', '--model-kwargs', 'zero_pad_to=29']
    for argv in (['reparam', 'smpconv_tcn_japanesevowels', str(tmp_path / 'zp')],
                 ['info', 'smpconv_tcn_japanesevowels'],
                 ['export', 'smpconv_tcn_japanesevowels', '--format', 'torchscript', '-o', str(tmp_path / 'zp.pt')]):
        assert main(argv + common + ['--input-size', '12,40']) == 1
        err = capsys.readouterr().err
        assert ('--input-size 12,40: the model reads series zero-padded to 29 steps (zero_pad_to=29), none longer: '
                'pass --input-size 12,29') in err and 'input shape' not in err
    assert not (tmp_path / 'zp').exists() and not (tmp_path / 'zp.pt').exists()
    assert main(['reparam', 'smpconv_tcn_japanesevowels', str(tmp_path / 'zp')] + common + ['--input-size', '12,29']) == 0
