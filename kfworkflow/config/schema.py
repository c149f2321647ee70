"""JSON Schema of ``policies.yaml`` (also printed by ``kfw rules schema --kind policies``)."""

from __future__ import annotations

from typing import Any

ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
DATE = {"type": "string", "format": "date"}
TEXT = {"type": "string", "minLength": 1}
LEVELS = ["county", "city", "province"]
METRICS = [
    "start_rate", "funds_in_place_rate", "investment_completion_rate", "on_time_completion_rate",
    "disbursement_rate", "completed_investment", "new_signed", "new_started",
    "new_in_production", "bond_issued",
]
RATES = ["funds_in_place_rate", "start_rate", "investment_completion_rate",
         "on_time_completion_rate"]


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": required or []}


NAMED = _object({"id": ID, "name": TEXT}, ["id", "name"])
DEADLINE = {
    **_object({"working_days": {"type": "integer", "minimum": 1},
               "days": {"type": "integer", "minimum": 1}}),
    "minProperties": 1,
    "maxProperties": 1,
}

POLICIES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kfworkflow policies.yaml",
    **_object(
        {
            "version": {"const": 1},
            "timezone": TEXT,
            "campaign": _object({"title": TEXT, "start": DATE, "end": DATE}, ["start"]),
            "calendar": _object({
                "data_file": {"type": ["string", "null"]},
                "fallback": {"enum": ["error", "weekends-only"]},
            }),
            "counties": {
                "type": "array", "minItems": 1,
                "items": _object({"id": ID, "name": TEXT,
                                  "kind": {"enum": ["county", "district", "zone"]},
                                  "government": TEXT}, ["id", "name", "kind"]),
            },
            "milestones": {"type": "object", "propertyNames": ID,
                           "additionalProperties": TEXT, "minProperties": 1},
            "task_forces": {
                "type": "array", "minItems": 1,
                "items": _object({"id": ID, "name": TEXT,
                                  "leads": {"type": "array", "items": TEXT, "minItems": 1}},
                                 ["id", "name", "leads"]),
            },
            "categories": {
                "type": "array", "minItems": 1,
                "items": _object({"id": ID, "name": TEXT, "task_force": ID,
                                  "path": {"type": "array", "items": ID, "minItems": 2}},
                                 ["id", "name", "task_force", "path"]),
            },
            "problem_types": {"type": "array", "minItems": 1, "items": NAMED},
            "actions": {"type": "array", "minItems": 1, "items": NAMED},
            "ladder": {
                "type": "array", "minItems": 1,
                "items": _object({"level": {"enum": LEVELS}, "name": TEXT, "recipient": TEXT,
                                  "deadline": DEADLINE},
                                 ["level", "name", "recipient", "deadline"]),
            },
            "targets": {
                "type": "array",
                "items": _object({
                    "id": ID, "title": TEXT,
                    "category": {"anyOf": [ID, {"type": "array", "items": ID, "minItems": 1}]},
                    "metric": {"enum": METRICS},
                    "op": {"enum": [">", ">=", "<", "<=", "=="]},
                    "threshold": {"type": "number"},
                    "unit": TEXT,
                    "due": DATE,
                }, ["id", "title", "category", "metric", "op", "threshold", "due"]),
            },
            "schedules": _object({
                "daily": TEXT, "weekly": TEXT, "monthly": TEXT,
                "catch_up_grace_hours": {"type": "number", "minimum": 0},
            }, ["daily", "weekly", "monthly"]),
            "ranking": _object({
                "weights": {"type": "object", "propertyNames": {"enum": RATES},
                            "additionalProperties": {"type": "number", "minimum": 0},
                            "minProperties": 1},
            }, ["weights"]),
            "reports": _object({"language": {"enum": ["zh", "en"]}, "title": TEXT,
                                "organisation": TEXT}),
            "ledger": _object({"headers": {"type": "object",
                                           "additionalProperties": {"type": "string"}}}),
        },
        ["version", "timezone", "counties", "milestones", "task_forces", "categories",
         "problem_types", "actions", "ladder", "schedules", "ranking"],
    ),
}
