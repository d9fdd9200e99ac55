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
from xlplan.values import excel_length

AS_OF = "__as_of__"  # the cycle's reference date, added as a column for date rules

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

    def expected(self, row: pd.Series) -> str:
        """Extra words for the message ({expected} in the tolerance rule)."""
        if self.rule.kind != "tolerance":
            return ""
        p = self.rule.params
        return expected_status(row[p["actual"]], row[p["target"]], p)


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


def expected_status(actual: Any, target: Any, p: dict[str, Any]) -> str:
    if actual is None or target is None or pd.isna(actual) or pd.isna(target) or target == 0:
        return ""
    shortfall = (target - actual) / abs(target)
    if shortfall <= 0:
        return p["at_or_above"]
    return p["within"] if shortfall <= p["tolerance"] else p["below"]


def _tolerance(df: pd.DataFrame, p: dict[str, Any], _t: Template) -> pd.Series:
    actual = pd.to_numeric(df[p["actual"]], errors="coerce")
    target = pd.to_numeric(df[p["target"]], errors="coerce")
    usable = actual.notna() & target.notna() & target.ne(0) & df[p["status"]].isin(p["applies_to"])
    shortfall = (target - actual) / target.abs()
    expected = pd.Series(p["below"], index=df.index, dtype="object")
    expected[shortfall <= p["tolerance"]] = p["within"]
    expected[shortfall <= 0] = p["at_or_above"]
    return usable & expected.ne(df[p["status"]])


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
    keys = {c.key for c in sheet.columns}
    named = {s for rc in rules.values() for s in _strings(rc.rule.params) if s in keys} | set(schema.columns)
    named |= {c.key for c in sheet.columns if c.source == "previous" and c.field in named}
    return [c.key for c in sheet.columns if c.key in named] + [AS_OF]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def frame(rows: list[dict[str, Any]], template: Template, as_of: date) -> pd.DataFrame:
    """Typed row values -> a dataframe with every column the rules refer to."""
    keys = [c.key for c in template.rows_sheet.columns]
    df = pd.DataFrame(rows, columns=keys, dtype="object")
    df = df.astype("object").where(pd.notna(df), None)
    df[AS_OF] = as_of
    return df
