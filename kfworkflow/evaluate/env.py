"""The evaluation environment: the as-of date and the working-day calendar."""

from __future__ import annotations

from datetime import date

from kfworkflow.workcalendar import WorkCalendar


class PassEnv:
    """What compiled expressions may use besides the facts; nothing here reads a clock."""

    __slots__ = ("add_workdays", "as_of", "calendar", "workdays_between")

    def __init__(self, as_of: date, calendar: WorkCalendar) -> None:
        self.as_of = as_of
        self.calendar = calendar
        self.workdays_between = calendar.workdays_between
        self.add_workdays = calendar.add_workdays
