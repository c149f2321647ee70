"""A SELECT read through the driver's cursor, for the few queries that read a row per project.

SQLAlchemy builds a ``Row`` per result row; at 100,000 rows that costs as much as the query
itself. Here the statement is compiled once for the connection's dialect, executed on the
connection's own DBAPI cursor (same transaction), and the rows come back as the driver made
them: the caller converts the values it reads (``converter``: dates on SQLite) as SQLAlchemy
would, and no others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Connection, Date, Float, Integer, String, TypeDecorator
from sqlalchemy.sql import Select

from kfworkflow.storage.bulk import bind_processor


class DriverSelect:
    def __init__(self, connection: Connection, statement: Select[Any]) -> None:
        dialect = connection.dialect
        self._compiled = statement.compile(dialect=dialect)
        self._sql = str(self._compiled)
        names = self._compiled.bind_names
        self._binds = {names[param]: processor for param in self._compiled.binds.values()
                       if (processor := bind_processor(param.type, dialect)) is not None}
        self._converters = {i: processor for i, column in enumerate(statement.selected_columns)
                            if (processor := _result_processor(column.type, dialect))
                            is not None}

    @property
    def sql(self) -> str:
        """The statement's text for the connection's dialect."""
        return self._sql

    def converter(self, column: int) -> Callable[[Any], Any]:
        """What converts the driver's value of ``column`` (by position) to the column type's
        Python value, never called with None."""
        return self._converters.get(column, _same)

    def raw_rows(self, connection: Connection, params: Mapping[str, Any]
                 ) -> list[Sequence[Any]]:
        """Every row as the driver returned it, for ``params`` (the statement's bind
        parameters without a value); a caller converts the columns it reads with
        ``converter``."""
        values = self._compiled.construct_params(dict(params))
        for name, processor in self._binds.items():
            values[name] = processor(values[name])
        positions = self._compiled.positiontup
        args: Any = [values[n] for n in positions] if positions is not None else values
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self._sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def _same(value: Any) -> Any:
    return value


def _result_processor(type_: Any, dialect: Any) -> Any:
    """How a driver value of ``type_`` becomes SQLAlchemy's value, for the types whose driver
    values need at most this (SQLite keeps dates as ISO text and booleans as 0/1; psycopg
    returns both, and text, integers and floats, as Python values already)."""
    sqlite = dialect.name == "sqlite"
    if isinstance(type_, TypeDecorator) and (
            type(type_).process_result_value is TypeDecorator.process_result_value):
        type_ = type_.impl_instance  # e.g. SQLModel's AutoString: a String as it is read
    if isinstance(type_, Date):
        return date.fromisoformat if sqlite else None
    if isinstance(type_, Boolean):
        return bool if sqlite else None
    if isinstance(type_, String | Integer | Float):
        return None
    raise TypeError(f"a DriverSelect cannot read a {type_!r} column; select it through "
                    "SQLAlchemy")
