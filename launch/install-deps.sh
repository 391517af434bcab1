#!/usr/bin/env bash
# Installs the system packages Sprig builds against (Debian/Ubuntu): Open MPI, OpenBLAS,
# zlib, and what the scripts use (iproute2 and util-linux for the namespace hosts, procps,
# Python with pip and venv, GNU time for the peak memory in Tests/scripts/scale.sh). Skips
# apt when everything is there already. Retries once: an install can fail the first time
# with a dpkg "cannot stat" error.
set -euo pipefail
PACKAGES=(libopenmpi-dev openmpi-bin libopenblas-dev zlib1g-dev pkg-config iproute2 util-linux procps python3 python3-pip python3-venv time)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv); only ask apt for them when absent.
command -v python3 >/dev/null && missing=("${missing[@]/python3}")
python3 -m pip --version >/dev/null 2>&1 && missing=("${missing[@]/python3-pip}")
python3 -c "import venv, ensurepip" >/dev/null 2>&1 && missing=("${missing[@]/python3-venv}")
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" || $SUDO apt-get install -y -qq "${missing[@]}"
