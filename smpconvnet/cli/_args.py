"""Argument types shared by several commands."""
import argparse
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

__all__ = ['parse_size', 'add_input_size_argument', 'joined_input_size', 'parse_pretrained', 'PRETRAINED_CHOICES', 'add_pretrained_argument', 'add_model_kwargs_argument',
           'model_kwargs_of', 'LOAD_KWARGS_HELP', 'MODEL_KWARGS_HELP', 'DefaultsHelpFormatter']

PRETRAINED_CHOICES = ('auto', 'yes', 'no')


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults in the help, but not where there is none to tell (None, off switches, empty lists) or
    where the help already says it."""

    def _get_help_string(self, action):
        if action.default in (None, False, []) or 'default' in (action.help or ''):
            return action.help
        return super()._get_help_string(action)


def add_input_size_argument(parser, help: str):
    """``--input-size``: ``C,H,W`` / ``C,L``, or timm's form ``C H W`` (its scripts' ``--input-size 3 224 224``,
    joined before parsing: ``joined_input_size``)."""
    parser.add_argument('--input-size', help=help + '; also timm\'s form, C H W')


# a word of timm's --input-size C H W: numbers, also mistyped ones (1.0, -1), which parse_size then refuses by name
_NUMBER = re.compile(r'[+-]?[\d.]+$')

# the commands whose own --input-size takes C,H,W (timm / train / validate pass theirs on to timm's scripts as typed)
INPUT_SIZE_COMMANDS = ('export', 'reparam', 'info')


def _names_input_size(word: str) -> bool:
    # --input-size, or an abbreviation argparse accepts for it (--input: these commands have no other --i... option)
    return len(word) >= 3 and '--input-size'.startswith(word)


def joined_input_size(argv: Sequence[str]) -> List[str]:
    """``argv`` with timm's ``--input-size C H W`` (or ``C L``; also ``--input-size=C H W``) joined into ``C,H,W``,
    for the commands of ``INPUT_SIZE_COMMANDS`` and up to a ``--`` (words for a timm script stay as typed). Words that
    are not whole numbers (``1.0 300``, ``one 150``) are joined too, for ``parse_size`` to refuse by name. Not
    argparse's nargs='+': a positional typed after the option (``reparam SRC --input-size 1,200 DST``) would be taken
    as a size."""
    argv = list(argv)
    if not argv or argv[0] not in INPUT_SIZE_COMMANDS:
        return argv
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        if word == '--':
            return out + argv[i:]
        if _names_input_size(word.partition('=')[0]):
            given = word.partition('=')[2]
            values, j = ([given] if given else []), i + 1
            # a first value typed wrong ('one 150') is joined as well, so that parse_size quotes it: argparse would
            # take 'one' and answer "unrecognized arguments: 150"
            if (not values and j + 1 < len(argv) and not argv[j].startswith('-') and ',' not in argv[j]
                    and _NUMBER.match(argv[j + 1])):
                values, j = [argv[j]], j + 1
            while j < len(argv) and len(values) < 3 and _NUMBER.match(argv[j]):
                values, j = values + [argv[j]], j + 1
            if len(values) >= 2:
                out.append('--input-size=' + ','.join(values))  # one word: argparse takes '-1,300' for an option
                i = j
                continue
        out.append(word)
        i += 1
    return out


def parse_size(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``--input-size``: ``C,H,W`` (images) or ``C,L`` (sequences), also with ``x`` or spaces; None when not given.

    Raises:
        ValueError: anything else, quoting the text.
    """
    if not text:
        return None
    try:
        size = tuple(int(v) for v in re.split(r'[,x\s]+', text.lower()) if v)  # (also '3 96 96' typed quoted)
    except ValueError:
        size = ()
    if len(size) not in (2, 3):
        raise ValueError(f'--input-size expects C,H,W (images) or C,L (sequences), whole numbers, got {text!r}')
    if min(size) < 1:  # the format is right: the value is what is wrong
        raise ValueError(f'--input-size {text}: channels and sizes must be at least 1')
    return size


def parse_pretrained(value: str) -> Union[bool, str]:
    """``--pretrained auto|yes|no`` -> ``'auto'`` / True / False."""
    return {'auto': 'auto', 'yes': True, 'no': False}[value]


def add_pretrained_argument(parser):
    """``--pretrained auto|yes|no`` (``load_model``'s ``pretrained``: ``parse_pretrained``), one help for every
    command that loads a model."""
    # (%(default).0s prints nothing: it stops DefaultsHelpFormatter adding "(default: auto)", which the text says)
    parser.add_argument('--pretrained', choices=PRETRAINED_CHOICES, default='auto',
                        help="auto (the default): a model name's weights where available offline, else random (a "
                             "folder, hf-hub: name or checkpoint file: its weights); yes: require them; no: random "
                             "weights in the architecture of the name, folder or hf-hub: repo (refused for a "
                             "checkpoint file)%(default).0s")


MODEL_KWARGS_HELP = ('model constructor overrides, values as JSON or Python literals, else strings (e.g. '
                     'hidden_channels=32 dropout=0.1 causal=False global_pool=avg)')


# for the commands that load a model (its weights decide the shapes; these what the shapes cannot tell)
LOAD_KWARGS_HELP = ('arguments the model is built with before its weights load, values as JSON or Python literals, else '
                    'strings (e.g. global_pool=avg; after a registered name, \'pretrained_cfg_overlay={"file": '
                    '"W.safetensors"}\' loads that model with the weights of W.safetensors)')


def add_model_kwargs_argument(parser, help_text: str = MODEL_KWARGS_HELP):
    """``--model-kwargs KEY=VALUE ...``, as timm's train.py and ``smpconvnet train-seq`` spell it."""
    parser.add_argument('--model-kwargs', nargs='+', action='extend', default=[], metavar='KEY=VALUE',
                        help=help_text)


def model_kwargs_of(args) -> Dict[str, Any]:
    """The parsed ``--model-kwargs`` of a command's arguments (``parse_model_kwargs``).

    Raises:
        ValueError: an item that is not ``key=value``.
    """
    from ..train.seq_trainer import parse_model_kwargs
    kwargs = parse_model_kwargs(args.model_kwargs)
    if 'pretrained' in kwargs:
        raise ValueError('--model-kwargs pretrained=...: whether weights load is not a constructor argument'
                         + (': use --pretrained yes|no' if hasattr(args, 'pretrained') else
                            ' (this command always loads them)'))
    return kwargs
