"""Parsing one spreadsheet cell into a typed value.

Cells arrive raw: openpyxl gives ``datetime``/``int``/``float``/``str``, CSV gives ``str``.
Typed by hand in Chinese Excel, they carry full-width digits and punctuation, thousands
separators and stray spaces; all of that is accepted. Anything ambiguous (a unit suffix such as
万, a number where a date is expected) is refused with a :class:`CellError` that says what was
expected, so the importer can turn it into a located ``Finding``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal

from kfworkflow.errors import InputError

DATE_EXPECTED = "a date like 2022-11-30"
NUMBER_EXPECTED = "a number like 1234.5"
INTEGER_EXPECTED = "a whole number like 12"
TEXT_EXPECTED = "text"

# Excel's 1900 date system: serial 1 is 1900-01-01, and serial 60 is the fictitious
# 1900-02-29 that Excel keeps for Lotus 1-2-3 compatibility.
_EXCEL_EPOCH_BEFORE_LEAP_BUG = date(1899, 12, 31)
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_FAKE_LEAP_DAY = 60
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31

_EXCEL_ERRORS = frozenset(
    {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)

_MIDNIGHT = r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?"
_DATE_PATTERNS = (
    re.compile(
        r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})" + _MIDNIGHT
    ),
    re.compile(
        r"(?P<y>[0-9]{4}) ?年 ?(?P<m>[0-9]{1,2}) ?月 ?(?P<d>[0-9]{1,2}) ?[日号]?" + _MIDNIGHT
    ),
)

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
_GROUPED_INTEGER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+")
_NUMBER_WITH_SUFFIX = re.compile(r"(?P<number>[+-]?[0-9][0-9.,]*)\s*(?P<unit>[^0-9\s.,][^0-9]*)")
_NUMBER_WITH_PREFIX = re.compile(r"(?P<unit>[¥$€£])\s*(?P<number>.+)")

_EDGE_SPACE = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
_INNER_SPACE = re.compile(r"[\s\u200b\ufeff]+")
# Full-width forms U+FF01..U+FF5E map one-to-one onto ASCII 0x21..0x7E.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class CellError(InputError, ValueError):
    """A cell that cannot be read as the expected kind of value.

    ``expected`` is a short phrase such as ``"a date like 2022-11-30"``; the message says what
    was wrong with ``value``.
    """

    def __init__(self, message: str, expected: str, value: object = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.value = value


def parse_date(value: object) -> date | None:
    """A date from a date/datetime, an Excel serial number or a date string; None if empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"{value!r} is a yes/no value, not a date", DATE_EXPECTED, value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return _date_from_serial(value)
    if isinstance(value, str):
        text = _clean(value)
        if not text:
            return None
        _refuse_excel_error(text, DATE_EXPECTED, value)
        for pattern in _DATE_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                return _calendar_date(int(match["y"]), int(match["m"]), int(match["d"]), value)
        raise CellError(f"{value!r} is not a date", DATE_EXPECTED, value)
    raise CellError(f"{value!r} ({type(value).__name__}) is not a date", DATE_EXPECTED, value)


def parse_number(value: object) -> float | None:
    """A finite float from a number or a number string (thousands separators allowed)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"{value!r} is a yes/no value, not a number", NUMBER_EXPECTED, value)
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float | Decimal):
        return _finite(float(value), value, NUMBER_EXPECTED)
    if isinstance(value, str):
        text = _clean(value)
        if not text:
            return None
        return _finite(float(_number_text(text, value)), value, NUMBER_EXPECTED)
    raise CellError(f"{value!r} ({type(value).__name__}) is not a number", NUMBER_EXPECTED, value)


def parse_int(value: object) -> int | None:
    """A whole number; ``12.0`` and ``'1,200'`` are accepted, ``12.5`` is not."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(f"{value!r} is a yes/no value, not a number", INTEGER_EXPECTED, value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = _clean(value)
        if not text:
            return None
        if _PLAIN_INTEGER.fullmatch(text) or _GROUPED_INTEGER.fullmatch(text):
            return int(text.replace(",", ""))
    try:
        number = parse_number(value)
    except CellError as exc:
        raise CellError(str(exc), INTEGER_EXPECTED, value) from None
    if number is None:
        return None
    if not number.is_integer():
        raise CellError(f"{value!r} is not a whole number", INTEGER_EXPECTED, value)
    return int(number)


def parse_text(value: object) -> str | None:
    """Stripped text; None if empty. Whole floats (codes typed as numbers) lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, str):
        text = _EDGE_SPACE.sub("", value)
        return text or None
    if isinstance(value, bool):
        raise CellError(f"{value!r} is a yes/no value, not text", TEXT_EXPECTED, value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise CellError(f"{value!r} is not a finite number", TEXT_EXPECTED, value)
        return str(int(value)) if value == int(value) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    raise CellError(f"{value!r} ({type(value).__name__}) is not text", TEXT_EXPECTED, value)


def normalize_header(text: str) -> str:
    """The comparable form of a column header: full-width ASCII forms made half-width,
    whitespace (line breaks too) collapsed to one space, stripped."""
    half_width = text.translate(_HALF_WIDTH)
    return _INNER_SPACE.sub(" ", half_width).strip()


def _clean(text: str) -> str:
    """NFKC turns full-width digits and punctuation (２, －, ，, ．, U+3000) into ASCII."""
    return _EDGE_SPACE.sub("", unicodedata.normalize("NFKC", text).replace("\u2212", "-"))


def _refuse_excel_error(text: str, expected: str, value: object) -> None:
    if text.upper() in _EXCEL_ERRORS:
        raise CellError(
            f"{value!r} is an Excel error value; fix the formula in the source sheet",
            expected,
            value,
        )


def _number_text(text: str, value: object) -> str:
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if _GROUPED_NUMBER.fullmatch(text):
        return text.replace(",", "")
    _refuse_excel_error(text, NUMBER_EXPECTED, value)
    for pattern in (_NUMBER_WITH_SUFFIX, _NUMBER_WITH_PREFIX):
        match = pattern.fullmatch(text)
        number = match["number"].strip() if match else ""
        if match and (_PLAIN_NUMBER.fullmatch(number) or _GROUPED_NUMBER.fullmatch(number)):
            raise CellError(
                f"{value!r} carries the unit {match['unit'].strip()!r}; write the plain number "
                "in the unit the column header names",
                NUMBER_EXPECTED,
                value,
            )
    raise CellError(f"{value!r} is not a number", NUMBER_EXPECTED, value)


def _finite(number: float, value: object, expected: str) -> float:
    if not math.isfinite(number):
        raise CellError(f"{value!r} is not a finite number", expected, value)
    return number


def _date_from_serial(serial: float) -> date:
    if not math.isfinite(serial) or not 1 <= serial < _EXCEL_MAX_SERIAL + 1:
        raise CellError(
            f"{serial!r} is not an Excel date serial number (1 to {_EXCEL_MAX_SERIAL})",
            DATE_EXPECTED,
            serial,
        )
    days = math.floor(serial)  # a fraction is the time of day
    if days == _EXCEL_FAKE_LEAP_DAY:
        raise CellError(
            f"{serial!r} is Excel's nonexistent 1900-02-29", DATE_EXPECTED, serial
        )
    if days < _EXCEL_FAKE_LEAP_DAY:
        return _EXCEL_EPOCH_BEFORE_LEAP_BUG + timedelta(days=days)
    return _EXCEL_EPOCH + timedelta(days=days)


def _calendar_date(year: int, month: int, day: int, value: object) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"{value!r} is not a real calendar date", DATE_EXPECTED, value) from None
