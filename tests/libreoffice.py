"""Drive headless LibreOffice Calc from tests, as a real spreadsheet client.

Every soffice run gets its own throw-away profile (two instances sharing a
profile make the second one exit silently) and runs in its own process group,
so a timeout or a failure kills soffice.bin and not only the wrapper script.

``python3-uno`` only imports in Debian's ``/usr/bin/python3``, so the UNO work
of :func:`edit_and_save` lives in ``lo_uno_edit.py`` run in a subprocess.

Known LibreOffice changes on save: very hidden sheets become hidden; inline
strings become shared strings. Values set through UNO bypass data validation
(like a paste).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 120.0
UNO_PYTHON = os.environ.get("LO_UNO_PYTHON", "/usr/bin/python3")
UNO_SCRIPT = Path(__file__).with_name("lo_uno_edit.py")
STORE_FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "ods": "calc8"}

Edit = tuple[str, str, object]


def soffice_path() -> str | None:
    """Return the LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _soffice() -> str:
    path = soffice_path()
    if path is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    return path


@contextmanager
def _profile() -> Iterator[tuple[str, Path]]:
    """Yield a ``-env:UserInstallation=...`` argument for a fresh profile.

    Also yields the temporary directory holding it (removed afterwards),
    a place for logs of the run.
    """
    tmp = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        yield f"-env:UserInstallation={(tmp / 'profile').as_uri()}", tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group started for ``proc`` (soffice forks soffice.bin)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _run(cmd: Sequence[str], *, timeout: float, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` in its own process group; kill the whole group on timeout."""
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise RuntimeError(
            f"timed out after {timeout:.0f}s: {' '.join(cmd)}\nstderr:\n{err.decode(errors='replace')}"
        ) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def convert(src: Path, outdir: Path, fmt: str) -> Path:
    """Convert ``src`` with ``soffice --convert-to fmt`` into ``outdir``.

    ``fmt`` is an extension such as ``"xlsx"``, ``"pdf"`` or ``"ods"``,
    optionally with a filter (``"xlsx:Calc MS Excel 2007 XML"``).
    Returns the path of the written file.
    """
    src = Path(src).resolve()
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    ext = fmt.split(":", 1)[0]
    out = outdir / f"{src.stem}.{ext}"
    if out == src:
        raise ValueError(f"converting {src} to {fmt} in {outdir} would overwrite it")
    out.unlink(missing_ok=True)  # never mistake a stale file for success
    with _profile() as (profile, _):
        cmd = [
            _soffice(),
            "--headless",
            "--norestore",
            profile,
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            str(src),
        ]
        result = _run(cmd, timeout=TIMEOUT)
    if not out.is_file():
        raise RuntimeError(
            f"soffice did not write {out} (exit {result.returncode})\n"
            f"stdout:\n{result.stdout.decode(errors='replace')}\n"
            f"stderr:\n{result.stderr.decode(errors='replace')}"
        )
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Percent:
    """A number shown as a percentage (format 0%), as Calc stores a typed "93%": Percent(0.93)."""

    value: float


@dataclass(frozen=True)
class Note:
    """A cell note added to the cell (Insert > Comment); its content is left as it is."""

    text: str


def _encode(value: object) -> dict[str, object]:
    """Tag a cell value for the JSON job read by ``lo_uno_edit.py``."""
    if isinstance(value, Percent):
        return {"t": "percent", "v": value.value}
    if isinstance(value, Note):
        return {"t": "note", "v": value.text}
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int | float):
        return {"t": "num", "v": value}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, dt.datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"t": "date", "v": value.isoformat()}
    raise TypeError(f"unsupported cell value {value!r} ({type(value).__name__})")


def edit_and_save(
    src: Path,
    dst: Path,
    edits: list[Edit],
    *,
    fmt: str = "xlsx",
    unprotect: list[str] | None = None,
) -> None:
    """Open ``src`` in headless Calc, apply ``edits`` and store it as ``dst``.

    Each edit is ``(sheet name, A1 cell address, value)``: ``str`` sets text,
    ``int``/``float`` a number, ``bool`` a number with a boolean format,
    ``None`` clears the cell's content (keeping its format),
    ``datetime.date``/``datetime.datetime`` a date serial with an ISO format.
    Sheets named in ``unprotect`` are unprotected first (password-less
    protection only). ``fmt`` is ``"xlsx"`` or ``"ods"``.
    """
    if fmt not in STORE_FILTERS:
        raise ValueError(f"fmt must be one of {sorted(STORE_FILTERS)}, not {fmt!r}")
    src = Path(src).resolve()
    dst = Path(dst).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    deadline = time.monotonic() + TIMEOUT
    port = _free_port()
    job = {
        "port": port,
        "connect_timeout": 60,
        "src": str(src),
        "dst": str(dst),
        "filter": STORE_FILTERS[fmt],
        "unprotect": list(unprotect or []),
        "edits": [[sheet, cell, _encode(value)] for sheet, cell, value in edits],
    }
    with _profile() as (profile, tmp), (tmp / "soffice.log").open("w+b") as log:
        office = subprocess.Popen(
            [
                _soffice(),
                "--headless",
                "--norestore",
                "--nologo",
                "--nodefault",
                "--nolockcheck",
                profile,
                f"--accept=socket,host=127.0.0.1,port={port};urp;",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            result = _run(
                [UNO_PYTHON, str(UNO_SCRIPT)],
                timeout=max(1.0, deadline - time.monotonic()),
                stdin=json.dumps(job).encode(),
            )
            if result.returncode == 0:
                # the script asked the office to terminate; let it finish
                with suppress(subprocess.TimeoutExpired):
                    office.wait(timeout=10)
        finally:
            _kill_group(office)
            log.seek(0)
            office_log = log.read()
    if result.returncode != 0 or not dst.is_file():
        raise RuntimeError(
            f"editing {src} with LibreOffice failed (exit {result.returncode})\n"
            f"script stderr:\n{result.stderr.decode(errors='replace')}\n"
            f"soffice output:\n{office_log.decode(errors='replace')}"
        )


def render_png(src: Path, outdir: Path, *, page: int = 1, dpi: int = 110) -> Path:
    """Render one page of ``src`` as LibreOffice prints it; return the PNG."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm (poppler-utils) is not installed")
    pdf = convert(src, outdir, "pdf")
    prefix = pdf.with_name(f"{pdf.stem}-p{page}")
    png = prefix.with_name(f"{prefix.name}.png")
    png.unlink(missing_ok=True)
    cmd = [
        pdftoppm,
        "-png",
        "-r",
        str(dpi),
        "-f",
        str(page),
        "-l",
        str(page),
        "-singlefile",
        str(pdf),
        str(prefix),
    ]
    result = _run(cmd, timeout=TIMEOUT)
    if result.returncode != 0 or not png.is_file():
        raise RuntimeError(
            f"pdftoppm did not write {png} (exit {result.returncode})\n"
            f"stderr:\n{result.stderr.decode(errors='replace')}"
        )
    return png
