#!/usr/bin/env python3
"""Turns a perf/compare.sh result directory into table.md and gnuplot PNGs.

Reads results.jsonl (one sluice-load result per line, with scenario/peer/sweep_value added by
compare.sh), fio-*.json and machine.txt from the directory given as the only argument.
"""
import json
import pathlib
import subprocess
import sys

out = pathlib.Path(sys.argv[1])
all_runs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line]


def primary(r):
    """The figure a run is ranked by: latency for rated and e2e runs, else throughput."""
    if "latency_us" not in r:
        return None
    if r.get("mode") == "e2e":
        return -r["e2e_latency_us"]["p99"]
    if r.get("offered_rate"):
        return -r["latency_us"]["p99"]
    if r.get("mode") == "http":
        return r["requests_per_s"]
    return r["records_per_s"]


def primary_text(r):
    p = primary(r)
    if p is None:
        return "failed"
    return f"p99 {-p / 1e3:.3f} ms" if p < 0 else fmt_num(p)


# Each (scenario, sweep value) ran once per round; its median run by the primary figure stands
# for it (a whole run, so its p50 and p99 belong together), and the table lists every round.
groups = {}
for r in all_runs:
    if "mb_s" not in r:  # recovery and fio lines (mb_s) are reported on their own
        groups.setdefault((r.get("scenario"), str(r.get("sweep_value", ""))), []).append(r)
runs = []
rounds_of = {}
for key, group in groups.items():
    # Runs with errors rank only when no round ran clean.
    clean = [r for r in group if primary(r) is not None and not r.get("error_count")]
    ok = sorted(clean or [r for r in group if primary(r) is not None], key=primary)
    median = ok[(len(ok) - 1) // 2] if ok else group[0]
    if not ok:
        median = dict(median, error_count=median.get("error_count", 0) or 1)
    runs.append(median)
    rounds_of[key] = group
runs += [r for r in all_runs if "mb_s" in r]


def find(scenario, value=""):
    for r in runs:
        if r.get("scenario") == scenario and str(r.get("sweep_value", "")) == str(value):
            return r
    return None


def fio_job(name):
    path = out / f"fio-{name}.json"
    if not path.exists():
        return None
    text = path.read_text()
    return json.loads(text[text.find("{"):])["jobs"][0]


def fio_bw(name, op):
    job = fio_job(name)
    return None if job is None else job[op]["bw_bytes"] / 1e6


def fio_cpu(name):
    """fio's own CPU time (user + system) in % of one core; the kernel's writeback threads
    are not in it."""
    job = fio_job(name)
    return None if job is None else job["usr_cpu"] + job["sys_cpu"]


def fmt_num(x, digits=0):
    if x is None:
        return "–"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f} M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.1f} k"
    return f"{x:.{digits}f}"


def ms(r, key, field="latency_us"):
    return r[field][key] / 1e3 if r and field in r else None


def f3(x):
    return "–" if x is None else f"{x:.3f}"


lines = ["# sluice-load vs peers", ""]
machine = (out / "machine.txt").read_text() if (out / "machine.txt").exists() else ""
lines += ["```", machine.strip(), "```", ""]
lines += [
    "Each row is the median of the rounds by its ranking figure (throughput; p99 for rated and",
    "e2e runs); the last column lists that figure for every round.", "",
    "| scenario | peer | sweep | records/s | payload MB/s | req body MB/s | reply MB/s | req/s |"
    " p50 ms | p99 ms | p99.9 ms | max ms | errors | rounds |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]
recovery_scenarios = ("recovery-cold", "recovery-cached", "fio-cold-read")
for r in runs:
    if r.get("scenario") in recovery_scenarios:
        continue
    rounds = " / ".join(primary_text(x) for x in
                        rounds_of.get((r.get("scenario"), str(r.get("sweep_value", ""))), []))
    if "latency_us" not in r:
        lines.append(f"| {r.get('scenario')} | {r.get('peer')} | {r.get('sweep_value')} | failed |"
                     + " |" * 9 + f" {rounds} |")
        continue
    lat = r["e2e_latency_us"] if r.get("mode") == "e2e" else r["latency_us"]
    lines.append(
        f"| {r['scenario']} | {r['peer']} | {r['sweep_value']} | {fmt_num(r['records_per_s'])} "
        f"| {r['payload_mb_s']:.1f} | {r['tx_mb_s']:.1f} | {r['rx_mb_s']:.1f} "
        f"| {fmt_num(r['requests_per_s'])} | {lat['p50'] / 1e3:.3f} | {lat['p99'] / 1e3:.3f} "
        f"| {lat['p999'] / 1e3:.3f} | {lat['max'] / 1e3:.3f} | {r['error_count']} | {rounds} |")
lines.append("")
lines.append("Latency columns of e2e runs are produce-to-fetch latency; others are request "
             "latency from the scheduled send time (open loop where a rate is set).")
lines.append("")

lines += ["| recovery (3 alternating rounds) | MB/s |", "|---|---|"]
for scenario in recovery_scenarios:
    figures = [f"{r['mb_s']:.0f}" for r in runs if r.get("scenario") == scenario and r.get("mb_s")]
    lines.append(f"| {scenario} | {', '.join(figures) or '–'} |")
lines.append("")

fio_rows = [("sequential write, buffered + final fdatasync", "write-buffered", "write"),
            ("sequential write, fdatasync every 1 MiB", "write-fdatasync", "write"),
            ("sequential write, O_DIRECT", "write-direct", "write"),
            ("sequential write, O_DIRECT, 108 KiB blocks", "write-direct-108k", "write"),
            ("sequential read, page cache", "read-cached", "read"),
            ("sequential read, O_DIRECT", "read-direct", "read")]
lines += ["| fio (1 MiB blocks unless said) | MB/s | fio's CPU, % of a core |", "|---|---|---|"]
lines += [f"| {label} | {fmt_num(fio_bw(name, op), 1)} | {fmt_num(fio_cpu(name))} |"
          for label, name, op in fio_rows]
lines.append("")


def val(r, key):
    return r.get(key) if r else None


def ratio(a, b):
    return a / b if a is not None and b else None


targets = []


def target(name, figure, verdict_ok, detail):
    verdict = "–" if verdict_ok is None else ("met" if verdict_ok else "NOT met")
    targets.append(f"| {name} | {figure} | {detail} | {verdict} |")


raw = find("sluice-raw-produce", "1000")
nginx_post = find("nginx-post")
raw_rps = val(raw, "records_per_s")
raw_ratio = ratio(val(raw, "tx_mb_s"), val(nginx_post, "tx_mb_s"))
target("raw produce 1000/req ≥ 5 M rec/s and ≥ 50% nginx POST body MB/s",
       f"{fmt_num(raw_rps)} rec/s; {fmt_num(val(raw, 'tx_mb_s'), 1)} vs "
       f"{fmt_num(val(nginx_post, 'tx_mb_s'), 1)} MB/s (the disk takes "
       f"{fmt_num(fio_bw('write-direct', 'write'), 1)} MB/s with O_DIRECT)",
       None if raw_rps is None or raw_ratio is None else raw_rps >= 5e6 and raw_ratio >= 0.5,
       f"ratio {raw_ratio:.2f}" if raw_ratio else "")
redis64 = find("redis-xadd", "64")
for scen, label in (("sluice-binary-produce", "binary"), ("sluice-json-produce", "JSON")):
    r = find(scen, "1000") or find(scen)
    rps = val(r, "records_per_s")
    q = ratio(rps, val(redis64, "records_per_s"))
    target(f"v2 {label} produce 1000/req ≥ 1 M rec/s and ≥ 3× Redis XADD (50 clients × 64)",
           f"{fmt_num(rps)} vs {fmt_num(val(redis64, 'records_per_s'))} rec/s",
           None if rps is None or q is None else rps >= 1e6 and q >= 3, f"ratio {q:.2f}" if q else "")
durable = find("sluice-acks-all")
interval = find("sluice-acks-1-64")
redis_always = find("redis-always-xadd")
q1 = ratio(val(durable, "records_per_s"), val(redis_always, "records_per_s"))
q2 = ratio(val(durable, "records_per_s"), val(interval, "records_per_s"))
target("acks=all 64 conn × 100 ≥ 5× Redis always, ≥ 50% of acks=1",
       f"{fmt_num(val(durable, 'records_per_s'))} vs Redis {fmt_num(val(redis_always, 'records_per_s'))}"
       f" vs acks=1 {fmt_num(val(interval, 'records_per_s'))} rec/s",
       None if q1 is None or q2 is None else q1 >= 5 and q2 >= 0.5,
       f"{q1:.2f}× Redis; {q2:.2f} of acks=1" if q1 and q2 else "")
rf = find("sluice-raw-fetch")
nf = find("nginx-file")
q = ratio(val(rf, "rx_mb_s"), val(nf, "rx_mb_s"))
target("raw fetch ≥ 70% nginx sendfile MB/s",
       f"{fmt_num(val(rf, 'rx_mb_s'), 1)} vs {fmt_num(val(nf, 'rx_mb_s'), 1)} MB/s",
       None if q is None else q >= 0.7, f"ratio {q:.2f}" if q else "")
jf = find("sluice-json-fetch")
rx = find("redis-xrange")
q = ratio(val(jf, "records_per_s"), val(rx, "records_per_s"))
target("JSON fetch ≥ Redis XRANGE rec/s",
       f"{fmt_num(val(jf, 'records_per_s'))} vs {fmt_num(val(rx, 'records_per_s'))} rec/s",
       None if q is None else q >= 1, f"ratio {q:.2f}" if q else "")
for scen, limit, label in (("sluice-latency-acks1", 1.0, "acks=1"),
                           ("sluice-latency-acksall", 3.0, "acks=all")):
    r = find(scen, "5000")
    p99 = ms(r, "p99")
    target(f"single record at 5000 req/s, {label}: p99 ≤ {limit:g} ms",
           f"p99 {f3(p99)} ms (p50 {f3(ms(r, 'p50'))})",
           None if p99 is None else p99 <= limit,
           f"{val(r, 'requests_per_s')} req/s done, {val(r, 'error_count')} errors" if r else "")
e2e = find("sluice-e2e")
p99 = ms(e2e, "p99", "e2e_latency_us")
target("e2e (produce → long-poll fetch) p99 ≤ 5 ms",
       f"p99 {f3(p99)} ms (p50 {f3(ms(e2e, 'p50', 'e2e_latency_us'))})",
       None if p99 is None else p99 <= 5,
       f"{val(e2e, 'e2e_records_fetched')} records fetched" if e2e else "")
hz = find("sluice-healthz")
ns = find("nginx-small")
q = ratio(val(hz, "requests_per_s"), val(ns, "requests_per_s"))
target("GET /healthz ≥ 70% nginx fixed 200 req/s (16 conn)",
       f"{fmt_num(val(hz, 'requests_per_s'))} vs {fmt_num(val(ns, 'requests_per_s'))} req/s",
       None if q is None else q >= 0.7, f"ratio {q:.2f}" if q else "")
rss = find("sluice-rss-1000")
rss_mib = val(rss, "peer_rss_max_kb") / 1024 if rss and val(rss, "peer_rss_max_kb") else None
target("RSS ≤ 256 MiB with 1000 connections",
       f"{rss_mib:.1f} MiB max with {val(rss, 'peer_data_bytes') / 2**30:.2f} GiB stored"
       if rss_mib else "–",
       None if rss_mib is None else rss_mib <= 256,
       f"{val(rss, 'error_count')} errors over {val(rss, 'requests')} requests" if rss else "")


def median_mb_s(scenario):
    figures = sorted(r["mb_s"] for r in runs if r.get("scenario") == scenario and r.get("mb_s"))
    return figures[len(figures) // 2] if figures else None


cold, cached, fio_cold = (median_mb_s(s) for s in ("recovery-cold", "recovery-cached",
                                                   "fio-cold-read"))
recovered = next((r["bytes"] for r in runs if r.get("scenario") == "recovery-cached"), None)
q = ratio(cold, fio_cold)
target("recovery ≥ 2 GB/s cached and ≥ 90% of fio's cold sequential read",
       f"cached {fmt_num(cached, 1)} MB/s; cold {fmt_num(cold, 1)} vs fio {fmt_num(fio_cold, 1)} MB/s"
       + (f" ({recovered / 2**30:.2f} GiB)" if recovered else ""),
       None if cached is None or q is None else cached >= 2000 and q >= 0.9,
       f"cold ratio {q:.2f}; medians of 3 alternating rounds" if q else "")
lines += ["## Targets", "", "| target | figure | ratio / detail | verdict |", "|---|---|---|---|"]
lines += targets
(out / "table.md").write_text("\n".join(lines) + "\n")


def series(scenario, x_of, y_of):
    pts = []
    for r in runs:
        if r.get("scenario") == scenario and "latency_us" in r and r.get("sweep_value"):
            pts.append((x_of(r), y_of(r)))
    return sorted(pts)


def write_dat(name, pts):
    (out / name).write_text("".join(f"{x} {y}\n" for x, y in pts))


plots = []
tp = [("sluice-raw-produce", "Sluice raw batch"), ("sluice-binary-produce", "Sluice v2 binary"),
      ("redis-xadd", "Redis XADD pipelined (everysec)")]
cmds = []
for scen, title in tp:
    pts = series(scen, lambda r: r["records_per_request"], lambda r: r["records_per_s"])
    if pts:
        write_dat(f"{scen}.rpr.dat", pts)
        cmds.append(f"'{scen}.rpr.dat' using 1:2 with linespoints lw 2 title '{title}'")
if cmds:
    plots.append(
        "set output 'throughput_vs_records_per_request.png'\n"
        "set title 'Produce throughput vs records per request (100-byte records, loopback, 2 cores)'\n"
        "set xlabel 'records per request (pipeline depth for Redis)'\nset ylabel 'records/s'\n"
        "set logscale xy\nset key top left\nset grid\n"
        "plot " + ", ".join(cmds) + "\nunset logscale\n")
lat = [("sluice-latency-acks1", "Sluice acks=1"), ("sluice-latency-acksall", "Sluice acks=all"),
       ("redis-xadd-rate", "Redis XADD everysec")]
cmds = []
for scen, title in lat:
    for q, dash in (("p50", 1), ("p99", 2)):
        pts = series(scen, lambda r: r["offered_rate"], lambda r, q=q: r["latency_us"][q] / 1e3)
        if pts:
            write_dat(f"{scen}.{q}.dat", pts)
            cmds.append(f"'{scen}.{q}.dat' using 1:2 with linespoints lw 2 dt {dash} "
                        f"title '{title} {q}'")
if cmds:
    plots.append(
        "set output 'latency_vs_offered_load.png'\n"
        "set title 'Single-record produce latency vs offered load (open loop, 32 connections)'\n"
        "set xlabel 'offered requests/s'\nset ylabel 'latency (ms)'\n"
        "set logscale y\nset key top left\nset grid\n"
        "plot " + ", ".join(cmds) + "\n")
if plots:
    script = "set terminal pngcairo size 1000,620 font ',10'\n" + "".join(plots)
    (out / "plots.gp").write_text(script)
    subprocess.run(["gnuplot", "plots.gp"], cwd=out, check=True)
print((out / "table.md").read_text())
