"""A deploy day's start and end told to everyone: announced on every network and published
to the other features (DEPLOY_STARTED, DEPLOY_ENDED), the same whether it was started in
chat, by the pipeline over HTTP, or from the command line."""

from __future__ import annotations

from bot.messages import Message, Reply, bold, text
from bot.plugin import PluginAPI
from plugins.common.chat import duration, plural
from plugins.deploys.service import DEPLOY_ENDED, DEPLOY_STARTED, DeployEnded, DeployView, Ended
from plugins.metrics.service import MetricsService, Scope


def started(deploy: DeployView, prefix: str) -> Reply:
    return Reply.of(
        [
            bold("Deploy day: "),
            text(f"deploy {deploy.name} started by {deploy.started_by}"),
            *([text(" — "), bold("API BREAK")] if deploy.api_break else []),
            *([text(f" — {deploy.description}")] if deploy.description else []),
        ],
        f"Firefighters: {prefix}checkin <team> to go on duty; report breakage with "
        f"{prefix}break <service> <what broke>",
    )


async def announce_start(
    api: PluginAPI, deploy: DeployView, *, origin: Message | None = None
) -> Reply:
    """Announce everywhere (in `origin`'s room first), then tell the other features."""
    reply = started(deploy, api.config.prefix)
    await _tell(api, reply, origin)
    await api.publish(DEPLOY_STARTED, deploy)
    return reply


async def announce_end(api: PluginAPI, ended: Ended, *, origin: Message | None = None) -> Reply:
    """Announce the end with the day's figures, then tell the other features (the digest
    follows)."""
    d = ended.deploy
    summary = await MetricsService.of(api).summary(Scope(d.name, deploy_id=d.id))
    took = duration((d.ended_at or d.started_at) - d.started_at)
    reply = Reply.of(
        [
            bold("Deploy day over: "),
            text(
                f"deploy {d.name} ended after {took}; "
                f"{plural(summary.total, 'incident')}, {summary.open} still open; "
                f"MTTA {duration(summary.tta.mean)}, MTTR {duration(summary.ttr.mean)}"
            ),
        ],
        f"{plural(ended.checked_out, 'person', 'people')} checked out. Thank you, firefighters.",
    )
    await _tell(api, reply, origin)
    await api.publish(DEPLOY_ENDED, DeployEnded(d, origin))
    return reply


async def _tell(api: PluginAPI, reply: Reply, origin: Message | None) -> None:
    if origin is not None:
        await api.send(origin.network, origin.room.id, reply)
    await api.announce(reply, origin=origin)
