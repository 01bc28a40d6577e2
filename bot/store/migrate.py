"""Alembic, driven programmatically on a connection we already hold.

The core and each plugin package keep their own version directory (separate branches), so
the core never ships migrations for feature tables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_DIR = Path(__file__).parent / "migrations"
CORE_VERSIONS = SCRIPT_DIR / "versions"


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.M)


def code_revisions(version_dirs: list[Path]) -> list[str]:
    """Every revision the code ships, read straight from the files: cheap enough for
    every start, so Alembic (slow to import) is loaded only when there is work to do."""
    found = []
    for d in dict.fromkeys([CORE_VERSIONS, *version_dirs]):
        for f in sorted(d.glob("*.py")):
            m = _REVISION.search(f.read_text(encoding="utf-8"))
            if m:
                found.append(m[1])
    return sorted(found)


def alembic_config(version_dirs: list[Path], connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_DIR))
    cfg.set_main_option("path_separator", "os")
    dirs = [CORE_VERSIONS, *(d for d in version_dirs if d != CORE_VERSIONS)]
    cfg.set_main_option("version_locations", ":".join(str(d) for d in dirs))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, version_dirs: list[Path]) -> None:
    from alembic import command

    command.upgrade(alembic_config(version_dirs, connection), "heads")


def is_behind(connection: Connection, version_dirs: list[Path]) -> bool:
    """True when some known revision is not applied. Heads alone do not tell: a branch that
    depends on another (plugins on core) records only its own head."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(version_dirs))
    current = MigrationContext.configure(connection).get_current_heads()
    applied = {r.revision for r in script.iterate_revisions(current, "base")} if current else set()
    return any(r.revision not in applied for r in script.walk_revisions())
