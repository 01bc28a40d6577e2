"""What reaches an IRC wire: rendering, 512-byte splitting, case folding, flood control and
capability negotiation, all without a network."""

from __future__ import annotations

import base64
import logging
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from irc.client import Event, NickMask
from irc.features import FeatureSet

from bot.casemapping import fold
from bot.clock import FakeClock
from bot.config.networks import IrcNetworkConfig
from bot.messages import (
    Line,
    Mention,
    Message,
    Reply,
    Room,
    Sender,
    Span,
    Table,
    addressed,
    bold,
    code,
    text,
)
from bot.ratelimit import TokenBucket
from bot.transports.irc.caps import CapNegotiator
from bot.transports.irc.connection import ReplacingLineBuffer, parse_server_time
from bot.transports.irc.session import Session as _Session
from bot.transports.irc.session import nick_candidates
from bot.transports.irc.text import (
    BOLD,
    LINE_LIMIT,
    cap_lines,
    privmsg_budget,
    render_lines,
    split_line,
    wire_lines,
)
from bot.transports.irc.transport import IrcTransport
from tests.highlight import highlighted, irssi_highlights, weechat_highlights

NICK, USERHOST = "deployday", "~deployday@very.long.cloak.example.org"


def relayed(target: str, piece: str) -> bytes:
    return f":{NICK}!{USERHOST} PRIVMSG {target} :{piece}\r\n".encode()


def content(s: str) -> str:
    """What a reader sees, ignoring bold codes and spaces (the only things splits change)."""
    return re.sub(r"[\x02 ]", "", s)


# --- splitting ---------------------------------------------------------------------------


@given(st.text(), st.integers(min_value=6, max_value=600))
def test_pieces_fit_and_nothing_is_lost(value: str, limit: int) -> None:
    pieces = split_line(value, limit)
    for piece in pieces:
        assert len(piece.encode()) <= limit
        assert not set(piece) & {"\r", "\n", "\0"}
        assert piece.replace(BOLD, "").strip(" ")
    assert content("".join(pieces)) == content(re.sub(r"[\r\n\0]", " ", value))


@given(
    st.text(alphabet=st.sampled_from("aé€😀👩‍💻 \x02\r\n"), min_size=1, max_size=3000),
    st.sampled_from(["#ops", "someone", "#a-much-longer-channel-name-for-tests"]),
)
def test_relayed_lines_stay_within_512_bytes(value: str, target: str) -> None:
    budget = privmsg_budget(NICK, USERHOST, target)
    for piece in split_line(value, budget):
        assert len(relayed(target, piece)) <= LINE_LIMIT
        piece.encode("utf-8").decode("utf-8")


def test_unknown_userhost_is_assumed_long() -> None:
    known = privmsg_budget(NICK, "u@h", "#ops")
    assert known == LINE_LIMIT - len(f":{NICK}!u@h PRIVMSG #ops :\r\n")
    assert privmsg_budget(NICK, None, "#ops") < privmsg_budget(NICK, USERHOST, "#ops") < known


def test_multibyte_text_is_cut_on_character_boundaries() -> None:
    value = "é" * 100 + "😀" * 100 + "👩‍💻" * 50
    for limit in range(6, 40):
        pieces = split_line(value, limit)
        assert "".join(pieces) == value
        assert all(len(p.encode()) <= limit for p in pieces)


def test_splits_prefer_spaces() -> None:
    value = " ".join(f"word{i}" for i in range(200))
    pieces = split_line(value, 50)
    assert " ".join(pieces) == value
    assert all(re.fullmatch(r"word\d+( word\d+)*", p) for p in pieces)


def test_a_word_longer_than_a_line_is_cut_hard() -> None:
    assert split_line("x" * 25, 10) == ["x" * 9, "x" * 9, "x" * 7]


def test_bold_is_closed_at_a_cut_and_reopened() -> None:
    pieces = split_line(BOLD + "b" * 40 + BOLD + " tail", 12)
    assert all(p.count(BOLD) % 2 == 0 for p in pieces[:-1])
    assert all(p.startswith(BOLD) for p in pieces[1:-1])
    assert content("".join(pieces)) == "b" * 40 + "tail"


def test_line_breaks_and_nul_never_reach_the_wire() -> None:
    assert split_line("one\r\nQUIT :bye\0two", 100) == ["one  QUIT :bye two"]
    assert split_line("\r\n", 100) == []


def test_tiny_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        split_line("abc", 5)


# --- rendering ---------------------------------------------------------------------------


def test_render_bold_code_and_mentions() -> None:
    alice = Mention("Alice Admin", ids=(("libera", "alice", "alice_"), ("oftc", "al", "al")))
    reply = Reply.of([text("ping "), alice, text(": "), bold("#12"), text(" "), code("db-1")])
    assert render_lines(reply, "libera") == ["ping alice_: \x02#12\x02 db-1"]
    assert render_lines(reply, "elsewhere") == ["ping Alice Admin: \x02#12\x02 db-1"]


def test_user_text_cannot_inject_lines_or_formatting() -> None:
    evil = "x\x02\x0304,12red\x0f\r\nQUIT :pwned\x00"
    reply = Reply.of(Line((Span(evil), bold(evil), Mention(evil))))
    [line] = render_lines(reply, "net")
    assert line == "xred QUIT :pwned\x02xred QUIT :pwned\x02xred QUIT :pwned"
    assert line.count(BOLD) == 2


def test_tables_render_as_aligned_lines_with_clean_cells() -> None:
    table = Table(("id", "summary"), (("#1", "db\r\ndown"), ("#12", "ok")))
    assert render_lines(Reply.of(table), "net") == ["id   summary", "#1   db down", "#12  ok"]


def test_channel_replies_are_capped_with_a_pointer_to_private_messages() -> None:
    lines = [f"line {i}" for i in range(12)]
    capped = cap_lines(lines, 5)
    assert capped[:4] == lines[:4]
    assert capped[4] == "… 8 more lines; ask me in a private message for all of it"
    assert cap_lines(lines[:5], 5) == lines[:5]
    assert cap_lines(lines[:3], 2)[-1].startswith("… 2 more lines")
    assert cap_lines(lines[:2], 1) == ["… 2 more lines; ask me in a private message for all of it"]


def test_wire_lines_cap_counts_split_lines() -> None:
    reply = Reply.of("a " * 400, "b")
    budget = privmsg_budget(NICK, USERHOST, "#ops")
    assert len(wire_lines(reply, "net", budget, None)) == 3
    capped = wire_lines(reply, "net", budget, 2)
    assert capped[-1].startswith("… 2 more lines")


# --- case folding ------------------------------------------------------------------------


def test_casemappings() -> None:
    assert fold("Nick[A]\\~") == "nick{a}|^"
    assert fold("Nick[A]\\~", "strict-rfc1459") == "nick{a}|~"
    assert fold("Nick[A]\\~", "ascii") == "nick[a]\\~"
    assert fold("ÄRGER", "rfc7613") == "ärger"


# --- flood control -----------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(3, 2.0, now=t, sleep=t.sleep)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time() == pytest.approx(0.5)
    t.now += 0.5
    assert bucket.try_take()
    t.now += 100
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]


async def test_bucket_take_waits_exactly_as_long_as_needed() -> None:
    t = FakeTime()
    bucket = TokenBucket(2, 4.0, now=t, sleep=t.sleep)
    for _ in range(10):
        await bucket.take()
    assert t.now - 100.0 == pytest.approx((10 - 2) / 4.0)
    assert all(s > 0 for s in t.slept)


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0)


# --- capability negotiation and SASL -----------------------------------------------------


class FakeConn:
    label = "testnet"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.features = FeatureSet()

    def send_raw(self, line: str) -> None:
        self.sent.append(line)


def cap(*args: str) -> Event:
    return Event("cap", NickMask("irc.test"), "*", list(args))


def test_caps_are_requested_one_by_one_then_sasl_then_end() -> None:
    conn = FakeConn()
    caps = CapNegotiator(conn, ["account-tag", "server-time"], sasl=("bot", "pw"))
    caps.handle(cap("LS", "*", "account-tag multi-prefix"))
    assert conn.sent == []
    caps.handle(cap("LS", "sasl=PLAIN,EXTERNAL server-time"))
    assert conn.sent == ["CAP REQ :account-tag", "CAP REQ :sasl", "CAP REQ :server-time"]
    for name in ("account-tag", "sasl"):
        caps.handle(cap("ACK", name))
    caps.handle(cap("NAK", "server-time"))
    assert caps.acked == {"account-tag", "sasl"}
    assert conn.sent[-1] == "AUTHENTICATE PLAIN"
    caps.handle(Event("authenticate", None, "+", []))
    assert base64.b64decode(conn.sent[-1].split()[1]) == b"bot\0bot\0pw"
    caps.handle(Event("loggedin", NickMask("irc.test"), "bot", ["bot!b@h", "bot", "hi"]))
    caps.handle(Event("saslsuccess", NickMask("irc.test"), "bot", ["ok"]))
    assert conn.sent[-1] == "CAP END" and caps.account == "bot"


def test_long_sasl_payloads_are_sent_in_400_byte_chunks() -> None:
    conn = FakeConn()
    password = "p" * 596  # "bot\0bot\0" + 596 bytes = 604 bytes -> 808 base64 chars
    caps = CapNegotiator(conn, [], sasl=("bot", password))
    caps.handle(cap("LS", "sasl"))
    caps.handle(cap("ACK", "sasl"))
    caps.handle(Event("authenticate", None, "+", []))
    chunks = [line.split()[1] for line in conn.sent if line.startswith("AUTHENTICATE ")][1:]
    assert [len(c) for c in chunks] == [400, 400, 8]
    conn.sent.clear()
    caps = CapNegotiator(conn, [], sasl=("bot", "p" * 292))  # 300 bytes -> exactly 400 chars
    caps.handle(cap("LS", "sasl"))
    caps.handle(cap("ACK", "sasl"))
    caps.handle(Event("authenticate", None, "+", []))
    assert conn.sent[-1] == "AUTHENTICATE +" and len(conn.sent[-2].split()[1]) == 400


def test_sasl_failure_is_logged_and_registration_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = FakeConn()
    caps = CapNegotiator(conn, [], sasl=("bot", "wrong"))
    caps.handle(cap("LS", "sasl"))
    caps.handle(cap("ACK", "sasl"))
    caps.handle(Event("authenticate", None, "+", []))
    with caplog.at_level(logging.ERROR):
        caps.handle(Event("saslfail", NickMask("irc.test"), "*", ["SASL authentication failed"]))
    assert conn.sent[-1] == "CAP END"
    assert "testnet: SASL login as bot failed" in caplog.text


def test_no_cap_support_and_nothing_wanted() -> None:
    conn = FakeConn()
    caps = CapNegotiator(conn, ["account-tag"], sasl=None)
    caps.handle(Event("unknowncommand", NickMask("irc.test"), "*", ["CAP", "Unknown command"]))
    assert caps.done and conn.sent == []
    conn2 = FakeConn()
    caps2 = CapNegotiator(conn2, ["account-tag"], sasl=None)
    caps2.handle(cap("LS", ""))
    assert conn2.sent == ["CAP END"]


def test_sasl_without_plain_is_not_requested() -> None:
    conn = FakeConn()
    caps = CapNegotiator(conn, [], sasl=("bot", "pw"))
    caps.handle(cap("LS", "sasl=EXTERNAL"))
    assert conn.sent == ["CAP END"]


# --- small transport helpers -------------------------------------------------------------


def test_nick_candidates_stay_within_30_characters() -> None:
    got = nick_candidates("d" * 30, ["alt1", "alt2"])
    assert [next(got) for _ in range(5)] == [
        "alt1",
        "alt2",
        "d" * 29 + "_",
        "d" * 28 + "__",
        "d" * 27 + "___",
    ]
    assert all(len(next(got)) <= 30 for _ in range(20))


def test_server_time() -> None:
    assert parse_server_time("2026-03-01T10:20:30.123Z") == datetime(
        2026, 3, 1, 10, 20, 30, 123000, tzinfo=UTC
    )
    assert parse_server_time("garbage") is None
    assert parse_server_time(None) is None


def _transport(**config: object) -> IrcTransport:
    settings = {
        "kind": "irc",
        "host": "127.0.0.1",
        "nick": "deployday",
        "channels": ["#ops"],
        "alt_nicks": ["deploybot"],
        "max_reply_lines": 3,
        **config,
    }
    return IrcTransport(
        "net",
        IrcNetworkConfig.model_validate(settings),
        clock=FakeClock(),
        tz=ZoneInfo("Europe/Prague"),
        rejoin_delay=3600,
    )


class Wired:
    """A transport with a registered fake connection: events in, Messages and lines out."""

    def __init__(self, acked: set[str], **config: object) -> None:
        self.transport = _transport(**config)
        self.conn = FakeConn()
        caps = CapNegotiator(self.conn, [], sasl=None)
        caps.acked = acked
        self.session = _Session(
            self.conn, caps, "deployday", nick_candidates("deployday", ["deploybot"])
        )
        self.session.registered = True
        self.session.joined.add("#ops")
        self.transport._session = self.session

    def event(self, kind: str, source: str, target: str, *args: str, **tags: str) -> None:
        self.transport._on_event(
            self.conn,
            Event(
                kind,
                NickMask(source),
                target,
                list(args),
                [{"key": k, "value": v} for k, v in tags.items()],
            ),
        )

    def said(self, nick: str, text: str = "hi", **tags: str) -> Message | None:
        self.event("pubmsg", f"{nick}!u@h", "#ops", text, **tags)
        inbox = self.transport._inbox
        return None if inbox.empty() else inbox.get_nowait()

    def sender(self, nick: str, **tags: str) -> Sender:
        message = self.said(nick, **tags)
        assert message is not None
        return message.sender


async def test_stop_is_safe_before_start_and_twice() -> None:
    transport = _transport()
    await transport.stop()
    await transport.stop()
    assert transport.own_names == ("deployday",)
    assert transport.announce_rooms == ("#ops",)
    assert transport.fold("#OPS[]") == "#ops{}"


async def test_send_while_disconnected_keeps_a_bounded_outbox(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = _transport(outbox_limit=10, page_lines=4)
    await transport.send("#ops", Reply.of("deploy started"), announcement=True)
    await transport.send("#ops", Reply.of(*(f"line {i}" for i in range(10))))
    assert [o.text for o in transport._outbox][-1].startswith("… 8 more lines")
    await transport.send("alice", Reply.of(*(f"dm {i}" for i in range(10))))
    assert [o.text for o in transport._outbox if o.target == "alice"] == [
        "dm 0",
        "dm 1",
        "dm 2",
        "… 7 more lines: say !more for the next 3 (kept for 30 minutes)",
    ]
    with caplog.at_level(logging.WARNING):
        await transport.send("bob", Reply.of(*(f"bob {i}" for i in range(3))))
    assert "outbox full (10 lines); dropped 1 (0 of them announcements), for alice" in caplog.text
    assert [o.text for o in transport._outbox if o.target == "alice"][-1].startswith(
        "… 1 line of my answers here were dropped"
    )
    assert next(o.text for o in transport._outbox if o.target == "#ops") == "deploy started"
    await transport.send("bad target", Reply.of("x"))
    assert len(transport._outbox) == 11  # ten, and the line telling alice
    assert await transport.more("alice")  # the next page waits in the pager, not the outbox
    assert not await transport.more("bob")


def test_accounts_from_extended_join_account_notify_nick_changes_and_whox() -> None:
    w = Wired({"extended-join", "account-notify"})
    w.event("join", "alice!a@h", "#ops", "AliceAcct", "Alice")
    w.event("join", "mallory!m@h", "#ops", "*", "Mallory")
    assert w.sender("alice") == Sender("aliceacct", "alice", authenticated=True, origin="u@h")
    assert w.sender("mallory") == Sender("~mallory", "mallory", authenticated=False, origin="u@h")
    w.event("account", "mallory!m@h", "MalloryAcct")
    assert w.sender("mallory") == Sender("malloryacct", "mallory", authenticated=True, origin="u@h")
    w.event("nick", "alice!a@h", "Alice[2]")
    assert w.sender("Alice[2]") == Sender("aliceacct", "Alice[2]", authenticated=True, origin="u@h")
    w.event("account", "Alice[2]!a@h", "*")
    assert w.sender("alice{2}") == Sender(
        "~alice{2}", "alice{2}", authenticated=False, origin="u@h"
    )
    w.event("part", "mallory!m@h", "#ops")
    assert w.sender("mallory") == Sender("~mallory", "mallory", authenticated=False, origin="u@h")
    w.event("whospcrpl", "irc.test", "deployday", "42", "bob", "BobAcct")
    assert w.sender("bob").id == "bobacct"
    w.event("quit", "bob!b@h", "", "gone")
    assert w.sender("bob").id == "~bob"


def test_account_tag_wins_and_its_absence_means_not_logged_in() -> None:
    w = Wired({"account-tag", "extended-join"})
    w.event("join", "alice!a@h", "#ops", "alice", "Alice")
    assert w.sender("alice", account="alice") == Sender(
        "alice", "alice", authenticated=True, origin="u@h"
    )
    assert w.sender("alice") == Sender("~alice", "alice", authenticated=False, origin="u@h")


def test_nick_mode_and_servers_without_accounts() -> None:
    assert Wired(set()).sender("Alice") == Sender(
        "alice", "Alice", authenticated=False, origin="u@h"
    )
    forced = Wired({"account-tag"}, identify_by="nick")
    assert forced.sender("Alice", account="alice") == Sender("alice", "Alice", origin="u@h")
    account_only = Wired(set(), identify_by="account")
    assert account_only.sender("Alice") == Sender("~alice", "Alice", origin="u@h")


def test_messages_rooms_and_what_is_ignored() -> None:
    w = Wired(set())
    message = w.said("alice", "!deploy", time="2026-03-01T10:00:00.000Z", msgid="abc")
    assert message is not None
    assert (message.network, message.room, message.text) == ("net", Room("#ops"), "!deploy")
    assert message.server_time == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert message.event_id == "abc"
    w.event("privmsg", "alice!a@h", "DeployDay", "in private")
    assert w.transport._inbox.get_nowait().room == Room("alice", is_direct=True)
    w.event("privmsg", "alice!a@h", "@#ops", "statusmsg")
    w.event("pubnotice", "alice!a@h", "#ops", "a notice")
    w.event("ctcp", "alice!a@h", "deployday", "VERSION")
    assert w.said("DEPLOYDAY") is None  # the bot's own echo
    assert w.transport._inbox.empty()


def test_casemapping_and_whox_come_from_isupport() -> None:
    w = Wired({"extended-join"})
    assert w.transport.fold("#Ops[1]") == "#ops{1}"
    w.conn.features.load(["deployday", "CASEMAPPING=ascii", "WHOX", "are supported"])
    w.event("featurelist", "irc.test", "deployday", "CASEMAPPING=ascii", "WHOX", "are supported")
    assert w.transport.fold("#Ops[1]") == "#ops[1]"
    w.event("join", "DeployDay!dd@cloak/bot", "#Ops")
    assert w.conn.sent == ["WHO #Ops %tna,42"]
    assert w.session.userhost == "dd@cloak/bot"


def test_nick_refused_during_registration_tries_the_next_candidate() -> None:
    w = Wired(set())
    w.session.registered = False
    w.event("nicknameinuse", "irc.test", "*", "deployday", "Nickname is already in use")
    w.event("erroneusnickname", "irc.test", "*", "deploybot", "Erroneous nickname")
    assert w.conn.sent == ["NICK deploybot", "NICK deployday_"]


async def test_kick_leaves_the_channel_and_schedules_a_rejoin() -> None:
    w = Wired(set())
    assert w.transport.ready
    w.event("kick", "op!o@h", "#OPS", "DeployDay", "out")
    assert not w.transport.ready
    assert len(w.session.timers) == 1
    w.session.timers[0].cancel()


# --- highlights: pages and reminders start with the people they are for -----------------


def _mention(nick: str) -> Mention:
    return Mention(nick.capitalize(), (("libera", nick, nick),))


def test_an_addressed_line_starts_with_every_nick_the_way_irssi_and_weechat_highlight() -> None:
    page = addressed(
        [_mention("bob"), _mention("carol")],
        [bold("page for infra"), text(" from alice (on duty: bob) — pkgdb is down")],
    )
    [line] = render_lines(Reply.of(page), "libera")
    assert (
        line == f"bob,carol: {BOLD}page for infra{BOLD} from alice (on duty: bob) — pkgdb is down"
    )
    assert highlighted(line, "bob") and highlighted(line, "carol")
    assert not irssi_highlights(line, "alice")  # named in the text, not paged
    # a person unknown on this network is named, not mangled
    [elsewhere] = render_lines(Reply.of(page), "oftc")
    assert elsewhere.startswith("Bob,Carol: ")


def test_the_old_shape_of_a_page_was_not_highlighted_by_irssi() -> None:
    """Why the nicks go first: irssi's default ignores a nick in the middle of a line, and
    a list with spaces after the commas, and formatting before the nick."""
    assert weechat_highlights("page from alice: bob — pkgdb is down", "bob")
    assert not irssi_highlights("page from alice: bob — pkgdb is down", "bob")
    assert not irssi_highlights("bob, carol: page for infra", "carol")
    assert not irssi_highlights(f"{BOLD}bob{BOLD}: page", "bob")
    assert not weechat_highlights("bobby: page", "bob")


def test_a_long_addressed_line_keeps_the_nicks_at_the_start_of_its_first_piece() -> None:
    line = addressed([_mention("bob")], [text("x " * 400)])
    pieces = wire_lines(Reply.of(line), "libera", 200, None)
    assert len(pieces) > 1 and pieces[0].startswith("bob: x x")


# --- decoding what the server sends ---------------------------------------------------------


def test_undecodable_bytes_are_replaced_not_read_as_latin_1() -> None:
    buffer = ReplacingLineBuffer()
    cut = ("!break pkgdb " + "ü" * 3).encode()[:-1]  # a server cut the line mid-character
    buffer.feed(cut + b"\r\ncaf\xe9\r\n" + "ok ✓".encode() + b"\r\n")
    assert list(buffer) == ["!break pkgdb üü\ufffd", "caf\ufffd", "ok ✓"]
