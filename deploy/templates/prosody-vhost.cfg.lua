-- Written by roost (prosody). Changes here are replaced on the next deploy.
VirtualHost "${domain}"
    ssl = {
        certificate = "${certificate}";
        key = "${key}";
    }
    allow_registration = ${allow_registration}
    registration_invite_only = ${invite_only}
