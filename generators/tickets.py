"""Import of a month's ticket export (工单导出表): .xlsx or .csv, as assessors get them.

:func:`read_tickets` reads the file, finds the header row, maps the headers to the canonical
fields of :data:`udfs.rulebook.CANONICAL_FIELDS`, parses the time columns and checks every row.
Each row below the header ends in exactly one of four places:

* ``tickets``   accepted, one row per ticket (``read`` counts these and the rejected ones),
* ``rejected``  with file, row, column, value and reason (the 拒收 sheet),
* ``blank``     rows with no value at all (counted, not tickets),
* ``header_rows`` repeated header rows of exports that repeat the header per page (counted).

so ``read == len(tickets) + len(rejected)`` and ``read + blank + header_rows`` is every row
below the header. Rows above the header (titles, merged title cells) are not tickets.

The export is read as text columns (:mod:`generators.export_columns`: a workbook's sheets
streamed and read with array operations, a CSV by pyarrow) and checked column by column, never
a Python object per cell: ids and phone numbers keep their leading zeros, numbers stored as
text are trimmed (``" 3 "`` → ``"3"``, Excel ``3.0`` → ``"3"``), and text that looks like a
formula (``=HYPERLINK(...)``, ``@SUM(1)``, ``+1``) stays text, verbatim. Times in the export
form ``YYYY-MM-DD HH:MM:SS`` are read from their bytes; every other time goes through
:func:`udfs.moments.parse_moments` (Excel serials, typed Chinese dates) with its messages, and
is kept to the second. Text columns reach the tickets frame as pandas text backed by Arrow.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import math
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from xlsxwriter.utility import xl_col_to_name

from generators.export_columns import Columns, columns_of, read_columns
from generators.input_files import check_csv_size, open_workbook
from generators.memory import release_freed
from udfs import rulebook as rulebooks
from udfs.errors import ElementErrors, KaoheError
from udfs.moments import _civil_seconds, parse_moments
from udfs.rulebook import CANONICAL_FIELDS, Rulebook
from udfs.wording import month_label

# Common header spellings in carriers' exports, best first. A rulebook's [columns] comes
# before all of these; the canonical Chinese label (CANONICAL_FIELDS) before the aliases.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    # 序号 last: a 附件3 台账 (seed 004) numbers its rows and has no other id; any real id column wins
    "ticket_id": ("工单编号", "投诉单号", "投诉工单号", "工单流水号", "单号", "流水号", "编号", "序号"),
    "dispatched_at": ("派单时间", "受理时间", "建单时间", "派发时间", "工单受理时间", "派工时间"),
    "accepted_at": ("签收时间", "接单时间", "签单时间", "首次响应时间", "首响时间"),
    "replied_at": ("回复时间", "最终回复时间", "处理完成时间", "完成时间", "回单时间", "竣工回单时间"),
    "closed_at": ("归档时间", "结单时间", "结单日期", "关闭时间"),
    "visited_at": ("回访时间",),
    "notified_at": ("通知时间",),
    "unit": ("代维公司", "代维单位", "考核单位", "处理单位", "被考核单位", "处理工作组", "处理班组", "班组"),
    "handler": ("处理人", "处理人员", "维护人员"),
    "priority": ("紧急程度", "优先级", "工单级别"),
    "area": ("区域", "区县", "地区类型", "区域类型"),
    "kind": ("投诉类型", "工单类型", "投诉分类"),
    "suspended": ("挂起时段", "挂起时间"),
    "customer": ("客户姓名", "客户名称", "用户姓名"),
    "phone": ("联系电话", "客户电话", "手机号", "手机号码", "联系号码", "受理号码"),
    "address": ("客户地址",),
    "content": ("投诉内容", "问题描述"),
    "receiver": ("受理人", "受理工号", "受理员", "受理人员", "受理坐席"),
    "result": ("处理结果", "处理情况", "回复内容", "处理意见", "处理结果描述", "回单内容"),
    "satisfaction": ("客户满意度", "回访满意度", "满意度", "客户回访满意度"),
    "repeat": ("二次投诉", "重复投诉"),
    "party": ("人员类别", "人员性质", "人员类型"),
    "system_deadline": ("系统时限", "整体时限时间", "整体时限", "处理时限"),
    "time_limit": ("办理时限", "办理期限", "承诺时限"),
    "households": ("户数", "投诉户数", "涉及户数"),
}
REQUIRED_FIELDS = ("ticket_id", "dispatched_at")
TIME_FIELDS = ("dispatched_at", "accepted_at", "replied_at", "closed_at", "visited_at", "notified_at")
# Times that cannot lie before the dispatch (notified_at may: a splice notice precedes the order).
AFTER_DISPATCH = ("accepted_at", "replied_at", "closed_at", "visited_at")
# The system's own deadline (系统时限) is not a time the import checks: the ledger reads it and
# lists where it differs from the rulebook's deadline, so an unreadable one rejects no ticket.
# Identifier-like text: surrounding whitespace is noise and is trimmed. Free text (content,
# customer, address, result, suspended, extra columns) is kept exactly as written.
TRIMMED_FIELDS = ("ticket_id", "unit", "handler", "receiver", "kind", "priority", "area", "phone", "satisfaction",
                  "party", "system_deadline", "time_limit", "households")
FLAG_TRUE = ("是", "Y", "YES", "TRUE", "1", "√", "✓", "有")
FLAG_FALSE = ("否", "N", "NO", "FALSE", "0", "×", "✗", "无")
HEADER_SCAN_ROWS = 50
SOURCE_ROW = "source_row"
SOURCE_FILE = "source_file"  # file and sheet of each ticket, when several sheets were read
REJECTED_COLUMNS = ("源文件", "源行号", "工单号", "列", "原值", "原因")
_TEXT_DTYPE = pd.StringDtype(na_value=np.nan)  # what pandas makes of a column of text with gaps (in Arrow)


@dataclasses.dataclass(frozen=True)
class SheetCounts:
    """What one sheet of an export gave: its name ("" for a CSV), whether it is hidden, its
    header row (1-based) and its rows read, accepted, rejected, blank and repeated headers."""

    name: str
    hidden: bool
    header_row: int
    read: int
    accepted: int
    rejected: int
    blank: int
    header_rows: int
    outside: tuple[tuple[str, int], ...] = ()  # (YYYY-MM, rows) of the rows dispatched outside the month

    def label(self) -> str:
        return (f"工作表“{self.name}”" if self.name else "") + ("(隐藏)" if self.hidden else "")


@dataclasses.dataclass
class TicketImport:
    """One imported export: every sheet whose header has the required columns, together.

    ``tickets``: accepted rows, canonical field names (only the fields the file has), time
    fields as ``datetime64[s]``, ``repeat`` as bool, other fields as text (None = empty),
    unknown columns under their original header, ``source_row`` (the row number a user sees
    in Excel, 1-based) and, when several sheets were read, ``source_file`` (file and sheet).
    ``rejected``: columns 源文件, 源行号, 工单号, 列 (original header), 原值, 原因. ``columns``
    maps each canonical field to the header it came from. ``sheets`` counts each sheet read;
    ``skipped`` names the sheets with content that were not read, and why.
    """

    path: Path
    encoding: str
    columns: dict[str, str]
    tickets: pd.DataFrame
    rejected: pd.DataFrame
    sheets: tuple[SheetCounts, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def read(self) -> int:
        return sum(s.read for s in self.sheets)

    @property
    def blank(self) -> int:
        return sum(s.blank for s in self.sheets)

    @property
    def header_rows(self) -> int:
        return sum(s.header_rows for s in self.sheets)

    @property
    def accepted(self) -> int:
        return len(self.tickets)

    def month_doubt(self, month: str) -> str:
        """A warning when most rows read were dispatched outside ``month`` (the month given is
        probably wrong), naming the month most of them are in; "" otherwise."""
        outside: dict[str, int] = {}
        for sheet in self.sheets:
            for other, count in sheet.outside:
                outside[other] = outside.get(other, 0) + count
        total = sum(outside.values())
        if not self.read or total * 2 <= self.read:
            return ""
        likely = max(outside, key=outside.get)
        return (f"{total} 行({total / self.read:.1%})的派单时间不在考核月份 {month_label(month)} 内，"
                f"其中 {outside[likely]} 行在 {month_label(likely)}；"
                f"请确认考核月份(--month)是否正确 / {total} of {self.read} rows lie outside {month} "
                f"({outside[likely]} in {likely}): is the month right?")

    @property
    def reconciles(self) -> bool:
        """True when every ticket row read is either accepted or rejected."""
        return self.read == len(self.tickets) + len(self.rejected)

    def summary(self) -> str:
        """Lines for the console: the counts and how they reconcile (Chinese / English), per sheet
        when several were read; hidden sheets and sheets not read are named."""
        balance = "" if self.reconciles else "  ！不平衡 / does not reconcile"
        lines = [f"{self.path.name}: 读入 {self.read} 行 = 入账 {self.accepted} 行 + 拒收 {len(self.rejected)} 行;"
                 f" 另有空行 {self.blank} 行、重复表头 {self.header_rows} 行"
                 + (f"(表头在第 {self.sheets[0].header_row} 行)" if len(self.sheets) == 1 else "")
                 + f" / read {self.read} = accepted {self.accepted} + rejected {len(self.rejected)};"
                 f" blank {self.blank}, repeated headers {self.header_rows}{balance}"]
        if len(self.sheets) > 1 or any(s.hidden for s in self.sheets):
            lines += [f"  {s.label()}: 读入 {s.read} 行(入账 {s.accepted}，拒收 {s.rejected})，表头在第 {s.header_row} 行"
                      for s in self.sheets]
        hidden = [f"工作表“{s.name}”" for s in self.sheets if s.hidden]
        if hidden:
            lines.append(f"  ！ {'、'.join(hidden)}是隐藏的工作表，其中的工单也已读入；如不应考核，请删除该表后重新生成"
                         " / hidden sheets were read too")
        lines += [f"  ！ 工作表“{name}”未读取: {why} / sheet {name!r} not read" for name, why in self.skipped]
        return "\n".join(lines)


# -- headers -----------------------------------------------------------------------------------
def header_key(text) -> str:
    """A header cell as compared: NFKC (full-width brackets → ASCII), no whitespace or ``*``, lower case."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return re.sub(r"[\s*]+", "", unicodedata.normalize("NFKC", str(text))).lower()


def known_headers(rulebook: Rulebook | None = None) -> dict[str, tuple[str, int]]:
    """``{header_key: (field, rank)}``: every header spelling recognised, lower rank preferred.

    Rank 0: the rulebook's ``[columns]``; 1: the canonical Chinese label; 2…: the common
    spellings of :data:`HEADER_ALIASES` in order; last: the field id itself (``ticket_id``).
    """
    known: dict[str, tuple[str, int]] = {}
    for field in CANONICAL_FIELDS:
        known.setdefault(header_key(field), (field, 99))
    for field, aliases in HEADER_ALIASES.items():
        for rank, alias in enumerate(aliases, start=2):
            known[header_key(alias)] = (field, rank)
    for field, label in CANONICAL_FIELDS.items():
        known[header_key(label)] = (field, 1)
    for header, field in (rulebook.columns if rulebook is not None else ()):
        known[header_key(header)] = (field, 0)
    return known


def _find_header(keys: pd.DataFrame, known: dict) -> int:
    """Position of the header row among ``keys`` (header keys of the first rows): the first
    row naming every required field, else the first naming two or more fields (it then lacks
    a required one), else -1."""
    fallback = -1
    for position in range(len(keys)):
        fields = {known[k][0] for k in keys.iloc[position] if k in known}
        if all(f in fields for f in REQUIRED_FIELDS):
            return position
        if len(fields) >= 2 and fallback < 0:
            fallback = position
    return fallback


def _map_columns(header: list[str], known: dict) -> tuple[dict[int, str], dict[int, str]]:
    """``({column: field}, {column: extra name})``: each field from its best-ranked header
    (ties: leftmost); every other non-empty column kept under its original header."""
    best: dict[str, tuple[int, int]] = {}
    for position, text in enumerate(header):
        key = header_key(text)
        if key in known:
            field, rank = known[key]
            if field not in best or rank < best[field][0]:
                best[field] = (rank, position)
    fields = {position: field for field, (_, position) in best.items()}
    extras: dict[int, str] = {}
    taken = set(CANONICAL_FIELDS) | {SOURCE_ROW, SOURCE_FILE}
    for position, text in enumerate(header):
        if position in fields:
            continue
        name = text.strip() or f"列{xl_col_to_name(position)}"
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        extras[position] = candidate
    return fields, extras


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def id_keys(ids) -> pd.Series:
    """Ticket ids as the duplicate check compares them: NFKC (full-width ＴＳ１ = TS1), invisible
    characters (zero-width space, BOM, direction marks) removed, surrounding space trimmed. The ids
    themselves are kept as typed."""
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        values = pd.Series(pd.array(ids, dtype=_TEXT_DTYPE))
    elif isinstance(ids, pd.Series) and isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow":
        values = ids.reset_index(drop=True).astype(_TEXT_DTYPE)
    else:
        values = pd.Series(np.asarray(ids, dtype=object), dtype=object).fillna("").astype(str).astype(_TEXT_DTYPE)
    values = values.fillna("")  # text kept in Arrow: no Python object per id
    keys = values.str.strip()  # ASCII text is its own NFKC form and holds no invisible characters
    other = ~values.str.isascii().to_numpy(bool)
    if other.any():
        keys[other] = values[other].map(lambda text: _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip())
    return keys


def repeated_keys(keys: pd.Series) -> np.ndarray:
    """Keys (:func:`id_keys`) seen in an earlier row: ``keys.duplicated()``, answered by one
    count of distinct keys when there are none (a month's export, as a rule)."""
    if pc.count_distinct(pa.array(keys.array), mode="all").as_py() == len(keys):  # id_keys gives Arrow text
        return np.zeros(len(keys), dtype=bool)
    return keys.duplicated(keep="first").to_numpy()


# -- reading the grid --------------------------------------------------------------------------
def _decode(data: bytes, path: Path, kind: str = "工单文件") -> tuple[str, str]:
    """Text and encoding of a CSV file: UTF-8 with BOM, UTF-16 with BOM, UTF-8, else GB18030.
    Bytes the encoding cannot read are refused naming the line they are on."""
    if data.startswith(codecs.BOM_UTF8):
        candidates, body = ("utf-8",), data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates, body = ("utf-16",), data
    else:
        candidates, body = ("utf-8", "gb18030"), data
    failure = None
    for encoding in candidates:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as err:
            failure = failure or err  # the first reading's failure: a UTF-8 file with one bad byte
            continue
        return text, "utf-8-sig" if body is not data and encoding == "utf-8" else encoding
    line = body[:failure.start].count(b"\n") + 1
    bad = body[failure.start:failure.end].hex(" ").upper()
    named = "、".join(c.upper() for c in candidates)
    raise KaoheError(f"{kind} {path.name}: 第{line}行(文本行)有无法识别的字节 {bad}(按 {named} 都无法解码)；"
                     "请用 Excel 或记事本另存为 UTF-8 或 GB18030 编码后重新导入",
                     f"{path.name}: line {line} holds bytes {bad} that {', '.join(candidates)} cannot decode")


def _read_csv(path: Path, kind: str = "工单文件") -> tuple[pd.DataFrame, str]:
    """Every cell of a CSV file as text ("" = empty), one frame row per CSV record (the row
    number Excel shows: a quoted line break stays inside its record); short rows are padded."""
    check_csv_size(path, kind)
    try:
        text, encoding = _decode(path.read_bytes(), path, kind)
    except OSError as err:
        raise KaoheError(f"{kind} {path.name}: 无法读取", f"{path.name}: cannot read ({err})") from err
    sample = text[:20_000]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records, last_start, previous_end = [], 0, 0  # last_start: physical lines before the last record
    try:
        for record in reader:
            if records:
                last_start = previous_end
            previous_end = reader.line_num
            records.append(record)
    except csv.Error as err:
        raise KaoheError(f"{kind} {path.name}: CSV 格式错误({err})", f"{path.name}: malformed CSV: {err}") from err
    if records and any("\n" in field or "\r" in field for field in records[-1]):
        _refuse_unclosed_quote(text, delimiter, last_start, len(records), path, kind)
    width = max(map(len, records), default=0)
    records = [r if len(r) == width else r + [""] * (width - len(r)) for r in records]
    return pd.DataFrame(records, dtype=object), encoding


def _refuse_unclosed_quote(text: str, delimiter: str, start: int, row: int, path: Path, kind: str) -> None:
    """A quote that never closes makes the rest of the file one cell of one record (the csv module
    reads to the end): refuse the file, naming the row, instead of silently reading one ticket."""
    tail = "".join(text.splitlines(keepends=True)[start:])
    try:
        for _ in csv.reader(io.StringIO(tail), delimiter=delimiter, strict=True):
            pass
    except csv.Error as err:
        if "end of data" in str(err):
            raise KaoheError(f"{kind} {path.name} 第{row}行(文件第{start + 1}行): 引号没有闭合，"
                             "此后到文件末尾会被当作一个单元格；请修正该行的引号后重新导入",
                             f"{path.name}: row {row} (line {start + 1}) opens a quote that never closes; "
                             "fix it and import again") from None


def _xlsx_sheets(path: Path, kind: str = "工单文件"):
    """``(sheet name, grid, hidden)`` for each sheet of a workbook: raw cell values ("" = empty)
    as python-calamine reads them (str, float, int, bool, datetime, ...), row 0 = sheet row 1.
    The workbook's size and every sheet's area are checked before any sheet is read
    (:func:`generators.input_files.open_workbook`).

    python-calamine is called directly, not through ``pandas.read_excel(engine="calamine")``:
    the same reader, without pandas' per-cell conversion (which costs more than the read)."""
    book, sheets = open_workbook(path, kind)
    hidden = {s.name: s.hidden for s in sheets}
    for name in book.sheet_names:
        try:
            cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as err:
            raise KaoheError(f"{kind} {path.name}: 工作表“{name}”无法读取({err})",
                             f"{path.name}: cannot read sheet {name!r}: {err}") from err
        yield str(name), pd.DataFrame(cells, dtype=object), hidden.get(name, False)


def read_grids(path, kind: str = "工单文件"):
    """``(encoding, sheets)`` of a .csv or .xlsx/.xlsm file: ``sheets`` yields ``(sheet, grid,
    hidden)`` for each sheet, ``grid`` the raw cells, row 0 = the file's first row (one sheet
    named "" for a CSV; a workbook's sheets are read one at a time, as they are asked for);
    ``encoding`` is the CSV's ("" for a workbook). ``kind`` names the file in messages (工单文件,
    考核记录 ...)."""
    path = Path(path)
    if not path.is_file():
        raise KaoheError(f"{kind}不存在: {path}", f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        grid, encoding = _read_csv(path, kind)
        return encoding, iter([("", grid, False)])
    if suffix in (".xlsx", ".xlsm"):
        return "", _xlsx_sheets(path, kind)
    raise KaoheError(f"{kind} {path.name}: 不支持的文件类型“{path.suffix}”(应为 .xlsx 或 .csv)",
                     f"{path.name}: unsupported file type {path.suffix!r} (use .xlsx or .csv)")


# -- cell values -------------------------------------------------------------------------------
def _cell_text(value) -> str:
    """One raw cell as the text a user sees: 3.0 → "3", datetimes as ``YYYY-MM-DD HH:MM:SS``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, pd.Timestamp) and pd.isna(value):
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _texts(values: np.ndarray) -> np.ndarray:
    """Raw cells as an object array of text ("" = empty) (the workbook's pasted rows)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return np.array([v if isinstance(v, str) else _cell_text(v) for v in values], dtype=object)


def _moments(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(datetime64[s], messages)`` for one time column of raw cells; messages are
    :func:`udfs.moments.parse_moments`' own.

    Real datetimes are rounded to the nearest second (Excel stores them as fractional days,
    as parse_moments rounds serials); everything else goes through parse_moments.
    """
    out = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[s]")
    messages = np.full(len(raw), "", dtype=object)
    stamps = np.array([type(v) in _STAMPS for v in raw], dtype=bool)
    if stamps.any():
        ms = pd.to_datetime(pd.Series(raw[stamps], dtype=object)).to_numpy("datetime64[ms]").astype(np.int64)
        out[stamps] = np.floor_divide(ms + 500, 1000).astype("datetime64[s]")
    rest = ~stamps
    try:
        out[rest] = parse_moments(raw[rest])
    except ElementErrors as err:
        out[rest] = err.values
        messages[rest] = err.messages
    return out, messages


_STAMPS = (dt.datetime, pd.Timestamp)


def _flags(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(bool, messages)`` for a yes/no column of text such as 二次投诉 (是/否, 1/0, Y/N, ...; empty = 否)."""
    keys = pc.utf8_upper(_trimmed(texts))
    yes = _numpy(pc.is_in(keys, pa.array(FLAG_TRUE)))
    ok = yes | _numpy(pc.is_in(keys, pa.array(FLAG_FALSE))) | _empty_text(keys)
    allowed = "、".join(f"{a}/{b}" for a, b in zip(FLAG_TRUE, FLAG_FALSE))
    messages = np.full(len(texts), "", dtype=object)
    bad = np.flatnonzero(~ok)
    messages[bad] = [f"取值无法识别: {v.strip()}(可用: {allowed})" for v in texts.take(bad).to_pylist()]
    return yes, messages


def _is_header(cells: np.ndarray, header: str) -> np.ndarray:
    """Cells that repeat the header text (compared as :func:`header_key`)."""
    key, longest = header_key(header), len(header) + 8
    return np.array([isinstance(c, str) and len(c) <= longest and header_key(c) == key for c in cells], dtype=bool)


def _empty(cells: np.ndarray) -> np.ndarray:
    """Cells with no value: None, NaN, or text of whitespace only."""
    def empty(cell) -> bool:
        if isinstance(cell, str):
            return not cell or cell.isspace()
        return cell is None or (isinstance(cell, float) and math.isnan(cell))

    return np.array([empty(c) for c in cells], dtype=bool)


def _priority_rules(rulebook: Rulebook | None) -> tuple[tuple[str, ...], bool]:
    """``(allowed priorities, required)`` from the rulebook's time limits: allowed is empty
    when no limit is keyed by priority; required when some stage has no row for any priority."""
    if rulebook is None:
        return (), False
    allowed = tuple(dict.fromkeys(p for row in rulebook.time_limits for p in row.priority))
    required = any(all(row.priority for row in rulebook.time_limits if row.stage == stage)
                   for stage in rulebook.stages) if allowed else False
    return allowed, required


def _month_bounds(month: str | None) -> tuple[np.datetime64, np.datetime64] | None:
    if month is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", str(month)) or not 1 <= int(str(month)[5:]) <= 12:
        raise KaoheError(f"考核月份应写成 YYYY-MM(如 2026-10)，实际为: {month}",
                         f"the month must be YYYY-MM (e.g. 2026-10), got {month!r}")
    first = np.datetime64(month, "M")
    return first.astype("datetime64[s]"), (first + 1).astype("datetime64[s]")


# -- the import --------------------------------------------------------------------------------
def read_tickets(path, *, rulebook: Rulebook | str | None = None, month: str | None) -> TicketImport:
    """Import one export (.xlsx/.xlsm or .csv) of the assessed ``month`` (``YYYY-MM``).

    ``rulebook`` (a :class:`~udfs.rulebook.Rulebook` or its name) adds its ``[columns]``
    header spellings and, when its time limits are keyed by priority, makes an unknown
    priority a rejection. ``month=None`` skips the month check. Raises
    :class:`~udfs.errors.KaoheError` naming the file when it cannot be used at all (unknown
    extension, no header row, required column missing); bad rows never raise, they are
    rejected with a reason.
    """
    path = Path(path)
    if isinstance(rulebook, str):
        rulebook = rulebooks.load(rulebook)
    bounds = _month_bounds(month)
    encoding, found, skipped = _ticket_sheets(path, rulebook)
    parts = [_import(path, sheet, hidden, grid, position, header, fields, extras, rulebook, bounds, month)
             for sheet, hidden, grid, position, header, fields, extras in found]
    imported = _combine(path, encoding, parts, skipped)
    release_freed()  # the export's columns read but not kept, and the checks' working arrays
    return imported


def _sources(path: Path, columnar: bool):
    """``(encoding, sheets)``: each sheet as ``(sheet, hidden, head, has_content, body)``: ``head``
    the first rows as an object matrix, ``has_content()`` whether any cell has a value, ``body``
    the sheet itself (a :class:`~generators.export_columns.Columns` when ``columnar``, else the
    grid of raw cells)."""
    if columnar:
        found = read_columns(path) if path.is_file() else None
        if found is None:  # a CSV the columnar reader cannot take exactly: read it slowly, same result
            encoding, grids = read_grids(path)
            found = encoding, (columns_of(grid, sheet, hidden) for sheet, grid, hidden in grids)
        encoding, sheets = found
        return encoding, ((c.name, c.hidden, c.head(HEADER_SCAN_ROWS),
                           lambda c=c: not all(_blank_text(column).all() for column in c.columns), c)
                          for c in sheets)
    encoding, grids = read_grids(path)
    return encoding, ((sheet, hidden, grid.head(HEADER_SCAN_ROWS).to_numpy(object),
                       lambda g=grid: not _empty(g.to_numpy(object).reshape(-1)).all(), grid)
                      for sheet, grid, hidden in grids)


def _ticket_sheets(path: Path, rulebook: Rulebook | None, *, columnar: bool = True):
    """``(encoding, sheets, skipped)``: every sheet whose header row has the required columns as
    ``(sheet, hidden, body, header position, header, fields, extras)`` (``body`` as
    :func:`_sources` gives it), and the sheets with content that have none, with the reason.
    Raises when no sheet has a usable header."""
    known = known_headers(rulebook)
    encoding, sources = _sources(path, columnar)
    found, skipped, first_problem = [], [], None
    for sheet, hidden, head, has_content, body in sources:
        keys = pd.DataFrame(head, dtype=object).map(header_key)
        position = _find_header(keys, known)
        if position < 0:
            first_problem = first_problem or (sheet, None)
            if has_content():
                skipped.append((sheet, f"前{HEADER_SCAN_ROWS}行中没有工单表头"))
            continue
        header = [_cell_text(v).strip() for v in head[position]]
        fields, extras = _map_columns(header, known)
        missing = [f for f in REQUIRED_FIELDS if f not in fields.values()]
        if missing:
            first_problem = first_problem or (sheet, (position, missing))
            skipped.append((sheet, f"第{position + 1}行表头缺少 {'、'.join(CANONICAL_FIELDS[f] for f in missing)}"))
            continue
        found.append((sheet, hidden, body, position, header, fields, extras))
    if found:
        return encoding, found, skipped

    where = f"{path.name}" + (f" 工作表“{first_problem[0]}”" if first_problem and first_problem[0] else "")
    if first_problem and first_problem[1]:
        position, missing = first_problem[1]
        names = "、".join(CANONICAL_FIELDS[f] for f in missing)
        spellings = "; ".join(f"{CANONICAL_FIELDS[f]}: {'/'.join(HEADER_ALIASES[f])}" for f in missing)
        raise KaoheError(f"工单文件 {where} 第{position + 1}行表头缺少必需的列: {names}(可用的写法 {spellings}，"
                         "或在考核办法的 [columns] 中映射)",
                         f"{path.name}: the header row {position + 1} lacks required column(s) "
                         f"{', '.join(missing)}; map other spellings in the rulebook's [columns]")
    raise KaoheError(f"工单文件 {where}: 前{HEADER_SCAN_ROWS}行中找不到表头(应含 工单号、派单时间 等列名)",
                     f"{path.name}: no header row (with 工单号, 派单时间, ...) in the first {HEADER_SCAN_ROWS} rows")


def pasted_rows(path, rulebook: Rulebook | None = None) -> dict[str, np.ndarray]:
    """The ticket rows of an export as they would stand in one sheet after pasting every sheet
    :func:`read_tickets` reads, one under the other: canonical field → raw cell values ("" =
    empty), each sheet's columns found by its own header, blank rows and repeated headers left
    out. Rejected rows stay: the workbook's formulas judge them."""
    _, found, _ = _ticket_sheets(Path(path), rulebook, columnar=False)
    parts = []
    for _, _, grid, position, header, fields, _ in found:
        body = grid.iloc[position + 1:].to_numpy(object)
        blank, repeated = _row_kinds({j: body[:, j] for j in range(body.shape[1])}, header,
                                     {field: j for j, field in fields.items()})
        keep = ~blank & ~repeated
        parts.append({field: body[keep, j] for j, field in fields.items()})
    fields = list(dict.fromkeys(f for part in parts for f in part))
    return {field: np.concatenate([part.get(field, np.full(len(next(iter(part.values()))), "", dtype=object))
                                   for part in parts]) for field in fields}


def _combine(path: Path, encoding: str, parts: list, skipped: list) -> TicketImport:
    """One import of the sheets read (``parts``: ``(counts, columns, tickets, rejected)`` each).
    A ticket id already accepted from an earlier sheet is a duplicate like one within a sheet."""
    counts = [p[0] for p in parts]
    if len(parts) == 1:
        _, columns, tickets, rejected = parts[0]
        return TicketImport(path, encoding, columns, tickets, rejected, tuple(counts), tuple(skipped))
    columns = {}
    for _, named, _, _ in parts:
        columns.update({f: h for f, h in named.items() if f not in columns})
    sources = [f"{path.name} 工作表“{c.name}”" for c in counts]
    tickets = pd.concat([t.assign(**{SOURCE_FILE: source}) for (_, _, t, _), source in zip(parts, sources)],
                        ignore_index=True)
    for column in tickets.columns[tickets.dtypes == object]:  # a column one sheet lacks: empty, as in a sheet
        tickets[column] = tickets[column].where(tickets[column].notna(), None)
    rejected = [r.assign(源文件=source) for (_, _, _, r), source in zip(parts, sources)]
    keys = id_keys(tickets["ticket_id"])
    again = repeated_keys(keys)
    if again.any():
        first = tickets.groupby(keys.to_numpy(), sort=False)[[SOURCE_FILE, SOURCE_ROW]].transform("first")
        header = columns["ticket_id"]
        rejected.append(pd.DataFrame({
            "源文件": tickets[SOURCE_FILE][again].to_numpy(object), "源行号": tickets[SOURCE_ROW][again].to_numpy(),
            "工单号": tickets["ticket_id"][again].to_numpy(object), "列": header,
            "原值": tickets["ticket_id"][again].to_numpy(object),
            "原因": [f"工单号重复(与{source} 第 {row} 行相同)" for source, row in
                   zip(first[SOURCE_FILE][again], first[SOURCE_ROW][again])],
        }, columns=list(REJECTED_COLUMNS)))
        moved = [int((again & (tickets[SOURCE_FILE] == source).to_numpy()).sum()) for source in sources]
        counts = [dataclasses.replace(c, accepted=c.accepted - k, rejected=c.rejected + k) for c, k in zip(counts, moved)]
        tickets = tickets[~again].reset_index(drop=True)
    return TicketImport(path, encoding, columns, tickets, pd.concat(rejected, ignore_index=True), tuple(counts),
                        tuple(skipped))


def _row_kinds(cells: dict[int, np.ndarray], header: list[str], by_field: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(blank, repeated)`` of the rows below a header (``cells``: column → values): rows with no
    value at all, and rows repeating the header (工单号 and 派单时间 read as their headers)."""
    count = len(next(iter(cells.values()))) if cells else 0
    blank = np.ones(count, dtype=bool)
    for values in cells.values():  # each column only looks at the rows still blank so far
        candidates = np.flatnonzero(blank)
        blank[candidates] = _empty(values[candidates])
    id_col, dispatch_col = by_field["ticket_id"], by_field["dispatched_at"]
    repeated = ~blank & _is_header(cells[id_col], header[id_col]) & _is_header(cells[dispatch_col], header[dispatch_col])
    return blank, repeated


# -- columns of text (the import's fast path) -----------------------------------------------------
_WHITESPACE = r"[\s\x{0b}\p{Z}\x{85}\x{1c}-\x{1f}]+"  # what Python's str.isspace() calls whitespace
_NUMBER = r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$"
_FRACTION_MOMENT = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+$"  # how a workbook's datetime with milliseconds reads


def _numpy(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


def _array(column) -> pa.Array:
    """One array of a chunked one (what ``replace_with_mask`` takes as replacements)."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _empty_text(column: pa.Array) -> np.ndarray:
    return _numpy(pc.equal(pc.binary_length(column), 0))  # several times faster than comparing with ""


def _blank_text(column: pa.Array) -> np.ndarray:
    """Text cells with no value: empty or whitespace only."""
    return _empty_text(column) | _numpy(pc.utf8_is_space(column))


def _trimmed(column: pa.Array) -> pa.Array:
    """Surrounding whitespace removed; only the cells that start or end with whitespace are touched."""
    edges = pc.or_(pc.utf8_is_space(pc.utf8_slice_codeunits(column, 0, 1)),
                   pc.utf8_is_space(pc.utf8_slice_codeunits(column, -1)))
    where = np.flatnonzero(_numpy(edges.fill_null(False)))
    if not len(where):
        return column
    mask = np.zeros(len(column), dtype=bool)
    mask[where] = True
    return pc.replace_with_mask(column, pa.array(mask), _array(pc.utf8_trim_whitespace(column.take(where))))


def _repeats_header(column: pa.Array, header: str) -> np.ndarray:
    """Text cells that repeat the header text (compared as :func:`header_key`); only short cells
    (and, for a header without digits, cells without digits) are compared one by one."""
    key, longest = header_key(header), len(header) + 8
    where = np.flatnonzero(_numpy(pc.less_equal(pc.utf8_length(column), longest)))
    if len(where) and not any(c.isdigit() for c in key):
        where = where[~_numpy(pc.match_substring_regex(column.take(where), r"\d"))]
    repeats = np.zeros(len(column), dtype=bool)
    repeats[where] = [header_key(text) == key for text in column.take(where).to_pylist()]
    return repeats


def _raw_moments(column: pa.Array, typed: bool) -> np.ndarray:
    """A time column's cells as :func:`_moments` takes them: text, and for a workbook the Excel
    serials (numbers) as floats and datetimes with milliseconds as timestamps."""
    raw = column.to_numpy(zero_copy_only=False)
    if not typed:
        return raw
    numbers = np.flatnonzero(pc.match_substring_regex(column, _NUMBER).to_numpy(zero_copy_only=False))
    if len(numbers):
        raw[numbers] = column.take(numbers).cast(pa.float64()).to_numpy(zero_copy_only=False).astype(object)
    fractions = np.flatnonzero(pc.match_substring_regex(column, _FRACTION_MOMENT).to_numpy(zero_copy_only=False))
    if len(fractions):
        stamps = pd.to_datetime(pd.Series(raw[fractions], dtype=object), format="%Y-%m-%d %H:%M:%S.%f", errors="coerce")
        raw[fractions] = np.where(stamps.isna(), raw[fractions], stamps.astype(object).to_numpy())
    return raw


_BLOCK_ROWS = 1 << 16  # rows of a time column read from their bytes at a time
_EXPORT_SHAPE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"  # how most exports, and a workbook's datetimes read as text, write a time


def _export_form(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(datetime64[s], read)`` for the cells of a text column written exactly ``YYYY-MM-DD
    HH:MM:SS`` with a real date and time (up to 24:00:00), read from their bytes a block of
    rows at a time (the working arrays stay small); every other cell is left (NaT, not read)."""
    out = np.full(len(column), np.datetime64("NaT"), dtype="datetime64[s]")
    read = np.zeros(len(column), dtype=bool)
    shaped = _numpy(pc.match_substring_regex(column, _EXPORT_SHAPE))
    for start in range(0, len(column), _BLOCK_ROWS):
        where = start + np.flatnonzero(shaped[start:start + _BLOCK_ROWS])
        if len(where):
            moments, valid = _export_moments(_array(column.take(where)))
            out[where[valid]] = moments[valid]
            read[where[valid]] = True
    return out, read


def _export_moments(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(datetime64[s], valid)`` of texts of 19 bytes each shaped ``YYYY-MM-DD HH:MM:SS``."""
    first = int(np.frombuffer(texts.buffers()[1], np.int32)[texts.offset])
    codes = np.frombuffer(texts.buffers()[2], np.uint8)[first:first + 19 * len(texts)].reshape(-1, 19)

    def number(*positions):
        value = np.zeros(len(texts), dtype=np.int64)
        for p in positions:
            value = value * 10 + (codes[:, p].astype(np.int64) - 48)
        return value

    seconds, valid = _civil_seconds(number(0, 1, 2, 3), number(5, 6), number(8, 9),  # parse_moments' rule
                                    number(11, 12), number(14, 15), number(17, 18))
    return seconds.astype("datetime64[s]"), valid


def _column_moments(column: pa.Array, typed: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(datetime64[s], messages)`` of a time column of text: the export form at once
    (:func:`_export_form`); every other cell through :func:`_moments` (parse_moments' forms and
    messages)."""
    out, read = _export_form(column)
    messages = np.full(len(column), "", dtype=object)
    rest = np.flatnonzero(~read & ~_empty_text(column))
    if len(rest):
        out[rest], messages[rest] = _moments(_raw_moments(column.take(rest), typed))
    return out, messages




def _kept(column, keep: np.ndarray):
    """The rows of ``column`` where ``keep``: a block of rows with every row kept is reused as it is
    (its text not copied), only the blocks with rows left out are filtered, so rejecting a few rows
    of a million does not copy the month's text."""
    if keep.all():
        return column
    chunks, start = [], 0
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        part = keep[start:start + len(chunk)]
        start += len(chunk)
        if part.all():
            chunks.append(chunk)
        elif part.any():
            chunks.append(chunk.filter(pa.array(part)))
    return pa.chunked_array(chunks, type=column.type)


def _text_column(column: pa.Array, accepted: np.ndarray):
    """The ``accepted`` cells of a text column as the tickets frame holds them: pandas text (missing
    for empty cells) sharing the column's text, without a Python object per cell; a column with no
    value at all stays a column of None, as before."""
    column = _kept(column, accepted)
    empty = _empty_text(column)
    if empty.all():
        return np.full(len(column), None, dtype=object)
    if empty.any():
        column = _with_gaps(column, empty)
    return pd.array(column, dtype=_TEXT_DTYPE)


def _with_gaps(column: pa.Array, empty: np.ndarray):
    """The column with its ``empty`` cells missing: a validity bitmap over the same text buffers."""
    chunks, start = [], 0
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        valid = np.concatenate([np.zeros(chunk.offset, dtype=bool), ~empty[start:start + len(chunk)]])
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
        chunks.append(pa.Array.from_buffers(chunk.type, len(chunk), [bitmap, *chunk.buffers()[1:3]],
                                            null_count=int(empty[start:start + len(chunk)].sum()), offset=chunk.offset))
        start += len(chunk)
    return pa.chunked_array(chunks, type=column.type)


def _import(path, sheet, hidden, source: Columns, position, header, fields, extras, rulebook, bounds, month):
    """Check and convert the rows below the header row at ``position`` (0-based):
    ``(counts, columns, tickets, rejected)`` of one sheet, column by column."""
    body = [column.slice(position + 1) for column in source.columns]
    source.columns = []  # consumed: each column's text is freed as soon as the tickets no longer need it
    rows = np.arange(position + 2, position + 2 + (len(body[0]) if body else 0))  # 1-based rows a user sees
    by_field = {field: j for j, field in fields.items()}
    id_col, dispatch_col = by_field["ticket_id"], by_field["dispatched_at"]
    blank = np.ones(len(rows), dtype=bool)
    for column in body:  # each column only looks at the rows still blank so far
        candidates = np.flatnonzero(blank)
        if len(candidates):
            blank[candidates] = _blank_text(column.take(candidates))
    repeated = ~blank & _repeats_header(body[id_col], header[id_col])
    if repeated.any():
        repeated &= _repeats_header(body[dispatch_col], header[dispatch_col])
    keep = ~blank & ~repeated
    # an unnamed, empty column (trailing commas, formatted cells) is not data
    extras = {j: name for j, name in extras.items() if header[j] or not _blank_text(body[j]).all()}
    rows = rows[keep]
    body = [_kept(column, keep) for column in body]
    n = len(rows)

    reasons = np.full(n, "", dtype=object)
    columns = np.full(n, "", dtype=object)
    originals = np.full(n, "", dtype=object)

    judged = np.zeros(n, dtype=bool)  # rows already given a reason

    def reject(mask, j, reason):
        where = np.flatnonzero(np.asarray(mask, dtype=bool) & ~judged)
        if not len(where):
            return
        judged[where] = True
        if isinstance(reason, str):
            reasons[where] = reason
        elif callable(reason):  # made only for the rows that need it
            reasons[where] = [reason(i) for i in where]
        else:
            reasons[where] = reason[where]
        columns[where] = header[j] or f"列{xl_col_to_name(j)}"
        originals[where] = body[j].take(where).to_numpy(zero_copy_only=False)

    text = {field: _trimmed(body[j]) if field in TRIMMED_FIELDS else body[j] for field, j in by_field.items()}
    out: dict[str, np.ndarray] = {}
    id_text = text["ticket_id"]  # the ids of rejected rows are listed as typed
    reject(_empty_text(text["ticket_id"]), id_col, "缺少工单号")
    for field in TIME_FIELDS:
        if field in by_field:
            j = by_field[field]
            out[field], messages = _column_moments(body[j], source.typed)
            reject(messages != "", j, messages)
    dispatched = out["dispatched_at"]
    reject(np.isnat(dispatched), dispatch_col, "缺少派单时间")
    for field in AFTER_DISPATCH:
        if field in by_field:
            later = out[field]
            reject(~np.isnat(later) & ~np.isnat(dispatched) & (later < dispatched), by_field[field],
                   f"{header[by_field[field]]}早于{header[dispatch_col]}")
    outside = np.zeros(n, dtype=bool)
    if bounds is not None:
        outside = ~np.isnat(dispatched) & ((dispatched < bounds[0]) | (dispatched >= bounds[1]))
        reject(outside, dispatch_col, f"{header[dispatch_col]}不在考核月份 {month_label(month)} 内")
    if "priority" in by_field:
        text["priority"] = pc.replace_substring_regex(text["priority"], _WHITESPACE, "")
        priority = text["priority"]  # read only for the rows it rejects
        allowed, required = _priority_rules(rulebook)
        if allowed:
            listed = "/".join(allowed)
            unknown = ~_empty_text(text["priority"]) & ~_numpy(pc.is_in(text["priority"], pa.array(allowed)))
            reject(unknown, by_field["priority"],
                   lambda i: f"{header[by_field['priority']]}“{priority[int(i)].as_py()}”不在考核办法“{rulebook.title}”"
                             f"的时限表中(可用: {listed})")
            if required:
                reject(_empty_text(text["priority"]), by_field["priority"],
                       f"缺少优先级(考核办法“{rulebook.title}”的时限按优先级区分: {listed})")
    if "repeat" in by_field:
        out["repeat"], messages = _flags(text["repeat"])
        reject(messages != "", by_field["repeat"], lambda i: f"{header[by_field['repeat']]}{messages[i]}")
    present = ~_empty_text(text["ticket_id"])
    id_series = id_keys(text["ticket_id"])
    duplicate = present & repeated_keys(id_series)
    if duplicate.any():
        involved = np.flatnonzero(id_series.isin(id_series[duplicate].unique()).to_numpy(bool))  # a few ids' rows
        first_rows = np.zeros(n, dtype=rows.dtype)
        first_rows[involved] = pd.Series(rows[involved]).groupby(id_series.iloc[involved].to_numpy()).transform("first")
        reject(duplicate, id_col, lambda i: f"工单号重复(与第 {first_rows[i]} 行相同)")

    bad = judged
    good = ~bad
    tickets = {}
    for field in CANONICAL_FIELDS:
        if field in out:
            tickets[field] = out[field][good]
        elif field in text:
            tickets[field] = _text_column(text.pop(field), good)
            body[by_field[field]] = None  # its text freed once the frame's column is made
    for j, name in extras.items():
        tickets[name] = _text_column(body[j], good)
        body[j] = None
    tickets[SOURCE_ROW] = rows[good]
    rejected = pd.DataFrame({
        "源文件": np.full(int(bad.sum()), path.name, dtype=object),
        "源行号": rows[bad],
        "工单号": _kept(id_text, bad).to_numpy(zero_copy_only=False),
        "列": columns[bad],
        "原值": originals[bad],
        "原因": reasons[bad],
    }, columns=list(REJECTED_COLUMNS))
    columns = {field: header[j] for field, j in sorted(by_field.items(), key=lambda kv: kv[1])}
    months = pd.Series(dispatched[outside].astype("datetime64[M]").astype(str)).value_counts()
    counts = SheetCounts(sheet, hidden, position + 1, n, n - int(bad.sum()), int(bad.sum()), int(blank.sum()),
                         int(repeated.sum()), tuple((str(m), int(c)) for m, c in months.items()))
    return counts, columns, pd.DataFrame(tickets), rejected


__all__ = ["HEADER_ALIASES", "REJECTED_COLUMNS", "SheetCounts", "TicketImport", "header_key", "id_keys", "known_headers",
           "pasted_rows", "read_tickets", "repeated_keys"]
