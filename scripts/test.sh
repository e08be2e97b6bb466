#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite: lint, types, tests.
# This is the README's test command and what CI runs. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
export DEBIAN_FRONTEND=noninteractive

echo "== system packages"
# openssh: real sshd for transport tests; tor, wireguard-tools: reference tools for keys;
# strace: the keys security test records the argv of every process roost spawns;
# systemd-container, mmdebstrap: the Debian test host; fenrir: the real screen reader;
# nodejs, npm: ssb-keys and ssb-server as the SSB reference; faketime: the plan and progress
# tests run a second time two years ahead; knot: the authoritative DNS server `roost reach`
# is checked against; miniupnpd-nftables: the home router of the UPnP test.
APT_PACKAGES=(
  openssh-server openssh-client iproute2 procps sudo
  tor wireguard-tools strace
  systemd-container mmdebstrap debian-archive-keyring nftables miniupnpd-nftables
  fenrir espeak-ng
  python3-venv faketime shellcheck knot
)
# Node.js with npm: Debian's packages, unless a node with npm is already there (Debian's npm
# conflicts with the nodejs builds that bundle npm).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
$sudo_ apt-get update -qq
$sudo_ apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null

echo "== python packages"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'

echo "== node packages (reference tools for SSB)"
if [ -f tests/node/package.json ]; then
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi

echo "== lint"
.venv/bin/ruff check .
# Every shell script in the repository; deploy/templates are string.Template sources, shell
# only once roost fills them in.
git ls-files -z -- '*.sh' .ci/run ':!deploy/templates/*' | xargs -0 shellcheck
echo "== types"
./scripts/typecheck.sh

echo "== tests"
# On several workers (pytest-xdist): the deploy tests mostly wait on their test hosts (apt,
# downloads, services starting), so more workers than cores still shortens the run. Each
# worker boots its own test hosts (a numbered slot each, about 2 s); --dist loadgroup keeps
# the tests of one xdist_group (tests/conftest.py) on one worker.
WORKERS="${ROOST_TEST_WORKERS:-4}"
set +e
.venv/bin/python -m pytest -n "$WORKERS" --dist loadgroup --no-loadscope-reorder --durations=0 --durations-min=5 "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi

echo "== plan and progress tests again, with the system clock two years ahead (libfaketime)"
# Every test fixes roost's clock (ROOST_NOW, tests/conftest.py), so none may depend on the
# date it runs. Here the wall clock itself is moved: code or a test that reads it behind the
# clock's back gives a different answer and fails. (Monotonic time moves by the same constant
# offset, which keeps sleeps and timeouts working.)
set +e
faketime -f "+730d" .venv/bin/python -m pytest -n "$WORKERS" -p no:cacheprovider \
  tests/test_plan_answers.py tests/test_plan_cli.py tests/test_plan_planner.py \
  tests/test_progress_store.py tests/test_deploy_progress.py tests/test_plain.py tests/test_tui.py \
  tests/test_clock.py tests/test_reach_checks.py
far_rc=$?
set -e
[ "$far_rc" = 0 ] || { echo "the plan and progress tests fail two years ahead" >&2; [ "$rc" != 0 ] || rc=$far_rc; }

echo "== dependency advisories (pip-audit over the installed set; reports, never fails the run)"
# Uses PyPI's per-release JSON (https://pypi.org/pypi/NAME/VERSION/json). Where that is not
# reachable (a mirror, no network), pip-audit skips every package: say so plainly.
frozen="$(mktemp)"
.venv/bin/python -m pip freeze --exclude-editable > "$frozen" 2>/dev/null || true
audit_rc=0
audit_out="$(timeout 300 .venv/bin/pip-audit -r "$frozen" --no-deps --disable-pip \
  --progress-spinner off 2>&1)" || audit_rc=$?
echo "$audit_out" | grep -v "encouraged to fully hash\|pip-compile" || true
total=$(grep -c '==' "$frozen" || true)
skipped=$(echo "$audit_out" | grep -c 'could not be audited' || true)
if [ "$audit_rc" = 1 ] && [ "$skipped" -lt "$total" ]; then
  echo "pip-audit: KNOWN ADVISORIES above (not failing the run; update the packages named)"
elif [ "$total" -gt 0 ] && [ "$skipped" -ge "$total" ]; then
  echo "pip-audit: NOT AUDITED: PyPI's advisory data was unreachable for all $total packages" \
       "(network or mirror); nothing is known either way"
elif [ "$skipped" -gt 0 ]; then
  echo "pip-audit: $skipped of $total packages could not be audited (see above)"
fi
rm -f "$frozen"
exit "$rc"
