"""Catalogue: the services, their criticality and their consumers; it flags new reports
(unknown consumer, pointed at staging?) and pages consumers' teams on an API break."""

from plugins.catalog.commands import CatalogPlugin as plugin

__all__ = ["plugin"]
