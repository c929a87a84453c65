from __future__ import annotations

import pytest

from services.evaluation.fastpath import BATCH, EVALUATE, match


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/projects/p/evaluations/f", (EVALUATE, "p", "f")),
        ("/projects/p/evaluations", (BATCH, "p", "")),
        ("/projects/p", None),
        ("/projects/p/features/f", None),
        ("/projects//evaluations", None),
        ("/projects/p/evaluations/", None),
        ("/projects/p/evaluations/f/extra", None),
        ("/events/projects/p", None),
    ],
)
def test_match(path: str, expected: tuple[str, str, str] | None) -> None:
    assert match(path) == expected
