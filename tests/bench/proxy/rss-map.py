#!/usr/bin/env python3
"""tests/bench/proxy/rss-map.py PID [PID...]

Where a process's resident memory is, from /proc/PID/smaps: each file mapping (the executable,
libcrypto, libssl, ...) and the anonymous memory by kind: the GC's reservation (the one largest
anonymous mapping), glibc malloc (the [heap] and its per-thread arenas, 64 MiB reservations),
thread stacks (mappings just above a guard page), and the rest. MB, resident (Rss) and
private-dirty where they differ; the lines add up to VmRSS.
"""
import os
import re
import sys

HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")
ARENA = 64 << 20


def mappings(pid):
    current = None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            header = HEADER.match(line)
            if header:
                if current:
                    yield current
                start, end = int(header.group(1), 16), int(header.group(2), 16)
                current = {"start": start, "end": end, "perms": header.group(3), "name": header.group(4).strip(), "Rss": 0, "Private_Dirty": 0}
            elif current and line.split(":")[0] in ("Rss", "Private_Dirty"):
                current[line.split(":")[0]] = int(line.split()[1])
    if current:
        yield current


def classify(maps):
    # Anonymous memory comes in runs of adjacent mappings (committing or protecting part of a
    # reservation splits it). The GC reserves one huge range for its regions: the widest run.
    # A glibc malloc arena: 64 MiB aligned to 64 MiB, the used part read-write, the rest reserved.
    for i, m in enumerate(maps):
        if m["name"] == "" and m["start"] % ARENA == 0 and "kind" not in m:
            piece = i
            while piece < len(maps) and maps[piece]["name"] == "" and maps[piece]["end"] <= m["start"] + ARENA:
                piece += 1
            if maps[piece - 1]["end"] == m["start"] + ARENA:
                for a in maps[i:piece]:
                    a["kind"] = "malloc arenas"
    runs, run = [], []
    for m in maps:
        if m.get("kind") == "malloc arenas":
            if run:
                runs.append(run)
            run = []
            continue
        if m["name"] == "" and run and run[-1]["end"] == m["start"]:
            run.append(m)
        else:
            if run:
                runs.append(run)
            run = [m] if m["name"] == "" else []
            if m["name"] != "":
                m["kind"] = os.path.basename(m["name"]) if m["name"].startswith("/") else m["name"]
    if run:
        runs.append(run)
    widest = max(runs, key=lambda r: r[-1]["end"] - r[0]["start"], default=None)
    for run in runs:
        span = run[-1]["end"] - run[0]["start"]
        guards = [m for m in run if m["perms"].startswith("---")]
        if run is widest:
            kind = "GC reservation (heap, bookkeeping)"
        elif guards and run[0] in guards and all(g["end"] - g["start"] <= 64 << 10 for g in guards):
            kind = "thread stacks"
        else:
            kind = "other anonymous"
        for m in run:
            m["kind"] = kind
    for m in maps:
        if m["name"] == "[heap]":
            m["kind"] = "malloc [heap]"
    return maps


def main(pids):
    for pid in pids:
        maps = classify(list(mappings(pid)))
        totals = {}
        for m in maps:
            rss, dirty = totals.get(m["kind"], (0, 0))
            totals[m["kind"]] = (rss + m["Rss"], dirty + m["Private_Dirty"])
        whole = sum(r for r, _ in totals.values())
        name = open(f"/proc/{pid}/comm").read().strip()
        print(f"pid {pid} ({name}): {whole / 1024:.1f} MB resident")
        for kind, (rss, dirty) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
            if rss >= 100:
                extra = f" (private dirty {dirty / 1024:.1f})" if abs(rss - dirty) >= 100 else ""
                print(f"  {rss / 1024:6.1f}  {kind}{extra}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(1)
    main(sys.argv[1:])
