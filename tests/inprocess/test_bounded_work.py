"""No single person can make the bot work without bound (issue 11, reproductions 6 and 9):
a huge command is refused in one line before it is parsed, and the per-person rate limit
follows the person through a nick change."""

from __future__ import annotations

import time
from pathlib import Path

from bot.devtools.harness import Harness


async def test_a_64_kb_command_is_refused_at_once(bot: Harness) -> None:
    hostile = "!note 1 " + '"a ' * 21_842 + "xy"  # 64 KiB of unmatched quotes
    assert len(hostile) == 65_536
    spent = []
    for n in range(3):
        began = time.thread_time()
        said = await bot.say(f"mallory{n}", hostile)
        spent.append(time.thread_time() - began)
        assert said.text == (
            f"mallory{n}: that command is 65,535 characters; I read at most 4,000: "
            "say it in shorter pieces"
        )
    assert min(spent) < 0.05, spent
    assert (await bot.say("dave", "!incidents")).text == "no open incidents"


async def test_a_command_up_to_the_cap_is_read(bot: Harness) -> None:
    await bot.say("dave", "!break pkgdb down")
    note = "x" * (4000 - len("note 1 "))
    said = await bot.say("dave", f"!note 1 {note}")  # parsed: the note's own limit answers
    assert said.text == "dave: the text is 3993 characters; keep it under 1000"
    assert (await bot.say("dave", "!note 1 short")).text == "noted on #1"


async def test_a_new_nick_is_not_a_new_allowance(tmp_path: Path) -> None:
    """On a network that identifies people by nick, `/nick` used to give a flooder a
    fresh bucket; the limit is kept per user@host now."""
    bot = await Harness.start(tmp_path / "r.sqlite3", rate_limit={"burst": 2, "per_minute": 1})
    try:
        for _ in range(2):
            said = await bot.say("eve", "!incidents", host="eve@203.0.113.9")
            assert said.text == "no open incidents"
        said = await bot.say("eve_", "!incidents", host="eve@203.0.113.9")
        assert said.text.startswith("eve_: slow down: I take 2 commands at once")
        assert (await bot.say("eve__", "!incidents", host="eve@203.0.113.9")).here == []
        said = await bot.say("dave", "!incidents", host="dave@198.51.100.4")
        assert said.text == "no open incidents"
    finally:
        await bot.close()
