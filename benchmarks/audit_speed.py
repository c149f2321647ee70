"""Audit throughput: verify and replay (records/s) next to raw SHA-256 over the same bytes.

    python benchmarks/audit_speed.py            # 1,000,000 records
    python benchmarks/audit_speed.py --n 200000
    python benchmarks/audit_speed.py --quick    # 20,000, for a CI smoke run

Builds a SQLite workspace in a temporary folder with the shipped policies and rules, publishes
them, and appends N decisions through the decision log's own appender: the daily project rules
evaluated on synthetic facts, 1,000 records per pass run. Then, in the same run:

- verify: ``verify_log`` over the whole log (read in chunks, every hash recomputed, chain checked);
- replay: ``replay_log`` over the whole log (every decision re-evaluated from its inputs);
- SHA-256 floor: the canonical bytes of every record built outside the clock, then only
  ``hashlib.sha256(...).hexdigest()`` timed over them — what hashing alone costs.

Printed: records, seconds, records/s, MB/s for the floor, and peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from kfworkflow.audit.replay import replay_log, replay_scope  # noqa: E402
from kfworkflow.audit.verify import log_bounds, stream_decisions, verify_log  # noqa: E402
from kfworkflow.engine.workspace import Workspace, init_workspace  # noqa: E402
from kfworkflow.evaluate.env import PassEnv  # noqa: E402
from kfworkflow.evaluate.run import evaluate  # noqa: E402
from kfworkflow.rules.ruleset import canonical_json, load_ruleset  # noqa: E402
from kfworkflow.storage import rule_store  # noqa: E402
from kfworkflow.storage.db import read_session, write_session  # noqa: E402
from kfworkflow.storage.decision_log import (  # noqa: E402
    HASHED_FIELDS,
    DecisionAppender,
    row_fields,
)
from kfworkflow.storage.decision_log import canonical_json as record_json  # noqa: E402
from kfworkflow.storage.engine_models import Decision, PassRun  # noqa: E402

AS_OF = date(2022, 11, 24)
PER_RUN = 1_000
NOW = datetime(2022, 11, 24, 10, 0, tzinfo=UTC)


def synthetic_facts(count: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i in range(count):
        category = rng.choice(["key_project"] * 6 + ["policy_finance", "special_bond"])
        planned = AS_OF + timedelta(days=rng.randint(-60, 30))
        started = planned if rng.random() < 0.5 and planned <= AS_OF else None
        annual = rng.choice([0.0, rng.uniform(500, 50000)])
        funds = rng.uniform(100, 20000) if rng.random() < 0.5 else None
        out.append((f"P{i:07d}", {
            "code": f"P{i:07d}", "category": category, "county": "qixian",
            "county_name": "杞县", "task_force_leads": "市发改委",
            "state": "started" if started else "planned", "state_on": started,
            "planned.started": planned, "actual.started": started,
            "actual.signed": planned - timedelta(days=30) if category == "policy_finance"
            else None,
            "annual_investment": annual,
            "investment_rate": rng.uniform(0.3, 1.1) if annual else None,
            "planned_funds": funds, "disbursement_rate": rng.uniform(0.2, 1.0) if funds else None,
            "exempt": False, "exempt_reason": None}))
    return out


def build(ws: Workspace, n: int) -> float:
    ruleset = load_ruleset(ws.rules_dir, ws.policies)
    with write_session(ws.ready_engine()) as session:
        rule_store.publish(session, revision=ruleset.revision, effective_from=date(2022, 1, 1),
                           content=canonical_json(dict(ruleset.content)),
                           files={p.name: p.read_text(encoding="utf-8")
                                  for p in sorted(ws.rules_dir.glob("*.yaml"))},
                           policies_text=ws.policies_path.read_text(encoding="utf-8"),
                           actor="bench", now=NOW)
    rng = random.Random(7)
    subjects = synthetic_facts(2_000, rng)
    env = PassEnv(AS_OF, ws.calendar)
    decisions = list(evaluate(ruleset, "daily", "project", subjects, env))
    started = time.perf_counter()
    written = 0
    while written < n:
        with write_session(ws.engine) as session:
            appender = DecisionAppender(session, batch=5_000)
            for _ in range(50):  # 50 pass runs per transaction
                if written >= n:
                    break
                run = PassRun(kind="daily", period_key=f"bench-{written}", as_of=AS_OF,
                              revision=ruleset.revision, calendar_version=ws.calendar.version,
                              status="succeeded", counts="{}", started_at=NOW, actor="bench")
                session.add(run)
                session.flush()
                assert run.id is not None
                for index in range(min(PER_RUN, n - written)):
                    decision = decisions[(written + index) % len(decisions)]
                    appender.append(pass_run_id=run.id, subject_kind="project",
                                    subject_key=decision.subject_key, as_of=AS_OF,
                                    rule_id=decision.rule_id, revision=ruleset.revision,
                                    calendar_version=ws.calendar.version,
                                    inputs=decision.inputs,
                                    outcome={**decision.outcome(), "group": decision.group},
                                    reason=decision.reason)
                written += min(PER_RUN, n - written)
            appender.flush()
    return time.perf_counter() - started


def sha_floor(ws: Workspace) -> tuple[int, int, float]:
    """(records, bytes, seconds hashing only) over the canonical bytes of every record."""
    records = size = 0
    seconds = 0.0
    with read_session(ws.engine) as session:
        conn = session.connection()
        _, upper = log_bounds(conn)
        chunk: list[bytes] = []

        def flush() -> float:
            start = time.perf_counter()
            for payload in chunk:
                hashlib.sha256(payload).hexdigest()
            return time.perf_counter() - start

        for row in stream_decisions(conn, upper_id=upper):
            fields = row_fields(cast(Decision, row))
            chunk.append(record_json({k: fields[k] for k in HASHED_FIELDS}).encode("utf-8"))
            if len(chunk) == 10_000:
                seconds += flush()
                records += len(chunk)
                size += sum(len(p) for p in chunk)
                chunk = []
        seconds += flush()
        records += len(chunk)
        size += sum(len(p) for p in chunk)
    return records, size, seconds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records in the log")
    parser.add_argument("--quick", action="store_true", help="20,000 records (CI smoke)")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.n
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        init_workspace(root)
        ws = Workspace(root, actor="bench")
        build_seconds = build(ws, n)
        with ws.engine.connect() as conn:
            on_disk = conn.execute(text("SELECT page_count * page_size FROM pragma_page_count(), "
                                        "pragma_page_size()")).scalar() or 0
        print(f"log: {n:,} records appended in {build_seconds:.1f} s "
              f"({n / build_seconds:,.0f}/s), database {on_disk / 1e6:,.0f} MB")

        started = time.perf_counter()
        with read_session(ws.engine) as session:
            report = verify_log(session.connection())
        verify_seconds = time.perf_counter() - started
        assert report.ok and report.checked == n, report.to_dict()
        print(f"verify:      {n:,} records in {verify_seconds:7.2f} s = "
              f"{n / verify_seconds:>10,.0f} records/s   (peak RSS {peak_rss_mb():,.0f} MB)")

        started = time.perf_counter()
        with read_session(ws.engine) as session:
            replayed = replay_log(session, ws.calendar, replay_scope(session))
        replay_seconds = time.perf_counter() - started
        assert replayed.diverged == 0 and replayed.checked == n
        print(f"replay:      {n:,} records in {replay_seconds:7.2f} s = "
              f"{n / replay_seconds:>10,.0f} records/s   (peak RSS {peak_rss_mb():,.0f} MB)")

        records, size, hash_seconds = sha_floor(ws)
        print(f"SHA-256 only:{records:,} records in {hash_seconds:7.2f} s = "
              f"{records / hash_seconds:>10,.0f} records/s   ({size / 1e6:,.0f} MB, "
              f"{size / 1e6 / hash_seconds:,.0f} MB/s, {size / records:,.0f} bytes/record)")
        print(f"verify is {verify_seconds / hash_seconds:.1f}× the hashing floor; replay "
              f"{replay_seconds / hash_seconds:.1f}×")


if __name__ == "__main__":
    main()
