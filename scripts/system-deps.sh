#!/usr/bin/env bash
# Machine packages the test suite needs beyond Node and npm (Debian/Ubuntu):
#   - chromium: the WebSocket client's browser test runs in headless Chromium;
#   - python3: the independent Python peers (examples/python-peer, @ipcez/rpc's JSON-RPC peer);
#   - wine: the Windows lane runs the named-pipe / named-event suites as real Windows code
#     (tooling/win-node/win-node installs and prepares it on first use);
#   - python3 with venv, setuptools, wheel and websockets: the Python binding's tests
#     (bindings/python) install it into a fresh venv offline, and run its WebSocket suite
#     with an interpreter that has the websockets package.
# Installs what is missing with apt-get when this user is root or has password-less sudo;
# otherwise says exactly what to install and exits non-zero.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v wine >/dev/null 2>&1 || missing+=(wine wine64)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
# module:Debian package (ensurepip is what python3-venv adds to Debian's python3)
for pair in ensurepip:python3-venv setuptools:python3-setuptools wheel:python3-wheel websockets:python3-websockets; do
  [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "import ${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" == 0 ]]; then as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n)
else
  echo "The tests need these system packages: ${missing[*]}" >&2
  echo "Install them (e.g. sudo apt-get install -y ${missing[*]}) and run the command again." >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "apt-get not found: install ${missing[*]} yourself" >&2; exit 1; }
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y -q "${missing[@]}" >/tmp/ipcez-apt.log 2>&1; then
  "${as_root[@]}" apt-get update -q >>/tmp/ipcez-apt.log 2>&1 || true
  "${as_root[@]}" apt-get install -y -q "${missing[@]}" >>/tmp/ipcez-apt.log 2>&1 \
    || { tail -n 20 /tmp/ipcez-apt.log >&2; exit 1; }
fi
