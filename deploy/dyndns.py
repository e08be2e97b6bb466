"""A home address that changes: Debian's `ddclient` keeps a dynamic-DNS name pointed at it.

The recipe installs `ddclient`, writes `/etc/ddclient.conf` (root, 0600: it holds the
provider's token, read from the vault at apply time, so it reaches the host only as file
content), enables the daemon and restarts it through `Restart` when the file changed. Its
health check waits until ddclient's cache says the provider answered `good` (or `nochg`) for
the name. The provider is any that speaks the dyndns2 protocol (Dyn, No-IP, DuckDNS's and
deSEC's dyndns2 endpoints, a FreedomBox...); `check` is where ddclient learns the home's
public address: ddclient's built-in name for a service (`dyndns`: checkip.dyndns.org) or a
URL.

Removing it stops ddclient and deletes the file with the token; the package stays.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy import steps as st
from roost.deploy.recipe import Recipe

RECIPE_ID = "dyndns"
CONF = "/etc/ddclient.conf"
CACHE = "/var/cache/ddclient/ddclient.cache"
UNIT = "ddclient"
HEALTH_TIMEOUT = 90.0
"""Seconds the health check waits for the provider's answer."""
_SERVER = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")
_CHECK = re.compile(r"^([a-z0-9-]{1,40}|https?://[A-Za-z0-9._~:/?&=%+-]{1,300})$")
_TOKEN = re.compile(r"^[!#-&(-\[\]-~]{1,200}$")
"""Printable ASCII without space, quote or backslash: the one quoting ddclient's file has
cannot go wrong with these."""
_LOGIN = re.compile(r"^[A-Za-z0-9._@+-]{1,100}$")

_GOOD = ('[ -f "$2" ] || { echo "no answer from the provider yet"; exit 1; }; '
         'awk -v h="$1" \'$NF == h { n = split($1, kv, ","); for (i = 1; i <= n; i++) { '
         'split(kv[i], p, "="); if (p[1] == "status" || p[1] == "status-ipv4") { '
         'if (p[2] == "good" || p[2] == "nochg") ok = 1; else if (s == "") s = p[2] } } } '
         'END { if (ok) exit 0; if (s == "") print "no answer from the provider yet"; '
         'else print "the provider answered " s; exit 1 }\' "$2"')
"""Healthy when ddclient's cache says the provider took the address for the name (`status`
for the dyndns2 protocol as ddclient 3.10 speaks it, `status-ipv4` for later ones); else one
line saying what it answered."""

CONF_TEXT = """\
# Written by roost (roost host dyndns): keeps ${domain} pointed at this host's address.
# It holds the provider's token: root only. roost replaces this file.
syslog=yes
ssl=${ssl}
use=web, web=${check}
protocol=dyndns2
server=${server}
login=${login}
password='${token}'
${domain}
"""


def check_token(value: str) -> str:
    """A dynamic-DNS token ddclient's file can hold as it is (the vault's login password)."""
    if not _TOKEN.match(value):
        raise RoostError("the dynamic-DNS token has a space, a quote or a backslash, or is "
                         "too long", hint="make a new token at your provider, keep it with "
                                          "`roost keys new login --name dyndns "
                                          "--type-password`, and try again")
    return value


def _render(values: Mapping[str, str], shown: str = "") -> str:
    """The file; the token is checked unless it is `shown`, its reference in a dry run."""
    from roost.deploy.steps import render

    if values["token"] != shown:
        check_token(values["token"])
    return render(CONF_TEXT, values, "ddclient configuration")


_UNINSTALL = (st.DisableService(UNIT), st.RemovePath(CONF), st.RemovePath(CACHE))


def removal() -> Recipe:
    """The recipe `engine.undeploy` stops ddclient with (no token needed)."""
    return Recipe(id=RECIPE_ID, service_id=RECIPE_ID, title="ddclient (dynamic DNS)",
                  steps=(), uninstall=_UNINSTALL)


def build_dyndns(domain: str, server: str, login: str, identity: str,
                 check: str = "dyndns", ssl: bool = True) -> Recipe:
    """ddclient for `domain` at the provider `server` (host[:port], dyndns2), logging in as
    `login` with the password of the vault's login identity `identity`."""
    validate.domain(domain)
    if not _SERVER.match(server):
        raise RoostError(f"{server[:80]!r} is not a provider's server name",
                         hint="give its host name, like members.dyndns.org (or host:port)")
    if not _CHECK.match(check):
        raise RoostError(f"{check[:80]!r} is not a way to learn the home's address",
                         hint="give ddclient's name for one (dyndns) or an http(s) URL")
    if not _LOGIN.match(login):
        raise RoostError(f"{login[:80]!r} is not a dynamic-DNS login",
                         hint="give the user name your provider shows")
    token = st.Secret(identity, "password")
    values: dict[str, str | st.Secret] = {
        "domain": domain, "server": server, "login": login, "check": check,
        "ssl": "yes" if ssl else "no", "token": token}
    return Recipe(
        id=RECIPE_ID, service_id=RECIPE_ID, title="ddclient (dynamic DNS)",
        steps=(
            st.InstallPackages(("ddclient",)),
            st.RenderTemplate(CONF, mode=0o600, owner="root", group="root", values=values,
                           render=functools.partial(_render, shown=token.shown())),
            # ddclient updates only when the address changed: forget its last answer when
            # the file is newer, so a new name or token is tried (and checked) at once.
            st.RunCommand(("rm", "-f", "--", CACHE), unless=("test", CACHE, "-nt", CONF),
                       description="forget ddclient's last answer when its settings changed"),
            st.EnableService(UNIT),
            st.Restart(UNIT, watch=(CONF,)),
        ),
        health=st.WaitHealth(f"the address of {domain} at {server}",
                          argv=tuple(st.script(_GOOD, domain, CACHE)), timeout=HEALTH_TIMEOUT),
        uninstall=_UNINSTALL,
        next_steps=(f"ddclient keeps {domain} pointed at this host's address, checking every "
                    "5 minutes; see it with `journalctl -u ddclient` on the host.",),
    )
