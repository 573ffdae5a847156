#!/usr/bin/env bash
# Installs Debian packages, and only those that `dpkg -s` reports missing;
# `apt-get update` runs once, and only when something is missing. The list is
# a file of package names, one a line: scripts/system-packages.txt (what the
# tests need) unless another file is named.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < "${1:-$here/system-packages.txt}"
((${#missing[@]} == 0)) && exit 0
echo "installing system packages: ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
