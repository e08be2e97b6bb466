#!/bin/sh
# Written by roost (prosody). certbot runs this after it renews a certificate: it copies the
# renewed certificate for ${domain} into Prosody's folder and makes Prosody reload it.
# Changes here are replaced on the next deploy.
set -eu
case " $${RENEWED_DOMAINS:-} " in
    *" ${domain} "*) ;;
    *) exit 0 ;;
esac
prosodyctl --root cert import '${domain}' /etc/letsencrypt/live
# prosodyctl keeps the replaced certificate and key as backups: old keys are not kept around.
rm -f -- '${certificate}'.bkp~* '${key}'.bkp~*
