"""Tools for trying and testing the bot: the in-process harness, scripted IRC users and
the demo. Used by the tests and `deployday demo`; never by the running bot."""
