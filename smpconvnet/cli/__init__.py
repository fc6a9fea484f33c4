"""The ``smpconvnet`` command line (also ``python -m smpconvnet``).

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers the
sub-command and sets ``func`` (called with the parsed arguments, returning an exit code).
"""
import argparse
import ast
import importlib
import os
import re
import sys
import warnings
from typing import Any, Dict, List, Optional

from .. import __version__
from ..models import command_model_kwargs, command_option
from ._args import joined_input_size

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


class _Parser(argparse.ArgumentParser):
    # (every sub-command's parser too: add_subparsers makes them of the parent's class)
    typed_model_kwargs = False  # whether the command line being read has --model-kwargs (set by main)

    def error(self, message):
        if self.typed_model_kwargs and 'arguments are required' in message:
            # a word with '=' after --model-kwargs (a folder named lr=0.1) stays one of its KEY=VALUE
            message += ('; the words after --model-kwargs are its KEY=VALUE list up to the next option: give the '
                        'positional arguments before --model-kwargs, or end its list with --')
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog='smpconvnet',
        description='SMPConv models for timm: demo, model information, conversion, export and benchmarks.')
    parser.add_argument('--version', action='version', version=f'smpconvnet {__version__}')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def _positionals_before_model_kwargs(parser: argparse.ArgumentParser, argv: List[str]) -> List[str]:
    """``argv`` with the words typed after ``--model-kwargs`` that are no KEY=VALUE (no '=') moved before it, for a
    command that takes positional arguments. ``--model-kwargs`` takes every word up to the next option (argparse's
    nargs='+'), so ``smpconvnet reparam --model-kwargs global_pool=max SRC DST`` read SRC and DST as model
    arguments and said "the following arguments are required: src, dst"."""
    sub = next((a.choices.get(argv[0]) for a in parser._actions  # noqa: SLF001  (argparse has no public listing)
                if isinstance(a, argparse._SubParsersAction) and argv), None)  # noqa: SLF001
    if sub is None or '--model-kwargs' not in sub._option_string_actions \
            or not any(not a.option_strings for a in sub._actions):  # noqa: SLF001
        return argv
    out, i = [], 0
    while i < len(argv):
        if argv[i] != '--model-kwargs':
            out.append(argv[i])
            i += 1
            continue
        j = i + 1
        while j < len(argv) and not argv[j].startswith('-'):
            j += 1
        values = argv[i + 1:j]
        kwargs = [w for w in values if '=' in w]
        # (none a KEY=VALUE: left for --model-kwargs to refuse, not for argparse's "expected at least one argument")
        out += ([w for w in values if '=' not in w] + ['--model-kwargs'] + kwargs) if kwargs else argv[i:j]
        i = j
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    argv = _positionals_before_model_kwargs(parser, joined_input_size(sys.argv[1:] if argv is None else list(argv)))
    _Parser.typed_model_kwargs = '--model-kwargs' in argv
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    checkpoint = _run_checkpoint(args)
    before = _mtime(checkpoint)
    try:
        with warnings.catch_warnings():
            # a command's warnings as one plain line each, not the library's source line
            warnings.showwarning = lambda message, category, *_, **__: print(
                f'smpconvnet {args.command}: warning: {message}', file=sys.stderr)
            # a refusal's command-line hint is this command's --model-kwargs with its change, to copy in their place
            with command_model_kwargs(_typed_model_kwargs(args)):
                try:
                    return int(args.func(args) or 0)
                except (ValueError, OSError, RuntimeError, ImportError) as e:
                    # user errors (bad paths, unknown models, mismatched checkpoints, a missing optional dependency,
                    # a file where a folder was to be, no permission) as one readable line, not a traceback
                    print(f'smpconvnet {args.command}: error: {_with_command_forms(str(e), args)}', file=sys.stderr)
                    return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        print(f'\nsmpconvnet {args.command}: interrupted{_resume_hint(args, checkpoint, before)}', file=sys.stderr)
        return 130


# a model's own refusal of an input, raised in its forward (TorchScript-compatible code, which knows no command):
# "create the model with strict_img_size=False" / "in_chans=2"
_CREATE_WITH = re.compile(r'create the model with (\w+)=(True|False|-?\d+)\b')


def _with_command_forms(message: str, args) -> str:
    """``message`` with each "create the model with KEY=VALUE" followed by its form in this command, where it takes
    --model-kwargs (trial 73: `export --input-size 3,50,50` was told "create the model with strict_img_size=False")."""
    if not isinstance(getattr(args, 'model_kwargs', None), list):
        return message
    return _CREATE_WITH.sub(lambda m: f'{m.group(0)} (a command: '
                                      f'{command_option(**{m.group(1): ast.literal_eval(m.group(2))})})', message)


def _typed_model_kwargs(args) -> Optional[Dict[str, Any]]:
    # the command's parsed --model-kwargs (None for a command without the option, or with items the command itself
    # refuses: its own error says so)
    if not isinstance(getattr(args, 'model_kwargs', None), list):
        return None
    from ..train.seq_trainer import parse_model_kwargs
    try:
        return parse_model_kwargs(args.model_kwargs)
    except ValueError:
        return None


def _run_checkpoint(args) -> Optional[str]:
    """The checkpoint a train-seq command writes, else None."""
    if args.command != 'train-seq' or not getattr(args, 'output', None):
        return None
    from ..train.seq_trainer import CHECKPOINT_NAME
    return os.path.join(args.output, CHECKPOINT_NAME)


def _mtime(path: Optional[str]) -> Optional[int]:
    try:
        return os.stat(path).st_mtime_ns if path else None
    except OSError:
        return None


def _resume_hint(args, checkpoint: Optional[str], before: Optional[int]) -> str:
    """What an interrupted train-seq left: a checkpoint this command wrote (or resumed from) continues with
    --resume; one it did not write is the earlier run, which --force had not replaced yet."""
    if checkpoint is None:  # another command than train-seq: nothing to resume
        return ''
    now = _mtime(checkpoint)
    if now is None:
        # a --force run over a folder of exported files only (scripts/train_aeon.py keeps no checkpoints)
        earlier = args.force and os.path.isdir(args.output) and os.listdir(args.output)
        return f'; nothing was replaced: {args.output} still holds the earlier run' if earlier else ''
    if now != before or args.resume:
        how = '--resume instead of --force' if args.force else '--resume'
        return f'; {checkpoint} holds its last finished epoch: the same command with {how} continues it'
    return f'; nothing was replaced: {args.output} still holds the earlier run (--force replaces it after an epoch)'


if __name__ == '__main__':
    sys.exit(main())
