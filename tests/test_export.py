"""`xlplan export`: the ledger's full history out as CSV or JSON, safe to open in Excel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import CLEAN, CYCLE, HELEN, TODAY, make_env

from xlplan.cli import main
from xlplan.collect import collect
from xlplan.export import safe_cell

INJECTIONS = ["=1+1", "+44 7700 900123", "-2 on last quarter", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("http://x")']
# What a sponsor can type as text (a leading "=" would make Excel, and openpyxl, store a formula).
TYPED = ["+44 7700 900123", "-2 on last quarter", "@SUM(A1)"]


@pytest.fixture
def collected(tmp_path: Path) -> Path:
    env = make_env(tmp_path / "env")
    values = {ref: dict(v) for ref, v in CLEAN[HELEN].items()}
    for row, text in zip(values.values(), TYPED, strict=True):
        row["comments"] = text
    env.fill(HELEN, values, "helen.xlsx")
    result = collect(env.plan, today=TODAY, render=False)
    assert [o.status for o in result.outcomes] == ["merged"]
    return env.folder.root


def test_safe_cell_prefixes_every_formula_start() -> None:
    for text in INJECTIONS:
        assert safe_cell(text) == "'" + text
    assert safe_cell("Green") == "Green"
    assert safe_cell(12.5) == 12.5


def test_csv_export_keeps_formula_like_text_as_text(collected: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(main, ["--plan", str(collected), "export", "entries", "--cycle", CYCLE, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote ") and str(out) in result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, so Excel reads accents and emoji"
    records = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    comments = {r["ref"]: r["value"] for r in records if r["field"] == "comments"}
    assert sorted(comments.values()) == sorted("'" + t for t in TYPED)
    for record in records:
        for value in record.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_json_export_is_exact(collected: Path) -> None:
    result = CliRunner().invoke(main, ["--plan", str(collected), "export", "entries", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    comments = sorted(r["value"] for r in records if r["field"] == "comments")
    assert comments == sorted(TYPED)  # JSON is data, not a spreadsheet: unchanged
    rags = {r["ref"]: r["value"] for r in records if r["field"] == "rag"}
    assert rags == {ref: v["rag"] for ref, v in CLEAN[HELEN].items()}


def test_returns_export_lists_the_archived_file(collected: Path) -> None:
    result = CliRunner().invoke(main, ["--plan", str(collected), "export", "returns", "--format", "json"])
    [record] = json.loads(result.output)
    assert record["file"] == "helen.xlsx" and record["outcome"] == "merged" and record["issues"] == []
    archived = collected / record["archived"]
    assert archived.is_file() and archived.name.startswith(record["sha256"])


def test_standing_export_is_the_picture_the_spg_saw(built_demo: Path) -> None:
    """One row per action and cycle: reported, carried forward (with since when) or never."""
    result = CliRunner().invoke(main, ["--plan", str(built_demo), "export", "standing", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(r["cycle"], r["ref"]): r for r in json.loads(result.stdout)}
    assert len(rows) == 2 * 42  # two cycles of the sample's 42 actions
    silent = rows[("2023-Q3", "BA5.04")]  # Deborah Gillespie sent nothing for 2023-Q3
    assert (silent["status"], silent["source"], silent["as_of"], silent["cycles_without_update"]) == (
        "Red",
        "carried",
        "2023-Q2",
        1,
    )
    assert silent["note"] == "not updated: last reported Red in 2023-Q2 (1 cycle ago)"
    joint = rows[("2023-Q3", "BA3.02")]  # Big Action 3 is joint; both sponsors reported
    assert joint["source"] == "reported" and joint["reported_by"] == "Allen Stevenson; Sharon McAlees"
    assert rows[("2023-Q2", "BA5.04")]["source"] == "reported"
