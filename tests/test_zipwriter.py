"""Members compressed in pieces, apart, make a zip that zipfile, unzip and LibreOffice read."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlplan.errors import OutputError
from xlplan.zipwriter import Deflated, ZipWriter, crc32_combine, deflate


@given(st.binary(max_size=5000), st.binary(max_size=70_000))
def test_crc32_combine_is_zlibs(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc32_combine_over_a_long_second_part() -> None:
    a, b = b"head", bytes(range(256)) * 40_000  # 10 MB: many squarings
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@given(st.lists(st.lists(st.binary(max_size=3000), max_size=4), max_size=5))
def test_segments_compressed_apart_read_back_as_one_member(segments: list[list[bytes]]) -> None:
    parts = [deflate(chunks) for chunks in segments]
    buffer = io.BytesIO()
    out = ZipWriter(buffer)
    out.write("xl/worksheets/sheet1.xml", (2024, 2, 29, 13, 45, 58), parts)
    out.close()
    with zipfile.ZipFile(buffer) as package:
        assert package.testzip() is None  # every member's CRC-32 checks
        (info,) = package.infolist()
        assert info.date_time == (2024, 2, 29, 13, 45, 58)
        assert package.read(info) == b"".join(b"".join(chunks) for chunks in segments)


def _package(path: Path) -> dict[str, bytes]:
    members = {
        "a.xml": b"<a>" + "é ü 名".encode() * 1000 + b"</a>",
        "empty.txt": b"",
        "naïve/ünïcode.txt": b"name in UTF-8",
    }
    with path.open("wb") as stream:
        out = ZipWriter(stream)
        for name, body in members.items():
            half = len(body) // 2
            out.write(name, (1980, 1, 1, 0, 0, 0), [deflate([body[:half]]), deflate([body[half:]])])
        out.close()
    return members


def test_unzip_reads_it_and_names_keep_their_characters(tmp_path: Path) -> None:
    path = tmp_path / "package.zip"
    members = _package(path)
    with zipfile.ZipFile(path) as package:
        assert package.namelist() == list(members)  # the UTF-8 flag is set for non-ASCII names
        assert {n: package.read(n) for n in members} == members
    if shutil.which("unzip"):  # another reader than the one in Python
        listing = subprocess.run(["unzip", "-t", str(path)], capture_output=True, check=False)
        assert listing.returncode == 0 and b"No errors detected" in listing.stdout, listing.stdout


def test_a_package_past_4_gb_is_refused_not_written_wrong() -> None:
    out = ZipWriter(io.BytesIO())
    with pytest.raises(OutputError, match="too large"):
        out.write("huge.xml", (1980, 1, 1, 0, 0, 0), [Deflated(b"", 0xFFFF_FFFF, 0)])
