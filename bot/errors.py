"""Errors that end the program with one line for the operator instead of a traceback."""


class StartupError(Exception):
    """The bot cannot start as configured; the message says what to do."""
