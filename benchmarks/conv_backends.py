"""Time every depthwise backend on the SMPConvNet-T stage shapes (the data behind ``choose_backend``).

    python benchmarks/conv_backends.py [--device cuda] [--reps 5]

Prints milliseconds per call (median) for inference (no grad; Toeplitz with its cache) and for a training
pass (forward + backward), the backend ``'auto'`` picks, and the max relative difference to ``F.conv2d``.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from smpconvnet.layers.conv_backends import BACKENDS, choose_backend, depthwise_conv2d_same

STAGES = [(96, 56, 31), (192, 28, 29), (384, 14, 27), (768, 7, 13), (96, 56, 5), (384, 14, 5)]


def timed(fn, device, reps):
    fn()
    times = []
    for _ in range(reps):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--train-batch-size', type=int, default=4)
    args = parser.parse_args()
    device = torch.device(args.device)
    for train in (False, True):
        batch = args.train_batch_size if train else args.batch_size
        print(f"{'training (fwd + bwd)' if train else 'inference'}, batch {batch}, ms per call:")
        for channels, size, k in STAGES:
            x = torch.randn(batch, channels, size, size, device=device, requires_grad=train)
            weight = torch.randn(channels, 1, k, k, device=device, requires_grad=train) / k
            ref = F.conv2d(x, weight, padding=k // 2, groups=channels)
            cells = []
            for backend in BACKENDS:
                if backend == 'toeplitz' and size > 16:
                    continue
                cache = {}
                if train:
                    def fn():
                        depthwise_conv2d_same(x, weight, backend=backend).sum().backward()
                else:
                    def fn():
                        with torch.no_grad():
                            depthwise_conv2d_same(x, weight, backend=backend, cache=cache)
                with torch.no_grad():
                    out = depthwise_conv2d_same(x, weight, backend=backend)
                diff = ((out - ref).abs().max() / ref.abs().max()).item()
                cells.append(f'{backend} {timed(fn, device, args.reps):8.2f} (diff {diff:.0e})')
            auto = choose_backend((batch, channels, size, size), (k, k), device_type=device.type,
                                  requires_grad=train, cached=not train)
            print(f'  {channels:4d}x{size:2d}x{size:2d} k{k:2d}: ' + ' | '.join(cells) + f'  -> auto: {auto}',
                  flush=True)


if __name__ == '__main__':
    main()
