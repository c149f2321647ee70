"""The scheduler's times: standard cron fields, fire times in the configured zone.

Times are worked out by hand. Asia/Shanghai is UTC+8 all year: the default daily pass
("0 18 * * *") fires at 10:00 UTC, the weekly ("0 9 * * mon") on Mondays at 01:00 UTC, the
monthly ("0 9 1 * *") on the 1st at 01:00 UTC. 2022-11-21 is a Monday (ISO week 47).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kfworkflow import scheduling
from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import Policies, load_policies
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ConfigError
from kfworkflow.scheduling import (
    NextRun,
    PassScheduler,
    build_scheduler,
    cron_trigger,
    next_runs,
    scheduled_at,
    standard_weekdays,
)
from tests.scheduling_fakes import (
    MONDAY_10_CST,
    FakePasses,
    MovableClock,
    utc,
    with_schedules,
)


@pytest.fixture(scope="module")
def policies() -> Policies:
    return load_policies(default_policies_path())



# --- cron expressions ---------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "expected"), [
    ("*", "*"),
    ("1", "mon"),
    ("0", "sun"),
    ("7", "sun"),
    ("mon", "mon"),
    ("1-5", "mon,tue,wed,thu,fri"),
    ("mon-fri", "mon,tue,wed,thu,fri"),
    ("5-7", "fri,sat,sun"),
    ("fri-sun", "fri,sat,sun"),
    ("*/2", "tue,thu,sat,sun"),  # cron: 0, 2, 4, 6 = Sun, Tue, Thu, Sat
    ("1,3,5", "mon,wed,fri"),
    ("0-6/3", "wed,sat,sun"),  # 0, 3, 6
])
def test_weekdays_follow_standard_cron_not_apscheduler_numbering(field: str,
                                                                  expected: str) -> None:
    assert standard_weekdays(field, "schedules.weekly") == expected


@pytest.mark.parametrize(("field", "message"), [
    ("8", "schedules.weekly: weekday '8' is not 0-7 or a day name such as mon"),
    ("monday", "schedules.weekly: weekday 'monday' is not 0-7 or a day name such as mon"),
    ("5-2", "schedules.weekly: weekday range '5-2' runs backwards"),
    ("1/2", "schedules.weekly: weekday '1/2': a step needs a range or '*'"),
    ("*/0", "schedules.weekly: weekday step '0' is not a positive number"),
])
def test_bad_weekday_fields_are_refused(field: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        standard_weekdays(field, "schedules.weekly")
    assert str(caught.value) == message


def test_monday_in_standard_cron_numbers_fires_on_monday(policies: Policies) -> None:
    numbered = with_schedules(policies, weekly="0 9 * * 1")
    fire = cron_trigger(numbered, "weekly").get_next_fire_time(None, utc(2022, 11, 15))
    assert fire.isoformat() == "2022-11-21T09:00:00+08:00"  # APScheduler 3 alone: Tuesday 22nd


@pytest.mark.parametrize(("kind", "cron", "message"), [
    ("daily", "0 18 * *",
     "schedules.daily '0 18 * *' is not a 5-field cron expression (minute hour day month "
     "weekday, e.g. '0 18 * * *')"),
    ("monthly", "0 9 1 * mon",
     "schedules.monthly '0 9 1 * mon' restricts both the day of the month and the weekday; cron "
     "would fire on either, APScheduler only on both: restrict one of them"),
])
def test_unusable_schedules_are_refused(policies: Policies, kind: scheduling.Kind, cron: str,
                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cron_trigger(with_schedules(policies, **{kind: cron}), kind)
    assert str(caught.value) == message


def test_an_out_of_range_hour_names_the_schedule(policies: Policies) -> None:
    with pytest.raises(ConfigError) as caught:
        cron_trigger(with_schedules(policies, daily="0 25 * * *"), "daily")
    assert str(caught.value).startswith(
        "schedules.daily '0 25 * * *' is not a valid cron expression: ")
    assert "25" in str(caught.value)


# --- when schedules fire -------------------------------------------------------------------------

EXPECTED_FROM_SUNDAY = [
    NextRun("daily", utc(2022, 11, 20, 10), date(2022, 11, 20)),
    NextRun("weekly", utc(2022, 11, 21, 1), date(2022, 11, 21)),
    NextRun("daily", utc(2022, 11, 21, 10), date(2022, 11, 21)),
    NextRun("daily", utc(2022, 11, 22, 10), date(2022, 11, 22)),
]


def test_next_runs_in_the_configured_zone(policies: Policies) -> None:
    # from Sunday 2022-11-20 08:00 CST: two days, to Tuesday 08:00 CST
    assert next_runs(policies, utc(2022, 11, 20, 0), 2) == EXPECTED_FROM_SUNDAY[:3]
    assert next_runs(policies, utc(2022, 11, 20, 0), 3) == EXPECTED_FROM_SUNDAY


def test_next_runs_are_strictly_after_and_cover_the_month_end(policies: Policies) -> None:
    after = utc(2022, 11, 30, 10)  # exactly the daily fire of 2022-11-30: not included
    assert next_runs(policies, after, 1) == [
        NextRun("monthly", utc(2022, 12, 1, 1), date(2022, 12, 1)),
        NextRun("daily", utc(2022, 12, 1, 10), date(2022, 12, 1)),
    ]


@pytest.fixture
def server_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def switch(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("policy_zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_fire_times_do_not_depend_on_the_servers_time_zone(policies: Policies, server_zone: Any,
                                                           policy_zone: str) -> None:
    configured = with_schedules(policies, timezone=policy_zone)
    seen = []
    offsets = set()
    for zone in ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"):
        server_zone(zone)
        offsets.add(time.timezone)
        scheduler_jobs = build_scheduler_jobs(configured)
        seen.append((next_runs(configured, utc(2022, 10, 28), 4), scheduler_jobs))
    assert len(offsets) == 4  # the server's zone really changed
    assert all(item == seen[0] for item in seen)
    local = [(run.kind, run.fire_at.astimezone(ZoneInfo(policy_zone)).strftime("%a %H:%M"))
             for run in seen[0][0]]
    assert local == [("daily", "Fri 18:00"), ("daily", "Sat 18:00"), ("daily", "Sun 18:00"),
                     ("weekly", "Mon 09:00"), ("daily", "Mon 18:00")]


def test_berlin_schedule_follows_the_daylight_saving_change(policies: Policies) -> None:
    # Central Europe leaves summer time on 2022-10-30: 18:00 local is 16:00 UTC, then 17:00 UTC
    berlin = with_schedules(policies, timezone="Europe/Berlin")
    daily = [run.fire_at for run in next_runs(berlin, utc(2022, 10, 29), 2)
             if run.kind == "daily"]
    assert daily == [utc(2022, 10, 29, 16), utc(2022, 10, 30, 17)]


def build_scheduler_jobs(policies: Policies) -> list[tuple[str, datetime]]:
    """The APScheduler jobs a scheduler would run, and their first fire after 2022-10-28."""
    ws = Workspace(Path("."), clock=MovableClock(utc(2022, 10, 28)))
    ws.__dict__["policies"] = policies  # the cached property, set without a policies file
    background = build_scheduler(PassScheduler(ws, engine=FakePasses(date(2022, 10, 1))))
    return [(job.id, to_utc_fire(job.trigger.get_next_fire_time(None, utc(2022, 10, 28))))
            for job in background.get_jobs()]


def to_utc_fire(fire: datetime) -> datetime:
    return fire.astimezone(UTC)


def test_jobs_come_from_the_policies_in_memory(policies: Policies) -> None:
    ws = Workspace(Path("."), clock=MovableClock(MONDAY_10_CST))
    ws.__dict__["policies"] = policies
    background = build_scheduler(PassScheduler(ws, engine=FakePasses(date(2022, 11, 1))),
                                 timedelta(minutes=5))
    background.start(paused=True)  # paused: nothing fires; the job defaults are applied
    try:
        jobs = {job.id: job for job in background.get_jobs()}
        assert sorted(jobs) == ["pass-daily", "pass-monthly", "pass-weekly", "recheck"]
        assert jobs["recheck"].trigger.interval == timedelta(minutes=5)
        assert jobs["recheck"].args == ()
        assert jobs["pass-weekly"].args == ("weekly",)
        assert jobs["pass-weekly"].misfire_grace_time is None
        assert jobs["pass-weekly"].coalesce and jobs["pass-weekly"].max_instances == 1
        assert type(background._jobstores["default"]).__name__ == "MemoryJobStore"
        assert str(background.timezone) == "Asia/Shanghai"
    finally:
        background.shutdown(wait=False)


@pytest.mark.parametrize(("kind", "as_of", "expected"), [
    ("daily", date(2022, 11, 19), utc(2022, 11, 19, 10)),
    ("weekly", date(2022, 11, 23), utc(2022, 11, 21, 1)),  # the Monday of the ISO week
    ("monthly", date(2022, 11, 23), utc(2022, 11, 1, 1)),
])
def test_a_period_is_due_at_its_first_fire(policies: Policies, kind: scheduling.Kind,
                                           as_of: date, expected: datetime) -> None:
    assert scheduled_at(policies, kind, as_of) == expected


def test_a_period_the_cron_skips_is_due_at_the_next_fire(policies: Policies) -> None:
    workdays = with_schedules(policies, daily="0 18 * * 1-5")
    # Saturday 2022-11-19 has no fire of its own: due Monday 2022-11-21 18:00 CST
    assert scheduled_at(workdays, "daily", date(2022, 11, 19)) == utc(2022, 11, 21, 10)
