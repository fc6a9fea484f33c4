"""Atomic writes: a file or folder is written under a temporary name next to its destination and renamed into
place only when complete, so an interrupted or failed write never leaves a partial file and never replaces a
good one. ``tempfile`` creates private (0600 / 0700) entries; what is published gets the permissions of a normally
created file or folder (the process umask applied).

A process killed outright (SIGKILL, the out-of-memory killer, power loss) runs no clean-up: the temporary entries
are named with the host and process that made them, and the next write of the same destination by any process
removes those of a process no longer running and puts back a folder moved aside for a swap that never finished.
"""
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

from .user_warnings import caller_stacklevel

__all__ = ['atomic_file', 'atomic_dir', 'check_destination', 'entries_besides', 'holds_nothing', 'is_os_metadata',
           'real_destination', 'recover_interrupted', 'interrupted_write_note', 'OS_METADATA_FILES']

PathLike = Union[str, os.PathLike]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _default_permissions(path: Path):
    """What ``open()`` / ``mkdir()`` would have given: files 0666 and folders 0777, minus the umask."""
    umask = _umask()
    if path.is_dir():
        path.chmod(0o777 & ~umask)
        for f in path.iterdir():
            if f.is_file():
                f.chmod(0o666 & ~umask)
    else:
        path.chmod(0o666 & ~umask)


def _fsync(path: Path):
    with open(path, 'rb') as f:
        os.fsync(f.fileno())


def _host() -> str:
    # this host's name without dots (one field of a temporary entry's name: '.R1.v2.HOST...' is then R1.v2's, not
    # R1's), letters, digits, '-' and '_' only
    return re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname().split('.')[0]) or 'host'


def _temp_prefix(path: Path) -> str:
    # '.NAME.HOST.PID-': whose entry it is, for the clean-up after a killed process
    return f'.{path.name}.{_host()}.{os.getpid()}-'


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # (another thread's write in progress)
    try:
        os.kill(pid, 0)  # signal 0: only whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: it exists
    return True


def _left_entries(dst: Path) -> List[Tuple[Path, Optional[str], Optional[int], str]]:
    # the entries writes of dst left beside it, from one scan: (path, host, pid, 'tmp' or 'old'); host and pid are
    # None for an earlier version's '.NAME.xxxxxxxx.old'. A sibling's ('.R1.v2.HOST...' beside R1) is not one
    pattern = re.compile(rf'\.{re.escape(dst.name)}\.(?:([A-Za-z0-9_-]+)\.(\d+)-[A-Za-z0-9_]+|[a-z0-9_]{{8}})'
                         rf'\.(tmp|old)')
    try:
        found = [(e.path, pattern.fullmatch(e.name)) for e in os.scandir(dst.parent)]
    except OSError:
        return []  # (no folder yet, or not readable: nothing of ours there)
    return [(Path(path), m.group(1), int(m.group(2)) if m.group(2) else None, m.group(3))
            for path, m in found if m and (m.group(1) is not None or m.group(3) == 'old')]


def _newest(paths: Sequence[Path]) -> Optional[Path]:
    try:
        return max(paths, key=lambda p: p.lstat().st_mtime) if paths else None
    except OSError:
        return None


def recover_interrupted(dst: PathLike) -> None:
    """Clean up after a write of ``dst`` by a process that was killed outright (it left its entries, see the module
    docstring): remove its temporary file or folder (an unfinished write) and, where it had moved the old ``dst``
    aside and died before the new one took its place, put the old one back (said in a warning). Entries of
    processes still running, of other hosts (a shared disk) or not of this module's naming are left alone; so is
    everything on systems without POSIX process checks."""
    if os.name != 'posix':
        return  # (os.kill(pid, 0) is no existence check on Windows)
    dst = Path(dst)
    entries = _left_entries(dst)
    host = _host()
    dead = [(path, kind) for path, h, pid, kind in entries if h == host and not _running(pid)]
    # (each step may find its entry gone: another process recovering the same destination at the same time)
    for old in (path for path, kind in dead if kind == 'old'):
        if not os.path.lexists(dst):
            # killed between the two renames: the new folder (its .tmp) was complete, the old one is the user's
            with contextlib.suppress(FileNotFoundError):
                os.replace(old, dst)
                warnings.warn(f'{dst} put back from {old.name}, where a write of it killed before it finished had '
                              f'moved it aside; it is as it was before that write', UserWarning,
                              stacklevel=caller_stacklevel())
        else:
            _remove(old)
    for tmp in (path for path, kind in dead if kind == 'tmp'):
        _remove(tmp)
    handled = {path for path, _ in dead}
    aside = None if os.path.lexists(dst) else _newest(
        [path for path, _, _, kind in entries if kind == 'old' and path not in handled])
    if aside is not None and (dst, aside) not in _SAID:
        # moved aside by a process that runs still, by one on another host, or whose number a new process has taken
        # (a container's PID 1 killed and run again): left there, and said once (the write goes on beside it, so a
        # `mv` to DST would put the folder inside the new one)
        _SAID.add((dst, aside))
        kept = dst.with_name(f'{dst.name}.recovered')
        warnings.warn(f'{dst} does not exist: a write of it was interrupted after moving it aside to {aside} (by a '
                      f'process that may run still, or on another host); this write makes a new {dst.name} beside '
                      f'it; to keep the old one, once no other write of it runs: '
                      f'mv {shlex.quote(str(aside))} {shlex.quote(str(kept))}', UserWarning,
                      stacklevel=caller_stacklevel())


_SAID = set()  # (destination, entry) pairs warned of in this process (a command checks its destination twice)


def _moved_aside(dst: Path) -> Optional[Path]:
    # the newest entry a write of dst moved it aside to (this module's naming, an earlier version's too), where dst
    # does not exist
    if os.path.lexists(dst):
        return None
    return _newest([path for path, _, _, kind in _left_entries(dst) if kind == 'old'])


def interrupted_write_note(dst: PathLike) -> str:
    """A clause for a message about a ``dst`` that does not exist, where a write of it was interrupted after moving
    it aside (a hidden ``.NAME.HOST.PID-*.old`` beside it, or an earlier version's ``.NAME.*.old``): where it is and
    the command that puts it back; else empty."""
    aside = _moved_aside(Path(dst))
    if aside is None:
        return ''
    return (f'; a write of it was interrupted after moving it aside to {aside} (by a process that may run still, '
            f'or on another host): once no write of it runs, put it back with: '
            f'mv {shlex.quote(str(aside))} {shlex.quote(str(dst))}')


def _remove(path: Path) -> None:
    # a link to a folder is removed as a link: the folder it points at is not deleted
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path``, on failure it is removed."""
    path = Path(path)
    recover_interrupted(real_destination(path))
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix='.tmp', dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _default_permissions(tmp)
        _fsync(tmp)  # the data on disk before the name points at it: a crash leaves the old file or the new one
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_destination(dst: PathLike, force: bool = False, sources: Sequence[PathLike] = (),
                      foreign: Optional[Callable[[Path], Optional[str]]] = None) -> Path:
    """Before anything is read or written: ``dst`` may be written (it does not exist, or ``force``), and replacing
    it would not delete what it is written from (a source that is ``dst`` or lies inside it, what lies in a source
    folder, a file beside a source file in a folder with a ``config.json``) nor the current folder. ``sources`` that
    are no local path (a model name, ``hf-hub:``) or an empty folder are ignored; ``local-dir:`` is read as its
    folder. A link that
    points nowhere is refused (it would be written over unasked).

    ``foreign`` marks a writer of folders: ``foreign(folder)`` says what makes an existing folder ``dst`` other than
    the writer's earlier output (None: it is that output), and ``force`` replaces only such an output (a mistyped
    destination, a home or project folder, a training run, is not deleted). Without it ``dst`` is a file.

    Raises:
        FileExistsError: ``dst`` exists and not ``force``.
        ValueError: a source is ``dst`` or inside it, ``dst`` lies in a source folder or is a file of a source file's
            model folder, ``dst`` is or holds the current folder, ``dst`` is a folder where a file is written (or ends
            in a separator, . or ..) or a file where a folder is, a folder ``foreign`` refuses, a folder above ``dst``
            is a file, or ``dst`` is a link that points nowhere.
    """
    text = os.fsdecode(dst)
    if not text.strip():  # Path('') is the current folder
        raise ValueError('the path to write is empty: name the file or folder to write')
    recover_interrupted(real_destination(dst))  # (first: a folder put back is what the checks below must see)
    last = text.replace(os.sep, '/').rsplit('/', 1)
    if foreign is None and len(last) == 2 and last[1] in ('', '.', '..'):
        raise ValueError(f'{text} names a folder (it ends in a separator, . or ..): name the file to write')
    dst = Path(dst)
    if dst.is_symlink() and not dst.exists():  # exists() is False for it: it would be written over unasked
        raise ValueError(f'{dst} is a link to {os.readlink(dst)}, which does not exist: remove the link or write to '
                         f'another path')
    target = dst.resolve()
    blocking = next((p for p in Path(os.path.abspath(dst)).parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # found before the work, not by mkdir's Errno 17 / 20 at the end
        raise ValueError(f'{dst}: {blocking} is a file, not a folder; write to another path')
    try:  # the kernel's reading of the path too ('afile/../x' passes through the file)
        os.stat(os.path.dirname(text) or '.')
    except NotADirectoryError:
        raise ValueError(f'{text}: a folder on this path is a file; write to another path') from None
    except OSError:
        pass  # a missing folder is made when the output is written
    cwd = Path.cwd().resolve()
    if dst.exists() and (cwd == target or target in cwd.parents):
        raise ValueError(f'{dst} is or holds the current folder, which replacing it would delete; write to another '
                         f'folder')
    for src in sources:
        text = os.fsdecode(src)
        path = Path(text[len('local-dir:'):] if text.startswith('local-dir:') else text)
        if not path.exists() or (path.is_dir() and holds_nothing(path)):
            continue  # an empty folder has nothing to lose (one named like a registered model is not even read)
        where = path.resolve()
        if where == target or target in where.parents:
            raise ValueError(f"{text} {'is' if where == target else 'lies inside'} the destination {dst}: writing "
                             f'{dst} replaces it and would delete what it is written from; write to another folder')
        # what lies in a source folder (its weights, its config); beside a source file, the files of a model or run
        # folder (one with a config.json: a train-seq checkpoint is read with it, its weights belong to it), while a
        # folder beside a weight file (the output of an earlier convert of it) is not read
        beside = target.parent == where.parent and not target.is_dir() and (where.parent / 'config.json').is_file()
        if dst.exists() and (where in target.parents if where.is_dir() else beside):
            owner = text if where.is_dir() else f'the folder of {text}'
            raise ValueError(f'{dst} lies inside {owner}, which it is written from: replacing it would change the '
                             f'source; write to another path')
    if dst.exists():
        # before the --force hint: a destination --force would not replace is refused whatever the options
        _check_replaceable(dst, foreign)
        if not force:
            raise FileExistsError(f'{dst} exists; add --force to replace it (force=True in Python)')
    return dst


def real_destination(dst: PathLike) -> Path:
    """The absolute path ``dst`` is written at, where ``check_destination`` looked: its folder resolved the kernel's
    way (``lnk/../x`` is ``x`` beside the link's target, not ``./x``), its name kept (a link ``dst`` stays the link)."""
    dst = Path(dst)
    if dst.name in ('', '.', '..'):
        return Path(os.path.realpath(dst))
    return Path(os.path.realpath(dst.parent)) / dst.name


# files a file browser leaves in any folder it shows (macOS Finder, Windows Explorer): replacing a folder that holds
# them besides an earlier output deletes nothing of the user's
OS_METADATA_FILES = frozenset({'.DS_Store', 'Thumbs.db', 'desktop.ini'})


def is_os_metadata(path: PathLike) -> bool:
    """True for a file a file browser leaves: ``OS_METADATA_FILES``, and the ``._NAME`` AppleDouble files macOS writes
    beside every file it copies to a drive that cannot hold its metadata (FAT, SMB, NFS), told by their magic number
    (a user's own ``._notes.csv`` is no metadata, and ``--force`` must not delete it)."""
    path = Path(path)
    if path.name in OS_METADATA_FILES:
        return True
    if not path.name.startswith('._') or not path.is_file():
        return False
    try:
        with open(path, 'rb') as f:
            return f.read(4) == b'\x00\x05\x16\x07'
    except OSError:
        return False


def entries_besides(folder: Path, names: Sequence[str]) -> Optional[str]:
    """For a ``foreign`` of ``check_destination``: what ``folder`` holds besides files named ``names`` and
    OS metadata files (``is_os_metadata``; any subfolder counts), said as "holds A, B and N more, which this command does not write";
    None when nothing."""
    found = sorted(e.name + ('/' if e.is_dir() else '') for e in Path(folder).iterdir()
                   if e.is_dir() or (e.name not in names and not is_os_metadata(e)))
    if not found:
        return None
    more = f' and {len(found) - 3} more' if len(found) > 3 else ''
    return f"holds {', '.join(found[:3])}{more}, which this command does not write"


def holds_nothing(folder: Path) -> bool:
    """True for a folder that is empty but for OS metadata files (``is_os_metadata``)."""
    return all(is_os_metadata(e) and not e.is_dir() for e in Path(folder).iterdir())


def _check_replaceable(dst: Path, foreign: Optional[Callable[[Path], Optional[str]]]):
    # --force replaces an earlier output of the same command, never a folder of other things (deleted whole) or a
    # file where a folder is written
    if foreign is None:
        if dst.is_dir():
            raise ValueError(f'{dst} is a folder: name the file to write, not a folder')
        return
    if not dst.is_dir():
        raise ValueError(f'{dst} is a file, not a folder: --force replaces an earlier output folder only; write the '
                         f'folder to another path')
    reason = foreign(dst)
    if reason:
        raise ValueError(f'{dst} {reason}: --force replaces only an earlier output of this command, and replacing '
                         f'{dst} would delete all of it; write to another folder')


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    # Ctrl-C / SIGTERM received in the block are raised once it is done (Python's handlers run in the main thread
    # only; a thread's signal mask does not hold a process-directed signal, which another thread may take); in other
    # threads _swap's undo covers an exception raised in between
    received = []
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not None:  # None: a handler installed outside Python, left alone
                previous[signum] = signal.signal(signum, lambda n, frame: received.append(n))
    except ValueError:  # not the main thread
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def _swap(dst: Path, old: Path, tmp: Path) -> None:
    """``dst`` moved aside to ``old``, ``tmp`` renamed to ``dst`` and ``old`` deleted, as one step: an interruption
    or an error between the two renames (Ctrl-C, a full or read-only directory) puts ``dst`` back rather than leaving
    it under ``old``'s hidden name with nothing at ``dst``."""
    with _signals_deferred():
        os.replace(dst, old)
        try:
            os.replace(tmp, dst)
        except BaseException:
            if not os.path.lexists(dst):
                os.replace(old, dst)
            raise
        _remove(old)


@contextlib.contextmanager
def atomic_dir(dst: PathLike, force: bool = False,
               foreign: Callable[[Path], Optional[str]] = lambda folder: entries_besides(folder, ())) -> Iterator[Path]:
    """Yield a temporary folder next to ``dst``; on success it becomes ``dst``, replacing it if ``force`` and it is
    the writer's earlier output (``foreign``; by default only an empty folder is: see ``check_destination``)."""
    # by a path that holds once dst is moved aside ('out/../out' loses its parent then)
    dst = real_destination(check_destination(dst, force, foreign=foreign))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(dst), suffix='.tmp', dir=dst.parent))
    try:
        yield tmp
        _default_permissions(tmp)
        for f in tmp.rglob('*'):
            if f.is_file():
                _fsync(f)
        if dst.exists():
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(dst), suffix='.old', dir=dst.parent))
            old.rmdir()
            _swap(dst, old, tmp)
        else:
            os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
