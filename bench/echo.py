"""The client→client floor's other end, in its own process like the bot: an IrcUser that
answers every `ping X` in a channel with `pong X` there, until SIGTERM.

    python -m bench.echo HOST PORT NICK CHANNEL
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bot.devtools.ircuser import IrcUser


async def serve(host: str, port: int, nick: str, channel: str) -> None:
    user = await IrcUser.connect(host, port, nick)
    await user.join(channel)
    print("ready", flush=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    while not stopping.is_set():
        try:
            message = await user.next_message(timeout=1.0)
        except TimeoutError:
            continue
        if message.text.startswith("ping "):
            user.say(channel, "pong " + message.text[5:])
    await user.quit()


if __name__ == "__main__":
    host, port, nick, channel = sys.argv[1:5]
    asyncio.run(serve(host, int(port), nick, channel))
