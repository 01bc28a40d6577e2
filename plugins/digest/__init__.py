"""Digest: the postmortem of a deploy, in chat, as a Markdown or JSON file, and by mail."""

from plugins.digest.commands import DigestPlugin as plugin

__all__ = ["plugin"]
