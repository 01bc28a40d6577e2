"""The plugin example in README.md works as printed."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from bot.devtools.harness import Harness

README = Path(__file__).resolve().parents[2] / "README.md"


def _example_module() -> str:
    section = README.read_text().split("### Writing a plugin", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "README has no plugin example"
    module = types.ModuleType("readme_hello")
    exec(compile(code[1], str(README), "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    return module.__name__


async def test_the_readme_plugin_answers(tmp_path: Path) -> None:
    bot = await Harness.start(tmp_path / "r.sqlite3", plugins=[_example_module()])
    try:
        assert (await bot.say("dave", "!hello world")).text == "hello, world"
        assert (await bot.say("dave", "!hello --loud deploy day")).text == "HELLO, DEPLOY DAY"
        assert "!hello <who…> [--loud]" in (await bot.say("dave", "!help hello")).text
    finally:
        await bot.close()
