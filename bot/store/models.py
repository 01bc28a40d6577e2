"""Core tables: people and their per-network identities, counters, and small state values.

Feature tables live with the plugins that own them and share this `Base`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    identities: Mapped[list[Identity]] = relationship(back_populates="person", lazy="selectin")


class Identity(Base):
    """How a person appears on one network. `key` is the stable, case-folded id
    (IRC account or nick, Matrix user ID); `nick` is what others see, `nick_folded` the
    same compared the network's way (a typed name may be someone's current nick).
    Whether someone is logged in is a property of each message (`Sender.authenticated`),
    not stored: on an account network a logged-out identity's key starts with `~`."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("network", "key"),
        Index("ix_identities_network_nick_folded", "network", "nick_folded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    network: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    nick: Mapped[str] = mapped_column(String(255))
    nick_folded: Mapped[str] = mapped_column(String(255))
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    person: Mapped[Person] = relationship(back_populates="identities", lazy="joined")


class LinkEvent(Base):
    """An identity linked to or unlinked from a person: which, with whom, asked by whom,
    when. Kept with the person (`!whoami` shows the latest)."""

    __tablename__ = "identity_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # linked | unlinked
    identity: Mapped[str] = mapped_column(String(300))  # qualified, as shown
    other: Mapped[str | None] = mapped_column(String(300))  # linked with this identity
    actor: Mapped[str] = mapped_column(String(300))  # who asked


class Counter(Base):
    """Named gapless counters; the row lock serialises allocation across processes."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class KeyValue(Base):
    """Small pieces of state that must survive restarts (sync tokens, job leases)."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RelayItem(Base):
    """An announcement for a network another instance serves; that instance sends it and
    marks it delivered (bot.relay)."""

    __tablename__ = "relay"
    __table_args__ = (Index("ix_relay_network_delivered", "network", "delivered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    network: Mapped[str] = mapped_column(String(32))
    origin_network: Mapped[str | None] = mapped_column(String(32))
    origin_room: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
