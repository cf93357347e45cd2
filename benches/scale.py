#!/usr/bin/env python3
"""Does trailsift scale linearly, with flat memory? Time and peak RSS per corpus size.

Usage:
    cargo build --release --bin trailsift
    python3 benches/scale.py [--sizes 100MB,1GiB,10GiB] [--runs 3] [--workdir /var/tmp] \\
        [--bin target/release/trailsift] [--threads 2] [--append benches/RESULTS.md]

For each size (uncompressed CloudTrail JSON), generates an archive with `trailsift gen --size
S --no-vpc` into a temporary folder outside the repository (--workdir, default the system
temporary folder), then measures --runs times, interleaved, and reports medians: generation
(once, with the exposed-key incident planted), `trailsift ingest` to a store, a key lookup on
the raw evidence and on the store, and the whole `trailsift key` report of the planted leaked
key on the raw evidence (lineage, detections, duplicates, verification). Each
command's peak RSS is that child's own (wait4). Each corpus is deleted before the next size is
generated, so the disk needs room for one corpus and its store (about 1/10 + 1/20 of the size).
Throughput (MB/s of JSON) should be flat across sizes and peak RSS should not grow with them.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import commit, machine, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100MB,1GiB,10GiB", help="comma-separated sizes (trailsift gen --size)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", help="parent of the temporary corpus folder (default: the system temp folder)")
    ap.add_argument("--bin", default="target/release/trailsift")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--append", help="also append the results to this markdown file (e.g. benches/RESULTS.md)")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = tempfile.mkdtemp(prefix="trailsift-scale-", dir=args.workdir)
    if os.path.realpath(base).startswith(os.path.realpath(repo) + os.sep):
        sys.exit(f"--workdir {args.workdir} is inside the repository; pick a folder outside it")
    t = ["--threads", str(args.threads), "-q"]
    rows = []
    try:
        for size in [s for s in args.sizes.split(",") if s]:
            corpus = os.path.join(base, "corpus")
            store = os.path.join(base, "store")
            gen_secs, gen_rss, _ = run([args.bin, "gen", "--out", corpus, "--size", size, "--no-vpc",
                                        "--plant", "exposed-key", "--threads", str(args.threads)])
            answers = json.load(open(os.path.join(corpus, "answers.json")))
            json_bytes = answers["json_bytes"]
            gz = sum(os.path.getsize(os.path.join(corpus, f["path"])) for f in answers["files"])
            key = max(answers["records_by_key"], key=answers["records_by_key"].get)
            sql = f"SELECT eventtime, eventname FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'"
            # The planted leaked key: `trailsift key` (lineage, detections, report) on raw evidence.
            leaked = answers["incidents"][0]["key"]
            cases = {
                "ingest": [args.bin, "ingest", corpus, "--out", store, "-C"] + t,
                "key (raw)": [args.bin, "query", corpus, "--format", "jsonl", "--sql", sql] + t,
                "key (store)": [args.bin, "query", store, "--format", "jsonl", "--sql", sql] + t,
                "report (raw)": [args.bin, "key", corpus, leaked, "--format", "json"] + t,
            }
            subprocess.run(cases["ingest"], check=True)
            # The key lookup must return exactly the generator's count.
            for name in ("key (raw)", "key (store)"):
                _, _, out = run(cases[name], stdout=None)
                n = len([l for l in out.splitlines() if l.strip()])
                if n != answers["records_by_key"][key]:
                    sys.exit(f"{name} at {size}: {n} rows, answers.json says {answers['records_by_key'][key]}")
            _, _, out = run(cases["report (raw)"], stdout=None)
            if json.loads(out)["total_events"] != answers["incidents"][0]["total_events"]:
                sys.exit(f"key report at {size}: total_events differs from answers.json")
            times = {n: [] for n in cases}
            rss = {n: 0.0 for n in cases}
            for _ in range(args.runs):
                for name, cmd in cases.items():
                    secs, peak, _ = run(cmd)
                    times[name].append(secs)
                    rss[name] = max(rss[name], peak)
            row = {"size": size, "files": len(answers["files"]), "records": answers["total_records"],
                   "json_bytes": json_bytes, "gz_bytes": gz, "gen": (gen_secs, gen_rss)}
            for name in cases:
                row[name] = (statistics.median(times[name]), rss[name])
            rows.append(row)
            print(f"[scale] {size}: done", file=sys.stderr)
            shutil.rmtree(corpus, ignore_errors=True)
            shutil.rmtree(store, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    lines = [
        f"### Scale, {time.strftime('%Y-%m-%d')} — commit {commit()}",
        "",
        f"Machine: {machine()}. Binary: `{args.bin}`, `--threads {args.threads}`. {args.runs} runs of each, "
        "interleaved; medians; seconds (MB/s of JSON) and peak RSS in MiB.",
        "",
        "| size | files | records | JSON MB | gzip MB | gen s (MB/s) | gen RSS | ingest s (MB/s) | ingest RSS "
        "| key raw s (MB/s) | key raw RSS | key store s | key store RSS | key report raw s (MB/s) | report RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mb = r["json_bytes"] / 1e6
        cell = lambda s: f"{s:.2f} ({mb / s:.0f})"
        lines.append(
            f"| {r['size']} | {r['files']:,} | {r['records']:,} | {r['json_bytes'] / 1e6:.0f} | {r['gz_bytes'] / 1e6:.0f} "
            f"| {cell(r['gen'][0])} | {r['gen'][1]:.0f} | {cell(r['ingest'][0])} | {r['ingest'][1]:.0f} "
            f"| {cell(r['key (raw)'][0])} | {r['key (raw)'][1]:.0f} | {r['key (store)'][0]:.3f} | {r['key (store)'][1]:.0f} "
            f"| {cell(r['report (raw)'][0])} | {r['report (raw)'][1]:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
