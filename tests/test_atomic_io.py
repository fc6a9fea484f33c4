"""Atomic writes (smpconvnet.atomic_io), used by convert, push --dry-run, export, reparam, recipe and train-seq."""
import os
import re
import stat
from pathlib import Path

import pytest

from smpconvnet.atomic_io import atomic_dir, atomic_file, entries_besides


def _umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_atomic_file_publishes_with_default_permissions_and_keeps_old_on_failure(tmp_path):
    path = tmp_path / 'out.txt'
    with atomic_file(path) as tmp:
        assert tmp.parent == tmp_path and tmp != path
        tmp.write_text('one')
    assert path.read_text() == 'one'
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()  # not mkstemp's private 0600
    with pytest.raises(RuntimeError):
        with atomic_file(path) as tmp:
            tmp.write_text('half')
            raise RuntimeError('interrupted')
    assert path.read_text() == 'one'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.txt']  # no temporary file left


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    dst = tmp_path / 'model'
    with atomic_dir(dst) as tmp:
        (tmp / 'a.bin').write_bytes(b'1')
    assert (dst / 'a.bin').read_bytes() == b'1'
    assert stat.S_IMODE(dst.stat().st_mode) == 0o777 & ~_umask()  # not mkdtemp's private 0700
    assert stat.S_IMODE((dst / 'a.bin').stat().st_mode) == 0o666 & ~_umask()
    bins = lambda folder: entries_besides(folder, ('a.bin', 'b.bin'))  # noqa: E731  (the writer's own output)
    with pytest.raises(FileExistsError, match='--force'):
        with atomic_dir(dst, foreign=bins):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(dst, force=True, foreign=bins) as tmp:
            (tmp / 'b.bin').write_bytes(b'2')
            raise RuntimeError('interrupted')
    assert sorted(p.name for p in dst.iterdir()) == ['a.bin']
    with atomic_dir(dst, force=True, foreign=bins) as tmp:
        (tmp / 'b.bin').write_bytes(b'2')
    assert sorted(p.name for p in dst.iterdir()) == ['b.bin']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model']


@pytest.mark.parametrize('failure', [KeyboardInterrupt, OSError])
def test_atomic_dir_keeps_the_old_folder_when_the_swap_fails(tmp_path, monkeypatch, failure):
    """Replacing a folder takes two renames (the old one aside, the new one in): an exception between them (Ctrl-C,
    a disk error) left the old folder under a hidden '.model.*.old' name and nothing at 'model' (trial 58, read in
    the code). The old folder is put back, nothing hidden is left, and the exception goes on."""
    import os
    from smpconvnet import atomic_io
    dst = tmp_path / 'model'
    with atomic_dir(dst) as tmp:
        (tmp / 'a.bin').write_bytes(b'1')
    real_replace, calls = os.replace, []

    def replace(src, target):
        calls.append(Path(src).name)
        if len(calls) == 2:  # the new folder's rename
            raise failure('interrupted between the renames')
        return real_replace(src, target)
    monkeypatch.setattr(atomic_io.os, 'replace', replace)
    with pytest.raises(failure):
        with atomic_dir(dst, force=True, foreign=lambda folder: None) as tmp:
            (tmp / 'b.bin').write_bytes(b'2')
    assert calls[0] == 'model' and calls[1].endswith('.tmp') and calls[2].endswith('.old')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model']
    assert sorted(p.name for p in dst.iterdir()) == ['a.bin']


def test_ctrl_c_during_the_swap_waits_until_it_is_done(tmp_path, monkeypatch):
    """SIGINT arriving while the old folder is aside is held until the new one is in place and the old one deleted,
    then raised (a handler that records it stands in for Python's during those steps)."""
    import os
    import signal
    from smpconvnet import atomic_io
    dst = tmp_path / 'model'
    with atomic_dir(dst) as tmp:
        (tmp / 'a.bin').write_bytes(b'1')
    real_replace = os.replace

    def replace(src, target):
        result = real_replace(src, target)
        if Path(target).name.endswith('.old'):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C with the old folder aside
        return result
    monkeypatch.setattr(atomic_io.os, 'replace', replace)
    # Python's own Ctrl-C handler, whatever an earlier test or library left installed (CI's whole run had another)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with atomic_dir(dst, force=True, foreign=lambda folder: None) as tmp:
                (tmp / 'b.bin').write_bytes(b'2')
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model']
    assert sorted(p.name for p in dst.iterdir()) == ['b.bin']


def test_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    """fsync of the written file (every file of a folder) before it takes the final name."""
    import os
    from smpconvnet import atomic_io
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic_io.os, 'fsync', lambda fd: (events.append('fsync'), real_fsync(fd))[1])
    monkeypatch.setattr(atomic_io.os, 'replace', lambda a, b: (events.append('replace'), real_replace(a, b))[1])
    with atomic_io.atomic_file(tmp_path / 'f.bin') as tmp:
        tmp.write_bytes(b'data')
    assert events == ['fsync', 'replace'] and (tmp_path / 'f.bin').read_bytes() == b'data'
    events.clear()
    with atomic_io.atomic_dir(tmp_path / 'd') as tmp:
        (tmp / 'a').write_bytes(b'1')
        (tmp / 'b').write_bytes(b'2')
    assert events == ['fsync', 'fsync', 'replace']


def test_check_destination_refuses_to_replace_what_is_written_from(tmp_path):
    """`reparam RUN RUN --force` deleted the run it read (its checkpoint, log and results): a destination that is
    a source, or holds one, is refused before anything is read or written; names that are no local path pass."""
    from smpconvnet.atomic_io import check_destination
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'checkpoint.pth').write_text('x')
    for dst, src, where in ((run, run, 'is'), (tmp_path, run, 'lies inside'),
                            (run, run / 'checkpoint.pth', 'lies inside'), (run, f'local-dir:{run}', 'is')):
        with pytest.raises(ValueError, match=f'{re.escape(str(src))} {where} the destination'):
            check_destination(dst, force=True, sources=[src])
    with pytest.raises(FileExistsError, match='--force'):
        check_destination(run, sources=[tmp_path / 'other'], foreign=lambda folder: None)
    assert check_destination(run / 'deployed', sources=[run, 'hf-hub:me/x', 'smpconv_tcn_gunpoint.aeon']) == \
        run / 'deployed'
    assert check_destination(tmp_path / 'elsewhere', force=True, sources=[run]) == tmp_path / 'elsewhere'
    assert (run / 'checkpoint.pth').read_text() == 'x'
    # an existing file of a source folder (export -o RUN/model.safetensors), and the current folder (reparam X .)
    with pytest.raises(ValueError, match='lies inside .*which it is written from'):
        check_destination(run / 'checkpoint.pth', force=True, sources=[run])
    assert check_destination(run / 'new.onnx', sources=[run]) == run / 'new.onnx'  # a new file beside it is fine
    cwd = os.getcwd()
    try:
        os.chdir(run)
        with pytest.raises(ValueError, match='is or holds the current folder'):
            check_destination('.', force=True)
        with pytest.raises(ValueError, match='is or holds the current folder'):
            check_destination(tmp_path, force=True)
    finally:
        os.chdir(cwd)


def test_force_replaces_only_an_earlier_output_of_the_same_kind(tmp_path):
    """`reparam X ~/Documents --force` deleted the whole folder: --force replaces a folder only when it is the writer's
    earlier output (a model folder: its files and a config.json naming an architecture), not a train-seq run, a folder
    of other checkpoints or of other things; a file writer never replaces a folder nor a folder writer a file; the
    refusal comes before the --force hint, which would not have helped."""
    import json
    from smpconvnet.atomic_io import check_destination
    from smpconvnet.weights.folders import foreign_to_model_folder
    home = tmp_path / 'home'
    (home / 'photos').mkdir(parents=True)
    for name in ('config.json', 'notes.txt', 'a.md', 'b.md', 'c.md'):
        (home / name).write_text('mine')
    for force in (False, True):
        with pytest.raises(ValueError, match=r'home holds a\.md, b\.md, c\.md and 2 more, which this command does '
                                             r'not write: --force replaces only an earlier output of this command'):
            check_destination(home, force=force, foreign=foreign_to_model_folder)
        with pytest.raises(ValueError, match='is a folder: name the file to write'):
            check_destination(home, force=force)
        with pytest.raises(ValueError, match='is a file, not a folder'):
            check_destination(home / 'notes.txt', force=force, foreign=foreign_to_model_folder)
    assert sorted(p.name for p in home.iterdir()) == ['a.md', 'b.md', 'c.md', 'config.json', 'notes.txt', 'photos']
    with pytest.raises(ValueError, match='which this command does not write'):  # by default only an empty folder
        with atomic_dir(tmp_path / 'home', force=True):
            pass
    (tmp_path / 'empty').mkdir()
    with atomic_dir(tmp_path / 'empty', force=True) as tmp:
        (tmp / 'x').write_text('new')
    assert (tmp_path / 'empty' / 'x').read_text() == 'new'
    # a train-seq run, checkpoints of other models, a user's README and config: kept; a model folder: replaced
    model = tmp_path / 'model'
    model.mkdir()
    (model / 'config.json').write_text(json.dumps({'architecture': 'smpconv_tcn_gunpoint'}))
    (model / 'model.safetensors').write_bytes(b'w')
    assert foreign_to_model_folder(model) is None
    for extra, why in (('checkpoint.pth', 'holds checkpoint.pth, which'),
                       ('resnet50.pth', 'holds resnet50.pth, which')):
        (model / extra).write_bytes(b'x')
        assert why in foreign_to_model_folder(model)
        (model / extra).unlink()
    (model / 'config.json').write_text('{"mine": 1}')
    assert foreign_to_model_folder(model) == 'holds no model config.json (one that names a registered architecture)'
    (model / 'config.json').write_text(json.dumps({'architecture': 'mine'}))  # not a model timm knows
    assert foreign_to_model_folder(model) == 'holds no model config.json (one that names a registered architecture)'


def test_paths_that_would_fail_late_or_lose_the_output(tmp_path):
    """A missing file path ending in / wrote a file of that name; a file above the destination failed with Errno 17
    after the work; `out/../out` lost its parent once out was moved aside (the old and new outputs left hidden); a
    folder beside a source file is not read with it (re-converting next to the checkpoint was refused)."""
    from smpconvnet.atomic_io import check_destination
    with pytest.raises(ValueError, match="newdir/ names a folder .*name the file to write"):
        check_destination(f'{tmp_path}/newdir/')
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(ValueError, match='afile is a file, not a folder'):
        check_destination(tmp_path / 'afile' / 'x.onnx')
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'a.bin').write_bytes(b'1')
    with atomic_dir(tmp_path / 'out' / '..' / 'out', force=True,
                    foreign=lambda folder: entries_besides(folder, ('a.bin',))) as tmp:
        (tmp / 'a.bin').write_bytes(b'2')
    assert (out / 'a.bin').read_bytes() == b'2'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile', 'out']
    ckpt = tmp_path / 'smpconv_t.safetensors'
    ckpt.write_bytes(b'w')
    assert check_destination(out, force=True, sources=[ckpt], foreign=lambda folder: None) == out
    (tmp_path / 'export.onnx').write_bytes(b'an earlier export of it')
    assert check_destination(tmp_path / 'export.onnx', force=True, sources=[ckpt]) == tmp_path / 'export.onnx'
    (tmp_path / 'config.json').write_text('{}')  # now a model folder: its files are read or belong with the source
    for beside in ('config.json', 'export.onnx'):
        with pytest.raises(ValueError, match='lies inside the folder of'):
            check_destination(tmp_path / beside, force=True, sources=[ckpt])
    assert check_destination(out, force=True, sources=[ckpt], foreign=lambda folder: None) == out


def test_model_folder_files_are_the_writers_names():
    """MODEL_FOLDER_FILES are the constants of the modules that write them."""
    from smpconvnet.weights import folders, hub
    assert set(folders.MODEL_FOLDER_FILES) == {folders.WEIGHTS_NAME, folders.CONFIG_NAME, folders.CARD_NAME,
                                              hub.MANIFEST_NAME}


def test_force_over_a_link_to_a_folder_replaces_the_link_only(tmp_path):
    """The link is replaced by the new folder; the folder it pointed at keeps its files (rmtree of the link had
    raised after the new folder was in place)."""
    target = tmp_path / 'v1'
    target.mkdir()
    (target / 'a.bin').write_bytes(b'1')
    link = tmp_path / 'latest'
    link.symlink_to(target, target_is_directory=True)
    with atomic_dir(link, force=True, foreign=lambda folder: entries_besides(folder, ('a.bin',))) as tmp:
        (tmp / 'b.bin').write_bytes(b'2')
    assert not link.is_symlink() and sorted(p.name for p in link.iterdir()) == ['b.bin']
    assert (target / 'a.bin').read_bytes() == b'1'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['latest', 'v1']


def test_the_renames_go_where_the_check_looked(tmp_path, monkeypatch):
    """`reparam X lnk/../victim` checked lnk's target's sibling (missing) and then renamed at ./victim (textually
    normalised), deleting it without --force; a dangling link was written over without --force (a file) or failed
    after the work (a folder); a recipe path ending in / wrote a file of that name."""
    from smpconvnet.atomic_io import check_destination
    from smpconvnet.train.timm_scripts import write_recipe
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'elsewhere' / 'a').mkdir(parents=True)
    (tmp_path / 'lnk').symlink_to(tmp_path / 'elsewhere' / 'a', target_is_directory=True)
    (tmp_path / 'victim').mkdir()
    (tmp_path / 'victim' / 'thesis.txt').write_text('precious')
    with atomic_dir('lnk/../victim') as tmp:
        (tmp / 'a.bin').write_bytes(b'1')
    assert (tmp_path / 'victim' / 'thesis.txt').read_text() == 'precious'
    assert (tmp_path / 'elsewhere' / 'victim' / 'a.bin').read_bytes() == b'1'
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    for foreign in (None, lambda folder: None):
        with pytest.raises(ValueError, match='dangling is a link to .*nowhere, which does not exist'):
            check_destination('dangling', force=True, foreign=foreign)
    for path in ('dst/', 'dst/.', 'dst//'):
        with pytest.raises(ValueError, match='names a folder'):
            write_recipe('smpconvnet_t_in1k', path)
    (tmp_path / 'victim.yaml').write_text('mine')  # the recipe too: it wrote ./victim.yaml, unasked
    assert write_recipe('smpconvnet_t_in1k', 'lnk/../victim.yaml') == str(tmp_path / 'elsewhere' / 'victim.yaml')
    assert (tmp_path / 'victim.yaml').read_text() == 'mine'
    with pytest.raises(ValueError, match='victim.yaml/../victim.yaml: a folder on this path is a file'):
        check_destination('victim.yaml/../victim.yaml', force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['dangling', 'elsewhere', 'lnk', 'victim', 'victim.yaml']


def test_a_file_browsers_metadata_does_not_block_force(tmp_path):
    """macOS Finder leaves `.DS_Store` in every folder it shows (Windows Explorer `Thumbs.db`): a model folder or an
    upload preview that had been looked at could not be replaced with --force. Such files count as nothing of the
    user's (macOS's `._NAME` AppleDouble files on drives without its metadata too); a user's own hidden file or a
    `.DS_Store` folder still does."""
    import json
    from smpconvnet.atomic_io import holds_nothing
    from smpconvnet.weights.folders import foreign_to_model_folder
    model = tmp_path / 'model'
    model.mkdir()
    (model / '.DS_Store').write_bytes(b'\0Bud1')
    assert holds_nothing(model) and foreign_to_model_folder(model) is None  # as an empty folder
    (model / 'config.json').write_text(json.dumps({'architecture': 'smpconv_tcn_gunpoint'}))
    (model / 'model.safetensors').write_bytes(b'w')
    (model / 'Thumbs.db').write_bytes(b'x')
    (model / '._model.safetensors').write_bytes(b'\0\5\26\7')  # macOS's AppleDouble file on a FAT / SMB drive
    assert foreign_to_model_folder(model) is None and not holds_nothing(model)
    (model / '._mine.csv').write_text('important')  # named so, but no AppleDouble file: the user's, never deleted
    assert 'holds ._mine.csv, which' in foreign_to_model_folder(model)
    (model / '._mine.csv').unlink()
    with atomic_dir(model, force=True, foreign=foreign_to_model_folder) as tmp:
        (tmp / 'model.safetensors').write_bytes(b'new')
    assert sorted(p.name for p in model.iterdir()) == ['model.safetensors']
    (model / '.notes').write_text('mine')
    assert 'holds .notes, which' in foreign_to_model_folder(model)
    (model / '.notes').unlink()
    (model / '.DS_Store').mkdir()
    assert 'holds .DS_Store/, which' in foreign_to_model_folder(model)


_KILLED_WRITER = r'''
import os, signal, sys
from pathlib import Path
from smpconvnet import atomic_io
dst, when = Path(sys.argv[1]), sys.argv[2]
real_replace = os.replace

def replace(src, target):
    result = real_replace(src, target)
    if when == 'swap' and Path(target).name.endswith('.old'):
        os.kill(os.getpid(), signal.SIGKILL)  # killed outright with the old folder aside: no clean-up runs
    return result
atomic_io.os.replace = replace
if when == 'file':
    with atomic_io.atomic_file(dst) as tmp:
        tmp.write_text('half')
        os.kill(os.getpid(), signal.SIGKILL)
with atomic_io.atomic_dir(dst, force=True, foreign=lambda folder: None) as tmp:
    (tmp / 'b.bin').write_bytes(b'2')
    if when == 'write':
        os.kill(os.getpid(), signal.SIGKILL)
'''


@pytest.mark.skipif(os.name != 'posix', reason='SIGKILL and the process check are POSIX')
@pytest.mark.parametrize('when', ['swap', 'write', 'file'])
def test_a_write_killed_outright_is_cleaned_up_by_the_next(tmp_path, when):
    """Stop 62's leftover: a process killed outright (SIGKILL, the out-of-memory killer) runs no clean-up, and left
    its hidden '.model.*.tmp' folder, or, killed between the swap's two renames, the user's old folder under a hidden
    '.model.*.old' name with nothing at 'model'. The next write of the same destination removes the dead process's
    entries and puts the old folder back (a warning says so); a running process's entries are left alone."""
    import subprocess
    import sys
    from smpconvnet.atomic_io import check_destination
    dst = tmp_path / ('out.txt' if when == 'file' else 'model')
    if when == 'file':
        dst.write_text('one')
    else:
        with atomic_dir(dst) as tmp:
            (tmp / 'a.bin').write_bytes(b'1')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.run([sys.executable, '-c', _KILLED_WRITER, str(dst), when], env=env)
    assert child.returncode == -9
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.'))
    # what the kill left: the unfinished write, and the old folder aside where the swap had begun
    assert all(h.startswith(f'.{dst.name}.') for h in hidden)
    assert sorted(h.rsplit('.', 1)[1] for h in hidden) == (['old', 'tmp'] if when == 'swap' else ['tmp'])
    assert dst.exists() == (when != 'swap')
    # another process's entry while it runs (this test's own children stand for it): not touched
    alive = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        from smpconvnet.atomic_io import _host
        theirs = tmp_path / f'.{dst.name}.{_host()}.{alive.pid}-abc123.tmp'
        theirs.mkdir()
        if when == 'swap':
            with pytest.warns(UserWarning, match=rf'{re.escape(str(dst))} put back from \.model\..*\.old, where a '
                                                 r'write of it killed before it finished had moved it aside'):
                with pytest.raises(FileExistsError):  # the old folder is back: replacing it needs force again
                    check_destination(dst, foreign=lambda folder: None)
        elif when == 'file':
            check_destination(dst, force=True)
        else:
            with atomic_dir(dst, force=True, foreign=lambda folder: None) as tmp:
                (tmp / 'c.bin').write_bytes(b'3')
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([dst.name, theirs.name])
    finally:
        alive.kill()
        alive.wait()
    expected = {'swap': ['a.bin'], 'write': ['c.bin']}
    if when == 'file':
        assert dst.read_text() == 'one'
    else:
        assert sorted(p.name for p in dst.iterdir()) == expected[when]


@pytest.mark.skipif(os.name != 'posix', reason='the process check is POSIX')
def test_a_folder_left_aside_by_a_running_process_or_another_host_is_said(tmp_path, capsys):
    """Trial 62: a folder moved aside by a write that was killed stayed hidden without a word where the next write
    could not tell the writer had ended (its process number taken by a new process, as a container's PID 1 is, or
    another host's name) or where the next command only read it ("R1 is not a folder"). Both say where it is and
    the command that puts it back; the command works as typed."""
    import shlex
    import subprocess
    from smpconvnet.cli import main
    from smpconvnet.atomic_io import check_destination
    dst = tmp_path / 'R1'
    with atomic_dir(dst) as tmp:
        (tmp / 'a.bin').write_bytes(b'1')
    aside = tmp_path / f'.R1.oldpod-7f9c.{os.getpid()}-abc123.old'  # another host's name
    os.replace(dst, aside)
    assert main(['push', str(dst), 'me/r1', '--dry-run', str(tmp_path / 'p')]) == 1
    err = capsys.readouterr().err
    assert f'{dst} is not a folder' in err and f'a write of it was interrupted after moving it aside to {aside}' in err
    assert main(['info', f'local-dir:{dst}']) == 1
    assert f'mv {aside} {dst}' in capsys.readouterr().err
    # trial 63: a sibling destination's entry ('R1.v2' beside 'R1') is not R1's
    sibling = tmp_path / f'.R1.v2.oldpod-7f9c.{os.getpid()}-xyz789.old'
    sibling.mkdir()
    assert main(['info', f'local-dir:{dst}']) == 1
    assert sibling.name not in capsys.readouterr().err
    command = re.search(r'put it back with: (mv .*)$', err.strip()).group(1)
    subprocess.run(shlex.split(command), check=True)
    assert sorted(p.name for p in dst.iterdir()) == ['a.bin'] and not aside.exists()
    # a write of a missing destination goes on beside the entry, said once (a command checks its destination
    # twice), with a mv that holds after the write (trial 63: 'mv OLD R1' then put the old folder inside the new)
    os.replace(dst, aside)
    with pytest.warns(UserWarning) as said:
        with atomic_dir(dst) as tmp:
            (tmp / 'b.bin').write_bytes(b'2')
    messages = [str(w.message) for w in said if 'a write of it was interrupted' in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith(f'{dst} does not exist: a write of it was interrupted')
    subprocess.run(shlex.split(re.search(r'runs: (mv .*)$', messages[0]).group(1)), check=True)
    assert sorted(p.name for p in dst.iterdir()) == ['b.bin']
    assert sorted(p.name for p in (tmp_path / 'R1.recovered').iterdir()) == ['a.bin']
