"""Reading typed names (bot.naming) and matching admins (bot.admins): pure rules."""

from __future__ import annotations

import pytest

from bot.admins import Admins
from bot.casemapping import fold
from bot.commands import UserError
from bot.messages import IdentifiedBy
from bot.naming import Wanted, qualified, read_name

MODES = {
    "libera": IdentifiedBy.ACCOUNT,
    "oftc": IdentifiedBy.NICK,
    "plain": IdentifiedBy.AUTO_NICK,
    "fedora": IdentifiedBy.USER_ID,
    "console": IdentifiedBy.OPERATOR,
}


class Nets:
    def __init__(self, modes: dict[str, IdentifiedBy]) -> None:
        self.modes = modes

    def network_names(self) -> tuple[str, ...]:
        return tuple(self.modes)

    def identified_by(self, network: str) -> IdentifiedBy | None:
        return self.modes.get(network)

    def fold(self, network: str, name: str) -> str:
        return name if self.modes.get(network) is IdentifiedBy.USER_ID else fold(name)


NETS = Nets(MODES)


@pytest.mark.parametrize(
    ("typed", "here", "expected"),
    [
        ("Bob", "oftc", Wanted("oftc", "Bob", "bob", "bob", IdentifiedBy.NICK, False)),
        ("@Bob", "oftc", Wanted("oftc", "Bob", "bob", "bob", IdentifiedBy.NICK, False)),
        (
            "[Bob]",
            "libera",
            Wanted("libera", "[Bob]", "{bob}", "{bob}", IdentifiedBy.ACCOUNT, False),
        ),
        ("bob@libera", "fedora", Wanted("libera", "bob", "bob", "bob", IdentifiedBy.ACCOUNT, True)),
        ("bob@LIBERA", "oftc", Wanted("libera", "bob", "bob", "bob", IdentifiedBy.ACCOUNT, True)),
        (
            "@Bob:example.org",
            "oftc",
            Wanted(
                "fedora",
                "@Bob:example.org",
                "@Bob:example.org",
                "@bob:example.org",
                IdentifiedBy.USER_ID,
                True,
            ),
        ),
        (
            "@bob:example.org@fedora",
            "libera",
            Wanted(
                "fedora",
                "@bob:example.org",
                "@bob:example.org",
                "@bob:example.org",
                IdentifiedBy.USER_ID,
                True,
            ),
        ),
        ("Bob", "fedora", Wanted("fedora", "Bob", "Bob", "bob", IdentifiedBy.USER_ID, False)),
        ("root", "console", Wanted("console", "root", "root", "root", IdentifiedBy.OPERATOR, True)),
    ],
)
def test_what_a_typed_name_means(typed: str, here: str, expected: Wanted) -> None:
    assert read_name(typed, here, NETS) == expected


@pytest.mark.parametrize(
    ("typed", "here", "problem"),
    [
        ("", "oftc", "'' is not a name I can look up"),
        ("bo b", "oftc", "'bo b' is not a name I can look up"),
        ("bob\x00", "oftc", "'bob\\x00' is not a name I can look up"),
        ("b" * 300, "oftc", "a name or ID is at most 255 characters; got 300"),
        ("~bob", "libera", "~bob is someone not logged in to services on libera"),
        ("~bob@libera", "oftc", "~bob is someone not logged in to services on libera"),
        ("bob@nowhere", "oftc", "there is no network nowhere here (networks: libera, oftc"),
        ("bob@fedora", "oftc", "people on fedora are named by Matrix user ID (@user:server)"),
        ("@bob:example.org@oftc", "oftc", "oftc is not a Matrix network"),
        ("@bob:", "oftc", "'@bob:' is not a Matrix user ID (@user:server)"),
    ],
)
def test_names_that_name_nobody(typed: str, here: str, problem: str) -> None:
    with pytest.raises(UserError) as err:
        read_name(typed, here, NETS)
    assert problem in str(err.value)


def test_a_matrix_id_needs_a_matrix_network_to_be_on() -> None:
    none = Nets({"oftc": IdentifiedBy.NICK})
    with pytest.raises(UserError, match="no Matrix network is configured here"):
        read_name("@bob:example.org", "oftc", none)
    two = Nets({"oftc": IdentifiedBy.NICK, "a": IdentifiedBy.USER_ID, "b": IdentifiedBy.USER_ID})
    with pytest.raises(UserError, match=r"could be on any of a, b; write @bob:example.org@a"):
        read_name("@bob:example.org", "oftc", two)
    assert read_name("@bob:example.org", "b", two).network == "b"
    assert qualified("b", "@bob:example.org", two) == "@bob:example.org@b"
    assert read_name("@bob:example.org@b", "oftc", two).network == "b"


def test_identities_are_written_as_they_can_be_typed_back() -> None:
    assert qualified("libera", "alice", NETS) == "alice@libera"
    assert qualified("fedora", "@alice:example.org", NETS) == "@alice:example.org"
    for network, key in [("libera", "alice"), ("fedora", "@alice:example.org")]:
        wanted = read_name(qualified(network, key, NETS), "oftc", NETS)
        assert (wanted.network, wanted.key, wanted.stable) == (network, key, True)


def test_admins_match_by_network_kind_and_casemapping() -> None:
    admins = Admins(["[alice]@oftc", "carol@libera", "dave@plain", "@erin:example.org"])

    def match(network: str, key: str) -> bool:
        return admins.match(network, key, MODES.get(network), fold)

    assert match("oftc", fold("{ALICE}"))  # rfc1459: {} are []
    assert not match("libera", fold("[alice]"))  # the same nick elsewhere is somebody else
    assert match("libera", "carol")
    assert not match("libera", "~carol")  # the nick carol, not logged in
    assert not match("plain", "dave")  # auto without account tracking: nicks get no rights
    assert match("fedora", "@erin:example.org")
    assert not match("fedora", "@Erin:example.org")  # Matrix IDs are exact
    assert not match("oftc", "@erin:example.org")
    assert not match("console", "carol")
    assert not match("elsewhere", "carol")  # a network this instance does not know
