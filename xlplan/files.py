"""Writing files so that a crash or a locked file never leaves half of one behind."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xlplan.errors import OutputError, XlplanError
from xlplan.failures import environmental, plain_os_error

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def safe_filename(text: str, limit: int = 80) -> str:
    """A readable file name that is valid on Windows, macOS and Linux."""
    name = _UNSAFE.sub(" ", text)
    name = " ".join(name.split()).strip(" .")[:limit].strip(" .")
    if name.upper().split(".")[0] in _RESERVED or not name:
        name = f"_{name}"
    return name


def recipient_filenames(names: list[str], pattern: str, limit: int = 120) -> dict[str, str]:
    """A file name (no extension) for each recipient, `pattern` with {name} in it
    ("2025-Q3 return - {name} - PLEASE FIX"): valid everywhere, different for every
    recipient whatever their names, and never cut in the words around {name} (a suffix
    such as "PLEASE FIX" is kept whole). Names too long are cut in the middle, so that
    the end that tells "(North)" from "(South)" stays; names still alike (or alike but
    for case or characters Windows refuses) get " (2)", " (3)"."""
    head, _, tail = pattern.partition("{name}")
    head, tail = _UNSAFE.sub(" ", head), _UNSAFE.sub(" ", tail)
    room = max(20, limit - len(head) - len(tail))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        middle = " ".join(_UNSAFE.sub(" ", name).split())
        if len(middle) > room:
            keep = room - 1
            middle = middle[: keep // 2].rstrip() + "…" + middle[-(keep - keep // 2) :].lstrip()
        stem = safe_filename(f"{head}{middle}{tail}", limit=limit + 10)
        unique, n = stem, 1
        while unique.casefold() in taken:
            n += 1
            unique = f"{stem} ({n})"
        taken.add(unique.casefold())
        out[name] = unique
    return out


def checkpoint(name: str) -> None:
    """Fault injection for the crash-safety tests: die here, hard, if XLPLAN_CRASH_AT names this point.

    A SIGKILL gives no chance to clean up, like a power cut or a killed process;
    the tests then check that every file is in its old state or its new one.
    """
    if os.environ.get("XLPLAN_CRASH_AT") == name:
        import multiprocessing
        import signal

        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        if multiprocessing.parent_process() is not None:  # in a worker: the whole run dies here
            os.kill(os.getppid(), kill)
        os.kill(os.getpid(), kill)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it into place.

    The rename is atomic on one file system, so readers see the old file or the
    new one, never a partial one. If `target` is open in Excel on Windows the
    rename fails: raise OutputError, leaving the old file untouched.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.stem}-*{target.suffix}"):
            stale.unlink(missing_ok=True)  # left by a run that was killed before its rename
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
    except OSError as exc:
        if not environmental(exc):
            raise
        raise plain_os_error(exc, target) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _MODE)  # mkstemp's file is private (0600): others on a shared drive could not open it
        _fsync(tmp)
        checkpoint(f"before-rename:{target.name}")
        try:
            os.replace(tmp, target)
        except PermissionError as exc:
            raise OutputError(
                f"Cannot replace {target}: it is open in another program (Excel?) or read-only. "
                "Close it and run the command again."
            ) from exc
    except XlplanError:
        raise
    except OSError as exc:  # a full disk, a drive gone while writing: named by the file meant, not the temporary one
        if not environmental(exc):
            raise
        raise plain_os_error(exc, target) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _file_mode() -> int:
    """The mode open() gives a new file: read and write for all, less the umask. Read once,
    at import: os.umask can only be read by setting it."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_MODE = _file_mode()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_file(path: Path) -> None:
    """Make sure `path` is on the disk (not only in its cache) before it is renamed into place."""
    _fsync(path)
