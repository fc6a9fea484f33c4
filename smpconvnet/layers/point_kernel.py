"""Self-moving point kernels: a continuous convolution kernel made of N learnable points.

The kernel at position x (in [-1, 1]^d for the sampled grid, though points may leave it) is

    K(x) = sum_p w_p * relu(1 - ||x - c_p||_1 / r_p)

with per-point coordinate ``c_p``, radius ``r_p`` and weight vector ``w_p``. A discrete kernel of size
``(k_1, ..., k_d)`` samples K on ``linspace(-1, 1, k_i)`` along each axis, so the same parameters give a
kernel for any resolution.

Orientation convention of this module: index ``i`` along axis ``a`` of a sampled kernel is the grid
position ``linspace(-1, 1, k_a)[i]`` of coordinate ``a``. Checkpoint converters map other conventions
onto this one (see ``smpconvnet.models.smpconvnet.checkpoint_filter_fn``).

Radii are kept in ``[r_min, r_max]`` without the training loop doing anything: a global
``torch.optim`` step post-hook projects the radii of every ``PointKernel`` whose radius the stepping
optimizer owns (so plain ``optimizer.step()`` loops, timm's ``train.py``, AMP's ``GradScaler.step`` all
keep them in range), and the kernel itself reads the radius through a clamp so a radius set or loaded
out of range never produces an invalid kernel (its gradient passes straight through, so a radius on a bound keeps
moving, as in the original).
"""
import math
import numbers
import warnings
import weakref
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

from .conv_backends import autocast_disabled, autocast_enabled, exporting, functional_transforms_active
from ..user_warnings import caller_stacklevel

__all__ = ['PointKernel', 'sampling_grid', 'clamp_all_radii_', 'factory_kwargs_of']

# Every live PointKernel, for the optimizer hook. Modules add themselves on construction and when
# they are unpickled or deep-copied (both go through ``__setstate__``), never from forward.
_LIVE_KERNELS: 'weakref.WeakSet[PointKernel]' = weakref.WeakSet()


def _position_dtype(dtype: Optional[torch.dtype]) -> Optional[torch.dtype]:
    # None keeps torch's default dtype
    if dtype is None:
        return None
    return torch.promote_types(dtype, torch.float32) if dtype.is_floating_point else dtype


def sampling_grid(size: int, device: Optional[torch.device] = None, dtype: Optional[torch.dtype] = None):
    """The 1D sampling positions of a kernel of ``size`` taps: ``linspace(-1, 1, size)``."""
    return torch.linspace(-1., 1., size, device=device, dtype=dtype)


class PointKernel(nn.Module):
    """A bank of continuous point kernels, sampled on demand.

    Args:
        n_points: points per kernel (N).
        out_channels: output channels (O) of the kernel tensor.
        in_channels: input channels (I) per output channel (1 for depthwise kernels).
        ndim: spatial dimensions of the kernel (1, 2 or 3).
        shared_coords: one set of coordinates and radii for all output channels (the ImageNet models)
            instead of one per output channel (the sequence models).
        init_radius: initial radius of every point, in ``[r_min, r_max]`` (outside them: clamped, with a
            ``UserWarning``).
        coord_std: std of the truncated-normal coordinate initialisation.
        coord_init: ``'centered'``: trunc-normal in [-1, 1]; ``'recent'``: trunc-normal in [-1, 0], then
            ``2c + 1`` along the last axis, i.e. concentrated at the newest step of a causal kernel.
        weight_std: std of the truncated-normal weight initialisation.
        r_min, r_max: radius bounds.
        normalize_by_count: divide the kernel at each position by the number of points whose term is
            non-zero there (plus 1e-6), as the original sequence models do.
        device, dtype: where and in which dtype the parameters are created (timm's factory arguments);
            coordinates and radii are float32 at least whatever ``dtype`` says (16-bit positions are off by as
            much as a point's radius).
    """

    def __init__(
            self,
            n_points: int,
            out_channels: int,
            in_channels: int = 1,
            ndim: int = 2,
            shared_coords: bool = True,
            init_radius: float = 0.1,
            coord_std: float = 0.2,
            coord_init: str = 'centered',
            weight_std: float = 0.02,
            r_min: float = 1e-3,
            r_max: float = 1.,
            normalize_by_count: bool = False,
            device=None,
            dtype=None,
    ):
        super().__init__()
        # (numbers.Integral: numpy's integers too, as nn.Conv2d takes them; trial 73c F1)
        if isinstance(ndim, bool) or not isinstance(ndim, numbers.Integral) or ndim not in (1, 2, 3):
            raise ValueError(f'PointKernel supports 1, 2 or 3 dimensions, got ndim={ndim!r}')
        for name, value in (('n_points', n_points), ('out_channels', out_channels), ('in_channels', in_channels)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f'{name} must be an integer of at least 1, got {value!r}')
        for name, value in (('init_radius', init_radius), ('r_min', r_min), ('r_max', r_max),
                            ('coord_std', coord_std), ('weight_std', weight_std)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f'{name} must be a finite number above 0, got {value!r}')
        if not r_min <= r_max:
            raise ValueError(f'radius bounds must satisfy 0 < r_min <= r_max, got r_min={r_min}, r_max={r_max}')
        if coord_init not in ('centered', 'recent'):
            raise ValueError(f"coord_init must be 'centered' or 'recent', got {coord_init!r}")
        if not r_min <= init_radius <= r_max:  # (the radii start clamped into the bounds, as they are kept)
            warnings.warn(f'init_radius={init_radius} is outside the radius bounds [r_min, r_max] = [{r_min}, {r_max}]: '
                          f'every point starts at radius {min(max(init_radius, r_min), r_max)}; pass an init_radius '
                          f'within them, or other bounds', UserWarning, stacklevel=caller_stacklevel())
        self.n_points = n_points
        self.out_channels = out_channels
        self.in_channels = in_channels
        self.ndim = ndim
        self.shared_coords = shared_coords
        self.r_min = float(r_min)
        self.r_max = float(r_max)
        self.normalize_by_count = normalize_by_count

        groups = 1 if shared_coords else out_channels
        # coordinates and radii in float32 at least, whatever dtype is asked for (see _apply)
        position_dtype = _position_dtype(dtype)
        self.coords = nn.Parameter(torch.empty(groups, n_points, ndim, device=device, dtype=position_dtype))
        self.radius = nn.Parameter(torch.empty(groups, n_points, device=device, dtype=position_dtype))
        self.weights = nn.Parameter(torch.empty(out_channels, in_channels, n_points, device=device, dtype=dtype))
        self.reset_parameters(init_radius, coord_std, coord_init, weight_std)
        _LIVE_KERNELS.add(self)

    @torch.no_grad()
    def reset_parameters(self, init_radius: float, coord_std: float, coord_init: str, weight_std: float):
        if coord_init == 'centered':
            nn.init.trunc_normal_(self.coords, std=coord_std, a=-1., b=1.)
        else:
            nn.init.trunc_normal_(self.coords, std=coord_std, a=-1., b=0.)
            self.coords.mul_(2.).add_(1.)
        self.radius.fill_(init_radius).clamp_(self.r_min, self.r_max)
        nn.init.trunc_normal_(self.weights, std=weight_std)

    def _apply(self, fn, recurse: bool = True):
        # Coordinates and radii stay in float32 when the module is cast to a 16-bit dtype (.half(), .bfloat16(),
        # .to(dtype)): a 16-bit coordinate near +-1 is off by up to 2.4e-4 (float16) or 2e-3 (bfloat16), as much
        # as a point's radius, which would move the points and change the kernel. Weights follow the cast.
        kept = {name: getattr(self, name).data for name in ('coords', 'radius')}
        super()._apply(fn, recurse)
        for name, before in kept.items():
            param = getattr(self, name)
            if param.dtype in (torch.float16, torch.bfloat16) and before.dtype not in (torch.float16, torch.bfloat16):
                param.data = before.to(device=param.device, dtype=torch.promote_types(before.dtype, torch.float32))
                if param.grad is not None:
                    param.grad = param.grad.to(param.dtype)
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # loading works (copy_ casts to float32), but what a 16-bit copy lost is gone: say so
        for name in ('coords', 'radius'):
            value = state_dict.get(prefix + name)
            if isinstance(value, torch.Tensor) and value.dtype in (torch.float16, torch.bfloat16):
                warnings.warn(
                    f'{prefix}{name} is stored in {value.dtype}: point coordinates and radii need float32 (a 16-bit '
                    f'coordinate near 1 is off by up to 2.4e-4 in float16, 2e-3 in bfloat16, as much as a point\'s '
                    f'radius), so the kernels of this state dict differ from those it was saved from; keep '
                    f'coordinates and radii in float32 (model.half() does)', stacklevel=caller_stacklevel())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __setstate__(self, state):
        super().__setstate__(state)
        _LIVE_KERNELS.add(self)

    def extra_repr(self) -> str:
        return (f'n_points={self.n_points}, out_channels={self.out_channels}, in_channels={self.in_channels}, '
                f'ndim={self.ndim}, shared_coords={self.shared_coords}, radius=[{self.r_min:g}, {self.r_max:g}]')

    @torch.no_grad()
    def clamp_radius_(self):
        """Project the radii onto [r_min, r_max] in place (called after every optimizer step)."""
        self.radius.clamp_(self.r_min, self.r_max)

    def _compute_dtype(self) -> torch.dtype:
        # Positions and distances need float32 at least: near +-1 a 16-bit grid is spaced ~1e-3 (float16) or
        # ~8e-3 (bfloat16) apart, more than a typical point radius (2e-4 .. 2e-3 in the sequence models).
        return torch.promote_types(self.coords.dtype, torch.float32)

    def _radius(self, dtype: torch.dtype) -> torch.Tensor:
        # The radius the kernel reads: clamped to [r_min, r_max] (a radius set or loaded out of range never makes an
        # invalid kernel) with the gradient passed straight through. The optimizer hook leaves radii exactly on a
        # bound, where clamp's own gradient is zero: those radii would never move again, while the original, which
        # reads the raw radius and clips it after the step, keeps moving them.
        radius = self.radius.to(dtype)
        return radius + (radius.clamp(self.r_min, self.r_max) - radius).detach()

    def _point_terms(self, distance: torch.Tensor) -> torch.Tensor:
        # distance: [G, N, P] -> relu(1 - d / r), in the compute dtype
        radius = self._radius(distance.dtype)
        return F.relu(1. - distance / radius.unsqueeze(-1))

    def _combine(self, terms: torch.Tensor) -> torch.Tensor:
        # terms: [G, N, P] (compute dtype) -> kernel [O, I, P] in the parameters' dtype, i.e. the float32 kernel
        # rounded once to a 16-bit dtype
        num_pos = terms.shape[-1]
        weights = self.weights.to(terms.dtype)
        if self.shared_coords:
            kernel = torch.mm(weights.reshape(-1, self.n_points), terms[0]).reshape(
                self.out_channels, self.in_channels, num_pos)
        else:
            kernel = torch.bmm(weights, terms)
        if self.normalize_by_count:
            count = (terms != 0).sum(dim=1, keepdim=True).to(kernel.dtype)  # [G, 1, P]
            kernel = kernel / (count + 1e-6)
        return kernel.to(self.weights.dtype)

    @torch.jit.unused
    def _under_autocast(self) -> bool:
        # (under torch.fx the parameters are graph values: a traced graph records the plain operations)
        return not isinstance(self.coords, torch.fx.Proxy) and autocast_enabled(self.coords.device.type)

    @torch.jit.unused
    def _without_autocast(self, sample, *args):
        # autocast would run the sums over points (GEMMs) in 16 bits: float16's 1 / (0 + 1e-6) is inf, a 0 * inf NaN
        # in every tap no point covers (trial 75: every SMP-TCN output NaN), and the kernels lose precision; they are
        # sampled as without autocast, in float32, and the convolution that reads them casts them as autocast does
        with autocast_disabled(self.coords.device.type):
            return sample(*args)

    @torch.jit.unused
    def _samples_with_own_backward(self, grid: torch.Tensor, coords: torch.Tensor) -> bool:
        # eager and torch.compile; torch.fx, torch.jit.trace, ONNX export, torch.func transforms and forward-mode AD
        # use the plain operations instead
        return not (isinstance(grid, torch.fx.Proxy) or torch.jit.is_tracing() or exporting()
                    or functional_transforms_active(coords, self.radius, self.weights))

    @torch.jit.unused
    def _sample_1d(self, coords: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        radius = self._radius(coords.dtype)
        coords, weights = coords[:, :, 0], self.weights.to(coords.dtype)
        width = _window_width(coords, radius, weights, grid.shape[0])
        if width is not None:
            kernel = _Sample1dWindowed.apply(coords, radius, weights, grid, self.normalize_by_count, width)
        else:
            kernel = _Sample1d.apply(coords, radius, weights, grid, self.normalize_by_count)
        return kernel.to(self.weights.dtype)

    def sample(self, positions: torch.Tensor) -> torch.Tensor:
        """Evaluate the kernels at arbitrary positions.

        Positions and distances are computed in float32 (float64 for a float64 module) whatever the
        parameters' dtype; the result is cast to the parameters' dtype once.

        Args:
            positions: ``[P, ndim]`` points (or ``[P]`` when ndim is 1), in the kernel's coordinate frame.

        Returns:
            ``[out_channels, in_channels, P]``.

        Raises:
            ValueError: positions of another shape.
        """
        if positions.dim() == 1:
            positions = positions.unsqueeze(-1)
        if positions.dim() != 2 or positions.shape[-1] != self.ndim:
            raise ValueError(
                f'positions must have shape [P, {self.ndim}], got {list(positions.shape)}')
        if not torch.jit.is_scripting() and self._under_autocast():
            return self._without_autocast(self.sample, positions)
        dtype = self._compute_dtype()
        coords = self.coords.to(dtype)
        positions = positions.to(dtype)
        distance = (coords.unsqueeze(2) - positions.unsqueeze(0).unsqueeze(0)).abs().sum(-1)  # [G, N, P]
        return self._combine(self._point_terms(distance))

    def forward(self, size: List[int]) -> torch.Tensor:
        """Sample the kernels on a regular grid.

        Grid positions and distances are computed in float32 (float64 for a float64 module) whatever the
        parameters' dtype; the kernel is cast to the parameters' dtype once.

        Args:
            size: taps along each axis, ``ndim`` integers.

        Returns:
            ``[out_channels, in_channels, *size]``, index i along axis a at ``linspace(-1, 1, size[a])[i]``.

        Raises:
            ValueError: a size of the wrong length, not integers, or non-positive.
        """
        if len(size) != self.ndim:
            raise ValueError(f'expected a kernel size of {self.ndim} integers, got {size}')
        size = list(size)  # (a tuple too)
        if not torch.jit.is_scripting():
            for k in size:  # (not an int check: under torch.fx or tracing a size may be a graph value)
                if isinstance(k, bool) or isinstance(k, numbers.Real) and not isinstance(k, numbers.Integral):
                    raise ValueError(f'expected a kernel size of {self.ndim} integers, got {size}')
                if isinstance(k, numbers.Integral) and k < 1:  # (numpy's too: trial 73c F5, an empty kernel)
                    raise ValueError(f'kernel size must be positive along every axis, got {size}')
            if self._under_autocast():
                return self._without_autocast(self.forward, size)
        dtype = self._compute_dtype()
        coords = self.coords.to(dtype)
        # L1 distance is a sum over axes, so build it from per-axis distances by broadcasting instead of
        # materialising every grid position's coordinates.
        if self.ndim == 1:  # one axis: the per-axis distance is the distance (no accumulation pass)
            grid = torch.linspace(-1., 1., size[0], dtype=dtype, device=coords.device)
            if isinstance(size[0], int) and size[0] < 1:
                raise ValueError(f'kernel size must be positive along every axis, got {size}')
            if not torch.jit.is_scripting() and self._samples_with_own_backward(grid, coords):
                return self._sample_1d(coords, grid)
            radius = self._radius(dtype)
            kernel = _sample_1d_reference(coords[:, :, 0], radius, self.weights.to(dtype), grid, self.normalize_by_count,
                                          self.shared_coords)
            return kernel.to(self.weights.dtype)
        num_pos = 1
        distance = torch.zeros(1, dtype=dtype, device=coords.device)
        for axis in range(self.ndim):
            k = size[axis]
            if isinstance(k, int) and k < 1:  # under torch.fx a size may be a graph value (the input's length)
                raise ValueError(f'kernel size must be positive along every axis, got {size}')
            grid = torch.linspace(-1., 1., k, dtype=dtype, device=coords.device)
            axis_dist = (coords[:, :, axis].unsqueeze(-1) - grid).abs()  # [G, N, k]
            distance = distance.unsqueeze(-1) + axis_dist.reshape(
                [axis_dist.shape[0], axis_dist.shape[1]] + [1] * axis + [k])
            num_pos *= k
        distance = distance.reshape(coords.shape[0], self.n_points, num_pos)
        kernel = self._combine(self._point_terms(distance))
        return kernel.reshape([self.out_channels, self.in_channels] + size)


def _sample_1d_reference(coords: torch.Tensor, radius: torch.Tensor, weights: torch.Tensor, grid: torch.Tensor,
                         normalize: bool, shared: bool) -> torch.Tensor:
    # PointKernel's 1-D sampling with plain operations (coords, radius [G, N], G = 1 when shared; weights [O, I, N];
    # grid [P]): its path under TorchScript, torch.fx, tracing, export and torch.func, and _Sample1d's double backward
    terms = F.relu(1. - (coords.unsqueeze(-1) - grid).abs() / radius.unsqueeze(-1))
    if shared:
        kernel = torch.mm(weights.reshape(-1, weights.shape[-1]), terms[0]).reshape(
            weights.shape[0], weights.shape[1], -1)
    else:
        kernel = torch.bmm(weights, terms)
    if normalize:
        kernel = kernel / ((terms != 0).sum(dim=1, keepdim=True).to(kernel.dtype) + 1e-6)
    return kernel


def _differentiable_backward(ctx, grad, coords, radius, weights, grid):
    # the 1-D sampling Functions' backward under create_graph=True: the gradients of the plain operations
    # (_sample_1d_reference), computed with a graph, so that second derivatives are exact
    wanted = ctx.needs_input_grad[:3]
    with torch.enable_grad():
        kernel = _sample_1d_reference(coords, radius, weights, grid, ctx.normalize, coords.shape[0] == 1)
    inputs = [t for t, w in zip((coords, radius, weights), wanted) if w]
    grads = iter(torch.autograd.grad(kernel, inputs, grad, create_graph=True))
    return tuple(next(grads) if w else None for w in wanted)


class _Sample1d(torch.autograd.Function):
    """1-D point kernels sampled on a grid, ``sum_n w[o, i, n] relu(1 - |g - c_n| / r_n)`` (divided by the number of
    non-zero terms at each position when ``normalize``), with a hand-written backward: fewer passes over the
    [G, N, P] terms than autograd through the plain operations (forward 1.1x, forward + backward 1.14x faster for
    the sMNIST model's 30 x 30 x 784 bank on 2 CPU threads). With ``create_graph=True`` the backward differentiates
    the plain operations instead, so second derivatives are exact."""

    @staticmethod
    def forward(ctx, coords, radius, weights, grid, normalize: bool):
        diff = coords.unsqueeze(-1) - grid                                             # [G, N, P]
        one = torch.ones((), dtype=diff.dtype, device=diff.device)
        terms = torch.addcmul(one, diff.abs(), radius.reciprocal().unsqueeze(-1), value=-1.).clamp_min_(0.)
        o, i, n = weights.shape
        if coords.shape[0] == 1:
            kernel = torch.mm(weights.reshape(-1, n), terms[0]).reshape(o, i, -1)
        else:
            kernel = torch.bmm(weights, terms)
        scale = None
        if normalize:
            scale = ((terms > 0).sum(dim=1, keepdim=True).to(kernel.dtype) + 1e-6).reciprocal_()  # [G, 1, P]
            kernel.mul_(scale)
        ctx.save_for_backward(coords, radius, weights, grid, diff, terms, scale)
        ctx.normalize = normalize
        return kernel

    @staticmethod
    def backward(ctx, grad):
        # called inside an autocast region (loss.backward() within it), its GEMMs would run in 16 bits too
        with autocast_disabled(grad.device.type):
            return _Sample1d._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
        coords, radius, weights, grid, diff, terms, scale = ctx.saved_tensors
        wanted = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # create_graph: differentiate the plain operations, whose graph reaches the inputs
            return _differentiable_backward(ctx, grad, coords, radius, weights, grid) + (None, None)
        o, i, n = weights.shape
        shared = coords.shape[0] == 1
        grad = grad * scale if scale is not None else grad                  # of the unnormalised kernel; counts are
        g_coords = g_radius = g_weights = None                              # piecewise constant
        if wanted[2]:
            g_weights = (torch.mm(grad.reshape(o * i, -1), terms[0].t()).reshape(o, i, n) if shared
                         else torch.bmm(grad, terms.transpose(1, 2)))
        if wanted[0] or wanted[1]:
            g_terms = (torch.mm(weights.reshape(-1, n).t(), grad.reshape(o * i, -1)).unsqueeze(0) if shared
                       else torch.bmm(weights.transpose(1, 2), grad))      # [G, N, P]
            g_terms.mul_(terms > 0)                                         # where relu passes
            inv_r = radius.reciprocal()
            if wanted[1]:                                                   # d terms / d r = |g - c| / r^2
                g_radius = (g_terms * diff.abs()).sum(-1) * inv_r * inv_r
            if wanted[0]:                                                   # d terms / d c = sign(g - c) / r
                g_coords = (g_terms * diff.sign()).sum(-1) * -inv_r
        return g_coords, g_radius, g_weights, None, None


# A point covers the grid positions within its radius; when every point covers few of them, kernels are built from
# those windows alone (_Sample1dWindowed) instead of every point's terms at every position (_Sample1d's GEMM).
# Worth it while a point's window is at most this share of the grid, whatever the number of points (2 CPU threads,
# 30 x 30 and 30 x 1 banks, 1-30 points, 300-1460 taps: forward + backward 3-4.5x faster at the sMNIST model's initial
# radii, about equal at a window of 1/13 of the grid, 1.5x slower at 1/5).
_WINDOWED_MAX_SHARE = 1. / 15.


def _covering_width(radius: torch.Tensor, size: int) -> float:
    """Taps in a window every point's non-zero terms fit in, on a grid of ``size`` taps: ``2 r (size - 1) / 2`` for
    the largest radius, plus two taps of margin each side (positions at the window's edge only ever get exact zeros;
    linspace's rounding moves no position by a tap). NaN for a NaN radius."""
    return float((radius.detach().max() * (size - 1)).ceil()) + 6


def _window_width(coords: torch.Tensor, radius: torch.Tensor, weights: torch.Tensor, size: int) -> Optional[int]:
    """``_covering_width``, or None where the dense evaluation is the better choice: on GPUs (reading the width back
    would stall the device), while compiling, when the windows are not small against the grid, or with non-finite
    parameters (the dense GEMM spreads a NaN over the whole kernel row, as the plain operations do)."""
    if coords.device.type != 'cpu' or torch.compiler.is_compiling() or size < 2:
        return None
    width = _covering_width(radius, size)
    if not width <= _WINDOWED_MAX_SHARE * size:  # also False for a NaN radius
        return None
    if not (bool(torch.isfinite(coords).all()) and bool(torch.isfinite(weights).all())):
        return None
    return int(width)


class _Sample1dWindowed(torch.autograd.Function):
    """``_Sample1d`` from the ``width`` grid positions around each point only: the terms of point n of group g are
    ``relu(1 - |grid[j] - c| / r)`` for ``j`` in ``start[g, n] + [0, width)`` (positions off the grid are masked),
    scattered into the kernel as ``w[o, i, n] * term``. Exactly the dense kernel's terms; the sums over points run
    in another order (float32 rounding, about 1e-7 relative). With ``create_graph=True`` the backward
    differentiates the plain operations, as ``_Sample1d``'s does."""

    @staticmethod
    def forward(ctx, coords, radius, weights, grid, normalize: bool, width: int):
        size = grid.shape[0]
        start = torch.floor((coords - radius + 1.) * ((size - 1) / 2.)).long() - 2          # [G, N]
        index = start.unsqueeze(-1) + torch.arange(width, device=coords.device)             # [G, N, W]
        on_grid = (index >= 0) & (index < size)
        index.clamp_(0, size - 1)
        diff = coords.unsqueeze(-1) - grid[index]                                           # [G, N, W]
        one = torch.ones((), dtype=diff.dtype, device=diff.device)
        terms = torch.addcmul(one, diff.abs(), radius.reciprocal().unsqueeze(-1), value=-1.).clamp_min_(0.)
        terms.mul_(on_grid)
        o, i, n = weights.shape
        flat_index = index.unsqueeze(1).expand(o, i, n, width).reshape(o, i, n * width)
        products = (weights.unsqueeze(-1) * terms.unsqueeze(1)).reshape(o, i, n * width)     # [O, I, N W]
        kernel = weights.new_zeros(o, i, size).scatter_add_(2, flat_index, products)
        scale = None
        if normalize:
            count = terms.new_zeros(terms.shape[0], size).scatter_add_(
                1, index.reshape(terms.shape[0], -1), (terms > 0).reshape(terms.shape[0], -1).to(terms.dtype))
            scale = (count.unsqueeze(1) + 1e-6).reciprocal_()                                 # [G, 1, P]
            kernel.mul_(scale)
        ctx.save_for_backward(coords, radius, weights, grid, index, diff, terms, scale)
        ctx.normalize = normalize
        return kernel

    @staticmethod
    def backward(ctx, grad):
        # called inside an autocast region (loss.backward() within it), its GEMMs would run in 16 bits too
        with autocast_disabled(grad.device.type):
            return _Sample1dWindowed._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
        coords, radius, weights, grid, index, diff, terms, scale = ctx.saved_tensors
        wanted = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # create_graph: differentiate the plain operations, whose graph reaches the inputs
            return _differentiable_backward(ctx, grad, coords, radius, weights, grid) + (None, None, None)
        o, i, n = weights.shape
        width = index.shape[-1]
        grad = grad * scale if scale is not None else grad                  # counts are piecewise constant
        flat_index = index.unsqueeze(1).expand(o, i, n, width).reshape(o, i, n * width)
        picked = grad.gather(2, flat_index).reshape(o, i, n, width)         # the kernel's gradient at each term
        g_coords = g_radius = g_weights = None
        if wanted[2]:
            g_weights = (picked * terms.unsqueeze(1)).sum(-1)
        if wanted[0] or wanted[1]:
            g_terms = (picked * weights.unsqueeze(-1)).sum(1)               # [O, N, W]
            if coords.shape[0] == 1:
                g_terms = g_terms.sum(0, keepdim=True)
            g_terms.mul_(terms > 0)                                         # where relu passes (and on the grid)
            inv_r = radius.reciprocal()
            if wanted[1]:
                g_radius = (g_terms * diff.abs()).sum(-1) * inv_r * inv_r
            if wanted[0]:
                g_coords = (g_terms * diff.sign()).sum(-1) * -inv_r
        return g_coords, g_radius, g_weights, None, None, None


def factory_kwargs_of(module: nn.Module) -> Dict[str, Any]:
    """``dict(device=..., dtype=...)`` of ``module``'s parameters other than point coordinates and radii (which stay
    float32 in a 16-bit model): what a layer added to it later, e.g. a new classifier, is created with. Empty for a
    module without such parameters."""
    positions = {id(p) for m in module.modules() if isinstance(m, PointKernel) for p in (m.coords, m.radius)}
    ref = next((p for p in module.parameters() if id(p) not in positions), None)
    return dict(device=ref.device, dtype=ref.dtype) if ref is not None else {}


def clamp_all_radii_(optimizer: Optional[torch.optim.Optimizer] = None):
    """Project the radii of live point kernels onto their bounds.

    With an optimizer, only kernels whose radius that optimizer updates are touched (this is what
    runs automatically after every ``optimizer.step()``); without one, every live kernel is.
    """
    kernels = list(_LIVE_KERNELS)
    if not kernels:
        return
    if optimizer is None:
        for pk in kernels:
            pk.clamp_radius_()
        return
    owned = {id(p) for group in optimizer.param_groups for p in group['params']}
    for pk in kernels:
        if id(pk.radius) in owned:
            pk.clamp_radius_()


def _after_optimizer_step(optimizer, args, kwargs):
    clamp_all_radii_(optimizer)


register_optimizer_step_post_hook(_after_optimizer_step)
