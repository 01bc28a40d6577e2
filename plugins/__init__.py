"""deployday's features, one package each (see README, "Development"), on the shared
tables of `models` and the one migration branch in `migrations`."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
