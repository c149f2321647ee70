"""Weekly pass end to end (load → evaluate → write) on N synthetic projects, next to a floor.

    python benchmarks/pass_weekly.py --quick          # CI smoke (2,000 projects)
    python benchmarks/pass_weekly.py --projects 100000

Builds a SQLite workspace with the default rules and policies, N projects with four weeks of
daily reports (20 per project) and some problems, and runs the daily pass of 2022-11-21 (its
lights feed the weekly pass). From the state it left, on a fresh copy each time and in a fresh
process, it times the weekly pass of 2022-11-21, and the floor: the same rows read with one plain
SELECT plus one bulk insert of the decision rows the weekly pass appended, into the same table.
Each is timed ``--repeat`` times and the best of each is compared, as timeit does: the other
runs measure the machine's noise. Prints wall time, projects/s and peak RSS of each (RSS of the
measuring process only, so the data generation does not count).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

AS_OF = date(2022, 11, 21)  # a Monday
COUNTIES = ("qixian", "tongxu", "weishi", "lankao", "xiangfu", "longting", "shunhe", "gulou",
            "yuwangtai", "demo_zone")
CATEGORIES = (("key_project", "key_projects"), ("three_batches", "key_projects"),
              ("special_bond", "special_bond"), ("central_budget", "central_budget"),
              ("housing_delivery", "housing_delivery"))
REPORT_DAYS = 20
BATCH = 20000


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(root: Path, projects: int, seed: int) -> None:
    from sqlalchemy import insert

    from kfworkflow.engine.workspace import Workspace, init_workspace
    from kfworkflow.rules.ruleset import canonical_json, load_ruleset
    from kfworkflow.storage import rule_store
    from kfworkflow.storage.db import write_session
    from kfworkflow.storage.models import DailyReport, Problem, Project, ProjectMilestone
    from kfworkflow.timefmt import FixedClock

    init_workspace(root)
    now = datetime(2022, 11, 21, 10, tzinfo=UTC)
    workspace = Workspace(root, actor="bench", clock=FixedClock(now))
    ruleset = load_ruleset(workspace.rules_dir, workspace.policies)
    calendar = workspace.calendar
    days: list[date] = []
    day = AS_OF
    while len(days) < REPORT_DAYS:
        if calendar.is_workday(day):
            days.append(day)
        day -= timedelta(days=1)
    rng = random.Random(seed)
    models: dict[str, Any] = {"project": Project, "milestone": ProjectMilestone,
                              "report": DailyReport, "problem": Problem}
    tables = {name: model.__table__ for name, model in models.items()}
    with write_session(workspace.engine) as session:
        rule_store.publish(session, revision=ruleset.revision, effective_from=date(2022, 11, 14),
                           content=canonical_json(dict(ruleset.content)),
                           files={p.name: p.read_text(encoding="utf-8")
                                  for p in sorted(workspace.rules_dir.glob("*.yaml"))},
                           policies_text=workspace.policies_path.read_text(encoding="utf-8"),
                           actor="bench", now=now)
        for start in range(0, projects, BATCH):
            ids = range(start + 1, min(projects, start + BATCH) + 1)
            rows, milestones, reports, problems = [], [], [], []
            for pid in ids:
                category, task_force = CATEGORIES[pid % len(CATEGORIES)]
                county = COUNTIES[pid % len(COUNTIES)]
                planned = date(2022, 6, 1) + timedelta(days=rng.randrange(200))
                started = planned + timedelta(days=rng.randrange(30)) if rng.random() < 0.8 \
                    else None
                if started and started > AS_OF:
                    started = None
                annual = float(rng.randrange(500, 50000))
                share = 0.92 if rng.random() < 0.9 else rng.uniform(0.2, 0.8)
                rows.append({"id": pid, "code": f"B{pid:07d}", "name": f"项目{pid}",
                             "category": category, "county": county, "task_force": task_force,
                             "responsible_unit": "单位", "responsible_person": "负责人",
                             "total_investment": annual * 3, "annual_investment": annual,
                             "planned_funds": annual if category in ("special_bond",
                                                                     "central_budget") else None,
                             "state": "started" if started else "planned",
                             "state_on": started, "created_at": now, "updated_at": now})
                milestones.append({"project_id": pid, "milestone": "started",
                                   "planned_on": planned, "actual_on": started})
                milestones.append({"project_id": pid, "milestone": "completed",
                                   "planned_on": planned + timedelta(days=400),
                                   "actual_on": None})
                for i, report_on in enumerate(reversed(days)):
                    progress = share * (0.9 + 0.1 * (i + 1) / REPORT_DAYS)
                    reports.append({"project_id": pid, "county": county, "report_on": report_on,
                                    "recorded_at": now, "completed_investment": annual * progress,
                                    "funds_arrived": annual * progress,
                                    "funds_disbursed": annual * progress * 0.9, "actor": "b"})
                if rng.random() < 0.02:
                    problems.append({"project_id": pid, "type": "resources",
                                     "level": rng.choice(("county", "city", "province")),
                                     "title": "用地指标不足", "opened_on": days[-1],
                                     "opened_at": now, "status": "open", "actor": "b"})
            session.execute(insert(tables["project"]), rows)
            session.execute(insert(tables["milestone"]), milestones)
            session.execute(insert(tables["report"]), reports)
            if problems:
                session.execute(insert(tables["problem"]), problems)


def measure_pass(root: Path, kind: str) -> dict[str, Any]:
    from kfworkflow.engine.passes import run_pass
    from kfworkflow.engine.workspace import Workspace
    from kfworkflow.timefmt import FixedClock

    workspace = Workspace(root, actor="bench",
                          clock=FixedClock(datetime(2022, 11, 21, 10, tzinfo=UTC)))
    workspace.ready_engine()
    started = time.perf_counter()
    result = run_pass(workspace, kind, AS_OF)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "counts": result.counts, "peak_rss_mb": _peak_rss_mb()}


FLOOR_QUERY = """
SELECT p.*, r.report_on, r.completed_investment, r.funds_arrived, r.funds_disbursed,
       s.color, s.streak, g.color, g.streak, e.reason
FROM project p
LEFT JOIN daily_report r ON r.id = (
    SELECT o.id FROM daily_report o WHERE o.project_id = p.id AND o.report_on <= :as_of
    ORDER BY o.report_on DESC, o.id DESC LIMIT 1)
LEFT JOIN subject_light s ON s.pass_run_id = :run AND s.kind = 'project' AND s.key = p.code
    AND s.dimension = 'start'
LEFT JOIN subject_light g ON g.pass_run_id = :run AND g.kind = 'project' AND g.key = p.code
    AND g.dimension = 'progress'
LEFT JOIN exemption e ON e.project_id = p.id AND e.from_on <= :as_of
    AND (e.until_on IS NULL OR e.until_on >= :as_of) AND (e.ended_on IS NULL OR e.ended_on > :as_of)
"""


def weekly_decisions(root: Path) -> list[tuple[Any, ...]]:
    """The decision rows the last weekly pass in ``root`` appended, as stored."""
    import sqlite3

    conn = sqlite3.connect(root / "kfw.db")
    try:
        run = conn.execute("SELECT max(id) FROM pass_run WHERE kind = 'weekly' "
                           "AND status = 'succeeded'").fetchone()[0]
        return conn.execute("SELECT * FROM decision WHERE pass_run_id = ? ORDER BY id",
                            (run,)).fetchall()
    finally:
        conn.close()


def measure_floor(root: Path, rows_from: Path) -> dict[str, Any]:
    """One plain SELECT of the rows the weekly pass reads, one bulk insert of the decisions it
    wrote.

    ``root`` is in the state the weekly pass started from; ``rows_from`` is a workspace where
    the weekly pass ran. The weekly default rules read, per project: its ledger row, its latest
    report on or before the pass date, its start and progress lights from the preceding daily
    pass, and a valid reason in force — so the floor reads exactly those, in one query, with no
    Python per row. Then it appends, in one transaction, the very decision rows the pass
    appended (same ids, hashes and contents, read before the clock starts) to the same decision
    table, with its indexes and the rows already there.
    """
    import sqlite3

    decisions = weekly_decisions(rows_from)
    conn = sqlite3.connect(root / "kfw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    daily_run = conn.execute("SELECT max(id) FROM pass_run WHERE kind = 'daily' "
                             "AND status = 'succeeded'").fetchone()[0]
    started = time.perf_counter()
    rows = 0
    for _ in conn.execute(FLOOR_QUERY, {"as_of": AS_OF.isoformat(), "run": daily_run}):
        rows += 1
    conn.execute("BEGIN")
    if decisions:
        marks = ",".join("?" * len(decisions[0]))
        conn.executemany(f"INSERT INTO decision VALUES ({marks})", decisions)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "rows_read": rows, "rows_written": len(decisions),
            "peak_rss_mb": _peak_rss_mb()}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _on_copy(root: Path, where: Path, child: list[str], *, extra: Sequence[str] = (),
             keep: bool = False) -> dict[str, Any]:
    """Run a measuring child on a fresh copy of ``root`` at ``where`` (removed after unless
    ``keep``), with the disk synced first: the copy's dirty pages must not slow its syncs."""
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(root, where)
    os.sync()
    try:
        return _child([*child, str(where), *extra])
    finally:
        if not keep:
            shutil.rmtree(where, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--quick", action="store_true", help="2,000 projects (CI smoke)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--repeat", type=int, default=3,
                        help="time the weekly pass (each from the same state) and the floor this "
                             "many times and report the best of each (default 3)")
    parser.add_argument("--dir", type=Path, default=None, help="keep the workspace here")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "ROOT"), help=argparse.SUPPRESS)
    parser.add_argument("--rows-from", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        what, root = args.child
        result = (measure_floor(Path(root), args.rows_from) if what == "floor"
                  else measure_pass(Path(root), what))
        print(json.dumps(result))
        return 0
    projects = 2000 if args.quick else args.projects
    root = args.dir or Path(tempfile.mkdtemp(prefix="kfw-bench-"))
    weekly_dir = root.with_name(f"{root.name}-weekly")
    try:
        started = time.perf_counter()
        build(root, projects, args.seed)
        print(f"built {projects:,} projects × {REPORT_DAYS} reports in "
              f"{time.perf_counter() - started:.1f} s ({root})", file=sys.stderr)
        daily = _child(["--child", "daily", str(root)])
        # ``root`` stays as the daily pass left it: every weekly pass and every floor starts
        # from a copy of it; the last weekly copy gives the floor its decision rows
        weeklies = [_on_copy(root, weekly_dir, ["--child", "weekly"], keep=True)
                    for _ in range(args.repeat)]
        weekly = min(weeklies, key=lambda w: float(w["seconds"]))
        floor_dir = root.with_name(f"{root.name}-floor")
        floors = [_on_copy(root, floor_dir, ["--child", "floor"],
                           extra=["--rows-from", str(weekly_dir)])
                  for _ in range(args.repeat)]
        floor = min(floors, key=lambda f: float(f["seconds"]))
    finally:
        shutil.rmtree(weekly_dir, ignore_errors=True)
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    ratio = weekly["seconds"] / floor["seconds"] if floor["seconds"] else float("nan")
    print(f"projects            {projects:,}")
    print(f"daily pass          {daily['seconds']:.2f} s  "
          f"{projects / daily['seconds']:,.0f} projects/s  peak RSS {daily['peak_rss_mb']:.0f} MB"
          f"  ({daily['counts'].get('decisions', 0):,} decisions)")
    print(f"weekly pass         {weekly['seconds']:.2f} s  "
          f"{projects / weekly['seconds']:,.0f} projects/s  peak RSS "
          f"{weekly['peak_rss_mb']:.0f} MB  ({weekly['counts'].get('decisions', 0):,} decisions, "
          f"{weekly['counts'].get('assignments_created', 0):,} assignments)")
    print(f"floor               {floor['seconds']:.2f} s  (1 SELECT of {floor['rows_read']:,} "
          f"rows + bulk insert of the pass's {floor['rows_written']:,} decisions)  peak RSS "
          f"{floor['peak_rss_mb']:.0f} MB")
    print(f"weekly / floor      {ratio:.2f}×")
    if args.repeat > 1:
        seconds = [", ".join(f"{run['seconds']:.2f}" for run in runs)
                   for runs in (weeklies, floors)]
        print(f"(best of {args.repeat}: weekly {seconds[0]} s; floor {seconds[1]} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
