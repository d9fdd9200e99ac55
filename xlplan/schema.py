"""Template spec -> Pandera schemas: the one source of both the dropdowns and the checks.

Two schemas are built per template, one per severity, so that errors and warnings
are each reported in full in one lazy pass. Column checks come from column types
and choice lists; cross-field checks come from the template's declared rules, each
rule kind being one class in `rules.py` (its parameters, its check, its target column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa

from xlplan.codes import Code
from xlplan.rules import AS_OF as AS_OF  # re-exported: their home before rules.py
from xlplan.rules import START as START
from xlplan.rules import Columns
from xlplan.rules import Judged as Judged
from xlplan.rules import expected_status as expected_status
from xlplan.rules import judge_frame as judge_frame
from xlplan.rules import judge_measures as judge_measures
from xlplan.template import Rule, Template
from xlplan.values import excel_length

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
    cols: Columns  # the template's columns, as the rule kinds know them

    def failing(self, df: pd.DataFrame, template: Template | None = None) -> pd.Series:
        return self.rule.check.failing(df, self.cols)

    @property
    def has_words(self) -> bool:
        """Whether its messages take words of their own (`words`)."""
        return bool(self.rule.check.words)

    def words(self, rows: pd.DataFrame) -> dict[Any, dict[str, str]]:
        """Extra words for the messages of the rows it failed on ({expected} and {basis} in
        the tolerance rule), by the frame's index: one vectorised pass for them all."""
        return self.rule.check.extra_words(rows) if self.has_words else {}


def rule_target(rule: Rule) -> str:
    """The column an issue from this rule points at."""
    return rule.check.points_at()


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
            rc = RuleCheck(rule, rule_target(rule), template.rule_columns)
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
