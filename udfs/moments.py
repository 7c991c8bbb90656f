"""Moments in time as assessors write them, and back.

A moment is a naive local date-time kept to the second. Arrays of moments are numpy
``datetime64[s]``; an empty input is ``NaT``. Accepted inputs: Excel serial numbers (1900
date system, fractional days), ``datetime``/``date``/``numpy.datetime64``/``pandas.Timestamp``,
and text in the forms typed in Chinese offices: ``2026-10-03 14:05``, ``2026/10/3 14:05``,
``2026.10.3``, ``2026年10月3日 14:05``, ``2026年10月3日 14时05分30秒``, ISO ``2026-10-03T14:05:00``.
``24:00`` is accepted and means 00:00 of the next day.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .errors import ElementErrors, collect

NAT = np.datetime64("NaT", "s")
EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "s")
SECONDS_PER_DAY = 86_400
_MIN_SERIAL, _MAX_SERIAL = 1.0, 2_958_465.999999  # 1900-01-01 .. 9999-12-31

_TEXT = re.compile(
    r"^\s*(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:(?:\s*T\s*|\s+|(?<=日))(?P<H>\d{1,2})\s*(?:[:：时点]\s*(?P<M>\d{1,2})\s*分?"
    r"(?:\s*[:：]?\s*(?P<S>\d{1,2})\s*秒?)?|时|点))?\s*$"
)


def _parse_text(text: str) -> int | str:
    """Seconds since 1970 for one text moment, or a Chinese message."""
    match = _TEXT.match(text)
    if not match:
        return f"日期无法识别: {text.strip()}"
    y, m, d = int(match["y"]), int(match["m"]), int(match["d"])
    hh = int(match["H"] or 0)
    mm = int(match["M"] or 0)
    ss = int(match["S"] or 0)
    try:
        day = dt.date(y, m, d)
    except ValueError:
        return f"日期无法识别: {text.strip()}"
    if mm > 59 or ss > 59 or hh > 24 or (hh == 24 and (mm or ss)):
        return f"时间无法识别: {text.strip()}"
    days = (day - dt.date(1970, 1, 1)).days
    return days * SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss


def _one(value) -> int | str | None:
    """Seconds since 1970 for one input, a message, or None for empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if not value.strip() else _parse_text(value)
    if isinstance(value, (bool, np.bool_)):
        return f"不是日期: {value}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if value != value:  # NaN: an empty numeric cell
            return None
        if not _MIN_SERIAL <= value <= _MAX_SERIAL:
            return f"日期序号超出范围: {value}"
        return int(round(float(value) * SECONDS_PER_DAY)) + int(EXCEL_EPOCH.astype(np.int64))
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else int(stamp.value // 1_000_000_000)
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        return int((naive - dt.datetime(1970, 1, 1)).total_seconds() // 1)
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days * SECONDS_PER_DAY
    return f"不是日期: {value}"


def parse_moments(values) -> np.ndarray:
    """Parse any array-like of moments to ``datetime64[s]`` of the same shape.

    Empty inputs (None, "", NaN, NaT) become NaT. Unreadable ones raise
    :class:`~udfs.errors.ElementErrors` whose ``messages`` name each bad value.
    """
    array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if array.dtype.kind == "M":
        return array.astype("datetime64[s]")
    if array.dtype.kind in "if":
        return parse_serials(array)
    flat = array.astype(object).reshape(-1)
    out = np.full(flat.shape, np.iinfo(np.int64).min, dtype=np.int64)
    messages = np.full(flat.shape, "", dtype=object)
    pending = _bulk(flat, out, messages)
    cache: dict = {}
    for index in np.flatnonzero(pending):
        value = flat[index]
        key = value if isinstance(value, (str, float, int)) else None
        result = cache.get(key) if key is not None else None
        if result is None:
            result = _one(value)
            if key is not None and result is not None:
                cache[key] = result
        if isinstance(result, str):
            messages[index] = result
        elif result is not None:
            out[index] = result
    return collect(out.view("datetime64[s]").reshape(array.shape), messages.reshape(array.shape))


_STANDARD = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?"


def _bulk(flat: np.ndarray, out: np.ndarray, messages: np.ndarray) -> np.ndarray:
    """Vectorized paths for a column: Excel serial numbers, and text in the standard
    ``YYYY-MM-DD HH:MM[:SS]`` form. Fills ``out``/``messages``; returns the elements left
    for the one-by-one parser (anything else, and text the standard path cannot read)."""
    numbers = np.array([isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                        for v in flat], dtype=bool)
    if numbers.any():
        try:
            parsed, problems = parse_serials(flat[numbers].astype(float)), None
        except ElementErrors as err:
            parsed, problems = err.values, err.messages
        out[numbers] = parsed.astype(np.int64)
        if problems is not None:
            messages[numbers] = problems
    pending = ~numbers
    strings = np.flatnonzero(np.array([isinstance(v, str) for v in flat], dtype=bool))
    if len(strings):
        texts = pd.Series(flat[strings], dtype=object)
        standard = texts.str.fullmatch(_STANDARD).to_numpy(bool)
        fast = pd.to_datetime(texts.where(standard), format="ISO8601", errors="coerce").to_numpy("datetime64[s]")
        done = ~np.isnat(fast)
        out[strings[done]] = fast[done].astype(np.int64)
        pending[strings[done]] = False
    return pending


def parse_serials(serials: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (float array, NaN = empty) to ``datetime64[s]``."""
    serials = np.asarray(serials, dtype=float)
    bad = ~np.isnan(serials) & ((serials < _MIN_SERIAL) | (serials > _MAX_SERIAL))
    seconds = np.where(np.isnan(serials) | bad, 0, np.round(serials * SECONDS_PER_DAY)).astype(np.int64)
    out = (EXCEL_EPOCH + seconds.astype("timedelta64[s]")).astype("datetime64[s]")
    out[np.isnan(serials) | bad] = NAT
    messages = np.where(bad, np.char.add("日期序号超出范围: ", serials.astype(str)).astype(object), "")
    return collect(out, messages.astype(object))


def to_serials(moments: np.ndarray) -> np.ndarray:
    """``datetime64`` moments to Excel serial day numbers (float, NaN for NaT)."""
    moments = np.asarray(moments, dtype="datetime64[s]")
    serials = (moments - EXCEL_EPOCH).astype(np.int64) / SECONDS_PER_DAY
    return np.where(np.isnat(moments), np.nan, serials)


WEEKDAYS_ZH = "一二三四五六日"


def format_moment(moment: np.datetime64, *, midnight_as_24: bool = False, seconds: bool = False) -> str:
    """``2025-10-11 24:00`` style text; with ``midnight_as_24`` 00:00 is written as 24:00 of the day before."""
    stamp = pd.Timestamp(moment)
    if midnight_as_24 and stamp.hour == stamp.minute == stamp.second == 0:
        return (stamp - pd.Timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if seconds or stamp.second else "%Y-%m-%d %H:%M")


def format_moments(moments: np.ndarray, *, midnight_as_24: bool = False) -> np.ndarray:
    """:func:`format_moment` over a whole array at once (NaT → "")."""
    stamps = pd.Series(np.asarray(moments, dtype="datetime64[s]"))
    out = stamps.dt.strftime("%Y-%m-%d %H:%M")
    with_seconds = stamps.dt.second != 0
    out[with_seconds] = stamps[with_seconds].dt.strftime("%Y-%m-%d %H:%M:%S")
    if midnight_as_24:
        midnight = (stamps.dt.hour == 0) & (stamps.dt.minute == 0) & (stamps.dt.second == 0)
        out[midnight] = (stamps[midnight] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d") + " 24:00"
    return out.fillna("").to_numpy(object)


def format_day(day: dt.date, *, weekday: bool = True) -> str:
    """``10-09(周四)``."""
    text = f"{day.month:02d}-{day.day:02d}"
    return f"{text}(周{WEEKDAYS_ZH[day.weekday()]})" if weekday else text
