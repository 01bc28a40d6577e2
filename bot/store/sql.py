"""SQL that reads differently on SQLite and PostgreSQL, behind one name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):
    """`end - start` in seconds (NULL if either is), computed by the database, so that
    aggregates over many rows need no datetime objects in Python."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0)"
    )


@compiles(seconds_between, "postgresql")
def _postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


class iso_utc(FunctionElement[str]):
    """A time as ISO 8601 UTC text with a Z (`2026-11-25T09:00:00Z`, fractions only when
    there are some), made by the database, so exporting a long log costs no datetime in
    Python. NULL stays NULL."""

    type = String()
    inherit_cache = True
    name = "iso_utc"


@compiles(iso_utc, "sqlite")
def _iso_sqlite(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (bot.store.types.UTCDateTime)
    (when,) = list(element.clauses)
    t = compiler.process(when, **kw)
    return (
        f"(CASE WHEN substr({t}, 21) IN ('', '000000') "
        f"THEN substr({t}, 1, 10) || 'T' || substr({t}, 12, 8) || 'Z' "
        f"ELSE substr({t}, 1, 10) || 'T' || substr({t}, 12) || 'Z' END)"
    )


@compiles(iso_utc, "postgresql")
def _iso_postgresql(element: iso_utc, compiler: Any, **kw: Any) -> str:
    (when,) = list(element.clauses)
    utc = f"({compiler.process(when, **kw)} AT TIME ZONE 'UTC')"
    return (
        f"(CASE WHEN date_trunc('second', {utc}) = {utc} "
        f'THEN to_char({utc}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\') '
        f'ELSE to_char({utc}, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END)'
    )
