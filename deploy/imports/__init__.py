"""Bringing a platform's archive to the person's own services (`roost import KIND ARCHIVE`).

Each archive kind has a pure parser here (a file in, items out, streamed: one message or post
in memory at a time), and each target a writer that puts the items on the host over the one
transport. Archives come from outside: every parser treats its input as hostile and refuses
what it cannot read soundly with one RoostError line, before anything is written.
"""
