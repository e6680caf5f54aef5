"""Cron schedules as the CronJob controller reads them (five fields, UTC unless
``timeZone``... which this simulator treats as UTC, plus the ``@hourly``-style macros)."""

from __future__ import annotations

import datetime as dt

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _field(text: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step = part.partition("/")
        if rng in ("*", "?"):
            a, b = lo, hi
        elif "-" in rng:
            a, b = (int(x) for x in rng.split("-", 1))
        else:
            a = b = int(rng)
            if step:
                b = hi
        if a < lo or b > hi or a > b:
            raise ValueError(f"value out of range in '{part}'")
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def parse(expr: str) -> tuple[list[set[int]], bool, bool]:
    """The five value sets and whether day-of-month / day-of-week were restricted."""
    text = MACROS.get(expr.strip(), expr.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(parts)}: {expr}")
    sets = [_field(p, lo, hi) for p, (lo, hi) in zip(parts, RANGES, strict=True)]
    if 7 in sets[4]:
        sets[4].add(0)
    return sets, parts[2] not in ("*", "?"), parts[4] not in ("*", "?")


def next_after(expr: str, after: float) -> float:
    """The first scheduled time strictly after ``after`` (within about five years)."""
    (mins, hours, doms, months, dows), dom_set, dow_set = parse(expr)
    t = dt.datetime.fromtimestamp(after, dt.UTC).replace(second=0, microsecond=0) + \
        dt.timedelta(minutes=1)
    limit = t + dt.timedelta(days=366 * 5)
    while t < limit:
        if t.month not in months:
            t = (t.replace(day=1, hour=0, minute=0) + dt.timedelta(days=32)).replace(day=1)
            continue
        dom_ok, dow_ok = t.day in doms, (t.weekday() + 1) % 7 in dows
        day_ok = (dom_ok or dow_ok) if dom_set and dow_set else dom_ok and dow_ok
        if not day_ok:
            t = t.replace(hour=0, minute=0) + dt.timedelta(days=1)
            continue
        if t.hour not in hours:
            t = t.replace(minute=0) + dt.timedelta(hours=1)
            continue
        if t.minute not in mins:
            t += dt.timedelta(minutes=1)
            continue
        return t.timestamp()
    raise ValueError(f"schedule '{expr}' never fires")
