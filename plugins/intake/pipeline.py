"""Deploys marked by the pipeline over HTTP: `POST /deploys/start`, `POST /deploys/end`
and `POST /deployments`, served inside the running bot, so each is announced at once
exactly as if typed in chat (and the other features hear of it: the digest at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.text import clean
from bot.web import HttpError, Request, Response
from plugins.common.checks import check_deploy_name, check_environment, check_who
from plugins.deploys.day import announce_end, announce_start
from plugins.deploys.deployments import DeploymentService, DeploymentView, deployed
from plugins.deploys.service import DeployService, DeployView
from plugins.intake.alerting import NETWORK
from plugins.intake.settings import IntakeSettings

M = TypeVar("M", bound=BaseModel)
PIPELINE = "pipeline"  # who started a deploy when the request does not say
MAX_DESCRIPTION = 500
FUTURE_SKEW = timedelta(minutes=5)


class _Body(BaseModel):
    """Unknown fields are refused: a misspelt `api_breaks` must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StartBody(_Body):
    name: str
    api_break: bool = False
    environment: str | None = None
    description: str | None = None
    by: str | None = None


class DeploymentBody(_Body):
    service: str
    version: str | None = None
    environment: str | None = None
    by: str | None = None
    at: AwareDatetime | None = None


class Pipeline:
    def __init__(self, api: PluginAPI, settings: IntakeSettings) -> None:
        self._api = api
        self._settings = settings

    async def start(self, request: Request) -> Response:
        body = read_body(request, StartBody)
        with refused(422):
            name = check_deploy_name(body.name)
            environment = check_environment(body.environment) if body.environment else None
            description = check_description(body.description)
            by = await self._api.people.ensure(NETWORK, check_who(body.by or PIPELINE))
        with refused(409):
            deploy = await DeployService.of(self._api).start(
                name, body.api_break, description, by, self._api.clock.now(), environment
            )
        await announce_start(self._api, deploy)
        return Response.json({"deploy": deploy_json(deploy)}, 201)

    async def end(self, request: Request) -> Response:
        if request.body.strip():
            read_body(request, _Body)
        with refused(409):
            ended = await DeployService.of(self._api).end(self._api.clock.now())
        await announce_end(self._api, ended)
        return Response.json(
            {"deploy": deploy_json(ended.deploy), "checked_out": ended.checked_out}
        )

    async def deployment(self, request: Request) -> Response:
        body = read_body(request, DeploymentBody)
        now = self._api.clock.now()
        if body.at is not None and body.at > now + FUTURE_SKEW:
            raise HttpError(422, "at: a deployment cannot be recorded in the future")
        with refused(422):
            recorded = await DeploymentService.of(self._api).record(
                body.service, body.version, body.environment, body.by, body.at or now, "http"
            )
        if self._settings.announce_deployments:
            await self._api.announce(deployed(recorded))
        return Response.json({"deployment": deployment_json(recorded)}, 201)


def read_body(request: Request, model: type[M]) -> M:
    """The JSON body as `model`: 400 when it is not JSON, 422 naming the first wrong field."""
    try:
        return model.model_validate(request.json())
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "body"
        raise HttpError(422, f"{where}: {error['msg']}") from None


@contextmanager
def refused(status: int) -> Iterator[None]:
    """Turn a UserError (one line meant for a person) into an HTTP error with `status`."""
    try:
        yield
    except UserError as exc:
        raise HttpError(status, str(exc)) from None


def check_description(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    text = " ".join(clean(text).split())
    if len(text) > MAX_DESCRIPTION:
        raise UserError(
            f"the description is {len(text)} characters; keep it under {MAX_DESCRIPTION}"
        )
    return text


def deploy_json(d: DeployView) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "api_break": d.api_break,
        "environment": d.environment,
        "description": d.description,
        "started_at": _iso(d.started_at),
        "started_by": d.started_by,
        "ended_at": _iso(d.ended_at),
    }


def deployment_json(d: DeploymentView) -> dict[str, Any]:
    return {
        "id": d.id,
        "service": d.service,
        "version": d.version,
        "environment": d.environment,
        "by": d.who,
        "at": _iso(d.at),
        "deploy": d.deploy,
    }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")
