"""Plans: deploys announced ahead of time, reminded T-minus, mailed, and the responders
expected to be reachable when they start."""

from plugins.plans.commands import PlansPlugin as plugin

__all__ = ["plugin"]
