-- Written by roost (prosody). Changes here are replaced on the next deploy.
VirtualHost "${domain}"
    ssl = {
        certificate = "${certificate}";
        key = "${key}";
    }
