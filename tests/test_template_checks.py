"""A template's mistakes are refused when it loads, naming the file, the line and the word;
what the code needs to know of its columns is declared (`roles:`), with documented defaults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_plan_folder
from helpers import CYCLE, HELEN, SPG, Env, issues, only

from xlplan.cli import main
from xlplan.errors import TemplateError
from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.template_load import builtin_names, load_template, parse_template


def bundled(name: str) -> str:
    return (resources.files("xlplan.templates") / f"{name}.yaml").read_text("utf-8")


IP, SE = "implementation-plan", "self-evaluation"

# (template, text in it, what it is changed to, the word the error names, words in the message)
MISTAKES = [
    (IP, "at_or_above: Green", "at_or_abve: Green", "at_or_abve", "did you mean 'at_or_above'?"),
    (IP, "attention: [Red, Amber]", "attention: [Redd, Amber]", "Redd", "did you mean 'Red'?"),
    (IP, "complete: Blue", "complete: Bleu", "Bleu", "did you mean 'Blue'?"),
    (IP, "    below: Red", "    below: Redd", "Redd", "below: 'Redd' is not one of"),
    (IP, "applies_to: [Red, Amber, Green]", "applies_to: [Red, Ambre, Green]", "Ambre", "did you mean 'Amber'?"),
    (IP, "summary:\n  status: rag\n", "summary:\n  status: ragg\n", "ragg", "summary.status 'ragg' is not a column"),
    (
        IP,
        "    column: progress\n    when: {rag: [Red",
        "    column: progres\n    when: {rag: [Red",
        "progres",
        "not a column",
    ),
    (IP, "when: {rag: [Green]}", "when: {rag: [Gren]}", "Gren", "did you mean 'Green'?"),
    (IP, "The due date {due} has", "The due date {dew} has", "dew", "the message names {dew}"),
    (IP, "    date: due\n", "    date: deu\n", "deu", "date 'deu' is not a plan column"),
    (
        IP,
        "    revised: revised_due\n    when: {rag: [Grey]}",
        "    revised: revisd\n    when: {rag: [Grey]}",
        "revisd",
        "not a column",
    ),
    (IP, "  - kind: past_date", "  - kind: pastdate", "pastdate", "did you mean 'past_date'?"),
    (IP, "    tolerance: 0.05", "    tolerance: 5", "tolerance", "must be a share between 0 and 1"),
    (IP, "    severity: warning\n    actual: actual", "    severity: warn\n    actual: actual", "warn", "severity"),
    (IP, "  label: action ", "  label: actoin ", "actoin", "did you mean 'action'?"),
    (IP, "  progress: progress ", "  progress: comments_x ", "comments_x", "not an editable text column"),
    (IP, "  due: due ", "  due: target ", "target", "not a plan date column"),
    (IP, "  revised: revised_due ", "  revised: due ", "due", "not an editable date column"),
    (IP, "  contradictions: measure", "  contradictions: measures", "measures", "did you mean 'measure'?"),
    (IP, "  label: action ", "  lable: action ", "lable", "did you mean 'label'?"),
    (IP, "  attention: [Red", "  atention: [Red", "atention", "did you mean 'attention'?"),
    (
        IP,
        "header: RAG status\n        type: choice\n        choices: rag",
        "header: RAG status\n        type: choice\n        choices: ragg",
        "ragg",
        "no choice list",
    ),
    (
        IP,
        "header: Actual\n        type: number",
        "header: Actual\n        type: numbr",
        "numbr",
        "did you mean 'number'?",
    ),
    (
        IP,
        "        max_length: 32767\n        help: What has",
        "        max_lenght: 32767\n        help: What has",
        "max_lenght",
        "did you mean 'max_length'?",
    ),
    (SE, "  column: rating ", "  column: evidence ", "evidence", "must be an editable choice column"),
    (
        SE,
        "  collate: [evidence, improvement]",
        "  collate: [evidence, improvment]",
        "improvment",
        "not an editable column",
    ),
    (SE, "  label: proposal ", "  label: proposl ", "proposl", "did you mean 'proposal'?"),
]


def _line(text: str, changed: str, word: str) -> int:
    """The line a mistake is on: where the word at fault is, in the text changed."""
    at = text.index(changed) + changed.index(word)
    return text.count("\n", 0, at) + 1


@pytest.mark.parametrize(
    ("name", "was", "now", "word", "said"), MISTAKES, ids=[m[3] + "-" + m[4][:20] for m in MISTAKES]
)
def test_a_template_mistake_is_refused_at_load_with_its_file_line_and_word(
    name: str, was: str, now: str, word: str, said: str
) -> None:
    original = bundled(name)
    assert original.count(was) >= 1, f"the bundled {name} template no longer has {was!r}: update this table"
    text = original.replace(was, now, 1)
    with pytest.raises(TemplateError) as err:
        parse_template(text, "plan/templates/x.yaml")
    line = _line(text, now, word)
    assert (err.value.file, err.value.line, err.value.word) == ("plan/templates/x.yaml", line, word), str(err.value)
    assert str(err.value).startswith(f"plan/templates/x.yaml: line {line}: ")
    assert said in str(err.value)


def test_the_bundled_templates_load_with_their_declared_roles() -> None:
    assert set(builtin_names()) >= {IP, SE}
    ip = load_template(IP)
    assert (ip.label_key, ip.progress_key, ip.due_key, ip.revised_key) == ("action", "progress", "due", "revised_due")
    assert ip.contradictions_rule is not None and ip.contradictions_rule.name == "measure"
    assert (ip.status_key, ip.attention, ip.complete) == ("rag", ("Red", "Amber"), "Blue")
    se = load_template(SE)
    assert (se.label_key, se.progress_key, se.due_key, se.revised_key) == ("proposal", "evidence", None, None)
    assert se.contradictions_rule is None and se.status_key is None and se.attention == ()
    for name in builtin_names():
        load_template(name)  # every bundled one loads


def _without_roles(text: str) -> str:
    """The template as written before `roles:` existed: no roles block, the label as summary.title."""
    start = text.index("\nroles:\n")
    end = text.index("\n\n", start + 1)
    return text[:start] + text[end:]


@pytest.mark.parametrize("name", [IP, SE])
def test_a_template_without_roles_gets_the_documented_defaults(name: str) -> None:
    declared = load_template(name)
    old = parse_template(_without_roles(bundled(name)), "old.yaml")
    assert "roles:" not in _without_roles(bundled(name))
    # The defaults: label the widest text plan column (not key, group or assignee), progress
    # the first editable text column, due and revised from the overdue rule (else the first
    # date columns), contradictions the first tolerance rule.
    assert old.roles == declared.roles
    assert old.summary["title"] == declared.label_key


def test_a_summary_title_still_names_the_label_and_may_not_contradict_roles() -> None:
    text = bundled(IP).replace("summary:\n  status: rag", "summary:\n  title: measure\n  status: rag")
    with pytest.raises(TemplateError, match=r"roles\.label 'action' and summary\.title 'measure' disagree"):
        parse_template(text, "x.yaml")
    older = _without_roles(text)
    assert parse_template(older, "x.yaml").label_key == "measure"


def test_a_role_declared_null_is_absent() -> None:
    text = bundled(IP).replace("  contradictions: measure", "  contradictions: null")
    assert parse_template(text, "x.yaml").contradictions_rule is None


def test_a_rule_that_fails_inside_pandera_is_reported_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlplan import rules

    folder = make_plan_folder(tmp_path / "plan")
    env = Env(folder, load_plan(folder))
    generate(env.plan, CYCLE, spg_date=SPG, deadline=None)

    def broken(self: rules.Unchanged, df: object, cols: object) -> object:
        raise KeyError("last_progress")

    monkeypatch.setattr(rules.Unchanged, "failing", broken)
    env.fill(HELEN, {"BA1.01": {"rag": "Green", "progress": "Going well"}})
    out = only(env.collect(jobs=1))
    assert out.status == "merged"  # the template's fault is not the sponsor's
    (said,) = issues(out, "rule-broken")
    assert said.severity == "warning" and said.field == "progress"
    assert "unchanged rule on progress could not be run" in said.message
    assert "KeyError" in said.message and "not checked by it" in said.message


def test_a_bad_template_in_the_plan_folder_is_an_error_without_a_traceback(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    local = folder.root / "templates" / f"{IP}.yaml"
    local.parent.mkdir()
    text = bundled(IP).replace("complete: Blue", "complete: Bleu")
    local.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--plan", str(folder.root), "status"])
    assert result.exit_code == 1, result.output
    line = _line(text, "complete: Bleu", "Bleu")
    assert result.stderr.startswith(f"Error: {local}: line {line}: summary.complete: 'Bleu' is not a status")
    assert "did you mean 'Blue'?" in result.stderr
    assert "Traceback" not in result.output + result.stderr
