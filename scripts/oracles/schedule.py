#!/usr/bin/env python3
"""Reference fire times for the unit test in src/schedule.rs, from croniter.

For each (expression, time zone, start), the next 12 fire times strictly after the start,
in UTC, written to tests/fixtures/oracles/schedule.json. Starts are in January, when
none of these zones changes its clocks: daylight saving is tested by hand in
src/schedule.rs, because croniter's handling of gaps and repeats is not cronie's.

croniter ORs the two day fields whenever both are given, even when one starts with `*`
(as in `*/2`); crontab(5) ANDs them then. Expressions with a starred, stepped day field
beside a restricted one are therefore left out here and tested by hand.

    pip install croniter==7.* pytz
    python3 scripts/oracles/schedule.py
"""
import json
from importlib.metadata import version
from datetime import datetime

import pytz
from croniter import croniter

EXPRESSIONS = [
    "* * * * *",
    "*/7 * * * *",
    "5,35 */3 * * *",
    "0 9-17/2 * * 1-5",
    "30 2 * * 0",
    "30 2 * * 7",
    "0 0 1,15 * *",
    "0 12 13 * 5",
    "15 6 1,15 * fri",
    "0 0 29 2 *",
    "0 22 * * sat,sun",
    "10/20 4 * jan,mar *",
    "0 0 31 * *",
    "45 23 28-31 * *",
]
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Brisbane"]
STARTS = ["2024-01-01 00:00", "2023-01-17 13:37"]

cases = []
for expr in EXPRESSIONS:
    for zone in ZONES:
        for start in STARTS:
            tz = pytz.timezone(zone)
            local = tz.localize(datetime.strptime(start, "%Y-%m-%d %H:%M"))
            it = croniter(expr, local)
            fires = [it.get_next(datetime).astimezone(pytz.utc).strftime("%Y-%m-%dT%H:%MZ") for _ in range(12)]
            utc_start = local.astimezone(pytz.utc).strftime("%Y-%m-%dT%H:%MZ")
            cases.append({"expr": expr, "zone": zone, "after": utc_start, "fires": fires})

with open("tests/fixtures/oracles/schedule.json", "w") as f:
    json.dump({"croniter": version("croniter"), "cases": cases}, f, indent=1)
print(len(cases), "cases")
