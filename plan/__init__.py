"""roost.plan: the assessment, the one-service-at-a-time planner and the progress store.

- `answers`: the questions (minus what detection knows) and validated `Answers`.
- `detect`: `HostFacts` of this machine, with pure parsers the deploy layer reuses over SSH.
- `planner`: `build_plan(catalog, answers, progress, today) -> Plan`, pure and deterministic.
- `progress`: the event history (`Event`, `Progress`) and `ProgressStore` (versioned TOML,
  atomic writes, a writers' lock).
- `workspace`: `Workspace`, the one facade the CLI and the TUI use.
"""
