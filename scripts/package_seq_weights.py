#!/usr/bin/env python
"""Package the seed-0 runs of ``scripts/train_aeon.py`` as ``smpconvnet/pretrained/<model>.aeon/``.

Each folder gets ``model.safetensors`` (the run's weights), ``config.json`` (timm/Hub style: architecture,
num_classes, label_names, model_args, pretrained_cfg with input size and preprocessing, and the results), a model
card ``README.md`` and ``manifest.sha256`` (``sha256sum -c`` format). The test accuracy written to the card and
config is re-measured here on the CPU through ``timm.create_model(..., pretrained=True)`` from the packaged folder.
Refuses to replace an existing folder unless ``--force``.

    python scripts/package_seq_weights.py --runs runs/ucr [--datasets OSULeaf ...] [--force]

Only models chosen by the k-fold protocol (``scripts/train_aeon.py``, phase cv) are packaged: the card records the
grid, every fold's held-out count, the choice and the command that reproduces the weights (``train_command``).
"""
import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from smpconvnet.data import sequences as seq_data  # noqa: E402
from smpconvnet.models import seq_zoo  # noqa: E402
from smpconvnet.models.smpconv_tcn import SEQUENCE_DATA_CFG, whole_architecture  # noqa: E402
from smpconvnet.atomic_io import atomic_dir  # noqa: E402
from smpconvnet.weights.folders import foreign_to_model_folder, write_ensemble_folder  # noqa: E402
from smpconvnet.weights.hub import MANIFEST_NAME, read_manifest, sha256_file, write_manifest  # noqa: E402
from smpconvnet.train.seq_trainer import (  # noqa: E402
    FINISHED_COMMAND_NAME, ONE_MEMBER_ARGS, evaluate_pretrained, kfold_choice)

TAG = 'aeon'
SHIPPED_SEED = 0  # fixed before training, not the best seed

RECIPE_NOTES = """Optimiser: Adam, peak lr 2e-3, weight decay 1e-4 on weights only (no decay on radii,
coordinates, biases, norms), cosine schedule over all updates after a 5-epoch linear warm-up from 0, final lr 1% of
the peak; point radii in their own parameter group at 0.1x the learning rate and clamped to [1e-4, 1] after every
step (the point kernel's optimizer hook). Augmentation: per-sample amplitude scaling N(1, 0.1) and Gaussian jitter
(std 0.03) on the standardised series{augmentation}. No early stopping: the model after the last epoch is evaluated
once.{precise_bn}"""
PRECISE_BN_NOTE = """ After the last epoch its BatchNorm running statistics were replaced by those of the whole
training split, without augmentation or dropout (`--precise-bn`, `smpconvnet.train.seq_trainer.recompute_bn_statistics`)."""

def _device_words(command):
    if '--device cuda' in command:
        return 'a GPU'
    return "this project's 2-core CPU"


def _card_header(name, z, summary, margs):
    """Front matter, title, what the model is and how to load it: the start of every card."""
    ds = z['dataset']
    pool = {'avg': 'mean over the steps', 'last': 'last step', 'max': 'maximum over the steps',
            'avgmax': 'mean of the maximum and the mean over the steps'}[margs['global_pool']]
    if margs.get('zero_pad_to'):
        pool += f" of the series zero-padded to {margs['zero_pad_to']} steps (`zero_pad_to`: the padding included)"
    span = (f"kernels of {margs['kernel_length']} taps" if margs.get('kernel_length')
            else 'every kernel as long as the input')
    if margs.get('first_difference'):
        span += (f" reading each series and its first difference (`first_difference=True`: "
                 f"{2 * margs['in_chans']} input channels)")
    members = margs.get('num_members')
    kind = 'causal' if margs.get('causal', True) else "centred ('same', `causal=False`)"
    what = f'An ensemble of {members} {kind} SMP-TCNs' if members else f'A {kind} SMP-TCN'
    each = (f'Its members (`SMPConvTCNEnsemble`) are one recipe trained with seeds 0-{members - 1}; it classifies by '
            f'their mean class probabilities. Each member: ' if members else '')
    cost = (f' in all ({members} x {summary["parameters"] // members:,}); parameters, compute and memory are '
            f'{members} times one member\'s' if members else '')
    return f"""---
license: mit
library_name: timm
tags: [timm, time-series-classification, smpconv]
datasets: [{ds}]
---
# {name}.{TAG}

{what} (self-moving point kernels, SMPConv, CVPR 2023) trained by this project on **{ds}**
({z['description']}). {each}{margs['num_blocks']} blocks x {margs['hidden_channels']} channels, {margs['n_points']} points
per kernel, {span}, classifier on the {pool};
{summary['parameters']:,} parameters{cost}.

```python
import timm, smpconvnet
model = timm.create_model('{name}', pretrained=True).eval()   # loads smpconvnet/pretrained/{name}.{TAG}/ offline
```
"""


def _last_value(command, flag):
    # the value argparse uses: that of the flag's last occurrence
    words = command.split()
    return words[len(words) - 1 - words[::-1].index(flag) + 1]


def _card_cv(name, z, summary, cfg, evaluated, command):
    """The model card of a model chosen by k-fold cross-validation (scripts/train_aeon.py, phase cv)."""
    ds = z['dataset']
    cv, fin = summary['cv'], summary['final']
    margs = cfg['model_args']
    arch = ', '.join(f'{k}={v!r}' for k, v in margs.items())
    last = summary['last_epoch']
    epochs, batch = _last_value(command, '--epochs'), _last_value(command, '--batch-size')
    # the augmentation beyond amplitude scaling and jitter the command asked for
    augmentation = (f", a random circular shift of up to {float(_last_value(command, '--aug-shift')):.0%} of the "
                    f"length" if '--aug-shift' in command.split() else '')
    if '--aug-warp' in command.split():
        window = 1 - float(_last_value(command, '--aug-warp'))
        augmentation += (f", window slicing (a random window of {window:.0%} to all of the series stretched back to "
                         f"its length)")
    if '--mixup' in command.split():
        a = _last_value(command, '--mixup')
        augmentation += (f"; mixup: each batch mixed with a permutation of itself, series and labels, with one "
                         f"Beta({a}, {a}) weight")

    def arguments(c):
        if c.get('members'):
            return f"`{c['args']}` ({c['ensemble_of']}), {c['members']} seeds, mean probabilities"
        return f"`{c['args']}`"

    grid = '\n'.join(
        f"| {k}{' (chosen)' if k == cv['chosen'] else ''} | {arguments(c)} | {_per_fold(c['folds'])} | "
        f"**{c['accuracy']:.4f}** | {sum(c['train_time_s'].values()):.0f} s |" for k, c in cv['candidates'].items())
    check = _repeated_check_text(cv) if cv.get('repeated') else ''
    members = margs.get('num_members', 1)
    ensembles = ('; an ensemble candidate adds seeds 1.. of its base candidate on every fold and is scored by '
                 'the mean class probabilities of its members (CPU time: all members, its seed-0 runs, the base\'s, '
                 'included; the cross-validation total below counts every run once)'
                 if any(c.get('members') for c in cv['candidates'].values()) else '')
    final_time = summary['final_train_time_s']
    equal = summary['min_length'] == z['length']
    padding = ('(all sequences have this length).' if equal else
               f'and the true lengths passed as `lengths=` (sequences have {summary["min_length"]}-{z["length"]} steps). '
               f'Pad every series to exactly L, as in training: the kernels are sampled on a grid of L taps, so '
               f'unpadded series or another L give other (less accurate) predictions.')
    if margs.get('zero_pad_to') and not equal:
        padding = (f'(sequences have {summary["min_length"]}-{z["length"]} steps). The model reads every series '
                   f'zero-padded to {margs["zero_pad_to"]} steps (`zero_pad_to`): the padding is input, so a '
                   f'series\' length is visible to it, as to MiniRocket run on zero-padded series; it pads shorter '
                   f'input itself, and with `lengths=` the padding\'s values do not matter.')
    return _card_header(name, z, summary, margs) + f"""
Test accuracy ({ds} test split, {evaluated['n']} samples, measured once, on the final model): **{evaluated['accuracy']:.4f}**
({evaluated['correct']}/{evaluated['n']}). Re-measure it: `smpconvnet evaluate-seq {name}.{TAG}`; side by side with
MiniRocket: `python benchmarks/ucr.py`.

## Data and preprocessing
- `aeon.datasets.load_classification('{ds}', split='train'|'test')` (the UEA/UCR files shipped in the aeon wheel,
  offline), default train/test split.
- Classes: aeon's label strings in `smpconvnet.data.sequences.label_order`, `label_names` = {list(z['label_names'])}
  (classifier index i is `label_names[i]`).
- Per-channel standardisation with the training split's mean and std over all samples and (true) steps, recorded
  in `pretrained_cfg['mean']`, `pretrained_cfg['std']`: feed `(x - mean) / std`.
- Input `[B, {margs['in_chans']}, L]`, right-padded with zeros to L = {z['length']}
  (`pretrained_cfg['input_size'] = {tuple(cfg['pretrained_cfg']['input_size'])}`: channels, 1, length) {padding}

## Model selection: {cv['folds']}-fold cross-validation on the training split
The training split ({summary['n_train']} series) was cut into {cv['folds']} stratified folds
(`smpconvnet.data.sequences.stratified_kfold`, seed 0). Each candidate of the grid, fixed before its round ran, was
trained {cv['folds']} times (seed 0) on {cv['folds'] - 1} of the {cv['folds']} folds and scored on the held-out one (`train-seq --cv-folds
{cv['folds']} --cv-fold k --no-test`){ensembles}. The most correct held-out predictions over all folds won (ties: the first
listed){'; a repeated check (below) then broke a tie' if check else ''}; the test split was not read. (Every fold used the standardisation statistics of the whole training
split, the ones shipped: a global per-channel mean and std, no labels.){_grid_base_text(cv)}

| candidate | arguments | held out, per fold | cross-validated accuracy | CPU time, all folds |
| --- | --- | --- | --- | --- |
{grid}
{chr(10) + cv['note'] + chr(10) if cv.get('note') else ''}{check}
## Training
Architecture: `{arch}`.

{epochs} epoch{'' if epochs == '1' else 's'}, batch size {batch}. {RECIPE_NOTES.format(augmentation=augmentation, precise_bn=PRECISE_BN_NOTE if '--precise-bn' in command.split() else '')}
At the last epoch{' (seed 0)' if members > 1 else ''}: training loss {last['train_loss']:.4f}, training accuracy {last['train_acc']:.3f} (on augmented
batches).

{_commands_text(ds, command, members, fin)}

CPU time on {_device_words(command)}: cross-validation {cv['cpu_time_s']:.0f} s{f", its repeated check {cv['repeated']['cpu_time_s']:.0f} s" if check else ''}, final training
{final_time:.0f} s{' (all members)' if members > 1 else ''} (each run a single thread, with up to two runs sharing the two cores: upper bounds for one run on an idle CPU).

## Source and licence
Architecture after Kim & Park, "SMPConv: Self-moving Point Representations for Continuous Convolution", CVPR 2023
(https://github.com/sangnekim/SMPConv, MIT). Weights trained by the smpconvnet project, MIT.
"""


def _per_fold(folds):
    # held out per fold, in fold order: '6/8 7/7 ...'
    return ' '.join('{correct}/{n}'.format(**f) for _, f in sorted(folds.items(), key=lambda kv: int(kv[0])))


def _grid_base_text(cv):
    """The card's sentence on the architecture the candidates' arguments are relative to, where the set's variant was
    redefined after its grid was set (``cv['grid_base']``, scripts/train_aeon.py)."""
    base = cv.get('grid_base')
    if not base:
        return ''
    arch = ', '.join(f'{k}={v!r}' for k, v in base['architecture'].items())
    kwargs = ' '.join(shlex.quote(w) for w in base['model_kwargs'])
    return (f"\n\nThe candidates' arguments are relative to the architecture registered for this set when the grid "
            f"was set: `{arch}`. The variant was redefined since (the chosen model's architecture), so the cv runs "
            f"build that architecture as `--model {base['model']}{' --model-kwargs ' + kwargs if kwargs else ''}` "
            f"with the candidate's own arguments (the same network: the data set gives in_chans and num_classes); "
            f"the final run trains the registered variant.")


def _repeated_check_text(cv):
    """The card's section on the repeated check (``kfold_choice``'s tie-break over further cuts of the training
    split): its rule, every checked candidate's held-out predictions per cut and in all, and the choice."""
    check = cv['repeated']
    seeds = check['split_seeds']
    cuts = len(seeds) + 1

    def total(folds):
        return sum(f['correct'] for f in folds.values()), sum(f['n'] for f in folds.values())
    rows = []
    for name, c in check['candidates'].items():
        cells = [cv['candidates'][name]['folds']] + [c['splits'][str(s)]['folds'] for s in seeds]
        correct = sum(total(f)[0] for f in cells)
        n = sum(total(f)[1] for f in cells)
        rows.append(f"| {name}{' (chosen)' if name == cv['chosen'] else ''} | "
                    + ' | '.join(f'{_per_fold(f)} ({total(f)[0]}/{total(f)[1]})' for f in cells)
                    + f" | **{correct}/{n}** ({correct / n:.4f}) | "
                    f"{sum(sum(sp['train_time_s'].values()) for sp in c['splits'].values()):.0f} s |")
    head = ' | '.join(f'split seed {s}' for s in [0] + seeds)
    more = f"{len(seeds)} more cut{'s' if len(seeds) > 1 else ''}"
    return f"""
### Repeated check: split seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}
A tie-break: the candidates tied for the most correct held-out predictions on split seed 0 were cross-validated
again on {more} of the training split into {cv['folds']} stratified folds (`train-seq ... --cv-folds {cv['folds']} --cv-fold k
--split-seed S --no-test`, seed 0, each candidate's grid command otherwise; `scripts/train_aeon.py --phase cv
--split-seeds {' '.join(map(str, seeds))} --candidates ...`), the seeds set before these runs. Of them, the most correct
held-out predictions over all {cuts} cuts won (ties: the first listed); the test split was not read.

| candidate | {head} | all {cuts} cuts | CPU time, split seeds {', '.join(map(str, seeds))} |
| --- | {' | '.join('---' for _ in range(cuts))} | --- | --- |
{chr(10).join(rows)}
{chr(10) + check['note'] + chr(10) if check.get('note') else ''}"""


def single_member(words):
    """train-seq arguments that build one SMP-TCN of the model they name: ``num_members=1`` added (a registered
    ensemble builds all its members otherwise, trained jointly, which the shipped members were not)."""
    return list(words) if ONE_MEMBER_ARGS[1] in words else list(words) + ONE_MEMBER_ARGS


def member_commands(command, members):
    """The train-seq arguments of every member: ``command`` (seed 0's) with seed i and output folder ``..._s<i>``, each
    building one SMP-TCN (``single_member``) where there are several."""
    words = shlex.split(command)
    words = single_member(words) if members > 1 else words
    out = []
    for seed in range(members):
        w = list(words)
        w[w.index('--seed') + 1] = str(seed)
        w[w.index('--output') + 1] = w[w.index('--output') + 1].rsplit('_s', 1)[0] + f'_s{seed}'
        out.append(w)
    return out


def _commands_text(ds, command, members, fin):
    if members == 1:
        return f"""Exact command (seed {SHIPPED_SEED}, the shipped weights; `python benchmarks/ucr.py --train {ds}` runs it):

```
smpconvnet train-seq {command}
```"""
    runs = '\n'.join('smpconvnet train-seq ' + shlex.join(w) for w in member_commands(command, members))
    scores = ', '.join(f'seed {k}: {v:.4f}' for k, v in sorted(((int(k), v) for k, v in fin['test_accuracy'].items())))
    return f"""Exact commands, one per member (seeds 0-{members - 1}, all shipped; `python benchmarks/ucr.py --train {ds}` runs them
and combines the runs with `smpconvnet.weights.folders.write_ensemble_folder`):

```
{runs}
```

Each run also scored its own model on the test split at its end (train-seq's report, not used for any choice):
{scores}."""


def check_finished(run, words, required, retrain):
    """A ``ValueError`` unless ``run`` finished (its ``results.json``) and the command it records as finished
    (``FINISHED_COMMAND_NAME``, written by ``scripts/train_aeon.py``) is ``words`` (``train-seq ...``) but for the
    output folder. ``required``: a run without the record is refused too (ensemble members: nothing else says which
    recipe each member ran; single runs trained before the record existed are checked by their epochs).
    ``retrain``: the command the errors print, which trains the run again."""
    if not (run / 'results.json').exists():
        raise ValueError(f'{run}: the final run did not finish (no results.json; its log: {run / "train.log"}): '
                         f'train it again: {retrain}')
    record = run / FINISHED_COMMAND_NAME
    if not record.exists():
        if required:
            raise ValueError(f'{run}: no {FINISHED_COMMAND_NAME} (the record of the command that finished there): '
                             f'train it: {retrain}')
        return

    def without_output(w):
        w = list(w)
        w[w.index('--output') + 1] = '...'
        return w
    recorded = json.loads(record.read_text())
    if ONE_MEMBER_ARGS[1] in words:  # a member's run, recorded before the commands said so (its model_args tell)
        recorded = single_member(recorded)
    if without_output(recorded) != without_output(words):
        raise ValueError(f'{run} was trained by {shlex.join(recorded)!r}, not by the chosen candidate\'s '
                         f'{shlex.join(words)!r}: train it again: {retrain}')


# what the packager writes into config.json besides the run's own config (shipped_final reads the rest back)
CARD_KEYS = ('results', 'model_selection', 'train_command', 'train_commands', 'final_run')


def shipped_final(folder, command, members, retrain):
    """The final run of a shipped folder, for a summary seeded from its card (``scripts/train_aeon.py`` on a machine
    without the runs): its weights and config, whose ``final_run`` records what the card states of the run (parameters,
    final training time, the last epoch's log). A ``ValueError`` naming what is wrong unless the folder is intact (its
    files as its ``manifest.sha256`` lists them), was trained by ``command`` (the summary's final command) with
    ``members`` members and records its final run; ``retrain``: the command that trains the final run instead."""
    folder = Path(folder)
    try:
        cfg = json.loads((folder / 'config.json').read_text())
        listed = read_manifest(folder)
    except (OSError, ValueError) as e:
        raise ValueError(f'{folder}: no shipped model to keep ({e}): check --weights (the folder of the shipped '
                         f'models, default smpconvnet/pretrained), or train the final run: {retrain}') from e
    changed = [name for name, digest in listed.items() if sha256_file(folder / name) != digest]
    if changed or not {'model.safetensors', 'config.json'} <= set(listed):
        raise ValueError(f'{folder}: {", ".join(changed) or "model.safetensors / config.json"} not as its '
                         f'{MANIFEST_NAME} lists (the shipped folder was changed): restore it ({_restore(folder)}) '
                         f'or train the final run: {retrain}')
    if 'final_run' not in cfg:
        raise ValueError(f'{folder}/config.json records no final_run (what its card states of the final run: a card '
                         f'packaged before it was recorded): train the final run: {retrain}')
    shipped = cfg.get('train_commands', [cfg.get('train_command')])[0]
    expected = ['smpconvnet', 'train-seq'] + member_commands(command, max(members, 1))[0]
    if shipped != expected or cfg.get('model_args', {}).get('num_members', 1) != members:
        raise ValueError(f'{folder} was trained by {shlex.join(shipped or [])!r}, not by the summary\'s final '
                         f'command {shlex.join(expected)!r} ({members} member(s)): train the final run: {retrain}')
    return {'weights': folder / 'model.safetensors', 'config': cfg}


def _restore(folder):
    # how to get a shipped folder back: from git where it is the repository's, else from wherever it was copied
    folder = Path(folder).resolve()
    if REPO in folder.parents:
        return f'git -C {shlex.quote(str(REPO))} checkout -- {shlex.quote(str(folder.relative_to(REPO)))}'
    return f'copy it again from {REPO / "smpconvnet" / "pretrained" / folder.name}'


def _ordered_like(d, like):
    # the keys of d in the order of like's, new keys last
    order = list(like)
    return dict(sorted(d.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def check_selection(ds, cv, final_command):
    """A ``ValueError`` unless the summary's k-fold record is one the card may state: every candidate scored on every
    fold (and a repeated check's on every fold of its split seeds), ``chosen`` the protocol's choice (``kfold_choice``:
    the most accurate, ties the first recorded; a repeated check's tie-break), and the final run trained that
    candidate (its command ends with the candidate's arguments, then, for a member of a registered ensemble,
    ``--model-kwargs num_members=1``)."""
    best, partial = kfold_choice(cv, list(cv.get('candidates') or {}) if isinstance(cv, dict) else [])
    if partial:
        raise ValueError(f'{ds}: candidates {partial} were not scored on all {cv["folds"]} folds')
    if cv.get('chosen') != best:
        raise ValueError(f'{ds}: the summary records {cv.get("chosen")!r} as chosen, but {best!r} cross-validated best')
    if not final_command.removesuffix(' ' + shlex.join(ONE_MEMBER_ARGS)).endswith(' ' + cv['candidates'][best]['args']):
        raise ValueError(f'{ds}: the final run ({final_command!r}) did not train the chosen candidate {best!r} '
                         f'({cv["candidates"][best]["args"]}): run --phase final again')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default='runs/ucr', help='the --out folder of scripts/train_aeon.py')
    ap.add_argument('--weights', default=str(REPO / 'smpconvnet' / 'pretrained'))
    ap.add_argument('--datasets', nargs='*', default=None, metavar='NAME',
                    choices=[z['dataset'] for z in seq_zoo.SEQ_ZOO.values()],
                    help='package only these data sets (default: every one with a k-fold selection and a final run '
                         'in RUNS/summary.json)')
    ap.add_argument('--force', action='store_true')
    args = ap.parse_args()
    if args.datasets is not None and not args.datasets:
        ap.error('--datasets needs at least one name (without the option: every set with a final run)')
    runs = Path(args.runs)
    train_aeon = shlex.join([sys.executable, str(REPO / 'scripts' / 'train_aeon.py'), '--out', str(runs)])
    try:
        summary = json.loads((runs / 'summary.json').read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f'--runs {runs}: expected the --out folder of scripts/train_aeon.py, with its summary.json '
                         f'({e}); train first: {train_aeon}'
                         + (f' --datasets {" ".join(args.datasets)}' if args.datasets else
                            ' (all eight sets: days on a CPU; one set: add --datasets and its name)')) from e
    for name, z in seq_zoo.SEQ_ZOO.items():
        ds = z['dataset']
        if args.datasets is not None and ds not in args.datasets:
            continue
        recorded = {'cv', 'final'} <= set(summary.get(ds, {}))
        if args.datasets is None and not recorded:
            print(f'{ds}: skipped (no k-fold selection and final run in {runs / "summary.json"})')
            continue
        if not recorded:
            raise ValueError(f'{runs / "summary.json"}: no k-fold selection (phase cv) and final run recorded for '
                             f'{ds}: run {train_aeon} --datasets {ds} first')
        ds_summary = dict(summary[ds])
        try:
            check_selection(ds, ds_summary['cv'], ds_summary['final']['command'])
        except ValueError as e:  # a hand-edited summary: named as train_aeon.py names it
            raise ValueError(f'{runs / "summary.json"}: {e if str(e).startswith(ds) else f"{ds}: {e}"}') from e
        # an ensemble candidate ships seeds 0..members-1 of its recipe, a single one seed SHIPPED_SEED
        members = ds_summary['cv']['candidates'][ds_summary['cv']['chosen']].get('members', 1)
        if z['arch'].get('num_members', 1) != members:
            raise ValueError(f'{ds}: the chosen candidate has {members} member(s), the registered {name} '
                             f'{z["arch"].get("num_members", 1)}: set num_members in its SEQ_ZOO entry '
                             f'(smpconvnet/models/seq_zoo.py)')
        member_runs = [runs / 'final' / f'{ds}_s{seed}' for seed in (range(members) if members > 1 else [SHIPPED_SEED])]
        run = member_runs[0]
        dst = Path(args.weights) / f'{name}.{TAG}'
        if dst.exists() and not args.force:
            raise FileExistsError(f'{dst} exists (pass --force to replace it)')
        command = ds_summary['final']['command'].split('train-seq ', 1)[1].replace('--output runs/', '--output runs/ucr/', 1)
        shipped = None
        # --keep-finished: members that finished by the chosen command are not trained again
        retrain = f'{train_aeon} --phase final --datasets {ds} --seeds 1 --keep-finished'
        if ds_summary['final'].get('from_card') and not (run / 'results.json').exists():
            # the final run is the shipped folder's (its summary seeded from the card on a machine without the runs):
            # the card is rewritten around the same weights, e.g. with a grid that grew and kept its choice
            shipped = shipped_final(dst, command, members, retrain)
        words_of_seed = member_commands(ds_summary['final']['command'].split('smpconvnet ', 1)[1],
                                        max(members, SHIPPED_SEED + 1))
        # run folders record the whole architecture (class defaults included), earlier ones what they overrode
        registered = whole_architecture(dict(z['arch'], **({'num_members': members} if members > 1 else {})))
        if shipped:
            mismatch = {k: v for k, v in shipped['config']['model_args'].items() if registered.get(k) != v}
            if shipped['config'].get('architecture') != name or mismatch:
                raise ValueError(f'{dst} records {shipped["config"].get("architecture")} {mismatch}, which is not '
                                 f'the registered {name} {z["arch"]}')
        for member, words in zip([] if shipped else member_runs,
                                 words_of_seed[:members] if members > 1 else [words_of_seed[SHIPPED_SEED]]):
            check_finished(member, words, required=members > 1, retrain=retrain)
            run_cfg = json.loads((member / 'config.json').read_text())
            # a member run is one SMP-TCN of the registered ensemble (num_members=1, or none recorded)
            mismatch = {k: v for k, v in run_cfg['model_args'].items()
                        if (k == 'num_members' and v != 1) or (k != 'num_members' and registered.get(k) != v)}
            if run_cfg['architecture'] != name or mismatch:
                raise ValueError(f'{member} was trained as {run_cfg["architecture"]} {run_cfg["model_args"]}, which '
                                 f'is not the registered {name} {z["arch"]}')
        if shipped:
            final_run = shipped['config']['final_run']
        else:
            run_results = json.loads((run / 'results.json').read_text())
            if _last_value(ds_summary['final']['command'], '--epochs') != str(run_results['epochs']):  # what ran
                raise ValueError(f'{run} ran {run_results["epochs"]} epochs but the summary records the command '
                                 f'{ds_summary["final"]["command"]!r}')
            times = {int(k): v for k, v in ds_summary['final']['train_time_s'].items()}
            final_run = {'parameters': run_results['parameters'] * members,
                         'train_time_s': round(sum(times[s] for s in (range(members) if members > 1
                                                                      else [SHIPPED_SEED])), 1),
                         'last_epoch': json.loads((run / 'log.jsonl').read_text().splitlines()[-1])}
        ds_summary.update(parameters=final_run['parameters'], last_epoch=final_run['last_epoch'],
                          final_train_time_s=final_run['train_time_s'])
        train_split = seq_data.load_aeon(ds, 'train')
        test_split = seq_data.load_aeon(ds, 'test', label_names=train_split.label_names)
        ds_summary['n_train'] = len(train_split)
        ds_summary['min_length'] = min(int(train_split.lengths.min()), int(test_split.lengths.min()))

        with atomic_dir(dst, force=True, foreign=foreign_to_model_folder) as tmp:  # replaced only once complete
            if shipped:
                shutil.copyfile(shipped['weights'], tmp / 'model.safetensors')
                cfg = {k: v for k, v in shipped['config'].items() if k not in CARD_KEYS}
            elif members > 1:
                combined = write_ensemble_folder(member_runs, tmp / 'ensemble')
                shutil.move(str(combined / 'model.safetensors'), tmp / 'model.safetensors')
                cfg = json.loads((combined / 'config.json').read_text())
                shutil.rmtree(combined)
            else:
                shutil.copyfile(run / 'model.safetensors', tmp / 'model.safetensors')
                cfg = json.loads((run / 'config.json').read_text())
            # the full architecture, so the folder rebuilds the same network wherever it is loaded (local-dir:, Hub)
            cfg['model_args'] = {**z['arch'], **cfg['model_args']}
            # SEQUENCE_DATA_CFG: runs trained before train-seq recorded it would load with timm's image defaults
            cfg['pretrained_cfg'] = dict(cfg['pretrained_cfg'], tag=TAG, description=z['description'], license='mit',
                                         **SEQUENCE_DATA_CFG)
            (tmp / 'config.json').write_text(json.dumps(cfg, indent=2) + '\n')
            evaluated = evaluate_pretrained(f'local-dir:{tmp}')
            recorded = shipped and shipped['config'].get('results', {}).get('test', {})
            if shipped and (evaluated['correct'], evaluated['n']) != (recorded.get('correct'), recorded.get('n')):
                raise ValueError(f'{dst}: the kept weights score {evaluated["correct"]}/{evaluated["n"]} on the test '
                                 f'split, its card records {recorded.get("correct")}/{recorded.get("n")}: the '
                                 f'folder is not the one its card describes; restore it ({_restore(dst)}) or train '
                                 f'the final run: {train_aeon} --phase final --datasets {ds} --seeds 1')
            cfg['results'] = {'test': {k: evaluated[k] for k in ('accuracy', 'correct', 'n')},
                              'test_accuracy_per_seed': ds_summary['final']['test_accuracy'],
                              'test_accuracy_mean': ds_summary['final']['mean'],
                              'test_accuracy_std': ds_summary['final']['std'],
                              **({'member_seeds': list(range(members))} if members > 1
                                 else {'shipped_seed': SHIPPED_SEED})}
            # the k-fold protocol: the selection and the command that reproduces the weights
            check = ds_summary['cv'].get('repeated')
            cfg['model_selection'] = {'protocol': f'{ds_summary["cv"]["folds"]}-fold cross-validation' + (
                                          f', repeated on split seeds {", ".join(map(str, check["split_seeds"]))} '
                                          f'(a tie-break)' if check else ''),
                                      **ds_summary['cv']}
            if members > 1:  # one command per member (benchmarks/ucr.py --train runs them and combines the runs)
                cfg['train_commands'] = [['smpconvnet', 'train-seq'] + w for w in member_commands(command, members)]
            else:
                cfg['train_command'] = ['smpconvnet', 'train-seq'] + shlex.split(command)
            # what the card states of the final run, so that it can be rewritten without the run (shipped_final)
            cfg['final_run'] = final_run
            if shipped:  # the shipped file's key order: the rewritten config differs from it only in content
                cfg = _ordered_like(cfg, shipped['config'])
                cfg['model_selection'] = _ordered_like(cfg['model_selection'], shipped['config']['model_selection'])
            (tmp / 'config.json').write_text(json.dumps(cfg, indent=2) + '\n')
            (tmp / 'README.md').write_text(_card_cv(name, z, ds_summary, cfg, evaluated, command))
            write_manifest(tmp)
        print(f'{dst}: test accuracy {evaluated["accuracy"]:.4f} ({evaluated["correct"]}/{evaluated["n"]})')


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileExistsError, FileNotFoundError) as e:  # what the user can fix: one line, no traceback
        sys.exit(f'{Path(__file__).name}: {e}')
