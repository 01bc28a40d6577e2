"""One message cannot buy unbounded work: tokenizing and binding arguments take time in
proportion to the text, whatever quotes and dashes it is made of (issue 11, reproduction
6: `'"a ' * 8000` took ~7 s and froze every network)."""

from __future__ import annotations

import time
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from bot.commands import QUOTES, Command, Text, Token, build_command, command, tokenize

HOSTILE: dict[str, Callable[[int], str]] = {
    "straight quotes": lambda n: '"a ' * (n // 3),
    "single quotes": lambda n: "'a " * (n // 3),
    "curly quotes": lambda n: "\u201ca " * (n // 3),
    "only quotes": lambda n: '"' * n,
    "quote then space": lambda n: '" ' * (n // 2),
    "flags": lambda n: "--x " * (n // 4),
}


def reference_tokenize(text: str) -> list[Token]:
    """The rule as first written (a quadratic scan), kept as the definition the linear
    tokenizer must agree with."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        close = QUOTES.get(text[i])
        if close is not None:
            j = i + 1
            while True:
                j = text.find(close, j)
                if j < 0 or j + 1 == n or text[j + 1].isspace():
                    break
                j += 1
            if j > i:
                tokens.append(Token(text[i + 1 : j], i, j + 1, True, text))
                i = j + 1
                continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(Token(text[i:j], i, j, False, text))
        i = j
    return tokens


QUOTY = st.text(alphabet=st.sampled_from(['"', "'", "\u201c", "\u201d", " ", "a", "-", "\t"]))


@given(st.one_of(QUOTY, st.text(max_size=200)))
def test_the_linear_tokenizer_agrees_with_the_rule(text: str) -> None:
    assert tokenize(text) == reference_tokenize(text)


class Note:
    @command("note", help="note")
    async def note(self, ctx: object, n: int, text: Text, *, sev: int | None = None) -> None: ...


NOTE: Command = build_command(Note().note, "demo")


def _seconds(work: Callable[[], object]) -> float:
    """CPU time of this thread: other work on a busy machine does not count."""
    began = time.thread_time()
    work()
    return time.thread_time() - began


def _fastest_pair(small: Callable[[], object], large: Callable[[], object]) -> list[float]:
    """The best of five runs of each, taken in turns, so a busy moment of the machine
    weighs on both alike."""
    runs = [(_seconds(small), _seconds(large)) for _ in range(5)]
    return [min(r[0] for r in runs), min(r[1] for r in runs)]


def _parse(text: str) -> None:
    try:
        NOTE.parse("1 " + text, "!")
    except Exception:  # a usage error is an answer too; only the time matters here
        return


def test_parsing_time_grows_linearly_with_the_text() -> None:
    """Four times the text may cost about four times as long, never sixteen (as a scan
    from every quote did): compared on this machine, in this run, so its speed does not
    matter."""
    for name, make in HOSTILE.items():
        small, large = make(8_192), make(32_768)
        for work in (tokenize, _parse):
            t_small, t_large = _fastest_pair(
                lambda w=work, t=small: w(t), lambda w=work, t=large: w(t)
            )
            assert t_large < 10 * t_small + 0.002, (name, work.__name__, t_small, t_large)
