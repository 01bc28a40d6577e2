"""The `deployday plan` command line: its actions and their arguments."""

from __future__ import annotations

import argparse


def configure_cli(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    zone = "in the configured time zone unless it names one"
    add = actions.add_parser("add", help="plan a deploy, mail the announcement")
    add.add_argument("name", help="the deploy's name; `!deploy start NAME` picks the plan up")
    add.add_argument("when", help=f"'2026-11-25 09:00', 2026-11-25T09:00, +2h ({zone})")
    add.add_argument("--service", help="the catalogue service it changes (default: NAME)")
    add.add_argument("--env", help="the environment it deploys to (default: plans.environment)")
    add.add_argument("--api-break", action="store_true", help="it breaks the service's API")
    add.add_argument("-d", "--description", help="what changes")
    actions.add_parser("list", help="what is planned")
    move = actions.add_parser("move", help="move a plan, mail the change")
    move.add_argument("name")
    move.add_argument("when", help=f"the new time ({zone})")
    cancel = actions.add_parser("cancel", help="cancel a plan, mail the change")
    cancel.add_argument("name")
    ics = actions.add_parser("ics", help="the planned deploys as an iCalendar feed")
    ics.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="write it to FILE, replaced whole (default: - for standard output)",
    )
