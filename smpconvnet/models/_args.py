"""Constructor-argument checks shared by the model families."""

__all__ = ['check_io_counts']


def check_io_counts(in_chans: int, num_classes: int) -> None:
    """Check a model's input channels and classes before anything is built with them.

    Raises:
        ValueError: ``in_chans`` is not an int of at least 1, or ``num_classes`` not one of at least 0 (bools
            refused); the message names the argument. A string or float from a config or the command line had
            failed deep inside ("'>' not supported between instances of 'str' and 'int'").
    """
    for name, value, least in (('in_chans', in_chans, 1), ('num_classes', num_classes, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f'{name} must be an int of at least {least}, got {value!r}')
