"""A local terminal session: every line typed is a private message from the operator,
answers are printed. Same commands and database as the networked bot, no network. On a
terminal, lines are edited with readline and replies print above the prompt
(`terminal`); piped or redirected input is read as it comes."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from bot.clock import Clock
from bot.messages import (
    MAX_TEXT_CHARS,
    IdentifiedBy,
    Message,
    Reply,
    Room,
    Sender,
    Span,
    Table,
    table_as_lines,
)
from bot.text import clean
from bot.transports.base import Sink, TransportStats
from bot.transports.terminal import LineEditor, history_path, readline_module

ROOM = "console"
PROMPT = "deployday> "


class ConsoleTransport:
    kind = "console"
    name = "console"
    trusted = True

    def __init__(
        self,
        user: str,
        clock: Clock,
        on_eof: Callable[[], None],
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._user = user
        self._clock = clock
        self._on_eof = on_eof
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._reader: asyncio.Task[None] | None = None
        self._interactive = self._stdin.isatty()
        self._editor: LineEditor | None = None

    @property
    def own_names(self) -> tuple[str, ...]:
        return ("deployday",)

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        return (ROOM,)

    def fold(self, name: str) -> str:
        return name.casefold()

    def stats(self) -> TransportStats:
        return TransportStats(connected=True, reconnects=0, queued=0)

    @property
    def identified_by(self) -> IdentifiedBy:
        return IdentifiedBy.OPERATOR

    def private_room(self, sender: Sender) -> str | None:
        return ROOM

    def current_id(self, nick: str) -> str | None:
        return None

    async def start(self, sink: Sink) -> None:
        readline = readline_module()
        terminal = self._stdin is sys.stdin and self._stdout is sys.stdout
        if readline is not None and terminal and self._interactive and sys.stdout.isatty():
            self._editor = LineEditor(readline, PROMPT, history_path())
        self._reader = asyncio.create_task(self._read(sink), name="console-reader")

    async def stop(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        if self._editor is not None:
            self._editor.close()
            self._editor = None

    async def send(self, room_id: str, reply: Reply, *, announcement: bool = False) -> None:
        bold = self._interactive and os.environ.get("NO_COLOR") is None
        lines = render(reply, bold)
        if self._editor is not None:
            self._editor.print(lines)
            return
        for line in lines:
            self._stdout.write(line + "\n")
        self._stdout.flush()
        self._prompt()

    def _prompt(self) -> None:
        if self._interactive and self._editor is None:
            self._stdout.write(PROMPT)
            self._stdout.flush()

    async def _read(self, sink: Sink) -> None:
        self._prompt()
        source = self._editor.lines() if self._editor is not None else _lines(self._stdin)
        async for line in source:
            if line.strip():
                await sink(
                    Message(
                        self.name,
                        Room(ROOM, is_direct=True),
                        Sender(self._user, self._user, authenticated=True),
                        line[:MAX_TEXT_CHARS],
                        server_time=self._clock.now(),
                    )
                )
            else:
                self._prompt()
        self._on_eof()


async def _lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines from a terminal or pipe without blocking the loop; a regular file (input
    redirected from a script) is read directly, as it never blocks."""
    if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        for line in stream:
            yield line.rstrip("\n")
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
    while raw := await reader.readline():
        yield raw.decode(errors="replace").rstrip("\n")


def render(reply: Reply, bold: bool) -> list[str]:
    """Plain lines; bold shown with ANSI codes on a terminal. Chat text is cleaned, so
    nobody's message can send escape sequences to the operator's terminal."""
    lines: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Table):
            lines += table_as_lines(
                Table(
                    tuple(map(clean, block.header)), tuple(tuple(map(clean, r)) for r in block.rows)
                )
            )
            continue
        parts = [", ".join(clean(m.text) for m in block.to) + ": "] if block.to else []
        for span in block.spans:
            piece = clean(span.text)
            if bold and isinstance(span, Span) and span.style == "bold":
                piece = f"\x1b[1m{piece}\x1b[0m"
            parts.append(piece)
        lines.append("".join(parts))
    return lines
