"""Plugins named in the config load by module path or by entry point, whichever the name is
(shipped features skip the entry-point scan, so this keeps the other way honest)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import BUILTIN_PLUGINS
from bot.loading import load_plugin_classes, plugin_sections

PLUGIN = """
from bot.commands import Level, command
from bot.plugin import Context, Plugin


class Hello(Plugin):
    name = "hello"

    @command("hello", level=Level.ANYONE, help="greet")
    async def hello(self, ctx: Context) -> str:
        return "hello"


plugin = Hello
"""


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution on sys.path that publishes `greeter` in the deployday.plugins group,
    pointing at its module `dd_hello_plugin`."""
    (tmp_path / "dd_hello_plugin.py").write_text(PLUGIN)
    info = tmp_path / "dd_hello_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dd-hello-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[deployday.plugins]\ngreeter = dd_hello_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("dd_hello_plugin", None)


@pytest.mark.usefixtures("published")
def test_an_entry_point_loads_by_its_name_beside_the_shipped_features() -> None:
    names = [c.name for c in load_plugin_classes([*BUILTIN_PLUGINS, "greeter"])]
    assert names[-1] == "hello"
    assert "incidents" in names


@pytest.mark.usefixtures("published")
def test_a_module_path_still_loads_without_an_entry_point() -> None:
    assert [c.name for c in load_plugin_classes(["dd_hello_plugin"])][-1] == "hello"


def test_a_name_that_is_neither_says_so() -> None:
    assert plugin_sections(["no_such_plugin_here"]) == (
        "plugin 'no_such_plugin_here' cannot be imported: No module named 'no_such_plugin_here'"
    )
