"""`xlplan email spg` and `xlplan email chase`: .eml drafts read back with the `email` package,
and sending to a real SMTP server (aiosmtpd) on 127.0.0.1. No mocks.

The demo plan folder is built once per module: in 2023-Q3 Charlene Elliot's return is
quarantined and Deborah Gillespie's is missing.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import sqlite3
import ssl
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner, Result
from conftest import ACTIONS, SPONSORS, demo_copy, make_plan_folder
from test_summary import HOSTILE, HOSTILE_RAG, Html, build_hostile, style_of

from xlplan.cli import main
from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.paper import build_paper
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.report import to_html, to_text
from xlplan.samples.sponsor import fill_return

CYCLE = "2023-Q3"
TITLE = "Inverclyde HSCP Strategic Plan 2019-2024"
SPG = "strategic.planning.group@inverclyde.example"
SENDER = "strategic.planning@inverclyde.example"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHARLENE = "charlene.elliot@inverclyde.example"
DEBORAH = "deborah.gillespie@inverclyde.example"
NO_PASSWORD = {"XLPLAN_SMTP_PASSWORD": None}  # never inherit one from the environment running the tests


# --- fixtures and helpers ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the demo plan folder: tests that write into it copy it again."""
    return demo_copy(built_demo, tmp_path_factory, "mail")


@pytest.fixture(scope="module")
def plan(demo: Path) -> Plan:
    return load_plan(PlanFolder(demo))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def xlplan(runner: CliRunner, root: Path, *args: str, env: dict[str, str | None] | None = None, **kw: Any) -> Result:
    return runner.invoke(main, ["--plan", str(root), "email", *args], env={**NO_PASSWORD, **(env or {})}, **kw)


def read_eml(path: Path) -> EmailMessage:
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "drafts use CRLF line endings"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def attachments(msg: EmailMessage) -> list[EmailMessage]:
    return list(msg.iter_attachments())  # type: ignore[arg-type]


def bodies(msg: EmailMessage) -> tuple[str, str]:
    """The plain and HTML bodies, checked to be the two halves of one multipart/alternative."""
    assert msg.get_content_type() == "multipart/mixed"
    alternative = next(p for p in msg.iter_parts() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    # Drafts are written with CRLF line endings, as mail requires; compare text by lines.
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.sessions: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.sessions.append(session)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


class Refusing(Inbox):
    """Refuses the listed recipients (every recipient when none are listed)."""

    def __init__(self, *refused: str) -> None:
        super().__init__()
        self.refused = set(refused)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if not self.refused or address in self.refused:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def only_officer(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"officer", b"right")
    return AuthResult(success=ok, handled=False, auth_data=auth_data)  # handled=False: the server answers 535


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., int]]:
    """Start an SMTP server on 127.0.0.1 with a handler; returns its port. Stopped after the test."""
    started: list[Controller] = []

    def start(handler: Inbox, **kwargs: Any) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


# aiosmtpd warns that AUTH without TLS is unsafe: it is what these tests want (no certificates to manage).
auth_without_tls = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: (cert.pem, key.pem)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def smtp_args(port: int, *more: str) -> list[str]:
    return ["--send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-security", "none", *more]


# --- email spg: the draft ------------------------------------------------------------


def test_spg_draft(runner: CliRunner, demo: Path, plan: Plan, tmp_path: Path) -> None:
    result = xlplan(runner, demo, "spg", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{CYCLE} SPG pack.eml"
    assert result.stdout == f"Draft: {path}\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    msg = read_eml(path)

    assert [a.addr_spec for a in msg["To"].addresses] == [SPG]
    assert [a.addr_spec for a in msg["From"].addresses] == [SENDER]
    assert msg["From"].addresses[0].display_name == "Morag Kerr"
    assert TITLE in msg["Subject"] and CYCLE in msg["Subject"]
    assert msg["X-Unsent"] == "1"
    assert msg["Date"] and msg["Message-ID"]

    plain, html = bodies(msg)
    with Ledger(plan.folder.ledger_file) as ledger:
        summary = build_paper(plan, ledger, CYCLE, date.today())
    assert to_text(summary) in plain
    assert plain.startswith("Dear colleagues,\n")
    assert any(line.split() == ["Total", "4", "7", "18", "1", "12", "0", "42"] for line in plain.splitlines())
    assert "Morag Kerr" in plain
    parsed = Html(html)
    heads = {c[2]: style_of(c[1]) for c in parsed.rows[0] if c[0] == "th"}
    assert heads["Red"]["background"] == "#E0301E"
    assert heads["Green"]["background"] == "#00A651"
    total = next(r for r in parsed.rows if r and r[0][2] == "Total")  # the status table's, the first
    assert [c[2] for c in total] == ["Total", "4", "7", "18", "1", "12", "0", "42"]
    assert to_html(summary, standalone=False) in html
    text = " ".join("".join(parsed.text).split())
    assert "No clean return from Deborah Gillespie (missing)" in text  # the list of gaps
    assert "No clean return from Charlene Elliot (quarantined)" in text

    (attached,) = attachments(msg)
    assert attached.get_content_type() == XLSX
    assert attached.get_filename() == "master-tracker.xlsx"
    assert attached.get_content() == plan.folder.master_file.read_bytes()


def test_spg_draft_to_override(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    args = ["spg", "--out", str(tmp_path), "--to", "chair@example.org", "--to", "clerk@example.org"]
    result = xlplan(runner, demo, *args)
    assert result.exit_code == 0, result.output
    msg = read_eml(tmp_path / f"{CYCLE} SPG pack.eml")
    assert [a.addr_spec for a in msg["To"].addresses] == ["chair@example.org", "clerk@example.org"]
    assert SPG not in str(msg)


def test_spg_draft_goes_into_the_plan_folder_by_default(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(demo, root)
    result = xlplan(runner, root, "spg", "--cycle", CYCLE)
    assert result.exit_code == 0, result.output
    path = root / f"{CYCLE} SPG pack.eml"
    assert result.stdout == f"Draft: {path}\n"
    assert read_eml(path)["X-Unsent"] == "1"


def test_spg_draft_of_an_earlier_cycle(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    result = xlplan(runner, demo, "spg", "--cycle", "2023-Q2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    msg = read_eml(tmp_path / "2023-Q2 SPG pack.eml")
    assert "2023-Q2" in msg["Subject"]
    plain, _html = bodies(msg)
    assert "Returns: 5 of 5 received and merged" in plain


def test_spg_before_anything_was_collected(runner: CliRunner, tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    done = runner.invoke(
        main, ["--plan", str(folder.root), "generate", "--cycle", "2025-Q3", "--spg-date", "2025-10-02"]
    )
    assert done.exit_code == 0, done.output
    result = xlplan(runner, folder.root, "spg", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: There is no master tracker yet")
    assert "xlplan collect" in result.stderr
    assert not (tmp_path / "out").exists()


def test_spg_html_escapes_text_from_plans_and_returns(runner: CliRunner, tmp_path: Path) -> None:
    hostile = build_hostile(tmp_path / "plan")
    result = xlplan(runner, hostile.plan.folder.root, "spg", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").iterdir()
    _plain, html = bodies(read_eml(path))
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    parsed = Html(html)
    assert not {"script", "b", "i"} & set(parsed.tags)
    assert f"BA1.01 is Red (new): Fix {HOSTILE}" in "".join(parsed.text)  # reads as typed


# --- email chase ---------------------------------------------------------------------


def test_chase_drafts(runner: CliRunner, demo: Path, plan: Plan, tmp_path: Path) -> None:
    result = xlplan(runner, demo, "chase", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {f"{CYCLE} chase - Charlene Elliot.eml", f"{CYCLE} chase - Deborah Gillespie.eml"}
    assert sorted(result.stdout.splitlines()) == sorted(f"Draft: {tmp_path / n}" for n in names)

    charlene = read_eml(tmp_path / f"{CYCLE} chase - Charlene Elliot.eml")
    assert [a.addr_spec for a in charlene["To"].addresses] == [CHARLENE]
    assert charlene["To"].addresses[0].display_name == "Charlene Elliot"
    assert [a.addr_spec for a in charlene["From"].addresses] == [SENDER]
    assert charlene["X-Unsent"] == "1"
    assert TITLE in charlene["Subject"] and CYCLE in charlene["Subject"]
    plain, html = bodies(charlene)
    assert plain.startswith("Dear Charlene,\n")
    assert "'Grenn' is not a RAG status" in plain
    assert "Actions!K5" in plain
    assert "A Red status needs a progress note" in plain
    assert "'Grenn' is not a RAG status" in "".join(Html(html).text)
    (attached,) = attachments(charlene)
    fix = plan.folder.feedback_dir(CYCLE) / f"{CYCLE} return - Charlene Elliot - PLEASE FIX.xlsx"
    assert attached.get_content_type() == XLSX
    assert attached.get_filename() == fix.name
    assert attached.get_content() == fix.read_bytes()

    deborah = read_eml(tmp_path / f"{CYCLE} chase - Deborah Gillespie.eml")
    assert [a.addr_spec for a in deborah["To"].addresses] == [DEBORAH]
    assert deborah["X-Unsent"] == "1"
    plain, _html = bodies(deborah)
    assert plain.startswith("Dear Deborah,\n")
    assert "14 September 2023" in plain  # the deadline
    assert "7 actions" in plain
    (attached,) = attachments(deborah)
    blank = plan.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - Deborah Gillespie.xlsx"
    assert attached.get_content_type() == XLSX
    assert attached.get_filename() == blank.name
    assert attached.get_content() == blank.read_bytes()


def test_chase_goes_into_the_cycles_outgoing_folder_by_default(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(demo, root)
    before = {p.name for p in PlanFolder(root).outgoing_dir(CYCLE).iterdir()}
    result = xlplan(runner, root, "chase")
    assert result.exit_code == 0, result.output
    after = {p.name for p in PlanFolder(root).outgoing_dir(CYCLE).iterdir()}
    assert after - before == {f"{CYCLE} chase - Charlene Elliot.eml", f"{CYCLE} chase - Deborah Gillespie.eml"}


def test_nobody_to_chase_when_all_merged(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    result = xlplan(runner, demo, "chase", "--cycle", "2023-Q2", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Nobody to chase for 2023-Q2: every return is in and merged.\n"
    assert not (tmp_path / "out").exists()


def test_chase_html_escapes_the_errors_of_a_return(runner: CliRunner, tmp_path: Path) -> None:
    hostile = build_hostile(tmp_path / "plan")
    result = xlplan(runner, hostile.plan.folder.root, "chase", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    msg = read_eml(tmp_path / "out" / "2025-Q3 chase - Allen Stevenson.eml")
    plain, html = bodies(msg)
    assert HOSTILE_RAG in plain  # the plain text shows what was typed
    assert "<script" not in html
    parsed = Html(html)
    assert "script" not in parsed.tags
    assert HOSTILE_RAG in "".join(parsed.text)


def test_a_missing_sponsor_whose_workbook_was_tidied_away_gets_a_fresh_one(
    runner: CliRunner, demo: Path, tmp_path: Path
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(demo, root)
    # The officer tidied the sent workbook away (or renamed it) after emailing it.
    sent = PlanFolder(root).outgoing_dir(CYCLE) / f"{CYCLE} return - Deborah Gillespie.xlsx"
    sent.unlink()
    out = tmp_path / "out"
    result = xlplan(runner, root, "chase", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "every return is in" not in result.output
    assert {p.name for p in out.iterdir()} == {
        f"{CYCLE} chase - Charlene Elliot.eml",
        f"{CYCLE} chase - Deborah Gillespie.eml",
    }
    (attached,) = attachments(read_eml(out / f"{CYCLE} chase - Deborah Gillespie.eml"))
    assert attached.get_filename() == sent.name
    assert attached.get_content() == sent.read_bytes()  # made again, where it was
    book = openpyxl.load_workbook(sent)
    identity = {row[0]: row[1] for row in book["_xlplan"].iter_rows(values_only=True) if row and row[0]}
    assert identity.get("recipient") == "Deborah Gillespie"
    assert identity.get("cycle") == CYCLE


def test_drafting_a_chaser_never_writes_the_ledger(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    """Making the tidied-away workbook again for a chaser is not a new issue of the cycle."""
    root = tmp_path / "demo"
    shutil.copytree(demo, root)
    folder = PlanFolder(root)
    (folder.outgoing_dir(CYCLE) / f"{CYCLE} return - Deborah Gillespie.xlsx").unlink()
    with Ledger(folder.ledger_file) as ledger:  # a generation stamp no run today can write again
        info = ledger.cycle(CYCLE)
        assert info is not None
        issued = [(who, file, n) for who, (file, n) in ledger.issued(CYCLE).items()]
        ledger.record_cycle(CYCLE, info.spg_date, info.deadline, issued, at="2000-01-01T00:00:00+00:00")
    before = ledger_dump(folder.ledger_file)
    result = xlplan(runner, root, "chase", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / f"{CYCLE} chase - Deborah Gillespie.eml").is_file()
    with Ledger(folder.ledger_file) as ledger:
        after = ledger.cycle(CYCLE)
    assert after is not None and after.generated_at == "2000-01-01T00:00:00+00:00"
    assert ledger_dump(folder.ledger_file) == before


def ledger_dump(path: Path) -> list[str]:
    """The ledger's whole content, as SQL: what the file holds, whatever its pages or journal."""
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_the_annotated_copy_is_found_whatever_the_sponsors_name(runner: CliRunner, tmp_path: Path) -> None:
    who = "Helen Watson [Acting]"
    sponsors = [Recipient(who, "helen.watson@example.org", "Head of Strategy"), *SPONSORS[1:]]
    actions = [dict(a, sponsor=a["sponsor"].replace("Helen Watson", who)) for a in ACTIONS]
    folder = make_plan_folder(tmp_path / "plan", actions=actions, sponsors=sponsors)
    plan = load_plan(folder)
    gen = generate(plan, "2025-Q3", spg_date=date(2025, 10, 2), deadline=None)
    sent = next(p for name, p, _ in gen.files if name == who)
    typed = {"BA1.01": {"rag": "Grenn", "progress": "Two link workers in post"}}
    typed |= {"BA1.02": {"rag": "Blue", "progress": "Done"}, "BA1.03": {"rag": "Green", "progress": "On track"}}
    fill_return(sent, folder.returns_dir / "helen.xlsx", plan.template, typed)
    result = collect(plan, today=date(2025, 9, 12))
    (fix,) = result.feedback
    assert fix.name == f"2025-Q3 return - {who} - PLEASE FIX.xlsx"
    done = xlplan(runner, folder.root, "chase", "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    msg = read_eml(tmp_path / "out" / f"2025-Q3 chase - {who}.eml")
    assert "'Grenn' is not a RAG status" in bodies(msg)[0]
    (attached,) = attachments(msg)
    assert attached.get_filename() == fix.name
    assert attached.get_content() == fix.read_bytes()


@pytest.mark.parametrize("command", ["spg", "chase"])
def test_a_cycle_never_generated_is_an_error(runner: CliRunner, demo: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    result = xlplan(runner, demo, command, "--cycle", "2024-Q1", "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr == "Error: Cycle 2024-Q1 has not been generated (known cycles: 2023-Q2, 2023-Q3).\n"
    assert result.stdout == ""
    assert not out.exists()


# --- sending over SMTP ---------------------------------------------------------------


def test_send_spg(runner: CliRunner, demo: Path, plan: Plan, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "spg", *smtp_args(port))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Sent '")
    assert result.stdout.rstrip().endswith(f"to {SPG}")
    assert TITLE in result.stdout
    assert result.stderr == ""
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == [SPG]
    assert envelope.mail_from == SENDER
    (msg,) = inbox.messages()
    assert msg["X-Unsent"] is None  # a sent message is not a draft
    assert TITLE in msg["Subject"]
    bodies(msg)
    (attached,) = attachments(msg)
    assert attached.get_content_type() == XLSX
    assert attached.get_content() == plan.folder.master_file.read_bytes()
    assert not list(demo.glob("*.eml"))  # sending writes no draft


@auth_without_tls
def test_send_spg_with_the_right_password(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, auth_required=True, auth_require_tls=False, authenticator=only_officer)
    env = {"XLPLAN_SMTP_PASSWORD": "right"}
    result = xlplan(runner, demo, "spg", *smtp_args(port, "--smtp-user", "officer"), env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Sent '")
    assert len(inbox.envelopes) == 1
    assert inbox.sessions[0].authenticated


@auth_without_tls
def test_send_spg_with_a_wrong_password(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, auth_required=True, auth_require_tls=False, authenticator=only_officer)
    env = {"XLPLAN_SMTP_PASSWORD": "wrong-secret"}
    result = xlplan(runner, demo, "spg", *smtp_args(port, "--smtp-user", "officer"), env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server refused the login")
    assert "'officer'" in result.stderr
    assert "wrong-secret" not in result.output
    assert "Sent" not in result.stdout
    assert inbox.envelopes == []


@auth_without_tls
def test_send_without_logging_in_where_the_server_requires_it(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, auth_required=True, auth_require_tls=False, authenticator=only_officer)
    result = xlplan(runner, demo, "spg", *smtp_args(port))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server rejected the message")
    assert "Nothing was sent" in result.stderr
    assert "Sent" not in result.stdout
    assert inbox.envelopes == []


@auth_without_tls
def test_the_password_is_asked_for_when_not_in_the_environment(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, auth_required=True, auth_require_tls=False, authenticator=only_officer)
    result = xlplan(runner, demo, "spg", *smtp_args(port, "--smtp-user", "officer"), input="right\n")
    assert result.exit_code == 0, result.output
    assert "Password for officer" in result.output
    assert "right" not in result.output  # not echoed
    assert len(inbox.envelopes) == 1


def test_the_password_is_not_a_command_line_option(runner: CliRunner, demo: Path) -> None:
    for command in ("spg", "chase"):
        result = xlplan(runner, demo, command, "--smtp-user", "officer", "--smtp-password", "right")
        assert result.exit_code == 2
        assert "No such option '--smtp-password'" in result.stderr
        help_text = xlplan(runner, demo, command, "--help").stdout
        assert "--smtp-password" not in help_text
        assert "XLPLAN_SMTP_PASSWORD" in " ".join(help_text.split())


def test_server_down(runner: CliRunner, demo: Path) -> None:
    port = free_port()  # nothing listens there
    result = xlplan(runner, demo, "spg", *smtp_args(port))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot connect to the mail server 127.0.0.1:{port}")
    assert "Sent" not in result.stdout


def test_implicit_tls_to_a_plain_server_is_a_clear_error(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)
    args = ["--send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-security", "ssl"]
    result = xlplan(runner, demo, "spg", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot connect to the mail server 127.0.0.1:{port}")
    assert inbox.envelopes == []


def test_starttls_to_a_server_without_it_is_a_clear_error(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)
    args = ["--send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-security", "starttls"]
    result = xlplan(runner, demo, "spg", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server does not support that")
    assert "--smtp-security" in result.stderr
    assert inbox.envelopes == []


def test_a_server_that_offers_no_login(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)  # no AUTH advertised
    env = {"XLPLAN_SMTP_PASSWORD": "right"}
    result = xlplan(runner, demo, "spg", *smtp_args(port, "--smtp-user", "officer"), env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server offers no login: leave out --smtp-user")
    assert inbox.envelopes == []
    assert ".." not in result.stderr


def test_every_recipient_refused(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Refusing()
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "spg", *smtp_args(port))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server refused every recipient")
    assert SPG in result.stderr and "550 no such user" in result.stderr
    assert "Sent" not in result.stdout
    assert inbox.envelopes == []


def test_one_recipient_refused_the_other_gets_it(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    inbox = Refusing("nobody@example.org")
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "spg", "--to", SPG, "--to", "nobody@example.org", *smtp_args(port))
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("Sent '") and line.endswith(f"to {SPG}")
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == [SPG]


def test_a_refused_recipient_is_named_and_the_accepted_ones_listed(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int]
) -> None:
    refused, accepted = "smith@inverclyde.example", "j.smith@inverclyde.example"
    inbox = Refusing(refused)
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "spg", "--to", refused, "--to", accepted, *smtp_args(port))
    assert [e.rcpt_tos for e in inbox.envelopes] == [[accepted]]
    assert result.stdout.rstrip().endswith(f"to {accepted}")
    assert refused in result.stderr  # a warning that one address was refused


def test_a_display_name_with_a_comma(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "spg", "--to", '"Group, Chair of the" <chair@example.org>', *smtp_args(port))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("to chair@example.org")
    assert [e.rcpt_tos for e in inbox.envelopes] == [["chair@example.org"]]
    assert inbox.messages()[0]["To"].addresses[0].display_name == "Group, Chair of the"


def test_send_with_starttls_and_a_login(
    runner: CliRunner, demo: Path, plan: Plan, smtp_server: Callable[..., int], certificate: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    # The server refuses mail before STARTTLS, and AUTH until the connection is encrypted.
    port = smtp_server(
        inbox,
        tls_context=server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=only_officer,
    )
    env = {"SSL_CERT_FILE": str(certificate[0]), "XLPLAN_SMTP_PASSWORD": "right"}
    args = [
        "--send",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-user",
        "officer",
    ]  # starttls: the default
    result = xlplan(runner, demo, "spg", *args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Sent '")
    (session,) = inbox.sessions
    assert session.authenticated
    assert session.ssl  # the message went over TLS
    (attached,) = attachments(inbox.messages()[0])
    assert attached.get_content() == plan.folder.master_file.read_bytes()


def test_send_with_implicit_tls(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int], certificate: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, ssl_context=server_tls(certificate))
    args = ["--send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-security", "ssl"]
    result = xlplan(runner, demo, "spg", *args, env={"SSL_CERT_FILE": str(certificate[0])})
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(f"to {SPG}")
    assert [e.rcpt_tos for e in inbox.envelopes] == [[SPG]]


def test_an_untrusted_certificate_is_refused(
    runner: CliRunner, demo: Path, smtp_server: Callable[..., int], certificate: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    port = smtp_server(inbox, tls_context=server_tls(certificate), require_starttls=True)
    args = ["--send", "--smtp-host", "127.0.0.1", "--smtp-port", str(port)]
    result = xlplan(runner, demo, "spg", *args, env={"SSL_CERT_FILE": None})  # only the system's CAs
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert "Nothing was" in result.stderr
    assert "Sent" not in result.stdout
    assert inbox.envelopes == []


def test_send_needs_a_mail_server(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    result = xlplan(runner, demo, "spg", "--send", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No mail server: give --smtp-host")
    assert not (tmp_path / "out").exists()


def test_send_chasers(runner: CliRunner, demo: Path, plan: Plan, smtp_server: Callable[..., int]) -> None:
    inbox = Inbox()
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "chase", *smtp_args(port))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("Sent '") for line in lines)
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == [CHARLENE, DEBORAH]
    expected = {
        CHARLENE: plan.folder.feedback_dir(CYCLE) / f"{CYCLE} return - Charlene Elliot - PLEASE FIX.xlsx",
        DEBORAH: plan.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - Deborah Gillespie.xlsx",
    }
    for envelope, msg in zip(inbox.envelopes, inbox.messages(), strict=True):
        assert msg["X-Unsent"] is None
        (attached,) = attachments(msg)
        assert attached.get_content() == expected[envelope.rcpt_tos[0]].read_bytes()


def test_chasers_all_refused(runner: CliRunner, demo: Path, smtp_server: Callable[..., int]) -> None:
    inbox = Refusing()
    port = smtp_server(inbox)
    result = xlplan(runner, demo, "chase", *smtp_args(port))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The mail server refused every recipient")
    assert "Sent" not in result.stdout
    assert inbox.envelopes == []
