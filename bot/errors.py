"""Errors that end the program with one line for the operator instead of a traceback, and
the exit status each means (the same for every subcommand; README, "Exit status")."""

EXIT_OK = 0
EXIT_FAILED = 1  # the command was right but could not do its job (database, network, disk)
EXIT_USAGE = 2  # the command line or the config is wrong: fix it and run again


class StartupError(Exception):
    """The bot cannot start as configured; the message says what to do."""

    exit_status = EXIT_USAGE


class Unavailable(StartupError):
    """Something the config names (the database, a server) cannot be used right now."""

    exit_status = EXIT_FAILED
