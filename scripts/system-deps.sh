#!/usr/bin/env bash
# Debian packages the integration tests use as independent clients and to build aws-lambda-ric:
# awscli (/usr/bin/aws), lcov, chromium, diff-cover (patch coverage is held to it), openssl (a TLS endpoint's certificate), and the native build tools. Skipped when all are present
# or when we are not root (tests that need a missing tool then skip with a message naming it).
set -uo pipefail
need=()
for pair in /usr/bin/aws:awscli /usr/bin/lcov:lcov /usr/bin/chromium:chromium /usr/bin/diff-cover:diff-cover /usr/bin/openssl:openssl /usr/bin/autoconf:autoconf \
            /usr/bin/automake:automake /usr/bin/libtoolize:libtool /usr/include/x86_64-linux-gnu/curl/curl.h:libcurl4-openssl-dev \
            /usr/bin/cmake:cmake /usr/bin/g++:g++ /usr/bin/make:make; do
  [ -e "${pair%%:*}" ] || need+=("${pair##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]} (not root: install them with apt-get to run every test)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
