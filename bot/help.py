"""`!help`, built from the command definitions themselves so it cannot drift."""

from __future__ import annotations

from bot.commands import Command, Example, Text, UserError, command
from bot.messages import Reply, bold, code, text
from bot.plugin import Context, Plugin


class HelpPlugin(Plugin):
    name = "help"

    @command(
        "help",
        help="list the commands, or explain one",
        examples=[
            Example("!help", r"commands:.*help.*name people as bob .*bob@NETWORK"),
            Example("!help break", r"!break <service> <summary…>"),
        ],
    )
    async def help(self, ctx: Context, topic: Text | None = None) -> Reply:
        p = ctx.prefix
        registry = self.api.registry
        if not topic:
            names: dict[str, list[str]] = {}
            for cmd in registry.commands:
                head, _, sub = cmd.name.partition(" ")
                names.setdefault(head, [])
                if sub:
                    names[head].append(sub)
            listed = ", ".join(f"{n} ({'|'.join(s)})" if s else n for n, s in names.items())
            return Reply.of(
                f"commands: {listed}",
                f"{p}help <command> explains one; in a private message no {p} needed",
                "name people as bob (on this network), bob@NETWORK (the account, or the nick "
                "where the network goes by nicks) or @bob:server (Matrix)",
            )
        topic = topic.removeprefix(p).strip().lower()
        cmd = registry.get(topic)
        group = registry.subcommands(topic)
        if cmd is None and not group:
            hint = registry.suggest(topic.split()[0]) if topic else None
            raise UserError(
                f"no command {p}{topic[:30]}"
                + (f"; did you mean {p}{hint}?" if hint else f"; {p}help lists them")
            )
        shown = ([cmd] if cmd is not None else []) + group
        return Reply.of(*(line for c in shown for line in _describe(c, p)))


def _describe(cmd: Command, p: str) -> list[list]:
    lines = [[code(cmd.usage(p)), text(f" — {cmd.help} ({cmd.level.who})")]]
    if cmd.aliases:
        lines.append([text("also: " + ", ".join(p + a for a in cmd.aliases))])
    if cmd.examples:
        lines.append([bold("e.g. "), code(_example(cmd.examples[0], p))])
    return lines


def _example(example: Example, prefix: str) -> str:
    return prefix + example.says.removeprefix("!")


plugin = HelpPlugin
