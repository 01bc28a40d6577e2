"""A database that cannot be opened, said in one line that names the fix: the operator
sees "is PostgreSQL running?" instead of a driver's traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.errors import Unavailable, reason


def database_unavailable(url: str, exc: BaseException) -> Unavailable:
    parsed = make_url(url)
    where = parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
    why = reason(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)
    # psycopg: 'connection failed: connection to server at "h", port 5432 failed: FATAL:  …'
    why = why.rpartition(" failed: ")[2].removeprefix("FATAL:").strip() or why
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        hint = (
            f"directory {path.parent} does not exist; create it or point `database:` elsewhere"
            if not path.parent.is_dir()
            else f"check that this user may write to {path.parent} and {path.name}"
        )
    elif isinstance(exc, socket.gaierror) or "resolve host" in why:
        hint = f"check the host name {parsed.host!r} in `database:`"
    elif isinstance(exc, ConnectionError | TimeoutError) or "connection refused" in why.lower():
        why = "connection refused"
        hint = "is PostgreSQL running and listening there?"
    else:
        hint = "check `database:` and the server's access rules"
    return Unavailable(f"cannot open the database {where}: {why}; {hint}")
