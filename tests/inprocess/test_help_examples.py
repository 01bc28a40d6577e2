"""Every usage example in the help is run against a fresh bot, so help cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.commands import Example
from bot.config import BUILTIN_PLUGINS
from bot.devtools.harness import Harness
from bot.loading import load_plugin_classes


def _examples() -> list[tuple[str, Example]]:
    found = []
    for cls in load_plugin_classes(BUILTIN_PLUGINS):
        for fn in vars(cls).values():
            meta = getattr(fn, "__deployday_command__", None)
            if meta:
                found += [(meta["name"], ex) for ex in meta["examples"]]
    return found


EXAMPLES = _examples()


def test_every_command_has_an_example() -> None:
    names = {name for name, _ in EXAMPLES}
    registered = set()
    for cls in load_plugin_classes(BUILTIN_PLUGINS):
        registered |= {
            fn.__deployday_command__["name"]
            for fn in vars(cls).values()
            if hasattr(fn, "__deployday_command__")
        }
    assert registered - names == set()


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[e.says for _, e in EXAMPLES])
async def test_example(tmp_path: Path, name: str, example: Example) -> None:
    bot = await Harness.start(tmp_path / "ex.sqlite3", admins=["alice@test"])
    try:
        for line in example.setup:
            said = await bot.say("alice", line)
            assert not said.text.startswith("alice:"), f"setup {line!r} failed: {said.text}"
        said = await bot.say("alice", example.says)
        assert re.search(example.expect, said.text, re.S), (
            f"{example.says!r} answered {said.text!r}, expected /{example.expect}/"
        )
    finally:
        await bot.close()
