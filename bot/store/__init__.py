"""Persistence: SQLAlchemy models, units of work run on the database threads (one writer with
group commit, a pool of readers) and Alembic migrations."""

from bot.store.db import Store
from bot.store.models import Base, Counter, Identity, KeyValue, LinkEvent, Person, RelayItem

__all__ = [
    "Base",
    "Counter",
    "Identity",
    "KeyValue",
    "LinkEvent",
    "Person",
    "RelayItem",
    "Store",
]
