"""The extent scan's slow path: sheet XML whose cells (and rows) carry no r="A1".

Excel, LibreOffice and xlsxwriter always write r=, but the schema does not require it
and other writers leave it out; readers then place each cell after the previous one.
The scan must place them the same way, or a cell far away, a formula or an error value
would pass unseen. Small packages are built here with zipfile, and the same return is
read with and without r= (and with an `x:` namespace prefix) to give the same result.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import CLEAN, FEEDBACK, HELEN, Env, copy_env

from xlplan import scan
from xlplan.ooxml import sheet_parts
from xlplan.read import read_return
from xlplan.scan import SheetScan, odd_xlsx_numbers, scan_xlsx_sheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PART = "xl/worksheets/sheet1.xml"


def _package(sheet_data: str, prefix: str = "", after: str = "") -> zipfile.ZipFile:
    """A one-sheet workbook whose sheetData is `sheet_data`, written with `prefix` ("x:") or not."""
    ns = f'xmlns:{prefix[:-1]}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    sheet = f"<{prefix}worksheet {ns}><{prefix}sheetData>{sheet_data}</{prefix}sheetData>{after}</{prefix}worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/{PART}" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        package.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        package.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        package.writestr(PART, sheet.replace("<x:", f"<{prefix}").replace("</x:", f"</{prefix}"))
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def _scan(sheet_data: str, prefix: str = "", after: str = "") -> SheetScan:
    return scan_xlsx_sheet(_package(sheet_data, prefix, after), PART)


# Written with x: prefixes; _package takes them out unless asked for a prefix.
NO_REFS = (
    '<x:row><x:c t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c/><x:c><x:v>3</x:v></x:c></x:row>'
    "<x:row/>"
    '<x:row><x:c><x:f>SUM(A1:C1)</x:f><x:v>3</x:v></x:c><x:c t="e"><x:v>#DIV/0!</x:v></x:c>'
    "<x:c></x:c><x:c><x:f>&quot;R&amp;D&quot;</x:f><x:v>R&amp;D</x:v></x:c></x:row>"
)


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_cells_without_refs_are_placed_one_after_another(prefix: str) -> None:
    found = _scan(NO_REFS, prefix)
    assert found.formulas == {("A", 3): "SUM(A1:C1)", ("D", 3): '"R&D"'}
    assert found.errors == {("B", 3): "#DIV/0!"}
    assert (found.last_row, found.last_col, found.row_cell, found.col_cell) == (3, 4, "A3", "D3")
    assert found.too_far() == ""


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_the_same_sheet_with_refs_has_the_same_findings(prefix: str) -> None:
    with_refs = (
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c r="C1"><x:v>3</x:v></x:c></x:row>'
        '<x:row r="3"><x:c r="A3"><x:f>SUM(A1:C1)</x:f><x:v>3</x:v></x:c><x:c r="B3" t="e"><x:v>#DIV/0!</x:v></x:c>'
        '<x:c r="D3"><x:f>&quot;R&amp;D&quot;</x:f><x:v>R&amp;D</x:v></x:c></x:row>'
    )
    plain, implicit = _scan(with_refs, prefix), _scan(NO_REFS, prefix)
    assert (plain.formulas, plain.errors, plain.too_far()) == (implicit.formulas, implicit.errors, "")


def test_a_row_without_r_follows_the_row_before() -> None:
    found = _scan('<row r="5"><c r="B5"><v>1</v></c></row><row><c><v>2</v></c><c><f>1/0</f><v>0</v></c></row>')
    assert found.formulas == {("B", 6): "1/0"}
    assert (found.last_row, found.row_cell) == (6, "A6")


def test_a_cell_without_r_follows_a_cell_with_one() -> None:
    found = _scan('<row r="2"><c><v>1</v></c><c r="D2"><v>4</v></c><c t="e"><v>#N/A</v></c></row>')
    assert found.errors == {("E", 2): "#N/A"}
    assert (found.last_col, found.col_cell) == (5, "E2")


def test_blank_cells_without_r_take_a_place_but_reach_nothing() -> None:
    found = _scan('<row><c><v>1</v></c><c/><c></c><c s="3"/><c> </c></row>')
    assert (found.last_row, found.last_col, found.col_cell) == (1, 1, "A1")


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_content_far_down_without_refs_is_too_far(prefix: str) -> None:
    found = _scan('<x:row r="100001"><x:c><x:v>1</x:v></x:c></x:row>', prefix)
    assert found.too_far() == "A100001"


def test_a_wide_row_without_refs_is_too_far() -> None:
    """Row 90,000 x 30 columns is more cells than calamine may allocate (MAX_CELLS)."""
    found = _scan('<row r="90000">' + "<c><v>1</v></c>" * 30 + "</row>")
    assert (found.last_row, found.last_col, found.col_cell) == (90_000, 30, "AD90000")
    assert found.too_far() == "A90000"


def test_a_row_too_wide_without_refs_names_its_last_cell() -> None:
    found = _scan('<row r="20000">' + "<c><v>1</v></c>" * 201 + "</row>")
    assert found.too_far() == "GS20000"  # column 201


def test_merges_and_protection_are_found_beside_cells_without_refs() -> None:
    after = '<x:sheetProtection sheet="1"/><x:mergeCells><x:mergeCell ref="A1:A2"/></x:mergeCells>'
    for prefix in ("", "x:"):
        found = _scan(NO_REFS, prefix, after)
        assert (found.protected, found.merged) == (True, ["A1:A2"])


def test_numbers_beyond_any_date_are_placed_without_refs() -> None:
    package = _package('<row r="3"><c><v>1</v></c><c s="1"><v>99999999</v></c></row><row><c><v>-3e9</v></c></row>')
    assert odd_xlsx_numbers(package, PART) == ["B3", "A4"]


def test_the_slow_path_gives_the_same_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tags cut by a chunk's end are read whole in the next chunk, and never counted twice."""
    rows = "".join(
        f"<row><c><v>{r}</v></c><c/><c><f>A{r}*2</f><v>{2 * r}</v></c>"
        + ('<c t="e"><v>#REF!</v></c>' if r % 7 == 0 else "<c></c>")
        + "</row>"
        for r in range(1, 400)
    )
    whole = asdict(_scan(rows, "x:"))
    monkeypatch.setattr(scan, "_CHUNK", 300)
    monkeypatch.setattr(scan, "_MARGIN", 100)
    assert asdict(_scan(rows, "x:")) == whole
    assert len(whole["formulas"]) == 399 and len(whole["errors"]) == 57
    assert (whole["last_row"], whole["last_col"]) == (399, 4)


# --- read_return: the same return, with and without r= -------------------------------------


def _without_refs(xml: bytes) -> bytes:
    """The sheet XML with every r= of its rows and cells taken out; gaps filled with
    empty <row/> and <c/>, so that each cell keeps its place."""
    out, at, row, col = [], 0, 0, 0
    for m in re.finditer(rb'<(row|c)\b([^>]*?)\sr="([A-Z]*)(\d+)"([^>]*)>', xml):
        out.append(xml[at : m.start()])
        tag, before, letters, number, after = m.groups()
        if tag == b"row":
            out.append(b"<row/>" * (int(number) - row - 1))
            row, col = int(number), 0
        else:
            c = scan.column_number(letters)
            out.append(b"<c/>" * (c - col - 1))
            col = c
        out.append(b"<" + tag + before + after + b">")
        at = m.end()
    out.append(xml[at:])
    return b"".join(out)


def _prefixed(xml: bytes) -> bytes:
    """The sheet XML with the main namespace bound to x: and every element of it prefixed."""
    xml = xml.replace(f'xmlns="{MAIN}"'.encode(), f'xmlns:x="{MAIN}"'.encode(), 1)
    return re.sub(rb"<(/?)([A-Za-z]\w*)(?=[\s/>])", rb"<\1x:\2", xml)


def _rewritten(src: Path, dst: Path, change: Any) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            body = old.read(info)
            new.writestr(info, change(body) if info.filename.startswith("xl/worksheets/sheet") else body)
    return dst


@pytest.fixture(scope="module")
def helens(tmp_path_factory: pytest.TempPathFactory) -> tuple[Env, Path]:
    """Helen's return with a formula, an error value and merged cells in her columns."""
    root = tmp_path_factory.mktemp("scan")
    env = copy_env(tmp_path_factory, root / "plan")
    path = env.fill(HELEN, CLEAN[HELEN], feedback=FEEDBACK[HELEN])
    book = openpyxl.load_workbook(path)
    ws = book["Actions"]
    ws["J5"] = '="Recruitment "&"delayed"'
    ws["L6"] = "#DIV/0!"  # openpyxl writes an error value (t="e")
    ws.merge_cells("N7:N8")
    book.save(path)
    return env, path


def _read(env: Env, path: Path) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    ret, report = read_return(path, lambda _name: env.plan.template)
    assert ret is not None, report.issues
    found = {
        "identity": ret.identity,
        "rows": [(row.excel_row, row.values) for row in ret.rows],
        "groups": ret.groups,
        "columns": ret.columns,
        "protected": ret.protected,
    }
    return found, [(i.severity, i.code, i.cell, i.message) for i in report.issues]


@pytest.mark.parametrize("variant", ["no refs", "no refs, x: prefix", "x: prefix"])
def test_read_return_reads_a_return_without_refs_the_same(helens: tuple[Env, Path], variant: str) -> None:
    env, path = helens
    change = {
        "no refs": _without_refs,
        "no refs, x: prefix": lambda xml: _prefixed(_without_refs(xml)),
        "x: prefix": _prefixed,
    }[variant]
    other = _rewritten(path, path.with_name(f"{variant}.xlsx"), change)
    with zipfile.ZipFile(other) as package:
        sheet = package.read(sheet_parts(package)["Actions"])
    assert (b' r="J5"' in sheet) is (variant == "x: prefix")  # the rewrite did what it says
    assert (b"<x:c" in sheet) is ("x:" in variant)
    expected, issues = _read(env, path)
    assert {code for _, code, _, _ in issues} >= {"formula", "error-value", "merged-cells"}
    assert _read(env, other) == (expected, issues)
