#!/usr/bin/env python3
"""Webhook delivery under load (docs/BENCHMARKS.md, webhooks).

Starts `swim demo` (speed 1, so an event's timestamp is the wall-clock time
of its snapshot), registers N webhooks at a local receiver, one of them at
an address nothing listens on (down) and one at an endpoint that answers
after 5 s (slow), runs for a while, and prints: POSTs taken, the latency
from an event's snapshot to its arrival at the healthy endpoints (p50, p99,
max), the gateway's RSS before and after, the webhook counters of
/metrics, and the database's size.

    python3 scripts/webhook_load.py --swim target/release/swim \
        --webhooks 1000 --flights 2000 --seconds 180
"""

import argparse
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

LATENCIES = []  # seconds, one per event received by a healthy endpoint
ARRIVALS = {}  # seq: (first, last) arrival at a healthy endpoint
TAKEN = {"ok": 0, "slow": 0}
LOCK = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        slow = self.path.startswith("/slow")
        if slow:
            time.sleep(5)
        with LOCK:
            TAKEN["slow" if slow else "ok"] += 1
            if not slow:
                for event in json.loads(body)["events"]:
                    stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
                    LATENCIES.append(arrived - stamp.timestamp())
                    first, last = ARRIVALS.get(event["seq"], (arrived, arrived))
                    ARRIVALS[event["seq"]] = (min(first, arrived), max(last, arrived))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def call(url, key, body=None):
    request = urllib.request.Request(url, data=body, headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read().decode()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--swim", default="target/release/swim")
    args.add_argument("--webhooks", type=int, default=1000)
    args.add_argument("--flights", type=int, default=2000)
    args.add_argument("--seconds", type=int, default=180)
    opts = args.parse_args()

    # A listen backlog for a thousand webhooks posting at once (the
    # default, 5, refuses connections: failures that are the receiver's).
    http.server.ThreadingHTTPServer.request_queue_size = 4096
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_port = receiver.server_address[1]
    data = tempfile.mkdtemp(prefix="swim-webhook-load-")
    port = free_port()
    gateway = subprocess.Popen(
        [opts.swim, "demo", "--flights", str(opts.flights), "--port", str(port), "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        key = None
        for line in gateway.stdout:
            if line.startswith("system key: "):
                key = line.split()[-1]
                break
        base = f"http://127.0.0.1:{port}/api/swim/v1"
        while True:  # /health answers 503 while the sources start
            try:
                if json.loads(call(f"{base}/health", key))["data"]["status"] != "starting":
                    break
            except urllib.error.HTTPError:
                pass
            time.sleep(0.5)
        before = rss_mb(gateway.pid)
        threads_before = len(os.listdir(f"/proc/{gateway.pid}/task"))
        down = f"http://127.0.0.1:{free_port()}/down"
        for n in range(opts.webhooks):
            url = down if n == 0 else f"http://127.0.0.1:{hook_port}/{'slow' if n == 1 else 'ok'}/{n}"
            body = json.dumps({"source_id": f"load{n}", "callback_url": url,
                               "shared_secret": "load-test-secret-0123", "event_types": "*"})
            call(f"{base}/webhooks", key, body.encode())
        registered = time.time()
        print(f"{opts.webhooks} webhooks registered; running {opts.seconds} s", flush=True)
        time.sleep(opts.seconds)
        after = rss_mb(gateway.pid)
        metrics = call(f"{base}/metrics", key)
        hooks = [l for l in metrics.splitlines() if l.startswith("swim_webhook")]
        with LOCK:
            lat = list(LATENCIES)
            spread = [last - first for first, last in ARRIVALS.values()]
            taken = dict(TAKEN)
        db = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.startswith("swim.db"))
        print(f"POSTs taken: {taken['ok']} by {opts.webhooks - 2} healthy endpoints, "
              f"{taken['slow']} by the slow one, in {time.time() - registered:.0f} s")
        print(f"snapshot-to-arrival latency over {len(lat)} events: p50 {percentile(lat, .5) * 1000:.0f} ms, "
              f"p99 {percentile(lat, .99) * 1000:.0f} ms, max {max(lat, default=0) * 1000:.0f} ms "
              f"(the simulator stamps a snapshot up to a second ahead of the wall clock)")
        print(f"first to last healthy endpoint, per event ({len(spread)} events): "
              f"p50 {percentile(spread, .5) * 1000:.0f} ms, p99 {percentile(spread, .99) * 1000:.0f} ms, "
              f"max {max(spread, default=0) * 1000:.0f} ms")
        threads = len(os.listdir(f"/proc/{gateway.pid}/task"))
        print(f"gateway RSS {before:.0f} MB before the webhooks, {after:.0f} MB after; "
              f"threads {threads_before} before, {threads} after; "
              f"database {db / 1e6:.1f} MB")
        print("\n".join(hooks))
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        receiver.shutdown()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
