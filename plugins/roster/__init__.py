"""Roster: who is planned for which team, who is on duty now, paging a team. Roster
members hold the MEMBER level."""

from plugins.roster.commands import RosterPlugin as plugin

__all__ = ["plugin"]
