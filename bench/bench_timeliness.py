"""Benchmark: deadlines and elapsed business hours for 1,000,000 tickets.

Compares the vectorized engine with a straightforward per-ticket loop over the
``chinesecalendar`` package (run on a sample and reported as a rate). Run:

    python bench/bench_timeliness.py [--tickets 1000000] [--sample 2000]

Targets (issue 2): 1,000,000 deadlines in under 1 s on a 2-core machine, and at least
100× the per-ticket loop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import chinese_calendar
import numpy as np

from udfs.calendar import china_calendar
from udfs.timeliness import deadline, elapsed_hours

BH = "08:00-12:00,14:30-18:00"
WINDOWS = ((dt.time(8), dt.time(12)), (dt.time(14, 30), dt.time(18)))


def tickets(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "s") + rng.integers(0, 364 * 86400, n).astype("timedelta64[s]")
    end = start + rng.integers(600, 5 * 86400, n).astype("timedelta64[s]")
    return start, end


def loop_deadline(start: dt.datetime, hours: float) -> dt.datetime:
    """Business-hours deadline the obvious way: walk the days, ask the package about each."""
    left = dt.timedelta(hours=hours)
    day = start.date()
    while True:
        if chinese_calendar.is_workday(day):
            for open_, close in WINDOWS:
                a = max(dt.datetime.combine(day, open_), start)
                b = dt.datetime.combine(day, close)
                if b > a:
                    if b - a >= left:
                        return a + left
                    left -= b - a
        day += dt.timedelta(days=1)


def loop_elapsed(start: dt.datetime, end: dt.datetime) -> float:
    total = dt.timedelta()
    day = start.date()
    while day <= end.date():
        if chinese_calendar.is_workday(day):
            for open_, close in WINDOWS:
                a = max(dt.datetime.combine(day, open_), start)
                b = min(dt.datetime.combine(day, close), end)
                if b > a:
                    total += b - a
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def timed(function, *args, **kwargs):
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description="时限计算基准 / timeliness benchmark")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000)
    options = parser.parse_args()
    china_calendar()  # build the calendar once, outside the timings
    start, end = tickets(options.tickets)
    limits = np.random.default_rng(2).choice([10.0, 15.0, 24.0], options.tickets)

    rows = []
    for label, kwargs in [("deadline, natural hours", dict(limit=limits, unit="小时")),
                          ("deadline, business hours", dict(limit=limits, unit="小时", hours=BH)),
                          ("deadline, 3 working days", dict(limit=3, unit="工作日"))]:
        _, seconds = timed(deadline, start, **kwargs)
        rows.append((label, seconds))
    business, seconds = timed(deadline, start, limits, "小时", hours=BH)
    elapsed, elapsed_seconds = timed(elapsed_hours, start, end, hours=BH)
    rows.append(("elapsed business hours", elapsed_seconds))

    sample = np.arange(options.sample)
    s_obj, e_obj = start[sample].astype(dt.datetime), end[sample].astype(dt.datetime)
    loop_due, loop_seconds = timed(lambda: [loop_deadline(s, h) for s, h in zip(s_obj, limits[sample])])
    loop_el, loop_el_seconds = timed(lambda: [loop_elapsed(s, e) for s, e in zip(s_obj, e_obj)])
    assert [np.datetime64(d, "s") for d in loop_due] == list(business[sample]), "loop and engine disagree"
    assert np.allclose(loop_el, elapsed[sample]), "loop and engine disagree on elapsed hours"

    print(f"{options.tickets:,} tickets (2-core machine); per-ticket loop measured on {options.sample:,}")
    for label, secs in rows:
        print(f"  {label:28s} {secs:7.3f} s   {options.tickets / secs:14,.0f} /s")
    loop_rate = options.sample / loop_seconds
    loop_el_rate = options.sample / loop_el_seconds
    engine_rate = options.tickets / rows[1][1]
    engine_el_rate = options.tickets / elapsed_seconds
    print(f"  {'loop: business deadline':28s} {'':9s}   {loop_rate:14,.0f} /s")
    print(f"  {'loop: elapsed business hrs':28s} {'':9s}   {loop_el_rate:14,.0f} /s")
    print(f"ratio engine/loop: deadline {engine_rate / loop_rate:,.0f}x, elapsed {engine_el_rate / loop_el_rate:,.0f}x")
    slowest = max(secs for label, secs in rows if label.startswith("deadline"))
    print(f"target: 1,000,000 deadlines < 1 s → {'met' if slowest * 1_000_000 / options.tickets < 1 else 'NOT met'} "
          f"({slowest:.3f} s for the slowest kind)")


if __name__ == "__main__":
    main()
