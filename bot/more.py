"""`!more`: the next page of the last long answer the bot sent you privately. Networks that
pace their lines (IRC) send a long private answer a page at a time instead of queueing it
whole, so one person's answer never holds up everyone else's."""

from __future__ import annotations

from bot.commands import Example, command
from bot.plugin import Context, Plugin


class MorePlugin(Plugin):
    name = "more"

    @command(
        "more",
        help="the next page of my last long private answer to you",
        examples=[Example("!more", r"nothing more for you")],
    )
    async def more(self, ctx: Context) -> str | None:
        message = ctx.message
        if await self.api.more(message.network, message.sender.nick):
            return None  # the page itself is the answer, sent to you privately
        return (
            "nothing more for you: long private answers come a page at a time, and what "
            "is left of the last one is kept for 30 minutes"
        )


plugin = MorePlugin
