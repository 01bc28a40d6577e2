"""Services own the transactions: plugins call them with plain values and get plain
results back; no SQL lives in command code."""

from __future__ import annotations

from bot.plugin import PluginAPI
from plugins.services.catalog import CatalogService
from plugins.services.deploys import DeployService
from plugins.services.incidents import IncidentService
from plugins.services.metrics import MetricsService
from plugins.services.plans import PlanService
from plugins.services.roster import RosterService
from plugins.settings import CatalogSettings, IncidentSettings


class Services:
    def __init__(self, api: PluginAPI) -> None:
        prefix = api.config.prefix
        self.deploys = DeployService(api.store, prefix)
        self.roster = RosterService(api.store, api.config.teams, prefix)
        self.catalog = CatalogService(
            api.store, api.config.section("catalog", CatalogSettings), api.config.teams, prefix
        )
        self.incidents = IncidentService(
            api.store,
            api.config.section("incidents", IncidentSettings),
            prefix,
            self.catalog.judge,
        )
        self.metrics = MetricsService(api.store)
        self.plans = PlanService(api.store, prefix, api.config.tz)


def services(api: PluginAPI) -> Services:
    """The one `Services` of this app, shared by every plugin."""
    return api.shared(Services)
