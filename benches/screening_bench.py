"""Screening under load: 20 reviewers deciding and fetching the next record at once, on
PostgreSQL behind gunicorn, beside a trivial view measured in the same run.

    .venv/bin/python benches/screening_bench.py [--records 100000] [--reviewers 20]
        [--decisions 150] [--workers 4] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Every request goes over loopback to 127.0.0.1. The run creates a fresh database
(reviewmgr_bench_screening), fills it through the product's import path, serves it with
gunicorn, and prints p50/p95/p99 latencies in milliseconds. Bounded: each reviewer makes a
fixed number of decisions, then the run stops and drops nothing but its own database.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password-not-secret"
DECIDE_URL = re.compile(r'action="(/reviews/[^"]+/screen/ta/(\d+)/decide/)"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<28} n={len(ms):>6}  p50={percentile(ms, 0.5):7.1f}  "
        f"p95={percentile(ms, 0.95):7.1f}"
        f"  p99={percentile(ms, 0.99):7.1f}  mean={statistics.fmean(ms):7.1f}"
    )


def prepare(env: dict, records: int, reviewers: int) -> None:
    """Database, seed data and collected static files, in a child process with `env`."""
    script = f"""
import django, os
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("collectstatic", "--noinput", verbosity=0)
from seeds.synthetic import generate_records, write_ris
from reviewmgr import services
from reviewmgr.models import Membership, User
from screening.services import sync_screening_rows
lead = User.objects.create_user("bench-lead", password="{PASSWORD}")
review = services.create_review(title="Bench", slug="bench", user=lead)
for n in range({reviewers}):
    user = User.objects.create_user(f"bench{{n}}", password="{PASSWORD}")
    Membership.objects.create(review=review, user=user, is_reviewer=True)
path = os.path.join(os.environ["REVIEWMGR_VAR_DIR"], "bench.ris")
write_ris(generate_records({records}, seed=3), path)
batch, ids = services.import_records(review=review, data=open(path, "rb").read(),
                                     file_name="bench.ris", find_duplicates=False)
sync_screening_rows(review=review)
print(len(ids))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"prepared {out.stdout.strip()} records", flush=True)


class Reviewer:
    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.username = username

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def request(self, path: str, data: dict | None = None, htmx: bool = False) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Referer", self.base + path)
        if data is not None:
            request.add_header("X-CSRFToken", self.csrf())
        if htmx:
            request.add_header("HX-Request", "true")
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()

    def log_in(self) -> None:
        self.request("/accounts/login/")
        self.request(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()},
        )


def run_load(base: str, reviewers: int, decisions: int) -> dict[str, list[float]]:
    timings: dict[str, list] = {"decide_and_next": [], "trivial": [], "errors": [], "refused": []}
    lock = threading.Lock()
    start_gate = threading.Barrier(reviewers)

    def work(n: int) -> None:
        reviewer = Reviewer(base, f"bench{n}")
        reviewer.log_in()
        _, page = reviewer.request("/reviews/bench/screen/ta/")
        start_gate.wait()
        for i in range(decisions):
            match = DECIDE_URL.search(page)
            if not match:
                break
            verdict = "include" if (int(match.group(2)) + n) % 7 == 0 else "exclude"
            data = {
                "verdict": verdict,
                "reason": "Wrong population" if verdict == "exclude" else "",
            }
            started = time.perf_counter()
            try:
                status, page = reviewer.request(match.group(1), data, htmx=True)
            except Exception as error:  # a server error is a finding, not a crash
                with lock:
                    timings["errors"].append(repr(error))
                _, page = reviewer.request("/reviews/bench/screen/ta/")
                continue
            elapsed = time.perf_counter() - started
            if 'role="alert"' in page:  # the record already had its decisions: refused
                with lock:
                    timings["refused"].append(match.group(2))
            started = time.perf_counter()
            reviewer.request("/healthz")
            trivial = time.perf_counter() - started
            with lock:
                timings["decide_and_next"].append(elapsed)
                timings["trivial"].append(trivial)
            if i == 0 and status != 200:
                timings["errors"].append(f"status {status}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(reviewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=150, help="per reviewer")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import psycopg

    name = "reviewmgr_bench_screening"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as var_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
            "DATABASE_URL": args.database_url.rsplit("/", 1)[0] + "/" + name,
            "DATABASE_CONN_MAX_AGE": "60",
            "CACHE_URL": "redis://127.0.0.1:6379/7",
            "REVIEWMGR_VAR_DIR": var_dir,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        prepare(env, args.records, args.reviewers)
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "reviewmgr.wsgi:application",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{args.port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            base = f"http://127.0.0.1:{args.port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            started = time.perf_counter()
            timings = run_load(base, args.reviewers, args.decisions)
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.records} records, {args.reviewers} reviewers, gunicorn {args.workers} workers, "
        f"{wall:.1f} s"
    )
    print(summary("decide + next record (htmx)", timings["decide_and_next"]))
    print(summary("trivial view (/healthz)", timings["trivial"]))
    p95_ratio = percentile(timings["decide_and_next"], 0.95) / percentile(timings["trivial"], 0.95)
    print(
        f"p95 ratio decide/trivial: {p95_ratio:.2f}; errors: {len(timings['errors'])}; "
        f"decisions refused as one too many: {len(timings['refused'])}"
    )
    for error in timings["errors"][:5]:
        print("  ", error)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
