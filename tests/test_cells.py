from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from kfworkflow.errors import InputError, KfwError
from kfworkflow.ledger.cells import (
    CellError,
    normalize_header,
    parse_date,
    parse_int,
    parse_number,
    parse_text,
)

DATE = "a date like 2022-11-30"
NUMBER = "a number like 1234.5"
INTEGER = "a whole number like 12"
TEXT = "text"


# ------------------------------------------------------------------------------ parse_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\u3000", None),
        (date(2022, 11, 30), date(2022, 11, 30)),
        (datetime(2022, 11, 30, 0, 0), date(2022, 11, 30)),
        (datetime(2022, 11, 30, 15, 45), date(2022, 11, 30)),
        (44895, date(2022, 11, 30)),
        (44895.0, date(2022, 11, 30)),
        (44895.75, date(2022, 11, 30)),
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (2958465, date(9999, 12, 31)),
        ("2022-11-30", date(2022, 11, 30)),
        ("2022/11/30", date(2022, 11, 30)),
        ("2022.11.30", date(2022, 11, 30)),
        ("2022年11月30日", date(2022, 11, 30)),
        ("2022年11月30", date(2022, 11, 30)),
        ("2022-11-30 00:00:00", date(2022, 11, 30)),
        ("2022-11-30T00:00:00", date(2022, 11, 30)),
        ("2022-11-30 00:00", date(2022, 11, 30)),
        ("２０２２年１１月３０日", date(2022, 11, 30)),
        ("2022－11－30", date(2022, 11, 30)),
        ("２０２２／１１／３０", date(2022, 11, 30)),
        ("2022．11．30", date(2022, 11, 30)),
        ("  2022-11-30  ", date(2022, 11, 30)),
        ("\u30002022-11-30\u3000", date(2022, 11, 30)),
        ("2022-1-5", date(2022, 1, 5)),
        ("2024-02-29", date(2024, 2, 29)),
    ],
)
def test_parse_date_accepts(raw: object, expected: date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2022-02-30", "'2022-02-30' is not a real calendar date"),
        ("2023-02-29", "'2023-02-29' is not a real calendar date"),
        ("2022-13-01", "'2022-13-01' is not a real calendar date"),
        ("2022年2月30日", "'2022年2月30日' is not a real calendar date"),
        ("2022-11/30", "'2022-11/30' is not a date"),
        ("30/11/2022", "'30/11/2022' is not a date"),
        ("20221130", "'20221130' is not a date"),
        ("2022-11-30 08:30", "'2022-11-30 08:30' is not a date"),
        ("下周一", "'下周一' is not a date"),
        ("#N/A", "'#N/A' is an Excel error value; fix the formula in the source sheet"),
        (True, "True is a yes/no value, not a date"),
        (0, "0 is not an Excel date serial number (1 to 2958465)"),
        (-3.5, "-3.5 is not an Excel date serial number (1 to 2958465)"),
        (20221130, "20221130 is not an Excel date serial number (1 to 2958465)"),
        (float("nan"), "nan is not an Excel date serial number (1 to 2958465)"),
        (60, "60 is Excel's nonexistent 1900-02-29"),
        (Decimal("44895"), "Decimal('44895') (Decimal) is not a date"),
    ],
)
def test_parse_date_rejects(raw: object, message: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_date(raw)
    assert str(caught.value) == message
    assert caught.value.expected == DATE
    assert caught.value.value == raw or raw != raw  # nan != nan


def test_cell_error_is_an_input_error_and_a_value_error() -> None:
    with pytest.raises(CellError) as caught:
        parse_date("x")
    assert isinstance(caught.value, InputError)
    assert isinstance(caught.value, KfwError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.findings == []


# ---------------------------------------------------------------------------- parse_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        (" \u3000 ", None),
        (12, 12.0),
        (-5, -5.0),
        (1234.5, 1234.5),
        (Decimal("1234.50"), 1234.5),
        ("1,234.5", 1234.5),
        ("1，234.5", 1234.5),
        ("1,234,567", 1234567.0),
        ("１２３４", 1234.0),
        ("１２３４．５", 1234.5),
        (" 12 ", 12.0),
        ("\u300012\u3000", 12.0),
        ("-5", -5.0),
        ("－5", -5.0),
        ("\u22125", -5.0),
        ("+7", 7.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("3.", 3.0),
        ("1.5E+3", 1500.0),
        ("-1,234.5", -1234.5),
    ],
)
def test_parse_number_accepts(raw: object, expected: float | None) -> None:
    result = parse_number(raw)
    assert result == expected
    assert result is None or type(result) is float


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "3.5万",
            "'3.5万' carries the unit '万'; write the plain number in the unit the column "
            "header names",
        ),
        (
            "1,200 万元",
            "'1,200 万元' carries the unit '万元'; write the plain number in the unit the "
            "column header names",
        ),
        (
            "95%",
            "'95%' carries the unit '%'; write the plain number in the unit the column header "
            "names",
        ),
        (
            "￥100",
            "'￥100' carries the unit '¥'; write the plain number in the unit the column header "
            "names",
        ),
        ("12,34", "'12,34' is not a number"),
        ("1.2.3", "'1.2.3' is not a number"),
        ("abc", "'abc' is not a number"),
        ("nan", "'nan' is not a number"),
        ("inf", "'inf' is not a number"),
        ("#DIV/0!", "'#DIV/0!' is an Excel error value; fix the formula in the source sheet"),
        (float("nan"), "nan is not a finite number"),
        (float("inf"), "inf is not a finite number"),
        (float("-inf"), "-inf is not a finite number"),
        (Decimal("NaN"), "Decimal('NaN') is not a finite number"),
        (True, "True is a yes/no value, not a number"),
        (False, "False is a yes/no value, not a number"),
        (date(2022, 11, 30), "datetime.date(2022, 11, 30) (date) is not a number"),
    ],
)
def test_parse_number_rejects(raw: object, message: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_number(raw)
    assert str(caught.value) == message
    assert caught.value.expected == NUMBER


# ------------------------------------------------------------------------------- parse_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        (12, 12),
        (12.0, 12),
        (Decimal("12"), 12),
        ("12", 12),
        (" -3 ", -3),
        ("1,200", 1200),
        ("１２", 12),
        ("12.0", 12),
        ("1.2e3", 1200),
        ("12345678901234567890", 12345678901234567890),
    ],
)
def test_parse_int_accepts(raw: object, expected: int | None) -> None:
    result = parse_int(raw)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (12.5, "12.5 is not a whole number"),
        ("12.5", "'12.5' is not a whole number"),
        (
            "3个",
            "'3个' carries the unit '个'; write the plain number in the unit the column header "
            "names",
        ),
        ("x", "'x' is not a number"),
        (True, "True is a yes/no value, not a number"),
        (float("nan"), "nan is not a finite number"),
    ],
)
def test_parse_int_rejects(raw: object, message: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_int(raw)
    assert str(caught.value) == message
    assert caught.value.expected == INTEGER


# ------------------------------------------------------------------------------ parse_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\u3000\u3000", None),
        ("  开封市 ", "开封市"),
        ("\u3000开封市\u3000", "开封市"),
        ("\ufeff\u200b项目\xa0", "项目"),
        ("a  b", "a  b"),
        ("（万元）", "（万元）"),
        (410200.0, "410200"),
        (410200, "410200"),
        (-7.0, "-7"),
        (3.5, "3.5"),
        (Decimal("410200.0"), "410200"),
        (Decimal("1.50"), "1.50"),
        (date(2022, 11, 30), "2022-11-30"),
        (datetime(2022, 11, 30), "2022-11-30"),
        (datetime(2022, 11, 30, 8, 30), "2022-11-30 08:30:00"),
    ],
)
def test_parse_text_accepts(raw: object, expected: str | None) -> None:
    assert parse_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, "True is a yes/no value, not text"),
        (float("nan"), "nan is not a finite number"),
        (b"x", "b'x' (bytes) is not text"),
    ],
)
def test_parse_text_rejects(raw: object, message: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_text(raw)
    assert str(caught.value) == message
    assert caught.value.expected == TEXT


# ------------------------------------------------------------------------ normalize_header


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("总投资（万元）", "总投资(万元)"),
        ("总投资(万元)", "总投资(万元)"),
        ("  项目   名称 ", "项目 名称"),
        ("项目\n名称", "项目 名称"),
        ("\u3000项目名称\u3000", "项目名称"),
        ("ＡＢＣ１２３", "ABC123"),
        ("［备注］", "[备注]"),
        ("\ufeff项目代码", "项目代码"),
        ("code", "code"),
        ("", ""),
    ],
)
def test_normalize_header(raw: str, expected: str) -> None:
    assert normalize_header(raw) == expected


def test_normalize_header_makes_full_and_half_width_equal() -> None:
    assert normalize_header("总投资（万元）") == normalize_header("总投资(万元)")
