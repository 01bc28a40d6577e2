"""deployday's benchmark suite: `make bench` (or `.venv/bin/python -m bench`).

Numbers, not a test: round trip through a real ngircd against the server's own floor,
pipelined throughput into SQLite and PostgreSQL, the big-log queries, digest and exports
(against the sqlite3 command-line tool), and start-up. Prints a table with the issue's
targets beside each figure and writes the same as JSON under bench/results/.
"""
