"""Errors that end the program with one line for the operator instead of a traceback, and
the exit status each means (the same for every subcommand; README, "Exit status")."""

EXIT_OK = 0
EXIT_FAILED = 1  # the command was right but could not do its job (database, network, disk)
EXIT_USAGE = 2  # the command line or the config is wrong: fix it and run again


def reason(exc: BaseException) -> str:
    """What went wrong, in a few words for a log or an error line: "connection refused"
    rather than "Connect call failed ('127.0.0.1', 5432)"."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class StartupError(Exception):
    """The bot cannot start as configured; the message says what to do."""

    exit_status = EXIT_USAGE


class Unavailable(StartupError):
    """Something the config names (the database, a server) cannot be used right now."""

    exit_status = EXIT_FAILED
