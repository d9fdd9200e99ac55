"""One writer at a time: the lock file a write command holds in the plan folder.

SQLite's own locks cannot be trusted on network drives, and a sync client (OneDrive,
SharePoint, Dropbox) does not lock at all, so a command that writes first creates
`xlplan.lock` in the plan folder, exclusively (O_EXCL, which SMB honours too). It holds who,
on which machine, and since when, so a second run, on this PC or another, can say
"xlplan collect is already running (Morag Kerr on PC-0421 since 10:42)".

A lock left by a run that was killed is recognised on the machine that took it (its process
has ended) and taken over, with a word about it. From another machine nobody can tell
whether the process still runs: the message says how to clear it when it is stale.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from xlplan import __version__
from xlplan.errors import BusyError, ReadOnlyError

LOCK_NAME = "xlplan.lock"
PROBABLY_STALE = timedelta(hours=12)  # a lock from another machine this old was most likely left by a dead run

_held: dict[Path, int] = {}  # lock files this process holds, and how many times (a command inside a command)


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as written in the file."""

    command: str  # "collect"
    user: str
    machine: str
    pid: int
    since: str  # ISO time with its offset
    version: str = ""
    token: str = ""  # tells this process's lock from one another took over

    def describe(self, now: datetime | None = None) -> str:
        """'Morag Kerr on PC-0421 since 10:42' (with the date when it is not today)."""
        now = now or datetime.now().astimezone()
        try:
            since = datetime.fromisoformat(self.since).astimezone(now.tzinfo)
            when = f"{since:%H:%M}" if since.date() == now.date() else f"{since:%d/%m/%Y %H:%M}"
        except ValueError:
            when = self.since or "an unknown time"
        return f"{self.user} on {self.machine} since {when}"

    def age(self, now: datetime | None = None) -> timedelta | None:
        now = now or datetime.now().astimezone()
        try:
            return now - datetime.fromisoformat(self.since)
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Taken:
    """The lock this process took, and the stale one it replaced (said once to the officer)."""

    path: Path
    holder: Holder
    replaced: Holder | None = None

    def note(self) -> str | None:
        if self.replaced is None:
            return None
        old = self.replaced
        return (
            f"A lock left by xlplan {old.command} ({old.describe()}) was cleared: that process has ended, "
            "so the run was interrupted. This run finishes its work."
        )


def lock_path(root: Path) -> Path:
    return root / LOCK_NAME


def holds(root: Path) -> bool:
    """Whether this process holds the plan folder's lock already."""
    return _held.get(lock_path(root), 0) > 0


@contextlib.contextmanager
def locked(root: Path, command: str) -> Iterator[Taken | None]:
    """Hold the plan folder's lock while the block runs (None when this process held it already).

    Raises BusyError when another run holds it, ReadOnlyError when the folder cannot be written.
    """
    path = lock_path(root)
    if _held.get(path, 0):
        _held[path] += 1
        try:
            yield None
        finally:
            _held[path] -= 1
        return
    taken = acquire(path, command)
    _held[path] = 1
    try:
        yield taken
    finally:
        _held.pop(path, None)
        release(taken)


def acquire(path: Path, command: str) -> Taken:
    me = Holder(command, user_name(), machine_name(), os.getpid(), _now(), __version__, secrets.token_hex(8))
    replaced: Holder | None = None
    for _attempt in range(3):
        try:
            _create(path, me)
            return Taken(path, me, replaced)
        except FileExistsError:
            pass
        other = read_holder(path)
        if other is None:  # gone meanwhile, or being written by a run starting this instant
            if path.exists() and not _old_file(path):
                raise BusyError(
                    f"Another xlplan command is starting in this plan folder ({path} is being written): "
                    "wait a moment and run the command again."
                )
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        if _is_dead(other):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            replaced = other
            continue
        raise BusyError(busy_message(other, path))
    raise BusyError(f"Could not take the lock {path}: another xlplan command keeps taking it. Try again.")


def busy_message(other: Holder, path: Path, now: datetime | None = None) -> str:
    """'xlplan collect is already running (Morag Kerr on PC-0421 since 10:42). ...'"""
    text = f"xlplan {other.command} is already running ({other.describe(now)}). Wait for it to finish, then run the command again."
    age = other.age(now)
    old = age is not None and age > PROBABLY_STALE
    if not _same_machine(other):
        if old:
            text += (
                f" It started long ago: if nothing is running xlplan on {other.machine} (it was switched off or "
                f"lost the network mid-run), delete {path} and run the command again."
            )
        else:
            text += f" (If nothing is running xlplan on {other.machine}, delete {path} and run the command again.)"
    elif old:  # its process number is in use again, by something else after a restart?
        text += f" It started long ago: if no xlplan command is running on this PC, delete {path} and run it again."
    return text


def release(taken: Taken) -> None:
    """Remove the lock, if it is still ours (nobody may have cleared it and taken it over)."""
    current = read_holder(taken.path)
    if current is not None and current.token == taken.holder.token:
        with contextlib.suppress(OSError):
            taken.path.unlink()


def read_holder(path: Path) -> Holder | None:
    """The holder written in the lock file; None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(**{k: data[k] for k in Holder.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def _create(path: Path, me: Holder) -> None:
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise ReadOnlyError(read_only_message(path.parent, exc)) from exc
        raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(me), fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def read_only_message(root: Path, exc: OSError | None = None) -> str:
    why = "read-only" if exc is None or exc.errno == errno.EROFS else "not writable by you"
    return (
        f"The plan folder {root} is {why}: this command writes to it, so it cannot run there. Ask for write "
        "access (or copy the folder somewhere you can write) and run it again. Commands that only read "
        "(status, report, export, cycles, check, collect --dry-run) work as it is."
    )


def _old_file(path: Path) -> bool:
    try:
        modified = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        return True
    return datetime.now().astimezone() - modified > timedelta(minutes=1)


def _same_machine(holder: Holder) -> bool:
    return holder.machine.casefold() == machine_name().casefold()


def _is_dead(holder: Holder) -> bool:
    """Whether the holder's process has surely ended: only knowable on its own machine."""
    if not _same_machine(holder):
        return False
    if holder.pid == os.getpid():
        return True  # not held by this process (checked first), so left by it earlier
    return not pid_alive(holder.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    # Not os.kill(pid, 0): on Windows signal 0 is CTRL_C_EVENT, sent to the process.
    if sys.platform != "win32":
        return True
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def user_name() -> str:
    """The officer's name as their computer knows it ('Morag Kerr'), else their login."""
    login = os.environ.get("USERNAME") or os.environ.get("USER") or ""
    if not login:
        with contextlib.suppress(Exception):
            import getpass

            login = getpass.getuser()
    full = _display_name()
    return full or login or "someone"


def _display_name() -> str:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        with contextlib.suppress(Exception):
            import ctypes

            size = ctypes.c_ulong(256)
            buffer = ctypes.create_unicode_buffer(size.value)
            secur32 = ctypes.windll.secur32
            if secur32.GetUserNameExW(3, buffer, ctypes.byref(size)):  # NameDisplay
                return buffer.value.strip()
        return ""
    with contextlib.suppress(Exception):
        import pwd

        gecos = pwd.getpwuid(os.getuid()).pw_gecos
        return gecos.split(",")[0].strip()
    return ""


def machine_name() -> str:
    import platform

    return os.environ.get("COMPUTERNAME") or platform.node() or "this PC"


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
