"""Where the plan folder lives: a local disk, a network drive, or a folder a sync client keeps.

Council officers keep plan folders on SMB shares (mapped drive letters, UNC paths) and in
OneDrive or SharePoint-synced folders. Both are fine with one officer at a time writing,
which the lock file (`xlplan.lock`) enforces; a sync client adds that it copies files in
the background, so a second PC must wait for it. This module recognises the place and
says once what that means.

The platform checks are thin wrappers around pure functions (parse the mount table, match
a path against sync folders, read a Windows path), which the tests drive with the text
each platform gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

Kind = Literal["local", "network", "sync"]

# Linux file systems whose files live on another machine.
NETWORK_FSTYPES = {
    "cifs", "smb3", "smbfs", "nfs", "nfs4", "ncpfs", "afs", "coda", "davfs", "ceph", "glusterfs",
    "lustre", "gpfs", "beegfs", "9p.net",
    "fuse.sshfs", "fuse.davfs2", "fuse.gvfsd-fuse", "fuse.glusterfs", "fuse.ceph", "fuse.s3fs", "fuse.rclone",
    # macOS (from `mount`)
    "afpfs", "webdav",
}  # fmt: skip


@dataclass(frozen=True)
class Mount:
    mountpoint: str
    fstype: str
    source: str = ""


@dataclass(frozen=True)
class Location:
    """Where a plan folder is, as far as can be told."""

    kind: Kind
    what: str = ""  # "a network drive (cifs, //server/plans)", "OneDrive"

    def note(self) -> str | None:
        """What this place means for the plan folder, and what is safe (None for a local disk)."""
        if self.kind == "network":
            return (
                f"This plan folder is on {self.what}. That works with one officer at a time: while a command "
                "writes, xlplan holds xlplan.lock in the folder and a second run (from this PC or another) "
                "stops until it is done. Between commands the ledger is one file that can be copied; "
                "backups/ keeps copies of it."
            )
        if self.kind == "sync":
            return (
                f"This plan folder is kept in sync by {self.what}, which copies files in the background and "
                "cannot lock them. Run xlplan on one PC at a time, and before running it on another PC let "
                f"{self.what} finish syncing (the ledger, master-tracker.xlsx and xlplan.lock). Between commands "
                f"the ledger is one file, safe to sync. If {self.what} ever keeps a second copy of ledger.sqlite "
                "(named after a PC), run `xlplan check` and keep ledger.sqlite; backups/ keeps copies of it."
            )
        return None


# --- the pure parts ------------------------------------------------------------------------


def parse_proc_mounts(text: str) -> list[Mount]:
    """/proc/self/mounts: 'source mountpoint fstype options 0 0', spaces in names as \\040."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append(Mount(_unescape(parts[1]), parts[2], _unescape(parts[0])))
    return mounts


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


_MACOS_MOUNT = re.compile(r"^(?P<source>.*?) on (?P<point>.*) \((?P<fstype>[^,)]+)")


def parse_macos_mount(text: str) -> list[Mount]:
    """`mount` on macOS: '//morag@fs01/Plans on /Volumes/Plans (smbfs, nodev, nosuid, mounted by morag)'."""
    mounts = []
    for line in text.splitlines():
        found = _MACOS_MOUNT.match(line.strip())
        if found:
            mounts.append(Mount(found["point"], found["fstype"].strip(), found["source"]))
    return mounts


def mount_of(path: str, mounts: Iterable[Mount]) -> Mount | None:
    """The mount holding `path`: the one with the longest mount point that contains it."""
    best: Mount | None = None
    target = PurePosixPath(path)
    for mount in mounts:
        point = PurePosixPath(mount.mountpoint)
        if (target == point or point in target.parents) and (
            best is None or len(point.parts) > len(PurePosixPath(best.mountpoint).parts)
        ):
            best = mount
    return best


def is_network_fstype(fstype: str) -> bool:
    return fstype.lower() in NETWORK_FSTYPES


def unc_share(path: str) -> str | None:
    r"""'\\server\share' of a UNC path (\\server\share\..., //server/share/..., \\?\UNC\server\share\...), else None."""
    text = path.replace("/", "\\")
    if text.lower().startswith("\\\\?\\unc\\"):
        text = "\\\\" + text[8:]
    elif text.startswith("\\\\?\\") or text.startswith("\\\\.\\"):
        return None  # a long local path (\\?\C:\...) or a device
    if not text.startswith("\\\\"):
        return None
    parts = [p for p in text[2:].split("\\") if p]
    if len(parts) < 2:
        return None
    return f"\\\\{parts[0]}\\{parts[1]}"


def drive_letter(path: str) -> str | None:
    r"""'K:' of 'K:\Plans\...' (or \\?\K:\...), else None."""
    text = path.replace("/", "\\")
    if text.startswith("\\\\?\\"):
        text = text[4:]
    found = re.match(r"([A-Za-z]):", text)
    return f"{found.group(1).upper()}:" if found else None


# Sync clients by the folder names they make (compared case-insensitively, whole path components).
# On macOS they all live in ~/Library/CloudStorage/<Client>-<account>.
_CLOUD_STORAGE = {"onedrive": "OneDrive", "dropbox": "Dropbox", "googledrive": "Google Drive", "box": "Box"}


def _client_of_component(name: str, parent: str = "") -> str | None:
    low = name.casefold()
    if parent.casefold() == "cloudstorage":
        if low.startswith("onedrive-sharedlibraries"):
            return "OneDrive (a SharePoint library)"
        client = _CLOUD_STORAGE.get(low.split("-")[0])
        if client:
            return client
    if low == "onedrive" or low.startswith("onedrive - "):  # OneDrive - Inverclyde Council: OneDrive for work
        return "OneDrive"
    if low == "dropbox" or low.startswith("dropbox ("):  # Dropbox (Council): a team's Dropbox
        return "Dropbox"
    if low in ("google drive", "my drive", "shared drives"):
        return "Google Drive"
    if low in ("box", "box sync"):
        return "Box"
    if low in ("icloud drive", "com~apple~clouddocs"):
        return "iCloud Drive"
    return None


def sync_client(path: str, roots: Mapping[str, str] = {}, *, windows: bool = False) -> str | None:
    """The sync client keeping `path`: one of `roots` (folder -> client, from the environment or the
    registry) that contains it, else a folder name only a sync client makes; None otherwise."""
    pure = PureWindowsPath if windows else PurePosixPath
    target = pure(path)

    def key(p: PureWindowsPath | PurePosixPath) -> tuple[str, ...]:
        return tuple(part.casefold() for part in p.parts)

    parts = key(target)
    for root, client in sorted(roots.items(), key=lambda kv: -len(kv[0])):
        if not root:
            continue
        prefix = key(pure(root))
        if prefix and parts[: len(prefix)] == prefix:
            return client
    for parent, component in zip(target.parts, target.parts[1:], strict=False):
        named = _client_of_component(component, parent)
        if named:
            return named
    return None


def sync_roots_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """Windows names the OneDrive folders in the environment (OneDrive, OneDriveCommercial, OneDriveConsumer)."""
    return {env[name]: "OneDrive" for name in ("OneDriveCommercial", "OneDriveConsumer", "OneDrive") if env.get(name)}


def classify(
    path: str,
    *,
    windows: bool,
    mounts: Iterable[Mount] = (),
    roots: Mapping[str, str] = {},
    drive_is_remote: Callable[[str], bool] = lambda _d: False,
    marker_client: str | None = None,
) -> Location:
    """The pure decision: a sync client first (it matters most), then a network file system."""
    client = sync_client(path, roots, windows=windows) or marker_client
    if client:
        return Location("sync", client)
    if windows:
        share = unc_share(path)
        if share:
            return Location("network", f"a network share ({share})")
        letter = drive_letter(path)
        if letter and drive_is_remote(letter):
            return Location("network", f"a network drive ({letter})")
        return Location("local")
    mount = mount_of(path, mounts)
    if mount is not None and is_network_fstype(mount.fstype):
        where = f", {mount.source}" if mount.source else ""
        return Location("network", f"a network drive ({mount.fstype}{where})")
    return Location("local")


# --- the platform's facts ------------------------------------------------------------------


def locate(path: Path) -> Location:
    """Where `path` lives, on this platform; never raises (a local disk when it cannot tell)."""
    try:
        windows = sys.platform == "win32"
        text = str(path)
        roots = sync_roots_from_env(os.environ)
        if windows:  # pragma: no cover - Windows only
            roots |= _windows_sync_roots()
            return classify(
                text, windows=True, roots=roots, drive_is_remote=_windows_drive_is_remote,
                marker_client=_marker_client(path),
            )  # fmt: skip
        mounts = _linux_mounts() if sys.platform.startswith("linux") else _macos_mounts()
        return classify(text, windows=False, mounts=mounts, roots=roots, marker_client=_marker_client(path))
    except Exception:  # a guess about the place must never stop a command
        return Location("local")


def _marker_client(path: Path) -> str | None:
    """Dropbox marks its folder's top with a .dropbox file."""
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError):
            if (folder / ".dropbox").is_file():
                return "Dropbox"
    return None


def _linux_mounts() -> list[Mount]:
    try:
        return parse_proc_mounts(Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _macos_mounts() -> list[Mount]:  # pragma: no cover - macOS only
    import subprocess

    try:
        done = subprocess.run(["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_macos_mount(done.stdout)


def _windows_drive_is_remote(letter: str) -> bool:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        return False
    import ctypes

    return bool(ctypes.windll.kernel32.GetDriveTypeW(f"{letter}\\") == 4)  # DRIVE_REMOTE


def _windows_sync_roots() -> dict[str, str]:  # pragma: no cover - Windows only
    """OneDrive's and SharePoint's synced folders, as the registry lists them."""
    roots: dict[str, str] = {}
    if sys.platform != "win32":
        return roots
    import winreg

    with contextlib.suppress(OSError):
        base = r"Software\SyncEngines\Providers\OneDrive"
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, base) as providers:
            for i in range(winreg.QueryInfoKey(providers)[0]):
                name = winreg.EnumKey(providers, i)
                with contextlib.suppress(OSError), winreg.OpenKey(providers, name) as key:
                    mount, _ = winreg.QueryValueEx(key, "MountPoint")
                    roots[str(mount)] = (
                        "OneDrive (a SharePoint library)" if "sharepoint" in name.lower() else "OneDrive"
                    )
    return roots


# --- said once -----------------------------------------------------------------------------


def note_once(root: Path, location: Location, seen_file: Path) -> str | None:
    """The location's note, the first time this kind of place is seen for the folder (remembered
    in `seen_file`); None after, or for a local disk."""
    note = location.note()
    if note is None:
        return None
    said = f"{location.kind}:{location.what}"
    try:
        if json.loads(seen_file.read_text(encoding="utf-8")).get("noted") == said:
            return None
    except (OSError, ValueError, AttributeError):
        pass
    with contextlib.suppress(OSError):
        seen_file.parent.mkdir(parents=True, exist_ok=True)
        seen_file.write_text(json.dumps({"noted": said, "folder": str(root)}), encoding="utf-8")
    return note
