"""Run the counter recipe in a process of its own (tests/test_engine_real.py kills it
mid-deploy, then resumes). Needs tests/ on PYTHONPATH for support.counter."""

import json
import sys
from pathlib import Path

from support.counter import counter_recipe

from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.events import as_text
from roost.deploy.journal import Journal

cfg = json.loads(sys.argv[1])
if cfg["ssh"]:
    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts
    s = cfg["ssh"]
    t = SSHTransport("testhost", s["host"], user=s["user"], port=s["port"], key_path=s["key"],
                     known_hosts=KnownHosts(Path(s["known"])), trust=s["fp"], allow_agent=False,
                     ssh_config=Path(s["no_config"]))
else:
    from roost.deploy.local import LocalTransport
    t = LocalTransport()
recipe = counter_recipe(cfg["root"], cfg["n"], delay=cfg["delay"])
j = Journal.for_host(cfg["host"], recipe.id, data_dir())
try:
    engine.run(recipe, t, journal=j, resume=True, state_dir=cfg["state"],
               on_event=lambda e: print(as_text(e), flush=True))
except engine.DeployFailed:
    sys.exit(3)
