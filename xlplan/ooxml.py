"""Which zip part holds each sheet's XML in an OOXML package (.xlsx, .xlsm).

A sheet's name and its part are linked through ``xl/workbook.xml`` (``<sheet name=...
r:id=...>``) and ``xl/_rels/workbook.xml.rels`` (``Id`` -> ``Target``). Both the reader
(scanning a returned file before calamine sees it) and the writer (``sheetxml.pack``,
putting cells into the package xlsxwriter made) need the map. It is read with regular
expressions, never an XML parser: the files are untrusted and no entity is expanded.
"""

from __future__ import annotations

import re
import zipfile
from html import unescape

_SHEET_REL = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_NAME_ATTR = re.compile(rb'\bname="([^"]*)"')
_RID_ATTR = re.compile(rb'\br:id="([^"]*)"|\b\w+:id="([^"]*)"')
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ID_ATTR = re.compile(rb'\bId="([^"]*)"')
_TARGET_ATTR = re.compile(rb'\bTarget="([^"]*)"')


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part holding its XML, from the workbook and its relationships."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for attrs in _REL.findall(rels):
        rid, target = _ID_ATTR.search(attrs), _TARGET_ATTR.search(attrs)
        if rid and target:
            targets[rid.group(1).decode()] = unescape(target.group(1).decode())
    out = {}
    for attrs in _SHEET_REL.findall(workbook):
        name, rid = _NAME_ATTR.search(attrs), _RID_ATTR.search(attrs)
        if not name or not rid:
            continue
        path = targets.get((rid.group(1) or rid.group(2)).decode(), "")
        out[unescape(name.group(1).decode())] = path.lstrip("/") if path.startswith("/") else f"xl/{path}"
    return out
