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
import functools
import math
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
        if isinstance(value, (float, np.floating)) and math.isnan(value):  # NaN: an empty numeric cell
            return None
        if not _MIN_SERIAL <= value <= _MAX_SERIAL:
            return f"日期序号超出范围: {value}"
        return round(float(value) * SECONDS_PER_DAY) + int(EXCEL_EPOCH.astype(np.int64))
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else int(stamp.value // 1_000_000_000)
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        return (naive - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)  # exact: floor to the second
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


# Exact forms tried first, each by one whole-column parse: every text they read, :data:`_TEXT`
# reads to the same moment (the usual export form, Excel's Chinese display, typed 年月日).
_YEAR_ONE = np.datetime64("0001-01-01T00:00:00", "s")
# No form with seconds: pandas reads second 60 (a leap second) as the next minute, the rule does not.
_FORMS = (("%Y-%m-%d %H:%M", "-"), ("%Y/%m/%d %H:%M", "/"), ("%Y年%m月%d日 %H:%M", "年"))

# What a cell value is, decided by its exact type (anything else goes to the one-by-one parser).
_NONE, _NUMBER, _TEXT_KIND, _DATETIME, _DATE, _OTHER = range(6)


class _KindOf(dict):
    def __missing__(self, key):
        return _OTHER


_KINDS = _KindOf({type(None): _NONE, float: _NUMBER, int: _NUMBER, np.float64: _NUMBER, np.int64: _NUMBER,
                  str: _TEXT_KIND, dt.datetime: _DATETIME, dt.date: _DATE})


def _bulk(flat: np.ndarray, out: np.ndarray, messages: np.ndarray) -> np.ndarray:
    """Whole-column paths: Excel serial numbers, datetimes and dates (one conversion each), and
    text in every form :func:`_parse_text` reads. Fills ``out``/``messages``; returns the
    elements left for the one-by-one parser (other types, time-zone-aware datetimes)."""
    values = flat.tolist()
    kinds_present = set(map(type, values))
    if kinds_present == {str}:  # a column of text, the usual typed export: no grouping by type
        _texts(flat, np.arange(flat.size), out, messages)
        return np.zeros(flat.size, dtype=bool)
    if kinds_present == {float}:  # a column of Excel serial numbers
        try:
            parsed, problems = parse_serials(flat.astype(float)), None
        except ElementErrors as err:
            parsed, problems = err.values, err.messages
        out[:] = parsed.astype(np.int64)
        if problems is not None:
            messages[:] = problems
        return np.zeros(flat.size, dtype=bool)
    if kinds_present == {dt.datetime}:  # a column of Excel dates: one conversion, as for any group of them
        try:
            stamps = pd.to_datetime(flat)
        except (ValueError, TypeError, OverflowError):
            stamps = None
        if stamps is not None and stamps.tz is None:
            out[:] = stamps.to_numpy("datetime64[s]").astype(np.int64)
            return np.zeros(flat.size, dtype=bool)
    kinds = np.fromiter(map(_KINDS.__getitem__, map(type, values)), dtype=np.int8, count=flat.size)
    pending = kinds == _OTHER
    numbers = kinds == _NUMBER
    if numbers.any():
        try:
            parsed, problems = parse_serials(flat[numbers].astype(float)), None
        except ElementErrors as err:
            parsed, problems = err.values, err.messages
        out[numbers] = parsed.astype(np.int64)
        if problems is not None:
            messages[numbers] = problems
    for kind in (_DATETIME, _DATE):
        chosen = kinds == kind
        if chosen.any():
            try:
                stamps = pd.to_datetime(flat[chosen])
            except (ValueError, TypeError, OverflowError):  # mixed time zones and the like: one by one
                stamps = None
            if stamps is None or stamps.tz is not None:
                pending |= chosen
            else:
                out[chosen] = stamps.to_numpy("datetime64[s]").astype(np.int64)
    strings = np.flatnonzero(kinds == _TEXT_KIND)
    if len(strings):
        _texts(flat[strings], strings, out, messages)
    return pending


def _texts(texts: np.ndarray, where: np.ndarray, out: np.ndarray, messages: np.ndarray) -> None:
    """Text moments at positions ``where``: the usual forms (:data:`_FORMS`) by whole-column parses,
    the others (``2026.10.3``, ``2026年10月3日 14时05分``, ``24:00`` …) by one regular-expression
    pass and whole-array checks, with :func:`_parse_text`'s messages. Texts in a fixed layout
    (:data:`_LAYOUTS`) are read first, by arithmetic on their characters."""
    for reader in (_export_form, _fixed_layouts):
        read = reader(texts, where, out)
        if read.all():
            return
        if read.any():
            texts, where = texts[~read], where[~read]
    series = pd.Series(texts, dtype=object)
    pending = np.ones(len(series), dtype=bool)
    for form, mark in _FORMS:
        rest = np.flatnonzero(pending)
        if mark and len(rest):  # a form with a mark is tried only on the texts that have it
            rest = rest[series.iloc[rest].str.contains(mark, regex=False).to_numpy(bool)]
        if not len(rest):
            continue
        found = pd.to_datetime(series.iloc[rest], format=form, errors="coerce").to_numpy("datetime64[s]")
        read = ~np.isnat(found) & (found >= _YEAR_ONE)  # pandas reads year 0000, a date that never was
        out[where[rest[read]]] = found[read].astype(np.int64)
        pending[rest[read]] = False
    rest = np.flatnonzero(pending)
    if len(rest):  # blank text is an empty cell
        rest = rest[series.iloc[rest].str.strip().astype(bool).to_numpy(bool)]
    if not len(rest):
        return
    parts = series.iloc[rest].str.extract(_TEXT)
    matched = parts["y"].notna().to_numpy(bool)
    numbers = {key: parts[key].fillna("0").astype(np.int64).to_numpy() for key in "ymdHMS"}  # ２０２５ too
    y, m, d = numbers["y"], numbers["m"], numbers["d"]
    hh, mm, ss = numbers["H"], numbers["M"], numbers["S"]
    month_ok = matched & (y >= 1) & (m >= 1) & (m <= 12)
    months = np.where(month_ok, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    length = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    date_ok = month_ok & (d >= 1) & (d <= length)
    time_ok = (mm <= 59) & (ss <= 59) & (hh <= 24) & ~((hh == 24) & ((mm > 0) | (ss > 0)))
    days = (months.astype("datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(np.int64) + d - 1
    good = date_ok & time_ok
    seconds = days * SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss
    out[where[rest[good]]] = seconds[good]
    shown = series.iloc[rest].str.strip().to_numpy(object)
    messages[where[rest[~date_ok]]] = [f"日期无法识别: {text}" for text in shown[~date_ok]]
    messages[where[rest[date_ok & ~time_ok]]] = [f"时间无法识别: {text}" for text in shown[date_ok & ~time_ok]]


# Fixed layouts ("0" a digit, anything else itself) read by arithmetic on the characters of the
# whole column: what Excel and EOMS export and people type most. Every text one of them reads,
# :data:`_TEXT` reads to the same moment (tests/test_moments.py checks each layout); the rest,
# and any text whose fields are out of range, go on to the parses of :func:`_texts`, which give
# the messages.
def _layout_variants() -> tuple[str, ...]:
    layouts = []
    for year, month, day in (("-", "-", ""), ("/", "/", ""), ("年", "月", "日")):
        for m, d in (("00", "00"), ("0", "0"), ("00", "0"), ("0", "00")):
            date = f"0000{year}{m}{month}{d}{day}"
            layouts += [f"{date} 00:00", f"{date} 00:00:00", f"{date} 0:00", f"{date} 0:00:00", date]
            if year == "年":  # 2025年10月1日 08时05分22秒, as Chinese exports and people write it
                layouts += [f"{date}{gap}{hour}时00分{second}" for gap in (" ", "") for hour in ("00", "0")
                            for second in ("00秒", "")]
    layouts += ["0000-00-00T00:00:00", "0000-00-00T00:00"]
    return tuple(sorted(layouts, key=lambda layout: not layout.startswith("0000-00-00")))


_LAYOUTS = _layout_variants()


def _layout_parts(layout: str) -> tuple[list[int], list[int], list[int], list[range], str]:
    """The positions and codes of a layout's other characters, its digits' positions, which of
    those digits make each field (year, month, day, hour, minute, second), and the layout."""
    runs: list[list[int]] = []
    for position, char in enumerate(layout):
        if char == "0":
            if runs and runs[-1][-1] == position - 1:
                runs[-1].append(position)
            else:
                runs.append([position])
    literal = [position for position, char in enumerate(layout) if char != "0"]
    digits = [position for run in runs for position in run]
    spans, column = [], 0
    for run in runs:
        spans.append(range(column, column + len(run)))
        column += len(run)
    return literal, [ord(layout[position]) for position in literal], digits, spans, layout


_LAYOUTS_BY_LENGTH: dict[int, list] = {}
for _layout in _LAYOUTS:
    _LAYOUTS_BY_LENGTH.setdefault(len(_layout), []).append(_layout_parts(_layout))
del _layout
_ZERO = ord("0")


# The export's own forms, which pandas reads fastest; used on the whole column when a sample of it
# is all in one of them (a guess that only decides the order of the passes, never a result).
_EXPORT_FORMS = {"0000-00-00 00:00": "%Y-%m-%d %H:%M"}
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_SAMPLE = 32


def _export_form(texts: np.ndarray, where: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Read a column of texts in one of :data:`_EXPORT_FORMS` by one pandas parse; which were read."""
    step = max(1, texts.size // _SAMPLE)
    shapes = {text.translate(_DIGITS_AS_ZERO) for text in texts[::step][:_SAMPLE].tolist()}
    form = _EXPORT_FORMS.get(shapes.pop()) if len(shapes) == 1 else None
    if form is None:
        return np.zeros(texts.size, dtype=bool)
    found = pd.to_datetime(pd.Series(texts, dtype=object), format=form, errors="coerce").to_numpy("datetime64[s]")
    read = ~np.isnat(found) & (found >= _YEAR_ONE)
    out[where[read]] = found[read].astype(np.int64)
    return read


@functools.cache
def _month_starts() -> np.ndarray:
    """Days since 1970 of the first of every month from 0001-01 to 10000-01: a date is one look-up."""
    return np.arange(np.datetime64("0001-01", "M"), np.datetime64("10000-01", "M") + 1).astype("datetime64[D]").astype(
        np.int64)


def _civil_seconds(y, m, d, hh, mm, ss) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since 1970 of integer fields, and where they make a real moment (what
    :func:`_parse_text` accepts: a real date, and a time up to 24:00)."""
    starts = _month_starts()
    month = np.clip((y - 1) * 12 + (m - 1), 0, len(starts) - 2)
    first = starts[month]
    good = ((y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= starts[month + 1] - first) & (mm <= 59)
            & (ss <= 59) & ((hh < 24) | ((hh == 24) & (mm == 0) & (ss == 0))))
    return (first + d - 1) * SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss, good


def _fixed_layouts(texts: np.ndarray, where: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Read the texts (object array) that are in one of :data:`_LAYOUTS` with valid fields into
    ``out[where]``; returns which were read."""
    n = texts.size
    read = np.zeros(n, dtype=bool)
    lengths = np.fromiter(map(len, texts.tolist()), dtype=np.intp, count=n)
    candidates = np.flatnonzero(np.isin(lengths, list(_LAYOUTS_BY_LENGTH)))
    if not len(candidates):
        return read
    codes = (texts if len(candidates) == n else texts[candidates]).astype(str)
    codes = codes.view(np.uint32).reshape(len(candidates), -1)
    lengths = lengths[candidates]
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        rows = np.flatnonzero(lengths == length)
        # the layout of the first text of this length is tried first (a column is mostly in one layout)
        first = texts[candidates[rows[0]]].translate(_DIGITS_AS_ZERO)
        layouts = sorted(_LAYOUTS_BY_LENGTH[length], key=lambda parts: parts[4] != first)
        for literal, literal_codes, digits, spans, _ in layouts:
            whole = len(rows) == len(codes)
            fits = np.ones(len(rows), dtype=bool)
            for position, code in zip(literal, literal_codes):  # one column at a time: most layouts fail at once
                fits &= (codes[:, position] if whole else codes[rows, position]) == code
                if not fits.any():
                    break
            if not fits.any():
                continue
            chosen = rows[fits]
            block = codes if len(chosen) == len(codes) else codes[chosen]
            digit = ((block[:, digits] - np.uint32(_ZERO)) <= 9).all(axis=1)  # below "0" wraps round
            fields = [np.zeros(len(chosen), dtype=np.int64)] * 6
            for field, span in enumerate(spans):
                number = block[:, digits[span[0]]].astype(np.int64) - _ZERO
                for column in span[1:]:
                    number = number * 10 + (block[:, digits[column]] - _ZERO)
                fields[field] = number
            seconds, good = _civil_seconds(*fields)
            good &= digit
            taken = candidates[chosen[good]]
            out[where[taken]] = seconds[good]
            read[taken] = True
            if len(taken) == len(rows):
                break
            left = np.ones(len(rows), dtype=bool)
            left[np.flatnonzero(fits)[good]] = False
            rows = rows[left]
            if not len(rows):
                break
    return read


def parse_serials(serials: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (float array, NaN = empty) to ``datetime64[s]``."""
    serials = np.asarray(serials, dtype=float)
    bad = ~np.isnan(serials) & ((serials < _MIN_SERIAL) | (serials > _MAX_SERIAL))
    seconds = np.where(np.isnan(serials) | bad, 0, np.round(serials * SECONDS_PER_DAY)).astype(np.int64)
    out = (EXCEL_EPOCH + seconds.astype("timedelta64[s]")).astype("datetime64[s]")
    out[np.isnan(serials) | bad] = NAT
    messages = np.full(serials.shape, "", dtype=object)
    if bad.any():  # the text of the bad ones only: writing every serial out costs more than reading them
        messages[bad] = np.char.add("日期序号超出范围: ", serials[bad].astype(str)).astype(object)
    return collect(out, messages)


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
