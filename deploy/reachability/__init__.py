"""Can the people a service is for reach it? The checks behind `roost reach`.

Each check answers one question with a `Check` (model.py): a state in words, one line that
says what was found, and what to do when it needs attention.

- needs.py: what a service needs from outside: the DNS records declared as data in
  deploy/recipes/reach.toml, the ports from its catalog manifest.
- dns.py: those records against what DNS answers (dnspython, at a resolver the person may
  name, so a test points it at its own authoritative server).
- ports.py: each port from another host roost knows, over SSH (a TCP connect run there, the
  address and port passed as data), or from this computer, which proves only the local
  network.
- tls.py: the certificate for the domain: trusted, for the name, days left by roost's clock.
- web.py: Matrix delegation and the fediverse's WebFinger, over HTTPS at the domain.

Nothing here prints or asks; roost.app.reaching puts the checks together for both front ends.
"""
