"""A complete answers file (the plan's questions answered) for tests that make a plan."""

from __future__ import annotations

ANSWERS_TOML = '''
uses = ["whatsapp", "gmail"]
hardware = ["pi"]
pi_ram_mb = 1024
pi_arch = "aarch64"
has_domain = true
domain = "example.org"
skill = "some"
pace = "days"
'''
