#!/bin/sh
# Get a certificate from an ACME server with certbot (roost.deploy.recipes.prosody), run as
# `sh -c` with $1 the domain, $2 the ACME account's e-mail, $3 the ACME directory URL, $4 a CA
# bundle the ACME server's certificate is checked against ("" = the system's).
d=$1; e=$2; s=$3; b=$4
[ -z "$b" ] || export REQUESTS_CA_BUNDLE="$b"
if [ -z "$(ss -Hltn "sport = :80")" ]; then
  how=--standalone
elif systemctl is-active --quiet nginx; then
  how=--nginx
  dpkg -s python3-certbot-nginx >/dev/null 2>&1 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-certbot-nginx || exit 1
else
  p=$(ss -Hltnp "sport = :80" | grep -o '(("[^"]*"' | head -n 1 | tr -d '("')
  echo "port 80 is used by ${p:-another program}, not nginx: certbot cannot answer the challenge there"
  exit 1
fi
certbot certonly --non-interactive --agree-tos --no-eff-email --email "$e" \
  --server "$s" --cert-name "$d" -d "$d" --keep-until-expiring "$how" 2>&1
