"""Self-test of tests/libreoffice.py against a real headless LibreOffice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from libreoffice import convert, edit_and_save, render_png, soffice_path

needs_lo = pytest.mark.skipif(soffice_path() is None, reason="LibreOffice not installed")
STATUSES = ["Red", "Amber", "Green"]


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """A protected sheet with unlocked, validated input columns and a hidden sheet."""
    path = tmp_path / "in" / "actions.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(str(path))
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    unlocked = wb.add_format({"locked": False, "border": 1})
    unlocked_date = wb.add_format({"locked": False, "border": 1, "num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("Actions")
    ws.write_row(0, 0, ["ID", "Action", "Status", "Due"], header)
    for row, action in enumerate(["Fix roof", "Paint fence", "Order parts"], start=1):
        ws.write_number(row, 0, row)
        ws.write_string(row, 1, action)
        ws.write_blank(row, 2, None, unlocked)
        ws.write_blank(row, 3, None, unlocked_date)
    ws.set_column(1, 1, 20)
    ws.set_column(2, 3, 12)
    ws.data_validation("C2:C4", {"validate": "list", "source": STATUSES})
    ws.protect()
    meta = wb.add_worksheet("_meta")
    meta.write_row(0, 0, ["schema", "1"])
    meta.very_hidden()
    wb.set_custom_property("TemplateVersion", "1.2")
    wb.close()
    return path


@pytest.mark.libreoffice
@needs_lo
def test_convert_roundtrip_keeps_protection_validation_and_properties(workbook: Path, tmp_path: Path) -> None:
    out = convert(workbook, tmp_path / "out", "xlsx")
    assert out == tmp_path / "out" / "actions.xlsx"
    wb = openpyxl.load_workbook(out)
    ws = wb["Actions"]
    assert ws.protection.sheet
    assert ws["C2"].protection.locked is False
    assert ws["B2"].protection.locked is True
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1
    assert lists[0].formula1 == '"Red,Amber,Green"'
    assert "C2:C4" in str(lists[0].sqref)
    props = {prop.name: prop.value for prop in wb.custom_doc_props.props}
    assert props.get("TemplateVersion") == "1.2"
    # LibreOffice has no "very hidden": it saves such sheets as plain hidden.
    assert wb["_meta"].sheet_state == "hidden"


@pytest.mark.libreoffice
@needs_lo
def test_edit_and_save_bypasses_validation_and_writes_dates(workbook: Path, tmp_path: Path) -> None:
    dst = tmp_path / "edited.xlsx"
    edit_and_save(
        workbook,
        dst,
        [
            ("Actions", "C2", "Grenn"),  # not in the list: UNO bypasses validation
            ("Actions", "D2", dt.date(2024, 3, 15)),
            ("Actions", "C3", "Amber"),
            ("Actions", "C3", None),
        ],
    )
    wb = openpyxl.load_workbook(dst)
    ws = wb["Actions"]
    assert ws["C2"].value == "Grenn"
    assert isinstance(ws["D2"].value, dt.datetime)
    assert ws["D2"].value.date() == dt.date(2024, 3, 15)
    assert ws["C3"].value is None
    assert ws["C3"].protection.locked is False  # clearing keeps the cell unlocked
    assert ws.protection.sheet  # still protected


@pytest.mark.libreoffice
@needs_lo
def test_edit_and_save_unprotect_allows_editing_locked_cells(workbook: Path, tmp_path: Path) -> None:
    dst = tmp_path / "tampered.ods"
    edit_and_save(
        workbook,
        dst,
        [("Actions", "B2", "Tampered"), ("Actions", "A2", 42)],
        fmt="ods",
        unprotect=["Actions"],
    )
    xlsx = convert(dst, tmp_path / "back", "xlsx")
    ws = openpyxl.load_workbook(xlsx)["Actions"]
    assert ws["B2"].value == "Tampered"
    assert ws["A2"].value == 42
    assert not ws.protection.sheet


@pytest.mark.libreoffice
@needs_lo
def test_render_png(workbook: Path, tmp_path: Path) -> None:
    png = render_png(workbook, tmp_path / "png", dpi=80)
    assert png.suffix == ".png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 1024
