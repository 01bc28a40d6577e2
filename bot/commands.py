"""Declarative commands: a decorator records name, aliases, permission level and examples;
arguments are parsed from the handler's signature (positionals, rest-of-line text and
`--flags` from keyword-only parameters); help and usage are derived from the same data."""

from __future__ import annotations

import difflib
import inspect
import itertools
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Union, get_args, get_origin

from bot.messages import Reply


class Level(IntEnum):
    ANYONE = 0
    MEMBER = 1
    ADMIN = 2

    @property
    def who(self) -> str:
        return {0: "anyone", 1: "roster members", 2: "admins"}[self.value]


class UserError(Exception):
    """Something the person typing can fix; the message is shown to them as is."""


class UsageError(UserError):
    pass


class Text(str):
    """Annotation for a parameter that takes the rest of the line."""


@dataclass(frozen=True, slots=True)
class Example:
    """`says` is typed by an admin on the roster after `setup`; the reply must match
    `expect` (a regular expression searched in the plain reply). Run by the test suite."""

    says: str
    expect: str
    setup: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Param:
    """A positional argument. Besides str, int and Text, `kind` may be any class with a
    `parse(token)` classmethod (raising UsageError) and a `metavar` class attribute."""

    name: str
    kind: type | Any
    optional: bool
    default: Any
    rest: bool

    @property
    def metavar(self) -> str:
        base = getattr(self.kind, "metavar", None) or self.name.replace("_", "-")
        inner = f"{base}…" if self.rest else base
        return f"[{inner}]" if self.optional else f"<{inner}>"


@dataclass(frozen=True, slots=True)
class Flag:
    name: str  # python name
    kind: type | Any
    default: Any

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def usage(self) -> str:
        if self.kind is bool:
            return f"[{self.option}]"
        metavar = getattr(self.kind, "metavar", None) or self.name.upper()
        return f"[{self.option} {metavar}]"


Handler = Callable[..., Awaitable[Reply | str | None]]


@dataclass(slots=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    level: Level
    help: str
    examples: tuple[Example, ...]
    params: tuple[Param, ...]
    flags: dict[str, Flag]
    handler: Handler
    usage_override: str | None = None
    plugin: str = ""

    def usage(self, prefix: str) -> str:
        if self.usage_override is not None:
            return f"{prefix}{self.name} {self.usage_override}".rstrip()
        parts = [
            f"{prefix}{self.name}",
            *(p.metavar for p in self.params),
            *(f.usage for f in self.flags.values()),
        ]
        return " ".join(parts)

    def parse(self, argtext: str, prefix: str) -> dict[str, Any]:
        try:
            return _bind(self, tokenize(argtext))
        except UsageError as exc:
            raise UsageError(f"{exc}; usage: {self.usage(prefix)}") from None


def command(
    name: str,
    *,
    aliases: Iterable[str] = (),
    level: Level = Level.ANYONE,
    help: str,
    examples: Iterable[Example] = (),
    usage: str | None = None,
) -> Callable[[Handler], Handler]:
    """Mark a plugin method as a chat command. `help` is one line; `usage` overrides the
    usage derived from the signature where the grammar is richer than positionals."""

    def mark(fn: Handler) -> Handler:
        fn.__deployday_command__ = {  # type: ignore[attr-defined]
            "name": name,
            "aliases": tuple(aliases),
            "level": level,
            "help": help,
            "examples": tuple(examples),
            "usage": usage,
        }
        return fn

    return mark


def build_command(bound: Handler, plugin: str) -> Command:
    meta = bound.__deployday_command__  # type: ignore[attr-defined]
    params, flags = _signature(bound)
    return Command(
        name=meta["name"],
        aliases=meta["aliases"],
        level=meta["level"],
        help=meta["help"],
        examples=meta["examples"],
        params=params,
        flags=flags,
        handler=bound,
        usage_override=meta["usage"],
        plugin=plugin,
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _signature(fn: Handler) -> tuple[tuple[Param, ...], dict[str, Flag]]:
    hints = typing.get_type_hints(fn)
    sig = inspect.signature(fn)
    params: list[Param] = []
    flags: dict[str, Flag] = {}
    items = list(sig.parameters.values())[1:]  # first is the Context
    for p in items:
        kind, nullable = _unwrap_optional(hints.get(p.name, str))
        has_default = p.default is not inspect.Parameter.empty
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            flags[p.name.replace("_", "-")] = Flag(p.name, kind, p.default if has_default else None)
            continue
        rest = kind is Text
        if params and params[-1].rest:
            raise TypeError(f"{fn.__qualname__}: a Text parameter must come last")
        params.append(
            Param(p.name, kind, has_default or nullable, p.default if has_default else None, rest)
        )
    return tuple(params), flags


# --- tokenizing --------------------------------------------------------------------------

QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}  # also curly quotes
_FLAG = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$", re.S)
_NON_SPACE = re.compile(r"\S+")
# Where a quoted token can end: its closing quote followed by whitespace or the end.
_ENDS = [(close, re.compile(re.escape(close) + r"(?=\s|\Z)")) for close in set(QUOTES.values())]


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    start: int
    end: int
    quoted: bool
    source: str = field(repr=False)

    @property
    def raw(self) -> str:
        return self.source[self.start : self.end]


def tokenize(text: str) -> list[Token]:
    """Split on whitespace; a token that opens with a quote runs to the matching quote
    followed by whitespace or the end. An unmatched quote is an ordinary character, so
    "can't" and "it's" need no escaping.

    Linear time: where each kind of quote may close is found once, up front, and the
    search for a closing quote only ever moves forward, so no text is scanned twice."""
    closers = {close: [m.start() for m in pattern.finditer(text)] for close, pattern in _ENDS}
    passed = dict.fromkeys(closers, 0)  # per closing quote: candidates already behind us
    tokens: list[Token] = []
    word = _NON_SPACE.search(text)
    while word is not None:
        i = word.start()
        close = QUOTES.get(text[i])
        if close is not None:
            positions, k = closers[close], passed[close]
            while k < len(positions) and positions[k] <= i:
                k += 1
            passed[close] = k
            if k < len(positions):
                j = positions[k]
                tokens.append(Token(text[i + 1 : j], i, j + 1, True, text))
                word = _NON_SPACE.search(text, j + 1)
                continue
        tokens.append(Token(word.group(), i, word.end(), False, text))
        word = _NON_SPACE.search(text, word.end())
    return tokens


def _convert(kind: Any, token: str, what: str) -> Any:
    if kind is str or kind is Text or kind is Any:
        return token
    if kind is int:
        if re.fullmatch(r"[+-]?\d{1,9}", token):
            return int(token)
        raise UsageError(f"{what} must be a whole number, not {shorten(token)!r}")
    parse = getattr(kind, "parse", None)
    if parse is None:
        raise TypeError(f"no converter for {kind!r}")
    return parse(token)


def _bind(cmd: Command, tokens: list[Token]) -> dict[str, Any]:
    args: dict[str, Any] = {f.name: f.default for f in cmd.flags.values()}
    positional: list[Token] = []
    flags_done = not cmd.flags
    it = iter(tokens)
    for tok in it:
        if not flags_done and not tok.quoted and tok.value == "--":
            flags_done = True
            continue
        m = None if flags_done or tok.quoted else _FLAG.match(tok.value)
        if m is None:
            positional.append(tok)
            continue
        flag = cmd.flags.get(m[1])
        if flag is None:
            known = ", ".join(f.option for f in cmd.flags.values())
            close = difflib.get_close_matches(m[1][:40], list(cmd.flags), n=1)
            hint = f" (did you mean --{close[0]}?)" if close else ""
            raise UsageError(
                f"unknown flag --{shorten(m[1])}{hint}; this command takes {known} "
                "(put -- before text that starts with dashes)"
            )
        if flag.kind is bool:
            if m[2] is not None:
                raise UsageError(f"{flag.option} takes no value")
            args[flag.name] = True
            continue
        value = m[2]
        if value is None:
            nxt = next(it, None)
            if nxt is None:
                raise UsageError(f"{flag.option} needs a value")
            value = nxt.value
        args[flag.name] = _convert(flag.kind, value, flag.option)

    for i, param in enumerate(cmd.params):
        if param.rest:
            rest = positional[i:]
            if rest:
                args[param.name] = _rest_text(rest)
            elif param.optional:
                args[param.name] = param.default
            else:
                raise UsageError(f"missing {param.metavar}")
            return args
        if i < len(positional):
            args[param.name] = _convert(param.kind, positional[i].value, param.metavar)
        elif param.optional:
            args[param.name] = param.default
        else:
            raise UsageError(f"missing {param.metavar}")
    extra = positional[len(cmd.params) :]
    if extra:
        raise UsageError(f"unexpected {shorten(extra[0].value)!r}")
    return args


def _rest_text(tokens: list[Token]) -> str:
    """The user's own words, spacing kept, with any flags that stood between them removed."""
    if len(tokens) == 1 and tokens[0].quoted:
        return tokens[0].value
    source = tokens[0].source
    pieces: list[str] = []
    run_start = tokens[0].start
    for prev, tok in itertools.pairwise(tokens):
        if source[prev.end : tok.start].isspace():
            continue
        pieces.append(source[run_start : prev.end])
        run_start = tok.start
    pieces.append(source[run_start : tokens[-1].end])
    return " ".join(pieces)


def shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- registry ----------------------------------------------------------------------------


class Registry:
    """All commands by name and alias. Names may have two words (`deploy start`)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Command] = {}
        self.commands: list[Command] = []

    def add(self, cmd: Command) -> None:
        for key in (cmd.name, *cmd.aliases):
            if key in self._by_name:
                other = self._by_name[key]
                raise ValueError(f"command {key!r} of {cmd.plugin} clashes with {other.plugin}")
            self._by_name[key] = cmd
        self.commands.append(cmd)

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def match(self, text: str) -> tuple[Command | None, str, str]:
        """Find the command at the start of `text`: (command, typed name, argument text)."""
        words = text.split(None, 2)
        if not words:
            return None, "", ""
        if len(words) >= 2:
            two = f"{words[0]} {words[1]}".lower()
            if two in self._by_name:
                rest = text.split(None, 2)[2] if len(words) == 3 else ""
                return self._by_name[two], two, rest
        one = words[0].lower()
        rest = text.lstrip()[len(words[0]) :].lstrip()
        return self._by_name.get(one), one, rest

    def suggest(self, name: str) -> str | None:
        tops = sorted({k.split()[0] for k in self._by_name})
        close = difflib.get_close_matches(name.lower(), tops, n=1, cutoff=0.6)
        return close[0] if close else None

    def suggest_sub(self, group: str, word: str) -> str | None:
        """The command of `group` closest to `word`: `deploy strat` → `deploy start`."""
        subs = sorted(k.split(" ", 1)[1] for k in self._by_name if k.startswith(group + " "))
        close = difflib.get_close_matches(word.lower(), subs, n=1, cutoff=0.6)
        return f"{group} {close[0]}" if close else None

    def subcommands(self, name: str) -> list[Command]:
        return [c for c in self.commands if c.name.startswith(name + " ")]
