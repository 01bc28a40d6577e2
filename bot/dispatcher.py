"""From a `Message` to a reply: is it for us, which command, who may run it, which
arguments, run it, answer. Messages from one person run in the order they were sent."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from typing import Literal, Protocol

from bot.clock import Clock
from bot.command_stats import UNKNOWN, CommandStats, Outcome
from bot.commands import Command, Level, UsageError, UserError
from bot.messages import Message, Reply, Sender
from bot.naming import MAX_NAME
from bot.plugin import Context, PluginAPI
from bot.ratelimit import TokenBucket
from bot.tasks import TaskTracker
from bot.text import clean

log = logging.getLogger(__name__)

_WORD = re.compile(r"^[A-Za-z][\w-]*$")
# Work per message is bounded before any parsing: a longer command is refused in one line.
MAX_COMMAND_CHARS = 4000


class Host(PluginAPI, Protocol):
    """What the dispatcher needs of the app besides what plugins see: which networks this
    instance answers on, who may do what there, and how the bot is addressed."""

    def serves(self, network: str) -> bool: ...

    def is_trusted(self, network: str) -> bool: ...

    def own_names(self, network: str) -> tuple[str, ...]: ...

    async def is_admin(self, network: str, sender: Sender, person_id: int | None) -> bool: ...


class Dispatcher:
    def __init__(self, app: Host, tracker: TaskTracker) -> None:
        self._app = app
        self._tracker = tracker
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._accepting = True
        limits = app.config.rate_limit
        self._throttle = Throttle(app.clock, limits.burst, limits.per_minute / 60)
        self.stats = CommandStats()  # outcomes and latencies, for exporters (the intake)

    async def submit(self, message: Message) -> None:
        """The sink transports deliver to: queue the message behind its sender's earlier
        ones and return at once, so a slow command never stalls a network's reader."""
        if not self._accepting or not self._app.serves(message.network):
            return
        if len(message.sender.id) > MAX_NAME:
            log.warning(
                "%s: ignored a message from a sender id of %d characters (%r…)",
                message.network,
                len(message.sender.id),
                message.sender.id[:40],
            )
            return
        key = (message.network, message.sender.id)
        previous = self._tails.get(key)
        task = self._tracker.spawn(self._after(previous, message), f"msg:{message.network}")
        self._tails[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    def close(self) -> None:
        self._accepting = False

    async def _after(self, previous: asyncio.Task[None] | None, message: Message) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        await self.handle(message)

    async def handle(self, message: Message) -> None:
        command_text = self._addressed(message, clean(message.text))
        if command_text is None:
            return
        trusted = self._app.is_trusted(message.network)
        verdict = "ok" if trusted else self._throttle.check(_throttle_key(message))
        if verdict != "ok":
            self._count_throttled(command_text)
        if verdict == "drop":
            log.info(
                "rate limit: dropped a command from %s on %s", message.sender.id, message.network
            )
            return
        if verdict == "warn":
            limits = self._app.config.rate_limit
            await self._app.send(
                message.network,
                message.room.id,
                _to(
                    message,
                    f"slow down: I take {limits.burst} commands at once and "
                    f"{limits.per_minute:g} a minute from one person; ignoring yours for a moment",
                ),
            )
            log.warning(
                "rate limit: %s on %s is over the limit", message.sender.id, message.network
            )
            return
        started = time.perf_counter()
        if len(command_text) > MAX_COMMAND_CHARS:
            ran = self._too_long(message, command_text)
        else:
            ran = await self._run(message, command_text)
        if ran is None:
            return
        command, outcome, reply = ran
        if reply is not None:
            await self._app.send(message.network, message.room.id, reply)
        self.stats.record(command, outcome, time.perf_counter() - started)

    def _addressed(self, message: Message, text: str) -> str | None:
        """The command part of `text` if it is meant for the bot, else None."""
        text = text.strip()
        prefix = self._app.config.prefix
        if text.startswith(prefix):
            return text[len(prefix) :]
        for name in self._app.own_names(message.network):
            for sep in (":", ","):
                head = name + sep
                if text[: len(head)].casefold() == head.casefold():
                    return text[len(head) :].strip()
        return text if message.room.is_direct else None

    def _too_long(self, message: Message, text: str) -> tuple[str, Outcome, Reply]:
        """Refused before parsing: the work one message can cost stays bounded."""
        cmd = self._app.registry.match(text)[0]
        reply = _to(
            message,
            f"that command is {len(text):,} characters; I read at most "
            f"{MAX_COMMAND_CHARS:,}: say it in shorter pieces",
        )
        return (cmd.name if cmd else UNKNOWN, Outcome.REFUSED, reply)

    def _count_throttled(self, text: str) -> None:
        cmd = self._app.registry.match(text)[0]
        self.stats.record(cmd.name if cmd else UNKNOWN, Outcome.THROTTLED, 0.0)

    async def _run(self, message: Message, text: str) -> tuple[str, Outcome, Reply | None] | None:
        """The command run, how it went, and the answer; None for text that was no
        command attempt at all."""
        cfg = self._app.config
        cmd, typed, argtext = self._app.registry.match(text)
        if cmd is None:
            if not _WORD.match(typed):
                return None  # "!!" or "! hi": not a command attempt
            if self._app.registry.subcommands(typed):
                return UNKNOWN, Outcome.UNKNOWN, _to(message, self._unknown_sub(typed, argtext))
            hint = self._app.registry.suggest(typed[:40])
            did_you_mean = f"did you mean {cfg.prefix}{hint}? " if hint else ""
            return (
                UNKNOWN,
                Outcome.UNKNOWN,
                _to(
                    message,
                    f"unknown command {cfg.prefix}{typed[:30]}; "
                    f"{did_you_mean}{cfg.prefix}help lists them all",
                ),
            )
        try:
            person = await self._app.people.identify(message.network, message.sender)
            level = await self._level(message, person.id, cmd.level)
            if level < cmd.level:
                return cmd.name, Outcome.DENIED, _to(message, self._denied(cmd, message))
            args = cmd.parse(argtext, cfg.prefix)
            ctx = Context(message, person, level, self._app, cmd)
            result = await cmd.handler(ctx, **args)
        except UsageError as exc:
            said = self._mistyped_sub(cmd, argtext) or str(exc)
            return cmd.name, Outcome.REFUSED, _to(message, said)
        except UserError as exc:
            return cmd.name, Outcome.REFUSED, _to(message, str(exc))
        except Exception:
            ref = secrets.token_hex(3)
            log.exception(
                "command failed (ref %s): network=%s room=%s sender=%s text=%r",
                ref,
                message.network,
                message.room.id,
                message.sender.id,
                text[:200],
            )
            return (
                cmd.name,
                Outcome.ERROR,
                _to(
                    message,
                    f"{cfg.prefix}{cmd.name} failed with an internal error "
                    f"(ref {ref}); it was logged for the bot's operators",
                ),
            )
        reply = Reply.of(result) if isinstance(result, str) else result
        return cmd.name, Outcome.OK, reply

    def _mistyped_sub(self, cmd: Command, argtext: str) -> str | None:
        """`!deploy strat`: the arguments of a group's own command (`!deploy`) did not
        parse and their first word is close to one of the group's commands, or that
        command takes no arguments at all."""
        registry = self._app.registry
        word = argtext.split(None, 1)[0] if argtext.strip() else ""
        if not word or not registry.subcommands(cmd.name):
            return None
        if cmd.params and registry.suggest_sub(cmd.name, word) is None:
            return None
        return self._unknown_sub(cmd.name, argtext)

    def _unknown_sub(self, group: str, argtext: str) -> str:
        p = self._app.config.prefix
        word = argtext.split(None, 1)[0] if argtext.strip() else ""
        close = self._app.registry.suggest_sub(group, word) if word else None
        hint = f"did you mean {p}{close}? " if close else ""
        typed = f"{group} {word[:30]}".rstrip()
        return f"unknown command {p}{typed}; {hint}{p}help {group} lists them all"

    async def _level(self, message: Message, person_id: int, needed: Level) -> Level:
        """ADMIN or not, and MEMBER only when the command needs it: the roster lookup is a
        query that most commands (anyone may run them) can do without."""
        if await self._app.is_admin(message.network, message.sender, person_id):
            return Level.ADMIN
        if needed is Level.MEMBER and await self._app.has_level(person_id, Level.MEMBER):
            return Level.MEMBER
        return Level.ANYONE

    def _denied(self, cmd: Command, message: Message) -> str:
        p = self._app.config.prefix
        if cmd.level is Level.ADMIN:
            return f"{p}{cmd.name} is for admins only (admins are listed in the bot's config)"
        return (
            f"{p}{cmd.name} is for roster members; ask an admin to "
            f"{p}roster add {message.sender.nick} <team>"
        )


class Throttle:
    """Per-person token buckets on the injected clock. Over the limit, a person gets one
    warning, then their commands are dropped quietly until the bucket refills."""

    MAX_TRACKED = 10_000

    def __init__(self, clock: Clock, burst: int, per_second: float) -> None:
        self._clock = clock
        self._burst = burst
        self._rate = per_second
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._warned: set[tuple[str, str]] = set()

    def _seconds(self) -> float:
        return self._clock.now().timestamp()

    def check(self, key: tuple[str, str]) -> Literal["ok", "warn", "drop"]:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_TRACKED:
                self._forget_idle()
            bucket = self._buckets[key] = TokenBucket(self._burst, self._rate, now=self._seconds)
        if bucket.try_take():
            self._warned.discard(key)
            return "ok"
        if key in self._warned:
            return "drop"
        self._warned.add(key)
        return "warn"

    def _forget_idle(self) -> None:
        """People whose bucket is full again are indistinguishable from new ones."""
        for key in [k for k, b in self._buckets.items() if b.full]:
            del self._buckets[key]
            self._warned.discard(key)


def _throttle_key(message: Message) -> tuple[str, str]:
    """Whose bucket a command comes out of: an account or Matrix ID where there is one,
    else where the person connects from, so a new nick is not a fresh allowance."""
    sender = message.sender
    who = sender.id if sender.authenticated or not sender.origin else f"origin:{sender.origin}"
    return (message.network, who)


def _to(message: Message, text: str) -> Reply:
    """Errors and refusals name the person in a channel, so they see it among the noise."""
    return Reply.of(text if message.room.is_direct else f"{message.sender.nick}: {text}")
