"""Shared test setup that test modules import (fixtures live in tests/conftest.py)."""
