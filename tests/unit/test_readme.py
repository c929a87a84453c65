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
