#!/usr/bin/env python
"""The SMP models trained by this project on the UEA/UCR sets that aeon ships, side by side with MiniRocket.

    python benchmarks/ucr.py                                   # score every shipped model, run MiniRocket: a table
    python benchmarks/ucr.py --json docs/ucr-cpu.json --force  # the same, every figure also written to a file
    python benchmarks/ucr.py --markdown docs/ucr-cpu.json      # the README's table, rendered from such a file
    python benchmarks/ucr.py --train GunPoint                  # retrain a shipped model with its card's command
    python benchmarks/ucr.py --train GunPoint --resume         # continue it after an interruption
    python benchmarks/ucr.py --cv --json docs/ucr-cv-cpu.json --force  # MiniRocket on the cards' folds

Nothing is trained by default. For each of the eight classification sets in aeon's wheel (offline), the shipped
model for it (a registered ``<model>.aeon``, weights in ``smpconvnet/pretrained/``) is loaded, fed the test split
with the preprocessing its ``pretrained_cfg`` records, and scored once; aeon's ``MiniRocketClassifier`` (default
settings, one thread) is fitted on the training split and scored on the test split with seeds 0, 1, 2 in the same
process. MiniRocket takes equal-length series only, so variable-length sets are zero-padded to their longest
series for it (the SMP models read them at their true lengths). Times are wall-clock seconds on this machine:
MiniRocket's fit and predict, the SMP model's scoring of the test split (its training time is in its card).

``--cv`` asks whether the model selection could have seen the gap: MiniRocket (the same settings and seeds) is
fitted and scored on the folds of the training split that each shipped model's card chose by (the folds of
``train-seq --cv-folds K --cv-fold k --split-seed 0``, K from the card), next to the held-out results the card
records for the chosen SMP candidate. Nothing is trained; of the test split only the longest length is read (the
zero padding of variable-length sets, as in the test-split table). The SMP figure is the best of the card's grid
(biased upward by the choice), MiniRocket's that of one setting.

Needs aeon: ``pip install "smpconvnet[data]"``.
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

import numpy as np
import torch

# the classification sets aeon ships in its wheel: six of equal length, two of variable length
EQUAL_LENGTH = ['ArrowHead', 'BasicMotions', 'GunPoint', 'ItalyPowerDemand', 'OSULeaf', 'ACSF1']
VARIABLE_LENGTH = ['JapaneseVowels', 'PickupGestureWiimoteZ']
DATASETS = EQUAL_LENGTH + VARIABLE_LENGTH
SEEDS = (0, 1, 2)
# the per-set criterion on the equal-length sets: SMP no more than this below MiniRocket
MAX_SHORTFALL = 0.03
# the split seed of the folds the cards chose by (scripts/train_aeon.py runs train-seq --split-seed 0)
CV_SPLIT_SEED = 0


def shipped_models() -> Dict[str, str]:
    """``{data set: '<model>.aeon'}`` for every shipped model trained on an aeon set."""
    import timm
    import smpconvnet  # noqa: F401  (registers the models)
    from smpconvnet.models.seq_zoo import dataset_of
    out = {}
    for name in timm.list_pretrained('*.aeon'):
        dataset = dataset_of(name)
        if dataset is not None:
            out[dataset] = name
    return out


def _load_split(name: str, split: str):
    from aeon.datasets import load_classification
    x, y = load_classification(name, split=split)
    return x, np.asarray([str(v) for v in y])


def _pad(x, length: int) -> np.ndarray:
    """aeon's [N, C, L] array, or its list of [C, L_i] arrays, as one zero-padded [N, C, length] array."""
    out = np.zeros((len(x), x[0].shape[0], length), dtype=np.float64)
    for i, s in enumerate(x):
        out[i, :, :s.shape[1]] = s
    return out


def _warm_up_minirocket():
    """One untimed fit and predict on random data: MiniRocket's numba functions compile on first use (about 30 s
    here), which would otherwise count as the first data set's fit time."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 1, 40)), np.array(['a', 'b'] * 10)
    MiniRocketClassifier(random_state=0).fit(x, y).predict(x)


def run_minirocket(name: str, seeds=SEEDS) -> Dict:
    """MiniRocket (aeon defaults) fitted on the training split and scored on the test split, once per seed."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    x_train, y_train = _load_split(name, 'train')
    x_test, y_test = _load_split(name, 'test')
    padded = isinstance(x_train, list) or isinstance(x_test, list)
    if padded:
        length = max(s.shape[1] for s in list(x_train) + list(x_test))
        x_train, x_test = _pad(x_train, length), _pad(x_test, length)
    runs = []
    for seed in seeds:
        clf = MiniRocketClassifier(random_state=seed)
        t0 = time.perf_counter()
        clf.fit(x_train, y_train)
        t1 = time.perf_counter()
        pred = clf.predict(x_test)
        t2 = time.perf_counter()
        runs.append(dict(seed=seed, accuracy=float((np.asarray(pred).astype(str) == y_test).mean()),
                         fit_s=round(t1 - t0, 3), predict_s=round(t2 - t1, 3)))
    accs = [r['accuracy'] for r in runs]
    return dict(accuracy=float(np.mean(accs)), min=min(accs), max=max(accs), runs=runs, zero_padded=padded,
                fit_s=float(np.median([r['fit_s'] for r in runs])),
                predict_s=float(np.median([r['predict_s'] for r in runs])))


def _padded_train(name: str):
    """The training split as MiniRocket gets it in ``run_minirocket``: an [N, C, L] array (variable lengths
    zero-padded to the longest series of train and test), the label strings, and whether it was padded."""
    x_train, y_train = _load_split(name, 'train')
    padded = isinstance(x_train, list)
    if padded:
        x_test, _ = _load_split(name, 'test')
        x_train = _pad(x_train, max(s.shape[1] for s in list(x_train) + list(x_test)))
    return x_train, y_train, padded


def cv_folds(name: str, folds: int) -> List[List[int]]:
    """The held-out indices (into the training split, aeon's order) of each of the ``folds`` folds that
    ``train-seq --cv-folds folds --cv-fold k --split-seed 0`` holds out: ``stratified_kfold`` of the training
    split's targets in the library's class order."""
    from smpconvnet.data.sequences import load_aeon, stratified_kfold
    targets = load_aeon(name, 'train').targets
    return [stratified_kfold(targets, folds, k, torch.Generator().manual_seed(CV_SPLIT_SEED))[1]
            for k in range(folds)]


def run_minirocket_cv(name: str, folds: int, seeds=SEEDS) -> Dict:
    """MiniRocket (aeon defaults) fitted on ``folds - 1`` folds of the training split and scored on the held-out
    one, for every fold and seed (``cv_folds``): correct predictions per fold, pooled accuracy per seed."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    x, y, padded = _padded_train(name)
    held_out = cv_folds(name, folds)
    runs = []
    for seed in seeds:
        per_fold = []
        for held in held_out:
            keep = np.setdiff1d(np.arange(len(y)), held)
            pred = MiniRocketClassifier(random_state=seed).fit(x[keep], y[keep]).predict(x[held])
            per_fold.append(dict(correct=int((np.asarray(pred).astype(str) == y[held]).sum()), n=len(held)))
        correct = sum(f['correct'] for f in per_fold)
        runs.append(dict(seed=seed, folds=per_fold, correct=correct, accuracy=correct / len(y)))
    accs = [r['accuracy'] for r in runs]
    return dict(accuracy=float(np.mean(accs)), min=min(accs), max=max(accs), n=len(y), runs=runs,
                zero_padded=padded)


def card_selection(model: str) -> Dict:
    """The k-fold record of a shipped model's card: folds, the chosen candidate, its held-out results per fold and
    pooled, and the best pooled accuracy of the grid."""
    from smpconvnet.models import WEIGHTS_DIR
    with open(os.path.join(WEIGHTS_DIR, model, 'config.json')) as f:
        selection = json.load(f)['model_selection']
    chosen = selection['candidates'][selection['chosen']]
    per_fold = [chosen['folds'][str(k)] for k in range(selection['folds'])]
    correct, n = sum(f['correct'] for f in per_fold), sum(f['n'] for f in per_fold)
    return dict(model=model, folds=selection['folds'], chosen=selection['chosen'], per_fold=per_fold,
                correct=correct, n=n, accuracy=correct / n, grid=len(selection['candidates']))


def measure_cv(datasets: List[str], seeds=SEEDS) -> Dict:
    """``--cv``: for every set with a shipped model, its card's k-fold record next to MiniRocket on the same folds."""
    models = shipped_models()
    _warm_up_minirocket()
    rows = []
    for name in datasets:
        if name not in models:
            print(f'{name}: no shipped model, no folds to compare on', file=sys.stderr, flush=True)
            continue
        smp = card_selection(models[name])
        row = dict(dataset=name, smp=smp, minirocket=run_minirocket_cv(name, smp['folds'], seeds))
        rows.append(row)
        print(f'{name}: {smp["folds"]}-fold held-out accuracy, SMP {smp["accuracy"]:.4f} (card), '
              f'MiniRocket {row["minirocket"]["accuracy"]:.4f}', file=sys.stderr, flush=True)
    import aeon
    import smpconvnet
    return dict(kind='cv', date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                smpconvnet=smpconvnet.__version__, aeon=aeon.__version__, python=platform.python_version(),
                seeds=list(seeds), split_seed=CV_SPLIT_SEED, rows=rows)


def markdown_cv_table(result: Dict) -> str:
    lines = ['| data set | folds (held out per fold) | SMP: chosen candidate (card), held out per fold | SMP pooled | '
             'MiniRocket pooled, per seed | MiniRocket mean | SMP - MiniRocket |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for r in result['rows']:
        s, m = r['smp'], r['minirocket']
        sizes = '/'.join(str(f['n']) for f in s['per_fold'])
        lines.append(
            f'| {r["dataset"]} | {s["folds"]} ({sizes}) | `{s["chosen"]}` of {s["grid"]}: '
            + ' '.join(str(f['correct']) for f in s['per_fold'])
            + f' | **{s["accuracy"]:.4f}** ({s["correct"]}/{s["n"]}) | '
            + ', '.join(f'{run["correct"]}/{m["n"]}' for run in m['runs'])
            + (' zero-padded' if m['zero_padded'] else '')
            + f' | {m["accuracy"]:.4f} | {s["accuracy"] - m["accuracy"]:+.4f} |')
    lines.append('')
    datasets = [r['dataset'] for r in result['rows']]
    command = 'python benchmarks/ucr.py --cv' + ('' if datasets == list(DATASETS) else ' --datasets ' + ' '.join(
        datasets)) + ('' if list(result['seeds']) == list(SEEDS) else f' --seeds {len(result["seeds"])}')
    lines.append(f'Measured {result["date"][:10]} with `{command}` (smpconvnet {result["smpconvnet"]}, aeon '
                 f'{result["aeon"]}; MiniRocket seeds {", ".join(map(str, result["seeds"]))}; folds of split seed '
                 f'{result["split_seed"]}; the SMP figures are the cards\' records).')
    return '\n'.join(lines)


def _warm_up_smp(models: Dict[str, str]):
    # the first model call of a process pays one-off costs (oneDNN / FFT plans, lazy imports): not the scoring's
    import timm
    if not models:
        return
    model = timm.create_model(models.get('ItalyPowerDemand') or next(iter(models.values())),  # the shortest series
                              pretrained=True).eval()
    c, _, length = model.pretrained_cfg['input_size']
    with torch.no_grad():
        model(torch.zeros(2, c, length))


def score_shipped(model: str) -> Dict:
    """The shipped model's accuracy on its test split (``evaluate-seq``'s path) and the time it took."""
    from smpconvnet.train.seq_trainer import evaluate_pretrained
    t0 = time.perf_counter()
    result = evaluate_pretrained(model)
    return dict(model=model, accuracy=result['accuracy'], correct=result['correct'], n=result['n'],
                score_s=round(time.perf_counter() - t0, 3))


def measure(datasets: List[str], seeds=SEEDS) -> Dict:
    models = shipped_models()
    _warm_up_minirocket()
    _warm_up_smp(models)
    rows = []
    for name in datasets:
        x_train, _ = _load_split(name, 'train')
        x_test, _ = _load_split(name, 'test')
        lengths = [s.shape[-1] for s in list(x_train) + list(x_test)]
        row = dict(dataset=name, equal_length=name in EQUAL_LENGTH, train=len(x_train), test=len(x_test),
                   channels=int(x_train[0].shape[0]), min_length=min(lengths), max_length=max(lengths))
        row['smp'] = score_shipped(models[name]) if name in models else None
        row['minirocket'] = run_minirocket(name, seeds)
        rows.append(row)
        smp = f'{row["smp"]["accuracy"]:.4f}' if row['smp'] else 'no shipped model'
        print(f'{name}: SMP {smp}, MiniRocket {row["minirocket"]["accuracy"]:.4f}', file=sys.stderr, flush=True)
    import aeon
    import smpconvnet
    import timm
    return dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                smpconvnet=smpconvnet.__version__, torch=torch.__version__, timm=timm.__version__,
                aeon=aeon.__version__, python=platform.python_version(), threads=torch.get_num_threads(),
                seeds=list(seeds), rows=rows)


def summary(result: Dict) -> List[str]:
    """The issue's criteria, as measured: the mean over the equal-length sets, the largest shortfall, and the
    variable-length sets against zero-padded MiniRocket."""
    lines = []
    equal = [r for r in result['rows'] if r['equal_length']]
    if equal and all(r['smp'] for r in equal):
        smp = float(np.mean([r['smp']['accuracy'] for r in equal]))
        mr = float(np.mean([r['minirocket']['accuracy'] for r in equal]))
        gaps = {r['dataset']: r['smp']['accuracy'] - r['minirocket']['accuracy'] for r in equal}
        worst = min(gaps, key=gaps.get)
        behind = [d for d, g in gaps.items() if g < -MAX_SHORTFALL]
        lines.append(f'equal-length sets ({len(equal)}): mean accuracy SMP {smp:.4f}, MiniRocket {mr:.4f} '
                     f'({"SMP >= MiniRocket" if smp >= mr else "SMP below MiniRocket"}); '
                     + (f'largest shortfall {gaps[worst]:+.4f} ({worst})' if gaps[worst] < 0
                        else f'SMP >= MiniRocket on every set (smallest margin {gaps[worst]:+.4f}, {worst})')
                     + (f'; more than {MAX_SHORTFALL} below MiniRocket: {", ".join(behind)}' if behind
                        else f'; no set more than {MAX_SHORTFALL} below MiniRocket'))
    elif equal:
        missing = [r['dataset'] for r in equal if not r['smp']]
        lines.append(f'equal-length sets: no mean (no shipped model for {", ".join(missing)})')
    for r in result['rows']:
        if not r['equal_length']:
            if r['smp']:
                lines.append(f'{r["dataset"]} (variable lengths): SMP {r["smp"]["accuracy"]:.4f} vs zero-padded '
                             f'MiniRocket {r["minirocket"]["accuracy"]:.4f} ('
                             + ('above' if r['smp']['accuracy'] > r['minirocket']['accuracy'] else 'not above') + ')')
            else:
                lines.append(f'{r["dataset"]} (variable lengths): no shipped model; zero-padded MiniRocket '
                             f'{r["minirocket"]["accuracy"]:.4f}')
    return lines


def markdown_table(result: Dict) -> str:
    head = ('| data set | train / test, channels x length | SMP model (shipped) | SMP test accuracy | '
            'MiniRocket test accuracy (mean of seeds, range) | SMP - MiniRocket | MiniRocket fit / predict | '
            'SMP scoring |')
    lines = [head, '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in result['rows']:
        length = str(r['max_length']) if r['min_length'] == r['max_length'] else f'{r["min_length"]}-{r["max_length"]}'
        mr = r['minirocket']
        mr_acc = f'{mr["accuracy"]:.4f} ({mr["min"]:.4f}-{mr["max"]:.4f})' + (' zero-padded' if mr['zero_padded'] else '')
        if r['smp']:
            s = r['smp']
            smp = (f'`{s["model"]}`', f'**{s["accuracy"]:.4f}** ({s["correct"]}/{s["n"]})',
                   f'{s["accuracy"] - mr["accuracy"]:+.4f}', f'{s["score_s"]:.2f} s')
        else:
            smp = ('none yet', '-', '-', '-')
        lines.append(f'| {r["dataset"]} | {r["train"]} / {r["test"]}, {r["channels"]} x {length} | {smp[0]} | '
                     f'{smp[1]} | {mr_acc} | {smp[2]} | {mr["fit_s"]:.2f} s / {mr["predict_s"]:.2f} s | {smp[3]} |')
    lines.append('')
    lines += [f'- {line}' for line in summary(result)]
    lines.append('')
    measured = [r['dataset'] for r in result['rows']]
    command = 'python benchmarks/ucr.py' + ('' if measured == list(DATASETS) else ' --datasets ' + ' '.join(measured)) \
        + ('' if list(result['seeds']) == list(SEEDS) else f' --seeds {len(result["seeds"])}')
    lines.append(f'Measured {result["date"][:10]} with `{command}` (smpconvnet '
                 f'{result["smpconvnet"]}, torch {result["torch"]}, timm {result["timm"]}, aeon {result["aeon"]}, '
                 f'{result["threads"]} threads; MiniRocket seeds {", ".join(map(str, result["seeds"]))}, median times).')
    return '\n'.join(lines)


def train_commands(dataset: str) -> List[List[str]]:
    """The ``smpconvnet train-seq`` commands recorded in the shipped model's ``config.json``: ``train_command`` (one
    model), or ``train_commands`` (an ensemble: one per member, to combine with ``write_ensemble_folder``)."""
    from smpconvnet.models import WEIGHTS_DIR
    models = shipped_models()
    if dataset not in models:
        raise SystemExit(f'benchmarks/ucr.py: --train {dataset}: no shipped model for it (shipped: '
                         f'{", ".join(sorted(models)) or "none"})')
    folder = os.path.join(WEIGHTS_DIR, models[dataset])
    with open(os.path.join(folder, 'config.json')) as f:
        config = json.load(f)
    commands = config.get('train_commands') or ([config['train_command']] if config.get('train_command') else None)
    if not commands:
        raise SystemExit(f'benchmarks/ucr.py: {folder}/config.json records no train_command or train_commands: '
                         f'its README.md says how the model was trained')
    return [list(c) for c in commands]


# written into a run folder by --train once its command has finished: which command made the run
TRAINED_BY = 'trained_by.json'
# written by --train when its command started the run in the folder: only such a run is offered --resume
STARTED_BY = 'started_by.json'


def _recorded(folder: str, name: str):
    """The command recorded in ``folder/name`` (``TRAINED_BY`` / ``STARTED_BY``), or None."""
    try:
        with open(os.path.join(folder, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _finished_by(folder: str, command: List[str]) -> bool:
    """Whether ``folder`` holds a finished run of exactly ``command`` (recorded by an earlier ``--train``)."""
    return _recorded(folder, TRAINED_BY) == command and all(os.path.isfile(os.path.join(folder, f))
                                                            for f in ('results.json', 'model.safetensors'))


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler's stop, `kill`) taken as Ctrl-C, so the run's start is recorded and --resume offered."""


@contextlib.contextmanager
def _terminate_as_interrupt():
    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
        yield
        return

    def handler(signum, frame):
        raise _Terminated()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def retrain(dataset: str, output: Optional[str] = None, resume: bool = False) -> int:
    """Run the recorded commands of ``dataset``'s shipped model without ``--force``, into their recorded folders or
    under ``output``: the run folder of a single model; for an ensemble, ``output/member<i>`` for its members and
    ``output/ensemble`` for the combined model (without ``output``: the recorded folders, and ``<first member's
    folder>_ensemble``). A run that an earlier ``--train`` finished with the same command (recorded in its
    ``trained_by.json``) is kept, so an interrupted ensemble resumes; any other run in a folder is left to train-seq,
    which refuses to replace it; ``resume`` continues such a run (``train-seq --resume``: an interrupted ``--train``,
    exactly where it stopped). The ensemble is combined again whenever a member was trained."""
    from smpconvnet.train.seq_trainer import CHECKPOINT_NAME
    commands = [[a for a in c if a != '--force'] for c in train_commands(dataset)]
    ensemble = len(commands) > 1
    folders, trained = [], False
    for i, command in enumerate(commands):
        if output:
            folder = os.path.join(output, f'member{i}') if ensemble else output
            if '--output' in command:
                command[command.index('--output') + 1] = folder
            else:
                command += ['--output', folder]
        folder = command[command.index('--output') + 1]
        folders.append(folder)
        if _finished_by(folder, command):
            print(f'{folder}: kept, finished by this command earlier (delete the folder to train it again)',
                  flush=True)
            continue
        checkpoint = os.path.join(folder, CHECKPOINT_NAME)
        fresh = not os.path.exists(checkpoint)
        run = command + (['--resume'] if resume and not fresh else [])
        print('running:', shlex.join(run), flush=True)
        hint = shlex.join([sys.executable, os.path.abspath(__file__), '--train', dataset] + (
            ['--output', output] if output else []) + ['--resume'])
        interrupted = False
        try:
            with _terminate_as_interrupt():
                rc = subprocess.call([sys.executable, '-m', 'smpconvnet'] + run[1:])
        except KeyboardInterrupt as e:  # subprocess.call kills the run on the way out
            interrupted, rc = True, 143 if isinstance(e, _Terminated) else 130
        if fresh and os.path.isfile(checkpoint):  # this command started the run: it may be resumed
            from smpconvnet.atomic_io import atomic_file
            with atomic_file(os.path.join(folder, STARTED_BY)) as tmp:
                tmp.write_text(json.dumps(command) + '\n')
        if rc != 0:
            if _recorded(folder, STARTED_BY) == command and os.path.isfile(checkpoint) and (interrupted or not resume):
                print(f'\n{"interrupted; c" if interrupted else "C"}ontinue the run in {folder} where it stopped '
                      f'with: {hint}', file=sys.stderr, flush=True)
            elif not fresh and not resume:
                # (a --train killed by SIGKILL before it recorded its start leaves such a run too: --resume
                # continues it)
                print(f'\n{folder} holds a run that this --train did not start, or one it started and was killed '
                      f'before recording it: continue it with {hint}, or pass another --output (ucr.py has no '
                      f'--force)', file=sys.stderr, flush=True)
            return rc
        from smpconvnet.atomic_io import atomic_file
        with atomic_file(os.path.join(folder, TRAINED_BY)) as tmp:
            tmp.write_text(json.dumps(command) + '\n')
        trained = True
    dst = folders[0]
    if ensemble:
        from smpconvnet.weights.folders import write_ensemble_folder
        dst = os.path.join(output, 'ensemble') if output else folders[0].rsplit('_s', 1)[0] + '_ensemble'
        if os.path.exists(dst) and not trained:
            print(f'{dst}: kept, combined from these members earlier', flush=True)
        else:
            write_ensemble_folder(folders, dst, force=True)
            print(f'ensemble of {len(folders)} written to {dst}', flush=True)
    print(f'evaluate it: smpconvnet evaluate-seq {shlex.quote(dst)}', flush=True)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--datasets', nargs='+', default=DATASETS, choices=DATASETS, metavar='NAME',
                        help=f'data sets to measure (default: all eight: {", ".join(DATASETS)})')
    parser.add_argument('--seeds', type=int, default=len(SEEDS), help='MiniRocket seeds 0..N-1 (default: 3)')
    parser.add_argument('--json', metavar='PATH', help='also write every figure to PATH')
    parser.add_argument('--force', action='store_true', help='replace the --json file if it exists')
    parser.add_argument('--markdown', metavar='JSON', help='print the markdown table of a --json file and exit')
    parser.add_argument('--cv', action='store_true',
                        help="MiniRocket on the cross-validation folds of the shipped models' cards, next to the "
                             "cards' held-out results (no test labels)")
    parser.add_argument('--train', metavar='NAME', choices=DATASETS,
                        help="retrain the shipped model for NAME with its card's command (minutes to hours on a CPU)")
    parser.add_argument('--output', metavar='DIR',
                        help="with --train: the run folder (default: the card's, runs/ucr/NAME_s0; an ensemble: "
                             'DIR/member<i> and the combined DIR/ensemble); an existing run there is not replaced')
    parser.add_argument('--resume', action='store_true',
                        help='with --train: continue an interrupted run in its folder (train-seq --resume)')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f'--seeds must be at least 1, got {args.seeds}')
    if (args.output or args.resume) and not args.train:
        parser.error('--output and --resume go with --train NAME (retraining a shipped model)')
    for option, value in (('--json', args.json), ('--markdown', args.markdown)):
        if value is not None and not value.strip():  # '' read as "not given": the long work ran, nothing written
            parser.error(f'{option} is empty: give the file path')
    if args.json and os.path.isdir(args.json):
        parser.error(f'--json {args.json} is a folder: give the file to write')
    if args.markdown and (args.train or args.json or args.cv):
        parser.error('--markdown JSON prints the table of an earlier --json report and exits: '
                     'it takes no --train, --json or --cv')
    if args.cv and args.train:
        parser.error('--cv scores MiniRocket on the cards\' folds; --train NAME retrains a model: one at a time')
    if args.train and (args.json or args.datasets != DATASETS or args.seeds != len(SEEDS)):
        # they were taken and ignored: hours of training, then no --json written
        parser.error('--train NAME retrains one model and measures nothing: it takes no --json, --datasets or '
                     '--seeds (measure it afterwards: smpconvnet evaluate-seq RUN_FOLDER)')
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        parser.error(f'--json {args.json}: the folder {os.path.dirname(os.path.abspath(args.json))} does not exist')
    if args.force and not args.json:
        parser.error('--force replaces the --json file: add --json PATH')
    if args.json and os.path.exists(args.json) and not args.force:  # before the measuring, not after it
        parser.error(f'--json {args.json} exists; add --force to replace it')
    if args.markdown:
        try:
            with open(args.markdown) as f:
                result = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f'benchmarks/ucr.py: --markdown {args.markdown}: not a JSON file of this script ({e})')
        try:
            table = markdown_cv_table(result) if result.get('kind') == 'cv' else markdown_table(result)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            raise SystemExit(f'benchmarks/ucr.py: --markdown {args.markdown}: not a report of this script '
                             f'(written by --json; missing or malformed: {e!r})')
        print(table)
        return 0
    try:
        import aeon  # noqa: F401  (present?)
    except ImportError:
        raise SystemExit('benchmarks/ucr.py needs aeon (the UEA/UCR data and MiniRocket): pip install "smpconvnet[data]"')
    if args.train:
        return retrain(args.train, args.output, args.resume)
    if args.cv:
        result = measure_cv(args.datasets, tuple(range(args.seeds)))
        table = markdown_cv_table(result)
    else:
        result = measure(args.datasets, tuple(range(args.seeds)))
        table = markdown_table(result)
    print(table)
    if args.json:
        from smpconvnet.atomic_io import atomic_file
        with atomic_file(args.json) as tmp:
            with open(tmp, 'w') as f:
                json.dump(result, f, indent=1)
                f.write('\n')
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
