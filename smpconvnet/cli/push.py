"""``smpconvnet push``: upload a model folder (weights, config, model card) to the Hugging Face Hub."""
import argparse

from ..weights.push import PUSH_MESSAGE, push_folder


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'push', help='upload a model folder (weights, config, model card) to the Hugging Face Hub',
        description='Upload FOLDER (from `smpconvnet convert` or `reparam`: model.safetensors, config.json, '
                    'README.md, manifest.sha256 where present; other files are left out, with a warning) to REPO_ID '
                    'on the Hub, creating the repo if needed. Needs a token '
                    '(`hf auth login` or HF_TOKEN) unless --dry-run.')
    p.add_argument('folder', help='model folder')
    p.add_argument('repo_id', help='<user or organisation>/<name>, e.g. myorg/smpconvnet_t.in1k')
    p.add_argument('--private', action='store_true', help='create the repo as private')
    p.add_argument('--revision', help='branch to push to (created if missing; default main)')
    p.add_argument('--create-pr', action='store_true', help='open a pull request instead of committing')
    p.add_argument('--message', default=PUSH_MESSAGE, help=f'commit message (default: {PUSH_MESSAGE})')
    p.add_argument('--dry-run', metavar='DIR',
                   help='write the files that would be uploaded and upload_plan.json to DIR; no token, no network')
    p.add_argument('--force', action='store_true', help='with --dry-run: replace DIR if it exists')
    p.set_defaults(func=lambda a: (push_folder(a.folder, a.repo_id, private=a.private, revision=a.revision,
                                               commit_message=a.message, create_pr=a.create_pr,
                                               dry_run=a.dry_run, force=a.force), 0)[1])
