"""The plan folder and reading the officer's plan workbook (`plan_workbook` writes one).

A plan lives in one folder, like a git repository::

    my-plan/
      plan.xlsx            the officer's own workbook: what is tracked (never written by xlplan)
      ledger.sqlite        xlplan's memory of every cycle (statuses, changes, returns)
      master-tracker.xlsx  rendered afresh from plan + ledger for the SPG
      outgoing/2025-Q3/    workbooks to send to sponsors this cycle
      returns/             drop the returned attachments here
      feedback/2025-Q3/    annotated copies of returns that need fixing
      archive/             every ingested return, by content hash

`plan.xlsx` is read tolerantly (header case and spacing, dates as dates or text,
trailing spaces); a broken plan is rejected with every problem named by sheet, row
and column.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from xlplan import __version__
from xlplan.decisions import DECISIONS_SHEET, Decision, apply_due_dates, read_decisions
from xlplan.errors import PlanError, XlplanError
from xlplan.files import atomic_path
from xlplan.ledger.records import plain
from xlplan.scan import workbook_problem
from xlplan.template import ChoiceList, Template, load_template
from xlplan.values import (
    TIMESCALE_EXAMPLES,
    Timescale,
    clean_text,
    column_letter,
    is_blank,
    normalise_header,
    parse_date,
    parse_number,
    parse_timescale,
)
from xlplan.words import Words, localise, words_for

PLAN_FILE = "plan.xlsx"
SETTINGS_SHEET = "Settings"
# Settings rows: (key, label shown to the officer, help).
SETTINGS = (
    ("title", "Plan title", "Shown on every workbook and report."),
    ("plan_id", "Plan id", "A short id that never changes; it identifies returns."),
    ("template", "Template", "The kind of return (a file in templates/)."),
    ("officer", "Planning officer", "Named on the Instructions sheet."),
    ("return_email", "Return address", "Where recipients send their returns."),
    ("spg_email", "SPG email", "Where the master tracker is sent (the meeting's address)."),
    ("smtp_host", "SMTP host", "Optional: mail server for `xlplan email --send`."),
    ("smtp_user", "SMTP user", "Optional: login for the mail server."),
    (
        "plan_start",
        "Plan start",
        "Optional: the date the plan's period began, when its measures' baselines stand "
        "(blank: the first cycle's deadline).",
    ),
    (
        "meeting",
        "Meeting",
        "Optional: the body the returns are for, as written in messages (e.g. Strategic Planning Group); "
        "blank: 'meeting'.",
    ),
    ("meeting_short", "Meeting short name", "Optional: its short name in tables and file names (blank: the Meeting)."),
    (
        "return_name",
        "Return name",
        "Optional: what your body calls the return in emails (blank: the template's word for it).",
    ),
    ("procedure", "Procedure", "Optional: your own procedure's reference, put where a template asks for it."),
    ("salutation", "Salutation", "Optional: how emails address someone (blank: Dear)."),
    (
        "region",
        "Region",
        "Optional: England, Wales, Scotland or Northern Ireland, whose public holidays a deadline avoids "
        "(blank: Scotland).",
    ),
)
RECIPIENT_COLUMNS = (("name", "Name"), ("email", "Email"), ("role", "Role"), ("greeting", "Greeting"))
# A due date written as words ("March 2025", "Ongoing") is kept beside the date it means,
# in the item under this key (a template key never holds a space).
AS_WRITTEN = "{key} as written"


@functools.cache  # asked for each plan cell a workbook shows: 700,000 times at national scale
def as_written_key(key: str) -> str:
    return AS_WRITTEN.format(key=key)


def shown(item: dict[str, Any], key: str) -> Any:
    """An item's value as workbooks show it: a date written as words is shown as written
    beside the date it means ("March 2025 (31/03/2025)", "Ongoing"), else the value itself."""
    wording = item.get(as_written_key(key))
    if wording:
        return Timescale(item.get(key), wording).shown
    return item.get(key)


_SPLIT_RECIPIENTS = re.compile(r"[;\n]+")
_SPLIT_CHOICES = re.compile(r"[;,\n]+")  # several values in one cell: "3; 8; 9", "3, 8"


@dataclass(frozen=True)
class PlanFolder:
    root: Path

    @property
    def plan_file(self) -> Path:
        return self.root / PLAN_FILE

    @property
    def cache_file(self) -> Path:
        """plan.xlsx as last read, kept to skip re-reading it while it is unchanged."""
        return self.root / ".xlplan-cache" / "plan.json"

    @property
    def ledger_file(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def master_file(self) -> Path:
        return self.root / "master-tracker.xlsx"

    @property
    def returns_dir(self) -> Path:
        return self.root / "returns"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    def outgoing_dir(self, cycle: str) -> Path:
        return self.root / "outgoing" / cycle

    def feedback_dir(self, cycle: str) -> Path:
        return self.root / "feedback" / cycle

    def make_dirs(self) -> None:
        for d in (
            self.returns_dir,
            self.archive_dir,
            self.root / "outgoing",
            self.root / "feedback",
        ):
            d.mkdir(parents=True, exist_ok=True)


def find_folder(start: Path) -> PlanFolder:
    """The plan folder at `start`, or the nearest parent holding a plan.xlsx (like git)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / PLAN_FILE).is_file():
            return PlanFolder(candidate)
    raise PlanError(
        f"No plan folder here: {start} has no {PLAN_FILE} (nor do its parents). "
        "Run the command inside a plan folder, give --plan DIR, or create one with `xlplan init DIR`."
    )


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str = ""
    role: str = ""
    greeting: str = ""  # how emails address them ("Dear ..."): the Sponsors sheet's Greeting column

    @property
    def salutation(self) -> str:
        """Who "Dear ..." names: the Greeting given, else the first name of a person's name,
        else the whole name when it is a role or an organisation ("Head of Trading Standards")."""
        return self.greeting or salutation_for(self.name)


# Words that say a name is a role or an organisation, not a person: greet it whole.
_NOT_A_PERSON = re.compile(
    r"\b(head|chief|director|officer|manager|lead|chair|service|services|team|council|board|partnership|"
    r"department|nhs|hscp|fire|rescue|police|trust|group|committee|association|authority|of|and|&)\b",
    re.IGNORECASE,
)


def salutation_for(name: str) -> str:
    words = name.split()
    if not words:
        return "colleague"
    if _NOT_A_PERSON.search(name) or len(words) > 4 or "(" in name:
        return " ".join(words)
    title = words[0].rstrip(".").casefold() in {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "cllr"}
    return " ".join(words[:1] if not title else [words[0], words[-1]])


@dataclass
class Plan:
    folder: PlanFolder
    template: Template
    settings: dict[str, str]
    recipients: list[Recipient]
    items: list[dict[str, Any]]
    # Excel row of each item in plan.xlsx, for messages.
    rows: dict[str, int] = field(default_factory=dict)
    # The SPG's decisions from the Decisions sheet, in date order (none without the sheet).
    decisions: list[Decision] = field(default_factory=list)
    # The due date plan.xlsx gives each action whose due date an approved decision replaced
    # (the items carry the agreed date): ref -> the plan's own date.
    planned_due: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of plan.xlsx as read
    _by_recipient: dict[str, list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.template = localise(self.template, self.settings)  # the body's words in the template's texts

    @functools.cached_property
    def words(self) -> Words:
        """What this plan calls things: the template's words with its own body's (Settings)."""
        return words_for(self.template, self.settings)

    @property
    def plan_id(self) -> str:
        return self.settings["plan_id"]

    @property
    def title(self) -> str:
        return self.settings.get("title") or self.plan_id

    @property
    def start(self) -> date | None:
        """Settings' plan start (load_plan refuses one that is not a date); None when blank."""
        try:
            return parse_date(self.settings.get("plan_start") or None)
        except ValueError:
            return None

    def recipients_of(self, item: dict[str, Any]) -> list[str]:
        if self.template.plan.assign_by == "all":
            return [r.name for r in self.recipients]
        return split_recipients(item.get(self.template.plan.assign_by))

    @functools.cached_property
    def by_ref(self) -> dict[str, dict[str, Any]]:
        key = self.template.plan.key
        return {item[key]: item for item in self.items}

    @functools.cached_property
    def plain_items(self) -> dict[str, dict[str, Any]]:
        """Each item's plan columns as the ledger keeps them (`plain`), by ref: what a
        workbook is sent and what the plan log compares. Read-only: shared by both."""
        spec = self.template.plan
        keys = [c.key for c in spec.columns]
        return {item[spec.key]: {k: plain(item.get(k)) for k in keys} for item in self.items}

    def items_for(self, recipient: str) -> list[dict[str, Any]]:
        if self._by_recipient is None:  # built once: asked per recipient, per return, per report
            index: dict[str, list[dict[str, Any]]] = {}
            for item in self.items:
                for name in self.recipients_of(item):
                    index.setdefault(name, []).append(item)
            self._by_recipient = index
        return self._by_recipient.get(recipient, [])

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    def groups_for(self, recipient: str) -> list[str]:
        """The distinct groups (Big Actions) of a recipient's items, in plan order."""
        key = self.template.plan.group_by
        return list(dict.fromkeys(item[key] for item in self.items_for(recipient) if item.get(key)))

    @functools.cached_property
    def renamed(self) -> dict[str, str]:
        """Earlier ref -> the item's ref now, from the optional "Previous ref" column.

        An earlier ref that is still an item's own ref is not a rename (ignored); one named
        by two items goes to the first, in plan order.
        """
        spec = self.template.plan
        if not spec.previous_key:
            return {}
        out: dict[str, str] = {}
        for item in self.items:
            for old in split_refs(item.get(spec.previous_key)):
                if old not in self.by_ref and old not in out:
                    out[old] = item[spec.key]
        return out

    @functools.cached_property
    def group_titles(self) -> frozenset[str]:
        """Every group (Big Action) title in the plan."""
        key = self.template.plan.group_by
        return frozenset(str(item[key]) for item in self.items if key and item.get(key))

    def group_now(self, title: str) -> str | None:
        """The group (Big Action) a title names in the plan now: itself, or the one group with
        its number (a title corrected since); None when neither."""
        if title in self.group_titles:
            return title
        return next((self.group_keys[k] for k in group_keys_of(title) if k in self.group_keys), None)

    @functools.cached_property
    def group_keys(self) -> dict[str, str]:
        """A stable key -> the title of the one group it names now (`group_keys_of`).

        Keys that name two groups are left out: they place nothing.
        """
        spec = self.template.plan
        found: dict[str, set[str]] = {}
        for item in self.items:
            title = item.get(spec.group_by) if spec.group_by else None
            if title:
                for key in group_keys_of(title, item.get(spec.group_id) if spec.group_id else None):
                    found.setdefault(key, set()).add(title)
        return {key: next(iter(titles)) for key, titles in found.items() if len(titles) == 1}


def split_recipients(value: object) -> list[str]:
    return [p.strip() for p in _SPLIT_RECIPIENTS.split(clean_text(value)) if p.strip()]


_SPLIT_REFS = re.compile(r"[;,\n]+")


def split_refs(value: object) -> list[str]:
    """The refs a "Previous ref" cell names: one, or several separated by ";", "," or new lines."""
    return [p.strip() for p in _SPLIT_REFS.split(clean_text(value)) if p.strip()]


# "Big Action 3: ...", "BA3 - ...", "Big Action 03", "Key Feature 2.1": up to three words, then the number.
_GROUP_NUMBER = re.compile(r"\s*[A-Za-z][A-Za-z&.]*(?:\s+[A-Za-z][A-Za-z&.]*){0,2}\s*0*(\d+(?:\.\d+)*)(?![\w.])")


def group_keys_of(title: object, group_id: object = None) -> list[str]:
    """The stable keys a group (Big Action) is known by, whatever its title says after them.

    Its explicit id when the plan has a group id column, and the number its title starts
    with ("Big Action 3: Protect..." and "BA3 Protect..." are both group 3), so correcting
    the words of a title keeps its feedback filed under it.
    """
    keys = []
    if not is_blank(group_id):
        keys.append(f"id:{clean_text(group_id).casefold()}")
    found = _GROUP_NUMBER.match(clean_text(title))
    if found:
        keys.append(f"number:{found.group(1)}")
    return keys


def load_plan(folder: PlanFolder) -> Plan:
    """Read plan.xlsx into a Plan, or raise PlanError listing every problem found.

    A plan read without problems is kept in the folder's cache, keyed by the exact bytes
    of plan.xlsx and the template's text: the next command (collect after generate, three
    weeks later) takes it from there while the file is unchanged. At 50,000 actions that
    saves most of a second on every command.
    """
    path = folder.plan_file
    if not path.is_file():
        raise PlanError(f"{path} not found. Create a plan folder with `xlplan init DIR`.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(
            f"Cannot read {path}: {exc.strerror or exc} (is it open and locked by another program?)."
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    plan = _from_cache(folder, digest)
    if plan is None:
        plan = _parse(folder, data)
        _to_cache(plan, digest)
    plan.sha256 = digest
    # After caching: the cache keeps the plan's own due dates, the decisions are applied afresh.
    plan.planned_due = apply_due_dates(plan.decisions, plan.by_ref, plan.template.due_key)
    for ref in plan.planned_due:  # an agreed new date replaces the wording it had ("March 2025")
        plan.by_ref[ref].pop(as_written_key(plan.template.due_key or ""), None)
    return plan


def _parse(folder: PlanFolder, data: bytes) -> Plan:
    from python_calamine import CalamineWorkbook

    path = folder.plan_file
    problem = workbook_problem(data)
    if problem:
        raise PlanError(f"{path.name}: {problem}")
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for broken files
        raise PlanError(f"{path}: cannot be read as an Excel workbook ({exc}).") from exc
    sheets = {normalise_header(n): n for n in book.sheet_names}

    def rows_of(name: str) -> list[list[Any]]:
        real = sheets.get(normalise_header(name))
        if real is None:
            raise PlanError(f"{path.name}: no sheet called '{name}' (it has: {', '.join(book.sheet_names)}).")
        return book.get_sheet_by_name(real).to_python(skip_empty_area=False)

    settings = _read_settings(rows_of(SETTINGS_SHEET))
    template = load_template(settings.get("template") or "implementation-plan", folder.root)
    spec = template.plan
    problems: list[str] = []
    recipients = _read_recipients(rows_of(spec.recipients_sheet), spec.recipients_sheet, problems)
    items, item_rows = _read_items(rows_of(spec.items_sheet), template, problems)
    decisions_sheet = sheets.get(normalise_header(DECISIONS_SHEET))
    decisions = (
        read_decisions(rows_of(decisions_sheet), item_rows, problems, decisions_sheet) if decisions_sheet else []
    )
    plan = Plan(folder, template, settings, recipients, items, item_rows, decisions)
    try:
        parse_date(settings.get("plan_start") or None)
    except ValueError:
        problems.append(f"{SETTINGS_SHEET}: 'Plan start' is '{settings['plan_start']}', not a date (e.g. 01/04/2019).")
    if not settings.get("plan_id"):
        problems.append(f"{SETTINGS_SHEET}: 'Plan id' is empty; give the plan a short id that never changes.")
    _check_assignments(plan, problems)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise PlanError(f"{path.name} has {len(problems)} problem(s) to fix:\n{listing}")
    return plan


_CACHE_FORMAT = 3  # 2: the decisions; 3: recipients' greetings, due dates as written


def _cache_key(digest: str, template_digest: str) -> dict[str, Any]:
    return {"format": _CACHE_FORMAT, "xlplan": __version__, "plan": digest, "template": template_digest}


def _from_cache(folder: PlanFolder, digest: str) -> Plan | None:
    """The plan as cached for exactly this plan.xlsx and template, or None (then it is read)."""
    try:
        cache = orjson.loads(folder.cache_file.read_bytes())
        settings = cache["settings"]
        template = load_template(settings.get("template") or "implementation-plan", folder.root)
        if cache["key"] != _cache_key(digest, template.digest):
            return None
        types = {c.key: c.type for c in template.plan.columns}
        types |= {as_written_key(k): "text" for k, t in list(types.items()) if t == "date"}
        columns = cache["columns"]
        for key, values in columns.items():
            if types[key] == "date":
                columns[key] = [None if v is None else date.fromisoformat(v) for v in values]
        keys = list(columns)
        items = [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        recipients = [Recipient(*r) for r in cache["recipients"]]
        decisions = [Decision.from_row(row) for row in cache["decisions"]]
        return Plan(folder, template, settings, recipients, items, cache["rows"], decisions)
    except Exception:  # no cache, or one from another version, or damaged: read plan.xlsx instead
        return None


def _to_cache(plan: Plan, digest: str) -> None:
    keys = [c.key for c in plan.template.plan.columns]
    keys += [as_written_key(k) for k in keys if any(as_written_key(k) in item for item in plan.items)]
    columns = {k: [_json_value(item.get(k)) for item in plan.items] for k in keys}
    cache = {
        "key": _cache_key(digest, plan.template.digest),
        "settings": plan.settings,
        "recipients": [[r.name, r.email, r.role, r.greeting] for r in plan.recipients],
        "columns": columns,
        "rows": plan.rows,
        "decisions": [d.as_row() for d in plan.decisions],
    }
    try:
        plan.folder.cache_file.parent.mkdir(exist_ok=True)
        with atomic_path(plan.folder.cache_file) as tmp:
            tmp.write_bytes(orjson.dumps(cache))  # UTF-8, as _from_cache reads it
    except (OSError, XlplanError):
        pass  # a read-only, full or busy folder: the plan is simply read again next time


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _read_settings(rows: list[list[Any]]) -> dict[str, str]:
    by_label = {normalise_header(label): key for key, label, _ in SETTINGS}
    by_label.update({normalise_header(key): key for key, _, _ in SETTINGS})
    settings: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2 and normalise_header(row[0]) in by_label:
            settings[by_label[normalise_header(row[0])]] = clean_text(row[1])
    return settings


def _header_index(rows: list[list[Any]], wanted: dict[str, str]) -> tuple[int, dict[str, int]]:
    """Find the header row (the first row naming any wanted column) and map keys to columns."""
    for r, row in enumerate(rows[:20]):
        found: dict[str, int] = {}
        for c, cell in enumerate(row):
            norm = normalise_header(cell)
            for key, header in wanted.items():
                if key not in found and norm in {
                    normalise_header(header),
                    normalise_header(key),
                    normalise_header(header) + "s",
                }:
                    found[key] = c
        if found:
            return r, found
    return -1, {}


def _read_recipients(rows: list[list[Any]], sheet: str, problems: list[str]) -> list[Recipient]:
    head, cols = _header_index(rows, dict(RECIPIENT_COLUMNS))
    if "name" not in cols:
        problems.append(f"{sheet}: no 'Name' column in the first rows.")
        return []
    recipients: list[Recipient] = []
    seen: set[str] = set()
    for r, row in enumerate(rows[head + 1 :], start=head + 2):
        values = {k: clean_text(row[c]) if c < len(row) else "" for k, c in cols.items()}
        name = " ".join(values["name"].split())
        if not name:
            continue
        if name.casefold() in seen:
            problems.append(f"{sheet}!row {r}: '{name}' is listed twice.")
            continue
        seen.add(name.casefold())
        email = values.get("email", "")
        if email:
            problem = email_problem(email)
            if problem:
                letter = column_letter(cols["email"])
                problems.append(f"{sheet}!{letter}{r} (Email of {name}): '{email}' is not an email address: {problem}")
        greeting = " ".join(values.get("greeting", "").split())
        recipients.append(Recipient(name, email, values.get("role", ""), greeting))
    return recipients


def email_problem(address: str) -> str:
    """Why `address` is not an email address one can send to, or "" (its form only: no DNS)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return ""


def _read_items(
    rows: list[list[Any]], template: Template, problems: list[str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    spec = template.plan
    sheet = spec.items_sheet
    head, cols = _header_index(rows, {c.key: c.header for c in spec.columns})
    missing = [c.header for c in spec.columns if c.required and c.key not in cols]
    if missing:
        problems.append(f"{sheet}: missing column(s) {', '.join(missing)} in the header row.")
        return [], {}
    body = rows[head + 1 :]
    # Column by column: one pass per column, with the plain cases (text, real dates and
    # numbers) in comprehensions; 400,000 cells at national scale.
    raw = {col.key: _column(body, cols.get(col.key)) for col in spec.columns}
    blank_row = [all(flags) for flags in zip(*(_blanks(values) for values in raw.values()), strict=True)]
    found: list[tuple[int, int, str]] = []  # (row, column, problem): reported in sheet order
    wordings: dict[str, list[str]] = {col.key: [] for col in spec.columns if col.type == "date"}
    typed = {
        col.key: _typed_column(
            raw[col.key], col, blank_row, _cell_name(sheet, cols, col.key), head + 2, n, found, wordings.get(col.key)
        )
        for n, col in enumerate(spec.columns)
    }
    for n, col in enumerate(spec.columns):
        if col.choices:
            cell = _cell_name(sheet, cols, col.key)
            choices = template.choices[col.choices]
            typed[col.key] = _chosen(typed[col.key], choices, col.header, cell, head + 2, n, found, col.several)
    keys = [col.key for col in spec.columns]
    worded = {as_written_key(k): v for k, v in wordings.items() if any(v)}
    keys += list(worded)
    typed |= worded
    items: list[dict[str, Any]] = []
    where: dict[str, int] = {}
    ref_at = keys.index(spec.key)
    for r, values in enumerate(zip(*(typed[k] for k in keys), strict=True), start=head + 2):
        if blank_row[r - head - 2]:
            continue  # blank rows between Big Actions are normal
        ref = values[ref_at]
        if not ref:
            continue
        if ref in where:
            found.append(
                (
                    r,
                    len(keys),
                    f"{sheet} row {r}: ref '{ref}' is already used on row {where[ref]}; refs must be unique.",
                )
            )
            continue
        where[ref] = r
        items.append(dict(zip(keys, values, strict=True)))
    problems += [message for _, _, message in sorted(found, key=lambda f: (f[0], f[1]))]
    return items, where


def _column(body: list[list[Any]], c: int | None) -> list[Any]:
    if c is None:
        return [None] * len(body)
    return [row[c] if c < len(row) else None for row in body]


def _blanks(values: list[Any]) -> list[bool]:
    """is_blank for a whole column, without a call per cell."""
    return [v is None or (not v.strip() if type(v) is str else v != v if type(v) is float else False) for v in values]


def _cell_name(sheet: str, cols: dict[str, int], key: str) -> Callable[[int], str]:
    letter = column_letter(cols[key]) if key in cols else ""
    return (lambda r: f"{sheet}!{letter}{r}") if letter else (lambda r: f"{sheet} row {r}")


def _typed_column(
    values: list[Any],
    col: Any,
    blank_row: list[bool],
    cell: Callable[[int], str],
    first: int,
    n: int,
    found: list[tuple[int, int, str]],
    wordings: list[str] | None = None,
) -> list[Any]:
    """A plan column's values by its type; what cannot be read, or is missing, goes to `found`.

    A date column reads timescales too ("March 2025", "2024/25", "Ongoing": `parse_timescale`);
    their wording goes to `wordings`, one per value ("" for a plain date)."""
    if col.type == "text":
        texts = [v.strip() if type(v) is str else clean_text(v) for v in values]
        out: list[Any] = [" ".join(t.split()) if "\n" not in t else t for t in texts]
    else:
        out = []
        for i, value in enumerate(values):
            kind = type(value)
            plain_date = kind is date and col.type == "date" and value.year >= 1900  # type: ignore[attr-defined]
            plain_number = kind is float and col.type == "number" and math.isfinite(value)  # type: ignore[arg-type]
            if wordings is not None:
                wordings.append("")
            if value is None or plain_date or plain_number:
                out.append(value)
                continue
            try:
                if wordings is not None:
                    timescale = parse_timescale(value)
                    out.append(timescale.due if timescale else None)
                    wordings[-1] = timescale.wording if timescale else ""
                    continue
                out.append(_typed(value, col.type))
            except ValueError:
                if not blank_row[i]:
                    what = TIMESCALE_EXAMPLES if col.type == "date" else "a number"
                    what = f"a date: give {what}" if col.type == "date" else what
                    found.append(
                        (first + i, n, f"{cell(first + i)} ({col.header}): '{clean_text(value)}' is not {what}.")
                    )
                out.append(None)
    if col.required:
        found += [
            (first + i, n, f"{cell(first + i)} ({col.header}): is empty.")
            for i, v in enumerate(out)
            if not blank_row[i] and (v is None or v == "") and not (wordings and wordings[i])
        ]
    return out


def _chosen(
    values: list[Any],
    choices: ChoiceList,
    header: str,
    cell: Callable[[int], str],
    first: int,
    n: int,
    found: list[tuple[int, int, str]],
    several: bool = False,
) -> list[Any]:
    """A choice column's values as the list spells them ("lower" -> "Lower is better");
    with `several`, each of the values separated by ";" ("3;8; 9" -> "3; 8; 9"). A value
    the list does not know goes to `found`, naming the values it does."""
    out: list[Any] = []
    for i, value in enumerate(values):
        if value is None or value == "":
            out.append(None)
            continue
        parts = [p for p in _SPLIT_CHOICES.split(str(value)) if p.strip()] if several else [str(value)]
        meant = [choices.normalise(p) for p in parts]
        unknown = [p.strip() for p, m in zip(parts, meant, strict=True) if m is None]
        if unknown:
            allowed = " or ".join(choices.names) if len(choices.names) < 5 else ", ".join(choices.names)
            found.append((first + i, n, f"{cell(first + i)} ({header}): '{unknown[0]}' is not one of {allowed}."))
        known = list(dict.fromkeys(m for m in meant if m is not None))
        out.append("; ".join(known) or None)
    return out


def _typed(value: object, kind: str) -> Any:
    if kind == "date":
        return parse_date(value)
    if kind == "number":
        return parse_number(value)
    text = value.strip() if type(value) is str else clean_text(value)  # str first: 400,000 cells at scale
    return " ".join(text.split()) if "\n" not in text else text


def _check_assignments(plan: Plan, problems: list[str]) -> None:
    spec = plan.template.plan
    if spec.assign_by == "all":
        return
    known = {r.name.casefold(): r.name for r in plan.recipients}
    header = spec.column(spec.assign_by).header
    for item in plan.items:
        names = split_recipients(item.get(spec.assign_by))
        row = plan.rows[item[spec.key]]
        if not names:
            problems.append(f"{spec.items_sheet} row {row}: action {item[spec.key]} has no {header}.")
        fixed = []
        for name in names:
            if name.casefold() not in known:
                problems.append(
                    f"{spec.items_sheet} row {row}: {header} '{name}' of {item[spec.key]} "
                    f"is not on the {spec.recipients_sheet} sheet."
                )
            fixed.append(known.get(name.casefold(), name))
        item[spec.assign_by] = "; ".join(fixed)  # canonical spelling for matching later
