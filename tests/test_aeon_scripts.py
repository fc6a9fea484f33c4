"""The model-selection bookkeeping of ``scripts/train_aeon.py`` and ``scripts/package_seq_weights.py``: a k-fold choice
is only made, packaged and stated in a card over the whole grid, the best cross-validated candidate (ties: the first
listed), trained by the final run. Synthetic summaries: no training."""
import importlib.util
import json
import sys

import pytest

from conftest import ROOT


def _script(name):
    spec = importlib.util.spec_from_file_location(f'script_{name}', ROOT / 'scripts' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cv(**scores):
    """A cv entry of 2 folds: candidate -> (correct on fold 0, correct on fold 1), 10 held out per fold."""
    return {'folds': 2, 'candidates': {
        k: {'args': f"--model-kwargs 'variant=\"{k}\"'", 'folds': {str(i): {'correct': c, 'n': 10} for i, c in enumerate(v)},
            'accuracy': sum(v) / (10 * len(v)), 'train_time_s': {str(i): 1.0 for i in range(len(v))}}
        for k, v in scores.items()}}


def test_choice_needs_the_whole_grid_and_breaks_ties_by_order():
    """``kfold_choice`` (smpconvnet.train.seq_trainer), which both scripts use."""
    from smpconvnet.train.seq_trainer import kfold_choice
    assert kfold_choice(_cv(a=(9, 8), b=(9, 9)), ['a', 'b']) == ('b', [])
    assert kfold_choice(_cv(a=(9, 9), b=(9, 9)), ['a', 'b']) == ('a', [])    # a tie: the first listed
    assert kfold_choice(_cv(a=(9, 9), b=(9, 9)), ['b', 'a']) == ('b', [])
    assert kfold_choice(_cv(a=(9, 9), b=(10,)), ['a', 'b']) == (None, ['b'])  # b scored on one fold of two
    assert kfold_choice(_cv(a=(9, 9)), ['a', 'b']) == (None, ['b'])
    assert kfold_choice(_cv(a=(5, 5), old=(10, 10)), ['a']) == ('a', [])      # no longer in the grid: ignored


def test_final_phase_refuses_a_partial_grid_with_a_hint_that_works():
    train_aeon = _script('train_aeon')
    grid = list(train_aeon.DATASETS['GunPoint']['candidates'])
    summary = {'GunPoint': {'cv': _cv(**{grid[0]: (10, 10)})}}
    with pytest.raises(SystemExit, match=f'--phase cv --datasets GunPoint --candidates {" ".join(grid[1:])} before'):
        train_aeon._chosen(summary, 'GunPoint')
    with pytest.raises(SystemExit, match='ACSF1: no candidate chosen yet: run --phase select first'):
        train_aeon._chosen({}, 'ACSF1')
    with pytest.raises(SystemExit, match='GunPoint: no candidate chosen yet: run --phase cv first'):
        train_aeon._chosen({}, 'GunPoint')


def test_cli_rejects_unknown_data_sets_and_candidates(monkeypatch, tmp_path, capsys):
    train_aeon = _script('train_aeon')
    for argv, message in ((['--datasets', 'NoSuchSet'], "invalid choice: 'NoSuchSet'"),
                          (['--datasets', 'GunPoint', '--candidates', 'nosuch'], '--candidates nosuch: not in the grids')):
        monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(tmp_path)] + argv)
        with pytest.raises(SystemExit):
            train_aeon.main()
        assert message in capsys.readouterr().err


def test_every_grid_note_is_in_its_shipped_card():
    """The notes of the grids (what was seen before a grid was set) reach the shipped cards and configs."""
    from smpconvnet.models import WEIGHTS_DIR
    train_aeon = _script('train_aeon')
    for ds, d in train_aeon.DATASETS.items():
        if not d.get('folds'):
            continue
        folder = WEIGHTS_DIR / f"{d['model']}.aeon"
        selection = json.loads((folder / 'config.json').read_text())['model_selection']
        assert selection.get('note') == d.get('note'), ds
        assert list(selection['candidates']) == list(d['candidates']), ds  # the card lists the whole grid
        if d.get('note'):
            assert d['note'] in (folder / 'README.md').read_text(), ds


def test_packager_refuses_a_selection_the_card_could_not_state():
    package = _script('package_seq_weights')
    cv = _cv(a=(9, 8), b=(9, 9))
    cv['chosen'] = 'b'
    package.check_selection('X', cv, "train-seq --epochs 3 --model-kwargs 'variant=\"b\"'")  # consistent
    with pytest.raises(ValueError, match="did not train the chosen candidate 'b'"):
        package.check_selection('X', cv, "train-seq --epochs 3 --model-kwargs 'variant=\"a\"'")
    cv['chosen'] = 'a'
    with pytest.raises(ValueError, match="records 'a' as chosen, but 'b' cross-validated best"):
        package.check_selection('X', cv, "train-seq --model-kwargs 'variant=\"a\"'")
    partial = _cv(a=(9, 9), b=(10,))
    partial['chosen'] = 'a'
    with pytest.raises(ValueError, match=r"candidates \['b'\] were not scored on all 2 folds"):
        package.check_selection('X', partial, "train-seq --model-kwargs 'variant=\"a\"'")
