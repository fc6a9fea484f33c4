"""``smpconvnet train-seq`` and ``evaluate-seq``: train a sequence model on a UEA/UCR set or the adding problem, and
re-evaluate a trained one."""
import argparse
import json
import time
from dataclasses import fields

from ..data.sequences import ADDING_BASELINE_MSE
from ..train import seq_trainer
from ..train.seq_trainer import TrainConfig, evaluate_pretrained, parse_model_kwargs, train
from ._args import LOAD_KWARGS_HELP, add_model_kwargs_argument, model_kwargs_of


def _run_train(args) -> int:
    # the options that act only with another one default to None here: given is told from omitted, and a given one
    # that would do nothing is refused even at its default value (the library can refuse other values only)
    given = [k for k in seq_trainer.IDLE_OPTIONS if getattr(args, k) is not None]
    for k in seq_trainer.IDLE_OPTIONS:
        if getattr(args, k) is None:
            setattr(args, k, getattr(TrainConfig, k))
    names = {f.name for f in fields(TrainConfig)} - {'model_kwargs'}
    cfg = TrainConfig(model_kwargs=parse_model_kwargs(args.model_kwargs), **{k: v for k, v in vars(args).items() if k in names})
    seq_trainer.check_idle_options(cfg, given)
    results = train(cfg)
    print(json.dumps(results))
    return 0


def _run_eval(args) -> int:
    t0 = time.perf_counter()
    r = evaluate_pretrained(args.model, args.dataset, args.split, args.batch_size, model_kwargs=model_kwargs_of(args))
    if 'mse' in r:  # an adding-problem model (a regression)
        score = (f'MSE {r["mse"]:.4f} over {r["n"]} sequences (a constant 1, the mean, expects '
                 f'{ADDING_BASELINE_MSE:.4f}: the target\'s variance)')
    else:
        score = f'accuracy {r["accuracy"]:.4f} ({r["correct"]}/{r["n"]})'
    weights = f' ({r["weights"]}, which timm reads first)' if r.get('weights') else ''
    print(f'{r["model"]}{weights} on {r["dataset"]} ({r["split"]} split): {score} in {time.perf_counter() - t0:.1f}s')
    return 0


def add_parser(subparsers):
    d = TrainConfig
    p = subparsers.add_parser(
        'train-seq', help='train a sequence model (SMP-TCN) on a UEA/UCR set from aeon or the adding problem',
        description=seq_trainer.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default=d.model, help='registered timm model name (default: %(default)s)')
    add_model_kwargs_argument(p)
    p.add_argument('--dataset', default=d.dataset, help="aeon UEA/UCR name, or 'adding' (default: %(default)s)")
    p.add_argument('--epochs', type=int, default=d.epochs)
    p.add_argument('--batch-size', type=int, default=d.batch_size)
    p.add_argument('--lr', type=float, default=d.lr, help='peak Adam learning rate (default: %(default)s)')
    p.add_argument('--weight-decay', type=float, default=d.weight_decay, help='not applied to radii, biases, norms')
    p.add_argument('--radius-lr-factor', type=float, default=d.radius_lr_factor)
    p.add_argument('--warmup-epochs', type=float, default=d.warmup_epochs)
    p.add_argument('--min-lr-ratio', type=float, default=d.min_lr_ratio, help='final lr as a fraction of --lr')
    p.add_argument('--label-smoothing', type=float, default=None,
                   help=f'classification: label smoothing (default: {d.label_smoothing})')
    p.add_argument('--augment', action='store_true', help='amplitude scaling and jitter, and the --aug-shift / --aug-warp / --aug-flip given')
    p.add_argument('--aug-scale', type=float, default=None,
                   help=f'with --augment: per-series amplitude scaling N(1, this) (default: {d.aug_scale})')
    p.add_argument('--aug-jitter', type=float, default=None,
                   help=f'with --augment: Gaussian jitter of this std (default: {d.aug_jitter})')
    p.add_argument('--aug-shift', type=float, default=d.aug_shift,
                   help='with --augment: max circular shift, fraction of length (equal lengths)')
    p.add_argument('--aug-warp', type=float, default=d.aug_warp,
                   help='with --augment: window slicing: crop up to this fraction of the length, stretch back '
                        '(equal lengths)')
    p.add_argument('--aug-flip', type=float, default=None,
                   help=f'with --augment: probability of reversing a series in time (its mirror image, on sets of '
                        f'outlines) (default: {d.aug_flip})')
    p.add_argument('--mixup', type=float, default=d.mixup, help='mixup Beta(a, a) parameter a (0: off)')
    p.add_argument('--grad-clip', type=float, default=d.grad_clip, help='max gradient norm (0: off)')
    p.add_argument('--precise-bn', action='store_true',
                   help='after the last epoch, replace the BatchNorm running statistics of the exported model by '
                        'those of the whole training split (no augmentation, no dropout); checkpoint.pth keeps '
                        "training's. With --resume on a finished run: applies it (or, without it, exports the "
                        "checkpoint's statistics again)")
    p.add_argument('--model-ema', action='store_true',
                   help="keep an exponential moving average of the weights (timm's ModelEmaV3, updated every step); "
                        'it is what is validated, evaluated and exported (checkpoint.pth keeps both)')
    p.add_argument('--model-ema-decay', type=float, default=None,
                   help=f'with --model-ema: the decay per update (default: {d.model_ema_decay}, about the last '
                        f'{round(1 / (1 - d.model_ema_decay))} updates)')
    p.add_argument('--model-ema-warmup', action='store_true', default=None,
                   help="with --model-ema: timm's warm-up of the decay (train.py's option): 1 - t^(-2/3) at update "
                        't, up to --model-ema-decay, so that the first updates fade from the average early')
    p.add_argument('--val-fraction', type=float, default=None,
                   help='UEA/UCR sets: hold out this stratified fraction of the training split for validation '
                        f'(default: {d.val_fraction}, none)')
    p.add_argument('--cv-folds', type=int, default=None,
                   help='UEA/UCR sets, cross-validation: split the training split into this many stratified folds '
                        f'(default: {d.cv_folds}, off)')
    p.add_argument('--cv-fold', type=int, default=None,
                   help=f'with --cv-folds: the fold (0-based) held out for validation (default: {d.cv_fold})')
    p.add_argument('--split-seed', type=int, default=None,
                   help=f'with --val-fraction or --cv-folds: seed of the validation hold-out or of the folds '
                        f'(default: {d.split_seed})')
    p.add_argument('--no-test', dest='eval_test', action='store_false', help='do not evaluate on the test split')
    p.add_argument('--seed', type=int, default=d.seed)
    p.add_argument('--output', required=True, help='run folder (checkpoint, log, exported model)')
    p.add_argument('--resume', action='store_true', help='continue the run in --output exactly where it stopped')
    p.add_argument('--force', action='store_true', help='start over, replacing an existing checkpoint')
    p.add_argument('--no-progress', dest='progress', action='store_false', help='no progress bar')
    p.add_argument('--length', type=int, default=None,
                   help='UEA/UCR sets: input length sequences are padded to (default: the longest sequence of the '
                        'data set)')
    p.add_argument('--device', default=d.device, help="torch device, e.g. cuda (default: %(default)s)")
    p.add_argument('--threads', type=int, default=d.threads, help="torch CPU threads (0: torch's default)")
    p.add_argument('--adding-length', type=int, default=None,
                   help=f'with --dataset adding: steps per sequence (default: {d.adding_length})')
    p.add_argument('--adding-train', type=int, default=None,
                   help=f'with --dataset adding: training sequences (default: {d.adding_train})')
    p.add_argument('--adding-test', type=int, default=None,
                   help=f'with --dataset adding: test sequences (default: {d.adding_test})')
    p.set_defaults(func=_run_train)

    e = subparsers.add_parser(
        'evaluate-seq', help='re-evaluate a trained sequence model on its data set (test split by default)',
        description='Load MODEL with its weights (a registered name with tag, e.g. smpconv_tcn_osuleaf.aeon; '
                    'hf-hub:/local-dir: name or folder of a train-seq run or of `smpconvnet reparam`; a checkpoint '
                    "of train-seq or timm's train.py), apply the preprocessing recorded in its pretrained_cfg and "
                    'print its accuracy on the split (an adding-problem model: its MSE on the split train-seq drew).')
    e.add_argument('model', help='model name, hf-hub:org/name, local-dir:/path, folder or checkpoint file')
    e.add_argument('--dataset', default=None, help='aeon data set (default: the one recorded for the model)')
    e.add_argument('--split', default='test', choices=['train', 'test'], help='the split to score (default: test)')
    e.add_argument('--batch-size', type=int, default=64,
                   help='sequences per forward pass (default: 64; memory only: every batch is padded to the '
                        'same length)')
    add_model_kwargs_argument(e, LOAD_KWARGS_HELP)
    e.set_defaults(func=_run_eval)
