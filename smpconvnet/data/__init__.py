"""Sequence data: the UEA/UCR classification sets aeon ships (offline), preprocessing, batching, the adding problem."""
from .sequences import SequenceSet, load_aeon
