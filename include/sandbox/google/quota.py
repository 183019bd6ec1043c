"""Per-minute request quotas: 429 ``RESOURCE_EXHAUSTED`` past the per-user or per-project limit.

Follows the Sheets API usage limits (https://developers.google.com/sheets/api/limits): read and
write requests are counted separately, per minute per user and per minute per project, and a
refusal names the quota metric and limit as Google's message does. The defaults (60 per user,
300 per project) are Google's published ones; ``/_sandbox/quota`` changes them.

Assumption: the minute is a sliding window (Google documents a per-minute refill, not how).
"""

from __future__ import annotations

import time
from collections import deque


class Quota:
    """Sliding-window request counters per (user, kind) and per (project, kind)."""

    def __init__(self, per_user: int = 60, per_project: int = 300, window_s: float = 60.0):
        self.per_user, self.per_project, self.window_s = per_user, per_project, window_s
        self.events: dict[tuple[str, str], deque] = {}
        self.rejected = 0

    def admit(self, user: str, kind: str) -> str | None:
        now = time.monotonic()
        label = "Read" if kind == "read" else "Write"
        checks = (
            (("user", user, kind), self.per_user, "per minute per user"),
            (("project", "", kind), self.per_project, "per minute"),
        )
        for key, limit, scope in checks:
            window = self.events.setdefault(key, deque())
            while window and now - window[0] >= self.window_s:
                window.popleft()
            if len(window) >= limit:
                self.rejected += 1
                return (
                    f"Quota exceeded for quota metric '{label} requests' and limit "
                    f"'{label} requests {scope}' of service 'sheets.googleapis.com' for "
                    "consumer 'project_number:000000000000'."
                )
        for key, _, _ in checks:
            self.events[key].append(now)
        return None
