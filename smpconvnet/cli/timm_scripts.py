"""``smpconvnet recipe``, ``train`` and ``validate``: the shipped recipes, and timm's train.py / validate.py run
unchanged with the models registered."""
import argparse
import sys
from typing import List

from ..train.timm_scripts import RADIUS_LR_SCALE, recipe_names, recipe_text, run_timm_script, write_recipe


def _script_args(args: argparse.Namespace) -> List[str]:
    rest = list(args.script_args)
    if rest and rest[0] == '--':
        rest = rest[1:]
    return rest


def _print_or_write_recipe(args: argparse.Namespace) -> int:
    # an option that would do nothing is refused, not ignored (a user would think the file was written or replaced)
    if args.output is not None and not args.output.strip():
        raise ValueError('--output is empty: give the file to write the recipe to')
    if args.name is not None and not args.name.strip():  # '' listed the recipes as if no name was given
        raise ValueError("the recipe name is empty: `smpconvnet recipe --list` names them")
    if args.list and (args.name or args.output is not None or args.force):
        raise ValueError('--list prints the recipe names and writes nothing: give it no NAME, --output or --force')
    if not args.name and (args.output is not None or args.force):
        raise ValueError(f"--output and --force write a recipe: name it, e.g. smpconvnet recipe {recipe_names()[0]} "
                         f"--output FILE (`smpconvnet recipe --list` names them)")
    if args.force and args.output is None:
        raise ValueError('--force replaces the --output file; without --output the recipe is printed: add --output '
                         'FILE')
    if args.list or not args.name:
        for name in recipe_names():
            print(name)
        return 0
    if args.output:
        path = write_recipe(args.name, args.output, force=args.force)
        print(f'wrote {path}', file=sys.stderr)
    else:
        sys.stdout.write(recipe_text(args.name))
    return 0


def _positive_scale(value: str) -> float:
    scale = float(value)
    if not scale > 0:
        raise argparse.ArgumentTypeError(f'expected a positive factor, got {value}')
    return scale


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'recipe', help="print or write a timm train.py --config recipe (the paper's ImageNet training)",
        description="Print a shipped training recipe (YAML for timm's train.py --config), or write it to a file. "
                    f"Recipes: {', '.join(recipe_names())}.")
    p.add_argument('name', nargs='?', help='recipe name, e.g. smpconvnet_t_in1k (omit to list them)')
    p.add_argument('--output', '-o', metavar='FILE', help='write the recipe to FILE instead of printing it')
    p.add_argument('--force', action='store_true', help='overwrite FILE if it exists')
    p.add_argument('--list', action='store_true', help='list the shipped recipes')
    p.set_defaults(func=_print_or_write_recipe)

    p = subparsers.add_parser(
        'train', help="run timm's train.py unchanged with the SMPConv models registered",
        description="Run timm's train.py (from a pytorch-image-models checkout) unchanged, with the SMPConv "
                    "models registered and the point radii trained at --radius-lr-scale x the learning rate, "
                    "as the original. Put train.py's own arguments after '--'. Under torchrun: "
                    "torchrun --nproc_per_node N -m smpconvnet train --train-script PATH -- ARGS")
    p.add_argument('--train-script', default='train.py', metavar='PATH',
                   help="timm's train.py (default: train.py in the current directory)")
    p.add_argument('--radius-lr-scale', type=_positive_scale, default=RADIUS_LR_SCALE, metavar='FACTOR',
                   help=f'learning-rate factor of the point radii (default {RADIUS_LR_SCALE:g}, as the original; '
                        '1 leaves timm\'s parameter groups unchanged)')
    p.add_argument('script_args', nargs=argparse.REMAINDER, metavar='-- ARGS', help="train.py's arguments")
    p.set_defaults(func=lambda a: run_timm_script(a.train_script, _script_args(a), a.radius_lr_scale))

    p = subparsers.add_parser(
        'validate', help="run timm's validate.py unchanged with the SMPConv models registered",
        description="Run timm's validate.py (from a pytorch-image-models checkout) unchanged, with the SMPConv "
                    "models registered. Put validate.py's own arguments after '--'.")
    p.add_argument('--validate-script', default='validate.py', metavar='PATH',
                   help="timm's validate.py (default: validate.py in the current directory)")
    p.add_argument('script_args', nargs=argparse.REMAINDER, metavar='-- ARGS', help="validate.py's arguments")
    p.set_defaults(func=lambda a: run_timm_script(a.validate_script, _script_args(a)))

    p = subparsers.add_parser(
        'timm', help="run any timm script (benchmark.py, onnx_export.py, inference.py, ...) with the models registered",
        description="Run a script of a pytorch-image-models checkout (benchmark.py, onnx_export.py, inference.py, "
                    "train.py, validate.py, ...) unchanged, with the SMPConv models registered, so that --model "
                    "smpconvnet_t (and --reparam, where the script has it) works. Put the script's own arguments "
                    "after '--', e.g.: smpconvnet timm benchmark.py -- --model smpconvnet_t --reparam --bench "
                    "inference")
    p.add_argument('script', metavar='SCRIPT', help="path of the timm script")
    p.add_argument('--radius-lr-scale', type=_positive_scale, default=RADIUS_LR_SCALE, metavar='FACTOR',
                   help=f'learning-rate factor of the point radii when the script builds an optimizer with timm '
                        f'(train.py; default {RADIUS_LR_SCALE:g}, as the original)')
    p.add_argument('script_args', nargs=argparse.REMAINDER, metavar='-- ARGS', help="the script's arguments")
    p.set_defaults(func=lambda a: run_timm_script(a.script, _script_args(a), a.radius_lr_scale))
