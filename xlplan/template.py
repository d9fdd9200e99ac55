"""Template specs: the declarative description of a kind of return.

A spec in ``templates/*.yaml`` says which sheets a return has, which columns are
locked or editable, their types, the allowed values with colours and definitions,
and the rules checked on return. This module is the only parser of specs: the
generator, the reader and the validator all work from the frozen objects it returns.

Features any template may declare (none is specific to one kind of return):

- ``locked_rows`` on the rows sheet: rows the plan marks as not for filling in
  (``when`` plan columns, or last cycle's values shown on the sheet, hold given values:
  a completed action, say) are written locked and greyed, and a
  value in any of their editable cells is an error on return (derived
  ``blank_when`` rules, one per editable column, so the issue names the cell).
- ``carry: true`` on an input column: the item's last standing value is written into
  the next workbook, to stand until the recipient changes it.
- rule kinds, each generic code in ``schema.py``: ``required_when``,
  ``blank_when``, ``overdue``, ``past_date``, ``tolerance``, ``unchanged``.
- ``summary.kind``: ``status`` (one status per item: counts, attention, complete)
  or ``distribution`` (many respondents rate each item on an ordered choice list:
  the distribution, non-response, median and modal level, collated text, flags).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from xlplan.errors import TemplateError
from xlplan.values import clean_text

ColumnType = Literal["text", "number", "date", "choice"]
Source = Literal["plan", "previous", "input"]
SheetKind = Literal["rows", "groups"]
Severity = Literal["error", "warning"]

_TYPES = {"text", "number", "date", "choice"}
_RULE_KINDS = {"required_when", "blank_when", "overdue", "past_date", "tolerance", "unchanged"}
_SUMMARY_KINDS = {"status", "distribution"}

# Each rule kind's parameters: (required, optional). A parameter not listed is a misspelling
# and refused at load, not ignored at run time (a misspelt `direction` would silently
# judge every measure as higher-is-better).
_CONDITIONS = ("when", "unless")
RULE_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "required_when": (frozenset({"column"}), frozenset({*_CONDITIONS, "derived"})),
    "blank_when": (frozenset({"column"}), frozenset({*_CONDITIONS, "derived"})),
    "overdue": (frozenset({"date"}), frozenset({"revised", "when"})),
    "past_date": (frozenset({"column"}), frozenset({"unless"})),
    "tolerance": (
        frozenset({"actual", "target", "status", "tolerance", "at_or_above", "within", "below", "applies_to"}),
        # direction: a plan column; lower: its values that mean lower is better. baseline and
        # target_date (else due): plan columns for the straight line to the target.
        frozenset({"direction", "lower", "baseline", "target_date", "due"}),
    ),
    "unchanged": (frozenset({"column"}), frozenset({"unless"})),
}


@dataclass(frozen=True)
class Choice:
    value: str
    fill: str
    font: str
    definition: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChoiceList:
    key: str
    title: str
    values: tuple[Choice, ...]

    @functools.cached_property
    def names(self) -> tuple[str, ...]:  # asked once per cell of a choice column
        return tuple(c.value for c in self.values)

    def get(self, value: str) -> Choice | None:
        return next((c for c in self.values if c.value == value), None)

    def normalise(self, text: str) -> str | None:
        """The allowed value `text` unambiguously means, or None.

        Only case, surrounding spaces and declared aliases are forgiven: "green ",
        "GREEN" and "G" all mean Green. Anything else is for a person to correct.
        """
        wanted = " ".join(text.split()).casefold()
        for choice in self.values:
            if wanted == choice.value.casefold():
                return choice.value
            if any(wanted == alias.casefold() for alias in choice.aliases):
                return choice.value
        return None

    def suggest(self, text: str) -> str | None:
        """The closest allowed value to a typo such as "Grenn", if any is close."""
        lowered = {c.value.casefold(): c.value for c in self.values}
        close = difflib.get_close_matches(text.strip().casefold(), lowered, n=1, cutoff=0.6)
        return lowered[close[0]] if close else None


@dataclass(frozen=True)
class PlanColumn:
    key: str
    header: str
    type: ColumnType = "text"
    required: bool = False
    width: float = 14
    # type choice: the choice list its values must come from (read forgiving case, spaces
    # and aliases, as a return's are); the plan is refused naming any other value.
    choices: str | None = None
    several: bool = False  # a choice column may hold several values, separated by ";"


@dataclass(frozen=True)
class PlanSpec:
    items_sheet: str
    recipients_sheet: str
    recipient_label: str
    assign_by: str  # a plan column listing recipients, or "all"
    group_by: str
    key: str
    columns: tuple[PlanColumn, ...]
    # Optional: a plan column where the officer names an item's earlier ref when it is renamed
    # mid-cycle, so a return made before the rename is filed under the new ref.
    previous_key: str = ""
    # Optional: a plan column holding a stable id for each group (Big Action); without it, the
    # group's number is read from its title ("Big Action 3: ...", "BA3 ...").
    group_id: str = ""

    def column(self, key: str) -> PlanColumn:
        return next(c for c in self.columns if c.key == key)

    @property
    def item_label(self) -> str:
        """What one plan item is called in messages: 'action', 'proposal'."""
        name = self.items_sheet.lower()
        return name[:-1] if name.endswith("s") else name

    def items_count(self, n: int) -> str:
        return f"{n} {self.item_label}{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    source: Source = "input"
    field: str = ""  # for source "previous": which field of last cycle's values
    type: ColumnType = "text"
    choices: str | None = None
    required: bool = False
    width: float = 14
    max_length: int | None = None
    help: str = ""
    # An input column whose last standing value is written into the next workbook (a revised
    # due date proposed last cycle stands until the recipient changes it).
    carry: bool = False

    @property
    def editable(self) -> bool:
        return self.source == "input"


def folded(value: object) -> str:
    """A value as compared by declared conditions: text, spaces collapsed, case ignored."""
    return " ".join(clean_text(value).split()).casefold()


@dataclass(frozen=True)
class LockedRows:
    """Rows the plan marks as not for filling in: shown locked and greyed, checked blank on return.

    A row is locked when every plan column named in `when` holds one of its values
    (compared ignoring case and extra spaces). The columns are plan columns shown on
    the sheet, so the generator decides from the plan and the validator from the
    returned row (whose locked values are themselves checked against the plan).
    """

    when: dict[str, tuple[str, ...]]
    note: str
    # "error": a value in a locked row holds the return back (a row not for this recipient);
    # "warning": it is kept and flagged (a completed action someone reported on again).
    severity: Literal["error", "warning"] = "error"

    def matches(self, values: Mapping[str, Any]) -> bool:
        return all(folded(values.get(k)) in {folded(v) for v in allowed} for k, allowed in self.when.items())


@dataclass(frozen=True)
class Sheet:
    name: str
    kind: SheetKind
    title: str
    help: str
    columns: tuple[Column, ...]
    locked_rows: LockedRows | None = None

    def row_locked(self, values: Mapping[str, Any]) -> bool:
        """Whether a row with these values (plan values by column key) is locked whole."""
        return self.locked_rows is not None and self.locked_rows.matches(values)

    @functools.cached_property
    def editable_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.editable)

    @functools.cached_property
    def locked_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.editable)

    def column(self, key: str) -> Column | None:
        return self._by_key.get(key)

    @functools.cached_property
    def _by_key(self) -> dict[str, Column]:  # asked once per issue: thousands in a national run
        return {c.key: c for c in reversed(self.columns)}  # reversed: the first of a key wins, as before


@dataclass(frozen=True)
class Rule:
    kind: str
    severity: Severity
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitFlag:
    spread: int | None = 2  # flag when the ratings given are this many levels apart or more
    majority: float | None = 0.5  # flag when no level has more than this share of the ratings given


@dataclass(frozen=True)
class DistributionSummary:
    """`summary: {kind: distribution}`: many respondents rate each item on an ordered choice list."""

    column: str  # the editable choice column rated; its choice list, in order, is the scale
    collate: tuple[str, ...] = ()  # editable text columns gathered with respondents' names
    nonresponse_flag: float | None = 0.5  # flag when this share (or more) of those asked gave no rating
    split_flag: SplitFlag = field(default_factory=SplitFlag)
    sheet: str = "Ratings"  # the master tracker sheet that shows it


@dataclass(frozen=True)
class TemplateWords:
    """`words:` what this kind of return calls its parts (see words.py for a plan's whole set)."""

    return_name: str = "return"
    item: str = ""
    items: str = ""
    recipient: str = ""
    recipients: str = ""
    group: str = ""
    status: str = ""
    attention: str = ""


WORD_KEYS = {"return": "return_name", **{k: k for k in ("item", "items", "recipient", "recipients", "group")}}
WORD_KEYS |= {"status": "status", "attention": "attention"}


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    title: str
    plan: PlanSpec
    choices: dict[str, ChoiceList]
    sheets: tuple[Sheet, ...]
    rules: tuple[Rule, ...]
    summary: dict[str, Any]
    source: str
    distribution: DistributionSummary | None = None
    declared_words: dict[str, str] = field(default_factory=dict)
    digest: str = ""  # SHA-256 of the YAML it was read from: a cached plan is for this template only

    @functools.cached_property
    def words(self) -> TemplateWords:
        """What the return, an item, a recipient, a group and the status are called: as the
        `words:` section declares, else worked out from the template itself."""
        w = self.declared_words
        item = w.get("item") or self.plan.item_label
        recipient = w.get("recipient") or self.plan.recipient_label
        group_col = next((c for c in self.plan.columns if c.key == self.plan.group_by), None)
        status_key = self.status_column or (self.distribution.column if self.distribution else "")
        status_col = self.rows_sheet.column(status_key)
        attention = [str(a) for a in self.summary.get("attention") or ()]
        return TemplateWords(
            return_name=w.get("return") or "return",
            item=item,
            items=w.get("items") or f"{item}s",
            recipient=recipient,
            recipients=w.get("recipients") or f"{recipient}s",
            group=w.get("group") or (group_col.header if group_col else "Group"),
            status=w.get("status") or (status_col.header if status_col else "status"),
            attention=w.get("attention") or " and ".join(attention),
        )

    @property
    def summary_kind(self) -> str:
        """`status` (one status per item, the default) or `distribution` (ratings from many)."""
        return str(self.summary.get("kind", "status"))

    @functools.cached_property
    def rows_sheet(self) -> Sheet:
        """The sheet with one row per plan item (the one sponsors mostly fill)."""
        return next(s for s in self.sheets if s.kind == "rows")

    @functools.cached_property
    def rule_plan_keys(self) -> tuple[str, ...]:
        """Plan columns the rules read that the rows sheet does not show (a measure's direction,
        its baseline): the checks take them from the plan, as they do the locked columns."""
        shown = {c.key for c in self.rows_sheet.columns}
        plan = [c.key for c in self.plan.columns if c.key not in shown]
        named = {str(v) for r in self.rules for v in r.params.values() if isinstance(v, str)}
        return tuple(k for k in plan if k in named)

    @functools.cached_property
    def groups_sheet(self) -> Sheet | None:
        return next((s for s in self.sheets if s.kind == "groups"), None)

    @functools.cached_property
    def outcomes(self) -> OutcomesSummary | None:
        """Progress by outcome (`summary.outcomes`), or None when the template has none."""
        return _outcomes(self)

    @property
    def status_column(self) -> str | None:
        return self.summary.get("status")

    @property
    def status_choices(self) -> ChoiceList | None:
        col = self.rows_sheet.column(self.status_column or "")
        return self.choices[col.choices] if col and col.choices else None

    def _overdue_param(self, name: str) -> str | None:
        rule = next((r for r in self.rules if r.kind == "overdue" and r.params.get(name)), None)
        return str(rule.params[name]) if rule else None

    @property
    def due_key(self) -> str | None:
        """The plan's due date: the `overdue` rule's date, else the first plan date column."""
        return self._overdue_param("date") or next((c.key for c in self.plan.columns if c.type == "date"), None)

    @property
    def revised_key(self) -> str | None:
        """Where a recipient proposes a new due date: the `overdue` rule's revised date, else
        the first editable date column of the rows sheet."""
        found = self._overdue_param("revised")
        return found or next((c.key for c in self.rows_sheet.editable_columns if c.type == "date"), None)


# --- loading -----------------------------------------------------------------


def builtin_names() -> list[str]:
    root = resources.files("xlplan.templates")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_template(name: str, search: Path | None = None) -> Template:
    """Load template `name`: from `search/templates/` if the plan folder has its own, else built in."""
    if search is not None:
        local = search / "templates" / f"{name}.yaml"
        if local.is_file():
            return parse_template(local.read_text(encoding="utf-8"), str(local))
    ref = resources.files("xlplan.templates") / f"{name}.yaml"
    if not ref.is_file():
        known = ", ".join(builtin_names()) or "none"
        raise TemplateError(f"No template called {name!r}. Known templates: {known}.")
    return parse_template(ref.read_text(encoding="utf-8"), f"templates/{name}.yaml")


def parse_template(text: str, source: str) -> Template:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: expected a mapping at the top level")
    try:
        return dataclasses.replace(_build(raw, source), digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{source}: {exc}") from exc


def _need(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where} needs '{key}'")
    return mapping[key]


def _build(raw: dict[str, Any], source: str) -> Template:
    choices = {
        key: ChoiceList(
            key=key,
            title=spec.get("title", key),
            values=tuple(
                Choice(
                    value=str(v["value"]),
                    fill=v.get("fill", "#FFFFFF"),
                    font=v.get("font", "#000000"),
                    definition=v.get("definition", ""),
                    aliases=tuple(str(a) for a in v.get("aliases", ())),
                )
                for v in _need(spec, "values", f"choices.{key}")
            ),
        )
        for key, spec in (raw.get("choices") or {}).items()
    }
    for key, listed in choices.items():
        for choice in listed.values:
            if "," in choice.value or not choice.value.strip():
                raise ValueError(
                    f"choices.{key}: the value {choice.value!r} "
                    + ("contains a comma" if choice.value.strip() else "is empty")
                    + ": Excel's dropdown lists split values at commas, so it could never be chosen. "
                    "Write it without a comma (e.g. 'On hold - funding' for 'On hold, funding')."
                )
    plan_raw = _need(raw, "plan", "the template")
    plan = PlanSpec(
        items_sheet=_need(plan_raw, "items_sheet", "plan"),
        recipients_sheet=_need(plan_raw, "recipients_sheet", "plan"),
        recipient_label=plan_raw.get("recipient_label", "recipient"),
        assign_by=plan_raw.get("assign_by", "all"),
        group_by=plan_raw.get("group_by", ""),
        key=plan_raw.get("key", "ref"),
        columns=tuple(_plan_column(c) for c in _need(plan_raw, "columns", "plan")),
        previous_key=plan_raw.get("previous_key", ""),
        group_id=plan_raw.get("group_id", ""),
    )
    sheets = tuple(_sheet(s, choices, plan) for s in _need(raw, "sheets", "the template"))
    rules = tuple(_rule(r) for r in raw.get("rules") or ())
    rules += tuple(r for s in sheets for r in _locked_row_rules(s, choices))
    summary = raw.get("summary") or {}
    if not isinstance(summary, dict):
        raise ValueError("summary must be a mapping")
    template = Template(
        name=str(_need(raw, "name", "the template")),
        version=int(_need(raw, "version", "the template")),
        title=raw.get("title", raw["name"]),
        plan=plan,
        choices=choices,
        sheets=sheets,
        rules=rules,
        summary=summary,
        source=source,
        distribution=_distribution(summary),
        declared_words=_words(raw.get("words")),
    )
    _check(template)
    return template


def _words(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("words must be a mapping, e.g. {item: proposal, recipient: respondent}")
    unknown = set(raw) - set(WORD_KEYS)
    if unknown:
        close = {u: difflib.get_close_matches(str(u), WORD_KEYS, n=1) for u in sorted(map(str, unknown))}
        named = ", ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise ValueError(f"words: unknown word(s) {named}; known: {', '.join(WORD_KEYS)}")
    return {str(k): clean_text(v) for k, v in raw.items() if clean_text(v)}


def _plan_column(raw: dict[str, Any]) -> PlanColumn:
    try:
        return PlanColumn(**raw)
    except TypeError as exc:
        raise ValueError(f"plan column {raw.get('key')}: {exc}") from exc


def _sheet(raw: dict[str, Any], choices: dict[str, ChoiceList], plan: PlanSpec) -> Sheet:
    name = _need(raw, "name", "a sheet")
    plan_types = {c.key: c.type for c in plan.columns}
    columns = []
    for c in _need(raw, "columns", f"sheet {name}"):
        c = dict(c)
        c["source"] = c.pop("from", "input")
        if c["source"] not in ("plan", "previous", "input"):
            raise ValueError(
                f"sheet {name}, column {c.get('key')}: unknown from {c['source']!r} (plan, previous or input)"
            )
        if c["source"] == "plan" and "type" not in c:
            c["type"] = plan_types.get(c["key"], "text")  # a plan column keeps its plan type
        try:
            col = Column(**c)
        except TypeError as exc:
            raise ValueError(f"sheet {name}, column {c.get('key')}: {exc}") from exc
        if col.type not in _TYPES:
            raise ValueError(f"sheet {name}, column {col.key}: unknown type {col.type!r}")
        if col.choices and col.choices not in choices:
            raise ValueError(f"sheet {name}, column {col.key}: no choice list {col.choices!r}")
        if col.carry and not col.editable:
            raise ValueError(f"sheet {name}, column {col.key}: only an input column can carry its value forward")
        columns.append(col)
    if raw.get("kind", "rows") not in ("rows", "groups"):
        raise ValueError(f"sheet {name}: unknown kind {raw.get('kind')!r} (rows or groups)")
    return Sheet(
        name=name,
        kind=raw.get("kind", "rows"),
        title=raw.get("title", name),
        help=raw.get("help", ""),
        columns=tuple(columns),
        locked_rows=_locked_rows(raw, name, columns),
    )


def _locked_rows(raw: dict[str, Any], name: str, columns: list[Column]) -> LockedRows | None:
    spec = raw.get("locked_rows")
    if spec is None:
        return None
    where = f"sheet {name}, locked_rows"
    if raw.get("kind", "rows") != "rows":
        raise ValueError(f"{where}: only a sheet of kind 'rows' can lock rows")
    if not isinstance(spec, dict) or not isinstance(spec.get("when"), dict) or not spec["when"]:
        raise ValueError(f"{where} needs 'when': {{plan column: [values]}}")
    unknown = set(spec) - {"when", "note", "severity"}
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))} (when, note, severity)")
    severity = spec.get("severity", "error")
    if severity not in ("error", "warning"):
        raise ValueError(f"{where}: severity must be error or warning, not {severity!r}")
    by_key = {c.key: c for c in columns}
    when: dict[str, tuple[str, ...]] = {}
    for key, values in spec["when"].items():
        col = by_key.get(key)
        if col is None or col.editable:
            raise ValueError(
                f"{where}: {key!r} is not a plan column shown on this sheet (nor last cycle's value of one)"
            )
        values = values if isinstance(values, list) else [values]
        when[key] = tuple(str(v) for v in values)
    return LockedRows(when=when, note=str(spec.get("note", "")), severity=severity)


def _locked_row_rules(sheet: Sheet, choices: dict[str, ChoiceList]) -> list[Rule]:
    """What `locked_rows` means on return, as generic rules: every editable cell of a locked
    row must be blank (one rule per column, so each issue names its cell), and a required
    column is required everywhere else."""
    lock = sheet.locked_rows
    if lock is None:
        return []
    when = {k: list(v) for k, v in lock.when.items()}
    note = _literal(lock.note)
    told = "must stay blank" if lock.severity == "error" else "was filled in although this row is locked: kept"
    rules = [
        Rule(
            kind="blank_when",
            severity=lock.severity,
            message=f"{_literal(col.header)} {told}. {note}".strip(),
            params={"column": col.key, "when": when, "derived": True},
        )
        for col in sheet.editable_columns
    ]
    for col in sheet.editable_columns:
        if col.required:
            allowed = f": choose one of {', '.join(choices[col.choices].names)}" if col.choices else ""
            rules.append(
                Rule(
                    kind="required_when",
                    severity="error",
                    message=_literal(f"{col.header} is empty{allowed}."),
                    params={"column": col.key, "unless": when, "derived": True},
                )
            )
    return rules


def _literal(text: str) -> str:
    """Text put into a rule message verbatim (messages are str.format templates)."""
    return text.replace("{", "{{").replace("}", "}}")


def _distribution(summary: dict[str, Any]) -> DistributionSummary | None:
    kind = summary.get("kind", "status")
    if kind not in _SUMMARY_KINDS:
        raise ValueError(f"unknown summary kind {kind!r} (known: {', '.join(sorted(_SUMMARY_KINDS))})")
    if kind != "distribution":
        return None
    known = {"kind", "title", "column", "collate", "nonresponse_flag", "split_flag", "sheet"}
    unknown = set(summary) - known
    if unknown:
        raise ValueError(f"summary: unknown option(s) {', '.join(sorted(unknown))} ({', '.join(sorted(known))})")
    split_raw = summary.get("split_flag") or {}
    if not isinstance(split_raw, dict) or set(split_raw) - {"spread", "majority"}:
        raise ValueError("summary.split_flag must be a mapping with 'spread' and/or 'majority'")
    split = SplitFlag(
        spread=None if split_raw.get("spread", 2) is None else int(split_raw.get("spread", 2)),
        majority=None if split_raw.get("majority", 0.5) is None else float(split_raw.get("majority", 0.5)),
    )
    nonresponse = summary.get("nonresponse_flag", 0.5)
    if nonresponse is not None and not 0 <= float(nonresponse) <= 1:
        raise ValueError("summary.nonresponse_flag must be a share between 0 and 1 (e.g. 0.5)")
    collate = summary.get("collate") or []
    return DistributionSummary(
        column=str(_need(summary, "column", "a distribution summary")),
        collate=tuple(str(c) for c in (collate if isinstance(collate, list) else [collate])),
        nonresponse_flag=None if nonresponse is None else float(nonresponse),
        split_flag=split,
        sheet=str(summary.get("sheet", "Ratings"))[:31],
    )


def _rule(raw: dict[str, Any]) -> Rule:
    raw = dict(raw)
    kind = _need(raw, "kind", "a rule")
    if kind not in _RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r} (known: {', '.join(sorted(_RULE_KINDS))})")
    severity = raw.pop("severity", "error")
    if severity not in ("error", "warning"):
        raise ValueError(f"rule {kind}: severity must be error or warning")
    message = _need(raw, "message", f"rule {kind}")
    del raw["kind"], raw["message"]
    required, optional = RULE_PARAMS[kind]
    unknown = set(raw) - required - optional
    if unknown:
        close = {u: difflib.get_close_matches(u, required | optional, n=1) for u in sorted(unknown)}
        named = ", ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise ValueError(
            f"rule {kind}: unknown parameter(s) {named}; it takes {', '.join(sorted(required | optional))}"
        )
    missing = required - set(raw)
    if missing:
        raise ValueError(f"rule {kind} needs {', '.join(repr(m) for m in sorted(missing))}")
    return Rule(kind=kind, severity=severity, message=message, params=raw)


def _check(t: Template) -> None:
    """Cross-references a typo in a spec would otherwise turn into a KeyError at run time."""
    plan_keys = {c.key for c in t.plan.columns}
    for c in t.plan.columns:
        if c.type not in _TYPES:
            raise ValueError(f"plan column {c.key}: unknown type {c.type!r}")
        if c.choices and c.choices not in t.choices:
            raise ValueError(f"plan column {c.key}: no choice list {c.choices!r}")
        if c.several and not c.choices:
            raise ValueError(f"plan column {c.key}: only a column with choices can hold several")
    if t.plan.key not in plan_keys:
        raise ValueError(f"plan.key {t.plan.key!r} is not a plan column")
    if t.plan.assign_by != "all" and t.plan.assign_by not in plan_keys:
        raise ValueError(f"plan.assign_by {t.plan.assign_by!r} is not a plan column or 'all'")
    for name in ("previous_key", "group_id"):
        value = getattr(t.plan, name)
        if value and (value not in plan_keys or t.plan.column(value).required):
            raise ValueError(f"plan.{name} {value!r} is not an optional plan column")
    if [s.kind for s in t.sheets].count("rows") != 1:
        raise ValueError("a template needs exactly one sheet of kind 'rows'")
    for sheet in t.sheets:
        for col in sheet.columns:
            if col.source == "plan" and col.key not in plan_keys:
                raise ValueError(f"sheet {sheet.name}: column {col.key!r} is not a plan column")
    rows = t.rows_sheet
    if rows.columns[0].key != t.plan.key or rows.columns[0].source != "plan":
        raise ValueError(f"sheet {rows.name}: the first column must be the plan key {t.plan.key!r}")
    row_keys = {c.key for c in rows.columns}
    for rule in t.rules:
        if rule.kind == "blank_when":
            named = rule.params.get("column")
            named = named if isinstance(named, list) else [named]
            for key in [*named, *(rule.params.get("when") or {})]:
                if key not in row_keys:
                    raise ValueError(f"rule blank_when: {key!r} is not a column of sheet {rows.name}")
        if rule.kind == "tolerance":
            _check_tolerance(rule.params, row_keys, plan_keys, rows.name)
    _check_summary(t, rows)


def _check_tolerance(p: dict[str, Any], row_keys: set[str], plan_keys: set[str], sheet: str) -> None:
    """The columns a tolerance rule names exist: what comes back on the sheet, or the plan's own."""
    for name in ("actual", "status"):
        if p[name] not in row_keys:
            raise ValueError(f"rule tolerance: {name} {p[name]!r} is not a column of sheet {sheet}")
    for name in ("target", "direction", "baseline", "target_date", "due"):
        if name in p and p[name] not in plan_keys | row_keys:
            raise ValueError(f"rule tolerance: {name} {p[name]!r} is not a plan column")
    if ("direction" in p) != ("lower" in p):
        raise ValueError(
            "rule tolerance: 'direction' (a plan column) and 'lower' (its values meaning lower is better) go together"
        )
    if not isinstance(p["tolerance"], int | float) or not 0 <= p["tolerance"] < 1:
        raise ValueError(
            f"rule tolerance: tolerance must be a share between 0 and 1 (e.g. 0.05), not {p['tolerance']!r}"
        )


@dataclass(frozen=True)
class OutcomesSummary:
    """`summary: {outcomes: {column: ..., sheet: ...}}`: the plan maps each item to the
    outcomes it serves (national outcomes, say), and progress is shown by outcome."""

    column: str  # a plan column of type choice, several values allowed
    choices: str  # its choice list: the outcomes, in order, each defined in words
    sheet: str  # the master's sheet


def _outcomes(t: Template) -> OutcomesSummary | None:
    raw = t.summary.get("outcomes")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"column", "sheet"}:
        raise ValueError("summary.outcomes must be a mapping with 'column' and, optionally, 'sheet'")
    key = _need(raw, "column", "summary.outcomes")
    col = next((c for c in t.plan.columns if c.key == key), None)
    if col is None or not col.choices:
        raise ValueError(f"summary.outcomes.column {key!r} must be a plan column with choices")
    sheet = str(raw.get("sheet") or col.header + "s")
    if len(sheet) > 31 or any(ch in sheet for ch in "[]:*?/\\"):
        raise ValueError(f"summary.outcomes.sheet {sheet!r} is not a sheet name Excel allows")
    return OutcomesSummary(column=key, choices=col.choices, sheet=sheet)


def _check_summary(t: Template, rows: Sheet) -> None:
    _outcomes(t)
    status = t.summary.get("status")
    if status is not None and rows.column(str(status)) is None:
        raise ValueError(f"summary.status {status!r} is not a column of sheet {rows.name}")
    title = t.summary.get("title")
    if title is not None and title not in {c.key for c in t.plan.columns}:
        raise ValueError(f"summary.title {title!r} is not a plan column")
    d = t.distribution
    if d is None:
        return
    col = rows.column(d.column)
    if col is None or not col.editable or col.type != "choice" or not col.choices:
        raise ValueError(f"summary.column {d.column!r} must be an editable choice column of sheet {rows.name}")
    for key in d.collate:
        other = rows.column(key)
        if other is None or not other.editable:
            raise ValueError(f"summary.collate: {key!r} is not an editable column of sheet {rows.name}")
