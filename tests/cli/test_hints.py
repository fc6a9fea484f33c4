"""Every hint the project prints works when copied literally: the Python snippets (``timm.create_model(...)``,
``smpconvnet.load_model(...)``) in every command's ``--help``, in the missing-weights and bad-file errors and in the
shipped model cards are executed, with their placeholders (DST, OUTPUT, <dir>, <this folder>) replaced by a real
model folder; a ``local-dir:`` hint must give that folder's weights, not a randomly initialised model."""
import argparse
import re

import pytest
import timm
import torch

from smpconvnet.cli import build_parser
from smpconvnet.models import WEIGHTS_DIR, check_weights_file
from smpconvnet.models._pretrained import is_published, missing_weights_message
from smpconvnet.weights.folders import write_model_folder

SNIPPET = re.compile(r'(?:timm\.create_model|smpconvnet\.load_model)\((?:[^()]|\([^()]*\))*\)')
PLACEHOLDERS = re.compile(r'DST|OUTPUT|<dir>|<this folder>|<folder>')
UNPUBLISHED = [t for t in timm.list_pretrained('smpconv*') if not is_published(timm.models.get_pretrained_cfg(t).to_dict())]


def _help_texts():
    texts = []

    def walk(parser):
        texts.extend([parser.description or '', parser.epilog or ''])
        for action in parser._actions:
            texts.append(action.help or '')
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
    walk(build_parser())
    return texts


def _hint_texts(tmp_path):
    texts = {'--help': ' '.join(_help_texts())}
    cfg = timm.models.get_pretrained_cfg('smpconvnet_t.in1k').to_dict()
    texts['missing weights'] = missing_weights_message(cfg, OSError('not found'))
    (tmp_path / 'a_folder').mkdir()
    with pytest.raises(ValueError) as e:
        check_weights_file(tmp_path / 'a_folder')
    texts['bad file'] = str(e.value)
    for card in sorted(WEIGHTS_DIR.glob('*/README.md')):
        texts[card.parent.name] = card.read_text()
    return texts


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    torch.manual_seed(0)
    model = timm.create_model('smpconv_tcn_chartraj', num_blocks=2, hidden_channels=8, n_points=4).eval()
    path = tmp_path_factory.mktemp('hint') / 'model'
    write_model_folder(model, path, '# a model\n',
                       model_args=dict(num_blocks=2, hidden_channels=8, n_points=4))
    return path, model.state_dict()


def test_every_printed_snippet_runs_and_loads_the_weights(folder, tmp_path):
    path, state = folder
    ran = []
    for where, text in _hint_texts(tmp_path).items():
        for snippet in SNIPPET.findall(' '.join(text.split())):
            code = PLACEHOLDERS.sub(str(path), snippet)
            if 'local-dir:' in snippet and not PLACEHOLDERS.search(snippet):
                continue  # an example with a concrete path of its own
            if any(f"'{tag}'" in snippet and 'pretrained=True' in snippet for tag in UNPUBLISHED):
                continue  # the cards of unpublished weights say so, and how to produce them
            result = eval(code, {'timm': timm, 'smpconvnet': __import__('smpconvnet')})
            model = result[0] if isinstance(result, tuple) else result
            assert isinstance(model, torch.nn.Module), (where, snippet)
            if 'local-dir:' in snippet or snippet.startswith('smpconvnet.load_model'):
                loaded = model.state_dict()
                assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state), (
                    f'{where}: {snippet} does not load the folder\'s weights')
            ran.append((where, snippet))
    assert any('local-dir:' in s for _, s in ran) and any(w == 'missing weights' for w, _ in ran)
    assert any(w.endswith('.aeon') for w, _ in ran)  # the shipped models' cards


# --------------------------------------------------------------------------------------------------------------
# Words that say what is true


@pytest.mark.parametrize('offline', [False, True])
def test_unpublished_weights_are_called_unpublished(monkeypatch, offline):
    # (either mode, whatever HF_HUB_OFFLINE the suite runs under: trial 50 ran it offline, and it failed)
    from huggingface_hub import constants
    from huggingface_hub.errors import LocalEntryNotFoundError
    import smpconvnet
    monkeypatch.setattr(constants, 'is_offline_mode', lambda: offline)
    assert sorted(UNPUBLISHED) == ['smpconvnet_b.in1k', 'smpconvnet_t.in1k']
    cfg = timm.models.get_pretrained_cfg('smpconvnet_t.in1k').to_dict()
    message = missing_weights_message(cfg, LocalEntryNotFoundError('x'))
    assert 'not published' in message and 'check the network and that the repo exists' not in message
    try:  # under a namespace of one's own, the repo is the user's: the usual advice
        smpconvnet.set_hub_namespace('myorg')
        cfg = timm.models.get_pretrained_cfg('smpconvnet_t.in1k').to_dict()
        message = missing_weights_message(cfg, LocalEntryNotFoundError('x'))
        assert 'not published' not in message
        assert ('run once with a network' if offline else 'that the repo exists') in message
    finally:
        smpconvnet.set_hub_namespace(None)


def test_an_image_checkpoint_is_not_called_an_empty_sequence_model():
    from smpconvnet.models.smpconv_tcn import checkpoint_filter_fn
    state = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(16, 32, 64, 128)).state_dict()
    with pytest.raises(ValueError, match='not an SMP-TCN state dict.*stem'):
        checkpoint_filter_fn(state, timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8))


def test_commands_say_what_is_wrong(tmp_path, capsys):
    from smpconvnet.cli import main
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    assert main(['convert', str(garbage), str(tmp_path / 'out'), '--trust-pickle']) != 0
    err = capsys.readouterr().err
    assert 'not a readable PyTorch checkpoint' in err and '--trust-pickle' not in err
    (tmp_path / 'dir').mkdir()
    assert main(['convert', str(tmp_path / 'dir'), str(tmp_path / 'out')]) != 0
    err = capsys.readouterr().err
    assert 'is a folder' in err and 'not found' not in err
    assert main(['evaluate-seq', 'smpconvnet_t']) != 0
    err = capsys.readouterr().err
    assert 'smpconvnet_t is not a sequence model' in err and 'Hub' not in err


def test_an_existing_destination_names_the_option_that_replaces_it(tmp_path, capsys):
    """A command's refusal to overwrite names --force, which then works as said (it said `--force (force=True)`,
    the library's spelling beside the option's)."""
    from smpconvnet.cli import main
    argv = ['reparam', 'smpconv_tcn_gunpoint.aeon', str(tmp_path / 'dep')]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f'{tmp_path / "dep"} exists; add --force to replace it' in err, err
    assert main(argv + ['--force']) == 0


def test_info_uses_the_weights_reparam_and_export_use(capsys):
    """``info`` defaults to the weights available offline, as ``reparam`` and ``export`` do."""
    from smpconvnet.cli import main
    assert main(['info', 'smpconv_tcn_osuleaf.aeon', '--json']) == 0
    import json
    assert json.loads(capsys.readouterr().out)['weights'].startswith('weights shipped in')


def test_review_findings_say_what_is_wrong(tmp_path, monkeypatch, capsys):
    """What a newcomer's review found: each message true and actionable."""
    import pickle
    import sys
    from smpconvnet.cli import demo, main
    # the demo without aeon: the shipped model exists, its test data needs aeon
    monkeypatch.setattr(demo, '_aeon_available', lambda: False)
    name, pretrained, why = demo.choose_model()
    assert not pretrained and 'pip install "smpconvnet[data]"' in why and 'no trained sequence model' not in why
    # a user's missing file for a sequence model: no Hub, no `convert` (it converts ImageNet checkpoints only)
    with pytest.raises(Exception) as e:
        timm.create_model('smpconv_tcn_smnist', pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / 'x.pth')))
    assert 'smpconvnet convert' not in str(e.value) and "pretrained_cfg_overlay=dict(file=" in str(e.value)
    with pytest.raises(Exception) as e:
        timm.create_model('smpconvnet_t', pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / 'x.pth')))
    assert 'not published' not in str(e.value) and 'Hub repo' not in str(e.value)
    # a plain pickle is not a torch.save checkpoint, --trust-pickle or not
    raw = tmp_path / 'raw.pth'
    raw.write_bytes(pickle.dumps({'a': 1}))
    assert main(['convert', str(raw), str(tmp_path / 'o'), '--trust-pickle']) == 1
    err = capsys.readouterr().err
    assert 'not a torch.save checkpoint' in err and '--trust-pickle' not in err
    # a missing optional dependency is one line, with the install command
    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    monkeypatch.setitem(sys.modules, 'matplotlib.figure', None)
    assert main(['plot', 'smpconv_tcn_smnist', '--out', str(tmp_path / 'k.png')]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install "smpconvnet[plot]"' in err
    for args, words in ((['--max-rows', '0'], 'at least 1'), (['--size', '20000x10'], 'at most 10000'),
                        (['--out', str(tmp_path / 'k.jpg')], 'PNG')):
        assert main(['plot', 'smpconv_tcn_smnist'] + args) == 1 and words in capsys.readouterr().err


@pytest.mark.parametrize('deployed', [False, True])
@pytest.mark.parametrize('variant, args, x', [
    ('smpconv_tcn_gunpoint', dict(num_blocks=2, hidden_channels=8, n_points=6, num_classes=3), torch.randn(2, 1, 150)),
    ('smpconv_resnet_cifar10', dict(stem_channels=8, block_channels=(8, 12), n_points=6, num_classes=3),
     torch.randn(2, 3, 32, 32)),
    ('smpconvnet_t', dict(layers=(1, 1, 1, 1), channels=(8, 8, 16, 16), num_classes=5), torch.randn(1, 3, 64, 64)),
])
def test_a_size_hint_works_on_the_command_line(tmp_path, capsys, variant, args, x, deployed):
    """Trial 48: a command refusing weights of another size printed the arguments that fit them in Python only
    (``channels=[8, 8, 16, 16]``, which the shell splits): the hint gives the ``--model-kwargs`` form too, which
    copied literally loads the weights as trained."""
    import json
    import shlex
    import smpconvnet
    from safetensors.torch import save_file
    from smpconvnet.cli import main
    from smpconvnet.train.seq_trainer import parse_model_kwargs
    torch.manual_seed(0)
    trained = timm.create_model(variant, **args).eval()
    if deployed:
        trained.reparameterize(*([x.shape[-1]] if 'tcn' in variant else []))  # (a TCN's for this length)
    file = tmp_path / 'other.safetensors'
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(file))
    overlay = 'pretrained_cfg_overlay=' + json.dumps({'file': str(file)})
    assert main(['info', variant, '--model-kwargs', overlay]) == 1
    err = ' '.join(capsys.readouterr().err.split())
    # (the command's whole --model-kwargs with the arguments that fit, to give in its place)
    words = shlex.split(re.search(r'a command: --model-kwargs ([^;]+);', err).group(1))
    assert words[0] == overlay
    assert main(['info', variant, '--model-kwargs'] + words) == 0, capsys.readouterr().err
    model, _ = smpconvnet.load_model(variant, **parse_model_kwargs(words))
    with torch.no_grad():
        assert torch.equal(model.eval()(x), trained(x))


@pytest.mark.parametrize('route', ['checkpoint_path', 'overlay'])
def test_a_load_refusals_command_hint_keeps_the_callers_weights(tmp_path, capsys, route):
    """Trial 71b #3: a command refused a file whose first layer reads 2 channels where the model reads 1 with "(a
    command: --model-kwargs in_chans=2; ...)": given in place of the caller's option it dropped checkpoint_path= and
    the arguments that built the file's network, and `info` described the registered weights adapted to 2 channels,
    without a word. The hint is now the command's whole --model-kwargs with in_chans=2, which loads the file."""
    import json
    import shlex
    from safetensors.torch import save_file
    from smpconvnet.cli import main
    from smpconvnet.train.seq_trainer import parse_model_kwargs
    torch.manual_seed(0)
    small = dict(num_blocks=2, hidden_channels=8, n_points=6)
    trained = timm.create_model('smpconv_tcn_gunpoint', in_chans=2, **small).eval()
    file = tmp_path / 'two.safetensors'
    save_file(trained.state_dict(), str(file))
    given = [f'checkpoint_path={file}' if route == 'checkpoint_path' else
             'pretrained_cfg_overlay=' + json.dumps({'file': str(file)})] + [f'{k}={v}' for k, v in small.items()]
    assert main(['info', 'smpconv_tcn_gunpoint', '--model-kwargs', *given]) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert 'in_chans=2' in err
    words = shlex.split(re.search(r'a command: --model-kwargs ([^;)]+)[;)]', err).group(1))
    assert main(['info', 'smpconv_tcn_gunpoint', '--model-kwargs', *words]) == 0, capsys.readouterr().err
    assert str(file) in capsys.readouterr().out
    model = timm.create_model('smpconv_tcn_gunpoint', pretrained=route == 'overlay', **parse_model_kwargs(words)).eval()
    x = torch.randn(2, 2, 150)
    with torch.no_grad():
        assert torch.equal(model(x), trained(x))
    # outside a command (a Python caller) the command-line form names the change alone
    with pytest.raises(ValueError) as e:
        timm.create_model('smpconv_tcn_gunpoint', checkpoint_path=str(file), **small)
    assert 'a command: --model-kwargs in_chans=2;' in str(e.value)


def test_a_pretrained_refusal_names_the_way_to_load_a_file_alone(tmp_path, capsys):
    """Trial 72 #4: timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, checkpoint_path=F, num_blocks=2,
    hidden_channels=8) refused the shipped weights (3 x 32) with the arguments that fit them; given those, F (2 x 8)
    was refused with its own, a loop: timm loads F over the pretrained weights, which load first. The refusal says
    how to load F alone, which works as said."""
    from safetensors.torch import save_file
    small = dict(num_blocks=2, hidden_channels=8)
    trained = timm.create_model('smpconv_tcn_gunpoint', **small).eval()
    file = str(tmp_path / 'w8.safetensors')
    save_file(trained.state_dict(), file)
    with pytest.raises(ValueError, match='pass pretrained=False') as e:
        timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True, checkpoint_path=file, **small)
    assert 'checkpoint_path=' in str(e.value)
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=False, checkpoint_path=file, **small).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(model(x), trained(x))
    # a command's weight file has options of its own: the advice is Python's (trial 72b #2: a timm script that
    # dropped --pretrained on it built a model at random)
    from smpconvnet.cli import main
    assert main(['info', 'smpconv_tcn_gunpoint.aeon', '--model-kwargs', 'num_blocks=2', 'hidden_channels=8']) == 1
    assert 'pretrained=False' not in capsys.readouterr().err
