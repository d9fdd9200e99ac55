"""Where a plan folder lives: network drives and sync clients on Linux, macOS and Windows.

The platform's own checks (GetDriveTypeW, the registry, `mount`) cannot run here; the
decisions they feed are pure functions, driven here with what each platform gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xlplan.storage import (
    Location,
    Mount,
    classify,
    drive_letter,
    locate,
    mount_of,
    note_once,
    parse_macos_mount,
    parse_proc_mounts,
    sync_client,
    sync_roots_from_env,
    unc_share,
)

PROC_MOUNTS = r"""/dev/sda1 / ext4 rw,relatime 0 0
//fs01.council.local/Plans /mnt/plans cifs rw,vers=3.1.1,username=mkerr 0 0
fs02:/export/home /home/shared nfs4 rw,relatime 0 0
/dev/sdb1 /mnt/plans/local\040disk ext4 rw 0 0
tmpfs /tmp tmpfs rw 0 0
morag@server:/srv /home/morag/remote fuse.sshfs rw 0 0
"""

MACOS_MOUNT = """/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
//morag@fs01.council.local/Strategic%20Plans on /Volumes/Strategic Plans (smbfs, nodev, nosuid, mounted by morag)
map auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)
"""


def test_linux_mount_table_is_read_with_escaped_spaces() -> None:
    mounts = parse_proc_mounts(PROC_MOUNTS)
    assert Mount("/mnt/plans", "cifs", "//fs01.council.local/Plans") in mounts
    assert Mount("/mnt/plans/local disk", "ext4", "/dev/sdb1") in mounts


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/mnt/plans/Strategic Plan", "network"),
        ("/mnt/plans/local disk/plan", "local"),  # a local disk mounted inside the share: the deepest mount wins
        ("/home/shared/plan", "network"),
        ("/home/morag/remote/plan", "network"),
        ("/home/morag/plan", "local"),
        ("/tmp/plan", "local"),
    ],
)
def test_linux_network_file_systems(path: str, kind: str) -> None:
    assert classify(path, windows=False, mounts=parse_proc_mounts(PROC_MOUNTS)).kind == kind


def test_linux_names_the_share() -> None:
    where = classify("/mnt/plans/x", windows=False, mounts=parse_proc_mounts(PROC_MOUNTS))
    assert where == Location("network", "a network drive (cifs, //fs01.council.local/Plans)")


def test_macos_mount_output() -> None:
    mounts = parse_macos_mount(MACOS_MOUNT)
    assert Mount("/Volumes/Strategic Plans", "smbfs", "//morag@fs01.council.local/Strategic%20Plans") in mounts
    assert classify("/Volumes/Strategic Plans/HSCP", windows=False, mounts=mounts).kind == "network"
    assert classify("/Users/morag/Documents/HSCP", windows=False, mounts=mounts).kind == "local"


@pytest.mark.parametrize(
    ("path", "share"),
    [
        (r"\\fs01\Plans\HSCP", r"\\fs01\Plans"),
        ("//fs01/Plans/HSCP", r"\\fs01\Plans"),
        (r"\\?\UNC\fs01\Plans\HSCP", r"\\fs01\Plans"),
        (r"\\?\C:\Plans", None),
        (r"C:\Plans", None),
        (r"\\fs01", None),
    ],
)
def test_unc_paths(path: str, share: str | None) -> None:
    assert unc_share(path) == share


@pytest.mark.parametrize(
    ("path", "letter"), [(r"K:\Plans", "K:"), ("k:/Plans", "K:"), (r"\\?\K:\Plans", "K:"), (r"\\fs01\x", None)]
)
def test_drive_letters(path: str, letter: str | None) -> None:
    assert drive_letter(path) == letter


def test_windows_mapped_drive_and_unc_path() -> None:
    remote = {"K:"}
    assert classify(r"K:\Plans\HSCP", windows=True, drive_is_remote=lambda d: d in remote) == Location(
        "network", "a network drive (K:)"
    )
    assert classify(r"C:\Plans\HSCP", windows=True, drive_is_remote=lambda d: d in remote).kind == "local"
    assert classify(r"\\fs01\Plans\HSCP", windows=True) == Location("network", r"a network share (\\fs01\Plans)")


@pytest.mark.parametrize(
    ("path", "windows", "client"),
    [
        (r"C:\Users\mkerr\OneDrive - Inverclyde Council\Plans\HSCP", True, "OneDrive"),
        (r"C:\Users\mkerr\OneDrive\Plans", True, "OneDrive"),
        ("/Users/morag/Library/CloudStorage/OneDrive-InverclydeCouncil/Plans", False, "OneDrive"),
        (
            "/Users/morag/Library/CloudStorage/OneDrive-SharedLibraries-InverclydeCouncil/HSCP - Documents",
            False,
            "OneDrive (a SharePoint library)",
        ),
        (r"C:\Users\mkerr\Dropbox (Council)\Plans", True, "Dropbox"),
        ("/home/morag/Dropbox/plans", False, "Dropbox"),
        (r"G:\My Drive\Plans", True, "Google Drive"),
        ("/Users/morag/Library/CloudStorage/GoogleDrive-morag@example.org/My Drive/Plans", False, "Google Drive"),
        ("/Users/morag/Library/Mobile Documents/com~apple~CloudDocs/Plans", False, "iCloud Drive"),
        (r"C:\Users\mkerr\Documents\Plans", True, None),
        ("/home/morag/onedrive-notes/plans", False, None),  # a folder merely named like it
    ],
)
def test_sync_clients_by_folder_name(path: str, windows: bool, client: str | None) -> None:
    assert sync_client(path, windows=windows) == client


def test_sharepoint_library_found_by_its_registered_folder() -> None:
    """SharePoint libraries sync to %USERPROFILE%\\<Organisation>\\<Site> - Documents, a name
    that says nothing: the registry (or the environment) lists them."""
    roots = {r"C:\Users\mkerr\Inverclyde Council\HSCP Planning - Documents": "OneDrive (a SharePoint library)"}
    path = r"c:\users\MKERR\Inverclyde Council\HSCP Planning - Documents\Strategic Plan"
    assert sync_client(path, roots, windows=True) == "OneDrive (a SharePoint library)"
    where = classify(path, windows=True, roots=roots)
    assert where.kind == "sync"
    env = {"OneDriveCommercial": r"C:\Users\mkerr\OneDrive - Inverclyde Council", "PATH": "x"}
    assert sync_roots_from_env(env) == {r"C:\Users\mkerr\OneDrive - Inverclyde Council": "OneDrive"}


def test_a_synced_folder_on_a_network_drive_counts_as_synced() -> None:
    where = classify(r"\\fs01\home\mkerr\OneDrive\Plans", windows=True)
    assert where == Location("sync", "OneDrive")


def test_the_notes_say_what_is_safe() -> None:
    network = Location("network", "a network drive (K:)").note()
    assert network is not None and "one officer at a time" in network and "xlplan.lock" in network
    synced = Location("sync", "OneDrive").note()
    assert synced is not None and "one PC at a time" in synced and "finish syncing" in synced
    assert Location("local").note() is None


def test_the_note_is_said_once_per_place(tmp_path: Path) -> None:
    seen = tmp_path / ".xlplan-cache" / "location.json"
    onedrive = Location("sync", "OneDrive")
    assert note_once(tmp_path, onedrive, seen) == onedrive.note()
    assert note_once(tmp_path, onedrive, seen) is None
    share = Location("network", r"a network share (\\fs01\Plans)")
    assert note_once(tmp_path, share, seen) == share.note()  # moved: said again
    assert note_once(tmp_path, Location("local"), seen) is None


def test_locate_here_never_raises(tmp_path: Path) -> None:
    assert locate(tmp_path).kind == "local"
    (tmp_path / ".dropbox").write_text("{}")
    (tmp_path / "plan").mkdir()
    assert locate(tmp_path / "plan") == Location("sync", "Dropbox")


def test_mount_of_picks_the_deepest() -> None:
    mounts = [Mount("/", "ext4"), Mount("/mnt", "cifs"), Mount("/mnt/a", "ext4")]
    assert mount_of("/mnt/a/b", mounts) == Mount("/mnt/a", "ext4")
    assert mount_of("/mnt/ab", mounts) == Mount("/mnt", "cifs")
