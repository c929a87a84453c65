"""Domain values -> Evidently's camelCase response shapes. The only way out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.arn import ArnScheme
from shared.domain.events import AppConfigResource, DataDelivery
from shared.domain.feature import Feature
from shared.domain.project import Project
from shared.domain.values import ValueType, VariableValue, Variation
from shared.wire import features as wire_features

_VALUE_FIELD = {
    ValueType.BOOLEAN: "boolValue",
    ValueType.DOUBLE: "doubleValue",
    ValueType.LONG: "longValue",
    ValueType.STRING: "stringValue",
}


def timestamp(value: datetime) -> float:
    # rest-json timestamps default to epoch seconds (botocore's unixTimestamp).
    return value.timestamp()


def variable_value(value: VariableValue) -> dict[str, Any]:
    return {_VALUE_FIELD[value.type]: value.value}


def variable_value_from_wire(value: wire_features.VariableValue) -> VariableValue:
    if value.boolValue is not None:
        return VariableValue(ValueType.BOOLEAN, value.boolValue)
    if value.longValue is not None:
        return VariableValue(ValueType.LONG, value.longValue)
    if value.doubleValue is not None:
        return VariableValue(ValueType.DOUBLE, float(value.doubleValue))
    return VariableValue(ValueType.STRING, value.stringValue or "")


def variation_from_wire(config: wire_features.VariationConfig) -> Variation:
    return Variation(config.name, variable_value_from_wire(config.value))


def data_delivery(value: DataDelivery | None) -> dict[str, Any] | None:
    if value is None:
        return None
    out: dict[str, Any] = {}
    if value.cloudwatch_log_group:
        out["cloudWatchLogs"] = {"logGroup": value.cloudwatch_log_group}
    if value.s3_bucket or value.s3_prefix:
        s3 = {"bucket": value.s3_bucket, "prefix": value.s3_prefix}
        out["s3Destination"] = {k: v for k, v in s3.items() if v}
    return out


def app_config_resource(value: AppConfigResource | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "applicationId": value.application_id,
        "environmentId": value.environment_id,
        "configurationProfileId": value.configuration_profile_id or "",
    }


def _drop_none(shape: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in shape.items() if v is not None}


def project(p: Project, arns: ArnScheme, counters: dict[str, int]) -> dict[str, Any]:
    return _drop_none(
        {
            "arn": arns.project(p.name),
            "name": p.name,
            "description": p.description,
            "status": "AVAILABLE",
            "createdTime": timestamp(p.created_at),
            "lastUpdatedTime": timestamp(p.updated_at),
            "tags": dict(p.tags) or None,
            "dataDelivery": data_delivery(p.data_delivery),
            "appConfigResource": app_config_resource(p.app_config_resource),
            **counters,
        }
    )


def project_summary(p: Project, arns: ArnScheme, counters: dict[str, int]) -> dict[str, Any]:
    full = project(p, arns, counters)
    full.pop("dataDelivery", None)
    full.pop("appConfigResource", None)
    return full


def feature(f: Feature, arns: ArnScheme, evaluation_rules: list[dict[str, str]]) -> dict[str, Any]:
    return _drop_none(
        {
            "arn": arns.child(f.project, "feature", f.name),
            "name": f.name,
            "project": arns.project(f.project),
            "description": f.description,
            "status": "AVAILABLE",
            "createdTime": timestamp(f.created_at),
            "lastUpdatedTime": timestamp(f.updated_at),
            "valueType": f.value_type.value,
            "variations": [
                {"name": v.name, "value": variable_value(v.value)} for v in f.variations
            ],
            "defaultVariation": f.default_variation,
            "evaluationStrategy": f.evaluation_strategy,
            "entityOverrides": dict(f.entity_overrides),
            "evaluationRules": evaluation_rules,
            "tags": dict(f.tags) or None,
        }
    )


def feature_summary(
    f: Feature, arns: ArnScheme, evaluation_rules: list[dict[str, str]]
) -> dict[str, Any]:
    return _drop_none(
        {
            "arn": arns.child(f.project, "feature", f.name),
            "name": f.name,
            "project": arns.project(f.project),
            "status": "AVAILABLE",
            "createdTime": timestamp(f.created_at),
            "lastUpdatedTime": timestamp(f.updated_at),
            "defaultVariation": f.default_variation,
            "evaluationStrategy": f.evaluation_strategy,
            "evaluationRules": evaluation_rules,
            "tags": dict(f.tags) or None,
        }
    )
