#!/usr/bin/env python3
"""Seed each fuzz target's corpus (fuzz/corpus/TARGET/) with the real files of the tests.

Run from anywhere: python3 fuzz/seed.py. Needs pyarrow (fuzz/requirements.txt) to cut the
Arrow files down and write their Parquet twins; the rest is the standard library. The
seeds are small cuts of tests/data (a fuzzer's every execution reads its whole input),
plus the formats the tests write on the fly: gzip, zip, Parquet, trade outcomes,
crontab lines, time formats, the config files of the repository and the exchange
fixtures.
"""

import gzip
import io
import json
import pathlib
import shutil
import zipfile

import pyarrow.feather as feather
import pyarrow.parquet as parquet

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "fuzz" / "corpus"
ROWS = 40


def put(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def head_lines(path, n=ROWS):
    return b"".join(path.read_bytes().splitlines(keepends=True)[:n])


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    csvs = {p.name: head_lines(p) for p in sorted(DATA.glob("*.csv"))}
    for name, data in csvs.items():
        put("delimited", name, data)
    # The shapes of tests/cli/collect/formats.rs: semicolons, ISO times, day-first dates.
    put("delimited", "semicolon.csv", "close;low;high;open;volume;date\n1.5;1.4;1.6;1.45;10;2024-01-01T00:00:00Z\n")
    put("delimited", "dayfirst.csv", "time,open,high,low,close,volume\n01/02/2024 00:00,1,2,0.5,1.5,3\n")

    candles = json.loads((DATA / "UNITTEST_BTC-1m.json").read_text())
    put("freqtrade_json", "UNITTEST_BTC-1m.json", json.dumps(candles[:ROWS]))
    put("exchange_response", "klines.json", json.dumps([[c[0], *map(str, c[1:]), c[0] + 59_999, "0", 1, "0", "0", "0"] for c in candles[:ROWS]]))
    for fixture in sorted((ROOT / "tests" / "fixtures" / "binance").glob("*")):
        if fixture.suffix != ".md":
            put("exchange_response", fixture.name, fixture.read_bytes())

    for path in sorted(DATA.glob("*.feather")):
        table = feather.read_table(path).slice(0, ROWS)
        sink = io.BytesIO()
        feather.write_feather(table, sink, compression="uncompressed")
        put("arrow_ipc", path.name, sink.getvalue())
        sink = io.BytesIO()
        feather.write_feather(table, sink, compression="lz4")
        put("arrow_ipc", path.stem + "-lz4.feather", sink.getvalue())
        sink = io.BytesIO()
        parquet.write_table(table, sink)
        put("parquet", path.stem + ".parquet", sink.getvalue())
        sink = io.BytesIO()
        parquet.write_table(table, sink, compression="none")
        put("parquet", path.stem + "-plain.parquet", sink.getvalue())

    first, second = sorted(csvs)[:2]
    put("containers", first + ".gz", gzip.compress(csvs[first], mtime=0))
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(first, csvs[first])
        archive.writestr(second, csvs[second])
    put("containers", "two-days.zip", sink.getvalue())
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("UNITTEST_BTC-1m.json", json.dumps(candles[:ROWS]))
    put("containers", "stored-json.zip", sink.getvalue())

    header = "id,symbol,opened_at,closed_at,side,entry_price,exit_price,quantity,pnl,model_version\n"
    put("trades", "outcomes.csv", header
        + "t1,BTCUSDT,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,long,42000,42100,0.5,50,3\n"
        + "t2,BTCUSDT,1704070800000,1704074400000,short,42100,42000,0.5,50,\n")

    for i, line in enumerate(["0 2 * * mon", "15 6 1,15 * 5\nEurope/London", "*/15 * * * *\nAmerica/New_York\n1710054000",
                 "30 1 * * sun\nEurope/London\n1711846800", "0 0 29 feb *\nUTC", "5/10 1-5 * jan-mar 0,7"]):
        put("cron", f"seed-{i}.txt", line)
    for i, text in enumerate(["%d/%m/%Y %H:%M\n01/02/2024 00:00\n2024-01-01T00:00:00Z",
                 "%Y-%m-%d %H:%M:%S%.f\n2021-12-31 23:01:00.000000\n1640991660000",
                 "%s\n1640991660\n1640991660.5"]):
        put("time_format", f"seed-{i}.txt", text)
    for path in [ROOT / "config.yaml", ROOT / "demo" / "config.yaml", ROOT / "deploy" / "kubernetes" / "config.yaml"]:
        put("config", path.parent.name + "-" + path.name, path.read_bytes())


if __name__ == "__main__":
    main()
