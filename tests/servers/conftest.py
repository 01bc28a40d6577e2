"""Real servers, started once per test session on loopback ports."""

from tests.servers.alertmanager import *  # noqa: F403
from tests.servers.ircd import *  # noqa: F403
from tests.servers.synapse import *  # noqa: F403
