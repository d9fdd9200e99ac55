"""The seal on a workbook's identity (issue 18): a workbook edited to claim another sponsor,
another cycle or other rows is quarantined; an untouched one, saved by Calc, still merges; a
workbook from before seals is accepted with a note; the key never leaves the ledger."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import (
    CYCLE,
    HELEN,
    PREVIOUS,
    PREVIOUS_SPG,
    SHARON,
    SPG,
    Env,
    codes,
    copy_env,
    describe,
    edit_workbook,
    manifest_rows,
    one,
    only,
)
from libreoffice import edit_and_save

from xlplan.export import TABLES, rows, to_csv, to_json


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    return copy_env(tmp_path_factory, tmp_path / "plan")


def _cell_of(path: Path, key: str) -> str:
    """The A1 address of a metadata value on the hidden sheet, as generate wrote it."""
    return str(manifest_rows(openpyxl.load_workbook(path))[key].coordinate)


def _sent_with(who: str) -> str:
    return f"Ask {who} for the workbook that was sent to them, filled in, unedited."


@pytest.mark.libreoffice
def test_the_metadata_sheet_edited_in_calc_to_claim_another_sponsor_is_quarantined(env: Env) -> None:
    """A sponsor opens the hidden sheet in Calc, unprotects it and types another name."""
    sent = env.outgoing(HELEN)
    dst = env.folder.returns_dir / "edited in calc.xlsx"
    edits: list[tuple[str, str, Any]] = [
        ("Actions", "J5", "Recruitment of two link workers delayed"),
        ("Actions", "K5", "Amber"),
        ("_xlplan", _cell_of(sent, "recipient"), SHARON),
    ]
    edit_and_save(sent, dst, edits, unprotect=["_xlplan"])
    assert manifest_rows(openpyxl.load_workbook(dst))["recipient"].value == SHARON  # the edit is in the file
    out = only(env.collect())
    assert out.status == "quarantined", describe(out)
    issue = one(out, "seal-broken")
    assert (issue.severity, issue.sheet, issue.recipient) == ("error", "_xlplan", SHARON)
    assert issue.message == (
        f"The workbook's metadata was edited: it claims the recipient '{SHARON}' (it was sent with "
        f"'{HELEN}'). It is {HELEN}'s workbook for {CYCLE}; nothing of it was merged. " + _sent_with(HELEN)
    )
    assert "metadata-altered" not in codes(out)  # the seal says more: whose it really is
    assert env.entries() == {}
    with env.ledger() as ledger:
        (logged,) = ledger.returns()  # no cycle believed: logged without one
    assert logged.outcome == "quarantined" and [i.code for i in logged.issues] == ["seal-broken"]


@pytest.mark.libreoffice
def test_a_return_filled_and_saved_in_calc_keeps_its_seal_and_merges(env: Env) -> None:
    dst = env.folder.returns_dir / "saved by calc.xlsx"
    edit_and_save(env.outgoing(HELEN), dst, [("Actions", "J5", "Link workers recruited"), ("Actions", "K5", "Green")])
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert not {"seal-broken", "unsealed", "metadata-altered"} & set(codes(out)), describe(out)
    assert env.entries()[(HELEN, "BA1.01")]["progress"] == "Link workers recruited"


def test_last_quarters_workbook_edited_to_pass_for_this_quarters_is_quarantined(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Both copies of the metadata edited (the hidden sheet and the document properties): no
    copy is left to say what was sent, and no one without the key can make a seal that fits."""
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    path = env.fill(HELEN, cycle=PREVIOUS, name=f"{HELEN} {CYCLE}.xlsx")

    def claim_this_cycle(book: Any) -> None:
        manifest_rows(book)["cycle"].value = CYCLE
        next(p for p in book.custom_doc_props.props if p.name == "xlplan_cycle").value = CYCLE

    edit_workbook(path, claim_this_cycle)
    out = only(env.collect())
    assert out.status == "quarantined", describe(out)
    issue = one(out, "seal-broken")
    assert issue.message == (
        f"The workbook's metadata was edited: it claims to be {HELEN}'s return for {CYCLE}, but this plan "
        "folder did not send a workbook with that recipient, cycle and rows (or it was made for another plan "
        "folder). Nothing of it was merged. Ask the recipient for the workbook that was sent to them, filled in, "
        "unedited."
    )
    assert env.entries(CYCLE) == {} and env.entries(PREVIOUS) == {}


def test_last_quarters_workbook_unedited_is_still_a_late_return(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Its seal holds: it is filed for its own cycle, not refused."""
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    env.fill(HELEN, cycle=PREVIOUS)
    out = only(env.collect())
    assert (out.status, out.cycle, out.report.issues) == ("late", PREVIOUS, [])


def test_the_rows_claimed_edited_in_the_metadata_are_quarantined(env: Env) -> None:
    """A row's fingerprints changed (so that edited locked values would pass): the seal breaks."""
    path = env.fill(HELEN)

    def other_rows(book: Any) -> None:
        cell = manifest_rows(book)["BA1.01"]
        cell.value = ".".join("0" * 8 for _ in str(cell.value).split("."))

    edit_workbook(path, other_rows)
    out = only(env.collect())
    assert out.status == "quarantined", describe(out)
    assert codes(out) == ["seal-broken"], describe(out)
    assert env.entries() == {}


def test_a_workbook_made_before_seals_is_accepted_with_a_note(env: Env) -> None:
    """What an earlier xlplan wrote: the same metadata, no seal in either copy."""
    path = env.fill(HELEN)

    def unseal(book: Any) -> None:
        ws = book["_xlplan"]
        ws.delete_rows(manifest_rows(book)["seal"].row)
        book.custom_doc_props.props = [p for p in book.custom_doc_props.props if p.name != "xlplan_seal"]

    edit_workbook(path, unseal)
    assert "seal" not in manifest_rows(openpyxl.load_workbook(path))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    note = one(out, "unsealed")
    assert note.severity == "note"
    assert note.message.startswith("This workbook was made by an xlplan from before workbooks were sealed")
    assert env.entries()[(HELEN, "BA1.01")]["progress"]


def test_the_key_is_in_no_file_sent_written_or_exported(env: Env) -> None:
    """Not in any workbook sent (every part unzipped), nor in an annotated copy, nor an export."""
    env.fill(HELEN)
    env.fill(SHARON, {"BA3.01": {"progress": "Strategy drafted", "rag": "Purple"}})  # quarantined: a copy
    result = env.collect()
    assert result.feedback, "an annotated copy was written"
    with env.ledger() as ledger:
        key = ledger.seal_key(create=False)
        exports = [to_csv(rows(ledger, t, plan=env.plan)) + to_json(rows(ledger, t, plan=env.plan)) for t in TABLES]
    assert key and len(key) == 64
    files = [p for d in ("outgoing", "feedback") for p in (env.folder.root / d).rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in files) and result.feedback[0] in files
    for path in files:
        data = path.read_bytes()
        parts = [data]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                parts += [archive.read(name) for name in archive.namelist()]
        for part in parts:
            assert key.encode() not in part and key.upper().encode() not in part, path
    assert all(key not in text for text in exports)
    with env.ledger() as ledger:  # the key is made once: the same for every workbook
        assert ledger.seal_key(create=False) == key
