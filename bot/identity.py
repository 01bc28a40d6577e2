"""`!whoami` and `!link`: one person behind identities on several networks. A link is
asked for from one identity and confirmed from the other with a short code, so nobody
can claim someone else's identity; then the two people become one, and the roster,
incidents and admin rights follow the person on every network."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.commands import Example, Level, UserError, command
from bot.messages import Reply, text
from bot.messages import code as code_span
from bot.people import IdentityRef
from bot.plugin import Context, Plugin, PluginAPI
from bot.state import State

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=5)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 6
KEY_PREFIX = "link:"
_ROLE = {Level.ADMIN: " (admin)", Level.MEMBER: " (roster member)", Level.ANYONE: ""}


def describe(identity: IdentityRef) -> str:
    """`network: nick`, with the stable id when it says more than the nick."""
    shown = f"{identity.network}: {identity.nick}"
    if identity.key.casefold() != identity.nick.casefold():
        shown += f" ({identity.key})"
    return shown


class IdentityPlugin(Plugin):
    name = "identity"

    def __init__(self, api: PluginAPI) -> None:
        super().__init__(api)
        self._state = State(api.store, api.clock)

    @command(
        "whoami",
        help="who you are to the bot: your person and identities on each network",
        examples=[Example("!whoami", r"you are alice \(admin\); identities: test: alice")],
    )
    async def whoami(self, ctx: Context) -> Reply:
        identities = await self.api.people.identities(ctx.person.id)
        listed = "; ".join(describe(i) for i in identities)
        role = ctx.level
        if role is Level.ANYONE and await self.api.has_level(ctx.person.id, Level.MEMBER):
            role = Level.MEMBER
        return Reply.of(f"you are {ctx.person.name}{_ROLE[role]}; identities: {listed}")

    @command(
        "link",
        help="link another identity of yours to you; confirm from it with the code given",
        examples=[
            Example(
                "!link test bob",
                r"say !link confirm [A-Z2-9]{6} as bob on test",
                setup=("!roster add bob infra",),
            )
        ],
    )
    async def link(self, ctx: Context, network: str, who: str) -> Reply:
        target = await self.api.people.find_identity(network, who)
        if target is None:
            raise UserError(
                f"I have not seen {who[:40]} on {network[:32]}; say something there first "
                "where I can see it, then ask again"
            )
        if target.person_id == ctx.person.id:
            raise UserError(f"{target.nick} on {target.network} is already you")
        now = ctx.now
        await self._state.purge(KEY_PREFIX, now - LINK_TTL)
        link_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        await self._state.set_json(
            KEY_PREFIX + link_code,
            {
                "person": ctx.person.id,
                "network": target.network,
                "key": target.key,
                "nick": target.nick,
                "expires": (now + LINK_TTL).isoformat(),
            },
        )
        minutes = int(LINK_TTL.total_seconds() // 60)
        return Reply.of(
            [
                text(f"to link {target.nick} on {target.network} with {ctx.person.name}, say "),
                code_span(f"{ctx.prefix}link confirm {link_code}"),
                text(f" as {target.nick} on {target.network} within {minutes} minutes"),
            ]
        )

    @command(
        "link confirm",
        help="confirm a link asked for from your other identity",
        examples=[Example("!link confirm K7Q2XM", r"no link is waiting for code K7Q2XM")],
    )
    async def link_confirm(self, ctx: Context, link_code: str) -> Reply:
        link_code = link_code.upper()[: CODE_LENGTH + 2]
        key = KEY_PREFIX + link_code
        pending = await self._state.get_json(key)
        if not _live(pending, ctx.now):
            raise UserError(
                f"no link is waiting for code {link_code}; codes last "
                f"{int(LINK_TTL.total_seconds() // 60)} minutes: ask again with "
                f"{ctx.prefix}link <network> <who>"
            )
        assert isinstance(pending, dict)
        if pending["network"] != ctx.network or pending["key"] != ctx.message.sender.id:
            raise UserError(
                f"code {link_code} must be confirmed by {pending['nick']} on {pending['network']}"
            )
        if await self._state.take(key) is None:
            raise UserError(f"code {link_code} was used already")
        keep = int(pending["person"])
        if keep == ctx.person.id:
            return Reply.of(f"you are already linked as {ctx.person.name}")
        try:
            merged = await self.api.people.merge(keep, ctx.person.id)
        except LookupError:
            raise UserError(
                "the person who asked for this link is no longer known; ask again"
            ) from None
        except IntegrityError:
            log.exception("linking person %d into %d failed", ctx.person.id, keep)
            raise UserError(
                "these identities could not be linked (their records conflict); nothing changed"
            ) from None
        identities = await self.api.people.identities(merged.id)
        return Reply.of(
            f"linked: you are {merged.name} on "
            + "; ".join(describe(i) for i in identities)
            + " — roster, incidents and rights now follow you on every network"
        )


def _live(pending: object, now: datetime) -> bool:
    if not isinstance(pending, dict):
        return False
    try:
        return datetime.fromisoformat(str(pending["expires"])) > now and all(
            k in pending for k in ("person", "network", "key", "nick")
        )
    except (KeyError, ValueError):
        return False


plugin = IdentityPlugin
