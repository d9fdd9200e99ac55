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
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from xlplan.errors import TemplateError
from xlplan.rules import KINDS, Columns, RuleKind, SpecError, suggest
from xlplan.rules import folded as folded  # re-exported: LockedRows and callers compare with it

ColumnType = Literal["text", "number", "date", "choice"]
Source = Literal["plan", "previous", "input"]
SheetKind = Literal["rows", "groups"]
Severity = Literal["error", "warning"]

_TYPES = {"text", "number", "date", "choice"}
_RULE_KINDS = set(KINDS)
_SUMMARY_KINDS = {"status", "distribution"}
_STATUS_SUMMARY = {"kind", "title", "status", "attention", "complete", "outcomes"}
_ROLES = {"label", "progress", "due", "revised", "contradictions"}

# Each rule kind's parameters: (required, optional), from its class in rules.py (kept for
# callers that listed them from here).
RULE_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    kind: (
        frozenset(f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING),
        frozenset(f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING),
    )
    for kind, cls in KINDS.items()
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
    params: dict[str, Any] = field(default_factory=dict)  # as written in the template
    name: str = ""  # optional: how `roles` refers to it

    @functools.cached_property
    def check(self) -> RuleKind:
        """The rule as its kind's class (rules.py): typed parameters, check, target column."""
        return KINDS[self.kind].from_params(self.params, ())


@dataclass(frozen=True)
class Roles:
    """What the code needs to know of a template's columns, declared (`roles:`) or defaulted.

    label: the plan column that names an item; progress: the return's main note (an editable
    text column); due: the plan's due date; revised: where a recipient proposes a new one;
    contradictions: the tolerance rule whose disagreements the master lists as questions.
    """

    label: str = ""
    progress: str | None = None
    due: str | None = None
    revised: str | None = None
    contradictions: Rule | None = None


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
    digest: str = ""  # SHA-256 of the YAML it was read from: a cached plan is for this template only
    roles: Roles = field(default_factory=Roles)  # resolved at load: declared, else the documented defaults

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

    @property
    def status_key(self) -> str | None:
        """The rows-sheet column holding an item's status (`summary.status`), if it has one."""
        return self.status_column

    @property
    def attention(self) -> tuple[str, ...]:
        """The statuses that need attention (`summary.attention`), as the choice list spells them."""
        return tuple(str(s) for s in _listed(self.summary.get("attention")))

    @property
    def complete(self) -> str | None:
        """The status that means complete (`summary.complete`), if any."""
        value = self.summary.get("complete")
        return None if value is None else str(value)

    @property
    def label_key(self) -> str:
        """The plan column that names an item in reports (`roles.label`)."""
        return self.roles.label or self.plan.key

    @property
    def progress_key(self) -> str | None:
        """The return's main note (`roles.progress`): an editable text column, if any."""
        return self.roles.progress

    @property
    def due_key(self) -> str | None:
        """The plan's due date (`roles.due`), if the plan has one."""
        return self.roles.due

    @property
    def revised_key(self) -> str | None:
        """Where a recipient proposes a new due date (`roles.revised`), if anywhere."""
        return self.roles.revised

    @property
    def contradictions_rule(self) -> Rule | None:
        """The tolerance rule the master's contradictions are judged by (`roles.contradictions`)."""
        return self.roles.contradictions

    @functools.cached_property
    def rule_columns(self) -> Columns:
        """The columns as the rule kinds check and read them."""
        rows = self.rows_sheet.columns
        previous: dict[str, str] = {}
        for c in rows:
            if c.source == "previous" and c.field:
                previous.setdefault(c.field, c.key)
        return Columns(
            rows={c.key: c.choices for c in reversed(rows)},
            plan={c.key: c.choices for c in self.plan.columns},
            choices={k: v.names for k, v in self.choices.items()},
            previous=previous,
            status=self.status_column,
        )


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


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
    """The template in YAML `text`, read from `source`; a TemplateError names the file, the
    line and the word of the first mistake found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise TemplateError(f"{source}: not valid YAML: {exc}", file=source, line=line) from exc
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: expected a mapping at the top level", file=source, line=1)
    try:
        return dataclasses.replace(_build(raw, source), digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
    except SpecError as exc:
        line = line_of(text, exc.at)
        where = f"{source}: line {line}" if line else source
        raise TemplateError(f"{where}: {exc}", file=source, line=line, word=exc.word) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TemplateError(f"{source}: {exc}", file=source) from exc


def line_of(text: str, at: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the YAML node at path `at` (keys and list positions), or of the
    nearest node above it that the path reaches. Worked out only for a mistake."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for step in at:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(step):
                    found, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            found = node.value[step]
            line = found.start_mark.line + 1
        if found is None:
            break
        node = found
    return line


def _at(at: tuple[str | int, ...], build: Any, *args: Any) -> Any:
    """build(*args), any mistake it finds placed at `at` (its own path, if it knows one, below that)."""
    try:
        return build(*args)
    except SpecError as exc:
        raise SpecError(str(exc), (*at, *exc.at), exc.word) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(str(exc), at) from exc


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
        columns=tuple(
            _at(("plan", "columns", i), _plan_column, c) for i, c in enumerate(_need(plan_raw, "columns", "plan"))
        ),
        previous_key=plan_raw.get("previous_key", ""),
        group_id=plan_raw.get("group_id", ""),
    )
    sheets = tuple(
        _at(("sheets", i), _sheet, s, choices, plan) for i, s in enumerate(_need(raw, "sheets", "the template"))
    )
    rules = tuple(_at(("rules", i), _rule, r, i) for i, r in enumerate(raw.get("rules") or ()))
    rules += tuple(r for s in sheets for r in _locked_row_rules(s, choices))
    summary = raw.get("summary") or {}
    if not isinstance(summary, dict):
        raise SpecError("summary must be a mapping", ("summary",))
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
        distribution=_at(("summary",), _distribution, summary),
    )
    _check(template)
    return _with_roles(template, raw.get("roles"))


def _plan_column(raw: dict[str, Any]) -> PlanColumn:
    try:
        return PlanColumn(**raw)
    except TypeError as exc:
        raise ValueError(f"plan column {raw.get('key')}: {exc}") from exc


def _sheet(raw: dict[str, Any], choices: dict[str, ChoiceList], plan: PlanSpec) -> Sheet:
    name = _need(raw, "name", "a sheet")
    columns = [
        _at(("columns", j), _column, c, name, choices, plan)
        for j, c in enumerate(_need(raw, "columns", f"sheet {name}"))
    ]
    if raw.get("kind", "rows") not in ("rows", "groups"):
        raise SpecError(f"sheet {name}: unknown kind {raw.get('kind')!r} (rows or groups)", ("kind",))
    return Sheet(
        name=name,
        kind=raw.get("kind", "rows"),
        title=raw.get("title", name),
        help=raw.get("help", ""),
        columns=tuple(columns),
        locked_rows=_at(("locked_rows",), _locked_rows, raw, name, columns),
    )


def _column(raw: dict[str, Any], name: str, choices: dict[str, ChoiceList], plan: PlanSpec) -> Column:
    c = dict(raw)
    c["source"] = c.pop("from", "input")
    where = f"sheet {name}, column {c.get('key')}"
    if c["source"] not in ("plan", "previous", "input"):
        raise ValueError(f"{where}: unknown from {c['source']!r} (plan, previous or input)")
    if c["source"] == "plan" and "type" not in c:
        c["type"] = next((p.type for p in plan.columns if p.key == c.get("key")), "text")  # keeps its plan type
    fields = {f.name for f in dataclasses.fields(Column)}
    for key in c:
        if key not in fields:
            raise SpecError(f"{where}: unknown option {key!r}{suggest(key, fields - {'source'})}", (key,), key)
    col = Column(**c)
    if col.type not in _TYPES:
        raise SpecError(f"{where}: unknown type {col.type!r}{suggest(col.type, _TYPES)}", ("type",), col.type)
    if col.choices and col.choices not in choices:
        raise SpecError(
            f"{where}: no choice list {col.choices!r}{suggest(col.choices, choices)}", ("choices",), col.choices
        )
    if col.carry and not col.editable:
        raise ValueError(f"{where}: only an input column can carry its value forward")
    return col


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
        raise SpecError(
            f"unknown summary kind {kind!r}{suggest(str(kind), _SUMMARY_KINDS)} (known: {', '.join(sorted(_SUMMARY_KINDS))})",
            ("kind",),
            str(kind),
        )
    if kind != "distribution":
        return None
    known = {"kind", "title", "column", "collate", "nonresponse_flag", "split_flag", "sheet"}
    unknown = sorted(set(summary) - known)
    if unknown:
        raise SpecError(
            f"summary: unknown option(s) {', '.join(unknown)}{suggest(unknown[0], known)} ({', '.join(sorted(known))})",
            (unknown[0],),
            unknown[0],
        )
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


def _rule(raw: dict[str, Any], _i: int = 0) -> Rule:
    """One rule as written: its kind's class checks its parameters by name and type."""
    raw = dict(raw)
    kind = _need(raw, "kind", "a rule")
    if kind not in KINDS:
        raise SpecError(
            f"unknown rule kind {kind!r}{suggest(str(kind), KINDS)} (known: {', '.join(sorted(KINDS))})",
            ("kind",),
            str(kind),
        )
    severity = raw.pop("severity", "error")
    if severity not in ("error", "warning"):
        raise SpecError(
            f"rule {kind}: severity must be error or warning, not {severity!r}", ("severity",), str(severity)
        )
    message = _need(raw, "message", f"rule {kind}")
    name = raw.pop("name", "")
    del raw["kind"], raw["message"]
    rule = Rule(kind=kind, severity=severity, message=str(message), params=raw, name=str(name or ""))
    rule.__dict__["check"] = KINDS[kind].from_params(raw, ())  # the cached property, filled now: refused now
    return rule


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
    _check_rules(t)
    _check_summary(t, rows)


def _check_rules(t: Template) -> None:
    """Each rule's columns exist and hold the values it names; its message's {names} are
    columns or its kind's own words (a misspelt one would be shown as typed)."""
    rows_at = next(i for i, s in enumerate(t.sheets) if s.kind == "rows")
    known_words = {c.key for c in t.rows_sheet.columns} | {c.key for c in t.plan.columns}
    for i, rule in enumerate(t.rules):
        at: tuple[str | int, ...] = ("sheets", rows_at, "locked_rows") if rule.params.get("derived") else ("rules", i)
        rule.check.check_columns(t.rule_columns, at)
        for word in _fields_of(rule.message):
            if word not in known_words and word not in rule.check.words:
                allowed = sorted(known_words | set(rule.check.words))
                raise SpecError(
                    f"rule {rule.kind}: the message names {{{word}}}, which is not a column{suggest(word, allowed)}; "
                    "write {{ and }} for a brace that is not a name",
                    (*at, "message"),
                    word,
                )


def _fields_of(message: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(message) if name]
    except ValueError as exc:  # a lone { or }
        raise SpecError(f"a rule's message {message!r}: {exc}; write {{{{ and }}}} for a brace", (), message) from exc


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
    _at(("summary", "outcomes"), _outcomes, t)
    status = t.summary.get("status")
    if status is not None and rows.column(str(status)) is None:
        known = [c.key for c in rows.columns]
        raise SpecError(
            f"summary.status {status!r} is not a column of sheet {rows.name}{suggest(str(status), known)}",
            ("summary", "status"),
            str(status),
        )
    title = t.summary.get("title")
    if title is not None and title not in {c.key for c in t.plan.columns}:
        known = [c.key for c in t.plan.columns]
        raise SpecError(
            f"summary.title {title!r} is not a plan column{suggest(str(title), known)}",
            ("summary", "title"),
            str(title),
        )
    if t.distribution is None:
        _check_statuses(t)
        return
    d = t.distribution
    col = rows.column(d.column)
    if col is None or not col.editable or col.type != "choice" or not col.choices:
        raise SpecError(
            f"summary.column {d.column!r} must be an editable choice column of sheet {rows.name}",
            ("summary", "column"),
            d.column,
        )
    for i, key in enumerate(d.collate):
        other = rows.column(key)
        if other is None or not other.editable:
            raise SpecError(
                f"summary.collate: {key!r} is not an editable column of sheet {rows.name}",
                ("summary", "collate", i),
                key,
            )


def _check_statuses(t: Template) -> None:
    """A status summary's options are known, and the statuses it names are the status column's."""
    unknown = sorted(set(t.summary) - _STATUS_SUMMARY)
    if unknown:
        raise SpecError(
            f"summary: unknown option {unknown[0]!r}{suggest(unknown[0], _STATUS_SUMMARY)} "
            f"(a status summary takes {', '.join(sorted(_STATUS_SUMMARY))})",
            ("summary", unknown[0]),
            unknown[0],
        )
    named: list[tuple[str, int | None, Any]] = [
        ("attention", i, v) for i, v in enumerate(_listed(t.summary.get("attention")))
    ]
    named += [("complete", None, v) for v in _listed(t.summary.get("complete"))[:1]]
    if named and t.status_choices is None:
        raise SpecError(
            f"summary.{named[0][0]} needs summary.status: an editable choice column holding each item's status",
            ("summary", named[0][0]),
            named[0][0],
        )
    allowed = t.status_choices.names if t.status_choices else ()
    for option, i, value in named:
        if str(value) not in allowed:
            raise SpecError(
                f"summary.{option}: {str(value)!r} is not a status: the {t.status_column} column's choices are "
                f"{', '.join(allowed)}{suggest(str(value), allowed)}",
                ("summary", option) if i is None else ("summary", option, i),
                str(value),
            )


# --- roles: what the code needs to know of the columns --------------------------------


def _with_roles(t: Template, raw: Any) -> Template:
    """The template with its roles resolved: each as `roles:` declares it, else its default
    (README, "Roles"). A role set to null is declared absent (no due date, say)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError("roles must be a mapping {role: column}", ("roles",))
    for key in raw:
        if key not in _ROLES:
            raise SpecError(
                f"roles: unknown role {key!r}{suggest(str(key), _ROLES)} (roles: {', '.join(sorted(_ROLES))})",
                ("roles", key),
                str(key),
            )
    rows, spec = t.rows_sheet, t.plan
    editable = rows.editable_columns
    own = [r for r in t.rules if not r.params.get("derived")]
    overdue = next((r.check for r in own if r.kind == "overdue"), None)
    plan_dates = [c.key for c in spec.columns if c.type == "date"]

    def pick(role: str, default: str | None, allowed: list[str], what: str) -> str | None:
        if role not in raw:
            return default
        value = raw[role]
        if value is None:
            return None
        if str(value) not in allowed:
            raise SpecError(
                f"roles.{role}: {value!r} is not {what}{suggest(str(value), allowed)}", ("roles", role), str(value)
            )
        return str(value)

    title = t.summary.get("title")
    label = pick("label", str(title) if title else _widest_text(spec), [c.key for c in spec.columns], "a plan column")
    if label is None:
        raise SpecError("roles.label must name a plan column", ("roles", "label"), "label")
    if title and label != title:
        raise SpecError(
            f"roles.label {label!r} and summary.title {title!r} disagree: give one", ("roles", "label"), label
        )
    texts = [c.key for c in editable if c.type == "text"]
    dates = [c.key for c in editable if c.type == "date"]
    roles = Roles(
        label=label,
        progress=pick("progress", next(iter(texts), None), texts, "an editable text column of the rows sheet"),
        due=pick(
            "due", getattr(overdue, "date", None) or next(iter(plan_dates), None), plan_dates, "a plan date column"
        ),
        revised=pick(
            "revised", getattr(overdue, "revised", None) or next(iter(dates), None), dates, "an editable date column"
        ),
        contradictions=_contradictions(own, raw),
    )
    return dataclasses.replace(t, roles=roles, summary={"title": label, **t.summary})


def _widest_text(spec: PlanSpec) -> str:
    """The default label: the widest text column that is not the key, the group or the assignee."""
    others = [c for c in spec.columns if c.type == "text" and c.key not in (spec.key, spec.group_by, spec.assign_by)]
    return max(others, key=lambda c: c.width).key if others else spec.key


def _contradictions(rules: list[Rule], raw: dict[str, Any]) -> Rule | None:
    """The tolerance rule named by `roles.contradictions`, else the first one; null: none."""
    measures = [r for r in rules if r.kind == "tolerance"]
    if "contradictions" not in raw:
        return measures[0] if measures else None
    name = raw["contradictions"]
    if name is None:
        return None
    found = next((r for r in measures if r.name == str(name)), None)
    if found is None:
        named = [r.name for r in measures if r.name]
        raise SpecError(
            f"roles.contradictions: no tolerance rule has name: {name!r}{suggest(str(name), named)}",
            ("roles", "contradictions"),
            str(name),
        )
    return found
