"""The plan: the `Plan` model, and reading `plan.xlsx` into one (`plan_workbook` writes one).

`plan.xlsx` is read tolerantly (header case and spacing, dates as dates or text,
trailing spaces; each sheet by `plan_sheets`); a broken plan is rejected with every
problem named by sheet, row and column. A plan read without problems is cached in the
folder (`load_plan`). Where the plan lives: `plan_folder`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from xlplan import __version__
from xlplan.decisions import DECISIONS_SHEET, Decision, apply_due_dates, read_decisions
from xlplan.errors import PlanError, XlplanError
from xlplan.files import atomic_path
from xlplan.ledger.records import plain
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import SETTINGS_SHEET, Recipient, as_written_key, read_items, read_recipients, read_settings
from xlplan.scan import workbook_problem
from xlplan.template import Template
from xlplan.template_load import load_template
from xlplan.values import Timescale, clean_text, is_blank, normalise_header, parse_date


def shown(item: dict[str, Any], key: str) -> Any:
    """An item's value as workbooks show it: a date written as words is shown as written
    beside the date it means ("March 2025 (31/03/2025)", "Ongoing"), else the value itself."""
    wording = item.get(as_written_key(key))
    if wording:
        return Timescale(item.get(key), wording).shown
    return item.get(key)


_SPLIT_RECIPIENTS = re.compile(r"[;\n]+")


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

    settings = read_settings(rows_of(SETTINGS_SHEET))
    template = load_template(settings.get("template") or "implementation-plan", folder.root)
    spec = template.plan
    problems: list[str] = []
    recipients = read_recipients(rows_of(spec.recipients_sheet), spec.recipients_sheet, problems)
    items, item_rows = read_items(rows_of(spec.items_sheet), template, problems)
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
