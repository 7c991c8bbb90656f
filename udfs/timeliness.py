"""Timeliness: elapsed time, deadlines, on-time flags and overdue hours.

All times are naive local moments (numpy ``datetime64[s]``); every function takes arrays
(or scalars) and broadcasts them, so one code path serves a cell, a column and a month.

Counting follows DOMAIN.md's defaults:

* 小时/分钟 limits count natural time, or business time when business hours are given
  (working days of the calendar, inside the daily windows).
* 天 counts natural days, 工作日 working days; the start day is not counted, a last day
  that is not a working day moves to the next working day, and the period ends at 24:00
  of the last day, or at the close of business when business hours are given.
* 个月 ends on the corresponding day of the month n months on (its last day when it has none),
  moved to the next working day like a period of days (民法典第二百零二、二百零三条).
* 天(含当天) counts natural days with the start day as day 1 ("当天开始1周内": a hand-over on
  Tue 10-14 is due Mon 10-20 24:00); the last day still moves to the next working day.
* 当天 (0 天, or 1 天(含当天)) is that calendar day, ending at 24:00 (or the close of
  business): not a period of days, so it never moves to the next working day.
* The deadline is the earliest instant the counted time reaches the limit; finishing at
  the deadline is on time; overdue hours are natural hours from the deadline to the finish.
* Suspended (挂起) time is not counted: given as intervals (merged when they overlap; only
  their part inside the counted time matters) or as a number of hours of counted time.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata

import numpy as np
import pandas as pd

from .calendar import ORIGIN, WHOLE_WORKDAY, BusinessHours, WorkCalendar, china_calendar, parse_hours
from .errors import KaoheError, collect, merge_messages, with_messages
from .moments import parse_moments

DAY_SECONDS = 86_400
_ORIGIN_DAY = int(ORIGIN.astype(np.int64))  # days since 1970
_SAFE_MOMENT = np.int64(np.datetime64("2024-01-08T09:00:00", "s").astype(np.int64))  # a covered Monday
NAT_INT = np.iinfo(np.int64).min

HOUR, MINUTE, DAY, WORKDAY, DAY_COUNTED, MONTH = range(6)
UNIT_NAMES = {
    HOUR: ("小时", "时", "h", "hr", "hrs", "hour", "hours"),
    MINUTE: ("分钟", "分", "min", "mins", "minute", "minutes"),
    DAY: ("天", "日", "自然日", "d", "day", "days"),
    WORKDAY: ("工作日", "个工作日", "wd", "workday", "workdays"),
    # "当天开始N天内": the start day is day 1 (DOMAIN default 12)
    DAY_COUNTED: ("天(含当天)", "日(含当天)", "自然日(含当天)", "天含当天", "日含当天", "d1"),
    # Civil Code Art. 202: a month ends on the corresponding day (or the month's last day)
    MONTH: ("个月", "月", "month", "months", "mo"),
}
UNIT_ZH = {HOUR: "小时", MINUTE: "分钟", DAY: "天", WORKDAY: "个工作日", DAY_COUNTED: "天(含当天)", MONTH: "个月"}
_UNIT_CODES = {name: code for code, names in UNIT_NAMES.items() for name in names}


def unit_code(unit) -> int:
    """Code of a unit name (``小时``/``h``, ``分钟``/``min``, ``天``/``d``, ``工作日``/``wd``,
    ``天(含当天)``/``d1``); full-width brackets are read as ASCII ones."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(unit))).lower() if unit is not None else ""
    code = _UNIT_CODES.get(key)
    if code is None:
        raise KaoheError(f"时限单位无法识别: {unit}(可用: 小时/分钟/天/天(含当天)/工作日)",
                         f"unknown time-limit unit {unit!r} (use 小时/h, 分钟/min, 天/d, 天(含当天)/d1, 工作日/wd)")
    return code


def same_day(limit, code: int):
    """True where a day limit means "当天" (that calendar day, never moved): 0 天, 1 天(含当天)."""
    limit = np.asarray(limit, dtype=float)
    if code == DAY:
        return limit == 0
    if code == DAY_COUNTED:
        return limit <= 1
    return np.zeros(limit.shape, dtype=bool)


# -- suspensions ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Suspensions:
    """Suspended (挂起) intervals of many tickets, merged per ticket and sorted.

    ``owner`` is the flat index of the ticket each interval belongs to; ``start``/``end``
    are seconds since 1970. Build with :meth:`of`, which merges overlapping intervals.
    """

    owner: np.ndarray
    start: np.ndarray
    end: np.ndarray
    # hours of counted time given as a number instead of intervals (``5`` or ``5小时`` in a 挂起 cell)
    hour_owner: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hours: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=float))

    @classmethod
    def of(cls, owner, start, end, hour_owner=(), hours=()) -> Suspensions:
        hour_owner = np.asarray(hour_owner, dtype=np.int64).ravel()
        hours = np.asarray(hours, dtype=float).ravel()
        return dataclasses.replace(cls._intervals(owner, start, end), hour_owner=hour_owner, hours=hours)

    def clipped(self, start, bound) -> tuple[Suspensions, np.ndarray]:
        """Only the suspended time between each owner's ``start`` and ``bound`` (its stage's end,
        or the month's end while unfinished): what is suspended after a ticket was finished
        cannot make it on time. Returns the clipped suspensions and which owners lost time."""
        start, bound = _seconds(start).ravel(), _seconds(bound).ravel()
        lost = np.zeros(start.shape, dtype=bool)
        owner = self.owner
        end = np.where(bound[owner] != NAT_INT, np.minimum(self.end, bound[owner]), self.end)
        lost[owner[end < self.end]] = True
        keep = end > self.start
        span = np.where((bound[self.hour_owner] != NAT_INT) & (start[self.hour_owner] != NAT_INT),
                        (bound[self.hour_owner] - start[self.hour_owner]) / 3600, np.inf)
        hours = np.minimum(self.hours, np.maximum(span, 0))
        lost[self.hour_owner[hours < self.hours]] = True
        return Suspensions(owner[keep], self.start[keep], end[keep], self.hour_owner, hours), lost

    @classmethod
    def _intervals(cls, owner, start, end) -> Suspensions:
        owner = np.asarray(owner, dtype=np.int64).ravel()
        start = _seconds(start).ravel()
        end = _seconds(end).ravel()
        keep = (start != NAT_INT) & (end != NAT_INT) & (end > start)
        owner, start, end = owner[keep], start[keep], end[keep]
        if not len(owner):
            return cls(owner, start, end)
        order = np.lexsort((start, owner))
        owner, start, end = owner[order], start[order], end[order]
        # A new block starts where the owner changes or the interval begins after every
        # earlier interval of the same owner has ended (a running maximum of the ends,
        # offset per owner so that it restarts with each owner).
        new_block = np.r_[True, owner[1:] != owner[:-1]]
        base = start.min()
        stride = int(end.max() - base) + 2
        running = np.maximum.accumulate(owner * stride + (end - base))
        new_block[1:] |= owner[1:] * stride + (start[1:] - base) > running[:-1]
        first = np.flatnonzero(new_block)
        return cls(owner[first], start[first], np.maximum.reduceat(end, first))

    def owners(self, first: int, stop: int) -> Suspensions:
        """The suspensions of owners ``first`` to ``stop - 1``, numbered from 0: those of a block
        of tickets, so that a month can be timed a block at a time."""
        low, high = np.searchsorted(self.owner, [first, stop])  # intervals are sorted by owner
        given = (self.hour_owner >= first) & (self.hour_owner < stop)
        return Suspensions(self.owner[low:high] - first, self.start[low:high], self.end[low:high],
                           self.hour_owner[given] - first, self.hours[given])

    def rank(self) -> np.ndarray:
        """Position of each interval among its owner's (0, 1, ...)."""
        if not len(self.owner):
            return self.owner
        first = np.r_[True, self.owner[1:] != self.owner[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
        return np.arange(len(first)) - group_start


def parse_suspensions(texts) -> tuple[Suspensions, np.ndarray]:
    """Suspensions written in cells: intervals ``起~止;起~止`` (``2025-10-09 10:00~2025-10-09
    12:00``) or a number of hours (``5``, ``2.5小时``, ``3h``: counted time, as the cell functions
    take a number).

    Returns the suspensions (owner = flat index of the cell) and per-cell messages; a missing
    cell (None, NaN, NaT, NA) or one of blanks has none; a cell with a bad interval gets the message of its first one and contributes no interval. All
    ends are parsed in one call, so a month of tickets costs one pass.
    """
    texts = np.asarray(texts, dtype=object)
    messages = np.full(texts.shape, "", dtype=object)
    flat_messages = messages.reshape(-1)
    owners, parts, ends, hour_owners, hours = [], [], [], [], []
    hours_of: dict = {}
    flat = texts.reshape(-1)
    for index in np.flatnonzero(pd.notna(flat)).tolist():  # a month's column is mostly empty: skipped at once
        text = flat[index]
        if not str(text).strip():
            continue
        if type(text) is str:  # the same text is read once
            number = hours_of[text] if text in hours_of else hours_of.setdefault(text, _suspended_hours(text))
        else:
            number = _suspended_hours(text)
        if number is not None:
            if np.isfinite(number) and number >= 0:
                hour_owners.append(index)
                hours.append(number)
            else:
                flat_messages[index] = f"挂起小时数无效: {text}"
            continue
        for part in _PARTS.split(str(text)):
            if not part.strip():
                continue
            pair = _PAIR.split(part.strip())
            if len(pair) != 2:
                flat_messages[index] = flat_messages[index] or f"挂起时段无法识别: {part.strip()}"
                continue
            owners.append(index)
            parts.append(part.strip())
            ends.extend(pair)
    moments, parse_messages = with_messages(parse_moments, np.array(ends, dtype=object))
    moments = np.asarray(moments, dtype="datetime64[s]").reshape(-1, 2)
    parse_messages = np.asarray(parse_messages, dtype=object).reshape(-1, 2)
    owned = np.array(owners, dtype=np.int64)
    # each cell's first interval that cannot be read or runs backwards, unless the cell already has a message
    problem = np.where(parse_messages[:, 0] != "", parse_messages[:, 0], parse_messages[:, 1])
    invalid = np.isnat(moments).any(axis=1) | (moments[:, 1] < moments[:, 0])
    bad = np.flatnonzero(((problem != "") | invalid) & (flat_messages[owned] == "") if len(owned) else owned)
    cells, first = np.unique(owned[bad], return_index=True)
    for index, k in zip(cells.tolist(), bad[first].tolist()):
        flat_messages[index] = f"挂起时段: {problem[k]}" if problem[k] else f"挂起时段无效: {parts[k]}"
    keep = flat_messages[owned] == "" if len(owned) else np.zeros(0, dtype=bool)
    return Suspensions.of(owned[keep].tolist(), moments[keep, 0], moments[keep, 1], hour_owners, hours), messages


_PARTS = re.compile(r"[;；\n]")
_PAIR = re.compile(r"\s*(?:~|～|至|--|—)\s*")
_HOURS_TEXT = re.compile(r"\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|nan)\s*(?:小时|时|h|H|hours?)?\s*",
                         re.IGNORECASE)


def _suspended_hours(value) -> float | None:
    """Hours from a 挂起 cell holding a number (5, "2.5", "3小时"); None when it holds intervals."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    match = _HOURS_TEXT.fullmatch(unicodedata.normalize("NFKC", str(value)))
    return float(match.group(1)) if match else None


# -- the clock ---------------------------------------------------------------------------
class Clock:
    """Counted seconds as a function of the moment, and its inverse.

    Natural time (``hours=None``) counts every second. Business time counts the seconds
    inside ``hours`` on working days of ``calendar``. ``count`` is non-decreasing and
    continuous; ``moment`` returns the earliest instant at which the count is reached.
    """

    def __init__(self, calendar: WorkCalendar | None, hours: BusinessHours | None):
        self.calendar, self.hours = calendar, hours
        if hours is None:
            return
        starts = np.array([s for s, _ in hours.windows], dtype=np.int64)
        ends = np.array([e for _, e in hours.windows], dtype=np.int64)
        self._per_day = int(hours.seconds_per_day)
        self._starts = starts
        self._cum_end = np.cumsum(ends - starts)
        self._xp = np.concatenate([[0], np.ravel(np.column_stack([starts, ends])), [DAY_SECONDS]]).astype(float)
        before = np.concatenate([[0], self._cum_end[:-1]])
        self._fp = np.concatenate([[0], np.ravel(np.column_stack([before, self._cum_end])), [self._per_day]]).astype(float)
        self._before = before

    @property
    def natural(self) -> bool:
        return self.hours is None

    def count(self, moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Counted seconds at each moment (int64 seconds since 1970) and per-element messages."""
        moments = np.asarray(moments, dtype=np.int64)
        if self.natural:
            return moments, np.full(moments.shape, "", dtype=object)
        day = np.floor_divide(moments, DAY_SECONDS)
        tod = moments - day * DAY_SECONDS
        # 24:00 belongs to the day that ends there: check the coverage of that day.
        check_day = np.where(tod == 0, day - 1, day)
        index, messages = self.calendar.index(check_day.astype("datetime64[D]"))
        index = np.where(messages == "", day - _ORIGIN_DAY, 0)
        within = np.rint(np.interp(tod, self._xp, self._fp)).astype(np.int64)
        counted = self.calendar.cumulative[index] * self._per_day + self.calendar.working[index] * within
        return counted, messages

    def moment(self, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The earliest moment (int64 seconds) at which each count is reached, and messages."""
        counted = np.asarray(counted, dtype=np.int64)
        if self.natural:
            return counted, np.full(counted.shape, "", dtype=object)
        per_day = self._per_day
        ordinal = (counted + per_day - 1) // per_day - 1  # the working day on which it is reached
        workdays = self.calendar.workday_indices
        inside = (ordinal >= 0) & (ordinal < len(workdays))
        index = workdays[np.clip(ordinal, 0, len(workdays) - 1)]
        rest = counted - ordinal * per_day  # in (0, per_day]
        window = np.clip(np.searchsorted(self._cum_end, rest, side="left"), 0, len(self._starts) - 1)
        tod = self._starts[window] + rest - self._before[window]
        hi = self.calendar.covered_span[1]
        messages = np.full(counted.shape, "", dtype=object)
        bad = ~inside | (index > hi)
        flat = messages.reshape(-1)
        for position in np.flatnonzero(bad):
            flat[position] = self.calendar.uncovered_message(self.calendar.day_at(hi + 1))
        return (index + _ORIGIN_DAY) * DAY_SECONDS + tod, messages


def _seconds(moments) -> np.ndarray:
    """``datetime64`` (or parseable input) to int64 seconds, NaT as :data:`NAT_INT`."""
    array = np.asarray(moments)
    if array.dtype.kind != "M":
        array = parse_moments(array)
    return array.astype("datetime64[s]").astype(np.int64)


def _calendar(calendar: WorkCalendar | None) -> WorkCalendar:
    return calendar if calendar is not None else china_calendar()


def _hours(hours) -> BusinessHours | None:
    return hours if isinstance(hours, BusinessHours) or hours is None else parse_hours(hours)


# -- deadlines ---------------------------------------------------------------------------
def _base_deadline(start, limit, code, hours, calendar) -> tuple[np.ndarray, np.ndarray, Clock]:
    """Deadline before suspensions, per-element messages, and the clock that extends it."""
    messages = np.full(start.shape, "", dtype=object)
    if code in (HOUR, MINUTE):
        clock = Clock(calendar if hours else None, hours)
        seconds = np.rint(limit * (3600 if code == HOUR else 60)).astype(np.int64)
        counted, m1 = clock.count(start)
        reached, m2 = clock.moment(counted + seconds)
        return np.where(seconds == 0, start, reached), merge_messages(messages, m1, m2), clock
    whole = np.floor(limit)
    fractional = limit != whole
    flat = messages.reshape(-1)
    for position in np.flatnonzero(fractional):
        flat[position] = f"{'月' if code == MONTH else '天'}数须为整数: {limit.reshape(-1)[position]:g}"
    n = whole.astype(np.int64)
    start_day = np.floor_divide(start, DAY_SECONDS).astype("datetime64[D]")
    if code in (DAY, DAY_COUNTED, MONTH):
        if code == MONTH:
            last = _add_months(start_day, n)
        else:
            offset = np.maximum(n - 1, 0) if code == DAY_COUNTED else n
            last = start_day + offset.astype("timedelta64[D]")
        working, m1 = _is_working(calendar, last)
        rolled, m2 = _add_workdays(calendar, last, np.ones_like(n))
        today = same_day(whole, code)  # 当天 is that day: it never rolls, and needs no calendar
        last = np.where(working | today, last, rolled)
        messages = merge_messages(messages, np.where(today, "", m1), np.where(today, "", m2))
        clock = Clock(calendar, hours) if hours else Clock(None, None)
    else:
        last, m1 = _add_workdays(calendar, start_day, n)
        messages = merge_messages(messages, m1)
        clock = Clock(calendar, hours or WHOLE_WORKDAY)
    close = hours.windows[-1][1] if hours else DAY_SECONDS
    # A zero-day period received after the close of business is due at once, not before it.
    return np.maximum(start, last.astype(np.int64) * DAY_SECONDS + close), messages, clock


def _add_months(days: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The corresponding day ``n`` months on, or that month's last day when it has none
    (民法典第二百零二条: 1-31 + 1 month → 2-28/29)."""
    month = days.astype("datetime64[M]") + np.asarray(n).astype("timedelta64[M]")
    day_of_month = days - days.astype("datetime64[M]").astype("datetime64[D]")
    return np.minimum(month.astype("datetime64[D]") + day_of_month, (month + 1).astype("datetime64[D]") - 1)


def _is_working(calendar, days):
    index, messages = calendar.index(days)
    return calendar.working[index], messages


def _add_workdays(calendar, days, n):
    values, messages = with_messages(calendar.add_workdays, days, n)
    return values.astype("datetime64[D]"), messages


def _extend(clock: Clock, start, base, suspended, index) -> tuple[np.ndarray, np.ndarray]:
    """Move ``base`` deadlines later by the counted time of their suspensions."""
    if suspended is None:
        return base, np.full(base.shape, "", dtype=object)
    original, messages = clock.count(base)
    target = original.copy()
    if isinstance(suspended, Suspensions):
        # ``index`` maps the group's elements to the owners' flat indices.
        position = np.full(int(index.max()) + 1 if len(index) else 0, -1, dtype=np.int64)
        position[index] = np.arange(len(index))
        mine = (suspended.owner < len(position))
        mine[mine] = position[suspended.owner[mine]] >= 0
        owner = position[suspended.owner[mine]]
        s_start, s_end, rank = suspended.start[mine], suspended.end[mine], suspended.rank()[mine]
        s_start = np.maximum(s_start, start[owner])
        keep = s_end > s_start
        owner, s_start, s_end, rank = owner[keep], s_start[keep], s_end[keep], rank[keep]
        begin, m1 = clock.count(s_start)
        finish, m2 = clock.count(s_end)
        messages = merge_messages(messages, _spread(m1, owner, base.shape), _spread(m2, owner, base.shape))
        for r in range(int(rank.max()) + 1 if len(rank) else 0):
            sel = rank == r
            who = owner[sel]
            active = begin[sel] < target[who]
            target[who[active]] += finish[sel][active] - begin[sel][active]
        given = suspended.hour_owner < len(position)
        given[given] = position[suspended.hour_owner[given]] >= 0
        np.add.at(target, position[suspended.hour_owner[given]], np.rint(suspended.hours[given] * 3600).astype(np.int64))
    else:
        extra = np.rint(np.nan_to_num(np.asarray(suspended, dtype=float)) * 3600).astype(np.int64)
        target = target + np.clip(extra, 0, None)
    moved, m3 = clock.moment(target)
    return np.where(target == original, base, moved), merge_messages(messages, m3)


def _spread(messages, owner, shape):
    """Per-interval messages to per-ticket messages."""
    out = np.full(shape, "", dtype=object)
    bad = messages != ""
    out.reshape(-1)[owner[bad]] = messages[bad]
    return out


def _unique(values: np.ndarray, shape) -> tuple[list, np.ndarray]:
    """Distinct values (text or BusinessHours) of an argument broadcast to ``shape``, and each element's index."""
    size = int(np.prod(shape))

    def key(value):
        return value if isinstance(value, BusinessHours) else ("" if value is None else str(value))

    if values.size == 1:  # the usual case: one unit or one calendar for the whole column
        return [key(values.reshape(-1)[0])], np.zeros(size, dtype=np.int64)
    flat = np.broadcast_to(values, shape).ravel()
    if set(map(type, flat.tolist())) == {str}:  # a column of texts (a rulebook's units): hashed, not sorted
        index, distinct = pd.factorize(flat.astype(object))
        return list(distinct), index.astype(np.int64)
    text = np.array([v.text if isinstance(v, BusinessHours) else key(v) for v in flat])
    distinct, index = np.unique(text, return_inverse=True)
    return list(distinct), index


def _limits(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Limits as floats (NaN = empty) and messages for text that is not a number or negatives."""
    messages = np.full(values.shape, "", dtype=object)
    if values.dtype.kind in "if":
        limits = values.astype(float)
    else:
        limits = pd.to_numeric(pd.Series(values, dtype=object).replace("", None), errors="coerce").to_numpy(float, copy=True)
        given = np.array([not (v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()))
                          for v in values], dtype=bool)
        bad = given & np.isnan(limits)
        messages[bad] = [f"时限不是数字: {v}" for v in values[bad]]
    negative = limits < 0
    if negative.any():
        messages[negative] = [f"时限不能为负: {v:g}" for v in limits[negative]]
        limits[negative] = np.nan
    return limits, messages


_LIMIT_TEXT = re.compile(r"^(\d+(?:\.\d+)?)\s*(个)?\s*(工作日|自然日|日|天|小时|分钟|h|d|wd|min)\s*(?:内|以内|之内)?$")


_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _arabic(text: str) -> str:
    """Small Chinese numerals as digits (三 → 3, 十五 → 15, 二十 → 20), the rest unchanged."""
    def number(match):
        word = match.group(0)
        if "十" not in word:
            return str(_CHINESE_DIGITS[word])
        tens, _, ones = word.partition("十")
        return str((_CHINESE_DIGITS[tens] if tens else 1) * 10 + (_CHINESE_DIGITS[ones] if ones else 0))
    return re.sub(r"[一二两三四五六七八九]?十[一二三四五六七八九]?|[零一二两三四五六七八九]", number, text)


def parse_limit(text) -> tuple[float, str] | str:
    """A time limit written as on a dispatch form (附件1 办理时限: ``当天``, ``3日内``, ``三日内``,
    ``5个工作日``, ``24小时``, ``1周内``; a bare number is days, as in the form's "__日内") as
    ``(limit, unit)``, or a Chinese message. 当天/当日 is ``(0, "天")``: that day, never moved;
    即时 is ``(0, "小时")``."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower() if text is not None else ""
    key = _arabic(key)
    if re.fullmatch(r"\d+(?:\.0+)?", key):
        return float(key), "天"
    week = re.fullmatch(r"(\d+)(?:个)?(?:周|星期|礼拜)(?:内|以内|之内)?", key)
    if week:
        return 7.0 * int(week.group(1)), "天"
    if key in ("当天", "当日", "即日", "当天内", "当日内"):
        return 0.0, "天"
    if key in ("即时", "立即", "即办"):
        return 0.0, "小时"
    match = _LIMIT_TEXT.match(key)
    if not match:
        return f"时限无法识别: {text}(可写 当天、3日内、三日内、5个工作日、24小时、1周内)"
    number, unit = float(match.group(1)), match.group(3)
    return number, "工作日" if unit in ("工作日", "wd") else "天" if unit in ("自然日", "日", "天", "d") else unit


def _is_limit_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text_limits(limit_arr: np.ndarray, unit_arr: np.ndarray, shape):
    """Limits given as text with no unit (``当天``, ``3日内``) split into number and unit; the
    rest unchanged (and not broadcast when no limit is such a text)."""
    if limit_arr.dtype.kind in "if":
        return limit_arr, unit_arr
    texts = np.fromiter(map(_is_limit_text, limit_arr.reshape(-1).tolist()), dtype=bool, count=limit_arr.size)
    if not texts.any():
        return limit_arr, unit_arr
    texts = np.broadcast_to(texts.reshape(limit_arr.shape), shape).reshape(-1)
    limits = np.broadcast_to(limit_arr, shape).astype(object).copy()
    units = np.broadcast_to(unit_arr, shape).astype(object).copy()
    flat_limits, flat_units = limits.reshape(-1), units.reshape(-1)
    parsed_of: dict = {}
    for index in np.flatnonzero(texts).tolist():
        value, unit = flat_limits[index], flat_units[index]
        if unit is None or not str(unit).strip():
            parsed = parsed_of.get(value)
            if parsed is None:
                parsed = parsed_of[value] = parse_limit(value)  # a bare number fills the form's "__日内": days
            if not isinstance(parsed, str):
                flat_limits[index], flat_units[index] = parsed
    return limits, units


def _prepare(start, limit, unit, suspended):
    start_s = _seconds(start)
    limit_arr = np.asarray(limit)
    limit_arr = limit_arr if limit_arr.dtype.kind in "if" else limit_arr.astype(object)
    unit_arr = np.asarray(unit, dtype=object)
    shape = np.broadcast_shapes(start_s.shape, limit_arr.shape, unit_arr.shape,
                                np.shape(suspended) if suspended is not None and not isinstance(suspended, Suspensions) else ())
    limit_arr, unit_arr = _text_limits(limit_arr, unit_arr, shape)
    return start_s, limit_arr, unit_arr, shape


def deadline_with_messages(start, limit, unit, *, hours=None, calendar=None, suspended=None):
    """Like :func:`deadline` but returns ``(deadlines, messages)`` instead of raising."""
    calendar = _calendar(calendar)
    start_s, limit_arr, unit_arr, shape = _prepare(start, limit, unit, suspended)
    start_s = np.broadcast_to(start_s, shape).ravel()
    size = start_s.size
    if suspended is not None and not isinstance(suspended, Suspensions):
        suspended = np.broadcast_to(np.asarray(suspended, dtype=float), shape).ravel()
    hours_arr = np.asarray(hours if hours is not None else "", dtype=object)

    out = np.full(size, NAT_INT, dtype=np.int64)
    limits, messages = _limits(limit_arr.ravel())
    limits = np.broadcast_to(limits.reshape(limit_arr.shape), shape).ravel().copy()
    messages = np.broadcast_to(messages.reshape(limit_arr.shape), shape).ravel().copy()
    codes = np.full(size, -1)
    units, unit_index = _unique(unit_arr, shape)
    for k, name in enumerate(units):
        try:
            codes[unit_index == k] = unit_code(name)
        except KaoheError as err:
            messages[(unit_index == k) & (messages == "") & ~np.isnan(limits)] = err.zh
    live = (start_s != NAT_INT) & ~np.isnan(limits) & (messages == "") & (codes >= 0)
    hours_keys, hours_index = _unique(hours_arr, shape)
    key = codes * len(hours_keys) + hours_index
    groups = {}
    for value in np.unique(key[live]):
        code, h = divmod(int(value), len(hours_keys))
        groups[(code, hours_keys[h])] = np.flatnonzero(live & (key == value))
    for (code, hours_key), index in groups.items():
        try:
            hours_value = _hours(hours_key or None)
        except KaoheError as err:
            messages[index] = err.zh
            continue
        base, m1, clock = _base_deadline(start_s[index], limits[index], code, hours_value, calendar)
        own = suspended[index] if isinstance(suspended, np.ndarray) else suspended
        final, m2 = _extend(clock, start_s[index], base, own, index)
        group_messages = merge_messages(m1, m2)
        out[index] = np.where(group_messages == "", final, NAT_INT)
        messages[index] = group_messages
    return out.view("datetime64[s]").reshape(shape), messages.reshape(shape)


def deadline(start, limit, unit, *, hours=None, calendar=None, suspended=None) -> np.ndarray:
    """Deadlines (``datetime64[s]``) for tickets started at ``start`` with ``limit`` in ``unit``.

    ``limit`` is a number (hours, minutes, days or working days as ``unit`` says);
    ``hours`` business hours text or :class:`BusinessHours` (None = natural time for
    小时/分钟, whole days for 天/工作日); ``suspended`` hours of counted time (array) or
    :class:`Suspensions`. An empty start or limit gives NaT. Bad elements raise
    :class:`~udfs.errors.ElementErrors` carrying the other results.
    """
    return collect(*deadline_with_messages(start, limit, unit, hours=hours, calendar=calendar, suspended=suspended))


# -- elapsed time --------------------------------------------------------------------------
def elapsed_with_messages(start, end, *, hours=None, calendar=None, suspended=None):
    """Like :func:`elapsed_hours` but returns ``(hours, messages)`` instead of raising."""
    start_s, end_s = _seconds(start), _seconds(end)
    sus = None if suspended is None or isinstance(suspended, Suspensions) else np.asarray(suspended, dtype=float)
    shape = np.broadcast_shapes(start_s.shape, end_s.shape, sus.shape if sus is not None else ())
    start_s = np.broadcast_to(start_s, shape).ravel()
    end_s = np.broadcast_to(end_s, shape).ravel()
    messages = np.full(start_s.shape, "", dtype=object)
    empty = (start_s == NAT_INT) | (end_s == NAT_INT)
    backwards = ~empty & (end_s < start_s)
    messages[backwards] = "结束时间早于开始时间"
    live = ~empty & ~backwards
    s_safe = np.where(live, start_s, _SAFE_MOMENT)
    e_safe = np.where(live, end_s, _SAFE_MOMENT)
    hours_value = _hours(hours)
    clock = Clock(_calendar(calendar) if hours_value else None, hours_value)
    a, m1 = clock.count(s_safe)
    b, m2 = clock.count(e_safe)
    counted = (b - a).astype(float)
    messages = merge_messages(messages, m1, m2)
    if isinstance(suspended, Suspensions) and len(suspended.owner):
        owner = suspended.owner
        inside = owner < len(s_safe)
        owner = owner[inside]
        lo = np.clip(suspended.start[inside], s_safe[owner], e_safe[owner])
        hi = np.clip(suspended.end[inside], s_safe[owner], e_safe[owner])
        c_lo, m3 = clock.count(lo)
        c_hi, m4 = clock.count(hi)
        counted -= np.bincount(owner, weights=(c_hi - c_lo).astype(float), minlength=len(s_safe))
        messages = merge_messages(messages, _spread(m3, owner, s_safe.shape), _spread(m4, owner, s_safe.shape))
    if isinstance(suspended, Suspensions) and len(suspended.hour_owner):
        given = suspended.hour_owner < len(s_safe)
        counted -= np.bincount(suspended.hour_owner[given], weights=suspended.hours[given] * 3600, minlength=len(s_safe))
    elif sus is not None:
        counted -= np.nan_to_num(np.broadcast_to(sus, shape).ravel()) * 3600
    result = np.where(live & (messages == ""), np.maximum(counted, 0) / 3600, np.nan)
    return result.reshape(shape), messages.reshape(shape)


def elapsed_hours(start, end, *, hours=None, calendar=None, suspended=None) -> np.ndarray:
    """Counted hours from ``start`` to ``end`` (float), suspended time subtracted, never negative.

    Natural time unless ``hours`` gives business hours (working days of ``calendar`` only).
    ``suspended``: hours (array) or :class:`Suspensions` intervals, of which only the part
    between start and end counts. Empty start or end gives NaN.
    """
    return collect(*elapsed_with_messages(start, end, hours=hours, calendar=calendar, suspended=suspended))


# -- verdicts ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Verdict:
    """Timeliness of finished or open tickets.

    ``ontime`` is True where finished at or before the deadline; ``overdue_hours`` natural
    hours past the deadline at the finish (or at ``as_of`` for open tickets), 0 when on
    time, NaN where it cannot be said; ``finished`` tells which tickets have an end.
    """

    deadline: np.ndarray
    ontime: np.ndarray
    overdue_hours: np.ndarray
    finished: np.ndarray


def judge(deadlines, end, as_of=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ontime, overdue_hours, finished)`` for known deadlines and ends (NaT = not finished).

    On time ⇔ finished at or before the deadline. Overdue hours are natural hours from the
    deadline to the end, or to ``as_of`` for unfinished tickets; NaN where unknown.
    """
    due = np.asarray(deadlines, dtype="datetime64[s]").astype(np.int64)
    end_s = np.broadcast_to(_seconds(end), due.shape)
    finished = end_s != NAT_INT
    reference = end_s if as_of is None else np.where(finished, end_s, np.broadcast_to(_seconds(as_of), due.shape))
    known = (due != NAT_INT) & (reference != NAT_INT)
    overdue = np.where(known, np.maximum(reference - due, 0) / 3600, np.nan)
    return known & finished & (end_s <= due), overdue, finished


def verdict_with_messages(start, end, limit, unit, *, hours=None, calendar=None, suspended=None, as_of=None):
    """Like :func:`verdict` but returns ``(Verdict, messages)`` instead of raising."""
    start_s, end_s = _seconds(start), _seconds(end)
    shape = np.broadcast_shapes(start_s.shape, end_s.shape, np.shape(limit), np.shape(unit))
    start_s, end_s = np.broadcast_to(start_s, shape), np.broadcast_to(end_s, shape)
    if isinstance(suspended, Suspensions):  # nothing suspended after the end (or as_of) counts
        bound = np.where(end_s != NAT_INT, end_s, _seconds(as_of) if as_of is not None else NAT_INT)
        suspended, _ = suspended.clipped(start_s.view("datetime64[s]"), bound.astype(np.int64).view("datetime64[s]"))
    deadlines, messages = deadline_with_messages(start_s.view("datetime64[s]"), limit, unit, hours=hours,
                                                 calendar=calendar, suspended=suspended)
    shape = deadlines.shape
    start_s, end_s = np.broadcast_to(start_s, shape), np.broadcast_to(end_s, shape)
    messages = np.broadcast_to(messages, shape).copy()
    finished = end_s != NAT_INT
    messages[finished & (start_s != NAT_INT) & (end_s < start_s) & (messages == "")] = "完成时间早于开始时间"
    deadlines = np.where(messages == "", deadlines, np.datetime64("NaT"))
    ontime, overdue, finished = judge(deadlines, end_s.view("datetime64[s]"), as_of)
    return Verdict(deadlines, ontime, overdue, finished), messages


def verdict(start, end, limit, unit, *, hours=None, calendar=None, suspended=None, as_of=None) -> Verdict:
    """Deadline, on-time flag and overdue hours in one pass (see :class:`Verdict`)."""
    result, messages = verdict_with_messages(start, end, limit, unit, hours=hours, calendar=calendar,
                                             suspended=suspended, as_of=as_of)
    return collect(result, messages)


# -- the working, in words -------------------------------------------------------------------
def _day_label(calendar: WorkCalendar, day: np.datetime64) -> str:
    from .calendar import COMPANY_WORK, MAKEUP
    from .moments import format_day

    kind = int(calendar.kinds[int((day - ORIGIN).astype(int))])
    label = format_day(day.astype(object))
    if kind == MAKEUP:
        return label[:-1] + " 调休上班)"
    if kind == COMPANY_WORK:
        return label[:-1] + " 单位工作日)"
    return label


def _skipped(calendar: WorkCalendar, days: list[np.datetime64]) -> str:
    """``10-01至10-08(国庆节、中秋节)`` for a run of days that are not working days."""
    from .calendar import COMPANY_REST, HOLIDAY
    from .moments import format_day

    reasons = []
    for day in days:
        index = int((day - ORIGIN).astype(int))
        kind = int(calendar.kinds[index])
        reason = calendar.names.get(index) if kind == HOLIDAY else None
        reason = reason or {HOLIDAY: "法定节假日", COMPANY_REST: "单位休息日"}.get(kind, "周末")
        if reason not in reasons:
            reasons.append(reason)
    first, last = format_day(days[0].astype(object), weekday=False), format_day(days[-1].astype(object), weekday=False)
    span = first if len(days) == 1 else f"{first}至{last}"
    return f"{span}({'、'.join(reasons)})"


def _walk(calendar: WorkCalendar, first: np.datetime64, last: np.datetime64, counted) -> tuple[list[str], list[str]]:
    """Counted and skipped days from ``first`` to ``last``; ``counted(day)`` describes a counted day."""
    taken, skipped, run = [], [], []
    lo = int((first - ORIGIN).astype(np.int64))
    days = (np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]") if last >= first
            else np.zeros(0, dtype="datetime64[D]"))
    if lo >= 0 and lo + len(days) <= len(calendar.working):
        flags = calendar.working[lo:lo + len(days)].tolist()
    else:  # outside the calendar's arrays: as the arrays index (a negative index counts from the end)
        flags = [bool(calendar.working[lo + k]) for k in range(len(days))]
    for day, working in zip(days, flags):
        if working:
            if run:
                skipped.append(_skipped(calendar, run))
                run = []
            text = counted(day)
            if text:
                taken.append(text)
        else:
            run.append(day)
    if run:
        skipped.append(_skipped(calendar, run))
    return taken, skipped


def _hours_text(seconds: float) -> str:
    return f"{seconds / 3600:.2f}".rstrip("0").rstrip(".") + "小时"


def _moment_texts(seconds: np.ndarray, *, midnight_as_24: bool = False) -> list[str]:
    """:func:`~udfs.moments.format_moment` of many moments (int64 seconds) at once, from the text of
    ``numpy.datetime_as_string``; years outside 1000–9999 one by one."""
    from .moments import format_moment

    seconds = np.asarray(seconds, dtype=np.int64).ravel()
    midnight = (seconds % DAY_SECONDS == 0) if midnight_as_24 else np.zeros(len(seconds), dtype=bool)
    shown = np.where(midnight, seconds - DAY_SECONDS, seconds)  # 24:00 of the day before
    own = (shown < _YEAR_1000) | (shown >= _YEAR_10000)
    iso = np.datetime_as_string(np.where(own, 0, shown).view("datetime64[s]"), unit="s").astype("U19")
    iso.view("U1").reshape(len(iso), 19)[:, 10] = " "
    out = iso.astype("U16").astype(object)  # to the minute
    with_seconds = ~midnight & (seconds % 60 != 0)
    if with_seconds.any():
        out[with_seconds] = iso[with_seconds].astype(object)
    if midnight.any():
        out[midnight] = np.char.add(iso[midnight].astype("U10"), " 24:00").astype(object)
    out = out.tolist()
    moments = seconds.view("datetime64[s]")
    for position in np.flatnonzero(own).tolist():
        out[position] = format_moment(moments[position], midnight_as_24=midnight_as_24)
    return out


_YEAR_1000 = int(np.datetime64("1000-01-01T00:00:00", "s").astype(np.int64))
_YEAR_10000 = int(np.datetime64("9999-12-31T23:59:59", "s").astype(np.int64)) + 1


class _Wording:
    """The calendar's words for days, kept for one call of :func:`explain` (a day is described the
    same way for every ticket)."""

    def __init__(self, calendar: WorkCalendar):
        self.calendar = calendar
        self._labels: dict = {}
        self._walks: dict = {}
        self._runs: dict = {}

    def label(self, day: np.datetime64) -> str:
        key = int(day.astype(np.int64))
        text = self._labels.get(key)
        if text is None:
            text = self._labels[key] = _day_label(self.calendar, day)
        return text

    def walk(self, first: np.datetime64, last: np.datetime64, counted) -> tuple[list[str], list[str]]:
        return _walk(self.calendar, first, last, counted)

    def days(self, first: np.datetime64, last: np.datetime64) -> tuple[list[str], list[str]]:
        """:func:`_walk` naming each counted day (the same for every ticket with these ends), from
        the words of each day and each run of days off, kept."""
        lo, hi = int((first - ORIGIN).astype(np.int64)), int((last - ORIGIN).astype(np.int64))
        found = self._walks.get((lo, hi))
        if found is not None:
            return found
        working = self.calendar.working
        if lo < 0 or hi >= len(working):  # outside the calendar's arrays: as _walk does
            found = _walk(self.calendar, first, last, self.label)
        else:
            taken, skipped, run = [], [], None
            for index, flag in enumerate(working[lo:hi + 1].tolist() if hi >= lo else [], start=lo):
                if flag:
                    if run is not None:
                        skipped.append(self._run(run, index - 1))
                        run = None
                    taken.append(self.label(ORIGIN + np.timedelta64(index, "D")))
                elif run is None:
                    run = index
            if run is not None:
                skipped.append(self._run(run, hi))
            found = (taken, skipped)
        self._walks[(lo, hi)] = found
        return found

    def _run(self, lo: int, hi: int) -> str:
        text = self._runs.get((lo, hi))
        if text is None:
            text = self._runs[(lo, hi)] = _skipped(self.calendar, [ORIGIN + np.timedelta64(k, "D") for k in range(lo, hi + 1)])
        return text


def explain(start, end, limit, unit, *, hours=None, calendar=None, suspended=None) -> np.ndarray:
    """One line of Chinese per ticket showing the working behind its deadline and verdict.

    It names the counted days (make-up workdays marked), the skipped ones with the festival
    they belong to, business windows counted, suspensions, the deadline and the verdict.
    Same arguments as :func:`verdict`; elements that cannot be computed carry their message
    (raised as :class:`~udfs.errors.ElementErrors`, like the other functions). A line whose
    counted span (start day to deadline day) touches late December of the last covered year
    ends with the calendar's caveat (:meth:`~udfs.calendar.WorkCalendar.caveat`), unless it
    counts natural time (hours, or 当天 to 24:00), which no calendar change can move.

    The lines are assembled per ticket; what they share is worked out once per call: the texts
    of moments (all at once), the counted and skipped days between two days, the terms of a
    limit, and whether the span touches the provisional end of the calendar (all at once).
    """
    from .moments import WEEKDAYS_ZH, format_moment

    calendar = _calendar(calendar)
    result, messages = verdict_with_messages(start, end, limit, unit, hours=hours, calendar=calendar, suspended=suspended)
    shape = result.deadline.shape
    starts = np.broadcast_to(np.asarray(_seconds(start)), shape).ravel()
    ends = np.broadcast_to(np.asarray(_seconds(end)), shape).ravel()
    limits = np.broadcast_to(np.asarray(limit, dtype=object), shape).ravel()
    units = np.broadcast_to(np.asarray(unit, dtype=object), shape).ravel()
    hours_all = np.broadcast_to(np.asarray(hours if hours is not None else "", dtype=object), shape).ravel()
    scalar_suspended = None
    if suspended is not None and not isinstance(suspended, Suspensions):
        scalar_suspended = np.broadcast_to(np.asarray(suspended, dtype=float), shape).ravel()
    lines = np.full(shape, "", dtype=object)
    flat_lines, flat_messages = lines.reshape(-1), messages.reshape(-1)
    dues = result.deadline.reshape(-1)
    todo = np.flatnonzero((flat_messages == "") & ~np.isnat(dues))
    if not len(todo):
        return collect(lines, messages)
    due_s = dues[todo].astype(np.int64)
    start_s = starts[todo]
    start_days = np.floor_divide(start_s, DAY_SECONDS)
    last_days = np.floor_divide(due_s - 1, DAY_SECONDS)  # the day of the last counted second
    begin_texts = _moment_texts(start_s)
    due_texts = _moment_texts(due_s, midnight_as_24=True)
    weekdays = ((start_days + 3) % 7).tolist()  # 1970-01-01 was a Thursday
    finished = ends[todo] != NAT_INT
    finish_texts = _moment_texts(np.where(finished, ends[todo], 0))
    provisional = calendar.provisional(start_days.astype("datetime64[D]"),
                                       np.maximum(start_days, last_days).astype("datetime64[D]")).tolist()
    note = calendar.caveat(calendar.provisional_span[0], english=False)
    spans_of: dict[int, list[str]] = {}
    if isinstance(suspended, Suspensions):  # each ticket's suspensions, in their order
        for owner, a, b in zip(suspended.owner.tolist(), suspended.start.tolist(), suspended.end.tolist()):
            spans_of.setdefault(owner, []).append(f"{format_moment(np.datetime64(a, 's'))}至"
                                                  f"{format_moment(np.datetime64(b, 's'))}")
        for owner, h in zip(suspended.hour_owner.tolist(), suspended.hours.tolist()):
            if h > 0:
                spans_of.setdefault(owner, []).append(f"{_hours_text(h * 3600)}")
    any_suspended = scalar_suspended is not None or isinstance(suspended, Suspensions)
    words = _Wording(calendar)
    business_of: dict = {}
    code_of: dict = {}
    middle_of: dict = {}  # what follows from the limit, its unit, business hours and the two days
    ontime, overdue = result.ontime.reshape(-1).tolist(), result.overdue_hours.reshape(-1).tolist()
    scalar_list = scalar_suspended.tolist() if scalar_suspended is not None else None
    start_list, due_list = start_s.tolist(), due_s.tolist()
    start_day_list, last_day_list, finished_list = start_days.tolist(), last_days.tolist(), finished.tolist()
    hours_list, units_list, limits_list = hours_all.tolist(), units.tolist(), limits.tolist()
    note_text = f"{note}。" if note else ""
    for k, i in enumerate(todo.tolist()):
        key = (hours_list[i], units_list[i], limits_list[i], start_day_list[k], last_day_list[k])
        try:
            found = middle_of.get(key)
        except TypeError:  # an unhashable argument: worked out for this ticket alone
            key, found = None, None
        if found is None:  # in the order the checks raise: business hours, unit, limit
            hours_key = hours_list[i] or None
            business = business_of[hours_key] if hours_key in business_of else _hours(hours_key)
            business_of[hours_key] = business
            unit_key = units_list[i]
            code = code_of[unit_key] if unit_key in code_of else unit_code(unit_key)
            code_of[unit_key] = code
            number = float(limits_list[i])
            # Natural time (hours without business hours, or 当天 to 24:00) needs no calendar.
            natural = business is None and (code in (HOUR, MINUTE) or bool(same_day(number, code)))
            if code in (HOUR, MINUTE) and business is not None:  # the windows counted are the ticket's own
                found = (None, business, code, number, natural)
            else:
                terms = _terms(words, code, number, business, start_day_list[k], last_day_list[k], any_suspended)
                found = ("；".join(terms), business, code, number, natural)
            if key is not None:
                middle_of[key] = found
        middle, business, code, number, natural = found
        if middle is None:
            lo, hi = start_list[k], due_list[k]

            def window_text(day, lo=lo, hi=hi, business=business):
                base = int(day.astype(np.int64)) * DAY_SECONDS
                pieces = []
                for w_start, w_end in business.windows:
                    a, b = max(base + w_start, lo), min(base + w_end, hi)
                    if b > a:
                        pieces.append(f"{format_moment(np.datetime64(a, 's'))[11:]}-"
                                      f"{format_moment(np.datetime64(b, 's'), midnight_as_24=True)[11:]}")
                return f"{words.label(day)} {','.join(pieces)}" if pieces else ""

            taken, skipped = words.walk(np.datetime64(start_day_list[k], "D"), np.datetime64(last_day_list[k], "D"),
                                        window_text)
            middle = (f"时限 {number:g}{UNIT_ZH[code]}，按工作时段 {business.text} 计"
                      + ("；跳过 " + "、".join(skipped) if skipped else "") + "；计入 " + "；".join(taken))
        if scalar_list is not None and scalar_list[i] > 0:
            middle += f"；挂起 {_hours_text(scalar_list[i] * 3600)}不计时"
        elif i in spans_of:
            middle += "；挂起 " + "、".join(spans_of[i]) + " 不计时"
        if not finished_list[k]:
            end_text = "尚未完成"
        else:
            end_text = f"完成 {finish_texts[k]}，{'按时' if ontime[i] else f'超时 {_hours_text(overdue[i] * 3600)}'}"
        flat_lines[i] = (f"受理 {begin_texts[k]}(周{WEEKDAYS_ZH[weekdays[k]]})；{middle}；截止 {due_texts[k]}；{end_text}。"
                         + (note_text if provisional[k] and not natural else ""))
    return collect(lines, messages)


def _terms(words: _Wording, code: int, number: float, business, start_day, last_day, any_suspended: bool) -> list[str]:
    """The parts of an explanation that follow from the limit and the days alone (not business hours)."""
    amount = f"{number:g}{UNIT_ZH[code]}"
    start_day = np.datetime64(int(start_day), "D")
    last = np.datetime64(int(last_day), "D")
    if code in (HOUR, MINUTE):
        return [f"时限 {amount}，按自然时间连续计算(节假日照常计时)"]
    if code == WORKDAY:
        taken, skipped = words.days(start_day + np.timedelta64(1, "D"), last)
        return ([f"时限 {amount}(起算日不计)"] + (["跳过 " + "、".join(skipped)] if skipped else [])
                + ["计入 " + "、".join(taken)])
    if same_day(number, code):
        return [f"时限 当天(至当日{'下班' if business else '24:00'}，不顺延)"]
    days = int(number)
    if code == MONTH:
        nominal = _add_months(np.array([start_day]), np.array([days]))[0]
        parts = [f"时限 {days}个月(到期月的对应日止)，为 {words.label(nominal)}"]
    else:
        counted_from = "含当天" if code == DAY_COUNTED else "起算日不计"
        nominal = start_day + np.timedelta64(days - 1 if code == DAY_COUNTED else days, "D")
        parts = [f"时限 {number:g}天(自然日，{counted_from})，第{days}日为 {words.label(nominal)}"]
    if last > nominal and not any_suspended:
        _, skipped = words.days(nominal, last - np.timedelta64(1, "D"))
        parts.append(f"非工作日 {'、'.join(skipped)}，顺延至 {words.label(last)}")
    return parts
