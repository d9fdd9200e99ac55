"""No shared code speaks one kind of return's or one body's language.

The rule the test enforces, over every module of the xlplan package (templates/ and
the samples' data are where those words belong, and are not scanned):

- A **string literal** (any text the program may show or write) never contains
  "Big Action", "sponsor", "RAG", "SPG" or "implementation plan" (any case), except
  where the literal names a stable public interface that predates the words and cannot
  change (CHANGELOG: interfaces change only additively): a command-line option or
  command (``--spg-date``, ``--sponsor``, ``email spg``, and anything in backticks, which
  is a command to type), a plain identifier (a dict key or ledger field such as
  ``sponsor`` or ``spg_date``), an SQL statement (ledger column names), and the
  plan.xlsx headings and built-in names in ``STABLE`` below.
- **Docstrings and comments** are never shown to anyone using xlplan; they may mention
  these words, as examples of what a template or a plan says.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import xlplan
from xlplan.cli import main
from xlplan.demo import run_demo
from xlplan.errors import TemplateError
from xlplan.mail import spg_pack
from xlplan.plan import Plan, PlanFolder, load_plan
from xlplan.recipient_mail import chase_drafts
from xlplan.template_load import load_template, parse_template
from xlplan.words import localise, words_for

WORDS = re.compile(r"big action|sponsor|\brag\b|\bspg\b|implementation[ -]plan", re.IGNORECASE)
# Names an officer's existing plan.xlsx or ledger already holds: headings on its Settings and
# Decisions sheets, the built-in template a plan without a 'Template' setting uses, and the
# kinds of plan change stored in every ledger's log since version 1.
STABLE = (
    "SPG email",
    "SPG date",
    "SPG decision",
    "email spg",  # a command (the lock names the command that holds it)
    "implementation-plan",
    "sponsor replaced",
    "sponsor removed",
    "sponsor added",
    "sponsor changed",
)
INTERFACE = re.compile(r"`[^`]*`|--[a-z][a-z-]*|\b[a-z]+(?:_[a-z]+)+\b")
SQL = re.compile(r"^\s*(CREATE|SELECT|INSERT|UPDATE|DELETE|ALTER|WITH)\b")
PACKAGE = Path(xlplan.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def offending(source: str) -> list[tuple[int, str]]:
    """The string literals of `source` (docstrings aside) that name the words, with their lines."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docs:
            continue
        text = node.value
        if SQL.match(text) or re.fullmatch(r"[a-z_]+", text):
            continue
        for name in STABLE:
            text = text.replace(name, "")
        text = INTERFACE.sub("", text)
        if WORDS.search(text):
            out.append((node.lineno, node.value))
    return out


def test_the_rule_catches_what_it_should() -> None:
    """The scanner itself: text is caught, the stable interfaces and docstrings are not."""
    source = '''
"""A module about the SPG and its sponsors."""
def f():
    """Docstring naming a Big Action."""
    a = "the SPG meets on"
    b = f"Sponsor {x}"
    c = "your implementation plan return"
    d = "a RAG status"
    e = "Give --spg-date or run `xlplan email spg`."
    g = {"sponsor": 1, "spg_date": 2}
    h = "CREATE TABLE t (sponsor TEXT)"
    i = "fill in 'SPG email' on the Settings sheet"
    j = "Fragile"  # "rag" only as a whole word
'''
    assert sorted(line for line, _ in offending(source)) == [5, 6, 7, 8]


def test_no_shared_code_names_one_kind_of_return_or_one_body() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if "samples" in rel.parts or "templates" in rel.parts:
            continue
        found += [f"{rel}:{line}: {text[:90]!r}" for line, text in offending(path.read_text(encoding="utf-8"))]
    assert found == [], "Words that belong in a template or the plan's Settings:\n" + "\n".join(found)


# --- what each kind of return's people read -------------------------------------------------

# Words of the implementation plan (its template's and the Inverclyde sample's), never in
# another kind of return's output.
IMPLEMENTATION_WORDS = re.compile(
    r"big action|sponsor|\brag\b|\bspg\b|implementation plan|strategic planning group|red and amber|\d+ actions?\b",
    re.IGNORECASE,
)


def _bodies(msg: EmailMessage) -> str:
    parts = [str(msg["Subject"])]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@pytest.fixture(scope="module")
def self_evaluation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plan]:
    root = tmp_path_factory.mktemp("self-evaluation-words") / "demo"
    said: list[str] = []
    run_demo(root, echo=said.append, template="self-evaluation")
    assert any("workbooks for respondents" in line for line in said)
    yield load_plan(PlanFolder(root))


def _cli(plan: Plan, *args: str) -> str:
    result = CliRunner().invoke(main, ["--plan", str(plan.folder.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_self_evaluation_speaks_its_own_words(self_evaluation: Plan) -> None:
    """The bug: the chaser asked for "your implementation plan return ... 10 actions ... a RAG
    status", and the meeting's email showed a Big Action table with "No update 10 of 10"."""
    plan = self_evaluation
    today = date(2019, 4, 19)
    drafts = chase_drafts(plan, "2019-05", today)
    assert [d.recipient for d in drafts] == ["Iain McLeod"]  # the one respondent who sent nothing
    chaser = _bodies(drafts[0].message)
    assert "your self-evaluation for 2019-05" in chaser
    assert "Your return covers 10 proposals" in chaser
    pack = _bodies(spg_pack(plan, "2019-05", today).message)
    assert "for the IJB development session on 10 May 2019" in pack
    assert "7 of 8 respondents returned; no return from Iain McLeod." in pack
    assert "No update" not in pack
    outputs = {
        "chaser": chaser,
        "meeting's email": pack,
        **{f"report {fmt}": _cli(plan, "report", "--format", fmt) for fmt in ("text", "markdown", "html", "json")},
        "status": _cli(plan, "status"),
        "collect": _cli(plan, "collect", "--dry-run"),
        "cycles": _cli(plan, "cycles"),
    }
    found = {name: sorted({m.group(0) for m in IMPLEMENTATION_WORDS.finditer(text)}) for name, text in outputs.items()}
    assert {name: words for name, words in found.items() if words} == {}


def test_demo_template_runs_the_self_evaluation_sample(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--template", "self-evaluation", str(tmp_path / "se")])
    assert result.exit_code == 0, result.output
    assert "Copied the sample plan (Falkirk IJB self-evaluation 2019)" in result.output
    assert "2019-05: collected 7 return(s), 0 quarantined" in result.output
    assert (tmp_path / "se" / "master-tracker.xlsx").is_file()
    unknown = CliRunner().invoke(main, ["demo", "--template", "nothing-like-it", str(tmp_path / "no")])
    assert unknown.exit_code == 2
    assert "No sample for the template 'nothing-like-it'" in unknown.output and "self-evaluation" in unknown.output


def test_report_docx_is_refused_for_ratings_in_their_words(self_evaluation: Plan) -> None:
    result = CliRunner().invoke(main, ["--plan", str(self_evaluation.folder.root), "report", "--format", "docx"])
    assert result.exit_code == 2
    assert "a rating per proposal" in result.output and "Traceback" not in result.output


def test_the_implementation_plan_speaks_the_sample_bodys_words(built_demo: Path) -> None:
    """The Inverclyde sample's Settings carry its own words (the tool's defaults are plain)."""
    plan = load_plan(PlanFolder(built_demo))
    assert plan.words.meeting == "Strategic Planning Group" and plan.words.meeting_short == "SPG"
    today = date(2023, 10, 5) - timedelta(days=1)
    pack = _bodies(spg_pack(plan, "2023-Q3", today).message)
    assert "for the Strategic Planning Group on 5 October 2023" in pack
    assert "Big Action" in pack  # the template's word for a group heads the status table
    assert "Big Action" in _cli(plan, "report")
    feedback = openpyxl.load_workbook(next((built_demo / "outgoing" / "2023-Q3").glob("*.xlsx")))["Feedback"]
    texts = [str(c.value) for row in feedback.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.endswith("any case studies (SOP 5.6).") for t in texts)  # where the template asks for it


def test_template_texts_take_the_plans_words_or_none() -> None:
    template = load_template("implementation-plan")
    body = localise(template, {"meeting": "Community Justice Partnership", "procedure": "(CJP guidance 4)"})
    plain = localise(template, {})
    assert body.groups_sheet is not None and plain.groups_sheet is not None
    assert body.groups_sheet.help.endswith("any case studies (CJP guidance 4).")
    assert plain.groups_sheet.help.endswith("any case studies.")
    comments = body.rows_sheet.column("comments")
    assert comments is not None and comments.help.endswith("anything the Community Justice Partnership should know.")
    assert words_for(template, {}).for_meeting == "for the meeting"
    assert words_for(template, {}).meeting_event == "meeting"  # never "meeting meeting"
    assert words_for(template, {"meeting": "Strategic Planning Group", "meeting_short": "SPG"}).meeting_event == (
        "SPG meeting"
    )
    assert words_for(template, {}).return_name == "implementation plan return"
    assert words_for(template, {"return_name": "Delivery plan update"}).return_name == "Delivery plan update"


def test_words_default_from_the_template_itself() -> None:
    """A template without a words: section (every one written before it) still has words."""
    text = (resources.files("xlplan.templates") / "implementation-plan.yaml").read_text(encoding="utf-8")
    start = text.index("\nwords:")
    end = text.index("\n\n", start + 1)
    old = parse_template(text[:start] + text[end:], "old.yaml")
    w = old.words
    assert (w.item, w.items, w.recipient, w.group, w.status, w.attention) == (
        "action", "actions", "sponsor", "Big Action", "RAG status", "Red and Amber"
    )  # fmt: skip
    assert w.return_name == "return"


def test_a_misspelt_word_is_refused_at_load() -> None:
    text = (resources.files("xlplan.templates") / "self-evaluation.yaml").read_text(encoding="utf-8")
    bad = text.replace("  recipient: respondent", "  recipent: respondent")
    with pytest.raises(TemplateError, match=r"unknown word 'recipent' \(did you mean 'recipient'\?\)") as caught:
        parse_template(bad, "bad.yaml")
    assert caught.value.line == bad.splitlines().index("  recipent: respondent") + 1
    assert caught.value.word == "recipent"
