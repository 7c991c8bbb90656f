"""The demo's synthetic data: deterministic, realistic mixes, deliberate faults, findings and history."""

import numpy as np
import pandas as pd
import pytest

from generators.demo import (
    AREAS,
    COMPLAINTS,
    EXPORT_HEADERS,
    FEE_ITEM,
    HOUR_WEIGHTS,
    MONTHLY_FEES,
    PRIORITIES,
    REPEAT_SHARE,
    REPLY_HOURS,
    VENDOR_SHARES,
    VENDORS,
    synthesize_findings,
    synthesize_history,
    synthesize_month,
    write_export,
)
from udfs import rulebook, scoring

MONTH = "2025-10"
N = 20_000


@pytest.fixture(scope="module")
def month():
    return synthesize_month(MONTH, tickets=N, seed=7)


@pytest.fixture(scope="module")
def jiangmen():
    return rulebook.load("jiangmen")


def _faults(n):
    return {n // 3, n // 2, n // 5}


def test_same_seed_same_frames(jiangmen):
    pd.testing.assert_frame_equal(synthesize_month(MONTH, 3000, seed=1), synthesize_month(MONTH, 3000, seed=1))
    assert not synthesize_month(MONTH, 3000, seed=1).equals(synthesize_month(MONTH, 3000, seed=2))
    pd.testing.assert_frame_equal(synthesize_findings(MONTH, VENDORS, jiangmen, 3),
                                  synthesize_findings(MONTH, VENDORS, jiangmen, 3))
    pd.testing.assert_frame_equal(synthesize_history(MONTH, VENDORS, "jiangmen", 3),
                                  synthesize_history(MONTH, VENDORS, "jiangmen", 3))


def test_columns_ids_and_order(month):
    assert list(month.columns) == list(EXPORT_HEADERS)
    assert EXPORT_HEADERS["repeat"] == "二次投诉"
    assert month["ticket_id"].is_unique and month["ticket_id"].iloc[0] == "JM-202510-00001"
    assert month["dispatched_at"].is_monotonic_increasing
    dispatched = month["dispatched_at"]
    assert (dispatched >= pd.Timestamp(MONTH)).all() and (dispatched < pd.Timestamp("2025-11-01")).all()
    assert month["phone"].str.fullmatch(r"1[358]\d{9}").all()
    assert month["address"].str.endswith("号").all()
    assert set(month["repeat"]) == {"是", ""}


@pytest.mark.parametrize("column, table", [
    ("priority", PRIORITIES), ("area", AREAS), ("kind", COMPLAINTS), ("unit", tuple(zip(VENDORS, VENDOR_SHARES))),
])
def test_mixes_follow_the_weights(month, column, table):
    shares = month[column].value_counts(normalize=True)
    total = sum(w for _, w in table)
    for value, weight in table:
        assert abs(shares.get(value, 0.0) - weight / total) < 0.03, value


def test_hours_suspensions_repeats_and_slow_replies(month):
    hours = month["dispatched_at"].dt.hour.value_counts(normalize=True).reindex(range(24), fill_value=0)
    weights = np.array(HOUR_WEIGHTS, float) / sum(HOUR_WEIGHTS)
    assert np.abs(hours.to_numpy() - weights).max() < 0.02
    assert abs((month["suspended"] != "").mean() - 0.05) < 0.01
    assert abs((month["repeat"] == "是").mean() - REPEAT_SHARE) < REPEAT_SHARE / 2
    # Replies take up to the priority's limit, slow ones (about 7%) up to 1.6 times it.
    fine = month.drop(index=list(_faults(N)))
    pause = _suspension_lengths(fine["suspended"])
    handling = (fine["replied_at"] - fine["accepted_at"] - pause).dt.total_seconds() / 3600
    limit = fine["priority"].map(dict(zip([p for p, _ in PRIORITIES], REPLY_HOURS)))
    ratio = handling / limit
    assert (ratio >= 0).all() and (ratio <= 1.6 + 1e-3).all()
    assert 0.01 < (ratio > 1 + 1e-3).mean() < 0.07


def _suspension_lengths(texts: pd.Series) -> pd.Series:
    parts = texts.str.split("~", expand=True)
    begin, end = pd.to_datetime(parts[0], errors="coerce"), pd.to_datetime(parts[1], errors="coerce")
    return (end - begin).fillna(pd.Timedelta(0))


def test_suspensions_lie_inside_handling_and_push_the_reply(month):
    held = month[month["suspended"] != ""].drop(index=list(_faults(N)), errors="ignore")
    assert len(held) > 500
    assert held["suspended"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d~\d{4}-\d\d-\d\d \d\d:\d\d").all()
    parts = held["suspended"].str.split("~", expand=True)
    begin, end = pd.to_datetime(parts[0]), pd.to_datetime(parts[1])
    assert (held["replied_at"] > held["dispatched_at"]).all()
    assert (begin >= held["accepted_at"]).all()
    assert (end - begin >= pd.Timedelta(minutes=30)).all() and (end - begin <= pd.Timedelta(hours=8)).all()
    assert (end <= held["replied_at"]).all()
    assert (held["replied_at"] - held["accepted_at"] >= end - begin).all()


def test_the_three_deliberate_faults(month):
    assert pd.isna(month.loc[N // 3, "replied_at"])
    assert month.loc[N // 2, "content"] == '=HYPERLINK("http://x","点我")'
    assert month.loc[N // 5, "replied_at"] < month.loc[N // 5, "dispatched_at"]
    others = month.drop(index=list(_faults(N)))
    assert (others["replied_at"] > others["accepted_at"]).all()
    assert (others["accepted_at"] > others["dispatched_at"]).all()


def test_repeat_survives_the_export_and_import(tmp_path):
    from generators.tickets import read_tickets

    frame = synthesize_month(MONTH, tickets=600, seed=11)
    frame.loc[[3, 4], "repeat"] = "是"  # at least a couple, whatever the seed gives
    write_export(frame, tmp_path / "工单.xlsx", MONTH)
    imported = read_tickets(tmp_path / "工单.xlsx", rulebook="jiangmen", month=MONTH)
    assert imported.columns["repeat"] == "二次投诉"
    got = imported.tickets.drop_duplicates("ticket_id").set_index("ticket_id")["repeat"]
    expected = frame.set_index("ticket_id")["repeat"].eq("是")
    common = got.index.intersection(expected.index)
    assert len(common) >= 595
    assert (got[common].astype(bool) == expected[common]).all() and got.sum() >= 2


# -- findings ------------------------------------------------------------------------------------
def _score_by_unit(book, findings) -> dict[str, float]:
    """Each unit's total from its findings alone (items, categories capped, bonuses)."""
    out = {}
    for unit, rows in findings[findings["考核项"] != FEE_ITEM].groupby("考核单位", sort=False):
        ids = rows["考核项"].to_numpy(object)
        amounts = scoring.item(book, ids, rows["次数"].to_numpy(), rows["选定值"].to_numpy(),
                               rows["加倍次数"].to_numpy(object))
        items = [book.item(i) for i in ids]
        bonus = np.array([i.kind == "bonus" for i in items])
        categories = np.array([i.category for i in items], dtype=object)
        out[unit] = scoring.total(book, amounts[~bonus], amounts[bonus], categories[~bonus])
    return out


@pytest.mark.parametrize("seed", [20251007, 1, 2, 3])
def test_findings_name_manual_items_with_valid_values(jiangmen, seed):
    findings = synthesize_findings(MONTH, VENDORS, jiangmen, seed)
    assert list(findings.columns) == ["考核单位", "考核项", "次数", "选定值", "加倍次数", "备注"]
    assert list(findings["考核单位"].unique()) == list(VENDORS)
    fees = findings[findings["考核项"] == FEE_ITEM]
    assert list(fees["考核单位"]) == list(VENDORS) and list(fees["选定值"]) == list(MONTHLY_FEES)
    assert fees["次数"].isna().all()
    rows = findings[findings["考核项"] != FEE_ITEM]
    assert rows.groupby("考核单位").size().between(3, 8).all()
    assert rows["备注"].str.match(r"10月\d{1,2}日").all()
    assert rows["次数"].isin([1, 2, 3]).all()
    assert rows["加倍次数"].isna().all()  # no Jiangmen item doubles
    kinds = set()
    for _, row in rows.iterrows():
        item = jiangmen.item(row["考核项"])
        assert item.id == row["考核项"] and item.measure == "", item.id
        kinds.add(item.kind)
        if item.ranged:
            assert item.points[0] <= row["选定值"] <= item.points[1]
        else:
            assert np.isnan(row["选定值"])
    assert kinds == {"deduction", "bonus"}
    assert any(jiangmen.item(i).ranged for i in rows["考核项"])
    assert not rows.duplicated(["考核单位", "考核项"]).any()


@pytest.mark.parametrize("seed", [20251007, 1, 2, 3])
def test_the_third_vendor_has_a_bad_month(jiangmen, seed):
    scores = _score_by_unit(jiangmen, synthesize_findings(MONTH, VENDORS, jiangmen, seed))
    weak = scores.pop(VENDORS[2])
    assert all(weak <= other - 10 for other in scores.values()), (weak, scores)


def test_findings_double_only_doubling_items():
    book = rulebook.load("call_centre")
    findings = synthesize_findings(MONTH, VENDORS, book, 5)
    doubled = findings[findings["加倍次数"].notna()]
    assert len(doubled) >= 1
    assert all(book.item(i).doubles for i in doubled["考核项"])
    assert (doubled["加倍次数"] >= 1).all() and (doubled["加倍次数"] <= doubled["次数"]).all()
    _score_by_unit(book, findings)  # every row is accepted by the engine


# -- history -------------------------------------------------------------------------------------
def test_history_has_three_months_of_every_unit():
    history = synthesize_history(MONTH, VENDORS, "jiangmen", 20251007)
    assert list(history.columns) == ["月份", "考核办法", "考核单位", "得分", "及时率"]
    assert len(history) == 9
    assert list(history["月份"].unique()) == ["2025-07", "2025-08", "2025-09"]
    assert (history.groupby("月份")["考核单位"].apply(list) == [list(VENDORS)] * 3).all()
    assert (history["考核办法"] == "jiangmen").all()
    assert history["得分"].between(70, 95).all() and (history["得分"] == history["得分"].round(1)).all()
    assert history["及时率"].between(0, 1).all() and (history["及时率"] == history["及时率"].round(4)).all()
    assert list(synthesize_history("2026-01", VENDORS, "x", 1)["月份"].unique()) == ["2025-10", "2025-11", "2025-12"]


@pytest.mark.parametrize("seed", [20251007, 1, 2])
def test_history_sets_up_the_contract_warnings(seed):
    history = synthesize_history(MONTH, VENDORS, "dongguan", seed)
    weak = history[history["考核单位"] == VENDORS[2]]
    assert (weak["得分"].iloc[1:] < 80).all() and weak["及时率"].iloc[-1] <= 0.70
    alone = scoring.risk("dongguan", list(weak["得分"]), list(weak["及时率"]))
    assert "及时率" not in alone  # the on-time rules need the current month as well
    scores, rates = list(weak["得分"]) + [76.0], list(weak["及时率"]) + [0.65]  # and a bad current month
    risks = scoring.risk("dongguan", scores, rates)
    assert "连续2个月得分低于80分" in risks and "连续2个月故障处理及时率低于或等于70%" in risks
    for unit in VENDORS[:2]:
        good = history[history["考核单位"] == unit]
        assert scoring.risk("dongguan", list(good["得分"]) + [90.0], list(good["及时率"]) + [0.95]) == ""
