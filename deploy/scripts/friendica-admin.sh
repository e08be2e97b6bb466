#!/bin/sh
# Make Friendica's admin account (roost.deploy.recipes.friendica), run as `sh -c` with
# $1 the Friendica folder, $2 the nickname, $3 the name, $4 the e-mail, $5 the marker written
# when done; the password is the first line of standard input (never in argv).
a=$1; n=$2; name=$3; e=$4; m=$5
IFS= read -r pw || exit 3
tab=$(printf '\t')
case $pw in
  "" | -* | *" "* | *"$tab"* | *"*"* | *"?"* | *"["*)
    echo "the admin password has a space, * ? [ or a leading -," \
      "which Friendica's prompt would change" >&2
    exit 6;;
esac
runuser -u www-data -- env -C "$a" FRIENDICA_CONFIG_DIR=/etc/friendica \
  php bin/console.php user add "$name" "$n" "$e" en </dev/null >/dev/null \
  || echo "user add did not finish (the account may exist already); setting its password" >&2
printf '%s\n' "$pw" | runuser -u www-data -- env -C "$a" FRIENDICA_CONFIG_DIR=/etc/friendica \
  php bin/console.php user password "$n" >/dev/null || exit 7
touch "$m"
