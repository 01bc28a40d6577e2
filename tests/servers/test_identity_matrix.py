"""Display names on a real Synapse are what anyone can set: mallory calls herself by the
IRC admin's nick, and by the nick of someone the admin puts on the roster. Neither gets
her a link, a code or a place on the roster; the real Matrix user links after seeing
who asked. Reproductions 1 and 4 of issue 11, with a miniircd beside the Synapse."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser
from bot.text import clean
from tests.servers.ircd import IrcServer, irc_network
from tests.servers.matrix_bot import WAIT, bot_account, matrix_network, start_bot
from tests.servers.synapse import Homeserver, MatrixUser

pytestmark = pytest.mark.servers


async def test_display_names_name_nobody_on_irc_and_take_no_link(
    miniircd: IrcServer, synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice_nick, bob_nick = synapse.unique("alice"), synapse.unique("bob")
    channel, local = synapse.unique("#ops"), synapse.unique("ops")
    alice_mx = await synapse.user("alicemx", display_name="Alice")
    mallory = await synapse.user("mallory", display_name=alice_nick)  # the admin's nick
    fake_bob = await synapse.user("fakebob", display_name=bob_nick)
    room = await alice_mx.create_room(
        alias=local, invite=(bot_id, mallory.user_id, fake_bob.user_id)
    )
    for user in (mallory, fake_bob):
        await user.wait_invite(room)
        await user.join(room)
    alice = await IrcUser.connect(miniircd.host, miniircd.port, alice_nick, timeout=WAIT)
    await alice.join(channel)
    networks = {
        "libera": irc_network(miniircd, synapse.unique("ddname"), channel, "nick"),
        "fedora": matrix_network(synapse, bot_id, [f"#{local}:localhost"]),
    }
    bot = await start_bot(
        tmp_path / "names.sqlite3",
        FakeClock(),
        networks,
        bot_id,
        password,
        admins=[f"{alice_nick}@libera"],
    )
    irc_bot = bot.irc.own_names[0]

    async def on_irc(user: IrcUser, pattern: str, private: bool = False) -> str:
        regex = re.compile(pattern)
        found = await user.next_message(
            lambda m: (
                m.sender.lower() == irc_bot.lower()
                and (m.target.lower() == user.nick.lower()) == private
                and bool(regex.search(clean(m.text)))
            ),
            timeout=WAIT,
        )
        return clean(found.text)

    async def on_mx(user: MatrixUser, text: str, pattern: str, where: str = room) -> str:
        await user.say(where, text)
        return (await user.expect(pattern, sender=bot_id, room=where, timeout=WAIT)).body

    try:
        assert await on_mx(mallory, "!whoami", f"^you are {alice_nick}") == (
            f"you are {alice_nick}; identities: {mallory.user_id} ({alice_nick})"
        )
        # reproduction 1: the admin links "alice" on Matrix: a display name is no target
        alice.say(channel, f"!link fedora {alice_nick}")
        assert await on_irc(alice, "named by") == (
            f"{alice_nick}: people on fedora are named by Matrix user ID (@user:server), "
            f"not {alice_nick}"
        )
        alice.say(channel, f"!link fedora {alice_mx.user_id}")
        assert await on_irc(alice, "privately") == (
            f"{alice_nick}: I sent you the code to link {alice_mx.user_id} privately"
        )
        prompt = await on_irc(alice, "link confirm", private=True)
        code = re.search(r"!link confirm ([A-Z2-9]{6})", prompt)
        assert code is not None, prompt
        assert prompt == (
            f"{alice_nick}@libera (admin) will be linked with {alice_mx.user_id} (not seen "
            f"yet); confirm as {alice_mx.user_id} with !link confirm {code[1]} within 5 "
            f"minutes; note: libera identifies people by nick, which anyone can take"
        )
        assert await on_mx(mallory, f"!link confirm {code[1]} yes", "confirmed by") == (
            f"{alice_nick}: code {code[1]} must be confirmed by {alice_mx.user_id}"
        )
        assert (await on_mx(mallory, "!deploy start pwn", "admins")).endswith(
            "!deploy start is for admins only (admins are listed in the bot's config)"
        )
        preview = await on_mx(alice_mx, f"!link confirm {code[1]}", "asked")
        assert preview.startswith(
            f"{alice_nick}@libera (admin) asked to be linked with you, {alice_mx.user_id} "
            f"(no rights): one person, with both sides' rights on every network. If "
            f"{alice_nick}@libera is you, say !link confirm {code[1]} yes"
        )
        assert (await on_mx(alice_mx, f"!link confirm {code[1]} yes", "^linked")).startswith(
            f"linked: you are {alice_nick}, {alice_mx.user_id}, {alice_nick}@libera (admin)"
        )
        assert (await on_mx(alice_mx, "!deploy start pkgdb2", "Deploy day")).startswith(
            f"Deploy day: deploy pkgdb2 started by {alice_nick}"
        )

        # reproduction 4: a name typed on IRC is someone on IRC, never a display name
        await on_mx(fake_bob, "!whoami", f"^you are {bob_nick}")
        alice.say(channel, f"!roster add {bob_nick} infra")
        assert await on_irc(alice, "roster") == f"{bob_nick} is on the infra roster"
        assert await on_mx(fake_bob, "!checkin infra", "not on the infra roster") == (
            f"{bob_nick}: you are not on the infra roster; ask an admin to !roster add "
            f"{bob_nick} infra"
        )
        bob = await IrcUser.connect(miniircd.host, miniircd.port, bob_nick, timeout=WAIT)
        await bob.join(channel)
        bob.say(channel, "!checkin infra")
        assert await on_irc(bob, "on duty") == f"{bob_nick} is on duty for infra"

        # a code is never shown in a room: from a room without a direct chat, no code
        assert await on_mx(fake_bob, f"!link libera {bob_nick}", "cannot reach") == (
            f"{bob_nick}: link codes are given only privately, and I cannot reach you "
            "privately from here on fedora: open a direct chat with me and ask there"
        )
        direct = await fake_bob.create_room(invite=(bot_id,), direct=True)
        await fake_bob.wait_membership(direct, bot_id, "join", timeout=WAIT)
        assert await on_mx(fake_bob, f"!link libera {bob_nick}", "sent you the code") == (
            f"{bob_nick}: I sent you the code to link {bob_nick}@libera privately"
        )
        dm = await fake_bob.expect("link confirm", sender=bot_id, room=direct, timeout=WAIT)
        assert dm.body.startswith(f"{fake_bob.user_id} (no rights) will be linked with")
        await bob.quit()
    finally:
        await alice.quit()
        await bot.stop()
        await asyncio.gather(alice_mx.close(), mallory.close(), fake_bob.close())
