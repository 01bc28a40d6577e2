"""deployday core: transports, commands, store and scheduling; knows nothing about incidents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deployday")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
