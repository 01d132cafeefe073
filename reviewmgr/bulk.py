"""Bulk writes for large imports and merges, in the form each database is fastest at.

The ORM's bulk_create and bulk_update compile SQL per object, which at 100k records costs
more than the work itself. SQLite runs executemany in-process at full speed; PostgreSQL pays
a round trip per row for it, so there rows go through COPY and one UPDATE ... FROM (VALUES)
per thousand rows. Column names always come from the model's metadata; values are parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models

UPDATE_CHUNK = 1000


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def json_adapter():
    """JSON for a raw write, called as adapt(value, encoder): compact UTF-8 text on SQLite (a
    third faster to encode than the default escaped form), the driver's JSON type elsewhere."""
    if connection.vendor == "sqlite":
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        return lambda value, encoder: encode(value)
    return connection.ops.adapt_json_value


def insert_rows(
    model: type[models.Model], fields: Sequence[models.Field], rows: list[list]
) -> None:
    """Insert `rows` (values in the order of `fields`) into the model's table."""
    if not rows:
        return
    table = _quote(model._meta.db_table)
    columns = ", ".join(_quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                rows,
            )


def update_rows(
    model: type[models.Model], fields: Sequence[models.Field], rows: list[list]
) -> None:
    """Set `fields` per row; each row holds the new values in order, then the primary key."""
    if not rows:
        return
    table = _quote(model._meta.db_table)
    pk = _quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [field.db_type(connection) for field in fields]
            casts.append(model._meta.pk.db_type(connection).replace("serial", "int"))
            names = [f"v{index}" for index in range(len(fields))] + ["pk"]
            assignments = ", ".join(
                f"{_quote(field.column)} = v.{name}"
                for field, name in zip(fields, names, strict=False)
            )
            row_sql = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
            for start in range(0, len(rows), UPDATE_CHUNK):
                chunk = rows[start : start + UPDATE_CHUNK]
                values = ", ".join([row_sql] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM (VALUES {values}) "  # noqa: S608
                    f"AS v({', '.join(names)}) WHERE {table}.{pk} = v.pk",
                    [value for row in chunk for value in row],
                )
        else:
            assignments = ", ".join(f"{_quote(field.column)} = %s" for field in fields)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608


def refresh_statistics(model: type[models.Model]) -> None:
    """After a bulk load on PostgreSQL: let the planner see the new rows (cheap, sampled),
    or the next queries plan as if the table were still small."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_quote(model._meta.db_table)}")
