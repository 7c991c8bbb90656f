"""The documents `kaohe demo` writes, as an assessor and a vendor get them (issue #13).

Every file is opened the way a person without Python opens it: LibreOffice with its default
"never recalculate" (so what shows is what the file caches), printed to PDF, validated against the
Open XML SDK rules, and read for words no person should see. The demo's own inputs (the synthetic
export and findings) are checked for validity only: they stand for files a carrier's system writes.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pdfplumber
import pytest
from office import read_csv, requires_office, to_csv, to_pdf
from openpyxl.utils.cell import range_boundaries

from udfs.rulebook import installed

pytestmark = [requires_office, pytest.mark.slow]

MONTH = "2025-10"
INPUTS = (f"工单导出_{MONTH}.xlsx", f"考核记录_{MONTH}.xlsx")
SPREADSHEET = (".xlsx", ".xlsm")
ERROR = re.compile(r"^(#NAME\?|#VALUE!|#REF!|#DIV/0!|#N/A|#NUM!|#NULL!|Err:\d+)$")
MIN_TEXT = 7.95  # points; 8 pt less what a PDF's rounding of a scaled font takes off
# Code words an assessor must never read: field ids, measure tokens, a pipe between stages, the
# stored seed files' hash names, paths of the building machine, booleans as Excel spells them.
TOKENS = re.compile(r"ticket_id|overdue:|none_overdue|avg_hours_over|flag:|\||\b\d{3}_[0-9a-f]{16}\.txt"
                    r"|\bTRUE\b|\bFALSE\b|/tmp/|/work/|/home/|site-packages|[A-Z]:\\\\|demo_rulebooks")
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # identifiers in code style (rulebook names allowed)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's folder and its screen output."""
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "generators.cli", "demo", "--out", str(out), "--tickets", "300"],
                          capture_output=True, text=True, encoding="utf-8", check=False)
    assert done.returncode == 0, done.stderr
    return out, done.stdout + done.stderr


def outputs(folder: Path, *, inputs: bool = False) -> list[Path]:
    """The files the demo wrote for people (and, with ``inputs``, its synthetic inputs too)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (*SPREADSHEET, ".docx"))
    return [p for p in files if inputs or p.name not in INPUTS]


@pytest.fixture(scope="module")
def pdfs(demo, tmp_path_factory):
    """{file: PDF LibreOffice prints of it, with the file's own page setup and cached values}."""
    folder, _ = demo
    target = tmp_path_factory.mktemp("pdf")
    return {path: to_pdf(path, target / path.parent.name, recalc=False) for path in outputs(folder)}


@pytest.fixture(scope="module")
def chars(pdfs):
    """{file: [(page number, character, size in points)]} of every printed character."""
    found = {}
    for path, pdf in pdfs.items():
        with pdfplumber.open(pdf) as document:
            found[path] = [(n, letter, c["size"]) for n, page in enumerate(document.pages, 1) for c in page.chars
                           for letter in unicodedata.normalize("NFKC", c["text"])]  # ligatures: "tt" is two
    return found


def visible_sheets(path: Path, *, data_only: bool = True):
    book = openpyxl.load_workbook(path, data_only=data_only, keep_vba=False)
    return book, [ws for ws in book.worksheets if ws.sheet_state == "visible"]


def printed_cells(ws):
    """Cells with a value inside the print area (or the used range), not in hidden rows or columns."""
    hidden_columns = {i for d in ws.column_dimensions.values() if d.hidden for i in range(d.min, d.max + 1)}
    hidden_rows = {i for i, d in ws.row_dimensions.items() if d.hidden}
    areas = ws.print_area
    bounds = [range_boundaries(a.split("!")[-1].replace("$", "")) for a in (areas if isinstance(areas, list) else [])]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None or cell.row in hidden_rows or cell.column in hidden_columns:
                continue
            if bounds and not any(a <= cell.column <= c and b <= cell.row <= d for a, b, c, d in bounds):
                continue
            yield cell


def shown(value) -> str:
    """A cached value as LibreOffice's CSV export (not 'as shown') writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def same(seen: str, cached) -> bool:
    if isinstance(cached, (int, float)) and not isinstance(cached, bool):
        try:
            number = float(seen[:-1]) / 100 if seen.endswith("%") else float(seen)
        except ValueError:
            return False
        return abs(number - cached) <= 1e-9 * max(1.0, abs(cached))
    if isinstance(cached, dt.datetime):  # LibreOffice writes dates in its locale's (en-US) way
        for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%y"):
            try:
                return abs((dt.datetime.strptime(seen, form) - cached).total_seconds()) < 60
            except ValueError:
                continue
        return False
    return seen == shown(cached)


def _status_cells(book) -> set[tuple[str, str]]:
    """The workbook's 函数状态 cell: a formula meant to be worked out anew wherever the file is
    opened, saying whether the KH_ functions run (in LibreOffice: they do not)."""
    name = book.defined_names.get("函数状态")
    return {(sheet, cell.replace("$", "")) for sheet, cell in name.destinations} if name else set()


def test_libreoffice_shows_exactly_what_the_files_cache(demo, tmp_path):
    """Opened without recalculation (LibreOffice's default for .xlsx), every cell of every sheet
    shows the value the file caches: no #NAME? where Excel would have computed a number, no
    boolean or empty result lost. In the monthly table and the workbook this is the whole
    summary and every unit sheet; only the workbook's 函数状态 cell is worked out anew, by design
    (it says the functions are not running there)."""
    folder, _ = demo
    problems = []
    for path in outputs(folder):
        if path.suffix not in SPREADSHEET:
            continue
        csvs = to_csv(path, tmp_path / path.stem, recalc=False)
        book = openpyxl.load_workbook(path, data_only=True)
        live = _status_cells(book)
        for ws in book.worksheets:
            rows = read_csv(csvs[ws.title])
            for r, row in enumerate(rows, 1):
                for c, seen in enumerate(row, 1):
                    cached = ws.cell(r, c).value
                    if ERROR.match(seen) and shown(cached) != seen:
                        problems.append(f"{path.name} {ws.title}!{ws.cell(r, c).coordinate}: {seen} (缓存 {cached!r})")
            for row in ws.iter_rows():
                for cell in row:
                    seen = rows[cell.row - 1][cell.column - 1] if cell.row <= len(rows) and cell.column <= len(
                        rows[cell.row - 1]) else ""
                    if not same(seen, cell.value) and (ws.title, cell.coordinate) not in live:
                        problems.append(f"{path.name} {ws.title}!{cell.coordinate}: 显示 {seen!r}，缓存 {cell.value!r}")
    assert not problems, f"{len(problems)} cells differ, e.g.\n" + "\n".join(problems[:25])


def _audit(path: Path) -> list[str]:
    from openxml_audit import OpenXmlValidator, ValidationSeverity

    result = OpenXmlValidator(max_errors=0).validate(str(path))  # warnings (e.g. inline strings) are advice
    return [f"{path.name}: {e}" for e in result.errors if e.severity == ValidationSeverity.ERROR]


def test_every_part_of_every_file_is_valid_ooxml(demo):
    """Each part parses as XML, and the Open XML SDK rules (openxml-audit) find no error, in the
    outputs and in the demo's synthetic inputs."""
    folder, _ = demo
    problems = []
    files = outputs(folder, inputs=True)
    assert {p.suffix for p in files} >= {".xlsx", ".xlsm", ".docx"}
    for path in files:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith((".xml", ".rels", ".vml")):
                    try:
                        ElementTree.fromstring(archive.read(name))
                    except ElementTree.ParseError as err:
                        problems.append(f"{path.name}/{name}: {err}")
        problems += _audit(path)
    assert not problems, "\n".join(problems[:30])


def test_no_printed_text_is_smaller_than_8_points(chars):
    small = collections.defaultdict(list)
    for path, found in chars.items():
        assert found, f"{path.name} printed no text"
        for page, char, size in found:
            if size < MIN_TEXT and not char.isspace():
                small[path.name].append((page, char, round(size, 1)))
    assert not small, "\n".join(f"{name}: {len(v)} 个字小于 8 pt, 如第{v[0][0]}页 {v[0][1]!r} {v[0][2]} pt"
                                for name, v in small.items())


def test_no_cell_text_is_clipped_in_print(chars):
    """Every character of every printed text cell is on paper: LibreOffice leaves out what a row
    too short for its wrapped text, or a non-empty neighbour, cuts off."""
    problems = []
    for path, found in chars.items():
        if path.suffix not in SPREADSHEET:
            continue
        printed = collections.Counter(c for _, c, _ in found if not c.isspace())
        _, sheets = visible_sheets(path)
        wanted = collections.Counter()
        owners = collections.defaultdict(list)
        for ws in sheets:
            for cell in printed_cells(ws):
                if isinstance(cell.value, str):
                    for ch in unicodedata.normalize("NFKC", cell.value):  # as the printed side is
                        if not ch.isspace():
                            wanted[ch] += 1
                            owners[ch].append(f"{ws.title}!{cell.coordinate}")
        missing = wanted - printed
        if missing:
            cells = sorted({owner for ch in missing for owner in owners[ch][:3]})[:10]
            problems.append(f"{path.name}: {sum(missing.values())} 个字未印出({''.join(list(missing)[:20])})，"
                            f"如 {', '.join(cells)}")
    assert not problems, "\n".join(problems)


def _texts_of(path: Path, ticket_texts: set[str]):
    """(where, text) of every piece of text a person reads in a generated file."""
    if path.suffix == ".docx":
        import docx

        document = docx.Document(path)
        for paragraph in document.paragraphs:
            yield "段落", paragraph.text
        for table in document.tables:
            for row in table.rows:
                for cell in row.cells:
                    yield "表格", cell.text
        for section in document.sections:
            for paragraph in section.footer.paragraphs + section.header.paragraphs:
                yield "页眉页脚", paragraph.text
        return
    _, sheets = visible_sheets(path)
    for ws in sheets:
        yield "表名", ws.title
        for part in (ws.oddHeader, ws.oddFooter):
            for side in (part.left, part.center, part.right):
                if side.text:
                    yield f"{ws.title} 页眉页脚", side.text
        for cell in printed_cells(ws):
            if isinstance(cell.value, bool):
                yield f"{ws.title}!{cell.coordinate}", str(cell.value).upper()
            elif isinstance(cell.value, str) and cell.value not in ticket_texts:
                yield f"{ws.title}!{cell.coordinate}", cell.value
    with zipfile.ZipFile(path) as archive:  # chart titles, axes and categories
        for name in archive.namelist():
            if name.startswith("xl/charts/chart"):
                root = ElementTree.fromstring(archive.read(name))
                for node in root.iter():
                    if node.tag.endswith("}t") or node.tag.endswith("}v"):
                        yield f"图表 {name}", node.text or ""


def _ticket_texts(folder: Path) -> set[str]:
    """Text typed into the (synthetic) export and findings: data, shown as it came."""
    texts = set()
    for name in INPUTS:
        book = openpyxl.load_workbook(folder / name, read_only=True)
        for ws in book.worksheets:
            for row in ws.iter_rows(values_only=True):
                texts.update(v for v in row if isinstance(v, str))
        book.close()
    return texts


def _words_problems(where: str, text: str, names: set[str]) -> list[str]:
    found = [m.group(0) for m in TOKENS.finditer(text)]
    found += [w for w in SNAKE.findall(text) if w not in names]
    return [f"{where}: {found} in {text[:80]!r}"] if found else []


def test_no_code_words_in_any_document_or_screen_output(demo):
    folder, screen = demo
    names = {info.name for info in installed()} | {"jiangmen_demo"}
    problems = []
    tickets = _ticket_texts(folder)
    for path in outputs(folder):
        for where, text in _texts_of(path, tickets):
            problems += _words_problems(f"{path.name} {where}", text, names)
    commands = [["rulebooks"]] + [["rulebooks", name] for name in sorted(names - {"jiangmen_demo"})]
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "generators.cli", *command], capture_output=True, text=True,
                              encoding="utf-8", check=False)
        assert done.returncode == 0, done.stderr
        screen += done.stdout + done.stderr
    for n, line in enumerate(screen.splitlines(), 1):
        if str(folder) in line:  # the user's own output folder, named back to them
            line = line.replace(str(folder), "〈输出文件夹〉")
        problems += _words_problems(f"屏幕第{n}行", line, names)
    assert not problems, f"{len(problems)} 处:\n" + "\n".join(problems[:40])
