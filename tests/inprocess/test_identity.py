"""Linking identities across networks (memory networks like the real ones, one database):
links target stable ids only, the code goes privately to whoever asked, the other side
sees both sides and their rights before it confirms, logged-out identities cannot be
linked, and links and unlinks are recorded. Reproductions 1, 2 and 3 of issue 11."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from bot.clock import FakeClock
from bot.devtools.harness import Harness, MemoryNetwork, Said
from bot.messages import IdentifiedBy
from bot.store import Identity, Person
from plugins.models import DutyShift, Incident, RosterEntry

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE_MX = "@alice:example.org"
BOB_MX = "@bob:example.org"
MALLORY_MX = "@mallory:evil.org"
NETWORKS = {
    "libera": MemoryNetwork(("#ops",), IdentifiedBy.ACCOUNT),  # services accounts
    "oftc": MemoryNetwork(("#oftc",), IdentifiedBy.NICK),  # identify_by: nick
    "fedora": MemoryNetwork(("#mx",), IdentifiedBy.USER_ID),  # Matrix
}


async def start(database_url: str) -> Harness:
    return await Harness.start(
        Path("unused"),
        database_url=database_url,
        networks=dict(NETWORKS),
        clock=FakeClock(T0),
        admins=["alice@libera"],
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await start(f"sqlite:///{tmp_path / 'link.sqlite3'}")
    yield harness
    await harness.close()


async def irc(bot: Harness, nick: str, text: str, account: str | None = None) -> Said:
    """On libera, logged in as `account` (None: not logged in)."""
    return await bot.say(nick, text, network="libera", room="#ops", account=account)


async def mx(bot: Harness, display: str, user_id: str, text: str) -> Said:
    return await bot.say(display, text, network="fedora", room="#mx", account=user_id)


def code_in(text: str) -> str:
    found = re.search(r"!link confirm ([A-Z2-9]{6})", text)
    assert found, text
    return found[1]


def private(said: Said, network: str, nick: str) -> str:
    """What the bot sent `nick` privately on `network` while answering."""
    sent = [s.text for s in said.elsewhere if (s.network, s.room) == (network, nick)]
    assert len(sent) == 1, said
    return sent[0]


async def test_whoami_shows_the_person_and_qualified_identities(bot: Harness) -> None:
    assert (await irc(bot, "alice", "!whoami", "alice")).text == (
        "you are alice (admin); identities: alice@libera"
    )
    assert (await mx(bot, "Alice", ALICE_MX, "!whoami")).text == (
        f"you are Alice; identities: {ALICE_MX} (Alice)"
    )
    assert (await irc(bot, "al", "!whoami", "alice")).text == (
        "you are alice (admin); identities: alice@libera (al)"
    )


async def test_repro1_a_display_name_gets_no_link_and_the_code_stays_private(
    bot: Harness,
) -> None:
    # mallory on Matrix calls herself "alice"; the admin alice on IRC wants her own Matrix ID
    await mx(bot, "alice", MALLORY_MX, "!whoami")
    refused = await irc(bot, "alice", "!link fedora alice", "alice")
    assert refused.text == (
        "alice: people on fedora are named by Matrix user ID (@user:server), not alice"
    )
    asked = await irc(bot, "alice", f"!link fedora {ALICE_MX}", "alice")
    assert asked.text == f"alice: I sent you the code to link {ALICE_MX} privately"
    prompt = private(asked, "libera", "alice")
    code = code_in(prompt)
    assert code not in asked.text
    assert prompt == (
        f"alice@libera (admin) will be linked with {ALICE_MX} (not seen yet); confirm as "
        f"{ALICE_MX} with !link confirm {code} within 5 minutes"
    )
    # even with the code, mallory cannot confirm: the target is a user ID, not a name
    assert (await mx(bot, "alice", MALLORY_MX, f"!link confirm {code}")).text == (
        f"alice: code {code} must be confirmed by {ALICE_MX}"
    )
    assert (await mx(bot, "alice", MALLORY_MX, f"!link confirm {code} yes")).text == (
        f"alice: code {code} must be confirmed by {ALICE_MX}"
    )
    assert (await mx(bot, "alice", MALLORY_MX, "!whoami")).text == (
        f"you are alice; identities: {MALLORY_MX} (alice)"
    )
    assert (await mx(bot, "alice", MALLORY_MX, "!deploy start pwn")).text == (
        "alice: !deploy start is for admins only (admins are listed in the bot's config)"
    )
    # the real @alice sees who asked and what moves, then links
    preview = (await mx(bot, "Alice", ALICE_MX, f"!link confirm {code.lower()}")).text
    assert preview == (
        f"alice@libera (admin) asked to be linked with you, {ALICE_MX} (no rights): one "
        "person, with both sides' rights on every network. If alice@libera is you, say "
        f"!link confirm {code} yes"
    )
    linked = (await mx(bot, "Alice", ALICE_MX, f"!link confirm {code} yes")).text
    assert linked == (
        f"linked: you are alice, {ALICE_MX}, alice@libera (admin), asked by alice@libera; "
        "roster, incidents and rights now follow you on every network"
    )
    whoami = (await mx(bot, "Alice", ALICE_MX, "!whoami")).text
    assert whoami == (
        f"you are alice (admin); identities: {ALICE_MX} (Alice), alice@libera\n"
        f"links: {ALICE_MX} linked, asked by alice@libera (2026-11-25 09:00)"
    )
    started = (await mx(bot, "Alice", ALICE_MX, "!deploy start pkgdb2")).text
    assert started.startswith("Deploy day: deploy pkgdb2 started by alice")


async def test_repro2_a_logged_out_nick_cannot_be_linked_either_way(bot: Harness) -> None:
    await irc(bot, "alice", "!whoami")  # someone on the nick alice, not logged in
    assert (await irc(bot, "alice", "!whoami")).text == "you are alice; identities: ~alice@libera"
    # as the target
    for typed in ("!link libera ~alice", "!link ~alice@libera"):
        assert (await mx(bot, "Alice", ALICE_MX, typed)).text == (
            "Alice: ~alice is someone not logged in to services on libera, whom anyone can be; "
            "name their services account instead"
        )
    # as the asker
    assert (await irc(bot, "alice", f"!link fedora {ALICE_MX}")).text == (
        "alice: you are not logged in to services on libera, so you could be anyone using your "
        "nick; log in, then ask again"
    )
    # a link to the account alice is confirmed by the account, never by the bare nick
    code = code_in(
        private(await mx(bot, "Alice", ALICE_MX, "!link libera alice"), "fedora", "Alice")
    )
    assert (await irc(bot, "alice", f"!link confirm {code} yes")).text == (
        f"alice: code {code} must be confirmed by alice@libera"
    )
    assert (await irc(bot, "alice", f"!link confirm {code} yes", "alice")).text.startswith(
        "linked: you are Alice, @alice:example.org, alice@libera (admin)"
    )
    # the admin's rights stay with the account: the nick without it is nobody
    assert (await irc(bot, "alice", "!deploy start pwn")).text == (
        "alice: !deploy start is for admins only (admins are listed in the bot's config)"
    )
    assert (await irc(bot, "alice", "!whoami")).text == "you are alice; identities: ~alice@libera"


async def test_repro3_both_sides_see_the_rights_and_links_can_be_undone(bot: Harness) -> None:
    await irc(bot, "alice", "!roster add bob@oftc infra", "alice")
    await bot.say("bob", "!whoami", network="oftc", room="#oftc")
    # bob on Matrix asks to be the oftc bob: a nick, which the prompt says
    asked = await mx(bot, "Bob", BOB_MX, "!link oftc bob")
    prompt = private(asked, "fedora", "Bob")
    code = code_in(prompt)
    assert prompt == (
        f"{BOB_MX} (no rights) will be linked with bob@oftc (roster member); confirm as "
        f"bob@oftc with !link confirm {code} within 5 minutes; note: oftc identifies people "
        "by nick, which anyone can take"
    )
    preview = (await bot.say("bob", f"!link confirm {code}", network="oftc", room="#oftc")).text
    assert preview == (
        f"{BOB_MX} (no rights) asked to be linked with you, bob@oftc (roster member): one "
        f"person, with both sides' rights on every network. If {BOB_MX} is you, say "
        f"!link confirm {code} yes; note: oftc identifies people by nick, which anyone can take"
    )
    await bot.say("bob", f"!link confirm {code} yes", network="oftc", room="#oftc")
    assert (await mx(bot, "Bob", BOB_MX, "!checkin infra")).text == "Bob is on duty for infra"
    # someone else's identity: only admins may unlink it
    assert (await mx(bot, "mallory", MALLORY_MX, "!unlink bob@oftc")).text == (
        "mallory: bob@oftc is not one of your identities; admins may unlink anyone's"
    )
    await bot.advance(minutes=30)
    unlinked = (await mx(bot, "Bob", BOB_MX, f"!unlink {BOB_MX}")).text
    assert unlinked == (
        f"unlinked {BOB_MX} from Bob: it is now a person of its own (Bob), without Bob's "
        "rights and records"
    )
    assert (await mx(bot, "Bob", BOB_MX, "!whoami")).text == (
        f"you are Bob; identities: {BOB_MX} (Bob)\n"
        f"links: {BOB_MX} unlinked by {BOB_MX} (2026-11-25 09:30)"
    )
    assert (await bot.say("bob", "!whoami", network="oftc", room="#oftc")).text == (
        "you are Bob (roster member); identities: bob@oftc\n"
        f"links: {BOB_MX} unlinked by {BOB_MX} (2026-11-25 09:30); "
        f"bob@oftc linked, asked by {BOB_MX} (2026-11-25 09:00)"
    )
    assert (await mx(bot, "Bob", BOB_MX, f"!unlink {BOB_MX}")).text == (
        f"Bob: {BOB_MX} is Bob's only identity"
    )
    # an admin may unlink anyone's
    code = code_in(private(await mx(bot, "Bob", BOB_MX, "!link oftc bob"), "fedora", "Bob"))
    await bot.say("bob", f"!link confirm {code} yes", network="oftc", room="#oftc")
    assert (await irc(bot, "alice", "!unlink bob@oftc", "alice")).text.startswith(
        "unlinked bob@oftc from Bob"
    )


async def test_only_the_other_identity_can_confirm_and_codes_expire(bot: Harness) -> None:
    await irc(bot, "alice", "!whoami", "alice")
    code = code_in(
        private(await mx(bot, "Alice", ALICE_MX, "!link libera alice"), "fedora", "Alice")
    )
    assert (await irc(bot, "mallory", f"!link confirm {code}", "mallory")).text == (
        f"mallory: code {code} must be confirmed by alice@libera"
    )
    assert (await mx(bot, "Alice", ALICE_MX, f"!link confirm {code}")).text == (
        f"Alice: code {code} must be confirmed by alice@libera"
    )
    assert (await irc(bot, "alice", f"!link confirm {code} maybe", "alice")).text == (
        f"alice: say !link confirm {code} yes to link, or nothing"
    )
    await bot.advance(minutes=5, seconds=1)
    expired = (await irc(bot, "alice", f"!link confirm {code} yes", "alice")).text
    assert expired.startswith(f"alice: no link is waiting for code {code}; codes last 5 minutes")

    code = code_in(
        private(await mx(bot, "Alice", ALICE_MX, "!link libera alice"), "fedora", "Alice")
    )
    assert (await irc(bot, "alice", f"!link confirm {code} yes", "alice")).text.startswith(
        "linked:"
    )
    assert (await irc(bot, "alice", f"!link confirm {code} yes", "alice")).text.startswith(
        f"alice: no link is waiting for code {code}"
    )


async def test_linking_refuses_what_makes_no_sense(bot: Harness) -> None:
    assert (await mx(bot, "Alice", ALICE_MX, f"!link fedora {ALICE_MX}")).text == (
        f"Alice: {ALICE_MX} is the identity you are speaking from"
    )
    assert (await mx(bot, "Alice", ALICE_MX, "!link nowhere alice")).text == (
        "Alice: there is no network nowhere here (networks: libera, oftc, fedora)"
    )
    assert (await mx(bot, "Alice", ALICE_MX, "!link alice")).text == (
        "Alice: link by a stable id: !link <network> <account or nick>, or a Matrix user ID "
        "(@user:server)"
    )
    assert (await irc(bot, "alice", "!link", "alice")).text.startswith("alice: missing <network>")
    # asked in a direct chat, the prompt is the answer
    direct = await bot.say(
        "Alice", "link libera alice", network="fedora", room="Alice", account=ALICE_MX
    )
    assert direct.text.startswith(f"{ALICE_MX} (no rights) will be linked with alice@libera")


async def link(bot: Harness, bob_mx: tuple[str, str], irc_nick: str) -> str:
    code = code_in(private(await mx(bot, *bob_mx, f"!link oftc {irc_nick}"), "fedora", bob_mx[0]))
    return (await bot.say(irc_nick, f"!link confirm {code} yes", network="oftc", room="#oftc")).text


async def test_records_follow_the_person_and_clashes_are_resolved(database_url: str) -> None:
    bot = await start(database_url)
    try:
        bob_mx = ("Bob", BOB_MX)
        # the same human as two people: both on the infra roster, both on duty
        assert (await irc(bot, "alice", "!roster add bob@oftc infra", "alice")).text == (
            "bob is on the infra roster"
        )
        assert (await irc(bot, "alice", "!roster add bob@oftc qa", "alice")).text == (
            "bob is on the qa roster"
        )
        await mx(bot, *bob_mx, "!whoami")
        assert (await irc(bot, "alice", f"!roster add {BOB_MX} infra", "alice")).text == (
            "Bob is on the infra roster"
        )

        async def oftc(text: str) -> str:
            return (await bot.say("bob", text, network="oftc", room="#oftc")).text

        assert await oftc("!checkin infra") == "bob is on duty for infra"
        assert (await mx(bot, *bob_mx, "!checkin infra")).text == "Bob is on duty for infra"
        assert (await oftc("!break pkgdb API down")).startswith("#1 opened")
        assert (await mx(bot, *bob_mx, "!take 1")).text.startswith("#1 is now owned by Bob")

        assert (await link(bot, bob_mx, "bob")).startswith("linked: you are Bob, ")

        assert (await irc(bot, "carol", "!oncall", "carol")).text == (
            "on duty: infra: Bob (since 09:00 UTC)"
        )
        mine = await oftc("!incidents mine")  # taken on Matrix, asked on IRC
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
                c.scalar(select(func.count()).select_from(Person)),
            )

        bob_id, bob_mx_id, teams, open_shifts, incident, people = await bot.app.store.read(facts)
        assert bob_mx_id == bob_id
        assert teams == ["infra", "qa"]
        assert open_shifts == 1
        assert incident.reporter_id == bob_id and incident.owner_id == bob_id
        assert people == 3  # alice, carol, bob
        # roster membership follows the person: the IRC identity may act as a member
        assert (await oftc("!fixed 1 restarted")).startswith("#1 pkgdb fixed by Bob")
    finally:
        await bot.close()
