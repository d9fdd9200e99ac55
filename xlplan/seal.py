"""The seal on a workbook's identity: a keyed hash (HMAC-SHA256) over the plan, recipient and
cycle it was made for and the fingerprints of the rows it was sent with.

Anyone can edit the metadata a workbook carries (`xlplan.manifest`): both copies, the
hidden sheet and the document properties, so that a workbook claims another sponsor, another
cycle or other rows. Without the key no one can make the seal that goes with the edit. The key
is the plan folder's own, made by its ledger on first need and kept there (`Ledger.seal_key`): never written
into a workbook, an email, an export or a report.

The seal covers what the workbook says it was sent with, not the plan now: an officer's edit
of the plan between generate and collect never breaks it. A workbook made before seals has
none and is read as before, with a note.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from xlplan.codes import Code
from xlplan.issues import Report
from xlplan.manifest import SEAL, SHEET

# What the seal covers of the identity: who, which plan and cycle (the deadline and the time
# made may differ in an annotated copy, which is sealed again when written).
SEALED = ("plan_id", "recipient", "cycle")


@dataclass(frozen=True)
class Sealing:
    """What checking a seal needs: the plan folder's key ("" when its ledger has none) and plan id."""

    key: str
    plan_id: str


def seal_of(key: str, identity: Mapping[str, str], fingerprints: Mapping[str, list[str]]) -> str:
    """The seal for a workbook with this identity and these rows' fingerprints: two keyed hashes,
    one of the identity alone (all that is left to check when the hidden sheet, which holds the
    fingerprints, was deleted) and one of the identity and the rows."""
    return f"{_mac(key, identity, None)}.{_mac(key, identity, fingerprints)}"


def _mac(key: str, identity: Mapping[str, str], fingerprints: Mapping[str, list[str]] | None) -> str:
    message = json.dumps(
        {
            "identity": [identity.get(name, "") for name in SEALED],
            "rows": None if fingerprints is None else sorted([ref, ".".join(h)] for ref, h in fingerprints.items()),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key.encode("ascii"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _holds(key: str, copy: Mapping[str, str], fingerprints: Mapping[str, list[str]] | None) -> bool:
    """Whether a copy of the metadata matches its seal (its identity only, without fingerprints)."""
    identity, _dot, rows = copy.get(SEAL, "").partition(".")
    if not hmac.compare_digest(identity, _mac(key, copy, None)):
        return False
    return fingerprints is None or hmac.compare_digest(rows, _mac(key, copy, fingerprints))


def check_seal(
    copies: list[dict[str, str]], fingerprints: Mapping[str, list[str]] | None, sealing: Sealing, report: Report
) -> bool:
    """False (with an error) when a copy of the metadata does not match its seal: it was edited.

    `copies` are the metadata's copies that are there (document properties, hidden sheet);
    `fingerprints` None when the hidden sheet is gone. A workbook with no seal at all was made
    before seals: accepted, with a note. One of another plan is left to the plan's own check.
    """
    if all(c.get("plan_id") != sealing.plan_id for c in copies):
        return True  # refused as another plan's (wrong-plan), whose key this folder cannot know
    sealed = [c for c in copies if c.get(SEAL)]
    if not sealed:
        report.note(
            "This workbook was made by an xlplan from before workbooks were sealed: its identity "
            "(recipient, cycle, rows) was checked as before, without the seal.",
            code=Code.UNSEALED,
        )
        return True
    if not sealing.key:  # a ledger that never sealed a workbook: nothing to check against
        report.note(
            "This workbook carries a seal, but this plan folder's ledger has no key to check it with "
            "(was the ledger replaced?): its identity was checked as before.",
            code=Code.UNSEALED,
        )
        return True
    good = [c for c in sealed if _holds(sealing.key, c, fingerprints)]
    truth = good[0] if good else None
    bad = [c for c in copies if c not in good and (c.get(SEAL) or truth is None or _claims(c) != _claims(truth))]
    if not bad:
        return True
    report.error(_broken(bad[0], truth), sheet=SHEET, code=Code.SEAL_BROKEN, recipient=bad[0].get("recipient", ""))
    return False


def _claims(copy: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(copy.get(name, "") for name in SEALED)


def _broken(claim: Mapping[str, str], truth: Mapping[str, str] | None) -> str:
    """What was edited, in words, and what to do."""
    says = f"{claim.get('recipient') or 'nobody'}'s return for {claim.get('cycle') or 'no cycle'}"
    if truth is not None:
        sent = truth.get("recipient", "")
        changed = [
            f"the {name.replace('_', ' ')} '{claim.get(name, '')}' (it was sent with '{truth.get(name, '')}')"
            for name in SEALED
            if claim.get(name, "") != truth.get(name, "")
        ]
        what = ", ".join(changed) or "its seal"
        return (
            f"The workbook's metadata was edited: it claims {what}. It is {sent}'s workbook for "
            f"{truth.get('cycle', '')}; nothing of it was merged. Ask {sent} for the workbook that was sent "
            "to them, filled in, unedited."
        )
    return (
        f"The workbook's metadata was edited: it claims to be {says}, but this plan folder did not send "
        "a workbook with that recipient, cycle and rows (or it was made for another plan folder). Nothing of "
        "it was merged. Ask the recipient for the workbook that was sent to them, filled in, unedited."
    )
