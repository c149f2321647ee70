"""Many rows of one table in one statement, stored exactly as SQLAlchemy stores them: COPY on
PostgreSQL, one ``executemany`` on SQLite."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Table, func, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of the same keys without per-row SQLAlchemy statement processing
    (~5x faster for 100,000 rows): COPY on PostgreSQL, executemany elsewhere. Values go
    through each column type's bind processor for the dialect (ISO dates on SQLite, UTC
    instants), so they are stored exactly as an ORM insert would store them."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [bind_processor(table.c[n].type, dialect) for n in names]
    if any(processors):
        spec = list(zip(names, processors, strict=True))
        params = [tuple([row[n] if p is None else p(row[n]) for n, p in spec]) for row in rows]
    else:
        params = [tuple(row[n] for n in names) for row in rows]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        # psycopg's executemany is one INSERT per row on the server; COPY is one stream
        # (5x faster for 12,000 decisions), in the same transaction
        driver = connection.connection.driver_connection
        if driver is None:
            raise RuntimeError("bulk_insert: the connection has no driver connection")
        sql = f"COPY {target} ({columns}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:
                for values in params:
                    copy.write_row(values)
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises a driver's errors
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {target} ({columns}) VALUES ({', '.join([mark] * len(names))})", params)


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ``id`` values, increasing, for rows ``bulk_insert`` is about to write, as
    the database would give them: from the column's sequence on PostgreSQL; on SQLite, after
    the largest id (the caller's write transaction keeps other writers out)."""
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        quoted = connection.dialect.identifier_preparer.format_table(table)
        sequence = func.pg_get_serial_sequence(quoted, "id")
        rows = connection.execute(select(func.nextval(sequence))
                                  .select_from(func.generate_series(1, count)))
        return sorted(int(value) for (value,) in rows)
    last = connection.execute(select(func.max(table.c.id))).scalar()
    start = int(last or 0) + 1
    return list(range(start, start + count))


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def bind_processor(type_: Any, dialect: Any) -> Any:
    """The column type's bind processor; for dates on SQLite, ``isoformat`` (the same text as
    SQLAlchemy's, several times faster)."""
    if dialect.name == "sqlite" and type(type_) is Date:
        return _iso_date
    return type_.dialect_impl(dialect).bind_processor(dialect)
