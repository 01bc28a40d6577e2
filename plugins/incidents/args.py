"""Argument types the deploy-day commands share; the core parses them through `parse`."""

from __future__ import annotations

import re

from bot.commands import UsageError, shorten


class IncidentNumber(int):
    """`7` or `#7`."""

    metavar = "N"

    @classmethod
    def parse(cls, token: str) -> IncidentNumber:
        m = re.fullmatch(r"#?(\d{1,9})", token)
        if not m or int(m[1]) == 0:
            raise UsageError(f"incident numbers look like 7 or #7, not {shorten(token)!r}")
        return cls(int(m[1]))


class Severity(int):
    """1 (worst) to 4; `sev2` and `s2` also work."""

    metavar = "1-4"

    @classmethod
    def parse(cls, token: str) -> Severity:
        m = re.fullmatch(r"(?:sev|s)?([1-4])", token.lower())
        if not m:
            raise UsageError(f"severity is 1 (worst) to 4, not {shorten(token)!r}")
        return cls(int(m[1]))
