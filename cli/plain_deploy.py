"""Plain mode's Deploy, as the full-screen Deploy screen: choose the host, answer the
service's options one by one (each with its meaning and default, the data `roost deploy ID
--help` shows, checked as it is typed), then a line a step; a deploy that stops can be
continued (finished steps are not redone). At the end: the health check, what to do next,
the plan noted, and for a service others reach, the reach checks.

The deploy is the use case of roost.app.deploying that the screen and `roost deploy` run. On
first contact with the host its key's fingerprint is said and the person answers (the same
question as Add a host); the vault passphrase and the sudo password are asked without echo,
only when a step needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roost.core.errors import RoostError

if TYPE_CHECKING:
    from roost.cli.plain import Plain
    from roost.deploy.hosts import Host
    from roost.deploy.options import Option


def deploy(p: Plain, service_id: str) -> None:
    from roost.app.hosts import host_store
    from roost.deploy.not_installed import explain
    from roost.deploy.recipes import RECIPES

    svc = p.ws.catalog.get(service_id)
    if svc is None or not svc.recipe:
        if svc is not None and svc.install is not None:
            p.say(explain(svc, p.ws.catalog, RECIPES, in_app=True).line())
        else:
            p.say(f"roost cannot set up {svc.name if svc else service_id} by itself yet: "
                  "follow the suggested way and mark it done.")
        return
    hosts = host_store(p.ws.home).all()
    picked = p.choose(f"Deploy {svc.name}: on which host?", [h.describe() for h in hosts])
    if picked is None:
        return
    host = hosts[picked]
    options = ask_options(p, svc.recipe)
    if options is None:
        return
    run(p, service_id, svc.recipe, host, options)


def ask_options(p: Plain, recipe_id: str) -> dict[str, str] | None:
    """Each declared option: its meaning and default said, the value asked and checked by the
    option's own validator (a refusal said, the question asked again); Enter keeps the
    default. None when the person goes back (0)."""
    from roost.deploy.options import fields

    try:
        declared = fields(recipe_id)
    except RoostError:  # a recipe that declares no options
        declared = ()
    out: dict[str, str] = {}
    for n, o in enumerate(declared, start=1):
        p.say()
        p.say(f"Option {n} of {len(declared)}: {note(o)}")
        value = p.ask_checked(o.label if o.required
                              else f"{o.label}, Enter: {o.default_text()}",
                              lambda raw, o=o: checked(o, raw))  # type: ignore[misc]
        if value is None:
            return None
        if value:
            out[o.name] = value
    return out


def note(o: Option) -> str:
    """What the option is for and what an empty answer means (as the screen's field note)."""
    choices = f" One of: {', '.join(o.values)}." if o.values else ""
    meaning = o.meaning[:1].upper() + o.meaning[1:]
    if o.required:
        return f"{o.label}: {meaning}.{choices} Required."
    return f"{o.label}: {meaning}.{choices} Default: {o.default_text()}."


def checked(o: Option, raw: str) -> str:
    """The value as typed once the option's validator accepts it ("" keeps the default)."""
    value = raw.strip()
    if value:
        o.check(value)
    elif o.required:
        raise RoostError(f"{o.name} has no default", hint="type a value for it")
    return value


def run(p: Plain, service_id: str, recipe_id: str, host: Host, options: dict[str, str]) -> None:
    """The deploy, a line a step; stopped, it can be continued from the step that stopped."""
    from roost.app.deploying import Deployment, refuse_unless_installable, text_of
    from roost.cli.deploy_cmd import ask_sudo_password
    from roost.deploy.engine import DeployFailed
    from roost.deploy.events import Output
    from roost.keys.vault import passphrase_from_env_or_prompt

    def show(e: Any) -> None:
        if not isinstance(e, Output):
            p.say(text_of(e))

    try:
        refuse_unless_installable(recipe_id, host)
        d = Deployment(recipe_id, host, p.ws.home, options, on_event=show,
                       passphrase=passphrase_from_env_or_prompt, ask_trust=p.trust_asked,
                       sudo_password=lambda: ask_sudo_password(host))
    except RoostError as exc:
        p.say(exc.line())
        return
    p.say(f"Deploying {service_id} to {host.name}; one line a step. Ctrl+C stops it; "
          "deploying again continues where it stopped.")
    while True:
        try:
            result = d.run()
            break
        except DeployFailed as exc:
            where = (f" at step {exc.event.index} of {exc.event.total}"
                     if exc.event is not None else "")
            p.say(f"The deploy stopped{where}: {exc.line()}")
        except RoostError as exc:
            p.say(exc.line())
            return
        if p.choose("Continue it? Finished steps are not done again.",
                    ["Continue the deploy"]) != 0:
            return
    for line in d.notes(result, workspace=p.ws, service_id=service_id):
        p.say(line)
    reach(p, service_id, d)


def reach(p: Plain, service_id: str, d: Any) -> None:
    """For a service others must reach: each reach check from this computer as a line, as
    after `roost deploy`."""
    from roost.app.reaching import after_deploy, reached_from_outside

    if not reached_from_outside(service_id):
        return
    p.say("Can others reach it? Checking DNS, the ports and the certificate:")
    domain = d.recipe.domain if d.recipe is not None else ""
    p.tell(lambda: after_deploy(service_id, d.host, d.home, domain,
                                on_check=lambda c: p.say(c.line())))
