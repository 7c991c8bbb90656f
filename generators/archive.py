"""The archive (归档): each ledger tab of a workbook as its own file, with a checked manifest.

:func:`export_archive` reads a ledger workbook (python-calamine, cached values only) and
writes every ledger tab (台账..., 拒收) as ``{month}_{sheet}.xlsx`` into a folder, phone
numbers masked on request, plus ``manifest.csv`` (文件, 工作表, 行数, SHA-256; UTF-8 with BOM
so Excel opens it) and ``manifest.json`` (month, source workbook and its SHA-256, masked or
not, program version, the same file list). :func:`verify_archive` recomputes checksums and
row counts and lists every problem it finds.

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
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import python_calamine
import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.utility import xl_rowcol_to_cell

import udfs
from generators.safe_files import atomic_output, csv_cell, csv_text
from generators.workbooks import new_workbook
from udfs.errors import KaoheError
from udfs.privacy import mask_phone

MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
MANIFEST_COLUMNS = ("文件", "工作表", "行数", "SHA-256")
READABLE = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
# Headers of columns that hold phone numbers: there a number-typed cell is masked too.
_PHONE_HEADER = re.compile(r"电话|手机|联系方式|phone|mobile|tel", re.IGNORECASE)
# Characters that Windows or Excel do not accept in a file name.
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_WIDTH_SAMPLE = 200
_CHUNK = 1 << 20


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


def verify_archive(out_dir) -> list[str]:
    """Problems with an archive folder, each in Chinese then English; empty means all is well.

    Checks every file listed in ``manifest.csv``: present, SHA-256 as recorded, sheet present,
    data rows as recorded; that ``manifest.json`` lists the same files; that no unlisted file
    sits in the folder; and, for a masked archive, that no text cell still holds a phone number.
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise KaoheError(f"找不到归档文件夹: {folder}", f"archive folder not found: {folder}")
    csv_path = folder / MANIFEST_CSV
    if not csv_path.is_file():
        return [f"缺少清单文件 {MANIFEST_CSV} / missing manifest: {csv_path}"]
    problems: list[str] = []
    try:
        listed = _read_manifest_csv(csv_path)
    except (KaoheError, UnicodeDecodeError, csv.Error) as err:
        return [f"清单无法读取 / unreadable manifest {csv_path.name}: {err}"]
    meta = _read_manifest_json(folder / MANIFEST_JSON, problems)
    if meta is not None:
        from_json = [ArchivedFile(f.get("file"), f.get("sheet"), f.get("rows"), f.get("sha256"))
                     for f in meta.get("files", []) if isinstance(f, dict)]
        if from_json != listed:
            problems.append(f"{MANIFEST_JSON} 与 {MANIFEST_CSV} 所列文件不一致 / "
                            f"{MANIFEST_JSON} and {MANIFEST_CSV} list different files")
    masked = bool(meta and meta.get("masked"))

    for entry in listed:
        path = folder / entry.file
        if not path.is_file():
            problems.append(f"缺少文件 / missing file: {entry.file}")
            continue
        actual = file_sha256(path)
        if actual != entry.sha256:
            problems.append(f"校验值不符 / checksum mismatch: {entry.file} "
                            f"(清单 manifest {entry.sha256[:12]}…, 实际 actual {actual[:12]}…)")
        try:
            rows, leaks = _inspect_export(path, entry.sheet, masked)
        except KaoheError as err:
            problems.append(str(err))
            continue
        if rows != entry.rows:
            problems.append(f"行数不符 / row count mismatch: {entry.file} (清单 manifest {entry.rows}, 实际 actual {rows})")
        for where in leaks:
            problems.append(f"脱敏归档中仍有电话号码 / unmasked phone number in a masked archive: {entry.file} {where}")

    known = {MANIFEST_CSV, MANIFEST_JSON} | {entry.file for entry in listed}
    for extra in sorted(p.name for p in folder.iterdir() if p.name not in known):
        problems.append(f"清单外的文件 / file not in the manifest: {extra}")
    return problems


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
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as err:  # calamine raises several unrelated types for a bad file
        raise KaoheError(f"无法读取工作簿 {path.name}: {err}", f"cannot read workbook {path.name}: {err}") from err


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
            return str(value).strip() or None
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
    """Write one tab as its own workbook; return its data rows (after the header, up to the last non-empty row)."""
    try:
        rows = _rows(book.get_sheet_by_name(sheet_name))
        head = list(itertools.islice(rows, _WIDTH_SAMPLE))
    except Exception as err:
        raise KaoheError(f"无法读取工作表 {source.name} / {sheet_name}: {err}",
                         f"cannot read sheet {sheet_name} of {source.name}: {err}") from err

    out = new_workbook(path, title=f"{month} {sheet_name} 归档",
                       comments=f"归档自 {source.name}（SHA-256 {source_sha}）；工作表 {sheet_name}；"
                                f"电话号码{'已' if mask else '未'}脱敏；程序 kaohe {udfs.__version__}")
    bold = out.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    formats = {
        dt.date: out.add_format({"num_format": "yyyy-mm-dd"}),
        dt.time: out.add_format({"num_format": "hh:mm:ss"}),
        dt.timedelta: out.add_format({"num_format": "[h]:mm:ss"}),
    }
    try:
        sheet = out.add_worksheet(sheet_name)
    except xlsxwriter.exceptions.XlsxWriterException as err:
        raise KaoheError(f"工作表名称无法写入 xlsx: {source.name} / {sheet_name}: {err}",
                         f"sheet name not allowed in xlsx: {sheet_name} of {source.name}: {err}") from err
    header = [("" if _empty(v) else str(v)) for v in head[0]] if head else []
    phone_columns = {j for j, label in enumerate(header) if _PHONE_HEADER.search(label)} if mask else set()
    for j, width in enumerate(_widths(head)):
        sheet.set_column(j, j, width)

    last = 0
    width = 0
    for i, row in enumerate(itertools.chain(head, rows)):
        written = False
        for j, value in enumerate(row):
            kind = type(value)
            if kind is str:
                if value == "":
                    continue
                if mask:
                    value = mask_phone(value)
                if i == 0:
                    sheet.write_string(i, j, value, bold)
                else:
                    sheet.write_string(i, j, value)
            elif kind is float or kind is int:
                if j in phone_columns and i > 0 and float(value).is_integer():
                    masked = mask_phone(str(int(value)))
                    if masked != str(int(value)):
                        sheet.write_string(i, j, masked)
                        written, width = True, max(width, j + 1)
                        continue
                sheet.write_number(i, j, value, bold if i == 0 else None)
            elif kind is bool:
                sheet.write_boolean(i, j, value, bold if i == 0 else None)
            elif kind is dt.datetime:
                sheet.write_datetime(i, j, value, bold if i == 0 else None)
            elif kind in formats:
                sheet.write_datetime(i, j, value, bold if i == 0 else formats[kind])
            elif value is None:
                continue
            else:  # anything calamine may add later: keep it, as text
                sheet.write_string(i, j, mask_phone(str(value)) if mask else str(value))
            written, width = True, max(width, j + 1)
        if written:
            last = i
        if progress and i and i % 10_000 == 0:
            progress(sheet_name, i)
    if width:
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(last, 1), width - 1)
        sheet.repeat_rows(0)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    try:
        out.close()
    except (OSError, xlsxwriter.exceptions.XlsxWriterException) as err:
        raise KaoheError(f"无法写出 {path}: {err}", f"cannot write {path}: {err}") from err
    if progress:
        progress(sheet_name, last)
    return last


def _widths(rows: list[list]) -> list[float]:
    """Column widths that fit Chinese text (two units a CJK character), from a sample of rows."""
    def units(value) -> int:
        if isinstance(value, (dt.datetime, dt.date)):
            return 19
        text = "" if _empty(value) else str(value)
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    widths: list[int] = []
    for row in rows:
        for j, value in enumerate(row):
            if j == len(widths):
                widths.append(0)
            widths[j] = max(widths[j], units(value))
    return [min(w + 2, 60) if w else 8.43 for w in widths]


# --- the manifest --------------------------------------------------------------------------

def _write_manifest(manifest: Manifest) -> None:
    with atomic_output(manifest.csv_path) as temporary, open(temporary, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(MANIFEST_COLUMNS)
        for f in manifest.files:
            writer.writerow([csv_cell(f.file), csv_cell(f.sheet), f.rows, f.sha256])
    meta = {
        "说明": "考核台账归档清单；行数不含表头；用 kaohe archive --verify 核对 / "
                "archive manifest of assessment ledgers; rows exclude the header; check with kaohe archive --verify",
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


def _read_manifest_csv(path: Path) -> list[ArchivedFile]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    if not rows or tuple(rows[0][:4]) != MANIFEST_COLUMNS:
        raise KaoheError(f"表头应为 {','.join(MANIFEST_COLUMNS)}", f"header must be {','.join(MANIFEST_COLUMNS)}")
    entries = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            entries.append(ArchivedFile(csv_text(row[0]), csv_text(row[1]), int(row[2]), row[3].strip().lower()))
        except (IndexError, ValueError) as err:
            raise KaoheError(f"第 {n} 行无法识别", f"row {n} unreadable") from err
    return entries


def _read_manifest_json(path: Path, problems: list[str]) -> dict | None:
    if not path.is_file():
        problems.append(f"缺少清单文件 {MANIFEST_JSON} / missing manifest: {path}")
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            meta = json.load(stream)
    except (ValueError, UnicodeDecodeError) as err:
        problems.append(f"清单无法读取 / unreadable manifest {MANIFEST_JSON}: {err}")
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("files", []), list):
        problems.append(f"清单格式不对 / malformed manifest {MANIFEST_JSON}")
        return None
    return meta


def _inspect_export(path: Path, sheet_name: str, masked: bool) -> tuple[int, list[str]]:
    """Data rows of an exported tab and, if ``masked``, the cells that still hold a phone number."""
    book = _open(path)
    try:
        if sheet_name not in book.sheet_names:
            raise KaoheError(f"{path.name} 中没有工作表 {sheet_name}", f"no sheet {sheet_name} in {path.name}")
        last, leaks = 0, []
        for i, row in enumerate(_rows(book.get_sheet_by_name(sheet_name))):
            if any(not _empty(v) for v in row):
                last = i
            if masked and len(leaks) < 5:
                for j, value in enumerate(row):
                    if isinstance(value, str) and value and mask_phone(value) != value:
                        leaks.append(xl_rowcol_to_cell(i, j))
        return last, leaks
    except KaoheError:
        raise
    except Exception as err:
        raise KaoheError(f"无法读取 {path.name}: {err}", f"cannot read {path.name}: {err}") from err
    finally:
        book.close()
