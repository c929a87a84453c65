"""The README documents every configuration variable and both commands."""

from __future__ import annotations

from pathlib import Path

from shared.config import ENVIRONMENT_VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_variable_is_documented() -> None:
    missing = [v for v in ENVIRONMENT_VARIABLES if f"`{v}`" not in README]
    assert not missing


def test_both_commands_are_shown() -> None:
    assert "make run" in README
    assert "make test" in README


def test_the_benchmark_table_is_quoted_from_make_bench_output() -> None:
    """bench/run.py writes bench/results/latest.md; the README quotes it, row for row."""
    latest = Path(__file__).resolve().parents[2] / "bench" / "results" / "latest.md"
    rows = [line for line in latest.read_text().splitlines() if line.startswith("|")]
    assert len(rows) > 10
    missing = [row for row in rows if row not in README]
    assert not missing, missing[:3]
