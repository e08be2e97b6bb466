#!/bin/sh
# Unpack an uploaded release tar.gz (roost.deploy.recipes.upstream.InstallArtifact), run as
# `sh -c` with $1 the uploaded file, $2 its sha256, $3 the release folder, $4 the `current`
# link, $5 the binary inside the release.
t=$1; s=$2; d=$3; c=$4; b=$5
g=$(sha256sum "$t" | cut -d' ' -f1)
[ "$g" = "$s" ] || {
  echo "${t##*/} has sha256 $g, expected $s; it was deleted and nothing was installed" >&2
  rm -f "$t"; exit 4; }
# When a command of the chain fails the script ends (the || is meant for each of them).
# shellcheck disable=SC2015
rm -rf "$d.roost-tmp" && mkdir -p "$d.roost-tmp" \
  && tar -xzf "$t" -C "$d.roost-tmp" --no-same-owner --no-same-permissions \
  && [ -f "$d.roost-tmp/$b" ] || { echo "the release has no $b" >&2; rm -rf "$d.roost-tmp"; exit 5; }
chmod 0755 "$d.roost-tmp/$b" && chmod -R go-w "$d.roost-tmp" \
  && rm -rf "$d" && mv "$d.roost-tmp" "$d" && rm -f "$t" \
  && ln -sfn "$d" "$c.roost-tmp" && mv -T "$c.roost-tmp" "$c"
