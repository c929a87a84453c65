"""Evidently's tag rule beyond the model: "You can associate as many as 50 tags" with a
resource (CreateProject and the other Create operations, TagResource). The model's
TagMap has no size limit, so the edge cannot check it."""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.errors import Invalid

MAX_TAGS = 50


def check_tag_count(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise Invalid(
            f"a resource has at most {MAX_TAGS} tags; this would have {len(tags)}", field="tags"
        )
