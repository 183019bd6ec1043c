"""Accepted?: the one decision every surface shows (docs/scoring.md, "Status" and "On the
dashboard"; FAQ 10-12). The domain decides here; the sheet, the HTML page, the portal, the
digest email and ``collector explain`` only render what :func:`accepted` returns.

The video's status decides (``video_scores.status``): ``accepted`` is YES; ``rejected``,
``blocked`` and ``superseded`` are NO; ``pending``, or no score row yet, is PENDING. Only when
the score decided (accepted or rejected) is the answer also shown as a formula holding score and
threshold, ``=IF(0.83>=0.75,"YES","NO")``, so a collector can read both numbers (FAQ 11). A
blocked, superseded or pending video keeps its score, but the score did not decide, so no
formula is shown that could read YES.
"""

from __future__ import annotations

from decimal import Decimal

YES, NO, PENDING = "YES", "NO", "PENDING"
STATUSES = ("accepted", "rejected", "blocked", "superseded", "pending")


def plain_number(value) -> str:
    """0.750000 -> 0.75, 1.000000 -> 1: exact, without trailing zeros (for formulas)."""
    return format(value.normalize() if hasattr(value, "normalize") else value, "f")


class Accepted(str):
    """The Accepted? cell as the sheet stores it (the formula, or the answer), carrying the
    decision: ``answer`` is ``"YES"``, ``"NO"`` or ``"PENDING"``; ``formula`` the sheet formula
    when the score decided, else None. A ``str``, so frames, hashes and the Sheets API take it
    as the cell text; surfaces that show the answer read ``answer``, never the formula's text.
    """

    answer: str
    formula: str | None

    def __new__(cls, answer: str, formula: str | None = None) -> Accepted:
        cell = super().__new__(cls, formula or answer)
        cell.answer = answer
        cell.formula = formula
        return cell

    def __reduce__(self):  # pickles and copies keep the decision, not just the text
        return (Accepted, (self.answer, self.formula))


def accepted(status: str | None, score: Decimal | None, threshold: Decimal | None) -> Accepted:
    """The Accepted? decision of a video from its ``video_scores`` row (status None: no row).

    ``score`` and ``threshold`` are fractions (0..1). Raises ``ValueError`` for a status the
    scoring rules do not produce (docs/scoring.md, "Status"). Should an accepted or rejected
    row's score and threshold ever disagree with its status, the status wins and no formula is
    shown (a formula reading the other way would contradict the answer).
    """
    if status is None or status == "pending":
        return Accepted(PENDING)
    if status not in STATUSES:
        raise ValueError(f"unknown video status {status!r}: expected one of {', '.join(STATUSES)}")
    answer = YES if status == "accepted" else NO
    if status in ("accepted", "rejected") and score is not None and threshold is not None:
        if (score >= threshold) == (status == "accepted"):
            formula = f'=IF({plain_number(score)}>={plain_number(threshold)},"YES","NO")'
            return Accepted(answer, formula)
    return Accepted(answer)
