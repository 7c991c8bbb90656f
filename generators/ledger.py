"""The ticket ledger (台账): one row per ticket with each stage's deadline, verdict and deduction.

:func:`compute_ledger` is plain pandas/numpy over the engine; :func:`write_ledger` writes it
with xlsxwriter row by row (constant memory), ticket text always as text, never formulas.

Memory at a million tickets: the ledger shares the tickets' text (no copy of the frame beyond
one row selection; verdicts and deduction bases are a handful of shared strings), and the
writers convert a block of :data:`CHUNK_ROWS` rows at a time to Python values, column by
column, so that no row × column object matrix is ever built.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from xlsxwriter.utility import xl_col_to_name

import udfs
from generators import paper
from generators.memory import release_freed
from generators.tickets import FLAG_TRUE, SOURCE_FILE, SOURCE_ROW, id_keys, repeated_keys
from generators.workbooks import (
    EXCEL_COLUMNS,
    EXCEL_TEXT,
    LONG_TEXT_SHEET,
    new_workbook,
    part_name,
    row_parts,
    split_long_texts,
)
from udfs import scoring
from udfs.calendar import WorkCalendar, china_calendar
from udfs.rulebook import CANONICAL_FIELDS, Rulebook
from udfs.timeliness import deadline_with_messages, elapsed_with_messages, judge, parse_limit, parse_suspensions
from udfs.wording import citation, field_label, month_label

REJECTED_COLUMNS = ("源文件", "源行号", "工单号", "列", "原值", "原因")
CHUNK_ROWS = 10_000  # rows converted to Python values at a time by the writers
BLOCK_TICKETS = 1 << 16  # tickets timed at a time: the engine's working arrays stay this size


@dataclasses.dataclass
class Ledger:
    """Accepted tickets with computed columns, rejected rows with reasons, the stages computed,
    and the calendar's late-December caveat when the verdicts depend on those days ("" if not)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    stages: tuple[str, ...]
    read: int
    caveat: str = ""
    extras: tuple[str, ...] = ()  # the export's own columns (not canonical fields) kept in ``rows``

    @property
    def reconciles(self) -> bool:
        return self.read == len(self.rows) + len(self.rejected)


YES_NO = np.array(["是", "否"], dtype=object)
NOT_ASSESSED = "不考核"
# finished on time, late; open late, open; not assessed at the stage (no row of it fits the ticket)
VERDICTS = np.array(["是", "否", "超时未完成", "未完成", NOT_ASSESSED], dtype=object)
NOTES = "考核说明"        # per ticket: stages not assessed and why, system deadline differences
BASIS = "扣分依据"        # per ticket: the items it counts toward and how the month's rule treats it
AMOUNT_COLUMNS = {"分": "扣分", "元": "扣款(元)"}
NO_UNIT = "(未填考核单位)"


def _labels(labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``labels[codes]``: every ticket shares one string object per label. An empty result is
    an empty text array, so that an empty ledger's columns have the type they always had."""
    return labels[codes] if len(codes) else np.array([], dtype=str)


def stage_fields(rulebook: Rulebook) -> dict[str, dict[int, tuple[str, str]]]:
    """``{stage: {row: (start_field, end_field)}}`` for every stage with an end field: each
    time-limit row (by its index in ``rulebook.time_limits``) with the fields its tickets run
    between. A row without ``until`` ends where its stage's first row with one does."""
    ends = {}
    for row in rulebook.time_limits:
        if row.end_field:
            ends.setdefault(row.stage, row.end_field)
    fields: dict[str, dict[int, tuple[str, str]]] = {}
    for index, row in enumerate(rulebook.time_limits):
        if row.stage in ends:
            fields.setdefault(row.stage, {})[index] = (row.start_field, row.end_field or ends[row.stage])
    return fields


def _stage_fields(rulebook: Rulebook, frame: pd.DataFrame) -> dict[str, dict[int, tuple[str, str]]]:
    """The stages the tickets can be timed at: some row's end column is present and filled.

    An end column empty in every row counts as absent (a template's 回访时间 column nobody
    fills): otherwise every ticket would be judged unfinished at that stage."""
    def filled(field):
        return field in frame.columns and frame[field].notna().any()

    return {stage: rows for stage, rows in stage_fields(rulebook).items()
            if any(filled(end) for _, end in rows.values())}


def unit_names(rows: pd.DataFrame, unit_field: str = "unit") -> pd.Series:
    """Each ticket's assessed unit as the table groups it (an empty unit is :data:`NO_UNIT`)."""
    if unit_field not in rows.columns:
        return pd.Series(NO_UNIT, index=rows.index, dtype=object)
    return rows[unit_field].fillna("").astype(str).str.strip().replace("", NO_UNIT)


def shared_labels(values: pd.Series) -> np.ndarray:
    """A column of a few distinct labels (units, parties) as an object array whose cells share one
    string per label (8 bytes a ticket, not a new string per ticket)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes]


def given_parties(rows: pd.DataFrame, rulebook: Rulebook) -> np.ndarray:
    """Each ticket's 人员类别 as the rulebook knows it: an empty value, or one that names none of
    the rulebook's parties, is the scheme's own party (代维公司)."""
    if "party" not in rows.columns:
        return np.full(len(rows), rulebook.party, dtype=object)
    values = rows["party"].fillna("").astype(str).str.strip()
    return shared_labels(values.where(values.isin(rulebook.parties), rulebook.party))


def ticket_parties(rows: pd.DataFrame, rulebook: Rulebook) -> np.ndarray:
    """Each ticket's party as the month assesses it: its unit's, the most frequent of the unit's
    tickets' :func:`given_parties`, so that a unit is one party in the ledger and the table alike."""
    given = given_parties(rows, rulebook)
    if len(rulebook.parties) == 1 or not len(rows):
        return given
    units = shared_labels(unit_names(rows))
    majority = pd.Series(given).groupby(units).agg(lambda values: values.value_counts().index[0])
    return shared_labels(majority.reindex(units))


def overdue_flags(rows: pd.DataFrame, stages) -> np.ndarray:
    """Tickets overdue at any of ``stages`` (finished late or open past the deadline)."""
    flags = np.zeros(len(rows), dtype=bool)
    for stage in stages:
        column = f"{stage}超时小时"
        if column in rows.columns:
            flags |= np.nan_to_num(rows[column].to_numpy(float)) > 0
    return flags


def assessed_flags(rows: pd.DataFrame, stages) -> np.ndarray:
    """Tickets assessed at one or more of ``stages`` (some row of the stage fits them)."""
    flags = np.zeros(len(rows), dtype=bool)
    for stage in stages:
        column = f"{stage}及时"
        if column in rows.columns:
            flags |= (rows[column] != NOT_ASSESSED).to_numpy(bool)
    return flags


def measure_hits(measure: str, rows: pd.DataFrame) -> np.ndarray:
    """Tickets a per-ticket measure (``overdue:…``, ``flag:…``) counts."""
    kind, _, argument = measure.partition(":")
    if kind == "overdue":
        return overdue_flags(rows, argument.split("|"))
    if kind == "flag" and argument in rows.columns:
        values = rows[argument]
        if values.dtype == bool:
            return values.to_numpy(bool)
        return values.astype("string").str.strip().str.upper().isin(FLAG_TRUE).fillna(False).to_numpy(bool)
    return np.zeros(len(rows), dtype=bool)


def per_ticket(item) -> bool:
    return item.measure.partition(":")[0] in ("overdue", "flag")


def _note(notes: np.ndarray, mask: np.ndarray, text) -> None:
    """Append ``text`` to the notes of the tickets in ``mask``: one text, one per ticket, or one
    per ticket in ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    text = np.asarray(text, dtype=object)
    texts = np.broadcast_to(text, mask.shape)[mask] if text.ndim == 0 or len(text) == len(mask) else text
    notes[mask] = [f"{old}；{new}" if old else new for old, new in zip(notes[mask], texts)]


def compute_ledger(tickets: pd.DataFrame, rulebook: Rulebook, *, as_of: np.datetime64,
                   calendar: WorkCalendar | None = None, source: str = "",
                   headers: dict[str, str] | None = None) -> Ledger:
    """Deadlines, on-time flags, overdue hours and per-ticket deductions for every stage.

    ``tickets`` has canonical field names (and may carry other columns, kept as they are,
    and ``source_row``, the row number in ``source`` that rejected rows are named by);
    ``as_of`` (e.g. the end of the assessed month) judges tickets still open. Every ticket
    ends in ``rows`` or in ``rejected``. ``headers`` (field → the export's header) names the
    columns in reasons and notes as the export does.

    Each ticket is timed at a stage by the time-limit row that applies to it (its priority,
    area and kind), from that row's start field to its end field. A ticket no row of a stage
    fits, or that lacks the row's start time, is not assessed there (verdict
    :data:`NOT_ASSESSED`, the reason in :data:`NOTES`) and stays in the ledger.
    """
    calendar = calendar or china_calendar()
    frame = tickets.reset_index(drop=True)  # only read: no copy of the tickets
    n = len(frame)
    problems = np.full(n, "", dtype=object)
    columns = np.full(n, "", dtype=object)
    notes = np.full(n, "", dtype=object)

    def reject(mask, column, reason):
        fresh = np.asarray(mask) & (problems == "")
        problems[fresh] = reason if isinstance(reason, str) else np.asarray(reason, dtype=object)[fresh]
        columns[fresh] = column if isinstance(column, str) else np.asarray(column, dtype=object)[fresh]

    label = {**CANONICAL_FIELDS, **(headers or {})}
    ids = frame["ticket_id"].astype("string").str.strip()
    reject(ids.isna() | (ids == ""), label["ticket_id"], "缺少工单号")
    reject(repeated_keys(id_keys(ids)) & ids.notna().to_numpy(), label["ticket_id"], "工单号重复")
    del ids  # a million ids' copy; the rejected ones are read again at the end
    suspensions, suspension_messages = parse_suspensions(frame.get("suspended", pd.Series([""] * n)).to_numpy(object))
    reject(suspension_messages != "", label["suspended"], suspension_messages)

    keys, key_of = _distinct(frame, ("priority", "area", "kind"))

    def time_stage(stage, rows_fields):
        """``(deadlines, ontime, overdue, finished, assessed)`` of one stage (its working arrays
        freed on return)."""
        index, said, no_fit = (found[key_of] for found in scoring.limit_rows(
            rulebook, np.full(key_of.max(initial=-1) + 1, stage, dtype=object), keys["priority"], keys["area"],
            keys["kind"]))
        reject((said != "") & ~no_fit, label["kind"], said)
        _note(notes, no_fit, [text + "，不考核" for text in said[no_fit]])
        start = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        end = start.copy()
        start_label = np.full(n, label["dispatched_at"], dtype=object)
        assessed = index >= 0
        for row, (start_field, end_field) in rows_fields.items():
            mine = index == row
            if not mine.any():
                continue
            absent = [label[f] for f in (start_field, end_field) if f not in frame.columns]
            if absent or frame[end_field].isna().all():
                why = f"没有{'、'.join(absent)}列" if absent else f"的{label[end_field]}列整列为空"
                _note(notes, mine, f"“{stage}”环节: 导出中{why}，不考核")
                assessed &= ~mine
                continue
            start[mine] = frame[start_field].to_numpy("datetime64[s]")[mine]
            end[mine] = frame[end_field].to_numpy("datetime64[s]")[mine]
            start_label[mine] = label[start_field]
            lacking = mine & np.isnat(start)
            _note(notes, lacking, f"“{stage}”环节: 缺少{label[start_field]}，不考核")
            # bad data at one stage: that stage is not assessed (said on the ticket); the ticket's
            # other stages still count, so a vendor gains nothing from an impossible time
            backwards = mine & ~np.isnat(end) & ~np.isnat(start) & (end < start)
            _note(notes, backwards, f"“{stage}”环节: 数据有误，{label[end_field]}早于{label[start_field]}，不考核")
            assessed &= ~(lacking | backwards)
        limits, units, hours = scoring.row_terms(rulebook, np.where(assessed, index, -1))
        _ticket_limits(rulebook, frame, stage, index, assessed, limits, units, notes)
        deadlines, messages, cut = _deadlines(start, end, as_of, limits, units, hours, suspensions, calendar)
        _note(notes, cut & assessed, f"“{stage}”环节: 挂起时间超出{stage}完成时间(或考核月末)，超出部分不计")
        reject(messages != "", start_label, messages)
        ontime, overdue, finished = judge(deadlines, end, as_of)
        overdue = np.where(assessed, overdue, np.nan)
        return deadlines, ontime, overdue, finished, assessed

    computed = {stage: time_stage(stage, rows_fields) for stage, rows_fields in _stage_fields(rulebook, frame).items()}

    bad = problems != ""
    keep = ~bad
    kept = [f for f in CANONICAL_FIELDS if f in frame.columns]
    kept += [c for c in frame.columns if c not in CANONICAL_FIELDS and c not in (SOURCE_ROW, SOURCE_FILE)]
    out = frame[kept].take(np.flatnonzero(keep)) if bad.any() else frame[kept]  # at most one copy of the tickets
    out.index = pd.RangeIndex(len(out))
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = _labels(YES_NO, np.where(out[column].to_numpy(bool), 0, 1))

    def kept_rows(values: np.ndarray) -> np.ndarray:  # no copy of a million tickets' values when none is rejected
        return values[keep] if bad.any() else values

    latest = {}  # per stage the latest deadline, for the calendar's caveat
    for stage in list(computed):
        deadlines, ontime, overdue, finished, assessed = map(kept_rows, computed.pop(stage))  # freed stage by stage
        out[f"{stage}截止"] = deadlines
        codes = np.where(finished, np.where(ontime, 0, 1), np.where(overdue > 0, 2, 3))
        out[f"{stage}及时"] = _labels(VERDICTS, np.where(assessed, codes, 4))
        out[f"{stage}超时小时"] = np.round(overdue, 4)
        known = deadlines[~np.isnat(deadlines)]
        latest[stage] = known.max() if len(known) else None
        del deadlines, ontime, overdue, finished, assessed, codes, known
    kept_notes = kept_rows(notes)
    _party_notes(out, rulebook, kept_notes)
    main = _main_stage(rulebook, latest)
    if main is not None and "system_deadline" in out.columns:
        _compare_system_deadline(out, main, kept_notes)
    _band_points(out, rulebook, as_of, kept_notes)
    _classify(out, rulebook)
    out[NOTES] = kept_notes
    _attribute(out, rulebook)
    rows_in_source = frame[SOURCE_ROW].to_numpy() if SOURCE_ROW in frame.columns else np.arange(n) + 2
    rejected = pd.DataFrame({
        "源文件": frame[SOURCE_FILE].to_numpy(object)[bad] if SOURCE_FILE in frame.columns else source,
        "源行号": rows_in_source[bad],
        "工单号": frame["ticket_id"][bad].astype("string").str.strip().fillna("").to_numpy(object),
        "列": columns[bad],
        "原值": [_original(frame, label, c, i) for c, i in zip(columns[bad], np.flatnonzero(bad))],
        "原因": problems[bad],
    })
    return Ledger(out, rejected, tuple(latest), n, _caveat(calendar, out, latest.values(), as_of),
                  tuple(c for c in kept if c not in CANONICAL_FIELDS))


def _deadlines(start, end, as_of, limits, units, hours, suspensions, calendar):
    """``(deadlines, messages, cut)`` of one stage: each ticket's deadline counted with its
    suspended time up to the stage's end (or ``as_of`` while unfinished; ``cut`` where some was
    after it and does not count). Computed :data:`BLOCK_TICKETS` tickets at a time, so
    the engine's working arrays stay the size of a block, not of the month."""
    n = len(start)
    deadlines = np.empty(n, dtype="datetime64[s]")
    messages = np.empty(n, dtype=object)
    cut = np.empty(n, dtype=bool)
    bound = np.where(np.isnat(end), np.datetime64(as_of, "s"), end)
    for first in range(0, n, BLOCK_TICKETS):
        block = slice(first, first + BLOCK_TICKETS)
        counted, cut[block] = suspensions.owners(first, first + BLOCK_TICKETS).clipped(start[block], bound[block])
        deadlines[block], messages[block] = deadline_with_messages(
            start[block], limits[block], units[block], hours=hours[block], calendar=calendar, suspended=counted)
    return deadlines, messages, cut


def elapsed(start: np.ndarray, end: np.ndarray, suspensions) -> np.ndarray:
    """Hours from ``start`` to ``end`` with the suspended time deducted (NaN where either is
    missing or the end comes first), :data:`BLOCK_TICKETS` tickets at a time."""
    hours = np.empty(len(start))
    for first in range(0, len(start), BLOCK_TICKETS):
        block = slice(first, first + BLOCK_TICKETS)
        hours[block], _ = elapsed_with_messages(start[block], end[block],
                                                suspended=suspensions.owners(first, first + BLOCK_TICKETS))
    return hours


def _distinct(frame: pd.DataFrame, fields) -> tuple[dict[str, np.ndarray | None], np.ndarray]:
    """``(keys, key_of)``: the distinct combinations of ``fields`` among the tickets (each field's
    values, None for a field the export lacks) and each ticket's combination, found on the
    columns as they are (a month has a handful; no Python object per ticket)."""
    present = [f for f in fields if f in frame.columns]
    factors = [pd.factorize(frame[f], use_na_sentinel=False) for f in present]
    combined = np.zeros(len(frame), dtype=np.int64)
    for codes, uniques in factors:
        combined = combined * (len(uniques) + 1) + codes
    _, first, key_of = np.unique(combined, return_index=True, return_inverse=True)
    keys = {f: None for f in fields}
    for f, (codes, uniques) in zip(present, factors):
        keys[f] = np.asarray(uniques, dtype=object)[codes[first]]
    return keys, key_of.reshape(-1)


def _caveat(calendar: WorkCalendar, rows: pd.DataFrame, latest, as_of) -> str:
    """The calendar's caveat for the days the verdicts depend on: from the first dispatch to the
    end of the month (the day before ``as_of``) or the ``latest`` deadline of a stage (None for a
    stage without one), whichever is later."""
    last = (np.datetime64(as_of, "s") - 1).astype("datetime64[D]")
    dispatched = rows["dispatched_at"].to_numpy("datetime64[s]") if "dispatched_at" in rows.columns else []
    first = min(np.min(dispatched).astype("datetime64[D]"), last) if len(dispatched) else last
    for deadline in latest:
        if deadline is not None:
            last = max(last, (deadline - 1).astype("datetime64[D]"))
    return calendar.caveat(first, last)


def _ticket_limits(rulebook: Rulebook, frame: pd.DataFrame, stage: str, index: np.ndarray, assessed: np.ndarray,
                   limits: np.ndarray, units: np.ndarray, notes: np.ndarray) -> None:
    """For rows whose limit is the ticket's own 办理时限 (``ticket_limit``): that limit, read as the
    dispatch form writes it (当天, 3日内 ...); the row's limit where a ticket gives none. A ticket
    with neither, or with one that cannot be read, is not assessed at the stage (noted)."""
    rows = [k for k, row in enumerate(rulebook.time_limits) if row.ticket_limit and row.stage == stage]
    if not rows:
        return
    texts = (frame["time_limit"].fillna("").astype(str).str.strip().to_numpy(object) if "time_limit" in frame.columns
             else np.full(len(frame), "", dtype=object))
    unreadable = np.zeros(len(frame), dtype=bool)
    reasons = np.full(len(frame), "", dtype=object)
    positions = np.flatnonzero(assessed & np.isin(index, rows))
    pairs = pd.Series(list(zip(index[positions], texts[positions])), dtype=object)
    codes, distinct = pd.factorize(pairs)  # each distinct (row, 办理时限) read once
    for code, (row_index, given) in enumerate(distinct):
        row = rulebook.time_limits[row_index]
        parsed = parse_limit(given) if given else (row.limit, row.unit)
        mine = positions[codes == code]
        if isinstance(parsed, str) or parsed[0] != parsed[0]:
            unreadable[mine] = True
            reasons[mine] = parsed if isinstance(parsed, str) else f"缺少{CANONICAL_FIELDS['time_limit']}"
        else:
            limits[mine], units[mine] = parsed
    _note(notes, unreadable, [f"“{stage}”环节: {why}，不考核" for why in reasons[unreadable]])
    assessed &= ~unreadable
    limits[unreadable] = np.nan


LEVEL = "投诉等级"


def _party_notes(out: pd.DataFrame, rulebook: Rulebook, notes: np.ndarray) -> None:
    """Say on the ticket where its 人员类别 is not one the rulebook assesses, or differs from its unit's."""
    if "party" not in out.columns or len(rulebook.parties) == 1:
        return
    raw = out["party"].fillna("").astype(str).str.strip().to_numpy(object)
    given, assessed_as = given_parties(out, rulebook), ticket_parties(out, rulebook)
    unknown = (raw != "") & (raw != given)
    _note(notes, unknown, [f"人员类别“{v}”不是本办法的考核对象({'、'.join(rulebook.parties)})，按{rulebook.party}计"
                           for v in raw[unknown]])
    _note(notes, given != assessed_as, [f"人员类别与本单位多数工单不同，按“{p}”考核" for p in assessed_as[given != assessed_as]])


def _band_points(out: pd.DataFrame, rulebook: Rulebook, as_of, notes: np.ndarray) -> None:
    """For each stage of the rulebook's ``[[bands]]``: ``{stage}历时`` (hours from its start to its
    end field, suspensions deducted; to ``as_of`` for a ticket not yet there) and ``{stage}得分``."""
    stages = dict.fromkeys(band.stage for band in rulebook.bands)
    if not stages:
        return
    suspensions, _ = parse_suspensions(out["suspended"].fillna("").to_numpy(object) if "suspended" in out.columns
                                       else np.full(len(out), "", dtype=object))
    for stage in stages:
        band = next(b for b in rulebook.bands if b.stage == stage)
        if band.start_field not in out.columns or band.end_field not in out.columns or out[band.end_field].isna().all():
            continue  # the export cannot time it: said with the untimed stages (untimed_stages)
        start = out[band.start_field].to_numpy("datetime64[s]")
        end = (out[band.end_field].to_numpy("datetime64[s]") if band.end_field in out.columns
               else np.full(len(out), np.datetime64("NaT"), dtype="datetime64[s]"))
        open_ = np.isnat(end) & ~np.isnat(start)
        end = np.where(open_, np.datetime64(as_of, "s"), end)
        hours = elapsed(start, end, suspensions)
        points, _ = scoring.band_points_with_messages(rulebook, stage, hours)
        label = CANONICAL_FIELDS[band.end_field]
        _note(notes, open_, f"“{stage}”: 没有{label}，历时算到统计截止")
        out[f"{stage}历时"] = np.round(hours, 4)
        out[f"{stage}得分"] = points


def _classify(out: pd.DataFrame, rulebook: Rulebook) -> None:
    """:data:`LEVEL`: the first level (in the rulebook's order: 等级从高) whose ``when`` a ticket
    meets, else the default level, when the rulebook classes tickets by conditions."""
    levels = [level for level in rulebook.levels if level.when]
    if not levels:
        return
    default = next((level.name for level in rulebook.levels if level.default), "")
    result = np.full(len(out), default, dtype=object)
    decided = np.zeros(len(out), dtype=bool)
    for level in levels:
        met = np.zeros(len(out), dtype=bool)
        for condition in level.when:
            kind, _, rest = condition.partition(":")
            if kind == "overdue":
                met |= overdue_flags(out, [rest])
            elif kind == "flag":
                met |= measure_hits(condition, out)
            else:
                field, _, number = rest.partition(":")
                if field in out.columns:
                    values = pd.to_numeric(out[field], errors="coerce").to_numpy(float)
                    met |= np.nan_to_num(values, nan=-np.inf) >= float(number)
        result[met & ~decided] = level.name
        decided |= met
    out[LEVEL] = result


def _main_stage(rulebook: Rulebook, computed) -> str | None:
    """The stage the system's own deadline (整体时限) is compared with: the last one computed that
    ends at the reply or the closing, else the last one computed."""
    ends = stage_fields(rulebook)
    final = [s for s in computed if any(e in ("replied_at", "closed_at") for _, e in ends[s].values())]
    return (final or list(computed) or [None])[-1]


def _compare_system_deadline(out: pd.DataFrame, stage: str, notes: np.ndarray) -> None:
    """Note where the export's own deadline (系统时限, 整体时限) differs from the rulebook's by a minute
    or more, or cannot be read; the column becomes a time column. Excel serial numbers are read as
    the dates they are."""
    from udfs.errors import with_messages
    from udfs.moments import format_moments, parse_moments

    raw = out["system_deadline"].to_numpy(object)
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(float)
    values = np.where(np.isnan(numbers), raw, numbers).astype(object)  # a serial stored as text is still a serial
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    parsed, messages = with_messages(parse_moments, np.asarray(distinct, dtype=object))
    system = np.asarray(parsed, dtype="datetime64[s]")[codes] if len(codes) else np.array([], "datetime64[s]")
    messages = np.asarray(messages, dtype=object)[codes] if len(codes) else np.array([], object)
    ours = out[f"{stage}截止"].to_numpy("datetime64[s]")
    unreadable = messages != ""
    _note(notes, unreadable, [f"系统时限无法识别: {v}" for v in raw[unreadable]])
    known = ~np.isnat(system) & ~np.isnat(ours)
    gap = np.where(known, (system.astype(np.int64) - ours.astype(np.int64)) / 3600, 0.0)
    differs = known & (np.abs(gap) >= 1 / 60)
    if differs.any():
        texts = ("系统时限 " + format_moments(system[differs]) + f" 比本办法“{stage}”截止 "
                 + format_moments(ours[differs], midnight_as_24=True)
                 + np.where(gap[differs] > 0, " 晚 ", " 早 ").astype(object)
                 + np.array([f"{abs(g):.2f} 小时" for g in gap[differs]], dtype=object))
        _note(notes, differs, texts)
    out["system_deadline"] = system


def _attribute(out: pd.DataFrame, rulebook: Rulebook) -> None:
    """Per-ticket amounts (扣分 in 分, 扣款(元) in 元) and :data:`BASIS`.

    Each ticket counted by an item is numbered within its unit's month (by dispatch time) and
    carries the marginal amount the item's rule gives it, f(k) − f(k−1) (zero-outs and caps
    included), with the rule in words. Where a category caps its items (每类最多扣该类分值), the
    unit's tickets are charged in time order until the category is spent. So a unit's tickets
    never sum to more than the table deducts: per item they sum to the table's amount, and per
    category to at most its cap."""
    if not any(per_ticket(item) for item in rulebook.items):
        return  # nothing is charged per ticket: no amount columns that would read as "nothing lost"
    n = len(out)
    unit_codes = pd.factorize(unit_names(out))[0]  # a unit's tickets are numbered and capped together
    parties = ticket_parties(out, rulebook)
    moments = out["dispatched_at"].to_numpy("datetime64[s]").astype(np.int64)
    order = np.lexsort((np.arange(n), moments)) if n else np.zeros(0, int)
    score_unit = rulebook.score_unit
    point_units = [score_unit] + [i.unit for i in rulebook.items if per_ticket(i) and i.unit != score_unit]
    entries = []  # one frame per item: ticket, marginal amount, text
    for rank, item in enumerate(rulebook.items):
        if not per_ticket(item):
            continue
        hit = measure_hits(item.measure, out) & (parties == rulebook.party_of(item))
        if not hit.any():
            continue
        ranked = order[hit[order]]  # the item's tickets in time order; sorted, they are flatnonzero(hit)
        k = (pd.Series(unit_codes[ranked]).groupby(unit_codes[ranked]).cumcount().to_numpy() + 1)[np.argsort(ranked)]
        totals = scoring.item(rulebook, item.id, np.arange(k.max() + 1))
        marginal = totals[k] - totals[k - 1]
        entries.append(pd.DataFrame({
            "ticket": np.flatnonzero(hit), "rank": rank, "amount": marginal,
            "text": pd.Series([_basis_text(item, int(c), m, totals, why)  # Python text: edited below, not Arrow's
                               for c, m, why in zip(k, marginal, _reasons(item, out, hit))], dtype=object)}))
    amounts = {unit: np.zeros(n) for unit in dict.fromkeys(point_units)}
    basis = np.full(n, "", dtype=object)
    if entries:
        charged = pd.concat(entries, ignore_index=True)
        items = [rulebook.items[r] for r in charged["rank"]]
        charged["unit"] = unit_codes[charged["ticket"]]
        charged["moment"] = moments[charged["ticket"]]
        _cap_categories(charged, items, rulebook)
        for unit, total in amounts.items():
            mine = np.array([item.unit == unit for item in items], dtype=bool)
            signs = np.array([-1.0 if item.bonus else 1.0 for item in items])
            np.add.at(total, charged["ticket"].to_numpy()[mine], (signs * charged["amount"].to_numpy())[mine])
        charged = charged.sort_values(["ticket", "rank"], kind="stable")
        tickets, texts = charged["ticket"].to_numpy(), charged["text"].to_numpy(object)
        first = np.flatnonzero(np.r_[True, tickets[1:] != tickets[:-1]])  # each ticket's first text
        sizes = np.diff(np.r_[first, len(tickets)])
        basis[tickets[first[sizes == 1]]] = texts[first[sizes == 1]]
        for start, size in zip(first[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            basis[tickets[start]] = "".join(texts[start:start + size])
    for unit, total in amounts.items():
        out[AMOUNT_COLUMNS[unit]] = total
    out[BASIS] = basis


def _cap_categories(charged: pd.DataFrame, items: list, rulebook: Rulebook) -> None:
    """Spend each capped category of each unit in time order: a ticket's amount is cut to what is
    left of the category's points (本类已扣满), as the table's category subtotal caps it."""
    points = {c.id: c.points for c in rulebook.categories if c.points is not None}
    score_unit = rulebook.score_unit
    capped = np.array([not item.bonus and item.unit == score_unit and item.category in points for item in items])
    if not capped.any():
        return
    part = charged[capped].assign(category=[item.category for item, c in zip(items, capped) if c])
    part = part.sort_values(["moment", "ticket", "rank"], kind="stable")
    limit = part["category"].map(points).to_numpy(float)
    spent = part.groupby(["unit", "category"])["amount"].cumsum().to_numpy(float)
    allowed = np.minimum(spent, limit) - np.minimum(spent - part["amount"].to_numpy(float), limit)
    cut = allowed < part["amount"].to_numpy(float) - 1e-9
    texts = part["text"].to_numpy(object).copy()
    for position in np.flatnonzero(cut):
        category = part["category"].iloc[position]
        texts[position] = (texts[position][:-1] + f"；“{rulebook.category(category).name}”类已扣满"
                           f"{limit[position]:g}{score_unit}，本张计{allowed[position]:g}{score_unit}。")
    charged.loc[part.index, "amount"] = allowed
    charged.loc[part.index, "text"] = texts


def _reasons(item, out: pd.DataFrame, hit: np.ndarray) -> list[str]:
    """Why each ticket of ``hit`` counts toward ``item``, in words: the stages it was overdue at
    (``签收、回复超时``) or the flag it carries (``二次投诉为“是”``)."""
    kind, _, argument = item.measure.partition(":")
    if kind == "flag":
        return [f"{field_label(argument)}为“是”"] * int(hit.sum())
    stages = [s for s in argument.split("|") if f"{s}超时小时" in out.columns]
    late = np.column_stack([np.nan_to_num(out[f"{s}超时小时"].to_numpy(float)[hit]) > 0 for s in stages]) if stages \
        else np.zeros((int(hit.sum()), 0), dtype=bool)
    words = {}
    return [words.setdefault(key, "、".join(s for s, yes in zip(stages, key) if yes) + "超时")
            for key in map(tuple, late.tolist())]


def _basis_text(item, k: int, amount: float, totals: np.ndarray, why: str = "") -> str:
    """A sentence: ``回复超时，计入二1“EOMS投诉单处理及时率”(江门办法 二、1)：本单位本月第7张，该项已扣满10分，
    本张不再扣分。`` and the like (the numbering, a zero-out reached, the item already spent)."""
    label = f"“{item.name}”" if item.id == item.name else f"{item.id}“{item.name}”"
    source = citation(item.source)
    verb = "加" if item.bonus else "扣"
    head = f"{why}，" if why else ""
    head += f"计入{label}" + (f"({source})" if source else "") + f"：本单位本月第{k}{item.per}"
    if item.zero_out_at is not None and totals[k] >= item.item_points and totals[k - 1] < item.item_points:
        at = f"{item.zero_out_at}{item.per}以上" if item.zero_out_inclusive else f"超过{item.zero_out_at}{item.per}"
        return f"{head}，{at}该项{verb}满{item.item_points:g}{item.unit}，本{item.per}{verb}{amount:g}{item.unit}。"
    if amount == 0:
        return f"{head}，该项已{verb}满{totals[k]:g}{item.unit}，本{item.per}不再{verb}{'款' if item.unit == '元' else '分'}。"
    return f"{head}，{verb}{amount:g}{item.unit}。"


def ledger_from_export(path, rulebook: Rulebook, month: str, *, calendar: WorkCalendar | None = None):
    """Import a month's ticket export and compute its ledger; returns ``(ledger, import)``.

    Rows the import rejects and rows the ledger rejects end on one 拒收 list, so that
    rows read = ledger rows + rejected rows.
    """
    from generators.tickets import read_tickets

    imported = read_tickets(path, rulebook=rulebook, month=month)
    as_of = (np.datetime64(month, "M") + 1).astype("datetime64[s]")
    ledger = compute_ledger(imported.tickets, rulebook, as_of=as_of, calendar=calendar, source=Path(path).name,
                            headers=imported.columns)
    rejected = pd.concat([imported.rejected, ledger.rejected], ignore_index=True)
    order = {name: k for k, name in enumerate(dict.fromkeys(rejected["源文件"]))}  # sheet by sheet, then by row
    rejected = rejected.sort_values(["源文件", "源行号"], key=lambda c: c.map(order) if c.name == "源文件" else c,
                                    kind="stable").reset_index(drop=True)
    release_freed()  # the computation's working arrays, before the tables are written
    return dataclasses.replace(ledger, rejected=rejected[list(REJECTED_COLUMNS)], read=imported.read), imported


def _original(frame, fields, column_label, index) -> str:
    field = next((f for f, label in fields.items() if label == column_label), column_label)
    value = frame[field].iloc[index] if field in frame.columns else ""
    return "" if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) else str(value)


def write_ledger(ledger: Ledger, path: Path, *, rulebook: Rulebook, month: str, calendar_version: str,
                 appendix3: bool = False) -> list[str]:
    """Write the ledger workbook: 台账 (frozen header, filters, overdue rows highlighted), 拒收
    (every rejected row and why), 说明 (versions, counts), and with ``appendix3`` the same tickets
    in the layout of seed 004's 附件3 (:data:`APPENDIX3_SHEET`). Every sheet is print-ready
    (:func:`generators.paper.print_ready`): text at 8 pt or more, A3 landscape where the 台账
    needs it, columns that do not fit on further pages across with the 工单号 repeated, the
    header row on every page, the month and the rulebook in the page header, and rows as tall
    as the text they wrap.

    Nothing is cut at Excel's limits: more rows than a sheet holds continue on 台账(续1) ...; the
    export's own columns that do not fit beside the computed ones go to 台账其他列, keyed by 工单号;
    text longer than a cell keeps its start and continues on 长文本. Returns what was done so (for
    the screen; 说明 says it too)."""
    stamp = f"考核办法 {rulebook.name} {rulebook.version}; 日历 {calendar_version}; 程序 kaohe {udfs.__version__}"
    book = new_workbook(path, title=f"{month_label(month)} 投诉工单台账", subject=rulebook.title, comments=stamp)
    styles = _Styles(book)
    notices = []
    heading = f"{month_label(month)} {rulebook.title}"

    rows, long_rows = split_long_texts(ledger.rows, "ticket_id", "台账")
    rejected, long_rejected = split_long_texts(ledger.rejected, "工单号", "拒收")
    moved = []
    if len(rows.columns) > EXCEL_COLUMNS:  # the export's own columns give way to the computed ones
        moved = list(ledger.extras[len(ledger.extras) - (len(rows.columns) - EXCEL_COLUMNS):])
        notices.append(f"导出有 {len(ledger.extras)} 个其他列，台账放不下的 {len(moved)} 列写在“台账其他列”表(按工单号对应)")
    kept = rows.drop(columns=moved)
    parts = row_parts(len(kept))
    for k, (first, stop) in enumerate(parts):
        _ledger_sheet(book, part_name("台账", k), kept.iloc[first:stop], styles, f"台账 {heading}")
    if len(parts) > 1:
        notices.append(f"台账共 {len(kept)} 行，超过一张工作表的行数上限，续写在 "
                       f"{'、'.join(part_name('台账', k) for k in range(1, len(parts)))}")
    for k in range(0, len(moved), EXCEL_COLUMNS - 1):
        columns = ["ticket_id"] + moved[k:k + EXCEL_COLUMNS - 1]
        for n, (first, stop) in enumerate(row_parts(len(rows))):
            name = part_name(f"台账其他列{k // (EXCEL_COLUMNS - 1) + 1 if k else ''}", n)
            _plain_sheet(book, name, rows[columns].iloc[first:stop], styles, f"{name} {heading}", key=True)

    if appendix3:
        _write_appendix3(book, dataclasses.replace(ledger, rows=rows, rejected=rejected), styles, month, rulebook)

    for k, (first, stop) in enumerate(row_parts(len(rejected))):
        name = part_name("拒收", k)
        _plain_sheet(book, name, rejected.iloc[first:stop], styles, f"{name} {heading}")
    pieces = pd.concat([long_rows, long_rejected], ignore_index=True)
    if len(pieces):
        notices.append(f"{pieces[['表', '工单号', '列']].drop_duplicates().shape[0]} 个单元格的文字超过 Excel 单元格上限"
                       f"({EXCEL_TEXT} 字)，单元格里保留开头，全文分段写在“{LONG_TEXT_SHEET}”表")
        for k, (first, stop) in enumerate(row_parts(len(pieces))):
            name = part_name(LONG_TEXT_SHEET, k)
            _plain_sheet(book, name, pieces.iloc[first:stop], styles, f"{name} {heading}")

    _notes_sheet(book, styles, [
        ("考核月份", month_label(month)), ("考核办法", f"{rulebook.title}(版本 {rulebook.version})"),
        ("日历数据", calendar_version), ("程序版本", f"kaohe {udfs.__version__}"),
        ("读入行数", ledger.read), ("入账行数", len(ledger.rows)), ("拒收行数", len(ledger.rejected)),
        ("核对", f"读入 {ledger.read} 行 = 入账 {len(ledger.rows)} 行 + 拒收 {len(ledger.rejected)} 行"
                 + ("" if ledger.reconciles else "(不平衡，请检查)")),
        ("计算环节", "、".join(ledger.stages) or "无(导出中没有本办法计时所需的时间列)"),
    ] + [(f"{stage}环节", _stage_counts(ledger.rows, stage)) for stage in ledger.stages]
        + [(label, "、".join(stages)) for label, stages in zip(("未计时(导出缺列)", "未计时(无对应列)"),
                                                              untimed_stages(rulebook, ledger)) if stages]
        + ([("日历提示", ledger.caveat)] if ledger.caveat else [])
        + [("超出 Excel 上限", notice) for notice in notices], f"说明 {heading}")
    book.close()
    return notices


class _Styles:
    """The cell formats of a ledger workbook (every data cell top-aligned, so that a row made
    tall by one wrapped cell reads from its top)."""

    def __init__(self, book):
        add = book.add_format
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
        self.text = add({"valign": "top"})
        self.wrap = add({"valign": "top", "text_wrap": True})
        self.when = add({"valign": "top", "num_format": "yyyy-mm-dd hh:mm:ss"})
        self.hours = add({"valign": "top", "num_format": "0.00"})  # never "0.##": Excel shows "80."
        self.number = add({"valign": "top"})
        self.left_number = add({"valign": "top", "align": "left"})
        self.highlight = add({"bg_color": "#FCE4D6"})
        self.title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.form = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.form_when = add({"border": 1, "valign": "top", "num_format": "yyyy-mm-dd hh:mm"})


# -- widths and heights: every text shown whole ---------------------------------------------------------------
WRAP_AT = 32        # a text column wider than this wraps at this width (rows grow to the lines needed)
TIME_WIDTH = 20     # yyyy-mm-dd hh:mm:ss


def _text_units(column: pd.Series) -> np.ndarray:
    """Each cell's width in character units, at least :func:`generators.paper.text_width` (a wide
    CJK character 2, ASCII 1), without a Python loop per character: a character of three or more
    bytes in UTF-8 counts 2 (a few narrow symbols so counted only widen the column). 0 if empty.
    A text column that repeats its values (units, verdicts, kinds) is measured once per distinct
    value (only a text dtype: in an object column 1, 1.0 and True would count as one value)."""
    if not isinstance(column.dtype, pd.StringDtype):
        return _units_of(column)
    head = column.iloc[:10_000]  # a column of free text (content, address) is not hashed whole to find out
    if 2 * head.nunique(dropna=False) >= len(head):
        return _units_of(column)
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    if 2 * len(distinct) >= len(column):
        return _units_of(column)
    units = np.append(_units_of(pd.Series(distinct, dtype=object)), 0)  # code -1 (missing): 0
    return units[codes]


def _units_of(column: pd.Series) -> np.ndarray:
    """:func:`_text_units` of every cell, one by one."""
    texts = pa.array(column.astype("string").fillna(""))  # Arrow text: no Python bytes object per cell
    chars = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    octets = pc.binary_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    return chars + (octets - chars + 1) // 2


def _lines(column: pd.Series, width: float, units: np.ndarray | None = None) -> np.ndarray:
    """Lines each cell of a text column wraps to in a column ``width`` wide (as
    :func:`generators.paper.lines_needed`, each paragraph apart); ``units``: the column's
    :func:`_text_units` when already known."""
    usable = max(1.0, width - 1.0)
    units = _text_units(column) if units is None else units
    lines = np.maximum(1, np.ceil(units * paper.WRAP_SLACK / usable)).astype(np.int64)
    texts = column.astype("string")
    several = texts.str.contains("\n", regex=False).fillna(False).to_numpy(bool)
    for k in np.flatnonzero(several):
        lines[k] = paper.lines_needed(texts.iloc[k], width)
    return lines


def _layout(frame: pd.DataFrame, labels: list[str]) -> tuple[list[float], list[bool], dict[int, np.ndarray]]:
    """Per column a width that shows its widest value whole and whether it wraps instead: a text
    column wider than :data:`WRAP_AT` wraps at that width. Times are :data:`TIME_WIDTH` wide, numbers
    as wide as their longest, and a header longer than its values wraps (its row grows). Also the
    wrapped columns' :func:`_text_units`, which :func:`_heights` needs again."""
    widths, wraps, measured = [], [], {}
    for j, label in enumerate(labels):
        column = frame.iloc[:, j]
        head = min(paper.text_width(label), 10)
        units = None
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            widest = TIME_WIDTH - 2
        elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            values = np.abs(pd.to_numeric(column, errors="coerce").to_numpy(float))
            top = np.nanmax(values) if len(values) and not np.isnan(values).all() else 0
            widest = len(f"{top:.2f}") + 1
        else:
            units = _text_units(column)
            widest = int(units.max()) if len(units) else 0
        width = max(widest, head, 4) + 2
        widths.append(float(min(width, WRAP_AT)))
        wraps.append(width > WRAP_AT)
        if wraps[-1] and units is not None:
            measured[j] = units
    return widths, wraps, measured


def _heights(frame: pd.DataFrame, widths: list[float], wraps: list[bool],
             measured: dict[int, np.ndarray] | None = None) -> np.ndarray | None:
    """Each row's height in points where a wrapped cell needs more than one line (NaN: the default
    height), as :func:`generators.paper.row_height` gives it; None when no row needs more.
    ``measured``: text units already worked out per column (:func:`_layout`)."""
    measured = measured or {}
    lines = np.ones(len(frame), dtype=np.int64)
    for j in np.flatnonzero(wraps):
        lines = np.maximum(lines, _lines(frame.iloc[:, j], widths[j], measured.get(j)))
    if not (lines > 1).any():
        return None
    return np.where(lines > 1, paper.lines_height(lines), np.nan)


def _header_row(sheet, row: int, labels, widths, style) -> None:
    """Write a header row, as tall as its longest wrapped label."""
    for j, label in enumerate(labels):
        sheet.write_string(row, j, label, style)
    sheet.set_row(row, paper.row_height(zip(labels, widths)))


def _ledger_sheet(book, name: str, rows: pd.DataFrame, styles: _Styles, heading: str) -> None:
    """One sheet of the 台账: its header, rows, filters, rows with a deduction highlighted, print
    setup (A3 landscape when the columns need it; those that do not fit go on over further pages
    across with the 工单号 column repeated)."""
    sheet = book.add_worksheet(name)
    labels = [CANONICAL_FIELDS.get(c, c) for c in rows.columns]
    widths, wraps, measured = _layout(rows, labels)
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width)
    _header_row(sheet, 0, labels, widths, styles.header)
    _write_rows(sheet, rows, 1, [_ledger_cells(sheet, rows[c], styles, wrap=w) for c, w in zip(rows.columns, wraps)],
                "写台账 / ledger rows", heights=_heights(rows, widths, wraps, measured))
    last_column = len(labels) - 1
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(rows), 1), last_column)
    amount_columns = [xl_col_to_name(list(rows.columns).index(c)) for c in AMOUNT_COLUMNS.values() if c in rows.columns]
    if amount_columns and len(rows):
        sheet.conditional_format(1, 0, len(rows), last_column, {
            "type": "formula", "criteria": "=OR(" + ",".join(f"${c}2>0" for c in amount_columns) + ")",
            "format": styles.highlight})
    paper.print_ready(sheet, widths, header_rows=(0, 0), repeat_columns=(0, 0), header=heading, allow_a3=True)


def _plain_sheet(book, name: str, frame: pd.DataFrame, styles: _Styles, heading: str, *, key: bool = False) -> None:
    """A sheet of rows under a header row (拒收, 长文本, 台账其他列): numbers as numbers, everything
    else as text, long text wrapped; print-ready with the header repeated (and with ``key`` the
    first column, the 工单号, on every page across)."""
    sheet = book.add_worksheet(name)
    labels = [CANONICAL_FIELDS.get(c, str(c)) for c in frame.columns]
    widths, wraps, measured = _layout(frame, labels)
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width)
    _header_row(sheet, 0, labels, widths, styles.header)
    _write_rows(sheet, frame, 1, [_ledger_cells(sheet, frame.iloc[:, j], styles, wrap=wraps[j])
                                  for j in range(frame.shape[1])], f"写{name}", heights=_heights(frame, widths, wraps, measured))
    sheet.freeze_panes(1, 1 if key else 0)
    paper.print_ready(sheet, widths, header_rows=(0, 0), repeat_columns=(0, 0) if key else None, header=heading,
                      allow_a3=key)


def _notes_sheet(book, styles: _Styles, lines: list[tuple[str, object]], heading: str) -> None:
    """The 说明 sheet: one fact a row, the value column wrapped (counts as numbers, left-aligned
    like the text beside them), on one page width of A4 portrait."""
    sheet = book.add_worksheet("说明")
    widths = [14, 56]  # one A4 portrait page wide even where LibreOffice draws columns wider than Excel
    sheet.set_column(0, 0, widths[0])
    sheet.set_column(1, 1, widths[1])
    for i, (key, value) in enumerate(lines):
        sheet.write_string(i, 0, key, styles.header)
        if isinstance(value, int):
            sheet.write_number(i, 1, value, styles.left_number)
        else:
            sheet.write_string(i, 1, str(value), styles.wrap)
        height = paper.row_height([(key, widths[0]), (str(value), widths[1])])
        if height > paper.row_height([]):
            sheet.set_row(i, height)
    paper.print_ready(sheet, widths, header=heading)


def untimed_stages(rulebook: Rulebook, ledger: Ledger) -> tuple[list[str], list[str]]:
    """``(absent, unmapped)``: stages the rulebook times by ticket fields that the export lacks
    (or leaves empty), and stages whose rows name no end field at all (the text sets a limit the
    ticket columns cannot show: 登记, 初步核实 …), which the ledger cannot time."""
    fields = stage_fields(rulebook)
    absent = [stage for stage in fields if stage not in ledger.stages]
    absent += [stage for stage in dict.fromkeys(b.stage for b in rulebook.bands)
               if f"{stage}得分" not in ledger.rows.columns]
    unmapped = [stage for stage in rulebook.stages if stage not in fields]
    return absent, unmapped


def _stage_counts(rows: pd.DataFrame, stage: str) -> str:
    """``考核 120 张(及时 100，超时 20)；不考核 30 张`` for one stage."""
    verdicts = rows[f"{stage}及时"]
    skipped = int((verdicts == NOT_ASSESSED).sum())
    late = int(verdicts.isin(["否", "超时未完成"]).sum())
    text = f"考核 {len(rows) - skipped} 张(及时 {int((verdicts == '是').sum())}，超时 {late}"
    text += f"，未完成 {int((verdicts == '未完成').sum())})" if (verdicts == "未完成").any() else ")"
    return text + (f"；不考核 {skipped} 张(见“{NOTES}”列)" if skipped else "")


APPENDIX3_SHEET = "附件3服务质量问题处理管理台账"
APPENDIX3_TITLE = "服务质量问题处理管理台账"
APPENDIX3_COLUMNS = ("序号", "受理人", "受理时间", "客户姓名", "客户电话", "客户地址", "服务质量问题内容",
                     "被抱怨/投诉部门、人员", "承办部门", "处理时限", "处理结果", "客户满意度(回访)", "备注")
# one A4 landscape page wide at the smallest print scale that keeps text at 8 pt (generators.paper)
APPENDIX3_WIDTHS = (5, 9, 16, 8, 13, 18, 28, 16, 12, 16, 23, 9, 22)


def appendix3_rows(ledger: Ledger) -> pd.DataFrame:
    """The tickets as seed 004's 附件3 (服务质量问题处理管理台账) lists them, one row each.

    Each column holds what the export says and nothing else: 受理人 the export's 受理人 (受理工号,
    受理员 ...), 处理结果 its 处理结果 (处理情况, 回复内容 ...), 客户满意度(回访) its satisfaction
    (回访满意度, 满意度 ...); a column the export lacks stays empty (a timeliness verdict is not a
    handling result). 被抱怨/投诉部门、人员 is the assessed unit and the handler (处理人); 承办部门 the
    unit; 处理时限 the deadline of the last stage the ticket is assessed at; 备注 the deduction's basis.
    """
    rows = ledger.rows
    blank = pd.Series("", index=rows.index, dtype=object)

    def text(field):
        return rows[field].fillna("").astype(str) if field in rows.columns else blank

    # per ticket the last stage it was assessed at (a stage marked 不考核 says nothing of its handling)
    deadline = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[s]")
    for stage in ledger.stages:
        mine = (rows[f"{stage}及时"] != NOT_ASSESSED).to_numpy(bool)
        deadline[mine] = rows[f"{stage}截止"][mine]
    unit, handler = text("unit"), text("handler")
    return pd.DataFrame({
        "序号": np.arange(1, len(rows) + 1), "受理人": text("receiver"),
        "受理时间": rows["dispatched_at"] if "dispatched_at" in rows.columns else pd.Series(pd.NaT, index=rows.index),
        "客户姓名": text("customer"), "客户电话": text("phone"), "客户地址": text("address"),
        "服务质量问题内容": text("content"), "被抱怨/投诉部门、人员": unit.str.cat(handler, sep="、").str.strip("、"),
        "承办部门": unit, "处理时限": deadline, "处理结果": text("result"), "客户满意度(回访)": text("satisfaction"),
        "备注": text(BASIS) if BASIS in rows.columns else blank,
    })


def _write_appendix3(book, ledger: Ledger, styles: _Styles, month: str, rulebook: Rulebook) -> None:
    """The 附件3 sheet: the form's title, its thirteen columns, the tickets, and the form's footer
    (continued on 附件3(续1) ... beyond the rows a sheet holds); the column header repeated on
    every printed page, rows as tall as their wrapped text."""
    last = len(APPENDIX3_COLUMNS) - 1
    widths = list(APPENDIX3_WIDTHS)
    table = appendix3_rows(ledger)
    wraps = [not pd.api.types.is_datetime64_any_dtype(table[c].dtype) and c != "序号" for c in table.columns]
    for k, (first, stop) in enumerate(row_parts(len(table), header_rows=2, footer_rows=4)):
        sheet = book.add_worksheet(part_name(APPENDIX3_SHEET, k))
        sheet.merge_range(0, 0, 0, last, f"{APPENDIX3_TITLE}({month_label(month)})", styles.title)
        sheet.set_row(0, 24)
        for j, width in enumerate(widths):
            sheet.set_column(j, j, width)
        _header_row(sheet, 1, list(APPENDIX3_COLUMNS), widths, styles.header)
        part = table.iloc[first:stop]
        _write_rows(sheet, part, 2, [_appendix3_cells(sheet, part.iloc[:, j], j in (2, 9), styles.form, styles.form_when)
                                     for j in range(len(part.columns))], "写附件3 / appendix 3", skip=_NOTHING,
                    heights=_heights(part, widths, wraps))
        end = len(part) + 2
        sheet.write_string(end + 1, 0, "备注:")
        sheet.write_string(end + 3, 0, "承办部门负责人签名:")
        sheet.freeze_panes(2, 1)
        paper.print_ready(sheet, widths, header_rows=(1, 1),
                          header=f"{APPENDIX3_TITLE} {month_label(month)} {rulebook.title}", allow_a3=True)


def progress_bar(total: int, what: str):
    """A progress bar of ``total`` rows on stderr for long runs at a terminal (none in pipes and
    tests); ``update(n)`` as rows are written."""
    from tqdm import tqdm

    return tqdm(desc=what, total=total, unit="行", disable=None if total >= 50_000 else True, leave=False)


# -- writing rows: a block of rows at a time, one conversion and one write method per column ------------------
_NOTHING = object()  # a ``skip`` value that no cell has: every cell is written


def _write_rows(sheet, frame: pd.DataFrame, first_row: int, columns, what: str, *, skip=None,
                heights: np.ndarray | None = None) -> None:
    """Write ``frame`` from sheet row ``first_row`` on, in blocks of :data:`CHUNK_ROWS` rows.

    ``columns[j](part)`` gives ``(values, write, cell_format)`` for column ``j`` of a block:
    the block's cells as Python values and the call ``write(row, col, value, cell_format)``
    that writes one; cells whose value is ``skip`` are left empty. ``heights`` (points per row
    of ``frame``, NaN for the default) sizes the rows whose wrapped text needs it. Rows go out
    in order, as constant-memory mode needs, and only one block is ever held as Python objects.
    """
    bar = progress_bar(len(frame), what)
    set_row = sheet.set_row
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        plan = [cells(part.iloc[:, j]) for j, cells in enumerate(columns)]
        calls = [(j, write, cell_format) for j, (_, write, cell_format) in enumerate(plan)]
        sizes = itertools.repeat(None) if heights is None else _floats(heights[start:start + len(part)])
        # one tuple of cells per row (zip), one call per cell that is not ``skip``
        for row, size, cells in zip(range(first_row + start, first_row + start + len(part)), sizes,
                                    zip(*[values for values, _, _ in plan])):
            if size is not None:
                set_row(row, size)
            for (j, write, cell_format), value in zip(calls, cells):
                if value is not skip:
                    write(row, j, value, cell_format)
        _forget_written_rows(sheet, max(first_row + start - 1, 0))
        bar.update(len(part))
    bar.close()


def _forget_written_rows(sheet, first: int) -> None:
    """Drop xlsxwriter's records of the rows from ``first`` that are already written out.

    In constant-memory mode a row goes to the sheet's file as soon as the next one starts, yet
    xlsxwriter keeps the height given by ``set_row`` for every row (``row_info``, ``row_sizes``:
    some 250 bytes a row, 250 MB for a million tickets over two sheets). Once the row is written
    they are read only to place images and charts, which these sheets have none of. Without
    constant memory (or in an xlsxwriter that names them otherwise) nothing is dropped."""
    if not getattr(sheet, "constant_memory", False):
        return
    written = getattr(sheet, "previous_row", 0)  # the row still open; every row above it is written
    for records in (getattr(sheet, "row_info", None), getattr(sheet, "row_sizes", None)):
        if isinstance(records, dict):
            for row in range(first, written):
                records.pop(row, None)


def _is_empty(value) -> bool:
    """A 台账 cell left empty: None, NaT, "" or NaN."""
    return value is None or value is pd.NaT or value == "" or (isinstance(value, float) and np.isnan(value))


def _texts(values) -> list | None:
    """Cells of a text column (str, NaN or None; None for an empty cell), or None when some
    value is not text (the column then takes the general path)."""
    cells = []
    append = cells.append
    for value in values:
        if type(value) is str:
            append(value or None)
        elif value is None or (type(value) is float and math.isnan(value)):
            append(None)
        else:
            return None
    return cells


_DAY_US = 86_400_000_000
_EPOCH_US = np.datetime64("1899-12-31", "us").astype(np.int64)  # xlsxwriter's epoch (1900 date system)


def excel_serials(values: np.ndarray) -> list:
    """Naive datetimes (a datetime64 array) as the Excel serial numbers ``write_datetime`` stores
    for them, bit for bit, computed for the whole array at once; None for NaT.

    As xlsxwriter's ``_datetime_to_excel_datetime``: to microseconds (as ``datetime64[us]`` →
    ``datetime.datetime`` truncates), whole days since 1899-12-31 plus (seconds + microseconds
    / 10⁶) / 86400 of the day, the same float operations in the same order; a day less on
    1900-01-01 and a day more after serial 59 (Excel's 29 February 1900)."""
    moments = values.astype("datetime64[us]")
    missing = np.isnat(moments)
    offset = np.where(missing, 0, moments.astype(np.int64) - _EPOCH_US)
    days, rest = np.divmod(offset, _DAY_US)
    seconds, micros = np.divmod(rest, 1_000_000)
    serials = days.astype(float) + (seconds.astype(float) + micros.astype(float) / 1e6) / 86400
    serials = np.where(days == 1, serials - 1, serials)  # 1900-01-01, as xlsxwriter's isocalendar test
    serials = np.where(serials > 59, serials + 1, serials)
    cells = serials.tolist()
    for k in np.flatnonzero(missing).tolist():
        cells[k] = None
    return cells


def _floats(values: np.ndarray) -> list:
    """A float array's cells: Python floats, None for NaN."""
    cells = values.tolist()
    for k in np.flatnonzero(np.isnan(values)).tolist():
        cells[k] = None
    return cells


def _ledger_cells(sheet, column: pd.Series, styles: _Styles, *, wrap: bool = False):
    """How a 台账 column's block is turned into cells: datetimes as datetimes, floats as numbers
    (hours with two decimals, other amounts as they are), integers as numbers, anything else as
    text (wrapped when ``wrap``); None for an empty cell (:func:`_is_empty`). Every cell top-aligned."""
    text_format = styles.wrap if wrap else styles.text

    def number_or_text(row, col, value, _format):
        if isinstance(value, (int, np.integer)):
            sheet.write_number(row, col, int(value), styles.number)
        else:
            sheet.write_string(row, col, str(value), text_format)

    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if isinstance(dtype, np.dtype):  # naive: the serial write_datetime would give, NaT → None
            return lambda part: (excel_serials(part.to_numpy()), sheet.write_number, styles.when)
        return lambda part: ([None if _is_empty(v) else pd.Timestamp(v).to_pydatetime() for v in part.to_numpy(object)],
                             sheet.write_datetime, styles.when)
    if pd.api.types.is_float_dtype(dtype):
        number_format = styles.hours if str(column.name).endswith(("小时", "历时")) else styles.number
        if isinstance(dtype, np.dtype):
            return lambda part: (_floats(part.to_numpy()), sheet.write_number, number_format)
        return lambda part: ([None if _is_empty(v) else float(v) for v in part.to_numpy(object)], sheet.write_number,
                             number_format)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return lambda part: (part.to_numpy().tolist(), sheet.write_number, styles.number)

    def cells(part):
        values = part.to_numpy(object)
        texts = _texts(values)
        if texts is not None:
            return texts, sheet.write_string, text_format
        return [None if _is_empty(v) else v for v in values], number_or_text, None
    return cells


def _appendix3_cells(sheet, column: pd.Series, dates: bool, cell, when):
    """How a 附件3 column's block is turned into cells: every cell written with a border;
    datetimes (and every value of the 受理时间 and 处理时限 columns, ``dates``) with ``when``,
    empty ones blank; integers as numbers; anything else as text."""
    def serial_or_blank(row, col, value, cell_format):
        if value is None:
            sheet.write_blank(row, col, None, cell_format)
        else:
            sheet.write_number(row, col, value, cell_format)

    def any_value(row, col, value, _format):
        if isinstance(value, (pd.Timestamp, np.datetime64)) or dates:
            if pd.isna(value):
                sheet.write_blank(row, col, None, when)
            else:
                sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), when)
        elif isinstance(value, (int, np.integer)):
            sheet.write_number(row, col, int(value), cell)
        else:
            text_or_blank(row, col, "" if _is_empty(value) else str(value), cell)

    dtype = column.dtype
    if dates and isinstance(dtype, np.dtype) and dtype.kind == "M":
        return lambda part: (excel_serials(part.to_numpy()), serial_or_blank, when)
    if not dates and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return lambda part: (part.to_numpy().tolist(), sheet.write_number, cell)

    def text_or_blank(row, col, value, cell_format):
        if value:
            sheet.write_string(row, col, value, cell_format)
        else:
            sheet.write_blank(row, col, None, cell_format)

    def cells(part):
        values = part.to_numpy(object)
        if not dates and all(type(v) is str for v in values):
            return values.tolist(), text_or_blank, cell
        return values.tolist(), any_value, None
    return cells
