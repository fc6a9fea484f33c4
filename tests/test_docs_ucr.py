"""The README's trained-models table is one run of ``benchmarks/ucr.py`` (docs/ucr-cpu.json), rendered by its
``--markdown``; the shipped models' accuracies in it are those recorded with the weights; the script runs."""
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = '<!-- ucr table: python benchmarks/ucr.py --markdown docs/ucr-cpu.json -->', '<!-- end of ucr table -->'


def _ucr():
    spec = importlib.util.spec_from_file_location('ucr_benchmark', ROOT / 'benchmarks' / 'ucr.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_one_runs_report():
    ucr = _ucr()
    report = json.loads((ROOT / 'docs' / 'ucr-cpu.json').read_text())
    assert [row['dataset'] for row in report['rows']] == ucr.DATASETS  # all eight sets, in order
    assert report['seeds'] == [0, 1, 2]
    match = re.search(re.escape(BEGIN) + r'\n(.*?)' + re.escape(END), (ROOT / 'README.md').read_text(), re.S)
    assert match, 'README.md: no table between the ucr markers'
    assert match.group(1).strip('\n') == ucr.markdown_table(report), \
        'README.md: regenerate with python benchmarks/ucr.py --markdown docs/ucr-cpu.json'


CV_BEGIN = '<!-- ucr cv table: python benchmarks/ucr.py --markdown docs/ucr-cv-cpu.json -->'


def test_cv_table_is_one_runs_report_of_the_shipped_cards():
    """docs/sequence-models.md's cross-validation table is one ``--cv`` run over all eight sets, rendered by
    ``--markdown``, and its SMP side is what the shipped cards record now (a card re-packaged after the run, with
    a new choice or grid, fails here until the table is measured again)."""
    ucr = _ucr()
    report = json.loads((ROOT / 'docs' / 'ucr-cv-cpu.json').read_text())
    assert report['kind'] == 'cv' and [row['dataset'] for row in report['rows']] == ucr.DATASETS
    assert report['seeds'] == [0, 1, 2]
    for row in report['rows']:
        assert row['smp'] == ucr.card_selection(row['smp']['model']), row['dataset']
        assert len(row['minirocket']['runs']) == 3 and all(
            len(run['folds']) == row['smp']['folds'] for run in row['minirocket']['runs'])
    match = re.search(re.escape(CV_BEGIN) + r'\n(.*?)' + re.escape(END),
                      (ROOT / 'docs' / 'sequence-models.md').read_text(), re.S)
    assert match, 'docs/sequence-models.md: no table between the ucr cv markers'
    assert match.group(1).strip('\n') == ucr.markdown_cv_table(report), \
        'docs/sequence-models.md: regenerate with python benchmarks/ucr.py --markdown docs/ucr-cv-cpu.json'


def test_report_scores_are_the_shipped_models_recorded_ones():
    """Every shipped model in the report scored what its config.json records (the weights were not changed after
    the run), and every shipped model is in the report."""
    from smpconvnet.models import WEIGHTS_DIR
    ucr = _ucr()
    report = json.loads((ROOT / 'docs' / 'ucr-cpu.json').read_text())
    in_report = {row['dataset']: row['smp'] for row in report['rows'] if row['smp']}
    shipped = ucr.shipped_models()
    assert set(in_report) == set(shipped)
    for dataset, smp in in_report.items():
        assert smp['model'] == shipped[dataset]
        recorded = json.loads((WEIGHTS_DIR / smp['model'] / 'config.json').read_text())['results']['test']
        assert (smp['correct'], smp['n']) == (recorded['correct'], recorded['n'])


def test_script_scores_a_shipped_model_next_to_minirocket(tmp_path, capsys):
    """One set end to end: the shipped JapaneseVowels model scored on its test split (true lengths), MiniRocket fitted
    on the zero-padded series in the same run, the JSON written and rendered."""
    pytest.importorskip('aeon')
    ucr = _ucr()
    out = tmp_path / 'ucr.json'
    assert ucr.main(['--datasets', 'JapaneseVowels', '--seeds', '1', '--json', str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report['rows']
    assert row['smp']['model'] == 'smpconv_tcn_japanesevowels.aeon' and row['smp']['n'] == 370
    assert row['minirocket']['zero_padded']
    assert 0.8 < row['minirocket']['accuracy'] <= 1 and row['minirocket']['runs'][0]['seed'] == 0
    printed = capsys.readouterr().out
    assert ucr.markdown_table(report) in printed and f'wrote {out}' in printed
    # the footer names the command that measured this subset
    assert 'with `python benchmarks/ucr.py --datasets JapaneseVowels --seeds 1`' in ucr.markdown_table(report)


def test_script_errors_name_what_is_wrong(tmp_path, capsys):
    ucr = _ucr()
    bad = tmp_path / 'bad.json'
    bad.write_text('not json')
    with pytest.raises(SystemExit, match=f'--markdown {bad}: not a JSON file'):
        ucr.main(['--markdown', str(bad)])
    with pytest.raises(SystemExit):  # argparse: not one of the eight
        ucr.main(['--datasets', 'NoSuchSet'])
    for content in ('{}', '[1]'):
        bad.write_text(content)
        with pytest.raises(SystemExit, match=f'--markdown {bad}: not a report of this script'):
            ucr.main(['--markdown', str(bad)])
    with pytest.raises(SystemExit, match=f'--markdown {ROOT / "docs" / "bench-cpu.json"}: not a report'):
        ucr.main(['--markdown', str(ROOT / 'docs' / 'bench-cpu.json')])
    with pytest.raises(SystemExit):  # argparse: --seeds must be at least 1
        ucr.main(['--seeds', '0'])
    # checked before anything is measured: options that would be ignored, a report that could not be written
    for argv in (['--output', str(tmp_path)], ['--resume'], ['--markdown', str(bad), '--train', 'GunPoint'],
                 ['--json', str(tmp_path / 'no_such_folder' / 'r.json')], ['--cv', '--train', 'GunPoint'],
                 ['--markdown', str(bad), '--cv'],
                 # --train measures nothing: these were taken, then ignored after hours of training
                 ['--train', 'GunPoint', '--json', str(tmp_path / 'r.json')], ['--train', 'GunPoint', '--seeds', '1'],
                 ['--train', 'GunPoint', '--datasets', 'GunPoint']):
        with pytest.raises(SystemExit) as e:
            ucr.main(argv)
        assert e.value.code == 2, argv
    # an existing report (or a user's file) is replaced only with --force, refused before the measuring
    notes = tmp_path / 'notes.txt'
    notes.write_text('mine')
    for argv, said in ((['--json', str(notes)], f'--json {notes} exists; add --force to replace it'),
                       (['--force'], '--force replaces the --json file: add --json PATH'),
                       (['--json', ''], '--json is empty'), (['--markdown', ''], '--markdown is empty'),
                       (['--json', str(tmp_path), '--force'], f'--json {tmp_path} is a folder')):
        with pytest.raises(SystemExit) as e:
            ucr.main(argv)
        assert e.value.code == 2 and said in capsys.readouterr().err, argv
    assert notes.read_text() == 'mine'


def test_cv_folds_are_the_ones_train_seq_holds_out():
    """``--cv`` scores MiniRocket on exactly the series ``train-seq --cv-folds K --cv-fold k --split-seed 0`` held out
    (the runs the cards record): the folds partition the training split, and each is train-seq's validation set."""
    pytest.importorskip('aeon')
    from smpconvnet.data.sequences import load_aeon, standardize, channel_stats
    from smpconvnet.train.seq_trainer import TrainConfig, load_data
    import torch
    ucr = _ucr()
    name, folds = 'ItalyPowerDemand', 5
    held_out = ucr.cv_folds(name, folds)
    train = load_aeon(name, 'train')
    assert sorted(i for held in held_out for i in held) == list(range(len(train)))
    standardised = standardize(train, *channel_stats(train))
    x, y, padded = ucr._padded_train(name)
    assert not padded  # an equal-length set
    for k, held in enumerate(held_out):
        val = load_data(TrainConfig(dataset=name, cv_folds=folds, cv_fold=k, split_seed=ucr.CV_SPLIT_SEED)).val
        assert torch.equal(val.targets, train.targets[held])
        assert all(torch.equal(a, standardised.sequences[i]) for a, i in zip(val.sequences, held))
        assert list(y[held]) == [train.label_names[t] for t in train.targets[held]]  # the array MiniRocket reads
        # the library keeps float32 copies of aeon's float64 series
        assert np.array_equal(x[held].astype(np.float32), np.stack([s.numpy() for s in train.sequences])[held])


def test_cv_report_puts_the_cards_folds_next_to_minirocket(tmp_path):
    """``--cv`` end to end on one set: the SMP side is the card's record of the chosen candidate, MiniRocket is scored
    on every fold once per seed, the report renders through ``--markdown``."""
    pytest.importorskip('aeon')
    from smpconvnet.models import WEIGHTS_DIR
    ucr = _ucr()
    out = tmp_path / 'cv.json'
    assert ucr.main(['--cv', '--datasets', 'ItalyPowerDemand', '--seeds', '1', '--json', str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report['rows']
    selection = json.loads((WEIGHTS_DIR / 'smpconv_tcn_italypowerdemand.aeon' / 'config.json').read_text())[
        'model_selection']
    chosen = selection['candidates'][selection['chosen']]
    assert row['smp']['chosen'] == selection['chosen'] and row['smp']['accuracy'] == pytest.approx(chosen['accuracy'])
    (run,) = row['minirocket']['runs']
    assert [f['n'] for f in run['folds']] == [chosen['folds'][str(k)]['n'] for k in range(selection['folds'])]
    assert run['correct'] == sum(f['correct'] for f in run['folds']) and 0.8 < run['accuracy'] <= 1
    table = ucr.markdown_cv_table(report)
    assert table.splitlines()[2].startswith(f"| ItalyPowerDemand | {selection['folds']} (")
    assert '`python benchmarks/ucr.py --cv --datasets ItalyPowerDemand --seeds 1`' in table


def test_train_resume_continues_an_interrupted_run(monkeypatch, tmp_path, capsys):
    """``--train NAME --resume`` passes ``--resume`` to train-seq when the folder holds a checkpoint; a refused
    or interrupted run prints the ucr.py command that continues it."""
    pytest.importorskip('aeon')
    ucr = _ucr()
    calls = []
    run = tmp_path / 'run'

    def interrupted(cmd):  # writes a checkpoint, then the user presses Ctrl-C
        calls.append(cmd)
        run.mkdir(exist_ok=True)
        (run / 'checkpoint.pth').write_bytes(b'')
        raise KeyboardInterrupt
    monkeypatch.setattr(ucr.subprocess, 'call', interrupted)
    assert ucr.main(['--train', 'GunPoint', '--output', str(run)]) == 130
    hint = capsys.readouterr().err.strip().splitlines()[-1]
    assert '--resume' not in calls[-1] and hint.endswith(f'--train GunPoint --output {run} --resume')

    def refused(cmd):  # train-seq refuses to replace the run without --resume
        calls.append(cmd)
        return 1
    monkeypatch.setattr(ucr.subprocess, 'call', refused)
    assert ucr.main(['--train', 'GunPoint', '--output', str(run)]) == 1
    assert capsys.readouterr().err.strip().endswith(f'--train GunPoint --output {run} --resume')

    def finishes(cmd):
        calls.append(cmd)
        for f in ('results.json', 'model.safetensors'):
            (run / f).write_text('{}')
        return 0
    monkeypatch.setattr(ucr.subprocess, 'call', finishes)
    import shlex
    argv = shlex.split(hint.split('with: ', 1)[1])[2:]  # the hint, copied: python ucr.py ...
    assert ucr.main(argv) == 0
    assert calls[-1][-1] == '--resume'
    # finished by this command (without --resume): kept next time
    assert ucr.main(['--train', 'GunPoint', '--output', str(run)]) == 0 and len(calls) == 3
    # SIGTERM (a scheduler's stop) is taken as Ctrl-C: the start is recorded and --resume offered (it recorded nothing
    # and said the run was not this --train's)
    import os
    import signal
    sigterm_run = tmp_path / 'sigterm'

    def terminated(cmd):
        calls.append(cmd)
        sigterm_run.mkdir(exist_ok=True)
        (sigterm_run / 'checkpoint.pth').write_bytes(b'')
        os.kill(os.getpid(), signal.SIGTERM)
        return 0  # not reached: the handler raises
    monkeypatch.setattr(ucr.subprocess, 'call', terminated)
    assert ucr.main(['--train', 'GunPoint', '--output', str(sigterm_run)]) == 143
    err = capsys.readouterr().err
    assert 'interrupted; continue the run' in err and err.strip().endswith(
        f'--train GunPoint --output {sigterm_run} --resume')
    assert (sigterm_run / 'started_by.json').is_file()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    # a folder holding a run that --train did not start, or started and was killed (SIGKILL) before recording it: it
    # said to delete the folder, which would lose an interrupted run; --resume continues one of this command (train-seq
    # refuses one of other options, listing them), or another --output
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'checkpoint.pth').write_bytes(b'')
    monkeypatch.setattr(ucr.subprocess, 'call', refused)
    assert ucr.main(['--train', 'GunPoint', '--output', str(other)]) == 1
    err = capsys.readouterr().err
    assert 'holds a run that this --train did not start, or one it started and was killed' in err
    assert f'--train GunPoint --output {other} --resume, or pass another --output' in err and 'delete' not in err


def test_train_reruns_the_cards_command_without_replacing_a_run(monkeypatch, tmp_path):
    """``--train NAME`` runs the ``train_command`` recorded in the shipped model's config.json, into the card's run
    folder unless ``--output`` is given, and without ``--force``: an existing run is never replaced."""
    pytest.importorskip('aeon')
    from smpconvnet.models import WEIGHTS_DIR
    ucr = _ucr()
    calls = []

    def fake_train_seq(cmd):  # leaves the run folder, as train-seq does
        calls.append(cmd)
        os.makedirs(cmd[cmd.index('--output') + 1], exist_ok=True)
        return 0
    monkeypatch.setattr(ucr.subprocess, 'call', fake_train_seq)
    monkeypatch.chdir(tmp_path)  # the recorded folder is relative: runs/ucr/GunPoint_s0
    recorded = json.loads((WEIGHTS_DIR / 'smpconv_tcn_gunpoint.aeon' / 'config.json').read_text())['train_command']
    assert '--force' in recorded
    assert ucr.main(['--train', 'GunPoint']) == 0
    assert calls[-1][1:] == ['-m', 'smpconvnet'] + [a for a in recorded[1:] if a != '--force']
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'run')]) == 0
    command = calls[-1]
    assert '--force' not in command and command[command.index('--output') + 1] == str(tmp_path / 'run')
    # a model folder that records no command (trained outside scripts/train_aeon.py): the card is the reference
    import smpconvnet.models
    weights = tmp_path / 'weights'
    (weights / 'smpconv_tcn_gunpoint.aeon').mkdir(parents=True)
    (weights / 'smpconv_tcn_gunpoint.aeon' / 'config.json').write_text('{}')
    monkeypatch.setattr(smpconvnet.models, 'WEIGHTS_DIR', weights)
    with pytest.raises(SystemExit, match='smpconv_tcn_gunpoint.aeon/config.json records no train_command'):
        ucr.main(['--train', 'GunPoint'])


def test_summary_states_the_issues_criteria():
    """The summary under the table says whether the mean over the equal-length sets reaches MiniRocket's, which sets
    are more than MAX_SHORTFALL below it, and whether each variable-length set is above zero-padded MiniRocket; a
    set where SMP wins is not called a shortfall."""
    ucr = _ucr()

    def row(name, smp, mr, equal=True):
        return {'dataset': name, 'equal_length': equal, 'smp': {'accuracy': smp}, 'minirocket': {'accuracy': mr}}

    behind = ucr.summary({'rows': [row('A', 0.90, 0.95), row('B', 0.99, 0.97), row('V', 0.90, 0.80, False)]})
    assert 'SMP below MiniRocket' in behind[0] and 'largest shortfall -0.0500 (A)' in behind[0]
    assert f'more than {ucr.MAX_SHORTFALL} below MiniRocket: A' in behind[0]
    assert behind[1] == 'V (variable lengths): SMP 0.9000 vs zero-padded MiniRocket 0.8000 (above)'
    ahead = ucr.summary({'rows': [row('A', 0.94, 0.95), row('B', 0.99, 0.97), row('V', 0.8, 0.8, False)]})
    assert 'SMP >= MiniRocket' in ahead[0] and 'largest shortfall -0.0100 (A)' in ahead[0]
    assert f'no set more than {ucr.MAX_SHORTFALL} below MiniRocket' in ahead[0] and ahead[1].endswith('(not above)')
    winning = ucr.summary({'rows': [row('A', 0.96, 0.95), row('B', 0.99, 0.97)]})
    assert 'shortfall' not in winning[0] and 'smallest margin +0.0100, A' in winning[0]


def test_train_runs_every_member_of_an_ensemble_and_combines_them(monkeypatch, tmp_path):
    """An ensemble's config records one command per member (``train_commands``): ``--train`` runs each into its own
    folder and writes the combined ensemble folder, which loads as the ensemble of those runs."""
    import timm
    import torch
    from smpconvnet.weights.folders import write_model_folder
    ucr = _ucr()
    commands = [['smpconvnet', 'train-seq', '--model', 'smpconv_tcn_gunpoint', '--seed', str(i), '--output',
                 f'runs/ucr/GunPoint_s{i}', '--force'] for i in range(2)]
    monkeypatch.setattr(ucr, 'train_commands', lambda dataset: [list(c) for c in commands])
    calls = []

    trainings = iter(range(100))

    def fake_train_seq(cmd):  # what train-seq leaves: a model folder (other weights each time)
        calls.append(cmd)
        torch.manual_seed(next(trainings))
        model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4)
        folder = cmd[cmd.index('--output') + 1]
        write_model_folder(model, folder, card='', model_args=dict(num_blocks=1, hidden_channels=4))
        with open(os.path.join(folder, 'results.json'), 'w') as f:
            f.write('{}')
        return 0
    monkeypatch.setattr(ucr.subprocess, 'call', fake_train_seq)
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'out')]) == 0
    assert [c[c.index('--output') + 1] for c in calls] == [str(tmp_path / 'out' / f'member{i}') for i in range(2)]
    assert all('--force' not in c and c[c.index('--seed') + 1] == str(i) for i, c in enumerate(calls))
    model = timm.create_model(f'local-dir:{tmp_path / "out" / "ensemble"}', pretrained=True)
    assert len(model.members) == 2
    # a failing member stops the rest and nothing is combined
    monkeypatch.setattr(ucr.subprocess, 'call', lambda cmd: 3)
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'fail')]) == 3
    assert not (tmp_path / 'fail' / 'ensemble').exists()

    # interrupted after the first member: run again, the finished member is kept and only the second is trained
    def second_fails(cmd):
        return fake_train_seq(cmd) if cmd[cmd.index('--seed') + 1] == '0' else 3
    monkeypatch.setattr(ucr.subprocess, 'call', second_fails)
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'resume')]) == 3
    calls.clear()
    monkeypatch.setattr(ucr.subprocess, 'call', fake_train_seq)
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'resume')]) == 0
    assert [c[c.index('--seed') + 1] for c in calls] == ['1']
    assert len(timm.create_model(f'local-dir:{tmp_path / "resume" / "ensemble"}', pretrained=True).members) == 2
    # and once more: nothing trained, the combined folder kept
    calls.clear()
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'resume')]) == 0 and calls == []
    # a member deleted and trained again: the ensemble is combined again from the new run
    import shutil
    from safetensors.torch import load_file
    old = load_file(tmp_path / 'resume' / 'ensemble' / 'model.safetensors')
    shutil.rmtree(tmp_path / 'resume' / 'member1')
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'resume')]) == 0
    assert [c[c.index('--seed') + 1] for c in calls] == ['1']
    new = load_file(tmp_path / 'resume' / 'ensemble' / 'model.safetensors')
    member1 = load_file(tmp_path / 'resume' / 'member1' / 'model.safetensors')
    assert all(torch.equal(new[f'members.1.{k}'], v) for k, v in member1.items())
    assert any(not torch.equal(new[k], old[k]) for k in new if k.startswith('members.1.'))
    # a finished run that --train did not make with this command (another data set, other epochs) is not kept:
    # train-seq is called and decides (it refuses to replace a run without --force)
    calls.clear()
    (tmp_path / 'resume' / 'member0' / ucr.TRAINED_BY).write_text(json.dumps(['smpconvnet', 'train-seq', '--x']))
    monkeypatch.setattr(ucr.subprocess, 'call', lambda cmd: calls.append(cmd) or 2)
    assert ucr.main(['--train', 'GunPoint', '--output', str(tmp_path / 'resume')]) == 2
    assert [c[c.index('--seed') + 1] for c in calls] == ['0']
