"""``[core] hostname_callable``: the name task instances record as where they ran.

``COLLECTOR_HOSTNAME`` when set (``make cluster`` names its two Celery workers on one machine
``worker-1`` and ``worker-2``, so ``TaskInstance.hostname`` says which one ran a task), else the
machine's fully qualified name, as Airflow's default (a container's own name under compose).
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("COLLECTOR_HOSTNAME") or socket.getfqdn()
