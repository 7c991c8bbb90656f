"""The archive (归档): each ledger tab of a workbook as its own file, with a checked manifest.

:func:`export_archive` reads a ledger workbook (python-calamine, cached values only) and
writes every ledger tab (台账..., 拒收) as ``{month}_{sheet}.xlsx`` into a folder, phone
numbers masked on request, plus ``manifest.csv`` (文件, 工作表, 行数, SHA-256, 月份, 来源工作簿,
来源工作簿 SHA-256, 电话号码 已脱敏/未脱敏; UTF-8 with BOM so Excel opens it) and
``manifest.json`` (month, source workbook and its SHA-256, masked or not, program version, the
same file list). Each archived file states the same facts again in its document properties
(custom properties 考核月份, 工作表, 来源工作簿, 来源工作簿 SHA-256, 电话号码已脱敏, 程序; the
title starts with the month). Every file is written atomically.

:func:`verify_archive` trusts nothing it did not compute itself: it recomputes checksums and
row counts, accepts only plain file names directly inside the folder, cross-checks month,
source and masking between the two manifests, the file names and each file's properties,
checks a masked archive (or one that any of these calls masked) for phone numbers left
unmasked, and lists every problem it finds, never raising on a hostile manifest.

Exported files are plain tables: the header is the first non-empty row of the tab, written
to row 1 (bold, frozen, with a filter); text stays text (never a formula, URL or number),
numbers stay numbers, datetimes stay datetimes with a date format; formulas are archived as
their cached values. The same input gives byte-identical files.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import json
import math
import os
import re
import reprlib
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from xml.etree import ElementTree

import python_calamine
import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.utility import xl_rowcol_to_cell

import udfs
from generators import paper
from generators.input_files import open_workbook
from generators.safe_files import atomic_output, csv_cell, csv_text
from generators.workbooks import new_workbook
from udfs.errors import KaoheError
from udfs.privacy import mask_phone
from udfs.wording import month_label

MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
ROWS_COLUMN = "数据行数(不含标题、表头和表尾)"  # tickets on a 台账 or 附件3, rejected rows on 拒收
MANIFEST_COLUMNS = ("文件", "工作表", ROWS_COLUMN, "SHA-256", "月份", "来源工作簿", "来源工作簿 SHA-256", "电话号码")
# Archives of kaohe 0.1.2 and before: 行数 counted every row below the first (a title and a form's
# footer too); such manifests are still verified by that count.
LEGACY_COLUMNS = ("文件", "工作表", "行数", *MANIFEST_COLUMNS[3:])
ROWS_COUNTED = "data_rows"  # manifest.json's "rows_counted": what its "rows" are (absent: the legacy count)
MASKED_WORDS = {"已脱敏": True, "未脱敏": False}
# Document properties (custom, as Excel shows under 属性 > 自定义) of every archived file.
PROPERTY_MONTH = "考核月份"
PROPERTY_SHEET = "工作表"
PROPERTY_SOURCE = "来源工作簿"
PROPERTY_SOURCE_SHA = "来源工作簿 SHA-256"
PROPERTY_MASKED = "电话号码已脱敏"
PROPERTY_PROGRAM = "程序"
PROPERTIES = (PROPERTY_MONTH, PROPERTY_SHEET, PROPERTY_SOURCE, PROPERTY_SOURCE_SHA, PROPERTY_MASKED, PROPERTY_PROGRAM)
READABLE = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
# Headers of columns that hold phone numbers: there a number-typed cell is masked too.
_PHONE_HEADER = re.compile(r"电话|手机|联系方式|phone|mobile|tel", re.IGNORECASE)
# Characters that Windows or Excel do not accept in a file name.
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_WIDTH_SAMPLE = 200
_CHUNK = 1 << 20
# Verifying: what a file name, title, count or checksum written by export_archive looks like,
# and limits that keep a hostile archive from exhausting memory or the screen.
_ARCHIVE_NAME = re.compile(r"([0-9]{4}-[0-9]{2})_.+\.xlsx", re.DOTALL)
_TITLE_MONTH = re.compile(r"([0-9]{4}-[0-9]{2}) ")
_COUNT = re.compile(r"[0-9]{1,7}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_ROWS = 1_048_575  # an .xlsx sheet holds 1,048,576 rows, one of them the header
_MANIFEST_LIMIT = 64 << 20
_PROPERTIES_LIMIT = 1 << 20
_MAX_PROBLEMS = 200
_LEAKS_SHOWN = 5
_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
_VT_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


@dataclasses.dataclass(frozen=True)
class ArchivedFile:
    """One exported tab: its file name in the archive folder, source sheet, data rows, SHA-256."""

    file: str
    sheet: str
    rows: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What an archive folder holds and where it came from."""

    out_dir: Path
    month: str
    source: str
    source_sha256: str
    masked: bool
    program: str
    files: tuple[ArchivedFile, ...]

    @property
    def csv_path(self) -> Path:
        return self.out_dir / MANIFEST_CSV

    @property
    def json_path(self) -> Path:
        return self.out_dir / MANIFEST_JSON

    @property
    def rows(self) -> int:
        """Data rows across all exported files."""
        return sum(f.rows for f in self.files)


def export_archive(workbook_path, *, month: str, out_dir, mask_phones: bool = False,
                   sheets: Sequence[str] | None = None,
                   progress: Callable[[str, int], None] | None = None) -> Manifest:
    """Export the ledger tabs of ``workbook_path`` as separate files into ``out_dir``.

    Tabs exported: those whose name contains 台账 or 拒收 (in workbook order), or exactly
    ``sheets`` when given. Each becomes ``{month}_{sheet}.xlsx``. With ``mask_phones`` every
    phone number inside a text cell is masked (``138****5678``), and a number-typed cell in a
    phone column (header with 电话/手机/联系方式) is masked too and written as text; ticket
    ids and other long digit runs are left alone. ``progress(sheet, rows_done)``, if given, is
    called every 10,000 rows and once at the end of each tab.

    Raises :class:`KaoheError` (naming the file) for a bad month, a missing or unreadable
    workbook, no ledger tab, an unknown sheet, or a month that contradicts the workbook's
    说明 sheet.
    """
    check_month(month)
    source = Path(workbook_path)
    if not source.is_file():
        raise KaoheError(f"找不到工作簿: {source}", f"workbook not found: {source}")
    if source.suffix.lower() not in READABLE:
        raise KaoheError(f"不支持的工作簿格式: {source.name}（应为 .xlsx/.xlsm）",
                         f"unsupported workbook type: {source.name} (expected .xlsx/.xlsm)")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise KaoheError(f"输出位置不是文件夹: {out}", f"output is not a folder: {out}")

    book = _open(source)
    try:
        chosen = _choose_sheets(book, source, sheets)
        stated = _stated_month(book)
        if stated and stated != month:
            raise KaoheError(f"月份不一致: {source.name} 的说明页写的是 {stated}，而要求归档 {month}",
                             f"month mismatch: {source.name} states {stated}, archive asked for {month}")
        out.mkdir(parents=True, exist_ok=True)
        source_sha = file_sha256(source)
        files = []
        used_names: set[str] = set()
        for sheet_name in chosen:
            name = _file_name(month, sheet_name, used_names)
            path = out / name
            rows = _export_sheet(book, source, sheet_name, path, month=month, mask=mask_phones,
                                 source_sha=source_sha, progress=progress)
            files.append(ArchivedFile(name, sheet_name, rows, file_sha256(path)))
    finally:
        book.close()

    manifest = Manifest(out, month, source.name, source_sha, mask_phones, f"kaohe {udfs.__version__}", tuple(files))
    _write_manifest(manifest)
    return manifest


def verify_archive(out_dir) -> Verification:
    """Problems with an archive folder, each in Chinese then English; empty means all is well.

    Trusts nothing in the manifests: every listed file must be a plain file name directly inside
    the folder (no path, drive, ``..`` or symbolic link); each is checked for SHA-256, sheet and
    data rows as recorded; ``manifest.csv`` and ``manifest.json`` must list the same files, none
    twice, and no unlisted file may sit in the folder. Month, source workbook (and its SHA-256),
    masking and program must agree between the manifests, the file names and every file's
    document properties. If any of these says masked (or none says anything readable), every
    sheet of every file is checked for phone numbers left unmasked; an archive that says
    unmasked everywhere gets a note (``notes``) saying so, since nothing there was masked.

    A hostile manifest (bad JSON or CSV, wrong types, missing keys, huge numbers, bytes that are
    not UTF-8) gives problems, never an exception; only a missing folder raises :class:`KaoheError`.
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise KaoheError(f"找不到归档文件夹: {folder}", f"archive folder not found: {folder}")
    problems: list[str] = []
    facts = {
        "month": _Fact("月份", "months"),
        "source": _Fact("来源工作簿", "source workbooks"),
        "source_sha256": _Fact("来源工作簿 SHA-256", "source SHA-256 values"),
        "masked": _Fact("电话号码是否脱敏", "masked flags", _masked_word),
        "program": _Fact("程序版本", "program versions"),
    }
    from_csv = _read_manifest_csv(folder / MANIFEST_CSV, problems, facts)
    from_json = _read_manifest_json(folder / MANIFEST_JSON, problems, facts)
    if from_csv is not None and from_json is not None:
        _compare_lists(from_csv, from_json, problems)
    try:
        inside = folder.resolve()
    except (OSError, RuntimeError) as err:
        raise KaoheError(f"无法打开归档文件夹 {folder}: {err}", f"cannot open the archive folder {folder}: {err}") from err
    entries = _plain_entries(folder, inside, from_csv or [], problems)
    other = _plain_entries(folder, inside, from_json or [], problems)
    if from_csv is None:
        entries = other
    if not entries and (from_csv is not None or from_json is not None):
        problems.append("清单没有列出任何可核对的归档文件 / the manifest lists no archived file that can be checked")

    present = []
    for entry in entries:
        path, file = folder / entry.file, _show(entry.file)
        if not _regular(path):
            problems.append(f"缺少文件: {file}（{entry.zh}） / missing file: {file} ({entry.en})")
            continue
        try:
            actual = file_sha256(path)
        except OSError as err:
            problems.append(f"无法读取 {file}: {_show(err.strerror or str(err))} / cannot read {file}")
            continue
        if entry.sha256 is not None and actual != entry.sha256:
            problems.append(f"校验值不符: {file}（清单 {entry.sha256[:12]}…，实际 {actual[:12]}…） / "
                            f"checksum mismatch: {file} (manifest {entry.sha256[:12]}…, actual {actual[:12]}…)")
        if _file_facts(entry, path, facts, problems):
            present.append((entry, path))

    said = facts["masked"].said
    phones = True in said or not said
    for entry, path in present:
        _check_content(entry, path, phones, problems)
    for fact in facts.values():
        problem = fact.problem()
        if problem:
            problems.append(problem)

    known = {MANIFEST_CSV, MANIFEST_JSON} | {entry.file for entry in entries}
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as err:
        names = []
        problems.append(f"无法列出归档文件夹: {_show(err.strerror or str(err))} / cannot list the archive folder")
    for extra in names:
        if extra not in known:
            problems.append(f"清单外的文件: {_show(extra)} / file not in the manifest: {_show(extra)}")

    if len(problems) > _MAX_PROBLEMS:
        hidden = len(problems) - _MAX_PROBLEMS
        problems = [*problems[:_MAX_PROBLEMS], f"另有 {hidden} 个问题未列出 / {hidden} more problem(s) not shown"]
    notes = []
    if not phones:
        notes.append("注意: 本归档的电话号码未脱敏（清单和各文件都写明“未脱敏”），未检查电话号码 / "
                     "note: phone numbers in this archive are NOT masked (so stated everywhere); not checked for them")
    return Verification(problems, notes=notes, masked=True if True in said else (False if said else None))


def check_month(month: str) -> str:
    """``month`` if it reads ``YYYY-MM``; otherwise :class:`KaoheError`."""
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise KaoheError(f"月份应为 YYYY-MM，例如 2025-10: {month!r}", f"month must be YYYY-MM, e.g. 2025-10: {month!r}")
    return month


def ledger_sheets(names: Iterable[str]) -> list[str]:
    """The ledger tabs among ``names``: those containing 台账 or 拒收, in order."""
    return [name for name in names if "台账" in name or "拒收" in name]


def file_sha256(path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- reading -------------------------------------------------------------------------------

def _open(path: Path) -> python_calamine.CalamineWorkbook:
    """The workbook after its size and sheet areas were checked (:func:`open_workbook`, which also
    turns calamine's own errors, a Rust panic included, into a message)."""
    return open_workbook(path, "工作簿")[0]


def _choose_sheets(book, source: Path, sheets: Sequence[str] | None) -> list[str]:
    names = list(book.sheet_names)
    if sheets is None:
        chosen = ledger_sheets(names)
        if not chosen:
            raise KaoheError(f"{source.name} 中没有台账工作表（名称含“台账”或“拒收”）；现有: {'、'.join(names)}",
                             f"no ledger tab (name containing 台账 or 拒收) in {source.name}; sheets: {', '.join(names)}")
        return chosen
    chosen = list(dict.fromkeys(sheets))
    missing = [name for name in chosen if name not in names]
    if missing:
        raise KaoheError(f"{source.name} 中没有工作表: {'、'.join(missing)}；现有: {'、'.join(names)}",
                         f"no sheet {', '.join(missing)} in {source.name}; sheets: {', '.join(names)}")
    if not chosen:
        raise KaoheError(f"未指定要归档的工作表: {source.name}", f"no sheet given to archive from {source.name}")
    return chosen


def _stated_month(book) -> str | None:
    """The 考核月份 on a 说明 sheet (as :func:`generators.ledger.write_ledger` writes it), if any."""
    if "说明" not in book.sheet_names:
        return None
    for row in _rows(book.get_sheet_by_name("说明")):
        if len(row) > 1 and row[0] == "考核月份":
            value = row[1]
            if isinstance(value, (dt.date, dt.datetime)):
                return value.strftime("%Y-%m")
            text = str(value).strip()
            written = re.fullmatch(r"([0-9]{4})年([0-9]{1,2})月", text)  # as the ledger writes it: 2025年10月
            return f"{written.group(1)}-{int(written.group(2)):02d}" if written else text or None
    return None


def _rows(sheet) -> Iterator[list]:
    """Rows of a calamine sheet from its first non-empty row on."""
    rows = iter(sheet.iter_rows())
    for row in rows:
        if any(not _empty(v) for v in row):
            return itertools.chain([row], rows)
    return iter(())


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _filled(row) -> int:
    return sum(1 for value in row if not _empty(value))


TITLE = "title"
HEADER = "header"
DATA = "data"
OTHER = "other"   # below the header but no data row: a blank row, a form's footer (备注:, 签名)
_TITLE_ROWS = 5   # non-empty rows above the header at most (a form's title, a subtitle)


def sheet_parts(rows: Iterable[list]) -> Iterator[tuple[str, list]]:
    """Each row of a sheet with its part (:data:`TITLE`, :data:`HEADER`, :data:`DATA`, :data:`OTHER`).

    The header is the first row with two or more values among the first :data:`_TITLE_ROWS` + 1
    non-empty rows (a merged title above it, like 附件3's, holds one), else the first non-empty
    row; rows above it are the title. Below it a data row has two or more values (one when the
    header has one column): a form's footer (备注:, 承办部门负责人签名:) and blank rows are not data.
    So the data rows of a 台账 or 附件3 are its tickets."""
    rows = iter(rows)
    buffered, seen = [], 0
    for row in rows:
        buffered.append(row)
        filled = _filled(row)
        seen += filled > 0
        if filled >= 2 or seen > _TITLE_ROWS:
            break
    filled = [_filled(row) for row in buffered]
    header = next((k for k, n in enumerate(filled) if n >= 2), next((k for k, n in enumerate(filled) if n), None))
    if header is None:
        yield from ((TITLE, row) for row in buffered)
        return
    need = min(2, filled[header])
    for k, row in enumerate(buffered):
        yield (TITLE if k < header else HEADER if k == header else DATA if filled[k] >= need else OTHER), row
    for row in rows:
        yield (DATA if _filled(row) >= need else OTHER), row


# --- writing -------------------------------------------------------------------------------

def _file_name(month: str, sheet: str, used: set[str]) -> str:
    stem = f"{month}_{_UNSAFE_NAME.sub('_', sheet).strip(' .') or 'sheet'}"
    name, n = f"{stem}.xlsx", 1
    while name.lower() in used:
        n += 1
        name = f"{stem}_{n}.xlsx"
    used.add(name.lower())
    return name


def _export_sheet(book, source: Path, sheet_name: str, path: Path, *, month: str, mask: bool,
                  source_sha: str, progress) -> int:
    """Write one tab as its own workbook at ``path`` (whole or not at all: :func:`new_workbook`);
    return its data rows (:func:`sheet_parts`: the tickets of a 台账 or 附件3, the rows of 拒收).

    The copy prints like the original: the column header (not a title above it) repeated on every
    page, the 工单号 (or 序号) column on every page across, text at 8 pt or more, hours with two
    decimals, long text wrapped in rows as tall as it needs (:mod:`generators.paper`)."""
    try:
        parts = sheet_parts(_rows(book.get_sheet_by_name(sheet_name)))
        head = list(itertools.islice(parts, _WIDTH_SAMPLE))
    except Exception as err:
        raise KaoheError(f"无法读取工作表 {source.name} / {sheet_name}: {err}",
                         f"cannot read sheet {sheet_name} of {source.name}: {err}") from err

    out = new_workbook(path, title=f"{month} {sheet_name} 归档",
                       comments=f"归档自 {source.name}（SHA-256 {source_sha}）；工作表 {sheet_name}；"
                                f"电话号码{'已' if mask else '未'}脱敏；程序 kaohe {udfs.__version__}")
    for name, value in ((PROPERTY_MONTH, month), (PROPERTY_SHEET, sheet_name), (PROPERTY_SOURCE, source.name),
                        (PROPERTY_SOURCE_SHA, source_sha), (PROPERTY_MASKED, bool(mask)),
                        (PROPERTY_PROGRAM, f"kaohe {udfs.__version__}")):
        out.set_custom_property(name, value, "bool" if isinstance(value, bool) else "text")
    bold = out.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    title_format = out.add_format({"bold": True, "font_size": 14})
    wrap = out.add_format({"text_wrap": True, "valign": "top"})
    top = out.add_format({"valign": "top"})
    hours = out.add_format({"num_format": "0.00", "valign": "top"})
    when = out.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", "valign": "top"})
    formats = {
        dt.date: out.add_format({"num_format": "yyyy-mm-dd", "valign": "top"}),
        dt.time: out.add_format({"num_format": "hh:mm:ss", "valign": "top"}),
        dt.timedelta: out.add_format({"num_format": "[h]:mm:ss", "valign": "top"}),
    }
    try:
        sheet = out.add_worksheet(sheet_name)
    except xlsxwriter.exceptions.XlsxWriterException as err:
        raise KaoheError(f"工作表名称无法写入 xlsx: {source.name} / {sheet_name}: {err}",
                         f"sheet name not allowed in xlsx: {sheet_name} of {source.name}: {err}") from err
    position = next((i for i, (part, _) in enumerate(head) if part == HEADER), None)
    header = [("" if _empty(v) else str(v)) for v in head[position][1]] if position is not None else []
    phone_columns = {j for j, label in enumerate(header) if _PHONE_HEADER.search(label)} if mask else set()
    hour_columns = {j for j, label in enumerate(header) if label.endswith(("小时", "历时"))}
    widths = _widths([row for part, row in head if part in (HEADER, DATA)])
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width)

    last = 0
    width = 0
    rows = 0
    for i, (part, row) in enumerate(itertools.chain(head, parts)):
        written = False
        rows += part == DATA
        is_header, cell = part == HEADER, (bold if part == HEADER else title_format if part == TITLE else top)
        if part == DATA:
            tall = _row_lines(row, widths)
            if tall > 1:
                sheet.set_row(i, float(paper.lines_height(tall)))
        elif is_header:
            sheet.set_row(i, paper.row_height([(v, w) for v, w in zip(header, widths)]))
        for j, value in enumerate(row):
            kind = type(value)
            if kind is str:
                if value == "":
                    continue
                if mask:
                    value = mask_phone(value)
                sheet.write_string(i, j, value, wrap if part == DATA else cell)
            elif kind is float or kind is int:
                if j in phone_columns and part == DATA and float(value).is_integer():
                    masked = mask_phone(str(int(value)))
                    if masked != str(int(value)):
                        sheet.write_string(i, j, masked, top)
                        written, width = True, max(width, j + 1)
                        continue
                sheet.write_number(i, j, value, hours if j in hour_columns and part == DATA else cell)
            elif kind is bool:
                sheet.write_string(i, j, "是" if value else "否", cell)  # never TRUE/FALSE on paper
            elif kind is dt.datetime:
                sheet.write_datetime(i, j, value, when if part == DATA else cell)
            elif kind in formats:
                sheet.write_datetime(i, j, value, formats[kind] if part == DATA else cell)
            elif value is None:
                continue
            else:  # anything calamine may add later: keep it, as text
                sheet.write_string(i, j, mask_phone(str(value)) if mask else str(value), cell)
            written, width = True, max(width, j + 1)
        if written:
            last = i
        if progress and i and i % 10_000 == 0:
            progress(sheet_name, i)
    first = position or 0
    if width:
        sheet.freeze_panes(first + 1, 0)
        sheet.autofilter(first, 0, max(last, first + 1), width - 1)
    key = header[:1] in (["工单号"], ["序号"])
    paper.print_ready(sheet, (widths + [8.43] * width)[:max(width, 1)], header_rows=(first, first) if width else None,
                      repeat_columns=(0, 0) if key else None, header=f"{sheet_name} {month_label(month)}",
                      allow_a3=True)
    try:
        out.close()
    except xlsxwriter.exceptions.XlsxWriterException as err:
        raise KaoheError(f"无法写出 {path}: {err}", f"cannot write {path}: {err}") from err
    if progress:
        progress(sheet_name, rows)
    return rows


_WRAP_AT = 40  # a column wider than this wraps at this width


def _widths(rows: list[list]) -> list[float]:
    """Column widths that fit Chinese text (two units a CJK character), from a sample of rows; a
    column whose text is longer than :data:`_WRAP_AT` wraps at that width."""
    def units(value) -> int:
        if isinstance(value, (dt.datetime, dt.date)):
            return 19
        text = "" if _empty(value) else str(value)
        return paper.text_width(text) if "\n" not in text else max(map(paper.text_width, text.split("\n")))

    widths: list[int] = []
    for row in rows:
        for j, value in enumerate(row):
            if j == len(widths):
                widths.append(0)
            widths[j] = max(widths[j], units(value))
    return [float(min(w + 2, _WRAP_AT)) if w else 8.43 for w in widths]


def _row_lines(row: list, widths: list[float]) -> int:
    """Lines the row's tallest text cell wraps to (a text at most half the column's width in
    characters is one line without measuring it)."""
    lines = 1
    for j, value in enumerate(row):
        if type(value) is str and j < len(widths) and (len(value) * 2.2 > widths[j] - 1 or "\n" in value):
            lines = max(lines, paper.lines_needed(value, widths[j]))
    return lines


# --- the manifest --------------------------------------------------------------------------

def _write_manifest(manifest: Manifest) -> None:
    with atomic_output(manifest.csv_path) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(MANIFEST_COLUMNS)
        for f in manifest.files:
            writer.writerow([csv_cell(f.file), csv_cell(f.sheet), f.rows, f.sha256, manifest.month,
                             csv_cell(manifest.source), manifest.source_sha256,
                             "已脱敏" if manifest.masked else "未脱敏"])
    meta = {
        "说明": "考核台账归档清单；rows 为数据行数(台账、附件3为工单张数，拒收为拒收行数；不含标题、表头和表尾)；"
                "用 kaohe archive --verify 核对 / archive manifest of assessment ledgers; rows are data rows "
                "(tickets on a ledger or 附件3, rejected rows on 拒收; no title, header or footer); "
                "check with kaohe archive --verify",
        "rows_counted": ROWS_COUNTED,
        "month": manifest.month,
        "source": manifest.source,
        "source_sha256": manifest.source_sha256,
        "masked": manifest.masked,
        "program": manifest.program,
        "files": [dataclasses.asdict(f) for f in manifest.files],
    }
    with atomic_output(manifest.json_path) as temporary, open(temporary, "w", encoding="utf-8", newline="\n") as stream:
        json.dump(meta, stream, ensure_ascii=False, indent=2)
        stream.write("\n")


# --- verifying -----------------------------------------------------------------------------

class Verification(list):
    """What :func:`verify_archive` found: the problems (a list of messages, empty when all is
    well), plus ``notes`` a reader must see even when nothing is wrong (phone numbers that were
    never masked), and ``masked``: True when anything in the archive states masking (then it was
    checked for phone numbers), False when everything states it is not masked, None when nothing
    states it readably."""

    def __init__(self, problems: Iterable[str] = (), *, notes: Iterable[str] = (), masked: bool | None = None):
        super().__init__(problems)
        self.notes = list(notes)
        self.masked = masked


@dataclasses.dataclass(frozen=True)
class _Listed:
    """One file as a manifest lists it; a value that is not valid there is None (and a problem)."""

    zh: str  # where: "manifest.csv 清单第2行"
    en: str
    file: str | None
    sheet: str | None
    rows: int | None
    sha256: str | None
    legacy: bool = False  # rows counted as kaohe 0.1.2 did (every row below the first)

    @property
    def key(self) -> tuple:
        return self.file, self.sheet, self.rows, self.sha256


class _Fact:
    """What the places of an archive (manifests, file names, properties) say about one fact."""

    def __init__(self, zh: str, en: str, show: Callable[[object], str] | None = None):
        self.zh, self.en = zh, en
        self.show = show or (lambda value: f"“{_show(value)}”")
        self.said: dict[object, list[str]] = {}

    def add(self, place: str, value) -> None:
        self.said.setdefault(value, []).append(place)

    def problem(self) -> str | None:
        if len(self.said) < 2:
            return None
        parts = []
        for value, places in self.said.items():
            shown = "、".join(places[:6]) + (f" 等 {len(places)} 处" if len(places) > 6 else "")
            parts.append(f"{self.show(value)} 见于 {shown}")
        return f"{self.zh}不一致: {'；'.join(parts)} / {self.en} disagree"


def _masked_word(value) -> str:
    return "已脱敏" if value else "未脱敏"


_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi overrides), unassigned, line breaks
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


def _show(value, limit: int = 80) -> str:
    """A value from a manifest as safe, short text for a message: no control characters, no screenful."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
    else:
        try:
            text = _SHORT.repr(value)
        except (ValueError, RecursionError):
            text = f"<{type(value).__name__}>"
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) in _HIDDEN else ch for ch in text)


def _kind(value) -> str:
    names = {dict: "对象", list: "列表", str: "文本", bool: "真假值", int: "整数", float: "小数", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _is_month(value) -> bool:
    return isinstance(value, str) and _MONTH.fullmatch(value) is not None


def _is_hex(value) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _is_text(value) -> bool:
    return isinstance(value, str) and value != ""


def _is_count(value) -> bool:
    return type(value) is int and 0 <= value <= _MAX_ROWS


def _regular(path: Path) -> bool:
    """A regular file itself, not a symbolic link, folder, pipe or device."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _read_manifest(path: Path, problems: list[str]) -> bytes | None:
    """The bytes of a manifest, if it is a regular file of sane size; else a problem."""
    name = path.name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        problems.append(f"缺少清单文件 {name} / missing manifest: {name}")
        return None
    except OSError as err:
        problems.append(f"清单 {name} 无法读取: {_show(err.strerror or str(err))} / cannot read manifest {name}")
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(f"清单 {name} 不是普通文件（符号链接、文件夹等） / manifest {name} is not a regular file")
        return None
    if info.st_size > _MANIFEST_LIMIT:
        problems.append(f"清单 {name} 过大（{info.st_size} 字节） / manifest {name} is too large")
        return None
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(handle, "rb") as stream:
            data = stream.read(_MANIFEST_LIMIT + 1)
    except OSError as err:
        problems.append(f"清单 {name} 无法读取: {_show(err.strerror or str(err))} / cannot read manifest {name}")
        return None
    if len(data) > _MANIFEST_LIMIT:
        problems.append(f"清单 {name} 过大 / manifest {name} is too large")
        return None
    return data


def _read_manifest_csv(path: Path, problems: list[str], facts: dict[str, _Fact]) -> list[_Listed] | None:
    """The files ``manifest.csv`` lists (None if it cannot be read at all); its month, source and
    masking go into ``facts``; every bad cell is a problem naming its row."""
    name = MANIFEST_CSV
    data = _read_manifest(path, problems)
    if data is None:
        return None
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except UnicodeDecodeError as err:
        problems.append(f"清单 {name} 不是 UTF-8 编码（第 {err.start} 字节） / manifest {name} is not UTF-8 (byte {err.start})")
        return None
    except csv.Error as err:
        problems.append(f"清单 {name} 无法按 CSV 读取: {_show(str(err))} / manifest {name} is not readable CSV")
        return None
    legacy = bool(rows) and rows[0] == list(LEGACY_COLUMNS)
    if not rows or (rows[0] != list(MANIFEST_COLUMNS) and not legacy):
        problems.append(f"清单 {name} 的表头应为 {','.join(MANIFEST_COLUMNS)} / "
                        f"manifest {name}: header must be {','.join(MANIFEST_COLUMNS)}")
        return None
    listed = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        zh, en = f"{name} 清单第{n}行", f"{name} row {n}"
        if len(row) != len(MANIFEST_COLUMNS):
            problems.append(f"{zh}应有 {len(MANIFEST_COLUMNS)} 列，实有 {len(row)} 列 / "
                            f"{en}: {len(row)} cells, expected {len(MANIFEST_COLUMNS)}")
            listed.append(_Listed(zh, en, None, None, None, None))
            continue
        file, sheet, count, sha, month, source, source_sha, masked = row
        file, sheet, source = csv_text(file), csv_text(sheet), csv_text(source)
        count, sha, month, source_sha, masked = (cell.strip() for cell in (count, sha, month, source_sha, masked))
        sha, source_sha = sha.lower(), source_sha.lower()
        rows_given = int(count) if _COUNT.fullmatch(count) and int(count) <= _MAX_ROWS else None
        if rows_given is None:
            problems.append(f"{zh}的行数“{_show(count)}”不是 0 到 {_MAX_ROWS} 之间的整数 / {en}: bad row count")
        if not _HEX64.fullmatch(sha):
            problems.append(f"{zh}的 SHA-256“{_show(sha)}”不是 64 位十六进制 / {en}: bad SHA-256")
            sha = None
        if not sheet:
            problems.append(f"{zh}的工作表为空 / {en}: no sheet")
        _claim(facts["month"], zh, month, _is_month(month), problems, "月份", "YYYY-MM", en, "month")
        _claim(facts["source"], zh, source, source != "", problems, "来源工作簿", "文件名", en, "source workbook")
        _claim(facts["source_sha256"], zh, source_sha, _is_hex(source_sha), problems,
               "来源工作簿 SHA-256", "64 位十六进制", en, "source SHA-256")
        _claim(facts["masked"], zh, MASKED_WORDS.get(masked), masked in MASKED_WORDS, problems,
               "电话号码", "“已脱敏”或“未脱敏”", en, "masked", shown=masked)
        listed.append(_Listed(zh, en, file, sheet or None, rows_given, sha, legacy))
    return listed


def _claim(fact: _Fact, place: str, value, valid: bool, problems: list[str], what: str, want: str,
           place_en: str, what_en: str, *, shown=None) -> None:
    if valid:
        fact.add(place, value)
    else:
        problems.append(f"{place}的{what}“{_show(value if shown is None else shown)}”不对，应为{want} / "
                        f"{place_en}: bad {what_en}")


def _read_manifest_json(path: Path, problems: list[str], facts: dict[str, _Fact]) -> list[_Listed] | None:
    """The files ``manifest.json`` lists (None if it cannot be read at all); its month, source,
    masking and program go into ``facts``; every missing key or wrong type is a problem."""
    name = MANIFEST_JSON
    data = _read_manifest(path, problems)
    if data is None:
        return None
    try:
        meta = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        problems.append(f"清单 {name} 不是 UTF-8 编码（第 {err.start} 字节） / manifest {name} is not UTF-8 (byte {err.start})")
        return None
    except (ValueError, RecursionError) as err:
        problems.append(f"清单 {name} 不是有效的 JSON: {_show(str(err))} / manifest {name} is not valid JSON")
        return None
    if not isinstance(meta, dict):
        problems.append(f"清单 {name} 的内容应为对象 {{…}}，实为{_kind(meta)} / manifest {name} must hold an object")
        return None
    for key, fact, valid, want, want_en in (
            ("month", "month", _is_month, "YYYY-MM 文本", "YYYY-MM text"),
            ("source", "source", _is_text, "非空文本", "non-empty text"),
            ("source_sha256", "source_sha256", _is_hex, "64 位十六进制文本", "64 hex digits"),
            ("masked", "masked", lambda v: isinstance(v, bool), "true 或 false", "true or false"),
            ("program", "program", _is_text, "非空文本", "non-empty text")):
        if key not in meta:
            problems.append(f"清单 {name} 缺少 {key} / manifest {name} has no {key}")
        elif valid(meta[key]):
            facts[fact].add(name, meta[key])
        else:
            problems.append(f"清单 {name} 的 {key} 应为{want}，实为{_kind(meta[key])} {_show(meta[key])} / "
                            f"manifest {name}: {key} must be {want_en}")
    files = meta.get("files")
    if not isinstance(files, list):
        problems.append(f"清单 {name} 的 files 应为列表，实为{_kind(files)} / manifest {name}: files must be a list")
        return None
    listed = []
    for i, item in enumerate(files, start=1):
        zh, en = f"{name} 清单第{i}项", f"{name} item {i}"
        if not isinstance(item, dict):
            problems.append(f"{zh}应为对象，实为{_kind(item)} / {en} must be an object")
            listed.append(_Listed(zh, en, None, None, None, None))
            continue
        values = {}
        for key, valid, want, want_en in (("file", _is_text, "非空文本", "non-empty text"),
                                          ("sheet", _is_text, "非空文本", "non-empty text"),
                                          ("rows", _is_count, f" 0 到 {_MAX_ROWS} 之间的整数", f"an integer 0 to {_MAX_ROWS}"),
                                          ("sha256", _is_hex, "64 位十六进制文本", "64 hex digits")):
            value = item.get(key)
            if key in item and valid(value):
                values[key] = value
            else:
                values[key] = None
                found = f"实为{_kind(value)} {_show(value)}" if key in item else "缺少"
                problems.append(f"{zh}的 {key} 应为{want}，{found} / {en}: {key} must be {want_en}")
        listed.append(_Listed(zh, en, **values, legacy=meta.get("rows_counted") != ROWS_COUNTED))
    return listed


def _compare_lists(from_csv: list[_Listed], from_json: list[_Listed], problems: list[str]) -> None:
    labels = ("文件", "工作表", "行数", "SHA-256")
    for a, b in itertools.zip_longest(from_csv, from_json):
        if b is None:
            problems.append(f"{MANIFEST_JSON} 与 {MANIFEST_CSV} 不一致: {a.zh}的“{_show(a.file)}”在 {MANIFEST_JSON} 中没有 / "
                            f"{MANIFEST_JSON} and {MANIFEST_CSV} differ: {a.en} missing from {MANIFEST_JSON}")
        elif a is None:
            problems.append(f"{MANIFEST_JSON} 与 {MANIFEST_CSV} 不一致: {b.zh}的“{_show(b.file)}”在 {MANIFEST_CSV} 中没有 / "
                            f"{MANIFEST_JSON} and {MANIFEST_CSV} differ: {b.en} missing from {MANIFEST_CSV}")
        elif a.key != b.key:
            differ = "、".join(label for label, x, y in zip(labels, a.key, b.key, strict=True) if x != y)
            problems.append(f"{MANIFEST_JSON} 与 {MANIFEST_CSV} 不一致: {b.zh}与 {a.zh} 的{differ}不同 / "
                            f"{MANIFEST_JSON} and {MANIFEST_CSV} differ: {b.en} vs {a.en}")


def _outside(folder: Path, inside: Path, name: str) -> bool:
    """Whether ``name`` is anything but a plain file name directly inside ``folder`` (resolved:
    ``inside``): a path, a drive, ``..``, a character Windows reads as a separator, a link."""
    if name in ("", ".", "..") or _UNSAFE_NAME.search(name) or name != name.strip():
        return True
    if PurePosixPath(name).name != name or PureWindowsPath(name).name != name or PureWindowsPath(name).drive:
        return True
    path = folder / name
    try:
        return path.is_symlink() or path.resolve().parent != inside
    except (OSError, RuntimeError, ValueError):
        return True


def _plain_entries(folder: Path, inside: Path, listed: list[_Listed], problems: list[str]) -> list[_Listed]:
    """The entries whose file name is a plain archive file name inside the folder, each once."""
    plain, seen = [], {}
    for entry in listed:
        name = entry.file
        if name is None:
            continue
        if _outside(folder, inside, name):
            problems.append(f"{entry.zh}的文件名“{_show(name)}”不在归档文件夹内 / "
                            f"{entry.en}: file name {_show(name)!r} is not inside the archive folder")
            continue
        if not _ARCHIVE_NAME.fullmatch(name):
            problems.append(f"{entry.zh}的文件名“{_show(name)}”不是归档文件名（应为 YYYY-MM_工作表.xlsx） / "
                            f"{entry.en}: {_show(name)!r} is not an archive file name (YYYY-MM_sheet.xlsx)")
            continue
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            problems.append(f"{entry.zh}重复列出文件“{_show(name)}”（已见于{seen[key]}） / "
                            f"{entry.en}: {_show(name)!r} listed twice")
            continue
        seen[key] = entry.zh
        plain.append(entry)
    return plain


def _file_facts(entry: _Listed, path: Path, facts: dict[str, _Fact], problems: list[str]) -> bool:
    """Put what an archived file's name, title and properties say into ``facts``; False if it is
    not a readable .xlsx at all."""
    file = _show(entry.file)
    named = _ARCHIVE_NAME.fullmatch(entry.file)
    if named:
        facts["month"].add(f"{file} 的文件名", named.group(1))
    try:
        title, custom = _properties(path)
    except KaoheError as err:
        problems.append(_show(str(err), 500))
        return False
    stated = _TITLE_MONTH.match(title or "")
    if stated:
        facts["month"].add(f"{file} 的标题", stated.group(1))
    else:
        problems.append(f"{file} 的标题“{_show(title or '')}”不以月份开头 / {file}: the title does not start with the month")
    missing = [name for name in PROPERTIES if name not in custom]
    if missing:
        problems.append(f"{file} 缺少归档文档属性: {'、'.join(missing)} / {file}: archive properties missing: {', '.join(missing)}")
    twice = [name for name, values in custom.items() if len(values) > 1]
    if twice:
        problems.append(f"{file} 的文档属性重复: {'、'.join(_show(n) for n in twice)} / {file}: properties given twice")
    place = f"{file} 的文档属性"
    for name, fact, valid in ((PROPERTY_MONTH, "month", _is_month), (PROPERTY_SOURCE, "source", _is_text),
                              (PROPERTY_SOURCE_SHA, "source_sha256", _is_hex),
                              (PROPERTY_MASKED, "masked", lambda v: isinstance(v, bool)),
                              (PROPERTY_PROGRAM, "program", _is_text)):
        for value in custom.get(name, ()):
            if valid(value):
                facts[fact].add(place, value)
            else:
                problems.append(f"{place}“{name}”的值“{_show(value)}”不对 / {file}: bad property {name}")
    sheets = custom.get(PROPERTY_SHEET, ())
    if entry.sheet is not None and any(value != entry.sheet for value in sheets):
        problems.append(f"{place}“{PROPERTY_SHEET}”为“{_show(sheets[0])}”，而{entry.zh}写的是“{_show(entry.sheet)}” / "
                        f"{file}: sheet property differs from {entry.en}")
    return True


def _properties(path: Path) -> tuple[str | None, dict[str, list]]:
    """The title and custom document properties (name → values; a bool stays a bool) of an .xlsx."""
    try:
        with zipfile.ZipFile(path) as archive:
            core = _xml_part(archive, "docProps/core.xml")
            custom_xml = _xml_part(archive, "docProps/custom.xml")
    except Exception as err:  # zipfile, zlib and expat raise many unrelated types on a bad file
        raise KaoheError(f"无法读取 {path.name}（不是有效的 .xlsx）: {_show(str(err))}",
                         f"cannot read {path.name}: not a valid .xlsx") from err
    title = None
    if core is not None:
        found = core.find(_DC_TITLE)
        title = found.text or "" if found is not None else None
    custom: dict[str, list] = {}
    for prop in [] if custom_xml is None else custom_xml.iter(f"{_CUSTOM_NS}property"):
        name = prop.get("name")
        if name is None or len(prop) != 1:
            continue
        value = prop[0].text or ""
        if prop[0].tag == f"{_VT_NS}bool":
            value = {"true": True, "1": True, "false": False, "0": False}.get(value.strip(), value)
        elif prop[0].tag != f"{_VT_NS}lpwstr":
            value = f"<{prop[0].tag.rpartition('}')[2]}> {value}"
        custom.setdefault(name, []).append(value)
    return title, custom


def _xml_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    """One small XML part of a zip, refused if large or if it declares a DTD (entity tricks)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _PROPERTIES_LIMIT:
        raise ValueError(f"{name} too large")
    with archive.open(info) as stream:
        data = stream.read(_PROPERTIES_LIMIT + 1)
    if len(data) > _PROPERTIES_LIMIT or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError(f"{name} refused")
    data.decode("utf-8")  # properties are UTF-8; anything else is not ours
    return ElementTree.fromstring(data)


def _check_content(entry: _Listed, path: Path, phones: bool, problems: list[str]) -> None:
    """Rows of the listed sheet as recorded, no other sheet, and (if ``phones``) no phone number."""
    file = _show(entry.file)
    try:
        counts, leaks, found = _inspect_export(path, phones)
    except KaoheError as err:
        problems.append(_show(str(err), 500))
        return
    if entry.sheet is not None:
        if entry.sheet not in counts:
            problems.append(f"{file} 中没有工作表“{_show(entry.sheet)}”（{entry.zh}） / no sheet {_show(entry.sheet)!r} in {file}")
        elif entry.rows is not None and counts[entry.sheet][entry.legacy] != entry.rows:
            actual = counts[entry.sheet][entry.legacy]
            problems.append(f"行数不符: {file}（{entry.zh} {entry.rows}，实际 {actual}） / "
                            f"row count mismatch: {file} (manifest {entry.rows}, actual {actual})")
    others = [name for name in counts if name != entry.sheet]
    if others and entry.sheet is not None:
        problems.append(f"{file} 中有清单外的工作表: {'、'.join(_show(n) for n in others)} / "
                        f"{file}: sheets not in the manifest: {', '.join(_show(n) for n in others)}")
    if found:
        more = f" 等 {found} 处" if found > len(leaks) else ""
        problems.append(f"脱敏归档中仍有电话号码: {file} {'、'.join(leaks)}{more} / "
                        f"unmasked phone number in a masked archive: {file} {', '.join(leaks)} ({found} cell(s))")


def _leak(value, phone_column: bool) -> bool:
    """A cell that still shows a phone number: text with one, or a number in a phone column."""
    if isinstance(value, str):
        return value != "" and mask_phone(value) != value
    if phone_column and type(value) in (int, float) and math.isfinite(value) and float(value).is_integer():
        text = str(int(value))
        return mask_phone(text) != text
    return False


def _inspect_export(path: Path, phones: bool) -> tuple[dict[str, tuple[int, int]], list[str], int]:
    """Per sheet of an exported file ``(data rows, legacy rows)``: its data rows (:func:`sheet_parts`)
    and, as kaohe 0.1.2 counted, its rows below the first non-empty one; and, if ``phones``,
    where (up to five cells) and how often a phone number is still there."""
    book = _open(path)
    try:
        counts, leaks, found = {}, [], 0
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            offset = (getattr(sheet, "start", None) or (0, 0))[1]
            first, last, data, below, phone_columns = None, 0, 0, False, set()
            for i, (part, row) in enumerate(sheet_parts(sheet.iter_rows())):
                if any(not _empty(v) for v in row):
                    if first is None:
                        first = i
                    last = i - first
                data += part == DATA
                if part == HEADER:
                    phone_columns = {j for j, v in enumerate(row) if isinstance(v, str) and _PHONE_HEADER.search(v)}
                if phones and first is not None:
                    for j, value in enumerate(row):
                        if _leak(value, below and j in phone_columns):
                            found += 1
                            if len(leaks) < _LEAKS_SHOWN:
                                leaks.append(f"{_show(name)}!{xl_rowcol_to_cell(i, j + offset)}")
                below = below or part == HEADER
            counts[name] = (data, last)
        return counts, leaks, found
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # calamine raises unrelated types, a Rust panic even outside Exception
        raise KaoheError(f"无法读取 {path.name}: {_show(str(err))}", f"cannot read {path.name}") from err
    finally:
        book.close()
