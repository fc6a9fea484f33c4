"""The ``smpconvnet`` command line (also ``python -m smpconvnet``).

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers the
sub-command and sets ``func`` (called with the parsed arguments, returning an exit code).
"""
import argparse
import importlib
import os
import sys
import warnings
from typing import List, Optional

from .. import __version__

# modules that provide sub-commands, in the order ``--help`` lists them
_COMMAND_MODULES = [
    'smpconvnet.cli.demo',
    'smpconvnet.cli.info',
    'smpconvnet.cli.convert',
    'smpconvnet.cli.push',
    'smpconvnet.cli.export',
    'smpconvnet.cli.plot',
    'smpconvnet.cli.train_seq',
    'smpconvnet.cli.timm_scripts',
    'smpconvnet.cli.bench',
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='smpconvnet',
        description='SMPConv models for timm: demo, model information, conversion, export and benchmarks.')
    parser.add_argument('--version', action='version', version=f'smpconvnet {__version__}')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            # a command's warnings as one plain line each, not the library's source line
            warnings.showwarning = lambda message, category, *_, **__: print(
                f'smpconvnet {args.command}: warning: {message}', file=sys.stderr)
            return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError, ImportError) as e:
        # user errors (bad paths, unknown models, mismatched checkpoints, a missing optional dependency) as one
        # readable line, not a traceback
        print(f'smpconvnet {args.command}: error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        from ..train.seq_trainer import CHECKPOINT_NAME
        output = getattr(args, 'output', None) if args.command == 'train-seq' else None
        resume = (f'; {output}/{CHECKPOINT_NAME} holds its last finished epoch: the same command with --resume '
                  f'continues it' if output and os.path.isfile(os.path.join(output, CHECKPOINT_NAME)) else '')
        print(f'\nsmpconvnet {args.command}: interrupted{resume}', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
