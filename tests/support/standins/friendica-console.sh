#!/bin/bash
# shellcheck disable=SC2164  # upstream's wrapper, kept as it ships
dir=$(cd "${0%[/\\]*}" > /dev/null; pwd)
php "${dir}/console.php" "$@"
