"""The archive: ledger tabs as separate files, phones masked on request, a manifest that verifies."""

import csv
import datetime as dt
import hashlib
import json

import numpy as np
import openpyxl
import pytest
import xlsxwriter

import udfs
from generators.archive import export_archive, verify_archive
from udfs.errors import KaoheError

MONTH = "2025-10"
PHONE = "13812345678"
LANDLINE = "0750-3456789"
HYPERLINK = '=HYPERLINK("http://x","点我")'
DISPATCHED = dt.datetime(2025, 10, 3, 14, 5, 7)


def _ledger_workbook(path, *, month=MONTH):
    """A small ledger as `write_ledger` lays it out: 台账, 拒收, 说明 (plus a tab not to archive)."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False,
                                           "default_date_format": "yyyy-mm-dd hh:mm:ss"})
    ledger = book.add_worksheet("台账")
    header = ["工单号", "联系电话", "问题描述", "派单时间", "超时小时", "扣分", "业务号码"]
    rows = [
        ["GD2025100300001", PHONE, f"客户来电 {LANDLINE} 反映无信号，回拨 {PHONE}", DISPATCHED, 1.5, 2, 202510030001],
        ["GD2025100300002", int(PHONE[:-1] + "9"), HYPERLINK, DISPATCHED + dt.timedelta(hours=1), 0.0, 0, 13900001111],
        ["GD2025100300003", "", "@SUM(1)", DISPATCHED + dt.timedelta(days=1), 0.0, 0, None],
    ]
    for j, label in enumerate(header):
        ledger.write_string(0, j, label)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value in ("", None):
                continue
            if isinstance(value, str):
                ledger.write_string(i, j, value)
            elif isinstance(value, dt.datetime):
                ledger.write_datetime(i, j, value)
            else:
                ledger.write_number(i, j, value)
    rejected = book.add_worksheet("拒收")
    for j, label in enumerate(["源行号", "工单号", "联系电话", "原因"]):
        rejected.write_string(0, j, label)
    for i, row in enumerate([[5, "GD2025100300009", "手机 13698765432", "回复时间早于派单时间"],
                             [7, "", "", "缺少工单号"]], start=1):
        rejected.write_number(i, 0, row[0])
        for j, value in enumerate(row[1:], start=1):
            if value:
                rejected.write_string(i, j, value)
    notes = book.add_worksheet("说明")
    notes.write_string(0, 0, "考核月份")
    notes.write_string(0, 1, month)
    book.add_worksheet("图表数据").write_string(0, 0, "不归档")
    book.close()
    return path


@pytest.fixture
def workbook(tmp_path):
    return _ledger_workbook(tmp_path / "台账_2025-10.xlsx")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cells(path, sheet):
    return list(openpyxl.load_workbook(path)[sheet].iter_rows())


def test_exports_each_ledger_tab_with_types_kept(workbook, tmp_path):
    out = tmp_path / "archive"
    manifest = export_archive(workbook, month=MONTH, out_dir=out)
    assert [(f.file, f.sheet, f.rows) for f in manifest.files] == [
        ("2025-10_台账.xlsx", "台账", 3), ("2025-10_拒收.xlsx", "拒收", 2)]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["2025-10_台账.xlsx", "2025-10_拒收.xlsx", "manifest.csv", "manifest.json"])

    book = openpyxl.load_workbook(out / "2025-10_台账.xlsx")
    assert book.sheetnames == ["台账"]
    sheet = book["台账"]
    assert sheet.max_row - 1 == 3
    assert sheet.freeze_panes == "A2"
    assert all(c.font.b for c in sheet[1])
    rows = list(sheet.iter_rows(min_row=2))
    # Text stays text, even when it looks like a formula.
    link = rows[1][2]
    assert link.value == HYPERLINK and link.data_type == "s"
    assert rows[2][2].value == "@SUM(1)" and rows[2][2].data_type == "s"
    assert rows[0][0].value == "GD2025100300001" and rows[0][0].data_type == "s"
    # Unmasked unless asked.
    assert rows[0][1].value == PHONE and PHONE in rows[0][2].value and LANDLINE in rows[0][2].value
    # Datetimes stay datetimes with a date format (seconds kept); numbers stay numbers.
    assert rows[0][3].value == DISPATCHED and rows[0][3].is_date and "yy" in rows[0][3].number_format
    assert rows[0][4].value == 1.5 and rows[0][4].data_type == "n"
    assert rows[0][6].value == 202510030001 and rows[0][6].data_type == "n"
    assert rows[1][1].value == int(PHONE[:-1] + "9") and rows[1][1].data_type == "n"
    assert rows[2][6].value is None

    rejected = openpyxl.load_workbook(out / "2025-10_拒收.xlsx")["拒收"]
    assert rejected.max_row - 1 == 2
    assert [c.value for c in rejected[3]] == [7, None, None, "缺少工单号"]


def test_phones_masked_only_when_asked(workbook, tmp_path):
    manifest = export_archive(workbook, month=MONTH, out_dir=tmp_path / "masked", mask_phones=True)
    assert manifest.masked
    rows = _cells(tmp_path / "masked" / "2025-10_台账.xlsx", "台账")[1:]
    assert rows[0][1].value == "138****5678"
    assert rows[0][2].value == "客户来电 0750-***6789 反映无信号，回拨 138****5678"
    # A phone stored as a number in a phone column is masked too (as text) ...
    assert rows[1][1].value == "138****5679" and rows[1][1].data_type == "s"
    # ... but ticket ids and long numbers elsewhere are left alone, and text stays text.
    assert [r[0].value for r in rows] == ["GD2025100300001", "GD2025100300002", "GD2025100300003"]
    assert rows[0][6].value == 202510030001 and rows[0][6].data_type == "n"
    assert rows[1][6].value == 13900001111 and rows[1][6].data_type == "n"  # not a phone column
    assert rows[1][2].value == HYPERLINK and rows[1][2].data_type == "s"
    assert rows[0][3].value == DISPATCHED
    rejected = _cells(tmp_path / "masked" / "2025-10_拒收.xlsx", "拒收")
    assert rejected[1][2].value == "手机 136****5432"
    assert verify_archive(tmp_path / "masked") == []

    plain = tmp_path / "plain"
    export_archive(workbook, month=MONTH, out_dir=plain)
    assert _cells(plain / "2025-10_拒收.xlsx", "拒收")[1][2].value == "手机 13698765432"


def test_manifest_matches_the_files(workbook, tmp_path):
    out = tmp_path / "archive"
    manifest = export_archive(workbook, month=MONTH, out_dir=out)
    raw = (out / "manifest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["文件", "工作表", "行数", "SHA-256"]
    assert rows[1:] == [[f.file, f.sheet, str(f.rows), f.sha256] for f in manifest.files]
    for name, sheet, count, digest in rows[1:]:
        assert digest == _sha(out / name)
        assert openpyxl.load_workbook(out / name)[sheet].max_row - 1 == int(count)
    meta = json.loads((out / "manifest.json").read_text("utf-8"))
    assert meta["month"] == MONTH and meta["source"] == workbook.name
    assert meta["source_sha256"] == _sha(workbook)
    assert meta["masked"] is False and meta["program"] == f"kaohe {udfs.__version__}"
    assert [f["sha256"] for f in meta["files"]] == [r[3] for r in rows[1:]]


def test_same_input_gives_byte_identical_archive(workbook, tmp_path):
    export_archive(workbook, month=MONTH, out_dir=tmp_path / "a", mask_phones=True)
    export_archive(workbook, month=MONTH, out_dir=tmp_path / "b", mask_phones=True)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_verify_reports_tampered_missing_and_extra_files(workbook, tmp_path):
    out = tmp_path / "archive"
    export_archive(workbook, month=MONTH, out_dir=out)
    assert verify_archive(out) == []

    with open(out / "2025-10_台账.xlsx", "ab") as stream:
        stream.write(b"\0")
    (out / "2025-10_拒收.xlsx").unlink()
    (out / "备注.txt").write_text("x", "utf-8")
    problems = verify_archive(out)
    assert any("校验值不符" in p and "checksum mismatch" in p and "2025-10_台账.xlsx" in p for p in problems)
    assert any("缺少文件" in p and "missing file" in p and "2025-10_拒收.xlsx" in p for p in problems)
    assert any("清单外的文件" in p and "备注.txt" in p for p in problems)
    assert len(problems) == 3, problems


def test_verify_reports_row_count_and_manifest_edits(workbook, tmp_path):
    out = tmp_path / "archive"
    export_archive(workbook, month=MONTH, out_dir=out)
    text = (out / "manifest.csv").read_text("utf-8-sig")
    (out / "manifest.csv").write_text(text.replace("台账,3,", "台账,4,"), "utf-8-sig")
    problems = verify_archive(out)
    assert any("行数不符" in p and "row count mismatch" in p and "4" in p and "3" in p for p in problems)
    assert any("manifest.json" in p and "不一致" in p for p in problems)

    (out / "manifest.csv").unlink()
    assert any("manifest.csv" in p for p in verify_archive(out))


def test_chosen_sheets_and_bad_input(workbook, tmp_path):
    manifest = export_archive(workbook, month=MONTH, out_dir=tmp_path / "one", sheets=["拒收"])
    assert [f.file for f in manifest.files] == ["2025-10_拒收.xlsx"]

    with pytest.raises(KaoheError, match="月份.*YYYY-MM") as err:
        export_archive(workbook, month="2025-13", out_dir=tmp_path / "x")
    assert "2025-13" in str(err.value)
    with pytest.raises(KaoheError, match="找不到工作簿.*nope.xlsx.*workbook not found"):
        export_archive(tmp_path / "nope.xlsx", month=MONTH, out_dir=tmp_path / "x")
    with pytest.raises(KaoheError, match="没有工作表: 汇总"):
        export_archive(workbook, month=MONTH, out_dir=tmp_path / "x", sheets=["汇总"])
    with pytest.raises(KaoheError, match="月份不一致.*2025-10.*2025-11"):
        export_archive(workbook, month="2025-11", out_dir=tmp_path / "x")

    other = tmp_path / "其他.xlsx"
    book = xlsxwriter.Workbook(str(other))
    book.add_worksheet("汇总").write_string(0, 0, "x")
    book.close()
    with pytest.raises(KaoheError, match="其他.xlsx 中没有台账工作表.*no ledger tab"):
        export_archive(other, month=MONTH, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_archives_a_real_ledger(tmp_path):
    """End to end with the ledger generator: every row archived, phones masked, verify passes."""
    from generators.demo import synthesize_month
    from generators.ledger import compute_ledger, write_ledger
    from udfs import rulebook
    from udfs.calendar import china_calendar

    book, calendar = rulebook.load("jiangmen"), china_calendar()
    ledger = compute_ledger(synthesize_month(MONTH, tickets=200), book,
                            as_of=(np.datetime64(MONTH, "M") + 1).astype("datetime64[s]"), calendar=calendar)
    path = tmp_path / f"台账_{MONTH}.xlsx"
    write_ledger(ledger, path, rulebook=book, month=MONTH, calendar_version=calendar.version)

    manifest = export_archive(path, month=MONTH, out_dir=tmp_path / "archive", mask_phones=True)
    counts = {f.sheet: f.rows for f in manifest.files}
    assert counts == {"台账": len(ledger.rows), "拒收": len(ledger.rejected)}
    assert counts["台账"] + counts["拒收"] == ledger.read
    assert verify_archive(tmp_path / "archive") == []

    sheet = openpyxl.load_workbook(tmp_path / "archive" / f"{MONTH}_台账.xlsx")["台账"]
    header = [c.value for c in sheet[1]]
    phones = [r[header.index("联系电话")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert phones and all("****" in str(p) for p in phones if p)
    ids = [r[header.index("工单号")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == list(ledger.rows["ticket_id"].astype(str))
