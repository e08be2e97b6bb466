"""A Tor onion service for a service on a host: the recipe that makes one, and removes it.

From the vault's Tor identity (roost.keys.tor) and Debian's `tor`:

- `/var/lib/tor/roost-SERVICE/` (debian-tor, 02700 as /var/lib/tor itself) holds the
  identity's secret key file (debian-tor, 0600, written from the vault: its bytes reach the
  host only as file content) and public key file; Tor writes the `hostname` file there
  itself, from the key;
- `/etc/tor/torrc.d/roost-SERVICE.conf`, roost's own drop-in: the HiddenServiceDir and one
  HiddenServicePort a TCP port of the service, each to the same port on 127.0.0.1;
- one `%include /etc/tor/torrc.d/*.conf` line in `/etc/tor/torrc` (Debian 12's has none);
- `tor@default` restarted through `Restart` (the one way a changed configuration reaches a
  running service), and a health check: the `hostname` Tor wrote is the identity's address.

Removing it deletes the drop-in and the folder and restarts Tor the same way; the `tor`
package stays (other onion services, or the person's own use, may need it).
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy import steps as st
from roost.deploy.recipe import Recipe
from roost.keys.tor import PUBLIC_HEADER, SECRET_FILE_FIELD

TOR_USER = "debian-tor"
TORRC = "/etc/tor/torrc"
DROPIN_DIR = "/etc/tor/torrc.d"
INCLUDE = f"%include {DROPIN_DIR}/*.conf"
DATA_DIR = "/var/lib/tor"
UNIT = "tor@default"
SECRET_FIELD = SECRET_FILE_FIELD
"""The vault gives Tor's secret key file under this field (roost.keys.tor)."""

_ADD_INCLUDE = ('f=$1; line=$2; grep -qxF -- "$line" "$f" && exit 0; '
                'printf "\\n# Added by roost: its onion services\\n%s\\n" "$line" >> "$f"')


def recipe_id(service_id: str) -> str:
    return f"onion-{service_id}"[:63]


def service_dir(service_id: str) -> str:
    return f"{DATA_DIR}/roost-{service_id}"


def dropin_path(service_id: str) -> str:
    return f"{DROPIN_DIR}/roost-{service_id}.conf"


def torrc_text(service_id: str, ports: Sequence[int]) -> str:
    """roost's drop-in for one service: its HiddenServiceDir and a HiddenServicePort a port."""
    lines = [f"# Written by roost: the onion service of {service_id}. roost replaces it.",
             f"HiddenServiceDir {service_dir(service_id)}"]
    lines += [f"HiddenServicePort {p} 127.0.0.1:{p}" for p in ports]
    return "\n".join(lines) + "\n"


def tcp_ports(ports: Sequence[str]) -> tuple[int, ...]:
    """The TCP port numbers of "5222/tcp"-style ports (an onion service carries TCP only)."""
    out: list[int] = []
    for p in ports:
        number, _, proto = str(p).partition("/")
        if proto == "tcp":
            n = validate.port(number)
            if n not in out:
                out.append(n)
    return tuple(out)


def _uninstall(service_id: str) -> tuple[st.Step, ...]:
    folder, dropin = service_dir(service_id), dropin_path(service_id)
    return (st.RemovePath(dropin), st.RemovePath(folder),
            st.Restart(UNIT, watch=(TORRC, dropin, f"{folder}/{SECRET_FIELD}")))


def onion_removal(service_id: str) -> Recipe:
    """The recipe `engine.undeploy` takes the onion service away with (no key needed)."""
    validate.short_name(service_id, "service")
    return Recipe(id=recipe_id(service_id), service_id=service_id,
                  title=f"the onion service of {service_id}", steps=(),
                  uninstall=_uninstall(service_id))


def build_onion(service_id: str, identity_id: str, onion: str, public_key: bytes,
                ports: Sequence[str]) -> Recipe:
    """The recipe that puts `service_id`'s TCP `ports` behind the onion address `onion` of
    the vault's Tor identity `identity_id` (whose public key is `public_key`)."""
    validate.short_name(service_id, "service")
    if not onion.endswith(".onion") or len(onion) != 62:
        raise RoostError(f"{onion[:80]!r} is not a Tor v3 onion address",
                         hint="make a Tor identity with `roost keys new tor`")
    numbers = tcp_ports(ports)
    if not numbers:
        raise RoostError(f"{service_id} has no TCP port roost knows of for an onion service",
                         hint=f"deploy it again with `roost deploy {service_id} --host NAME` "
                              "so roost notes its ports, then try again")
    folder = service_dir(service_id)
    dropin = dropin_path(service_id)
    key = f"{folder}/{SECRET_FIELD}"
    restart = st.Restart(UNIT, watch=(TORRC, dropin, key))
    steps = (
        st.InstallPackages(("tor",)),
        st.EnsureDir(DROPIN_DIR, 0o755, "root", "root"),
        st.RunCommand(tuple(st.script(_ADD_INCLUDE, TORRC, INCLUDE)),
                   unless=("grep", "-qxF", "--", INCLUDE, TORRC),
                   description=f"include roost's Tor settings from {DROPIN_DIR}"),
        # 02700 as Debian's /var/lib/tor: a folder made in it inherits the setgid bit.
        st.EnsureDir(folder, 0o2700, TOR_USER, TOR_USER),
        st.WriteFile(key, st.Secret(identity_id, SECRET_FIELD, binary=True), 0o600,
                  TOR_USER, TOR_USER),
        st.WriteFile(f"{folder}/hs_ed25519_public_key", PUBLIC_HEADER + public_key, 0o600,
                  TOR_USER, TOR_USER),
        st.WriteFile(dropin, torrc_text(service_id, numbers), 0o644, "root", "root"),
        restart,
    )
    health = st.WaitHealth(f"Tor's onion service for {service_id} has the address {onion}",
                        argv=("grep", "-qxF", "--", onion, f"{folder}/hostname"),
                        timeout=90.0)
    return Recipe(
        id=recipe_id(service_id), service_id=service_id,
        title=f"the onion service of {service_id}", steps=steps, health=health,
        uninstall=_uninstall(service_id),
        next_steps=(f"{service_id} is reachable over Tor at {onion}, from the Tor Browser or "
                    "an app that speaks Tor (Orbot on a phone); nobody needs an open port.",),
    )
