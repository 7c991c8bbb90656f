"""The working-time calendar: Chinese statutory holidays, make-up workdays, a user layer,
and business hours within a working day.

The statutory schedule comes from the ``chinesecalendar`` package (State Council notices,
2004 onwards). A user layer adds or overrides days: the official schedule of a year the
package does not cover yet (节假日 / 调休上班), or a company's own rest days and workdays
(休息日 / 工作日). A day in a year with no official schedule, from either source, is an
error, never a guess.

Days are numpy ``datetime64[D]``; every function takes and returns arrays (scalars work too).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import io
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
class DayEntry:
    """One day of the user layer: ``kind`` is a key of :data:`USER_KINDS`."""

    day: dt.date
    kind: str
    name: str = ""


class WorkCalendar:
    """Working days of the Chinese statutory calendar with a user layer on top.

    Build one with :func:`china_calendar`. Immutable; safe to share.
    """

    def __init__(self, entries: tuple[DayEntry, ...] = ()):
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
        for entry in entries:
            put(entry.day, USER_KINDS[entry.kind][0], entry.name)

        self.entries = entries
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
        self.version = f"chinesecalendar {chinese_calendar.__version__}" + (f" + 用户日历 {digest}" if entries else "")

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
    """The statutory calendar with the given user-layer entries (cached per entry set)."""
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
    for (_, end), (start, _) in zip(windows, windows[1:]):
        if start < end:
            raise KaoheError(f"工作时段重叠: {text}", f"business windows overlap: {text!r}")
    return BusinessHours(tuple(windows))
