"""deployday's benchmark suite: `make bench` (or `.venv/bin/python -m bench`).

Numbers, not a test: round trip through a real ngircd against the server's own floor,
pipelined throughput into SQLite and PostgreSQL, start-up and idle memory, each beside
the peers measured the same way in the same run (Sopel 8's `.ping` and Limnoria's
`ping`, installed from PyPI into bench/.peers/ on first use); then the big-log queries,
digest and exports (against the sqlite3 command-line tool). Prints a table with each
figure's ratio to Sopel's and the targets of issue 12 (PASS/MISS), and writes the same
as JSON under bench/results/.
"""
