"""Parsing commands: quotes, rest-of-line text, flags, friendly usage errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import (
    QUOTES,
    Command,
    Level,
    Registry,
    Text,
    UsageError,
    build_command,
    command,
    tokenize,
)
from plugins.incidents.args import IncidentNumber, Severity

OPENING_QUOTES = tuple(QUOTES)


class Demo:
    @command("deploy start", help="start")
    async def start(
        self,
        ctx: object,
        name: str,
        description: Text | None = None,
        *,
        api_break: bool = False,
        env: str | None = None,
    ) -> None: ...

    @command("sev", help="severity")
    async def sev(self, ctx: object, n: IncidentNumber, severity: Severity) -> None: ...

    @command("note", aliases=("n",), help="note")
    async def note(self, ctx: object, n: IncidentNumber, text: Text) -> None: ...

    @command("count", help="count")
    async def count(self, ctx: object, how_many: int = 3) -> None: ...


def cmd(name: str) -> Command:
    demo = Demo()
    return build_command(getattr(demo, name), "demo")


def test_tokenize_keeps_apostrophes_and_honours_quotes() -> None:
    assert [t.value for t in tokenize("can't log in 'to koji' now")] == [
        "can't",
        "log",
        "in",
        "to koji",
        "now",
    ]
    assert [t.value for t in tokenize('say "two words"')] == ["say", "two words"]
    assert [t.value for t in tokenize("“curly quotes” too")] == ["curly quotes", "too"]
    assert [t.value for t in tokenize('"unterminated quote')] == ['"unterminated', "quote"]
    assert [t.value for t in tokenize("  spaced   out  ")] == ["spaced", "out"]


def test_positionals_rest_text_and_flags() -> None:
    start = cmd("start")
    assert start.parse("pkgdb2 --api-break new   API, it's big", "!") == {
        "name": "pkgdb2",
        "description": "new   API, it's big",
        "api_break": True,
        "env": None,
    }
    assert start.parse("pkgdb2", "!") == {
        "name": "pkgdb2",
        "description": None,
        "api_break": False,
        "env": None,
    }
    assert start.parse("pkgdb2 text --env=stg more", "!")["env"] == "stg"
    assert start.parse("pkgdb2 text --env stg", "!") == {
        "name": "pkgdb2",
        "description": "text",
        "api_break": False,
        "env": "stg",
    }
    assert start.parse("pkgdb2 -- --api-break is text", "!")["description"] == "--api-break is text"
    assert start.parse('pkgdb2 "quoted description"', "!")["description"] == "quoted description"


def test_usage_is_derived_from_the_signature() -> None:
    assert (
        cmd("start").usage("!") == "!deploy start <name> [description…] [--api-break] [--env ENV]"
    )
    assert cmd("sev").usage("?") == "?sev <N> <1-4>"
    assert cmd("count").usage("!") == "!count [how-many]"


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("sev", "", "missing <N>; usage: !sev <N> <1-4>"),
        ("sev", "7", "missing <1-4>; usage: !sev <N> <1-4>"),
        ("sev", "x 2", "incident numbers look like 7 or #7, not 'x'; usage: !sev <N> <1-4>"),
        ("sev", "#7 9", "severity is 1 (worst) to 4, not '9'; usage: !sev <N> <1-4>"),
        ("sev", "7 2 extra", "unexpected 'extra'; usage: !sev <N> <1-4>"),
        ("note", "7", "missing <text…>; usage: !note <N> <text…>"),
        (
            "count",
            "lots",
            "[how-many] must be a whole number, not 'lots'; usage: !count [how-many]",
        ),
        (
            "start",
            "x --api-brake",
            "unknown flag --api-brake (did you mean --api-break?); this "
            "command takes --api-break, --env (put -- before text that starts with dashes); usage: "
            "!deploy start <name> [description…] [--api-break] [--env ENV]",
        ),
        (
            "start",
            "x --env",
            "--env needs a value; usage: !deploy start <name> [description…] "
            "[--api-break] [--env ENV]",
        ),
        (
            "start",
            "x --api-break=yes",
            "--api-break takes no value; usage: !deploy start <name> "
            "[description…] [--api-break] [--env ENV]",
        ),
    ],
)
def test_usage_errors_say_what_is_wrong(name: str, args: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        cmd(name).parse(args, "!")
    assert str(err.value) == message


def test_commands_without_flags_take_dashes_as_text() -> None:
    assert cmd("note").parse("7 ran it with --force, no luck", "!")["text"] == (
        "ran it with --force, no luck"
    )


def test_incident_numbers_and_severities() -> None:
    assert IncidentNumber.parse("#12") == 12 == IncidentNumber.parse("12")
    assert Severity.parse("sev1") == 1 == Severity.parse("S1")
    for bad in ("#0", "-1", "1.5", "#", "99999999999"):
        with pytest.raises(UsageError):
            IncidentNumber.parse(bad)


def test_registry_matches_two_word_names_and_suggests() -> None:
    registry = Registry()
    demo = Demo()
    for name in ("start", "sev", "note"):
        registry.add(build_command(getattr(demo, name), "demo"))
    found, typed, rest = registry.match("deploy   start pkgdb2 now")
    assert (found.name, typed, rest) == ("deploy start", "deploy start", "pkgdb2 now")
    assert registry.match("N 3 hello")[0].name == "note"
    assert registry.match("nope")[0] is None
    assert registry.suggest("nots") == "note"
    assert registry.suggest("zzzz") is None
    with pytest.raises(ValueError, match="clashes"):
        registry.add(build_command(demo.note, "other"))


def test_levels_describe_who_may_run_them() -> None:
    assert [level.who for level in Level] == ["anyone", "roster members", "admins"]


@given(st.text(max_size=300))
def test_parsing_any_text_only_ever_raises_usage_errors(text: str) -> None:
    for name in ("start", "sev", "note", "count"):
        try:
            cmd(name).parse(text, "!")
        except UsageError as exc:
            assert "\n" not in str(exc)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=["Zs", "Cc"]), min_size=1, max_size=12
        ).filter(lambda w: not w.startswith(("--", *OPENING_QUOTES))),
        min_size=1,
        max_size=8,
    )
)
def test_rest_text_is_the_words_as_typed(words: list[str]) -> None:
    line = " ".join(words)
    assert cmd("note").parse(f"7 {line}", "!")["text"] == line
