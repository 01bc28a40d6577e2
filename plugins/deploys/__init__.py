"""Deploys: start and end the deploy day, announced everywhere, and its lead. Other
features hear about it through DEPLOY_STARTED and DEPLOY_ENDED (`service`)."""

from plugins.deploys.commands import DeploysPlugin as plugin

__all__ = ["plugin"]
