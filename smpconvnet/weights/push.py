"""Uploading a model folder (``smpconvnet convert`` / ``reparam`` output, or a model) to the Hub.

The upload is what timm's ``push_to_hf_hub`` does (``HfApi.create_repo`` then ``HfApi.upload_folder`` of
``model.safetensors`` + ``config.json`` + ``README.md``), with the folder checked first, the model card always
included, ``--revision`` created as a branch when missing, and a dry run that writes the exact upload to a
folder instead. Without a token it stops before touching anything and says how to log in.
"""
import contextlib
import copy
import itertools
import json
import os
import shlex
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch

from ..atomic_io import (atomic_dir, check_destination, entries_besides, holds_nothing, interrupted_write_note,
                         is_os_metadata)
from ..models import is_weight_source_error
from .deploy import deployed_cfg, deployed_length, is_deployed
from .folders import (
    CARD_NAME, CONFIG_NAME, MODEL_FOLDER_FILES, WEIGHTS_NAME, model_card as make_model_card, read_config,
    set_pretrained_cfg, write_model_folder,
)
from .hub import MANIFEST_NAME, read_manifest_lines, sha256_file
from ..user_warnings import caller_stacklevel

__all__ = ['push_folder', 'push_model', 'check_model_folder', 'HubUploadError', 'NO_TOKEN_MESSAGE', 'PUSH_MESSAGE']

NO_TOKEN_MESSAGE = (
    'no Hugging Face token found: log in with `hf auth login` (stores a token), or set the HF_TOKEN '
    'environment variable to a token with write access (https://huggingface.co/settings/tokens); '
    'use --dry-run to see what would be uploaded without one')
PLAN_NAME = 'upload_plan.json'
PUSH_MESSAGE = 'Add SMPConv model'  # the default commit message


def _check_repo_id(repo_id: str):
    from huggingface_hub.utils import validate_repo_id
    if repo_id.count('/') != 1:  # first: huggingface_hub's words for it speak of a repo_type argument
        raise ValueError(f"repo id must be '<user or organisation>/<name>', got {repo_id!r}")
    try:
        validate_repo_id(repo_id)
    except Exception as e:  # noqa: BLE001  (huggingface_hub's validation error, re-raised with our wording)
        raise ValueError(f'invalid repo id {repo_id!r}: {e}') from e


def check_model_folder(folder: Union[str, os.PathLike], push_call: Optional[str] = None) -> List[Dict[str, Any]]:
    """Check ``folder`` is a loadable model folder; return its files (name, bytes, sha256) to upload. ``push_call``:
    the command that pushes the model a folder without a card holds, as it is (``push_folder`` gives its own)."""
    from safetensors import safe_open

    if not os.fspath(folder).strip():  # Path('') is the current folder: it would be uploaded
        raise ValueError('the model folder path is empty: give the folder to upload')
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder} is not a folder (expected a model folder: the output of `smpconvnet '
                                f'convert` or `smpconvnet reparam`){interrupted_write_note(folder)}')
    if (folder / WEIGHTS_NAME).is_file() and (folder / CONFIG_NAME).is_file() and not (folder / CARD_NAME).is_file():
        # a model without a card, e.g. a train-seq run folder (whose checkpoint.pth, optimizer state included, is
        # not for the Hub either); `convert` takes original checkpoints only
        # (reparam alone was offered: it deploys the model, which then trains no more as SMP kernels)
        as_it_is = (f'; to push it as it is (its training form, with a card written for it): {push_call}'
                    if push_call else '')
        raise FileNotFoundError(f'{folder / CARD_NAME} is missing: a model folder to push holds a model card too; '
                                f'`smpconvnet reparam {shlex.quote(str(folder))} DST` writes one to push from this '
                                f'model in its deployed form ({WEIGHTS_NAME}, {CONFIG_NAME} and {CARD_NAME}: '
                                f'inference only){as_it_is}')
    for name in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(f'{folder / name} is missing: a model folder holds {WEIGHTS_NAME}, '
                                    f'{CONFIG_NAME} and a model card {CARD_NAME} (`smpconvnet convert` writes all '
                                    f'from an original checkpoint, `smpconvnet reparam` from any model)')
    read_config(folder)  # timm's model config, naming a registered architecture
    try:
        with safe_open(str(folder / WEIGHTS_NAME), 'pt') as f:
            n_tensors = len(list(f.keys()))
    except Exception as e:  # noqa: BLE001  (safetensors raises its own error types)
        raise ValueError(f'{folder / WEIGHTS_NAME} is not a readable safetensors file: {e}') from e
    if n_tensors == 0:
        raise ValueError(f'{folder / WEIGHTS_NAME} holds no tensors')
    from .sources import load_model
    load_model(str(folder))  # the weights fit the model the config describes (else a line naming the file)
    # a model folder's files only: a train-seq checkpoint.pth (optimizer state), notes or data beside them were
    # uploaded too
    others = sorted(p.name for p in folder.iterdir() if p.name not in MODEL_FOLDER_FILES and not is_os_metadata(p))
    if others:
        warnings.warn(f"{folder} holds {', '.join(others)} besides the model's files: only "
                      f"{', '.join(n for n in MODEL_FOLDER_FILES if (folder / n).is_file())} are uploaded",
                      UserWarning, stacklevel=caller_stacklevel())
    files = sorted(folder / n for n in MODEL_FOLDER_FILES if (folder / n).is_file())
    listed = [dict(name=p.name, bytes=p.stat().st_size, sha256=sha256_file(p)) for p in files]
    _check_manifest(folder, {f['name']: f['sha256'] for f in listed})
    return listed


def _check_manifest(folder: Path, hashes: Dict[str, str]) -> None:
    # a manifest.sha256 is uploaded with the files it checks (the docs give `sha256sum -c` for downloaded copies):
    # one written before a file changed (a copied release folder whose weights were replaced), one naming a file that
    # is not uploaded, or one without the weights would publish checksums that fail or check nothing
    if MANIFEST_NAME not in hashes:
        return
    uploaded = sorted(n for n in hashes if n != MANIFEST_NAME)
    rewrite = shlex.join(['python', '-c', f'from smpconvnet.weights.hub import write_manifest; '
                                          f'write_manifest({str(folder)!r}, {uploaded!r})'])
    try:
        # every line, as sha256sum -c reads them (a name listed twice, or as ./NAME, is checked too)
        lines = read_manifest_lines(folder)
    except ValueError as e:
        raise ValueError(f'{e}: write it again for the files as they are ({rewrite}) or remove it') from None
    stale = sorted({name for name, digest in lines if name in hashes and hashes[name] != digest})
    if stale:
        raise ValueError(f"{folder / MANIFEST_NAME} gives another SHA-256 for {', '.join(stale)} than the file has "
                         f'(changed since the manifest was written): uploaded, its checksums would fail; write it '
                         f'again for the files as they are ({rewrite}) or remove it')
    absent = sorted({name for name, _ in lines if name not in hashes})
    if absent:
        one = len(absent) == 1
        what = (f"names {', '.join(absent)}, which {'is' if one else 'are'} not uploaded (sha256sum -c of the repo "
                f"would fail on {'it' if one else 'them'})")
    elif WEIGHTS_NAME not in {name for name, _ in lines}:
        what = f'does not list {WEIGHTS_NAME} (the weights would go out unchecked)'
    else:
        return
    raise ValueError(f'{folder / MANIFEST_NAME} {what}; write it again for the files uploaded ({rewrite}) or remove it')


def _foreign_to_upload_preview(folder: Path) -> Optional[str]:
    # push --dry-run's output: the files its plan lists (a model folder's, any it held) and the plan; --force
    # replaces only such a folder
    if holds_nothing(folder):
        return None
    try:
        plan = json.loads((folder / PLAN_NAME).read_text())
        names = [f['name'] for f in plan['files']]
    except (OSError, ValueError, KeyError, TypeError):
        return f'holds no readable {PLAN_NAME} (it is no upload preview)'
    return entries_besides(folder, [PLAN_NAME, *names])


def _free_preview_folder() -> Tuple[str, bool]:
    # the folder a retry hint names, and whether it needs --force: upload_preview unless it is something else than an
    # earlier preview (the hint is refused then), else upload_preview_2, ... (the hint works copied literally)
    for i in itertools.count(1):
        name = 'upload_preview' + (f'_{i}' if i > 1 else '')
        path = Path(name)
        if not path.exists() and not path.is_symlink():
            return name, False
        if path.is_dir() and _foreign_to_upload_preview(path) is None:
            return name, True


class HubUploadError(RuntimeError):
    """The Hub could not be reached or refused the upload; ``reason`` says why, the message how to try it offline."""

    def __init__(self, reason: str, retry: str, preview: str = 'upload_preview'):
        super().__init__(f'{reason}; {retry} writes what would be uploaded to the folder {preview}, with no network')
        self.reason = reason


@contextlib.contextmanager
def _hub_errors(repo_id: str, retry: str, preview: str):
    # the Hub unreachable (offline mode, no network) or refusing (token, permissions): one message, not a traceback
    try:
        yield
    except Exception as e:  # noqa: BLE001  (filtered just below)
        if not is_weight_source_error(e):
            raise
        first = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        offline = (' (HF_HUB_OFFLINE is set: unset it to upload)' if os.environ.get('HF_HUB_OFFLINE', '').lower()
                   in ('1', 'true', 'yes', 'on') else '')
        raise HubUploadError(f'uploading to {repo_id} failed{offline}: {type(e).__name__}: {first}', retry,
                             preview) from e


def push_folder(
        folder: Union[str, os.PathLike],
        repo_id: str,
        private: bool = False,
        revision: Optional[str] = None,
        commit_message: str = PUSH_MESSAGE,
        create_pr: bool = False,
        token: Optional[str] = None,
        dry_run: Optional[Union[str, os.PathLike]] = None,
        force: bool = False,
        quiet: bool = False,
) -> Dict[str, Any]:
    """Upload a model folder to ``repo_id`` (created if missing). ``dry_run=DIR`` writes the files that would
    be uploaded and ``upload_plan.json`` to DIR instead, needing no token and no network."""
    from huggingface_hub import HfApi, get_token

    _check_repo_id(repo_id)
    if force and dry_run is None:  # an upload replaces the repo's files by itself: --force would do nothing
        raise ValueError('--force (force=True) replaces the --dry-run folder and applies only with --dry-run; run '
                         'the upload without it')
    # (the folder first: a token does not fix a wrong one)
    # the call's options that are not the defaults, strings in double quotes (the command's single quotes then need no
    # escapes)
    literal = lambda v: json.dumps(v) if isinstance(v, str) else repr(v)  # noqa: E731
    options = ''.join(f', {k}={literal(v)}' for k, v in dict(
        private=private, revision=revision, commit_message=None if commit_message == PUSH_MESSAGE else commit_message,
        create_pr=create_pr, dry_run=None if dry_run is None else str(dry_run), force=force).items()
        if v not in (None, False))
    files = check_model_folder(folder, shlex.join([
        'python', '-c', f'from smpconvnet import load_model; from smpconvnet.weights.push import push_model; '
                        f'push_model(load_model({literal(str(folder))})[0], {literal(repo_id)}, '
                        f'source={literal(str(folder))}{options})']))
    if dry_run is None:
        token = token or get_token()
        if not token:
            raise RuntimeError(NO_TOKEN_MESSAGE)
    plan = dict(repo_id=repo_id, private=private, revision=revision or 'main', create_pr=create_pr,
                commit_message=commit_message, files=files)
    say = (lambda m: None) if quiet else (lambda m: print(m, flush=True))
    listing = '\n'.join(f"  {f['name']:<20} {f['bytes']:>12,} bytes  sha256 {f['sha256']}" for f in files)
    if dry_run is not None:
        check_destination(dry_run, force, sources=[folder], foreign=_foreign_to_upload_preview)
        with atomic_dir(Path(dry_run), force, foreign=_foreign_to_upload_preview) as tmp:
            for f in files:
                shutil.copy2(Path(folder) / f['name'], tmp / f['name'])
            (tmp / PLAN_NAME).write_text(json.dumps(plan, indent=2) + '\n')
        say(f"dry run: would upload to {repo_id} ({'private' if private else 'public'}, revision "
            f"{plan['revision']}):\n{listing}\nwritten to {dry_run} (with {PLAN_NAME})")
        return dict(plan, dry_run=str(dry_run))

    api = HfApi(token=token, library_name='smpconvnet')
    preview, force_preview = _free_preview_folder()
    # the retry keeps the options (its preview's plan said public, main, for a --private --revision dev push)
    options = ((['--private'] if private else []) + (['--revision', revision] if revision else [])
               + (['--create-pr'] if create_pr else [])
               + (['--message', commit_message] if commit_message != PUSH_MESSAGE else []))
    retry = shlex.join(['smpconvnet', 'push', str(folder), repo_id, *options, '--dry-run', preview]
                       + (['--force'] if force_preview else []))
    with _hub_errors(repo_id, f'`{retry}`', preview):
        say(f'[1/3] creating or reusing the repo {repo_id}')
        repo_url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type='model')
        repo_id = getattr(repo_url, 'repo_id', None) or repo_id
        if revision and revision != 'main':
            say(f'[2/3] creating the branch {revision} if missing')
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type='model')
        say(f'[3/3] uploading {len(files)} files:\n{listing}')
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), revision=revision,
                                   commit_message=commit_message, create_pr=create_pr, repo_type='model',
                                   allow_patterns=[f['name'] for f in files])
    say(f'done: {getattr(commit, "commit_url", None) or commit}')
    return dict(plan, commit=str(getattr(commit, 'commit_url', commit)))


def push_model(
        model: torch.nn.Module,
        repo_id: str,
        model_card: Optional[str] = None,
        source: Optional[str] = None,
        **kwargs,
) -> Dict[str, Any]:
    """Save ``model`` as a Hub folder (safetensors, timm config, model card) and push it (see ``push_folder``).
    ``source``: the card's Source line (default: the model given to push_model; the Weights line gives its cfg's
    description). ``kwargs`` go to ``push_folder`` (``private``, ``revision``, ``dry_run``, ``token``, ...)."""
    # (the default said "trained or fine-tuned with smpconvnet" of random weights too)
    source = source or 'the model given to smpconvnet.weights.push.push_model'
    from huggingface_hub import get_token
    from timm.models._input import get_model_args

    _check_repo_id(repo_id)
    if kwargs.get('dry_run') is None and not (kwargs.get('token') or get_token()):
        raise RuntimeError(NO_TOKEN_MESSAGE)
    architecture = model.pretrained_cfg.get('architecture', type(model).__name__)
    model_args, extra, deployed = dict(get_model_args(model)), {}, is_deployed(model)
    length = deployed_length(model) if deployed else None
    if length is not None:
        # a sequence model deployed for one length, recorded as reparam records it (its card had called it a
        # training-form model of any length, to be re-parameterised): timm rebuilds the deployed structure from
        # seq_len, and the cfg says the one input size it takes; on a copy (the caller's model is left as it is)
        model_args['seq_len'] = extra['deployed_length'] = length
        model = copy.copy(model)
        set_pretrained_cfg(model, deployed_cfg(model.pretrained_cfg, model.pretrained_cfg['input_size'][0], length,
                                               fixed=True))
    card = model_card or make_model_card(architecture, model, model_args, architecture, source=source,
                                         command='smpconvnet.weights.push.push_model(model, ...)', deployed=deployed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_model_folder(model, Path(tmp) / 'model', card, model_args=model_args, deployed=deployed,
                                    extra_config=extra)
        try:
            return push_folder(folder, repo_id, **kwargs)
        except HubUploadError as e:  # its retry command names the temporary folder: the call that does it instead
            preview, force_preview = _free_preview_folder()
            # with the call's options (not the token: the preview needs none)
            options = ''.join(f', {k}={v!r}' for k, v in kwargs.items() if k not in ('token', 'dry_run', 'force'))
            raise HubUploadError(e.reason, f"push_model(model, '{repo_id}'{options}, dry_run='{preview}'"
                                           f"{', force=True' if force_preview else ''})", preview) from e.__cause__
