"""Warnings shown at the user's line.

A warning about a call (a weights file that names no model, an option that changes what a model computes, an input
a forward pass reads otherwise than one may expect) is about the caller's code. A fixed ``stacklevel`` points at
whatever line is that many frames up, which depends on the path taken: ``load_model`` or timm's pretrained loading,
a command or the Python API, a forward pass under ``nn.Module.__call__`` or a timm wrapper. ``caller_stacklevel``
counts the frames instead (``warnings.warn``'s ``skip_file_prefixes`` does this from Python 3.12 on).
"""
import inspect
import os
import sys
from typing import Tuple

__all__ = ['caller_stacklevel', 'internal_dirs']

_internal: Tuple[str, ...] = ()


def internal_dirs() -> Tuple[str, ...]:
    """The folders (with a trailing separator) of this package, timm and torch: frames there are not the caller's."""
    global _internal
    if not _internal:
        import timm
        import torch
        package = sys.modules[__name__.rpartition('.')[0]]
        _internal = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (package, timm, torch))
    return _internal


def caller_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the function that calls this one that shows the warning at the
    first frame outside this package, timm and torch: the user's line, however deep the call went. 1 (that function's
    own line) when every frame is internal.
    """
    inside = internal_dirs()
    frame, level = inspect.currentframe().f_back, 1  # the function that warns: stacklevel 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(inside):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 1
