"""roost: leave the big platforms one service at a time."""

__version__ = "0.1.0"
