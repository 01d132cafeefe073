"""What a benchmark's child processes run in: a temporary var folder, the project's settings,
tasks that do not run (setup writes rows, it does not queue work), and a database of its own,
SQLite in that folder or a fresh PostgreSQL database dropped at the end."""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

PSQL = ["-h", "127.0.0.1", "-U", "postgres"]


@contextmanager
def bench_environment(database_url: str = "sqlite", *, name: str = "bench") -> Iterator[dict]:
    """Environment variables for the children, with `var` set to the temporary folder."""
    with tempfile.TemporaryDirectory() as var:
        env = {
            **os.environ,
            "REVIEWMGR_VAR_DIR": var,
            "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
            "TASKS_BACKEND": "django.tasks.backends.dummy.DummyBackend",
            "var": var,
        }
        env.pop("DATABASE_URL", None)
        database = None
        if database_url != "sqlite":
            database = f"reviewmgr_bench_{name}_{os.getpid()}"
            subprocess.run(["createdb", *PSQL, database], check=True)
            env["DATABASE_URL"] = f"{database_url.rsplit('/', 1)[0]}/{database}"
        try:
            yield env
        finally:
            if database:
                subprocess.run(["dropdb", *PSQL, database], check=False)


def add_bench_arguments(parser, default: str = "postgres://postgres@127.0.0.1:5432/postgres"):
    """--database-url, and the hidden --child with which a bench runs itself in a child."""
    parser.add_argument(
        "--database-url", default=default, help='PostgreSQL server URL, or "sqlite"'
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
