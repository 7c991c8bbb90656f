"""A realistic month of complaint tickets, synthesized for ``kaohe demo``.

Deterministic for a given seed: three vendors, a priority/area/type mix like a city
branch's, dispatches weighted to the day, National Day inside October, a few suspended
tickets, late ones, some repeat complaints, and some rows with the faults real exports
have. Besides the tickets: the findings an assessor records by hand for the month
(:func:`synthesize_findings`) and three earlier months of results (:func:`synthesize_history`).

Everything is vectorised (texts are picked from pre-built pools or assembled with numpy
string operations), so a million tickets take a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from generators.monthly import FEE_ITEM, FINDING_COLUMNS, HISTORY_COLUMNS

RULEBOOK = Path(__file__).parent / "demo_rulebooks" / "jiangmen_demo.toml"  # the demo contract
VENDORS = ("江门粤通代维", "新会信维通信", "台山华讯网络")
VENDOR_SHARES = (0.45, 0.33, 0.22)
MONTHLY_FEES = (180_000, 120_000, 90_000)  # 代维费 of the vendors above, 元 per month
PRIORITIES = (("一般", 0.72), ("紧急", 0.22), ("特急", 0.06))
REPLY_HOURS = (24, 15, 10)  # reply limit of each priority above, hours (Jiangmen)
AREAS = (("城区", 0.55), ("乡镇", 0.35), ("农村", 0.10))
COMPLAINTS = (  # network complaint taxonomy of seed 003 (投诉经验)
    ("GSM无覆盖", 0.18), ("GSM单通串话", 0.06), ("GSM掉话", 0.12), ("GSM断噪", 0.08), ("GSM难以拨打接听", 0.14),
    ("GPRS不能上网", 0.20), ("GPRS网速慢", 0.22),
)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 13, 9, 10, 13, 14, 13, 11, 9, 7, 6, 4, 2, 1)  # dispatches by hour of day
SUSPENDED_SHARE = 0.05  # tickets with a suspension (挂起), which pushes their reply back by its length
SLOW_SHARE = 0.07  # tickets whose reply takes 1.6 times as long
REPEAT_SHARE = 0.001  # repeat complaints (二次投诉) the vendor caused
MOBILE_PREFIXES = (13, 15, 18)
SURNAMES = "陈李黄张梁林吴何谭伍关邓冯赵周"
GIVEN = ("伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超")
PLACES = ("蓬江区白沙街道", "江海区外海街道", "新会区会城街道", "台山市台城街道", "开平市三埠街道", "鹤山市沙坪街道")
HOUSE_NUMBERS = 299  # addresses are 1号 … 299号

HANDLER_NAMES = ("陈国强", "李志明", "黄海涛", "张建军", "梁永辉", "林少杰", "吴振华", "何文斌", "谭家豪", "伍志成")
RECEIVER_NAMES = ("客服 周晓燕", "客服 冯丽娟", "客服 邓美玲", "客服 赵雪梅", "客服 关晓琳")
RESULTS = {  # 处理结果 as a vendor writes it on the reply, two wordings per complaint type
    "GSM无覆盖": ("现场测试确认为弱覆盖，已调整天线下倾角，复测信号正常，已回复客户",
                  "该处为覆盖盲区，已纳入新站规划，临时调整邻区参数改善，已向客户解释"),
    "GSM单通串话": ("核查为基站传输故障，已更换传输板件，通话恢复正常", "复测未发现单通串话，已请客户更换终端测试，问题消除"),
    "GSM掉话": ("优化邻区切换参数后复测无掉话，已回复客户", "掉话因小区切换失败，已修改切换门限，复测正常"),
    "GSM断噪": ("排查为外部干扰，已定位并清除干扰源，通话质量恢复", "更换基站功放后复测无断续杂音，已回复客户"),
    "GSM难以拨打接听": ("忙时话务拥塞，已扩容载频，复测接通正常", "调整寻呼参数后复测接通正常，已回复客户"),
    "GPRS不能上网": ("客户手机上网设置有误，已指导修改，恢复上网", "基站数据业务板故障，已更换，复测上网正常"),
    "GPRS网速慢": ("忙时小区负荷高，已调整数据信道配置，复测网速正常", "已优化小区参数并扩容数据信道，客户确认网速改善"),
}
SATISFACTION = (("满意", 0.82), ("基本满意", 0.13), ("不满意", 0.05))  # 回访满意度 of replied tickets

# Text pools: a ticket picks an index, so a million tickets share a few thousand strings.
_CUSTOMERS = np.array([s + g for s in SURNAMES for g in GIVEN], dtype=object)
_ADDRESSES = np.array([f"{p}{k}号" for p in PLACES for k in range(1, HOUSE_NUMBERS + 1)], dtype=object)
_CONTENTS = np.array([f"{k}: 客户反映{p}附近{k[4:] if k.startswith('GPRS') else k[3:]}"
                      for k, _ in COMPLAINTS for p in PLACES], dtype=object)  # index = kind × len(PLACES) + place


def _pick(rng, table, n):
    """Indices (int8) into ``table`` (pairs of value and weight), drawn ``n`` times by weight."""
    weights = np.array([w for _, w in table], float)
    return rng.choice(len(table), n, p=weights / weights.sum()).astype(np.int8)


def _values(table) -> np.ndarray:
    return np.array([v for v, _ in table], dtype=object)


def _minutes_text(moments: np.ndarray) -> np.ndarray:
    """``datetime64`` values as ``YYYY-MM-DD HH:MM`` text (seconds dropped)."""
    return np.char.replace(np.datetime_as_string(moments.astype("datetime64[m]")), "T", " ")


def _days_in(month: str) -> int:
    """Number of days of ``month`` (``YYYY-MM``)."""
    first = np.datetime64(month, "M")
    return int(((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int))


def synthesize_month(month: str = "2025-10", tickets: int = 1500, seed: int = 20251007) -> pd.DataFrame:
    """Tickets of ``month`` (``YYYY-MM``) with canonical field names (see ``udfs.rulebook.CANONICAL_FIELDS``).

    One row per ticket, sorted by dispatch time: times as ``datetime64[s]``, ``suspended``
    as ``YYYY-MM-DD HH:MM~YYYY-MM-DD HH:MM`` text ("" = none), ``repeat`` "是" for a repeat
    complaint ("" = not), ``phone`` an 11-digit mobile number as text. Deterministic for a
    given ``seed``. Reply limits are Jiangmen's (特急 10 h, 紧急 15 h, 一般 24 h); about 7% of
    replies are slow and about 5% of tickets are suspended for 30 minutes to 8 hours.
    """
    rng = np.random.default_rng(seed)
    n = int(tickets)
    # Dispatch times first, sorted: every other attribute is drawn independently per ticket,
    # so drawing them in dispatch order needs no reordering afterwards.
    hour_weights = np.array(HOUR_WEIGHTS, float)
    seconds = rng.integers(0, _days_in(month), n) * 86400
    seconds += rng.choice(24, n, p=hour_weights / hour_weights.sum()) * 3600
    seconds += rng.integers(0, 3600, n)
    seconds.sort()
    dispatched = np.datetime64(month, "M").astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    del seconds

    priority = _pick(rng, PRIORITIES, n)
    accepted = dispatched + ((np.round(rng.lognormal(np.log(35), 0.9, n)).astype(np.int64) + 1) * 60).astype("timedelta64[s]")
    reply_hours = np.array(REPLY_HOURS, float)[priority] * rng.beta(2.2, 2.0, n)
    reply_hours[rng.random(n) < SLOW_SHARE] *= 1.6
    handling = np.round(reply_hours * 3600).astype(np.int64)  # seconds from acceptance to reply, before suspension
    del reply_hours
    replied = accepted + handling.astype("timedelta64[s]")

    # A suspension starts while the ticket is being handled (on a whole minute, never before
    # acceptance) and lasts whole minutes; the reply comes that much later.
    held = np.flatnonzero(rng.random(n) < SUSPENDED_SHARE)
    offset = 60 + np.floor(rng.random(len(held)) * np.maximum(handling[held] - 60, 0)).astype(np.int64)
    del handling
    begin = (accepted[held] + offset.astype("timedelta64[s]")).astype("datetime64[m]").astype("datetime64[s]")
    length = (rng.integers(30, 8 * 60, len(held)) * 60).astype("timedelta64[s]")
    replied[held] += length
    suspended = np.full(n, "", dtype=object)
    if len(held):
        suspended[held] = np.char.add(np.char.add(_minutes_text(begin), "~"), _minutes_text(begin + length)).astype(object)

    columns = {"ticket_id": None}  # filled last: its text is the bulkiest temporary
    columns["unit"] = np.array(VENDORS, dtype=object)[_pick(rng, tuple(zip(VENDORS, VENDOR_SHARES)), n)]
    kind = _pick(rng, COMPLAINTS, n)
    columns["kind"] = _values(COMPLAINTS)[kind]
    columns["priority"] = _values(PRIORITIES)[priority]
    columns["area"] = _values(AREAS)[_pick(rng, AREAS, n)]
    columns.update(dispatched_at=dispatched, accepted_at=accepted, replied_at=replied, suspended=suspended)
    columns["customer"] = _CUSTOMERS[rng.integers(0, len(_CUSTOMERS), n)]
    mobile = np.array(MOBILE_PREFIXES, np.int64)[rng.integers(0, len(MOBILE_PREFIXES), n)] * 10**9
    mobile += rng.integers(0, 10**9, n)
    columns["phone"] = mobile.astype("U11").astype(object)
    del mobile
    address = rng.integers(0, len(_ADDRESSES), n)
    columns["address"] = _ADDRESSES[address]
    # the complaint is about the customer's own neighbourhood
    columns["content"] = _CONTENTS[kind * len(PLACES) + address // HOUSE_NUMBERS]
    del kind, address
    columns["repeat"] = np.where(rng.random(n) < REPEAT_SHARE, "是", "").astype(object)
    width = max(5, len(str(n)))  # numbers are zero-padded to 5 digits, like 00042
    columns["ticket_id"] = np.char.add(f"JM-{month.replace('-', '')}-",
                                       np.char.zfill(np.arange(1, n + 1).astype(f"U{width}"), 5)).astype(object)
    frame = pd.DataFrame(columns)
    # Exports are not clean: a ticket still open at month end, a description that looks
    # like a formula, and one whose reply was typed before its dispatch.
    frame.loc[len(frame) // 3, "replied_at"] = pd.NaT
    frame.loc[len(frame) // 2, "content"] = '=HYPERLINK("http://x","点我")'
    frame.loc[len(frame) // 5, "replied_at"] = frame.loc[len(frame) // 5, "dispatched_at"] - pd.Timedelta(hours=2)
    _handling_columns(frame, seed)
    return frame


def _handling_columns(frame: pd.DataFrame, seed: int) -> None:
    """Who took the complaint (受理人), who handled it (处理人), what was done (处理结果) and the
    customer's verdict at the return visit (回访满意度), as the seed 004 附件3 lists them. Drawn
    from a generator of their own, so the other columns stay those of the same seed without them;
    a ticket not replied has neither result nor satisfaction."""
    rng = np.random.default_rng([seed, 3])
    n = len(frame)
    kinds = frame["kind"].to_numpy(object)
    replied = frame["replied_at"].notna().to_numpy(bool)
    frame.insert(1, "receiver", np.array(RECEIVER_NAMES, dtype=object)[rng.integers(0, len(RECEIVER_NAMES), n)])
    frame.insert(3, "handler", np.array(HANDLER_NAMES, dtype=object)[rng.integers(0, len(HANDLER_NAMES), n)])
    wording = rng.integers(0, 2, n)
    results = np.full(n, "", dtype=object)
    for kind, texts in RESULTS.items():
        mine = (kinds == kind) & replied
        results[mine] = np.array(texts, dtype=object)[wording[mine]]
    frame["result"] = results
    frame["satisfaction"] = np.where(replied, _values(SATISFACTION)[_pick(rng, SATISFACTION, n)], "").astype(object)


# -- hand-recorded findings ----------------------------------------------------------------------
NOTES = {  # what an assessor writes for an item, by item name; other items get a generic note
    "保密制度": "将投诉测试数据发至非工作微信群",
    "衣着仪表": "巡检发现未着工装、未佩戴工作证",
    "“10086”号码使用": "非工作时间用10086号码外呼",
    "测试仪表维护": "借用测试手机未做登记",
    "客户满意度(随意承诺)": "现场向客户承诺建站，未经移动负责人同意",
    "言语规范": "回访录音中语气生硬",
    "故障及疑似故障投诉单处理": "3个工作日内未完成话务分析",
    "投诉单回复用语规范": "投诉单回复用语不规范",
    "现场测试数据采集": "室内CQT测试不足10分钟",
    "客户回访": "已解决投诉未在当天回访",
    "特殊投诉处理及时性": "大客户投诉未按要求时间到场",
    "解决方案建议流程": "可通过参数调整解决却申请直放站",
    "小区参数修改时限": "切换参数修改超过2个工作日",
    "天线调整申请": "天线调整后原覆盖区域变差",
    "利用已有建站方案解决": "引用的规划站覆盖范围与投诉点不符",
    "直放站规划申请": "投诉点不足5个移动客户仍申请直放站",
    "基站规划申请": "基站申请未附周边环境与选点分析",
    "投诉跟踪表": "9:30前投诉跟踪表未补齐前天工单",
    "测试数据": "测试数据与截图未按时放到服务器",
    "故障及疑似故障投诉跟踪表": "未按时填报故障及疑似故障投诉跟踪表",
    "网络投诉分析报告": "月度网络投诉报告数据有误",
    "电子地图": "15日投诉热点电子地图未提交",
    "案例报告": "网优调整类投诉的案例报告逾期提交",
    "通过小区参数调整解决的投诉": "通过切换参数优化解决投诉",
    "通过天线调整解决的投诉": "通过天线下倾调整解决弱覆盖投诉",
    "投诉案例分析报告被省公司采纳": "投诉案例分析报告被省公司采纳",
}


def _weak_unit(units) -> int:
    """Position of the unit whose month goes badly: the third one (the last if fewer)."""
    return min(2, len(units) - 1)


def _chosen(rng, item, heavy: bool) -> float:
    """A per-occurrence value inside a range item's points: upper half when ``heavy``, else lower half."""
    lo, hi = item.points
    if np.isinf(hi):
        hi = lo * 2 if lo > 0 else 10.0
    share = rng.uniform(0.6, 1.0) if heavy else rng.uniform(0.0, 0.4)
    value = float(np.round(lo + share * (hi - lo)))
    return float(min(max(value, lo), hi))


def synthesize_findings(month: str, units, rulebook, seed: int = 20251007) -> pd.DataFrame:
    """The findings an assessor records by hand in ``month`` (``YYYY-MM``), one row per unit and item.

    Columns ``考核单位, 考核项, 次数, 选定值, 加倍次数, 备注``: 考核项 an item id of ``rulebook``
    (a :class:`~udfs.rulebook.Rulebook` or its name), never one with a ticket ``measure``;
    次数 occurrences (1–3); 选定值 the chosen per-occurrence value of a range item, in the
    item's unit (分 or 元), empty for fixed items; 加倍次数 how many occurrences are repeats,
    only for doubling items; 备注 a Chinese note with the date. Each unit also gets a row
    ``代维费`` whose 选定值 is its monthly maintenance fee in 元 (次数 empty). Numbers are
    floats, NaN where empty. The third unit has a bad month: more findings, larger counts,
    the range item near its top. Deterministic for a given ``seed``.
    """
    from udfs import rulebook as rulebooks

    book = rulebook if isinstance(rulebook, rulebooks.Rulebook) else rulebooks.load(rulebook)
    units = list(units)
    rng = np.random.default_rng([seed, 1])
    days = _days_in(month)
    month_number = int(str(np.datetime64(month, "M"))[5:])
    manual = [item for item in book.items if not item.measure]
    deductions = [item for item in manual if item.kind == "deduction"]
    bonuses = [item for item in manual if item.kind == "bonus"]
    fixed = [item for item in deductions if not item.ranged]
    weak = _weak_unit(units)
    rows = []
    for position, unit in enumerate(units):
        heavy = position == weak
        picked = []
        # A range item is a serious case (保密制度 5~15分): only the weak unit has one, when
        # the scheme leaves enough fixed items for the others.
        pool = deductions if heavy or len(fixed) < 3 else fixed
        if pool:
            wanted = min(len(pool), 4 if heavy else int(rng.integers(2, 4)) + (not bonuses))
            # The weak unit slips on the costly items, the others on small ones.
            cost = np.array([max(item.points[0], 1e-3) for item in pool])
            weights = cost if heavy else 1 / cost**2
            picked = [pool[k] for k in sorted(rng.choice(len(pool), wanted, replace=False, p=weights / weights.sum()))]
            ranged = [item for item in deductions if item.ranged]
            if heavy and ranged and not any(item.ranged for item in picked):
                picked[0] = ranged[0]  # the weak unit always has a range item, valued near its top
            doubling = [item for item in deductions if item.doubles]
            if heavy and doubling and not any(item.doubles for item in picked):
                picked[-1] = doubling[0]  # ... and a repeat counted twice where the scheme doubles
            picked = list(dict.fromkeys(picked))
        if bonuses:
            wanted = min(len(bonuses), 1 if heavy else int(rng.integers(1, 3)))
            picked += [bonuses[k] for k in sorted(rng.choice(len(bonuses), wanted, replace=False))]
        for item in picked:
            bad = heavy and item.kind == "deduction"
            if item.ranged or item.per == "月":  # a serious case, or something that happens once a month
                count = 1
            else:
                count = int(rng.integers(1, 3)) if bad else int(rng.choice([1, 1, 1, 1, 2, 2, 3]))
            chosen = _chosen(rng, item, bad) if item.ranged else np.nan
            doubled = np.nan
            if item.doubles and (heavy or rng.random() < 0.3):
                doubled = float(rng.integers(1, count + 1))
            day = int(rng.integers(1, days + 1))
            note = NOTES.get(item.name) or (f"“{item.name}”予以加分" if item.kind == "bonus" else f"检查发现“{item.name}”问题")
            times = f"等{count}次" if count > 1 else ""
            rows.append((unit, item.id, float(count), chosen, doubled, f"{month_number}月{day}日{note}{times}"))
        fee = MONTHLY_FEES[position] if position < len(MONTHLY_FEES) else int(rng.integers(6, 16)) * 10_000
        rows.append((unit, FEE_ITEM, np.nan, float(fee), np.nan, f"{month_number}月代维费(元)"))
    frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    for column in ("次数", "选定值", "加倍次数"):
        frame[column] = frame[column].astype(float)
    return frame


# -- earlier months ------------------------------------------------------------------------------


def synthesize_history(month: str, units, rulebook_name: str, seed: int = 20251007) -> pd.DataFrame:
    """Results of the three months before ``month`` (``YYYY-MM``), one row per month and unit.

    Columns ``月份, 考核办法, 考核单位, 得分, 及时率``: 月份 ``YYYY-MM``, oldest first;
    得分 the month's score in points (one decimal, 70–95); 及时率 the on-time rate as a
    fraction 0–1 (four decimals). The third unit is slipping: below 80 points in the last
    two months and at most 70% on time in the last one, so that rules such as
    "连续2个月低于80分" or "连续两个月及时率≤70%" fire when ``month`` is bad too. (A rule of
    two months below 80 already fires on the last two months alone; the on-time rules do
    not: the first month is above 80% on time and the second above 70%.)
    Deterministic for a given ``seed``.
    """
    units = list(units)
    rng = np.random.default_rng([seed, 2])
    m = np.datetime64(month, "M")
    weak = _weak_unit(units)
    rows = []
    for back in (3, 2, 1):
        label = str(m - back)
        for position, unit in enumerate(units):
            if position == weak:
                score = rng.uniform(82.0, 86.0) if back == 3 else rng.uniform(76.0, 79.5)
                rate = rng.uniform(*{3: (0.82, 0.88), 2: (0.72, 0.79), 1: (0.62, 0.70)}[back])
            else:
                score = rng.uniform(84.0, 93.0)
                rate = rng.uniform(0.86, 0.97)
            rows.append((label, rulebook_name, unit, round(float(score), 1), round(float(rate), 4)))
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


EXPORT_HEADERS = {  # the spellings an EOMS export uses; the import maps them to canonical fields
    "ticket_id": "工单编号", "receiver": "受理人", "unit": "代维单位", "handler": "处理人", "kind": "投诉类型", "priority": "紧急程度", "area": "区域",
    "dispatched_at": "派单时间", "accepted_at": "签收时间", "replied_at": "回复时间", "suspended": "挂起时段",
    "customer": "客户姓名", "phone": "联系电话", "address": "客户地址", "content": "投诉内容",
    "repeat": "二次投诉", "result": "处理结果", "satisfaction": "回访满意度",
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
            if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value == "":
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


def write_table(frame: pd.DataFrame, path, sheet: str) -> None:
    """Write a small table (findings) as an .xlsx an assessor would keep: header, values, empty
    cells for NaN, text as text."""
    from generators.workbooks import write_rows

    rows = [list(frame.columns)] + [list(record) for record in frame.itertuples(index=False)]
    write_rows(rows, path, sheet, widths=[28 if c == "备注" else 12 for c in frame.columns], author="kaohe demo")
