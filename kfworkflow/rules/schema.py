"""JSON Schema of a rules file (``rules/*.yaml``) and of a rule test file (``rules/tests/*.yaml``).

The same schema validates files (with located findings) and is printed by ``kfw rules schema``
for editor completion.
"""

from __future__ import annotations

from typing import Any

from kfworkflow.rules.facts import SUBJECT_KINDS

ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
DATE = {"type": "string", "format": "date"}
PASSES = ["daily", "weekly", "monthly"]
COLORS = ["green", "yellow", "red"]
LEVELS = ["county", "city", "province", "subject"]

DEADLINE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "working_days": {"type": "integer", "minimum": 0},
        "days": {"type": "integer", "minimum": 0},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "description": "Exactly one of working_days (工作日) or days (自然日).",
}

OUTCOME: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "light": {
            "type": "object",
            "additionalProperties": False,
            "required": ["dimension", "color"],
            "properties": {"dimension": ID, "color": {"enum": COLORS}},
        },
        "route": {
            "type": "object",
            "additionalProperties": False,
            "required": ["level"],
            "properties": {
                "level": {"enum": LEVELS},
                "recipient": {"type": "string", "minLength": 1},
                "deadline": DEADLINE,
            },
        },
        "escalate": {"type": "boolean"},
        "action": {"type": "string", "minLength": 1},
    },
}

RULE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "applies_to", "pass", "when", "then", "reason",
                 "effective_from"],
    "properties": {
        "id": ID,
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "applies_to": {"enum": list(SUBJECT_KINDS)},
        "pass": {"enum": PASSES},
        "group": ID,
        "priority": {"type": "integer"},
        "let": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "when": {"type": ["string", "boolean"]},
        "then": OUTCOME,
        "reason": {"type": "string", "minLength": 1},
        "effective_from": DATE,
        "effective_to": {"anyOf": [DATE, {"type": "null"}]},
    },
}

GROUP: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "hit"],
    "properties": {
        "id": ID,
        "title": {"type": "string"},
        "hit": {"enum": ["first", "collect"]},
    },
}

DIMENSION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title"],
    "properties": {"id": ID, "title": {"type": "string"}, "title_en": {"type": "string"}},
}

RULES_FILE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kfworkflow rules file",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "dimensions": {"type": "array", "items": DIMENSION},
        "groups": {"type": "array", "items": GROUP},
        "rules": {"type": "array", "items": RULE},
    },
}

WANT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "rule"],
    "properties": {
        "subject": {"type": ["string", "integer"]},
        "rule": ID,
        "light": {"type": "object", "additionalProperties": {"enum": COLORS}},
        "route": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "level": {"enum": LEVELS[:3]},
                "recipient": {"type": "string"},
                "deadline": DATE,
            },
        },
        "escalate": {"type": "boolean"},
        "action": {"type": "string"},
        "reason": {"type": "string"},
    },
}

TEST_FILE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kfworkflow rule test cases",
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {
        "cases": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["note", "as_of", "pass", "subjects", "want"],
                "properties": {
                    "note": {"type": "string", "minLength": 1},
                    "as_of": DATE,
                    "pass": {"enum": PASSES},
                    "subjects": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["kind", "key", "facts"],
                            "properties": {
                                "kind": {"enum": list(SUBJECT_KINDS)},
                                "key": {"type": ["string", "integer"]},
                                "facts": {"type": "object"},
                            },
                        },
                    },
                    "want": {"type": "array", "items": WANT},
                    "only_rules": {"type": "array", "items": ID},
                },
            },
        },
    },
}
