"""deployday's features: deploys, roster, incidents and metrics, built on the core's API."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
