"""The first-response and last-fix times each incident keeps (written with each event, so
MTTA/MTTR need not scan the log) always equal what its event log says, whatever the order
of actions, refused ones included, and however far apart the networks' clocks are."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select

from bot.commands import UserError
from bot.people import PersonRef
from bot.store import Person, Store
from plugins import MIGRATIONS
from plugins.incidents.lifecycle import Action
from plugins.incidents.service import IncidentService
from plugins.incidents.settings import IncidentSettings
from plugins.metrics.stats import first_response, last_fix
from plugins.models import Incident, IncidentEvent

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ACTIONS = [a for a in Action if a is not Action.REPORT]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[PersonRef]]]:
    path: Path = tmp_path_factory.mktemp("times") / "times.sqlite3"
    store = Store(f"sqlite:///{path}")

    def people(c: Connection) -> list[PersonRef]:
        return [
            PersonRef(
                c.execute(insert(Person).values(name=n, created_at=T0)).inserted_primary_key[0], n
            )
            for n in ("alice", "bob")
        ]

    async def setup() -> list[PersonRef]:
        await store.upgrade([MIGRATIONS / "versions"])
        return await store.write(people)

    who = asyncio.run(setup())
    yield store, who
    asyncio.run(store.dispose())


async def play(
    store: Store, who: list[PersonRef], steps: list[tuple[Action, int, int]]
) -> tuple[object, ...]:
    svc = IncidentService(store, IncidentSettings(), "!")
    alice = who[0]
    spare = await svc.report("web", "the other one", None, alice, "net", "#ops", T0)
    incident = await svc.report("web", "down", None, alice, "net", "#ops", T0)
    for action, actor, offset in steps:
        kw: dict[str, object] = {}
        if action is Action.ASSIGN:
            kw["target"] = who[1 - actor]
        elif action in (Action.NOTE, Action.FOLLOWUP):
            kw["detail"] = "text"
        elif action is Action.SEVERITY:
            kw["severity"] = 2
        elif action is Action.DUPLICATE:
            kw["other"] = spare.number
        # refused in this state: nothing is written, as for a person typing it
        with contextlib.suppress(UserError):
            await svc.act(
                incident.number,
                action,
                who[actor],
                T0 + timedelta(seconds=offset),
                network="net",
                room="#ops",
                **kw,  # type: ignore[arg-type]
            )

    def read(c: Connection) -> tuple[object, ...]:
        row = c.execute(
            select(Incident.id, Incident.acknowledged_at, Incident.fixed_at).where(
                Incident.number == incident.number
            )
        ).one()
        events = c.execute(
            select(IncidentEvent.kind, IncidentEvent.at).where(IncidentEvent.incident_id == row.id)
        ).all()
        return row.acknowledged_at, row.fixed_at, [(k, at) for k, at in events]

    return await store.read(read)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ACTIONS),
            st.integers(0, 1),
            st.integers(-600, 7200),  # seconds after the report; before it: a skewed clock
        ),
        max_size=14,
    )
)
def test_kept_times_equal_the_event_log(
    store: tuple[Store, list[PersonRef]], steps: list[tuple[Action, int, int]]
) -> None:
    acknowledged_at, fixed_at, events = asyncio.run(play(*store, steps))
    assert acknowledged_at == first_response(events)  # type: ignore[arg-type]
    assert fixed_at == last_fix(events)  # type: ignore[arg-type]
    assert all(at >= T0 for _, at in events)  # type: ignore[attr-defined]
