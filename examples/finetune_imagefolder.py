"""Fine-tune an SMPConvNet on an ImageFolder with a new head and frozen early stages, then deploy it.

    python examples/finetune_imagefolder.py                      # scikit-learn's digits, offline: 0.916 val accuracy
    python examples/finetune_imagefolder.py --data /path/to/folder --model smpconvnet_t.in1k --img-size 224

``--data`` is a folder with ``train/<class>/*.png`` and ``val/<class>/*.png`` (torchvision's ImageFolder layout).
Without it the script writes scikit-learn's handwritten digits (1,797 real 8x8 scans, 10 classes) as such a
folder in a temporary directory, upscaled to ``--img-size`` pixels, and fine-tunes on that.

Everything is timm's: ``create_model(..., num_classes=N)`` (or ``model.reset_classifier(N)``) for the new head,
``timm.utils.freeze`` for the frozen stages, ``timm.data.create_transform`` with the model's normalisation,
``timm.optim.create_optimizer_v2`` (which skips frozen parameters and keeps weight decay off the point radii).
The model starts from ImageNet weights when they are available offline (``--pretrained auto``), else from
random initialisation, which the script says. At the end the model is re-parameterised (the deployed form gives
the same accuracy) and saved as a folder that ``timm.create_model('local-dir:DIR', pretrained=True)`` loads.
"""
import argparse
import math
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

import timm
import timm.optim
import timm.utils
from timm.data import create_transform, resolve_data_config

import smpconvnet  # noqa: F401  (registers the models with timm)


def make_digits_imagefolder(root: Path, img_size: int = 32, val_fraction: float = 0.25, seed: int = 0,
                            per_class: int = 0) -> Path:
    """Write scikit-learn's digits as ``root/{train,val}/<digit>/<i>.png`` RGB images of ``img_size`` pixels.
    ``per_class > 0`` keeps only that many images per class in each split (for quick tests)."""
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    idx_train, idx_val = train_test_split(range(len(digits.target)), test_size=val_fraction,
                                          stratify=digits.target, random_state=seed)
    for split, indices in (('train', idx_train), ('val', idx_val)):
        counts = {}
        for i in indices:
            label = int(digits.target[i])
            if per_class and counts.get(label, 0) >= per_class:
                continue
            counts[label] = counts.get(label, 0) + 1
            # 0..16 grey levels, dark digit on light paper like a scan; bicubic upscale to the model's size
            pixels = (255 - digits.images[i] * (255 / 16)).clip(0, 255).astype('uint8')
            image = Image.fromarray(pixels, mode='L').resize((img_size, img_size), Image.BICUBIC).convert('RGB')
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            image.save(folder / f'{i}.png')
    return root


def build_model(name: str, num_classes: int, pretrained: str = 'auto', freeze_stages: int = 2,
                **model_kwargs) -> Tuple[nn.Module, List[str], str]:
    """The model with a new ``num_classes`` head, its first ``freeze_stages`` stages (and the stem) frozen.

    Returns (model, names of the frozen submodules, where the weights came from)."""
    from smpconvnet.models import weights_location
    source = 'random initialisation'
    use_weights = pretrained == 'yes'
    if pretrained == 'auto':
        cfg = timm.models.get_pretrained_cfg(name)
        kind, _ = weights_location(cfg.to_dict() if cfg else {})
        use_weights = kind in ('hub-cache', 'shipped', 'file')
        if not use_weights:
            source = 'random initialisation (no pretrained weights available offline)'
    # timm keeps every pretrained tensor but the classifier, which it re-initialises for num_classes
    model = timm.create_model(name, pretrained=use_weights, num_classes=num_classes, **model_kwargs)
    if use_weights:
        source = f"pretrained weights ({model.pretrained_cfg.get('hf_hub_id') or name})"
    frozen = (['stem'] + [f'stages.{i}' for i in range(freeze_stages)]) if freeze_stages > 0 else []
    if frozen:
        # requires_grad=False on their parameters, and FrozenBatchNorm2d for their BatchNorms (timm's default,
        # folded by the re-parameterisation like any BatchNorm); train_mode() below keeps them in eval mode too
        timm.utils.freeze(model, frozen)
    return model, frozen, source


def train_mode(model: nn.Module, frozen: Sequence[str]):
    """Training mode for what is trained, eval mode (fixed BatchNorm statistics) for the frozen stages."""
    model.train()
    for name in frozen:
        model.get_submodule(name).eval()


def make_loaders(model: nn.Module, data: Path, img_size: int, batch_size: int, workers: int = 0):
    from torchvision.datasets import ImageFolder
    cfg = resolve_data_config({'input_size': (3, img_size, img_size)}, model=model)
    train_tf = create_transform(cfg['input_size'], is_training=True, hflip=0., scale=(0.85, 1.0),
                                ratio=(0.9, 1.1), interpolation='bicubic', mean=cfg['mean'], std=cfg['std'])
    eval_tf = create_transform(cfg['input_size'], is_training=False, crop_pct=1.0, interpolation='bicubic',
                               mean=cfg['mean'], std=cfg['std'])
    train_set = ImageFolder(str(data / 'train'), transform=train_tf)
    val_set = ImageFolder(str(data / 'val'), transform=eval_tf)
    if train_set.classes != val_set.classes:
        raise ValueError(f'train and val class folders differ: {train_set.classes} vs {val_set.classes}')
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                               num_workers=workers, drop_last=len(train_set) > batch_size)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=batch_size * 2, num_workers=workers)
    return train_loader, val_loader, train_set.classes


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, loader, frozen: Sequence[str] = (), max_batches: int = 20):
    """Re-estimate the running statistics of the trained BatchNorms as exact averages over ``loader``
    ("precise BN"). Needed after short training from random initialisation: its activations are tiny and
    shift fast, so the momentum-0.1 running averages lag far behind and eval-mode outputs collapse."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    frozen_norms = {id(m) for name in frozen for m in model.get_submodule(name).modules()}
    norms = [m for m in norms if id(m) not in frozen_norms]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    train_mode(model, frozen)
    for i, (x, _) in enumerate(loader):
        if i >= max_batches:
            break
        model(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


@torch.inference_mode()
def evaluate(model: nn.Module, loader) -> float:
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += (model(x).argmax(-1) == y).sum().item()
        total += len(y)
    return correct / max(total, 1)


def train_steps(model: nn.Module, frozen: Sequence[str], loader, optimizer, scheduler=None, epochs: int = 1,
                log_every: int = 0) -> List[float]:
    """Plain cross-entropy training; returns the loss of every step."""
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    for epoch in range(epochs):
        train_mode(model, frozen)
        t0 = time.perf_counter()
        for step, (x, y) in enumerate(loader):
            loss = criterion(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()  # point radii are clamped to their range by smpconvnet's optimizer hook
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
            if log_every and (step + 1) % log_every == 0:
                print(f'  epoch {epoch + 1}/{epochs} step {step + 1}/{len(loader)}: loss {loss.item():.3f} '
                      f'({time.perf_counter() - t0:.0f}s)', flush=True)
    return losses


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data', type=Path, help='ImageFolder root with train/ and val/ (default: digits, offline)')
    p.add_argument('--model', default='smpconvnet_t', help='timm model name, with or without tag')
    p.add_argument('--pretrained', choices=('auto', 'yes', 'no'), default='auto')
    p.add_argument('--small', action=argparse.BooleanOptionalAction, default=None,
                   help='a reduced network (channels 32..256, layers 1,1,2,1, kernels 15,9,5,5): the default when '
                        'training from random initialisation on a CPU')
    p.add_argument('--img-size', type=int, default=32, help='a multiple of 32')
    p.add_argument('--freeze-stages', type=int, default=None,
                   help='freeze the stem and this many stages (default: 2 from pretrained weights, 0 from scratch)')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--weight-decay', type=float, default=0.05)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--output', type=Path, help='save the fine-tuned model here (a local-dir: folder)')
    p.add_argument('--force', action='store_true', help='replace --output if it is an earlier model folder')
    args = p.parse_args(argv)
    for option, value in (('--epochs', args.epochs), ('--batch-size', args.batch_size)):
        if value < 1:  # --epochs 0 ended in a ZeroDivisionError traceback
            p.error(f'{option} {value}: expected at least 1')
    if args.small and args.pretrained == 'yes':  # the reduced network has no pretrained weights: it trained from random
        p.error('--small builds a reduced network, which has no pretrained weights: drop --small to fine-tune '
                'the pretrained one, or pass --pretrained no')
    if args.output is not None:  # before the training, not after it
        from smpconvnet.atomic_io import check_destination
        from smpconvnet.weights.folders import foreign_to_model_folder
        check_destination(args.output, args.force, foreign=foreign_to_model_folder)
    # timm's random crops draw from Python's random module: seeded too, the run repeats (it did not)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = make_digits_imagefolder(Path(tmp) / 'digits', args.img_size, seed=args.seed)
            print(f'data: scikit-learn digits written as an ImageFolder at {args.img_size}px in {data}')
        classes = sorted(p.name for p in (data / 'train').iterdir() if p.is_dir())
        small = args.small
        if small is None:
            small = args.pretrained == 'no' or (args.pretrained == 'auto' and not _has_offline_weights(args.model))
        # kernels sized to the 8/4/2/1-pixel feature maps of 32px inputs (larger ones would be cropped anyway)
        kwargs = dict(layers=[1, 1, 2, 1], channels=[32, 64, 128, 256], large_kernel_sizes=[15, 9, 5, 5]) \
            if small else {}
        pretrained = 'no' if small else args.pretrained
        freeze = args.freeze_stages
        if freeze is None:  # frozen random features help nobody
            freeze = 2 if pretrained == 'yes' or (pretrained == 'auto' and _has_offline_weights(args.model)) else 0
        model, frozen, source = build_model(args.model, len(classes), pretrained, freeze, **kwargs)
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        n_all = sum(p.numel() for p in model.parameters())
        why = ('' if args.small else ': no pretrained weights offline' if args.pretrained == 'auto'
               else ': --pretrained no')
        reduced = f' (reduced: layers 1,1,2,1, channels 32..256, kernels 15,9,5,5{why}; --no-small for the full one)'
        print(f"model: {args.model}{reduced if small else ''}, {source}; new head for "
              f'{len(classes)} classes; frozen: {", ".join(frozen) or "nothing"} ({n_train:,} of {n_all:,} '
              f'parameters trained)')
        train_loader, val_loader, _ = make_loaders(model, data, args.img_size, args.batch_size)
        optimizer = timm.optim.create_optimizer_v2(model, 'adamw', lr=args.lr, weight_decay=args.weight_decay)
        total = args.epochs * len(train_loader)
        warmup = max(1, total // 20)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1., (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
        print(f'training: {len(train_loader.dataset)} images, {args.epochs} epochs of {len(train_loader)} steps, '
              f'AdamW lr {args.lr}, cosine schedule')
        t0 = time.perf_counter()
        for epoch in range(args.epochs):
            losses = train_steps(model, frozen, train_loader, optimizer, scheduler)
            if source.startswith('random'):
                calibrate_batchnorm(model, train_loader, frozen)
            acc = evaluate(model, val_loader)
            print(f'  epoch {epoch + 1}/{args.epochs}: mean loss {sum(losses) / len(losses):.3f}, '
                  f'val accuracy {acc:.4f} ({time.perf_counter() - t0:.0f}s)', flush=True)
        deployed = timm.utils.reparameterize_model(model.eval())  # a copy: model keeps its training form
        acc_deployed = evaluate(deployed, val_loader)
        print(f'result: val accuracy {acc:.4f} ({len(val_loader.dataset)} images), deployed model {acc_deployed:.4f}')
        if args.output is not None:
            from smpconvnet.weights.folders import model_card, retrained_cfg, write_model_folder
            # the arguments it was built with: its config.json rebuilds this network, and its card claims no
            # ImageNet result for a new head
            model_args = dict(num_classes=len(classes), **kwargs)
            # the preprocessing it was trained and validated with (timm's data config reads it back), not the base
            # model's ImageNet cfg: its 224 px and 0.875 crop gave chance accuracy on the saved digits model; nor the
            # base's tag and Hub repo, which are not this model's
            model.pretrained_cfg = retrained_cfg(model.pretrained_cfg, input_size=(3, args.img_size, args.img_size),
                                                 crop_pct=1.0, interpolation='bicubic', num_classes=len(classes),
                                                 label_names=classes)
            card = model_card(args.model.split('.')[0], model, model_args, f'{args.model} fine-tuned on {data.name}',
                              source=(f'trained from {source} on {data}' if source.startswith('random')
                                      else f'fine-tuned from {source} on {data}'),
                              command='python examples/finetune_imagefolder.py ' + shlex.join(sys.argv[1:] if argv is None else argv),
                              extra=f'Validation accuracy: {acc:.4f} on {len(val_loader.dataset)} images.')
            write_model_folder(model, args.output, card, model_args=model_args, force=args.force)
            print(f"saved: {args.output} (timm.create_model('local-dir:{args.output}', pretrained=True))")
    return 0


def _has_offline_weights(name: str) -> bool:
    from smpconvnet.models import weights_location
    cfg = timm.models.get_pretrained_cfg(name)
    return weights_location(cfg.to_dict() if cfg else {})[0] in ('hub-cache', 'shipped', 'file')


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (ValueError, FileExistsError, FileNotFoundError) as e:  # a refusal, said in one line
        sys.exit(f'finetune_imagefolder.py: error: {e}'.replace(' (force=True in Python)', ''))
