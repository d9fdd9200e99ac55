"""The ledger's typed records, and how values are kept in it as JSON (no SQL here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import orjson

from xlplan.issues import Issue


def plain(value: Any) -> Any:
    """A value as the ledger keeps it: blank is None, a date is its ISO text."""
    if value is None or value == "":
        return None
    if type(value) in (str, float, int):  # nearly all values: no isinstance walk
        return value
    if isinstance(value, date):
        return value.isoformat()
    return value


# The ledger's JSON is written and read with orjson: a national cycle encodes and decodes
# its 50,000 rows several times, and json took most of a second of it. json remains for
# what orjson refuses: integers past 64 bits, and NaN in a ledger that json wrote.
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY  # a pandas value that kept its numpy type


def encode_json(value: Any) -> str:
    """Plain values as JSON text."""
    try:
        return orjson.dumps(value, option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False)


def decode_json(text: str) -> Any:
    """What `encode_json` wrote (or, in an older ledger, the json module)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


Key = tuple[str, str]  # sheet, ref: one entry of a recipient's return
Changes = dict[str, list[Any]]  # field -> [old, new], as the audit stores them


@dataclass(frozen=True)
class CycleInfo:
    cycle: str
    spg_date: date | None
    deadline: date
    generated_at: str


def _as_dict(record: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value.
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass(frozen=True)
class ReturnRecord:
    """One file collected: what it was, when, and what became of it (a row of `returns`)."""

    sha256: str
    file: str
    recipient: str | None
    cycle: str | None
    received_at: str
    outcome: str  # merged | quarantined | superseded
    archived: str | None = None  # relative to the plan folder; "" when not archived
    errors: int = 0
    warnings: int = 0
    issues: tuple[Issue, ...] = ()
    file_mtime: float | None = None  # the file's own modification time, for --prefer newest
    email: str | None = None  # the archived email it came attached to (relative to the plan folder)

    def as_dict(self) -> dict[str, Any]:
        """The row as `xlplan export returns` writes it: the table's columns, in its order."""
        row = _as_dict(self) | {"issues": [i.as_dict() for i in self.issues]}
        return {name: row[name] for name in _RETURN_COLUMNS}


# The returns table's columns, in the order it has them (a migrated ledger gained file_mtime, then email, last).
_RETURN_COLUMNS = (
    "sha256", "file", "archived", "recipient", "cycle", "received_at",
    "outcome", "errors", "warnings", "issues", "file_mtime", "email",
)  # fmt: skip


@dataclass(frozen=True)
class EntryRecord:
    """One action (or feedback area) of one merged return: its fields and values (a row of `entries`)."""

    cycle: str
    recipient: str
    sheet: str
    ref: str
    fields: dict[str, Any] = field(hash=False)
    return_sha: str
    merged_at: str


@dataclass(frozen=True)
class AuditRecord:
    """One value changed by a merge."""

    id: int
    at: str
    cycle: str
    recipient: str
    sheet: str
    ref: str
    field: str
    old: Any
    new: Any
    return_sha: str
    file: str

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclass(frozen=True)
class PlanVersion:
    """The plan as one generate or collect found it (a row of `plan_versions`)."""

    id: int
    at: str
    command: str
    cycle: str
    file_sha: str
    digest: str


@dataclass(frozen=True)
class PlanChange:
    """One change to the plan between two versions: what, where, from what to what."""

    kind: str  # action added | action removed | action moved | action changed | sponsor added |
    # sponsor removed | sponsor replaced | sponsor changed | setting changed | decision recorded |
    # decision withdrawn
    sheet: str  # the plan.xlsx sheet: Settings, Sponsors, Actions, Decisions
    ref: str  # the action's ref, the sponsor's name, or the setting's key
    field: str  # the column or setting changed; the kind's last word for a whole row
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class PlanChangeRecord:
    """A plan change as the ledger keeps it: the change and the version that made it."""

    id: int
    version: PlanVersion
    change: PlanChange

    def as_audit(self) -> dict[str, Any]:
        """As `xlplan export audit` lists it, in the shape of a return's change (`AuditRecord`):
        no recipient, the file plan.xlsx and its hash."""
        c, v = self.change, self.version
        return {
            "id": self.id, "at": v.at, "cycle": v.cycle, "recipient": "", "sheet": f"plan: {c.sheet}",
            "ref": c.ref, "field": c.field, "old": c.old, "new": c.new, "return_sha": v.file_sha, "file": "plan.xlsx",
        }  # fmt: skip


@dataclass(frozen=True)
class IssuedPlan:
    """The plan as issued to one recipient in one workbook: what their return answers."""

    cycle: str
    recipient: str
    generated_at: str  # the workbook's own (its metadata's) generated_at
    items: dict[str, dict[str, Any]] = field(hash=False)  # ref -> plan column -> plain value, in plan order
    groups: tuple[str, ...] = ()  # group (Big Action) names, in plan order


@dataclass(frozen=True)
class CycleOverview:
    """One cycle as `xlplan cycles` lists it: what was sent, what came back."""

    cycle: str
    spg_date: date | None
    deadline: date
    generated_at: str
    issued: int  # workbooks issued
    merged: int  # recipients with a merged return
    quarantined: int  # recipients whose only returns are quarantined


@dataclass(frozen=True)
class RemovedCycle:
    """A cycle taken out of the ledger, and what it held then."""

    removed_at: str
    cycle: str
    held: dict[str, Any]  # {"cycle": {...}, "issued": [...], "returns": [...]}
