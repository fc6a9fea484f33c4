"""The shipped timm train.py recipes: valid train.py options, the paper's values, and `smpconvnet recipe`."""
import argparse
import math
import re
from pathlib import Path

import pytest
import timm
import torch
from timm.scheduler import create_scheduler_v2, scheduler_kwargs

from smpconvnet.cli import main
from smpconvnet.train.timm_scripts import load_recipe, recipe_names, recipe_text
from smpconvnet.models.smpconvnet import ARCH_CONFIGS

ROOT = Path(__file__).resolve().parents[2]

# Every option dest of timm's train.py, read from github.com/huggingface/pytorch-image-models at commit
# aa4b5850c1543fa488abf260f18390eda46cf85d (timm/version.py there: 1.0.29.dev0) with
# {a.dest for a in train.parser._actions} - {'help'}. train.py --config passes the YAML to
# parser.set_defaults(), which accepts any key silently, so a misspelt key would be ignored: hence this list.
TRAIN_PY_DESTS = frozenset("""
    aa amp amp_dtype aug_repeats aug_splits batch_size bce_loss bce_pos_weight bce_sum bce_target_thresh bn_eps
    bn_momentum channels_last checkpoint_hist class_map clip_grad clip_mode color_jitter color_jitter_prob
    cooldown_epochs crop_pct cutmix cutmix_minmax data data_dir dataset dataset_download
    dataset_trust_remote_code decay_epochs decay_milestones decay_rate device device_modules dist_bn
    distill_loss_weight drop drop_block drop_connect drop_path epoch_repeats epochs eval_metric experiment
    fast_norm fuser gaussian_blur_prob gp grad_accum_steps grad_checkpointing grayscale_prob head_init_bias
    head_init_scale hflip img_size in_chans initial_checkpoint input_img_mode input_key input_size interpolation
    jsd_loss kd_distill_type kd_loss_type kd_model_name kd_student_feature_dim kd_teacher_feature_dim
    kd_temperature kd_token_distill_type layer_decay layer_decay_min_scale layer_decay_no_opt_scale local_rank
    log_interval log_wandb lr lr_base lr_base_scale lr_base_size lr_cycle_decay lr_cycle_limit lr_cycle_mul
    lr_k_decay lr_noise lr_noise_pct lr_noise_std mean min_lr mixup mixup_mode mixup_off_epoch mixup_prob
    mixup_switch_prob model model_dtype model_ema model_ema_decay model_ema_force_cpu model_ema_warmup
    model_kwargs momentum naflex_loader naflex_loss_scale naflex_max_seq_len naflex_patch_size_probs
    naflex_patch_sizes naflex_patchify_channels_first naflex_train_seq_lens no_aug no_ddp_bb no_prefetcher
    no_resume_opt num_classes opt opt_betas opt_eps opt_kwargs output patience_epochs pin_mem pretrained
    pretrained_path ratio recount recovery_interval remode reprob resplit resume save_images scale sched
    sched_on_updates seed smoothing split_bn start_epoch std sync_bn synchronize_step target_key
    task_loss_weight torchcompile torchcompile_mode torchscript train_batch_sizes train_batches_per_epoch
    train_crop_mode train_img_sizes train_interpolation train_num_samples train_size_probs train_size_random_mix
    train_size_schedule train_size_schedule_spread train_split tta use_multi_epochs_loader val_interval
    val_num_samples val_split validation_batch_size variable_batch_loss_scale vflip wandb_project
    wandb_resume_id wandb_tags warmup_epochs warmup_lr warmup_prefix weight_decay worker_seeding workers
""".split())

RECIPES = {'smpconvnet_t_in1k': 'smpconvnet_t', 'smpconvnet_b_in1k': 'smpconvnet_b'}

# the paper's ImageNet-1k recipe (shared/reference/README.md) and the original code's settings, shared by T and B
COMMON = dict(
    num_classes=1000, input_size=[3, 224, 224], opt='adamw', weight_decay=0.05, lr=None, lr_base=4e-3,
    lr_base_size=2048, lr_base_scale='linear', sched='cosine', sched_on_updates=True, warmup_epochs=10,
    warmup_lr=0.0, warmup_prefix=True, epochs=290, min_lr=1e-6, model_ema=True, model_ema_decay=0.9999,
    aa='rand-m9-mstd0.5-inc1', mixup=0.8, cutmix=1.0, smoothing=0.1, reprob=0.25, hflip=0.0, clip_grad=None,
    layer_decay=None, amp=False, drop=0.0, train_interpolation='random', seed=42,
)


def test_recipes_are_shipped():
    assert sorted(RECIPES) == recipe_names()


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_every_key_is_a_train_py_option(name):
    unknown = set(load_recipe(name)) - TRAIN_PY_DESTS
    assert not unknown, f'{name}: not options of timm train.py: {sorted(unknown)}'


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_every_value_says_where_it_comes_from(name):
    for line in recipe_text(name).splitlines():
        if line and not line.startswith((' ', '#')):
            assert re.search(r'#\s*\[(paper|launch|orig|timm)\]', line), f'{name}: no source for {line!r}'


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_values_are_the_papers(name):
    recipe = load_recipe(name)
    for key, value in COMMON.items():
        assert recipe[key] == value, f'{name}: {key} is {recipe[key]!r}, expected {value!r}'
    model_name = RECIPES[name]
    assert recipe['model'] == model_name and timm.is_model(model_name)
    # drop path 0.1 (T) / 0.5 (B), as the model's own default
    assert recipe['drop_path'] == {'smpconvnet_t': 0.1, 'smpconvnet_b': 0.5}[model_name]
    assert recipe['drop_path'] == ARCH_CONFIGS[model_name]['drop_path_rate']
    # total epochs: warm-up prefix + cosine epochs = 300
    assert recipe['warmup_epochs'] + recipe['epochs'] + recipe['cooldown_epochs'] == 300
    # the original launch: per-GPU batch x accumulation x 4 GPUs = 2048, where train.py's linear rule gives 4e-3
    global_batch = recipe['batch_size'] * recipe['grad_accum_steps'] * 4
    assert global_batch == 2048
    assert recipe['lr_base'] * global_batch / recipe['lr_base_size'] == pytest.approx(4e-3)


def _original_lr(base, final, epochs, warmup_epochs, updates_per_epoch, it):
    """The paper's schedule per optimiser update: linear warm-up from 0 to `base` over the warm-up epochs
    (both ends included), then a half cosine from `base` to `final` over the remaining updates."""
    warmup = warmup_epochs * updates_per_epoch
    if it < warmup:
        return base * it / (warmup - 1)
    i, n = it - warmup, epochs * updates_per_epoch - warmup
    return final + 0.5 * (base - final) * (1 + math.cos(math.pi * i / n))


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_schedule_is_the_papers(name):
    """timm's scheduler, built from the recipe as train.py builds it, gives the paper's per-update schedule:
    300 epochs, 10 of linear warm-up from 0, cosine to 1e-6 over the other 290."""
    recipe = load_recipe(name)
    updates_per_epoch = 4
    base = 4e-3
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)
    scheduler, num_epochs = create_scheduler_v2(
        optimizer, **scheduler_kwargs(argparse.Namespace(**recipe)), updates_per_epoch=updates_per_epoch)
    assert num_epochs == 300
    total = num_epochs * updates_per_epoch
    warmup = recipe['warmup_epochs'] * updates_per_epoch
    # train.py: the k-th update runs at the lr set by step_update(k) (step 0: the scheduler's initial value)
    timm_lr = [scheduler._get_lr(k)[0] for k in range(total)]
    paper_lr = [_original_lr(base, 1e-6, 300, recipe['warmup_epochs'], updates_per_epoch, k) for k in range(total)]
    assert timm_lr[0] == 0.0
    # warm-up: timm steps base/W per update, the original base/(W-1): at most one step apart
    assert max(abs(a - b) for a, b in zip(timm_lr[:warmup], paper_lr[:warmup])) <= base / (warmup - 1) + 1e-12
    # cosine: the same function
    assert max(abs(a - b) for a, b in zip(timm_lr[warmup:], paper_lr[warmup:])) < 1e-12
    assert timm_lr[warmup] == pytest.approx(base) and 1e-6 < timm_lr[-1] < 1.01e-6


def test_recipe_command_prints_and_lists(capsys):
    assert main(['recipe', 'smpconvnet_t_in1k']) == 0
    assert capsys.readouterr().out == recipe_text('smpconvnet_t_in1k')
    assert main(['recipe']) == 0
    assert capsys.readouterr().out.split() == sorted(RECIPES)


def test_recipe_options_that_would_do_nothing_are_refused(tmp_path, capsys, monkeypatch):
    """`recipe --list -o x` listed and wrote nothing, `recipe NAME --force` printed, `-o ''` printed: each looked as
    if a file had been written. Refused, naming the option."""
    monkeypatch.chdir(tmp_path)
    for argv, said in ((['--list', '-o', 'x'], '--list prints the recipe names and writes nothing'),
                       (['--list', 'smpconvnet_t_in1k'], '--list prints the recipe names'),
                       (['-o', 'x'], '--output and --force write a recipe: name it'),
                       (['--force'], '--output and --force write a recipe: name it'),
                       (['smpconvnet_t_in1k', '--force'], '--force replaces the --output file'),
                       (['smpconvnet_t_in1k', '-o', ''], '--output is empty')):
        assert main(['recipe'] + argv) == 1, argv
        captured = capsys.readouterr()
        assert said in captured.err and captured.out == '', argv
    assert list(tmp_path.iterdir()) == []
    assert main(['recipe', '-o', 'x']) == 1
    hint = re.search(r'e\.g\. smpconvnet (recipe \S+ --output) FILE', capsys.readouterr().err).group(1)
    assert main(hint.split() + ['r.yaml']) == 0 and (tmp_path / 'r.yaml').is_file()  # the hint, as printed


def test_recipe_command_writes_without_overwriting(tmp_path, capsys):
    import yaml
    out = tmp_path / 'recipe.yaml'
    assert main(['recipe', 'smpconvnet_b_in1k', '--output', str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == load_recipe('smpconvnet_b_in1k')
    out.write_text('mine')
    assert main(['recipe', 'smpconvnet_t_in1k', '--output', str(out)]) == 1
    assert 'exists; add --force to replace it' in capsys.readouterr().err
    assert out.read_text() == 'mine'
    for force in ([], ['--force']):  # a folder is not a recipe file, --force or not
        assert main(['recipe', 'smpconvnet_t_in1k', '--output', str(tmp_path)] + force) == 1
        assert 'is a folder: name the file to write' in capsys.readouterr().err
    assert main(['recipe', 'smpconvnet_t_in1k', '--output', str(out), '--force']) == 0
    assert out.read_text() == recipe_text('smpconvnet_t_in1k')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['recipe.yaml']  # no temporary file left


def test_recipe_command_rejects_bad_input(tmp_path, capsys):
    assert main(['recipe', 'smpconvnet_x_in1k']) == 1
    err = capsys.readouterr().err
    assert "unknown recipe 'smpconvnet_x_in1k'" in err and 'smpconvnet_t_in1k' in err
    assert main(['recipe', 'smpconvnet_t_in1k', '--output', str(tmp_path / 'missing' / 'r.yaml')]) == 1
    assert 'does not exist' in capsys.readouterr().err


def test_recipes_ship_in_the_wheel():
    text = (ROOT / 'pyproject.toml').read_text()
    assert re.search(r'\[tool\.setuptools\.package-data\][^\[]*"smpconvnet\.train"\s*=\s*\[[^\]]*"recipes/\*\.yaml"',
                     text)
    assert sorted(p.stem for p in (ROOT / 'smpconvnet' / 'train' / 'recipes').glob('*.yaml')) == sorted(RECIPES)


def test_recipe_randaugment_survives_its_strongest_posterize():
    # 'rand-m9-mstd0.5-inc1' draws magnitudes up to 10, where the increasing posterize keeps 0 bits: Pillow 13
    # raises on that (hence the pillow<13 pin in pyproject.toml); the op must run, as in the original recipe
    from PIL import Image
    from timm.data.auto_augment import AugmentOp
    op = AugmentOp('PosterizeIncreasing', prob=1.0, magnitude=10, hparams=dict(magnitude_std=0))
    img = Image.new('RGB', (8, 8), (200, 100, 50))
    out = op(img)
    assert out.size == img.size and out.getpixel((0, 0)) == (0, 0, 0)
