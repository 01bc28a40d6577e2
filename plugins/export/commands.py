"""`!export <format>` and `deployday export`: the incident log as CSV, JSON, JSON Lines or
Markdown, written whole or not at all."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.commands import Example, Level, UsageError, UserError, command, shorten
from bot.messages import Reply
from bot.plugin import Context, Plugin, cli_command
from plugins import MIGRATIONS
from plugins.common.chat import plural, where
from plugins.common.files import atomic_text, data_directory, ensure_directory, file_stem, stamp
from plugins.deploys.service import DeployService
from plugins.export.service import Exported, ExportService, Selection, select_incidents
from plugins.export.settings import ExportSettings
from plugins.export.writers import FORMATS, Progress, TerminalProgress, write_export
from plugins.metrics.change_views import change_json
from plugins.metrics.settings import failure_window


class ExportFormat(str):
    metavar = "csv|json|jsonl|md"

    @classmethod
    def parse(cls, token: str) -> ExportFormat:
        fmt = token.lower().removeprefix(".")
        if fmt not in FORMATS:
            raise UsageError(f"export formats are {', '.join(FORMATS)}, not {shorten(token)!r}")
        return cls(fmt)


def _configure_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, required=True)
    p.add_argument("--deploy", metavar="NAME", help="only incidents reported in this deploy")
    p.add_argument(
        "--since", metavar="DATE", help="reported at or after (2026-11-25 or 2026-11-25T09:30)"
    )
    p.add_argument("--until", metavar="DATE", help="reported before (a date: up to its end)")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (- for stdout; default: the export directory)",
    )


class ExportPlugin(Plugin):
    name = "export"
    settings_key = "export"
    Settings = ExportSettings
    migrations = MIGRATIONS / "versions"

    @property
    def directory(self) -> Path:
        return data_directory(self.api.config, self.settings.directory, "exports")

    def default_path(self, fmt: str, sel: Selection) -> Path:
        stem = file_stem("export", sel.deploy_name or "")
        name = f"{stem}-{stamp(self.api.clock.now())}.{fmt}"
        return ensure_directory(self.directory, self.api.config.modes) / name

    async def selection(
        self, deploy: str | None, since: str | None, until: str | None
    ) -> Selection:
        return await select_incidents(
            DeployService.of(self.api),
            self.api.config.tz,
            deploy=deploy,
            since=since,
            until=until,
        )

    async def change_failure(self, fmt: str, sel: Selection) -> dict[str, Any] | None:
        """The JSON export's `change_failure` section; other formats have none."""
        if fmt != "json":
            return None
        window = failure_window(self.api.config)
        now = self.api.clock.now()
        return change_json(await ExportService.of(self.api).change_failure(sel, window, now))

    async def to_file(
        self, fmt: str, sel: Selection, path: Path | None = None, *, terminal: bool = False
    ) -> tuple[Path, Exported]:
        """Write the export to `path` (default: a new file in the export directory)."""
        service = ExportService.of(self.api)
        total = await service.count(sel)
        if total == 0:
            raise UserError(f"nothing to export: no incidents {sel.describe(self.api.config.tz)}")
        path = path or self.default_path(fmt, sel)
        section = await self.change_failure(fmt, sel)
        bar = TerminalProgress(total) if terminal else None
        progress: Progress | None = bar if bar is not None and bar.wanted else None
        try:
            with atomic_text(path, self.api.config.modes) as f:
                tz = self.api.config.tz
                done = await write_export(service, fmt, f, sel, tz, progress, section)
        finally:
            if bar is not None:
                bar.close()
        return path, done

    @command(
        "export",
        level=Level.ADMIN,
        help="write the incident log with every event to a file (csv, json, jsonl or md)",
        examples=[
            Example(
                "!export csv",
                r"exported 1 incident \(1 event\) to export-\d{8}T\d{6}Z\.csv \(the path "
                r"went to alice privately\)",
                setup=("!break koji builds stuck",),
            )
        ],
    )
    async def export(
        self,
        ctx: Context,
        fmt: ExportFormat,
        *,
        deploy: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Reply:
        sel = await self.selection(deploy, since, until)
        path, done = await self.to_file(fmt, sel)
        what = f"exported {plural(done.incidents, 'incident')} ({plural(done.events, 'event')})"
        url = self.settings.url_base
        return Reply.of(f"{what} to {await where(self.api, ctx.message, path, url, what)}")

    @cli_command("export", help="export incidents with their events", configure=_configure_cli)
    async def export_cli(self, args: argparse.Namespace) -> int:
        try:
            sel = await self.selection(args.deploy, args.since, args.until)
            if args.output == "-":
                if not await ExportService.of(self.api).count(sel):
                    raise UserError(
                        f"nothing to export: no incidents {sel.describe(self.api.config.tz)}"
                    )
                section = await self.change_failure(args.format, sel)
                await write_export(
                    ExportService.of(self.api),
                    args.format,
                    sys.stdout,
                    sel,
                    self.api.config.tz,
                    change_failure=section,
                )
                return 0
            path, done = await self.to_file(
                args.format, sel, Path(args.output) if args.output else None, terminal=True
            )
        except UserError as exc:
            print(f"deployday export: {exc}", file=sys.stderr)
            return 1
        print(
            f"exported {plural(done.incidents, 'incident')} ({plural(done.events, 'event')}) "
            f"to {path}"
        )
        return 0
