"""The README's benchmark table is generated from the committed results (bench/results/*.json)
by ``bench/table.py``; a figure typed into it, or a result committed without regenerating it,
fails here. Fast: no benchmark runs, only the files are read.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_table():
    spec = importlib.util.spec_from_file_location("bench_table", ROOT / "bench" / "table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_what_the_committed_results_generate(bench_table):
    readme = (ROOT / "README.md").read_text()
    assert readme == bench_table.render(readme, bench_table.load_results()), (
        "README.md's benchmark table differs from bench/results/*.json: run `make bench-table`"
    )


def test_every_benchmark_has_a_committed_result_with_the_limit_and_the_machine(bench_table):
    results = {r["benchmark"]: r for r in bench_table.load_results()}
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_")}
    assert scripts - {"table"} == set(results), (
        "a benchmark without results, or results without one"
    )
    for name, result in results.items():
        assert result["command"].startswith(f".venv/bin/python bench/{name}.py"), name
        assert {"cores", "cpu", "load_at_start", "load_at_end"} <= set(result["machine"]), name
        assert result["rows"], name
        for row in result["rows"]:
            assert row["ours"] and row["limit"] and row["vs_limit"], (name, row)


def test_a_changed_result_changes_the_table(bench_table, tmp_path):
    for path in (ROOT / "bench" / "results").glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    scoring["rows"][0]["ours"] = "0.001 s"
    (tmp_path / "scoring.json").write_text(json.dumps(scoring))
    readme = (ROOT / "README.md").read_text()
    assert bench_table.render(readme, bench_table.load_results(tmp_path)) != readme
