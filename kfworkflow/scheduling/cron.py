"""Cron schedules: the APScheduler trigger of each pass kind, its fire times, period bounds.

Weekday numbers in the cron strings follow standard cron (0 or 7 = Sunday, 1 = Monday).
APScheduler 3 counts from Monday = 0, so they are translated to day names here. APScheduler is
imported only on first use.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal, NamedTuple, cast

from kfworkflow.config.policies import Policies
from kfworkflow.errors import ConfigError
from kfworkflow.timefmt import business_date, start_of_day_utc, to_utc

Kind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron: 0 (or 7) = Sunday
_APS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday_number(token: str, where: str) -> int:
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ConfigError(f"{where}: weekday {token!r} is not 0-7 or a day name such as mon")


def standard_weekdays(field_text: str, where: str) -> str:
    """A standard-cron weekday field as APScheduler 3 day names (``'1-5'`` → ``'mon,...,fri'``).

    APScheduler 3 numbers weekdays from Monday = 0, so ``from_crontab('0 9 * * 1')`` would
    silently run on Tuesdays.
    """
    text = field_text.strip().lower()
    if text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ConfigError(f"{where}: weekday step {step_text!r} is not a positive number")
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _weekday_number(first, where), _weekday_number(last, where)
            if high == 0 and low > 0:
                high = 7  # 'fri-sun'
            if high < low:
                raise ConfigError(f"{where}: weekday range {base!r} runs backwards")
        elif slash:
            raise ConfigError(f"{where}: weekday {item!r}: a step needs a range or '*'")
        else:
            low = high = _weekday_number(base, where)
        days.update(day % 7 for day in range(low, high + 1, step))
    # cron Sunday = 0 → APScheduler Sunday = 6
    return ",".join(_APS_DAYS[(day - 1) % 7] for day in sorted(days, key=lambda d: (d - 1) % 7))


def cron_expression(policies: Policies, kind: Kind) -> str:
    return cast(str, getattr(policies.schedules, kind))


def cron_trigger(policies: Policies, kind: Kind) -> Any:
    """The APScheduler ``CronTrigger`` of a pass kind, in the configured time zone."""
    from apscheduler.triggers.cron import CronTrigger

    expr = cron_expression(policies, kind)
    where = f"schedules.{kind} {expr!r}"
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"{where} is not a 5-field cron expression "
                          "(minute hour day month weekday, e.g. '0 18 * * *')")
    minute, hour, day, month, weekday = fields
    if day not in ("*", "?") and weekday not in ("*", "?"):
        raise ConfigError(f"{where} restricts both the day of the month and the weekday; cron "
                          "would fire on either, APScheduler only on both: restrict one of them")
    try:
        return CronTrigger(minute=minute, hour=hour, day="*" if day == "?" else day, month=month,
                           day_of_week=standard_weekdays(weekday, where), timezone=policies.tz)
    except ValueError as exc:
        raise ConfigError(f"{where} is not a valid cron expression: {exc}") from exc


def next_fire(trigger: Any, at_or_after: datetime) -> datetime | None:
    fire = trigger.get_next_fire_time(None, to_utc(at_or_after))
    return None if fire is None else to_utc(fire)


class NextRun(NamedTuple):
    kind: Kind
    fire_at: datetime  # aware UTC
    business_date: date  # the fire time's date in the configured time zone


def next_runs(policies: Policies, after: datetime, days: int) -> list[NextRun]:
    """Every scheduled run strictly after ``after`` and within ``days`` days, in time order.

    Computed with APScheduler's triggers in ``policies.tz``: the server's time zone plays no part.
    """
    start = to_utc(after) + timedelta(microseconds=1)
    end = to_utc(after) + timedelta(days=days)
    runs: list[NextRun] = []
    for kind in KINDS:
        trigger = cron_trigger(policies, kind)
        fire = next_fire(trigger, start)
        while fire is not None and fire <= end:
            runs.append(NextRun(kind, fire, business_date(fire, policies.tz)))
            fire = next_fire(trigger, fire + timedelta(microseconds=1))
    runs.sort(key=lambda run: (run.fire_at, KINDS.index(run.kind)))
    return runs


def period_bounds(kind: Kind, as_of: date) -> tuple[date, date]:
    """First day of the period holding ``as_of`` and first day after it (day, ISO week, month)."""
    if kind == "daily":
        return as_of, as_of + timedelta(days=1)
    if kind == "weekly":
        monday = as_of - timedelta(days=as_of.weekday())
        return monday, monday + timedelta(days=7)
    first = as_of.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def scheduled_at(policies: Policies, kind: Kind, as_of: date, trigger: Any = None) -> datetime:
    """When the pass of the period holding ``as_of`` is due: its cron's first fire in the period.

    A cron that does not fire inside the period makes it due at the next fire after its start.
    """
    start, _ = period_bounds(kind, as_of)
    fire = next_fire(trigger or cron_trigger(policies, kind), start_of_day_utc(start, policies.tz))
    if fire is None:
        raise ConfigError(f"schedules.{kind} {cron_expression(policies, kind)!r} never fires")
    return fire
