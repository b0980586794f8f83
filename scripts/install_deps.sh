#!/usr/bin/env bash
# Installs the Debian packages cuttle builds with. Idempotent: does nothing when all are present.
set -euo pipefail
packages=(g++ cmake ninja-build ccache libeigen3-dev libstb-dev nlohmann-json3-dev doctest-dev libcli11-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all build dependencies present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
