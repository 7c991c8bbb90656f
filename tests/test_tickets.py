"""Ticket import: encodings, header detection, value parsing, and the bad-input corpus."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.tickets import REJECTED_COLUMNS, _moments, read_tickets
from udfs import rulebook as rulebooks
from udfs.errors import ElementErrors, KaoheError
from udfs.moments import parse_moments

JIANGMEN = rulebooks.load("jiangmen")
HEADER = ["工单号", "派单时间", "签收时间", "回复时间", "优先级", "区域", "联系电话", "投诉内容", "二次投诉"]
GOOD = {"工单号": "JM-0001", "派单时间": "2026-10-03 09:00:00", "签收时间": "2026-10-03 09:20:00",
        "回复时间": "2026-10-03 15:00:00", "优先级": "一般", "区域": "城区", "联系电话": "13800138000",
        "投诉内容": "客户反映室内信号差", "二次投诉": "否"}
TITLE = "江门 2026年10月 投诉工单导出"


def write_csv(path: Path, rows, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows, merge_title: bool = False) -> Path:
    """Strings as strings (never formulas), numbers as numbers, datetimes as dates."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                           "strings_to_urls": False})
    sheet = book.add_worksheet("工单")
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for i, row in enumerate(rows):
        if merge_title and i == 0:
            sheet.merge_range(0, 0, 0, 5, row[0])
            continue
        for j, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(i, j, value, moment)
            elif isinstance(value, (int, float)):
                sheet.write_number(i, j, value)
            elif value is not None:
                sheet.write_string(i, j, value)
    book.close()
    return path


def assert_reconciles(result):
    assert result.reconciles
    assert result.read == len(result.tickets) + len(result.rejected)
    rows = set(result.tickets["source_row"]) | set(result.rejected["源行号"])
    assert len(rows) == result.read  # every row in exactly one place
    assert list(result.rejected.columns) == list(REJECTED_COLUMNS)


# -- CSV encodings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding, detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")])
def test_csv_encodings(tmp_path, encoding, detected):
    rows = [[TITLE], HEADER,
            ["007", "2026/10/3 14:05", "", "2026年10月3日 18时05分30秒", "特急", "乡镇", "013912345678",
             "多行\n描述, 含逗号 𠮷", "是"],
            ["008", "2026-10-04 08:00:00", "2026-10-04 08:30", "", "紧急", "城区", "13800138000", "", ""]]
    result = read_tickets(write_csv(tmp_path / "导出.csv", rows, encoding), rulebook=JIANGMEN, month="2026-10")
    assert result.encoding == detected
    assert result.sheets[0].header_row == 2
    assert (result.read, result.blank, result.header_rows) == (2, 0, 0)
    assert result.rejected.empty
    t = result.tickets
    assert list(t["ticket_id"]) == ["007", "008"]
    assert list(t["phone"]) == ["013912345678", "13800138000"]
    assert list(t["source_row"]) == [3, 4]  # the quoted line break stays inside record 3
    assert t["content"].iloc[0] == "多行\n描述, 含逗号 𠮷"
    assert t["dispatched_at"].iloc[0] == np.datetime64("2026-10-03T14:05:00")
    assert t["replied_at"].iloc[0] == np.datetime64("2026-10-03T18:05:30")
    assert np.isnat(t["accepted_at"].to_numpy("datetime64[s]")[0])
    assert t["dispatched_at"].dtype.kind == "M"
    assert list(t["repeat"]) == [True, False]
    assert_reconciles(result)


def test_gb18030_bytes_are_not_utf8(tmp_path):
    path = write_csv(tmp_path / "gb.csv", [HEADER, list(GOOD.values())], "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert read_tickets(path, rulebook=JIANGMEN, month="2026-10").tickets["area"].iloc[0] == "城区"


def test_tab_separated_utf16_as_excel_saves_unicode_text(tmp_path):
    path = write_csv(tmp_path / "unicode.csv", [HEADER, list(GOOD.values())], "utf-16", delimiter="\t")
    result = read_tickets(path, rulebook=JIANGMEN, month="2026-10")
    assert result.encoding == "utf-16"
    assert list(result.tickets["ticket_id"]) == ["JM-0001"]


# -- a realistic workbook ------------------------------------------------------------------------
def test_xlsx_export_with_title_blank_and_repeated_header_rows(tmp_path):
    header = ["工单编号", "派单时间", "签收时间", "回复时间", "紧急程度", "区域", "联系电话", "投诉内容", "满意度",
              "二次投诉", "备注"]
    rows = [
        [TITLE],                                                                              # row 1, merged
        [],                                                                                   # row 2
        header,                                                                               # row 3
        ["00123", 46298.5, dt.datetime(2026, 10, 3, 12, 30, 15), "2026/10/3 18:05", " 紧 急 ", "城区",
         13800138000, "客户反映信号差", " 3 ", "1", "备注甲"],                                   # row 4
        [],                                                                                   # row 5
        ["00124", dt.datetime(2026, 10, 4, 8, 0, 0), "2026年10月4日 08时05分", "2026-10-04 24:00", "一般", "乡镇",
         "07503001234", "@SUM(1)", 5, "否", None],                                             # row 6
        header,                                                                               # row 7
        ["00125", "2026-10-05 09:00:30", None, None, "特急", "农村", "13900001111", "", None, None, 42.5],  # row 8
        ["  ", None, " "],                                                                    # row 9, blank
    ]
    result = read_tickets(write_xlsx(tmp_path / "导出.xlsx", rows, merge_title=True), rulebook=JIANGMEN,
                          month="2026-10")
    assert [(s.name, s.header_row) for s in result.sheets] == [("工单", 3)]
    assert (result.read, result.blank, result.header_rows) == (3, 2, 1)
    assert result.rejected.empty, result.rejected
    t = result.tickets
    assert list(t["source_row"]) == [4, 6, 8]
    assert list(t["ticket_id"]) == ["00123", "00124", "00125"]
    assert list(t["dispatched_at"]) == [np.datetime64("2026-10-03T12:00:00"), np.datetime64("2026-10-04T08:00:00"),
                                        np.datetime64("2026-10-05T09:00:30")]
    assert t["accepted_at"].iloc[0] == np.datetime64("2026-10-03T12:30:15")
    assert t["accepted_at"].iloc[1] == np.datetime64("2026-10-04T08:05:00")
    assert t["replied_at"].iloc[1] == np.datetime64("2026-10-05T00:00:00")  # 24:00 is the next midnight
    assert list(t["priority"]) == ["紧急", "一般", "特急"]
    assert list(t["phone"]) == ["13800138000", "07503001234", "13900001111"]
    assert list(t["satisfaction"][:2]) == ["3", "5"]
    assert list(t["repeat"]) == [True, False, False]
    assert t["content"].iloc[1] == "@SUM(1)"
    assert list(t["备注"].fillna("")) == ["备注甲", "", "42.5"]
    assert result.columns["dispatched_at"] == "派单时间" and result.columns["priority"] == "紧急程度"
    assert "读入 3 行 = 入账 3 行 + 拒收 0 行" in result.summary()
    assert_reconciles(result)


def test_excel_datetimes_are_rounded_to_the_second_not_truncated(tmp_path):
    almost = dt.datetime(2026, 10, 3, 9, 0, 0) - dt.timedelta(microseconds=400)
    rows = [HEADER[:2], ["A1", almost], ["A2", 46298.37500000001]]
    t = read_tickets(write_xlsx(tmp_path / "t.xlsx", rows), month="2026-10").tickets
    assert list(t["dispatched_at"]) == [np.datetime64("2026-10-03T09:00:00")] * 2


TYPED = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format, st.integers(1999, 2031), st.integers(0, 13),
              st.integers(0, 32), st.integers(0, 25), st.integers(0, 61), st.integers(0, 61)),
    st.builds("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}".format, st.integers(2024, 2027), st.integers(1, 12),
              st.integers(1, 31), st.integers(0, 24), st.integers(0, 59)),
    st.sampled_from(["2026/10/3 14:05", "2026年10月3日 14时05分", " 2026-10-03 14:05 ", "", "  ", "明天", "2026-10-03"]),
    st.floats(-10, 60000) | st.just(float("nan")),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2040, 1, 1)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(TYPED, max_size=30))
def test_fast_paths_agree_with_parse_moments(cells):
    """The vectorized paths give what parse_moments gives, value for value and message for message
    (datetimes rounded to the second, as parse_moments rounds Excel serials)."""
    raw = np.array(cells + [None], dtype=object)[:-1]
    values, messages = _moments(raw)
    rounded = np.array([c + dt.timedelta(microseconds=500_000) if isinstance(c, dt.datetime) else c for c in cells] + [None],
                       dtype=object)[:-1]
    try:
        expected, expected_messages = parse_moments(rounded), np.full(len(cells), "", dtype=object)
    except ElementErrors as err:
        expected, expected_messages = err.values, err.messages
    assert list(messages) == list(expected_messages)
    ok = messages == ""
    assert list(values[ok].astype(np.int64)) == list(expected[ok].astype(np.int64))  # NaT compares as its int


# -- headers ---------------------------------------------------------------------------------------
def test_rulebook_columns_and_precedence(tmp_path):
    rows = [["EOMS工单号", "投诉时间", "派单\n时间", "投诉级别", "备注", "备注", ""],
            ["E1", "2026-10-02 10:00", "2026-10-02 11:00", "特急", "x", "y", "无名列的值"]]
    path = write_csv(tmp_path / "eoms.csv", rows)
    with pytest.raises(KaoheError, match="eoms.csv"):  # 投诉时间 is jiangmen's own spelling
        read_tickets(path, month="2026-10")
    result = read_tickets(path, rulebook=JIANGMEN, month="2026-10")
    t = result.tickets
    assert result.columns == {"ticket_id": "EOMS工单号", "dispatched_at": "投诉时间", "priority": "投诉级别"}
    assert t["dispatched_at"].iloc[0] == np.datetime64("2026-10-02T10:00")
    assert t["派单\n时间"].iloc[0] == "2026-10-02 11:00"  # the lower-ranked spelling is kept as text
    assert (t["备注"].iloc[0], t["备注_2"].iloc[0], t["列G"].iloc[0]) == ("x", "y", "无名列的值")


def test_rulebook_mapping_overrides_a_common_spelling(tmp_path):
    rows = [["工单号", "派发时间", "完成时间"], ["P1", "2026-10-02 10:00", "2026-10-02 12:00"]]
    path = write_csv(tmp_path / "p.csv", rows)
    assert "replied_at" in read_tickets(path, month="2026-10").tickets
    poyang = read_tickets(path, rulebook="poyang", month="2026-10").tickets
    assert "closed_at" in poyang and "replied_at" not in poyang


def test_header_spelling_is_normalised(tmp_path):
    rows = [[" 工单号 ", "受理时间", "客户满意度（回访）", "*派单时间"], ["S1", "2026-10-02 10:00", "满意", "2026-10-02 09:00"]]
    path = write_csv(tmp_path / "s.csv", rows)
    plain = read_tickets(path, month="2026-10")
    assert plain.columns["dispatched_at"] == "*派单时间"  # the canonical label outranks the alias 受理时间
    assert plain.tickets["受理时间"].iloc[0] == "2026-10-02 10:00"
    mapped = read_tickets(path, rulebook="service_quality", month="2026-10")
    assert mapped.columns["satisfaction"] == "客户满意度（回访）"
    assert mapped.columns["dispatched_at"] == "受理时间"  # the rulebook's [columns] outranks everything
    assert mapped.tickets["dispatched_at"].iloc[0] == np.datetime64("2026-10-02T10:00")
    assert mapped.tickets["*派单时间"].iloc[0] == "2026-10-02 09:00"


def test_unusable_files_raise_naming_the_file(tmp_path):
    with pytest.raises(KaoheError, match=r"tickets\.txt.*\.xlsx"):
        read_tickets(write_csv(tmp_path / "tickets.txt", [HEADER]), month="2026-10")
    with pytest.raises(KaoheError, match="找不到表头.*nohead.csv|nohead.csv.*找不到表头"):
        read_tickets(write_csv(tmp_path / "nohead.csv", [["a", "b"], ["1", "2"]]), month="2026-10")
    with pytest.raises(KaoheError, match="nodispatch.xlsx.*派单时间"):
        read_tickets(write_xlsx(tmp_path / "nodispatch.xlsx", [[TITLE], ["工单号", "回复时间", "区域"]]), month="2026-10")
    with pytest.raises(KaoheError, match="YYYY-MM"):
        read_tickets(write_csv(tmp_path / "ok.csv", [HEADER]), month="2026-13")
    with pytest.raises(KaoheError, match="不存在"):
        read_tickets(tmp_path / "missing.csv", month="2026-10")


# -- the bad-input corpus ---------------------------------------------------------------------------
# (case, overrides of the GOOD row, column named on 拒收 or None if the row must be accepted, reason)
CORPUS = [
    ("missing ticket id", {"工单号": ""}, "工单号", "缺少工单号"),
    ("blank ticket id", {"工单号": "  "}, "工单号", "缺少工单号"),
    ("unparseable dispatch", {"派单时间": "2026-10-32 09:00"}, "派单时间", "日期无法识别: 2026-10-32 09:00"),
    ("unparseable hour", {"签收时间": "2026-10-03 25:00"}, "签收时间", "时间无法识别: 2026-10-03 25:00"),
    ("reply as words", {"回复时间": "次日上午"}, "回复时间", "日期无法识别: 次日上午"),
    ("missing dispatch", {"派单时间": ""}, "派单时间", "缺少派单时间"),
    ("reply before dispatch", {"回复时间": "2026-10-03 08:59:59"}, "回复时间", "回复时间早于派单时间"),
    ("accept before dispatch", {"签收时间": "2026-10-02 09:00"}, "签收时间", "签收时间早于派单时间"),
    ("duplicate id", {"工单号": "JM-0001"}, "工单号", "工单号重复(与第 3 行相同)"),
    ("duplicate id, padded", {"工单号": " JM-0001 "}, "工单号", "工单号重复(与第 3 行相同)"),
    ("before the month", {"派单时间": "2026-09-30 23:59:59", "签收时间": "", "回复时间": ""}, "派单时间",
     "派单时间不在考核月份 2026年10月 内"),
    ("after the month", {"派单时间": "2026-11-01 00:00", "签收时间": "", "回复时间": ""}, "派单时间", "派单时间不在考核月份 2026年10月 内"),
    ("unknown priority", {"优先级": "特级"}, "优先级",
     "优先级“特级”不在考核办法“代维客户投诉处理考核办法(V1.0)·江门”的时限表中(可用: 特急/紧急/一般)"),
    ("missing priority", {"优先级": ""}, "优先级", "缺少优先级(考核办法“代维客户投诉处理考核办法(V1.0)·江门”的时限按优先级区分: 特急/紧急/一般)"),
    ("bad repeat flag", {"二次投诉": "可能"}, "二次投诉",
     "二次投诉取值无法识别: 可能(可用: 是/否、Y/N、YES/NO、TRUE/FALSE、1/0、√/×、✓/✗、有/无)"),
    ("formula HYPERLINK", {"投诉内容": '=HYPERLINK("http://x","点我")'}, None, None),
    ("formula @SUM", {"投诉内容": "@SUM(1)"}, None, None),
    ("formula plus", {"投诉内容": "+1"}, None, None),
    ("formula minus", {"投诉内容": "-1", "联系电话": "=1+1"}, None, None),
    ("last second of the month", {"派单时间": "2026-10-31 23:59:59", "签收时间": "", "回复时间": ""}, None, None),
    ("priority with spaces", {"优先级": " 特 急 "}, None, None),
]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("case, overrides, column, reason", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_corpus(tmp_path, kind, case, overrides, column, reason):
    bad = {**GOOD, "工单号": "JM-0002", **overrides}
    rows = [[TITLE], HEADER, list(GOOD.values()), list(bad.values())]
    path = write_csv(tmp_path / "corpus.csv", rows) if kind == "csv" else write_xlsx(tmp_path / "corpus.xlsx", rows)
    result = read_tickets(path, rulebook=JIANGMEN, month="2026-10")
    assert result.read == 2 and result.blank == 0 and result.header_rows == 0
    assert_reconciles(result)
    assert result.tickets["ticket_id"].iloc[0] == "JM-0001"
    if column is None:  # accepted, and kept verbatim
        assert result.rejected.empty, result.rejected.to_dict("records")
        accepted = result.tickets.iloc[1]
        for header, field in (("投诉内容", "content"), ("联系电话", "phone")):
            assert accepted[field] == bad[header].strip()
        assert accepted["priority"] in ("一般", "特急")
        return
    assert len(result.tickets) == 1
    assert result.rejected.to_dict("records") == [{
        "源文件": path.name, "源行号": 4, "工单号": bad["工单号"].strip(), "列": column,
        "原值": bad[column], "原因": reason}]


def test_first_failing_check_names_the_row_once(tmp_path):
    row = {**GOOD, "工单号": "", "派单时间": "坏", "优先级": "特级"}
    result = read_tickets(write_csv(tmp_path / "x.csv", [HEADER, list(row.values())]), rulebook=JIANGMEN, month="2026-10")
    assert list(result.rejected["原因"]) == ["缺少工单号"]
    assert_reconciles(result)


def test_unkeyed_rulebook_accepts_any_priority(tmp_path):
    rows = [HEADER, list({**GOOD, "优先级": "三级"}.values())]
    path = write_csv(tmp_path / "p.csv", rows)
    assert read_tickets(path, rulebook="poyang", month="2026-10").rejected.empty
    assert read_tickets(path, rulebook=JIANGMEN, month="2026-10").rejected["列"].tolist() == ["优先级"]


# -- nothing lost, whatever the mix ---------------------------------------------------------------
ROW_KINDS = st.sampled_from(["good", "good", "no_id", "bad_time", "early_reply", "outside", "dup", "blank", "header"])


@settings(max_examples=40, deadline=None)
@given(kinds=st.lists(ROW_KINDS, max_size=25), xlsx=st.booleans())
def test_every_row_is_counted_once(kinds, xlsx):
    rows, expected_blank, expected_headers, expected_read = [HEADER], 0, 0, set()
    for number, kind in enumerate(kinds, start=2):
        row = {**GOOD, "工单号": f"T{number}"}
        if kind == "blank":
            rows.append(["", " "])
            expected_blank += 1
            continue
        if kind == "header":
            rows.append(HEADER)
            expected_headers += 1
            continue
        row.update({"no_id": {"工单号": ""}, "bad_time": {"签收时间": "2026-10-03 9点半"},
                    "early_reply": {"回复时间": "2026-10-01"}, "outside": {"派单时间": "2025-10-03 09:00"},
                    "dup": {"工单号": "T-dup"}}.get(kind, {}))
        rows.append(list(row.values()))
        expected_read.add(number)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("t.xlsx" if xlsx else "t.csv")
        (write_xlsx if xlsx else write_csv)(path, rows)
        result = read_tickets(path, rulebook=JIANGMEN, month="2026-10")
    assert (result.blank, result.header_rows, result.read) == (expected_blank, expected_headers, len(expected_read))
    assert set(result.tickets["source_row"]) | set(result.rejected["源行号"]) == expected_read
    assert_reconciles(result)
    good = sum(k == "good" for k in kinds) + min(1, sum(k == "dup" for k in kinds))
    assert len(result.tickets) == good
