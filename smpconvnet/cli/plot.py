"""``smpconvnet plot``: pictures of a model's point kernels (sampled kernels, point positions and radii)."""
import argparse
from pathlib import Path
from typing import List, Optional

import torch.nn as nn

from ..atomic_io import check_destination
from ..layers.point_kernel import PointKernel
from ..models import member_network
from ..plotting import KernelView, plot_point_kernels
from ..weights.folders import local_paths_to_names
from ..weights.sources import load_model
from ._args import (
    LOAD_KWARGS_HELP, DefaultsHelpFormatter, add_model_kwargs_argument, add_pretrained_argument, model_kwargs_of,
    parse_pretrained)


def kernel_views(model: nn.Module, length: Optional[int] = None, max_rows: int = 8) -> List[KernelView]:
    """One view per stage (2-D models: the first SMP kernel of each ``stages.i`` / ``blocks.i`` / stem) or per block
    (1-D models, sampled for ``length`` steps, default the model's own length; an ensemble: its first member's,
    ``members.0.blocks.i``, the members sharing one architecture), at most ``max_rows``."""
    if length is None:
        length = getattr(model, 'seq_len', None) or int((getattr(model, 'pretrained_cfg', None) or {}).get(
            'input_size', (1, 1, 64))[-1])
    network = member_network(model)
    prefix, suffix = ('members.0.', f', member 0 of {len(model.members)}') if network is not model else ('', '')
    views, groups = [], set()
    for name, module in network.named_modules():
        kernel = getattr(module, 'kernel', None)
        if not isinstance(kernel, PointKernel):
            continue
        parts = name.split('.')
        # a row per stage / block (its index), else per top-level module (a stem)
        at = next((i for i, p in enumerate(parts[:-1]) if p in ('stages', 'blocks')), None)
        group = '.'.join(parts[:at + 2] if at is not None else parts[:2])
        if group in groups:
            continue
        if kernel.ndim == 2 and isinstance(getattr(module, 'kernel_size', None), int):
            size = (module.kernel_size, module.kernel_size)
        elif kernel.ndim == 1 and hasattr(module, 'kernel_size_for'):
            size = (module.kernel_size_for(length),)
        else:
            continue
        groups.add(group)
        views.append(KernelView(f"{prefix}{name} ({'x'.join(map(str, size))}){suffix}", kernel, size))
    return views[:max_rows]


def _size(text: str):
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT in pixels, e.g. 1600x1000, got {text!r}') from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f'width and height must be positive, got {text!r}')
    return w, h


MAX_SIDE_PX = 10000


def _run(args: argparse.Namespace) -> int:
    if not args.out.strip():  # Path('') is the current folder: the message named --out .
        raise ValueError("--out '': the picture's file name is empty; name it *.png")
    out = Path(args.out)
    if out.suffix.lower() != '.png':
        raise ValueError(f'--out {out}: the picture is a PNG, name it *.png')
    if out.is_dir():
        raise ValueError(f'--out {out} is a folder; give a file name, e.g. {out / "kernels.png"}')
    if args.length is not None and args.length < 2:  # as the models take no fewer (a kernel spans [-1, 1])
        raise ValueError(f'--length {args.length}: expected the number of taps to sample the kernels at, at least 2')
    if args.max_rows < 1 or args.channels < 1:
        raise ValueError(f'--max-rows and --channels must be at least 1, got {args.max_rows} and {args.channels}')
    if max(args.size) > MAX_SIDE_PX:
        raise ValueError(f'--size {args.size[0]}x{args.size[1]}: at most {MAX_SIDE_PX} pixels a side')
    try:  # an existing picture is replaced only with --force (it may be a user's figure of the same name)
        check_destination(out, args.force)  # a PNG is no weight source: one inside a model folder may be replaced
    except FileExistsError:
        raise FileExistsError(f'--out {out} exists; add --force to replace it') from None
    except ValueError as e:
        raise ValueError(f'--out {e}') from None
    model, source = load_model(args.src, pretrained=parse_pretrained(args.pretrained), **model_kwargs_of(args))
    views = kernel_views(model.eval(), args.length, args.max_rows)
    if args.length is not None and all(v.kernel.ndim != 1 for v in views):
        # an image model's kernels have their sizes: the option did nothing, silently
        raise ValueError(f'--length {args.length}: {args.src} is an image model, whose kernels are sampled at their '
                         f'own sizes; --length applies to sequence models: leave it out')
    if args.length is not None and [v.size for v in views] == [v.size for v in kernel_views(model, args.length + 1,
                                                                                            args.max_rows)]:
        # kernels of a fixed length (kernel_length=K), or sampled for the length every input is padded to
        # (zero_pad_to): the picture was the same as without the option
        raise ValueError(f'--length {args.length}: {args.src}\'s kernels have {views[0].size[0]} taps whatever the '
                         f'input length (a fixed kernel_length, or series zero-padded to one length), so --length '
                         f'changes nothing: leave it out')
    try:
        # the picture may be shared: its title without the author's directories, as a model card
        out = plot_point_kernels(views, out, channels=args.channels, size_px=args.size,
                                 title=local_paths_to_names(f'{args.src}: {source}'))
    except OSError as e:  # the temporary file's name is not the one asked for
        raise ValueError(f'cannot write {out}: {e.strerror or e}') from e
    drawn = min(args.channels, max(v.kernel.out_channels for v in views))  # a kernel has no more to draw
    print(f'wrote {out} ({args.size[0]}x{args.size[1]} px): {len(views)} kernels x {drawn} channels '
          f'({source})')
    return 0


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'plot', help='draw a model\'s point kernels: sampled kernels, point positions and radii (PNG)',
        description='Draw the point kernels of SRC (a model name, hf-hub:/local-dir: name, folder or checkpoint, as '
                    'for the other commands) into a PNG: for an image model, one row per stage with the sampled '
                    'kernel of a few channels, each point as a dot (hollow: negative weight) and its radius as the '
                    'L1 ball it covers (a diamond), points outside the kernel grid included; for a sequence model, '
                    'one row per block with the kernel over time and the points below it (bars: their radii). '
                    'Needs matplotlib: pip install "smpconvnet[plot]".',
        formatter_class=DefaultsHelpFormatter)
    p.add_argument('src', help='model name, hf-hub:org/name, local-dir:/path, folder or checkpoint')
    p.add_argument('--out', default='kernels.png', help='PNG file to write (atomically)')
    p.add_argument('--force', action='store_true', help='replace the --out file if it exists')
    p.add_argument('--channels', type=int, default=4, help='output channels per row')
    p.add_argument('--size', type=_size, default='1600x1000', help='image size WIDTHxHEIGHT in pixels')
    p.add_argument('--length', type=int, default=None,
                   help='sequence models: taps to sample the kernels at (default: the model\'s input length)')
    p.add_argument('--max-rows', type=int, default=8, help='at most this many kernels (rows)')
    add_pretrained_argument(p)
    add_model_kwargs_argument(p, LOAD_KWARGS_HELP)
    p.set_defaults(func=_run)
