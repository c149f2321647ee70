"""What compiled conditions call at run time, and the tracing interpreter (``expr_trace``) too.

Semantics are described in ``expr_compile``; these helpers are the parts that are functions
rather than inlined Python: run-time typed arithmetic, membership with a none list, and the
implementation of every function of the rule language (``FUNCTION_IMPLEMENTATIONS``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol


class EvalEnv(Protocol):
    """What an expression needs besides the facts: the pass date and a working-day calendar."""

    @property
    def as_of(self) -> dt.date: ...

    def workdays_between(self, start: dt.date, end: dt.date) -> int: ...

    def add_workdays(self, day: dt.date, count: int) -> dt.date: ...


def add(left: Any, right: Any) -> Any:
    """``left + right`` for non-none operands, with date + int moving by days."""
    if isinstance(left, dt.date) and isinstance(right, int):
        return left + dt.timedelta(right)
    if isinstance(left, int) and isinstance(right, dt.date):
        return right + dt.timedelta(left)
    return left + right


def subtract(left: Any, right: Any) -> Any:
    """``left - right`` for non-none operands; date - date is whole days."""
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        return (left - right).days
    if isinstance(left, dt.date) and isinstance(right, int):
        return left - dt.timedelta(right)
    return left - right


def divide(left: Any, right: Any) -> Any:
    return None if right == 0 else left / right


def member(item: Any, container: Any) -> bool:
    return container is not None and item in container


def not_member(item: Any, container: Any) -> bool:
    return container is not None and item not in container


def _clamp_share(value: float) -> float:
    return max(0.0, min(1.0, value))


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month


def days_since(env: EvalEnv, day: dt.date) -> int:
    return (env.as_of - day).days


def days_until(env: EvalEnv, day: dt.date) -> int:
    return (day - env.as_of).days


def working_days_since(env: EvalEnv, day: dt.date) -> int:
    return env.workdays_between(day, env.as_of)


def working_days_until(env: EvalEnv, day: dt.date) -> int:
    return env.workdays_between(env.as_of, day)


def add_days(env: EvalEnv, day: dt.date, count: int) -> dt.date:
    return day + dt.timedelta(count)


def add_working_days(env: EvalEnv, day: dt.date, count: int) -> dt.date:
    return env.add_workdays(day, count)


def ratio(env: EvalEnv, part: Any, whole: Any) -> Any:
    return divide(part, whole)


def pro_rata_months(env: EvalEnv) -> float:
    """序时进度 by months: the share of the year elapsed, counting the current month."""
    return env.as_of.month / 12


def pro_rata_days(env: EvalEnv, start: dt.date, end: dt.date) -> float | None:
    """Share of the days start..end (both counted) elapsed up to as_of, clamped to 0..1."""
    span = (end - start).days + 1
    if span <= 0:
        return None
    return _clamp_share(((env.as_of - start).days + 1) / span)


def pro_rata_window(env: EvalEnv, event: dt.date, months: int) -> float | None:
    """Months from the month after ``event`` up to and including as_of's month, over ``months``."""
    if months <= 0:
        return None
    return _clamp_share((_month_index(env.as_of) - _month_index(event)) / months)


def pp_gap(env: EvalEnv, actual: Any, target: Any) -> Any:
    """Percentage points ahead (positive) or behind (negative) the target."""
    return (actual - target) * 100


def minimum(env: EvalEnv, *values: Any) -> Any:
    return min(values)


def maximum(env: EvalEnv, *values: Any) -> Any:
    return max(values)


def absolute(env: EvalEnv, value: Any) -> Any:
    return abs(value)


def length(env: EvalEnv, value: Any) -> int:
    return len(value)


def round_half_up(env: EvalEnv, value: Any, digits: int | None = None) -> Any:
    """Round half away from zero (四舍五入) at the decimal the user sees; round(x) is an int.

    Floats far from a half are rounded with float arithmetic; only values whose scaled
    fraction is within 1e-6 of .5 (where binary floats mislead: 2.675 is 2.67499...) take the
    exact decimal path on their shortest repr.
    """
    places = 0 if digits is None else digits
    if isinstance(value, int) and places >= 0:
        return value
    if isinstance(value, float) and 0 <= places <= 9 and abs(value) < 1e12:
        scale = _POWERS[places]
        scaled = abs(value) * scale
        floor = math.floor(scaled)
        if abs(scaled - floor - 0.5) > 1e-6:
            magnitude = floor + 1 if scaled - floor > 0.5 else floor
            result = math.copysign(magnitude / scale, value) if magnitude else 0.0
            return int(result) if digits is None else result
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if digits is None or isinstance(value, int):
        return int(rounded)
    return float(rounded)


_POWERS = tuple(10.0**i for i in range(10))


FUNCTION_IMPLEMENTATIONS: Mapping[str, Callable[..., Any]] = {
    "days_since": days_since,
    "days_until": days_until,
    "working_days_since": working_days_since,
    "working_days_until": working_days_until,
    "add_days": add_days,
    "add_working_days": add_working_days,
    "ratio": ratio,
    "pro_rata_months": pro_rata_months,
    "pro_rata_days": pro_rata_days,
    "pro_rata_window": pro_rata_window,
    "pp_gap": pp_gap,
    "min": minimum,
    "max": maximum,
    "abs": absolute,
    "round": round_half_up,
    "len": length,
}
