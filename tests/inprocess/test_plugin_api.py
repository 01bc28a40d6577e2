"""What plugins can rely on from the core: events between plugins, answering early,
their own config section, and a failing subscriber not breaking the command."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from bot.config import StrictModel
from bot.devtools.harness import Harness
from bot.messages import Reply
from bot.plugin import Plugin
from plugins.deploys.service import DEPLOY_ENDED, DEPLOY_STARTED, DeployEnded, DeployView


class WatchSettings(StrictModel):
    greeting: str = Field("deploy over")


class Watcher(Plugin):
    name = "watcher"
    settings_key = "watcher"
    Settings = WatchSettings
    seen: ClassVar[list[str]] = []

    async def start(self) -> None:
        self.api.subscribe(DEPLOY_STARTED, self.started)
        self.api.subscribe(DEPLOY_ENDED, self.broken)
        self.api.subscribe(DEPLOY_ENDED, self.ended)

    async def started(self, deploy: object) -> None:
        assert isinstance(deploy, DeployView)
        Watcher.seen.append(f"started {deploy.name}")

    async def broken(self, deploy: object) -> None:
        raise RuntimeError("a subscriber that fails")

    async def ended(self, ended: object) -> None:
        assert isinstance(ended, DeployEnded) and not ended.deploy.active
        assert ended.origin is not None and ended.origin.sender.nick == "alice"
        await self.api.announce(Reply.of(f"{self.settings.greeting}: {ended.deploy.name}"))


plugin = Watcher


async def test_plugins_hear_about_deploys_after_they_are_announced(tmp_path: Path) -> None:
    Watcher.seen = []
    bot = await Harness.start(
        tmp_path / "p.sqlite3",
        admins=["alice"],
        plugins=["plugins.deploys", "plugins.metrics", __name__],
        watcher={"greeting": "digest soon"},
    )
    try:
        await bot.say("alice", "!deploy start pkgdb2")
        assert Watcher.seen == ["started pkgdb2"]
        said = await bot.say("alice", "!deploy end")
        lines = said.text.splitlines()
        assert lines[0].startswith("Deploy day over: deploy pkgdb2 ended")
        assert lines[-1] == "digest soon: pkgdb2"
    finally:
        await bot.close()
