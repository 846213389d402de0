#!/usr/bin/env bash
# Installs the Debian 12 packages wa-router needs, only those that are missing.
# Idempotent and silent when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format file dpkg-dev
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libhiredis-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libsystemd-dev prometheus-cpp-dev
  libhowardhinnant-date-dev  # date/tz: time zones of the sending hours (pacing)
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools jq curl php-cli php-redis
  php-laravel-framework php-predis  # examples/laravel's test: Laravel 8.83 with phpredis and predis
  chromium  # tests/browser: the status page rendered by headless Chromium
)
if [[ "${WA_DEPS_SANITIZE:-0}" == 1 ]]; then PACKAGES+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# redis-server's maintainer script tries to start the system service; that is harmless, but we
# never rely on it: tests and the demo start their own private server.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
