"""The postmortem digest: on `!deploy end`, on `!digest`, at the end of the day and from
`deployday digest`. The chat gets two lines and where the full Markdown file is; the file
goes to the digest directory; the list gets it by mail when one is configured."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from bot.commands import Example, Level, UserError, command
from bot.files import Modes
from bot.messages import Message, Reply
from bot.plugin import Context, Plugin, cli_command
from plugins import MIGRATIONS
from plugins.common.chat import aside, post, where
from plugins.common.files import atomic_text, data_directory
from plugins.common.mailing import Mailed, send_mail
from plugins.deploys.service import DEPLOY_ENDED, DeployEnded, DeployService, DeployView
from plugins.digest.figures import Digest
from plugins.digest.formats import as_json, markdown, markdown_lines
from plugins.digest.saving import save
from plugins.digest.service import DigestService, end_of_day_pick, pick_deploy
from plugins.digest.settings import DigestSettings
from plugins.digest.views import chat_summary

log = logging.getLogger(__name__)


def _configure_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deploy", metavar="NAME", help="default: the active deploy, else the latest")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (- for stdout; default: the digest directory)",
    )
    p.add_argument("--mail", action="store_true", help="also mail it to digest.mail_to")


class DigestPlugin(Plugin):
    name = "digest"
    settings_key = "digest"
    Settings = DigestSettings
    migrations = MIGRATIONS / "versions"
    _writing = threading.Lock()  # files are written on worker threads

    @property
    def directory(self) -> Path:
        return data_directory(self.api.config, self.settings.directory, "digests")

    async def start(self) -> None:
        cfg: DigestSettings = self.settings
        self.api.subscribe(DEPLOY_ENDED, self.on_deploy_ended)
        at = cfg.end_of_day_time
        if at is not None:
            self.api.scheduler.daily("end-of-day-digest", at, self.api.config.tz, self.end_of_day)

    async def on_deploy_ended(self, ended: object) -> None:
        if not isinstance(ended, DeployEnded) or not self.settings.on_deploy_end:
            return
        reply = await self.produce(ended.deploy, mail=True, origin=ended.origin)
        await post(self.api, reply, self.settings.rooms)

    async def end_of_day(self) -> None:
        deploys = DeployService.of(self.api)
        now = self.api.clock.now()
        active = await deploys.active()
        latest = None if active else await deploys.latest()
        deploy = end_of_day_pick(active, latest, now, self.api.config.tz)
        if deploy is not None:
            reply = await self.produce(deploy, mail=True, origin=None)
            await post(self.api, reply, self.settings.rooms)

    async def produce(self, deploy: DeployView, *, mail: bool, origin: Message | None) -> Reply:
        """Write the digest (and mail it when asked and configured); the chat lines, which
        may be read in public rooms: where the file is and why something failed go to
        whoever asked (`origin`) privately, or only to the log."""
        now = self.api.clock.now()
        digest = await DigestService.of(self.api).collect(deploy, now)
        lines: list[str | None] = [*chat_summary(digest)]
        tz = self.api.config.tz
        label = f"full digest of deploy {deploy.name}"
        try:
            pieces = markdown_lines(digest, tz)  # made as it is written, off the loop
            path = await asyncio.to_thread(self._write_default, digest, pieces, "md")
        except UserError as exc:
            log.error("digest of deploy %s not written: %s", deploy.name, exc)
            lines.append("the full digest could not be written; the bot's log says why")
            lines.append(await aside(self.api, origin, f"{label} not written: {exc}"))
        else:
            url = self.settings.url_base
            lines.append(f"full digest: {await where(self.api, origin, path, url, label)}")
        if mail and self.settings.mail_to and self.api.config.mail is not None:
            mailed = await self.mail(digest, markdown(digest, tz), now)
            lines.append(mailed.line if mailed.ok else await aside(self.api, origin, mailed.line))
        return Reply.of(*(line for line in lines if line))

    def _write_default(self, digest: Digest, text: str | Iterable[str], ext: str) -> Path:
        """The deploy's one digest file in the digest directory, replaced (saving.py)."""
        keep = self.settings.keep_versions
        modes = self.api.config.modes
        with self._writing:  # two digests of one deploy at once: one replaces the other
            return save(self.directory, digest.deploy.name, ext, text, modes, keep)

    async def mail(self, digest: Digest, text: str, now: datetime) -> Mailed:
        subject = f"deployday digest: deploy {digest.deploy.name}"
        what = f"digest of deploy {digest.deploy.name}"
        return await send_mail(self.api.config, self.settings.mail_to, subject, text, now, what)

    @command(
        "digest",
        level=Level.MEMBER,
        help="post the digest summary and write the full digest (default: the active or "
        "latest deploy)",
        examples=[
            Example(
                "!digest",
                r"Digest for deploy pkgdb2: 1 incident, 1 still open.*\n.*\nfull digest: "
                r"digest-pkgdb2\.md \(the path went to alice privately\)",
                setup=("!deploy start pkgdb2", "!break koji builds stuck"),
            )
        ],
    )
    async def digest(self, ctx: Context, deploy: str | None = None) -> Reply:
        chosen = await pick_deploy(DeployService.of(self.api), deploy)
        return await self.produce(chosen, mail=False, origin=ctx.message)

    @cli_command("digest", help="write a deploy's digest", configure=_configure_cli)
    async def digest_cli(self, args: argparse.Namespace) -> int:
        try:
            deploy = await pick_deploy(DeployService.of(self.api), args.deploy)
            now = self.api.clock.now()
            digest = await DigestService.of(self.api).collect(deploy, now)
            text = markdown(digest, self.api.config.tz)
            document = text if args.format == "md" else json.dumps(as_json(digest), indent=2)
            if args.output == "-":
                sys.stdout.write(document if document.endswith("\n") else document + "\n")
                return 0
            if args.output:
                path = Path(args.output)
                await asyncio.to_thread(_write, path, document, self.api.config.modes)
            else:
                path = await asyncio.to_thread(self._write_default, digest, document, args.format)
            for line in chat_summary(digest):
                print(line)
            print(f"full digest: {path}")
            if args.mail:
                if not self.settings.mail_to:
                    raise UserError("--mail needs digest.mail_to in the config")
                mailed = await self.mail(digest, text, now)
                if not mailed.ok:
                    raise UserError(mailed.line)
                print(mailed.line)
        except UserError as exc:
            print(f"deployday digest: {exc}", file=sys.stderr)
            return 1
        return 0


def _write(path: Path, text: str, modes: Modes) -> None:
    with atomic_text(path, modes) as f:
        f.write(text if text.endswith("\n") else text + "\n")
