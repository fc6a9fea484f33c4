"""Atomic writes (smpconvnet.atomic_io), used by convert, push --dry-run, export, reparam, recipe and train-seq."""
import os
import re
import stat

import pytest

from smpconvnet.atomic_io import atomic_dir, atomic_file


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
    bins = lambda entry: entry.suffix == '.bin'  # noqa: E731  (the writer's own kind of output)
    with pytest.raises(FileExistsError, match='--force'):
        with atomic_dir(dst, replaceable=bins):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(dst, force=True, replaceable=bins) as tmp:
            (tmp / 'b.bin').write_bytes(b'2')
            raise RuntimeError('interrupted')
    assert sorted(p.name for p in dst.iterdir()) == ['a.bin']
    with atomic_dir(dst, force=True, replaceable=bins) as tmp:
        (tmp / 'b.bin').write_bytes(b'2')
    assert sorted(p.name for p in dst.iterdir()) == ['b.bin']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model']


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
        check_destination(run, sources=[tmp_path / 'other'], replaceable=lambda entry: True)
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
    """`reparam X ~/Documents --force` deleted the whole folder: --force replaces a folder only when all its entries
    are the writer's kind of output (a subfolder never is), a file writer never replaces a folder nor a folder writer
    a file; the refusal comes before the --force hint, which would not have helped."""
    from smpconvnet.atomic_io import check_destination
    from smpconvnet.weights.folders import is_output_file
    home = tmp_path / 'home'
    (home / 'photos').mkdir(parents=True)
    for name in ('config.json', 'notes.txt', 'a.md', 'b.md', 'c.md'):
        (home / name).write_text('mine')
    for force in (False, True):
        with pytest.raises(ValueError, match=r'home holds a\.md, b\.md, c\.md and 2 more, which this command does '
                                             r'not write: --force replaces only an earlier output folder'):
            check_destination(home, force=force, replaceable=is_output_file)
        with pytest.raises(ValueError, match='is a folder: name the file to write'):
            check_destination(home, force=force)
        with pytest.raises(ValueError, match='is a file, not a folder'):
            check_destination(home / 'notes.txt', force=force, replaceable=is_output_file)
    with pytest.raises(ValueError, match=r'holds photos/, which'):
        with atomic_dir(tmp_path / 'home' / 'photos' / '..', force=True, replaceable=lambda entry: True):
            pass
    assert sorted(p.name for p in home.iterdir()) == ['a.md', 'b.md', 'c.md', 'config.json', 'notes.txt', 'photos']
    with pytest.raises(ValueError, match='which this command does not write'):  # by default only an empty folder
        with atomic_dir(tmp_path / 'home', force=True):
            pass
    (tmp_path / 'empty').mkdir()
    with atomic_dir(tmp_path / 'empty', force=True) as tmp:
        (tmp / 'x').write_text('new')
    assert (tmp_path / 'empty' / 'x').read_text() == 'new'


def test_output_file_names_cover_what_the_writers_write():
    """is_output_file's names are the constants of the modules that write them (weights cannot import train)."""
    from smpconvnet.train import seq_trainer
    from smpconvnet.weights import folders, hub, push
    assert {folders.WEIGHTS_NAME, folders.CONFIG_NAME, folders.CARD_NAME, hub.MANIFEST_NAME, push.PLAN_NAME,
            seq_trainer.CHECKPOINT_NAME, seq_trainer.LOG_NAME, seq_trainer.RESULTS_NAME,
            seq_trainer.FINISHED_COMMAND_NAME} == folders.OUTPUT_FILE_NAMES


def test_force_over_a_link_to_a_folder_replaces_the_link_only(tmp_path):
    """The link is replaced by the new folder; the folder it pointed at keeps its files (rmtree of the link had
    raised after the new folder was in place)."""
    target = tmp_path / 'v1'
    target.mkdir()
    (target / 'a.bin').write_bytes(b'1')
    link = tmp_path / 'latest'
    link.symlink_to(target, target_is_directory=True)
    with atomic_dir(link, force=True, replaceable=lambda entry: entry.suffix == '.bin') as tmp:
        (tmp / 'b.bin').write_bytes(b'2')
    assert not link.is_symlink() and sorted(p.name for p in link.iterdir()) == ['b.bin']
    assert (target / 'a.bin').read_bytes() == b'1'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['latest', 'v1']
