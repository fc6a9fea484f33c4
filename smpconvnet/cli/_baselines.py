"""The original SMPConv code's computations, re-written step for step for ``smpconvnet bench``: the baselines its
comparisons are made against. Each is checked against the original implementation's reference outputs
(``tests/fixtures/official_*``, produced by running the authors' code) before it is timed, and the bench prints no
comparison when that check cannot run (an installed package has no tests/ folder).

* ``OriginalTCN``: the sMNIST sequence model as the original code runs it (``smp/``: ``CKConv`` with an
  ``SMPKernel``, horizon 'same', its causal FFT convolution; radius clipping after each optimizer step).
* ``OriginalSMPConvNet``: the ImageNet model as the original code runs it (``smp_imagenet/models/SMPConv.py``):
  every SMP kernel re-sampled at each forward, convolved depthwise at its full size, no re-parameterisation. The
  original calls a CUDA-only implicit-GEMM depthwise kernel (``depthwise_conv2d_implicit_gemm``); on other devices
  the same convolution is PyTorch's ``F.conv2d(..., padding=k // 2, groups=C)``, which is what runs here.

Source: https://github.com/sangnekim/SMPConv (MIT licence), read for these re-implementations; nothing is copied.
"""
import json
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.reparam import relative_error

__all__ = [
    'FIXTURES', 'OriginalSMPKernel', 'OriginalCKConv', 'OriginalTCN', 'verify_original_tcn',
    'OriginalSMPConv2d', 'OriginalSMPConvNet', 'verify_original_smpconvnet', 'original_causal_conv',
    'original_causal_fftconv',
]

# the original implementation's reference outputs, in a source checkout
FIXTURES = Path(__file__).resolve().parents[2] / 'tests' / 'fixtures'


# ---------------------------------------------------------------------------------------------------------
# Sequence models
#
# What the authors' sMNIST configuration runs (smp/ckconv of https://github.com/sangnekim/SMPConv: CKConv with an
# SMPKernel, horizon 'same', conv.use_fft=True), re-written here step for step, and checked against the original's
# reference outputs (tests/fixtures/official_tcn_small*) before it is timed.


def original_causal_padding(x: torch.Tensor, kernel: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """An even-length kernel gets a leading zero tap (odd length K); the input gets K - 1 zeros on the left."""
    if kernel.shape[-1] % 2 == 0:
        kernel = F.pad(kernel, [1, 0], value=0.0)
    return F.pad(x, [kernel.shape[-1] - 1, 0], value=0.0), kernel


def original_causal_conv(x: torch.Tensor, kernel: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    x, kernel = original_causal_padding(x, kernel)
    return F.conv1d(x, kernel, bias=bias, padding=0)


def original_causal_fftconv(x: torch.Tensor, kernel: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """The original's causal FFT convolution: padded input and kernel (zero-padded to the input's length) both
    transformed with ``rfft`` at that length, mixed by an einsum over input channels with the conjugated kernel
    spectrum (a correlation), ``irfft``, cut to the input length, bias added."""
    length = x.shape[-1]
    x, kernel = original_causal_padding(x, kernel)
    kernel = F.pad(kernel, [0, x.size(-1) - kernel.size(-1)])
    x_fr = torch.fft.rfft(x, dim=-1)
    kernel_fr = torch.conj(torch.fft.rfft(kernel, dim=-1))
    out = torch.fft.irfft(torch.einsum('bi..., oi... -> bo...', x_fr, kernel_fr), dim=-1).float()
    out = out[:, :, :length]
    return out + bias.view(1, -1, 1) if bias is not None else out


class OriginalSMPKernel(nn.Module):
    """The original ``SMPKernel`` (1-D): per-output-channel points ``weight_coord`` [O, N, 1], ``radius`` [O, N, 1]
    and ``weights`` [O, I, N]; the kernel at the given positions is the matmul of the weights with
    ``relu(1 - |c - x| / r)``, each position divided by its number of non-zero terms (+1e-6). The raw radius is used
    (the original clips it after each optimizer step, ``radius_clip``)."""

    def __init__(self, in_channels: int, out_channels: int, n_points: int, radius: float, coord_std: float):
        super().__init__()
        self.in_channels, self.out_channels, self.n_points = in_channels, out_channels, n_points
        self.weight_coord = nn.Parameter(
            nn.init.trunc_normal_(torch.empty(out_channels, n_points, 1), std=coord_std, a=-1., b=0.) * 2 + 1)
        self.radius = nn.Parameter(torch.full((out_channels, n_points, 1), radius))
        self.weights = nn.Parameter(nn.init.trunc_normal_(torch.empty(out_channels, in_channels, n_points), std=.02))

    def forward(self, rel_pos: torch.Tensor) -> torch.Tensor:
        # rel_pos: [1, 1, L]
        diff = self.weight_coord.unsqueeze(-2) - rel_pos.reshape(1, 1, -1).transpose(1, 2)
        diff = diff.transpose(2, 3).reshape(self.out_channels, self.n_points, 1, *rel_pos.shape[2:])
        diff = F.relu(1 - torch.sum(torch.abs(diff), dim=2) / self.radius)
        count_weight = 1 / (torch.sum(diff != 0, dim=1, keepdim=True) + 1e-6)
        kernels = torch.matmul(self.weights, (count_weight * diff).reshape(self.out_channels, self.n_points, -1))
        return kernels.reshape(self.out_channels, self.in_channels, *rel_pos.shape[2:])

    @torch.no_grad()
    def radius_clip(self, min_radius: float = 1e-4, max_radius: float = 1.):
        self.radius.data = self.radius.data.clamp(min_radius, max_radius)


class OriginalCKConv(nn.Module):
    """The original ``CKConv`` with an SMP kernel, horizon 'same': the relative positions ``linspace(-1, 1, T)`` for
    the first input's length T (``train_length``, kept as a buffer), cached; the kernel re-sampled every forward;
    the FFT or the direct causal convolution."""

    def __init__(self, in_channels: int, out_channels: int, n_points: int, radius: float, coord_std: float,
                 use_fft: bool = True, bias: bool = True):
        super().__init__()
        self.Kernel = OriginalSMPKernel(in_channels, out_channels, n_points, radius, coord_std)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer('train_length', torch.zeros(1).int(), persistent=True)
        self.rel_positions = None
        self.conv = original_causal_fftconv if use_fft else original_causal_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rel_positions is None:
            if self.train_length[0] == 0:
                self.train_length[0] = x.shape[-1]
            self.rel_positions = torch.linspace(-1, 1, int(self.train_length[0])).view(1, 1, -1).to(x.device)
        kernel = self.Kernel(self.rel_positions).view(-1, x.shape[1], *self.rel_positions.shape[2:])
        return self.conv(x, kernel, self.bias)


class _OriginalCausalConv1d(nn.Conv1d):
    """The original's small causal convolutions (``cconvNs``): odd-length kernel, K - 1 zeros on the left."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return original_causal_conv(x, self.weight, self.bias)


class OriginalTCNBlock(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, n_points: int, radius: float, coord_std: float,
                 small_kernel_size: int = 5, dropout: float = 0., use_fft: bool = True, bias: bool = True):
        super().__init__()
        self.cconv1 = OriginalCKConv(in_chs, out_chs, n_points, radius, coord_std, use_fft, bias)
        self.cconv2 = OriginalCKConv(out_chs, out_chs, n_points, radius, coord_std, use_fft, bias)
        self.cconv1s = _OriginalCausalConv1d(in_chs, out_chs, small_kernel_size, bias=False)
        self.cconv2s = _OriginalCausalConv1d(out_chs, out_chs, small_kernel_size, bias=False)
        self.norm1, self.norm2 = nn.BatchNorm1d(out_chs), nn.BatchNorm1d(out_chs)
        self.norm1s, self.norm2s = nn.BatchNorm1d(out_chs), nn.BatchNorm1d(out_chs)
        self.dp = nn.Dropout(dropout)
        self.shortcut = nn.Sequential(nn.Conv1d(in_chs, out_chs, 1)) if in_chs != out_chs else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        out = self.dp(F.relu(self.norm1(self.cconv1(x)) + self.norm1s(self.cconv1s(x))))
        return F.relu(self.dp(F.relu(self.norm2(self.cconv2(out)) + self.norm2s(self.cconv2s(out)))) + shortcut)


class OriginalTCN(nn.Module):
    """The original ``SeqData_TCN`` (sMNIST: 6 blocks, 30 channels, 30 points: 371,320 parameters), its key names.
    Its configurations' ``net.dropout_in`` is read by no model code, so there is no input dropout."""

    def __init__(self, in_chans: int = 1, num_classes: int = 10, hidden: int = 30, blocks: int = 6,
                 n_points: int = 30, radius: float = 0.002, coord_std: float = 0.1, dropout: float = 0.,
                 use_fft: bool = True, bias: bool = True):
        super().__init__()
        self.backbone = nn.Sequential(*[
            OriginalTCNBlock(in_chans if i == 0 else hidden, hidden, n_points, radius, coord_std, dropout=dropout,
                             use_fft=use_fft, bias=bias)
            for i in range(blocks)])
        self.finallyr = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finallyr(self.backbone(x)[:, :, -1])

    def radius_clip(self):
        """What the original trainer does after every optimizer step."""
        for m in self.modules():
            if isinstance(m, OriginalSMPKernel):
                m.radius_clip()


def _reference(fixtures: Optional[Path], stem: str):
    """(state dict, reference outputs, config) of the original implementation's ``{stem}.safetensors`` and
    ``{stem}_io.safetensors`` in ``fixtures`` (default ``FIXTURES``), or (None, why) when they are not there."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    fixtures = fixtures or FIXTURES
    weights, io = fixtures / f'{stem}.safetensors', fixtures / f'{stem}_io.safetensors'
    if not (weights.is_file() and io.is_file()):
        return None, f'the reference outputs are not here ({fixtures}: a source checkout has them)'
    with safe_open(str(weights), 'pt') as f:
        config = json.loads(f.metadata()['config'])
    return (load_file(str(weights)), load_file(str(io)), config), ''


def verify_original_tcn(fixtures: Optional[Path] = None) -> Tuple[Optional[float], str]:
    """(max relative difference, description) of ``OriginalTCN`` against the original code's reference outputs
    (``official_tcn_small*.safetensors``: a 2-block, 8-channel TCN, FFT convolution, eval mode), or (None, why) when
    the fixtures are not there (an installed package has no tests/ folder)."""
    found, why = _reference(fixtures, 'official_tcn_small')
    if found is None:
        return None, why
    state_dict, reference, config = found
    model = OriginalTCN(1, 10, hidden=config['net']['no_hidden'], blocks=config['net']['no_blocks'],
                        n_points=config['kernel']['n_points'], radius=config['kernel']['radius'],
                        coord_std=config['kernel']['coord_std'], use_fft=config['conv']['use_fft'],
                        bias=config['conv']['bias'])
    model.load_state_dict(state_dict)
    with torch.no_grad():
        err = relative_error(model.eval()(reference['input']), reference['logits'])
        kernel_err = relative_error(model.backbone[0].cconv1.Kernel(model.backbone[0].cconv1.rel_positions),
                                    reference['block0_conv1_kernel'])
    return max(err, kernel_err), f'equals the original code\'s reference outputs to {max(err, kernel_err):.1e}'


# ---------------------------------------------------------------------------------------------------------
# ImageNet models (smp_imagenet/models/SMPConv.py)


class OriginalSMPConv2d(nn.Module):
    """The original ``SMPConv``: points shared by all channels, ``weight_coord`` [1, N, 2], ``radius`` [1, N, 1, 1],
    ``weights`` [1, C, N] and the grid buffer ``kernel_coord`` [1, 2, k, k]; the kernel is re-sampled at every forward
    (``make_kernels``: L1 distances to the grid, ``relu(1 - d / r)``, matmul with the weights, transposed and flipped)
    and convolved depthwise at its full size with ``padding = k // 2``."""

    def __init__(self, planes: int, kernel_size: int, n_points: int):
        super().__init__()
        self.planes, self.kernel_size, self.n_points = planes, kernel_size, n_points
        grid = torch.linspace(-1, 1, kernel_size)
        self.register_buffer('kernel_coord', torch.stack(torch.meshgrid(grid, grid, indexing='ij'), 0).unsqueeze(0))
        self.weight_coord = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, n_points, 2), std=0.2, a=-1., b=1.))
        self.radius = nn.Parameter(torch.full((1, n_points, 1, 1), 2 * (2 / kernel_size)))
        self.weights = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, planes, n_points), std=.02))

    def make_kernels(self) -> torch.Tensor:
        k, n = self.kernel_size, self.n_points
        diff = self.weight_coord.unsqueeze(-2) - self.kernel_coord.reshape(1, 2, -1).transpose(1, 2)
        diff = diff.transpose(2, 3).reshape(1, n, 2, k, k)
        diff = F.relu(1 - torch.sum(torch.abs(diff), dim=2) / self.radius)
        kernels = torch.matmul(self.weights, diff.reshape(1, n, -1)).reshape(1, self.planes, k, k).squeeze(0)
        return torch.flip(kernels.permute(0, 2, 1), dims=(1,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernels = self.make_kernels().unsqueeze(1).contiguous()
        return F.conv2d(x.contiguous(), kernels, padding=self.kernel_size // 2, groups=self.planes)

    @torch.no_grad()
    def radius_clip(self, min_radius: float = 1e-3, max_radius: float = 1.):
        self.radius.data = self.radius.data.clamp(min_radius, max_radius)


def _conv_bn(in_chs: int, out_chs: int, kernel_size: int, stride: int, padding: int, groups: int,
             n_points: Optional[int] = None, relu: bool = False) -> nn.Sequential:
    # the original's conv_bn / conv_bn_relu: an SMP conv for depthwise stride-1 'same' convs given n_points, else a
    # plain conv without bias; BatchNorm (SyncBatchNorm in its distributed training: the same computation per process)
    seq = nn.Sequential()
    if n_points is not None and in_chs == out_chs == groups and stride == 1 and padding == kernel_size // 2:
        seq.add_module('conv', OriginalSMPConv2d(in_chs, kernel_size, n_points))
    else:
        seq.add_module('conv', nn.Conv2d(in_chs, out_chs, kernel_size, stride, padding, groups=groups, bias=False))
    seq.add_module('bn', nn.BatchNorm2d(out_chs))
    if relu:
        seq.add_module('nonlinear', nn.ReLU())
    return seq


class _OriginalSMPCNN(nn.Module):
    def __init__(self, chs: int, kernel_size: int, n_points: int):
        super().__init__()
        self.smp = _conv_bn(chs, chs, kernel_size, 1, kernel_size // 2, chs, n_points=n_points)
        self.small_conv = _conv_bn(chs, chs, 5, 1, 2, chs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.smp(x)
        out += self.small_conv(x)
        return out


class _OriginalSMPBlock(nn.Module):
    def __init__(self, chs: int, kernel_size: int, drop_path: float, n_points: int):
        from timm.layers import DropPath
        super().__init__()
        self.pw1 = _conv_bn(chs, chs, 1, 1, 0, 1, relu=True)
        self.pw2 = _conv_bn(chs, chs, 1, 1, 0, 1)
        self.large_kernel = _OriginalSMPCNN(chs, kernel_size, n_points)
        self.lk_nonlinear = nn.ReLU()
        self.prelkb_bn = nn.BatchNorm2d(chs)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pw2(self.lk_nonlinear(self.large_kernel(self.pw1(self.prelkb_bn(x)))))
        return x + self.drop_path(out)


class _OriginalConvFFN(nn.Module):
    def __init__(self, chs: int, hidden: int, drop_path: float):
        from timm.layers import DropPath
        super().__init__()
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.preffn_bn = nn.BatchNorm2d(chs)
        self.pw1 = _conv_bn(chs, hidden, 1, 1, 0, 1)
        self.pw2 = _conv_bn(hidden, chs, 1, 1, 0, 1)
        self.nonlinear = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.pw2(self.nonlinear(self.pw1(self.preffn_bn(x)))))


class _OriginalStage(nn.Module):
    def __init__(self, chs: int, depth: int, kernel_size: int, drop_path: Sequence[float], n_points: int,
                 ffn_ratio: int):
        super().__init__()
        blocks = []
        for i in range(depth):
            blocks += [_OriginalSMPBlock(chs, kernel_size, drop_path[i], n_points),
                       _OriginalConvFFN(chs, chs * ffn_ratio, drop_path[i])]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class OriginalSMPConvNet(nn.Module):
    """The original ``SMPConvNet`` (classification form), its key names; defaults are SMPConv-T. ``N = k^2 // 4``
    points per SMP layer (``n_points_divide`` 4)."""

    def __init__(self, large_kernel_sizes: Sequence[int] = (31, 29, 27, 13), layers: Sequence[int] = (2, 2, 8, 2),
                 channels: Sequence[int] = (96, 192, 384, 768), drop_path_rate: float = 0.1, num_classes: int = 1000,
                 in_chans: int = 3, ffn_ratio: int = 4, n_points_divide: int = 4):
        super().__init__()
        c0 = channels[0]
        self.stem = nn.ModuleList([
            _conv_bn(in_chans, c0, 3, 2, 1, 1, relu=True), _conv_bn(c0, c0, 3, 1, 1, c0, relu=True),
            _conv_bn(c0, c0, 1, 1, 0, 1, relu=True), _conv_bn(c0, c0, 3, 2, 1, c0, relu=True)])
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(layers))]
        self.stages, self.transitions = nn.ModuleList(), nn.ModuleList()
        for i, (k, depth, chs) in enumerate(zip(large_kernel_sizes, layers, channels)):
            self.stages.append(_OriginalStage(
                chs, depth, k, dpr[sum(layers[:i]):sum(layers[:i + 1])], k * k // n_points_divide, ffn_ratio))
            if i < len(layers) - 1:
                self.transitions.append(nn.Sequential(
                    _conv_bn(chs, channels[i + 1], 1, 1, 0, 1, relu=True),
                    _conv_bn(channels[i + 1], channels[i + 1], 3, 2, 1, channels[i + 1], relu=True)))
        self.norm = nn.BatchNorm2d(channels[-1])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels[-1], num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.stem:
            x = layer(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.transitions):
                x = self.transitions[i](x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.avgpool(self.norm(self.forward_features(x))), 1))

    def radius_clip(self):
        """What the original's training loop does after every optimizer step."""
        for m in self.modules():
            if isinstance(m, OriginalSMPConv2d):
                m.radius_clip()


def verify_original_smpconvnet(fixtures: Optional[Path] = None) -> Tuple[Optional[float], str]:
    """(max relative difference, description) of ``OriginalSMPConvNet`` against the original code's reference
    outputs (``official_smpconvnet_small*.safetensors``: kernels 31/29/27/13, layers 1/1/2/1, channels 16-128, eval
    mode: features, logits and the first SMP layer's kernel), or (None, why) when they are not there."""
    found, why = _reference(fixtures, 'official_smpconvnet_small')
    if found is None:
        return None, why
    state_dict, reference, config = found
    model = OriginalSMPConvNet(
        config['large_kernel_sizes'], config['layers'], config['channels'], drop_path_rate=0.,
        num_classes=config['num_classes'], ffn_ratio=config['ffn_ratio'], n_points_divide=config['n_points_divide'])
    model.load_state_dict(state_dict)
    with torch.no_grad():
        model.eval()
        errors = [relative_error(model.forward_features(reference['input']), reference['features']),
                  relative_error(model(reference['input']), reference['logits']),
                  relative_error(model.stages[0].blocks[0].large_kernel.smp.conv.make_kernels(),
                                 reference['stage0_block0_kernel'])]
    return max(errors), f'equals the original code\'s reference outputs to {max(errors):.1e}'


# ---------------------------------------------------------------------------------------------------------
# Kernel networks (CKConv / FlexConv), the generators point kernels replace


class SirenKernel(nn.Module):
    """A continuous kernel generated by an MLP kernel network, as CKConv (Romero et al., "CKConv: Continuous Kernel
    Convolution for Sequential Data", ICLR 2022, Sec. 3-4) and FlexConv (Romero et al., ICLR 2022) describe it:
    relative positions ``linspace(-1, 1, k)`` per axis -> ``Linear(ndim, hidden)`` -> ``sin(omega_0 .)`` ->
    ``Linear(hidden, hidden)`` -> ``sin(omega_0 .)`` -> ``Linear(hidden, out_channels * in_channels)``, SIREN
    initialisation (Sitzmann et al., 2020: first layer U(-1/ndim, 1/ndim), the others U(+-sqrt(6 / fan_in) /
    omega_0)). Written from the papers' descriptions (no weight normalisation, no FlexConv mask: both only add
    work). Same interface as ``PointKernel``: ``forward(size)`` -> ``[out_channels, in_channels, *size]``.

    Args:
        out_channels, in_channels: the kernel bank's shape (``in_channels`` 1 for a depthwise bank).
        ndim: kernel dimensions (1 or 2).
        hidden: hidden width (32 in CKConv's experiments).
        omega_0: SIREN frequency (CKConv uses about 30).
    """

    def __init__(self, out_channels: int, in_channels: int, ndim: int, hidden: int = 32, omega_0: float = 30.):
        super().__init__()
        self.out_channels, self.in_channels, self.ndim, self.omega_0 = out_channels, in_channels, ndim, omega_0
        self.layers = nn.ModuleList([
            nn.Linear(ndim, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, out_channels * in_channels)])
        with torch.no_grad():
            self.layers[0].weight.uniform_(-1. / ndim, 1. / ndim)
            for layer in self.layers[1:]:
                bound = (6. / layer.in_features) ** 0.5 / omega_0
                layer.weight.uniform_(-bound, bound)

    def forward(self, size: List[int]) -> torch.Tensor:
        grids = [torch.linspace(-1., 1., k, device=self.layers[0].weight.device) for k in size]
        positions = torch.stack(torch.meshgrid(*grids, indexing='ij'), -1).reshape(-1, self.ndim)  # [P, ndim]
        h = torch.sin(self.omega_0 * self.layers[0](positions))
        h = torch.sin(self.omega_0 * self.layers[1](h))
        kernel = self.layers[2](h)                                                               # [P, O * I]
        return kernel.t().reshape([self.out_channels, self.in_channels] + list(size))


def matched_hidden_width(parameters: int, ndim: int, outputs: int) -> int:
    """The hidden width H at which ``SirenKernel`` has about ``parameters`` parameters:
    ``(ndim + 1) H + (H + 1) H + (H + 1) outputs``."""
    b = ndim + 2 + outputs
    return max(1, round((-b + (b * b + 4 * (parameters - outputs)) ** 0.5) / 2))
