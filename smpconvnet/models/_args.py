"""Constructor-argument checks shared by the model families."""
import operator
from typing import Any, Tuple

__all__ = ['check_io_counts']


def check_io_counts(in_chans: Any, num_classes: Any) -> Tuple[int, int]:
    """``(in_chans, num_classes)`` as Python ints, checked before anything is built with them. Any integer type is
    taken (``operator.index``: NumPy integers, a 0-d integer tensor such as ``labels.max() + 1``); bools are not.

    Raises:
        ValueError: ``in_chans`` is not an integer of at least 1, or ``num_classes`` not one of at least 0; the message
            names the argument. A string or float from a config or the command line had failed deep inside ("'>' not
            supported between instances of 'str' and 'int'").
    """
    checked = []
    for name, value, least in (('in_chans', in_chans, 1), ('num_classes', num_classes, 0)):
        try:
            count = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            count = None
        if count is None or count < least:
            raise ValueError(f'{name} must be an int of at least {least}, got {value!r}')
        checked.append(count)
    return checked[0], checked[1]
