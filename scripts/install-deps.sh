#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need. Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  meson ninja-build pkg-config g++ clang clang-format libclang-rt-14-dev
  libsystemd-dev libseccomp-dev libinih-dev libgtest-dev libgmock-dev googletest
  libphp8.2-embed php8.2-dev php8.2-cli
  systemd  # systemd.pc: where units/ installs the unit files (systemdsystemunitdir)
  # tests and demo: real front ends and peers
  nginx-light libfcgi-bin php8.2-fpm curl python3 dbus systemd-container
  apache2 caddy  # other front ends (tests/integration/test_frontends.py)
  python3-prometheus-client  # OpenMetrics parser for the status page tests
  mandoc  # man page lint (tests/man)
  dpkg-dev debhelper lintian logrotate  # the Debian package (tests/packaging: build, lint, install)
  wrk python3-matplotlib  # benchmark (bench/bench.py): load generator, plot of the ratios
  uwsgi-core uwsgi-plugin-php  # benchmark: uWSGI with its PHP plugin as a second peer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

# Never start services (nginx, php-fpm, apache2, caddy) as a side effect of installing them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
