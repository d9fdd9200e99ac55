"""A zip file (an .xlsx package) whose members are compressed in pieces, anywhere.

Python's zipfile compresses each member itself, in the thread that writes it, and cannot
take data compressed already (CPython issue 113924, open). At national scale the master
tracker holds 110 MB of sheet XML, and compressing it in one thread, after everything
else, was a tenth of a collect run. Here a member is a list of ``Deflated`` segments: a
worker process compresses the sheet it built, and threads compress the others while
their rows are still being written (zlib lets go of the GIL while it works).

Each segment is raw DEFLATE ending in a full flush: byte-aligned and not final, so
segments compressed apart join into one valid stream, closed by an empty final block
(as pigz does). Their CRC-32s join with ``crc32_combine``. Members are written whole,
with their sizes in the local header, and without Zip64: a package past 4 GB is refused.
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from xlplan.errors import OutputError

LEVEL = 1  # sheet XML compresses 3x faster than at zlib's default, and ~40% larger
_FINAL = b"\x03\x00"  # an empty final block with fixed codes: what zlib's flush() of nothing gives
_LIMIT = 0xFFFFFFFF  # past this, zip needs Zip64 records
_VERSION = 20  # 2.0: deflate


@dataclass(frozen=True)
class Deflated:
    """Part of a member, compressed: raw DEFLATE ending in a full flush."""

    data: bytes
    size: int  # bytes before compression
    crc: int  # their CRC-32


def deflate(chunks: Iterable[bytes], level: int = LEVEL) -> Deflated:
    """Compress `chunks` as one segment of a member."""
    packer = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    out: list[bytes] = []
    size = crc = 0
    for chunk in chunks:
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        out.append(packer.compress(chunk))
    out.append(packer.flush(zlib.Z_FULL_FLUSH))
    return Deflated(b"".join(out), size, crc)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc(A), crc(B) and len(B): zlib's crc32_combine, which
    Python does not expose. CRC-32 is linear: appending len2 zero bytes to crc1 is one
    32x32 GF(2) matrix per set bit of len2, and those are made once."""
    k = 0
    while len2 > 0 and crc1:  # nothing appended to nothing is still nothing
        if len2 & 1:
            crc1 = _times(_zeros(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


@functools.cache
def _zeros(k: int) -> list[int]:
    """The operator that appends 2**k zero bytes to a CRC-32."""
    if k == 0:
        one_bit = [0xEDB88320] + [1 << n for n in range(31)]
        return _square(_square(_square(one_bit)))
    return _square(_zeros(k - 1))


def _times(matrix: list[int], vector: int) -> int:
    total, n = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[n]
        vector >>= 1
        n += 1
    return total


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, row) for row in matrix]


class ZipWriter:
    """Members written one after another to `stream`; `close()` writes the directory."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._offset = 0
        self._directory: list[bytes] = []

    def write(self, name: str, date_time: tuple[int, ...], parts: Sequence[Deflated]) -> None:
        data = b"".join(p.data for p in parts) + _FINAL
        size, crc = 0, 0
        for part in parts:
            crc = crc32_combine(crc, part.crc, part.size)
            size += part.size
        encoded, flags = _name(name)
        year, month, day, hour, minute, second = date_time[:6]
        dos_time = hour << 11 | minute << 5 | second // 2
        dos_date = max(year - 1980, 0) << 9 | month << 5 | day
        if max(size, len(data), self._offset) >= _LIMIT or len(self._directory) >= 0xFFFF:
            raise OutputError(f"The workbook is too large to write (over 4 GB at {name}).")
        fields = (_VERSION, flags, zlib.DEFLATED, dos_time, dos_date, crc, len(data), size, len(encoded))
        self._stream.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + encoded)
        self._stream.write(data)
        self._directory.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", _VERSION, *fields, 0, 0, 0, 0, 0, self._offset) + encoded
        )
        self._offset += 30 + len(encoded) + len(data)

    def close(self) -> None:
        directory = b"".join(self._directory)
        if self._offset + len(directory) >= _LIMIT:
            raise OutputError("The workbook is too large to write (over 4 GB).")
        count = len(self._directory)
        self._stream.write(directory)
        self._stream.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), self._offset, 0))


def _name(name: str) -> tuple[bytes, int]:
    """The member name's bytes, and the flag that says they are UTF-8 when not ASCII."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), 0x800
