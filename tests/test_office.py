"""A third-party reader: LibreOffice (headless) opens the ledger and the monthly table
`kaohe demo` writes. It finds the same ledger rows and numbers as openpyxl, and recalculating
the monthly table's formulas itself it gets every number the engine cached. Skipped without
LibreOffice unless KAOHE_REQUIRE_OFFICE=1 (see tests/office.py)."""

import openpyxl
import pytest
import xlsxwriter
from office import read_csv, requires_office, to_csv, to_pdf

from generators.cli import main

pytestmark = requires_office


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--tickets", "300"]) == 0
    return out / "台账_2025-10.xlsx"


@pytest.fixture(scope="module")
def sheets(ledger, tmp_path_factory):
    """{sheet name: rows} as LibreOffice exports them (one LibreOffice run for the file)."""
    return {name: read_csv(path) for name, path in to_csv(ledger, tmp_path_factory.mktemp("csv")).items()}


@pytest.fixture(scope="module")
def book(ledger):
    book = openpyxl.load_workbook(ledger, read_only=True)
    yield {name: [list(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    book.close()


def column(rows, label):
    return [row[rows[0].index(label)] for row in rows[1:]]


def test_libreoffice_reads_every_sheet(sheets, book):
    assert list(sheets) == list(book) == ["台账", "附件3服务质量问题处理管理台账", "拒收", "说明"]
    for name in book:
        assert sheets[name][0] == [v or "" for v in book[name][0]], name  # the headers (or title)


def test_ledger_counts_and_totals_match_openpyxl(sheets, book):
    ledger, rejected = sheets["台账"], sheets["拒收"]
    assert len(ledger) == len(book["台账"]) and len(rejected) == len(book["拒收"])
    assert len(ledger) - 1 + len(rejected) - 1 == 304  # 300 synthesized tickets + 4 faulty rows
    assert column(ledger, "工单号") == column(book["台账"], "工单号")
    deductions = [float(v) for v in column(ledger, "扣分")]
    assert sum(deductions) == pytest.approx(sum(column(book["台账"], "扣分"))) and sum(deductions) > 0
    late = column(ledger, "回复及时").count("否")
    assert late == column(book["台账"], "回复及时").count("否") and late > 0


def test_formula_like_ticket_text_comes_back_as_text(sheets):
    texts = column(sheets["台账"], "投诉内容")
    assert '=HYPERLINK("http://x","点我")' in texts and "@SUM(1)" in texts


def test_ledger_prints_to_pdf(ledger, tmp_path):
    pdf = to_pdf(ledger, tmp_path)
    assert pdf == tmp_path / "台账_2025-10.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


def test_formulas_are_recalculated_unless_asked_not_to(tmp_path):
    # LibreOffice's own default for .xlsx is to trust the stored values; to_csv recalculates.
    path = tmp_path / "wrong.xlsx"
    with xlsxwriter.Workbook(path) as probe:
        probe.add_worksheet("表").write_formula("A1", "=1+1", None, 5)
    assert read_csv(to_csv(path, tmp_path / "recalc")["表"]) == [["2"]]
    assert read_csv(to_csv(path, tmp_path / "cached", recalc=False)["表"]) == [["5"]]


@pytest.fixture(scope="module")
def monthly(ledger, tmp_path_factory):
    """``(path, {sheet: rows as LibreOffice recalculated them})`` of the demo's monthly table."""
    path = ledger.with_name("月度考核表_2025-10.xlsx")
    return path, {name: read_csv(csv) for name, csv in to_csv(path, tmp_path_factory.mktemp("monthly")).items()}


def test_libreoffice_recalculates_the_monthly_table_to_the_engines_numbers(monthly):
    """Every formula cell: LibreOffice's own result (recalculated on load) equals the value the
    engine cached; the summary's scores are the unit sheets' scores."""
    path, sheets = monthly
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    checked = 0
    for sheet in formulas.worksheets:
        rows = sheets[sheet.title]
        for row in sheet.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                expected = cached[sheet.title][cell.coordinate].value
                seen = rows[cell.row - 1][cell.column - 1]
                if isinstance(expected, (int, float)):
                    number = float(seen[:-1]) / 100 if seen.endswith("%") else float(seen)  # 0.0% formats
                    assert number == pytest.approx(expected, abs=1e-9), (sheet.title, cell.coordinate, cell.value)
                else:
                    assert seen == (expected or ""), (sheet.title, cell.coordinate, cell.value)
                checked += 1
    assert checked > 100
    summary = sheets["汇总"]
    scores = {row[0]: float(row[6]) for row in summary[3:6]}
    for unit, score in scores.items():
        sheet = sheets[unit]
        assert float(next(row for row in sheet if row[0] == "得分(分)")[6]) == score
