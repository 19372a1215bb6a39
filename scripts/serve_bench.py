"""Measures `radial serve` against whole-process `radial predict` on the
synthetic cohort (loopback only, bounded, stops by itself):

1. overhead: one synchronous job (`Prefer: wait=60`) vs one whole-process
   `radial predict --image --mask`, on the same files, alternated, medians;
2. load: N jobs from C concurrent clients against a server with W workers:
   every job must succeed; throughput vs the same predictions run back to
   back (one process each), p50/p95 latency, the server's peak RSS.

Usage: serve_bench.py RADIAL MODEL CASES_DIR [--jobs 200] [--clients 8] [--workers 2]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("radial")
p.add_argument("model")
p.add_argument("cases")
p.add_argument("--jobs", type=int, default=200)
p.add_argument("--clients", type=int, default=8)
p.add_argument("--workers", type=int, default=2)
p.add_argument("--repeats", type=int, default=9)
args = p.parse_args()

manifest = open(os.path.join(args.cases, "manifest.csv")).read().splitlines()[1:]
cases = [(os.path.join(args.cases, l.split(",")[1]), os.path.join(args.cases, l.split(",")[2]))
         for l in manifest]


def form(image, mask):
    boundary = "radial-bench-3f9a"
    body = b""
    for name, path in (("image", image), ("mask", mask)):
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{os.path.basename(path)}\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        body += open(path, "rb").read() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def post_wait(url, image, mask):
    ctype, body = form(image, mask)
    req = urllib.request.Request(url + "/v1/jobs", data=body, method="POST",
                                 headers={"Content-Type": ctype, "Prefer": "wait=60"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def start(workers, data):
    server = subprocess.Popen(
        [args.radial, "serve", "--model", args.model, "--listen", "127.0.0.1:0",
         "--data", data, "--workers", str(workers), "--queue", "1024"],
        stderr=subprocess.PIPE, text=True)
    while True:
        line = server.stderr.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            return server, m.group(1)
        if server.poll() is not None:
            sys.exit("server did not start")


def predict(image, mask):
    out = subprocess.run([args.radial, "predict", args.model, "--image", image, "--mask", mask],
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[1].split(",")


with tempfile.TemporaryDirectory() as tmp:
    # 1. Overhead of one synchronous job against one whole process.
    server, url = start(1, os.path.join(tmp, "d1"))
    try:
        image, mask = cases[0]
        post_wait(url, image, mask)  # warm the page cache and the server
        t_http, t_cli = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            job = post_wait(url, image, mask)
            t_http.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            row = predict(image, mask)
            t_cli.append(time.perf_counter() - t0)
            assert float(row[2]) == job["result"]["prediction"]["probability"]
        m_http, m_cli = statistics.median(t_http), statistics.median(t_cli)
        print(f"overhead: synchronous job median {m_http * 1000:.0f} ms, radial predict "
              f"median {m_cli * 1000:.0f} ms, ratio {m_http / m_cli:.2f} "
              f"({args.repeats} alternated runs)")
    finally:
        server.kill()
        server.wait()

    # 2. Load: back to back first, then the same jobs through the server.
    work = [cases[i % len(cases)] for i in range(args.jobs)]
    t0 = time.perf_counter()
    expected = {}
    for image, mask in cases:
        expected[image] = float(predict(image, mask)[2])
    per_case = (time.perf_counter() - t0) / len(cases)
    sequential = per_case * args.jobs
    print(f"back to back: {per_case * 1000:.0f} ms per prediction (one process each), "
          f"{args.jobs} jobs ~ {sequential:.1f} s")
    server, url = start(args.workers, os.path.join(tmp, "d2"))
    latencies, failures, lock = [], [], threading.Lock()
    peak = [0]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(server.pid))
            time.sleep(0.05)

    def client(items):
        for image, mask in items:
            t = time.perf_counter()
            try:
                job = post_wait(url, image, mask)
                ok = (job["status"] == "succeeded"
                      and job["result"]["prediction"]["probability"] == expected[image])
            except Exception as e:  # noqa: BLE001 - every failure is counted
                ok, job = False, str(e)
            with lock:
                latencies.append(time.perf_counter() - t)
                if not ok:
                    failures.append(job)

    try:
        threading.Thread(target=watch, daemon=True).start()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(work[c::args.clients],))
                   for c in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        stop.set()
        peak[0] = max(peak[0], rss_kb(server.pid))
    finally:
        server.kill()
        server.wait()
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"load: {args.jobs} jobs, {args.clients} clients, {args.workers} workers: "
          f"{len(failures)} failed, wall {wall:.1f} s, {args.jobs / wall:.2f} jobs/s "
          f"({sequential / wall * 100:.0f}% of back to back), p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, server peak RSS {peak[0] / 1024:.0f} MB")
    if failures:
        print("failures:", failures[:3])
        sys.exit(1)
