"""The rule kinds a template may declare: one class per kind, in one place.

Each class holds everything its kind means: its typed parameters (the dataclass fields,
checked and refused by name when the template loads, with a "did you mean" for a
misspelling: a silently ignored `at_or_abve` would never fire), the columns they refer to
(each checked to exist on the rows sheet or in the plan), the column its issues point at,
the words its messages may use beyond the row's own values ({expected} and {basis} in
the tolerance rule), its issue code and its vectorised check over a return's frame.

The checks are pandas code over the validation frame `schema.frame` builds: the rows
sheet's columns, the plan columns the rules read, and the cycle's date (AS_OF) and the
plan's start (START). A template's use of a kind is data; the kind itself is generic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandas as pd

from xlplan.codes import Code
from xlplan.spec_errors import SpecError, suggest
from xlplan.values import clean_text, format_value

AS_OF = "__as_of__"  # the cycle's reference date, added as a column for date rules
START = "__start__"  # the plan's start: where a measure's straight line to its target begins

# What a parameter holds, as written in the YAML:
#   column: a rows-sheet column; columns: one or a list of them; plan: a plan column or a
#   rows-sheet one; condition: {rows-sheet column: value or [values]}; status: one of the
#   status column's values; statuses: a list of them; values: a list of any texts;
#   share: a number from 0 up to (not including) 1; flag: true or false.
Shape = Literal["column", "columns", "plan", "condition", "status", "statuses", "values", "share", "flag"]
Condition = dict[str, list[str]]


def param(shape: Shape, default: Any = dataclasses.MISSING) -> Any:
    """A rule parameter: what it holds (`Shape`), and its default when it is optional."""
    return dataclasses.field(default=default, metadata={"shape": shape})


@dataclass(frozen=True)
class Columns:
    """What a rule may name, as the loader knows it: for references and their choices."""

    rows: Mapping[str, str | None]  # rows-sheet column -> its choice list's name (None: no list)
    plan: Mapping[str, str | None]  # plan column -> its choice list's name
    choices: Mapping[str, tuple[str, ...]]  # choice list -> its values
    previous: Mapping[str, str]  # a field -> the rows-sheet column showing last cycle's value of it
    status: str | None  # the status column (summary.status), for `status` parameters


@dataclass(frozen=True)
class RuleKind:
    """The base of every rule kind: parameters are the fields of each subclass."""

    kind: ClassVar[str]
    code: ClassVar[Code]
    words: ClassVar[tuple[str, ...]] = ()  # message {names} it supplies beyond the row's values

    @classmethod
    def from_params(cls, raw: Mapping[str, Any], at: tuple[str | int, ...]) -> RuleKind:
        """The typed rule from a template's parameters, refusing unknown and missing ones."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name in raw:
            if name not in fields:
                raise SpecError(
                    f"rule {cls.kind}: unknown parameter(s) {name!r}{suggest(name, fields)}; "
                    f"it takes {', '.join(sorted(fields))}",
                    (*at, name),
                    name,
                )
        missing = sorted(n for n, f in fields.items() if n not in raw and f.default is dataclasses.MISSING)
        if missing:
            raise SpecError(f"rule {cls.kind} needs {', '.join(repr(m) for m in missing)}", at, missing[0])
        values = {
            name: _typed(cls.kind, name, fields[name].metadata["shape"], v, (*at, name)) for name, v in raw.items()
        }
        rule = cls(**values)
        rule.check_values(at)
        return rule

    def check_values(self, at: tuple[str | int, ...]) -> None:
        """Checks across parameters (a kind overrides it where it has them)."""

    def references(self) -> Iterator[tuple[str, str, Shape]]:
        """(parameter, column named, what it must be) for each column the rule names."""
        for f in dataclasses.fields(self):
            shape, value = f.metadata["shape"], getattr(self, f.name)
            if value is None:
                continue
            if shape in ("column", "plan"):
                yield f.name, value, shape
            elif shape == "columns":
                yield from ((f.name, v, "column") for v in value)
            elif shape == "condition":
                yield from ((f.name, k, "column") for k in value)

    def check_columns(self, cols: Columns, at: tuple[str | int, ...]) -> None:
        """Every column it names exists, and every value it names is one of that column's choices."""
        for name, column, shape in self.references():
            known = cols.rows if shape == "column" else {**cols.plan, **cols.rows}
            if column not in known:
                where = "a column of the rows sheet" if shape == "column" else "a plan column"
                raise SpecError(
                    f"rule {self.kind}: {name} {column!r} is not {where}{suggest(column, known)}",
                    (*at, name),
                    column,
                )
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata["shape"] == "condition" and value:
                for column, allowed in value.items():
                    _check_choices(
                        self.kind,
                        f"{f.name}.{column}",
                        allowed,
                        cols.choices.get(cols.rows[column] or ""),
                        (*at, f.name, column),
                    )
            elif f.metadata["shape"] in ("status", "statuses") and value is not None:
                if cols.status is None:
                    raise SpecError(
                        f"rule {self.kind}: {f.name} needs a status column (summary.status)", (*at, f.name), f.name
                    )
                listed = value if isinstance(value, list) else [value]
                _check_choices(
                    self.kind, f.name, listed, cols.choices.get(cols.rows.get(cols.status) or ""), (*at, f.name)
                )

    def points_at(self) -> str:
        """The column an issue from this rule points at."""
        raise NotImplementedError

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        """Which rows of the frame break the rule."""
        raise NotImplementedError

    def extra_words(self, rows: pd.DataFrame) -> dict[Any, dict[str, str]]:
        """The words of `words` for the rows it failed on, by the frame's index."""
        return {}


def _check_choices(
    kind: str, name: str, values: list[str], allowed: tuple[str, ...] | None, at: tuple[str | int, ...]
) -> None:
    if not allowed:
        return  # a column without a choice list: any value may be compared
    folded_allowed = {folded(v) for v in allowed}
    for value in values:
        if folded(value) not in folded_allowed:
            raise SpecError(
                f"rule {kind}: {name}: {value!r} is not one of {', '.join(allowed)}{suggest(value, allowed)}",
                at,
                str(value),
            )


def _typed(kind: str, name: str, shape: Shape, value: Any, at: tuple[str | int, ...]) -> Any:
    """A parameter's value in its shape, or a SpecError saying what was expected."""

    def bad(expected: str) -> SpecError:
        return SpecError(f"rule {kind}: {name} must be {expected}, not {value!r}", at, str(name))

    def texts(v: Any) -> list[str]:
        items = v if isinstance(v, list) else [v]
        if any(isinstance(i, dict | list) or i is None for i in items):
            raise bad("a value or a list of values")
        return [str(i) for i in items]

    if shape in ("column", "plan", "status"):
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise bad("one name")
        return str(value)
    if shape in ("columns", "statuses", "values"):
        return texts(value)
    if shape == "condition":
        if not isinstance(value, dict):
            raise bad("a mapping {column: [values]}")
        return {str(k): texts(v) for k, v in value.items()}
    if shape == "share":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise bad("a share between 0 and 1 (e.g. 0.05)")
        return float(value)
    if not isinstance(value, bool):  # flag
        raise bad("true or false")
    return value


# --- the vectorised helpers ---------------------------------------------------------------


def folded(value: object) -> str:
    """A value as compared by declared conditions: text, spaces collapsed, case ignored."""
    return " ".join(clean_text(value).split()).casefold()


def one_of(series: pd.Series, values: list[str] | str) -> pd.Series:
    """Cells holding one of `values`, compared as declared conditions are everywhere: as
    text, spaces collapsed, case ignored (the same test as `LockedRows.matches`).
    Each distinct value is folded once: choice columns have only a handful."""
    wanted = {folded(v) for v in (values if isinstance(values, list) else [values])}
    hits = [v for v in pd.unique(series.dropna()) if folded(v) in wanted]
    # Blank cells (None/NaN) hold none of the values: isin says False for them, in any dtype.
    return series.isin(hits)


def _in(df: pd.DataFrame, condition: Condition | None) -> pd.Series:
    """Rows where every named column holds one of its values (all rows if no condition)."""
    mask = pd.Series(True, index=df.index)
    for column, values in (condition or {}).items():
        mask &= one_of(df[column], values)
    return mask


def _not_in(df: pd.DataFrame, condition: Condition | None) -> pd.Series:
    """Rows an `unless` condition leaves in: all rows when there is no condition."""
    if not condition:
        return pd.Series(True, index=df.index)
    return ~_in(df, condition)


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | series.astype("string").str.strip().fillna("").eq("")


def _before(series: pd.Series, as_of: pd.Series) -> pd.Series:
    return series.notna() & (series.astype("object") < as_of).fillna(False).astype(bool)


# --- measures against their targets (the tolerance rule) -----------------------------


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
        one_of(pd.Series(direction, index=index, dtype="object"), p["lower"])
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


# --- the kinds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredWhen(RuleKind):
    """`column` (or each of a list: all of them blank) must be filled in when `when` holds."""

    kind = "required_when"
    code = Code.REQUIRED_WHEN
    column: list[str] = param("columns")
    when: Condition | None = param("condition", None)
    unless: Condition | None = param("condition", None)
    derived: bool = param("flag", False)  # made by the loader from locked_rows

    def points_at(self) -> str:
        return self.column[0]

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        all_blank = pd.Series(True, index=df.index)
        for column in self.column:
            all_blank &= _blank(df[column])
        return _in(df, self.when) & _not_in(df, self.unless) & all_blank


@dataclass(frozen=True)
class BlankWhen(RuleKind):
    """The mirror of required_when: when the condition holds, the column(s) must be empty."""

    kind = "blank_when"
    code = Code.BLANK_WHEN
    column: list[str] = param("columns")
    when: Condition | None = param("condition", None)
    unless: Condition | None = param("condition", None)
    derived: bool = param("flag", False)

    def points_at(self) -> str:
        return self.column[0]

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        any_filled = pd.Series(False, index=df.index)
        for column in self.column:
            any_filled |= ~_blank(df[column])
        return _in(df, self.when) & _not_in(df, self.unless) & any_filled


@dataclass(frozen=True)
class Overdue(RuleKind):
    """The plan's `date` (and any `revised` one given) has passed while `when` holds."""

    kind = "overdue"
    code = Code.OVERDUE
    date: str = param("plan")
    revised: str | None = param("column", None)
    when: Condition | None = param("condition", None)

    def points_at(self) -> str:
        return next(iter(self.when or {}), self.date)  # the status that says it is not late

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        late = _before(df[self.date], df[AS_OF])
        if self.revised:
            late &= df[self.revised].isna() | _before(df[self.revised], df[AS_OF])
        return _in(df, self.when) & late


@dataclass(frozen=True)
class PastDate(RuleKind):
    """A date that should be still to come is already past."""

    kind = "past_date"
    code = Code.PAST_DATE
    column: str = param("column")
    unless: Condition | None = param("condition", None)

    def points_at(self) -> str:
        return self.column

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        return _before(df[self.column], df[AS_OF]) & _not_in(df, self.unless)


@dataclass(frozen=True)
class Unchanged(RuleKind):
    """The text is the same as last cycle's (the rows sheet must show last cycle's value)."""

    kind = "unchanged"
    code = Code.UNCHANGED
    column: str = param("column")
    unless: Condition | None = param("condition", None)

    def points_at(self) -> str:
        return self.column

    def check_columns(self, cols: Columns, at: tuple[str | int, ...]) -> None:
        super().check_columns(cols, at)
        if self.column not in cols.previous:
            raise SpecError(
                f"rule unchanged: the rows sheet shows no last cycle's {self.column!r} to compare with "
                f"(a column with from: previous, field: {self.column})",
                (*at, "column"),
                self.column,
            )

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        column, prev = self.column, cols.previous[self.column]
        # Only rows with text both now and last cycle can be unchanged: compare just those
        # (collapsing the spaces of every note in a national return costs most of this rule).
        both = ~_blank(df[column]) & ~_blank(df[prev])
        same = pd.Series(False, index=df.index)
        if both.any():
            now = df.loc[both, column].astype("string").str.split().str.join(" ")
            before = df.loc[both, prev].astype("string").str.split().str.join(" ")
            same[both] = (now == before).fillna(False).astype(bool)
        return same & _not_in(df, self.unless)


@dataclass(frozen=True)
class Tolerance(RuleKind):
    """The status disagrees with what the actual says against the target (`judge_measures`)."""

    kind = "tolerance"
    code = Code.TOLERANCE
    words = ("expected", "basis")
    actual: str = param("column")
    target: str = param("plan")
    status: str = param("column")
    tolerance: float = param("share")
    at_or_above: str = param("status")
    within: str = param("status")
    below: str = param("status")
    applies_to: list[str] = param("statuses")
    # direction: a plan column; lower: its values that mean lower is better. baseline and
    # target_date (else due): plan columns for the straight line to the target.
    direction: str | None = param("plan", None)
    lower: list[str] | None = param("values", None)
    baseline: str | None = param("plan", None)
    target_date: str | None = param("plan", None)
    due: str | None = param("plan", None)

    def points_at(self) -> str:
        return self.status

    def check_values(self, at: tuple[str | int, ...]) -> None:
        if (self.direction is None) != (self.lower is None):
            raise SpecError(
                "rule tolerance: 'direction' (a plan column) and 'lower' (its values meaning lower is better) go together",
                (*at, "direction" if self.direction is not None else "lower"),
                "direction" if self.direction is not None else "lower",
            )

    @property
    def params(self) -> dict[str, Any]:
        """The parameters by their YAML names, as `judge_measures` takes them."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in out.items() if v is not None}

    def failing(self, df: pd.DataFrame, cols: Columns) -> pd.Series:
        status = df[self.status]
        usable = df[self.actual].notna() & df[self.target].notna() & status.isin(self.applies_to)
        failing = pd.Series(False, index=df.index)
        if usable.any():  # most rows of a return have no figure: judge only those that do
            judged = judge_frame(df[usable], self.params)
            failing[usable] = judged.expected.ne("") & judged.expected.ne(status[usable])
        return failing

    def extra_words(self, rows: pd.DataFrame) -> dict[Any, dict[str, str]]:
        """{expected} and {basis} for the rows it failed on: one vectorised pass for them all
        (a national collection has thousands)."""
        if rows.empty:
            return {}
        judged = judge_frame(rows, self.params)
        baseline = rows[self.baseline] if self.baseline in rows else pd.Series(None, index=rows.index)
        until = pd.Series(None, index=rows.index, dtype="object")
        for name in (self.due, self.target_date):  # the target date where there is one, else the due date
            if name in rows:
                until = rows[name].where(rows[name].notna(), until)
        start = rows[START] if START in rows else pd.Series(None, index=rows.index)
        return {
            i: {"expected": str(judged.expected[i]), "basis": judged.basis(i, baseline[i], start[i], until[i])}
            for i in rows.index
        }


KINDS: dict[str, type[RuleKind]] = {
    k.kind: k for k in (RequiredWhen, BlankWhen, Overdue, PastDate, Tolerance, Unchanged)
}
