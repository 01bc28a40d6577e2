"""Line editing for `deployday console` on a terminal: the stdlib `readline` (arrows,
Ctrl-R, history kept between sessions), read in a thread because `readline` blocks, and
output printed above the prompt: a reply that arrives late (an announcement, a reminder)
never lands in the middle of a half-typed line, which is drawn again below it."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TextIO

log = logging.getLogger(__name__)

HISTORY_LINES = 1000
CLEAR_LINE = "\r\x1b[K"


def readline_module() -> ModuleType | None:
    """The stdlib `readline`, where this Python has it (and terminal modes to restore)."""
    try:
        import readline
        import termios  # noqa: F401 - LineEditor needs it too
    except ImportError:
        return None
    return readline


def history_path() -> Path:
    """The console's history, in the user's state directory (XDG), like a shell's."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "deployday" / "console_history"


class _State(enum.Enum):
    IDLE = "idle"  # not in readline: nothing of ours on the screen's last line
    PROMPTING = "prompting"  # readline is drawing the prompt
    EDITING = "editing"  # the prompt and the typed text are on the last line


class LineEditor:
    """Reads lines in a daemon thread with `readline`; `print` puts text above them."""

    def __init__(self, readline: ModuleType, prompt: str, history: Path | None) -> None:
        self._rl = readline
        self._prompt = prompt
        self._history = history
        self._out: TextIO = sys.stdout
        self._state = _State.IDLE
        self._changed = threading.Condition()
        import termios

        self._termios = termios
        self._saved_tty = termios.tcgetattr(sys.stdin.fileno())
        readline.set_startup_hook(lambda: self._set(_State.PROMPTING))
        readline.set_pre_input_hook(lambda: self._set(_State.EDITING))
        readline.set_history_length(HISTORY_LINES)
        if history is not None:
            with contextlib.suppress(OSError):
                readline.read_history_file(history)

    def _set(self, state: _State) -> None:
        with self._changed:
            self._state = state
            self._changed.notify_all()

    async def lines(self) -> AsyncIterator[str]:
        """Every line typed, until end of input (Ctrl-D)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(
            target=self._read, args=(loop, queue), name="console-readline", daemon=True
        ).start()
        while (line := await queue.get()) is not None:
            yield line

    def _read(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
        line: str | None = None
        while True:
            try:
                line = input(self._prompt)
            except EOFError:
                line = None
            finally:
                self._set(_State.IDLE)
            with contextlib.suppress(RuntimeError):  # the loop is gone: we are exiting
                loop.call_soon_threadsafe(queue.put_nowait, line)
            if line is None:
                return

    def print(self, lines: list[str]) -> None:
        """Above the prompt: clear the line being edited, print, draw it again."""
        with self._changed:
            self._changed.wait_for(lambda: self._state is not _State.PROMPTING, timeout=0.5)
            text = "".join(line + "\n" for line in lines)
            if self._state is _State.EDITING:
                text = CLEAR_LINE + text + self._prompt + self._rl.get_line_buffer()
            self._out.write(text)
            self._out.flush()

    def close(self) -> None:
        """Keep the history; give the terminal back as it was (the reading thread may
        still be inside readline, which changed its modes)."""
        if self._history is not None:
            try:
                self._history.parent.mkdir(parents=True, exist_ok=True)
                self._rl.write_history_file(self._history)
            except OSError as exc:
                log.warning("console history not saved to %s: %s", self._history, exc)
        with self._changed:
            if self._state is not _State.IDLE:
                self._out.write("\n")
                self._out.flush()
        termios = self._termios
        with contextlib.suppress(termios.error):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)
