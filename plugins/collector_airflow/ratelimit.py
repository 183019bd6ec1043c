"""A client-side rate limiter: at most N calls in any sliding window, shared by threads."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Blocks in :meth:`acquire` until a call fits ``limit`` calls per ``window_s`` seconds.

    Why sliding rather than per-minute buckets: Google counts quotas over a rolling minute, so a
    burst at the end of one bucket and the start of the next would still be refused.
    """

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit, self.window_s = limit, window_s
        self._clock, self._sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self.window_s:
                    self._calls.popleft()
                if len(self._calls) < self.limit:
                    self._calls.append(now)
                    return
                wait = self.window_s - (now - self._calls[0]) + 0.001
            self.waited_s += wait
            self._sleep(wait)
