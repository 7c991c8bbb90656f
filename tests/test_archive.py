"""The archive: ledger tabs as separate files, phones masked on request, a manifest that verifies."""

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
import zipfile

import numpy as np
import openpyxl
import pytest
import xlsxwriter

import udfs
from generators import archive
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
    assert rows[0] == ["文件", "工作表", "数据行数(不含标题、表头和表尾)", "SHA-256", "月份", "来源工作簿",
                       "来源工作簿 SHA-256", "电话号码"]
    assert rows[1:] == [[f.file, f.sheet, str(f.rows), f.sha256, MONTH, workbook.name, _sha(workbook), "未脱敏"]
                        for f in manifest.files]
    for name, sheet, count, digest, *_ in rows[1:]:
        assert digest == _sha(out / name)
        assert openpyxl.load_workbook(out / name)[sheet].max_row - 1 == int(count)
    meta = json.loads((out / "manifest.json").read_text("utf-8"))
    assert meta["month"] == MONTH and meta["source"] == workbook.name
    assert meta["source_sha256"] == _sha(workbook)
    assert meta["masked"] is False and meta["program"] == f"kaohe {udfs.__version__}"
    assert [f["sha256"] for f in meta["files"]] == [r[3] for r in rows[1:]]
    # Each file states month, sheet, source, masking and program again in its document properties.
    book = openpyxl.load_workbook(out / "2025-10_拒收.xlsx")
    assert book.properties.title.startswith(f"{MONTH} ")
    assert {p.name: p.value for p in book.custom_doc_props.props} == {
        "考核月份": MONTH, "工作表": "拒收", "来源工作簿": workbook.name, "来源工作簿 SHA-256": _sha(workbook),
        "电话号码已脱敏": False, "程序": f"kaohe {udfs.__version__}"}


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


# --- verify trusts nothing in the manifest ---------------------------------------------------

TABS = ("2025-10_台账.xlsx", "2025-10_拒收.xlsx")


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """One masked and one unmasked archive of the small ledger, made once; tests work on copies."""
    base = tmp_path_factory.mktemp("archives")
    source = _ledger_workbook(base / "台账_2025-10.xlsx")
    export_archive(source, month=MONTH, out_dir=base / "masked", mask_phones=True)
    export_archive(source, month=MONTH, out_dir=base / "plain")
    return base


def _copy(archives, tmp_path, which="masked"):
    out = tmp_path / which
    shutil.copytree(archives / which, out)
    assert verify_archive(out) == []
    return out


def _manifests(out):
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    return rows, json.loads((out / "manifest.json").read_text("utf-8"))


def _save(out, rows=None, meta=None):
    if rows is not None:
        with open(out / "manifest.csv", "w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream, lineterminator="\r\n").writerows(rows)
    if meta is not None:
        (out / "manifest.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def _rewrite(path, member, change):
    """Rewrite one part of an .xlsx (a zip) and return the file's new SHA-256."""
    with zipfile.ZipFile(path) as old:
        parts = [(info, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info, data in parts:
            new.writestr(info, change(data) if info.filename == member else data)
    return _sha(path)


def _reseal(out, name, digest):
    """Record a file's new checksum in both manifests, as a careful attacker would."""
    rows, meta = _manifests(out)
    for row in rows[1:]:
        if row[0] == name:
            row[3] = digest
    for item in meta["files"]:
        if item["file"] == name:
            item["sha256"] = digest
    _save(out, rows, meta)


def _chinese_first(problems):
    assert problems
    for problem in problems:
        assert re.search("[\u4e00-\u9fff]", problem.split(" / ")[0]), problem


@pytest.mark.parametrize("hostile", ["../masked/{name}", "{absolute}", "C:{name}", "C:\\\\masked\\\\{name}",
                                     "..\\\\masked\\\\{name}", "sub/{name}", "./{name}", ".."])
def test_verify_refuses_files_outside_the_folder(archives, tmp_path, monkeypatch, hostile):
    """An empty folder with a manifest pointing elsewhere must not verify, nor hash anything outside."""
    source = _copy(archives, tmp_path)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    shutil.copy(source / TABS[0], empty / "sub" / TABS[0])
    rows, meta = _manifests(source)
    for row, item in zip(rows[1:], meta["files"], strict=True):
        row[0] = item["file"] = hostile.format(name=row[0], absolute=source / row[0])
    _save(empty, rows, meta)
    hashed = []
    monkeypatch.setattr(archive, "file_sha256", lambda path: hashed.append(path) or _sha(path))

    problems = verify_archive(empty)
    _chinese_first(problems)
    for n, name in ((2, rows[1][0]), (3, rows[2][0])):
        assert any(f"manifest.csv 清单第{n}行的文件名“{name[:60]}" in p and "”不在归档文件夹内 / " in p
                   and "not inside" in p for p in problems), problems
    assert any(f"manifest.json 清单第1项的文件名“{rows[1][0][:60]}" in p and "不在归档文件夹内" in p for p in problems)
    assert any("没有列出任何可核对的归档文件" in p for p in problems)
    assert hashed == []


def test_verify_refuses_symlinks_out_of_the_folder(archives, tmp_path):
    source = _copy(archives, tmp_path)
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in (*TABS, "manifest.csv", "manifest.json"):
        (linked / name).symlink_to(source / name)
    problems = verify_archive(linked)
    _chinese_first(problems)
    assert any("清单 manifest.csv 不是普通文件" in p for p in problems)
    for name in TABS:
        shutil.copy(source / name, tmp_path / name)
        (linked / name).unlink()
        (linked / name).symlink_to(tmp_path / name)
    for name in ("manifest.csv", "manifest.json"):
        (linked / name).unlink()
        shutil.copy(source / name, linked / name)
    problems = verify_archive(linked)
    assert any(f"manifest.csv 清单第2行的文件名“{TABS[0]}”不在归档文件夹内" in p for p in problems), problems
    assert not any("校验值不符" in p for p in problems)


def test_verify_cross_checks_month_and_source(archives, tmp_path):
    out = _copy(archives, tmp_path)
    rows, meta = _manifests(out)

    _save(out, meta={**meta, "month": "2025-11"})
    problems = verify_archive(out)
    assert any(p.startswith("月份不一致") and "“2025-11” 见于 manifest.json" in p and "2025-10_台账.xlsx 的文档属性" in p
               for p in problems), problems
    assert len(problems) == 1

    _save(out, meta={**meta, "source": "别的台账.xlsx"})
    assert any(p.startswith("来源工作簿不一致") and "别的台账.xlsx" in p and "manifest.csv 清单第2行" in p
               for p in verify_archive(out))
    _save(out, meta={**meta, "source_sha256": "0" * 64})
    assert any(p.startswith("来源工作簿 SHA-256不一致") for p in verify_archive(out))

    _save(out, [rows[0], *[[*r[:4], "2025-09", *r[5:]] for r in rows[1:]]], meta)
    problems = verify_archive(out)
    assert any(p.startswith("月份不一致") and "manifest.csv 清单第2行" in p and "2025-09" in p for p in problems)

    # Files renamed to another month, both manifests edited to match: the files themselves still say 2025-10.
    for row, item in zip(rows[1:], meta["files"], strict=True):
        (out / row[0]).rename(out / row[0].replace(MONTH, "2025-11"))
        row[0] = item["file"] = row[0].replace(MONTH, "2025-11")
        row[4] = "2025-11"
    _save(out, rows, {**meta, "month": "2025-11"})
    problems = verify_archive(out)
    _chinese_first(problems)
    assert any(p.startswith("月份不一致") and "“2025-10” 见于 2025-11_台账.xlsx 的标题、2025-11_台账.xlsx 的文档属性" in p
               for p in problems), problems
    assert verify_archive(archives / "masked") == []


def test_verify_decides_masking_itself(archives, tmp_path):
    # A masked archive with masked=false in manifest.json: the csv and the files disagree.
    out = _copy(archives, tmp_path)
    rows, meta = _manifests(out)
    _save(out, meta={**meta, "masked": False})
    problems = verify_archive(out)
    assert problems == [p for p in problems if p.startswith("电话号码是否脱敏不一致")] and len(problems) == 1
    assert "未脱敏 见于 manifest.json" in problems[0] and "已脱敏 见于 manifest.csv 清单第2行" in problems[0]

    # An unmasked archive whose manifests claim masking: the files disagree, and the phones are found.
    plain = _copy(archives, tmp_path, "plain")
    rows, meta = _manifests(plain)
    _save(plain, [rows[0], *[[*r[:7], "已脱敏"] for r in rows[1:]]], {**meta, "masked": True})
    problems = verify_archive(plain)
    _chinese_first(problems)
    assert any(p.startswith("电话号码是否脱敏不一致") and "2025-10_台账.xlsx 的文档属性" in p for p in problems)
    assert any(p.startswith("脱敏归档中仍有电话号码: 2025-10_台账.xlsx 台账!B2") for p in problems), problems
    assert any(p.startswith("脱敏归档中仍有电话号码: 2025-10_拒收.xlsx 拒收!C2") for p in problems), problems

    # Honestly unmasked: verifies, but says so.
    result = verify_archive(archives / "plain")
    assert result == [] and result.masked is False
    assert any("未脱敏" in note for note in result.notes)
    assert verify_archive(archives / "masked").notes == [] and verify_archive(archives / "masked").masked is True


@pytest.mark.parametrize("spelling", ["+86 138-1234-5678", "(0750)3456789", "１３８ １２３４ ５６７８"])
def test_verify_finds_a_phone_put_back_into_a_masked_archive(archives, tmp_path, spelling):
    out = _copy(archives, tmp_path)
    name = TABS[0]
    digest = _rewrite(out / name, "xl/worksheets/sheet1.xml",
                      lambda data: data.replace(b"138****5678", spelling.encode(), 1))
    _reseal(out, name, digest)
    problems = verify_archive(out)
    assert len(problems) == 1 and problems[0].startswith(f"脱敏归档中仍有电话号码: {name} 台账!B2"), problems


def test_flipping_masked_everywhere_still_shows_unmasked(archives, tmp_path):
    """Manifests and file properties all rewritten to masked=false: nothing left to contradict,
    so the check passes, but the result says plainly that the archive is not masked."""
    out = _copy(archives, tmp_path)
    for name in TABS:
        _reseal(out, name, _rewrite(out / name, "docProps/custom.xml",
                                    lambda data: data.replace(b"<vt:bool>true</vt:bool>", b"<vt:bool>false</vt:bool>")))
    rows, meta = _manifests(out)
    _save(out, [rows[0], *[[*r[:7], "未脱敏"] for r in rows[1:]]], {**meta, "masked": False})
    result = verify_archive(out)
    assert result == [] and result.masked is False
    assert any("未脱敏" in note for note in result.notes)


def test_verify_reports_extra_duplicate_and_miscounted_files(archives, tmp_path):
    out = _copy(archives, tmp_path)
    shutil.copy(out / TABS[0], out / "2025-10_台账 (2).xlsx")
    assert verify_archive(out) == ["清单外的文件: 2025-10_台账 (2).xlsx / file not in the manifest: 2025-10_台账 (2).xlsx"]
    (out / "2025-10_台账 (2).xlsx").unlink()

    rows, meta = _manifests(out)
    _save(out, [*rows, rows[1]], {**meta, "files": [*meta["files"], meta["files"][0]]})
    problems = verify_archive(out)
    _chinese_first(problems)
    assert any(p.startswith(f"manifest.csv 清单第4行重复列出文件“{TABS[0]}”（已见于manifest.csv 清单第2行）")
               for p in problems), problems
    assert any(p.startswith(f"manifest.json 清单第3项重复列出文件“{TABS[0]}”") for p in problems)

    # Row count edited consistently in both manifests: the file itself disagrees.
    rows[1][2] = "30"
    meta["files"][0]["rows"] = 30
    _save(out, rows, meta)
    assert verify_archive(out) == [(f"行数不符: {TABS[0]}（manifest.csv 清单第2行 30，实际 3） / "
                                    f"row count mismatch: {TABS[0]} (manifest 30, actual 3)")]

    # A sheet slipped into an archived file is reported (and checked for phones).
    rows[1][2], meta["files"][0]["rows"] = "3", 3
    _save(out, rows, meta)
    book = xlsxwriter.Workbook(str(out / TABS[1]))
    book.add_worksheet("拒收").write_string(0, 0, "原因")
    book.add_worksheet("附加").write_string(0, 0, f"电话 {PHONE}")
    book.close()
    _reseal(out, TABS[1], _sha(out / TABS[1]))
    problems = verify_archive(out)
    assert any(p.startswith(f"{TABS[1]} 中有清单外的工作表: 附加") for p in problems), problems
    assert any(p.startswith(f"脱敏归档中仍有电话号码: {TABS[1]} 附加!A1") for p in problems)


def test_neutralised_manifest_cells_read_back(tmp_path):
    """Sheet and source names that start like a formula are written to manifest.csv with a leading
    ' (so no spreadsheet runs them) and read back as they were."""
    source = tmp_path / "-台账.xlsx"
    book = xlsxwriter.Workbook(str(source))
    for name in ("=台账", "+拒收", "@拒收"):
        book.add_worksheet(name).write_string(0, 0, "工单号")
    book.close()
    out = tmp_path / "archive"
    manifest = export_archive(source, month=MONTH, out_dir=out)
    assert [f.sheet for f in manifest.files] == ["=台账", "+拒收", "@拒收"]
    text = (out / "manifest.csv").read_text("utf-8-sig")
    assert ",'=台账," in text and ",'+拒收," in text and ",'-台账.xlsx," in text
    assert verify_archive(out) == []


_HOSTILE = [
    ("manifest.json", b"{"),
    ("manifest.json", b"[]"),
    ("manifest.json", b'"files"'),
    ("manifest.json", b'{"files": {"file": "x"}}'),
    ("manifest.json", (b'{"month": ["2025-10"], "masked": "false", "source": 5, "source_sha256": null,'
                       b' "files": [1, {"file": 5, "rows": true}, {"file": "x", "rows": 1e400, "sha256": NaN}]}')),
    ("manifest.json", b'{"files": [{"rows": ' + b"9" * 5000 + b"}]}"),
    ("manifest.json", b'{"month": "2025-10", "files": [{"rows": 1' + b"0" * 400 + b"}]}"),
    ("manifest.json", b"[" * 100_000),
    ("manifest.json", b'\xff\xfe{"files": []}'),
    ("manifest.json", b'{"files": [{"file": "2025-10_\\u0000\\u001b[2J.xlsx"}]}'),
    ("manifest.csv", b"\xff\xfe\x00\x00"),
    ("manifest.csv", b""),
    ("manifest.csv", "文件,工作表,行数,SHA-256\r\n2025-10_台账.xlsx,台账,3,abc\r\n".encode()),
    ("manifest.csv", "文件,工作表,行数,SHA-256,月份,来源工作簿,来源工作簿 SHA-256,电话号码\r\n".encode()),
    ("manifest.csv", "文件,工作表,行数,SHA-256,月份,来源工作簿,来源工作簿 SHA-256,电话号码\r\n"
                     f"2025-10_台账.xlsx,台账,{'9' * 5000},{'f' * 64},2025-13,,x,false\r\n"
                     "2025-10_拒收.xlsx,拒收\r\n\"a\r\nb\",\0,-1,,,,,\r\n".encode()),
    ("manifest.csv", b'"' + b"x" * 200_000 + b'"\r\n'),
]


@pytest.mark.parametrize(("name", "content"), _HOSTILE, ids=range(len(_HOSTILE)))
def test_hostile_manifests_give_problems_never_a_traceback(archives, tmp_path, capsys, name, content):
    from generators.cli import main

    out = _copy(archives, tmp_path)
    (out / name).write_bytes(content)
    problems = verify_archive(out)
    _chinese_first(problems)
    assert all("\x00" not in p and "\x1b" not in p for p in problems)
    assert main(["archive", "--verify", "--out", str(out)]) == 1
    assert "发现" in capsys.readouterr().out


def test_hostile_archived_files_give_problems(archives, tmp_path):
    out = _copy(archives, tmp_path)
    (out / TABS[0]).write_bytes(b"PK\x03\x04 not really a zip")
    _reseal(out, TABS[0], _sha(out / TABS[0]))
    bomb = b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">]><Properties>&a;</Properties>'
    _reseal(out, TABS[1], _rewrite(out / TABS[1], "docProps/custom.xml", lambda data: bomb))
    problems = verify_archive(out)
    _chinese_first(problems)
    assert any(p.startswith(f"无法读取 {TABS[0]}（不是有效的 .xlsx）") for p in problems), problems
    assert any(p.startswith(f"无法读取 {TABS[1]}（不是有效的 .xlsx）") for p in problems), problems


def test_archive_files_are_written_atomically(workbook, tmp_path, monkeypatch):
    """A write that fails leaves the archived file as it was, and no temporary file behind."""
    out = tmp_path / "archive"
    export_archive(workbook, month=MONTH, out_dir=out, mask_phones=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    written = []
    close = xlsxwriter.Workbook.close

    def failing_close(self):
        written.append(self.filename)
        close(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", failing_close)
    with pytest.raises(KaoheError, match=f"无法写.*{TABS[0]}") as err:
        export_archive(workbook, month=MONTH, out_dir=out)  # unmasked: different bytes
    assert ".tmp" not in str(err.value)
    assert written and all(name.endswith(".tmp") for name in written)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
