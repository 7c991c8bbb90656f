"""End to end: `kaohe demo` writes a ledger whose numbers equal the engine's, reproducibly."""

import numpy as np
import openpyxl
import pytest

from generators.cli import main
from generators.demo import synthesize_month
from udfs import rulebook, scoring
from udfs.timeliness import parse_suspensions


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--tickets", "400"]) == 0
    return out / "台账_2025-10.xlsx"


def test_demo_ledger_reconciles_and_matches_the_engine(demo):
    book = openpyxl.load_workbook(demo)
    ledger, rejected = book["台账"], book["拒收"]
    header = [c.value for c in ledger[1]]
    rows = list(ledger.iter_rows(min_row=2, values_only=True))
    reasons = [r[4] for r in rejected.iter_rows(min_row=2, values_only=True)]
    assert len(rows) + len(reasons) == 400
    assert "回复时间早于派单时间" in reasons

    tickets = synthesize_month("2025-10", tickets=400).set_index("ticket_id")
    jiangmen = rulebook.load("jiangmen")
    by_id = {r[header.index("工单号")]: r for r in rows}
    ids = list(by_id)
    frame = tickets.loc[ids]
    suspensions, _ = parse_suspensions(frame["suspended"].to_numpy(object))
    due = scoring.due(jiangmen, "回复", frame["dispatched_at"].to_numpy("datetime64[s]"), frame["priority"].to_numpy(object),
                      suspended=suspensions)
    written = np.array([by_id[i][header.index("回复截止")] for i in ids], dtype="datetime64[s]")
    assert (written == due).all()
    late = [by_id[i][header.index("回复及时")] == "否" for i in ids]
    assert any(late) and not all(late)
    # Overdue tickets carry Jiangmen's −2 per overdue EOMS ticket.
    for i in ids:
        record = by_id[i]
        overdue = record[header.index("签收超时小时")] > 0 or (record[header.index("回复超时小时")] or 0) > 0
        assert (record[header.index("扣分")] > 0) == overdue


def test_ticket_text_is_never_a_formula(demo):
    book = openpyxl.load_workbook(demo)
    contents = [c for row in book["台账"].iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert contents and all(c.data_type == "s" for c in contents)


def test_same_month_twice_is_byte_identical(demo, tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--tickets", "400"]) == 0
    assert (tmp_path / "台账_2025-10.xlsx").read_bytes() == demo.read_bytes()


def test_cli_exit_codes_and_rulebook_commands(tmp_path, capsys):
    assert main(["rulebooks"]) == 0
    assert "jiangmen" in capsys.readouterr().out
    assert main(["check", "udfs/rulebooks/jiangmen.toml"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[rulebook]\nname = "bad"\n', encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    assert "bad.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["no-such-command"])
    assert usage.value.code == 2
