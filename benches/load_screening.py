"""A bounded load test of screening: many reviewers at once against gunicorn and PostgreSQL on
loopback, for a fixed time. It passes when no request met a server error and every decision
the server acknowledged is stored, once, with the verdict that was sent.

    .venv/bin/python benches/load_screening.py [--users 50] [--seconds 60] [--workers 4]
        [--threads 4] [--records 5000] [--order prioritised|random|import] [--think-ms 0]
        [--reload-every 10] [--conn-max-age N] [--server-root ../base --server-root .]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--cache-url redis://127.0.0.1:6379/9]

The run creates a fresh database (reviewmgr_load_<pid>), migrates it, and seeds it through
the product's services: one review with its lead, the reviewers (one known password), and
real titles and abstracts from ../shared/corpus/screening imported as a RIS file (beyond the
corpus's 6,415 records, synthetic ones written in bulk: see `seed_synthetic`), screened with
the default settings (two reviewers per record at title/abstract). It then serves the
product with gunicorn (DEBUG off, WhiteNoise with collected static files, Redis as the shared
cache) and lets every simulated reviewer log in and screen as the keyboard-driven page does:
one full page, then for each key press an htmx POST of the decision form, whose answer is the
next record; the page is loaded again every --reload-every decisions.

The cache database given by --cache-url is emptied first: record ids start again at 1 in a
fresh database, so claims and counters left from another run would be wrong. Afterwards
gunicorn is stopped and the database dropped, also on failure or Ctrl-C. The exit status is
1 when a request met a server error or the stored decisions fail a check (see `report`).
"""

from __future__ import annotations

import argparse
import csv
import html
import http.client
import logging
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "screening"
# (file, label column): real screening sets, see their SOURCES.md
CORPUS_FILES = [
    ("nudging_Nagtegaal2019.csv", "included"),
    ("ace_Cohen2006_ACEInhibitors.csv", "label_included"),
    ("wilson_AppenzellerHerzog2019.csv", "included"),
]
PASSWORD = "load-test-password-not-secret"
SLUG = "load-test"
STAGE = "ta"
HOST = "127.0.0.1"

DECIDE_ACTION = re.compile(rf'action="(/reviews/{SLUG}/screen/{STAGE}/(\d+)/decide/)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
REASON_OPTION = re.compile(r'<option value="([^"]+)"')
ALERT = re.compile(r'role="alert">(.*?)</p>', re.S)
OVERTAKEN = "Your decision was not needed"
IMMEDIATE_TASKS = "django.tasks.backends.immediate.ImmediateBackend"


# Seeding -------------------------------------------------------------------------------------


def corpus_records() -> list[tuple[str, str, bool]]:
    """(title, abstract, finally included) of the records of the three sets."""
    records = []
    for name, label in CORPUS_FILES:
        with (CORPUS / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                records.append((row["title"], row["abstract"], row[label] == "1"))
    return records


def ris_file(records: list[tuple[str, str, bool]]) -> bytes:
    lines = []
    for title, abstract, _ in records:
        lines += ["TY  - JOUR", f"TI  - {' '.join(title.split())}"]
        lines += [f"AB  - {' '.join(abstract.split())}", "ER  - ", ""]
    return "\n".join(lines).encode()


def seed(*, users: int, count: int, order: str) -> dict[int, bool]:
    """The review, its members and `count` records, through the product's services. Runs in
    this process (Django set up from the environment); returns each record id's label.

    Up to the corpus's size, real records go through the import path (with the first
    ranking); beyond it, synthetic ones (see `seed_synthetic`)."""
    from django.contrib.auth.hashers import make_password
    from django.core.cache import cache
    from django.test.utils import override_settings

    from reviewmgr import services
    from reviewmgr.models import User
    from screening.models import RecordScreening
    from screening.services import config_for, update_screening_settings

    logging.getLogger("django.tasks").setLevel(logging.WARNING)  # one line per ranking
    cache.clear()
    lead = User.objects.create_user("load-lead", password=PASSWORD)
    review = services.create_review(
        title="Load test",
        slug=SLUG,
        user=lead,
        question="Which interventions change clinicians' and patients' behaviour?",
        inclusion_criteria="Controlled studies of an intervention in a clinical setting.",
        exclusion_criteria="Reviews, editorials, studies without a comparator.",
    )
    if config_for(review).order != order:
        update_screening_settings(review=review, user=lead, order=order)
    hashed = make_password(PASSWORD)  # one slow hash, shared: the users differ by name only
    User.objects.bulk_create(User(username=reviewer_name(n), password=hashed) for n in range(users))
    for n in range(users):
        services.add_member(review=review, username=reviewer_name(n), roles=["reviewer"])
    records = corpus_records()
    if count > len(records):
        labels = seed_synthetic(review, lead, count)
    else:
        records = records[:count]
        # The first ranking (fitting the feature space) runs here, before the clock starts,
        # not on a thread of this process that would go on during the run.
        with override_settings(TASKS={"default": {"BACKEND": IMMEDIATE_TASKS}}):
            _, ids = services.import_records(
                review=review,
                data=ris_file(records),
                file_name="corpus.ris",
                user=lead,
                find_duplicates=False,
            )
        labels = {pk: included for pk, (*_, included) in zip(ids, records, strict=True)}
    queued = RecordScreening.objects.filter(review=review, stage=STAGE).count()
    if queued != count:
        raise SystemExit(f"seeding: {queued} records queued for screening, not {count}")
    return labels


SYNTHETIC_CHUNK = 20_000


def seed_synthetic(review, lead, count: int) -> dict[int, bool]:
    """`count` synthetic records (benches/synthetic.py: realistic titles, authors and
    abstracts) written in chunks with PostgreSQL's COPY, then queued for screening by the
    product's own `sync_screening_rows`. This is not the import path (deduplication, the
    first ranking): it sets up a review of a size the import could not reach in reasonable
    time, to measure screening on it. No ranking runs: the queue keeps import order."""
    from django.db import connection, transaction
    from django.utils import timezone

    from reviewmgr import bulk
    from reviewmgr.models import ImportBatch, Record
    from screening.services import sync_screening_rows
    from seeds.synthetic import generate_records

    started = time.perf_counter()
    batch = ImportBatch.objects.create(
        review=review, status=ImportBatch.Status.DONE, file_name="synthetic.ris"
    )
    columns = [column for column in Record._meta.concrete_fields if not column.primary_key]
    now = timezone.now()
    for start in range(0, count, SYNTHETIC_CHUNK):
        made = generate_records(min(SYNTHETIC_CHUNK, count - start), seed=start)
        rows = []
        for offset, values in enumerate(made):
            given = {**values, "review": review.pk, "batch": batch.pk, "position": start + offset}
            given["created_at"] = now
            row = []
            for column in columns:
                value = given[column.name] if column.name in given else column.get_default()
                row.append(column.get_db_prep_save(value, connection))
            rows.append(row)
        with transaction.atomic():
            bulk.insert_rows(Record, columns, rows)
        print(f"  {start + len(made):,} records written", flush=True)
    bulk.refresh_statistics(Record)
    sync_screening_rows(review=review)
    print(f"  queued for screening in {time.perf_counter() - started:.0f} s", flush=True)
    return {}


def reviewer_name(n: int) -> str:
    return f"reviewer{n:02d}"


# The server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, log: Path, root: Path = ROOT
) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "reviewmgr.wsgi"]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads)]
    command += ["--log-level", "warning"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            env={**env, "PYTHONPATH": str(root)},
            cwd=root,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def server_errors(log: Path, limit: int = 3) -> list[str]:
    """The first tracebacks the server logged, each cut to its last lines."""
    if not log.exists():
        return []
    blocks, current = [], None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Traceback"):
            current = [line]
            blocks.append(current)
        elif current is not None:
            current.append(line)
            if line and not line.startswith((" ", "Traceback", "During", "The above")):
                current = None  # the exception line ends the block
    return ["\n".join(block[-25:]) for block in blocks[:limit]]


# Where the CPU went (Linux /proc) ------------------------------------------------------------


def processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (name, parent pid, CPU seconds of the process and of its children that ended)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (name, int(fields[1]), sum(map(int, fields[11:15])) / tick)
    return found


def machine_seconds() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot."""
    first_line = Path("/proc/stat").read_text().split("\n", 1)[0]
    values = [int(v) for v in first_line.split()[1:9]]  # user .. steal; guest is inside user
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), idle / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server: subprocess.Popen) -> dict[str, float]:
    table = processes()
    gunicorn = sum(cpu for pid, (_, ppid, cpu) in table.items() if server.pid in (pid, ppid))
    postgres = sum(cpu for name, _, cpu in table.values() if name.startswith("postgres"))
    busy, idle = machine_seconds()
    return {
        "gunicorn": gunicorn,
        "postgres": postgres,
        "clients": time.process_time(),
        "busy": busy,
        "idle": idle,
    }


# One reviewer's browser ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    text: str
    seconds: float


class Browser:
    """Cookies and headers as a browser keeps them; one connection per request, as gunicorn
    sees it behind a reverse proxy."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"http://{HOST}:{port}"
        self.cookies: dict[str, str] = {}
        self.header_token = ""  # the full page's token, which htmx sends as X-CSRFToken

    def send(
        self, method: str, path: str, fields: dict | None = None, headers: dict | None = None
    ) -> Answer:
        sent = {"User-Agent": "reviewmgr-load-test", "Accept": "text/html", **(headers or {})}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.origin
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Answer(response.status, text, seconds)


# The load ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What every reviewer saw, gathered under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    acknowledged: dict[tuple[str, int], str] = field(default_factory=dict)
    redecided: int = 0
    overtaken: int = 0
    server_errors: int = 0
    other_errors: list[str] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    warm_up: dict[str, list[float]] = field(default_factory=dict)

    def timed(self, kind: str, answer: Answer) -> None:
        with self.lock:
            self.seconds[kind].append(answer.seconds)
            self.statuses[answer.status] += 1

    def server_error(self, detail: str) -> None:
        with self.lock:
            self.server_errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(detail)

    def other_error(self, detail: str) -> None:
        with self.lock:
            self.other_errors.append(detail)

    def acknowledge(self, reviewer: str, record_id: int, verdict: str) -> None:
        with self.lock:
            if (reviewer, record_id) in self.acknowledged:
                self.redecided += 1
            self.acknowledged[(reviewer, record_id)] = verdict


@dataclass
class Plan:
    port: int
    users: int
    seconds: float
    think_ms: float
    reload_every: int
    labels: dict[int, bool]
    screen_path: str = f"/reviews/{SLUG}/screen/{STAGE}/"


def choose(rng: random.Random, included: bool, reasons: list[str]) -> tuple[str, str]:
    """A reviewer's verdict: the set's own inclusions, some more (title/abstract screening is
    generous), now and then 'maybe'; most exclusions carry a reason chosen with keys 1-9."""
    if included or rng.random() < 0.10:
        return "include", ""
    if rng.random() < 0.03:
        return "maybe", ""
    return "exclude", rng.choice(reasons) if reasons and rng.random() < 0.7 else ""


# Before the clock starts. Each login checks a PBKDF2 hash (a third of a second of CPU): fifty
# at once on a busy machine ran past the client's 60 s timeout.
LOGINS_AT_ONCE = threading.BoundedSemaphore(4)


class SimulatedReviewer:
    """One person at the keyboard-driven screen. Before the clock starts: log in and open the
    screen. Then: read the record (the think time), press a key (an htmx POST of the decision
    form), and go on with the record the answer brings."""

    def __init__(self, n: int, plan: Plan, tally: Tally) -> None:
        self.name = reviewer_name(n)
        self.plan = plan
        self.tally = tally
        self.rng = random.Random(n)
        self.browser = Browser(plan.port)

    def request(self, kind: str, method: str, path: str, fields=None, headers=None):
        try:
            answer = self.browser.send(method, path, fields, headers)
        except (OSError, http.client.HTTPException) as error:
            self.tally.other_error(f"{self.name} {method} {path}: {error!r}")
            return None
        self.tally.timed(kind, answer)
        if answer.status >= 500:
            self.tally.server_error(f"{self.name} {method} {path}: {answer.status}")
            return None
        return answer

    def open_screen(self) -> Answer | None:
        answer = self.request("page", "GET", self.plan.screen_path)
        if answer is not None and answer.status != 200:
            self.tally.other_error(f"{self.name} GET {self.plan.screen_path}: {answer.status}")
            return None
        if answer is not None and (token := CSRF_HEADER.search(answer.text)):
            self.browser.header_token = html.unescape(token.group(1))
        return answer

    def log_in(self) -> Answer | None:
        form = self.request("login", "GET", "/accounts/login/")
        token = CSRF_FIELD.search(form.text) if form else None
        fields = {
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "username": self.name,
            "password": PASSWORD,
            "next": "",
        }
        origin = {"Referer": self.browser.origin + "/accounts/login/"}
        answer = self.request("login", "POST", "/accounts/login/", fields, origin)
        if answer is None or answer.status != 302:
            self.tally.other_error(f"{self.name} could not log in ({answer and answer.status})")
            return None
        return self.open_screen()

    def decide(self, page: Answer) -> Answer | None:
        """One key press; returns the screen that follows (None after an error)."""
        action = DECIDE_ACTION.search(page.text)
        record_id = int(action.group(2))
        reasons = [html.unescape(r) for r in REASON_OPTION.findall(page.text)]
        verdict, reason = choose(self.rng, self.plan.labels.get(record_id, False), reasons)
        fields = {
            "csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1),
            "reason": reason,
            "note": "",
            "tags": "",
            "verdict": verdict,
        }
        screen_url = self.browser.origin + self.plan.screen_path
        headers = {  # what htmx sends for hx-post on #decide-form, with the body's hx-headers
            "HX-Request": "true",
            "HX-Current-URL": screen_url,
            "HX-Target": "screen-main",
            "HX-Trigger": "decide-form",
            "X-CSRFToken": self.browser.header_token,
            "Referer": screen_url,
        }
        answer = self.request("decide", "POST", action.group(1), fields, headers)
        if answer is None:
            return None
        alert = ALERT.search(answer.text)
        if answer.status != 200 or 'id="screen-main"' not in answer.text:
            self.tally.other_error(f"{self.name} POST {action.group(1)}: {answer.status}")
            return None
        if alert is None:
            self.tally.acknowledge(self.name, record_id, verdict)
        elif OVERTAKEN in alert.group(1):
            with self.tally.lock:
                self.tally.overtaken += 1
        else:
            message = html.unescape(alert.group(1))
            self.tally.other_error(f"{self.name} POST {action.group(1)}: refused: {message}")
            return None
        return answer

    def screen(self, page: Answer | None, stop: threading.Event) -> None:
        decided = 0
        while not stop.is_set():
            if page is None:
                stop.wait(0.2)  # after an error, as a person would: the page again
                page = self.open_screen()
                continue
            if not DECIDE_ACTION.search(page.text):
                if "Nothing left for you" not in page.text:
                    self.tally.other_error(f"{self.name}: a screen without a decision form")
                return
            if self.plan.think_ms and stop.wait(self.rng.uniform(0, self.plan.think_ms) / 1000):
                return
            page = self.decide(page)
            decided += 1
            if (
                page is not None
                and self.plan.reload_every
                and decided % self.plan.reload_every == 0
            ):
                page = self.open_screen()

    def run(self, start: threading.Barrier, stop: threading.Event) -> None:
        page = None
        try:
            with LOGINS_AT_ONCE:
                page = self.log_in()
        except Exception as error:  # a bug here must not leave the others waiting
            self.tally.other_error(f"{self.name}: {error!r}")
        try:
            start.wait()
        except threading.BrokenBarrierError:
            return
        if page is None:
            return
        try:
            self.screen(page, stop)
        except Exception as error:
            self.tally.other_error(f"{self.name}: {error!r}")


def run_load(plan: Plan, server: subprocess.Popen) -> tuple[Tally, float, dict[str, float]]:
    """Everyone logs in and opens the screen; then the clock runs for `plan.seconds`."""
    tally = Tally()
    start = threading.Barrier(plan.users + 1)
    stop_event = threading.Event()
    threads = [
        threading.Thread(
            target=SimulatedReviewer(n, plan, tally).run, args=(start, stop_event), daemon=True
        )
        for n in range(plan.users)
    ]
    for thread in threads:
        thread.start()
    start.wait(timeout=900)
    with tally.lock:  # the window's figures begin here; logins are kept apart
        warm_up = {kind: list(values) for kind, values in tally.seconds.items()}
        tally.seconds.clear()
        tally.statuses.clear()
    cpu_before = cpu_snapshot(server)
    started = time.perf_counter()
    time.sleep(plan.seconds)
    stop_event.set()
    for thread in threads:
        thread.join(timeout=120)
    window = time.perf_counter() - started
    cpu = {k: v - cpu_before[k] for k, v in cpu_snapshot(server).items()}
    tally.warm_up = warm_up
    if any(thread.is_alive() for thread in threads):
        tally.other_error("a reviewer's request was still open 120 s after the end")
    return tally, window, cpu


# Checks and report ---------------------------------------------------------------------------


def stored_decisions(users: int) -> dict:
    from django.db.models import Count, F, Q

    from screening.models import Decision, RecordScreening

    names = [reviewer_name(n) for n in range(users)]
    decisions = Decision.objects.filter(
        record__review__slug=SLUG, stage=STAGE, reviewer__username__in=names
    )
    stored = {
        (reviewer, record_id): verdict
        for reviewer, record_id, verdict in decisions.values_list(
            "reviewer__username", "record_id", "verdict"
        )
    }
    twice = (
        Decision.objects.filter(record__review__slug=SLUG)
        .values("record", "stage", "reviewer")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    states = RecordScreening.objects.filter(review__slug=SLUG, stage=STAGE).annotate(
        made=Count("record__decisions", filter=Q(record__decisions__stage=STAGE))
    )
    return {
        "stored": stored,
        "twice": twice,
        "over_limit": states.filter(made__gt=F("required")).count(),
        "counter_off": states.exclude(made=F("decision_count")).count(),
    }


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank."""
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def latency_row(label: str, seconds: list[float], window: float) -> str:
    if not seconds:
        return f"| {label} | 0 | | | | | |"
    ms = sorted(s * 1000 for s in seconds)
    figures = [percentile(ms, p) for p in (0.5, 0.95, 0.99)] + [ms[-1]]
    cells = " | ".join(f"{value:,.0f}" for value in figures)
    return f"| {label} | {len(ms):,} | {len(ms) / window:,.1f} | {cells} |"


def summary_row(args, tally: Tally, window: float, stored: int) -> str:
    """One line for a table of runs: | reviewers | gunicorn | think | s | requests | req/s |
    acknowledged | stored | refused | decide p50/p95/p99/max | page p50/p95/p99/max | 5xx |
    other errors |"""

    def figures(seconds: list[float]) -> str:
        ms = sorted(s * 1000 for s in seconds) or [0.0]
        values = [percentile(ms, p) for p in (0.5, 0.95, 0.99)] + [ms[-1]]
        return " / ".join(f"{v:,.0f}" for v in values)

    page, decide = tally.seconds["page"], tally.seconds["decide"]
    think = f"0-{args.think_ms / 1000:g} s" if args.think_ms else "0"
    cells = [
        args.users,
        f"{args.workers} x {args.threads}",
        think,
        f"{window:.0f}",
        f"{len(page) + len(decide):,}",
        f"{(len(page) + len(decide)) / window:.1f}",
        f"{len(tally.acknowledged):,}",
        f"{stored:,}",
        tally.overtaken,
        figures(decide),
        figures(page),
        tally.server_errors,
        len(tally.other_errors),
    ]
    return "summary: | " + " | ".join(str(cell) for cell in cells) + " |"


def report(args, tally: Tally, window: float, db: dict) -> bool:
    acknowledged, stored = tally.acknowledged, db["stored"]
    lost = [pair for pair in acknowledged if pair not in stored]
    unacknowledged = [pair for pair in stored if pair not in acknowledged]
    wrong = [pair for pair, verdict in acknowledged.items() if stored.get(pair, verdict) != verdict]
    page, decide = tally.seconds["page"], tally.seconds["decide"]
    kept = "(the served code's default)" if args.conn_max_age is None else f"{args.conn_max_age} s"
    print(
        f"\n{args.users} reviewers, {window:.1f} s, gunicorn {args.workers} workers x "
        f"{args.threads} threads, database connections kept {kept}, "
        f"{args.records:,} records, think time "
        f"{f'0-{args.think_ms:g} ms' if args.think_ms else '0'}, "
        f"page reloaded every {args.reload_every} decisions\n"
    )
    print("| requests | count | per s | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(latency_row("decide (htmx POST, answered with the next record)", decide, window))
    print(latency_row("screen page (full GET)", page, window))
    print(latency_row("all", page + decide, window))
    logins = tally.warm_up.get("login", [])
    if logins:
        print(latency_row("before the window: log-in GET + POST", logins, window))
    print(
        f"\ndecisions acknowledged {len(acknowledged):,} ({len(acknowledged) / window:.1f}/s), "
        f"stored {len(stored):,}; acknowledged but not stored {len(lost)}, stored but not "
        f"acknowledged {len(unacknowledged)}, stored with another verdict {len(wrong)}, "
        f"decided again {tally.redecided}"
    )
    print(
        f"refused as one too many (the record had its decisions; next record shown): "
        f"{tally.overtaken}"
    )
    print(
        f"records with more decisions than required {db['over_limit']}, reviewer-record pairs "
        f"decided twice {db['twice']}, records whose decision counter is off {db['counter_off']}"
    )
    print(summary_row(args, tally, window, len(stored)))
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(tally.statuses.items()))
    print(f"status codes in the window: {statuses}")
    print(f"5xx: {tally.server_errors}; other errors: {len(tally.other_errors)}")
    for detail in tally.error_samples + tally.other_errors[:10]:
        print("  ", detail)
    return (
        tally.server_errors == 0
        and not lost
        and not unacknowledged
        and not wrong
        and len(stored) == len(acknowledged)
        and db["over_limit"] == 0
        and db["twice"] == 0
        and db["counter_off"] == 0
    )


def cpu_line(
    cpu: dict[str, float], window: float, requests: int, load_before: float, load_after: float
) -> str:
    others = cpu["busy"] - cpu["gunicorn"] - cpu["postgres"] - cpu["clients"]
    per_request = 1000 * (cpu["gunicorn"] + cpu["postgres"]) / max(requests, 1)
    return (
        f"CPU seconds in the window ({os.cpu_count()} cores x {window:.0f} s): gunicorn "
        f"{cpu['gunicorn']:.0f}, PostgreSQL (all databases) {cpu['postgres']:.0f}, the simulated "
        f"reviewers {cpu['clients']:.0f}, other processes {others:.0f}, idle {cpu['idle']:.0f}; "
        f"load average {load_before:.1f} before, {load_after:.1f} after; gunicorn + PostgreSQL "
        f"{per_request:.0f} ms of CPU per request"
    )


# Main ----------------------------------------------------------------------------------------


def interrupt(signum, frame):
    raise KeyboardInterrupt


def server_environment(args, database_url: str, tmp: Path) -> dict[str, str]:
    """Production settings (DEBUG off), with HTTPS-only cookies and redirects off for plain
    HTTP on loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": args.cache_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "REVIEWMGR_VAR_DIR": str(tmp),
        "LOG_LEVEL": "WARNING",
        **({} if args.conn_max_age is None else {"DATABASE_CONN_MAX_AGE": str(args.conn_max_age)}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated reviewers")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--records",
        type=int,
        default=5000,
        help="real records from the corpus (up to 6,415); more: synthetic ones, bulk-loaded",
    )
    parser.add_argument(
        "--order",
        choices=["prioritised", "random", "import"],
        default="prioritised",
        help="the queue order (random, import: no ranking runs during the run)",
    )
    parser.add_argument(
        "--server-root",
        action="append",
        help="serve the code of another checkout (e.g. a baseline) with gunicorn; the schema "
        "must be the same, as this checkout migrates and seeds the database. Repeated: one "
        "run per checkout, one after the other on the same database ('.' is this one)",
    )
    parser.add_argument("--think-ms", type=float, default=0, help="random pause 0..N ms")
    parser.add_argument("--reload-every", type=int, default=10, help="decisions (0: never)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        help="DATABASE_CONN_MAX_AGE; unset: the served code's default (60 s on PostgreSQL, "
        "0 before)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)

    import psycopg

    name = f"reviewmgr_load_{os.getpid()}"
    admin_url = args.database_url
    server = None
    with tempfile.TemporaryDirectory(prefix="load_screening_") as tmp:
        log = Path(tmp) / "gunicorn.log"
        env = server_environment(args, admin_url.rsplit("/", 1)[0] + "/" + name, Path(tmp))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            started = time.perf_counter()
            manage(env, "migrate", "--noinput")
            manage(env, "collectstatic", "--noinput")
            os.environ.update(env)
            import django

            django.setup()
            from django.db import connections

            labels = seed(users=args.users, count=args.records, order=args.order)
            connections.close_all()
            print(f"database {name} seeded in {time.perf_counter() - started:.0f} s", flush=True)

            passed = True
            for root in args.server_root or ["."]:
                print(f"\nserving {(ROOT / root).resolve()}", flush=True)
                before = stored_decisions(args.users)["stored"]
                connections.close_all()
                port = free_port()
                server = start_gunicorn(
                    env, port, args.workers, args.threads, log, (ROOT / root).resolve()
                )
                plan = Plan(
                    port, args.users, args.seconds, args.think_ms, args.reload_every, labels
                )
                load_before = os.getloadavg()[0]
                tally, window, cpu = run_load(plan, server)
                load_after = os.getloadavg()[0]
                stop(server)
                db = stored_decisions(args.users)
                # Earlier runs' decisions are theirs: this run is checked on what it added.
                db["stored"] = {k: v for k, v in db["stored"].items() if k not in before}
                passed = report(args, tally, window, db) and passed
                requests = sum(len(tally.seconds[kind]) for kind in ("page", "decide"))
                print(cpu_line(cpu, window, requests, load_before, load_after))
                for block in server_errors(log) if tally.server_errors else []:
                    print("\nserver log:\n" + block)
                connections.close_all()
            return 0 if passed else 1
        finally:
            stop(server)
            if "django.db" in sys.modules:  # Django was set up: let go of its connection
                from django.db import connections

                connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted: gunicorn stopped and the database dropped")
