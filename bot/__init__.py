"""deployday core: transports, commands, store and scheduling; knows nothing about incidents."""
