"""One clear line for a value the database would not take, naming its column.

The drivers say what went wrong in their own ways: psycopg's diagnostics name a column for
a null in a NOT NULL column, PostgreSQL quotes the value it could not read (``invalid input
syntax for type integer: "abc"``), SQLite and MySQL name the column in the text, a driver
that cannot send a value names its type. :func:`explain` reads what there is and, when the
column is not named, finds it among the rows: the value quoted, a value of the type the
driver refused, a text too long for its column, a number out of its column's range.
Nothing of this runs unless a statement failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobweave.errors import JobFailure

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.exc import SQLAlchemyError

_NAMED = (re.compile(r"NOT NULL constraint failed: [\w.]*?(\w+)$"),  # SQLite
          re.compile(r"[Cc]olumn (?:`[^`]*`\.)*`([^`]+)`"),  # MariaDB: `db`.`table`.`col`
          re.compile(r"[Cc]olumn '([^']+)'"),  # MySQL
          re.compile(r'column "([^"]+)"'))  # PostgreSQL, in some messages
_QUOTED = (re.compile(r': "(.*)"$'),  # PostgreSQL: invalid input syntax for type x: "abc"
           re.compile(r"value: '(.*?)' for column"))  # MySQL: Incorrect integer value: 'x'
_ADAPT = re.compile(r"(?:adapt|type) '(\w+)'")  # psycopg, sqlite3: the Python type refused
_RANGES = {"SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63}


def explain(exc: SQLAlchemyError, what: str, rows: Sequence[Mapping[str, Any]],
            table: Table | None = None) -> JobFailure:
    """The failure of ``what`` (``upsert into users``) as one line."""
    orig = getattr(exc, "orig", None)
    text = " ".join(str(orig if orig is not None else exc).split("\n", 1)[0].split())
    column = _column(orig, text)
    found = _culprit(text, column, rows, table)
    if found is None:
        return JobFailure(f"{what}: column {column!r}: {text}" if column else f"{what}: {text}")
    column, index, value = found
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    where = f" (row {index})" if len(rows) > 1 else ""
    return JobFailure(f"{what}: column {column!r} cannot take {shown}{where}: {text}")


def _column(orig: Any, text: str) -> str | None:
    """The column the driver's diagnostics or message name, if any."""
    column = getattr(getattr(orig, "diag", None), "column_name", None)
    if column is not None:
        return str(column)
    for pattern in _NAMED:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def _cells(rows: Sequence[Mapping[str, Any]], column: str | None
           ) -> Iterator[tuple[str, int, Any]]:
    for index, row in enumerate(rows):
        if column is None:
            for name, value in row.items():
                yield name, index, value
        elif column in row:
            yield column, index, row[column]


def _culprit(text: str, column: str | None, rows: Sequence[Mapping[str, Any]],
             table: Table | None) -> tuple[str, int, Any] | None:
    """The (column, row, value) the message is about, looked for among the rows."""
    for pattern in _QUOTED:
        quoted = pattern.search(text)
        if quoted:
            wanted = quoted.group(1)
            for among in (column, None):  # the column named, else any (a parameter's name)
                for cell in _cells(rows, among):
                    if not isinstance(cell[2], bool) and str(cell[2]) == wanted:
                        return cell
    if column is not None and "null" in text.lower():
        for index, row in enumerate(rows):
            if row.get(column) is None:
                return column, index, None
    refused = _ADAPT.search(text)
    if refused:
        for cell in _cells(rows, column):
            if type(cell[2]).__name__ == refused.group(1):
                return cell
    if table is not None:
        return _misfit(text, rows, table, column)
    return None


def _misfit(text: str, rows: Sequence[Mapping[str, Any]], table: Table,
            column: str | None) -> tuple[str, int, Any] | None:
    """The first value that cannot fit its column's declared length or range."""
    too_long = "too long" in text
    out_of_range = "out of range" in text
    for name, index, value in _cells(rows, column):
        if name not in table.c:
            continue
        col_type = table.c[name].type
        length = getattr(col_type, "length", None)
        if too_long and isinstance(value, str) and length and len(value) > length:
            return name, index, value
        limit = _RANGES.get(type(col_type).__name__.upper())
        if (out_of_range and limit and isinstance(value, int)
                and not -limit <= value < limit):
            return name, index, value
    return None
