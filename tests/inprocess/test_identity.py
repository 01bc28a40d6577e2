"""Linking identities across networks (two memory transports, one database): the code
must be confirmed by the other identity and expires; once linked, roster membership,
duty, incidents and admin rights follow the person, and duplicates are resolved."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from bot.clock import FakeClock
from bot.devtools.harness import Harness
from bot.store import Identity, Person
from plugins.models import DutyShift, Incident, RosterEntry

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE_MX = "@alice:example.org"
BOB_MX = "@bob:example.org"


async def start(database_url: str) -> Harness:
    return await Harness.start(
        Path("unused"),
        database_url=database_url,
        networks={"irc": ("#ops",), "mx": ("#mx",)},
        clock=FakeClock(T0),
        admins=["alice"],  # alice's IRC nick only
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await start(f"sqlite:///{tmp_path / 'link.sqlite3'}")
    yield harness
    await harness.close()


async def on_irc(bot: Harness, nick: str, text: str) -> str:
    return (await bot.say(nick, text, network="irc", room="#ops")).text


async def on_mx(bot: Harness, nick: str, user_id: str, text: str) -> str:
    return (await bot.say(nick, text, network="mx", room="#mx", account=user_id)).text


def code_in(reply: str) -> str:
    found = re.search(r"!link confirm ([A-Z2-9]{6})", reply)
    assert found, reply
    return found[1]


async def test_whoami_shows_the_person_and_identities(bot: Harness) -> None:
    assert await on_irc(bot, "alice", "!whoami") == "you are alice (admin); identities: irc: alice"
    assert await on_mx(bot, "Alice", ALICE_MX, "!whoami") == (
        f"you are Alice; identities: mx: Alice ({ALICE_MX})"
    )


async def test_a_confirmed_link_makes_one_person_and_rights_follow(bot: Harness) -> None:
    await on_irc(bot, "alice", "!help")
    assert "admins only" in await on_mx(bot, "Alice", ALICE_MX, "!deploy start pkgdb2")
    asked = await on_mx(bot, "Alice", ALICE_MX, "!link irc alice")
    assert asked.startswith("to link alice on irc with Alice, say !link confirm ")
    assert asked.endswith(" as alice on irc within 5 minutes")

    linked = await on_irc(bot, "alice", f"!link confirm {code_in(asked).lower()}")
    assert linked == (
        f"linked: you are Alice on irc: alice; mx: Alice ({ALICE_MX}) — roster, incidents "
        "and rights now follow you on every network"
    )
    assert await on_mx(bot, "Alice", ALICE_MX, "!whoami") == (
        f"you are Alice (admin); identities: irc: alice; mx: Alice ({ALICE_MX})"
    )
    started = await on_mx(bot, "Alice", ALICE_MX, "!deploy start pkgdb2")
    assert started.startswith("Deploy day: deploy pkgdb2 started by Alice")
    people = await bot.app.store.read(lambda c: c.scalar(select(func.count()).select_from(Person)))
    assert people == 1


async def test_only_the_other_identity_can_confirm_and_codes_expire(bot: Harness) -> None:
    await on_irc(bot, "alice", "!help")
    await on_irc(bot, "mallory", "!help")
    asked = await on_mx(bot, "Alice", ALICE_MX, "!link irc alice")
    code = code_in(asked)
    assert await on_irc(bot, "mallory", f"!link confirm {code}") == (
        f"mallory: code {code} must be confirmed by alice on irc"
    )
    assert await on_mx(bot, "Alice", ALICE_MX, f"!link confirm {code}") == (
        f"Alice: code {code} must be confirmed by alice on irc"
    )
    await bot.advance(minutes=5, seconds=1)
    expired = await on_irc(bot, "alice", f"!link confirm {code}")
    assert expired.startswith(f"alice: no link is waiting for code {code}; codes last 5 minutes")

    code = code_in(await on_mx(bot, "Alice", ALICE_MX, "!link irc alice"))
    assert (await on_irc(bot, "alice", f"!link confirm {code}")).startswith("linked:")
    assert (await on_irc(bot, "alice", f"!link confirm {code}")).startswith(
        f"alice: no link is waiting for code {code}"
    )


async def test_linking_refuses_what_makes_no_sense(bot: Harness) -> None:
    assert await on_mx(bot, "Alice", ALICE_MX, "!link irc nobody") == (
        "Alice: I have not seen nobody on irc; say something there first where I can see it, "
        "then ask again"
    )
    assert await on_mx(bot, "Alice", ALICE_MX, f"!link mx {ALICE_MX}") == (
        "Alice: Alice on mx is already you"
    )
    assert (await on_irc(bot, "alice", "!link irc")).startswith("alice: missing <who>")


async def link(bot: Harness, asker: tuple[str, str], irc_nick: str) -> str:
    code = code_in(await on_mx(bot, asker[0], asker[1], f"!link irc {irc_nick}"))
    return await on_irc(bot, irc_nick, f"!link confirm {code}")


async def test_records_follow_the_person_and_clashes_are_resolved(database_url: str) -> None:
    bot = await start(database_url)
    try:
        bob_mx = ("Bob", BOB_MX)
        # the same human as two people: both on the infra roster, both on duty
        assert await on_irc(bot, "alice", "!roster add bob infra") == "bob is on the infra roster"
        assert await on_irc(bot, "alice", "!roster add bob qa") == "bob is on the qa roster"
        assert await on_mx(bot, "Alice", ALICE_MX, "!help")
        assert (await link(bot, ("Alice", ALICE_MX), "alice")).startswith("linked:")
        await on_mx(bot, *bob_mx, "!whoami")
        assert await on_mx(bot, "Alice", ALICE_MX, f"!roster add {BOB_MX} infra") == (
            "Bob is on the infra roster"
        )
        assert await on_irc(bot, "bob", "!checkin infra") == "bob is on duty for infra"
        assert await on_mx(bot, *bob_mx, "!checkin infra") == "Bob is on duty for infra"
        assert (await on_irc(bot, "bob", "!break pkgdb API down")).startswith("#1 opened")
        assert (await on_mx(bot, *bob_mx, "!take 1")).startswith("#1 is now owned by Bob")

        assert (await link(bot, bob_mx, "bob")).startswith("linked: you are Bob on irc: bob;")

        assert await on_irc(bot, "carol", "!oncall") == "on duty: infra: Bob (since 09:00 UTC)"
        mine = await on_irc(bot, "bob", "!incidents mine")  # taken on Matrix, asked on IRC
        assert mine.splitlines()[0] == "1 incident you own"

        def facts(c: Connection) -> tuple[object, ...]:
            bob_id = c.scalar(select(Identity.person_id).where(Identity.key == "bob"))
            return (
                bob_id,
                c.scalar(select(Identity.person_id).where(Identity.key == BOB_MX)),
                c.scalars(
                    select(RosterEntry.team)
                    .where(RosterEntry.person_id == bob_id)
                    .order_by(RosterEntry.team)
                ).all(),
                c.scalar(
                    select(func.count())
                    .select_from(DutyShift)
                    .where(DutyShift.person_id == bob_id, DutyShift.off_at.is_(None))
                ),
                c.execute(select(Incident.reporter_id, Incident.owner_id)).one(),
            )

        bob_id, bob_mx_id, teams, open_shifts, incident = await bot.app.store.read(facts)
        assert bob_mx_id == bob_id
        assert teams == ["infra", "qa"]
        assert open_shifts == 1
        assert incident.reporter_id == bob_id and incident.owner_id == bob_id
        # roster membership follows the person: the IRC identity may act as a member
        assert (await on_irc(bot, "bob", "!fixed 1 restarted")).startswith("#1 pkgdb fixed by Bob")
    finally:
        await bot.close()
