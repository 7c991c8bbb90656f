"""A realistic month of complaint tickets, synthesized for ``kaohe demo``.

Deterministic for a given seed: three vendors, a priority/area/type mix like a city
branch's, dispatches weighted to the day, National Day inside October, a few suspended
tickets, late ones, and some rows with the faults real exports have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VENDORS = ("江门粤通代维", "新会信维通信", "台山华讯网络")
PRIORITIES = (("一般", 0.72), ("紧急", 0.22), ("特急", 0.06))
AREAS = (("城区", 0.55), ("乡镇", 0.35), ("农村", 0.10))
COMPLAINTS = (  # network complaint taxonomy of seed 003 (投诉经验)
    ("GSM无覆盖", 0.18), ("GSM单通串话", 0.06), ("GSM掉话", 0.12), ("GSM断噪", 0.08), ("GSM难以拨打接听", 0.14),
    ("GPRS不能上网", 0.20), ("GPRS网速慢", 0.22),
)
SURNAMES = "陈李黄张梁林吴何谭伍关邓冯赵周"
GIVEN = ("伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超")
PLACES = ("蓬江区白沙街道", "江海区外海街道", "新会区会城街道", "台山市台城街道", "开平市三埠街道", "鹤山市沙坪街道")


def _pick(rng, table, n):
    values, weights = zip(*table)
    return rng.choice(values, n, p=np.array(weights) / sum(weights))


def synthesize_month(month: str = "2025-10", tickets: int = 1500, seed: int = 20251007) -> pd.DataFrame:
    """Tickets of ``month`` (``YYYY-MM``) with canonical field names (see ``udfs.rulebook.CANONICAL_FIELDS``)."""
    rng = np.random.default_rng(seed)
    first = np.datetime64(f"{month}-01T00:00:00", "s")
    days = int(((np.datetime64(month, "M") + 1).astype("datetime64[D]") - np.datetime64(f"{month}-01", "D")).astype(int))
    hour_weights = np.array([1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 13, 9, 10, 13, 14, 13, 11, 9, 7, 6, 4, 2, 1], float)
    day = rng.integers(0, days, tickets)
    hour = rng.choice(24, tickets, p=hour_weights / hour_weights.sum())
    dispatched = first + (day * 86400 + hour * 3600 + rng.integers(0, 3600, tickets)).astype("timedelta64[s]")
    priority = _pick(rng, PRIORITIES, tickets)
    reply_limit = np.select([priority == "特急", priority == "紧急"], [10, 15], 24)
    accept_minutes = np.round(rng.lognormal(np.log(35), 0.9, tickets)).astype(int) + 1
    reply_hours = reply_limit * rng.beta(2.2, 2.0, tickets) * np.where(rng.random(tickets) < 0.07, 1.6, 1.0)
    accepted = dispatched + (accept_minutes * 60).astype("timedelta64[s]")
    replied = accepted + np.round(reply_hours * 3600).astype("timedelta64[s]")
    order = np.argsort(dispatched, kind="stable")

    suspended = np.full(tickets, "", dtype=object)
    for i in np.flatnonzero(rng.random(tickets) < 0.05):
        begin = accepted[i] + np.timedelta64(int(rng.integers(600, 4 * 3600)), "s")
        end = begin + np.timedelta64(int(rng.integers(1800, 8 * 3600)), "s")
        suspended[i] = f"{_text(begin)}~{_text(end)}"
        replied[i] = replied[i] + (end - begin)

    phones = [f"1{rng.choice([3, 5, 8])}{rng.integers(0, 10)}{rng.integers(10_000_000, 99_999_999)}" for _ in range(tickets)]
    kinds = _pick(rng, COMPLAINTS, tickets)
    frame = pd.DataFrame({
        "ticket_id": "",
        "unit": _pick(rng, tuple((v, w) for v, w in zip(VENDORS, (0.45, 0.33, 0.22))), tickets),
        "kind": kinds,
        "priority": priority,
        "area": _pick(rng, AREAS, tickets),
        "dispatched_at": dispatched.astype("datetime64[s]"),
        "accepted_at": accepted.astype("datetime64[s]"),
        "replied_at": replied.astype("datetime64[s]"),
        "suspended": suspended,
        "customer": [rng.choice(list(SURNAMES)) + rng.choice(GIVEN) for _ in range(tickets)],
        "phone": phones,
        "address": [f"{rng.choice(PLACES)}{rng.integers(1, 300)}号" for _ in range(tickets)],
        "content": [f"{k}: 客户反映{rng.choice(PLACES)}附近{k[4:] if k.startswith('GPRS') else k[3:]}" for k in kinds],
    }).iloc[order].reset_index(drop=True)
    frame["ticket_id"] = [f"JM-{month.replace('-', '')}-{k + 1:05d}" for k in range(tickets)]
    # Exports are not clean: a ticket still open at month end, a description that looks
    # like a formula, and one whose reply was typed before its dispatch.
    frame.loc[len(frame) // 3, "replied_at"] = pd.NaT
    frame.loc[len(frame) // 2, "content"] = '=HYPERLINK("http://x","点我")'
    frame.loc[len(frame) // 5, "replied_at"] = frame.loc[len(frame) // 5, "dispatched_at"] - pd.Timedelta(hours=2)
    return frame


def _text(moment) -> str:
    return str(np.datetime64(moment, "m")).replace("T", " ")


EXPORT_HEADERS = {  # the spellings an EOMS export uses; the import maps them to canonical fields
    "ticket_id": "工单编号", "unit": "代维单位", "kind": "投诉类型", "priority": "紧急程度", "area": "区域",
    "dispatched_at": "派单时间", "accepted_at": "签收时间", "replied_at": "回复时间", "suspended": "挂起时段",
    "customer": "客户姓名", "phone": "联系电话", "address": "客户地址", "content": "投诉内容",
}


def write_export(frame: pd.DataFrame, path, month: str) -> int:
    """Write the month as a ticket export (.xlsx) the way assessors receive it; returns the bad rows added.

    A title row above the header, times as real datetimes and now and then as typed text,
    and a few rows with the faults real exports have: a missing ticket id, an unreadable
    time, a duplicate id, a ticket of the previous month, a description that looks like a
    formula. Ticket text is written as text.
    """
    from generators.workbooks import new_workbook

    book = new_workbook(path, title=f"{month} 投诉工单导出", author="kaohe demo")
    sheet = book.add_worksheet("工单")
    fields = list(EXPORT_HEADERS)
    sheet.write_string(0, 0, f"{month.replace('-', '年')}月 投诉工单导出(示例数据)")
    for j, field in enumerate(fields):
        sheet.write_string(1, j, EXPORT_HEADERS[field])
    records = frame[fields].to_dict("records")
    first = records[0]
    bad = [
        {**first, "ticket_id": ""},  # missing ticket id
        {**first, "ticket_id": f"{first['ticket_id']}X", "dispatched_at": f"{month}-32 09:00"},  # unreadable time
        dict(first),  # duplicate id
        {**first, "ticket_id": f"{first['ticket_id']}P",  # dispatched in the previous month
         "dispatched_at": pd.Timestamp(f"{month}-01") - pd.Timedelta(hours=3)},
    ]
    records[len(records) // 4]["content"] = "@SUM(1)"
    for i, record in enumerate(records + bad, start=2):
        for j, field in enumerate(fields):
            value = record[field]
            if value is None or value is pd.NaT or (isinstance(value, float) and value != value) or value == "":
                continue
            if isinstance(value, (pd.Timestamp, np.datetime64)):
                stamp = pd.Timestamp(value)
                if field == "dispatched_at" and i % 7 == 0:  # some rows carry the time as typed text
                    sheet.write_string(i, j, f"{stamp.year}年{stamp.month}月{stamp.day}日 {stamp:%H时%M分%S秒}")
                else:
                    sheet.write_datetime(i, j, stamp.to_pydatetime())
            else:
                sheet.write_string(i, j, str(value))
    book.close()
    return len(bad)
