"""One reference names a resource for its ARN and for its event stream."""

from __future__ import annotations

import pytest

from shared.domain import experiment, feature, launch, project, segment
from shared.domain.arn import ArnScheme
from shared.domain.resources import ResourceKind, ResourceRef

ARNS = ArnScheme("us-east-1", "000000000000")


@pytest.mark.parametrize(
    ("arn", "stream"),
    [
        (ARNS.project("shop"), project.stream("shop")),
        (ARNS.segment("vip"), segment.stream("vip")),
        (ARNS.child("shop", "feature", "f"), feature.stream("shop", "f")),
        (ARNS.child("shop", "launch", "l"), launch.stream("shop", "l")),
        (ARNS.child("shop", "experiment", "e.1"), experiment.stream("shop", "e.1")),
    ],
)
def test_an_arn_and_its_stream_name_the_same_resource(arn: str, stream: str) -> None:
    ref = ARNS.resource(arn)
    assert ref.stream == stream
    assert ResourceRef.from_stream(stream) == ref


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        ResourceRef.from_stream("widget-x")
    assert ResourceRef.from_stream("feature-p/f").kind is ResourceKind.FEATURE
