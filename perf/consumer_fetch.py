#!/usr/bin/env python3
"""Consumer-group fetch throughput next to stateless fetch, against a real sluice binary.

Starts `sluice serve` on a fresh data directory and a free port, produces --records records of
--value-bytes bytes over a 6-partition topic, then reads every record back four ways and prints
records/s for each (binary format, keep-alive connections, max_bytes=1 MiB a request):

  stateless x1   one client fetching all partitions by offset (GET /topics/t/partitions/p/records)
  stateless x3   three clients, two partitions each
  group x1       one consumer-group instance subscribed to the topic
  group x3       three instances of one group (the coordinator assigns two partitions each)

Each run ends when every record has been received; the figure is records / wall time, the
median of --repeat runs (each group run uses a fresh group, so it starts at offset 0). The
client counts records in the reply without decoding it, so the broker is what is measured.
"""
import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PARTITIONS = 6
BINARY = "application/vnd.kafka.binary.v2+json"
V2 = "application/vnd.kafka.v2+json"


def start_broker(binary, data_dir):
    proc = subprocess.Popen(
        [binary, "serve", "--set", f"log.dirs={data_dir}", "--set", "listeners=http://127.0.0.1:0",
         "--set", f"num.partitions={PARTITIONS}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    proc_out = []
    port = None
    deadline = time.time() + 30
    while port is None and time.time() < deadline:
        line = proc.stdout.readline()
        proc_out.append(line)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        proc.kill()
        sys.exit("sluice did not start:\n" + "".join(proc_out))
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("sluice did not become ready")


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def produce(port, records, value_bytes):
    import base64
    value = base64.b64encode(b"x" * value_bytes).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port)
    per_request = 2000
    per_partition = records // PARTITIONS
    for p in range(PARTITIONS):
        left = per_partition
        while left > 0:
            n = min(per_request, left)
            body = json.dumps({"records": [{"value": value}] * n})
            request(conn, "POST", f"/topics/bench/partitions/{p}", body,
                    {"Content-Type": BINARY})
            left -= n
    return per_partition * PARTITIONS


def stateless_reader(port, partitions, counts, index):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    offsets = {p: 0 for p in partitions}
    ends = {}
    for p in partitions:
        ends[p] = json.loads(request(conn, "GET", f"/topics/bench/partitions/{p}/offsets"))[
            "end_offset"]
    got = 0
    while any(offsets[p] < ends[p] for p in partitions):
        for p in partitions:
            if offsets[p] >= ends[p]:
                continue
            conn.request("GET", f"/topics/bench/partitions/{p}/records?offset={offsets[p]}"
                         f"&timeout=0&max_bytes=1048576", headers={"Accept": BINARY})
            r = conn.getresponse()
            data = r.read()
            offsets[p] = int(r.getheader("X-Sluice-Next-Offset"))
            got += data.count(b'"offset":')
    counts[index] = got


class Progress:
    """Records received by all instances of a run, and when the last one arrived."""

    def __init__(self, total):
        self.total = total
        self.received = 0
        self.finished_at = None
        self.lock = threading.Lock()

    def add(self, n):
        with self.lock:
            self.received += n
            if self.received >= self.total and self.finished_at is None:
                self.finished_at = time.perf_counter()
            return self.received >= self.total


def group_reader(port, group, name, progress):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    base = f"/consumers/{group}/instances/{name}"
    while True:
        data = request(conn, "GET", base + "/records?timeout=200&max_bytes=1048576",
                       headers={"Accept": BINARY})
        if progress.add(data.count(b'"offset":')):
            break
    request(conn, "DELETE", base)


def stateless_run(port, n):
    """Records/s of n stateless readers, each owning PARTITIONS / n partitions."""
    counts = [0] * n
    per = PARTITIONS // n
    threads = [threading.Thread(target=stateless_reader,
                                args=(port, list(range(i * per, (i + 1) * per)), counts, i))
               for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def group_run(port, group, n, total):
    """Records/s of n fresh instances of `group` reading the whole topic from the start."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(n):
        request(conn, "POST", f"/consumers/{group}",
                json.dumps({"name": f"c{i}", "format": "binary", "auto.offset.reset": "earliest"}),
                {"Content-Type": V2})
        request(conn, "POST", f"/consumers/{group}/instances/c{i}/subscription",
                json.dumps({"topics": ["bench"]}), {"Content-Type": V2})
    progress = Progress(total)
    threads = [threading.Thread(target=group_reader, args=(port, group, f"c{i}", progress))
               for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return progress.received / (progress.finished_at - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default="build/release/sluice")
    ap.add_argument("--records", type=int, default=600000)
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="sluice-consumer-bench-")
    proc, port = start_broker(args.binary, data_dir)
    try:
        total = produce(port, args.records, args.value_bytes)
        print(f"| reader | records/s, median of {args.repeat} | runs |")
        print("|---|---|---|")
        for n in (1, 3):
            rates = sorted(stateless_run(port, n) for _ in range(args.repeat))
            print(f"| stateless x{n} | {rates[len(rates) // 2]:,.0f} | "
                  f"{', '.join(f'{r:,.0f}' for r in rates)} |")
        for n in (1, 3):
            rates = sorted(group_run(port, f"bench{n}-{i}", n, total) for i in range(args.repeat))
            print(f"| group x{n} | {rates[len(rates) // 2]:,.0f} | "
                  f"{', '.join(f'{r:,.0f}' for r in rates)} |")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
