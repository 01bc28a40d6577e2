"""The intake plugin: an HTTP server for the deploy pipeline (alerts in, deploys marked,
health and metrics out, and whatever routes other features register), the `deployday
deploy` command line, and the job that announces what that command line did."""

from __future__ import annotations

import argparse

from bot.errors import StartupError
from bot.plugin import Plugin, PluginAPI, cli_command
from plugins import MIGRATIONS
from plugins.intake.health import Health, LoopWatch
from plugins.intake.metrics import Metrics
from plugins.intake.offline import PICK_UP_EVERY, Offline, configure
from plugins.intake.pipeline import Pipeline
from plugins.intake.server import IntakeServer
from plugins.intake.settings import IntakeSettings
from plugins.intake.webhook import AlertIntake


class IntakePlugin(Plugin):
    name = "intake"
    settings_key = "intake"
    Settings = IntakeSettings
    migrations = MIGRATIONS / "versions"

    def __init__(self, api: PluginAPI) -> None:
        super().__init__(api)
        self._watch = LoopWatch()
        self.metrics = Metrics(api, self._watch)
        self.server: IntakeServer | None = None
        self.offline = Offline(api, self.settings)
        pipeline = Pipeline(api, self.settings)
        routes = api.routes
        routes.add(
            "POST", "/alerts", AlertIntake(api, self.settings, self.metrics.count_alerts).serve
        )
        routes.add("POST", "/deploys/start", pipeline.start)
        routes.add("POST", "/deploys/end", pipeline.end)
        routes.add("POST", "/deployments", pipeline.deployment)
        routes.add("GET", "/healthz", Health(api, self._watch).serve, public=True)
        routes.add("GET", "/metrics", self.metrics.serve)

    async def start(self) -> None:
        cfg: IntakeSettings = self.settings
        token = cfg.token
        if token is None:
            raise StartupError(f"intake.{cfg.missing_secrets()[0]}")
        server = IntakeServer(self.api.routes, token, cfg.max_body_bytes)
        try:
            await server.start(cfg.host, cfg.port)
        except OSError as exc:
            await server.stop()
            raise StartupError(
                f"intake.listen: cannot listen on {cfg.listen}: {exc.strerror or exc}"
            ) from None
        self.server = server
        self._watch.start()
        self.api.scheduler.every("pipeline-notices", PICK_UP_EVERY, self.offline.pick_up)

    async def stop(self) -> None:
        await self._watch.stop()
        if self.server is not None:
            await self.server.stop()
            self.server = None

    @cli_command(
        "deploy",
        help="start or end a deploy day, or record a deployment, from a pipeline",
        configure=configure,
    )
    async def deploy_cli(self, args: argparse.Namespace) -> int:
        return await self.offline.run(args)
