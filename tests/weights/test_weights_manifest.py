"""smpconvnet/pretrained/: one folder per published or shipped model, each with a model card, a config.json that agrees with
the timm registry, and a manifest.sha256 that agrees with the files present; nothing large is committed."""
import json
import re
from pathlib import Path

import pytest
import timm

from smpconvnet.weights.hub import MANIFEST_NAME, WEIGHT_SUFFIXES, read_manifest, sha256_file

from smpconvnet.models._pretrained import WEIGHTS_DIR

MAX_FILE_BYTES = 5 * 2 ** 20  # larger weights go to the Hub, never into the repository
FOLDERS = sorted(p for p in WEIGHTS_DIR.iterdir() if p.is_dir()) if WEIGHTS_DIR.is_dir() else []


def test_the_published_imagenet_models_have_folders():
    assert {'smpconvnet_t.in1k', 'smpconvnet_b.in1k'} <= {p.name for p in FOLDERS}


def test_no_large_file_is_committed():
    too_big = [f'{p.relative_to(WEIGHTS_DIR)} ({p.stat().st_size:,} bytes)'
               for p in WEIGHTS_DIR.rglob('*') if p.is_file() and p.stat().st_size > MAX_FILE_BYTES]
    assert not too_big, f'files over {MAX_FILE_BYTES:,} bytes belong on the Hub: {too_big}'


@pytest.mark.parametrize('folder', FOLDERS, ids=[p.name for p in FOLDERS])
def test_manifest_matches_the_files(folder):
    for name in ('README.md', 'config.json', MANIFEST_NAME):
        assert (folder / name).is_file(), (
            f'{folder.name}/{name} is missing (a smpconvnet/pretrained/ folder holds a model card, config.json and a manifest; '
            f'write the manifest with: python -c "from smpconvnet.weights.hub import write_manifest; '
            f"write_manifest('smpconvnet/pretrained/{folder.name}')\")")
    manifest = read_manifest(folder)
    for name, digest in manifest.items():
        assert (folder / name).is_file(), f'{folder.name}/{MANIFEST_NAME} lists {name}, which is not there'
        assert sha256_file(folder / name) == digest, f'{folder.name}/{name} does not match its SHA-256 in the manifest'
    weights = [p.name for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES]
    unlisted = sorted(set(weights) - set(manifest))
    assert not unlisted, f'{folder.name}: weight files missing from {MANIFEST_NAME}: {unlisted}'


@pytest.mark.parametrize('folder', FOLDERS, ids=[p.name for p in FOLDERS])
def test_config_agrees_with_the_registry(folder):
    config = json.loads((folder / 'config.json').read_text())
    architecture = config['architecture']
    assert timm.is_model(architecture), f'{folder.name}: architecture {architecture} is not registered'
    tag = config['pretrained_cfg'].get('tag')
    assert folder.name == f'{architecture}.{tag}', 'a folder is named <architecture>.<pretrained tag>'
    registered = timm.models.get_pretrained_cfg(folder.name)
    assert registered is not None and registered.tag == tag
    assert config['num_classes'] == config['pretrained_cfg']['num_classes'] == registered.num_classes
    assert tuple(config['pretrained_cfg']['input_size']) == tuple(registered.input_size)
    assert registered.hf_hub_id and registered.hf_hub_id.endswith('/' + folder.name)
    # loaded as a folder (local-dir:, the Hub) the preprocessing is the registered one, not timm's defaults
    # (interpolation 'bicubic', crop_pct 0.875: an image's, where a sequence has none)
    for key in ('interpolation', 'crop_pct', 'mean', 'std'):
        assert config['pretrained_cfg'].get(key) == pytest.approx(getattr(registered, key)), key
    if (folder / 'model.safetensors').is_file():
        # shipped weights: the registered config loads them without the Hub
        assert Path(registered.file).resolve() == (folder / 'model.safetensors').resolve()


@pytest.mark.parametrize('folder', FOLDERS, ids=[p.name for p in FOLDERS])
def test_model_card_says_source_licence_accuracy_resolution_and_command(folder):
    card = (folder / 'README.md').read_text()
    assert card.startswith('---\n'), 'Hub model cards start with YAML metadata'
    low = card.lower()
    assert re.search(r'licen[cs]e', low), 'licence'
    assert 'accuracy' in low or 'top-1' in low, 'accuracy'
    assert re.search(r'\d+\s*(x|×)\s*\d+|length|steps', low), 'resolution / input length'
    assert re.search(r'(smpconvnet|python)[ -]\S+', card) and '```' in card, 'the exact command'
    assert 'github.com/sangnekim/smpconv' in low or 'aeon' in low, 'source'


@pytest.mark.parametrize('name', ['smpconvnet_t.in1k'])
def test_imagenet_config_is_what_convert_writes(name, tmp_path):
    """The committed config.json is exactly what `smpconvnet convert` of the authors' release puts on the Hub."""
    from timm.models._hub import save_config_for_hf

    from smpconvnet.models import weights_loaded_after

    with weights_loaded_after():  # how convert builds a recognised SMPConvNet-T, to load the release into
        model = timm.create_model(name.split('.')[0])
    save_config_for_hf(model, str(tmp_path / 'config.json'))
    assert json.loads((tmp_path / 'config.json').read_text()) == json.loads((WEIGHTS_DIR / name / 'config.json').read_text())
