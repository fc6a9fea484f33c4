"""Correctness of the depthwise backends and of smpconvnet_t on a device (CUDA when there is one).

    python benchmarks/check_device.py [--device cuda]

Every backend against ``F.conv2d`` in float32 (forward, input and weight gradients), under autocast in
float16 and bfloat16 (output dtype and error against float32), and the whole deployed and training-form
``smpconvnet_t`` in the fast and the plain direct path. Prints max relative differences; exits 1 if one is
above its tolerance (1e-4 float32, 3e-2 half precision).
"""
import argparse
import sys

import timm
import torch
import torch.nn.functional as F

import smpconvnet  # noqa: F401
from smpconvnet.cli.bench import randomize_for_check
from smpconvnet.layers.conv_backends import BACKENDS, conv_backend, depthwise_conv2d_same


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    device = torch.device(args.device)
    failures = []

    def check(name, value, tol):
        ok = value <= tol
        print(f'  {name:70s} {value:.1e} {"ok" if ok else "FAIL"}', flush=True)
        if not ok:
            failures.append(name)

    print(f'backends on {device}:')
    for channels, size, k in [(96, 56, 31), (384, 14, 27), (768, 7, 13), (8, 5, 31)]:
        x = torch.randn(2, channels, size, size, device=device, requires_grad=True)
        w = (torch.randn(channels, 1, k, k, device=device) / k).requires_grad_()
        ref = F.conv2d(x, w, padding=k // 2, groups=channels)
        g = torch.randn_like(ref)
        ref_grads = torch.autograd.grad(ref, (x, w), g)
        for backend in BACKENDS:
            out = depthwise_conv2d_same(x, w, backend=backend)
            grads = torch.autograd.grad(out, (x, w), g)
            check(f'{backend} {channels}x{size}x{size} k{k} fp32 out / dx / dw',
                  max(rel(out, ref), rel(grads[0], ref_grads[0]), rel(grads[1], ref_grads[1])), 1e-4)
            for dtype in (torch.float16, torch.bfloat16):
                with torch.autocast(device.type, dtype=dtype):
                    out = depthwise_conv2d_same(x, w, backend=backend)
                    ref_dtype = F.conv2d(x, w, padding=k // 2, groups=channels).dtype
                if out.dtype != ref_dtype:
                    print(f'  {backend} autocast {dtype}: dtype {out.dtype}, F.conv2d gives {ref_dtype} FAIL')
                    failures.append(f'{backend} dtype')
                check(f'{backend} {channels}x{size}x{size} k{k} autocast {dtype}', rel(out.float(), ref), 3e-2)

    print(f'smpconvnet_t on {device}:')
    torch.manual_seed(0)
    model = timm.create_model('smpconvnet_t', drop_path_rate=0.)
    randomize_for_check(model)  # at initialisation the logits are ~1e-11, below float16's range
    model = model.to(device).eval()
    x = torch.randn(2, 3, 224, 224, device=device)
    with torch.no_grad():
        fast = model(x)
        with conv_backend('direct'):
            plain = model(x)
        check('training form, eval: fast vs direct', rel(fast, plain), 1e-4)
        deployed = timm.utils.reparameterize_model(model)
        check('deployed: fast vs training form', rel(deployed(x), plain), 1e-4)
        with torch.autocast(device.type, dtype=torch.float16):
            half = deployed(x)
        check('deployed under float16 autocast vs float32', rel(half.float(), plain), 3e-2)
    print('all ok' if not failures else f'{len(failures)} failures: {failures}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
