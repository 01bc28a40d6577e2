"""A name typed in a command resolves to exactly one identity: on the network where it was
typed, or anywhere in a qualified form; never through a display name or a person's name on
another network. Admins are named per network and matched by its casemapping.
Reproductions 4 and 5 of issue 11."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.devtools.harness import Harness, MemoryNetwork
from bot.messages import IdentifiedBy
from bot.store import Person

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE_MX = "@alice:example.org"
MALLORY_MX = "@mallory:evil.org"
BOB_MX = "@bob:example.org"
NETWORKS = {
    "libera": MemoryNetwork(("#ops",), IdentifiedBy.ACCOUNT),
    "oftc": MemoryNetwork(("#oftc",), IdentifiedBy.NICK),
    "fedora": MemoryNetwork(("#mx",), IdentifiedBy.USER_ID),
    "console": MemoryNetwork(("console",), IdentifiedBy.OPERATOR),
}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.start(
        tmp_path / "names.sqlite3",
        networks=dict(NETWORKS),
        clock=FakeClock(T0),
        admins=["alice@oftc", ALICE_MX, "carol@libera"],
    )
    yield harness
    await harness.close()


async def oftc(bot: Harness, nick: str, text: str) -> str:
    return (await bot.say(nick, text, network="oftc", room="#oftc")).text


async def libera(bot: Harness, nick: str, text: str, account: str | None = None) -> str:
    return (await bot.say(nick, text, network="libera", room="#ops", account=account)).text


async def mx(bot: Harness, display: str, user_id: str, text: str) -> str:
    return (await bot.say(display, text, network="fedora", room="#mx", account=user_id)).text


async def console(bot: Harness, text: str) -> str:
    return (await bot.say("operator", text, network="console", room="operator")).text


async def people(bot: Harness) -> int:
    return await bot.app.store.read(lambda c: c.scalar(select(func.count()).select_from(Person)))


async def test_repro4_a_name_typed_on_irc_never_means_a_matrix_display_name(
    bot: Harness,
) -> None:
    await mx(bot, "bob", MALLORY_MX, "!whoami")  # mallory calls herself bob on Matrix
    assert await oftc(bot, "alice", "!roster add bob infra") == "bob is on the infra roster"
    assert await mx(bot, "bob", MALLORY_MX, "!checkin infra") == (
        "bob: you are not on the infra roster; ask an admin to !roster add bob infra"
    )
    # the real bob, on the network where he was named, is the one on the roster
    assert await oftc(bot, "bob", "!checkin infra") == "bob is on duty for infra"
    assert await oftc(bot, "alice", "!page infra") == (
        "bob: page for infra from alice (on duty: bob)"
    )
    assert await people(bot) == 3  # mallory, alice, bob


async def test_repro4_the_console_names_people_with_their_network(bot: Harness) -> None:
    await console(bot, "!deploy start pkgdb2")
    assert await console(bot, "!lead bob") == (
        "nobody but the operator is on console; name people with their network, like "
        "bob@libera or a Matrix user ID (@user:server)"
    )
    assert await console(bot, "!lead bob@oftc") == "bob now leads deploy pkgdb2"
    assert await console(bot, "!roster add bob@oftc infra") == "bob is on the infra roster"
    # bob speaks for the first time: the identity recorded for him is his
    assert await oftc(bot, "bob", "!checkin infra") == "bob is on duty for infra"
    assert await oftc(bot, "bob", "!lead") == "bob leads deploy pkgdb2"
    assert await oftc(bot, "alice", "!page infra") == (
        "bob: page for infra from alice (on duty: bob)"
    )
    assert await people(bot) == 3  # operator, bob, alice


async def test_repro4_a_matrix_admin_names_irc_people_who_have_not_spoken(bot: Harness) -> None:
    assert await mx(bot, "Alice", ALICE_MX, "!roster add carol@libera infra") == (
        "carol is on the infra roster"
    )
    assert await mx(bot, "Alice", ALICE_MX, "!roster add dave@oftc qa") == (
        "dave is on the qa roster"
    )
    # carol logs in to her account under another nick: the same person
    assert await libera(bot, "caro", "!checkin infra", "carol") == "carol is on duty for infra"
    assert await oftc(bot, "dave", "!checkin qa") == "dave is on duty for qa"
    # not logged in, the nick carol is not carol
    assert await libera(bot, "carol", "!checkin infra") == (
        "carol: you are not on the infra roster; ask an admin to !roster add carol infra"
    )
    assert await people(bot) == 4  # alice, carol, dave, the logged-out nick carol


async def test_on_an_account_network_the_channel_says_whose_nick_it_is(bot: Harness) -> None:
    """Someone in the channel who has not spoken: the server has said which account they
    are logged in to (extended-join, WHOX), so their current nick names that account."""
    bot.transport("libera").present.update({"dave": "dave", "bobby": "robert"})
    assert await libera(bot, "carol", "!roster add dave infra", "carol") == (
        "dave is on the infra roster"
    )
    assert await libera(bot, "carol", "!roster add bobby qa", "carol") == (
        "bobby (robert@libera) is on the qa roster"
    )
    assert await libera(bot, "carol", "!roster add erin qa", "carol") == (
        "carol: I have not seen erin on libera, where people are known by services account; "
        "if erin is their account, name it as erin@libera"
    )
    assert await libera(bot, "bob", "!checkin qa", "robert") == "bobby is on duty for qa"
    assert await libera(bot, "dave", "!checkin infra", "dave") == "dave is on duty for infra"


async def test_names_are_refused_where_they_could_be_anyone(bot: Harness) -> None:
    assert await libera(bot, "alice", "!roster add bob infra", "alice") == (
        "alice: !roster add is for admins only (admins are listed in the bot's config)"
    )
    # on a network identified by account, a bare name someone never used is refused
    assert await mx(bot, "Alice", ALICE_MX, "!roster add bob@libera infra") == (
        "bob is on the infra roster"
    )
    await libera(bot, "erin", "!whoami", "erin")
    assert await oftc(bot, "alice", "!assign 1 erin") == (
        "alice: I don't know erin here yet; they need to say something where I can see it, "
        "or an admin can !roster add erin <team>"
    )
    assert await oftc(bot, "alice", "!roster add zed@libera qa") == "zed is on the qa roster"
    assert await oftc(bot, "alice", "!roster add ~zed@libera qa") == (
        "alice: ~zed is someone not logged in to services on libera, whom anyone can be; "
        "name their services account instead"
    )
    assert await mx(bot, "Alice", ALICE_MX, "!roster add frank infra") == (
        "Alice: I know nobody called frank on fedora; name them by their Matrix user ID "
        "(@user:server)"
    )
    assert await oftc(bot, "alice", "!roster add frank@fedora infra") == (
        "alice: people on fedora are named by Matrix user ID (@user:server), not frank"
    )
    assert await oftc(bot, "alice", "!roster add frank@nowhere infra") == (
        "alice: there is no network nowhere here (networks: libera, oftc, fedora, console)"
    )
    assert await oftc(bot, "alice", "!roster add @frank infra") == "frank is on the infra roster"
    assert await oftc(bot, "alice", "!roster add @Frank:Example.org infra") == (
        "@Frank:Example.org is on the infra roster"
    )


async def test_a_nick_or_display_name_resolves_only_when_it_is_one_person(bot: Harness) -> None:
    await libera(bot, "bobby", "!whoami", "robert")  # account robert goes by bobby
    assert await libera(bot, "x", "!page bobby", "xavier") == "bobby: page from x"
    await libera(bot, "bobby", "!whoami", "roberta")  # so does roberta, now
    assert await libera(bot, "x", "!page bobby", "xavier") == (
        "x: bobby on libera could be any of robert@libera, roberta@libera; name one of them"
    )
    # the stable id comes first: once the account bobby is known, bobby is that account
    assert await mx(bot, "Alice", ALICE_MX, "!roster add bobby@libera infra") == (
        "bobby is on the infra roster"
    )
    assert await libera(bot, "x", "!page bobby", "xavier") == "bobby: page from x"
    assert await mx(bot, "Alice", ALICE_MX, "!roster remove bobby@libera") == (
        "bobby is off the roster (was infra)"
    )
    # display names: taken by anyone, so the answer shows whose they are
    await mx(bot, "Bob", BOB_MX, "!whoami")
    assert await mx(bot, "Alice", ALICE_MX, "!roster add bob qa") == (
        f"Bob ({BOB_MX}) is on the qa roster"
    )
    await mx(bot, "bob", MALLORY_MX, "!whoami")
    assert await mx(bot, "Alice", ALICE_MX, "!roster remove bob") == (
        f"Alice: bob on fedora could be any of {BOB_MX}, {MALLORY_MX}; name one of them"
    )
    assert await mx(bot, "Alice", ALICE_MX, f"!roster remove {BOB_MX}") == (
        "Bob is off the roster (was qa)"
    )


async def test_repro5_admins_are_named_per_network_with_its_casemapping(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot"):
        bot = await Harness.start(
            tmp_path / "admins.sqlite3",
            networks=dict(NETWORKS),
            admins=["[alice]@oftc", "carol@libera", ALICE_MX],
        )
    try:
        said = {(r.levelname, r.getMessage()) for r in caplog.records}
        assert ("INFO", "oftc: people are identified by nick; admins: [alice]@oftc") in said
        assert (
            "WARNING",
            "oftc: admin rights rest on nicks ([alice]@oftc): anyone who takes one of these "
            "nicks is an admin here",
        ) in said
        assert (
            "INFO",
            "libera: people are identified by services account; admins: carol@libera",
        ) in said
        assert (
            "INFO",
            f"fedora: people are identified by Matrix user ID; admins: {ALICE_MX}",
        ) in said
        # rfc1459: {alice} is [alice]
        assert (await oftc(bot, "{ALICE}", "!deploy start pkgdb2")).startswith(
            "Deploy day: deploy pkgdb2 started by {ALICE}"
        )
        # the same nick on another network is somebody else
        assert await libera(bot, "[alice]", "!deploy end", "alice") == (
            "[alice]: !deploy end is for admins only (admins are listed in the bot's config)"
        )
        # an account admin is one only when logged in to that account
        assert await libera(bot, "carol", "!deploy end") == (
            "carol: !deploy end is for admins only (admins are listed in the bot's config)"
        )
        assert (await libera(bot, "cc", "!deploy end", "Carol")).startswith(
            "Deploy day over: deploy pkgdb2"
        )
        # roster names follow the casemapping too
        assert await oftc(bot, "{alice}", "!roster add [bob] infra") == (
            "[bob] is on the infra roster"
        )
        assert await oftc(bot, "{BOB}", "!checkin infra") == "[bob] is on duty for infra"
    finally:
        await bot.close()
