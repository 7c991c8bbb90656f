"""The working-day calendar, cross-checked against python-holidays (an independent source)."""

import datetime as dt

import holidays
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs import timeliness
from udfs.calendar import (
    CORRECTIONS,
    DayEntry,
    WorkCalendar,
    china_calendar,
    load_entries,
    parse_entries,
    parse_hours,
)
from udfs.errors import KaoheError
from udfs.timeliness_cells import kh_explain, kh_is_workday, use_holidays

FIRST, LAST = dt.date(2015, 1, 1), dt.date(2026, 12, 31)
SECOND_SOURCE = holidays.country_holidays("CN", years=range(2004, 2028), language="zh_CN")
# Days where the corrected calendar and python-holidays still disagree, with the reason: none.
KNOWN_DIFFERENCES: dict[str, str] = {}


def all_days():
    return np.arange(np.datetime64(FIRST), np.datetime64(LAST) + 1)


def second_source_workday(day: dt.date) -> bool:
    return SECOND_SOURCE.is_working_day(day)


def test_every_day_2015_2026_agrees_with_python_holidays():
    days = all_days()
    ours = china_calendar().is_workday(days)
    theirs = np.array([second_source_workday(d) for d in days.astype(object)])
    disagree = days[ours != theirs]
    assert len(days) == 4383
    assert disagree.size == 0, f"disagree on {disagree[:10]}"
    # Not a vacuous check: the span holds make-up weekend workdays and weekday holidays.
    weekend = (days.astype(np.int64) + 3) % 7 >= 5
    assert (ours & weekend).sum() > 50 and (~ours & ~weekend).sum() > 100


def test_every_day_both_sources_cover_agrees_after_the_corrections():
    """2004-01-01..2026-12-31: chinesecalendar, corrected, equals python-holidays day by day."""
    days = np.arange(np.datetime64("2004-01-01"), np.datetime64("2026-12-31") + 1)
    theirs = np.array([second_source_workday(d) for d in days.astype(object)])
    ours = china_calendar().is_workday(days)
    disagree = {str(d) for d in days[ours != theirs]}
    assert disagree == set(KNOWN_DIFFERENCES), sorted(disagree)
    # Uncorrected, the package differs exactly on the corrected days, and there the notice
    # and the second source agree with the correction.
    raw = WorkCalendar(corrections=()).is_workday(days)
    assert {str(d) for d in days[raw != theirs]} == {c.day.isoformat() for c in CORRECTIONS}
    for correction in CORRECTIONS:
        assert second_source_workday(correction.day) is (correction.kind == "调休上班"), correction
        assert correction.citation.startswith("国办发明电〔"), correction


def test_2005_12_31_is_a_make_up_workday_and_the_version_says_so():
    calendar = china_calendar()
    assert bool(calendar.is_workday(np.datetime64("2005-12-31")))
    assert kh_is_workday("2005-12-31")[0, 0] is True  # the cell function too
    # Fri 12-30 + 1 working day: Sat 12-31 (make-up), not Wed 2006-01-04 after the New Year break.
    assert calendar.add_workdays(np.datetime64("2005-12-30"), 1) == np.datetime64("2005-12-31")
    assert calendar.workdays_between(np.datetime64("2005-12-26"), np.datetime64("2006-01-04")) == 7
    assert "勘误 2005-12-31 调休上班(国办发明电〔2005〕35号)" in calendar.version
    assert "勘误" not in WorkCalendar(corrections=()).version
    line = timeliness.explain(np.datetime64("2005-12-30T10:00", "s"), np.datetime64("2005-12-31T17:00", "s"), 1, "工作日")[()]
    assert "计入 12-31(周六 调休上班)" in line and "截止 2005-12-31 24:00" in line


def reference_add(day: dt.date, n: int) -> dt.date:
    step = 1 if n > 0 else -1
    while n:
        day += dt.timedelta(days=step)
        if second_source_workday(day):
            n -= step
    return day


def reference_count(a: dt.date, b: dt.date) -> int:
    lo, hi = min(a, b), max(a, b)
    count = sum(second_source_workday(lo + dt.timedelta(days=i)) for i in range((hi - lo).days + 1))
    return -count if b < a else count


def test_add_workdays_and_count_agree_with_second_source_on_random_pairs():
    rng = np.random.default_rng(20261124)
    span = (LAST - FIRST).days
    starts = np.datetime64(FIRST) + rng.integers(20, span - 60, 3000).astype("timedelta64[D]")
    offsets = rng.integers(-25, 26, 3000)
    ends = starts + rng.integers(-40, 41, 3000).astype("timedelta64[D]")
    calendar = china_calendar()
    added = calendar.add_workdays(starts, offsets)
    counted = calendar.workdays_between(starts, ends)
    for start, n, got in zip(starts.astype(object), offsets, added.astype(object)):
        expected = start if n == 0 else reference_add(start, int(n))
        assert got == expected, (start, n)
    for start, end, got in zip(starts.astype(object), ends.astype(object), counted):
        assert got == reference_count(start, end), (start, end)


@pytest.mark.parametrize(
    "day, workday, why",
    [
        ("2025-01-26", True, "Sunday before Spring Festival 2025: make-up workday"),
        ("2025-01-28", False, "Spring Festival's eve 2025 (除夕) is a holiday"),
        ("2025-02-04", False, "last day of the 2025 Spring Festival break"),
        ("2025-02-08", True, "Saturday make-up workday after Spring Festival 2025"),
        ("2024-02-18", True, "Sunday make-up workday after Spring Festival 2024"),
        ("2025-04-04", False, "Qingming 2025 (Friday)"),
        ("2025-04-27", True, "Sunday make-up workday before Labour Day 2025"),
        ("2025-05-05", False, "Labour Day break 2025, in lieu of 04-27"),
        ("2025-09-28", True, "Sunday make-up workday before National Day 2025"),
        ("2025-10-08", False, "National Day + Mid-Autumn break 2025, last day"),
        ("2025-10-11", True, "Saturday make-up workday after National Day 2025"),
        ("2026-02-14", True, "Saturday make-up workday before Spring Festival 2026"),
        ("2026-02-23", False, "Spring Festival 2026 break (Monday)"),
        ("2026-10-10", True, "Saturday make-up workday after National Day 2026"),
        ("2025-10-12", False, "an ordinary Sunday"),
    ],
)
def test_festival_days(day, workday, why):
    assert bool(china_calendar().is_workday(np.datetime64(day))) is workday, why


def test_year_without_schedule_is_an_error_until_the_user_adds_it():
    with pytest.raises(KaoheError, match="2027年节假日安排未加载"):
        china_calendar().is_workday(np.datetime64("2027-01-04"))
    # Crossing into 2027 from the last days of 2026 is an error too, not a guess.
    with pytest.raises(KaoheError, match="2027"):
        china_calendar().add_workdays(np.datetime64("2026-12-30"), 3)
    layer = parse_entries([
        ("日期", "类型", "名称"),
        ("2027-01-01", "节假日", "元旦"),
        ("2027-02-06", "节假日", "春节"),
        ("2027-02-20", "调休上班", "春节"),
    ])
    calendar = china_calendar(layer)
    assert calendar.covered_years == (2004, 2027)
    assert calendar.is_workday(np.array(["2027-01-01", "2027-01-04", "2027-02-20"], dtype="datetime64[D]")).tolist() == [
        False, True, True]
    # 2026-12-30 (Wed) + 3: 12-31 (Thu) 1, 2027-01-01 holiday, 01-02/03 weekend, 01-04 (Mon) 2, 01-05 (Tue) 3.
    assert calendar.add_workdays(np.datetime64("2026-12-30"), 3) == np.datetime64("2027-01-05")
    assert "用户日历" in calendar.version


CAVEAT = "注意: 2027年节假日安排尚未加载，2026年12月21日至31日的工作日可能被次年通知调整(如2006、2007、2011、2018年曾发生)"
LAYER_2027 = (DayEntry(dt.date(2027, 1, 1), "节假日", "元旦"),)


def test_late_december_of_the_last_covered_year_is_provisional():
    calendar = china_calendar()
    assert calendar.provisional_span == (np.datetime64("2026-12-21"), np.datetime64("2026-12-31"))
    days = np.array(["2026-12-20", "2026-12-21", "2026-12-31", "2025-12-25", "NaT"], dtype="datetime64[D]")
    assert calendar.provisional(days).tolist() == [False, True, True, False, False]
    # Spans (closed, either order, any unit): touching the window from outside counts.
    first = np.array(["2026-12-01T08:00", "2026-12-01T08:00", "2026-12-31T23:59"], dtype="datetime64[s]")
    last = np.array(["2026-12-20T23:59", "2026-12-21T00:00", "2026-12-20T00:00"], dtype="datetime64[s]")
    assert calendar.provisional(first, last).tolist() == [False, True, True]
    text = calendar.caveat(np.datetime64("2026-12-18"), np.datetime64("2026-12-22"))
    assert text.startswith(CAVEAT) and " / Note: the 2027 holiday schedule is not loaded" in text
    assert calendar.caveat(np.datetime64("2026-12-18"), np.datetime64("2026-12-22"), english=False).startswith(CAVEAT)
    assert " / " not in calendar.caveat(np.datetime64("2026-12-25"), english=False)
    assert calendar.caveat(np.datetime64("2026-11-02"), np.datetime64("2026-12-20")) == ""
    assert calendar.caveat(np.datetime64("2025-12-29")) == ""  # 2026 is loaded: 2025's December is final
    # Loading 2027's official schedule removes it, and moves the window to 2027's December.
    loaded = china_calendar(LAYER_2027)
    assert loaded.caveat(np.datetime64("2026-12-18"), np.datetime64("2026-12-31")) == ""
    assert loaded.provisional_span[0] == np.datetime64("2027-12-21")
    # A company workday in 2027 does not state 2027's schedule: the caveat stays.
    company = china_calendar((DayEntry(dt.date(2027, 1, 4), "工作日", ""),))
    assert company.caveat(np.datetime64("2026-12-28")).startswith(CAVEAT)
    # Plain answers stay plain values.
    assert calendar.is_workday(np.datetime64("2026-12-28")).dtype == bool


def at(text: str) -> np.datetime64:
    return np.datetime64(text.replace(" ", "T"), "s")


def test_explain_states_the_caveat_where_the_counted_span_touches_late_december():
    # 2 working days from Fri 12-18: Mon 12-21, Tue 12-22 → due 12-22 24:00: inside the window.
    december = timeliness.explain(at("2026-12-18 10:00"), at("2026-12-22 10:00"), 2, "工作日")[()]
    assert "截止 2026-12-22 24:00" in december and december.endswith(CAVEAT + "，请在节假日表补充2027年安排后重算。")
    november = timeliness.explain(at("2026-11-18 10:00"), at("2026-11-19 10:00"), 2, "工作日")[()]
    assert november and "注意" not in november
    # Due before the window, finished inside it: the deadline never depended on those days.
    early = timeliness.explain(at("2026-12-16 10:00"), at("2026-12-22 10:00"), 2, "工作日")[()]
    assert "截止 2026-12-18 24:00" in early and "注意" not in early
    # Business hours use the calendar; natural hours and 当天 do not.
    assert CAVEAT in timeliness.explain(at("2026-12-28 10:00"), None, 4, "小时", hours="08:00-12:00,14:30-18:00")[()]
    assert "注意" not in timeliness.explain(at("2026-12-28 10:00"), None, 4, "小时")[()]
    assert "注意" not in timeliness.explain(at("2026-12-28 10:00"), None, 0, "天")[()]
    # A column: only the lines touching the window carry it; the deadlines are unchanged.
    starts = np.array([at("2026-11-18 10:00"), at("2026-12-18 10:00")])
    lines = timeliness.explain(starts, None, 2, "工作日")
    assert ["注意" in line for line in lines] == [False, True]
    assert timeliness.deadline(starts[1:], 2, "工作日")[0] == at("2026-12-23 00:00")
    # With 2027 loaded by the user, it disappears.
    loaded = timeliness.explain(at("2026-12-18 10:00"), at("2026-12-22 10:00"), 2, "工作日",
                                calendar=china_calendar(LAYER_2027))[()]
    assert loaded == december[: december.index("注意")]


def test_kh_explain_caveat_follows_the_user_layer():
    args = ("2026-12-28 09:00", "2026-12-30 09:00", 1, "工作日")
    try:
        use_holidays(())
        assert CAVEAT in kh_explain(*args)[0, 0]
        assert "注意" not in kh_explain("2026-11-02 09:00", "2026-11-03 09:00", 1, "工作日")[0, 0]
        assert kh_is_workday("2026-12-28")[0, 0] is True  # the value stays a plain TRUE
        use_holidays(LAYER_2027)
        assert "注意" not in kh_explain(*args)[0, 0]
    finally:
        use_holidays(())


def test_company_days_override_without_covering_a_year():
    calendar = china_calendar((DayEntry(dt.date(2025, 10, 13), "休息日", "公司年会"),
                               DayEntry(dt.date(2027, 3, 6), "工作日", "")))
    assert not calendar.is_workday(np.datetime64("2025-10-13"))
    assert calendar.workdays_between(np.datetime64("2025-10-13"), np.datetime64("2025-10-17")) == 4
    assert calendar.covered_years == (2004, 2026)  # a company workday does not state 2027's schedule


def test_user_layer_file_gb18030_and_bad_rows(tmp_path):
    good = tmp_path / "节假日.csv"
    good.write_bytes("日期,类型,名称\n2027/1/1,节假日,元旦\n\n".encode("gb18030"))
    assert load_entries(good) == (DayEntry(dt.date(2027, 1, 1), "节假日", "元旦"),)
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,类型,名称\n2027-01-01,放半天,元旦\n", encoding="utf-8-sig")
    with pytest.raises(KaoheError, match=r"bad.csv 第2行 类型列.*放半天"):
        load_entries(bad)
    bad.write_text("日期,类型\n2027-02-30,节假日\n", encoding="utf-8")
    with pytest.raises(KaoheError, match=r"第2行 日期列.*2027-02-30"):
        load_entries(bad)


@pytest.mark.parametrize("text, windows", [
    ("08:00-12:00,14:30-18:00", ((8 * 3600, 12 * 3600), (14 * 3600 + 1800, 18 * 3600))),
    ("14:30-18:00，08:00-12:00", ((8 * 3600, 12 * 3600), (14 * 3600 + 1800, 18 * 3600))),
    ("工作日", ((0, 86400),)),
    ("00:00-24:00", ((0, 86400),)),
])
def test_business_hours(text, windows):
    assert parse_hours(text).windows == windows


@pytest.mark.parametrize("text", ["8点到12点", "12:00-08:00", "08:00-12:00,11:00-13:00", "08:61-09:00"])
def test_bad_business_hours(text):
    with pytest.raises(KaoheError, match="工作时段"):
        parse_hours(text)


@settings(max_examples=200, deadline=None)
@given(st.dates(FIRST, dt.date(2026, 11, 30)), st.integers(1, 20))
def test_add_then_count(day, n):
    """n working days later, the closed span (day, result] holds exactly n working days."""
    calendar = china_calendar()
    later = calendar.add_workdays(np.datetime64(day), n)
    assert calendar.is_workday(later)
    assert calendar.workdays_between(np.datetime64(day) + 1, later) == n
