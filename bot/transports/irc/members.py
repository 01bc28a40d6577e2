"""Who is in which channel under which services account, and who a message is from.

IRC tells a client about accounts in pieces: the `account` message tag, `extended-join`,
`account-notify` and WHOX replies; NAMES, PART, KICK, QUIT and NICK keep the picture
current. Every nick and channel is compared by the server's CASEMAPPING."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import irc.client

from bot.messages import Sender

Fold = Callable[[str], str]

WHOX_TOKEN = "42"  # marks the replies to our own `WHO #channel %tna,42`


@dataclass(eq=False, kw_only=True)
class Members:
    """One connection's picture of the channels: keys are folded, accounts are None for
    people known not to be logged in, and missing for people nothing was heard about."""

    joined: set[str] = field(default_factory=set)  # channels the bot is in
    members: dict[str, set[str]] = field(default_factory=dict)  # channel -> nicks
    accounts: dict[str, str | None] = field(default_factory=dict)  # nick -> account

    def track(self, event: irc.client.Event, fold: Fold, me: str, *, extended_join: bool) -> None:
        """Update the picture from one event; `me` is the bot's nick on this connection."""
        kind, args = event.type, event.arguments
        if kind == "join":
            nick = fold(event.source.nick)
            self._arrive(fold(str(event.target)), nick, fold(me))
            if extended_join and args and nick != fold(me):
                self._account(nick, args[0], "*")
        elif kind == "namreply" and len(args) >= 3:
            present = self.members.setdefault(fold(args[1]), set())
            present.update(fold(name.lstrip("~&@%+!").split("!", 1)[0]) for name in args[2].split())
        elif kind == "whospcrpl" and len(args) >= 3 and args[0] == WHOX_TOKEN:
            self._account(fold(args[1]), args[2], "0")
        elif kind == "part":
            self._leave(fold(str(event.target)), fold(event.source.nick), fold(me))
        elif kind == "kick" and args:
            self._leave(fold(str(event.target)), fold(args[0]), fold(me))
        elif kind == "quit":
            self._quit(fold(event.source.nick))
        elif kind == "nick":
            self._rename(fold(event.source.nick), fold(str(event.target)))
        elif kind == "account":
            self._account(fold(event.source.nick), str(event.target), "*")

    def sender(
        self,
        nick: str,
        tags: Mapping[str, str | None],
        fold: Fold,
        *,
        by_account: bool,
        account_tag: bool,
        origin: str | None = None,
    ) -> Sender:
        """Who said something: their services account when the network is identified by
        account (the message's `account` tag if the server sends one, else what JOIN,
        ACCOUNT and WHOX said), "~nick" for someone not logged in; else their nick.
        `origin` is their user@host, which outlives a nick change."""
        if not by_account:
            return Sender(fold(nick), nick, authenticated=False, origin=origin)
        account = tags.get("account") if account_tag else self.accounts.get(fold(nick))
        if account:
            return Sender(fold(account), nick, authenticated=True, origin=origin)
        return Sender("~" + fold(nick), nick, authenticated=False, origin=origin)

    def _arrive(self, channel: str, nick: str, me: str) -> None:
        if nick == me:
            self.joined.add(channel)
            self.members[channel] = set()
        else:
            self.members.setdefault(channel, set()).add(nick)

    def _leave(self, channel: str, nick: str, me: str) -> None:
        if nick == me:
            self.joined.discard(channel)
            self.members.pop(channel, None)
            return
        self.members.get(channel, set()).discard(nick)
        if not any(nick in m for m in self.members.values()):
            self.accounts.pop(nick, None)

    def _quit(self, nick: str) -> None:
        for present in self.members.values():
            present.discard(nick)
        self.accounts.pop(nick, None)

    def _rename(self, old: str, new: str) -> None:
        for present in self.members.values():
            if old in present:
                present.discard(old)
                present.add(new)
        if old in self.accounts:
            self.accounts[new] = self.accounts.pop(old)

    def _account(self, nick: str, account: str, none: str) -> None:
        """`none` is how this source says "not logged in" ("*" or WHOX's "0")."""
        self.accounts[nick] = None if account == none else account
