"""The vendored model is botocore 1.42.50's, and Verdict's extensions only add to it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore

from shared.edge.model import EVIDENTLY_MODEL, load, read_evidently


def test_the_vendored_model_is_botocores() -> None:
    assert botocore.__version__ == "1.42.50"
    shipped = Path(botocore.__file__).parent / "data/evidently/2021-02-01/service-2.json.gz"
    with gzip.open(shipped) as handle:
        assert read_evidently() == json.load(handle)
    assert EVIDENTLY_MODEL.exists()


def test_all_38_evidently_operations_and_the_extensions() -> None:
    model = load()
    evidently = {n for n, op in model.operations.items() if not op.extension}
    assert len(evidently) == 38
    assert evidently == set(read_evidently()["operations"])
    extensions = {n for n, op in model.operations.items() if op.extension}
    assert extensions == {
        "DeclareWinner",
        "ArchiveExperiment",
        "GetResourceHistory",
        "GetExperimentAnalysis",
        "GetExperimentAggregates",
        "ListLabExperiments",
    }


def test_extensions_add_members_without_replacing_evidentlys() -> None:
    model = load()
    raw = read_evidently()["shapes"]
    for name, shape in model.shapes.items():
        if name not in raw:
            continue
        original = set(raw[name].get("members", {}))
        assert original <= set(shape.members)
        assert all(not shape.members[m].extension for m in original)
    assert model.shape("Feature").members["resourceVersion"].extension
