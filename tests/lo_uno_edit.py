"""UNO side of ``tests/libreoffice.py``'s ``edit_and_save``.

Run by Debian's ``/usr/bin/python3`` (the only interpreter where ``import uno``
works), never imported by the tests. It connects to an already started
headless soffice, opens a workbook, applies cell edits and stores a copy.

The job is a JSON object on stdin::

    {
      "port": 2002,
      "connect_timeout": 60,
      "src": "/abs/in.xlsx",
      "dst": "/abs/out.xlsx",
      "filter": "Calc MS Excel 2007 XML",
      "unprotect": ["Actions"],
      "edits": [["Actions", "C2", {"t": "str", "v": "Grenn"}], ...]
    }

Value tags: ``str``, ``num``, ``percent`` (a number with the format 0%), ``note``
(add a cell note, the content unchanged), ``bool``, ``none`` (clear the cell),
``date`` (ISO date) and ``datetime`` (ISO date-time). Dates are written as
serial numbers (days since 1899-12-30) with an ISO date number format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]
from com.sun.star.lang import Locale  # type: ignore[import-not-found]

EPOCH = dt.datetime(1899, 12, 30)
DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DD HH:MM:SS"
# com.sun.star.sheet.CellFlags VALUE|DATETIME|STRING|FORMULA: keeps formats, so an
# unlocked cell stays unlocked after it is cleared.
CLEAR_CONTENT = 1 | 2 | 4 | 16
BOOLEAN = 1024  # com.sun.star.util.NumberFormat.LOGICAL


def _props(**kwargs: Any) -> tuple[Any, ...]:
    out = []
    for name, value in kwargs.items():
        prop = PropertyValue()
        prop.Name = name
        prop.Value = value
        out.append(prop)
    return tuple(out)


def _connect(port: int, timeout: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(url)
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def _format_key(doc: Any, pattern: str) -> int:
    formats = doc.getNumberFormats()
    locale = Locale()
    key = formats.queryKey(pattern, locale, False)
    if key == -1:
        key = formats.addNew(pattern, locale)
    return int(key)


def _apply(doc: Any, sheet_name: str, address: str, value: dict[str, Any]) -> None:
    sheets = doc.getSheets()
    if not sheets.hasByName(sheet_name):
        raise KeyError(f"no sheet {sheet_name!r}; have {list(sheets.getElementNames())}")
    cell = sheets.getByName(sheet_name).getCellRangeByName(address)
    tag, raw = value["t"], value.get("v")
    if tag == "str":
        cell.setString(raw)
    elif tag == "num":
        cell.setValue(float(raw))
    elif tag == "bool":
        cell.setValue(1.0 if raw else 0.0)
        cell.NumberFormat = doc.getNumberFormats().getStandardFormat(BOOLEAN, Locale())
    elif tag == "percent":  # a number shown as a percentage, as typing "93%" makes it
        cell.setValue(float(raw))
        cell.NumberFormat = _format_key(doc, "0%")
    elif tag == "note":  # a cell note (Insert > Comment), its content left as it is
        sheet = sheets.getByName(sheet_name)
        sheet.getAnnotations().insertNew(cell.getCellAddress(), raw)
    elif tag == "none":
        cell.clearContents(CLEAR_CONTENT)
    elif tag == "date":
        day = dt.date.fromisoformat(raw)
        cell.setValue(float((day - EPOCH.date()).days))
        cell.NumberFormat = _format_key(doc, DATE_FORMAT)
    elif tag == "datetime":
        moment = dt.datetime.fromisoformat(raw).replace(tzinfo=None)
        cell.setValue((moment - EPOCH) / dt.timedelta(days=1))
        cell.NumberFormat = _format_key(doc, DATETIME_FORMAT)
    else:
        raise ValueError(f"unknown value tag {tag!r}")


def main() -> int:
    job = json.load(sys.stdin)
    desktop = _connect(int(job["port"]), float(job.get("connect_timeout", 60)))
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(job["src"]), "_blank", 0, _props(Hidden=True))
    if doc is None:
        raise RuntimeError(f"LibreOffice could not load {job['src']}")
    try:
        sheets = doc.getSheets()
        for name in job.get("unprotect", []):
            sheets.getByName(name).unprotect("")
        for sheet_name, address, value in job["edits"]:
            _apply(doc, sheet_name, address, value)
        doc.storeToURL(
            uno.systemPathToFileUrl(job["dst"]),
            _props(FilterName=job["filter"], Overwrite=True),
        )
    finally:
        doc.close(True)
    # The bridge may die with the office while terminating; that is fine.
    with contextlib.suppress(Exception):
        desktop.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
