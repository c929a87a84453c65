"""An OpenAPI 3.0 document of the whole API, generated from the same model as the edge.

Every shape becomes a schema under ``components/schemas`` (a body-only copy for
input shapes, whose labels and query members are parameters instead); every
operation becomes a path item. Verdict's own operations and members carry
``x-verdict-extension: true``.
"""

from __future__ import annotations

import re
from typing import Any

from shared.edge.model import Member, ServiceModel, Shape, load
from shared.edge.routing import TABLE

_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "timestamp": {"type": "number", "description": "epoch seconds"},
}
_TAGS = re.compile(r"<[^>]+>")


def _text(html: str) -> str:
    return " ".join(_TAGS.sub("", html).split())


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _member_schema(member: Member) -> dict[str, Any]:
    schema = _ref(member.shape)
    if member.extension:
        return {"allOf": [schema], "x-verdict-extension": True}
    return schema


def _schema(shape: Shape, members: dict[str, Member] | None = None) -> dict[str, Any]:
    schema: dict[str, Any]
    if shape.type == "structure":
        chosen = shape.members if members is None else members
        schema = {
            "type": "object",
            "properties": {n: _member_schema(m) for n, m in chosen.items()},
        }
        required = sorted(n for n in shape.required if n in chosen)
        if required:
            schema["required"] = required
        if shape.union:
            schema["minProperties"] = schema["maxProperties"] = 1
    elif shape.type == "list":
        assert shape.member is not None
        schema = {"type": "array", "items": _ref(shape.member)}
        if shape.min is not None:
            schema["minItems"] = int(shape.min)
        if shape.max is not None:
            schema["maxItems"] = int(shape.max)
    elif shape.type == "map":
        assert shape.value is not None
        schema = {"type": "object", "additionalProperties": _ref(shape.value)}
        if shape.min is not None:
            schema["minProperties"] = int(shape.min)
        if shape.max is not None:
            schema["maxProperties"] = int(shape.max)
    else:
        schema = dict(_SCALARS[shape.type])
        if shape.type == "string":
            if shape.min is not None:
                schema["minLength"] = int(shape.min)
            if shape.max is not None:
                schema["maxLength"] = int(shape.max)
            if shape.pattern:
                schema["pattern"] = shape.pattern
            if shape.enum:
                schema["enum"] = list(shape.enum)
        elif shape.type != "timestamp":
            if shape.min is not None:
                schema["minimum"] = shape.min
            if shape.max is not None:
                schema["maximum"] = shape.max
    if shape.documentation:
        schema["description"] = _text(shape.documentation)
    return schema


def _operation(model: ServiceModel, name: str) -> dict[str, Any]:
    op = model.operations[name]
    item: dict[str, Any] = {"operationId": name}
    if op.documentation:
        item["description"] = _text(op.documentation)
    if op.extension:
        item["x-verdict-extension"] = True
    parameters = []
    body: dict[str, Member] = {}
    for member in model.input_members(name).values():
        if member.location in ("uri", "querystring"):
            shape = model.shape(member.shape)
            parameters.append(
                {
                    "name": member.wire_name,
                    "in": "path" if member.location == "uri" else "query",
                    "required": member.location == "uri"
                    or member.name in model.shape(op.input or "").required,
                    "schema": _ref(member.shape),
                    **({"explode": True} if shape.type == "list" else {}),
                }
            )
        elif member.location is None:
            body[member.name] = member
    if parameters:
        item["parameters"] = parameters
    if body and op.input:
        item["requestBody"] = {
            "required": bool(model.shape(op.input).required & set(body)),
            "content": {"application/json": {"schema": _ref(f"{op.input}Body")}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if op.output:
        ok["content"] = {"application/json": {"schema": _ref(op.output)}}
    responses: dict[str, Any] = {"200": ok}
    labelled = any(m.location == "uri" for m in model.input_members(name).values())
    declared = op.errors or (_EXTENSION_ERRORS if op.extension else ())
    errors = [*declared, *_EDGE_ERRORS, *(("ResourceNotFoundException",) if labelled else ())]
    for error in errors:
        status = str(_ERROR_STATUS.get(error, 400))
        description = _ERROR_DESCRIPTION.get(error, error)
        responses.setdefault(status, {"description": description, "content": {}})
        responses[status]["content"] = {"application/json": {"schema": _ref(error)}}
    item["responses"] = responses
    return item


# What the edge answers whatever the model lists for an operation (README, "The HTTP edge",
# "Security"): a malformed label or an oversized body, a signing, key or scope failure,
# a key past its rate. An operation with a label also answers that it names nothing.
_EDGE_ERRORS = ("ValidationException", "AccessDeniedException", "ThrottlingException")
# verdict-extensions.json lists no errors; its handlers answer the domain's (Invalid,
# NotFound, Conflict: shared/domain/errors.py) as the model's operations do.
_EXTENSION_ERRORS = ("ValidationException", "ResourceNotFoundException", "ConflictException")
_ERROR_DESCRIPTION = {
    "AccessDeniedException": "AccessDeniedException, or a signature that is missing"
    " (MissingAuthenticationTokenException) or wrong (InvalidSignatureException), or an"
    " unknown or revoked key (UnrecognizedClientException)",
}

_ERROR_STATUS = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ServiceQuotaExceededException": 402,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}


def openapi_document(model: ServiceModel | None = None) -> dict[str, Any]:
    model = model or load()
    schemas = {name: _schema(shape) for name, shape in sorted(model.shapes.items())}
    for op in model.operations.values():
        if op.input:
            shape = model.shape(op.input)
            body = {n: m for n, m in shape.members.items() if m.location is None}
            schemas[f"{op.input}Body"] = _schema(shape, body)
    paths: dict[str, dict[str, Any]] = {}
    for route in TABLE.routes:
        if route.operation not in model.operations:
            continue
        template = route.template.replace("+}", "}")
        paths.setdefault(template, {})[route.method.lower()] = _operation(model, route.operation)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Verdict: the CloudWatch Evidently API",
            "version": model.metadata["apiVersion"],
            "description": "Generated from the botocore evidently 2021-02-01 model (botocore"
            " 1.42.50) and Verdict's extensions (x-verdict-extension).",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
    }
