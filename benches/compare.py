#!/usr/bin/env python3
"""Whole-process measurements of trailsift beside the floor and its peers, on one archive.

Usage:
    cargo build --release --bin trailsift --example inflate_floor
    python3 benches/compare.py [--size 2GB | --records N] [--runs 5] [--corpus DIR] \\
        [--bin target/release/trailsift] [--floor target/release/examples/inflate_floor] \\
        [--peers chdb,duckdb,duckdb-auto] [--append benches/RESULTS.md]

Generates a corpus with `trailsift gen --no-vpc` into a temporary folder (unless --corpus names
an existing one; pass --plant to plant the exposed-key incident too), then runs each command
--runs times, interleaved (one run of each in turn, so that machine noise hits all of them
alike), and prints a markdown table: median wall time, MB/s of uncompressed JSON, the ratio to
the in-process floor (inflate every file and memmem for the key: examples/inflate_floor.rs),
the ratio to trailsift on raw evidence, and the peak RSS of each process (wait4's ru_maxrss of
that child alone).

What runs:
  * the floors: `gzip -dc` in 2 processes; in-process inflate + memmem (flate2, libdeflate);
  * ingest: `trailsift ingest` (raw evidence -> Parquet store) beside DuckDB's
    `COPY (… read_json …) TO '….parquet'` with an explicit schema of the same columns, both
    over the same files (the CloudTrail folders, not the corpus's VPC flow logs);
  * three questions, on raw evidence with trailsift, chdb and DuckDB, and on trailsift's store:
    (key) all events of one access key, (count) events by eventname, (perkey) per-key count,
    distinct IPs, first and last time.
Peers run when their Python packages are installed (`pip install duckdb chdb`): chdb reads
JSONEachRow with an explicit schema and ARRAY JOINs Records; DuckDB reads with `read_json`
and an explicit `columns` struct (the fastest correct formulation we know), and `duckdb-auto`
with `read_json_auto` as most users type it (key question only).

Before anything is timed, every engine's answer to every question is compared, row by row
(canonicalised as text), with every other engine's and with the generator's answers.json
(count and per-key row counts, key-lookup rows): the script stops if any differs.
"""

import argparse
import csv
import glob
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, stdout=subprocess.DEVNULL, shell=False):
    """Runs a command; returns (seconds, peak RSS in MiB of that child, stdout bytes or None).

    The peak RSS comes from `/usr/bin/time -f %M` when it exists: a child forked from this
    Python process (with chdb and DuckDB loaded, about 100 MiB) reports this process's
    resident size as its own peak even after exec, so wait4's figure has a floor of ~105 MiB.
    """
    rss_file = None
    if os.path.exists("/usr/bin/time"):
        fd, rss_file = tempfile.mkstemp(prefix="trailsift-rss-")
        os.close(fd)
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + (["sh", "-c", cmd] if shell else list(cmd))
        shell = False
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE, shell=shell)
    out = p.stdout.read() if stdout is None else None
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        sys.exit(f"command failed ({code}): {cmd}\n{err.decode(errors='replace')}")
    peak_kib = ru.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            text = f.read().split()
        os.unlink(rss_file)
        peak_kib = int(text[-1]) if text and text[-1].isdigit() else peak_kib
    return secs, peak_kib / 1024, out


CT_GLOB = "AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"
CH_SCHEMA = ("Records Array(Tuple(eventTime String, eventName String, sourceIPAddress Nullable(String), "
             "userIdentity Tuple(accessKeyId Nullable(String))))")
CH_SETTINGS = ("SETTINGS max_threads={threads}, input_format_skip_unknown_fields=1, "
               "input_format_json_named_tuples_as_objects=1, "
               "input_format_json_defaults_for_missing_elements_in_named_tuple=1")
DUCK_COLUMNS = ("{Records: 'STRUCT(eventTime VARCHAR, eventName VARCHAR, sourceIPAddress VARCHAR, "
                "userIdentity STRUCT(accessKeyId VARCHAR))[]'}")
# Every column trailsift's store holds, typed as the store types them (nested objects as JSON text).
DUCK_ALL_COLUMNS = ("{Records: 'STRUCT(eventVersion VARCHAR, userIdentity STRUCT(type VARCHAR, principalId VARCHAR, "
                    "arn VARCHAR, accountId VARCHAR, invokedBy VARCHAR, accessKeyId VARCHAR, userName VARCHAR, "
                    "sessionContext JSON), eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, "
                    "sourceIPAddress VARCHAR, userAgent VARCHAR, errorCode VARCHAR, errorMessage VARCHAR, "
                    "requestParameters JSON, responseElements JSON, additionalEventData JSON, requestID VARCHAR, "
                    "eventID VARCHAR, readOnly BOOLEAN, resources JSON, eventType VARCHAR, apiVersion VARCHAR, "
                    "managementEvent BOOLEAN, recipientAccountId VARCHAR, sharedEventID VARCHAR, vpcEndpointId VARCHAR, "
                    "eventCategory VARCHAR, tlsDetails JSON, sessionCredentialFromConsole VARCHAR)[]'}")
MAX_OBJ = 256 * 1024 * 1024  # CloudTrail files are one JSON object each; DuckDB needs the cap raised.

# Column order of each question's answer (trailsift prints JSON objects; peers print rows).
COLUMNS = {"key": ["eventtime", "eventname"], "count": ["eventname", "n"], "perkey": ["k", "n", "ips", "first", "last"]}


def peer_sql(engine, case, corpus, key, threads, out=None):
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
        if case == "ingest":
            return (f"COPY (SELECT unnest(r) FROM (SELECT unnest(Records) AS r FROM read_json('{g}', "
                    f"format='unstructured', records=true, maximum_object_size={MAX_OBJ}, columns={DUCK_ALL_COLUMNS}))) "
                    f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        if engine == "duckdb":
            src = (f"(SELECT unnest(Records) AS r FROM read_json('{g}', format='unstructured', records=true, "
                   f"maximum_object_size={MAX_OBJ}, columns={DUCK_COLUMNS}))")
        else:
            src = f"(SELECT unnest(Records) AS r FROM read_json_auto('{g}', maximum_object_size={MAX_OBJ}))"
        return {
            "key": f"SELECT r.eventTime, r.eventName FROM {src} WHERE r.userIdentity.accessKeyId = '{key}'",
            "count": f"SELECT r.eventName AS eventname, count(*) AS n FROM {src} GROUP BY 1",
            "perkey": (f"SELECT r.userIdentity.accessKeyId AS k, count(*) AS n, count(DISTINCT r.sourceIPAddress) AS ips, "
                       f"min(r.eventTime) AS first, max(r.eventTime) AS last FROM {src} "
                       f"WHERE r.userIdentity.accessKeyId IS NOT NULL GROUP BY 1"),
        }[case]
    raise ValueError(engine)


def run_peer(engine, case, corpus, key, threads, out):
    """Runs one peer query in this process and prints its rows as JSON lines (lists of text)."""
    # (leak) is (key) with the planted leaked key: a key seen in few files.
    sql = peer_sql(engine, "key" if case == "leak" else case, corpus, key, threads, out)
    if engine == "chdb":
        import chdb
        rows = list(csv.reader(io.StringIO(chdb.query(sql, "CSV").bytes().decode())))
    else:
        import duckdb
        con = duckdb.connect()
        con.execute(f"SET threads={threads}")
        con.execute("SET preserve_insertion_order=false")
        rows = con.execute(sql).fetchall()
        if case == "ingest":
            rows = con.execute(f"SELECT count(*) FROM '{out}'").fetchall()
    for r in rows:
        print(json.dumps([str(v) for v in r]))


TS_SQL = {
    "key": "SELECT eventtime, eventname FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'",
    "count": "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1",
    "perkey": ("SELECT useridentity.accesskeyid AS k, count(*) AS n, count(DISTINCT sourceipaddress) AS ips, "
               "min(eventtime) AS first, max(eventtime) AS last FROM cloudtrail "
               "WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1"),
}


def canonical(name, case, out):
    """An engine's answer as a sorted list of text rows."""
    rows = []
    for line in out.decode().splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        if isinstance(v, dict):  # trailsift jsonl
            v = [v[c] for c in COLUMNS["key" if case == "leak" else case]]
        rows.append(tuple(norm_time("" if x is None else str(x)) for x in v))
    return sorted(rows)


# read_json_auto detects eventTime as a timestamp and prints it as '2024-07-31 00:01:50+00:00'.
AUTO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\+00(:00)?)?$")


def norm_time(x):
    """CloudTrail's eventTime text for a timestamp a peer printed its own way."""
    m = AUTO_TIME.match(x)
    return f"{m.group(1)}T{m.group(2)}Z" if m else x


def machine():
    """CPU model and core count, for the results table."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1GB", help="uncompressed JSON to generate (trailsift gen --size)")
    ap.add_argument("--records", type=int, help="generate this many records instead of --size")
    ap.add_argument("--plant", action="store_true", help="plant the exposed-key incident in the corpus")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", help="an existing archive made by `trailsift gen` (has answers.json)")
    ap.add_argument("--workdir", help="where to put the corpus and stores (default: a new temporary folder)")
    ap.add_argument("--bin", default="target/release/trailsift")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--floor", default="target/release/examples/inflate_floor",
                    help="the inflate_floor example binary (cargo build --release --example inflate_floor)")
    ap.add_argument("--peers", default="chdb,duckdb,duckdb-auto")
    ap.add_argument("--append", help="also append the results to this markdown file (e.g. benches/RESULTS.md)")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--key", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        run_peer(args.peer, args.case, args.corpus, args.key, args.threads, args.out)
        return

    work = tempfile.mkdtemp(prefix="trailsift-bench-", dir=args.workdir)
    corpus = args.corpus or os.path.join(work, "corpus")
    if not args.corpus:
        amount = ["--records", str(args.records)] if args.records else ["--size", args.size]
        plant = ["--plant", "exposed-key"] if args.plant else []
        subprocess.run([args.bin, "gen", "--out", corpus, "--no-vpc"] + amount + plant, check=True)
    answers = json.load(open(os.path.join(corpus, "answers.json")))
    json_bytes = answers["json_bytes"]
    key = max(answers["records_by_key"], key=answers["records_by_key"].get)
    files = [os.path.join(corpus, f["path"]) for f in answers["files"]]
    gz_bytes = sum(os.path.getsize(f) for f in files)
    listing = os.path.join(work, "files.txt")
    with open(listing, "w") as fh:
        fh.write("\n".join(files) + "\n")
    store = os.path.join(work, "store")
    duck_parquet = os.path.join(work, "duck.parquet")

    t = ["--threads", str(args.threads), "-q"]
    cases = {
        "gzip -dc (2 processes)": (f"xargs -a {listing} -P 2 -n 64 gzip -dc > /dev/null", True),
    }
    if os.path.exists(args.floor):
        cases["floor: in-process inflate + memmem"] = ([args.floor, corpus, key, str(args.threads)], False)
        cases["floor, libdeflate where it can"] = ([args.floor, corpus, key, str(args.threads), "best"], False)
    else:
        print(f"(skipping the in-process floor: build {args.floor})", file=sys.stderr)
    # Ingest reads the files DuckDB's COPY reads: the CloudTrail folders (a generated corpus
    # also holds VPC flow logs, which trailsift would otherwise ingest too, about 10 % more work).
    ct_roots = sorted(glob.glob(os.path.join(corpus, "AWSLogs", "*", "CloudTrail")))
    cases["(ingest) trailsift ingest"] = ([args.bin, "ingest"] + ct_roots + ["--out", store, "-C"] + t, False)
    peers = [p for p in args.peers.split(",") if p]
    available = []
    for p in peers:
        mod = "chdb" if p == "chdb" else "duckdb"
        if subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0:
            available.append(p)
        else:
            print(f"(skipping {p}: pip install {mod})", file=sys.stderr)
    leaked = answers["incidents"][0]["key"] if answers.get("incidents") else None
    qkey = lambda case: leaked if case == "leak" else key
    peer = lambda p, case: ([sys.executable, __file__, "--peer", p, "--case", case, "--corpus", corpus, "--key", qkey(case),
                             "--threads", str(args.threads), "--out", duck_parquet], False)
    if "duckdb" in available:
        cases["(ingest) duckdb COPY TO parquet"] = peer("duckdb", "ingest")
    subprocess.run(cases["(ingest) trailsift ingest"][0], check=True)
    questions = ("key", "leak", "count", "perkey") if leaked else ("key", "count", "perkey")
    for case in questions:
        sql = TS_SQL["key" if case == "leak" else case].format(key=qkey(case))
        cases[f"({case}) trailsift raw"] = ([args.bin, "query", corpus, "--format", "jsonl", "--sql", sql] + t, False)
        cases[f"({case}) trailsift store"] = ([args.bin, "query", store, "--format", "jsonl", "--sql", sql] + t, False)
        for p in available:
            if p == "duckdb-auto" and case not in ("key", "leak"):
                continue
            cases[f"({case}) {p}"] = peer(p, case)

    # Answers first: every engine must give the same rows, and agree with the generator.
    expect = {
        "key": answers["records_by_key"][key],
        "leak": answers["records_by_key"].get(leaked, 0),
        "count": sorted((k, str(v)) for k, v in answers["records_by_event"].items()),
        "perkey": sorted((k, str(v)) for k, v in answers["records_by_key"].items()),
    }
    for case in questions:
        got = {}
        for name, (cmd, shell) in cases.items():
            if name.startswith(f"({case})"):
                _, _, out = run(cmd, stdout=None, shell=shell)
                got[name] = canonical(name, case, out)
        first = next(iter(got.values()))
        for name, rows in got.items():
            if rows != first:
                sys.exit(f"engines disagree on ({case}): {name} differs from {next(iter(got))}\n"
                         f"  {rows[:5]}\n  {first[:5]}")
        if case in ("key", "leak") and len(first) != expect[case]:
            sys.exit(f"({case}) returned {len(first)} rows; answers.json says {expect[case]}")
        if case in ("count", "perkey") and sorted(r[:2] for r in first) != expect[case]:
            sys.exit(f"({case}) differs from answers.json")
    if "(ingest) duckdb COPY TO parquet" in cases:
        _, _, out = run(cases["(ingest) duckdb COPY TO parquet"][0], stdout=None)
        if int(json.loads(out.decode().splitlines()[-1])[0]) != answers["total_records"]:
            sys.exit("DuckDB's parquet holds a different number of records than answers.json")

    times = {name: [] for name in cases}
    rss = {name: 0.0 for name in cases}
    for _ in range(args.runs):
        for name, (cmd, shell) in cases.items():
            secs, peak, _ = run(cmd, shell=shell)
            times[name].append(secs)
            rss[name] = max(rss[name], peak)

    floor_name = "floor: in-process inflate + memmem"
    floor = statistics.median(times[floor_name]) if floor_name in times else None
    lines = [
        f"### {time.strftime('%Y-%m-%d')} — commit {commit()}",
        "",
        f"Machine: {machine()}. Binary: `{args.bin}`, `--threads {args.threads}`; peers limited to "
        f"{args.threads} threads.",
        f"Corpus: {len(files)} files, {answers['total_records']:,} records, {json_bytes / 1e9:.2f} GB JSON "
        f"({gz_bytes / 1e6:.0f} MB gzip, {json_bytes / max(gz_bytes, 1):.1f}×), seed {answers['seed']}; "
        f"(key) the busiest key {key} ({answers['records_by_key'][key]:,} events)"
        + (f"; (leak) the planted leaked key {leaked} ({answers['records_by_key'].get(leaked, 0):,} events)" if leaked else "")
        + f". {args.runs} runs of each, interleaved; medians. "
        "All engines returned the same rows, matching answers.json.",
        "",
        "| command | median s | MB/s JSON | × floor | × trailsift | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for name in cases:
        m = statistics.median(times[name])
        case = name[1:name.index(")")] if name.startswith("(") else None
        ref_name = "(ingest) trailsift ingest" if case == "ingest" else f"({case}) trailsift raw"
        ref = statistics.median(times[ref_name]) if case else None
        vs = f"{m / ref:.2f}" if ref else ""
        fl = f"{m / floor:.2f}" if floor else ""
        lines.append(f"| {name} | {m:.3f} | {json_bytes / 1e6 / m:.0f} | {fl} | {vs} | {rss[name]:.0f} |")
    # What each ingest wrote (its last run): the speed of a store is worth little if it is
    # much bigger than the other's.
    outputs = []
    parts = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs if f.endswith(".parquet")]
    if parts:
        outputs.append(f"trailsift's store {sum(map(os.path.getsize, parts)) / 1e6:.1f} MB of Parquet in "
                       f"{len(parts)} files")
    if "(ingest) duckdb COPY TO parquet" in cases and os.path.exists(duck_parquet):
        outputs.append(f"DuckDB's COPY {os.path.getsize(duck_parquet) / 1e6:.1f} MB in one file")
    if outputs:
        lines += ["", "Ingest output (both zstd): " + "; ".join(outputs) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as fh:
            fh.write("\n" + text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
