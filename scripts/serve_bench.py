"""Measures `radial serve` against whole-process `radial predict` on the
synthetic cohort (loopback only, bounded, stops by itself):

1. overhead: one synchronous job (`Prefer: wait=60`) vs one whole-process
   `radial predict --image --mask`, on the same files, alternated, medians;
2. load: N jobs from C concurrent clients against a server with W workers:
   every job must succeed; throughput vs the same N predictions run back to
   back in one process (`radial predict --manifest`), p50/p95 latency, the
   server's peak RSS;
3. big uploads: C clients each upload a ~50 MB uncompressed NIfTI at once
   (no wait) to a server with one worker; the server's peak RSS while they
   are received, checked and queued, and every job must succeed.

Usage: serve_bench.py RADIAL MODEL CASES_DIR [--jobs 200] [--clients 8] [--workers 2]
"""
import argparse
import json
import os
import re
import statistics
import struct
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


def post(url, image, mask, wait=True):
    ctype, body = form(image, mask)
    headers = {"Content-Type": ctype}
    if wait:
        headers["Prefer"] = "wait=60"
    req = urllib.request.Request(url + "/v1/jobs", data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def post_wait(url, image, mask):
    return post(url, image, mask, wait=True)


def get(url, path):
    with urllib.request.urlopen(url + path, timeout=60) as r:
        return json.load(r)


def write_nifti_i16(path, dims, spacing, value_at):
    """An uncompressed NIfTI-1 int16 volume, x fastest, identity orientation."""
    nx, ny, nz = dims
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 4, 16)  # datatype int16, bitpix
    struct.pack_into("<8f", hdr, 76, 1.0, *spacing, 1, 1, 1, 1)
    struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
    struct.pack_into("<ff", hdr, 112, 1.0, 0.0)  # scl_slope, scl_inter
    struct.pack_into("<B", hdr, 123, 2)  # xyzt_units: mm
    struct.pack_into("<hh", hdr, 252, 0, 1)  # qform_code 0, sform_code 1
    struct.pack_into("<4f", hdr, 280, spacing[0], 0, 0, 0)
    struct.pack_into("<4f", hdr, 296, 0, spacing[1], 0, 0)
    struct.pack_into("<4f", hdr, 312, 0, 0, spacing[2], 0)
    hdr[344:348] = b"n+1\0"
    with open(path, "wb") as f:
        f.write(hdr + b"\0\0\0\0")
        for z in range(nz):
            f.write(value_at(z))


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
    expected = {image: float(predict(image, mask)[2]) for image, mask in cases}
    batch = os.path.join(tmp, "batch.csv")
    with open(batch, "w") as f:
        f.write("case_id,image,mask\n")
        for i, (image, mask) in enumerate(work):
            f.write(f"job_{i:04d},{os.path.abspath(image)},{os.path.abspath(mask)}\n")
    t0 = time.perf_counter()
    out = subprocess.run([args.radial, "predict", args.model, "--manifest", batch],
                         capture_output=True, text=True, check=True)
    sequential = time.perf_counter() - t0
    rows = out.stdout.splitlines()[1:]
    assert [float(r.split(",")[2]) for r in rows] == [expected[i] for i, _ in work]
    print(f"back to back in one process (radial predict --manifest): {args.jobs} "
          f"predictions in {sequential:.1f} s ({sequential / args.jobs * 1000:.0f} ms each)")
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
          f"({sequential / wall * 100:.0f}% of back-to-back throughput), p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, server peak RSS {peak[0] / 1024:.0f} MB")
    if failures:
        print("failures:", failures[:3])
        sys.exit(1)

    # 3. Big uploads queued at once.
    dims, spacing = (512, 512, 100), (0.8, 0.8, 2.5)
    big_image, big_mask = os.path.join(tmp, "big.nii"), os.path.join(tmp, "big_mask.nii")
    plane = struct.pack("<h", 40) * (dims[0] * dims[1])
    write_nifti_i16(big_image, dims, spacing, lambda z: plane)
    lesion = bytearray(dims[0] * dims[1] * 2)
    for y in range(240, 272):
        for x in range(240, 272):
            struct.pack_into("<h", lesion, 2 * (y * dims[0] + x), 1)
    zero = bytes(dims[0] * dims[1] * 2)
    write_nifti_i16(big_mask, dims, spacing, lambda z: bytes(lesion) if 45 <= z < 55 else zero)
    size_mb = os.path.getsize(big_image) / 1e6
    server, url = start(1, os.path.join(tmp, "d3"))
    peak, stop = [0], threading.Event()
    accepted, errors = [], []

    def upload():
        try:
            job = post(url, big_image, big_mask, wait=False)
            with lock:
                accepted.append(job["id"])
        except Exception as e:  # noqa: BLE001 - every failure is counted
            with lock:
                errors.append(str(e))

    try:
        threading.Thread(target=watch, daemon=True).start()
        threads = [threading.Thread(target=upload) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = []
        while time.perf_counter() - t0 < 600:
            statuses = [get(url, f"/v1/jobs/{i}")["status"] for i in accepted]
            if all(s in ("succeeded", "failed", "cancelled") for s in statuses):
                break
            time.sleep(0.5)
        stop.set()
        peak[0] = max(peak[0], rss_kb(server.pid))
    finally:
        server.kill()
        server.wait()
    print(f"big uploads: {args.clients} x {size_mb:.0f} MB NIfTI at once, 1 worker: "
          f"{statuses.count('succeeded')}/{len(accepted)} succeeded, {len(errors)} refused, "
          f"{time.perf_counter() - t0:.1f} s, server peak RSS {peak[0] / 1024:.0f} MB")
    if errors or statuses.count("succeeded") != args.clients:
        print("errors:", errors[:3], statuses)
        sys.exit(1)
