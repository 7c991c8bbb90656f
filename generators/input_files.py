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

import python_calamine

from udfs.errors import KaoheError

MAX_PART_BYTES = 1 << 30     # one unpacked part (a sheet's XML, the shared strings): 1 GiB
MAX_TOTAL_BYTES = 2 << 30    # the whole unpacked workbook: 2 GiB
MAX_CELLS = 40_000_000       # a sheet's area from A1 to its farthest cell (a province's month is ~10 million)
MAX_CSV_BYTES = 2 << 30      # a CSV export
CHUNK_BYTES = 8 << 20

_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
# Any spelling of a row's and a cell's reference (a prefix, other attributes first, either quote) ...
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr\s*=\s*["\'](\d+)["\']')
_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr\s*=\s*["\']([A-Za-z]+)(\d+)["\']')
# ... and the one Excel, WPS and xlsxwriter write, found several times faster. A chunk where not
# every row and cell tag is spelt so (a prefix, another attribute first) is read with the above.
_PLAIN_ROW = re.compile(rb'<row r="(\d+)"')
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"')

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
            found_rows, cells = _PLAIN_ROW.findall(text), _PLAIN_CELL.findall(text)
            if (len(found_rows) == text.count(b"<row") and len(cells) == text.count(b"<c ")
                    and b":row" not in text and b":c " not in text):
                letters.update({column for column, _ in cells})
                rows = max([rows, *map(int, found_rows), *([max(map(int, (n for _, n in cells)))] if cells else [])])
            else:
                for found in _ROW.findall(text):
                    rows = max(rows, int(found[:9]) if len(found) <= 9 else 10 ** 9)
                for column, row in _CELL.findall(text):
                    letters.add(column[:4])
                    rows = max(rows, int(row[:9]) if len(row) <= 9 else 10 ** 9)
            if not chunk:
                break
    if letters:
        columns = max(_column_number(c) for c in letters)
    return rows, columns


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, bool, str | None]]:
    """``(name, hidden, part)`` for each sheet listed in ``xl/workbook.xml``."""
    try:
        listing = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return []
    targets = {}
    for found in _RELATIONSHIP.findall(relations):
        attributes = _attributes(found)
        target = attributes.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[attributes.get("Id", "")] = target
    sheets = []
    for found in _SHEET.findall(listing):
        attributes = _attributes(found)
        hidden = attributes.get("state", "visible") in ("hidden", "veryHidden")
        sheets.append((attributes.get("name", ""), hidden, targets.get(attributes.get("id", ""))))
    return sheets


def _size(count: int) -> str:
    return f"{count / (1 << 20):,.0f} MB"


def inspect_workbook(path: Path, kind: str = "文件") -> list[SheetInfo]:
    """The sheets of an .xlsx/.xlsm and their areas; a :class:`KaoheError` (Chinese first)
    when the file is not a workbook or is over a limit. Nothing is allocated per cell."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise KaoheError(f"{kind} {path.name}: 无法作为 Excel 工作簿打开(不是有效的 .xlsx 文件: {err})",
                         f"{path.name}: not a valid .xlsx workbook: {err}") from err
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        largest = max(members, key=lambda m: m.file_size, default=None)
        if largest is not None and largest.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
            raise KaoheError(
                f"{kind} {path.name}: 解压后过大(共 {_size(total)}，最大的部分 {largest.filename} {_size(largest.file_size)}；"
                f"上限 {_size(MAX_TOTAL_BYTES)}，单个部分 {_size(MAX_PART_BYTES)})，可能已损坏或含有超长单元格，"
                "请检查后另存或分成几个文件",
                f"{path.name}: unpacks to {total} bytes (largest part {largest.filename}): over the limit")
        sheets, parts = [], set(archive.namelist())
        for name, hidden, part in _sheet_parts(archive):
            try:
                rows, columns = _extent(archive, part) if part in parts else (0, 0)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
                raise KaoheError(f"{kind} {path.name}: 工作表“{name}”已损坏，无法读取({err})",
                                 f"{path.name}: sheet {name!r} is damaged: {err}") from err
            if rows > 1_048_576 or columns > 16_384 or rows * columns > MAX_CELLS:
                raise KaoheError(
                    f"{kind} {path.name}: 工作表“{name}”的数据区域从 A1 到第 {rows:,} 行、第 {columns:,} 列，"
                    f"共 {rows * columns:,} 个单元格，超过可读取的上限 {MAX_CELLS:,} 个(常见原因: 远处有一个误输入或带格式的"
                    "单元格)；请删除多余的行和列，或把工单分成几个文件",
                    f"{path.name}: sheet {name!r} spans {rows} rows x {columns} columns from A1, over the "
                    f"{MAX_CELLS} cell limit; delete the stray far cells or split the file")
            sheets.append(SheetInfo(name, hidden, rows, columns))
    return sheets


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


__all__ = ["MAX_CELLS", "SheetInfo", "check_csv_size", "inspect_workbook", "open_workbook"]
