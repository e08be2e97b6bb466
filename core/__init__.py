"""roost.core: small, dependency-free building blocks every layer uses.

Paths of the data directory, atomic and versioned file writes, a process lock, and the one
error type that carries a user-facing, one-line message.
"""
