#!/usr/bin/env python3
"""The daemon benchmark of `make bench-daemon` (bench-daemon.sh runs it).

In one run, per backend (SQLite, then PostgreSQL when --pg is given):
  1. idle: a fresh database and an empty INBOX; start the daemon, read its RSS
     after it connected (idle RSS), then send --latency-runs notices one by one
     over SMTP and time SMTP accept -> acknowledgement in the forwarder's INBOX.
  2. backlog: stop the daemon, fill the INBOX with N messages (N/10 forwarded
     notices made from tests/fixtures/notices, the rest public-corpus mails, each
     with its own Message-ID), time one bare `UID FETCH 1:* (BODY.PEEK[]
     INTERNALDATE)` of them all (the floor), then start the daemon on a fresh
     database and time: INBOX empty, outbox drained; peak RSS is the daemon's VmHWM
     (and, sampled, its anonymous and file-backed parts).
Prints one table with the ratios to the floor. With --ab OTHER_BINARY it
compares two builds instead: --ab-rounds rounds of the backlog's drain alone,
the two alternated, each beside its own round's bare fetch (`ab_compare`).
Python standard library only.
Uses its own mailbox users (<role>-bench@DOMAIN) so other users' tests are not
disturbed; empties only those users' mailboxes.
"""
import argparse
import atexit
import glob
import imaplib
import json
import os
import re
import signal
import socket
import smtplib
import sqlite3
import ssl
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

ROLES = ["breach", "staff", "official", "deputy", "dpo"]


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the mix
def split_head(raw):
    m = re.search(rb"\r?\n\r?\n", raw)
    if not m:
        return raw, b""
    return raw[: m.start()], raw[m.start():]


def drop_fields(head, names):
    """Removes header fields (with their continuation lines) named in `names`."""
    out, skip = [], False
    for line in re.split(rb"(?<=\n)", head):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skip = name in names
        if not skip:
            out.append(line)
    s = b"".join(out)
    return s if s.endswith(b"\n") or not s else s + b"\r\n"


def notice(fixture, i, staff, breach, now):
    """A fixture notice as forwarded by the bench's staff user, with its own
    Message-ID; a numbered supplier domain and subject keep the notices distinct."""
    head, body = split_head(fixture)
    head = drop_fields(head, {b"from", b"message-id", b"subject", b"to", b"cc", b"date"})
    subj = f"VB: Incident {i}: obehörig åtkomst till system Benchsys{i}"
    body = body.replace(b"provdata.example", f"lev{i}.example".encode())
    new = (
        f"From: Sam Staff <{staff}>\r\nTo: <{breach}>\r\nSubject: {subj}\r\n"
        f"Date: {format_datetime(now)}\r\nMessage-ID: <bench-n{i}-{uuid.uuid4().hex}@example.test>\r\n"
    ).encode("utf-8")
    return new + head + body


def corpus_mail(raw, i):
    head, body = split_head(raw)
    head = drop_fields(head, {b"message-id"})
    return f"Message-ID: <bench-c{i}-{uuid.uuid4().hex}@bench.example>\r\n".encode() + head + body


def load_corpus(root):
    files = []
    for p in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
        if os.path.isfile(p) and not p.endswith((".md", ".tsv")):
            with open(p, "rb") as f:
                b = f.read()
            if b and len(b) <= 2_000_000:
                files.append(b)
    return files


def make_mix(n, fixtures_dir, corpus_root, staff, breach):
    fixtures = []
    for p in sorted(glob.glob(os.path.join(fixtures_dir, "*.eml")))[:11]:  # 01-11: notices
        with open(p, "rb") as f:
            fixtures.append(f.read())
    corpus = load_corpus(corpus_root)
    if not fixtures or not corpus:
        raise SystemExit("no fixtures or no corpus files")
    now = datetime.now(timezone.utc)
    n_notices = max(1, n // 10)
    out = []
    ci = 0
    for k in range(n):
        # spread the notices through the backlog, as they would arrive
        if k % 10 == 0 and k // 10 < n_notices:
            j = k // 10
            out.append(notice(fixtures[j % len(fixtures)], j, staff, breach, now))
        else:
            out.append(corpus_mail(corpus[ci % len(corpus)], ci))
            ci += 1
    return out


# ------------------------------------------------------------------ IMAP helpers
def imap(args, user):
    ctx = ssl.create_default_context(cafile=args.ca)
    m = imaplib.IMAP4_SSL("127.0.0.1", args.imaps_port, ssl_context=ctx)
    m.login(user, args.password)
    return m


def empty_mailbox(args, user, box):
    m = imap(args, user)
    typ, _ = m.select(box)
    if typ == "OK":
        typ, data = m.search(None, "ALL")
        if data and data[0].split():
            m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
            m.expunge()
    m.logout()


def count(m, box="INBOX"):
    typ, data = m.status(box, "(MESSAGES)")
    if typ != "OK":
        return -1
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def fill_maildir(args, user, mails):
    """Writes the backlog straight into the user's Maildir (APPENDing 10,000
    messages one by one takes minutes), then lets Dovecot index it."""
    local, domain = user.split("@")
    new = os.path.join(args.mail_dir, domain, local, "Maildir", "new")
    if not os.path.isdir(new):
        m = imap(args, user)
        m.select("INBOX")
        m.logout()
    st = os.stat(os.path.dirname(new))
    tmp = os.path.join(os.path.dirname(new), "tmp")
    base = int(time.time())
    for i, raw in enumerate(mails):
        # Maildir delivery: written and owned in tmp/, then renamed into
        # new/ (a Dovecot session may move new/ to cur/ at any moment).
        name = f"{base}.M{i}P{os.getpid()}.bench,S={len(raw)}"
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(raw)
        os.chown(p, st.st_uid, st.st_gid)
        os.rename(p, os.path.join(new, name))
    m = imap(args, user)
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(UID)")  # index now, not during the measurement
    m.logout()


def bare_fetch(args, user):
    """One `UID FETCH 1:* (BODY.PEEK[] INTERNALDATE)` over IMAPS, reading the
    whole answer off the socket (no parsing): the floor of any IMAP client."""
    ctx = ssl.create_default_context(cafile=args.ca)
    raw = socket.create_connection(("127.0.0.1", args.imaps_port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    f = s.makefile("rb")
    f.readline()

    def cmd(tag, text):
        s.sendall(f"{tag} {text}\r\n".encode())
        n = 0
        end = f"{tag} ".encode()
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("IMAP connection closed")
            n += len(line)
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                lit = int(m.group(1))
                got = f.read(lit)
                n += len(got)
                continue
            if line.startswith(end):
                if not line[len(end):].startswith(b"OK"):
                    raise SystemExit(f"IMAP {text}: {line!r}")
                return n

    cmd("a1", f"LOGIN {user} {args.password}")
    cmd("a2", "SELECT INBOX")
    t0 = time.monotonic()
    n = cmd("a3", "UID FETCH 1:* (BODY.PEEK[] INTERNALDATE)")
    dt = time.monotonic() - t0
    cmd("a4", "LOGOUT")
    s.close()
    return dt, n


def bare_move(args, user):
    """One `UID MOVE 1:*` of the whole INBOX to another folder (timed), and
    back: what Dovecot needs to take the backlog out of the INBOX, the other
    half of any drain's floor."""
    m = imap(args, user)
    m.create("BenchFloor")
    m.select("INBOX")
    t0 = time.monotonic()
    typ, data = m.uid("MOVE", "1:*", "BenchFloor")
    dt = time.monotonic() - t0
    if typ != "OK":
        raise SystemExit(f"UID MOVE: {data!r}")
    m.select("BenchFloor")
    m.uid("MOVE", "1:*", "INBOX")
    m.select("INBOX")
    m.delete("BenchFloor")
    m.logout()
    return dt


# ------------------------------------------------------------------ daemon
def write_config(args, path, db_url, smtp_port=None):
    u = lambda r: f"{r}-bench@{args.domain}"
    # BENCH_BATCH_BYTES / BENCH_BATCH_MESSAGES / BENCH_MOVE_EVERY:
    # `imap.batch_max_bytes` / `imap.batch_max_messages` / `imap.move_every`
    # (else the daemon's defaults).
    batch = ""
    for env, key in (("BENCH_BATCH_BYTES", "batch_max_bytes"),
                     ("BENCH_BATCH_MESSAGES", "batch_max_messages"),
                     ("BENCH_MOVE_EVERY", "move_every")):
        if os.environ.get(env, ""):
            batch += f"{key} = {int(os.environ[env])}\n"
    with open(path, "w") as f:
        f.write(f"""
[general]
timezone = "Europe/Stockholm"
case_prefix = "PUI"
internal_domains = ["{args.domain}"]
database_url = "{db_url}"
log_format = "text"

[imap]
host = "127.0.0.1"
port = {args.imaps_port}
tls = "implicit"
server_name = "localhost"
ca_file = "{args.ca}"
username = "{u('breach')}"
password = "{args.password}"
idle_reissue_secs = 290
poll_interval_secs = 5
command_timeout_secs = 60
{batch}
[smtp]
host = "127.0.0.1"
port = {smtp_port or args.smtp_port}
tls = "none"
from = "{u('breach')}"
from_name = "breachwatch"

[auth]
trusted_authserv_ids = ["mail.{args.domain}"]

[routing.default]
committee = {{ name = "Kommunstyrelsen", diarie_prefix = "KS", delegation_point = "1.5" }}
official = {{ name = "Olivia Official", address = "{u('official')}" }}
deputy = {{ name = "Dennis Deputy", address = "{u('deputy')}" }}
dpo = {{ name = "Dora DPO", address = "{u('dpo')}" }}
""")


def proc_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_cpu():
    """The machine's CPU time so far in seconds (/proc/stat): (busy, steal);
    busy counts every core's user, system, interrupt and steal time."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / hz, steal / hz


def read_stat(path):
    """A `/proc/…/stat` file: (command name, the fields after it, in
    seconds where they are clock ticks: fields 11-14 are utime, stime,
    cutime, cstime), or None when it is gone."""
    try:
        with open(path) as f:
            head, rest = f.read().rsplit(")", 1)
    except OSError:
        return None
    v = rest.split()
    hz = os.sysconf("SC_CLK_TCK")
    return head.split("(", 1)[1], [int(x) / hz for x in v[11:15]]


def proc_cpu(pid):
    """A process's own CPU time so far in seconds (utime + stime)."""
    st = read_stat(f"/proc/{pid}/stat")
    return 0.0 if st is None else st[1][0] + st[1][1]


def cpu_by_command():
    """Every process's CPU time so far, with its reaped children's, summed by
    command name: who spent the machine's time (printed to stderr)."""
    out = {}
    for pid in os.listdir("/proc"):
        st = read_stat(f"/proc/{pid}/stat") if pid.isdigit() else None
        if st is not None:
            out[st[0]] = out.get(st[0], 0.0) + sum(st[1])
    return out


def thread_cpu(pid):
    """Each live thread of process `pid`: {tid: (name, CPU seconds so far)}."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    out = {}
    for tid in tids:
        st = read_stat(f"/proc/{pid}/task/{tid}/stat")
        if st is not None:
            out[tid] = (st[0], st[1][0] + st[1][1])
    return out


# The daemon's threads by what they do (their names: `workers::ingest::readers`
# names the reader threads, sqlx names each SQLite connection's worker, tokio
# its async workers).
THREAD_KINDS = (("reader", "reader"), ("sqlx-sqlite", "sqlite"), ("tokio-rt-worker", "async"))
# Dovecot's processes that serve the daemon's IMAP session (`imap-login`
# proxies its TLS).
DOVECOT_COMMANDS = ("imap", "imap-login")


class CpuWindow:
    """The CPU spent from its start to `end()`: the machine's busy and steal
    time, the process `pid`'s own, and the capacity (cores × wall), all in
    core-seconds, then who spent it: the daemon's threads by kind (`THREAD_KINDS`;
    "other" is the rest of its own, with threads that ended) and Dovecot's
    IMAP processes and the PostgreSQL server's (every `postgres` process of
    the machine); `end()` logs the top commands (stderr)."""

    def __init__(self, pid):
        self.pid = pid
        (self.busy0, self.steal0), self.own0 = machine_cpu(), proc_cpu(pid)
        self.w0, self.by0 = time.monotonic(), cpu_by_command()
        self.threads0 = thread_cpu(pid)

    def end(self, label, top=8):
        busy, steal = machine_cpu()
        own = proc_cpu(self.pid) - self.own0
        threads = thread_cpu(self.pid)
        kinds = {kind: 0.0 for _, kind in THREAD_KINDS}
        for tid, (name, t) in threads.items():
            kind = next((k for prefix, k in THREAD_KINDS if name.startswith(prefix)), None)
            if kind is not None:
                kinds[kind] += t - self.threads0.get(tid, (name, 0.0))[1]
        kinds["other"] = max(own - sum(kinds.values()), 0.0)
        by = cpu_by_command()
        kinds["dovecot"] = sum(by.get(k, 0.0) - self.by0.get(k, 0.0) for k in DOVECOT_COMMANDS)
        kinds["postgres"] = by.get("postgres", 0.0) - self.by0.get("postgres", 0.0)
        out = (busy - self.busy0, steal - self.steal0, own,
               (time.monotonic() - self.w0) * (os.cpu_count() or 1), kinds)
        ranked = sorted(((by[k] - self.by0.get(k, 0.0), k) for k in by), reverse=True)[:top]
        log(f"{label}; CPU by command: " + ", ".join(f"{k} {v:.1f} s" for v, k in ranked if v >= 0.05))
        return out


# Daemons started and not yet stopped: killed when the bench exits, whatever
# ended it (a daemon left running watches the bench's mailbox and skews or
# breaks every later run).
LIVE_DAEMONS = set()


@atexit.register
def kill_live_daemons():
    for p in list(LIVE_DAEMONS):
        if p.poll() is None:
            p.kill()
            p.wait()
    LIVE_DAEMONS.clear()


class Daemon:
    def __init__(self, args, cfg, logpath, binary=None):
        self.log = open(logpath, "ab")
        # The log is appended to by each daemon of a phase: only this one's
        # lines count (`wait_connected`).
        self.offset = self.log.tell()
        self.p = subprocess.Popen([binary or args.bin, "run", "--config", cfg], stdout=self.log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        LIVE_DAEMONS.add(self.p)
        self.t0 = time.monotonic()
        self.logpath = logpath

    def wait_connected(self, timeout=60):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            with open(self.logpath, "rb") as f:
                f.seek(self.offset)
                if b"IMAP connected" in f.read():
                    return
            if self.p.poll() is not None:
                raise SystemExit(f"daemon exited: see {self.logpath}")
            time.sleep(0.05)
        # (Its "IMAP connected" line is info: a BREACHWATCH_LOG below info for
        # breachwatch never shows it.)
        raise SystemExit(f"daemon did not connect: see {self.logpath}")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        LIVE_DAEMONS.discard(self.p)
        self.log.close()


def start_perf(name, daemon):
    """BENCH_PERF=PREFIX: `perf record` (cpu-clock samples) of the daemon into
    PREFIX-NAME.data until it is sent SIGINT; None without BENCH_PERF.
    BENCH_PERF_CALLERS=1 records call stacks too (DWARF unwinding, 499 Hz: a
    build with line tables, `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only`);
    BENCH_PERF_CALLERS=fp records them by frame pointers (999 Hz; whole async
    stacks, which DWARF's 16 KiB copy of the stack cuts: a build with
    `RUSTFLAGS="-C force-frame-pointers=yes"`)."""
    prefix = os.environ.get("BENCH_PERF")
    if not prefix:
        return None
    how = os.environ.get("BENCH_PERF_CALLERS")
    callers = (["--call-graph", "dwarf,16384", "-F", "499"] if how == "1"
               else ["-g", "-F", "999"] if how == "fp" else ["-F", "999"])
    # BENCH_PERF_ALL=1: every process of the machine (Dovecot, Postfix, the
    # kernel's threads), not only the daemon's threads (`perf report --sort
    # comm`); `-p` can also miss a thread of the daemon that perf sees late.
    target = (["-a"] if os.environ.get("BENCH_PERF_ALL") == "1"
              else ["-p", str(daemon.p.pid)])
    return subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", *callers,
                             "-o", f"{prefix}-{name}.data", *target],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_perf(perf):
    """Ends a profile start_perf began (None: nothing to end); returns None."""
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
    return None


def sqlite_path(db_url):
    """The file of a `sqlite://PATH?…` URL."""
    return db_url[len("sqlite://"):].split("?")[0]


def sqlite_writer(db_url):
    """A connection to the bench's SQLite file that writes as the daemon's
    do (`synchronous = NORMAL`), its transactions begun by the caller."""
    c = sqlite3.connect(sqlite_path(db_url), timeout=30, isolation_level=None)
    c.execute("PRAGMA synchronous = NORMAL")
    return c


def psql_timed(db_url, script):
    """Runs a psql script with `\\timing on` in it; the sum of the timed
    statements' times, in seconds."""
    out = subprocess.run(["psql", db_url, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"],
                         input=script, capture_output=True, text=True, check=True)
    return sum(float(ms) for ms in re.findall(r"^Time: ([0-9.]+) ms", out.stdout, re.M)) / 1000


def outbox_open(db_url):
    q = "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
    q_all = "SELECT COUNT(*) FROM outbox"
    if db_url.startswith("sqlite://"):
        path = sqlite_path(db_url)
        try:
            c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            a = c.execute(q).fetchone()[0]
            b = c.execute(q_all).fetchone()[0]
            c.close()
            return a, b
        except sqlite3.Error:
            return None, None
    out = subprocess.run(["psql", db_url, "-Atqc", q + "; " + q_all], capture_output=True, text=True)
    if out.returncode != 0:
        return None, None
    a, b = out.stdout.split()
    return int(a), int(b)


def fresh_db(args, backend, workdir):
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(os.path.join(workdir, "bench.db" + suffix))
            except FileNotFoundError:
                pass
        # BENCH_SQLITE_PAGE_SIZE=N (an experiment): the database made with
        # pages of N bytes before the daemon first opens it.
        if os.environ.get("BENCH_SQLITE_PAGE_SIZE"):
            c = sqlite3.connect(os.path.join(workdir, "bench.db"))
            c.execute(f"PRAGMA page_size = {int(os.environ['BENCH_SQLITE_PAGE_SIZE'])}")
            c.execute("PRAGMA journal_mode = WAL")
            c.close()
        return f"sqlite://{workdir}/bench.db?mode=rwc"
    name = "breachwatch_bench_daemon"
    subprocess.run(["psql", args.pg, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   check=True, capture_output=True)
    subprocess.run(["psql", args.pg, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return re.sub(r"/[^/?]*(\?.*)?$", f"/{name}", args.pg)


def uidnext(m):
    """The INBOX's next UID: the reply to a notice sent now has one at least as high."""
    m.select("INBOX")
    typ, data = m.response("UIDNEXT")
    try:
        return int(data[-1])
    except (TypeError, ValueError, IndexError):
        return 1


def wait_reply(m, msgid, since=1, timeout=30.0):
    """Waits for the reply to `msgid` among the UIDs from `since` (the
    drain's acknowledgements pile up in the same INBOX: searching only the
    new ones keeps the poll from loading Dovecot)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        m.select("INBOX")
        typ, data = m.uid("SEARCH", f"UID {since}:*", "HEADER", "In-Reply-To", f"<{msgid}>")
        if typ == "OK" and data and data[0].split():
            return True
        time.sleep(0.01)
    return False


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def latency(args, staff, breach, runs, until=None, sent_at=None):
    """Notice -> acknowledgement, one notice after the other. `until`: stop
    sending once it returns True; `sent_at`: gets each notice's send time."""
    smtp = smtplib.SMTP("127.0.0.1", args.smtp_port)
    m = imap(args, staff)
    times = []
    for i in range(runs):
        if until is not None and until():
            break
        mid = f"{uuid.uuid4()}@example.test"
        now = datetime.now(timezone.utc)
        raw = (f"From: Sam Staff <{staff}>\r\nTo: <{breach}>\r\nSubject: VB: Mätning {i}: intrång i Latsys{i}\r\n"
               f"Date: {format_datetime(now)}\r\nMessage-ID: <{mid}>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               "Hej! Det här kom till funktionsbrevlådan.\r\n\r\n________________________________\r\n"
               f"Från: Leverantör {i} <drift@latlev{i}.example>\r\nSkickat: den 1 juni 2026 10:00\r\n"
               f"Ämne: Intrång i Latsys{i}\r\n\r\nObehörig åtkomst till systemet Latsys{i} upptäcktes; "
               "namn och personnummer kan ha kommit på avvägar.\r\n").encode("utf-8")
        since = uidnext(m)
        smtp.sendmail(staff, [breach], raw)
        t0 = time.monotonic()
        ok = wait_reply(m, mid, since)
        dt = time.monotonic() - t0
        if ok:
            times.append(dt)
        if sent_at is not None:
            sent_at.append((t0, dt if ok else None))
    smtp.quit()
    m.logout()
    return times


def run_backend(args, backend, mails, workdir):
    breach, staff = f"breach-bench@{args.domain}", f"staff-bench@{args.domain}"
    r = {}
    for role in ROLES:
        empty_mailbox(args, f"{role}-bench@{args.domain}", "INBOX")
    for box in ("Processed", "Quarantine"):
        empty_mailbox(args, breach, box)
    cfg = os.path.join(workdir, f"bench-{backend}.toml")
    logpath = os.path.join(workdir, f"daemon-{backend}.log")

    # 1. idle RSS and notice -> acknowledgement latency while idle
    write_config(args, cfg, fresh_db(args, backend, workdir))
    d = Daemon(args, cfg, logpath)
    d.wait_connected()
    time.sleep(2)
    r["idle_rss"] = proc_kb(d.p.pid, "VmRSS") / 1024
    r["idle_anon"] = proc_kb(d.p.pid, "RssAnon") / 1024
    r["threads"] = proc_kb(d.p.pid, "Threads")
    log(f"{backend}: idle RSS {r['idle_rss']:.1f} MB; latency, {args.latency_runs} notices")
    lat = latency(args, staff, breach, args.latency_runs)
    r["lat_n"] = len(lat)
    r["p50"], r["p99"] = pct(lat, 50), pct(lat, 99)
    d.stop()
    empty_mailbox(args, breach, "INBOX")

    # 2. the backlog
    log(f"{backend}: filling INBOX with {len(mails)} messages")
    fill_maildir(args, breach, mails)
    dts = [bare_fetch(args, breach) for _ in range(2)]
    r["fetch"], r["fetch_bytes"] = min(dts)
    r["move"] = bare_move(args, breach)
    m = imap(args, breach)
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(UID)")  # index the moved-back messages now
    m.logout()
    db_url = fresh_db(args, backend, workdir)
    write_config(args, cfg, db_url)
    mon = imap(args, breach)
    d = Daemon(args, cfg, logpath)
    # Notices during the drain: sent one after the other from the moment the
    # daemon connects until the INBOX is empty; each one's acknowledgement timed.
    import threading
    drained = threading.Event()
    sent_at = []  # (sent, ack latency or None)

    def notices_during():
        try:
            d.wait_connected()
        except SystemExit:
            return
        # After the daemon listed the backlog: a notice before that is part
        # of the backlog, in UID order.
        time.sleep(1.0)
        latency(args, staff, breach, args.drain_latency_runs, until=drained.is_set, sent_at=sent_at)
    lat_thread = threading.Thread(target=notices_during, daemon=True)
    if args.drain_latency_runs > 0:
        lat_thread.start()
    # BENCH_PERF=PREFIX: a CPU profile of the drain (perf record, cpu-clock
    # samples of the daemon until the INBOX is empty) in PREFIX-BACKEND.data.
    perf = start_perf(backend, d)
    # What the machine spent during the drain: the floor on 2 cores is the
    # CPU time the daemon, Dovecot and Postfix need, divided by the cores.
    window = CpuWindow(d.p.pid)
    t_inbox = t_outbox = None
    peak = 0
    # The RSS split, sampled with the loop (every 50 ms): the most anonymous
    # memory seen (heap, stacks: the daemon's own) and the most file-backed
    # pages (the executable's and libraries' code and data, clean and
    # shared). VmHWM, the kernel's high-water mark, is their sum at the peak.
    anon = file = 0
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        peak = max(peak, proc_kb(d.p.pid, "VmHWM"))
        anon = max(anon, proc_kb(d.p.pid, "RssAnon"))
        file = max(file, proc_kb(d.p.pid, "RssFile"))
        now = time.monotonic()
        if t_inbox is None and count(mon) == 0:
            t_inbox = now - d.t0
            drained.set()
            r["cpu"] = window.end(f"{backend}: INBOX empty after {t_inbox:.2f} s")
            perf = stop_perf(perf)
        if t_inbox is not None:
            pending, total = outbox_open(db_url)
            if pending == 0:
                t_outbox = now - d.t0
                r["outbox_mails"] = total
                break
        if d.p.poll() is not None:
            raise SystemExit(f"daemon exited during the drain: see {logpath}")
        time.sleep(0.05)
    peak = max(peak, proc_kb(d.p.pid, "VmHWM"))
    drained.set()
    if lat_thread.is_alive():
        lat_thread.join(60)
    mon.logout()
    d.stop()
    r["inbox"], r["outbox"], r["peak_rss"] = t_inbox, t_outbox, peak / 1024
    r["peak_anon"], r["peak_file"] = anon / 1024, file / 1024
    # Only notices sent before the INBOX was empty count as "during the drain".
    t_end = d.t0 + (t_inbox if t_inbox is not None else 1e9)
    dl = [x for t, x in sent_at if t < t_end]
    r["dlat_missing"] = sum(1 for x in dl if x is None)
    dl = [x for x in dl if x is not None]
    r["dlat_n"], r["dp50"], r["dp99"] = len(dl), pct(dl, 50), pct(dl, 99)
    # The store's floor for this drain: its message rows written again in
    # transactions of a fetch batch, with no daemon in between.
    floor = drain_store_floor(db_url, int(os.environ.get("BENCH_BATCH_MESSAGES", "50")))
    if floor is not None:
        r["drain_store_floor"] = floor

    # 2b. the same backlog with SMTP unreachable (a closed port): intake
    # alone, without sending and without the loopback Postfix and Dovecot
    # delivering the daemon's mail on the same two cores.
    if args.intake_only:
        settle_bench_queue(args)
        r.update(intake_only(args, backend, mails, workdir))

    # 3. reminders at R open cases due in the same minute
    if args.reminders > 0:
        r.update(reminders(args, backend, db_url, cfg, logpath))
    return r


def wait_inbox_empty(args, d, mon, what, sample=None):
    """Seconds from the daemon's start until the INBOX is empty (`mon`, an
    IMAP session of the bench's user), polled every 50 ms; `sample()` is
    called at each poll (the peak RSS), and the bench stops if the daemon
    exits or the INBOX is still not empty after --timeout."""
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if sample:
            sample()
        if count(mon) == 0:
            return time.monotonic() - d.t0
        if d.p.poll() is not None:
            raise SystemExit(f"{what}: the daemon exited: see {d.logpath}")
        time.sleep(0.05)
    raise SystemExit(f"{what}: the INBOX was not empty after {args.timeout:.0f} s")


def ab_drain(args, backend, mails, workdir, binary, tag):
    """One drain of the backlog by `binary` for the A/B comparison: the
    INBOX filled afresh, the bare fetch of it (this round's floor, the
    better of two, as in the main table), a fresh database, the daemon
    started, timed to INBOX empty with its CPU by whom and its peak RSS;
    then stopped, and Postfix's queue left empty of the bench's mail for
    the next round."""
    breach = f"breach-bench@{args.domain}"
    for box in ("INBOX", "Processed", "Quarantine"):
        empty_mailbox(args, breach, box)
    fill_maildir(args, breach, mails)
    fetch = min(bare_fetch(args, breach)[0] for _ in range(2))
    cfg = os.path.join(workdir, f"bench-{backend}-ab.toml")
    write_config(args, cfg, fresh_db(args, backend, workdir))
    d = Daemon(args, cfg, os.path.join(workdir, f"daemon-{backend}-ab-{tag}.log"), binary)
    mon = imap(args, breach)
    window = CpuWindow(d.p.pid)
    out = {"fetch": fetch}
    # VmHWM, and the most anonymous (heap, stacks) and file-backed (code)
    # memory seen: which of the two a difference in the peak is.
    peak = [0, 0, 0]

    def sample():
        peak[0] = max(peak[0], proc_kb(d.p.pid, "VmHWM"))
        peak[1] = max(peak[1], proc_kb(d.p.pid, "RssAnon"))
        peak[2] = max(peak[2], proc_kb(d.p.pid, "RssFile"))

    out["inbox"] = wait_inbox_empty(args, d, mon, f"A/B drain {backend} {tag}", sample)
    out["cpu"] = window.end(f"{backend} {tag}: INBOX empty after {out['inbox']:.2f} s "
                            f"(bare fetch {fetch:.2f} s)", top=6)
    out["peak"] = max(peak[0], proc_kb(d.p.pid, "VmHWM")) / 1024
    out["anon"], out["file"] = peak[1] / 1024, peak[2] / 1024
    mon.logout()
    d.stop()
    settle_bench_queue(args)
    return out


def ab_compare(args, backend, mails, workdir):
    """BENCH_AB: the drain of binary A (--bin) and binary B (--ab) in
    --ab-rounds rounds, alternated (A B, then B A, ...: a drift of the
    machine during the run weighs on both alike), each drain against the
    bare fetch of its own round. Returns {label: [drain, ...]}."""
    bins = {"A": args.bin, "B": args.ab}
    runs = {"A": [], "B": []}
    for k in range(args.ab_rounds):
        for tag in ("AB" if k % 2 == 0 else "BA"):
            runs[tag].append(ab_drain(args, backend, mails, workdir, bins[tag], f"{tag}{k + 1}"))
    return runs


def print_ab(args, backend, runs):
    """The A/B table: each round's figure and the median, per binary."""
    def each(xs, f, unit):
        vals = [f(x) for x in xs]
        return " / ".join(f"{v:.2f}" for v in vals) + f" (median {statistics.median(vals):.2f}{unit})"

    print(f"\nA/B, {backend}, {args.ab_rounds} rounds alternated: A = {args.bin}, B = {args.ab}")
    print("| figure | A | B |")
    print("|---|---|---|")

    def row(name, f, unit=""):
        print(f"| {name} | {each(runs['A'], f, unit)} | {each(runs['B'], f, unit)} |")

    row("INBOX empty (from process start), s", lambda x: x["inbox"], " s")
    row("÷ the round's bare fetch", lambda x: x["inbox"] / x["fetch"], "×")
    row("the daemon's own CPU, core-s", lambda x: x["cpu"][2])
    row("of it the reader threads, core-s", lambda x: x["cpu"][4]["reader"])
    if backend != "pg":
        row("of it SQLite's threads, core-s", lambda x: x["cpu"][4]["sqlite"])
    row("of it the async workers, core-s", lambda x: x["cpu"][4]["async"])
    row("Dovecot's IMAP, core-s", lambda x: x["cpu"][4]["dovecot"])
    if backend == "pg":
        row("the PostgreSQL server, core-s", lambda x: x["cpu"][4]["postgres"])
    row("machine busy, core-s", lambda x: x["cpu"][0])
    row("peak RSS (VmHWM), MB", lambda x: x["peak"], " MB")
    row("most anonymous RSS seen (heap, stacks), MB", lambda x: x["anon"], " MB")
    row("most file-backed RSS seen (code), MB", lambda x: x["file"], " MB")


def closed_port():
    """A loopback port nothing listens on (bound, then closed)."""
    import socket
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def intake_only(args, backend, mails, workdir):
    """The backlog drained once more on a fresh database with SMTP
    unreachable: the senders wait for the server, so the time and CPU are
    the intake's (reading, the store, IMAP), nothing else's."""
    breach = f"breach-bench@{args.domain}"
    for box in ("INBOX", "Processed", "Quarantine"):
        empty_mailbox(args, breach, box)
    fill_maildir(args, breach, mails)
    m = imap(args, breach)
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(UID)")
    m.logout()
    cfg = os.path.join(workdir, f"bench-{backend}-intake.toml")
    write_config(args, cfg, fresh_db(args, backend, workdir), smtp_port=closed_port())
    d = Daemon(args, cfg, os.path.join(workdir, f"daemon-{backend}-intake.log"))
    mon = imap(args, breach)
    # BENCH_PERF=PREFIX: this drain's CPU profile too, in PREFIX-BACKEND-intake.data.
    perf = start_perf(f"{backend}-intake", d)
    window = CpuWindow(d.p.pid)
    out = {"intake": wait_inbox_empty(args, d, mon, f"intake alone {backend}")}
    perf = stop_perf(perf)
    out["intake_cpu"] = window.end(
        f"{backend}: intake alone: INBOX empty after {out['intake']:.2f} s", top=6)
    out["intake_peak"] = proc_kb(d.p.pid, "VmHWM") / 1024
    mon.logout()
    d.stop()
    return out


def sql(db_url, statements, fetch=None):
    """Runs statements (and one fetch query) on the bench database."""
    if db_url.startswith("sqlite://"):
        path = sqlite_path(db_url)
        c = sqlite3.connect(path, timeout=30)
        for st in statements:
            c.execute(st)
        c.commit()
        rows = c.execute(fetch).fetchall() if fetch else []
        c.close()
        return rows
    text = ";\n".join(statements + ([fetch] if fetch else [])) + ";"
    out = subprocess.run(["psql", db_url, "-v", "ON_ERROR_STOP=1", "-AtqF", "\t", "-c", text],
                         capture_output=True, text=True, check=True)
    return [tuple(l.split("\t")) for l in out.stdout.splitlines() if l.strip()] if fetch else []


def parse_ts(v):
    if isinstance(v, datetime):
        return v
    v = v.strip().replace(" ", "T")
    if v.endswith("+00"):
        v += ":00"
    if "." in v:  # fromisoformat wants at most 6 fraction digits
        head, rest = v.split(".", 1)
        frac = re.match(r"\d+", rest).group(0)
        v = head + "." + frac[:6].ljust(6, "0") + rest[len(frac):]
    return datetime.fromisoformat(v)


def reminders(args, backend, db_url, cfg, logpath):
    """Makes R open cases (copies of the drain's cases) whose +24 h reminder
    falls due in the same second, starts the daemon, and measures how late
    each reminder was queued (its timeline event) and handed to SMTP (the
    outbox row's sent_at); then the floor: Postfix accepting as many mails on
    `smtp.senders` connections, back to back."""
    want = args.reminders
    purge_bench_queue(args)
    have = int(sql(db_url, [], "SELECT COUNT(*) FROM cases")[0][0])
    if have == 0:
        return {}
    copies = (want + have - 1) // have
    if backend == "sqlite":
        cols = [c[1] for c in sql(db_url, [], "PRAGMA table_info(cases)") if c[1] not in ("id",)]
        ks = "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d) " % (copies - 1)
    else:
        cols = [c[0] for c in sql(db_url, [], "SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = 'cases' ORDER BY ordinal_position")
                if c[0] != "id"]
        ks = "WITH k(i) AS (SELECT generate_series(1, %d)) " % (copies - 1)
    sel = ", ".join("c.ref || '-R' || k.i" if c == "ref" else f"c.{c}" for c in cols)
    stmts = []
    if copies > 1:
        stmts.append(f"INSERT INTO cases ({', '.join(cols)}) {ks} SELECT {sel} FROM cases c, k")
        # Each copy's plan row (migration 0018), its timeline not begun.
        stmts.append("INSERT INTO case_plans (case_id) SELECT id FROM cases "
                     "WHERE id NOT IN (SELECT case_id FROM case_plans)")
    due = (datetime.now(timezone.utc) + timedelta(seconds=25)).replace(microsecond=0)
    aware = due - timedelta(hours=24)
    deadline = aware + timedelta(hours=72)
    first = f"SELECT id FROM cases ORDER BY id LIMIT {want}"
    stmts.append(f"UPDATE cases SET state = 'received', aware_at = '{aware.isoformat()}', "
                 f"deadline_at = '{deadline.isoformat()}' WHERE id IN ({first})")
    stmts.append(f"UPDATE case_plans SET next_reminder_at = '{due.isoformat()}', "
                 f"next_reminder_seq = 0 WHERE case_id IN ({first})")
    stmts.append(f"UPDATE case_plans SET next_reminder_at = NULL WHERE case_id NOT IN ({first})")
    sql(db_url, stmts)
    n = int(sql(db_url, [], "SELECT COUNT(*) FROM case_plans WHERE next_reminder_at IS NOT NULL")[0][0])
    log(f"{backend}: {n} open cases, reminders due at {due.isoformat()}")
    d = Daemon(args, cfg, logpath)
    d.wait_connected()
    perf = start_perf(f"{backend}-reminders", d)
    t_end = time.monotonic() + 25 + args.timeout / 4
    q_sent = ("SELECT COUNT(*) FROM outbox WHERE purpose IN ('reminder', 'overdue') "
              "AND status = 'sent'")
    while time.monotonic() < t_end:
        sent = int(sql(db_url, [], q_sent)[0][0])
        if sent >= n:
            break
        time.sleep(0.5)
    stop_perf(perf)
    d.stop()
    queued = [parse_ts(a) for (a,) in sql(db_url, [], "SELECT at FROM events WHERE kind IN "
                                                    "('reminder', 'overdue_reminder')")]
    sent = [parse_ts(a) for (a,) in sql(db_url, [], "SELECT sent_at FROM outbox WHERE purpose IN "
                                                  "('reminder', 'overdue') AND sent_at IS NOT NULL")]
    store_floor = burst_store_floor(db_url, due + timedelta(days=2))
    lq = [(t - due).total_seconds() for t in queued]
    ls = [(t - due).total_seconds() for t in sent]
    out = {"rem_n": n, "rem_queued": len(lq), "rem_sent": len(ls),
           "rem_q50": pct(lq, 50), "rem_q99": pct(lq, 99),
           "rem_s50": pct(ls, 50), "rem_s99": pct(ls, 99), "rem_all": max(ls) if ls else None}
    if store_floor is not None:
        out["rem_store_floor"] = store_floor
    # The floor: Postfix accepting as many mails on `senders` connections.
    purge_bench_queue(args)
    out["rem_floor"] = smtp_floor(args, len(ls) or n, senders=4)
    log(f"{backend}: purged {purge_bench_queue(args)} queued bench mails")
    for role in ROLES:
        empty_mailbox(args, f"{role}-bench@{args.domain}", "INBOX")
    return out


def drain_store_floor(db_url, per_tx):
    """The database's own floor for the drain just measured: every message
    row it recorded, the raw mail with it, written again into a copy of the
    `messages` table (the same columns and indexes) in transactions of
    `per_tx` rows (the fetch batch), one multi-row `INSERT … SELECT` each, on
    the server with no client in between; then the copy dropped. What any
    design writes that records a batch before it moves it, plus reading the
    rows back: on PostgreSQL that reading (each raw mail fetched from its
    TOAST table and decompressed) makes it an upper figure, above the
    daemon's own INSERTs of the same rows (docs/benchmarks.md "Session 38").
    What the daemon adds to it: its look-ups, the cases, events and mails,
    and the round trips. Returns (seconds, rows, transactions) or None."""
    try:
        if db_url.startswith("sqlite://"):
            c = sqlite_writer(db_url)
            # The daemon's settings: its page cache, no checkpoint on the
            # writer's path (its own thread copies the WAL in the background).
            c.execute("PRAGMA cache_size = -256")
            c.execute("PRAGMA wal_autocheckpoint = 0")
            sqls = c.execute("SELECT type, sql FROM sqlite_master WHERE tbl_name = 'messages' "
                             "AND sql IS NOT NULL ORDER BY type DESC").fetchall()
            c.execute("DROP TABLE IF EXISTS floor_messages")
            for kind, text in sqls:
                if kind == "table":
                    text = re.sub(r"^CREATE TABLE \"?messages\"?", "CREATE TABLE floor_messages", text)
                else:
                    text = re.sub(r"^CREATE (UNIQUE )?INDEX (\w+) ON messages",
                                  r"CREATE \1INDEX floor_\2 ON floor_messages", text)
                c.execute(text)
            cols = ", ".join(r[1] for r in c.execute("PRAGMA table_info(messages)") if r[1] != "id")
            ids = [r[0] for r in c.execute("SELECT id FROM messages ORDER BY id")]
            t0 = time.monotonic()
            for i in range(0, len(ids), per_tx):
                c.execute("BEGIN IMMEDIATE")
                c.execute(f"INSERT INTO floor_messages ({cols}) SELECT {cols} FROM messages "
                          "WHERE id BETWEEN ? AND ?", (ids[i], ids[min(i + per_tx, len(ids)) - 1]))
                c.execute("COMMIT")
            took = time.monotonic() - t0
            c.execute("DROP TABLE floor_messages")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
        else:
            cols = [r[0] for r in sql(db_url, [], "SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'messages' AND column_name <> 'id' "
                                      "ORDER BY ordinal_position")]
            ids = [int(r[0]) for r in sql(db_url, [], "SELECT id FROM messages ORDER BY id")]
            # `raw || ''`: a new value, compressed again as the daemon's
            # INSERT has it compressed (a copied value would keep its
            # compressed bytes).
            sel = ", ".join("raw || ''::bytea" if col == "raw" else col for col in cols)
            script = ["DROP TABLE IF EXISTS floor_messages;",
                      "CREATE TABLE floor_messages (LIKE messages INCLUDING ALL);", "\\timing on"]
            for i in range(0, len(ids), per_tx):
                script += ["BEGIN;", f"INSERT INTO floor_messages ({', '.join(cols)}) SELECT {sel} "
                           f"FROM messages WHERE id BETWEEN {ids[i]} AND {ids[min(i + per_tx, len(ids)) - 1]};",
                           "COMMIT;"]
            script += ["\\timing off", "DROP TABLE floor_messages;"]
            took = psql_timed(db_url, "\n".join(script) + "\n")
        n_tx = (len(ids) + per_tx - 1) // per_tx
        log(f"store floor of the drain: {len(ids)} message rows in {n_tx} transactions, {took:.2f} s")
        return (took, len(ids), n_tx)
    except (subprocess.CalledProcessError, sqlite3.Error, ValueError, IndexError) as e:
        log(f"store floor of the drain not measured: {e}")
        return None


def burst_store_floor(db_url, later):
    """The database's own floor for the burst just measured: the rows the
    clock wrote for it (each reminded case's plan, counter and timeline head;
    its events; its mails and their raw bytes) written again by set-based SQL
    in one transaction on the server, no client in between, then rolled
    back. Returns (seconds, reminders) or None. What the daemon adds to this
    is its own work: reading, composing and sealing, and the round trips."""
    reminded = "SELECT case_id FROM events WHERE kind IN ('reminder', 'overdue_reminder')"
    # The reminded cases' rows locked, as the clock locks them (PostgreSQL;
    # SQLite's write transaction holds its one lock).
    lock = f"SELECT COUNT(*) FROM (SELECT id FROM cases WHERE id IN ({reminded}) FOR UPDATE) AS l"
    stmts = [
        "UPDATE register_counter SET last = last + 1 WHERE id = 1",
        # A new plan moves an indexed column, as the clock's does (its own
        # narrow row since migration 0018).
        f"UPDATE case_plans SET next_reminder_at = '{later.isoformat()}', "
        f"next_reminder_seq = next_reminder_seq + 1, reminders_sent = reminders_sent + 1, "
        f"timeline_head = timeline_head WHERE case_id IN ({reminded})",
        # Each reminder's transaction's events (they share its instant).
        "INSERT INTO events (case_id, seq, at, kind, actor, data, prev_hash, hash, seal) "
        "SELECT e.case_id, e.seq + 1000000, e.at, e.kind, e.actor, e.data, e.prev_hash, e.hash, e.seal "
        "FROM events e JOIN events r ON r.case_id = e.case_id AND r.at = e.at "
        "AND r.kind IN ('reminder', 'overdue_reminder')",
        "INSERT INTO outbox (case_id, dedupe_key, message_id, purpose, envelope_from, recipients, "
        "subject, status, attempts, next_attempt_at, created_at, priority_at) "
        "SELECT case_id, dedupe_key || '-floor', message_id || '-floor', purpose, envelope_from, "
        "recipients, subject, 'pending', 0, next_attempt_at, created_at, priority_at FROM outbox "
        "WHERE purpose IN ('reminder', 'overdue')",
        "INSERT INTO outbox_raw (id, raw) SELECT n.id, r.raw FROM outbox o "
        "JOIN outbox_raw r ON r.id = o.id JOIN outbox n ON n.message_id = o.message_id || '-floor' "
        "WHERE o.purpose IN ('reminder', 'overdue')",
    ]
    try:
        n = int(sql(db_url, [], reminded.replace("SELECT case_id", "SELECT COUNT(*)"))[0][0])
        if db_url.startswith("sqlite://"):
            c = sqlite_writer(db_url)
            c.execute("BEGIN IMMEDIATE")
            t0 = time.monotonic()
            for st in stmts:
                c.execute(st)
            took = time.monotonic() - t0
            c.execute("ROLLBACK")
            c.close()
        else:
            took = psql_timed(db_url, "\\timing on\nBEGIN;\n" + ";\n".join([lock] + stmts) + ";\nROLLBACK;\n")
        log(f"store floor of the burst: {n} reminders' rows in {took:.2f} s")
        return (took, n)
    except (subprocess.CalledProcessError, sqlite3.Error, ValueError, IndexError) as e:
        log(f"store floor of the burst not measured: {e}")
        return None


def bench_queue_ids(args):
    """The queue ids of Postfix's queued mail whose recipients are all bench
    users (None when the queue cannot be read)."""
    conf = os.environ.get("MAILSTACK_POSTFIX_CONFIG_DIR")
    if not conf:
        return None
    try:
        out = subprocess.run(["postqueue", "-c", conf, "-j"], capture_output=True,
                             text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    ids = []
    for line in out.splitlines():
        try:
            q = json.loads(line)
        except ValueError:
            continue
        rcpts = [r.get("address", "") for r in q.get("recipients", [])]
        if rcpts and all(a.endswith(f"-bench@{args.domain}") for a in rcpts):
            ids.append(q["queue_id"])
    return ids


def settle_bench_queue(args, timeout=120.0):
    """Waits until Postfix has delivered the bench's queued mail (the drain's
    acknowledgements go on being delivered through LMTP after the daemon
    handed them over), at most `timeout` s, then purges what is left: the
    next measurement must not share the cores with that delivery."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ids = bench_queue_ids(args)
        if not ids:
            log(f"Postfix's queue holds no bench mail after {time.monotonic() - t0:.1f} s")
            return
        time.sleep(0.5)
    log(f"Postfix still held bench mail after {timeout:.0f} s: purged {purge_bench_queue(args)}")


def purge_bench_queue(args):
    """Deletes the bench's mail still waiting in Postfix's queue for local
    delivery (e.g. 30,000 reminder copies and the floor's 10,000): its
    delivery kept Dovecot's LMTP busy for minutes and slowed the next
    measurement. Only mail to the bench users; other users' mail stays."""
    conf = os.environ.get("MAILSTACK_POSTFIX_CONFIG_DIR")
    ids = bench_queue_ids(args)
    if not ids:
        return 0
    subprocess.run(["postsuper", "-c", conf, "-d", "-"], input="\n".join(ids) + "\n",
                   text=True, capture_output=True, timeout=300)
    return len(ids)


def smtp_floor(args, n, senders):
    import threading
    to = f"dpo-bench@{args.domain}"
    frm = f"breach-bench@{args.domain}"
    body = ("Subject: floor\r\nFrom: <%s>\r\nTo: <%s>\r\n\r\n" % (frm, to) + "x" * 1500 + "\r\n").encode()
    per = [n // senders + (1 if i < n % senders else 0) for i in range(senders)]

    def one(k):
        s = smtplib.SMTP("127.0.0.1", args.smtp_port)
        for _ in range(k):
            s.sendmail(frm, [to], body)
        s.quit()
    t0 = time.monotonic()
    ts = [threading.Thread(target=one, args=(k,)) for k in per]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.monotonic() - t0


def fmt_s(x):
    return "—" if x is None else f"{x:.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--imaps-port", type=int, default=3993)
    ap.add_argument("--smtp-port", type=int, default=2525)
    ap.add_argument("--password", default="secret")
    ap.add_argument("--domain", default="example.test")
    ap.add_argument("--mail-dir", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--latency-runs", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--drain-latency-runs", type=int, default=20,
                    help="notices sent one by one while the backlog drains (ack timed); 0: none")
    ap.add_argument("--reminders", type=int, default=10000,
                    help="open cases with a reminder due in the same minute; 0: skip")
    ap.add_argument("--intake-only", type=int, default=1,
                    help="1: drain the backlog once more with SMTP unreachable (intake alone)")
    ap.add_argument("--pg", default="", help="PostgreSQL admin URL; empty: SQLite only")
    ap.add_argument("--sqlite", type=int, default=1, help="0: PostgreSQL only (with --pg)")
    ap.add_argument("--ab", default="",
                    help="a second binary: compare the two binaries' drains, alternated, instead")
    ap.add_argument("--ab-rounds", type=int, default=3)
    args = ap.parse_args()

    breach, staff = f"breach-bench@{args.domain}", f"staff-bench@{args.domain}"
    mails = make_mix(args.n, args.fixtures, args.corpus, staff, breach)
    mb = sum(len(m) for m in mails) / 1e6
    log(f"mix: {len(mails)} messages, {mb:.1f} MB")
    if args.ab:
        backends = (["sqlite"] if args.sqlite or not args.pg else []) + (["pg"] if args.pg else [])
        ab = {b: ab_compare(args, b, mails, args.workdir) for b in backends}
        for box in ("INBOX", "Processed", "Quarantine"):
            empty_mailbox(args, breach, box)
        print(f"\n{len(mails)} messages ({mb:.1f} MB), {os.cpu_count()} cores")
        for b, runs in ab.items():
            print_ab(args, b, runs)
        return
    results = {}
    if args.sqlite or not args.pg:
        results["SQLite"] = run_backend(args, "sqlite", mails, args.workdir)
    if args.pg:
        results["PostgreSQL"] = run_backend(args, "pg", mails, args.workdir)
    for box in ("INBOX", "Processed", "Quarantine"):
        empty_mailbox(args, breach, box)  # leave no 72 MB behind

    cols = list(results)
    print(f"\n{len(mails)} messages ({mb:.1f} MB: {max(1, args.n // 10)} forwarded notices + public corpus), "
          f"{os.cpu_count()} cores, {args.bin}")
    print("| figure | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))

    def row(name, f):
        print(f"| {name} | " + " | ".join(f(results[c]) for c in cols) + " |")

    row("bare `UID FETCH 1:* (BODY.PEEK[] INTERNALDATE)` (floor)", lambda r: fmt_s(r["fetch"]))
    row("bare `UID MOVE 1:*` of the backlog (Dovecot's part)", lambda r: fmt_s(r.get("move")))
    row("INBOX empty (from process start)", lambda r: "—" if r["inbox"] is None else
        f"{r['inbox']:.2f} s ({len(mails) / r['inbox']:.0f} msg/s, {r['inbox'] / r['fetch']:.0f}× floor)")
    row("floor: the drain's message rows (raw mail with them) written again, a transaction per batch",
        lambda r: "—" if "drain_store_floor" not in r else
        f"{r['drain_store_floor'][0]:.2f} s ({r['drain_store_floor'][1]} rows, "
        f"{r['drain_store_floor'][2]} transactions; bare fetch + it = "
        f"{r['fetch'] + r['drain_store_floor'][0]:.2f} s)")
    row("CPU during the drain: machine busy / of it steal / the daemon's own", lambda r: "—" if "cpu" not in r else
        f"{r['cpu'][0]:.1f} of {r['cpu'][3]:.1f} core-s ({100 * r['cpu'][0] / max(r['cpu'][3], 1e-9):.0f} %) / "
        f"{r['cpu'][1]:.1f} / {r['cpu'][2]:.1f} core-s")
    # Who spent it: the three works a drain cannot skip are Dovecot's (serve
    # and move the mail), the reader's (read each message) and the store's
    # (SQLite's threads, or on PostgreSQL the server's processes); the async
    # workers carry the TLS, the IMAP parser, the statements' arguments and
    # the composed mails.
    row("CPU during the drain by whom: reader / SQLite's threads / async workers / the daemon's other; "
        "Dovecot's IMAP; the PostgreSQL server",
        lambda r: "—" if "cpu" not in r else
        "{reader:.1f} / {sqlite:.1f} / {async:.1f} / {other:.1f}; {dovecot:.1f}; {postgres:.1f} core-s"
        .format(**r["cpu"][4]))
    # No schedule of the work done can end the drain sooner than the machine's
    # busy core-seconds spread over every core (the daemon, Dovecot, the
    # kernel's writeback): the drain's CPU floor, beside the bare fetch.
    cores = os.cpu_count() or 1

    def cpu_floor(r, key):
        if key not in r:
            return "—"
        t = r[key][0] / cores
        return f"{t:.2f} s ({t / r['fetch']:.1f}× floor)"

    row("CPU floor: machine busy ÷ cores, drain / intake alone", lambda r:
        f"{cpu_floor(r, 'cpu')} / {cpu_floor(r, 'intake_cpu')}")
    if args.intake_only:
        row("INBOX empty, intake alone (SMTP unreachable)", lambda r: "—" if r.get("intake") is None else
            f"{r['intake']:.2f} s ({r['intake'] / r['fetch']:.0f}× floor; machine "
            f"{r['intake_cpu'][0]:.1f} of {r['intake_cpu'][3]:.1f} core-s, the daemon's own "
            f"{r['intake_cpu'][2]:.1f}; peak {r['intake_peak']:.1f} MB)")
    row("outbox drained", lambda r: "—" if r["outbox"] is None else
        f"{r['outbox']:.2f} s ({r.get('outbox_mails', 0)} mails, {r['outbox'] / r['fetch']:.0f}× floor)")
    row("notice → ack p50 / p99 (idle)", lambda r: f"{r['p50']:.2f} s / {r['p99']:.2f} s ({r['lat_n']} notices)")
    if args.drain_latency_runs > 0:
        row("notice → ack p50 / p99 (during the drain)", lambda r: "—" if not r.get("dlat_n") else
            f"{r['dp50']:.2f} s / {r['dp99']:.2f} s ({r['dlat_n']} notices"
            + (f", {r['dlat_missing']} unanswered in 30 s" if r.get('dlat_missing') else "") + ")")
    row("idle RSS after start", lambda r: f"{r['idle_rss']:.1f} MB ({r['threads']} threads; "
        f"{r['idle_anon']:.1f} MB anonymous, the rest the executable's and libraries' pages)")
    row("peak RSS during the drain (VmHWM)", lambda r: f"{r['peak_rss']:.1f} MB")
    row("most anonymous / most file-backed RSS seen during the drain (every 50 ms)",
        lambda r: f"{r['peak_anon']:.1f} MB / {r['peak_file']:.1f} MB")
    if args.reminders > 0:
        row("reminders due in one second: open cases", lambda r: str(r.get("rem_n", "—")))
        row("reminder queued after due p50 / p99", lambda r: "—" if "rem_q50" not in r else
            f"{r['rem_q50']:.2f} s / {r['rem_q99']:.2f} s ({r['rem_queued']} queued)")
        row("reminder handed to SMTP after due p50 / p99 / last", lambda r: "—" if "rem_s50" not in r else
            f"{r['rem_s50']:.2f} s / {r['rem_s99']:.2f} s / {fmt_s(r['rem_all'])} ({r['rem_sent']} sent)")
        row("floor: the burst's rows written by set-based SQL in one transaction (rolled back)",
            lambda r: "—" if "rem_store_floor" not in r else
            f"{r['rem_store_floor'][0]:.2f} s ({r['rem_store_floor'][1]} reminders; queued p99 "
            f"{(r.get('rem_q99') or 0) / max(r['rem_store_floor'][0], 1e-9):.1f}× it)")
        row("floor: Postfix accepts as many on 4 connections", lambda r: "—" if "rem_floor" not in r else
            f"{r['rem_floor']:.2f} s ({(r['rem_all'] or 0) / r['rem_floor']:.1f}× floor)")


if __name__ == "__main__":
    main()
