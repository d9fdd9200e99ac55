"""What a generated workbook carries about itself, so a return is known whatever its name.

Two copies are written: custom document properties (they survive Excel and
LibreOffice) and a very hidden `_xlplan` sheet with the same keys plus one
fingerprint per row of locked values. LibreOffice turns very hidden into hidden and
anyone can edit either copy, so on return the manifest is checked, not believed:
the copies must agree and the recipient and refs must make sense for the plan.
"""

from __future__ import annotations

import functools
import hashlib
import zipfile
from dataclasses import dataclass, field
from typing import Any

from xlplan.values import clean_text

SHEET = "_xlplan"
PREFIX = "xlplan_"
IDENTITY = (
    "plan_id",
    "template",
    "template_version",
    "recipient",
    "cycle",
    "deadline",
    "generated_at",
)
FINGERPRINTS_HEADER = "fingerprints"
SEAL = "seal"  # the keyed hash over the identity and rows (`xlplan.seal`); absent before 1.x


@dataclass
class Manifest:
    plan_id: str
    template: str
    template_version: int
    recipient: str
    cycle: str
    deadline: str
    generated_at: str
    # ref -> one short hash per locked column of the rows sheet, in template order.
    fingerprints: dict[str, list[str]] = field(default_factory=dict)
    seal: str = ""  # set once the fingerprints are known (`xlplan.seal.seal_of`)

    def identity(self) -> dict[str, str]:
        return {key: str(getattr(self, key)) for key in IDENTITY}


def fingerprint(value: Any) -> str:
    """A short hash of a locked value as it will read back from any client.

    Whitespace is collapsed and numbers lose a trailing '.0', so a LibreOffice
    round trip or a calamine float does not look like tampering.
    """
    try:
        return _cached_fingerprint(value)
    except TypeError:  # not hashable: never from a cell, but never a reason to fail
        return _fingerprint(value)


# Big Actions, officers, dates and blanks repeat on every row: 50,000 actions have far fewer values.
@functools.lru_cache(maxsize=1 << 16, typed=True)
def _cached_fingerprint(value: Any) -> str:
    return _fingerprint(value)


def _fingerprint(value: Any) -> str:
    if type(value) is str:  # most locked cells: clean_text would only strip, which split() does
        text = " ".join(value.split())
    else:
        if isinstance(value, float):
            value = float(f"{value:.15g}")  # spreadsheets keep 15 significant digits
        text = " ".join(clean_text(value).split())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def properties(manifest: Manifest) -> dict[str, str]:
    """The manifest's custom document properties (names without the prefix): its identity and seal."""
    return manifest.identity() | ({SEAL: manifest.seal} if manifest.seal else {})


def sheet_rows(manifest: Manifest) -> list[tuple[str, str]]:
    """The manifest as (key, value) rows for the hidden sheet."""
    rows = [("xlplan return metadata: do not edit", "")]
    rows += [(key, value) for key, value in manifest.identity().items()]
    if manifest.seal:
        rows.append((SEAL, manifest.seal))
    rows.append((FINGERPRINTS_HEADER, ""))
    rows += [(ref, ".".join(hashes)) for ref, hashes in manifest.fingerprints.items()]
    return rows


def from_sheet_rows(rows: list[list[Any]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Parse the hidden sheet back: (identity, fingerprints). Tolerant of blank rows."""
    identity: dict[str, str] = {}
    prints: dict[str, list[str]] = {}
    in_prints = False
    for row in rows:
        if not row:
            continue
        key = _text(row[0])
        value = _text(row[1]) if len(row) > 1 else ""
        if key == FINGERPRINTS_HEADER:
            in_prints = True
        elif in_prints and key:
            prints[key] = value.split(".") if value else []
        elif key in IDENTITY or key == SEAL:
            identity[key] = value
    return identity, prints


def _text(value: Any) -> str:
    return value.strip() if type(value) is str else clean_text(value)  # str first: 250 rows a return


def read_custom_properties(archive: zipfile.ZipFile) -> dict[str, str]:
    """Our custom document properties, parsed with defusedxml (the file is untrusted)."""
    from defusedxml import ElementTree

    try:
        data = archive.read("docProps/custom.xml")
    except KeyError:
        return {}
    root = ElementTree.fromstring(data)
    out: dict[str, str] = {}
    for prop in root:
        name = prop.get("name", "")
        if name.startswith(PREFIX) and len(prop):
            out[name.removeprefix(PREFIX)] = (prop[0].text or "").strip()
    return out
