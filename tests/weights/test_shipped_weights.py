"""The SMP-TCNs trained on UEA/UCR sets and shipped in smpconvnet/pretrained/: registry, preprocessing, offline loading, accuracy."""
import json
import os
import re
import subprocess
import sys

import pytest
import timm

from smpconvnet.data import sequences as seq_data
from smpconvnet.cli import main as cli_main
from smpconvnet.models._pretrained import WEIGHTS_DIR
from smpconvnet.models.seq_zoo import SEQ_ZOO
from smpconvnet.models.smpconv_tcn import whole_architecture
from smpconvnet.train.seq_trainer import evaluate_pretrained

pytest.importorskip('aeon')  # the data sets come from aeon (dev extra)

NAMES = sorted(SEQ_ZOO)


def _folder(name):
    return WEIGHTS_DIR / f'{name}.aeon'


def _config(name):
    return json.loads((_folder(name) / 'config.json').read_text())


@pytest.mark.parametrize('name', NAMES)
def test_registered_preprocessing_is_the_training_one(name):
    """The registered pretrained_cfg, the shipped config.json and the data agree on input, labels and statistics."""
    z = SEQ_ZOO[name]
    cfg = _config(name)
    registered = timm.models.get_pretrained_cfg(f'{name}.aeon')
    pc = cfg['pretrained_cfg']
    assert cfg['architecture'] == name
    assert tuple(registered.mean) == tuple(pc['mean']) == tuple(z['mean'])  # exact: what training used
    assert tuple(registered.std) == tuple(pc['std']) == tuple(z['std'])
    assert list(registered.label_names) == pc['label_names'] == cfg['label_names'] == list(z['label_names'])
    assert tuple(registered.input_size) == tuple(pc['input_size']) == (z['arch']['in_chans'], 1, z['length'])
    registered_args = whole_architecture(z['arch'])  # a card written since records the class defaults too
    for key, value in cfg['model_args'].items():
        assert registered_args[key] == value, \
            f'{name}: trained with {key}={value!r}, registered {registered_args[key]!r}'
    # recomputed from the data: the training split's per-channel statistics and label order
    train = seq_data.load_aeon(z['dataset'], 'train')
    test = seq_data.load_aeon(z['dataset'], 'test', label_names=train.label_names)
    mean, std = seq_data.channel_stats(train)
    assert mean == pytest.approx(list(z['mean']), rel=1e-9, abs=1e-12)
    assert std == pytest.approx(list(z['std']), rel=1e-9)
    assert train.label_names == list(z['label_names'])
    assert max(train.max_length, test.max_length) == z['length']


def test_pretrained_loads_offline_with_an_empty_hub_cache(tmp_path):
    """``timm.create_model(name, pretrained=True)`` in a fresh process with HF_HUB_OFFLINE=1 and an empty HF_HOME
    returns exactly the shipped weights."""
    script = (
        'import sys, json, torch, timm, smpconvnet\n'
        'from safetensors.torch import load_file\n'
        'for name, path in json.loads(sys.argv[1]).items():\n'
        '    sd = timm.create_model(name, pretrained=True).state_dict()\n'
        '    ref = load_file(path)\n'
        '    assert set(sd) == set(ref), name\n'
        '    assert all(torch.equal(sd[k], ref[k]) for k in ref), name\n'
        '    print("OK", name)\n')
    files = {n: str(_folder(n) / 'model.safetensors') for n in NAMES}
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_HOME=str(tmp_path / 'hf'), HF_HUB_CACHE=str(tmp_path / 'hf' / 'hub'))
    r = subprocess.run([sys.executable, '-c', script, json.dumps(files)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == [w for n in NAMES for w in ('OK', n)]
    assert not any((tmp_path / 'hf').rglob('*.safetensors')), 'nothing may come from (or go to) the Hub cache'


def _check_recorded(name, correct, n):
    recorded = _config(name)['results']['test']
    assert n == recorded['n']
    assert abs(correct - recorded['correct']) <= 1, (name, correct, recorded)
    card = (_folder(name) / 'README.md').read_text()
    assert f'{recorded["correct"]}/{recorded["n"]}' in card and f'{recorded["accuracy"]:.4f}' in card


@pytest.mark.parametrize('name', [n for n in NAMES if n != 'smpconv_tcn_japanesevowels'])
def test_shipped_accuracy_on_the_test_split(name):
    """Re-measure the shipped model on the test split: the count recorded in its config and card, within 1 sample."""
    result = evaluate_pretrained(f'{name}.aeon')
    _check_recorded(name, result['correct'], result['n'])


def test_evaluate_seq_command(capsys):
    """The documented command re-measures a shipped model (JapaneseVowels: variable lengths) and prints it."""
    assert cli_main(['evaluate-seq', 'smpconv_tcn_japanesevowels.aeon']) == 0
    out = capsys.readouterr().out
    m = re.search(r'JapaneseVowels \(test split\): accuracy [0-9.]+ \((\d+)/(\d+)\)', out)
    assert m, out
    _check_recorded('smpconv_tcn_japanesevowels', int(m.group(1)), int(m.group(2)))
    # a model without shipped weights: a clear error naming it
    assert cli_main(['evaluate-seq', 'smpconv_tcn_smnist']) == 1
    assert 'smpconv_tcn_smnist' in capsys.readouterr().err


@pytest.mark.parametrize('name', sorted(SEQ_ZOO))
def test_the_cards_commands_build_the_shipped_architecture(name, tmp_path):
    """What `benchmarks/ucr.py --train` runs: the card's train-seq command(s). An ensemble's member commands named the
    registered ensemble, so each "member" trained all five jointly (5x the cost), and their runs could not be combined.
    Each command's model must have the shipped weights' shapes (an ensemble's: its first member's)."""
    from safetensors.torch import load_file
    from smpconvnet.cli import build_parser
    from smpconvnet.train.seq_trainer import parse_model_kwargs
    folder = WEIGHTS_DIR / f'{name}.aeon'
    config = json.loads((folder / 'config.json').read_text())
    commands = config.get('train_commands') or [config['train_command']]
    shipped = load_file(str(folder / 'model.safetensors'))
    if len(commands) > 1:
        shipped = {k[len('members.0.'):]: v for k, v in shipped.items() if k.startswith('members.0.')}
    for command in commands:
        args = build_parser().parse_args(command[1:])  # as train-seq reads it
        model = timm.create_model(args.model, **parse_model_kwargs(args.model_kwargs))
        assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
            k: tuple(v.shape) for k, v in shipped.items()}, command
