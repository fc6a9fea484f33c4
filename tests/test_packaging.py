"""What a wheel or an sdist carries: the shipped weights, their model cards, configs and manifests, and the recipes.
The wheel is built from the tracked files of this checkout (as `pip install .` or `pip wheel .` would), installed
into an empty folder and imported from there, with no source tree on the path and the Hub offline: every shipped tag
must load its weights and give the source tree's outputs."""
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from smpconvnet.models import WEIGHTS_DIR

SHIPPED = sorted(p.parent.name for p in WEIGHTS_DIR.glob('*/model.safetensors'))
CARDS = sorted(p.relative_to(ROOT).as_posix() for p in WEIGHTS_DIR.glob('*/*') if p.is_file())


def _build(kind: str, out: Path) -> Path:
    """Build a wheel or sdist of the tracked files (a copy, so that the checkout gets no build/ folder)."""
    src = out / 'src'
    files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split('\0')):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = out / 'dist'
    code = f'from setuptools import build_meta; print(build_meta.build_{kind}({str(dist)!r}))'
    dist.mkdir()
    name = subprocess.run([sys.executable, '-c', code], cwd=src, capture_output=True, text=True, check=True)
    return dist / name.stdout.strip().splitlines()[-1]


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    return _build('wheel', tmp_path_factory.mktemp('wheel'))


def test_shipped_files_are_the_ones_tested():
    assert SHIPPED, f'no shipped weights found in {WEIGHTS_DIR}'
    assert WEIGHTS_DIR == ROOT / 'smpconvnet' / 'pretrained'


def test_wheel_carries_weights_cards_and_manifests(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [c for c in CARDS if c not in names]
    assert not missing, f'{wheel.name} lacks {missing}'
    assert any(n.startswith('smpconvnet/train/recipes/') for n in names)
    # the MIT licence the metadata and every model card name: its text travels with the package
    assert any(n.endswith('.dist-info/licenses/LICENSE') for n in names), 'LICENSE'
    metadata = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith('.dist-info/METADATA'))
    assert 'License-Expression: MIT' in metadata and 'License-File: LICENSE' in metadata


def test_sdist_carries_weights_cards_manifests_docs_and_tests(tmp_path):
    """The README's links (docs/) and the tests with their fixtures come with the sdist too."""
    sdist = _build('sdist', tmp_path)
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    docs = ['docs/' + p.name for p in (ROOT / 'docs').glob('*.md')] + ['docs/bench-cpu.json', 'tests/conftest.py']
    docs += ['docs/ucr-cpu.json', 'benchmarks/ucr.py']  # the README's trained-models table and its test
    docs += ['LICENSE']
    docs += ['tests/fixtures/' + p.name for p in (ROOT / 'tests' / 'fixtures').iterdir()]
    missing = [c for c in CARDS + docs if c not in names]
    assert not missing, f'{sdist.name} lacks {missing}'


def test_installed_wheel_loads_every_shipped_tag_offline(wheel, tmp_path):
    """Installed into an empty target, imported from there (not from this checkout), Hub offline and an empty
    cache: every shipped tag loads its shipped weights and gives the checkout's logits."""
    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', '--target',
                    str(target), str(wheel)], check=True, capture_output=True)
    script = f'''
import json, sys
sys.path.insert(0, {str(target)!r})
import torch, timm, smpconvnet
assert smpconvnet.__file__.startswith({str(target)!r}), smpconvnet.__file__
out = {{}}
for tag in {SHIPPED!r}:
    model = timm.create_model(tag, pretrained=True).eval()
    torch.manual_seed(0)
    x = torch.randn(2, *model.pretrained_cfg['input_size'])
    with torch.no_grad():
        out[tag] = model(x).tolist()
print(json.dumps(out))
'''
    env = {'HF_HUB_OFFLINE': '1', 'HF_HOME': str(tmp_path / 'hf'), 'PATH': '/usr/bin:/bin', 'PYTHONNOUSERSITE': '1'}
    run = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    installed = json.loads(run.stdout.strip().splitlines()[-1])
    import timm
    import torch
    for tag in SHIPPED:
        model = timm.create_model(tag, pretrained=True).eval()
        torch.manual_seed(0)
        x = torch.randn(2, *model.pretrained_cfg['input_size'])
        with torch.no_grad():
            assert torch.equal(torch.tensor(installed[tag]), model(x)), tag
