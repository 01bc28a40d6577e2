"""Matrix on matrix-nio's AsyncClient; see `transport.MatrixTransport`."""

from bot.transports.matrix.transport import MatrixTransport, check_encryption

__all__ = ["MatrixTransport", "check_encryption"]
