#!/usr/bin/env python
"""Ingestion throughput of a live ``cxm serve``: concurrent Segment batches to ``/v1/batch``.

    .venv/bin/python bench/ingest.py                       # SQLite in a temp workspace, 20 s
    .venv/bin/python bench/ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/ingest.py --url http://127.0.0.1:8000 --write-key wk_… -w ./cxm-data

By default it creates a temporary workspace and a source, starts
``python -m cxm serve --no-worker`` on a free port, drives it, and stops it. Every request is
built (and gzipped, with ``--gzip``) before the clock starts, and the client writes those bytes on
keep-alive HTTP/1.1 connections and reads the answers with plain asyncio streams, so nearly all
the CPU stays with the server. A 429 is waited out (Retry-After) and the same batch sent again.

After the load the store is read back: every acknowledged event must be stored. The figures end
the output as ``BENCH ingest.<name>=<value>`` lines; ``lost_events`` must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from sqlalchemy import func, select

import cxm
from cxm.ingest import do_create_source
from cxm.ingest.sources import SourceRegistry
from cxm.ingest.tables import events as events_table

TARGET_EVENTS_PER_S = 25_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
REQUEST_TIMEOUT_S = 30.0
# Messages of one run share a random prefix, so they never collide with stored ones and the
# read-back can pick out exactly this run's events.
MID_PLACEHOLDER = "@@MESSAGE-ID@@"
TEMPLATES = 4096


# --- the events ------------------------------------------------------------------------------

_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
)
_PAGES = (
    ("/", "Home"),
    ("/offers/fibre-1000", "Fibre 1000 Mb/s"),
    ("/offers/mobile-unlimited", "Mobile Unlimited"),
    ("/help/invoices", "Help: invoices"),
    ("/account/billing", "Billing"),
    ("/cart", "Cart"),
)
_PRODUCTS = (
    ("fibre-1000", "Fibre 1000", "internet", 89.99),
    ("mobile-unl", "Mobile Unlimited", "mobile", 59.0),
    ("tv-premium", "TV Premium", "tv", 39.5),
    ("router-ax", "Router AX3000", "hardware", 349.0),
)
_FIRST = ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Jan", "Ewa", "Marek")
_LAST = ("Kowalska", "Nowak", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski")


def _event_template(rng: random.Random, now: datetime) -> dict[str, object]:
    """One realistic Segment event (track, identify or page) with the messageId left open."""
    kind = rng.choices(("track", "page", "identify"), weights=(6, 3, 1))[0]
    path, title = rng.choice(_PAGES)
    context: dict[str, object]
    if kind == "page" or rng.random() < 0.5:
        # From a browser (analytics.js): the page and the device come along.
        context = {
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
            "ip": f"83.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "locale": rng.choice(("pl-PL", "en-GB")),
            "userAgent": rng.choice(_USER_AGENTS),
            "page": {"path": path, "referrer": "https://www.google.com/"},
        }
    else:
        # From a back end (analytics-python): little context.
        context = {"library": {"name": "analytics-python", "version": "2.3.3"}}
    customer = rng.randrange(1, 50_000)
    event: dict[str, object] = {
        "type": kind,
        "messageId": MID_PLACEHOLDER,
        "anonymousId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": (now - timedelta(seconds=rng.uniform(0, 6 * 3600))).isoformat(
            timespec="milliseconds"
        ),
        "context": context,
    }
    if kind == "identify" or rng.random() < 0.6:
        event["userId"] = f"cust-{customer:06d}"
    if kind == "track":
        sku, name, category, price = rng.choice(_PRODUCTS)
        event["event"] = rng.choice(("Product Viewed", "Product Added", "Checkout Started"))
        event["properties"] = {
            "product_id": sku,
            "name": name,
            "category": category,
            "price": price,
            "currency": "PLN",
            "quantity": rng.randrange(1, 3),
        }
    elif kind == "page":
        event["name"] = title
        event["properties"] = {"path": path, "url": f"https://www.example.pl{path}", "title": title}
    else:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        event["traits"] = {
            "email": f"{first}.{last}.{customer}@example.pl".lower(),
            "firstName": first,
            "lastName": last,
            "phone": f"+48 6{rng.randrange(10**7, 10**8)}",
            "plan": rng.choice(("fibre-1000", "mobile-unl", "bundle")),
        }
    return event


@dataclass
class Body:
    """One pre-built request and the range of message numbers its events carry."""

    request: bytes
    first: int
    events: int


@dataclass
class Pool:
    prefix: str
    bodies: list[Body]
    event_bytes: list[int]


def build_pool(
    *,
    events: int,
    first_number: int,
    prefix: str,
    min_batch: int,
    max_batch: int,
    host: str,
    write_key: str,
    use_gzip: bool,
    seed: int,
) -> Pool:
    """All request bodies for ``events`` events, ready to write to a socket."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    templates = []
    for _ in range(TEMPLATES):
        encoded = orjson.dumps(_event_template(rng, now))
        head, _, tail = encoded.partition(MID_PLACEHOLDER.encode())
        templates.append((head, tail))
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    header = (
        f"POST /v1/batch HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
        "Content-Type: application/json\r\nUser-Agent: cxm-bench/1\r\n"
        + ("Content-Encoding: gzip\r\n" if use_gzip else "")
    ).encode()
    sent_at = now.isoformat().encode()
    bodies: list[Body] = []
    sizes: list[int] = []
    number = first_number
    left = events
    while left > 0:
        size = min(left, rng.randint(min_batch, max_batch))
        parts = []
        for n in range(number, number + size):
            head, tail = templates[rng.randrange(TEMPLATES)]
            part = head + f"{prefix}-{n:09d}".encode() + tail
            parts.append(part)
        sizes.extend(len(p) for p in parts[:4])
        payload = b'{"batch":[' + b",".join(parts) + b'],"sentAt":"' + sent_at + b'"}'
        if use_gzip:
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
        request = header + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
        bodies.append(Body(request, number, size))
        number += size
        left -= size
    return Pool(prefix, bodies, sizes)


def message_ids(prefix: str, bodies: list[Body]) -> Iterator[str]:
    for body in bodies:
        for n in range(body.first, body.first + body.events):
            yield f"{prefix}-{n:09d}"


# --- the client ------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    requests_429: int = 0
    acknowledged: int = 0
    rejected: int = 0
    acked_bodies: list[Body] = field(default_factory=list)
    first_error: str | None = None


class Response:
    __slots__ = ("status", "body", "close", "retry_after")

    def __init__(self, status: int, body: bytes, close: bool, retry_after: float) -> None:
        self.status = status
        self.body = body
        self.close = close
        self.retry_after = retry_after


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = close = False
    retry_after = 1.0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"retry-after" and value.strip().isdigit():
            retry_after = float(value)
    if not chunked:
        return Response(status, await reader.readexactly(length), close, retry_after)
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunks.append(await reader.readexactly(size + 2))
        if size == 0:
            break
    return Response(status, b"".join(c[:-2] for c in chunks), close, retry_after)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
            )
        assert self.reader is not None
        self.writer.write(request)
        await self.writer.drain()
        response = await asyncio.wait_for(read_response(self.reader), REQUEST_TIMEOUT_S)
        if response.close:
            self.close()
        return response

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_phase(
    connections: list[Connection], bodies: list[Body], *, deadline: float, stats: Stats
) -> float:
    """Send ``bodies`` over ``connections`` until they are all sent or ``deadline`` passes.

    Returns the wall time from the first write to the last answer.
    """
    queue = iter(bodies)

    async def drive(conn: Connection) -> None:
        for body in queue:
            if time.monotonic() >= deadline:
                return
            while True:
                started = time.perf_counter_ns()
                try:
                    response = await conn.exchange(body.request)
                except (OSError, EOFError, ValueError, TimeoutError, IndexError) as exc:
                    # The outcome of this batch is unknown: it is neither acknowledged nor sent
                    # again (its events, if stored, only make `stored` exceed `acknowledged`).
                    stats.errors += 1
                    stats.first_error = stats.first_error or repr(exc)
                    conn.close()
                    break
                stats.latencies_ns.append(time.perf_counter_ns() - started)
                stats.statuses[response.status] += 1
                if response.status == 429:
                    stats.requests_429 += 1
                    wait = min(response.retry_after, deadline - time.monotonic())
                    if wait <= 0:
                        return
                    await asyncio.sleep(wait)
                    continue
                if response.status == 200:
                    answer = orjson.loads(response.body)
                    stats.acknowledged += answer["accepted"]
                    stats.rejected += len(answer["rejected"])
                    stats.acked_bodies.append(body)
                else:
                    stats.errors += 1
                    stats.first_error = stats.first_error or (
                        f"HTTP {response.status}: {response.body[:300]!r}"
                    )
                break

    started = time.perf_counter()
    await asyncio.gather(*(drive(conn) for conn in connections))
    return time.perf_counter() - started


# --- CPU accounting --------------------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def start_profiler(
    args: argparse.Namespace, server: subprocess.Popen[bytes] | None, *, seconds: float
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server (without pausing it) for the measured load, if asked."""
    if args.profile is None:
        return None
    if server is None:
        raise SystemExit("--profile needs the server this bench starts (not --url)")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    suffix = args.profile.suffix.lower()
    fmt = {".svg": "flamegraph", ".json": "speedscope"}.get(suffix, "raw")
    command = [py_spy, "record", "--pid", str(server.pid), "--nonblocking", "--threads"]
    command += ["--rate", "200", "--duration", str(max(1, round(seconds)))]
    command += ["--format", fmt, "--output", str(args.profile)]
    if args.profile_gil:
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_profiler(profiler: subprocess.Popen[bytes]) -> None:
    try:
        _, err = profiler.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        _, err = profiler.communicate(timeout=30)
    if profiler.returncode:
        print(f"py-spy failed ({profiler.returncode}): {err.decode(errors='replace')[-500:]}")


# --- the server and the store ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(
    base_url: str, *, server: subprocess.Popen[bytes] | None, timeout: float
) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(f"{base_url}/api/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{base_url}/api/health did not answer within {timeout} s")
        time.sleep(0.1)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def count_stored(ws: cxm.Workspace, source_id: int) -> int:
    with ws.engine.connect() as conn:
        query = select(func.count()).where(events_table.c.source_id == source_id)
        return int(conn.execute(query).scalar_one())


def stored_ids(ws: cxm.Workspace, source_id: int, prefix: str) -> set[str]:
    query = select(events_table.c.message_id).where(
        events_table.c.source_id == source_id,
        events_table.c.message_id.like(f"{prefix}-%"),
    )
    with ws.engine.connect() as conn:
        return set(conn.execute(query).scalars())


# --- the run ---------------------------------------------------------------------------------


def percentile(sorted_values: list[int], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index] / 1e6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="store URL (default: SQLite in the workspace)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--events", type=int, help="send this many events instead of --duration")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--min-batch", type=int, default=10)
    parser.add_argument("--max-batch", type=int, default=100)
    parser.add_argument("--gzip", action="store_true", help="gzip the bodies")
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="run the profile projector beside the server, as `cxm serve` does by default",
    )
    parser.add_argument("--url", help="an already running server (127.0.0.1 only)")
    parser.add_argument("--write-key", help="write key of a source on --url's server")
    parser.add_argument(
        "--workspace", "-w", type=Path, help="workspace of --url's server (to read the store)"
    )
    parser.add_argument(
        "--max-rate",
        type=int,
        default=50_000,
        help="events/s the pre-built pool allows in --duration mode (it ends early beyond)",
    )
    parser.add_argument("--warmup", type=int, default=4, help="warm-up requests per connection")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample the server with py-spy during the measured load into this file "
        "(.svg: flame graph, .json: speedscope, else collapsed stacks)",
    )
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: only threads holding the GIL"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.min_batch <= args.max_batch:
        parser.error("need 1 <= --min-batch <= --max-batch")
    if args.url:
        if not args.write_key:
            parser.error("--url needs --write-key")
        if urlsplit(args.url).hostname not in LOCAL_HOSTS:
            parser.error("--url must point at 127.0.0.1: this bench only loads local servers")
        if not (args.workspace or args.database_url):
            parser.error("--url needs --workspace or --database-url to read the stored events")
    elif args.write_key:
        parser.error("--write-key is for --url; without --url the bench creates its own source")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cxm-bench-"))
    overrides = {"database_url": args.database_url} if args.database_url else {}
    server: subprocess.Popen[bytes] | None = None
    log_path = workdir / "server.log"
    try:
        if args.url:
            ws = cxm.open(args.workspace or workdir, migrate=False, **overrides)
            base_url = args.url.rstrip("/")
            write_key = args.write_key
            source = SourceRegistry(ws.engine).lookup(write_key)
            if source is None:
                print(f"error: the write key {write_key[:6]}… matches no active source")
                return 2
            store_name = ws.engine.url.render_as_string()
        else:
            ws = cxm.open(workdir, **overrides)
            ws.initialise()
            with ws.session() as session:
                # A name of its own: --database-url may point at a store used before.
                name = f"bench-{random.Random().getrandbits(32):08x}"
                source, write_key = do_create_source(
                    session, actor="bench", name=name, channel="web"
                )
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "CXM_WORKSPACE": str(workdir)}
            if args.database_url:
                env["CXM_DATABASE_URL"] = args.database_url
            with log_path.open("wb") as log:
                server = subprocess.Popen(
                    [sys.executable, "-m", "cxm", "serve", "--host", "127.0.0.1"]
                    + ["--port", str(port)]
                    + ([] if args.with_worker else ["--no-worker"]),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            store_name = "PostgreSQL" if args.database_url else f"SQLite in {workdir}"
        try:
            return _bench(args, ws, source.id, write_key, base_url, server, store_name)
        finally:
            if server is not None:
                stop_server(server)
            ws.close()
    except Exception:
        if log_path.exists():
            print("--- server log (tail) ---")
            print(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(
    args: argparse.Namespace,
    ws: cxm.Workspace,
    source_id: int,
    write_key: str,
    base_url: str,
    server: subprocess.Popen[bytes] | None,
    store_name: str,
) -> int:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    before = count_stored(ws, source_id)

    prefix = f"bench-{random.Random().getrandbits(48):012x}"
    mean_batch = (args.min_batch + args.max_batch) / 2
    warmup_events = int(args.warmup * args.connections * mean_batch)
    load_events = args.events or int(args.duration * args.max_rate)
    built = time.perf_counter()
    common = dict(
        prefix=prefix,
        min_batch=args.min_batch,
        max_batch=args.max_batch,
        host=f"{host}:{port}",
        write_key=write_key,
        use_gzip=args.gzip,
    )
    warmup = build_pool(events=warmup_events, first_number=0, seed=args.seed + 1, **common)
    pool = build_pool(events=load_events, first_number=warmup_events, seed=args.seed, **common)
    built = time.perf_counter() - built
    bodies = pool.bodies
    body_bytes = sum(len(b.request) for b in bodies)
    mean_event = sum(pool.event_bytes) / max(1, len(pool.event_bytes))
    print(
        f"built {len(bodies):,} requests ({load_events:,} events, {body_bytes / 2**20:.0f} MiB, "
        f"events {min(pool.event_bytes)}–{max(pool.event_bytes)} bytes, mean {mean_event:.0f}) "
        f"in {built:.1f} s"
    )

    if server is not None:
        wait_for_health(base_url, server=server, timeout=60)
    warm_stats, stats = Stats(), Stats()
    hard_stop = args.duration if not args.events else 600.0

    async def load() -> tuple[float, float, float, float, float]:
        connections = [Connection(host, port) for _ in range(args.connections)]
        await run_phase(
            connections, warmup.bodies, deadline=time.monotonic() + 60, stats=warm_stats
        )
        profiler = start_profiler(args, server, seconds=hard_stop)
        cpu_server = process_cpu_s(server.pid) if server is not None else 0.0
        cpu_client = time.process_time()
        busy, total = machine_cpu_s()
        elapsed = await run_phase(
            connections, bodies, deadline=time.monotonic() + hard_stop, stats=stats
        )
        busy_after, total_after = machine_cpu_s()
        if profiler is not None:
            finish_profiler(profiler)
        for conn in connections:
            conn.close()
        return (
            elapsed,
            (process_cpu_s(server.pid) - cpu_server) if server is not None else float("nan"),
            time.process_time() - cpu_client,
            busy_after - busy,
            total_after - total,
        )

    try:
        import uvloop
    except ImportError:
        elapsed, cpu_server, cpu_client, cpu_busy, cpu_total = asyncio.run(load())
        loop_name = "asyncio"
    else:
        elapsed, cpu_server, cpu_client, cpu_busy, cpu_total = uvloop.run(load())
        loop_name = "uvloop"

    if server is not None:
        # Stopping drains the writer: any event still queued is committed or failed by now.
        stop_server(server)
    after = count_stored(ws, source_id)
    stored = after - before
    acked_bodies = warm_stats.acked_bodies + stats.acked_bodies
    acknowledged = warm_stats.acknowledged + stats.acknowledged
    present = stored_ids(ws, source_id, prefix)
    missing = sum(1 for mid in message_ids(prefix, acked_bodies) if mid not in present)

    latencies = sorted(stats.latencies_ns)
    p50, p90, p99 = (percentile(latencies, q) for q in (0.50, 0.90, 0.99))
    rate = stats.acknowledged / elapsed if elapsed > 0 else 0.0
    errors = warm_stats.errors + stats.errors
    sent_all = sum(b.events for b in stats.acked_bodies) >= load_events
    print(
        f"cxm ingest bench: {store_name}, server {base_url}"
        + (f" (pid {server.pid})" if server is not None else "")
        + f", client on {loop_name}"
    )
    print(
        f"load: {args.connections} connections, batches of {args.min_batch}–{args.max_batch} "
        f"events, gzip {'on' if args.gzip else 'off'}, {elapsed:.1f} s measured after "
        f"{sum(warm_stats.statuses.values())} warm-up requests"
    )
    if not args.events and sent_all:
        print(f"note: the pre-built pool ran out before {args.duration} s; raise --max-rate")
    print(
        f"requests: {sum(stats.statuses.values()):,} answered "
        f"({', '.join(f'{k}: {v:,}' for k, v in sorted(stats.statuses.items()))}), "
        f"errors {stats.errors}, events rejected by validation {stats.rejected}"
    )
    print(
        f"throughput: {stats.acknowledged:,} events acknowledged → {rate:,.0f} events/s "
        f"(target {TARGET_EVENTS_PER_S:,})"
    )
    print(
        f"latency per request: p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1] / 1e6 if latencies else 0:.1f} ms"
    )
    print(
        f"durability: {acknowledged:,} acknowledged (incl. warm-up), {stored:,} stored, "
        f"{missing:,} acknowledged but missing"
    )
    cores = os.cpu_count() or 1
    print(
        f"CPU during the measured load ({cores} cores × {elapsed:.1f} s = {cores * elapsed:.1f} "
        f"core-s): machine busy {cpu_busy:.1f} ({100 * cpu_busy / max(cpu_total, 1e-9):.0f}%), "
        + (
            f"server {cpu_server:.1f}, load generator {cpu_client:.1f}, other (database, "
            f"kernel, other processes) {cpu_busy - cpu_client - cpu_server:.1f}"
            if server is not None
            else f"load generator {cpu_client:.1f}, server and the rest {cpu_busy - cpu_client:.1f}"
        )
    )
    if server is not None and stats.acknowledged:
        print(
            f"server CPU per event: {1e6 * cpu_server / stats.acknowledged:.1f} µs "
            f"(≈ {stats.acknowledged / max(cpu_server, 1e-9):,.0f} events per server core-second)"
        )
    if errors and (stats.first_error or warm_stats.first_error):
        print(f"first error: {stats.first_error or warm_stats.first_error}")
    # lost_events counts acknowledged messageIds absent from the store: with every request
    # answered it equals acknowledged − stored, and an unanswered request cannot make it negative.
    lost = missing
    print(f"BENCH ingest.events_per_s={int(rate)}")
    print(f"BENCH ingest.p50_ms={p50:.2f}")
    print(f"BENCH ingest.p99_ms={p99:.2f}")
    print(f"BENCH ingest.lost_events={lost}")
    print(f"BENCH ingest.requests_429={warm_stats.requests_429 + stats.requests_429}")
    print(f"BENCH ingest.errors={errors}")
    print(f"BENCH ingest.target_events_per_s={TARGET_EVENTS_PER_S}")
    return 1 if lost else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
