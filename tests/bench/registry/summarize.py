#!/usr/bin/env python3
"""Summarises a registry benchmark results file (written by measure.sh / run.sh).

usage: summarize.py RESULTS.txt [--json OUT.json] [--compare OLD.json]

Lines: "<system> <round> <test> | RESULT ... [EXTRA ...] | wall=.. server_cpu=.. client_cpu=.. foreign_cpu=.. cores=N"
and "FAILOVER <sys> ..." lines. Per (system, test) it keeps the runs whose foreign CPU (other
processes on the shared machine) was <= 10% of the machine ("clean"; if none is clean, all runs,
flagged "*"), prints the median, and a comparison table Mesh vs etcd vs ZooKeeper with ratios; meshzk
(Mesh over the ZooKeeper protocol, driven by ZooKeeper's own client) is compared with zk3.
Derived from shared/bench/registry/summarize.py (same RESULT format).
"""
import collections, json, os, platform, re, statistics, subprocess, sys, datetime

args = sys.argv[1:]
if not args:
    sys.exit(__doc__)
path = args[0]
opt = {args[i][2:]: args[i + 1] for i in range(1, len(args) - 1) if args[i].startswith('--')}

rows = collections.OrderedDict()
failovers = collections.defaultdict(list)
for l in open(path):
    l = l.strip()
    if l.startswith('FAILOVER'):
        kv = dict(p.split('=', 1) for p in l.split()[2:] if '=' in p)
        sysn = {'mesh': 'mesh3', 'etcd': 'etcd3', 'zk': 'zk3', 'meshzk': 'meshzk', 'meshw': 'mesh3w', 'meshzkw': 'meshzkw'}[l.split()[1]]
        def num(k):
            try: return float(kv.get(k, 'nan'))
            except ValueError: return float('nan')
        first = num('kill_to_first_ok_started_after_kill_ms')
        gap = num('outage_at_kill_ms')
        if gap != gap: gap = num('max_gap_ms')
        failovers[sysn].append(dict(first_ok_ms=first, max_gap_ms=gap, line=l))
        continue
    if '|' not in l or not l.split()[0] in ('mesh3', 'meshzk', 'mesh3w', 'meshzkw', 'etcd3', 'zk3'):
        continue
    label, res, meta = [x.strip() for x in l.split('|')]
    sysn, rep, test = label.split()
    m = re.search(r'ops/s=(\d+) p50_ms=([\d.]+) p90_ms=([\d.]+) p99_ms=([\d.]+) max_ms=([\d.]+)', res)
    if not m:
        continue
    g = lambda k: float(re.search(k + r'=(-?[\d.]+)', meta).group(1))
    cores = int(re.search(r'cores=(\d+)', meta).group(1)) if 'cores=' in meta else 2
    err = re.search(r'errors=(\d+)', res)
    extra = {k: float(v) for k, v in re.findall(r'(\w+)=(-?[\d.]+|nan|NaN)', res.split('EXTRA', 1)[1])} if 'EXTRA' in res else {}
    wall = g('wall')
    rows.setdefault((sysn, test), []).append(dict(
        rep=rep, ops_s=int(m.group(1)), p50_ms=float(m.group(2)), p90_ms=float(m.group(3)), p99_ms=float(m.group(4)),
        max_ms=float(m.group(5)), errors=int(err.group(1)) if err else 0, extra=extra,
        server_cpu_s=g('server_cpu'), client_cpu_s=g('client_cpu'), foreign_cpu_s=g('foreign_cpu'), wall_s=wall,
        clean=wall > 0 and g('foreign_cpu') / (cores * wall) <= 0.10))

def med(v):
    v = [x for x in v if x == x]
    return statistics.median(v) if v else float('nan')

summary = collections.OrderedDict()
for (s, t), rs in rows.items():
    c = [r for r in rs if r['clean']] or rs
    summary.setdefault(t, {})[s] = dict(
        n=len(c), contaminated=not any(r['clean'] for r in rs), ops_s=med([r['ops_s'] for r in c]),
        p50_ms=med([r['p50_ms'] for r in c]), p99_ms=med([r['p99_ms'] for r in c]), max_ms=med([r['max_ms'] for r in c]),
        errors=sum(r['errors'] for r in rs), cpu_per_op_us=med([(r['server_cpu_s'] + r['client_cpu_s']) * 1e6 / max(1, r['ops_s'] * r['wall_s']) for r in c]),
        extra={k: med([r['extra'].get(k, float('nan')) for r in c]) for k in c[0]['extra']}, runs=rs)
for s, fs in failovers.items():
    summary.setdefault('failover', {})[s] = dict(
        n=len(fs), first_ok_ms_median=med([f['first_ok_ms'] for f in fs]), max_gap_ms_median=med([f['max_gap_ms'] for f in fs]),
        max_gap_ms_max=max(f['max_gap_ms'] for f in fs), runs=fs)

systems = [s for s in ('mesh3', 'meshzk', 'mesh3w', 'meshzkw', 'etcd3', 'zk3') if any(s in v for v in summary.values())]
def fmt(x, f='%.0f'):
    return '-' if x is None or x != x else f % x
def ratio(a, b):
    return '-' if not a or not b or a != a or b != b else '%.2f' % (a / b)

print('\nThroughput tests (median over clean runs; * = no clean run; ratio = Mesh / peer, >1 is Mesh faster)')
hdr = f"{'test':22}" + ''.join(f"{s + ' ops/s':>12}{'p50/p99 ms':>14}" for s in systems)
mesh = 'mesh3' in systems
if mesh and 'etcd3' in systems: hdr += f"{'M/etcd':>8}"
if mesh and 'zk3' in systems: hdr += f"{'M/zk':>8}"
if 'meshzk' in systems and 'zk3' in systems: hdr += f"{'Mzk/zk':>8}"
if 'mesh3w' in systems and 'zk3' in systems: hdr += f"{'Mw/zk':>8}"
if 'meshzkw' in systems and 'zk3' in systems: hdr += f"{'Mzkw/zk':>8}"
print(hdr)
for t, by in summary.items():
    if t == 'failover' or t.startswith(('watch', 'churn')):
        continue
    line = f"{t:22}"
    for s in systems:
        v = by.get(s)
        line += f"{(fmt(v['ops_s']) + ('*' if v['contaminated'] else '')) if v else '-':>12}{(fmt(v['p50_ms'], '%.2f') + '/' + fmt(v['p99_ms'], '%.1f')) if v else '-':>14}"
    m = by.get('mesh3', {}).get('ops_s')
    if mesh and 'etcd3' in systems: line += f"{ratio(m, by.get('etcd3', {}).get('ops_s')):>8}"
    if mesh and 'zk3' in systems: line += f"{ratio(m, by.get('zk3', {}).get('ops_s')):>8}"
    if 'meshzk' in systems and 'zk3' in systems: line += f"{ratio(by.get('meshzk', {}).get('ops_s'), by.get('zk3', {}).get('ops_s')):>8}"
    if 'mesh3w' in systems and 'zk3' in systems: line += f"{ratio(by.get('mesh3w', {}).get('ops_s'), by.get('zk3', {}).get('ops_s')):>8}"
    if 'meshzkw' in systems and 'zk3' in systems: line += f"{ratio(by.get('meshzkw', {}).get('ops_s'), by.get('zk3', {}).get('ops_s')):>8}"
    print(line)

watch = [(t, by) for t, by in summary.items() if t.startswith(('watch', 'churn'))]
if watch:
    print('\nWatch fan-out (write acknowledged -> each watcher woken; watchers spread over the 3 nodes)')
    for t, by in watch:
        for s, v in by.items():
            e = v['extra']
            print(f"{s:6} {t:12} p50 {fmt(v['p50_ms'], '%.1f')} ms  p99 {fmt(v['p99_ms'], '%.1f')} ms  max {fmt(v['max_ms'], '%.1f')} ms  "
                  f"missed {fmt(e.get('missed'))}  errors {v['errors']}  server CPU {fmt(e.get('server_cores'), '%.2f')} cores  "
                  f"RSS {fmt(e.get('server_rss_mib'))} MiB (3 nodes)  write p50 {fmt(e.get('write_p50_ms'), '%.1f')} ms")
if 'failover' in summary:
    print('\nLeader kill -9 (probe: a write every ~5 ms, 200 ms deadline for mesh3/etcd; the ZooKeeper client has none)')
    for s, v in summary['failover'].items():
        print(f"{s:6} trials {v['n']}  kill -> first write started after it: median {fmt(v['first_ok_ms_median'])} ms  "
              f"largest write gap: median {fmt(v['max_gap_ms_median'])} ms, max {fmt(v['max_gap_ms_max'])} ms")

# Mesh over the ZooKeeper protocol vs ZooKeeper, both driven by the same Java client: one line per shape
# (and the same for the second cluster on the registry's own raft log, meshzkw).
for mz in ('meshzk', 'meshzkw'):
    pairs = [(t, by[mz], by['zk3']) for t, by in summary.items() if mz in by and 'zk3' in by]
    if not pairs:
        continue
    print(f'\n{mz} / zk3 (same client; throughput: >1 is Mesh faster; watch latency and failover: <1 is Mesh faster)')
    for t, a, b in pairs:
        if t == 'failover':
            print(f"  {t:22} first write after kill {ratio(a['first_ok_ms_median'], b['first_ok_ms_median'])}  "
                  f"largest gap {ratio(a['max_gap_ms_median'], b['max_gap_ms_median'])}")
        elif t.startswith(('watch', 'churn')):
            print(f"  {t:22} p50 {ratio(a['p50_ms'], b['p50_ms'])}  p99 {ratio(a['p99_ms'], b['p99_ms'])}")
        else:
            print(f"  {t:22} ops/s {ratio(a['ops_s'], b['ops_s'])}  p50 {ratio(a['p50_ms'], b['p50_ms'])}")

if 'json' in opt:
    def uname():
        try: return subprocess.run(['uname', '-srm'], capture_output=True, text=True).stdout.strip()
        except OSError: return platform.platform()
    def cpu_model():
        try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
        except (OSError, StopIteration): return ''
    doc = dict(date=datetime.date.today().isoformat(), source=os.path.abspath(path),
               machine=dict(cores=os.cpu_count(), cpu=cpu_model(), kernel=uname(), loadavg=open('/proc/loadavg').read().split()[:3]),
               results=summary)
    os.makedirs(os.path.dirname(os.path.abspath(opt['json'])), exist_ok=True)
    with open(opt['json'], 'w') as f:
        json.dump(doc, f, indent=1, default=str, allow_nan=True)
    print(f"\nwrote {opt['json']}")

if 'compare' in opt:
    old = json.load(open(opt['compare']))['results']
    print(f"\nCompared with {opt['compare']} (new / old ops/s; for watch and failover: new / old ms, <1 is better)")
    for t, by in summary.items():
        for s, v in by.items():
            o = old.get(t, {}).get(s)
            if not o: continue
            if t == 'failover': print(f"  {s:6} {t:22} {ratio(v['max_gap_ms_median'], o['max_gap_ms_median'])}")
            elif t.startswith(('watch', 'churn')): print(f"  {s:6} {t:22} p99 {ratio(v['p99_ms'], o['p99_ms'])}")
            else: print(f"  {s:6} {t:22} {ratio(v['ops_s'], o['ops_s'])}")
