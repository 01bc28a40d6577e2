"""One bot per SQLite database, and the tools beside it (issue 11, reproduction 8): a
second `deployday run` on the same file used to answer every command again (one `!break`
made #10 and #11); now it refuses to start with one line. `deployday console` and
`deployday plan` on the database of a running bot used to have their announcements
never reach chat; now the running bot says them within seconds."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path

import pytest

from bot.devtools.ircuser import IrcUser
from bot.text import clean
from tests.servers.ircd import IrcServer
from tests.servers.support import run_bot, run_cli
from tests.servers.test_two_instances import config_text

pytestmark = pytest.mark.servers

WAIT = 20.0
SOON = 5.0  # seconds for an announcement made beside the running bot to reach the channel
_ids = itertools.count(1)


async def test_a_second_run_refuses_and_the_tools_announce_through_the_first(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    n = next(_ids)
    nick, channel = f"onlybot{n}", f"#only{n}"
    config = tmp_path / "config.yaml"
    config.write_text(config_text(miniircd, "sqlite:///shared.sqlite3", nick, channel, []))
    watcher = await IrcUser.connect(miniircd.host, miniircd.port, f"alice{n}")
    await watcher.join(channel)
    first = await run_bot(config)
    try:
        await watcher.wait_event("join", lambda e: e.source.nick == nick, timeout=WAIT)

        second = await run_bot(config)
        _, err = await asyncio.wait_for(second.communicate(), WAIT)
        assert second.returncode == 2
        lines = err.decode().strip().splitlines()  # after any warnings about the config
        assert "Traceback" not in err.decode()
        assert lines[-1] == (
            f"deployday: another deployday (pid {first.pid}) is already running on "
            f"{tmp_path / 'shared.sqlite3'}; stop it first (several instances need "
            'PostgreSQL: README, "Running more than one instance")'
        )

        watcher.say(channel, "!break koji stuck")
        opened = await watcher.expect(r"opened", sender=nick, timeout=WAIT)
        assert clean(opened.text).startswith("#1 opened: [sev3] koji: stuck")

        code, out, err = await run_cli(
            "console", "-c", str(config), stdin="deploy start pkgdb2\nbreak pkgdb down\n"
        )
        assert code == 0, err
        assert "Deploy day: deploy pkgdb2 started by console" in out
        started = await watcher.expect("Deploy day", sender=nick, timeout=SOON)
        assert clean(started.text) == "Deploy day: deploy pkgdb2 started by console"
        incident = await watcher.expect("new incident", sender=nick, timeout=SOON)
        assert clean(incident.text) == "new incident #2 [sev3] pkgdb: down (reported by console)"

        code, out, err = await run_cli(
            "plan", "add", "pkgdb3", "+2h", "-c", str(config), "-d", "next round"
        )
        assert code == 0, err
        assert out.splitlines()[-1] == "announced in chat on local"
        planned = await watcher.expect("Planned", sender=nick, timeout=SOON)
        assert clean(planned.text).startswith("Planned: deploy pkgdb3 (production) on ")
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(first.communicate(), WAIT)
        assert first.returncode == 0, err.decode()[-2000:]
        await watcher.quit()
