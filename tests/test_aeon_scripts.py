"""The model-selection bookkeeping of ``scripts/train_aeon.py`` and ``scripts/package_seq_weights.py``: a k-fold choice
is only made, packaged and stated in a card over the whole grid, the best cross-validated candidate (ties: the first
listed), trained by the final run. Synthetic summaries: no training."""
import importlib.util
import json
import re
import shlex
import sys

import pytest
import torch

from conftest import ROOT


def _script(name):
    spec = importlib.util.spec_from_file_location(f'script_{name}', ROOT / 'scripts' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ended(jobs, on_done, rc):
    # what a stand-in for train_aeon._run_all returns, each run's end reported as the real one reports it
    for cmd, log in jobs:
        if on_done is not None:
            on_done(cmd, log, rc)
    return [(rc, 1.0)] * len(jobs)


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


def _check(cv, **scores):
    """``cv`` with a repeated check on split seeds 1 and 2: candidate -> (correct on split seed 1's two folds, then
    split seed 2's), 10 held out per fold."""
    cv['repeated'] = {'split_seeds': [1, 2], 'candidates': {
        k: {'args': cv['candidates'][k]['args'], 'splits': {
            str(s): {'folds': {str(i): {'correct': c, 'n': 10} for i, c in enumerate(v[2 * (s - 1):2 * s])},
                     'train_time_s': {str(i): 1.0 for i in range(len(v[2 * (s - 1):2 * s]))}} for s in (1, 2)}}
        for k, v in scores.items()}}
    return cv


def test_repeated_check_breaks_a_tie_of_split_seed_0():
    """The repeated check is a tie-break: the candidates tied for the most on split seed 0 are ranked by every cut
    (split seed 0's included), ties to the first listed; every tied candidate must be checked, by the arguments of
    its split-seed-0 record; a lead on split seed 0 is not overturned; no choice while a tied candidate is unchecked."""
    from smpconvnet.train.seq_trainer import kfold_choice, repeated_accuracy, tied_for_best
    # a and b tie on split seed 0 (a by order); b holds out more over the other cuts
    cv = _check(_cv(a=(9, 9), b=(9, 9), c=(8, 8)), a=(8, 8, 8, 8), b=(9, 9, 8, 8))
    assert tied_for_best(cv, ['a', 'b', 'c']) == ['a', 'b']
    assert kfold_choice(cv, ['a', 'b', 'c']) == ('b', [])
    assert repeated_accuracy(cv, 'b') == pytest.approx((18 + 34) / 60)
    # a tie over all cuts: the first listed
    tie = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 8, 8, 7))
    assert kfold_choice(tie, ['a', 'b']) == ('a', []) and kfold_choice(tie, ['b', 'a']) == ('b', [])
    # a lead on split seed 0 stands, whatever the check says of a candidate behind it
    assert kfold_choice(_check(_cv(a=(9, 9), b=(8, 9)), a=(5, 5, 5, 5), b=(10, 10, 10, 10)), ['a', 'b']) == ('a', [])
    # a later round's candidate leads alone: the check does not apply
    assert kfold_choice(_check(_cv(a=(9, 9), b=(9, 9), c=(10, 10)), a=(8, 8, 8, 8), b=(10, 10, 10, 10)),
                        ['a', 'b', 'c']) == ('c', [])
    # a tied candidate left out of the check, or scored on part of it: no choice, it is missing
    assert kfold_choice(_check(_cv(a=(9, 9), b=(9, 9), c=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9, 9)),
                        ['a', 'b', 'c']) == (None, ['c'])
    part = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9))
    assert kfold_choice(part, ['a', 'b']) == (None, ['b'])
    # checked by other arguments than its split-seed-0 record (a recipe edited since): not this candidate's check
    other = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9, 9))
    other['repeated']['candidates']['b']['args'] += ' --epochs 2'
    assert kfold_choice(other, ['a', 'b']) == (None, ['b'])
    # a record that does not say which arguments made it is no candidate's, even beside another without any: refused
    # (repeated_scored alone, which the check does not guard, counts it as unscored)
    from smpconvnet.train.seq_trainer import repeated_scored
    for value in (None, 3, ['--epochs', '2']):
        unnamed = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9, 9))
        for record in (unnamed['repeated']['candidates']['b'], unnamed['candidates']['b']):
            record['args'] = value
        assert not repeated_scored(unnamed, 'b')
        with pytest.raises(ValueError, match=r"candidate b: expected the candidate's train-seq arguments as a string"):
            kfold_choice(unnamed, ['a', 'b'])
    # only the check's own split seeds count (a record of another cut, made by hand, is not part of it)
    extra = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(8, 8, 8, 7))
    extra['repeated']['candidates']['b']['splits']['3'] = {'folds': {'0': {'correct': 10, 'n': 10}}}
    assert kfold_choice(extra, ['a', 'b']) == ('a', []) and repeated_accuracy(extra, 'b') == pytest.approx(49 / 60)
    # candidates recorded by the check but no longer in the grid are ignored
    assert kfold_choice(_check(_cv(a=(9, 9), old=(9, 9)), a=(8, 8, 8, 8), old=(10, 10, 10, 10)), ['a']) == ('a', [])


def test_hand_made_records_are_checked_fold_by_fold():
    """Records edited by hand: a fold missing leaves the candidate unscored (missing); a fold key outside 0..K-1 (of
    the grid's cut or of a check's split seed), malformed results (no predictions, more correct than held out,
    counts that are not integers, repeated or zero split seeds), records without folds or arguments, an empty grid
    or a candidate with no predictions at all raise errors that name the record (a fold outside 0..K-1 had left the
    candidate unscored, and the cv phase's hint to score it again could not remove it)."""
    from smpconvnet.train.seq_trainer import folds_scored, kfold_choice, pooled_accuracy
    partial = _cv(a=(9, 9), b=(9, 8))
    del partial['candidates']['b']['folds']['1']
    assert not folds_scored(partial['candidates']['b'], 2) and folds_scored(partial['candidates']['a'], 2)
    assert kfold_choice(partial, ['a', 'b']) == (None, ['b'])
    renamed = _cv(a=(9, 9), b=(9, 8))
    renamed['candidates']['b']['folds']['7'] = renamed['candidates']['b']['folds'].pop('1')
    assert not folds_scored(renamed['candidates']['b'], 2)
    with pytest.raises(ValueError, match=r"candidate b, fold '7': not a fold of this 2-fold cross-validation"):
        kfold_choice(renamed, ['a', 'b'])
    for bad in ({'correct': 0, 'n': 0}, {'correct': 50, 'n': 10}, {'correct': '9', 'n': 10}, {'correct': -1, 'n': 10},
                {'correct': 9.0, 'n': 10}, {'n': 10}):
        broken = _cv(a=(9, 9), b=(9, 8))
        broken['candidates']['b']['folds']['1'] = bad
        with pytest.raises(ValueError, match=r"candidate b, fold '1': expected .*0 <= c <= n and n >= 1"):
            kfold_choice(broken, ['a', 'b'])
    # a repeated split seed would count its cut twice (and flip this choice to a); 0 is the grid's own cut
    for seeds in ([1, 1, 2], [1, '1', 2], [0, 1, 2], []):
        twice = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 9, 7, 8), b=(8, 8, 8, 9))
        assert kfold_choice(twice, ['a', 'b']) == ('b', [])
        twice['repeated']['split_seeds'] = seeds
        with pytest.raises(ValueError, match='distinct integers >= 1'):
            kfold_choice(twice, ['a', 'b'])
    # other fold sizes than the other candidates' (130 of 130 would win: not the same folds) and records of other
    # shapes: errors that name them, not Python's
    def fold(path, value):
        def edit(cv):
            record = cv
            for key in path[:-1]:
                record = record[key]
            record[path[-1]] = value
        return edit
    check_b = ['repeated', 'candidates', 'b', 'splits']
    for edit, message in ((fold(check_b + ['2', 'folds', '0'], {'correct': 11, 'n': 10}),
                           "repeated check of candidate b, split seed 2, fold '0'"),
                          (fold(['candidates', 'b', 'folds', '1'], {'correct': 130, 'n': 130}),
                           'candidate b, fold 1: 130 held out, but candidate a held out 10'),
                          (fold(check_b + ['1', 'folds', '1'], {'correct': 130, 'n': 130}),
                           'split seed 1, fold 1: 130 held out'),
                          (lambda cv: cv['candidates'].__setitem__('b', None), 'candidate b: expected a dict'),
                          (lambda cv: cv.__setitem__('repeated', 'x'), 'the repeated check: expected a dict'),
                          (lambda cv: cv['repeated']['candidates']['b'].pop('splits'),
                           'repeated check of candidate b: expected'),
                          (lambda cv: cv['repeated']['candidates'].__setitem__('b', []),
                           'repeated check of candidate b: expected'),
                          (lambda cv: cv['repeated']['candidates']['b'].__setitem__('splits', 'x'),
                           'repeated check of candidate b: expected a dict'),
                          (lambda cv: cv['candidates']['b']['folds'].__setitem__(1, {'correct': 9, 'n': 10}),
                           'expected a string key')):
        shaped = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9, 9))
        edit(shaped)
        with pytest.raises(ValueError, match=message):
            kfold_choice(shaped, ['a', 'b'])
    for cv, grid in ((None, ['a']), (_cv(a=(9, 9)), 'a'), (_cv(a=(9, 9)), [1])):
        with pytest.raises(ValueError, match='cv records: expected a dict|grid must be a sequence of candidate names'):
            kfold_choice(cv, grid)
    foreign = _check(_cv(a=(9, 9), b=(9, 9)), a=(8, 8, 8, 8), b=(9, 9, 9, 9))
    folds = foreign['repeated']['candidates']['b']['splits']['2']['folds']
    folds['5'] = folds.pop('1')
    with pytest.raises(ValueError, match=r"repeated check of candidate b, split seed 2, fold '5': not a fold"):
        kfold_choice(foreign, ['a', 'b'])
    without_folds = _cv(a=(9, 9), b=(9, 9))
    del without_folds['candidates']['b']['folds']
    with pytest.raises(ValueError, match=re.escape("candidate b: expected a dict under 'folds', found only the keys "
                                                   "['accuracy', 'args', 'train_time_s']")):
        kfold_choice(without_folds, ['a', 'b'])
    # what was found is named, not the whole record (a summary's cv record quoted every candidate's folds)
    without_candidates = {'folds': 2, 'grid': {'a': 'x' * 500}}
    with pytest.raises(ValueError) as e:
        kfold_choice(without_candidates, ['a'])
    assert str(e.value) == "cv records: expected a dict under 'candidates', found only the keys ['folds', 'grid']"
    with pytest.raises(ValueError) as e:
        kfold_choice({'folds': 2, 'candidates': ['x' * 500]}, ['a'])
    assert "cv records: expected a dict under 'candidates', got ['xxx" in str(e.value) and len(str(e.value)) < 120
    with pytest.raises(ValueError, match='the grid is empty'):
        kfold_choice(_cv(a=(9, 9)), [])
    with pytest.raises(ValueError, match='hold no held-out predictions'):
        pooled_accuracy({'folds': {'0': {'correct': 0, 'n': 0}}})


def test_a_redefined_variant_does_not_change_what_earlier_candidates_build(monkeypatch):
    """ArrowHead's and ACSF1's variants were redefined to their chosen centred models: the cv runs of the grid's
    candidates build the architecture the grid was set on (from another registered variant, the network equal to the
    grid's), candidates that set the redefined arguments themselves are unchanged, and a final run refuses a
    registered variant that builds another network than the chosen candidate was cross-validated as."""
    import timm
    from smpconvnet.models.smpconv_tcn import whole_architecture
    train_aeon = _script('train_aeon')
    for ds in ('ArrowHead', 'ACSF1'):
        d = train_aeon.DATASETS[ds]
        model, base = train_aeon._grid_base(ds)
        assert model == 'smpconv_tcn_gunpoint' and base
        built = timm.create_model(model, in_chans=1, num_classes=d['grid_arch']['num_classes'], **base)
        assert built.arch_args == whole_architecture(d['grid_arch']), ds
    cmd = train_aeon._command('ArrowHead', 'last_e200', 'R', 0, 'cpu', [])
    assert cmd[cmd.index('--model') + 1] == 'smpconv_tcn_gunpoint'
    kwargs = cmd[cmd.index('--model-kwargs') + 1:cmd.index('--epochs')]
    assert kwargs == ['global_pool="last"', 'init_radius=0.008']  # the candidate's pool, the grid's radius
    chosen = train_aeon._command('ArrowHead', 'same_k33_shift_b4_e1500_diff', 'R', 0, 'cpu', [], final=True)
    assert chosen[chosen.index('--model') + 1] == 'smpconv_tcn_arrowhead'
    assert chosen[6:] == train_aeon._command('ArrowHead', 'same_k33_shift_b4_e1500_diff', 'R', 0, 'cpu', [])[6:]
    with pytest.raises(SystemExit, match=r'ArrowHead: smpconv_tcn_arrowhead as registered builds another architecture '
                                         r'than the chosen candidate last_e200 was cross-validated as \(it needs '
                                         r'init_radius=0.008, kernel_length=None, causal=True, first_difference=False\): '
                                         r'redefine'):
        train_aeon._command('ArrowHead', 'last_e200', 'R', 0, 'cpu', [], final=True)
    # the variant's first difference (the first-difference round's choice) is no argument of the candidate before it
    with pytest.raises(SystemExit, match=r'same_k33_shift_b4_e1500 was cross-validated as \(it needs '
                                         r'first_difference=False\)'):
        train_aeon._command('ArrowHead', 'same_k33_shift_b4_e1500', 'R', 0, 'cpu', [], final=True)
    # a set whose variant is the grid's: its own name, nothing added
    assert train_aeon._grid_base('GunPoint') == ('smpconv_tcn_gunpoint', {})
    # an architecture no registered variant builds without a None argument (timm drops those): refused
    monkeypatch.setitem(train_aeon.DATASETS, 'ArrowHead', dict(train_aeon.DATASETS['ArrowHead'],
                                                              grid_model='smpconv_tcn_osuleaf'))
    with pytest.raises(SystemExit, match='no registered model builds the architecture of its grid'):
        train_aeon._grid_base('ArrowHead')


def test_final_phase_refuses_a_partial_grid_with_a_hint_that_works(tmp_path):
    """The hint is a whole command, quoted, with this interpreter and script (works from any folder) and the run's
    device and extra arguments; run as printed it schedules exactly the missing candidates."""
    import argparse
    train_aeon = _script('train_aeon')
    grid = list(train_aeon.DATASETS['GunPoint']['candidates'])
    summary = {'GunPoint': {'cv': _cv(**{grid[0]: (10, 10)})}}
    args = argparse.Namespace(out='runs/my ucr', device='cuda', extra=['--epochs', '1'])
    # a record made by other arguments (here, without this --extra) is not this command's: no choice among them
    with pytest.raises(SystemExit, match=f'GunPoint: candidates {grid[0]} were scored by other arguments'):
        train_aeon._chosen(summary, 'GunPoint', args)
    summary['GunPoint']['cv']['candidates'][grid[0]]['args'] = shlex.join(
        train_aeon._candidate_args('GunPoint', grid[0]) + args.extra)
    with pytest.raises(SystemExit) as e:
        train_aeon._chosen(summary, 'GunPoint', args)
    hint = str(e.value).split('folds: run ', 1)[1].rsplit(' before --phase final', 1)[0]
    assert shlex.split(hint) == [sys.executable, str(ROOT / 'scripts' / 'train_aeon.py'), '--out', 'runs/my ucr',
                                 '--phase', 'cv', '--datasets', 'GunPoint', '--candidates', *grid[1:],
                                 '--keep-finished', '--device', 'cuda', '--extra', '--epochs', '1']
    with pytest.raises(SystemExit) as e:
        train_aeon._chosen({}, 'GunPoint', args)
    assert str(e.value).startswith("GunPoint: no candidate chosen yet: run ")
    assert shlex.split(str(e.value).split(' run ', 1)[1].rsplit(' first', 1)[0])[2:9] == [
        '--out', 'runs/my ucr', '--phase', 'cv', '--datasets', 'GunPoint', '--device']


def test_cli_rejects_unknown_data_sets_and_candidates(monkeypatch, tmp_path, capsys):
    train_aeon = _script('train_aeon')
    for argv, message in ((['--datasets', 'NoSuchSet'], "invalid choice: 'NoSuchSet'"),
                          (['--datasets', 'GunPoint', '--candidates', 'nosuch'], '--candidates nosuch: not in the grids'),
                          (['--datasets'], '--datasets needs at least one name'),
                          (['--datasets', 'GunPoint', '--candidates'], '--candidates needs at least one name'),
                          (['--datasets', 'GunPoint', '--phase', 'final', '--candidates', 'avg'],
                           '--candidates chooses what the cv phase trains; --phase final trains the candidate'),
                          (['--jobs', '0'], '--jobs and --seeds must be at least 1'),
                          (['--seeds', '0'], '--jobs and --seeds must be at least 1'),
                          (['--device', 'cuda'], '--device cuda: torch sees no CUDA device here')):
        monkeypatch.setattr('torch.cuda.is_available', lambda: False)
        monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(tmp_path)] + argv)
        with pytest.raises(SystemExit):
            train_aeon.main()
        assert message in capsys.readouterr().err


def test_a_candidates_epochs_replace_the_sets():
    """A candidate with its own ``--epochs`` (a longer schedule) trains with that value alone: the set's is dropped,
    so the command in its card says one number; the other candidates keep the set's."""
    train_aeon = _script('train_aeon')
    long = train_aeon._command('ArrowHead', 'last_e200', 'o', 0, 'cpu', [])
    assert long.count('--epochs') == 1 and long[long.index('--epochs') + 1] == '200'
    assert long[long.index('--batch-size') + 1] == '8'
    plain = train_aeon._command('ArrowHead', 'last', 'o', 0, 'cpu', [])
    assert plain.count('--epochs') == 1 and plain[plain.index('--epochs') + 1] == '100'
    assert train_aeon._without(['--epochs', '1', '--lr', '2', '--epochs', '3'], {'--epochs'}) == ['--lr', '2']


def test_every_grid_note_is_in_its_shipped_card():
    """The notes of the grids (what was seen before a grid was set, and before a repeated check) reach the shipped
    cards and configs, and each card's recorded choice is the protocol's over its records."""
    from smpconvnet.models import WEIGHTS_DIR
    from smpconvnet.train.seq_trainer import kfold_choice
    train_aeon = _script('train_aeon')
    for ds, d in train_aeon.DATASETS.items():
        folder = WEIGHTS_DIR / f"{d['model']}.aeon"
        selection = json.loads((folder / 'config.json').read_text())['model_selection']
        assert selection.get('note') == d.get('note'), ds
        assert list(selection['candidates']) == list(d['candidates']), ds  # the card lists the whole grid
        assert kfold_choice(selection, list(d['candidates'])) == (selection['chosen'], []), ds
        card = (folder / 'README.md').read_text()
        if d.get('note'):
            assert d['note'] in card, ds
        assert selection.get('repeated', {}).get('note') == d.get('repeated_note'), ds
        if d.get('repeated_note'):
            assert d['repeated_note'] in card and '### Repeated check' in card, ds


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
    # a hand-edited summary: the library's record checks (a KeyError before), named by file and data set in main
    with pytest.raises(ValueError, match="^cv records: expected a dict under 'candidates', found only the keys"):
        package.check_selection('X', {'folds': 2}, 'train-seq')
    # a member run of a registered ensemble ends with num_members=1 (ACSF1's final was refused: "did not train")
    cv['chosen'] = 'b'
    package.check_selection('X', cv, "train-seq --model-kwargs 'variant=\"b\"' --model-kwargs num_members=1")
    with pytest.raises(ValueError, match="did not train the chosen candidate 'b'"):
        package.check_selection('X', cv, "train-seq --model-kwargs 'variant=\"a\"' --model-kwargs num_members=1")
    # an ensemble's record without its base (a raw KeyError writing the card) or with a count that is no integer (it
    # blamed the registered variant's num_members)
    for edit, found in ((dict(members=2), 'members=2, ensemble_of=None'),
                        (dict(members='five', ensemble_of='a'), "members='five', ensemble_of='a'"),
                        (dict(members=1, ensemble_of='a'), "members=1, ensemble_of='a'")):
        bad = json.loads(json.dumps(cv))
        bad['candidates']['b'].update(edit)
        with pytest.raises(ValueError, match=re.escape(f"candidate b: an ensemble's record needs its number of seeds "
                                                       f"(an integer >= 2) under 'members' and its base candidate's "
                                                       f"name (a string) under 'ensemble_of', got {found}")):
            package.check_selection('X', bad, "train-seq --model-kwargs 'variant=\"b\"'")
    # a base that is no other candidate's record (a trial's 'nope', or the ensemble itself) went into the card
    for base in ('nope', 'b'):
        bad = json.loads(json.dumps(cv))
        bad['candidates']['b'].update(members=2, ensemble_of=base)
        with pytest.raises(ValueError, match=re.escape(f"candidate b: ensemble_of={base!r} names no other candidate "
                                                       "of the cv records (they have: a)")):
            package.check_selection('X', bad, "train-seq --model-kwargs 'variant=\"b\"'")
    good = json.loads(json.dumps(cv))
    good['candidates']['b'].update(members=2, ensemble_of='a')
    package.check_selection('X', good, "train-seq --model-kwargs 'variant=\"b\"'")


def test_num_members_1_goes_only_to_commands_that_build_a_registered_ensemble(monkeypatch):
    """A cv run on the grid's architecture (grid_model) builds no ensemble: its command had got num_members=1 once
    the set's variant became one, so --keep-finished trained its finished runs again (ACSF1). A final run of a
    registered ensemble builds one member: num_members=1."""
    from smpconvnet.models import seq_zoo
    train_aeon = _script('train_aeon')
    entry = seq_zoo.SEQ_ZOO['smpconv_tcn_acsf1']
    monkeypatch.setitem(entry, 'arch', dict(entry['arch'], num_members=5))
    cv = train_aeon._command('ACSF1', 'same_k65_shift_ema', 'runs/x', 0, 'cpu', [])
    assert cv[cv.index('--model') + 1] == 'smpconv_tcn_gunpoint' and 'num_members=1' not in cv
    final = train_aeon._command('ACSF1', 'same_k65_shift_ema', 'runs/x', 0, 'cpu', [], final=True)
    assert final[final.index('--model') + 1] == 'smpconv_tcn_acsf1' and final[-2:] == ['--model-kwargs', 'num_members=1']
    monkeypatch.setitem(entry, 'arch', {k: v for k, v in entry['arch'].items() if k != 'num_members'})
    assert 'num_members=1' not in train_aeon._command('ACSF1', 'same_k65_shift_ema', 'runs/x', 0, 'cpu', [], final=True)


def test_ensemble_candidate_scores_mean_probabilities(monkeypatch):
    """An ensemble candidate's held-out count is that of its members' mean class probabilities (not a vote, not
    mean logits), over members that held out the same samples; its runs: the base's seed 0, then suffixed seeds."""
    import torch
    train_aeon = _script('train_aeon')
    targets = torch.tensor([0, 1, 1])
    # sample 0: mean probability and vote right (0), mean logits wrong; sample 1: mean probability and mean logits
    # right (1), vote wrong; sample 2: all wrong. Mean probabilities: 2/3, a vote or mean logits: 1/3
    logits = {'a': torch.tensor([[0., 9.], [0., 9.], [1., 0.]]), 'b': torch.tensor([[3., 0.], [.5, 0.], [1., 0.]]),
              'c': torch.tensor([[3., 0.], [.5, 0.], [0., 1.]])}
    monkeypatch.setattr(train_aeon, 'heldout_predictions', lambda run: (logits[run], targets))
    assert train_aeon._ensemble_correct(['a', 'b', 'c']) == (2, 3)
    assert train_aeon._ensemble_correct(['b']) == (1, 3)
    monkeypatch.setattr(train_aeon, 'heldout_predictions', lambda run: (logits[run], targets[:2] if run == 'b'
                                                                          else targets))
    with pytest.raises(SystemExit, match='did not hold out the same samples'):
        train_aeon._ensemble_correct(['a', 'b'])
    for ds, d in train_aeon.DATASETS.items():
        for cand, spec in d['candidates'].items():
            if isinstance(spec, train_aeon.Ensemble):
                assert spec.base in d['candidates'] and spec.members > 1, (ds, cand)
                assert train_aeon._candidate_args(ds, cand) == d['candidates'][spec.base]
                runs = [train_aeon._cv_run(ROOT, ds, cand, 2, s).name for s in range(spec.members)]
                assert runs[:2] == [f'{ds}_{spec.base}_f2', f'{ds}_{spec.base}_f2_s1'], runs


def test_cv_phase_with_an_ensemble_candidate(monkeypatch, tmp_path):
    """Phase cv trains seeds 1.. of the base on every fold for an ensemble candidate (seed 0: the base's run), scores
    it by mean probabilities, counts every run's CPU time once, and --keep-finished trains nothing twice."""
    import torch
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2,
        candidates={'a': ['--model-kwargs', 'x=1'], 'a_x3': train_aeon.Ensemble('a', 3)}))
    trained = []

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            run = log.parent
            trained.append(run.name)
            (run / 'results.json').write_text(json.dumps({'val': {'correct': 6, 'n': 10}, 'train_time_s': 2.0}))
        return _ended(jobs, on_done, 0)
    # held-out logits per run: seed 0 alone gets 6 of 10 right; the three members together 8
    targets = torch.tensor([0] * 10)

    def fake_heldout(run):
        seed = int(run.name.rsplit('_s', 1)[1]) if '_s' in run.name else 0
        right = {0: [1] * 6 + [0] * 4, 1: [0] * 6 + [1] * 4, 2: [1] * 4 + [0] * 2 + [1] * 4}[seed]
        return torch.tensor([[2., 0.] if r else [0., 1.] for r in right]), targets
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    monkeypatch.setattr(train_aeon, 'heldout_predictions', fake_heldout)
    argv = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'cv']
    monkeypatch.setattr(sys, 'argv', argv)
    train_aeon.main()
    assert sorted(trained) == sorted([f'GunPoint_a_f{f}' for f in range(2)]
                                     + [f'GunPoint_a_f{f}_s{s}' for f in range(2) for s in (1, 2)])
    cv = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
    ens = cv['candidates']['a_x3']
    assert ens['folds'] == {'0': {'correct': 8, 'n': 10}, '1': {'correct': 8, 'n': 10}}
    assert ens['members'] == 3 and ens['ensemble_of'] == 'a' and ens['args'] == '--model-kwargs x=1'
    assert ens['train_time_s'] == {'0': 6.0, '1': 6.0} and cv['cpu_time_s'] == 12.0  # 6 runs of 2 s, once each
    assert cv['chosen'] == 'a_x3'
    trained.clear()
    monkeypatch.setattr(sys, 'argv', argv + ['--keep-finished'])
    train_aeon.main()
    assert trained == []

    # only the ensemble asked for, on a fresh folder: its seed-0 runs (the base's) are trained too and recorded as
    # the base's results, so the grid is complete; asked for again, the base's finished runs are not retrained
    fresh = tmp_path / 'fresh'
    monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(fresh), '--datasets', 'GunPoint', '--phase', 'cv',
                                      '--candidates', 'a_x3'])
    train_aeon.main()
    assert sorted(trained) == sorted([f'GunPoint_a_f{f}' for f in range(2)]
                                     + [f'GunPoint_a_f{f}_s{s}' for f in range(2) for s in (1, 2)])
    cv = json.loads((fresh / 'summary.json').read_text())['GunPoint']['cv']
    assert cv['candidates']['a']['folds'] == {'0': {'correct': 6, 'n': 10}, '1': {'correct': 6, 'n': 10}}
    assert cv['candidates']['a_x3']['folds']['1'] == {'correct': 8, 'n': 10}
    assert cv['chosen'] == 'a_x3' and cv['cpu_time_s'] == 12.0
    trained.clear()
    train_aeon.main()
    assert sorted(trained) == sorted(f'GunPoint_a_f{f}_s{s}' for f in range(2) for s in (1, 2))


def test_a_run_keeps_what_another_wrote_of_other_sets_meanwhile(monkeypatch, tmp_path):
    """Two runs of the script on different sets at once: each writes its own sets' records into the summary as it is
    when it ends. A cross-validation of one set, started before a final run of another had finished, wrote the
    summary it had read at its start and lost that final run's record."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2, candidates={'a': ['--model-kwargs', 'x=1']}))
    other = {'cv': {'folds': 3, 'candidates': {}}, 'final': {'test_accuracy': {'0': 0.96}, 'command': 'written meanwhile'}}

    def fake_run_all(jobs, n_jobs, on_done=None):  # the other run finishes while this one trains
        path = tmp_path / 'summary.json'
        written = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**written, 'OSULeaf': other}))
        for cmd, log in jobs:
            (log.parent / 'results.json').write_text(json.dumps({'val': {'correct': 6, 'n': 10}, 'train_time_s': 2.}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase',
                                      'cv'])
    train_aeon.main()
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['OSULeaf'] == other and summary['GunPoint']['cv']['chosen'] == 'a'


def test_repeated_check_runs_on_further_split_seeds_and_moves_the_choice(monkeypatch, tmp_path, capsys):
    """``--phase cv --split-seeds 1 2 --candidates a b``: the candidates run on those cuts' folds (train-seq
    --split-seed), recorded as the repeated check beside the grid's own; its tie-break moves the choice; a check on
    other seeds, a seed 0 and an incomplete check are refused with commands that work."""
    import argparse
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2, repeated_note='Set before its runs.',
        candidates={'a': ['--model-kwargs', 'x=1'], 'b': ['--model-kwargs', 'x=2'], 'c': ['--model-kwargs', 'x=3']}))
    held_out = {0: {'a': 7, 'b': 7, 'c': 6}, 1: {'a': 6, 'b': 8}, 2: {'a': 7, 'b': 8}}  # per split seed and fold
    trained = []

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            trained.append(log.parent.name)
            split, cand = int(cmd[cmd.index('--split-seed') + 1]), log.parent.name.split('_')[1]
            (log.parent / 'results.json').write_text(json.dumps(
                {'val': {'correct': held_out[split][cand], 'n': 10}, 'train_time_s': 2.}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    base = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'cv']
    monkeypatch.setattr(sys, 'argv', base)
    train_aeon.main()
    cv = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
    assert cv['chosen'] == 'a' and 'repeated' not in cv  # a and b tie: the first listed

    trained.clear()
    monkeypatch.setattr(sys, 'argv', base + ['--split-seeds', '1', '2', '--candidates', 'a', 'b'])
    train_aeon.main()
    assert sorted(trained) == sorted(f'GunPoint_{c}_split{s}_f{f}' for c in 'ab' for s in (1, 2) for f in range(2))
    cv = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
    check = cv['repeated']
    assert check['split_seeds'] == [1, 2] and list(check['candidates']) == ['a', 'b']
    assert check['candidates']['b']['splits']['2']['folds'] == {'0': {'correct': 8, 'n': 10},
                                                                '1': {'correct': 8, 'n': 10}}
    assert check['candidates']['b']['accuracy'] == pytest.approx((14 + 32) / 60)
    assert check['cpu_time_s'] == 16.0 and cv['cpu_time_s'] == 12.0 and check['note'] == 'Set before its runs.'
    assert cv['chosen'] == 'b' and cv['candidates']['a']['folds']['0']['correct'] == 7  # split seed 0 kept
    out = capsys.readouterr().out
    assert 'repeated check (split seeds 0 1 2): a 0.6667, b 0.7667 -> b' in out
    trained.clear()
    monkeypatch.setattr(sys, 'argv', base + ['--split-seeds', '1', '2', '--candidates', 'a', 'b', '--keep-finished'])
    train_aeon.main()
    assert trained == []

    # the same seeds in another order are the same check
    trained.clear()
    monkeypatch.setattr(sys, 'argv', base + ['--split-seeds', '2', '1', '--candidates', 'a', 'b', '--keep-finished'])
    train_aeon.main()
    assert trained == [] and json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv'] == cv

    # one check per grid: other seeds are refused, naming the recorded ones in a command that works
    monkeypatch.setattr(sys, 'argv', base + ['--split-seeds', '3', '--candidates', 'c'])
    with pytest.raises(SystemExit, match='recorded repeated check ran on split seeds 1 2, not 3') as e:
        train_aeon.main()
    assert shlex.split(str(e.value).rsplit('; run ', 1)[1])[2:] == [
        '--out', str(tmp_path), '--phase', 'cv', '--datasets', 'GunPoint', '--split-seeds', '1', '2', '--candidates',
        'c', '--keep-finished']
    for words, message in ((['--split-seeds', '0', '1'], 'distinct seeds of at least 1'),
                           (['--split-seeds', '1', '1'], 'distinct seeds of at least 1'),
                           (['--split-seeds'], 'got none')):
        monkeypatch.setattr(sys, 'argv', base + words)
        with pytest.raises(SystemExit):
            train_aeon.main()
        assert message in capsys.readouterr().err
    monkeypatch.setattr(sys, 'argv', base[:-1] + ['final', '--split-seeds', '1'])
    with pytest.raises(SystemExit):
        train_aeon.main()
    assert '--split-seeds runs the repeated check of the cv phase' in capsys.readouterr().err

    # a later round's candidate ties too: no choice until it is checked, and the hint runs that check
    monkeypatch.setitem(train_aeon.DATASETS['GunPoint']['candidates'], 'd', ['--model-kwargs', 'x=4'])
    held_out[0]['d'] = 7
    monkeypatch.setattr(sys, 'argv', base + ['--candidates', 'd'])
    train_aeon.main()
    out = capsys.readouterr().out
    hint = out.split(' (by their grid arguments): run ', 1)[1].splitlines()[0]
    assert 'no choice yet: candidates d, tied for the most on split seed 0, have not been scored on all 2 folds of ' \
           "the repeated check's split seeds 1 2" in out
    assert shlex.split(hint)[2:] == ['--out', str(tmp_path), '--phase', 'cv', '--datasets', 'GunPoint',
                                     '--split-seeds', '1', '2', '--candidates', 'd', '--keep-finished']

    # its check's runs fail: declared before its runs, it stays unscored, so no choice is recorded without it
    def failing_run_all(jobs, n_jobs, on_done=None):
        trained.extend(log.parent.name for _, log in jobs)
        return _ended(jobs, on_done, 1)
    monkeypatch.setattr(train_aeon, '_run_all', failing_run_all)
    monkeypatch.setattr(sys, 'argv', shlex.split(hint)[1:])
    train_aeon.main()
    failed = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
    assert 'chosen' not in failed and failed['repeated']['candidates']['d'] == {'args': '--model-kwargs x=4',
                                                                               'splits': {}}
    assert 'no choice yet: candidates d, tied for the most on split seed 0' in capsys.readouterr().out
    monkeypatch.setitem(train_aeon.DATASETS['GunPoint'], 'candidates', {
        k: v for k, v in train_aeon.DATASETS['GunPoint']['candidates'].items() if k != 'd'})
    (tmp_path / 'summary.json').write_text(json.dumps({'GunPoint': {'cv': cv}}))

    # a checked candidate missing a fold of the check: no choice, and the hint runs that check
    summary = json.loads((tmp_path / 'summary.json').read_text())
    del summary['GunPoint']['cv']['repeated']['candidates']['b']['splits']['2']['folds']['1']
    args = argparse.Namespace(out=str(tmp_path), device='cpu', extra=[])
    with pytest.raises(SystemExit) as e:
        train_aeon._chosen(summary, 'GunPoint', args)
    assert ("candidates b, tied for the most on split seed 0, have not been scored on all 2 folds of the repeated "
            "check's split seeds 1 2") in str(e.value)
    hint = str(e.value).split('(by their grid arguments): run ', 1)[1].rsplit(' before --phase final', 1)[0]
    assert shlex.split(hint)[2:] == ['--out', str(tmp_path), '--phase', 'cv', '--datasets', 'GunPoint',
                                     '--split-seeds', '1', '2', '--candidates', 'b', '--keep-finished']


def test_cv_phase_checks_a_hand_edited_summary_before_reading_it(monkeypatch, tmp_path):
    """A summary edited by hand stops the cv phase, before anything reads it, with an error naming the file and the
    record (Python's own TypeError, KeyError or AttributeError before, or a hint that looped)."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2,
        candidates={'a': ['--model-kwargs', 'x=1'], 'b': ['--model-kwargs', 'x=2']}))

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            (log.parent / 'results.json').write_text(json.dumps({'val': {'correct': 7, 'n': 10}, 'train_time_s': 2.}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    base = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'cv']
    monkeypatch.setattr(sys, 'argv', base)
    train_aeon.main()
    monkeypatch.setattr(sys, 'argv', base + ['--split-seeds', '1'])  # the tie's repeated check
    train_aeon.main()
    path = tmp_path / 'summary.json'
    good = path.read_text()
    assert set(json.loads(good)['GunPoint']['cv']['repeated']['candidates']) == {'a', 'b'}
    monkeypatch.setattr(sys, 'argv', base + ['--candidates', 'a', '--keep-finished'])
    for edit, message in ((lambda cv: cv['candidates']['b']['folds']['1'].__setitem__('correct', '9'),
                           "GunPoint: candidate b, fold '1': expected a string key and"),
                          (lambda cv: cv['candidates']['b'].pop('folds'),
                           "GunPoint: candidate b: expected a dict under 'folds', found only the keys"),
                          (lambda cv: cv['candidates'].__setitem__('a', 'junk'),
                           "GunPoint: candidate a: expected a dict"),
                          (lambda cv: cv['candidates']['b']['folds'].__setitem__('7', {'correct': 1, 'n': 10}),
                           "GunPoint: candidate b, fold '7': not a fold of this 2-fold cross-validation"),
                          (lambda cv: cv['candidates']['b'].pop('args'),
                           "GunPoint: candidate b: expected the candidate's train-seq arguments as a string"),
                          (lambda cv: cv.__setitem__('folds', 3),
                           "GunPoint: its cv records are of 3-fold cross-validation, the grid's is 2-fold"),
                          (lambda cv: cv.clear(), 'GunPoint: cv records: expected a dict'),
                          # read later by the check's CPU time and accuracies, or by the grid's CPU time
                          (lambda cv: cv['repeated'].pop('candidates'),
                           "GunPoint: the repeated check: expected a dict under 'candidates', found only the keys "
                           "\\['cpu_time_s', 'split_seeds'\\]$"),
                          (lambda cv: cv['repeated']['candidates'].__setitem__('old', 'junk'),
                           "GunPoint: repeated check of candidate old: expected a dict"),
                          (lambda cv: cv['repeated']['candidates']['b'].pop('splits'),
                           "GunPoint: repeated check of candidate b: expected a dict"),
                          (lambda cv: cv['candidates'].__setitem__('old', {'args': '', 'folds': {'0': 'junk'}}),
                           "GunPoint: candidate old, fold '0': expected a string key and"),
                          (lambda cv: cv['candidates']['b'].pop('train_time_s'),
                           "GunPoint: candidate b: expected the CPU time of each of its scored folds"),
                          (lambda cv: cv['candidates']['a'].__setitem__('train_time_s', [2.0]),
                           "GunPoint: candidate a: expected the CPU time of each of its scored folds"),
                          (lambda cv: cv['repeated']['candidates']['a']['splits']['1']['train_time_s'].__setitem__(
                              '0', 'two'),
                           "GunPoint: repeated check of candidate a, split seed 1: expected the CPU time of each"),
                          (lambda cv: cv['candidates']['a']['train_time_s'].__setitem__('0', float('inf')),
                           "GunPoint: candidate a: expected the CPU time of each of its scored folds"),
                          # a fold's time dropped or added: the grid's CPU time would sum other runs
                          (lambda cv: cv['candidates']['b']['train_time_s'].pop('1'),
                           "GunPoint: candidate b: expected the CPU time of each of its scored folds \\(\\['0', '1'\\]\\)"),
                          (lambda cv: cv['repeated']['candidates']['b']['splits']['1']['train_time_s'].__setitem__(
                              '7', 2.0),
                           "GunPoint: repeated check of candidate b, split seed 1: expected the CPU time of each"),
                          (lambda cv: cv.pop('candidates'),
                           "GunPoint: cv records: expected a dict under 'candidates', found only the keys"),
                          (lambda cv: cv['candidates']['b'].update(ensemble_of=['a'], members=2),
                           "GunPoint: candidate b: an ensemble's record needs .* got members=2, ensemble_of=\\['a'\\]"),
                          # one half of an ensemble's record: the card could name neither base nor count
                          (lambda cv: cv['candidates']['b'].__setitem__('members', 2),
                           "GunPoint: candidate b: an ensemble's record needs .* got members=2, ensemble_of=None"),
                          (lambda cv: cv['repeated']['candidates']['b'].update(ensemble_of='a', members='five'),
                           "GunPoint: repeated check of candidate b: an ensemble's record needs .*members='five'")):
        summary = json.loads(good)
        edit(summary['GunPoint']['cv'])
        if not summary['GunPoint']['cv']:
            summary['GunPoint']['cv'] = None
        path.write_text(json.dumps(summary))
        with pytest.raises(SystemExit, match=re.escape(f'{path}: ') + message):
            train_aeon.main()
        assert json.loads(path.read_text()) == summary  # left as it was
    path.write_text('{"GunPoint": ')
    with pytest.raises(SystemExit, match=re.escape(f'{path}: not a summary of this script (not JSON')):
        train_aeon.main()
    for empty in ({}, [], None):  # an empty check is none: dropped, not read as one
        summary = json.loads(good)
        summary['GunPoint']['cv']['repeated'] = empty
        path.write_text(json.dumps(summary))
        train_aeon.main()
        assert 'repeated' not in json.loads(path.read_text())['GunPoint']['cv']
    path.write_text(good)
    train_aeon.main()
    assert json.loads(path.read_text())['GunPoint']['cv']['chosen'] == 'a'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.summary.json.')] == []  # no temporary left


def test_cv_phase_prints_a_command_for_a_partial_grid(monkeypatch, tmp_path, capsys):
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2, candidates={'a': [], 'b': []}))

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            (log.parent / 'results.json').write_text(json.dumps({'val': {'correct': 6, 'n': 10}, 'train_time_s': 2.}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', 'runs x', '--datasets', 'GunPoint', '--phase', 'cv',
                                      '--candidates', 'a', '--extra', '--epochs', '1'])
    monkeypatch.chdir(tmp_path)
    train_aeon.main()
    out = capsys.readouterr().out
    assert 'no choice yet: candidates b have not been scored on all 2 folds: run ' in out
    hint = out.split('folds: run ', 1)[1].splitlines()[0]
    assert shlex.split(hint)[2:] == ['--out', 'runs x', '--phase', 'cv', '--datasets', 'GunPoint', '--candidates', 'b',
                                     '--keep-finished', '--extra', '--epochs', '1']


def test_packager_ships_a_chosen_ensemble(monkeypatch, tmp_path):
    """A chosen ensemble candidate is packaged from the final runs of seeds 0..M-1: one folder that loads as their
    ensemble, its test accuracy measured on that ensemble, one command per member, a card that says what it is.
    Tiny untrained 1-block members stand in for trained runs (GunPoint)."""
    pytest.importorskip('aeon')
    import timm
    import torch
    from smpconvnet.models import seq_zoo
    from smpconvnet.weights.folders import write_model_folder
    package = _script('package_seq_weights')
    small = dict(num_blocks=1, hidden_channels=4)
    runs = tmp_path / 'runs'
    members = []
    for seed in range(2):
        torch.manual_seed(seed)
        members.append(timm.create_model('smpconv_tcn_gunpoint', **small).eval())
        run = runs / 'final' / f'GunPoint_s{seed}'
        write_model_folder(members[-1], run, card='', model_args=small)
        (run / 'results.json').write_text(json.dumps({'parameters': 100, 'epochs': 1}))
        (run / 'log.jsonl').write_text(json.dumps({'train_loss': 0.5, 'train_acc': 0.75}) + '\n')
    args = '--epochs 1 --batch-size 8'
    cv = _cv(a=(6, 7), a_x2=(7, 7))
    for c in cv['candidates'].values():
        c['args'] = args
    cv['candidates']['a_x2'].update(members=2, ensemble_of='a')
    cv.update(chosen='a_x2', cpu_time_s=6.0)
    command = f'smpconvnet train-seq --model smpconv_tcn_gunpoint --dataset GunPoint --seed 0 --output runs/GunPoint_s0 {args}'
    final = {'test_accuracy': {'0': 0.5, '1': 0.6}, 'mean': 0.55, 'std': 0.07, 'train_time_s': {'0': 1.0, '1': 2.0},
             'command': command}
    (runs / 'summary.json').write_text(json.dumps({'GunPoint': {'cv': cv, 'final': final}}))
    entry = seq_zoo.SEQ_ZOO['smpconv_tcn_gunpoint']
    argv = ['package_seq_weights.py', '--runs', str(runs), '--weights', str(tmp_path / 'w'), '--datasets', 'GunPoint']
    monkeypatch.setattr(sys, 'argv', argv)
    monkeypatch.setitem(entry, 'arch', dict(entry['arch'], **small))
    with pytest.raises(ValueError, match='chosen candidate has 2 member.* set num_members in its SEQ_ZOO entry'):
        package.main()
    monkeypatch.setitem(entry, 'arch', dict(entry['arch'], num_members=2))
    # a final run that failed (its results.json never written): one line naming the run and its log, and the
    # command that trains it again (it was a bare FileNotFoundError)
    results = runs / 'final' / 'GunPoint_s0' / 'results.json'
    kept = results.read_text()
    results.unlink()
    with pytest.raises(ValueError) as e:
        package.main()
    assert str(e.value).startswith(f"{runs / 'final' / 'GunPoint_s0'}: the final run did not finish (no "
                                   f"results.json; its log: {runs / 'final' / 'GunPoint_s0' / 'train.log'})")
    retrain = shlex.split(str(e.value).split('train it again: ', 1)[1])
    assert retrain[1:] == [str(ROOT / 'scripts' / 'train_aeon.py'), '--out', str(runs), '--phase', 'final',
                           '--datasets', 'GunPoint', '--seeds', '1', '--keep-finished']
    results.write_text(kept)
    # each member must have finished the chosen recipe's command (a folder alone does not say which recipe it ran)
    with pytest.raises(ValueError, match=r'GunPoint_s0: no finished_command\.json'):
        package.main()
    words = [shlex.split(command.split('smpconvnet ', 1)[1].replace('--seed 0', f'--seed {seed}').replace(
        'runs/GunPoint_s0', str(runs / 'final' / f'GunPoint_s{seed}'))) for seed in range(2)]
    other = list(words[1])
    other[other.index('--epochs') + 1] = '3'  # seed 1 finished another recipe
    for seed, recorded in enumerate((words[0], other)):
        (runs / 'final' / f'GunPoint_s{seed}' / 'finished_command.json').write_text(json.dumps(recorded))
    with pytest.raises(ValueError, match=r'GunPoint_s1 was trained by .*--epochs 3 .*not by the chosen'):
        package.main()
    (runs / 'final' / 'GunPoint_s1' / 'finished_command.json').write_text(json.dumps(words[1]))
    package.main()
    folder = tmp_path / 'w' / 'smpconv_tcn_gunpoint.aeon'
    model = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
    x = torch.randn(3, 1, 150)
    with torch.no_grad():
        expected = torch.stack([m(x).softmax(1) for m in members]).mean(0)
        assert len(model.members) == 2 and (model(x).softmax(1) - expected).abs().max() < 1e-6
    config = json.loads((folder / 'config.json').read_text())
    assert [c[c.index('--seed') + 1] for c in config['train_commands']] == ['0', '1']
    assert [c[c.index('--output') + 1] for c in config['train_commands']] == ['runs/ucr/GunPoint_s0',
                                                                              'runs/ucr/GunPoint_s1']
    assert config['results']['member_seeds'] == [0, 1] and 'train_command' not in config
    card = (folder / 'README.md').read_text()
    assert 'An ensemble of 2 causal SMP-TCNs' in card and '200 parameters in all (2 x 100)' in card
    assert 'one recipe trained with seeds 0-1' in card and 'At the last epoch (seed 0)' in card
    assert f"**{config['results']['test']['accuracy']:.4f}**" in card and 'final training\n3 s (all members)' in card


def test_packager_errors_are_one_line_with_a_command_that_works(tmp_path):
    """No summary.json at --runs, or a data set without a final run: one line naming the folder, and the
    train_aeon.py command (absolute paths: it works from any folder)."""
    import subprocess
    script = str(ROOT / 'scripts' / 'package_seq_weights.py')
    empty = tmp_path / 'empty'
    empty.mkdir()
    r = subprocess.run([sys.executable, script, '--runs', str(empty)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    assert f'--runs {empty}: expected the --out folder of scripts/train_aeon.py' in r.stderr
    # the hint is a command as it stands (it ended with a placeholder, --datasets NAME)
    hint = r.stderr.split('train first: ', 1)[1].split(' (all eight sets', 1)[0]
    assert shlex.split(hint)[1:] == [str(ROOT / 'scripts' / 'train_aeon.py'), '--out', str(empty)]
    r = subprocess.run([sys.executable, script, '--runs', str(empty), '--datasets', 'GunPoint', 'ArrowHead'],
                       capture_output=True, text=True, cwd=tmp_path)
    assert shlex.split(r.stderr.split('train first: ', 1)[1])[1:] == [
        str(ROOT / 'scripts' / 'train_aeon.py'), '--out', str(empty), '--datasets', 'GunPoint', 'ArrowHead']
    (empty / 'summary.json').write_text('{}')
    r = subprocess.run([sys.executable, script, '--runs', str(empty), '--datasets', 'GunPoint',
                        '--weights', str(tmp_path / 'w')], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    hint = r.stderr.split(': run ', 1)[1].rsplit(' first', 1)[0]
    empty_list = subprocess.run([sys.executable, script, '--runs', str(empty), '--datasets'], capture_output=True,
                                text=True, cwd=tmp_path)
    assert empty_list.returncode == 2 and '--datasets needs at least one name' in empty_list.stderr
    words = shlex.split(hint)
    assert words[1] == str(ROOT / 'scripts' / 'train_aeon.py') and words[2:] == ['--out', str(empty), '--datasets',
                                                                                'GunPoint']


def test_keep_finished_trains_the_final_again_after_the_choice_changed(monkeypatch, tmp_path):
    """A final run's folder is named by data set and seed only: --keep-finished reuses it for the candidate that
    trained it, and trains it again once cross-validation has chosen another (it kept the old model before)."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2,
        candidates={'a': ['--model-kwargs', 'variant="a"'], 'b': ['--model-kwargs', 'variant="b"']}))  # _cv's arguments
    trained = []

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            trained.append(cmd[cmd.index('variant="a"') if 'variant="a"' in cmd else cmd.index('variant="b"')])
            (log.parent / 'results.json').write_text(json.dumps({'test': {'accuracy': 0.5}, 'train_time_s': 1.0}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    summary = {'GunPoint': {'cv': _cv(a=[6, 6], b=[5, 5])}}
    (tmp_path / 'summary.json').write_text(json.dumps(summary))
    argv = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'final', '--seeds', '1',
            '--keep-finished']
    monkeypatch.setattr(sys, 'argv', argv)
    train_aeon.main()
    train_aeon.main()
    assert trained == ['variant="a"']  # the second call reused it
    summary = json.loads((tmp_path / 'summary.json').read_text())
    summary['GunPoint']['cv'] = _cv(a=[6, 6], b=[7, 7])  # a later round: b is chosen now
    (tmp_path / 'summary.json').write_text(json.dumps(summary))
    train_aeon.main()
    assert trained == ['variant="a"', 'variant="b"']
    assert 'variant="b"' in json.loads((tmp_path / 'final' / 'GunPoint_s0' / train_aeon.FINISHED_NAME).read_text())

    # the choice changes again and its run fails, or is interrupted, before train-seq could replace the earlier
    # candidate's results: the next call trains it, instead of reporting the earlier candidate's results as its own
    def failing(jobs, n_jobs, on_done=None):
        return _ended(jobs, on_done, 1)

    def interrupted(jobs, n_jobs, on_done=None):
        raise KeyboardInterrupt
    for broken, scores, expected in ((failing, dict(a=[8, 8], b=[7, 7]), 'variant="a"'),
                                     (interrupted, dict(a=[8, 8], b=[9, 9]), 'variant="b"')):
        summary['GunPoint']['cv'] = _cv(**scores)
        (tmp_path / 'summary.json').write_text(json.dumps(summary))
        monkeypatch.setattr(train_aeon, '_run_all', broken)
        if broken is interrupted:
            with pytest.raises(KeyboardInterrupt):
                train_aeon.main()
        else:
            train_aeon.main()
        monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
        trained.clear()
        train_aeon.main()
        assert trained == [expected]


def test_keep_finished_continues_a_run_its_command_started(monkeypatch, tmp_path):
    """Runs of hours (ACSF1's in FCN's regime) span sessions whose processes do not outlive them: --keep-finished
    continues a run that its very command started and that was interrupted (train-seq --resume from its checkpoint:
    exact), recorded as finished by that command; a run another command started, or any run without
    --keep-finished, is trained again from the start (--force)."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2,
        candidates={'a': ['--model-kwargs', 'variant="a"'], 'b': ['--model-kwargs', 'variant="b"']}))
    commands = []

    def interrupted(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            commands.append(cmd)
            (log.parent / 'checkpoint.pth').write_bytes(b'')  # train-seq's per-epoch checkpoint
        raise KeyboardInterrupt

    def finishes(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            commands.append(cmd)
            (log.parent / 'results.json').write_text(json.dumps({'test': {'accuracy': 0.5}, 'train_time_s': 1.0}))
        return _ended(jobs, on_done, 0)
    summary = {'GunPoint': {'cv': _cv(a=[6, 6], b=[5, 5])}}
    (tmp_path / 'summary.json').write_text(json.dumps(summary))
    run = tmp_path / 'final' / 'GunPoint_s0'

    def main(runner, keep=True):
        monkeypatch.setattr(train_aeon, '_run_all', runner)
        monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint',
                                          '--phase', 'final', '--seeds', '1'] + ['--keep-finished'] * keep)
        train_aeon.main()
    with pytest.raises(KeyboardInterrupt):
        main(interrupted)
    started = commands[-1]
    assert '--force' in started and json.loads((run / train_aeon.STARTED_NAME).read_text()) == started[3:]
    main(finishes)
    resumed = commands[-1]
    assert '--resume' in resumed and '--force' not in resumed
    assert [a for a in resumed if a != '--resume'] == [a for a in started if a != '--force']
    assert json.loads((run / train_aeon.FINISHED_NAME).read_text()) == started[3:]  # as started: the same run
    main(finishes)
    assert commands[-1] is resumed  # finished: kept
    # without --keep-finished, an interrupted run starts over
    with pytest.raises(KeyboardInterrupt):
        main(interrupted, keep=False)
    main(finishes, keep=False)
    assert '--force' in commands[-1] and '--resume' not in commands[-1]
    # interrupted, and then another candidate chosen: its command did not start this run, which starts over
    with pytest.raises(KeyboardInterrupt):
        main(interrupted)
    summary['GunPoint']['cv'] = _cv(a=[6, 6], b=[7, 7])
    (tmp_path / 'summary.json').write_text(json.dumps(summary))
    main(finishes)
    assert '--force' in commands[-1] and 'variant="b"' in commands[-1]


def test_a_run_is_recorded_as_finished_when_it_ends_not_when_its_batch_does(monkeypatch, tmp_path):
    """A batch of hours (ACSF1's 12 ensemble runs) cut short when its machine went: the runs it had finished had no
    finished record (written once the whole batch had ended), so --keep-finished resumed each from its checkpoint.
    The record is written as each run ends."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2, candidates={'a': ['--model-kwargs', 'variant="a"']}))
    trained = []

    def run(cmd, log):  # the real _run_all, one job at a time: the first run finishes, the second is cut short
        trained.append(log.parent.name)
        if len(trained) == 2:
            raise KeyboardInterrupt
        (log.parent / 'results.json').write_text(json.dumps({'val': {'correct': 6, 'n': 10}, 'train_time_s': 1.}))
        return 0, 1.0
    monkeypatch.setattr(train_aeon, '_run', run)
    monkeypatch.setattr(sys, 'argv', ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase',
                                      'cv', '--jobs', '1', '--keep-finished'])
    with pytest.raises(KeyboardInterrupt):
        train_aeon.main()
    first, second = (tmp_path / 'cv' / name for name in trained)
    assert (first / train_aeon.FINISHED_NAME).is_file() and not (second / train_aeon.FINISHED_NAME).exists()
    trained.clear()
    monkeypatch.setattr(train_aeon, '_run', lambda cmd, log: (trained.append(log.parent.name), (
        log.parent / 'results.json').write_text(json.dumps({'val': {'correct': 6, 'n': 10}, 'train_time_s': 1.})),
        (0, 1.0))[-1])
    train_aeon.main()
    assert trained == [second.name]  # the finished run is kept


def test_cv_results_are_recorded_under_the_command_that_made_them(monkeypatch, tmp_path):
    """A smoke run (--extra --epochs 1) and then the real grid: the real runs are trained again, with --keep-finished
    too (their command differs), and the summary records the real arguments, not the smoke run's."""
    train_aeon = _script('train_aeon')
    monkeypatch.setitem(train_aeon.DATASETS, 'GunPoint', dict(
        model='smpconv_tcn_gunpoint', args=[], folds=2, candidates={'a': ['--model-kwargs', 'x=1']}))
    trained = []

    def fake_run_all(jobs, n_jobs, on_done=None):
        for cmd, log in jobs:
            smoke = '--extra' in sys.argv
            trained.append('smoke' if smoke else 'real')
            (log.parent / 'results.json').write_text(json.dumps(
                {'val': {'correct': 1 if smoke else 9, 'n': 10}, 'train_time_s': 1.0}))
        return _ended(jobs, on_done, 0)
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    base = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'cv']
    monkeypatch.setattr(sys, 'argv', base + ['--extra', '--epochs', '1'])
    train_aeon.main()
    monkeypatch.setattr(sys, 'argv', base + ['--keep-finished'])
    train_aeon.main()
    assert trained == ['smoke', 'smoke', 'real', 'real']
    cv = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
    assert cv['candidates']['a']['args'] == '--model-kwargs x=1'
    assert cv['candidates']['a']['folds'] == {'0': {'correct': 9, 'n': 10}, '1': {'correct': 9, 'n': 10}}
    trained.clear()
    train_aeon.main()
    assert trained == []  # now finished by this very command


def _shipped_copy(tmp_path, name):
    """A copy of the shipped model folder ``name`` under ``tmp_path / 'w'``: (that weights folder, the folder's file
    names, their bytes, the card's model_selection)."""
    import shutil
    from smpconvnet.models import WEIGHTS_DIR
    weights = tmp_path / 'w'
    shutil.copytree(WEIGHTS_DIR / name, weights / name)
    files = ('README.md', 'config.json', 'manifest.sha256', 'model.safetensors')
    shipped = {f: (weights / name / f).read_bytes() for f in files}
    return weights, files, shipped, json.loads(shipped['config.json'])['model_selection']


def _package(monkeypatch, package, runs, summary, weights, ds):
    """``package_seq_weights.py --runs RUNS --weights WEIGHTS --datasets DS --force`` on ``summary`` (written to
    ``runs/summary.json``); returns ``runs``."""
    runs.mkdir(exist_ok=True)
    (runs / 'summary.json').write_text(json.dumps(summary))
    monkeypatch.setattr(sys, 'argv', ['package_seq_weights.py', '--runs', str(runs), '--weights', str(weights),
                                      '--datasets', ds, '--force'])
    package.main()
    return runs


def test_a_new_machine_extends_a_grid_from_the_shipped_cards(monkeypatch, tmp_path):
    """The runs of earlier rounds are not kept with the project: train_aeon.py seeds a summary from the shipped card
    (every candidate it records with the grid's arguments, and its final run), so a round on a new machine adds
    candidates to the recorded grid. While the choice stays, the packager rewrites the card around the shipped
    weights (here, nothing new, byte for byte); once it moves, the card's final run is refused."""
    pytest.importorskip('aeon')
    train_aeon, package = _script('train_aeon'), _script('package_seq_weights')
    name, ds = 'smpconv_tcn_japanesevowels.aeon', 'JapaneseVowels'
    weights, files, shipped, selection = _shipped_copy(tmp_path, name)
    summary = {}
    assert train_aeon._seed_from_card(summary, ds, [], weights=weights) == list(selection['candidates'])
    cv = summary[ds]['cv']
    assert (cv['chosen'], cv['cpu_time_s']) == (selection['chosen'], selection['cpu_time_s'])
    assert summary[ds]['final']['from_card'] and summary[ds]['final']['command'].startswith('smpconvnet train-seq ')
    # other train-seq arguments (--extra) make other commands: nothing the card records is theirs
    assert train_aeon._seed_from_card({}, ds, ['--epochs', '1'], weights=weights) == []
    runs = _package(monkeypatch, package, tmp_path / 'runs', summary, weights, ds)
    assert {f: (weights / name / f).read_bytes() for f in files} == shipped
    # a round's new candidate holds out more: the choice moves, and the card's final run is not that candidate's
    better = ['--model-kwargs', 'global_pool="max"', 'hidden_channels=64']
    monkeypatch.setitem(train_aeon.DATASETS, ds, dict(train_aeon.DATASETS[ds], candidates={
        **train_aeon.DATASETS[ds]['candidates'], 'better': better}))
    new = {'better': {'args': shlex.join(better), 'folds': {str(k): {'correct': 54, 'n': 54} for k in range(5)},
                      'train_time_s': {str(k): 1.0 for k in range(5)}, 'accuracy': 1.0}}
    summary = {ds: {'cv': {'folds': 5, 'candidates': new}}}
    train_aeon._seed_from_card(summary, ds, [], weights=weights)
    assert list(summary[ds]['cv']['candidates'])[-1] == 'better' and summary[ds]['cv']['chosen'] == 'better'
    assert summary[ds]['cv']['cpu_time_s'] == selection['cpu_time_s'] + 5.0
    (runs / 'summary.json').write_text(json.dumps(summary))
    with pytest.raises(ValueError, match="did not train the chosen candidate 'better'"):
        package.main()
    assert {f: (weights / name / f).read_bytes() for f in files} == shipped
    with pytest.raises(ValueError, match=r'was trained by .*, not by the summary\'s final command .*: train the final '
                                         r'run: RETRAIN'):
        package.shipped_final(weights / name, 'train-seq --seed 0 --output runs/ucr/x_s0 --epochs 1', 1, 'RETRAIN')
    # a shipped folder changed since its card: refused by its manifest, or (manifest rewritten too) by its score
    with pytest.raises(ValueError, match=r'no shipped model to keep .*check --weights .*train the final run: RETRAIN'):
        package.shipped_final(tmp_path / 'nope' / name, 'x', 1, 'RETRAIN')
    from safetensors.torch import load_file, save_file
    from smpconvnet.weights.hub import write_manifest
    state = load_file(weights / name / 'model.safetensors')
    state['head.bias'] = state['head.bias'] + 5 * torch.arange(len(state['head.bias']))
    save_file(state, weights / name / 'model.safetensors')
    with pytest.raises(ValueError, match=r'model\.safetensors not as its manifest\.sha256 lists .*restore it \(copy it '
                                         r'again from .*smpconv_tcn_japanesevowels\.aeon\) or train the final run: R'):
        package.shipped_final(weights / name, summary[ds]['final']['command'].split('train-seq ', 1)[1], 1, 'R')
    write_manifest(weights / name)
    grid = dict(train_aeon.DATASETS[ds]['candidates'])
    grid.pop('better')
    monkeypatch.setitem(train_aeon.DATASETS, ds, dict(train_aeon.DATASETS[ds], candidates=grid))
    summary = {}
    train_aeon._seed_from_card(summary, ds, [], weights=weights)
    (runs / 'summary.json').write_text(json.dumps(summary))
    recorded = json.loads(shipped['config.json'])['results']['test']['correct']
    with pytest.raises(ValueError, match=rf'the kept weights score \d+/370 on the test split, its card records '
                                         rf'{recorded}/370'):
        package.main()


def test_a_card_with_a_repeated_check_is_seeded_and_rewritten_byte_for_byte(monkeypatch, tmp_path):
    """ArrowHead's choice came from its repeated check: a new machine seeds the check with the grid from the card (a
    candidate checked again keeps its place, unscored, so no choice is made without it), and the packager rewrites
    the card around the shipped weights byte for byte, check table included."""
    pytest.importorskip('aeon')
    train_aeon, package = _script('train_aeon'), _script('package_seq_weights')
    name, ds = 'smpconv_tcn_arrowhead.aeon', 'ArrowHead'
    weights, files, shipped, selection = _shipped_copy(tmp_path, name)
    assert selection['protocol'] == '5-fold cross-validation, repeated on split seeds 1, 2 (a tie-break)'
    summary = {}
    train_aeon._seed_from_card(summary, ds, [], weights=weights)
    cv = summary[ds]['cv']
    assert cv['repeated'] == selection['repeated'] and cv['chosen'] == selection['chosen']
    # without the check the first listed of the tie on split seed 0 would be chosen
    from smpconvnet.train.seq_trainer import kfold_choice
    assert kfold_choice({k: v for k, v in cv.items() if k != 'repeated'}, list(cv['candidates']))[0] != cv['chosen']
    _package(monkeypatch, package, tmp_path / 'runs', summary, weights, ds)
    assert {f: (weights / name / f).read_bytes() for f in files} == shipped
    assert "build that architecture as `--model smpconv_tcn_gunpoint --model-kwargs init_radius=0.008 " \
           "'global_pool=\"last\"'`" in shipped['README.md'].decode()
    rechecked = {}
    train_aeon._seed_from_card(rechecked, ds, [], weights=weights, rechecked=('last_e200',))
    check = rechecked[ds]['cv']['repeated']
    assert check['candidates']['last_e200']['splits'] == {} and 'chosen' not in rechecked[ds]['cv']


def test_train_aeon_says_what_it_takes_from_the_cards(monkeypatch, tmp_path, capsys):
    """--candidates NEW trains only those and says which recorded ones it kept; the whole grid (no --candidates) is
    trained again without the card; --extra makes other commands, so the card's results are not used, and it says
    so."""
    train_aeon = _script('train_aeon')
    trained = []

    def fake_run_all(jobs, n_jobs, on_done=None):
        trained.extend(cmd[cmd.index('--output') + 1].rsplit('/', 1)[-1] for cmd, _ in jobs)
        return _ended(jobs, on_done, 1)  # failed: nothing recorded
    monkeypatch.setattr(train_aeon, '_run_all', fake_run_all)
    base = ['train_aeon.py', '--out', str(tmp_path), '--datasets', 'GunPoint', '--phase', 'cv']
    for extra, expect_runs, expect_text in (
            (['--candidates', 'last'], [f'GunPoint_last_f{k}' for k in range(5)],
             'GunPoint: 1 candidate(s) recorded by the shipped card, not trained again: avg'),
            ([], [f'GunPoint_{c}_f{k}' for c in ('avg', 'last') for k in range(5)], None),
            (['--candidates', 'last', '--extra', '--epochs', '1'], [f'GunPoint_last_f{k}' for k in range(5)],
             "GunPoint: the shipped card's results are not used: --extra --epochs 1 makes other commands")):
        trained.clear()
        (tmp_path / 'summary.json').unlink(missing_ok=True)
        monkeypatch.setattr(sys, 'argv', base + extra)
        train_aeon.main()
        out = capsys.readouterr().out
        assert trained == expect_runs
        if expect_text:
            assert expect_text in out
        else:
            assert 'shipped card' not in out
        # the runs failed: what they were to record is not there, not even the card's record of it
        cv = json.loads((tmp_path / 'summary.json').read_text())['GunPoint']['cv']
        assert 'last' not in cv['candidates'] and 'chosen' not in cv


def test_packager_names_the_summary_and_set_of_a_hand_edited_record(tmp_path, monkeypatch):
    """The packager's errors for a hand-edited summary name the file and the data set, as train_aeon.py's do (trial
    26: a raw KeyError for a cv record without candidates, and messages naming neither)."""
    package = _script('package_seq_weights')
    runs = tmp_path / 'runs'
    runs.mkdir()
    cv = _cv(a=(9, 9))
    del cv['candidates']['a']['folds']
    (runs / 'summary.json').write_text(json.dumps({'GunPoint': {'cv': cv, 'final': {'command': 'train-seq x'}}}))
    monkeypatch.setattr(sys, 'argv', ['package_seq_weights.py', '--runs', str(runs), '--weights', str(tmp_path / 'w'),
                                      '--datasets', 'GunPoint'])
    with pytest.raises(ValueError) as e:
        package.main()
    assert str(e.value).startswith(f"{runs / 'summary.json'}: GunPoint: candidate a: expected a dict under 'folds'")
