"""The documented fine-tuning path (examples/finetune_imagefolder.py) on a tiny real ImageFolder: a new head,
frozen stages that really stay frozen, loss that falls, and a result that deploys and reloads."""
import importlib.util
from pathlib import Path

import pytest
import timm
import timm.optim
import torch

from conftest import rel_err

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128], large_kernel_sizes=[15, 9, 5, 5])


def _example():
    spec = importlib.util.spec_from_file_location('finetune_imagefolder', ROOT / 'examples' / 'finetune_imagefolder.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def ft():
    return _example()


@pytest.fixture(scope='module')
def digits(tmp_path_factory, ft):
    # 4 real digit scans per class and split, 32px: a few seconds of training
    return ft.make_digits_imagefolder(tmp_path_factory.mktemp('digits'), img_size=32, per_class=4)


def test_new_head_and_frozen_stages(ft):
    model, frozen, _ = ft.build_model('smpconvnet_t', num_classes=3, pretrained='no', freeze_stages=2, **TINY)
    assert frozen == ['stem', 'stages.0', 'stages.1']
    assert model.get_classifier().out_features == 3 and model.num_classes == 3
    for name, p in model.named_parameters():
        assert p.requires_grad == (not name.startswith(('stem.', 'stages.0.', 'stages.1.'))), name
    # reset_classifier is the other way to a new head, keeping everything else
    model.reset_classifier(5)
    assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 5)


@pytest.fixture(scope='module')
def pretrained_folder(tmp_path_factory, ft, digits):
    """Stands in for downloaded ImageNet weights: a 1000-class network whose BatchNorm statistics were
    calibrated on images (a freshly initialised one, frozen in eval mode, passes almost nothing on)."""
    from smpconvnet.weights.folders import write_model_folder
    torch.manual_seed(1)
    model = timm.create_model('smpconvnet_t', **TINY)
    train_loader, _, _ = ft.make_loaders(model, digits, img_size=32, batch_size=20)
    ft.calibrate_batchnorm(model, train_loader)
    return write_model_folder(model.eval(), tmp_path_factory.mktemp('src') / 'in1k', card='# source\n')


def test_finetuning_lowers_the_loss_and_leaves_frozen_stages_untouched(ft, digits, pretrained_folder):
    torch.manual_seed(0)
    model, frozen, source = ft.build_model(f'local-dir:{pretrained_folder}', num_classes=10, pretrained='yes',
                                           freeze_stages=2)
    assert 'pretrained' in source
    # every pretrained tensor kept but the classifier, which timm re-initialised for 10 classes
    from safetensors.torch import load_file
    src = load_file(str(pretrained_folder / 'model.safetensors'))
    assert src['head.fc.weight'].shape[0] == 1000 and model.head.fc.weight.shape[0] == 10
    assert all(torch.equal(v, src[k]) for k, v in model.state_dict().items() if not k.startswith('head.fc.'))
    train_loader, val_loader, classes = ft.make_loaders(model, digits, img_size=32, batch_size=40)
    assert classes == [str(i) for i in range(10)] and len(train_loader.dataset) == 40
    frozen_state = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(('stem.', 'stages.0.', 'stages.1.'))}
    trained_before = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
    optimizer = timm.optim.create_optimizer_v2(model, 'adamw', lr=3e-3, weight_decay=0.05)
    assert sum(len(g['params']) for g in optimizer.param_groups) == len(trained_before)  # frozen ones left out

    # the same batch eight times, without augmentation noise in the comparison: the loss must fall
    x, y = next(iter(val_loader))
    fixed = [(x[:20], y[:20])] * 6
    losses = ft.train_steps(model, frozen, fixed, optimizer)
    assert losses[-1] < 0.8 * losses[0], losses
    # frozen parameters and BatchNorm statistics did not move; trained ones did
    for k, v in model.state_dict().items():
        if k in frozen_state:
            assert torch.equal(v, frozen_state[k]), k
    moved = [k for k, v in model.named_parameters() if v.requires_grad and not torch.equal(v, trained_before[k])]
    assert len(moved) == len(trained_before)

    # one real epoch through the augmented loader also runs
    ft.train_steps(model, frozen, train_loader, optimizer)
    # the fine-tuned model deploys exactly
    model.eval()
    deployed = timm.utils.reparameterize_model(model)
    with torch.inference_mode():
        assert rel_err(deployed(x), model(x)) < 1e-4
    assert 0.0 <= ft.evaluate(model, val_loader) <= 1.0


def test_finetuned_model_saves_and_reloads_through_timm(ft, digits, tmp_path):
    from smpconvnet.weights.folders import write_model_folder
    model, _, _ = ft.build_model('smpconvnet_t', num_classes=10, pretrained='no', freeze_stages=0, **TINY)
    model.eval()
    folder = write_model_folder(model, tmp_path / 'ft', card='# fine-tuned\n')
    reloaded = timm.create_model(f'local-dir:{folder}', pretrained=True).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(reloaded(x), model(x))
    assert reloaded.large_kernel_sizes == TINY['large_kernel_sizes']


def test_example_script_help(ft, capsys):
    with pytest.raises(SystemExit) as e:
        ft.main(['--help'])
    assert e.value.code == 0 and '--freeze-stages' in capsys.readouterr().out
    # --epochs 0 ended in a ZeroDivisionError; --small --pretrained yes trained from random weights without a word
    for argv, said in ((['--epochs', '0'], '--epochs 0: expected at least 1'),
                       (['--small', '--pretrained', 'yes'], '--small builds a reduced network, which has no '
                                                            'pretrained weights')):
        with pytest.raises(SystemExit) as e:
            ft.main(argv)
        assert e.value.code == 2 and said in capsys.readouterr().err


def test_example_script_saves_what_it_trained(ft, digits, tmp_path, capsys):
    """`--output` trained, then failed to import the card writer (moved to smpconvnet.weights.folders): the trained
    model was lost. The folder is now written, reloads as the fine-tuned network (its reduced layers and new head),
    its card claims no ImageNet result, and an existing folder is refused before the training, not after it."""
    import json
    out = tmp_path / 'ft'
    argv = ['--data', str(digits), '--pretrained', 'no', '--epochs', '1', '--batch-size', '8', '--output', str(out)]
    assert ft.main(argv) == 0
    assert f'saved: {out}' in capsys.readouterr().out
    # a seed repeats the run, whatever state Python's random module (timm's random crops) was in: it did not
    import random
    from safetensors.torch import load_file
    random.random()
    assert ft.main(argv[:-1] + [str(tmp_path / 'again')]) == 0
    first, again = load_file(str(out / 'model.safetensors')), load_file(str(tmp_path / 'again' / 'model.safetensors'))
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    capsys.readouterr()
    config = json.loads((out / 'config.json').read_text())
    assert config['model_args']['num_classes'] == 10 and config['model_args']['layers'] == [1, 1, 2, 1]
    card = (out / 'README.md').read_text()
    assert 'imagenet-1k' not in card and '--output' in card
    model = timm.create_model(f'local-dir:{out}', pretrained=True).eval()
    assert model.num_classes == 10
    # the preprocessing it was trained with (it recorded the base model's 224 px and 0.875 crop: chance accuracy
    # through timm's data pipeline), and not the base's tag
    from timm.data import resolve_data_config
    data_cfg = resolve_data_config({}, model=model)
    assert data_cfg['input_size'] == (3, 32, 32) and data_cfg['crop_pct'] == 1.0
    assert 'tag' not in config['pretrained_cfg'] and 'hf_hub_id' not in config['pretrained_cfg']
    assert config['pretrained_cfg']['label_names'] == [str(i) for i in range(10)]
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(ValueError, match='holds notes.txt'):
        ft.main(argv + ['--force'])
    (out / 'notes.txt').unlink()
    with pytest.raises(FileExistsError, match='add --force'):
        ft.main(argv)
    assert 'training:' not in capsys.readouterr().out  # refused before the work
    assert ft.main(argv + ['--force']) == 0
    import subprocess
    import sys
    r = subprocess.run([sys.executable, str(ROOT / 'examples' / 'finetune_imagefolder.py')] + argv,
                       capture_output=True, text=True)  # a refusal is one line, without a traceback
    assert r.returncode == 1 and r.stderr.strip() == f'finetune_imagefolder.py: error: {out} exists; add --force to ' \
                                                     'replace it', r.stderr
