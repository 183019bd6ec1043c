"""The review queue's column layout is checked before any rating is read."""

from __future__ import annotations

import pytest


def test_review_queue_refuses_a_sheet_with_the_old_layout():
    from collector.review.queue import QUEUE_HEADER, QueueLayoutError, check_layout

    check_layout(QUEUE_HEADER)
    old = [c for c in QUEUE_HEADER if c != "consent_quicklook"]
    with pytest.raises(QueueLayoutError, match="missing: consent_quicklook"):
        check_layout(old)
