"""Every Python block of README.md and docs/*.md runs, as a user would run it: in a fresh process, in an empty folder,
Hugging Face Hub offline. Stand-ins only where the block names data this machine cannot have: the authors' ImageNet
and sMNIST checkpoints (a state dict of the same architecture under the file name the block uses) and the
unpublished ImageNet weights (a model folder laid out in a temporary Hugging Face cache)."""
import os
import re
import subprocess
import sys

import pytest
import timm
import torch

from conftest import ROOT, add_to_hf_cache

DOCS = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
BLOCK = re.compile(r'^```python\n(.*?)^```', re.S | re.M)


def _blocks():
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in BLOCK.finditer(text):
            line = text[:m.start()].count('\n') + 1
            out.append(pytest.param(m.group(1), id=f'{doc.relative_to(ROOT)}:{line}'))
    return out


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    """An empty folder holding the stand-ins, and an offline Hugging Face cache holding smpconvnet_t.in1k."""
    from safetensors.torch import save_file
    from smpconvnet.models import hub_namespace
    from smpconvnet.weights.folders import write_model_folder
    root = tmp_path_factory.mktemp('docs')
    work = root / 'work'
    work.mkdir()
    torch.manual_seed(0)
    t = timm.create_model('smpconvnet_t').eval()
    save_file(t.state_dict(), str(work / 'smpconv_t.safetensors'))  # stands in for the authors' file (same shapes)
    torch.save(timm.create_model('smpconv_tcn_smnist').state_dict(), work / 'smnist.pth')
    write_model_folder(t, root / 'in1k', '# stand-in for the unpublished smpconvnet_t.in1k\n')
    add_to_hf_cache(root / 'hf' / 'hub', f'{hub_namespace()}/smpconvnet_t.in1k', root / 'in1k')
    return work, root / 'hf'


def test_docs_have_python_blocks():
    assert len(_blocks()) >= 6


@pytest.mark.parametrize('code', _blocks())
def test_python_block_runs(code, workdir):
    work, hf_home = workdir
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_HOME=str(hf_home), HF_HUB_CACHE=str(hf_home / 'hub'),
               PYTHONPATH=str(ROOT))
    env.pop('SMPCONVNET_HUB_NAMESPACE', None)
    run = subprocess.run([sys.executable, '-c', code], cwd=work, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f'block failed:\n{code}\n--- stderr ---\n{run.stderr[-3000:]}'
