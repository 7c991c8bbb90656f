"""Deadlines, elapsed time and verdicts: worked cases (tests/cases/*.toml) and properties."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from udfs.calendar import china_calendar, parse_entries
from udfs.errors import KaoheError
from udfs.timeliness import (
    Suspensions,
    deadline,
    elapsed_hours,
    explain,
    parse_suspensions,
    verdict,
)


def moment(text: str) -> np.datetime64:
    """``"2025-09-26 15:00"`` → datetime64[s]."""
    return np.datetime64(text.replace(" ", "T"), "s")

CASES = tomllib.loads((Path(__file__).parent / "cases" / "deadlines.toml").read_text(encoding="utf-8"))["case"]
BH = "08:00-12:00,14:30-18:00"


def _serial_text(value) -> str:
    """A cell function's datetime as the cases write times (seconds only when there are some)."""
    if not hasattr(value, "strftime"):
        return str(value)
    return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")


@pytest.mark.parametrize("case", [c for c in CASES if "suspensions" not in c and "suspended_hours" not in c],
                         ids=lambda c: f"{c['start']} +{c['limit']}{c['unit']}")
def test_worked_deadline_through_the_cell_functions(case):
    """KH_DEADLINE (and KH_DUE where the case names a rulebook row) give the worked deadline."""
    from udfs.scoring_cells import kh_due
    from udfs.timeliness_cells import kh_deadline

    args = [case["start"], case["limit"], case["unit"]] + ([case["hours"]] if "hours" in case else [])
    assert _serial_text(kh_deadline(*args)[0, 0]) == case["due"], case["why"]
    if "rulebook" in case:
        due = kh_due(case["rulebook"], case["stage"], case["start"], None, None, case.get("kind"))
        assert _serial_text(due[0, 0]) == case["due"], case["why"]


def suspended_of(case, tickets=1):
    if "suspensions" in case:
        suspensions, messages = parse_suspensions(np.array([";".join(case["suspensions"])] * tickets, dtype=object))
        assert (messages == "").all()
        return suspensions
    return case.get("suspended_hours")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['start']} +{c['limit']}{c['unit']}" for c in CASES])
def test_worked_deadline(case):
    start = np.array([moment(case["start"])])
    got = deadline(start, case["limit"], case["unit"], hours=case.get("hours"), suspended=suspended_of(case))
    assert got[0] == moment(case["due"]), case["why"]
    # Finishing exactly at the deadline is on time; a second later is late by 1/3600 h.
    result = verdict(start, np.array([moment(case["due"]), moment(case["due"]) + 1]), case["limit"], case["unit"],
                     hours=case.get("hours"), suspended=suspended_of(case, tickets=2))
    assert result.ontime.tolist() == [True, False]
    assert result.overdue_hours[1] == pytest.approx(1 / 3600)


def test_a_column_of_mixed_units_matches_one_by_one():
    starts = np.array([moment(c["start"]) for c in CASES if "suspensions" not in c and "suspended_hours" not in c])
    plain = [c for c in CASES if "suspensions" not in c and "suspended_hours" not in c]
    got = deadline(starts, [c["limit"] for c in plain], [c["unit"] for c in plain], hours=[c.get("hours", "") for c in plain])
    assert got.tolist() == [moment(c["due"]).astype(object) for c in plain]


@pytest.mark.parametrize("start, end, hours, suspended, expected", [
    ("2025-09-29 08:00", "2025-09-29 18:00", BH, None, 7.5),
    ("2025-09-30 17:00", "2025-10-09 10:00", BH, None, 3.0),  # 1 h on 09-30, holidays skipped, 2 h on 10-09
    ("2025-09-30 17:00", "2025-10-09 10:00", None, None, 209.0),  # natural: 8 days 17 h
    ("2025-09-29 08:00", "2025-09-29 18:00", BH, "2025-09-29 09:00~2025-09-29 11:00;2025-09-29 10:00~2025-09-29 10:30", 5.5),
    ("2025-09-29 08:00", "2025-09-29 10:00", None, 5.0, 0.0),  # more suspended hours than elapsed: never negative
    ("2025-09-29 08:00:00", "2025-09-29 08:00:36", None, None, 0.01),  # seconds kept
    ("2025-10-11 08:00", "2025-10-11 12:00", "工作日", None, 4.0),  # make-up Saturday counts whole
])
def test_worked_elapsed(start, end, hours, suspended, expected):
    if isinstance(suspended, str):
        suspended = parse_suspensions(np.array([suspended], dtype=object))[0]
    got = elapsed_hours(np.array([moment(start)]), np.array([moment(end)]), hours=hours, suspended=suspended)
    assert got[0] == pytest.approx(expected)


def test_explain_names_holidays_and_make_up_day():
    line = explain(moment("2025-09-30 10:00"), moment("2025-10-10 16:00"), 3, "工作日")[()]
    assert "跳过 10-01至10-08(国庆节、中秋)" in line
    assert "10-11(周六 调休上班)" in line
    assert "截止 2025-10-11 24:00" in line and line.endswith("按时。")
    late = explain(moment("2025-09-30 17:00"), moment("2025-10-09 10:00"), 2, "小时", hours=BH)[()]
    assert "计入 09-30(周二) 17:00-18:00；10-09(周四) 08:00-09:00" in late and "超时 1小时" in late


def test_natural_hours_in_2027_need_no_schedule_but_working_days_do():
    assert deadline(moment("2027-03-01 08:00"), 2, "小时") == moment("2027-03-01 10:00")
    with pytest.raises(KaoheError, match="2027年节假日安排未加载"):
        deadline(moment("2027-03-01 08:00"), 2, "工作日")
    layer = parse_entries([("2027-01-01", "节假日", "元旦")])
    due = deadline(moment("2027-03-01 08:00"), 2, "工作日", calendar=china_calendar(layer))
    assert due == moment("2027-03-04 00:00")


def test_bad_elements_keep_the_rest():
    with pytest.raises(KaoheError) as caught:
        deadline(np.array([moment("2025-09-29 08:00")] * 4), [2, -1, 1.5, 2], ["小时", "小时", "工作日", "周"])
    err = caught.value
    assert err.values[0] == moment("2025-09-29 10:00")
    assert err.messages.tolist() == ["", "时限不能为负: -1", "天数须为整数: 1.5", "时限单位无法识别: 周(可用: 小时/分钟/天/天(含当天)/工作日)"]


def test_open_tickets_are_judged_as_of_a_date():
    result = verdict(np.array([moment("2025-10-09 08:00")] * 2), np.array([np.datetime64("NaT"), moment("2025-10-09 09:00")]),
                     2, "小时", as_of=moment("2025-10-09 13:00"))
    assert result.finished.tolist() == [False, True]
    assert result.ontime.tolist() == [False, True]
    assert result.overdue_hours.tolist() == [3.0, 0.0]


# -- properties -----------------------------------------------------------------------------
SPAN = (int(moment("2015-01-01 00:00").astype(np.int64)), int(moment("2026-08-01 00:00").astype(np.int64)))
# Property tests start before 2026-08 so that their spans (up to ~85 days) stay inside the published years.
moments_ = st.integers(*SPAN).map(lambda s: np.datetime64(s, "s"))
hours_ = st.sampled_from([None, BH, "09:00-17:30", "工作日", "00:00-06:00,22:00-24:00"])


@settings(max_examples=300, deadline=None)
@given(moments_, st.floats(0, 200), st.sampled_from(["小时", "分钟", "天", "工作日"]), hours_)
def test_deadline_never_precedes_start(start, limit, unit, hours):
    if unit in ("天", "工作日"):
        limit = float(int(limit) % 30)
    assert deadline(start, limit, unit, hours=hours) >= start


@settings(max_examples=300, deadline=None)
@given(moments_, st.integers(1, 200 * 3600), hours_)
def test_business_deadline_is_earliest_instant_with_full_count(start, seconds, hours):
    """elapsed(start, deadline) == limit, and one second earlier it is less."""
    due = deadline(start, seconds / 3600, "小时", hours=hours)
    assert elapsed_hours(start, due, hours=hours) * 3600 == pytest.approx(seconds, abs=1e-6)
    assert elapsed_hours(start, due - 1, hours=hours) * 3600 < seconds


@settings(max_examples=300, deadline=None)
@given(moments_, st.integers(0, 40 * 86400), st.integers(0, 40 * 86400), hours_,
       st.lists(st.tuples(st.integers(-86400, 80 * 86400), st.integers(0, 3 * 86400)), max_size=4))
def test_elapsed_is_additive_over_a_split_point(start, a, b, hours, raw):
    split, end = start + a, start + a + b
    suspensions = Suspensions.of([0] * len(raw), [start + s for s, _ in raw], [start + s + d for s, d in raw])
    whole = elapsed_hours(np.array([start]), np.array([end]), hours=hours, suspended=suspensions)[0]
    first = elapsed_hours(np.array([start]), np.array([split]), hours=hours, suspended=suspensions)[0]
    second = elapsed_hours(np.array([split]), np.array([end]), hours=hours, suspended=suspensions)[0]
    assert whole == pytest.approx(first + second, abs=1e-9)
    assert whole >= 0


@settings(max_examples=300, deadline=None)
@given(moments_, st.integers(0, 30 * 86400), st.floats(0, 100), st.sampled_from(["小时", "工作日"]), hours_,
       st.floats(0, 50))
def test_ontime_iff_end_not_after_deadline(start, taken, limit, unit, hours, suspended_hours):
    if unit == "工作日":
        limit = float(int(limit) % 10)
    end = start + taken
    result = verdict(start, end, limit, unit, hours=hours, suspended=suspended_hours)
    assert bool(result.ontime) == bool(end <= result.deadline)
    assert (result.overdue_hours == 0) == bool(result.ontime)
    assert elapsed_hours(start, end, hours=hours, suspended=suspended_hours) >= 0


@settings(max_examples=200, deadline=None)
@given(moments_, st.lists(st.tuples(st.integers(0, 5 * 86400), st.integers(1, 86400)), min_size=1, max_size=5))
def test_overlapping_suspensions_are_not_double_counted(start, raw):
    """Suspending the same span twice equals suspending it once."""
    once = Suspensions.of([0] * len(raw), [start + s for s, _ in raw], [start + s + d for s, d in raw])
    twice = Suspensions.of([0] * 2 * len(raw), [start + s for s, _ in raw] * 2, [start + s + d for s, d in raw] * 2)
    end = np.array([start + 6 * 86400])
    assert elapsed_hours(np.array([start]), end, suspended=once)[0] == elapsed_hours(np.array([start]), end, suspended=twice)[0]
    assert deadline(np.array([start]), 30, "小时", suspended=once)[0] == deadline(np.array([start]), 30, "小时", suspended=twice)[0]
    # Merged intervals are disjoint and sorted.
    assert (once.start[1:] > once.end[:-1]).all()
    assume(len(once.start) >= 1)


@pytest.mark.parametrize("text, parsed", [
    ("当天", (0, "天")), ("当日", (0, "天")), ("即时", (0, "小时")), ("3日内", (3, "天")), ("三日内", (3, "天")),
    ("十五日内", (15, "天")), ("5个工作日", (5, "工作日")), ("二十个工作日内", (20, "工作日")), ("24小时", (24, "小时")),
    ("1周内", (7, "天")), ("3", (3, "天")), ("３日内", (3, "天")),
])
def test_a_dispatch_forms_time_limit_is_read_as_written(text, parsed):
    """附件1 督办处理单: 办理时限 □当天 ___日内; a bare number fills the form's blank (days)."""
    from udfs.timeliness import parse_limit

    assert parse_limit(text) == parsed


def test_an_unreadable_time_limit_says_what_can_be_written():
    from udfs.timeliness import parse_limit

    assert parse_limit("尽快").startswith("时限无法识别: 尽快(可写 当天")


# -- explanations of a column: shared wording worked out once, each line as if alone -------------------
EXPLAIN_UNITS = ["小时", "分钟", "天", "工作日", "天(含当天)", "个月"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(*SPAN), st.integers(-3600, 30 * 86400), st.sampled_from(EXPLAIN_UNITS),
                          st.sampled_from([0, 1, 2, 3, 4.5, 7, 24]), st.booleans(), st.sampled_from([0.0, 0.0, 2.5, 30.0])),
                min_size=1, max_size=25),
       st.sampled_from([None, BH, "工作日"]))
def test_explaining_a_column_gives_each_ticket_the_line_it_gets_alone(rows, hours):
    starts = np.array([start for start, *_ in rows], dtype=np.int64).view("datetime64[s]")
    ends = np.array([start + span if finished else np.iinfo(np.int64).min
                     for start, span, _, _, finished, _ in rows], dtype=np.int64).view("datetime64[s]")
    units = np.array([unit for _, _, unit, *_ in rows], dtype=object)
    limits = np.array([limit for *_, limit, _, _ in rows], dtype=float)
    held = np.array([hours_held for *_, hours_held in rows], dtype=float)
    for suspended in (None, held, Suspensions.of([0, len(rows) - 1], starts[[0, -1]], starts[[0, -1]] + np.timedelta64(3, "h"))):
        try:
            column = explain(starts, ends, limits, units, hours=hours, suspended=suspended)
            column_messages = [""] * len(rows)
        except KaoheError as err:
            column, column_messages = err.values, err.messages.tolist()
        for k in range(len(rows)):
            own = None if suspended is None else held[k:k + 1] if suspended is held else Suspensions.of(
                [0] * int(k in (0, len(rows) - 1)), starts[[k]] if k in (0, len(rows) - 1) else starts[:0],
                starts[[k]] + np.timedelta64(3, "h") if k in (0, len(rows) - 1) else starts[:0])
            try:
                alone, message = explain(starts[k:k + 1], ends[k:k + 1], limits[k:k + 1], units[k:k + 1], hours=hours,
                                         suspended=own)[0], ""
            except KaoheError as err:
                alone, message = err.values[0], err.messages[0]
            assert (column[k], column_messages[k]) == (alone, message)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(moments_, st.integers(0, 3), st.lists(st.tuples(st.integers(-86400, 6 * 86400),
                                                                         st.integers(1, 2 * 86400)), max_size=3),
                          st.one_of(st.none(), st.floats(0, 30))), min_size=1, max_size=40),
       st.integers(1, 7))
def test_a_month_timed_in_blocks_is_timed_as_a_whole(tickets, block):
    """The ledger times a month a block of tickets at a time (Suspensions.owners): every deadline,
    message, clipped suspension and elapsed time is what one call over all tickets gives."""
    from udfs.timeliness import deadline_with_messages, elapsed_with_messages

    starts = np.array([s for s, *_ in tickets], dtype="datetime64[s]")
    limits = np.array([float(k) for _, k, _, _ in tickets])
    owners = [i for i, (_, _, spans, _) in enumerate(tickets) for _ in spans]
    begins = [tickets[i][0].astype(np.int64) + a for i, (_, _, spans, _) in enumerate(tickets) for a, _ in spans]
    ends = [b + d for b, (_, d) in zip(begins, [x for _, _, spans, _ in tickets for x in spans])]
    hour_owners = [i for i, (*_, h) in enumerate(tickets) if h is not None]
    suspensions = Suspensions.of(owners, np.array(begins, dtype="datetime64[s]"), np.array(ends, dtype="datetime64[s]"),
                                 hour_owners, [tickets[i][3] for i in hour_owners])
    bound = starts + np.timedelta64(4 * 86400, "s")
    units = np.array(["工作日"] * len(tickets), dtype=object)
    hours = np.array([BH] * len(tickets), dtype=object)
    whole_counted, whole_cut = suspensions.clipped(starts, bound)
    whole = deadline_with_messages(starts, limits, units, hours=hours, suspended=whole_counted)
    whole_hours, _ = elapsed_with_messages(starts, bound, suspended=suspensions)
    for first in range(0, len(tickets), block):
        part = slice(first, first + block)
        counted, cut = suspensions.owners(first, first + block).clipped(starts[part], bound[part])
        deadlines, messages = deadline_with_messages(starts[part], limits[part], units[part], hours=hours[part],
                                                     suspended=counted)
        assert (cut == whole_cut[part]).all()
        assert (deadlines.astype(np.int64) == whole[0][part].astype(np.int64)).all()
        assert list(messages) == list(whole[1][part])
        spent, _ = elapsed_with_messages(starts[part], bound[part], suspended=suspensions.owners(first, first + block))
        np.testing.assert_array_equal(spent, whole_hours[part])
