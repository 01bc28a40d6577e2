"""`!whoami`, `!link` and `!unlink`: one person behind identities on several networks.

A link targets a stable identifier (a Matrix user ID, a services account, a nick only on
a network identified by nick, which the prompt says); identities not logged in to
services cannot be linked. The code goes privately to whoever asked; the other identity
sees both sides with their rights before it confirms. Links and unlinks are recorded."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.commands import Example, Level, UsageError, UserError, command
from bot.links import LINKED, UNLINKED, LinkRecord
from bot.messages import IdentifiedBy, Reply, text
from bot.messages import code as code_span
from bot.naming import read_name
from bot.people import IdentityRef
from bot.plugin import Context, Plugin, PluginAPI
from bot.state import State

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=5)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 6
KEY_PREFIX = "link:"
_MINUTES = int(LINK_TTL.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class Pending:
    """A link asked for and not yet confirmed, as kept in the state table."""

    person: int
    asker: str  # the identity that asked, qualified
    asker_network: str
    network: str  # the identity that must confirm
    key: str
    target: str  # the same, qualified
    expires: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "person": self.person,
            "asker": self.asker,
            "asker_network": self.asker_network,
            "network": self.network,
            "key": self.key,
            "target": self.target,
            "expires": self.expires.isoformat(),
        }

    @staticmethod
    def read(value: object, now: datetime) -> Pending | None:
        """The pending link if `value` is one that has not expired."""
        if not isinstance(value, dict):
            return None
        try:
            pending = Pending(
                int(value["person"]),
                str(value["asker"]),
                str(value["asker_network"]),
                str(value["network"]),
                str(value["key"]),
                str(value["target"]),
                datetime.fromisoformat(str(value["expires"])),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return pending if pending.expires > now else None


class IdentityPlugin(Plugin):
    name = "identity"

    def __init__(self, api: PluginAPI) -> None:
        super().__init__(api)
        self._state = State(api.store, api.clock)

    @command(
        "whoami",
        help="who you are to the bot: your person, identities on each network, links",
        examples=[Example("!whoami", r"you are alice \(admin\); identities: alice@test")],
    )
    async def whoami(self, ctx: Context) -> Reply:
        identities = await self.api.people.identities(ctx.person.id)
        rights = await self._rights(ctx.person.id, ctx.level)
        role = "" if rights == "no rights" else f" ({rights})"
        lines = [
            f"you are {ctx.person.name}{role}; identities: "
            + ", ".join(self._describe(i) for i in identities)
        ]
        history = await self.api.people.history(ctx.person.id)
        if history:
            lines.append("links: " + "; ".join(self._record(r) for r in history))
        return Reply.of(*lines)

    @command(
        "link",
        usage="<network> <id> | <id@network>",
        help="link another identity of yours to you; the code comes privately, and you "
        "confirm from the other identity",
        examples=[
            Example(
                "!link test bob",
                r"alice: I sent you the code to link bob@test privately",
                setup=("!roster add bob infra",),
            )
        ],
    )
    async def link(self, ctx: Context, network: str, who: str | None = None) -> Reply:
        people = self.api.people
        mine = self._linkable_sender(ctx)
        wanted = read_name(
            network if who is None else f"{who}@{network}", ctx.network, people.networks
        )
        if not wanted.stable or wanted.mode is IdentifiedBy.OPERATOR:
            raise UserError(
                f"link by a stable id: {ctx.prefix}link <network> <account or nick>, or a "
                "Matrix user ID (@user:server)"
            )
        target = people.qualified(wanted.network, wanted.key)
        if (wanted.network, wanted.key) == (ctx.network, ctx.message.sender.id):
            raise UserError(f"{target} is the identity you are speaking from")
        found = await people.find(ctx.network, target)
        if found is not None and found.person.id == ctx.person.id:
            raise UserError(f"{target} is already you")
        link_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        pending = Pending(
            ctx.person.id, mine, ctx.network, wanted.network, wanted.key, target, ctx.now + LINK_TTL
        )
        await self._state.purge(KEY_PREFIX, ctx.now - LINK_TTL)
        await self._state.set_json(KEY_PREFIX + link_code, pending.as_json())
        asker = await self._side(ctx.person.id)
        other = await self._side(found.person.id) if found else f"{target} (not seen yet)"
        prompt = Reply.of(
            [
                text(f"{asker} will be linked with {other}; confirm as {target} with "),
                code_span(f"{ctx.prefix}link confirm {link_code}"),
                text(f" within {_MINUTES} minutes{self._nick_note(ctx.network, wanted.network)}"),
            ]
        )
        if ctx.message.room.is_direct:
            return prompt
        if not await self.api.send_privately(ctx.message, prompt):
            await self._state.delete(KEY_PREFIX + link_code)
            raise UserError(
                "link codes are given only privately, and I cannot reach you privately from "
                f"here on {ctx.network}: open a direct chat with me and ask there"
            )
        return Reply.of(
            f"{ctx.message.sender.nick}: I sent you the code to link {target} privately"
        )

    @command(
        "link confirm",
        usage="<code> [yes]",
        help="see who asked to link with you and what moves; add yes to link",
        examples=[Example("!link confirm K7Q2XM", r"no link is waiting for code K7Q2XM")],
    )
    async def link_confirm(self, ctx: Context, link_code: str, answer: str | None = None) -> Reply:
        link_code = link_code.upper()[: CODE_LENGTH + 2]
        pending = Pending.read(await self._state.get_json(KEY_PREFIX + link_code), ctx.now)
        if pending is None:
            raise UserError(
                f"no link is waiting for code {link_code}; codes last {_MINUTES} minutes: "
                f"ask again with {ctx.prefix}link <network> <id>"
            )
        if (pending.network, pending.key) != (ctx.network, ctx.message.sender.id):
            raise UserError(f"code {link_code} must be confirmed by {pending.target}")
        if answer is None:
            return await self._preview(ctx, pending, link_code)
        if answer.lower() != "yes":
            raise UsageError(f"say {ctx.prefix}link confirm {link_code} yes to link, or nothing")
        if await self._state.take(KEY_PREFIX + link_code) is None:
            raise UserError(f"code {link_code} was used already")
        return await self._merge(ctx, pending)

    @command(
        "unlink",
        usage="<identity>",
        help="make one of your identities (admins: anyone's) a person of its own again",
        examples=[Example("!unlink alice@test", r"alice@test is alice's only identity")],
    )
    async def unlink(self, ctx: Context, who: str) -> Reply:
        people = self.api.people
        named = await people.find(ctx.network, who)
        if named is None:
            raise UserError(f"I know no identity {who[:60]}")
        if named.person.id != ctx.person.id and ctx.level < Level.ADMIN:
            raise UserError(
                f"{named.identity} is not one of your identities; admins may unlink anyone's"
            )
        record = LinkRecord(ctx.now, UNLINKED, named.identity, None, self._me(ctx))
        split = await people.unlink(named.network, named.key, record)
        if split is None:
            raise UserError(f"{named.identity} is {named.person.name}'s only identity")
        return Reply.of(
            f"unlinked {named.identity} from {named.person.name}: it is now a person of its "
            f"own ({split.name}), without {named.person.name}'s rights and records"
        )

    async def _preview(self, ctx: Context, pending: Pending, link_code: str) -> Reply:
        """What the confirming identity sees first: both sides with their rights."""
        asker, me = await self._side(pending.person), await self._side(ctx.person.id)
        return Reply.of(
            [
                text(
                    f"{asker} asked to be linked with you, {me}: one person, with both "
                    f"sides' rights on every network. If {pending.asker} is you, say "
                ),
                code_span(f"{ctx.prefix}link confirm {link_code} yes"),
                text(self._nick_note(pending.asker_network, ctx.network)),
            ]
        )

    async def _merge(self, ctx: Context, pending: Pending) -> Reply:
        if pending.person == ctx.person.id:
            return Reply.of(f"you are already linked as {ctx.person.name}")
        record = LinkRecord(ctx.now, LINKED, pending.target, pending.asker, pending.asker)
        try:
            merged = await self.api.people.link(pending.person, ctx.person.id, record)
        except LookupError:
            raise UserError(
                "the person who asked for this link is no longer known; ask again"
            ) from None
        except IntegrityError:
            log.exception("linking person %d into %d failed", ctx.person.id, pending.person)
            raise UserError(
                "these identities could not be linked (their records conflict); nothing changed"
            ) from None
        return Reply.of(
            f"linked: you are {merged.name}, {await self._side(merged.id)}, asked by "
            f"{pending.asker}; roster, incidents and rights now follow you on every network"
        )

    def _linkable_sender(self, ctx: Context) -> str:
        """The asker's identity, qualified, if it may be linked at all."""
        mode = self.api.people.networks.identified_by(ctx.network)
        if mode is IdentifiedBy.OPERATOR:
            raise UserError("the console is not a chat identity; ask from a chat network")
        if mode is IdentifiedBy.ACCOUNT and not ctx.message.sender.authenticated:
            raise UserError(
                f"you are not logged in to services on {ctx.network}, so you could be anyone "
                "using your nick; log in, then ask again"
            )
        return self._me(ctx)

    def _me(self, ctx: Context) -> str:
        return self.api.people.qualified(ctx.network, ctx.message.sender.id)

    async def _side(self, person_id: int) -> str:
        """A person's identities, qualified, and the rights they hold."""
        identities = await self.api.people.identities(person_id)
        shown = ", ".join(self.api.people.qualified(i.network, i.key) for i in identities)
        return f"{shown} ({await self._rights(person_id)})"

    async def _rights(self, person_id: int, known: Level = Level.ANYONE) -> str:
        rights = []
        if known is Level.ADMIN or await self.api.has_level(person_id, Level.ADMIN):
            rights.append("admin")
        if await self.api.has_level(person_id, Level.MEMBER):
            rights.append("roster member")
        return ", ".join(rights) or "no rights"

    def _nick_note(self, *networks: str) -> str:
        """A warning for each network where an identity is only a nick."""
        notes = []
        for network in dict.fromkeys(networks):
            mode = self.api.people.networks.identified_by(network)
            if mode is not None and mode.by_nick:
                notes.append(
                    f"; note: {network} identifies people by {mode.value}, which anyone can take"
                )
        return "".join(notes)

    def _describe(self, identity: IdentityRef) -> str:
        """The identity as it can be typed, with the nick it goes by when that differs."""
        people = self.api.people
        shown = people.qualified(identity.network, identity.key)
        if people.networks.fold(identity.network, identity.nick) != identity.key.lstrip("~"):
            shown += f" ({identity.nick})"
        return shown

    def _record(self, record: LinkRecord) -> str:
        when = record.at.astimezone(self.api.config.tz).strftime("%Y-%m-%d %H:%M")
        if record.action == LINKED:
            return f"{record.identity} linked, asked by {record.actor} ({when})"
        return f"{record.identity} unlinked by {record.actor} ({when})"


plugin = IdentityPlugin
