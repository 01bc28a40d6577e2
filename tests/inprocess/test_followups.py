"""Follow-ups and environments as people type them: shown in !show, refused when wrong."""

from __future__ import annotations

from bot.devtools.harness import Harness


async def test_environment_and_follow_ups_in_show(bot: Harness) -> None:
    await bot.say("alice", "!deploy start pkgdb2")
    assert (await bot.say("dave", "!break pkgdb --env Production API down")).text == (
        "#1 opened: [sev3] pkgdb: API down (production) — !take 1 to own it"
    )
    assert (await bot.say("dave", "!followup #1 add an index check to CI")).text == (
        "follow-up noted on #1 for the digest"
    )
    assert (await bot.say("dave", "!show 1")).text.splitlines() == [
        "#1 [sev3] pkgdb: API down — open, unowned (deploy pkgdb2, env production)",
        "09:00 UTC dave reported it (sev3) on test",
        "09:00 dave marked a follow-up: add an index check to CI",
    ]


async def test_bad_environments_and_empty_follow_ups(bot: Harness) -> None:
    assert (await bot.say("dave", "!break pkgdb --env prod/eu down")).text == (
        "dave: an environment is up to 32 letters, digits, '.', '-' or '_', starting with a "
        "letter or digit (production, staging); got 'prod/eu'"
    )
    assert (await bot.say("dave", "!break pkgdb --env")).text == (
        "dave: --env needs a value; usage: !break <service> <summary…> [--sev 1-4] [--env ENV] "
        "[--consumer CONSUMER]"
    )
    await bot.say("dave", "!break pkgdb down")
    assert (await bot.say("dave", "!followup 1")).text == (
        "dave: missing <todo…>; usage: !followup <N> <todo…>"
    )
    assert (await bot.say("dave", "!followup 9 something")).text == (
        "dave: there is no incident #9; !incidents all lists them"
    )
    await bot.say("alice", "!fixed 1")
    # allowed in any state, like a note
    assert (await bot.say("dave", "!followup 1 write the postmortem")).text == (
        "follow-up noted on #1 for the digest"
    )
