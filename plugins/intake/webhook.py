"""`POST /alerts`: Alertmanager's webhook. The whole webhook is read and checked first,
then applied in one transaction, then announced; a webhook that cannot be taken is one
HTTP error and one log line, and leaves nothing behind."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.text import clean
from bot.web import HttpError, Request, Response
from plugins.incidents.settings import IncidentSettings
from plugins.intake import alerts
from plugins.intake.alerting import ACTOR, NETWORK, AlertService, Kind
from plugins.intake.settings import IntakeSettings
from plugins.intake.views import announcements

log = logging.getLogger(__name__)
Count = Callable[[Mapping[str, int]], None]  # alerts taken, by what they did (metrics)


class AlertIntake:
    def __init__(self, api: PluginAPI, settings: IntakeSettings, count: Count) -> None:
        self._api = api
        self._settings = settings
        self._count = count
        self._service = AlertService(api, settings)
        self._actor: PersonRef | None = None

    async def serve(self, request: Request) -> Response:
        now = self._api.clock.now()
        limits = self._api.config.section("incidents", IncidentSettings)
        try:
            webhook = alerts.parse(request.json())
            signals = alerts.read(
                webhook, self._settings, limits.default_severity, limits.max_summary_chars, now
            )
        except alerts.Refused as exc:
            raise HttpError(exc.status, str(exc)) from None
        try:
            outcomes = await self._service.apply(
                signals, await self._alertmanager(), clean(webhook.receiver), now
            )
        except (IntegrityError, StaleDataError):
            raise HttpError(
                503, "another request changed the same alerts at this moment; send it again"
            ) from None
        kinds = Counter(o.kind.value for o in outcomes)
        self._count(kinds)
        for reply in announcements(
            outcomes, self._settings.announce_limit, now, self._api.config.prefix
        ):
            await self._api.announce(reply)
        if len(outcomes) > self._settings.announce_limit:
            log.info(
                "alerts: %d in one webhook from %s: %s",
                len(outcomes),
                webhook.receiver,
                dict(kinds),
            )
        return Response.json(
            {
                "alerts": len(outcomes),
                **{k.value: kinds.get(k.value, 0) for k in Kind},
                "incidents": sorted({o.number for o in outcomes if o.number is not None}),
            }
        )

    async def _alertmanager(self) -> PersonRef:
        """Who the timeline says acted: a person named alertmanager, on no chat network."""
        if self._actor is None:
            self._actor = await self._api.people.ensure(NETWORK, ACTOR)
        return self._actor
