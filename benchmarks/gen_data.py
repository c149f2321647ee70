"""Generate synthetic ledgers and daily reports for benchmarks (and refresh ``examples/``).

    python benchmarks/gen_data.py --projects 140400 --out /tmp/kfw-bench
    python benchmarks/gen_data.py --projects 1404 --days 5 --format xlsx --out /tmp/kfw
    python benchmarks/gen_data.py --examples examples      # refresh the committed example files

Output is a pure function of ``--seed`` and ``--projects``: the same arguments give the same
bytes. Timings go to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from kfworkflow.demo.campaign import (
    CAMPAIGN_END,
    CAMPAIGN_START,
    campaign_rows,
    simulate_campaign,
    working_days,
)
from kfworkflow.demo.files import (
    write_daily_csv,
    write_daily_xlsx,
    write_examples,
    write_ledger_csv,
    write_ledger_xlsx,
)
from kfworkflow.demo.ledger_gen import BASE_TOTAL, iter_ledger
from kfworkflow.errors import KfwError


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=BASE_TOTAL,
                        help=f"number of projects (default {BASE_TOTAL}, the seed plan's count)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--out", type=Path, default=Path("bench-data"),
                        help="directory for ledger.* and daily.*")
    parser.add_argument("--days", type=int, default=None,
                        help="simulate only the first N working days (default: the whole campaign)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--no-daily", action="store_true", help="write the ledger only")
    parser.add_argument("--examples", type=Path, default=None, metavar="DIR",
                        help="write the example files to DIR instead and stop")
    return parser.parse_args(argv)


def _last_day(days: int | None) -> date:
    if days is None:
        return CAMPAIGN_END
    if days < 1:
        raise SystemExit("--days must be 1 or more")
    report_days = working_days(CAMPAIGN_START, CAMPAIGN_END)
    return report_days[min(days, len(report_days)) - 1]


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        if args.examples is not None:
            for path in write_examples(args.examples, args.seed):
                print(path)
            return 0
        args.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        ledger = list(iter_ledger(args.seed, args.projects))
        print(f"generated {len(ledger)} projects in {time.perf_counter() - started:.1f}s",
              file=sys.stderr)
        suffix = args.format
        write_ledger = write_ledger_xlsx if suffix == "xlsx" else write_ledger_csv
        print(write_ledger(ledger, args.out / f"ledger.{suffix}"))
        if not args.no_daily:
            started = time.perf_counter()
            batches = simulate_campaign(ledger, args.seed, CAMPAIGN_START, _last_day(args.days))
            write_daily = write_daily_xlsx if suffix == "xlsx" else write_daily_csv
            print(write_daily(campaign_rows(batches), args.out / f"daily.{suffix}"))
            print(f"simulated and wrote the reports in {time.perf_counter() - started:.1f}s",
                  file=sys.stderr)
    except KfwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
