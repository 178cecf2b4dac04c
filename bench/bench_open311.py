"""Benchmark: Open311 GeoReport v2 under load, on PostgreSQL, against a bare FastAPI endpoint.

Setup (all on loopback, nothing leaves the machine):

- a fresh PostgreSQL database, migrated and seeded by ``govshare demo`` (the demo region, its
  boundaries and the sample catalog), then ``--requests`` service requests as
  ``frontoffice.service.submit_request`` writes them, routed by the same rule (seeded random
  services and points in Seattle and in the rest of King County, spread over the last 89
  days; one in five resolved), written set-based (see ``seed``), and an API key for the
  POSTs;
- the product served as in production: ``uvicorn govshare.web.app:create_app --factory
  --workers 2`` with ``GOVSHARE_ENV=production`` (JSON request logs to a file);
- the reference served the same way: ``uvicorn bare_app:create_app --factory --workers 2``,
  one route answering a constant JSON body (``bench/bare_app.py``).

Runs (``wrk``, closed loop, ``--connections`` connections over 2 threads, ``--duration``
seconds each after a 2-second warm-up):

  bare        GET /                                         the reference
  healthz     GET /healthz on the product                   its middleware and policy alone
  get_page    GET /open311/v2/requests.json?page_size=50    a client's list view: the headline
  get_page_miss  the same, with a unique ignored parameter per request (``&n=1``, ``&n=2``,
              ...): every answer misses the read cache and is computed and rendered
  get_one     GET /open311/v2/requests/{id}.json            a client tracking one request
  get_default GET /open311/v2/requests.json                 the spec's default: up to 1,000
  post        POST /open311/v2/requests.json                form-encoded, with api_key

Throughput and the 50th/99th latency percentiles come from wrk (``--latency``). Ratios are
product / bare throughput in the same run; the goal for get_page is >= 0.4. Each run also
records CPU seconds per request (``CpuMeter``: the uvicorn processes and the benchmark
database's PostgreSQL backends, from ``/proc``), and the ratio of those, which a busy
neighbor moves far less than it moves throughput.

p99 at half of the maximum: wrk2 (constant-rate wrk) is not packaged here, and closed-loop wrk
with fewer connections would measure latency at whatever rate those connections reach, hiding
queueing (coordinated omission). So an open-loop client in this script sends requests on a
fixed schedule at half the throughput wrk measured, over keep-alive connections (a new one
whenever all are busy), and times each request from its *scheduled* start — a late send
counts against the server, as in wrk2. Like wrk's runs, each starts after a pause (the
previous run's backlog drains) and a 2-second warm-up at the same rate that is not recorded.
The client is one thread on epoll with non-blocking sockets (an asyncio client spends more
CPU per request than a cache hit costs the server); ``open_loop(clients=n)`` can deal the
schedule out to n processes.

get_page_writes: get_page again while another process submits ``--write-rate`` requests a
second (default 10): each submission makes every kept answer stale.

The machine may have few cores: the servers and the load generators share them, which lowers
every absolute figure; the ratios compare like with like. Keep the whole run under ~5 minutes:
``.venv/bin/python bench/bench_open311.py`` (defaults), writes ``bench/results/open311.json``
and ``bench/results/open311.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govshare.core.db import make_engine
from govshare.core.security import new_token
from govshare.core.tenancy import Role, system_principal
from govshare.frontoffice import calc as fo_calc
from govshare.frontoffice import queries as fo_queries
from govshare.frontoffice.models import ServiceRequest
from govshare.geo import queries as geo_queries
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import ApiKeyCreate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("GOVSHARE_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_NAME = "govshare_bench_open311"
HOST = "127.0.0.1"

# (service, attributes, where): where "city" = around downtown Seattle, "county" = around Kent.
SEED_SERVICES: list[tuple[str, dict[str, list[str]]]] = [
    ("pothole", {"size": ["small"]}),
    ("graffiti", {"surface": ["wall"], "offensive": ["no"]}),
    ("streetlight", {}),
    ("illegal_dumping", {"items": ["tires", "furniture"]}),
    ("abandoned_vehicle", {"days_parked": ["4"]}),
]
# On land: Census cartographic boundaries follow the shoreline, so a point in Elliott Bay is
# outside every member (and refused).
CENTERS = {"city": (-122.3151, 47.6080), "county": (-122.2348, 47.3809)}
POST_FORM = ("service_code=pothole&lat=47.6080&long=-122.3351&attribute%5Bsize%5D=small"
             "&description=Benchmark+pothole&api_key=")


# ------------------------------------------------------------------------------ database


def _admin() -> sa.Engine:
    return make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database() -> str:
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def drop_database() -> None:
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, env: dict[str, str], n: int, rng: random.Random) -> dict[str, Any]:
    """``govshare demo``, then ``n`` requests and an API key for the POSTs.

    The requests are written set-based (one multi-row insert, then SQL for the ids, the first
    history row and the resolved ones): through ``submit_request`` one by one, a few thousand
    would take minutes on a busy machine. They are the rows that function writes — routed to
    the owner at their point with the same rule (owners by priority, on the product's own
    point index), ids ``YYYY-NNNNNN``, a "Received" history row — minus the audit events,
    which no Open311 read touches. The POST run then exercises the real function.
    """
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("govshare")), "demo"], env=env,
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    demo_s = time.perf_counter() - t0
    engine = make_engine(url)
    actor = system_principal("bench")
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        region = regions_queries.current_region(session=session)
        assert region is not None
        index = geo_queries.point_index(session=session, region_id=region.id)
        services = {code: fo_queries.get_service(session=session, region_id=region.id,
                                                 code=code) for code, _ in SEED_SERVICES}
        owners = {code: [o.jurisdiction_id for o in fo_queries.owners(session=session,
                                                                       service_id=svc.id)]
                  for code, svc in services.items()}
        answers = {code: fo_calc.validate_attributes(services[code].attributes, attrs)[0]
                   for code, attrs in SEED_SERVICES}
        rows = []
        for i in range(n):
            code = SEED_SERVICES[i % len(SEED_SERVICES)][0]
            cx, cy = CENTERS["city" if i % 3 else "county"]
            lon, lat = cx + rng.uniform(-0.015, 0.015), cy + rng.uniform(-0.01, 0.01)
            here = set(index.locate(lon, lat))
            owner = next(j for j in owners[code] if j in here)  # owners are by priority
            when = now - timedelta(days=89) + timedelta(seconds=89 * 86400 * i / n)
            rows.append({
                "region_id": region.id, "public_id": f"seed-{i}", "token": new_token(16),
                "service_id": services[code].id, "jurisdiction_id": owner,
                "status": "submitted", "channel": "open311",
                "description": f"Seeded request {i}", "lat": lat, "lon": lon,
                "attributes": answers[code],
                "recorded_by": actor.ref, "requested_at": when, "updated_at": when})
        session.execute(sa.insert(ServiceRequest), rows)
        session.execute(sa.text(
            "UPDATE service_requests SET public_id = to_char(requested_at, 'YYYY') || '-' || "
            "lpad(id::text, 6, '0') WHERE public_id LIKE 'seed-%'"))
        session.execute(sa.text(
            "INSERT INTO request_updates (request_id, at, actor, kind, to_value, note, public) "
            "SELECT id, requested_at, :actor, 'status', 'submitted', 'Received by open311', "
            "true FROM service_requests"), {"actor": actor.ref})
        # One in five resolved a day later, with a public note.
        session.execute(sa.text(
            "UPDATE service_requests SET status = 'resolved', status_notes = 'Fixed', "
            "updated_at = requested_at + interval '1 day', "
            "closed_at = requested_at + interval '1 day' WHERE id % 5 = 0"))
        session.execute(sa.text(
            "INSERT INTO request_updates (request_id, at, actor, kind, from_value, to_value, "
            "note, public) SELECT id, closed_at, :actor, 'status', 'submitted', 'resolved', "
            "'Fixed', true FROM service_requests WHERE status = 'resolved'"),
            {"actor": actor.ref})
        _key, plaintext = regions_service.create_api_key(
            session=session, actor=actor, region_id=region.id,
            data=ApiKeyCreate(name="bench open311 client", role=Role.regional_analyst))
        public_id = session.scalar(sa.text(
            "SELECT public_id FROM service_requests ORDER BY requested_at DESC LIMIT 1"))
        session.commit()
        session.execute(sa.text("ANALYZE"))
        session.commit()
    engine.dispose()
    return {"api_key": plaintext, "public_id": public_id, "demo_seconds": round(demo_s, 1),
            "requests_seconds": round(time.perf_counter() - t0, 1)}


# ------------------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(target: str, port: int, env: dict[str, str], log: Path,
                 app_dir: Path | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", "2",
           "--host", HOST, "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    probe = f"http://{HOST}:{port}/healthz" if app_dir is None else f"http://{HOST}:{port}/"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{target} exited: see {log}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{target} did not answer within 60 s: see {log}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


# ------------------------------------------------------------------------------ CPU accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux ``/proc``), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError):
                continue
    return out


class CpuMeter:
    """CPU used by one server (its uvicorn processes) and by its PostgreSQL backends.

    On a shared machine throughput says as much about the neighbors as about the code; CPU
    seconds per request do not (much). Backends that exit during a run take their CPU with
    them, so the PostgreSQL figure is a floor.
    """

    def __init__(self, server: subprocess.Popen[bytes] | None, database: str | None) -> None:
        self.server, self.database = server, database

    def _pids(self) -> tuple[list[int], list[int]]:
        app = [self.server.pid, *_children(self.server.pid)] if self.server else []
        pg: list[int] = []
        if self.database:
            admin = _admin()
            with admin.connect() as conn:
                pg = list(conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db"),
                    {"db": self.database}).scalars())
            admin.dispose()
        return app, pg

    def snapshot(self) -> dict[str, dict[int, float]]:
        app, pg = self._pids()
        return {"app": {p: c for p in app if (c := _cpu(p)) is not None},
                "pg": {p: c for p in pg if (c := _cpu(p)) is not None}}

    @staticmethod
    def used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
             ) -> dict[str, float]:
        return {k: sum(c - before[k].get(p, 0.0) for p, c in after[k].items())
                for k in ("app", "pg")}


# ------------------------------------------------------------------------------ load


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if m is None:
        raise ValueError(value)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def wrk(url: str, *, duration: int, connections: int, script: Path | None = None,
        meter: CpuMeter | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script is not None:
        cmd += ["-s", str(script)]
    warm = [*cmd[:3], "-d2s", *cmd[4:]]
    subprocess.run([*warm, url], check=True, capture_output=True)
    before = meter.snapshot() if meter else None
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    used = CpuMeter.used(before, meter.snapshot()) if meter and before else None
    pct = dict(re.findall(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if "50" not in pct or "99" not in pct:
        raise RuntimeError(f"no latency distribution in wrk's output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
              "requests": requests, "p50_ms": _ms(pct["50"]), "p99_ms": _ms(pct["99"]),
              "non_2xx": int(non2xx.group(1)) if non2xx else 0,
              "socket_errors": errors.group(1) if errors else None}
    if used is not None and requests:
        result["cpu_ms_per_request"] = {
            "app": round(1000 * used["app"] / requests, 3),
            "postgres": round(1000 * used["pg"] / requests, 3),
            "total": round(1000 * (used["app"] + used["pg"]) / requests, 3)}
    return result


CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)")


def _open_loop(port: int, raw: bytes, rate: float, duration: float, offset: float
               ) -> dict[str, Any]:
    """Send ``raw`` at a fixed ``rate`` from ``offset`` seconds into the schedule; latency
    from each request's scheduled start. Raw latencies, for the caller to merge.

    One thread, non-blocking sockets and epoll (an asyncio client spends more CPU per request
    than the server does on a cache hit, and would measure itself). Keep-alive connections,
    enough for ~0.1 s of the rate, are used in turn (so none idles into the server's
    keep-alive timeout); a request whose time has come waits for a free one, and that wait
    counts, as in wrk2."""
    import gc

    # The client's own pauses would count against the server: this process holds everything
    # the benchmark imported (~150,000 objects), and a full collection of them took ~80 ms.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return _open_loop_run(port, raw, rate, duration, offset)
    finally:
        gc.enable()
        gc.unfreeze()


def _open_loop_run(port: int, raw: bytes, rate: float, duration: float, offset: float
                   ) -> dict[str, Any]:
    import select
    from collections import deque

    want = max(8, min(512, int(rate * 0.1)))
    ep = select.epoll()
    conns: dict[int, list[Any]] = {}  # fd -> [socket, buffer, scheduled time or None]
    idle: deque[int] = deque()

    def connect() -> int:
        sock = socket.create_connection((HOST, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        fd = sock.fileno()
        conns[fd] = [sock, b"", None]
        ep.register(fd, select.EPOLLIN)
        return fd

    def send(fd: int, scheduled: float) -> None:
        conns[fd][2] = scheduled
        conns[fd][0].sendall(raw)

    for _ in range(want):
        idle.append(connect())
    opened = want
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending: deque[float] = deque()
    count = int(rate * duration)
    t0 = time.perf_counter() + 0.2 + offset
    i = done = 0
    while done < count:
        now = time.perf_counter()
        while i < count and t0 + i / rate <= now:
            pending.append(t0 + i / rate)
            i += 1
        while pending and idle:
            send(idle.popleft(), pending.popleft())
        due = t0 + i / rate if i < count else now + 0.05
        for fd, _event in ep.poll(max(0.0, due - time.perf_counter())):
            state = conns[fd]
            try:
                data = state[0].recv(1 << 18)
            except ConnectionError:
                data = b""
            if not data:  # the server closed it: reconnect, and resend what was in flight
                ep.unregister(fd)
                state[0].close()
                del conns[fd]
                fresh = connect()
                opened += 1
                if state[2] is not None:
                    send(fresh, state[2])
                else:
                    idle.append(fresh)
                continue
            state[1] += data
            while True:
                buf = state[1]
                end_of_head = buf.find(b"\r\n\r\n")
                if end_of_head < 0:
                    break
                m = CONTENT_LENGTH.search(buf, 0, end_of_head + 4)
                total = end_of_head + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                status = int(buf[9:12])
                state[1] = buf[total:]
                latencies.append(time.perf_counter() - state[2])
                statuses[status] = statuses.get(status, 0) + 1
                done += 1
                state[2] = None
                idle.append(fd)
    for state in conns.values():
        state[0].close()
    ep.close()
    return {"latencies": latencies, "statuses": statuses, "connections": opened}


def _raw(port: int, method: str, path: str, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
    if body:
        head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                 f"Content-Length: {len(body)}\r\n")
    return (head + "\r\n").encode() + body


def writes_during(port: int, body: bytes, rate: float, seconds: float) -> Any:
    """A process submitting requests (POST) at ``rate`` for ``seconds``, started now: each
    submission changes what the reads show, so every cached read answer goes stale."""
    import multiprocessing

    proc = multiprocessing.get_context("fork").Process(
        target=_run_open_loop,
        args=((port, _raw(port, "POST", "/open311/v2/requests.json", body), rate, seconds,
               0.0),))
    proc.start()
    return proc


def _run_open_loop(args: tuple[int, bytes, float, float, float]) -> dict[str, Any]:
    return _open_loop(*args)


def open_loop(port: int, method: str, path: str, body: bytes, rate: float, duration: float,
              clients: int = 1) -> dict[str, Any]:
    """The schedule at ``rate`` is dealt out to ``clients`` processes (each sends every
    ``clients``-th request), so the client's own CPU is not the limit; their latencies are
    merged."""
    import multiprocessing

    raw = _raw(port, method, path, body)
    clients = max(1, min(clients, int(rate // 50) or 1))
    each = rate / clients
    ctx = multiprocessing.get_context("fork")
    # As wrk does: a warm-up at the same rate, not recorded, after the previous run's
    # backlog has drained (wrk's POST run leaves up to ~2 s of queued requests behind it).
    time.sleep(3)
    with ctx.Pool(clients) as pool:
        pool.map(_run_open_loop, [(port, raw, each, 2.0, i / rate) for i in range(clients)])
        parts = pool.map(_run_open_loop,
                         [(port, raw, each, duration, i / rate) for i in range(clients)])
    latencies = sorted(x for part in parts for x in part["latencies"])
    statuses: dict[int, int] = {}
    for part in parts:
        for code, n in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    return {"rate": round(rate, 1), "requests": len(latencies), "clients": clients,
            "connections": sum(part["connections"] for part in parts),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max_ms": round(1000 * latencies[-1], 2),
            "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 400)}


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000, help="seeded service requests")
    ap.add_argument("--duration", type=int, default=12, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--seed", type=int, default=311)
    ap.add_argument("--write-rate", type=float, default=10.0,
                    help="submissions per second during the get_page_writes run")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install -y wrk")
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    tmp = Path(tempfile.mkdtemp(prefix="govshare-bench-open311-"))
    url = create_database()
    env = {**os.environ, "GOVSHARE_DATABASE_URL": url, "GOVSHARE_DATA_DIR": str(tmp),
           "GOVSHARE_ENV": "development", "GOVSHARE_SECRET_KEY": os.urandom(24).hex(),
           "GOVSHARE_LOG_LEVEL": "INFO"}
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    try:
        seeded = seed(url, env, args.requests, random.Random(args.seed))
        # One API key posts thousands of requests a minute here: lift the per-key limit
        # (default 600 a minute), which is not what is being measured.
        prod_env = {**env, "GOVSHARE_ENV": "production",
                    "GOVSHARE_OPEN311_POSTS_PER_KEY_PER_MINUTE": "100000000"}
        port, bare_port = free_port(), free_port()
        procs.append(start_server("govshare.web.app:create_app", port, prod_env,
                                  tmp / "govshare.log"))
        procs.append(start_server("bare_app:create_app", bare_port, env, tmp / "bare.log",
                                  app_dir=ROOT / "bench"))
        base = f"http://{HOST}:{port}/open311/v2"
        post_lua = tmp / "post.lua"
        form = POST_FORM + seeded["api_key"]
        post_lua.write_text(
            'wrk.method = "POST"\n'
            f'wrk.body = "{form}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        miss_lua = tmp / "miss.lua"
        miss_lua.write_text(
            'local n = 0\n'
            'request = function()\n'
            '  n = n + 1\n'
            '  return wrk.format(nil, "/open311/v2/requests.json?page_size=50&n=" .. n)\n'
            'end\n')
        product, bare = CpuMeter(procs[0], DB_NAME), CpuMeter(procs[1], None)
        runs = {
            "bare": (f"http://{HOST}:{bare_port}/", None, bare),
            "healthz": (f"http://{HOST}:{port}/healthz", None, product),
            "get_page": (f"{base}/requests.json?page_size=50", None, product),
            "get_page_miss": (f"{base}/requests.json", miss_lua, product),
            "get_one": (f"{base}/requests/{seeded['public_id']}.json", None, product),
            "get_default": (f"{base}/requests.json", None, product),
            "post": (f"{base}/requests.json", post_lua, product),
        }
        for name, (target, script, meter) in runs.items():
            results[name] = wrk(target, duration=args.duration,
                                connections=args.connections, script=script, meter=meter)
            print(f"{name:12s} {results[name]}", flush=True)
        # The headline read again, while requests are being submitted (each one makes every
        # kept answer stale): the cache's worth when the data is changing.
        writer = writes_during(port, form.encode(), args.write_rate, args.duration + 3)
        results["get_page_writes"] = wrk(f"{base}/requests.json?page_size=50",
                                         duration=args.duration,
                                         connections=args.connections, meter=product)
        writer.join()
        print(f"get_page_writes {results['get_page_writes']}", flush=True)
        bare_cpu = results["bare"]["cpu_ms_per_request"]["total"]
        for name in ("healthz", "get_page", "get_page_miss", "get_page_writes", "get_one",
                     "get_default", "post"):
            results[name]["ratio_to_bare"] = round(results[name]["rps"] /
                                                   results["bare"]["rps"], 3)
            results[name]["cpu_ratio_to_bare"] = round(
                bare_cpu / results[name]["cpu_ms_per_request"]["total"], 3)
        half = {}
        for name, method, path, body in (
                ("get_page", "GET", "/open311/v2/requests.json?page_size=50", b""),
                ("post", "POST", "/open311/v2/requests.json", form.encode())):
            rate = results[name]["rps"] / 2
            half[name] = open_loop(port, method, path, body, rate, args.duration)
            print(f"half-max {name:8s} {half[name]}", flush=True)
        for p in procs:
            stop_server(p)
        procs.clear()
        log_lines = (tmp / "govshare.log").read_text(errors="replace").count("\n")
    finally:
        for p in procs:
            stop_server(p)
        drop_database()
        shutil.rmtree(tmp, ignore_errors=True)
    report = {
        "benchmark": "open311",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1min": {"before": load_before,
                                          "after": round(os.getloadavg()[0], 2)}},
        "setup": {"database": "PostgreSQL (fresh database)", "workers": 2,
                  "seeded_requests": args.requests, "duration_s": args.duration,
                  "wrk_connections": args.connections, "wrk_threads": 2,
                  "write_rate": args.write_rate,
                  "seed_seconds": {"demo": seeded["demo_seconds"],
                                   "requests": seeded["requests_seconds"]},
                  "server_log_lines": log_lines},
        "runs": results,
        "half_max_open_loop": half,
        "goal": {"get_page_ratio_to_bare": 0.4,
                 "met": results["get_page"]["ratio_to_bare"] >= 0.4},
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "open311.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "open311.md").write_text(markdown(report))
    print(markdown(report))


def markdown(r: dict[str, Any]) -> str:
    runs, half, setup = r["runs"], r["half_max_open_loop"], r["setup"]
    what = {"bare": "bare FastAPI, constant (reference)",
            "healthz": "govshare /healthz (middleware, policy; no database)",
            "get_page": "GET requests.json?page_size=50",
            "get_page_miss": "the same, every answer a cache miss (computed, rendered)",
            "get_page_writes": "the same, while requests are submitted (see below)",
            "get_one": "GET requests/{id}.json",
            "get_default": "GET requests.json (spec default: up to 1,000)",
            "post": "POST requests.json (form, api_key)"}
    lines = [
        "# Open311 GeoReport v2 under load",
        "",
        f"Run {r['when']} on {r['machine']['cpus']} CPUs (servers and load generators share "
        f"them; 1-minute load average {r['machine']['load_average_1min']['before']} before, "
        f"{r['machine']['load_average_1min']['after']} after: other work was running), "
        f"Python {r['machine']['python']}. PostgreSQL, `uvicorn --workers "
        f"{setup['workers']}` for both apps, {setup['seeded_requests']:,} seeded requests on "
        f"top of `govshare demo`. wrk: {setup['wrk_threads']} threads, "
        f"{setup['wrk_connections']} connections, {setup['duration_s']} s per run after a "
        "2 s warm-up. Script: `bench/bench_open311.py`.",
        "",
        "| run | requests/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to bare | "
        "CPU ms/request (app + PostgreSQL) | CPU ratio to bare |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, label in what.items():
        x = runs[name]
        ratio = "1" if name == "bare" else f"{x['ratio_to_bare']:.3f}"
        cpu = x.get("cpu_ms_per_request", {})
        cpu_ratio = "1" if name == "bare" else f"{x.get('cpu_ratio_to_bare', 0):.3f}"
        lines.append(f"| {label} | {x['rps']:,.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                     f"{x['non_2xx']} | {x.get('socket_errors') or 'none'} | {ratio} | "
                     f"{cpu.get('app', 0):.2f} + "
                     f"{cpu.get('postgres', 0):.2f} | {cpu_ratio} |")
    goal = r["goal"]
    lines += [
        "",
        f"Goal: GET (a page of 50) at >= {goal['get_page_ratio_to_bare']}x the bare "
        f"endpoint's throughput — {'met' if goal['met'] else 'not met'} "
        f"({runs['get_page']['ratio_to_bare']:.3f}x by throughput, "
        f"{runs['get_page']['cpu_ratio_to_bare']:.3f}x by CPU per request).",
        "",
        "Reads are answered from each process's read cache while the `open311` change "
        "counter (bumped by triggers in every writing transaction) is unchanged: a hit reads "
        "the counter on the event loop and sends the kept bytes. `get_page_miss` adds a "
        "unique ignored parameter to every request, so each one is a miss: the query, the "
        "rendering and the cache's bookkeeping, as after every change (docs/adr/0008). "
        f"`get_page_writes` runs while another client submits {r['setup']['write_rate']:g} "
        "requests a second (POST, open loop): every submission makes every kept answer "
        "stale, so it shows what the cache is worth while the data changes. A hit is "
        "answered by an ASGI middleware before FastAPI's routing, which is why it can be "
        "cheaper than the bare FastAPI route.",
        "",
        "CPU per request is the servers' own CPU time (uvicorn processes, and the PostgreSQL "
        "backends of the benchmark database) over the requests served: on a shared machine it "
        "moves much less than throughput does. Its ratio is what the throughput ratio would be "
        "on an idle machine where CPU is the limit.",
        "",
        "## Latency at half of the maximum throughput (open loop)",
        "",
        "Requests sent on a fixed schedule at half the rate wrk reached, latency measured from "
        "each request's scheduled start (no coordinated omission; wrk2 is not available), "
        "by one epoll client thread (non-blocking sockets, keep-alive connections in turn). "
        "Each run starts 3 s after the previous one ended, with a 2 s warm-up at the same "
        "rate that is not recorded (as wrk's runs do).",
        "",
        "| run | rate/s | requests | client processes | p50 ms | p99 ms | max ms | "
        "connections | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("get_page", "post"):
        x = half[name]
        lines.append(f"| {what[name]} | {x['rate']:,.0f} | {x['requests']:,} | "
                     f"{x['clients']} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                     f"{x['max_ms']:.2f} | "
                     f"{x['connections']} | {x['non_2xx']} |")
    lines += ["", f"Whole run: {r['total_seconds']:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
