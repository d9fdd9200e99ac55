"""The cycle's emails both ways: `email issue`, chasers that know the date, corrections with a
fix-by date, and returns collected straight from saved emails (.eml, and real Outlook .msg
files from Apache POI's test data: see tests/data/msg/README.md).

Drafts are read back with the `email` package; sending goes to a real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import email.policy
import io
import json
import shutil
import zipfile
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import make_plan_folder
from test_mail import Inbox, attachments, bodies, read_eml, smtp_args, smtp_server  # noqa: F401 (a fixture)

from xlplan.cli import main
from xlplan.codes import Code
from xlplan.collect import collect
from xlplan.errors import UsageError
from xlplan.generate import generate
from xlplan.plan import Plan, load_plan
from xlplan.recipient_mail import chase_drafts
from xlplan.samples.sponsor import fill_return

CYCLE = "2025-Q3"
SPG = date(2025, 10, 2)
DEADLINE = date(2025, 9, 11)
HELEN, SHARON, ALLEN = "Helen Watson", "Sharon McAlees", "Allen Stevenson"
HELEN_AT = "helen.watson@example.org"
MSG_DATA = Path(__file__).parent / "data" / "msg"
GOOD = {
    "BA1.01": {"rag": "Green", "progress": "Two link workers in post"},
    "BA1.02": {"rag": "Blue", "progress": "Done"},
    "BA1.03": {"rag": "Green", "progress": "On track"},
}


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    folder = make_plan_folder(tmp_path / "plan")
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=DEADLINE)
    return plan


def sent(plan: Plan, who: str) -> Path:
    return plan.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {who}.xlsx"


def run(plan: Plan, *args: str) -> Any:
    return CliRunner().invoke(main, ["--plan", str(plan.folder.root), *args], env={"XLPLAN_SMTP_PASSWORD": None})


def saved_email(path: Path, sender: str, subject: str, files: list[tuple[str, bytes]], when: datetime) -> Path:
    """A reply as a mail program saves it (.eml): the sponsor's workbooks attached."""
    msg = EmailMessage(policy=email.policy.default)
    msg["From"], msg["To"], msg["Subject"] = sender, "planning@example.org", subject
    msg["Date"] = format_datetime(when)
    msg.set_content("Please find my return attached.")
    for name, data in files:
        kind = ("application", "zip") if name.endswith(".zip") else ("application", "octet-stream")
        msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    path.write_bytes(msg.as_bytes())
    return path


def filled(plan: Plan, tmp_path: Path, who: str = HELEN, values: dict[str, Any] | None = None) -> bytes:
    out = tmp_path / f"{who}-filled.xlsx"
    fill_return(sent(plan, who), out, plan.template, GOOD if values is None else values)
    return out.read_bytes()


# --- email issue ---------------------------------------------------------------------------


def test_issue_drafts_one_per_sponsor_with_their_workbook(plan: Plan) -> None:
    result = run(plan, "email", "issue")
    assert result.exit_code == 0, result.output
    out = plan.folder.outgoing_dir(CYCLE)
    drafts = sorted(p.name for p in out.glob("*.eml"))
    assert drafts == [f"{CYCLE} issue - {who}.eml" for who in sorted([HELEN, SHARON, ALLEN])]
    msg = read_eml(out / f"{CYCLE} issue - {HELEN}.eml")
    assert [a.addr_spec for a in msg["To"].addresses] == [HELEN_AT]
    assert [a.addr_spec for a in msg["From"].addresses] == ["planning@example.org"]
    assert msg["X-Unsent"] == "1"
    assert "Thursday 11 September 2025" in msg["Subject"]
    plain, html = bodies(msg)
    assert plain.startswith("Dear Helen,\n")
    assert "Thursday 11 September 2025" in plain and "Pat Planner <planning@example.org>" in plain
    assert "it lists the 3 actions you are the sponsor for." in plain
    assert "for 2025-Q3, for the Strategic Planning Group on 2 October 2025: it lists" in " ".join(plain.split())
    for header in ("Progress", "RAG status"):  # the template's own columns to fill in
        assert header in plain and header in html
    (attached,) = attachments(msg)
    assert attached.get_filename() == sent(plan, HELEN).name
    assert attached.get_content() == sent(plan, HELEN).read_bytes()


def test_issue_for_one_sponsor_named_in_any_case(plan: Plan) -> None:
    result = run(plan, "email", "issue", "--sponsor", "helen WATSON")
    assert result.exit_code == 0, result.output
    assert [p.name for p in plan.folder.outgoing_dir(CYCLE).glob("*.eml")] == [f"{CYCLE} issue - {HELEN}.eml"]
    wrong = run(plan, "email", "issue", "--sponsor", "Nobody")
    assert wrong.exit_code == 2
    assert "No sponsor named 'Nobody'" in wrong.stderr and HELEN in wrong.stderr


def test_issue_sent_over_smtp_each_on_its_own(plan: Plan, smtp_server: Any) -> None:  # noqa: F811
    inbox = Inbox()
    port = smtp_server(inbox)
    result = run(plan, "email", "issue", *smtp_args(port))
    assert result.exit_code == 0, result.output
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == sorted(
        ["helen.watson@example.org", "sharon.mcalees@example.org", "allen.stevenson@example.org"]
    )
    assert len([line for line in result.stdout.splitlines() if line.startswith("Sent '")]) == 3
    for envelope, msg in zip(inbox.envelopes, inbox.messages(), strict=True):
        (attached,) = attachments(msg)
        who = next(w for w in (HELEN, SHARON, ALLEN) if w.split()[0].lower() in envelope.rcpt_tos[0])
        assert attached.get_content() == sent(plan, who).read_bytes()
    assert not list(plan.folder.outgoing_dir(CYCLE).glob("*.eml"))  # sent, not drafted


# --- chasers and corrections that know the date -------------------------------------------


def subjects(plan: Plan, today: date, **kw: Any) -> dict[str, tuple[str, str]]:
    return {d.recipient: (d.kind, str(d.message["Subject"])) for d in chase_drafts(plan, CYCLE, today, **kw)}


def test_a_reminder_before_the_deadline_and_overdue_after_it(plan: Plan) -> None:
    before = subjects(plan, date(2025, 9, 8))
    assert before[HELEN] == (
        "reminder",
        "Test Strategic Plan: reminder, your 2025-Q3 return is due on Thursday 11 September 2025",
    )
    after = subjects(plan, date(2025, 9, 15))
    # Five working days after Monday 15 September: Monday 22 September, before the SPG meeting.
    assert after[HELEN] == (
        "overdue",
        "Test Strategic Plan: your 2025-Q3 return is overdue, please send it by Monday 22 September 2025",
    )
    late = subjects(plan, date(2025, 9, 30))  # five working days on would pass the meeting: the meeting's day
    assert late[HELEN][1].endswith("please send it by Thursday 2 October 2025")
    given = subjects(plan, date(2025, 9, 15), send_by=date(2025, 9, 19))
    assert given[HELEN][1].endswith("please send it by Friday 19 September 2025")


def test_a_correction_has_a_fix_by_date_shown_in_its_annotated_copy(plan: Plan, tmp_path: Path) -> None:
    wrong = dict(GOOD, **{"BA1.01": {"rag": "Grenn", "progress": "x"}})
    (plan.folder.returns_dir / "helen.xlsx").write_bytes(filled(plan, tmp_path, values=wrong))
    result = collect(plan, today=date(2025, 9, 12), fix_by=date(2025, 9, 24))
    (copy,) = result.feedback
    book = openpyxl.load_workbook(copy, read_only=True)
    rows = {r[0]: r[1] for r in book["Instructions"].iter_rows(values_only=True) if r and r[0]}
    book.close()
    assert rows["Please return by"] == "Wednesday 24 September 2025"
    drafts = {d.recipient: d for d in chase_drafts(plan, CYCLE, date(2025, 9, 15))}
    fix = drafts[HELEN]
    assert fix.kind == "correction"
    assert str(fix.message["Subject"]).endswith("needs corrections by Wednesday 24 September 2025")
    body = fix.message.get_body(("plain",))
    assert body is not None and "'Grenn' is not a RAG status" in body.get_content()


def test_a_fix_by_after_the_spg_meeting_is_refused(plan: Plan) -> None:
    with pytest.raises(UsageError, match="after the meeting on Thursday 2 October 2025"):
        collect(plan, today=date(2025, 9, 12), fix_by=date(2025, 10, 3))
    result = run(plan, "collect", "--fix-by", "2020-01-01")  # a date passed
    assert result.exit_code == 2
    assert result.stderr == "Error: The fix-by date Wednesday 1 January 2020 has passed: give a date from today on.\n"


def test_chase_drafts_again_replace_the_earlier_and_drop_those_no_longer_needed(plan: Plan, tmp_path: Path) -> None:
    assert run(plan, "email", "chase").exit_code == 0
    out = plan.folder.outgoing_dir(CYCLE)
    assert {p.name for p in out.glob("*chase*.eml")} == {f"{CYCLE} chase - {w}.eml" for w in (HELEN, SHARON, ALLEN)}
    (plan.folder.returns_dir / "helen.xlsx").write_bytes(filled(plan, tmp_path))
    assert collect(plan, today=date(2025, 9, 10)).ok
    again = run(plan, "email", "chase")
    assert again.exit_code == 0, again.output
    assert f"Removed an earlier draft no longer needed: {out / f'{CYCLE} chase - {HELEN}.eml'}" in again.stdout
    assert {p.name for p in out.glob("*chase*.eml")} == {f"{CYCLE} chase - {w}.eml" for w in (SHARON, ALLEN)}


# --- returns straight from saved emails ---------------------------------------------------


def test_a_return_in_a_saved_eml_is_collected_merged_and_archived(plan: Plan, tmp_path: Path) -> None:
    workbook = filled(plan, tmp_path)
    mail = saved_email(
        plan.folder.returns_dir / "RE my return.eml", f"Helen Watson <{HELEN_AT}>", "RE: your return",
        [("Q3 return Helen.xlsx", workbook), ("logo.png", b"\x89PNG")], datetime(2025, 9, 10, 9, tzinfo=UTC),
    )  # fmt: skip
    result = collect(plan, today=date(2025, 9, 10))
    assert result.ok, [o.as_dict() for o in result.outcomes]
    (out,) = result.outcomes
    assert out.status == "merged" and out.recipient == HELEN
    assert out.path.name == "RE my return.eml » Q3 return Helen.xlsx"
    assert not [i for i in out.report.issues if i.code == Code.UNEXPECTED_SENDER]  # from Helen's own address
    archive = plan.folder.archive_dir
    kept = {p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    assert mail.read_bytes() in kept and workbook in kept  # the email as saved, and its workbook
    again = collect(plan, today=date(2025, 9, 10))  # idempotent
    assert [o.status for o in again.outcomes] == ["unchanged"]
    shutil.copy(tmp_path / f"{HELEN}-filled.xlsx", plan.folder.returns_dir / "helen.xlsx")
    twice = collect(plan, today=date(2025, 9, 10))  # the same workbook saved by hand too: the same return
    assert sorted(o.status for o in twice.outcomes) == ["duplicate", "unchanged"]
    checked = json.loads(run(plan, "check", "--json").stdout)  # the email archived under its own hash, and known
    (archived,) = [f for f in checked["findings"] if f["topic"] == "archive"]
    assert archived["level"] == "ok", archived


def test_a_zipped_attachment_and_an_unexpected_sender(plan: Plan, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("returns/sharon.xlsx", filled(plan, tmp_path, SHARON, {}))
    saved_email(
        plan.folder.returns_dir / "fwd.eml", "Some PA <pa.office@example.net>", "Fwd: return",
        [("returns.zip", buffer.getvalue())], datetime(2025, 9, 9, 9, tzinfo=UTC),
    )  # fmt: skip
    result = collect(plan, today=date(2025, 9, 10))
    (out,) = result.outcomes
    assert out.path.name == "fwd.eml » returns.zip » sharon.xlsx"
    assert out.recipient == SHARON  # identity from the workbook's metadata
    warning = next(i for i in out.report.issues if i.code == Code.UNEXPECTED_SENDER)
    assert warning.severity == "warning" and "pa.office@example.net" in warning.message


def test_newest_by_the_emails_date(plan: Plan, tmp_path: Path) -> None:
    first = filled(plan, tmp_path)
    second = filled(plan, tmp_path, values=dict(GOOD, **{"BA1.02": {"rag": "Green", "progress": "Nearly"}}))
    # Saved in the other order: the file times say nothing, the emails' dates do.
    saved_email(
        plan.folder.returns_dir / "b.eml",
        HELEN_AT,
        "v2",
        [("r.xlsx", second)],
        datetime(2025, 9, 9, 12, tzinfo=UTC),
    )
    saved_email(
        plan.folder.returns_dir / "a.eml",
        HELEN_AT,
        "v1",
        [("r.xlsx", first)],
        datetime(2025, 9, 9, 8, tzinfo=UTC),
    )
    result = collect(plan, today=date(2025, 9, 10), prefer="newest")
    chosen = next(o for o in result.outcomes if o.status == "merged")
    assert chosen.path.name == "b.eml » r.xlsx"


def test_real_outlook_msg_files_with_no_workbook_are_listed_with_sender_and_subject(plan: Plan) -> None:
    for name in ("example_received_regular.msg", "attachment_test_msg.msg"):
        shutil.copy(MSG_DATA / name, plan.folder.returns_dir / name)
    result = collect(plan, today=date(2025, 9, 10))
    assert result.outcomes == []
    skipped = dict(result.skipped)
    assert skipped["example_received_regular.msg"] == (
        "an email from mike.farman@alfresco.com, 'This is a test message please ignore': no workbook attached"
    )
    assert skipped["attachment_test_msg.msg"].endswith("'test pièce jointe 1': no workbook attached")
    shown = run(plan, "collect")
    assert "mike.farman@alfresco.com" in shown.output


# --- the command line: dates refused, emails that cannot be read ----------------------------


def test_email_chase_refuses_a_date_that_has_passed_or_is_after_the_spg(tmp_path: Path) -> None:
    """The dates are judged against today: a cycle whose SPG meeting is still to come."""
    from datetime import timedelta

    from xlplan.values import long_date

    today = date.today()
    spg = today + timedelta(days=40)
    folder = make_plan_folder(tmp_path / "plan")
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=spg, deadline=today + timedelta(days=20))
    outbox = plan.folder.outgoing_dir(CYCLE)
    workbooks = sorted(p.name for p in outbox.iterdir())

    passed = run(plan, "email", "chase", "--fix-by", (today - timedelta(days=1)).isoformat())
    assert passed.exit_code == 2, passed.output
    assert passed.output == (
        f"Error: The fix-by date {long_date(today - timedelta(days=1))} has passed: give a date from today on.\n"
    )
    late = run(plan, "email", "chase", "--send-by", (spg + timedelta(days=1)).isoformat())
    assert late.exit_code == 2, late.output
    assert late.output == (
        f"Error: The send-by date {long_date(spg + timedelta(days=1))} is after the meeting on {long_date(spg)}.\n"
    )
    garbled = run(plan, "email", "chase", "--send-by", "next friday")
    assert garbled.exit_code == 2
    assert "'next friday' is not a date; use 2025-10-02 or 02/10/2025." in garbled.output
    for refused in (passed, late, garbled):
        assert "Traceback" not in refused.output
        assert isinstance(refused.exception, SystemExit)  # an exit code, not an exception escaping
    assert sorted(p.name for p in outbox.iterdir()) == workbooks  # nothing written when refused

    fine = run(plan, "email", "chase", "--send-by", (spg - timedelta(days=1)).isoformat())
    assert fine.exit_code == 0, fine.output
    drafts = sorted(p.name for p in outbox.glob("*.eml"))
    assert drafts and all(name.startswith(f"{CYCLE} chase - ") for name in drafts)


def test_a_damaged_saved_email_is_listed_as_skipped_with_its_reason(plan: Plan, tmp_path: Path) -> None:
    """A .msg cut short in copying, and a file named .eml that is no email: listed, never a traceback;
    the return beside them is still collected."""
    returns = plan.folder.returns_dir
    (returns / "cut short.msg").write_bytes((MSG_DATA / "example_received_regular.msg").read_bytes()[:4096])
    (returns / "not an email.eml").write_bytes(bytes(range(256)) * 8)
    (returns / f"{HELEN}.xlsx").write_bytes(filled(plan, tmp_path))
    shown = run(plan, "collect", "--json")
    assert "Traceback" not in shown.output
    report = json.loads(shown.output)
    skipped = {s["file"]: s["reason"] for s in report["skipped"]}
    assert skipped["cut short.msg"].startswith(
        "an email that cannot be read: not an Outlook message that can be read ("
    )
    assert skipped["not an email.eml"] == "an email that cannot be read: it has no From, Subject or Date: not an email"
    assert [(r["file"], r["outcome"]) for r in report["returns"]] == [(f"{HELEN}.xlsx", "merged")]
    text = run(plan, "collect", "--dry-run")
    assert "cut short.msg" in text.output and "Traceback" not in text.output
