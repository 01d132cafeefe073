"""A scratch deployment for fault and queue tests: its own database, a Redis queue, real processes.

The web side and the workers are separate `manage.py` processes, as in production, sharing a
database (a fresh PostgreSQL database when the suite runs on PostgreSQL, an SQLite file
otherwise) and a Redis server. The test reads the database directly to see what was stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it.")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split()
        children += [int(child) for child in text]
    return children


class Stack:
    def __init__(self, tmp_path: Path):
        self.redis = redis_or_skip()
        self.tmp = tmp_path
        self.prefix = f"stack-{uuid.uuid4().hex[:8]}"
        self.processes: list[subprocess.Popen] = []
        outer = os.environ.get("DATABASE_URL", "")
        self.pg_name = None
        if outer.startswith("postgres"):
            import psycopg

            self.pg_server = outer.rsplit("/", 1)[0]
            self.pg_name = f"reviewmgr_{self.prefix.replace('-', '_')}"
            with psycopg.connect(f"{self.pg_server}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.database_url = f"{self.pg_server}/{self.pg_name}"
        else:
            self.database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REVIEWMGR_VAR_DIR": str(tmp_path / "var"),
            "TASKS_REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": self.prefix,
            "DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
        }
        # The queue's name is fixed; a scratch Redis database keeps these tests apart from real
        # queues, and whatever an earlier interrupted run left in it is dropped.
        self.redis.flushdb()

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def python(self, code: str) -> dict:
        """Run `code` in a Django process of the stack; it sets `out`, printed back as JSON."""
        script = f"import json\nout = {{}}\n{code}\nprint('OUT' + json.dumps(out))"
        printed = self.manage("shell", "--no-imports", "-c", script)
        line = next(line for line in printed.splitlines() if line.startswith("OUT"))
        return json.loads(line[3:])

    def start_worker(self, *extra: str, env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "worker", *extra],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: killing it kills its work horse too
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a worker and the work horses it forked (each in a session of its own)."""
        horses = _children(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        if self.pg_name:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return conn.execute(query.replace("?", "%s"), params).fetchall()
        with sqlite3.connect(self.tmp / "db.sqlite3", timeout=30) as conn:
            return conn.execute(query, params).fetchall()

    def wait_for(self, condition, *, timeout: float, what: str, every: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        self.redis.flushdb()
        if self.pg_name:
            import psycopg

            with psycopg.connect(f"{self.pg_server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
