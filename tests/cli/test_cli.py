import re
import subprocess
import sys
from pathlib import Path

import pytest

from smpconvnet.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _setup_commands():
    text = (ROOT / 'README.md').read_text()
    block = re.search(r'## Set-up\s+```bash\n(.*?)```', text, re.S)
    assert block, 'README.md needs a "## Set-up" section with a bash block'
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _setup_commands()
    assert len(commands) == 2, commands
    assert commands[0].startswith('pip install -e ".[dev]"')
    ci = (ROOT / '.ci' / 'run').read_text().splitlines()
    assert commands[1] in [line.strip() for line in ci], 'CI must run the README test command verbatim'


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == 'command')
    assert 'demo' in sub.choices
    for name in sub.choices:
        with pytest.raises(SystemExit) as e:
            main([name, '--help'])
        assert e.value.code == 0
        assert 'usage: smpconvnet ' + name in capsys.readouterr().out


def test_demo_runs_and_checks_the_deployed_model(capsys):
    from smpconvnet.cli.demo import run_demo
    assert run_demo('smpconvnet_t', pretrained='no', batch_size=3) == 0
    out = capsys.readouterr().out
    assert '0 BatchNorm left' in out and 'OK' in out
    # the two photographs fill a batch of 3: the input line named two images for a batch of three
    assert 'input: china.jpg, flower.jpg, repeated to fill the batch of 3 ((3, 3, 224, 224)' in out, out
    # random weights: class indices, not ImageNet names that would read as predictions
    assert 'top classes of the untrained model (indices, not predictions)' in out
    assert re.search(r'china\.jpg: class \d+ \(0\.\d+\), class \d+', out), out
    m = re.search(r'max relative difference ([0-9.e+-]+)', out)
    assert m and float(m.group(1)) < 1e-4


def test_module_entry_point():
    r = subprocess.run([sys.executable, '-m', 'smpconvnet', '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and 'smpconvnet' in r.stdout


def test_demo_hints_are_this_command_line_s(capsys):
    """An untrained sequence model: which models the demo runs (it suggested evaluate-seq, which fails for it);
    missing image weights: `--pretrained no`, not only the Python keyword; a batch of 0 is refused. The refusal
    comes before any line about the model (its random weights were reported first)."""
    assert main(['demo', 'smpconv_tcn_smnist']) == 1
    out, err = capsys.readouterr()
    assert 'without trained weights' in err and 'smpconvnet list "smpconv_tcn_*.aeon"' in err
    assert 'evaluate-seq' not in err
    assert 'weights:' not in out and 'parameters' not in out, out  # nothing reported of a model it does not run
    assert main(['demo', 'smpconvnet_t', '--batch-size', '0']) == 1
    assert '--batch-size 0: expected at least 1' in capsys.readouterr().err
    # a trained sequence model's folder with --pretrained no: not "without trained weights" (trial 55), where
    # evaluate-seq scores it
    folder = str(ROOT / 'smpconvnet' / 'pretrained' / 'smpconv_tcn_gunpoint.aeon')
    assert main(['demo', folder, '--pretrained', 'no']) == 1
    err = capsys.readouterr().err
    assert 'without trained weights' not in err and f'score this one with `smpconvnet evaluate-seq {folder}`' in err
    # a sequence model scores its whole test split: --batch-size did nothing there (the output said 150 series)
    assert main(['demo', 'smpconv_tcn_gunpoint', '--batch-size', '7']) == 1
    out, err = capsys.readouterr()
    assert ('--batch-size: smpconv_tcn_gunpoint is scored on its whole test split in one batch; leave --batch-size '
            'out') in err and 'weights:' not in out


def test_input_size_says_whether_its_format_or_its_values_are_wrong(capsys):
    from smpconvnet.cli._args import parse_size
    assert parse_size('3,64,64') == (3, 64, 64) and parse_size('1x784') == (1, 784)
    assert parse_size('3 96 96') == (3, 96, 96)  # quoted, one word (trial 75b F4: refused)
    # timm's scripts' form, --input-size 3 224 224 (trial 73b: argparse's "unrecognized arguments: 33 31")
    from smpconvnet.cli import main
    from smpconvnet.cli._args import joined_input_size
    assert joined_input_size(['export', 'm', '--input-size', '3', '64', '64', '-o', 'f']) == \
        ['export', 'm', '--input-size=3,64,64', '-o', 'f']
    # a positional after the comma form stays one (nargs='+' took DST for a size)
    assert joined_input_size(['reparam', 's', '--input-size', '1,200', 'dst']) == \
        ['reparam', 's', '--input-size', '1,200', 'dst']
    # words for timm's scripts are theirs (trial 74b: benchmark.py got --input-size 3,1,150 and exited 2)
    for argv in (['timm', 'benchmark.py', '--', '--input-size', '3', '1', '150'],
                 ['export', 'm', '--', '--input-size', '3', '1', '150']):
        assert joined_input_size(argv) == argv
    assert main(['info', 'smpconv_tcn_gunpoint', '--pretrained', 'no', '--input-size', '1', '100']) == 0
    assert 'at 1x100' in capsys.readouterr().out
    assert main(['info', 'smpconv_tcn_gunpoint', '--pretrained', 'no', '--input-size=1', '120']) == 0
    assert 'at 1x120' in capsys.readouterr().out
    # abbreviated, as argparse allows (trial 75 F3: --input 1 200 got "unrecognized arguments: 200"); X as x
    assert main(['info', 'smpconv_tcn_gunpoint', '--pretrained', 'no', '--input', '1', '140']) == 0
    assert 'at 1x140' in capsys.readouterr().out
    assert main(['info', 'smpconv_tcn_gunpoint', '--pretrained', 'no', '--input-size', '1X130']) == 0
    assert 'at 1x130' in capsys.readouterr().out
    # mistyped values are named (trial 74b: argparse's "unrecognized arguments: 150", or "expected one argument")
    for words, quoted in ((['one', '150'], "got 'one,150'"), (['1.0', '300'], "whole numbers, got '1.0,300'"),
                          (['-1', '300'], '--input-size -1,300: channels and sizes must be at least 1')):
        assert main(['info', 'smpconv_tcn_gunpoint', '--pretrained', 'no', '--input-size'] + words) == 1
        assert quoted in capsys.readouterr().err
    with pytest.raises(ValueError, match='expects C,H,W'):
        parse_size('64')
    # the format right, a value not: it said "expects C,H,W (images) or C,L", which 1,0 is
    with pytest.raises(ValueError, match='--input-size 1,0: channels and sizes must be at least 1'):
        parse_size('1,0')


def test_info_gives_a_tiny_model_s_macs_in_significant_digits(capsys):
    """A tiny model's 0.0005 GMACs printed as 0.000 (trial 75c #5); the registered sizes keep three decimals."""
    from smpconvnet.cli import main
    assert main(['info', 'smpconvnet_t', '--pretrained', 'no', '--model-kwargs', 'layers=[1,1,1,1]',
                 'channels=[8,16,32,64]', '--input-size', '3,32,32']) == 0
    assert re.search(r'GMACs: +0\.000[1-9]\d* at 3x32x32 \(0\.000[1-9]\d* deployed\)', capsys.readouterr().out)
    assert main(['info', 'smpconv_tcn_gunpoint']) == 0
    assert 'GMACs:       0.120 at 1x150 (0.116 deployed)' in capsys.readouterr().out
