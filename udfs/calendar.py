"""The working-time calendar: Chinese statutory holidays, make-up workdays, a user layer,
and business hours within a working day.

The statutory schedule comes from the ``chinesecalendar`` package (State Council notices,
2004 onwards), with the few days it has wrong corrected (:data:`CORRECTIONS`, each citing
its notice). A user layer adds or overrides days: the official schedule of a year the
package does not cover yet (节假日 / 调休上班), or a company's own rest days and workdays
(休息日 / 工作日). A day in a year with no official schedule, from either source, is an
error, never a guess.

Late December of the last covered year is provisional: the next year's notice has changed
it several times (:data:`LATE_DECEMBER_CHANGED`). :meth:`WorkCalendar.caveat` and
:meth:`WorkCalendar.provisional` say where an answer depends on those days.

Days are numpy ``datetime64[D]``; every function takes and returns arrays (scalars work too).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import itertools
import re
from pathlib import Path

import chinese_calendar
import numpy as np
from chinese_calendar import constants as _cc

from .errors import KaoheError, collect

# Day kinds, one int8 per day.
WEEKDAY, WEEKEND, HOLIDAY, MAKEUP, COMPANY_REST, COMPANY_WORK = range(6)
WORKING_KINDS = (WEEKDAY, MAKEUP, COMPANY_WORK)

# The user layer's 类型 column: what each spelling means and whether it states a year's
# official schedule (so that the year counts as covered).
USER_KINDS = {
    "节假日": (HOLIDAY, True), "法定节假日": (HOLIDAY, True), "假日": (HOLIDAY, True), "放假": (HOLIDAY, True),
    "调休上班": (MAKEUP, True), "补班": (MAKEUP, True), "调休": (MAKEUP, True),
    "休息日": (COMPANY_REST, False), "单位休息日": (COMPANY_REST, False),
    "工作日": (COMPANY_WORK, False), "单位工作日": (COMPANY_WORK, False), "上班": (COMPANY_WORK, False),
}
_HOLIDAY_ZH = {holiday.value: holiday.chinese for holiday in _cc.Holiday}

ORIGIN = np.datetime64("2004-01-01", "D")  # first day of the package's data
_PAD_YEARS = 3  # the arrays run this many years past the last covered one


@dataclasses.dataclass(frozen=True)
class Correction:
    """A day the ``chinesecalendar`` data has wrong, set as the cited State Council notice says.

    ``kind`` is 调休上班 or 节假日; ``citation`` names the notice (its 发文字号).
    """

    day: dt.date
    kind: str
    name: str
    citation: str


# Corrections to chinesecalendar, applied when a calendar is built (before the user layer).
#
# chinesecalendar 1.11.0 and python-holidays 0.109 (an independent source, built from the
# same notices) were compared day by day over every year both cover, 2004-01-01..2026-12-31
# (8401 days): they disagree on whether a day is worked on exactly one day, Sat 2005-12-31.
# chinesecalendar has it as an ordinary Saturday; python-holidays as a make-up workday. The
# notice says python-holidays is right: 国办发明电〔2005〕35号 (国务院办公厅关于2006年部分节假日
# 安排的通知, 2005-12-16), 一、元旦: "1月1日—3日放假……12月31日(星期六)上班". So it is corrected.
# (The two sources also differ in which weekend days inside a break they *name* as holidays,
# 140 Saturdays/Sundays; none of those is a working day in either, so nothing changes.)
CORRECTIONS: tuple[Correction, ...] = (
    Correction(dt.date(2005, 12, 31), "调休上班", "元旦", "国办发明电〔2005〕35号"),
)

# Late December of a year changed by the following year's notice, published in December:
# 2006-12-30/31 workdays (国办发明电〔2006〕49号), 2007-12-29 workday and 12-31 off (the 2008
# notice), 2011-12-31 workday (国办发明电〔2011〕45号), 2018-12-29 workday and 12-31 off
# (国办发明电〔2018〕15号). Until the next year's schedule is loaded, days from
# PROVISIONAL_FROM_DAY to 12-31 of the last covered year are provisional.
LATE_DECEMBER_CHANGED = (2006, 2007, 2011, 2018)
PROVISIONAL_FROM_DAY = 21


@dataclasses.dataclass(frozen=True)
class DayEntry:
    """One day of the user layer: ``kind`` is a key of :data:`USER_KINDS`."""

    day: dt.date
    kind: str
    name: str = ""


class WorkCalendar:
    """Working days of the Chinese statutory calendar with a user layer on top.

    Build one with :func:`china_calendar`. Immutable; safe to share.
    """

    def __init__(self, entries: tuple[DayEntry, ...] = (), corrections: tuple[Correction, ...] = CORRECTIONS):
        statutory_years = {d.year for d in _cc.holidays} | {d.year for d in _cc.workdays}
        user_years = {e.day.year for e in entries if USER_KINDS[e.kind][1]}
        years = statutory_years | user_years
        first = ORIGIN.astype(object).year
        last = first
        while last + 1 in years:
            last += 1
        span_end = np.datetime64(f"{max(years | {last}) + _PAD_YEARS}-12-31", "D")
        days = np.arange(ORIGIN, span_end + 1)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
        kinds = np.where(weekday >= 5, WEEKEND, WEEKDAY).astype(np.int8)
        names: dict[int, str] = {}

        def put(day: dt.date, kind: int, name: str) -> None:
            index = (np.datetime64(day, "D") - ORIGIN).astype(int)
            if 0 <= index < len(kinds):
                kinds[index] = kind
                if name:
                    names[int(index)] = name

        for day, name in _cc.holidays.items():
            put(day, HOLIDAY, _HOLIDAY_ZH.get(name, name))
        for day, name in _cc.workdays.items():
            put(day, MAKEUP, _HOLIDAY_ZH.get(name, name))
        applied = []  # the corrections that changed a day (none, once the package has them)
        for correction in corrections:
            index = int((np.datetime64(correction.day, "D") - ORIGIN).astype(int))
            kind = USER_KINDS[correction.kind][0]
            if 0 <= index < len(kinds) and kinds[index] != kind:
                applied.append(correction)
            put(correction.day, kind, correction.name)
        for entry in entries:
            put(entry.day, USER_KINDS[entry.kind][0], entry.name)

        self.entries = entries
        self.corrections = tuple(applied)
        self.kinds = kinds
        self.names = names
        self.covered_years = (first, last)
        self.covered_span = (0, int((np.datetime64(f"{last}-12-31", "D") - ORIGIN).astype(int)))
        working = np.isin(kinds, WORKING_KINDS)
        self.working = working
        # cumulative[i] = working days among day indices < i (so a range count is a difference).
        self.cumulative = np.concatenate([[0], np.cumsum(working, dtype=np.int64)])
        self.workday_indices = np.flatnonzero(working)
        digest = hashlib.sha256(repr(sorted((e.day, e.kind, e.name) for e in entries)).encode()).hexdigest()[:8]
        fixes = "、".join(f"{c.day.isoformat()} {c.kind}({c.citation})" for c in applied)
        self.version = (f"chinesecalendar {chinese_calendar.__version__}" + (f" + 勘误 {fixes}" if applied else "")
                        + (f" + 用户日历 {digest}" if entries else ""))

    # -- locating days -------------------------------------------------------------
    def index(self, days) -> tuple[np.ndarray, np.ndarray]:
        """Day indices of ``days`` (datetime64, any unit) and per-element messages ("" if covered).

        NaT gets index 0 and no message; callers mask NaT themselves.
        """
        days = np.asarray(days).astype("datetime64[D]")
        raw = (days - ORIGIN).astype(np.int64)
        nat = np.isnat(days)
        lo, hi = self.covered_span
        bad = ~nat & ((raw < lo) | (raw > hi))
        messages = np.full(days.shape, "", dtype=object)
        flat_days, flat_messages = days.reshape(-1), messages.reshape(-1)
        for position in np.flatnonzero(bad):
            flat_messages[position] = self.uncovered_message(flat_days[position])
        return np.where(nat | bad, 0, raw), messages

    def uncovered_message(self, day) -> str:
        year = np.datetime64(day, "D").astype(object).year
        first, last = self.covered_years
        if year < first:
            return f"{year}年早于日历数据起点({first}年): {np.datetime64(day, 'D')}"
        return (f"{year}年节假日安排未加载(已有{first}–{last}年，请在节假日表补充): "
                f"{np.datetime64(day, 'D')}")

    def day_at(self, indices) -> np.ndarray:
        return ORIGIN + np.asarray(indices, dtype=np.int64).astype("timedelta64[D]")

    # -- the provisional end of the schedule ---------------------------------------------
    @property
    def provisional_span(self) -> tuple[np.datetime64, np.datetime64]:
        """First and last day (12-21, 12-31) of the last covered year that the next year's
        notice may still change. The next year is never loaded here: loading it (the user
        layer's 节假日 / 调休上班 rows) makes it the last covered year, and moves the span on."""
        year = self.covered_years[1]
        return (np.datetime64(f"{year}-12-{PROVISIONAL_FROM_DAY:02d}", "D"), np.datetime64(f"{year}-12-31", "D"))

    def provisional(self, first, last=None) -> np.ndarray:
        """True where a day, or the closed span ``first``..``last``, touches :attr:`provisional_span`.

        ``first`` and ``last`` are datetime64 arrays (any unit; broadcast together); the order
        of the two ends does not matter; NaT gives False.
        """
        first = np.asarray(first).astype("datetime64[D]")
        last = first if last is None else np.asarray(last).astype("datetime64[D]")
        lo, hi = self.provisional_span
        known = ~np.isnat(first) & ~np.isnat(last)
        return known & (np.minimum(first, last) <= hi) & (np.maximum(first, last) >= lo)

    def caveat(self, first, last=None, *, english: bool = True) -> str:
        """The warning an answer needs when the span ``first``..``last`` (closed; any element,
        for arrays) touches :attr:`provisional_span`, else "". Chinese first; ``english=False``
        gives the Chinese only."""
        if not self.provisional(first, last).any():
            return ""
        year = self.covered_years[1]
        lo = PROVISIONAL_FROM_DAY
        zh = (f"注意: {year + 1}年节假日安排尚未加载，{year}年12月{lo}日至31日的工作日可能被次年通知调整"
              f"(如{'、'.join(map(str, LATE_DECEMBER_CHANGED))}年曾发生)，请在节假日表补充{year + 1}年安排后重算")
        if not english:
            return zh
        en = (f"Note: the {year + 1} holiday schedule is not loaded; working days of {year}-12-{lo}..31 may still be "
              f"changed by its notice (as in {', '.join(map(str, LATE_DECEMBER_CHANGED))}); add the {year + 1} "
              f"schedule to the holiday table and recompute")
        return f"{zh} / {en}"

    # -- the questions -------------------------------------------------------------
    def is_workday(self, days) -> np.ndarray:
        """True on working days: weekdays and make-up workdays, not statutory holidays."""
        index, messages = self.index(days)
        return collect(self.working[index], messages)

    def workdays_between(self, start, end) -> np.ndarray:
        """Working days from ``start`` to ``end``, both included, like Excel's NETWORKDAYS.

        Negative when ``end`` precedes ``start`` (NETWORKDAYS does the same).
        """
        a, messages_a = self.index(start)
        b, messages_b = self.index(end)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        count = self.cumulative[hi + 1] - self.cumulative[lo]
        count = np.where(b < a, -count, count)
        return collect(count, np.where(messages_a != "", messages_a, messages_b))

    def add_workdays(self, days, n) -> np.ndarray:
        """The day ``n`` working days after ``days`` (before, when ``n`` is negative).

        Like Excel's WORKDAY: ``n = 0`` returns the day itself; the start day is not counted.
        """
        start, messages = self.index(days)
        n = np.asarray(n, dtype=np.int64)
        start, n = np.broadcast_arrays(start, n)
        messages = np.broadcast_to(messages, start.shape).copy()
        # Ordinal (in workday_indices) of the n-th working day after / before the start day.
        after = self.cumulative[start + 1] + n - 1
        before = self.cumulative[start] + n
        ordinal = np.where(n > 0, after, before)
        valid = (ordinal >= 0) & (ordinal < len(self.workday_indices))
        target = np.where(n == 0, start, self.workday_indices[np.clip(ordinal, 0, len(self.workday_indices) - 1)])
        lo, hi = self.covered_span
        beyond = (n != 0) & (~valid | (target > hi) | (target < lo))
        flat_messages, flat_n = messages.reshape(-1), n.reshape(-1)
        for position in np.flatnonzero(beyond & (messages == "")):
            edge = hi + 1 if flat_n[position] > 0 else lo - 1
            flat_messages[position] = self.uncovered_message(self.day_at(edge))
        return collect(self.day_at(np.where(beyond, start, target)), messages)


@functools.lru_cache(maxsize=32)
def china_calendar(entries: tuple[DayEntry, ...] = ()) -> WorkCalendar:
    """The statutory calendar, corrected (:data:`CORRECTIONS`), with the given user-layer
    entries (cached per entry set)."""
    return WorkCalendar(entries)


def parse_entries(rows, *, source: str = "节假日表") -> tuple[DayEntry, ...]:
    """User-layer rows ``(日期, 类型, 名称)`` to entries; a bad row raises naming source and row.

    ``rows`` is any iterable of sequences (a CSV reader, a worksheet's values); a header row
    starting with 日期 and blank rows are skipped. Row numbers in messages count from 1.
    """
    from .moments import parse_moments  # local: moments imports nothing of ours but errors

    entries = []
    for number, row in enumerate(rows, start=1):
        cells = [c for c in row] + [None, None, None]
        day, kind, name = cells[0], cells[1], cells[2]
        if (day is None or str(day).strip() == "") and (kind is None or str(kind).strip() == ""):
            continue
        if isinstance(day, str) and day.strip() in ("日期", "date"):
            continue
        kind = str(kind or "").strip()
        if kind not in USER_KINDS:
            raise KaoheError(
                f"{source} 第{number}行 类型列: 无法识别“{kind}”(可用: {'/'.join(USER_KINDS)})",
                f"{source} row {number}, column 类型: unknown kind {kind!r}",
            )
        try:
            moment = parse_moments(np.array([day], dtype=object))[0]
        except KaoheError as err:
            raise KaoheError(f"{source} 第{number}行 日期列: {err.zh}", f"{source} row {number}, column 日期: {day!r}") from None
        if np.isnat(moment):
            raise KaoheError(f"{source} 第{number}行 日期列: 为空", f"{source} row {number}, column 日期 is empty")
        entries.append(DayEntry(moment.astype("datetime64[D]").astype(dt.date), kind, str(name or "").strip()))
    return tuple(entries)


def load_entries(path: str | Path) -> tuple[DayEntry, ...]:
    """Read a user-layer CSV (columns 日期,类型,名称; UTF-8, UTF-8 with BOM or GB18030)."""
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise KaoheError(f"{path}: 无法识别文件编码", f"{path}: cannot decode as UTF-8 or GB18030")
    return parse_entries(csv.reader(io.StringIO(text)), source=str(path))


# -- business hours -------------------------------------------------------------------
_WINDOW = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*[-–~～至]\s*(\d{1,2})[:：](\d{2})\s*$")
NATURAL_NAMES = ("", "自然", "自然时间", "natural", "24x7", "7x24")
WHOLE_WORKDAY_NAMES = ("工作日", "workday", "workdays")


@dataclasses.dataclass(frozen=True)
class BusinessHours:
    """Daily business windows on working days, in seconds after midnight, sorted, disjoint."""

    windows: tuple[tuple[int, int], ...]

    @property
    def seconds_per_day(self) -> int:
        return sum(end - start for start, end in self.windows)

    @property
    def text(self) -> str:
        return ",".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}-{e // 3600:02d}:{e % 3600 // 60:02d}" for s, e in self.windows)


WHOLE_WORKDAY = BusinessHours(((0, 86_400),))


def parse_hours(text: str | None) -> BusinessHours | None:
    """``"08:00-12:00,14:30-18:00"`` → :class:`BusinessHours`; natural time → None.

    ``"工作日"`` means whole working days (00:00-24:00 on working days only).
    """
    text = "" if text is None else str(text).strip()
    if text.lower() in NATURAL_NAMES:
        return None
    if text.lower() in WHOLE_WORKDAY_NAMES:
        return WHOLE_WORKDAY
    windows = []
    for part in re.split(r"[,，;；、]", text):
        match = _WINDOW.match(part)
        if not match:
            raise KaoheError(f"工作时段无法识别: {text}", f"cannot read business hours {text!r} (e.g. 08:00-12:00,14:30-18:00)")
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if m1 > 59 or m2 > 59 or not 0 <= start < end <= 86_400:
            raise KaoheError(f"工作时段无效: {part.strip()}", f"invalid business window {part.strip()!r}")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in itertools.pairwise(windows):
        if start < end:
            raise KaoheError(f"工作时段重叠: {text}", f"business windows overlap: {text!r}")
    return BusinessHours(tuple(windows))
