"""Business dates and instants.

Two kinds of time, never mixed: ``*_on`` is a calendar ``date`` in the configured time zone
(default Asia/Shanghai); ``*_at`` is an aware UTC ``datetime``. Library code never reads the
clock itself: it receives a ``Clock``; only the CLI builds the ``SystemClock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock that always answers the same instant (tests, replays, the demo)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


def to_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: kfworkflow stores only aware instants")
    return instant.astimezone(UTC)


def business_date(instant: datetime, tz: str | ZoneInfo = DEFAULT_TZ) -> date:
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return to_utc(instant).astimezone(zone).date()


def start_of_day_utc(day: date, tz: str | ZoneInfo = DEFAULT_TZ) -> datetime:
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
