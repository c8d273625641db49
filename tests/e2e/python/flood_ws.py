"""Hostile WebSocket clients, for measuring the gateway by hand.

N connections each send `{}` text frames as fast as the socket takes them
and never read; a connection the server closes is opened again at once.
Every few seconds it prints the gateway's RSS (from /proc, so run it on the
gateway's machine). Only the standard library; loopback only.

    python3 tests/e2e/python/flood_ws.py --url ws://127.0.0.1:8090/api/swim/v1/ws?api_key=KEY \
        --pid $(pgrep -f 'swim demo') --connections 5 --seconds 60
"""

import argparse
import base64
import os
import socket
import struct
import threading
import time
from urllib.parse import urlparse


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


def frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def connect(url):
    u = urlparse(url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {u.hostname}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    return sock


def flood(url, until, stats):
    burst = frame(b"{}") * 256
    while time.time() < until:
        try:
            sock = connect(url)
        except OSError:
            time.sleep(0.02)  # the key's slots are still being released
            continue
        stats["connections"] += 1
        try:
            while time.time() < until:
                sock.sendall(burst)
                stats["frames"] += 256
        except OSError:
            stats["closed_by_server"] += 1
        finally:
            sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--connections", type=int, default=5)
    p.add_argument("--seconds", type=int, default=60)
    a = p.parse_args()
    stats = {"connections": 0, "frames": 0, "closed_by_server": 0}
    before = rss_mb(a.pid)
    print(f"RSS before: {before} MB")
    until = time.time() + a.seconds
    threads = [threading.Thread(target=flood, args=(a.url, until, stats)) for _ in range(a.connections)]
    for t in threads:
        t.start()
    peak = before
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        now = rss_mb(a.pid)
        peak = max(peak, now)
        print(f"  during: {now} MB, {stats['connections']} connections, {stats['frames']} frames sent, "
              f"{stats['closed_by_server']} closed by the server")
    time.sleep(5)
    after = rss_mb(a.pid)
    print(f"RSS before {before} MB, peak during {peak} MB, 5 s after {after} MB; "
          f"{stats['connections']} connections, {stats['frames']} frames")


if __name__ == "__main__":
    main()
