"""The assessment workbook away from the machine and the program that built it: opened by
LibreOffice without recalculation it shows exactly the values saved in it (no #NAME?), and a
workbook built from a contract's own rulebook file names no path and still carries its rulebook
when the file is moved."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import zipfile

import openpyxl
import pytest

from generators import demo
from generators.cli import main
from tests.office import read_csv, requires_office, to_csv
from udfs.carried import RULES_SHEET, rulebook_from_cells
from udfs.rulebook import load
from udfs.scoring_cells import kh_item
from workbook.builder import STATUS_CACHED, STATUS_CELL, STATUS_STALE

MONTH = "2025-10"


@pytest.fixture(scope="module")
def demo_workbook(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--tickets", "200"]) == 0
    return out / f"考核工作簿_{MONTH}.xlsm"


def _shown_as_cached(shown: str, cached) -> bool:
    """A CSV cell (LibreOffice, values not as shown but percentages are) against openpyxl's cache."""
    if cached is None or cached == "":
        return shown == ""
    if isinstance(cached, bool):
        return False  # no TRUE/FALSE a person reads
    if isinstance(cached, dt.datetime):
        return shown.startswith(cached.strftime("%Y-%m-%d %H:%M")) or shown == cached.strftime("%m/%d/%Y")
    if isinstance(cached, (int, float)):
        text = shown.removesuffix("%")
        try:
            value = float(text) / (100 if shown.endswith("%") else 1)
        except ValueError:
            return False
        return math.isclose(value, cached, rel_tol=1e-9, abs_tol=1e-9)
    return shown == str(cached)


@requires_office
@pytest.mark.slow
def test_libreoffice_without_recalculation_shows_the_saved_values(demo_workbook, tmp_path):
    """No #NAME? (nor any # error the cache does not hold) anywhere, and every cell of 汇总, 考核表 and
    台账 reads exactly what the file caches: LibreOffice recalculates array formulas on load and does
    not know the KH_ functions, so the KH_ columns fall back to the hidden 缓存 copy and the plain
    KH_ formulas to their saved value; 说明's 函数状态 says the results are the saved ones."""
    sheets = to_csv(demo_workbook, tmp_path, recalc=False)
    cached = openpyxl.load_workbook(demo_workbook, data_only=True)
    for name in ("汇总", "考核表", "台账", "说明"):
        rows = read_csv(sheets[name])
        sheet = cached[name]
        wrong = []
        for i, row in enumerate(rows):
            for j, shown in enumerate(row):
                value = sheet.cell(i + 1, j + 1).value
                if name == "说明" and sheet.cell(i + 1, j + 1).coordinate == STATUS_CELL.replace("$", ""):
                    assert value == STATUS_CACHED and shown in (STATUS_CACHED, STATUS_STALE)
                    continue
                assert shown not in ("#NAME?", "#VALUE!", "#REF!", "#N/A", "Err:504", "Err:502"), (name, i, j)
                if name != "说明" and not _shown_as_cached(shown, value):
                    wrong.append((sheet.cell(i + 1, j + 1).coordinate, shown, value))
        assert not wrong, (name, wrong[:10])
    ledger = read_csv(sheets["台账"])
    assert len(ledger) > 200 and sum(row.count("") for row in ledger[1:]) > 0
    assert not any(cell.count("#日期无法识别") > 1 for row in ledger for cell in row)  # never a doubled prefix


def test_the_workbook_names_its_rulebook_and_carries_it_when_moved(demo_workbook, tmp_path):
    """No path of the building machine in any part of the file; 考核办法 shows the name; the defined
    name refers to the hidden sheet that carries the contract's file (and the file it extends), and
    those cells, read from a copy in another folder, give the same rulebook and the same amounts."""
    with zipfile.ZipFile(demo_workbook) as archive:
        for part in archive.namelist():
            text = archive.read(part).decode("utf-8", "replace")
            for path in (str(demo.RULEBOOK.parent), str(demo_workbook.parent), "/work/", "/tmp/", "/home/", "\\Users\\"):
                assert path not in text, (part, path)
    moved = tmp_path / "另一台电脑" / demo_workbook.name
    moved.parent.mkdir()
    shutil.copy(demo_workbook, moved)
    demo_workbook.unlink()  # the original is gone; only the copy remains

    book = openpyxl.load_workbook(moved)
    assert book["说明"]["B4"].value == "jiangmen_demo"
    reference = book.defined_names["考核办法"].attr_text
    assert reference.startswith(f"{RULES_SHEET}!$A$1:$B$")
    assert book[RULES_SHEET].sheet_state == "hidden"
    cells = [[c.value for c in row] for row in book[RULES_SHEET][reference.split("!")[1].replace("$", "")]]
    carried = rulebook_from_cells(cells)
    original = load(demo.RULEBOOK)
    assert carried.name == original.name and carried.path != original.path
    assert carried.items == original.items and carried.payment == original.payment and carried.risks == original.risks
    for item in original.items[:5]:
        expected = kh_item(original, item.id, 3).tolist()
        assert kh_item(carried, item.id, 3).tolist() == expected
        assert kh_item(cells, item.id, 3).tolist() == expected  # the range itself, as Excel passes 考核办法
    assert rulebook_from_cells([["jiangmen"]]) == "jiangmen"  # an installed rulebook: its name


def test_an_installed_rulebook_is_named_and_not_carried(tmp_path):
    assert main(["workbook", "--rulebook", "jiangmen", "--out", str(tmp_path / "w.xlsm"), "--rows", "20"]) == 0
    book = openpyxl.load_workbook(tmp_path / "w.xlsm")
    assert book.defined_names["考核办法"].attr_text == "说明!$B$4" and book["说明"]["B4"].value == "jiangmen"
    assert book[RULES_SHEET].max_row == 1
