"""The Synapse fixture (issue 11): a Synapse that is installed but cannot start is a
failure with its log, never a skip, so a broken homeserver cannot hide the Matrix tests."""

from __future__ import annotations

import shutil
import socket

import pytest

from tests.servers.support import server_dir
from tests.servers.synapse import _launch, _synapse_installed

pytestmark = pytest.mark.servers


def test_a_synapse_that_cannot_start_fails_loudly() -> None:
    assert _synapse_installed()  # installed by the test extra, so the failure must be real
    directory = server_dir("synapse-broken")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            with pytest.raises(RuntimeError, match=r"exited with \d+; log: .*synapse\.log"):
                _launch(directory, port)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
