"""Per-argument help in Excel: the assessment workbook carries the hidden ``_IntelliSense_`` sheet the
Excel-DNA IntelliSense add-in reads (its WorkbookIntelliSenseProvider takes the sheet's used range:
A1 ``FunctionInfo``, then per row a function's name, description, help topic and name/description pairs
of its arguments), generated from the function catalogue."""

from __future__ import annotations

import openpyxl
import pytest

from generators.cli import main
from udfs.catalogue import MAX_HELP, load_all
from workbook import vba


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    path = tmp_path_factory.mktemp("help") / "考核工作簿.xlsm"
    assert main(["workbook", "--rulebook", "jiangmen", "--out", str(path), "--rows", "20"]) == 0
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[-1] == vba.INTELLISENSE_SHEET  # the last sheet, as the add-in's guide asks
    return book[vba.INTELLISENSE_SHEET]


def test_the_sheet_is_hidden_and_headed_as_the_add_in_reads_it(sheet):
    assert sheet.sheet_state == "hidden"
    assert sheet.min_row == sheet.min_column == 1  # the used range starts at A1: the add-in's [1,1]
    assert sheet["A1"].value == "FunctionInfo" and sheet["B1"].value == "1.0"


def test_every_catalogue_function_is_listed_with_all_its_arguments(sheet):
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    catalogue = load_all()
    assert set(rows) == set(catalogue) and len(catalogue) >= 15
    for name, spec in catalogue.items():
        row = list(rows[name])
        assert spec.description in row[1] and spec.zh_name in row[1], name
        assert row[2] is None  # no help topic
        pairs = [(row[j], row[j + 1]) for j in range(3, len(row) - 1, 2) if row[j]]
        assert [n.strip("[]") for n, _ in pairs] == [a.name for a in spec.args], name
        for (shown, help_text), arg in zip(pairs, spec.args):
            assert shown == (f"[{arg.name}]" if arg.optional else arg.name)
            assert help_text == arg.description and 0 < len(help_text) <= MAX_HELP, (name, arg.name)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in help_text), (name, arg.name)  # Chinese for people
    deadline = rows["KH_DEADLINE"]
    assert deadline[3:5] == ("start_at", next(a.description for a in catalogue["KH_DEADLINE"].args))
