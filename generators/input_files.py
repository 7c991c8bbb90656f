"""Opening input workbooks safely: sizes checked before anything is allocated, every sheet named.

A workbook is a zip of XML parts. A 2 KB file can hold one cell at XFD1048576, which a reader
that builds the sheet as a grid turns into 17 billion cells; a 3 MB file can unpack to a 3 GB
cell. :func:`open_workbook` therefore looks at the zip's directory and streams each sheet's XML
once (no grid, no text kept) before python-calamine reads any sheet:

* every part must unpack to at most :data:`MAX_PART_BYTES`, all together to :data:`MAX_TOTAL_BYTES`;
* every sheet's area, from A1 to its farthest cell, must be within :data:`MAX_CELLS` cells.

A workbook over a limit is refused with a message naming the file, the sheet and the farthest
cell. :func:`open_workbook` also says which sheets are hidden, so a reader can name them.
"""

from __future__ import annotations

import dataclasses
import html
import posixpath
import re
import zipfile
from pathlib import Path

import numpy as np
import python_calamine

from generators.sheet_xml import cell_references, numbers
from udfs.errors import KaoheError

MAX_PART_BYTES = 3 << 30     # one unpacked part (a sheet's XML, the shared strings): 3 GiB (a full
                             # 1,048,576-row export of ~20 columns is 1-2 GiB of XML)
MAX_TOTAL_BYTES = 4 << 30    # the whole unpacked workbook: 4 GiB
MAX_CELLS = 40_000_000       # a sheet's area from A1 to its farthest cell (a province's month is ~10 million)
MAX_CSV_BYTES = 2 << 30      # a CSV export
CHUNK_BYTES = 8 << 20

_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
# Any spelling of a row's and a cell's reference (a prefix, other attributes first, either quote) ...
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr\s*=\s*["\'](\d+)["\']')
_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr\s*=\s*["\']([A-Za-z]+)(\d+)["\']')
# The spelling Excel, WPS and xlsxwriter write is found with array operations (_plain_extent); a
# chunk where not every row and cell tag is spelt so (a prefix, another attribute first) with these.

@dataclasses.dataclass(frozen=True)
class SheetInfo:
    """One sheet as the file lists it: its name, whether it is hidden, and its area (rows and
    columns from A1 to the farthest cell named in its XML)."""

    name: str
    hidden: bool
    rows: int
    columns: int


def _attributes(text: bytes) -> dict[str, str]:
    return {key.decode("utf-8", "replace").split(":")[-1]: html.unescape((a or b).decode("utf-8", "replace"))
            for key, a, b in _ATTRIBUTE.findall(text)}


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


_CELL_TAG, _ROW_TAG = np.frombuffer(b'<c r="', np.uint8), np.frombuffer(b'<row r="', np.uint8)


def _tags(codes: np.ndarray, opens: np.ndarray, tag: np.ndarray) -> np.ndarray:
    """Where among the ``<`` at ``opens`` the bytes ``tag`` begin; the position after it."""
    for k, byte in enumerate(tag[1:], start=1):  # narrowed byte by byte: most "<" fail at once
        opens = opens[codes[opens + k] == byte]
    return opens + len(tag)


def _plain_extent(text: bytes) -> tuple[int, int] | None:
    """``(rows, columns)`` named by the row and cell tags of a chunk, found with array operations
    when every tag is spelt as Excel, WPS and xlsxwriter write it (``<row r="3"``, ``<c r="AB3"``);
    None when some tag is spelt otherwise (a prefix, another attribute first)."""
    codes = np.concatenate([np.frombuffer(text, np.uint8), np.zeros(16, np.uint8)])
    opens = np.flatnonzero(codes[:len(text)] == 60)  # "<"
    cells, rows = _tags(codes, opens, _CELL_TAG), _tags(codes, opens, _ROW_TAG)
    if len(cells) != text.count(b"<c ") or len(rows) != text.count(b"<row") or b":row" in text or b":c " in text:
        return None
    row_numbers, _ = numbers(codes, rows)
    references = cell_references(codes, cells)
    if references is None:
        return None
    columns, cell_rows, _ = references
    return (int(max(row_numbers.max(initial=0), cell_rows.max(initial=0))), int(columns.max(initial=0)))


def _extent(archive: zipfile.ZipFile, part: str) -> tuple[int, int]:
    """``(rows, columns)`` from A1 to the farthest row and cell reference in a sheet's XML."""
    rows = columns = 0
    letters: set[bytes] = set()
    tail = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            text = tail + chunk
            if chunk:  # keep an unfinished tag for the next chunk
                cut = text.rfind(b"<")
                text, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
            plain = _plain_extent(text)
            if plain is not None:
                rows, columns = max(rows, plain[0]), max(columns, plain[1])
            else:
                for found in _ROW.findall(text):
                    rows = max(rows, int(found[:9]) if len(found) <= 9 else 10 ** 9)
                for column, row in _CELL.findall(text):
                    letters.add(column[:4])
                    rows = max(rows, int(row[:9]) if len(row) <= 9 else 10 ** 9)
            if not chunk:
                break
    if letters:
        columns = max(columns, *(_column_number(c) for c in letters))
    return rows, columns


def workbook_parts(archive: zipfile.ZipFile) -> tuple[list[tuple[str, bool, str | None]], dict[str, str]]:
    """``(sheets, parts)``: ``(name, hidden, part)`` for each sheet listed in ``xl/workbook.xml``,
    and the workbook's other parts by relationship kind (``sharedStrings``, ``styles``)."""
    try:
        listing = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return [], {}
    targets, kinds = {}, {}
    for found in _RELATIONSHIP.findall(relations):
        attributes = _attributes(found)
        target = attributes.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[attributes.get("Id", "")] = target
        kinds[attributes.get("Type", "").rsplit("/", 1)[-1]] = target
    sheets = []
    for found in _SHEET.findall(listing):
        attributes = _attributes(found)
        hidden = attributes.get("state", "visible") in ("hidden", "veryHidden")
        sheets.append((attributes.get("name", ""), hidden, targets.get(attributes.get("id", ""))))
    return sheets, kinds


def _size(count: int) -> str:
    return f"{count / (1 << 20):,.0f} MB"


def open_archive(path: Path, kind: str = "文件") -> zipfile.ZipFile:
    """The workbook's zip after its sizes were checked (nothing unpacked yet)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise KaoheError(f"{kind} {path.name}: 无法作为 Excel 工作簿打开(不是有效的 .xlsx 文件: {err})",
                         f"{path.name}: not a valid .xlsx workbook: {err}") from err
    members = archive.infolist()
    total = sum(m.file_size for m in members)
    largest = max(members, key=lambda m: m.file_size, default=None)
    if largest is not None and largest.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
        archive.close()
        raise KaoheError(
            f"{kind} {path.name}: 解压后过大(共 {_size(total)}，最大的部分 {largest.filename} {_size(largest.file_size)}；"
            f"上限 {_size(MAX_TOTAL_BYTES)}，单个部分 {_size(MAX_PART_BYTES)})，可能已损坏或含有超长单元格，"
            "请检查后另存或分成几个文件",
            f"{path.name}: unpacks to {total} bytes (largest part {largest.filename}): over the limit")
    return archive


def check_area(path: Path, kind: str, name: str, rows: int, columns: int) -> None:
    """Refuse a sheet whose area from A1 to its farthest cell is over the limits."""
    if rows > 1_048_576 or columns > 16_384 or rows * columns > MAX_CELLS:
        raise KaoheError(
            f"{kind} {path.name}: 工作表“{name}”的数据区域从 A1 到第 {rows:,} 行、第 {columns:,} 列，"
            f"共 {rows * columns:,} 个单元格，超过可读取的上限 {MAX_CELLS:,} 个(常见原因: 远处有一个误输入或带格式的"
            "单元格)；请删除多余的行和列，或把工单分成几个文件",
            f"{path.name}: sheet {name!r} spans {rows} rows x {columns} columns from A1, over the "
            f"{MAX_CELLS} cell limit; delete the stray far cells or split the file")


def sheet_area(archive: zipfile.ZipFile, path: Path, kind: str, name: str, part: str | None) -> SheetInfo:
    """One sheet's area (:func:`_extent`), checked (:func:`check_area`)."""
    try:
        rows, columns = _extent(archive, part) if part in set(archive.namelist()) else (0, 0)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise KaoheError(f"{kind} {path.name}: 工作表“{name}”已损坏，无法读取({err})",
                         f"{path.name}: sheet {name!r} is damaged: {err}") from err
    check_area(path, kind, name, rows, columns)
    return SheetInfo(name, False, rows, columns)


def inspect_workbook(path: Path, kind: str = "文件") -> list[SheetInfo]:
    """The sheets of an .xlsx/.xlsm and their areas; a :class:`KaoheError` (Chinese first)
    when the file is not a workbook or is over a limit. Nothing is allocated per cell."""
    with open_archive(path, kind) as archive:
        sheets, _ = workbook_parts(archive)
        return [dataclasses.replace(sheet_area(archive, path, kind, name, part), hidden=hidden)
                for name, hidden, part in sheets]


def open_workbook(path, kind: str = "文件") -> tuple[python_calamine.CalamineWorkbook, list[SheetInfo]]:
    """python-calamine's workbook for ``path`` after :func:`inspect_workbook` passed, with the
    sheets' information (in the workbook's order)."""
    path = Path(path)
    sheets = inspect_workbook(path, kind)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # calamine raises its own error types for damaged files, a Rust panic even
        raise KaoheError(f"{kind} {path.name}: 无法作为 Excel 工作簿打开({err})",
                         f"{path.name}: cannot open as an Excel workbook: {err}") from err
    listed = {s.name for s in sheets}
    sheets += [SheetInfo(name, False, 0, 0) for name in book.sheet_names if name not in listed]
    return book, sheets


def check_csv_size(path: Path, kind: str = "文件") -> None:
    """Refuse a CSV over :data:`MAX_CSV_BYTES` before reading it."""
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise KaoheError(f"{kind} {path.name}: 文件过大({_size(size)}，上限 {_size(MAX_CSV_BYTES)})，请分成几个文件",
                         f"{path.name}: {size} bytes, over the {MAX_CSV_BYTES} byte limit; split it")


__all__ = ["MAX_CELLS", "SheetInfo", "check_area", "check_csv_size", "inspect_workbook", "open_archive", "open_workbook",
           "sheet_area", "workbook_parts"]
