#!/usr/bin/env python3
"""Whole-process measurements of trailsift beside the floor and its peers, on one archive.

Usage:
    cargo build --release --bin trailsift --example inflate_floor
    python3 benches/compare.py [--records 2000000] [--runs 5] [--corpus DIR] \\
        [--bin target/release/trailsift] [--floor target/release/examples/inflate_floor]

Generates a corpus with `trailsift gen` (unless --corpus names an existing one), then runs
each command --runs times, interleaved (one run of each in turn, so that machine noise hits
all of them alike), and prints the median wall time, MB/s of uncompressed JSON, the ratio to
the in-process floor (inflate every file with flate2 and memmem for the key, examples/
inflate_floor.rs), the ratio to trailsift on raw evidence, and the peak RSS of each process
(from wait4). Embedded ClickHouse (chdb, JSONEachRow with an explicit schema) and DuckDB
(read_json with an explicit columns struct, and read_json_auto as most users type it) run the
same three questions when their Python packages are installed (`pip install duckdb chdb`):
(key) all events of one access key, (count) events by eventname, (perkey) per-key counts with
distinct IPs and first/last time. Every engine must return the same number of rows per
question before anything is timed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, stdout=subprocess.DEVNULL, shell=False):
    """Runs a command; returns (seconds, peak RSS in MiB, stdout bytes or None)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE, shell=shell)
    out = p.stdout.read() if stdout is None else None
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        sys.exit(f"command failed ({code}): {cmd}\n{err.decode(errors='replace')}")
    return secs, ru.ru_maxrss / 1024, out


CT_GLOB = "AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"
CH_SCHEMA = ("Records Array(Tuple(eventTime String, eventName String, sourceIPAddress Nullable(String), "
             "userIdentity Tuple(accessKeyId Nullable(String))))")
CH_SETTINGS = ("SETTINGS max_threads={threads}, input_format_skip_unknown_fields=1, "
               "input_format_json_named_tuples_as_objects=1, "
               "input_format_json_defaults_for_missing_elements_in_named_tuple=1")
DUCK_COLUMNS = ("{Records: 'STRUCT(eventTime VARCHAR, eventName VARCHAR, sourceIPAddress VARCHAR, "
                "userIdentity STRUCT(accessKeyId VARCHAR))[]'}")


def peer_sql(engine, case, corpus, key, threads):
    """The SQL a peer runs for a case (the fastest formulation we know for each)."""
    g = os.path.join(corpus, CT_GLOB)
    if engine == "chdb":
        src = f"file('{g}', 'JSONEachRow', '{CH_SCHEMA}') ARRAY JOIN Records AS r"
        tail = CH_SETTINGS.format(threads=threads)
        return {
            "key": f"SELECT r.eventTime, r.eventName FROM {src} WHERE r.userIdentity.accessKeyId = '{key}' {tail}",
            "count": f"SELECT r.eventName AS eventname, count() AS n FROM {src} GROUP BY 1 {tail}",
            "perkey": (f"SELECT r.userIdentity.accessKeyId AS k, count() AS n, uniqExact(r.sourceIPAddress) AS ips, "
                       f"min(r.eventTime) AS first, max(r.eventTime) AS last FROM {src} "
                       f"WHERE r.userIdentity.accessKeyId IS NOT NULL GROUP BY 1 {tail}"),
        }[case]
    if engine in ("duckdb", "duckdb-auto"):
        if engine == "duckdb":
            src = (f"(SELECT unnest(Records) AS r FROM read_json('{g}', format='unstructured', records=true, "
                   f"columns={DUCK_COLUMNS}))")
        else:
            src = f"(SELECT unnest(Records) AS r FROM read_json_auto('{g}'))"
        return {
            "key": f"SELECT r.eventTime, r.eventName FROM {src} WHERE r.userIdentity.accessKeyId = '{key}'",
            "count": f"SELECT r.eventName AS eventname, count(*) AS n FROM {src} GROUP BY 1",
            "perkey": (f"SELECT r.userIdentity.accessKeyId AS k, count(*) AS n, count(DISTINCT r.sourceIPAddress) AS ips, "
                       f"min(r.eventTime) AS first, max(r.eventTime) AS last FROM {src} "
                       f"WHERE r.userIdentity.accessKeyId IS NOT NULL GROUP BY 1"),
        }[case]
    raise ValueError(engine)


def run_peer(engine, case, corpus, key, threads):
    """Runs one peer query in this process and prints the number of result rows."""
    sql = peer_sql(engine, case, corpus, key, threads)
    if engine == "chdb":
        import chdb
        rows = chdb.query(sql, "CSV").bytes().splitlines()
        print(len(rows))
    else:
        import duckdb
        con = duckdb.connect()
        con.execute(f"SET threads={threads}")
        print(len(con.execute(sql).fetchall()))


TS_SQL = {
    "key": "SELECT eventtime, eventname FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'",
    "count": "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1",
    "perkey": ("SELECT useridentity.accesskeyid AS k, count(*) AS n, count(DISTINCT sourceipaddress) AS ips, "
               "min(eventtime) AS first, max(eventtime) AS last FROM cloudtrail "
               "WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus")
    ap.add_argument("--bin", default="target/release/trailsift")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--floor", default="target/debug/examples/inflate_floor",
                    help="the inflate_floor example binary (cargo build --example inflate_floor)")
    ap.add_argument("--peers", default="chdb,duckdb,duckdb-auto")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--key", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        run_peer(args.peer, args.case, args.corpus, args.key, args.threads)
        return

    work = tempfile.mkdtemp(prefix="trailsift-bench-")
    corpus = args.corpus or os.path.join(work, "corpus")
    if not args.corpus:
        subprocess.run([args.bin, "gen", "--out", corpus, "--records", str(args.records),
                        "--files-per-region", str(max(1, args.records // 400))], check=True)
    answers = json.load(open(os.path.join(corpus, "answers.json")))
    json_bytes = answers["json_bytes"]
    key = max(answers["records_by_key"], key=answers["records_by_key"].get)
    files = [os.path.join(corpus, f["path"]) for f in answers["files"]]
    listing = os.path.join(work, "files.txt")
    with open(listing, "w") as fh:
        fh.write("\n".join(files) + "\n")
    store = os.path.join(work, "store")

    t = ["--threads", str(args.threads), "-q"]
    cases = {
        "gzip -dc (2 processes)": (f"xargs -a {listing} -P 2 -n 64 gzip -dc > /dev/null", True),
        "floor: in-process inflate + memmem": ([args.floor, corpus, key, str(args.threads)], False),
        "floor, libdeflate where it can": ([args.floor, corpus, key, str(args.threads), "best"], False),
        "trailsift ingest": ([args.bin, "ingest", corpus, "--out", store, "-C"] + t, False),
    }
    subprocess.run(cases["trailsift ingest"][0], check=True)
    peers = [p for p in args.peers.split(",") if p]
    available = []
    for p in peers:
        mod = "chdb" if p == "chdb" else "duckdb"
        if subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0:
            available.append(p)
        else:
            print(f"(skipping {p}: pip install {mod})", file=sys.stderr)
    for case in ("key", "count", "perkey"):
        sql = TS_SQL[case].format(key=key)
        cases[f"({case}) trailsift raw"] = ([args.bin, "query", corpus, "--format", "jsonl", "--sql", sql] + t, False)
        cases[f"({case}) trailsift store"] = ([args.bin, "query", store, "--format", "jsonl", "--sql", sql] + t, False)
        for p in available:
            if p == "duckdb-auto" and case != "key":
                continue
            cases[f"({case}) {p}"] = ([sys.executable, __file__, "--peer", p, "--case", case, "--corpus", corpus,
                                       "--key", key, "--threads", str(args.threads)], False)
    # Answers first: every engine must return the same number of rows for a case.
    for case in ("key", "count", "perkey"):
        counts = {}
        for name, (cmd, shell) in cases.items():
            if name.startswith(f"({case})"):
                _, _, out = run(cmd, stdout=None, shell=shell)
                counts[name] = int(out.strip()) if "trailsift" not in name else len(out.splitlines())
        if len(set(counts.values())) != 1:
            sys.exit(f"engines disagree on {case}: {counts}")
    times = {name: [] for name in cases}
    rss = {name: 0.0 for name in cases}
    for _ in range(args.runs):
        for name, (cmd, shell) in cases.items():
            secs, peak, _ = run(cmd, shell=shell)
            times[name].append(secs)
            rss[name] = max(rss[name], peak)

    floor = statistics.median(times["floor: in-process inflate + memmem"])
    print(f"corpus: {len(files)} files, {answers['total_records']} records, {json_bytes / 1e9:.2f} GB JSON; "
          f"{args.runs} runs, medians; machine: {os.cpu_count()} cores")
    print("| command | median s | MB/s JSON | × floor | × trailsift raw | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name in cases:
        m = statistics.median(times[name])
        case = name[1:name.index(")")] if name.startswith("(") else None
        ref = statistics.median(times[f"({case}) trailsift raw"]) if case else None
        vs = f"{m / ref:.2f}" if ref else ""
        print(f"| {name} | {m:.3f} | {json_bytes / 1e6 / m:.0f} | {m / floor:.2f} | {vs} | {rss[name]:.0f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
