"""Hostile and broken returns (issue 5): a clear answer for each, nothing lost, nothing injected.

The corpus (tests/corpus.py) is built once for the module into a plan folder whose
victim sponsor already has a merged return and a rendered master tracker. Every bad
file then goes into returns/ together, with good ones, and `xlplan collect` runs once
through the CLI, as the officer would run it. Each file must be named with its
message (and cell), refused files must change nothing, accepted ones must be merged
with exactly their values, and the good return beside them must still be merged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from conftest import SETTINGS, make_plan_folder
from corpus import (
    CYCLE,
    GOOD,
    LEAK,
    SPG,
    TODAY,
    VICTIM,
    Case,
    Corpus,
    cfb,
    clean,
    person,
    refs_of,
    rezip,
)

from xlplan.cli import main
from xlplan.codes import Code
from xlplan.generate import generate
from xlplan.ledger import AuditRecord, Ledger, ReturnRecord
from xlplan.plan import load_plan
from xlplan.read import read_return
from xlplan.sniff import ole_stream_names, sniff


@dataclass
class State:
    """What the ledger and the master tracker hold at one moment."""

    entries: dict[tuple[str, str], dict[str, Any]]
    audit: list[AuditRecord]
    returns: dict[str, ReturnRecord]
    master: dict[str, list[tuple[Any, ...]]]  # sheet -> rows of values


def state(corpus: Corpus) -> State:
    with Ledger(corpus.folder.ledger_file) as ledger:
        entries = ledger.entries(CYCLE, "Actions")
        audit = ledger.audit(CYCLE)
        returns = {r.file: r for r in ledger.returns()}
    book = openpyxl.load_workbook(corpus.folder.master_file)
    master = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
    return State(entries, audit, returns, master)


@dataclass
class Run:
    corpus: Corpus
    cases: list[Case]
    before: State
    after: State
    result: Result

    @property
    def output(self) -> str:
        return self.result.output

    def case(self, file: str) -> Case:
        return next(c for c in self.cases if c.file == file)

    def issues(self, file: str) -> list[dict[str, Any]]:
        return [i.as_dict() for i in self.after.returns[file].issues]

    def block(self, file: str) -> list[str]:
        """The lines the officer sees for one file: its status line and its issues."""
        lines = self.output.splitlines()
        start = next(i for i, line in enumerate(lines) if re.match(rf"^[A-Z]+ +{re.escape(file)}\b", line))
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
        return lines[start:end]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    corpus = Corpus(tmp_path_factory.mktemp("hostile") / "plan")
    corpus.baseline()
    before = state(corpus)
    cases = corpus.build()
    result = CliRunner().invoke(main, ["--plan", str(corpus.root), "collect"], env={"COLUMNS": "2000"})
    return Run(corpus, cases, before, state(corpus), result)


def typed(value: Any) -> Any:
    """A value as the ledger keeps it: numbers as float, dates as ISO text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- the one collect run -------------------------------------------------------------------


def test_collect_answers_every_file_and_exits_1(run: Run) -> None:
    assert run.result.exception is None or isinstance(run.result.exception, SystemExit), run.output
    assert run.result.exit_code == 1, run.output
    assert "Traceback" not in run.output
    for case in run.cases:
        assert run.block(case.file), case.file


def test_each_bad_return_gets_its_outcome_and_message(run: Run) -> None:
    """The outcome, the issue that explains it, and the cell it names, for every case."""
    wrong = []
    for case in run.cases:
        block = run.block(case.file)
        status = block[0].split()[0].lower()
        if status != case.outcome:
            wrong.append(f"{case.file}: {status}, expected {case.outcome}\n" + "\n".join(block))
            continue
        if case.outcome in ("conflict", "duplicate"):
            continue
        found = [i for i in run.issues(case.file) if i["code"] == case.code] if case.code else []
        if case.code and not found:
            wrong.append(f"{case.file}: no '{case.code}' issue\n" + "\n".join(block))
            continue
        if case.cell and case.cell not in {i["where"] for i in found}:
            wrong.append(f"{case.file}: '{case.code}' does not name {case.cell}\n" + "\n".join(block))
            continue
        for issue in found:  # the officer sees it: where, then the message, on the file's block
            shown = f"{issue['severity']}: {issue['where'] + ' ' if issue['where'] else ''}{issue['message']}"
            if shown not in [line.strip() for line in block]:
                wrong.append(f"{case.file}: '{shown}' not printed\n" + "\n".join(block))
        if case.outcome == "merged" and case.code == "" and run.issues(case.file):
            wrong.append(f"{case.file}: merged with unexpected issues\n" + "\n".join(block))
    assert not wrong, "\n\n".join(wrong)


def test_every_issue_has_a_catalogued_code_and_one_of_its_severities(run: Run) -> None:
    """The whole corpus, as the ledger logged it: each code is in the catalogue
    (xlplan/codes.py) and was reported with a severity its entry allows."""
    logged = [(case.file, i) for case in run.cases if case.file in run.after.returns for i in run.issues(case.file)]
    assert len({i["code"] for _, i in logged}) > 20
    wrong = [(f, i["code"], i["severity"]) for f, i in logged if i["severity"] not in Code(i["code"]).severities]
    assert wrong == []


def test_refused_files_are_recorded_quarantined_with_their_reason(run: Run) -> None:
    for case in run.cases:
        if case.outcome != "quarantined":
            continue
        record = run.after.returns[case.file]
        assert record.outcome == "quarantined", case.file
        assert record.errors >= 1, case.file
        assert (record.recipient or "") == case.who, case.file


def test_refused_files_change_nothing_in_the_ledger(run: Run) -> None:
    refused = {run.after.returns[c.file].sha256 for c in run.cases if c.outcome == "quarantined"}
    victim = {k: v for k, v in run.after.entries.items() if k[0] == VICTIM}
    assert victim == {k: v for k, v in run.before.entries.items() if k[0] == VICTIM}
    assert run.after.audit[: len(run.before.audit)] == run.before.audit
    new_audit = run.after.audit[len(run.before.audit) :]
    assert not [a for a in new_audit if a.return_sha in refused]
    assert {a.recipient for a in new_audit} <= {c.who for c in run.cases if c.outcome == "merged"}
    with Ledger(run.corpus.folder.ledger_file) as ledger:
        leaked = ledger.db.execute(
            f"SELECT count(*) FROM entries WHERE fields LIKE ? OR return_sha IN ({','.join('?' * len(refused))})",
            (f"%{LEAK}%", *refused),
        ).fetchone()[0]
    assert leaked == 0
    assert not {
        k for k in run.after.entries if k[0] not in {VICTIM, *(c.who for c in run.cases if c.outcome == "merged")}
    }


def test_refused_files_change_nothing_in_the_master_tracker(run: Run) -> None:
    mine = set(refs_of(VICTIM))

    def victim_rows(s: State) -> list[tuple[Any, ...]]:
        return [row for row in s.master["Current status"] if row and row[0] in mine]

    assert victim_rows(run.after) == victim_rows(run.before)
    assert len(victim_rows(run.after)) == 2
    for sheet, rows in run.after.master.items():
        for row in rows:
            assert not any(isinstance(v, str) and LEAK in v for v in row), (sheet, row)


def test_accepted_returns_are_merged_with_exactly_their_values(run: Run) -> None:
    for case in run.cases:
        if case.outcome != "merged":
            continue
        assert run.after.returns[case.file].outcome == "merged", case.file
        assert case.values is not None
        for ref, values in case.values.items():
            merged = run.after.entries[(case.who, ref)]
            expected = {k: typed(v) for k, v in values.items()}
            assert {k: merged.get(k) for k in expected} == expected, (case.file, ref)
            assert all(v is None for k, v in merged.items() if k not in expected), (case.file, ref, merged)


def test_good_return_beside_the_bad_ones_is_merged_and_shown(run: Run) -> None:
    good = next(c for c in run.cases if c.who == GOOD and c.outcome == "merged")
    assert run.after.returns[good.file].outcome == "merged"
    shown = {row[0]: row for row in run.after.master["Current status"] if row and row[0]}
    for ref, values in clean(GOOD).items():
        assert values["progress"] in shown[ref], shown[ref]


def test_two_returns_for_one_sponsor_merge_neither(run: Run) -> None:
    twice = [c for c in run.cases if c.outcome == "conflict"]
    assert len(twice) == 2
    for case in twice:
        assert f"2 returns for {case.who} in {CYCLE}" in run.block(case.file)[0]
        assert "--prefer" in run.block(case.file)[0]
        assert not any(k[0] == case.who for k in run.after.entries)


def test_same_file_twice_is_merged_once(run: Run) -> None:
    copy = next(c for c in run.cases if c.outcome == "duplicate")
    line = run.block(copy.file)[0]
    assert "identical to" in line and line.endswith(": ignored")


def test_formulas_are_judged_by_value_never_copied(run: Run) -> None:
    """A formula's stored value is what is checked and merged; the formula text goes nowhere."""
    case = next(c for c in run.cases if c.code == "formula" and c.outcome == "merged")
    formulas = [i for i in run.issues(case.file) if i["code"] == "formula"]
    assert {i["where"] for i in formulas} == {"Actions!J5", "Actions!L5"}
    assert all("nothing was run" in i["message"] for i in formulas)
    errors = run.case("formula errors.xlsx")
    dde = next(i for i in run.issues(errors.file) if i["code"] == "formula" and i["where"] == "Actions!J6")
    assert "external (DDE) link" in dde["message"]
    with Ledger(run.corpus.folder.ledger_file) as ledger:
        values = [v for (v,) in ledger.db.execute("SELECT fields FROM entries") if v]
    assert not [v for v in values if "HYPERLINK" in v or "cmd|" in v or "[1]" in v]


def test_feedback_copy_for_a_refused_return_has_no_formulas(run: Run) -> None:
    copies = sorted((run.corpus.root / "feedback").rglob("*.xlsx"))
    assert copies
    for path in copies:
        assert_no_formulas_or_links(path)


# --- bounded work and memory, in a fresh process -----------------------------------------
# Work is counted, not timed (the benchmark times; a test on a busy machine must not): the
# bytes zlib inflates while a file is read show a bomb refused before it is unpacked.

MEASURE = """
import json, re, sys, zlib
from pathlib import Path
from xlplan.plan import PlanFolder, load_plan
from xlplan.read import read_return

template = load_plan(PlanFolder(Path(sys.argv[1]))).template
inflated = [0]
real = zlib.decompressobj

class Counting:  # zipfile makes its inflater with zlib.decompressobj, looked up at each call
    def __init__(self, *args, **kwargs):
        self._inflater = real(*args, **kwargs)
    def decompress(self, data, max_length=0):
        out = self._inflater.decompress(data, max_length)
        inflated[0] += len(out)
        return out
    def flush(self, *args):
        out = self._inflater.flush(*args)
        inflated[0] += len(out)
        return out
    def __getattr__(self, name):
        return getattr(self._inflater, name)

zlib.decompressobj = Counting

def peak_mb():  # this process's high-water mark (ru_maxrss would include the parent's, inherited over fork)
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024

out = {"start": {"peak_mb": peak_mb()}}
for name in sys.argv[2:]:
    path = Path(name)
    inflated[0] = 0
    ret, report = read_return(path, lambda _name: template)
    out[path.name] = {
        "inflated_mb": inflated[0] / 2**20,
        "peak_mb": peak_mb(),
        "codes": [i.code for i in report.issues],
    }
print(json.dumps(out))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
def test_bombs_and_huge_sheets_cost_bounded_work_and_memory(run: Run) -> None:
    """Read in a fresh process, smallest expected cost first, so each peak is its own."""
    names = ["bomb.xlsx", "lying sizes.xlsx", "billion laughs.xlsx", "far cell.xlsx", "wide.xlsx", "million rows.xlsx"]
    files = [str(run.corpus.returns / n) for n in names]
    command = [sys.executable, "-c", MEASURE, str(run.corpus.root), *files]
    done = subprocess.run(command, capture_output=True, timeout=120, text=True)
    assert done.returncode == 0, done.stderr
    cost = json.loads(done.stdout)
    for name in ("bomb.xlsx", "lying sizes.xlsx", "billion laughs.xlsx", "far cell.xlsx"):
        assert cost[name]["inflated_mb"] < 1, (name, cost[name])  # refused before it is unpacked
        assert cost[name]["peak_mb"] < cost["start"]["peak_mb"] + 100, (name, cost)
    assert cost["bomb.xlsx"]["codes"] == ["file-bomb"]
    assert cost["far cell.xlsx"]["codes"] == ["too-large"]
    assert cost["wide.xlsx"]["peak_mb"] < 300, cost["wide.xlsx"]
    assert cost["million rows.xlsx"]["peak_mb"] < 400, cost


# --- the sniffer on its own ---------------------------------------------------------------


def test_ole_directory_tells_encrypted_from_legacy_and_other_office_files() -> None:
    encrypted = cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + b"x" * 200, "EncryptedPackage": b"\0" * 9000})
    assert ole_stream_names(encrypted) == {"Root Entry", "EncryptionInfo", "EncryptedPackage"}
    assert sniff(encrypted).kind == "encrypted"
    # A legacy workbook whose text mentions "EncryptedPackage" is still a legacy workbook.
    legacy = cfb({"Workbook": b"\x09\x08" + "EncryptedPackage".encode("utf-16-le") * 300})
    assert sniff(legacy).kind == "xls"
    assert sniff(cfb({"WordDocument": b"\0" * 5000})).kind == "not-a-workbook"
    damaged = bytearray(encrypted)
    damaged[0x4C:0x50] = b"\xff\xff\xff\x7f"  # the FAT is lost, the directory's bytes are still there
    assert ole_stream_names(bytes(damaged)) is None
    assert sniff(bytes(damaged)).kind == "encrypted"
    assert sniff(legacy[:512] + b"\xff" * 1024).kind == "corrupt"


def test_zip_with_a_million_entries_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the end-of-central-directory record is consulted: forge one that claims 1,000,000 entries.
    import struct

    body = b"PK\x03\x04" + b"\0" * 100
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0, len(body), 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, len(body), 1)
    zip64 = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 1_000_000, 1_000_000, 0, 0)

    def parse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", parse)
    found = sniff(body + zip64 + locator + eocd)
    assert found.kind == "bomb" and "1,000,000 parts" in found.problem


def test_macro_enabled_content_type_alone_counts_as_macros(run: Run) -> None:
    good = (run.corpus.returns / "a good return.xlsx").read_bytes()
    xlsm = rezip(
        good,
        {"[Content_Types].xml": lambda x: x.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")},
    )
    assert sniff(xlsm).macros


# --- output safety: nothing we write turns text into a formula or a link ------------------

INJECTIONS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "[click](http://evil.example) <script>alert(1)</script> http://evil.example",
]


def assert_no_formulas_or_links(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            body = z.read(name)
            if name.startswith("xl/charts/"):  # a chart's series are references to our own sheets, nothing else
                for ref in re.findall(rb"<c:f>([^<]*)</c:f>", body):
                    assert re.fullmatch(rb"'?[\w ]+'?!\$[A-Z]+\$\d+(:\$[A-Z]+\$\d+)?", ref), (path.name, name, ref)
            elif name.endswith(".xml"):
                assert not re.search(rb"<(\w+:)?f[ >/]", body), f"{path.name}:{name} has a formula"
                assert b"<hyperlink" not in body, f"{path.name}:{name} has a hyperlink"
                assert b"ddeLink" not in body and b"externalLink" not in body, f"{path.name}:{name}"
            if name.endswith(".rels"):
                assert b"relationships/hyperlink" not in body, f"{path.name}:{name}"
                assert b"externalLink" not in body and b'TargetMode="External"' not in body, f"{path.name}:{name}"
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        assert not ws._hyperlinks, f"{path.name}:{ws.title}"
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name}:{ws.title}!{cell.coordinate}"
                assert cell.hyperlink is None, f"{path.name}:{ws.title}!{cell.coordinate}"


def type_as_text(src: Path, dst: Path, values: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    """Fill a return as Excel stores typed text: "=..." in a text cell stays text (openpyxl would make a formula)."""
    columns = {"progress": "J", "rag": "K", "actual": "L", "comments": "N"}
    book = openpyxl.load_workbook(src)
    ws = book["Actions"]
    rows = {ws.cell(r, 1).value: r for r in range(5, ws.max_row + 1)}

    def put(cell: Any, value: Any) -> None:
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"

    for ref, fields in values.items():
        for key, value in fields.items():
            put(ws[f"{columns[key]}{rows[ref]}"], value)
    feedback = book["Feedback"]
    group = None
    for r in range(1, feedback.max_row + 1):
        first = feedback.cell(r, 1).value
        if first in groups:
            group, n = first, 0
        elif group and first and first.startswith(("Feedback", "Case")):
            put(feedback.cell(r, 2), groups[group][n])
            n += 1
    book.save(dst)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Result]]:
    """A plan whose texts, and returns whose notes, start with every injection prefix."""
    root = tmp_path_factory.mktemp("inject") / "plan"
    sponsors = [person("Ada Inject"), person("Bob Inject")]
    acts = []
    for n, text in enumerate(INJECTIONS, start=1):
        who = sponsors[n % 2].name
        acts.append(
            {
                "ref": f"X{n:02d}",
                "big_action": f"=Big Action {n % 2}" if n % 2 else "@Big Action 0",
                "action": text,
                "responsible": "-Officer",
                "sponsor": who,
                "due": date(2026, 12, 31),
                "measure": "+measure",
                "target": 10,
            }
        )
    folder = make_plan_folder(root, actions=acts, sponsors=sponsors, settings={**SETTINGS, "title": "=Plan\ttitle"})
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    for who, rag in (("Ada Inject", "Red"), ("Bob Inject", "Grenn")):  # Bob's is refused: a feedback copy
        mine = [a["ref"] for a in acts if a["sponsor"] == who]
        values = {
            ref: {"progress": INJECTIONS[i % len(INJECTIONS)], "rag": rag, "comments": INJECTIONS[-i - 1], "actual": 5}
            for i, ref in enumerate(mine)
        }
        groups = {a["big_action"]: [INJECTIONS[0], INJECTIONS[3]] for a in acts if a["sponsor"] == who}
        type_as_text(
            folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {who}.xlsx",
            folder.returns_dir / f"{who}.xlsx",
            values,
            groups,
        )
    runner = CliRunner()
    outputs = {
        "collect": runner.invoke(main, ["--plan", str(root), "collect", "--json"]),
        "html": runner.invoke(main, ["--plan", str(root), "report", "--format", "html"]),
        "markdown": runner.invoke(main, ["--plan", str(root), "report", "--format", "markdown"]),
        "email": runner.invoke(main, ["--plan", str(root), "email", "spg", "--out", str(root / "mail")]),
        "chase": runner.invoke(main, ["--plan", str(root), "email", "chase", "--out", str(root / "mail")]),
        "csv": runner.invoke(main, ["--plan", str(root), "export", "entries", "--format", "csv"]),
    }
    return folder, outputs


def test_injected_texts_never_become_formulas_in_any_workbook_we_write(injected: Any) -> None:
    folder, outputs = injected
    assert outputs["collect"].exit_code == 1, outputs["collect"].output
    written = [folder.master_file, *sorted((folder.root / "feedback").rglob("*.xlsx"))]
    written += sorted(folder.outgoing_dir(CYCLE).glob("*.xlsx"))
    assert len(written) >= 4
    for path in written:
        assert_no_formulas_or_links(path)
    master = openpyxl.load_workbook(folder.master_file)
    texts = {c.value for ws in master.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert INJECTIONS[0] in texts and "=cmd|' /C calc'!A0" in texts  # kept, as text


def test_injected_texts_are_plain_strings_in_json(injected: Any) -> None:
    _folder, outputs = injected
    data = json.loads(outputs["collect"].output)
    ada = next(r for r in data["returns"] if r["recipient"] == "Ada Inject")
    assert ada["outcome"] == "merged", ada
    bob = next(r for r in data["returns"] if r["recipient"] == "Bob Inject")
    assert any(i["value"] == "Grenn" for i in bob["issues"])


def test_injected_texts_are_escaped_in_html_and_email(injected: Any) -> None:
    folder, outputs = injected
    html = outputs["html"].output
    assert outputs["html"].exit_code == 0, html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "href=" not in html
    for eml in sorted((folder.root / "mail").glob("*.eml")):
        from email import policy
        from email.parser import BytesParser

        msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        for part in msg.walk():
            if part.get_content_type() == "text/html":
                body = part.get_content()
                assert "<script>" not in body and "href=" not in body, eml.name
    assert outputs["email"].exit_code == 0, outputs["email"].output


def test_injected_texts_never_become_links_in_markdown(injected: Any) -> None:
    _folder, outputs = injected
    md = outputs["markdown"].output
    assert outputs["markdown"].exit_code == 0, md
    assert "<script>" not in md
    assert not re.search(r"(?<!\\)\]\(", md), "a Markdown link from plan text"
    assert "http://evil.example" not in md, "a bare URL that Markdown renderers turn into a link"


def test_injected_texts_are_neutralised_in_csv(injected: Any) -> None:
    _folder, outputs = injected
    import csv
    import io

    text = outputs["csv"].output
    assert outputs["csv"].exit_code == 0, text
    for row in csv.reader(io.StringIO(text)):
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_read_return_never_raises_on_a_mangled_file(tmp_path: Path) -> None:
    """Truncated at every kilobyte, or with a byte flipped every 997: an issue, never an exception."""
    corpus_root = tmp_path / "plan"
    folder = make_plan_folder(corpus_root)
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    src = next(folder.outgoing_dir(CYCLE).glob("*.xlsx"))
    data = src.read_bytes()
    variants = [data[:n] for n in range(0, len(data), 1024)]
    for start in range(0, len(data), 997):
        flipped = bytearray(data)
        flipped[start] ^= 0xFF
        variants.append(bytes(flipped))
    for i, blob in enumerate(variants):
        ret, report = read_return(src, lambda _name: plan.template, data=blob)
        assert ret is not None or report.errors, i


# --- found by the corpus, to be fixed outside read.py/sniff.py (strict: they fail once fixed) ----


def judge(corpus: Corpus, data: bytes, tmp_path: Path, name: str = "return.xlsx") -> Any:
    """Read and validate one return as collect does, without touching the ledger."""
    from xlplan.validate import check_all, prepare

    path = tmp_path / name
    path.write_bytes(data)
    ret, report = read_return(path, lambda _name: corpus.template)
    assert ret is not None, report.issues
    prepared = prepare(ret, report, corpus.plan, CYCLE)
    assert prepared is not None, report.issues
    check_all([prepared], corpus.template, date(2025, 9, 11))
    return report


def test_date_before_1900_is_refused(run: Run, tmp_path: Path) -> None:
    values = clean(GOOD)
    first = refs_of(GOOD)[0]
    values[first] = {**values[first], "revised_due": "15/06/1899"}
    report = judge(run.corpus, run.corpus.filled(GOOD, values), tmp_path)
    assert [(i.code, i.cell) for i in report.errors] == [("bad-date", "M5")]


@pytest.mark.parametrize("text", ["y" * 40_000, "🎉" * 20_000], ids=["letters", "emoji"])
def test_feedback_text_over_the_cell_limit_is_refused(run: Run, tmp_path: Path, text: str) -> None:
    """20,000 emoji are 40,000 characters as Excel counts them (UTF-16 units)."""
    from corpus import inline, set_cell, sheet_part

    data = run.corpus.filled(GOOD)
    part = sheet_part(data, "Feedback")
    data = rezip(data, {part: lambda x: set_cell(x, "B5", inline(text), t=b"inlineStr")})
    report = judge(run.corpus, data, tmp_path)
    assert [(i.code, i.where) for i in report.errors] == [("too-long", "Feedback!B5")]
    assert "is 40,000 characters; the limit is 32,767." in report.errors[0].message


KILL = """
import sys
from datetime import date
from pathlib import Path
from xlplan.collect import collect
from xlplan.plan import PlanFolder, load_plan
collect(load_plan(PlanFolder(Path(sys.argv[1]))), today=date(2025, 9, 20))
"""


@pytest.mark.parametrize("where", ["archive", "master"])
def test_killed_while_renaming_leaves_no_partial_file_and_a_rerun_finishes(tmp_path: Path, where: str) -> None:
    """tests/test_collect.py kills collect at each checkpoint; this adds the archive's own rename
    (its name is the file's hash) and checks that no temporary file outlives the re-run."""
    import hashlib
    import signal

    from xlplan.collect import collect

    corpus = Corpus(tmp_path / "plan")
    corpus.baseline()
    master = corpus.folder.master_file
    old_master = master.read_bytes()
    new = corpus.returns / "good.xlsx"
    new.write_bytes(corpus.filled(GOOD))
    sha = hashlib.sha256(new.read_bytes()).hexdigest()
    point = f"before-rename:{sha}.xlsx" if where == "archive" else f"before-rename:{master.name}"
    done = subprocess.run(
        [sys.executable, "-c", KILL, str(corpus.root)],
        env={**os.environ, "XLPLAN_CRASH_AT": point},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    archived = [p for p in corpus.folder.archive_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for path in archived:  # every archived file is whole: its name is its content's hash
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem
    assert master.read_bytes() == old_master
    with Ledger(corpus.folder.ledger_file) as ledger:
        recorded = {r.file for r in ledger.returns()}
    assert ("good.xlsx" in recorded) == (where == "master")  # the ledger is written after the archive
    again = collect(corpus.plan, today=TODAY)
    assert {o.path.name: o.status for o in again.outcomes}["good.xlsx"] == (
        "unchanged" if where == "master" else "merged"
    )
    assert again.master == master and master.read_bytes() != old_master
    leftovers = [p for p in corpus.root.rglob(".*") if p.is_file()]
    assert not leftovers, leftovers
