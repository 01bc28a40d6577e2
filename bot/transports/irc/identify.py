"""How people are identified on an IRC connection: by services account where the server
tracks accounts (and the config does not say `identify_by: nick`), else by nick, which
anyone can take. Logged on every registration, with a warning where it falls short; and
what the transport tells the core about people (`IdentifiesPeople`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Set

from bot.config.networks import IrcNetworkConfig
from bot.messages import IdentifiedBy, Sender
from bot.transports.irc.caps import ACCOUNT_CAPS
from bot.transports.irc.session import Session

log = logging.getLogger(__name__)


def identified_by(setting: str, acked: Set[str]) -> IdentifiedBy:
    """`setting` is the network's `identify_by`; `acked` the capabilities the server
    granted on this connection."""
    if setting == "nick":
        return IdentifiedBy.NICK
    if setting == "account" or acked & ACCOUNT_CAPS:
        return IdentifiedBy.ACCOUNT
    return IdentifiedBy.AUTO_NICK


def identify_people(network: str, setting: str, acked: Set[str]) -> IdentifiedBy:
    """How people are identified on this connection, logged."""
    offered = ", ".join(sorted(acked & ACCOUNT_CAPS))
    mode = identified_by(setting, acked)
    if mode is IdentifiedBy.AUTO_NICK:
        log.warning(
            "%s: the server tracks no services accounts, so identify_by: auto identifies "
            "people by nick, which anyone can take; admins named on %s get no rights here "
            "(say identify_by: nick to trust nicks)",
            network,
            network,
        )
    elif mode is IdentifiedBy.NICK:
        log.info("%s: people are identified by nick (identify_by: nick)", network)
    elif offered:
        log.info("%s: people are identified by services account (%s)", network, offered)
    else:
        log.warning(
            "%s: identify_by is account but the server offers no account information; "
            "nobody will count as logged in",
            network,
        )
    return mode


class IdentifiesPeople:
    """The Transport protocol's questions about people, answered for an IRC transport
    from its config and its current connection."""

    config: IrcNetworkConfig
    _session: Session | None
    _identified: IdentifiedBy  # as the last server allowed; `auto`: accounts until then
    fold: Callable[[str], str]  # the server's casemapping

    @property
    def identified_by(self) -> IdentifiedBy:
        return self._identified

    def private_room(self, sender: Sender) -> str | None:
        return sender.nick

    def current_id(self, nick: str) -> str | None:
        """The account of whoever uses `nick` now, as the channel picture says."""
        session = self._session
        if session is None or not self._by_account(session):
            return None
        account = session.accounts.get(self.fold(nick))
        return self.fold(account) if account else None

    def _by_account(self, session: Session) -> bool:
        return identified_by(self.config.identify_by, session.caps.acked) is IdentifiedBy.ACCOUNT
