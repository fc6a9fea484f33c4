"""Integrity of model folders: ``manifest.sha256`` files (sha256sum format, so ``sha256sum -c --ignore-missing
manifest.sha256`` checks a folder) and file hashes."""
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['MANIFEST_NAME', 'WEIGHT_SUFFIXES', 'sha256_file', 'write_manifest', 'read_manifest',
           'read_manifest_lines']


MANIFEST_NAME = 'manifest.sha256'
WEIGHT_SUFFIXES = ('.safetensors', '.pth', '.pt', '.bin', '.onnx', '.npz')


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder, names: Optional[Sequence[str]] = None) -> Path:
    """Write ``folder/manifest.sha256`` listing the SHA-256 of every file in the folder (but itself and hidden ones),
    or of the files ``names`` only (those a push uploads)."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST_NAME
                   and not p.name.startswith('.') and (names is None or p.name in names))
    text = ''.join(f'{sha256_file(p)}  {p.name}\n' for p in files)
    tmp = folder / f'.{MANIFEST_NAME}.tmp'
    tmp.write_text(text)
    os.replace(tmp, folder / MANIFEST_NAME)
    return folder / MANIFEST_NAME


def read_manifest(folder) -> Dict[str, str]:
    """{file name: sha256} of ``folder/manifest.sha256`` (a name listed twice: its last line's); a malformed line is
    an error naming it."""
    return dict(read_manifest_lines(folder))


def read_manifest_lines(folder) -> List[Tuple[str, str]]:
    """``(file name, sha256)`` of every line of ``folder/manifest.sha256``, as ``sha256sum -c`` checks them (each
    line, a name listed twice too); a name written ``./NAME`` is ``NAME``. A malformed line is an error naming it."""
    import re
    path = Path(folder) / MANIFEST_NAME
    entries = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue  # (sha256sum -c skips a blank line too)
        # as sha256sum -c reads a line: either case of hex digits, two spaces, ' *' (binary) or a tab before the name
        m = re.fullmatch(r'([0-9a-fA-F]{64})(?: [ *]|\t)(\S.*)', line)
        if m is None:
            raise ValueError(f'{path}:{i}: expected "<64 hex digits>  <file name>" (sha256sum format), got {line!r}')
        name = m.group(2)
        entries.append((name[2:] if name.startswith('./') else name, m.group(1).lower()))
    return entries
