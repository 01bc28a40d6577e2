"""`python -m bench.parsing`: what one hostile message costs the bot (issue 11). For text of
1, 16 and 64 KiB made of unmatched quotes, flags or plain words: the tokenizer alone, a
whole command's argument parsing, and what the dispatcher spends before it refuses a
command over its cap (cleaning the text and finding the command). CPU time of this thread,
best of five, in milliseconds. Numbers, not pass/fail."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bot.commands import Text, build_command, command, tokenize
from bot.dispatcher import MAX_COMMAND_CHARS
from bot.text import clean

SIZES = (1024, 16 * 1024, 64 * 1024)
SHAPES: dict[str, str] = {
    "unmatched quotes": '"a ',
    "single quotes": "'a ",
    "curly quotes": "\u201ca ",
    "quote, space": '" ',
    "flags": "--x ",
    "words": "word ",
}


class _Note:
    @command("note", help="note")
    async def note(self, ctx: object, n: int, text: Text, *, sev: int | None = None) -> None: ...


NOTE = build_command(_Note().note, "bench")


def _parse(text: str) -> None:
    try:
        NOTE.parse("1 " + text, "!")
    except Exception:  # a usage error is an answer too; only the time counts
        return


def _refuse(text: str) -> bool:
    """The dispatcher's path to refusing an over-long command: clean, strip, measure."""
    return len(clean("!note 1 " + text).strip()[1:]) > MAX_COMMAND_CHARS


def best_ms(work: Callable[[str], object], text: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.thread_time()
        work(text)
        best = min(best, time.thread_time() - began)
    return best * 1000


def main() -> int:
    header = f"{'input':<18}{'KiB':>5}{'tokenize ms':>13}{'parse ms':>10}{'refuse ms':>11}"
    print(header)
    print("-" * len(header))
    for name, piece in SHAPES.items():
        for size in SIZES:
            text = piece * (size // len(piece))  # whole pieces: no closing quote at the end
            tok, parse, refuse = (best_ms(work, text) for work in (tokenize, _parse, _refuse))
            print(f"{name:<18}{size // 1024:>5}{tok:>13.2f}{parse:>10.2f}{refuse:>11.2f}")
    print(
        f"\nCommands over {MAX_COMMAND_CHARS:,} characters are refused before they are "
        "tokenized: in the bot, only the last column applies to them."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
