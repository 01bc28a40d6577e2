"""Persistence: SQLAlchemy models, async sessions and Alembic migrations."""

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
