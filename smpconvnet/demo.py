"""``smpconvnet demo``: build a model through timm, deploy it, and check the deployed form is exact."""
import argparse
import copy
import time

import torch

DEFAULT_MODEL = 'smpconvnet_t'


def _load(model_name: str, pretrained: str):
    import timm
    if pretrained == 'no':
        return timm.create_model(model_name), 'random initialisation (--pretrained no)'
    try:
        return timm.create_model(model_name, pretrained=True), 'pretrained weights'
    except Exception as e:  # noqa: BLE001  (any failure to find weights offline falls back to random init)
        if pretrained == 'yes':
            raise RuntimeError(f'pretrained weights for {model_name} are not available: {e}') from e
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return timm.create_model(model_name), f'random initialisation (no weights available offline: {first_line})'


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return ((actual.double() - expected.double()).abs().max() / expected.double().abs().max().clamp_min(1e-30)).item()


def run_demo(model_name: str = DEFAULT_MODEL, pretrained: str = 'auto', batch_size: int = 2, seed: int = 0,
             tolerance: float = 1e-4) -> int:
    import timm
    from timm.utils import reparameterize_model

    import smpconvnet  # noqa: F401  (registers the models)

    torch.manual_seed(seed)
    print(f'smpconvnet {smpconvnet.__version__} demo: {model_name}')
    t0 = time.perf_counter()
    model, source = _load(model_name, pretrained)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    cfg = model.pretrained_cfg
    input_size = tuple(cfg.get('input_size', (3, 224, 224)))
    print(f'  built through timm in {time.perf_counter() - t0:.1f}s: {n_params:,} parameters, {source}')

    # a deterministic, image-like input: smooth colour gradients plus texture, normalised with the model's mean/std
    x = torch.rand(batch_size, *input_size)
    x = torch.nn.functional.avg_pool2d(x, 9, stride=1, padding=4) if x.dim() == 4 else x
    if x.dim() == 4:
        mean = torch.tensor(cfg.get('mean', (0.5,) * input_size[0])).view(1, -1, 1, 1)
        std = torch.tensor(cfg.get('std', (0.5,) * input_size[0])).view(1, -1, 1, 1)
        x = (x - mean) / std

    with torch.inference_mode():
        t0 = time.perf_counter()
        y_train_form = model(x)
        t_train = time.perf_counter() - t0
    deployed = reparameterize_model(copy.deepcopy(model))
    n_deployed = sum(p.numel() for p in deployed.parameters())
    with torch.inference_mode():
        deployed(x)  # warm-up: the first call of a shape plans the convolutions
        t0 = time.perf_counter()
        y_deployed = deployed(x)
        t_deployed = time.perf_counter() - t0
    err = rel_err(y_deployed, y_train_form)
    bn_left = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in deployed.modules())
    print(f'  re-parameterised: {n_deployed:,} parameters, {bn_left} BatchNorm left, '
          f'every SMP block one depthwise conv')
    print(f'  forward {tuple(x.shape)}: training form {t_train:.2f}s, deployed {t_deployed:.2f}s')
    print(f'  deployed vs training form: max relative difference {err:.2e} (tolerance {tolerance:.0e})')
    probs = y_deployed.softmax(-1)
    top = probs.topk(min(3, probs.shape[-1]), dim=-1)
    for i in range(batch_size):
        pairs = ', '.join(f'class {c} ({p:.3f})' for p, c in zip(top.values[i].tolist(), top.indices[i].tolist()))
        print(f'  sample {i}: {pairs}')
    ok = err <= tolerance and bn_left == 0
    print('  OK' if ok else '  FAILED: deployed model differs from the training form')
    return 0 if ok else 1


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'demo', help='build a model through timm, re-parameterise it and check the deployed form is exact',
        description='Build MODEL through timm (with weights when available offline), re-parameterise it for '
                    'inference, check the deployed outputs against the training form, and print a prediction.')
    p.add_argument('model', nargs='?', default=DEFAULT_MODEL, help=f'timm model name (default {DEFAULT_MODEL})')
    p.add_argument('--pretrained', choices=('auto', 'yes', 'no'), default='auto',
                   help='load weights: auto uses them when available offline (default auto)')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(func=lambda a: run_demo(a.model, a.pretrained, a.batch_size, a.seed))
