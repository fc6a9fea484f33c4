"""Pretrained weights through timm's own Hub machinery, offline, from a real Hugging Face cache layout."""
import hashlib
import json
import os
import shutil
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import timm
import torch
from huggingface_hub import constants as hf_constants
from safetensors.torch import load_file

from conftest import SMALL_KWARGS, add_to_hf_cache
from smpconvnet.models import _pretrained as hub
from smpconvnet.weights.folders import write_model_folder

TINY = dict(layers=[1, 1, 1, 1], channels=[16, 32, 64, 128])
ROOT = Path(__file__).resolve().parents[2]


def make_model_folder(path: Path, seed: int) -> Path:
    """A tiny smpconvnet_t with distinct random weights, written as a timm/Hub folder."""
    torch.manual_seed(seed)
    model = timm.create_model('smpconvnet_t.in1k', **TINY)
    return write_model_folder(model, path, card=f'# test model {seed}\n')


def assert_same_weights(model: torch.nn.Module, weights_file: Path):
    expected = load_file(str(weights_file))
    actual = model.state_dict()
    assert set(actual) == set(expected)
    for k, v in expected.items():
        assert torch.equal(actual[k], v), k


@pytest.fixture
def offline_hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache in tmp_path, offline: what HF_HOME / HF_HUB_OFFLINE=1 give at import."""
    cache = tmp_path / 'hf' / 'hub'
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)
    return cache


@pytest.fixture
def restore_namespace():
    yield
    hub.set_hub_namespace(None)


def test_imagenet_tags_point_at_the_hub_as_safetensors():
    for name in ('smpconvnet_t', 'smpconvnet_b'):
        cfg = timm.models.get_pretrained_cfg(f'{name}.in1k')
        assert cfg.hf_hub_id == f'{hub.hub_namespace()}/{name}.in1k'
        assert cfg.hf_hub_filename == 'model.safetensors'
        assert cfg.file is None  # ImageNet weights are never shipped in the repository
        assert timm.models.get_pretrained_cfg(name).hf_hub_id == cfg.hf_hub_id  # the default tag
    assert {'smpconvnet_t.in1k', 'smpconvnet_b.in1k'} <= set(timm.list_pretrained('smpconvnet*'))


def test_set_hub_namespace_changes_what_create_model_loads(tmp_path, offline_hf_cache, restore_namespace):
    folders = {org: make_model_folder(tmp_path / org, seed) for seed, org in enumerate(('org-a', 'org-b'))}
    for org, folder in folders.items():
        add_to_hf_cache(offline_hf_cache, f'{org}/smpconvnet_t.in1k', folder)
    for org in ('org-a', 'org-b', 'org-a'):
        assert hub.set_hub_namespace(org) == org
        assert timm.models.get_pretrained_cfg('smpconvnet_t.in1k').hf_hub_id == f'{org}/smpconvnet_t.in1k'
        assert timm.models.get_pretrained_cfg('smpconvnet_t').hf_hub_id == f'{org}/smpconvnet_t.in1k'
        model = timm.create_model('smpconvnet_t', pretrained=True, **TINY)
        assert_same_weights(model, folders[org] / 'model.safetensors')
    # None goes back to the environment setting (or the default)
    hub.set_hub_namespace(None)
    assert timm.models.get_pretrained_cfg('smpconvnet_b.in1k').hf_hub_id == hub.hub_id('smpconvnet_b', 'in1k')


def test_set_hub_namespace_rejects_a_path():
    with pytest.raises(ValueError, match='namespace'):
        hub.set_hub_namespace('org/sub')


@pytest.mark.parametrize('value', ['bad org', 'org/sub'])
def test_a_bad_namespace_variable_is_named_and_not_used(monkeypatch, restore_namespace, value):
    """SMPCONVNET_HUB_NAMESPACE='bad org' made `list` fail with huggingface_hub's repo-id error, which did not name
    the variable: it is named, at import, and the default namespace is used."""
    hub.set_hub_namespace(None)
    monkeypatch.setenv(hub.HUB_NAMESPACE_ENV, value)
    with pytest.warns(UserWarning, match=f"SMPCONVNET_HUB_NAMESPACE='{value}': invalid Hub namespace.*; it is "
                                         f"ignored and the default namespace 'smpconvnet' is used") as record:
        assert hub.hub_namespace() == 'smpconvnet'
    # shown at the variable, not at a line of this package's (which the warning printed as its source)
    assert record[0].filename == '<environment variable SMPCONVNET_HUB_NAMESPACE>'


def test_missing_weights_error_says_where_and_how(offline_hf_cache):
    with pytest.raises(hub.PretrainedWeightsNotFoundError) as e:
        timm.create_model('smpconvnet_t.in1k', pretrained=True, **TINY)
    msg = str(e.value)
    assert f"'{hub.hub_namespace()}/smpconvnet_t.in1k'" in msg  # the repo id
    assert str(offline_hf_cache) in msg  # the cache it looked in
    assert 'HF_HUB_OFFLINE=1' in msg  # offline mode
    # not published under the default namespace: said so, with the ways to get the weights
    assert 'These weights are not published' in msg and 'hf auth login' not in msg
    for how in ('smpconvnet convert', 'SMPCONVNET_HUB_NAMESPACE', 'pretrained=False'):
        assert how in msg
    assert isinstance(e.value, RuntimeError)


def test_unpublished_weights_fail_fast_without_asking_the_hub(tmp_path, monkeypatch, restore_namespace):
    """Online mode without a network, `smpconvnet_t.in1k` waited about 30 s of huggingface_hub's retries before saying
    the repo does not exist: a repo this version knows is missing is not asked for (unless cached). Another namespace
    or an hf_hub_id overlay names the user's repo, which is asked for."""
    import timm.models._hub as timm_hub
    cache = tmp_path / 'hf' / 'hub'
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', False)
    asked, download = [], timm_hub.hf_hub_download

    def unreachable(repo_id, filename, **kwargs):
        asked.append(repo_id)
        raise OSError('no network')
    monkeypatch.setattr(timm_hub, 'hf_hub_download', unreachable)
    with pytest.raises(hub.PretrainedWeightsNotFoundError) as e:
        timm.create_model('smpconvnet_t', pretrained=True, **TINY)
    assert asked == []
    msg = str(e.value)
    assert 'These weights are not published' in msg and 'the Hub was not asked' in msg and 'then on the Hub' not in msg
    assert str(cache) in msg
    from smpconvnet.cli import main  # the command-line spelling of its last hint works as printed
    assert "(smpconvnet's commands: --pretrained no; timm's scripts: without --pretrained)" in msg
    assert main(['info', 'smpconvnet_t.in1k', '--pretrained', 'no']) == 0
    with pytest.raises(hub.PretrainedWeightsNotFoundError, match='OSError: no network'):
        timm.create_model('smpconvnet_t', pretrained=True, pretrained_cfg_overlay=dict(hf_hub_id='me/mine'), **TINY)
    assert asked == ['me/mine']
    hub.set_hub_namespace('myorg')
    with pytest.raises(hub.PretrainedWeightsNotFoundError, match='OSError: no network'):
        timm.create_model('smpconvnet_t', pretrained=True, **TINY)
    assert asked == ['me/mine', 'myorg/smpconvnet_t.in1k']
    hub.set_hub_namespace(None)
    repo = add_to_hf_cache(cache, 'smpconvnet/smpconvnet_t.in1k', make_model_folder(tmp_path / 'w', 0))
    assert repo.is_dir()
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', True)  # a cached copy loads (timm reads it offline)
    monkeypatch.setattr(timm_hub, 'hf_hub_download', download)
    assert timm.create_model('smpconvnet_t', pretrained=True, **TINY) is not None


def test_auto_says_why_it_used_random_weights(tmp_path, monkeypatch, restore_namespace):
    """pretrained='auto' (`info`, `reparam`, `export`) downloads nothing. It said "no pretrained weights available
    offline" online too, where an unpublished tag has none anywhere and a published one would download."""
    from smpconvnet.weights.sources import load_model
    cache = tmp_path / 'hf' / 'hub'
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', False)
    _, source = load_model('smpconvnet_t.in1k', pretrained='auto', **TINY)
    assert source == 'random weights (smpconvnet/smpconvnet_t.in1k is not published yet)'
    hub.set_hub_namespace('myorg')
    _, source = load_model('smpconvnet_t.in1k', pretrained='auto', **TINY)
    assert 'myorg/smpconvnet_t.in1k is not in the local Hugging Face cache' in source
    assert '--pretrained yes (pretrained=True) downloads it' in source
    _, source = load_model('smpconv_tcn_smnist', pretrained='auto', num_blocks=1, hidden_channels=4)
    assert source == 'random weights (this model has no pretrained weights)'


def test_missing_local_file_error_names_the_file(tmp_path):
    missing = tmp_path / 'nowhere.safetensors'
    with pytest.raises(hub.PretrainedWeightsNotFoundError) as e:
        timm.create_model('smpconvnet_t', pretrained=True, pretrained_cfg_overlay=dict(file=str(missing)), **TINY)
    # the file, not the cache or the Hub (it said "not in the cache; the Hub was not asked" and "run once with a
    # network")
    assert str(e.value) == (f'pretrained weights for smpconvnet_t.in1k: no such file {missing} (the pretrained_cfg file, '
                            f'as pretrained_cfg_overlay=dict(file=...) sets it); give the path of an existing weights '
                            f'file')


def test_wrong_checkpoint_is_not_mistaken_for_missing_weights(tmp_path):
    # a checkpoint that is there but of another size keeps its own error (from checkpoint_filter_fn)
    folder = make_model_folder(tmp_path / 'tiny', 0)
    with pytest.raises(ValueError, match='checkpoint'):
        timm.create_model('smpconvnet_t', pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(folder / 'model.safetensors')))


def test_weights_location_reports_the_cache(tmp_path, offline_hf_cache):
    cfg = timm.models.get_pretrained_cfg('smpconvnet_t.in1k').to_dict()
    assert hub.weights_location(cfg) == ('unpublished', None)  # not cached, and no such Hub repo yet
    repo = add_to_hf_cache(offline_hf_cache, cfg['hf_hub_id'], make_model_folder(tmp_path / 'w', 0))
    kind, where = hub.weights_location(cfg)
    assert kind == 'hub-cache' and Path(where).parent.parent.parent == repo


def test_real_environment_variables_end_to_end(tmp_path):
    """HF_HOME, HF_HUB_OFFLINE=1 and SMPCONVNET_HUB_NAMESPACE set before Python starts, as a user would: the
    registered tag, ``hf-hub:`` and ``local-dir:`` names all load exactly the cached / saved weights."""
    folder = make_model_folder(tmp_path / 'weights', 7)
    add_to_hf_cache(tmp_path / 'home' / 'hub', 'my-org/smpconvnet_t.in1k', folder)
    script = textwrap.dedent(f"""
        import json, timm, torch, smpconvnet
        from safetensors.torch import load_file
        from huggingface_hub import constants
        assert constants.HF_HUB_OFFLINE and constants.HF_HUB_CACHE.startswith({str(tmp_path)!r})
        expected = load_file({str(folder / 'model.safetensors')!r})
        def same(model):
            sd = model.state_dict()
            return set(sd) == set(expected) and all(torch.equal(sd[k], v) for k, v in expected.items())
        results = dict(
            hub_id=timm.models.get_pretrained_cfg('smpconvnet_t.in1k').hf_hub_id,
            tag=same(timm.create_model('smpconvnet_t.in1k', pretrained=True, **{TINY!r})),
            hf_hub=same(timm.create_model('hf-hub:my-org/smpconvnet_t.in1k', pretrained=True)),
            local_dir=same(timm.create_model('local-dir:{folder}', pretrained=True)),
        )
        print(json.dumps(results))
    """)
    env = dict(os.environ, HF_HOME=str(tmp_path / 'home'), HF_HUB_OFFLINE='1',
               SMPCONVNET_HUB_NAMESPACE='my-org')
    env.pop('HF_HUB_CACHE', None)
    r = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(r.stdout.strip().splitlines()[-1])
    assert results == dict(hub_id='my-org/smpconvnet_t.in1k', tag=True, hf_hub=True, local_dir=True)


def test_a_run_from_the_hub_keeps_its_data_set(tmp_path, offline_hf_cache):
    """A train-seq run pushed to the Hub keeps the data set its config.json records, as its folder does:
    ``evaluate-seq hf-hub:...`` scored a pushed ItalyPowerDemand run (built as smpconv_tcn_gunpoint) on GunPoint."""
    from conftest import add_to_hf_cache
    from smpconvnet.weights.folders import write_model_folder
    from smpconvnet.weights.sources import load_model_with_config
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4)
    folder = write_model_folder(model, tmp_path / 'run', card='# run\n', model_args=model.arch_args,
                                extra_config={'dataset': 'ItalyPowerDemand'})
    add_to_hf_cache(offline_hf_cache, 'me/run', folder)
    loaded, _, extra = load_model_with_config('hf-hub:me/run')
    assert extra == {'dataset': 'ItalyPowerDemand'} and loaded.kernel_length is None
    assert_same_weights(loaded, folder / 'model.safetensors')


def test_an_hf_hub_name_that_is_not_cached_offline_says_where_it_was_looked_for(offline_hf_cache, capsys):
    """It was huggingface_hub's generic 'An error happened while trying to locate the file on the Hub', naming
    neither the repo nor the cache."""
    from smpconvnet.cli import main
    from smpconvnet.weights.sources import load_model
    with pytest.raises(FileNotFoundError) as e:
        load_model('hf-hub:me/nothere@v2')
    message = str(e.value)
    assert ("hf-hub:me/nothere@v2: the Hub repo 'me/nothere' (revision v2) could not be read from the cache "
            f'{offline_hf_cache} and offline mode (HF_HUB_OFFLINE=1) downloads nothing') in message
    assert main(['evaluate-seq', 'hf-hub:me/nothere']) == 1
    err = capsys.readouterr().err
    assert "the Hub repo 'me/nothere' (revision main)" in err and 'Traceback' not in err


def test_an_hf_hub_name_with_a_colon_revision_says_how_to_write_one(offline_hf_cache):
    from smpconvnet.weights.sources import load_model
    with pytest.raises(FileNotFoundError, match=r"'me/x:v1' is not a Hub repo id .*hf-hub:<org>/<name>@<revision>"):
        load_model('hf-hub:me/x:v1')


def test_a_cached_hub_repo_whose_config_disagrees_with_its_weights_is_refused(tmp_path, offline_hf_cache):
    """Trial 34: the check of a folder's config.json against its weights' record ran for local files alone: an hf-hub:
    repo whose config.json records another kernel length than its model.safetensors (the shipped OSULeaf weights with
    kernel_length=16: accuracy 0.13) loaded silently from the cache. The same repo unedited loads."""
    from conftest import add_to_hf_cache
    from smpconvnet.weights.folders import write_model_folder
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, kernel_length=16).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    add_to_hf_cache(offline_hf_cache, 'me/run', folder)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(timm.create_model('hf-hub:me/run', pretrained=True).eval()(x), model(x))
    config = json.loads((folder / 'config.json').read_text())
    config['model_args']['kernel_length'] = 8
    (folder / 'config.json').write_text(json.dumps(config))
    add_to_hf_cache(offline_hf_cache, 'me/edited', folder)
    with pytest.raises(ValueError, match=r'config\.json records kernel_length=8 and .*model\.safetensors \(its metadata'):
        timm.create_model('hf-hub:me/edited', pretrained=True)


def test_a_first_download_is_checked_like_a_cached_repo(tmp_path, monkeypatch):
    """The record check of a Hub repo's weights read them from the cache only: a first download (timm fetched it
    inside the build) of a repo whose config.json disagreed with its model.safetensors loaded silently. The file is
    now fetched before the build, by the download timm calls (once: the build finds it cached)."""
    import timm.models._hub as timm_hub
    cache = tmp_path / 'hf' / 'hub'
    cache.mkdir(parents=True)
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hf_constants, 'HF_HUB_OFFLINE', False)
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4, kernel_length=16).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    edited = tmp_path / 'edited'
    shutil.copytree(folder, edited)
    config = json.loads((edited / 'config.json').read_text())
    config['model_args']['kernel_length'] = 8
    (edited / 'config.json').write_text(json.dumps(config))
    hub_repos, asked = {'me/run': folder, 'me/edited': edited}, []

    def download(repo_id, filename, revision=None, cache_dir=None, **kwargs):  # the Hub, one file at a time
        from huggingface_hub import try_to_load_from_cache
        cached = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(cached, str):
            return cached
        asked.append((repo_id, filename))
        one = tmp_path / 'fetch' / repo_id / filename
        one.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(hub_repos[repo_id] / filename, one)
        add_to_hf_cache(Path(cache_dir or cache), repo_id, one.parent)
        shutil.rmtree(one.parent)
        return try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
    monkeypatch.setattr(timm_hub, 'hf_hub_download', download)
    with pytest.raises(ValueError, match=r'config\.json records kernel_length=8 and .*model\.safetensors \(its metadata'):
        timm.create_model('hf-hub:me/edited', pretrained=True)
    assert ('me/edited', 'model.safetensors') in asked
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(timm.create_model('hf-hub:me/run', pretrained=True).eval()(x), model(x))
    assert asked.count(('me/run', 'model.safetensors')) == 1


def test_a_hub_repo_of_another_size_is_named_in_its_refusal(tmp_path, offline_hf_cache):
    """Trial 51: a cached hf-hub: repo whose weights do not fit the model was refused without the 'pretrained weights
    for X: ... does not fit the model' that names a file: it names the repo, and its hint loads the weights."""
    import re
    from conftest import add_to_hf_cache
    from smpconvnet.weights.folders import write_model_folder
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='# run\n', model_args=model.arch_args)
    add_to_hf_cache(offline_hf_cache, 'me/small', folder)
    with pytest.raises(ValueError, match="pretrained weights for smpconv_tcn_gunpoint: the Hub repo 'me/small' does "
                                         'not fit the model: checkpoint is an SMP-TCN') as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True,
                          pretrained_cfg_overlay=dict(hf_hub_id='me/small', file=None))
    hint = re.search(r'pass (.+) to timm\.create_model', str(e.value)).group(1)
    copied = eval(f"timm.create_model('smpconv_tcn_gunpoint', pretrained=True, "
                  f"pretrained_cfg_overlay=dict(hf_hub_id='me/small', file=None), {hint})", {'timm': timm}).eval()
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(copied(x), model(x))


@pytest.mark.parametrize('name, kwargs, shape', [('smpconv_tcn_gunpoint', {}, (2, 1, 150)),
                                                 ('smpconvnet_t', SMALL_KWARGS, (2, 3, 64, 64))])
def test_an_overlay_file_after_a_hub_repo_or_folder_name_is_the_file_loaded(tmp_path, offline_hf_cache, name, kwargs,
                                                                            shape):
    """pretrained_cfg_overlay=dict(file=W) after an hf-hub: name loaded the repo's weights, W ignored, while the
    description said 'weights from W' (timm reads a Hub cfg's source before any file); after a local-dir: name timm
    took W for the folder ('Specified path is not a directory', trial 63). W is loaded, as for a registered name."""
    import smpconvnet
    from safetensors.torch import save_file
    torch.manual_seed(1)
    repo = timm.create_model(name, **kwargs).eval()
    timm.models.save_for_hf(repo, str(tmp_path / 'repo'), model_args=kwargs or None)
    add_to_hf_cache(offline_hf_cache, 'me/repo', tmp_path / 'repo')
    torch.manual_seed(2)
    other = timm.create_model(name, **kwargs).eval()
    save_file(other.state_dict(), str(tmp_path / 'other.safetensors'))
    file = str(tmp_path / 'other.safetensors')
    x = torch.randn(shape)
    for source in ('hf-hub:me/repo', f'local-dir:{tmp_path / "repo"}'):
        model = timm.create_model(source, pretrained=True, pretrained_cfg_overlay=dict(file=file)).eval()
        loaded, description = smpconvnet.load_model(source, pretrained_cfg_overlay=dict(file=file))
        with torch.no_grad():
            assert torch.equal(model(x), other(x)), source
            assert torch.equal(loaded.eval()(x), other(x)), source
            assert torch.equal(timm.create_model(source, pretrained=True).eval()(x), repo(x)), source
        assert model.pretrained_cfg['description'].startswith(f'weights from {file} (pretrained_cfg_overlay file=)')
        assert description == f'weights from {file}', (source, description)


@pytest.mark.parametrize('source', ['repo', 'repo-bin', 'url'])
def test_an_overlay_naming_a_hub_repo_for_a_shipped_model_is_not_ignored(tmp_path, offline_hf_cache, monkeypatch,
                                                                        source):
    """Trial 53: pretrained_cfg_overlay={'hf_hub_id': ...} (or url=) on a variant whose cfg names its shipped file
    loaded the shipped weights (timm reads a cfg's file first), saying nothing. Refused, naming both; the overlay it
    offers, copied, loads the repo's or URL's weights (trial 54: also a repo holding save_for_hf's default
    pytorch_model.bin alone, and a URL, which the registered cfg's file name / Hub repo had hidden), and load_model
    says where they came from (it said the shipped file)."""
    import re
    import smpconvnet
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))  # (where torch.hub keeps a URL's download)
    torch.manual_seed(1)
    other = timm.create_model('smpconv_tcn_gunpoint').eval()
    timm.models.save_for_hf(other, str(tmp_path / 'repo'), safe_serialization=source == 'repo')
    add_to_hf_cache(offline_hf_cache, 'someone/gunpoint-other', tmp_path / 'repo')
    given = ({'url': (tmp_path / 'repo' / 'pytorch_model.bin').as_uri()} if source == 'url'
             else {'hf_hub_id': 'someone/gunpoint-other'})
    with pytest.raises(ValueError, match=rf"names {next(iter(given))}='.*', but .* names the file .*"
                                         r"model\.safetensors, which timm loads first") as e:
        timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=given)
    overlay = eval(re.search(r'pretrained_cfg_overlay=(dict\(.*\))$', str(e.value)).group(1))
    model = timm.create_model('smpconv_tcn_gunpoint', pretrained=True, pretrained_cfg_overlay=overlay).eval()
    loaded, description = smpconvnet.load_model('smpconv_tcn_gunpoint', pretrained_cfg_overlay=overlay)
    x = torch.randn(2, 1, 150)
    with torch.no_grad():
        assert torch.equal(model(x), other(x))
        assert torch.equal(loaded.eval()(x), other(x))
    assert description == f"weights from {'the Hub repo someone/gunpoint-other' if source != 'url' else given['url']}"


def test_a_damaged_cached_weights_file_names_the_repo_file_and_the_remedy(tmp_path, offline_hf_cache):
    """A cached repo whose model.safetensors was cut short (a partial download) gave the safetensors reader's bare
    "incomplete metadata" error, naming no repo or file (trial 75c #2); now both, and a remedy that works as printed:
    removing the repo's cache folder (its blob is named by the expected hash: removing the snapshot link alone would
    have the damaged blob taken again)."""
    from conftest import add_to_hf_cache
    from smpconvnet.weights.folders import write_model_folder
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    weights = folder / 'model.safetensors'
    weights.write_bytes(weights.read_bytes()[:weights.stat().st_size // 2])
    repo_dir = add_to_hf_cache(offline_hf_cache, 'me/cut', folder)
    with pytest.raises(ValueError) as refused:
        timm.create_model('hf-hub:me/cut', pretrained=True)
    message = str(refused.value)
    assert ("the Hub repo 'me/cut': " in message and '/models--me--cut/snapshots/' in message
            and 'model.safetensors could not be read (corrupt file?)' in message)
    remedy = message.split('(rm -r ')[1].split(')')[0]
    assert Path(shlex.split(remedy)[0]) == repo_dir


def test_a_cached_repo_without_weights_is_named_as_asked_for(tmp_path, offline_hf_cache):
    """hf-hub:me/noweights (config.json cached, no weights) was refused as 'smpconvnet_t.in1k', the tag its config
    names, with the namespace hint of registered tags (trial 75c #4); now it is named as asked for, without that
    hint, and the random-weights hint gives timm's scripts' spelling too."""
    from conftest import add_to_hf_cache
    from smpconvnet.weights.folders import write_model_folder
    model = timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).eval()
    folder = write_model_folder(model, tmp_path / 'run', card='', model_args=model.arch_args)
    (folder / 'model.safetensors').unlink()
    add_to_hf_cache(offline_hf_cache, 'me/noweights', folder)
    with pytest.raises(hub.PretrainedWeightsNotFoundError) as refused:
        timm.create_model('hf-hub:me/noweights', pretrained=True)
    message = str(refused.value)
    assert message.startswith('pretrained weights for hf-hub:me/noweights could not be loaded.')
    assert "Hub repo 'me/noweights'" in message and hub.HUB_NAMESPACE_ENV not in message
    assert "timm's scripts: without --pretrained" in message
