"""The use cases both front ends call: connect to a host, deploy and remove a service, read
a host's facts, keep identities. They take the data folder and callbacks (ask to trust a host
key, ask for the sudo password, progress events, a cancel event), never a prompt or a widget:
the CLI prints and the TUI renders from the same calls and the same events.

Layers: core -> catalog -> plan; keys and deploy (neither imports plan) -> app -> tui, cli.
"""
