"""Template spec -> Pandera schemas: the one source of both the dropdowns and the checks.

Two schemas are built per template, one per severity, so that errors and warnings
are each reported in full in one lazy pass. Column checks come from column types
and choice lists; cross-field checks come from the template's declared rules, each
rule kind being generic code that any template can use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa

from xlplan.codes import Code
from xlplan.template import Rule, Template, folded
from xlplan.values import excel_length, format_value

AS_OF = "__as_of__"  # the cycle's reference date, added as a column for date rules
START = "__start__"  # the plan's start: where a measure's straight line to its target begins

# The names given to the column checks. A failed check's issue code is found by the start
# of its name, so Pandera's own names (isin(...), str_length(...)) are matched too.
CHOICE_CHECK = "choice"
LENGTH_CHECK = "too_long"
_CHECK_CODES = {
    CHOICE_CHECK: Code.BAD_CHOICE,
    "isin": Code.BAD_CHOICE,
    LENGTH_CHECK: Code.TOO_LONG,
    "str_length": Code.TOO_LONG,
}


def check_code(check: str) -> Code:
    """The issue code for a failed Pandera column check, by its name; FAILED_CHECK for any
    other. (The rules' checks, rule0, rule1, ..., get their rule kind's code: codes.RULE.)"""
    if check == "not_nullable":  # Pandera's name for an empty cell in a column that is not nullable
        return Code.REQUIRED
    return next((code for start, code in _CHECK_CODES.items() if check.startswith(start)), Code.FAILED_CHECK)


def _within(limit: int) -> Callable[[pd.Series], pd.Series]:
    """A column check: each text at most `limit` long as Excel counts it (``excel_length``:
    the template's max_length is the length validation Excel applies, in UTF-16 units, so
    20,000 emoji are as long as 40,000 letters). Not text: failing, as Pandera's str_length."""

    def check(series: pd.Series) -> pd.Series:
        lengths = series.str.len()
        # Only a text over half the limit in characters can be over it in UTF-16 units:
        # Python counts those few again, the rest stay vectorised.
        long = lengths > limit >> 1
        if long.any():
            lengths = lengths.copy()
            lengths[long] = [excel_length(text) for text in series[long]]
        return lengths <= limit

    return check


@dataclass(frozen=True)
class RuleCheck:
    """A declared rule made executable: which rows fail and where to point."""

    rule: Rule
    column: str  # the cell the issue points at

    def failing(self, df: pd.DataFrame, template: Template) -> pd.Series:
        return _KINDS[self.rule.kind](df, self.rule.params, template)

    @property
    def has_words(self) -> bool:
        """Whether its messages take words of their own (`words`)."""
        return self.rule.kind == "tolerance"

    def words(self, rows: pd.DataFrame) -> dict[Any, dict[str, str]]:
        """Extra words for the messages of the rows it failed on ({expected} and {basis} in
        the tolerance rule), by the frame's index: one vectorised pass for them all (a
        national collection has thousands)."""
        if not self.has_words or rows.empty:
            return {}
        p = self.rule.params
        judged = judge_frame(rows, p)
        baseline = rows[p["baseline"]] if p.get("baseline") in rows else pd.Series(None, index=rows.index)
        until = pd.Series(None, index=rows.index, dtype="object")
        for name in ("due", "target_date"):  # the target date where there is one, else the due date
            if p.get(name) in rows:
                until = rows[p[name]].where(rows[p[name]].notna(), until)
        start = rows[START] if START in rows else pd.Series(None, index=rows.index)
        return {
            i: {
                "expected": str(judged.expected[i]),
                "basis": judged.basis(i, baseline[i], start[i], until[i]),
            }
            for i in rows.index
        }


def _one_of(series: pd.Series, values: list[str] | str) -> pd.Series:
    """Cells holding one of `values`, compared as declared conditions are everywhere: as
    text, spaces collapsed, case ignored (the same test as `LockedRows.matches`).
    Each distinct value is folded once: choice columns have only a handful."""
    wanted = {folded(v) for v in (values if isinstance(values, list) else [values])}
    hits = [v for v in pd.unique(series.dropna()) if folded(v) in wanted]
    # Blank cells (None/NaN) hold none of the values: isin says False for them, in any dtype.
    return series.isin(hits)


def _in(df: pd.DataFrame, condition: dict[str, list[str]] | None) -> pd.Series:
    """Rows where every named column holds one of its values (all rows if no condition)."""
    mask = pd.Series(True, index=df.index)
    for column, values in (condition or {}).items():
        mask &= _one_of(df[column], values)
    return mask


def _not_in(df: pd.DataFrame, condition: dict[str, list[str]] | None) -> pd.Series:
    """Rows an `unless` condition leaves in: all rows when there is no condition."""
    if not condition:
        return pd.Series(True, index=df.index)
    return ~_in(df, condition)


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | series.astype("string").str.strip().fillna("").eq("")


def _required_when(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    columns = p["column"] if isinstance(p["column"], list) else [p["column"]]
    all_blank = pd.Series(True, index=df.index)
    for column in columns:
        all_blank &= _blank(df[str(column)])
    return _in(df, p.get("when")) & _not_in(df, p.get("unless")) & all_blank


def _blank_when(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    """The mirror of required_when: when the condition holds, the column(s) must be empty."""
    columns = p["column"] if isinstance(p["column"], list) else [p["column"]]
    any_filled = pd.Series(False, index=df.index)
    for column in columns:
        any_filled |= ~_blank(df[str(column)])
    return _in(df, p.get("when")) & _not_in(df, p.get("unless")) & any_filled


def _before(series: pd.Series, as_of: pd.Series) -> pd.Series:
    return series.notna() & (series.astype("object") < as_of).fillna(False).astype(bool)


def _overdue(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    due = df[p["date"]]
    late = _before(due, df[AS_OF])
    revised = p.get("revised")
    if revised:
        late &= df[revised].isna() | _before(df[revised], df[AS_OF])
    return _in(df, p.get("when")) & late


def _past_date(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    return _before(df[p["column"]], df[AS_OF]) & _not_in(df, p.get("unless"))


@dataclass(frozen=True)
class Judged:
    """What a measure's figures say, row by row (`judge_measures`)."""

    expected: pd.Series  # the status the figures suggest; "" where they cannot say
    goal: pd.Series  # what the actual was judged against: the target, or the line's value by now
    on_line: pd.Series  # judged against the straight line to the target (before the target date)
    lower: pd.Series  # lower is better

    def basis(self, i: Any, baseline: Any, start: Any, until: Any) -> str:
        """Words for {basis} in the message: how row `i`'s figures were judged."""
        lower = bool(self.lower[i])
        if not bool(self.on_line[i]):
            return " (lower is better)" if lower else ""
        goal = round(float(self.goal[i]), 1)
        return (
            f" ({format_value(goal)} expected by now, on the straight line from {format_value(baseline)} "
            f"on {format_value(start)} to the target by {format_value(until)}"
            f"{', lower is better' if lower else ''})"
        )


def _numbers(values: Any, index: pd.Index) -> pd.Series:
    return pd.to_numeric(pd.Series(values, index=index, dtype="object"), errors="coerce").astype(float)


def _days(values: Any, index: pd.Index) -> pd.Series:
    """Dates as day numbers (float, NaN where there is none), for the straight line."""
    stamps = pd.to_datetime(pd.Series(values, index=index, dtype="object"), errors="coerce")
    return (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


def judge_measures(
    p: dict[str, Any],
    actual: Any,
    target: Any,
    *,
    direction: Any = None,
    baseline: Any = None,
    until: Any = None,
    start: Any = None,
    as_of: Any = None,
    index: pd.Index | None = None,
) -> Judged:
    """The status each row's figures suggest under a `tolerance` rule's parameters `p`.

    Each argument is a sequence (or a Series) of the rows' values: `until` the date the
    target is for (the target date, else the due date), `start` the plan's start, `as_of`
    the cycle's deadline. A lower figure is better where `direction` holds one of `p["lower"]`.

    - From the target date on (or with no date), the actual is judged against the target:
      at or beyond it `at_or_above`, short of it by no more than `tolerance` of the target
      `within`, else `below`.
    - Before the target date, with a baseline and a start before that date, it is judged
      the same way against the straight line from the baseline at the start to the target
      at the date, as Camms computes expected progress: 1,050 of an annual 1,200 from 0,
      ten months in, is on track (1,000 expected).
    - Before the target date without a line, only a target already met says anything.

    One vectorised pass: the validation runs it over every row of a national collection.
    """
    index = index if index is not None else pd.RangeIndex(len(actual))
    nan = pd.Series(float("nan"), index=index)
    a, t = _numbers(actual, index), _numbers(target, index)
    lower = (
        _one_of(pd.Series(direction, index=index, dtype="object"), p["lower"])
        if direction is not None and "lower" in p
        else pd.Series(False, index=index)
    )
    b = _numbers(baseline, index) if baseline is not None else nan
    end = _days(until, index) if until is not None else nan
    begin = _days(start, index) if start is not None else nan
    now = _days(as_of, index) if as_of is not None else nan
    before = (now < end).fillna(False).astype(bool)
    on_line = before & b.notna() & (begin < end).fillna(False).astype(bool)
    share = ((now - begin) / (end - begin)).clip(0, 1).where(on_line, 1.0)
    goal = (b + (t - b) * share).where(on_line, t)
    scale = goal.abs().where(goal.ne(0), t.abs())
    sign = lower.map({True: -1.0, False: 1.0}).astype(float)
    shortfall = sign * (goal - a) / scale
    expected = pd.Series(p["below"], index=index, dtype="object")
    expected[shortfall <= p["tolerance"]] = p["within"]
    expected[shortfall <= 0] = p["at_or_above"]
    usable = a.notna() & t.notna() & t.ne(0) & scale.ne(0)
    usable &= ~(before & ~on_line & expected.ne(p["at_or_above"]))
    expected[~usable] = ""
    return Judged(expected, goal, on_line, lower)


def judge_frame(df: pd.DataFrame, p: dict[str, Any]) -> Judged:
    """`judge_measures` over a validation frame (its rows are a return's, with AS_OF and START)."""

    def column(name: str) -> Any:
        key = p.get(name)
        return df[key] if key and key in df else None

    until = column("target_date")
    due = column("due")
    if until is None:
        until = due
    elif due is not None:
        until = until.where(until.notna(), due)
    return judge_measures(
        p,
        df[p["actual"]],
        df[p["target"]],
        direction=column("direction"),
        baseline=column("baseline"),
        until=until,
        start=df.get(START),
        as_of=df.get(AS_OF),
        index=df.index,
    )


def expected_status(actual: Any, target: Any, p: dict[str, Any]) -> str:
    """The status a lone actual against its target suggests, higher being better and the
    target due (`judge_measures` for one row, with no direction, baseline or dates)."""
    return str(judge_measures(p, [actual], [target]).expected.iloc[0])


def _tolerance(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    status = df[p["status"]]
    usable = df[p["actual"]].notna() & df[p["target"]].notna() & status.isin(p["applies_to"])
    failing = pd.Series(False, index=df.index)
    if usable.any():  # most rows of a return have no figure: judge only those that do
        judged = judge_frame(df[usable], p)
        failing[usable] = judged.expected.ne("") & judged.expected.ne(status[usable])
    return failing


def _unchanged(df: pd.DataFrame, p: dict[str, Any], t: Template) -> pd.Series:
    column = p["column"]
    prev = next((c.key for c in t.rows_sheet.columns if c.source == "previous" and c.field == column), None)
    if prev is None or prev not in df:
        return pd.Series(False, index=df.index)
    # Only rows with text both now and last cycle can be unchanged: compare just those
    # (collapsing the spaces of every note in a national return costs most of this rule).
    both = ~_blank(df[column]) & ~_blank(df[prev])
    same = pd.Series(False, index=df.index)
    if both.any():
        now = df.loc[both, column].astype("string").str.split().str.join(" ")
        before = df.loc[both, prev].astype("string").str.split().str.join(" ")
        same[both] = (now == before).fillna(False).astype(bool)
    return same & _not_in(df, p.get("unless"))


_KINDS = {
    "required_when": _required_when,
    "blank_when": _blank_when,
    "overdue": _overdue,
    "past_date": _past_date,
    "tolerance": _tolerance,
    "unchanged": _unchanged,
}


def rule_target(rule: Rule) -> str:
    """The column an issue from this rule points at."""
    p = rule.params
    column = p.get("column") or p.get("status") or p.get("date")
    if rule.kind == "overdue":
        column = next(iter(p.get("when") or {}), p["date"])
    return str(column[0] if isinstance(column, list) else column)


def build_schemas(template: Template) -> dict[str, tuple[pa.DataFrameSchema, dict[str, RuleCheck]]]:
    """{severity: (schema, {check name: RuleCheck})} for the template's rows sheet."""
    sheet = template.rows_sheet
    out: dict[str, tuple[pa.DataFrameSchema, dict[str, RuleCheck]]] = {}
    for severity in ("error", "warning"):
        columns: dict[str, pa.Column] = {}
        if severity == "error":
            # With locked rows, "required" is a derived required_when rule that spares them.
            spared = sheet.locked_rows is not None
            for col in sheet.editable_columns:
                checks = []
                if col.choices:
                    checks.append(pa.Check.isin(list(template.choices[col.choices].names), name=CHOICE_CHECK))
                if col.max_length:
                    checks.append(pa.Check(_within(col.max_length), name=LENGTH_CHECK))
                nullable = not col.required or spared
                columns[col.key] = pa.Column(object, checks=checks, nullable=nullable, required=False)
        rules: dict[str, RuleCheck] = {}
        checks = []
        for n, rule in enumerate(template.rules):
            if rule.severity != severity:
                continue
            name = f"rule{n}"
            rc = RuleCheck(rule, rule_target(rule))
            rules[name] = rc
            checks.append(pa.Check(lambda df, rc=rc: ~rc.failing(df, template), name=name))
        out[severity] = (pa.DataFrameSchema(columns, checks=checks, coerce=False), rules)
    return out


def columns_needed(schema: pa.DataFrameSchema, rules: dict[str, RuleCheck], template: Template) -> list[str]:
    """The frame columns a schema reads: its own columns and those its rules name (and last
    cycle's copy of each). A rule failing on a row is reported once per column of the frame
    validated, so a narrower frame halves Pandera's work on a return with many warnings."""
    sheet = template.rows_sheet
    keys = {c.key for c in sheet.columns} | set(template.rule_plan_keys)
    named = {s for rc in rules.values() for s in _strings(rc.rule.params) if s in keys} | set(schema.columns)
    named |= {c.key for c in sheet.columns if c.source == "previous" and c.field in named}
    ordered = [c.key for c in sheet.columns] + list(template.rule_plan_keys)
    return [k for k in ordered if k in named] + [AS_OF, START]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def frame(rows: list[dict[str, Any]], template: Template, as_of: date, start: date | None = None) -> pd.DataFrame:
    """Typed row values -> a dataframe with every column the rules refer to: the rows
    sheet's, the plan's that rules read (`Template.rule_plan_keys`), the cycle's date and
    the plan's start (None: no straight line to a target can be drawn)."""
    keys = [c.key for c in template.rows_sheet.columns] + list(template.rule_plan_keys)
    df = pd.DataFrame(rows, columns=keys, dtype="object")
    df = df.astype("object").where(pd.notna(df), None)
    df[AS_OF] = as_of
    df[START] = start
    return df
