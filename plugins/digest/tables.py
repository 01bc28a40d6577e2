"""Markdown tables as the digest writes them: every cell made safe by `md_cell`."""

from __future__ import annotations

from collections.abc import Sequence

from plugins.common.files import md_cell


def row(*cells: object) -> str:
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def table(header: Sequence[str], rows: list[str]) -> list[str]:
    return [row(*header), "|" + "---|" * len(header), *rows, ""]


def section(
    title: str, header: Sequence[str], rows: list[str], empty: str, intro: str = ""
) -> list[str]:
    """A heading, then the table (after its `intro`), or a line saying there is none."""
    if not rows:
        return [f"## {title}", "", empty, ""]
    return [f"## {title}", "", *([intro, ""] if intro else []), *table(header, rows)]
