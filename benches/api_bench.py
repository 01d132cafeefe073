"""The API's record pages deep into a large review, against the same page read by offset.

    .venv/bin/python benches/api_bench.py [--records 200000]
        [--database-url sqlite|postgres://postgres@127.0.0.1:5432/postgres]

Imports --records synthetic records (seeds/synthetic.py) into a fresh database through the
product's import path (setup, not measured), then asks the API, with a personal token, for a
page of 1,000 records near the start, the middle and the end of the review, following the
cursor it hands out. The baseline, measured in the same run, is the page a client paging by
offset gets: the same 1,000 rows read with OFFSET (the ORM's slice), which the database must
count its way to. Prints milliseconds (median of 9) and the ratio at each depth.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.environment import add_bench_arguments, bench_environment  # noqa: E402

PAGE = 1000


def _median_ms(call, repeat: int = 9) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def child(records: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rest_framework.test import APIClient

    from api import tokens
    from reviewmgr import services
    from reviewmgr.models import Record, User
    from seeds.synthetic import generate_records, write_ris

    lead = User.objects.create_user("bench-lead")
    review = services.create_review(title="Bench", slug="bench", user=lead)
    path = Path(os.environ["REVIEWMGR_VAR_DIR"]) / "bench.ris"
    chunk = 100_000
    for start in range(0, records, chunk):
        size = min(chunk, records - start)
        write_ris(generate_records(size, seed=start + 1), path)
        services.import_records(
            review=review, data=path.read_bytes(), file_name=f"bench-{start}.ris",
            find_duplicates=False,
        )  # fmt: skip
    ids = list(Record.objects.filter(review=review).order_by("id").values_list("id", flat=True))
    print(f"records: {len(ids)}", flush=True)
    _, text = tokens.create_token(user=lead, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    address = f"/api/reviews/{review.slug}/records/"
    from api.views.reviews import RECORD_COLUMNS

    # the columns the API reads, for both ways of paging
    rows = Record.objects.filter(review=review).order_by("id").only(*RECORD_COLUMNS)

    print(f"{'depth':>8} {'API, by cursor':>16} {'rows by cursor':>16} {'rows by offset':>16} "
          f"{'offset / cursor':>16}")  # fmt: skip
    for share in (0.01, 0.5, 0.99):
        offset = min(int(len(ids) * share), len(ids) - PAGE)
        after = ids[offset - 1] if offset else 0
        cursor = base64.b64encode(urlencode({"p": after}).encode()).decode()

        def api_page(cursor=cursor) -> None:
            response = client.get(address, {"page_size": PAGE, "cursor": cursor})
            assert response.status_code == 200, (response.status_code, response.content[:300])
            assert len(response.json()["results"]) == PAGE

        def by_cursor(after=after) -> None:
            assert len(list(rows.filter(id__gt=after)[:PAGE])) == PAGE

        def by_offset(offset=offset) -> None:
            assert len(list(rows[offset : offset + PAGE])) == PAGE

        api_ms = _median_ms(api_page)
        cursor_ms, offset_ms = _median_ms(by_cursor), _median_ms(by_offset)
        print(f"{share:>8.0%} {api_ms:>13.1f} ms {cursor_ms:>13.1f} ms {offset_ms:>13.1f} ms "
              f"{offset_ms / cursor_ms:>15.1f}x", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    add_bench_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child(args.records)
        return
    with bench_environment(args.database_url, name="api") as env:
        env.update(ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0")  # the test client's
        subprocess.run(
            [sys.executable, __file__, "--child", "--records", str(args.records)],
            env=env, cwd=ROOT, check=True,
        )  # fmt: skip


if __name__ == "__main__":
    main()
