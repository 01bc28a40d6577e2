"""Alembic environment: runs on the connection handed over by bot.store.migrate."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `deployday db upgrade`, not the alembic CLI")

context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
