"""Constructor-argument checks shared by the model families."""
import operator
from typing import Any, Tuple

__all__ = ['check_io_counts', 'check_counts', 'check_count_lists', 'check_odd_sizes', 'check_ratios', 'typed_hint',
           'select_adaptive_pool', 'check_rates', 'input_channels_words']


def input_channels_words(count: int) -> str:
    """``'1 input channel'``, ``'3 input channels'``: the messages' words for a channel count (compiled under
    TorchScript with the input checks that use it)."""
    return f'{count} input channel' + ('s' if count != 1 else '')


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


def _is_count(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and operator.index(value) >= 1
    except TypeError:
        return False


def _as_typed(value: Any) -> Any:
    # the whole number a float such as 96.0 (a config's, the command line's) stands for, for a hint typed as is
    return int(value) if isinstance(value, float) and value.is_integer() and value >= 1 else value


def typed_hint(name: str, value: Any) -> str:
    """`` (name=96)`` where ``value`` is a float that stands for a whole number (``96.0``, from a config or the
    command line), for an error message; else empty."""
    typed = _as_typed(value)
    return f' ({name}={typed})' if typed is not value and _is_count(typed) else ''


def check_counts(**counts: Any) -> None:
    """Check each keyword's value is a count (block, channel, point or tap numbers): an integer of at least 1 (any
    integer type, ``operator.index``; not a bool).

    Raises:
        ValueError: naming the argument, with the value to type where a float stands for a whole number
            (``hidden_channels=60.0`` failed inside torch, or said "must be a positive int" without the fix).
    """
    for name, value in counts.items():
        if not _is_count(value):
            raise ValueError(f'{name} must be an int of at least 1, got {value!r}{typed_hint(name, value)}')


def check_count_lists(per: str, example_length: int, **lists: Any) -> None:
    """Check each keyword's value is a list (or tuple) of counts, one per ``per`` (stage, block).

    Raises:
        ValueError: naming the argument: a bare number (``len()`` said "object of type 'int' has no len()"), or an
            entry that is not an integer of at least 1 (``[96.0, ...]`` failed inside torch); the example given is
            typed as is (whole numbers) where the values allow one.
    """
    for name, value in lists.items():
        listed = isinstance(value, (list, tuple))
        entries = [_as_typed(v) for v in (value if listed else [value] * example_length)]
        example = f'{name}=[{",".join(map(str, entries))}]' if all(map(_is_count, entries)) else ''
        if not listed:
            raise ValueError(f'{name}={value!r}: expected a list with one entry per {per}'
                             + (f' (e.g. {example} for {example_length} {per}s)' if example else ''))
        if not all(map(_is_count, value)):
            raise ValueError(f'{name}={list(value)!r}: expected whole numbers of at least 1, one per {per}'
                             + (f' (e.g. {example})' if example else ''))


def check_odd_sizes(**sizes: Any) -> None:
    """Check each keyword's value (a kernel size, or a list of them) is odd: a centred kernel has a middle tap.

    Raises:
        ValueError: naming the argument and the even entries (it said "kernel sizes must be odd, got 12 and 5"),
            with the odd value to type: one tap more (at least the reach asked for), one less for
            ``small_kernel_size``, which must not exceed the large kernels (one more led to that refusal).
    """
    for name, value in sizes.items():
        listed = isinstance(value, (list, tuple))
        even = [v for v in (value if listed else [value]) if operator.index(v) % 2 == 0]
        if even:
            step = -1 if name == 'small_kernel_size' else 1
            # (a list typed without spaces: one word on the command line, as --model-kwargs takes it)
            odd = '[' + ','.join(str(v + step if v % 2 == 0 else v) for v in value) + ']' if listed else value + step
            raise ValueError(f'{name}={list(value) if listed else value!r}: kernel sizes must be odd (a centred '
                             f'kernel has a middle tap), got {", ".join(map(str, even))}; give {name}={odd} (one '
                             f"tap {'less' if step < 0 else 'more'})")


def check_ratios(widths: Any, **ratios: Any) -> None:
    """Check each keyword's value is a width ratio that leaves every one of ``widths`` at least one channel
    (``int(width * ratio) >= 1``).

    Raises:
        ValueError: naming the argument (0 failed inside torch, "groups must be a positive integer", or in the
            forward pass).
    """
    for name, value in ratios.items():
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float('inf') \
            and all(int(w * value) >= 1 for w in widths)
        if not ok:
            raise ValueError(f'{name} must be a number > 0 that leaves every stage at least one channel '
                             f'(int(channels * {name}) >= 1 for channels {list(widths)}), got {value!r}')


def select_adaptive_pool(global_pool: Any):
    """timm's ``SelectAdaptivePool2d(pool_type=global_pool.lower(), flatten=bool(global_pool))``, the image
    families' head pooling (any case, as the SMP-TCN's), with a bad value refused by name.

    Raises:
        ValueError: ``global_pool`` is not one of timm's pool types (timm asserted "Invalid pool type: bogus", which
            names no argument, and the command line printed a traceback).
    """
    from timm.layers import SelectAdaptivePool2d
    try:
        if not isinstance(global_pool, str):
            raise AssertionError
        # in lower case: timm pools 'CatAvgMax' as catavgmax, but its feat_mult() reads the name as given (1, not
        # 2): the classifier was built for half the features and failed at the first forward (trial 65)
        return SelectAdaptivePool2d(pool_type=global_pool.lower(), flatten=bool(global_pool))
    except AssertionError:
        raise ValueError(f"global_pool must be one of timm's pool types 'avg', 'max', 'avgmax', 'catavgmax' (or "
                         f"'fast', 'fastavg', 'fastmax', 'fastavgmax', 'fastcatavgmax'), or '' for none "
                         f"(per-location outputs), got {global_pool!r}") from None


def check_rates(**rates: Any) -> None:
    """Check each keyword's value is a dropout probability: a number in [0, 1]; ``drop_path_rate`` (stochastic
    depth, whose kept paths are divided by 1 - rate) in [0, 1).

    Raises:
        ValueError: naming the argument (``drop_path_rate=2.0`` built and failed in a training forward pass inside
            torch, "bernoulli_ expects p to be in [0, 1]"; a dropout's said "dropout probability has to be between 0
            and 1" without its name).
    """
    for name, value in rates.items():
        below_one = name == 'drop_path_rate'
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not (0 <= value <= 1) or (below_one and value == 1):
            raise ValueError(f"{name} must be a probability in [0, 1{')' if below_one else ']'}, got {value!r}")
