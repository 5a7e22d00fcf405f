#!/usr/bin/env python3
"""The notifier's figures, driven from outside: a webhook receiver on loopback (HTTP/1.1,
keep-alive) and an injector that drops `action.proposed` events into the runtime root's
audit/ as the supervisor does, one at a time, timing each from the rename to the message's
arrival at the receiver (the observer logs it, the notifier reads the log, writes the outbox,
posts). Prints p50/p90/p99 in milliseconds.

usage: notifier_bench.py ROOT PORT N
"""
import http.server, json, os, socket, sys, threading, time

root, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
arrived = {}
cond = threading.Condition()


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.monotonic()
        try:
            click = json.loads(body).get("click") or ""
        except ValueError:
            click = ""
        with cond:
            arrived.setdefault(click.rsplit("/", 1)[-1], now)
            cond.notify_all()
        # One write for the whole answer: a head and a body in two small writes meet Nagle and
        # the delayed ACK, and the notifier's next request would wait 40 ms behind it.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        self.wfile.flush()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()  # the notifier is up

audit = os.path.join(root, "audit")
latencies = []
for index in range(-20, n):  # 20 warm-up events first
    ident = "bench%06d" % (index + 20)
    event = {"specversion": "1.0", "id": ident, "source": "supervisor", "type": "action.proposed", "subject": "action/" + ident,
             "data": {"actor": "supervisor", "action": "docker-start", "resource": "container/node%d/app" % index, "drift": "mismatch",
                      "preview": ["docker", "start", "app"]}}
    temporary = os.path.join(audit, "." + ident + ".tmp")
    with open(temporary, "w") as file:
        json.dump(event, file)
    start = time.monotonic()
    os.rename(temporary, os.path.join(audit, ident + ".json"))
    with cond:
        if not cond.wait_for(lambda: ident in arrived, timeout=10):
            sys.exit("no message for %s within 10 s" % ident)
        if index >= 0:
            latencies.append((arrived[ident] - start) * 1000)

latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print("n=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (len(latencies), pick(0.5), pick(0.9), pick(0.99), latencies[-1]), flush=True)
