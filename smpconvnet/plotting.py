"""Pictures of point kernels: the sampled kernels with the points that make them (positions and radii).

The method is read through such figures (paper, Fig. 1 and 4): where the points moved, how large they are, and the
kernel they add up to. ``plot_point_kernels`` draws one row per kernel view and a few output channels per row:

* 2-D kernels: the sampled kernel as an image over its grid ``[-1, 1]^2`` (index i along an axis at
  ``linspace(-1, 1, k)[i]``, rows down the first axis), each point as a dot and its radius as the L1 ball
  ``|x - c|_1 = r`` it spans (a diamond). Points outside the grid are drawn too: the axes extend to cover them,
  and the grid's border is outlined.
* 1-D kernels: the kernel over its positions (-1: the oldest step the kernel reaches, +1: the current step; centred
  kernels: 0 the current step), the points as markers at their positions, each radius as a bar of width 2r.

Each panel is titled with its channel (a kernel with several input channels: the output channel, input 0) and the
smallest and largest radius of its points in taps of the sampled grid.

matplotlib is an optional dependency (``pip install "smpconvnet[plot]"``); only the figure is drawn here, with
matplotlib's Agg canvas (no display, no global backend change).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch

from .atomic_io import atomic_file
from .layers.point_kernel import PointKernel

__all__ = ['KernelView', 'plot_point_kernels', 'require_matplotlib']


@dataclass
class KernelView:
    """One row of the figure: ``kernel`` sampled at ``size`` taps per axis, titled ``title``."""
    title: str
    kernel: PointKernel
    size: Tuple[int, ...]


def require_matplotlib():
    """matplotlib's Figure and Agg canvas classes, or an ImportError that says how to install them."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError('drawing kernels needs matplotlib, an optional dependency: pip install "smpconvnet[plot]" '
                          '(or pip install matplotlib)') from e
    return Figure, FigureCanvasAgg


def _point_params(kernel: PointKernel, channel: int):
    """(coords [N, ndim], radii [N], weights [N]) of output channel ``channel`` (input channel 0), float64."""
    group = 0 if kernel.shared_coords else channel
    coords = kernel.coords[group].detach().double().cpu()
    radii = kernel.radius[group].detach().double().clamp(kernel.r_min, kernel.r_max).cpu()
    weights = kernel.weights[channel, 0].detach().double().cpu()
    return coords, radii, weights


def _draw_2d(ax, kernel: PointKernel, size: Tuple[int, ...], channel: int):
    from matplotlib.patches import Polygon, Rectangle
    with torch.no_grad():
        image = kernel(list(size))[channel, 0].double().cpu()
    coords, radii, weights = _point_params(kernel, channel)
    kh, kw = size
    dh, dw = (2 / (kh - 1) if kh > 1 else 2.), (2 / (kw - 1) if kw > 1 else 2.)
    vmax = float(image.abs().max()) or 1.
    # pixel centres on the sampling grid; rows go down the first axis
    ax.imshow(image.numpy(), cmap='RdBu_r', vmin=-vmax, vmax=vmax, interpolation='nearest',
              extent=(-1 - dw / 2, 1 + dw / 2, 1 + dh / 2, -1 - dh / 2))
    ax.add_patch(Rectangle((-1 - dw / 2, -1 - dh / 2), 2 + dw, 2 + dh, fill=False, lw=0.8, ec='0.3'))
    for (c0, c1), r, w in zip(coords.tolist(), radii.tolist(), weights.tolist()):
        ax.add_patch(Polygon([(c1 + r, c0), (c1, c0 + r), (c1 - r, c0), (c1, c0 - r)], closed=True, fill=False,
                             lw=0.6, ec='k', alpha=0.6))
    positive = weights >= 0
    ax.scatter(coords[positive, 1], coords[positive, 0], s=6, c='k', marker='o', lw=0)
    ax.scatter(coords[~positive, 1], coords[~positive, 0], s=8, facecolors='none', edgecolors='k', lw=0.6)
    reach = max(1 + max(dw, dh) / 2, float((coords.abs() + radii[:, None]).max()) if len(radii) else 1.)
    ax.set_xlim(-reach, reach)
    ax.set_ylim(reach, -reach)
    ax.set_aspect('equal')
    ax.tick_params(labelsize=6)


def _draw_1d(ax, kernel: PointKernel, size: Tuple[int, ...], channel: int):
    with torch.no_grad():
        values = kernel(list(size))[channel, 0].double().cpu()
    coords, radii, weights = _point_params(kernel, channel)
    grid = torch.linspace(-1., 1., size[0], dtype=torch.float64)
    ax.plot(grid.numpy(), values.numpy(), lw=0.8, color='C0')
    ax.axvspan(-1, 1, color='0.95', zorder=0)  # the sampled span; points may lie outside it
    low = float(values.min()) if len(values) else 0.
    base = low - 0.08 * (float(values.max()) - low + 1e-12)
    positions = coords[:, 0]
    ax.scatter(positions.numpy(), [base] * len(positions), s=8, c=['k' if w >= 0 else 'w' for w in weights.tolist()],
               edgecolors='k', lw=0.5, zorder=3)
    ax.hlines([base] * len(positions), (positions - radii).numpy(), (positions + radii).numpy(), lw=2, color='C1',
              alpha=0.6)
    reach = max(1., float((positions.abs() + radii).max()) if len(radii) else 1.)
    ax.set_xlim(-reach - 0.02, reach + 0.02)
    ax.tick_params(labelsize=6)


def _panel_title(kernel: PointKernel, size: Tuple[int, ...], channel: int) -> str:
    """The channel a panel draws (a kernel with several input channels: output ``channel``, input 0) and its points'
    radii in taps of the sampled grid (one tap: ``2 / (k - 1)``), which at a whole series' length are often too
    short for their bars to show."""
    _, radii, _ = _point_params(kernel, channel)
    which = f'channel {channel}' if kernel.in_channels == 1 else f'out {channel} / in 0'
    if not len(radii):
        return which
    taps = radii * (max(size[0], 2) - 1) / 2
    return f'{which}: radii {float(taps.min()):.2g}-{float(taps.max()):.2g} taps'


def _wrapped(text: str, width_px: int, fontsize: float, dpi: int) -> str:
    # lines that fit the image's width (a character of DejaVu Sans is about 0.6 em wide): a long title (a file path)
    # was cut at both edges
    import textwrap
    chars = max(20, int(width_px / (0.6 * fontsize * dpi / 72)))
    return '\n'.join(textwrap.wrap(text, chars, break_long_words=True, break_on_hyphens=False)) or text


# the smallest legible cell of the picture: one kernel's axes with its tick labels and channel title (below this the
# axes shrank to slivers, then matplotlib's layout collapsed with a warning), the margins (a single channel at 120
# pixels still collapsed) and the picture's title, a line per wrap
MIN_CELL_PX = (120, 90)
MARGIN_PX = (40, 18)
TITLE_LINE_PX = 12


def min_size_px(rows: int, channels: int, title: str = '', dpi: int = 100,
                width: Optional[int] = None) -> Tuple[int, int]:
    """The smallest (width, height) in pixels at which ``rows`` kernels of ``channels`` channels each, under
    ``title``, stay legible; with ``width`` (a picture at least that wide), the height at that width, where the title
    wraps in fewer lines."""
    width = max(MIN_CELL_PX[0] * channels + MARGIN_PX[0], width or 0)
    lines = _wrapped(title, width, 9, dpi).count('\n') + 1 if title else 0
    return width, MIN_CELL_PX[1] * rows + TITLE_LINE_PX * lines + MARGIN_PX[1]


def plot_point_kernels(views: Sequence[KernelView], out: Union[str, Path], channels: int = 4,
                       size_px: Tuple[int, int] = (1600, 1000), title: str = '', dpi: int = 100) -> Path:
    """Draw ``views`` (one row each, its first ``channels`` output channels across) into the PNG ``out`` of exactly
    ``size_px`` (width, height) pixels, written atomically. Returns the path.

    Raises:
        ValueError: no views, a non-positive channel count, a size below ``min_size_px`` of the views and
            channels, or a view whose ``size`` does not match its kernel's dimensions.
        ImportError: matplotlib is not installed (the message says how to install it).
    """
    if not views:
        raise ValueError('no point kernels to draw: the model has no PointKernel (a deployed model keeps none; '
                         'plot its training form)')
    if channels < 1 or size_px[0] < 1 or size_px[1] < 1:
        raise ValueError(f'channels and the image size must be positive, got channels={channels}, size={size_px}')
    for view in views:
        if len(view.size) != view.kernel.ndim:
            raise ValueError(f'{view.title}: a {view.kernel.ndim}-D kernel needs {view.kernel.ndim} sizes, '
                             f'got {view.size}')
    cols = max(min(channels, v.kernel.out_channels) for v in views)
    need = min_size_px(len(views), cols, title, dpi, width=size_px[0])
    if size_px[0] < need[0] or size_px[1] < need[1]:
        raise ValueError(f'a {size_px[0]}x{size_px[1]}-pixel picture is too small for {len(views)} kernels x {cols} '
                         f'channels: it needs at least {need[0]}x{need[1]} (--size {need[0]}x{need[1]}; or fewer '
                         f'--channels or --max-rows)')
    Figure, FigureCanvasAgg = require_matplotlib()
    # constrained layout: a row's titles clear the tick labels of the row above. Each row is a subfigure whose
    # title (the kernel) spans the whole width: in the first axes' title it ran over its neighbours' at small sizes
    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi, layout='constrained')
    FigureCanvasAgg(fig)
    for row_fig, view in zip(fig.subfigures(len(views), 1, squeeze=False)[:, 0], views):
        row_fig.suptitle(_wrapped(view.title, size_px[0], 7, dpi), fontsize=7)
        for col, ax in enumerate(row_fig.subplots(1, cols, squeeze=False)[0]):
            if col >= view.kernel.out_channels:
                ax.set_axis_off()
                continue
            (_draw_2d if view.kernel.ndim == 2 else _draw_1d)(ax, view.kernel, tuple(view.size), col)
            ax.set_title(_panel_title(view.kernel, tuple(view.size), col), fontsize=6)
    if title:
        fig.suptitle(_wrapped(title, size_px[0], 9, dpi), fontsize=9)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        with open(tmp, 'wb') as f:
            fig.savefig(f, format='png', dpi=dpi)
    return out
