"""IRC on the `irc` library's asyncio client; see `transport.IrcTransport`."""

from bot.transports.irc.transport import IrcTransport

__all__ = ["IrcTransport"]
