"""A published rule version compiled from its stored files and policies, once per revision.

Passes, replays and reports all evaluate the version in force on a date as it was published —
never the workspace's current files — so they compile it from the version store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kfworkflow.config.policies import parse_policies
from kfworkflow.errors import ConfigError, RuleCheckError
from kfworkflow.lifecycle.milestones import MilestoneLifecycle
from kfworkflow.rules.ruleset import RuleSet, compile_source
from kfworkflow.rules.spec import RuleSource, read_rules_text
from kfworkflow.storage.rule_models import RuleVersion


@dataclass(frozen=True)
class CompiledVersion:
    ruleset: RuleSet
    lifecycle: MilestoneLifecycle


_COMPILED: dict[str, CompiledVersion] = {}


def compile_version(version: RuleVersion) -> CompiledVersion:
    """A published version compiled from its stored files and policies (cached by revision)."""
    found = _COMPILED.get(version.revision)
    if found is not None:
        return found
    where = f"rule revision {version.revision}"
    policies, findings = parse_policies(version.policies, f"policies.yaml@{version.revision}")
    if policies is None or findings:
        raise RuleCheckError(f"the stored policies of {where} do not compile", findings)
    source = RuleSource()
    for name, body in sorted(json.loads(version.files).items()):
        read_rules_text(body, f"{name}@{version.revision}", source)
    ruleset, findings = compile_source(source, policies)
    if ruleset is None or findings:
        raise RuleCheckError(f"the stored rule files of {where} do not compile", findings)
    if ruleset.revision != version.revision:
        raise ConfigError(f"the stored files of {where} compile to revision {ruleset.revision}; "
                          "the version store was altered or this kfworkflow compiles rules "
                          "differently from the one that published them")
    lifecycle = MilestoneLifecycle({c.id: c.path for c in policies.categories},
                                   dict(policies.milestones))
    compiled = CompiledVersion(ruleset, lifecycle)
    if len(_COMPILED) > 32:
        _COMPILED.clear()
    _COMPILED[version.revision] = compiled
    return compiled
