"""Argument types shared by several commands."""
from typing import Optional, Tuple, Union

__all__ = ['parse_size', 'parse_pretrained', 'PRETRAINED_CHOICES']

PRETRAINED_CHOICES = ('auto', 'yes', 'no')


def parse_size(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``--input-size``: ``C,H,W`` (images) or ``C,L`` (sequences), also with ``x``; None when not given.

    Raises:
        ValueError: anything else, quoting the text.
    """
    if not text:
        return None
    try:
        size = tuple(int(v) for v in text.replace('x', ',').split(',') if v)
    except ValueError:
        size = ()
    if len(size) not in (2, 3) or min(size) < 1:
        raise ValueError(f'--input-size expects C,H,W (images) or C,L (sequences), got {text!r}')
    return size


def parse_pretrained(value: str) -> Union[bool, str]:
    """``--pretrained auto|yes|no`` -> ``'auto'`` / True / False."""
    return {'auto': 'auto', 'yes': True, 'no': False}[value]
