"""Template specs: the declarative description of a kind of return.

A spec in ``templates/*.yaml`` says which sheets a return has, which columns are
locked or editable, their types, the allowed values with colours and definitions,
and the rules checked on return. This module holds the frozen objects a spec becomes,
which the generator, the reader and the validator all work from; `template_load` is the
only parser of specs.

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

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


# --- what a spec's summary says, read when asked ----------------------------------


def _need(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where} needs '{key}'")
    return mapping[key]


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
