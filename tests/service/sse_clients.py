#!/usr/bin/env python3
"""SSE clients of `databuild serve` for tests/service/sse_load.sh (python3 only).

  sse_clients.py many URL TOKEN N AFTER STATUS
      N concurrent clients of /api/events?after=AFTER, kept open until
      killed. STATUS is rewritten (atomically) every 50 ms with lines
        connected C   clients whose stream has started (got "retry:")
        closed X      clients whose connection failed or ended
        min_last S    the lowest last id over all N clients (0 until each has one)
        disorder D    ids that were not above the one before on their stream
        latency_ms P50 MAX K   delivery latency (receipt minus the event's
                      time_us) of the K events committed after the clients
                      started, over all streams

  sse_clients.py slow URL TOKEN AFTER GO OUT
      one client of /api/events?after=AFTER with a 4 KiB receive buffer
      that reads nothing until the file GO exists, then reads on and
      appends each id to OUT, one a line, until killed.

Requests are HTTP/1.0, so the body is the SSE text as is (no chunks).
"""
import asyncio
import os
import resource
import socket
import sys
import time
from urllib.parse import urlsplit


def request(url, token, after):
    u = urlsplit(url)
    req = (f"GET /api/events?after={after} HTTP/1.0\r\n"
           f"Host: {u.netloc}\r\n"
           f"Authorization: Bearer {token}\r\n"
           "Accept: text/event-stream\r\n\r\n")
    return u.hostname, u.port, req.encode()


class Stream:
    """The SSE lines of one response, fed bytes as they come."""

    def __init__(self, since_us=None, latencies=None):
        self.since_us = since_us      # events after it count into latencies
        self.latencies = latencies
        self.buf = b""
        self.head = True    # still in the HTTP header
        self.started = False
        self.last = None
        self.disorder = 0

    def feed(self, data):
        """Returns the ids completed by data."""
        self.buf += data
        if self.head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return []
            status = self.buf.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                raise RuntimeError(f"status line: {status!r}")
            self.buf = self.buf[end + 4:]
            self.head = False
        cut = self.buf.rfind(b"\n")
        if cut < 0:
            return []
        lines, self.buf = self.buf[:cut].split(b"\n"), self.buf[cut + 1:]
        ids = []
        for line in lines:
            if line.startswith(b"retry:"):
                self.started = True
            elif line.startswith(b"id: "):
                seq = int(line[4:])
                if self.last is not None and seq <= self.last:
                    self.disorder += 1
                self.last = seq
                ids.append(seq)
            elif line.startswith(b"data: ") and self.latencies is not None:
                at = line.find(b'"time_us":')
                if at >= 0:
                    end = line.find(b",", at)
                    t = int(line[at + 10:end])
                    if t > self.since_us:
                        self.latencies.append(time.time() * 1e6 - t)
        return ids


async def one(host, port, req, st, counts):
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(req)
        await writer.drain()
        was = False
        while True:
            data = await reader.read(65536)
            if not data:
                break
            st.feed(data)
            if st.started and not was:
                counts["connected"] += 1
                was = True
    except (OSError, RuntimeError) as e:
        counts["errors"].append(str(e))
    counts["closed"] += 1


def write_status(path, streams, counts):
    lasts = [s.last for s in streams]
    min_last = 0 if any(x is None for x in lasts) else min(lasts)
    text = (f"connected {counts['connected']}\nclosed {counts['closed']}\n"
            f"min_last {min_last}\ndisorder {sum(s.disorder for s in streams)}\n")
    lat = sorted(counts["latencies"])
    if lat:
        text += (f"latency_ms {lat[len(lat) // 2] / 1000:.1f} {lat[-1] / 1000:.1f} "
                 f"{len(lat)}\n")
    for e in counts["errors"][:5]:
        text += f"error {e}\n"
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def many(url, token, n, after, status):
    host, port, req = request(url, token, after)
    counts = {"connected": 0, "closed": 0, "errors": [], "latencies": []}
    streams = [Stream(time.time() * 1e6, counts["latencies"]) for _ in range(n)]
    tasks = [asyncio.create_task(one(host, port, req, s, counts)) for s in streams]
    while tasks:  # until killed
        write_status(status, streams, counts)
        await asyncio.sleep(0.05)


def slow(url, token, after, go, out):
    host, port, req = request(url, token, after)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.sendall(req)
    while not os.path.exists(go):
        time.sleep(0.02)
    st = Stream()
    with open(out, "a") as f:
        while True:
            data = s.recv(65536)
            if not data:
                break
            for seq in st.feed(data):
                f.write(f"{seq}\n")
            f.flush()


def main(argv):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if len(argv) == 7 and argv[1] == "many":
        asyncio.run(many(argv[2], argv[3], int(argv[4]), int(argv[5]), argv[6]))
    elif len(argv) == 7 and argv[1] == "slow":
        slow(argv[2], argv[3], int(argv[4]), argv[5], argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
