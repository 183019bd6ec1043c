"""Each benchmark's figures as a results file, bench/results/<name>.json, from which
``bench/table.py`` generates the README's benchmark table.

A run records what it measured (its rows: ours, the naive reference, the limit, both ratios and
the target), the raw figures, the command, the date and the machine: cores, CPU model and the
load average when it started and ended (the cores are shared; a run under load is rerun).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
STARTED_LOAD = os.getloadavg()  # when the benchmark module was imported, before any set-up


@dataclass(frozen=True)
class Row:
    """One line of the README table, each cell as the benchmark words it."""

    what: str  # what was measured, at which size
    ours: str
    naive: str  # the naive reference ("" when there is none)
    limit: str  # what the work cannot go below, and how it was measured
    vs_naive: str  # how many times better than the naive reference ("" when none)
    vs_limit: str  # how many times the limit ours costs
    target: str = ""  # the target and whether it is met


def times(value: float) -> str:
    """A ratio as the table shows it: 3.2x, 13x, 1,250x."""
    return f"{value:.1f}x" if value < 10 else f"{value:,.0f}x"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def filesystem(path: str) -> str:
    """The type of the filesystem holding ``path`` (ext4, tmpfs, ...), from /proc/mounts."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    resolved = str(Path(path).resolve())
    for line in mounts:
        _, point, fstype = line.split()[:3]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fstype
    return kind


def machine() -> dict:
    """Cores, CPU model, load averages (1, 5, 15 min) at the start and now, and where the
    embedded warehouse (COLLECTOR_STATE_DIR) and temporary files were: disk or memory."""
    state = os.environ.get("COLLECTOR_STATE_DIR") or str(Path.cwd() / ".local")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "load_at_start": [round(x, 2) for x in STARTED_LOAD],
        "load_at_end": [round(x, 2) for x in os.getloadavg()],
        "warehouse_fs": filesystem(state),
        "tmp_fs": filesystem(tempfile.gettempdir()),
    }


def command() -> str:
    """The command line that ran the benchmark, as it would be typed from the repository."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(RESULTS.parent.parent)
    except ValueError:
        pass
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def write(name: str, rows: list[Row], figures: dict, *, note: str = "") -> Path:
    """bench/results/<name>.json; prints the rows, and warns when the cores were busy."""
    result = {
        "benchmark": name,
        "command": command(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "rows": [asdict(r) for r in rows],
        "figures": figures,
        "note": note,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for row in rows:
        print(
            f"{row.what}\n  ours {row.ours} | naive {row.naive or '-'} | limit {row.limit}\n"
            f"  vs naive {row.vs_naive or '-'} | vs limit {row.vs_limit} | {row.target or '-'}"
        )
    load = result["machine"]["load_at_start"][0]
    cores = result["machine"]["cores"] or 1
    if load > cores * 0.75:
        print(f"WARNING: load average {load} at start on {cores} cores: rerun when idle")
    print(f"results: {path}")
    return path
