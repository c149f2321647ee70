"""Working-day calendar: checked examples, counting, the data file, coverage and fallback."""

from __future__ import annotations

import hashlib
import threading
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kfworkflow.errors import CalendarError, Finding, InputError
from kfworkflow.workcalendar import WorkCalendar, describe_unknown_years

EXAMPLE_FILE = Path(__file__).resolve().parent.parent / "examples" / "calendar.yaml"

COMPLETE_2027 = """\
years:
  2027:
    complete: true
    holidays:
      - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
      - {from: 2027-10-01, to: 2027-10-07, name: 国庆节}
    workdays:
      - {on: 2027-10-09, name: 国庆节}
"""


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


def write(tmp_path: Path, text: str, name: str = "calendar.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def findings_of(tmp_path: Path, text: str) -> tuple[Path, list[Finding]]:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        WorkCalendar.load(path)
    assert str(caught.value).startswith(f"calendar data file {path} has ")
    return path, caught.value.findings


def only_finding(tmp_path: Path, text: str) -> tuple[Path, Finding]:
    path, findings = findings_of(tmp_path, text)
    assert len(findings) == 1, findings
    return path, findings[0]


# --- the two checked examples and counting over 国庆 2022 -------------------------------------


def test_checked_example_national_day_2022(calendar: WorkCalendar) -> None:
    # 10/1-10/7 off, 10/8 (Sat) and 10/9 (Sun) worked: 10/8, 10/9, 10/10.
    assert calendar.add_workdays(date(2022, 9, 30), 3) == date(2022, 10, 10)


def test_checked_example_new_year_2023(calendar: WorkCalendar) -> None:
    # 12/31 Sat, 1/1 Sun and 1/2 Mon are 元旦 off.
    assert calendar.add_workdays(date(2022, 12, 30), 1) == date(2023, 1, 3)


def test_workdays_between_across_national_day(calendar: WorkCalendar) -> None:
    assert calendar.workdays_between(date(2022, 9, 30), date(2022, 10, 10)) == 3
    assert calendar.workdays_between(date(2022, 10, 10), date(2022, 9, 30)) == -3
    assert calendar.workdays_between(date(2022, 10, 3), date(2022, 10, 3)) == 0
    assert calendar.workdays_between(date(2022, 9, 30), date(2022, 10, 7)) == 0
    assert calendar.workdays_between(date(2022, 9, 30), date(2022, 10, 8)) == 1


def test_workdays_between_across_years(calendar: WorkCalendar) -> None:
    assert calendar.workdays_between(date(2022, 12, 30), date(2023, 1, 3)) == 1
    # 2023: 260 weekdays - 18 weekday holidays (1/2; 1/23-27; 4/5; 5/1-3; 6/22-23; 9/29,
    # 10/2-6) + 7 make-up days (1/28, 1/29, 4/23, 5/6, 6/25, 10/7, 10/8) = 249. 2022-12-31 and
    # 2024-01-01 are 元旦 off, 2024-01-02 (Tue) counts: (2022-12-30, 2024-01-02] = 249 + 1.
    assert calendar.workdays_between(date(2022, 12, 30), date(2024, 1, 2)) == 250


def test_add_workdays_zero_and_negative(calendar: WorkCalendar) -> None:
    assert calendar.add_workdays(date(2022, 10, 1), 0) == date(2022, 10, 1)
    assert calendar.add_workdays(date(2022, 10, 10), -1) == date(2022, 10, 9)
    assert calendar.add_workdays(date(2022, 10, 10), -3) == date(2022, 9, 30)
    assert calendar.add_workdays(date(2023, 1, 3), -1) == date(2022, 12, 30)
    assert calendar.add_workdays(date(2023, 1, 1), -1) == date(2022, 12, 30)


def test_add_workdays_from_a_non_workday(calendar: WorkCalendar) -> None:
    assert calendar.add_workdays(date(2022, 10, 1), 1) == date(2022, 10, 8)
    assert calendar.add_workdays(date(2022, 10, 5), -1) == date(2022, 9, 30)


def test_skipped_days_national_day(calendar: WorkCalendar) -> None:
    expected = [(date(2022, 10, day), "国庆节") for day in range(1, 8)]
    assert calendar.skipped_days(date(2022, 9, 30), 3) == expected
    assert calendar.skipped_days(date(2022, 10, 10), -3) == expected
    assert calendar.skipped_days(date(2022, 9, 30), 0) == []


def test_skipped_days_new_year_and_plain_weekend(calendar: WorkCalendar) -> None:
    assert calendar.skipped_days(date(2022, 12, 30), 1) == [
        (date(2022, 12, 31), "元旦"),
        (date(2023, 1, 1), "元旦"),
        (date(2023, 1, 2), "元旦"),
    ]
    assert calendar.skipped_days(date(2022, 11, 18), 1) == [
        (date(2022, 11, 19), "周末"),
        (date(2022, 11, 20), "周末"),
    ]


def test_day_kind(calendar: WorkCalendar) -> None:
    assert calendar.day_kind(date(2022, 10, 1)) == ("holiday", "国庆节")
    assert calendar.day_kind(date(2022, 10, 8)) == ("makeup_workday", "国庆节")
    assert calendar.day_kind(date(2022, 10, 15)) == ("weekend", None)
    assert calendar.day_kind(date(2022, 10, 10)) == ("workday", None)
    assert calendar.is_workday(date(2022, 10, 8))
    assert not calendar.is_workday(date(2022, 10, 3))


def test_show_2022(calendar: WorkCalendar) -> None:
    rows = calendar.show(2022)
    # 32 holiday days (元旦 3, 春节 7, 清明 3, 劳动节 5, 端午 3, 中秋 3, 国庆 7, and 12/31 for
    # 元旦 2023) and 7 make-up workdays (1/29, 1/30, 4/2, 4/24, 5/7, 10/8, 10/9).
    assert len(rows) == 39
    assert sum(row["kind"] == "makeup_workday" for row in rows) == 7
    assert rows[0] == {
        "date": "2022-01-01", "weekday": "周六", "kind": "holiday", "name": "元旦",
        "source": "package",
    }
    assert {
        "date": "2022-10-08", "weekday": "周六", "kind": "makeup_workday", "name": "国庆节",
        "source": "package",
    } in rows


def test_agrees_with_package_on_every_known_day(calendar: WorkCalendar) -> None:
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def _step(calendar: WorkCalendar, start: date, n: int) -> date:
    step = timedelta(days=1 if n > 0 else -1)
    day, left = start, abs(n)
    while left:
        day += step
        if calendar.is_workday(day):
            left -= 1
    return day


@given(
    start=st.dates(min_value=date(2004, 3, 15), max_value=date(2026, 10, 15)),
    n=st.integers(min_value=-40, max_value=40),
)
def test_add_workdays_matches_day_by_day_stepping(start: date, n: int) -> None:
    calendar = WorkCalendar.load()
    target = calendar.add_workdays(start, n)
    assert target == _step(calendar, start, n)
    if n > 0:
        assert calendar.workdays_between(start, target) == n


# --- the data file ---------------------------------------------------------------------------


def test_complete_year_from_file(tmp_path: Path) -> None:
    path = write(tmp_path, COMPLETE_2027)
    calendar = WorkCalendar.load(path)
    assert 2027 in calendar.known_years()
    assert calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    # (9/30, 10/9]: 10/1-10/7 off, 10/8 Fri, 10/9 Sat make-up.
    assert calendar.workdays_between(date(2027, 9, 30), date(2027, 10, 9)) == 2
    assert calendar.day_kind(date(2027, 10, 9)) == ("makeup_workday", "国庆节")
    digest = hashlib.sha256(COMPLETE_2027.encode("utf-8")).hexdigest()[:8]
    assert calendar.version == f"cc1.11.0+file:{digest}"


def test_example_file_loads(tmp_path: Path) -> None:
    calendar = WorkCalendar.load(EXAMPLE_FILE)
    assert calendar.known_years() == frozenset(range(2004, 2028))
    assert calendar.add_workdays(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert calendar.add_workdays(date(2027, 2, 4), 1) == date(2027, 2, 15)
    assert calendar.is_workday(date(2027, 2, 20))


def test_local_holiday_overrides_package_workday(tmp_path: Path) -> None:
    path = write(tmp_path, "local:\n  holidays: [{on: 2022-10-08, name: 本地停工}]\n")
    calendar = WorkCalendar.load(path)
    assert not calendar.is_workday(date(2022, 10, 8))
    assert calendar.day_kind(date(2022, 10, 8)) == ("holiday", "本地停工")
    assert calendar.add_workdays(date(2022, 9, 30), 3) == date(2022, 10, 11)
    assert calendar.skipped_days(date(2022, 9, 30), 3)[-1] == (date(2022, 10, 8), "本地停工")


def test_local_workday_overrides_file_and_unnamed_holiday(tmp_path: Path) -> None:
    text = COMPLETE_2027 + "local:\n  workdays: [2027-10-07]\n  holidays: [2027-10-11]\n"
    calendar = WorkCalendar.load(write(tmp_path, text))
    assert calendar.add_workdays(date(2027, 9, 30), 1) == date(2027, 10, 7)
    assert calendar.day_kind(date(2027, 10, 11)) == ("holiday", None)
    assert calendar.skipped_days(date(2027, 10, 9), 1) == [
        (date(2027, 10, 10), "周末"),
        (date(2027, 10, 11), "节假日"),
    ]


def test_complete_file_year_replaces_package(tmp_path: Path) -> None:
    calendar = WorkCalendar.load(write(tmp_path, "years:\n  2022: {complete: true}\n"))
    assert calendar.is_workday(date(2022, 10, 3))
    assert not calendar.is_workday(date(2022, 10, 8))
    assert calendar.show(2022) == []


def test_partial_year_adds_to_package(tmp_path: Path) -> None:
    text = "years:\n  2022:\n    holidays: [{on: 2022-11-25, name: 本地停工}]\n"
    calendar = WorkCalendar.load(write(tmp_path, text))
    assert calendar.day_kind(date(2022, 11, 25)) == ("holiday", "本地停工")
    assert calendar.day_kind(date(2022, 10, 1)) == ("holiday", "国庆节")


def test_version_changes_with_file_content(tmp_path: Path) -> None:
    first = WorkCalendar.load(write(tmp_path, COMPLETE_2027, "a.yaml"))
    same = WorkCalendar.load(write(tmp_path, COMPLETE_2027, "b.yaml"))
    other = WorkCalendar.load(write(tmp_path, COMPLETE_2027 + "local: {}\n", "c.yaml"))
    assert first.version == same.version
    assert first == same and hash(first) == hash(same)
    assert first.version != other.version
    assert first != other
    assert WorkCalendar.load().version == "cc1.11.0"


def test_empty_file_is_fine(tmp_path: Path) -> None:
    calendar = WorkCalendar.load(write(tmp_path, "# nothing yet\n"))
    assert calendar.known_years() == frozenset(range(2004, 2027))


# --- data file errors, each located file:line ------------------------------------------------


def test_unknown_keys(tmp_path: Path) -> None:
    text = (
        "years:\n"                                          # 1
        "  2027:\n"                                         # 2
        "    complete: true\n"                              # 3
        "    holiday: []\n"                                 # 4
        "    workdays:\n"                                   # 5
        "      - {on: 2027-10-09, label: x}\n"              # 6
        "extra: 1\n"                                        # 7
    )
    path, findings = findings_of(tmp_path, text)
    assert [(f.code, f.file, f.line) for f in findings] == [
        ("KFW-C003", str(path), 4),
        ("KFW-C003", str(path), 6),
        ("KFW-C003", str(path), 7),
    ]
    assert findings[0].message == "unknown key 'holiday' in years.2027"
    assert findings[0].hint == "expected one of: complete, holidays, workdays"
    assert findings[1].message == "unknown key 'label' in an entry of years.2027.workdays"
    assert findings[2].message == "unknown key 'extra' in the document"
    assert str(findings[2]) == (
        f"{path}:7:1: KFW-C003 unknown key 'extra' in the document"
        " (expected one of: years, local)"
    )


def test_bad_dates(tmp_path: Path) -> None:
    text = (
        "years:\n"
        "  2027:\n"
        "    holidays:\n"
        "      - {on: 2027-02-30}\n"                        # 4
        "      - {on: tomorrow}\n"                          # 5
    )
    path, findings = findings_of(tmp_path, text)
    assert [(f.code, f.location()) for f in findings] == [
        ("KFW-C011", f"{path}:4:14"),
        ("KFW-C011", f"{path}:5:14"),
    ]
    assert findings[0].message == "'2027-02-30' in years.2027.holidays is not a valid date"
    assert findings[1].message == "'tomorrow' in years.2027.holidays is not a valid date"
    assert findings[0].hint == "write YYYY-MM-DD, e.g. 2027-01-01"


def test_range_running_backwards(tmp_path: Path) -> None:
    text = "local:\n  holidays:\n    - {from: 2022-11-30, to: 2022-11-25, name: 停工}\n"
    path, finding = only_finding(tmp_path, text)
    assert (finding.code, finding.file, finding.line) == ("KFW-C008", str(path), 3)
    assert finding.message == (
        "range in local.holidays runs backwards: from 2022-11-30 is after to 2022-11-25"
    )


def test_date_both_holiday_and_workday(tmp_path: Path) -> None:
    text = (
        "years:\n"
        "  2027:\n"
        "    holidays:\n"
        "      - {from: 2027-10-01, to: 2027-10-07}\n"      # 4
        "    workdays:\n"
        "      - {on: 2027-10-05}\n"                        # 6
    )
    path, finding = only_finding(tmp_path, text)
    assert (finding.code, finding.file, finding.line) == ("KFW-C010", str(path), 6)
    assert finding.message == (
        "2027-10-05 is listed both as a holiday (line 4) and as a workday in years"
    )


def test_conflict_inside_local(tmp_path: Path) -> None:
    text = "local:\n  holidays: [2022-11-25]\n  workdays: [2022-11-25]\n"
    path, finding = only_finding(tmp_path, text)
    assert (finding.code, finding.file, finding.line) == ("KFW-C010", str(path), 3)
    assert finding.message == (
        "2022-11-25 is listed both as a holiday (line 2) and as a workday in local"
    )


def test_entry_shape_year_key_and_complete_flag(tmp_path: Path) -> None:
    text = (
        "years:\n"
        "  twenty:\n"                                       # 2
        "    complete: true\n"
        "  2027:\n"
        "    complete: yes please\n"                        # 5
        "    holidays:\n"
        "      - {name: 元旦}\n"                            # 7
        "      - {on: 2027-01-01, from: 2027-01-01, to: 2027-01-02}\n"  # 8
        "      - [2027-01-01]\n"                            # 9
        "      - {on: 2029-01-01}\n"                        # 10
        "    workdays: 2027-10-09\n"                        # 11
    )
    path, findings = findings_of(tmp_path, text)
    assert [(f.code, f.line) for f in findings] == [
        ("KFW-C005", 2),
        ("KFW-C006", 5),
        ("KFW-C007", 7),
        ("KFW-C007", 8),
        ("KFW-C007", 9),
        ("KFW-C009", 10),
        ("KFW-C006", 11),
    ]
    assert all(f.file == str(path) for f in findings)
    assert findings[0].message == "year key 'twenty' is not a four-digit year"
    assert findings[1].message == "years.2027.complete must be true or false"
    assert findings[2].message == (
        "an entry of years.2027.holidays needs either on: or both from: and to:"
    )
    assert findings[4].message == "an entry of years.2027.holidays must be a date or a mapping"
    assert findings[5].message == "years.2027.holidays lists 2029-01-01, outside 2026–2028"
    assert findings[6].message == "years.2027.workdays must be a list of dates or ranges"


def test_duplicate_keys(tmp_path: Path) -> None:
    text = "years:\n  2027: {complete: true}\n  2027: {complete: false}\nlocal: {}\nlocal: {}\n"
    path, findings = findings_of(tmp_path, text)
    assert [(f.code, f.location(), f.message) for f in findings] == [
        ("KFW-C004", f"{path}:3:3", "year 2027 is listed twice"),
        ("KFW-C004", f"{path}:5:1", "key 'local' repeated in the document"),
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path, finding = only_finding(tmp_path, "years:\n  2027: {complete: true\n")
    assert (finding.code, finding.file, finding.line) == ("KFW-C001", str(path), 3)
    assert finding.message.startswith("not valid YAML: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InputError) as caught:
        WorkCalendar.load(path)
    assert str(caught.value) == f"calendar data file {path} cannot be read"
    [finding] = caught.value.findings
    assert (finding.code, finding.file) == ("KFW-C002", str(path))
    assert finding.message == "cannot read calendar data file: No such file or directory"


def test_bad_fallback_argument() -> None:
    with pytest.raises(InputError) as caught:
        WorkCalendar.load(fallback="sundays")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "unknown calendar fallback 'sundays': expected 'error' or 'weekends-only'"
    )


# --- coverage: unknown years and the weekends-only fallback ----------------------------------


def test_unknown_year_without_data_file(calendar: WorkCalendar) -> None:
    with pytest.raises(CalendarError) as caught:
        calendar.add_workdays(date(2026, 12, 31), 1)
    message = str(caught.value)
    assert message.startswith(
        "the working-day calendar does not know year(s) 2027: chinese-calendar 1.11.0 covers"
        " 2004–2026; no calendar data file was given. Fix: add each year's holidays"
    )
    assert "complete: true" in message and "fallback='weekends-only'" in message


def test_unknown_year_names_the_data_file(tmp_path: Path) -> None:
    text = "years:\n  2028:\n    holidays: [2028-01-03]\n"
    path = write(tmp_path, text)
    calendar = WorkCalendar.load(path)
    with pytest.raises(CalendarError) as caught:
        calendar.check_years([2026, 2028, 2027])
    assert str(caught.value).startswith(
        "the working-day calendar does not know year(s) 2027, 2028: chinese-calendar 1.11.0"
        f" covers 2004–2026; data file {path} has no complete section for them (2028 listed"
        " without complete: true). Fix:"
    )
    for query in (
        lambda: calendar.is_workday(date(2027, 3, 1)),
        lambda: calendar.day_kind(date(2027, 3, 1)),
        lambda: calendar.show(2027),
        lambda: calendar.workdays_between(date(2022, 1, 1), date(2027, 3, 1)),
        lambda: calendar.skipped_days(date(2026, 12, 31), 2),
    ):
        with pytest.raises(CalendarError, match=r"does not know year\(s\) 2027"):
            query()
    calendar.check_years([2004, 2026])  # known: no error


def test_fallback_weekends_only(tmp_path: Path) -> None:
    calendar = WorkCalendar.load(fallback="weekends-only")
    assert calendar.version == "cc1.11.0+fallback:<2004,>2026"
    # 2027-01-01 is a Friday: with no 2027 schedule it counts as a workday.
    assert calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert calendar.add_workdays(date(2027, 1, 1), 1) == date(2027, 1, 4)
    assert calendar.fallback_years([2022, 2027, 2030]) == frozenset({2027, 2030})
    assert calendar.known_years() == frozenset(range(2004, 2027))
    calendar.check_years([2027, 1999])  # answered by the fallback: no error
    assert WorkCalendar.load().fallback_years([2027]) == frozenset()


def test_fallback_with_file_and_local_additions(tmp_path: Path) -> None:
    text = COMPLETE_2027 + "local:\n  holidays: [{on: 2028-01-03, name: 本地停工}]\n"
    path = write(tmp_path, text)
    calendar = WorkCalendar.load(path, fallback="weekends-only")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    assert calendar.version == f"cc1.11.0+file:{digest}+fallback:<2004,>2027"
    # 2027-12-31 Fri; 2028-01-01/02 weekend; 2028-01-03 Mon local holiday.
    assert calendar.add_workdays(date(2027, 12, 31), 1) == date(2028, 1, 4)
    assert calendar.skipped_days(date(2027, 12, 31), 1) == [
        (date(2028, 1, 1), "周末"),
        (date(2028, 1, 2), "周末"),
        (date(2028, 1, 3), "本地停工"),
    ]
    assert calendar.fallback_years([2027, 2028]) == frozenset({2028})


def test_describe_unknown_years() -> None:
    assert describe_unknown_years(frozenset(range(2004, 2027))) == "<2004,>2026"
    assert describe_unknown_years(frozenset([*range(2004, 2027), 2028])) == "<2004,2027,>2028"
    assert describe_unknown_years(frozenset([2004, 2005, 2010])) == "<2004,2006-2009,>2010"
    assert describe_unknown_years(frozenset()) == "all"


def test_years_python_cannot_represent() -> None:
    calendar = WorkCalendar.load(fallback="weekends-only")
    with pytest.raises(CalendarError) as caught:
        calendar.add_workdays(date(9999, 12, 31), 1)
    assert str(caught.value) == "year(s) 10000 are outside the dates Python can represent"


# --- sharing ---------------------------------------------------------------------------------


def test_equal_loads_and_shared_use_across_threads() -> None:
    assert WorkCalendar.load() == WorkCalendar.load()
    calendar = WorkCalendar.load()
    results: list[int] = []

    def count() -> None:
        results.append(calendar.workdays_between(date(2004, 1, 1), date(2026, 12, 31)))

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sum(
        chinese_calendar.is_workday(date(2004, 1, 1) + timedelta(days=offset))
        for offset in range(1, (date(2026, 12, 31) - date(2004, 1, 1)).days + 1)
    )
    assert results == [expected] * 8
