"""One bot process, one database, two networks: an IRC channel on a real miniircd and a
Matrix room on a real Synapse. An incident reported on one side is taken and fixed from
the other, and a person links their IRC nick and Matrix ID so their rights follow them."""

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
from tests.servers.synapse import Homeserver

pytestmark = pytest.mark.servers


async def test_one_incident_across_irc_and_matrix(
    miniircd: IrcServer, synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_id, password = await bot_account(synapse, monkeypatch)
    carol_nick, channel, bot_nick = synapse.unique("carol"), synapse.unique("#ops"), "ddbridge"
    dave = await synapse.user("dave", display_name="Dave")
    erin = await synapse.user("erin", display_name="Erin")
    local = synapse.unique("ops")
    room = await dave.create_room(alias=local, invite=(bot_id, erin.user_id))
    await erin.wait_invite(room)
    await erin.join(room)
    carol = await IrcUser.connect(miniircd.host, miniircd.port, carol_nick, timeout=WAIT)
    erin_nick = synapse.unique("erin")
    erin_irc = await IrcUser.connect(miniircd.host, miniircd.port, erin_nick, timeout=WAIT)
    await carol.join(channel)
    await erin_irc.join(channel)
    networks = {
        "libera": irc_network(miniircd, bot_nick + str(miniircd.port % 1000), channel, "nick"),
        "fedora": matrix_network(synapse, bot_id, [f"#{local}:localhost"]),
    }
    bot = await start_bot(
        tmp_path / "both.sqlite3",
        FakeClock(),
        networks,
        bot_id,
        password,
        admins=[f"{carol_nick}@libera", dave.user_id, f"{erin_nick}@libera"],
    )
    irc_bot = bot.irc.own_names[0]

    async def on_irc(user: IrcUser, pattern: str) -> str:
        regex = re.compile(pattern)
        found = await user.next_message(
            lambda m: m.sender.lower() == irc_bot.lower() and bool(regex.search(clean(m.text))),
            timeout=WAIT,
        )
        return clean(found.text)

    try:
        carol.say(channel, "!break pkgdb API returns 500")
        assert (await on_irc(carol, "opened")).startswith("#1 opened: [sev3] pkgdb")
        # announced in the Matrix room, rendered there as HTML
        announced = await dave.expect("new incident #1", sender=bot_id, room=room, timeout=WAIT)
        assert "(reported by " + carol_nick + ")" in announced.body

        await dave.say(room, "!take 1")
        taken = await dave.expect("owned by", sender=bot_id, room=room, timeout=WAIT)
        assert taken.body.startswith("#1 is now owned by Dave")

        carol.say(channel, "!note 1 rolling back the schema")
        assert await on_irc(carol, "noted") == "noted on #1"

        await dave.say(room, "!fixed 1 rolled back")
        await dave.expect("fixed by Dave", sender=bot_id, room=room, timeout=WAIT)
        assert (await on_irc(carol, "fixed")).startswith("#1 pkgdb fixed by Dave")

        carol.say(channel, "!show 1")
        assert (await on_irc(carol, "^#1 ")).endswith("fixed")
        assert "rolled back" in await on_irc(carol, "Dave.*fixed|fixed.*Dave")

        # linking: erin is an admin by her IRC nick; as @erin on Matrix she is not, yet
        await erin.say(room, "!deploy start pkgdb2")
        refused = await erin.expect("admins only", sender=bot_id, room=room, timeout=WAIT)
        assert refused.body.startswith("Erin: !deploy start is for admins only")
        erin_irc.say(channel, f"!link fedora {erin.user_id}")
        assert await on_irc(erin_irc, "privately") == (
            f"{erin_nick}: I sent you the code to link {erin.user_id} privately"
        )
        asked = await erin_irc.next_message(
            lambda m: m.target.lower() == erin_nick.lower() and "link confirm" in m.text,
            timeout=WAIT,
        )
        code = re.search(r"!link confirm ([A-Z2-9]{6})", clean(asked.text))
        assert code is not None, asked
        await erin.say(room, f"!link confirm {code[1]} yes")
        linked = await erin.expect("^linked", sender=bot_id, room=room, timeout=WAIT)
        assert linked.body.startswith(
            f"linked: you are {erin_nick}, {erin.user_id}, {erin_nick}@libera (admin)"
        )

        await erin.say(room, "!whoami")
        whoami = await erin.expect("you are", sender=bot_id, room=room, timeout=WAIT)
        assert whoami.body.startswith(
            f"you are {erin_nick} (admin); identities: {erin.user_id} (Erin), {erin_nick}@libera"
        )
        await erin.say(room, "!deploy start pkgdb2")
        started = await erin.expect("Deploy day", sender=bot_id, room=room, timeout=WAIT)
        assert started.body.startswith(f"Deploy day: deploy pkgdb2 started by {erin_nick}")
        # the announcement reaches IRC too
        assert (await on_irc(carol, "Deploy day")).startswith("Deploy day: deploy pkgdb2")
    finally:
        await asyncio.gather(carol.quit(), erin_irc.quit(), return_exceptions=True)
        await bot.stop()
        await asyncio.gather(dave.close(), erin.close())
