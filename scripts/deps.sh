#!/usr/bin/env bash
# Installs the Debian packages a make target needs, so that the README's two
# commands do all set-up on a fresh machine:
#   scripts/deps.sh tutorial   build tools, OpenBLAS, EGL/Mesa (all optional for the build)
#   scripts/deps.sh test       the above plus numpy and the Jupyter clients the tests drive
# It installs only what is missing, and only as root (or with password-less
# sudo) on a machine with apt-get; otherwise it lists what is missing and the
# build goes on without it (OpenBLAS, GPU and client tests are then
# unavailable or skipped, each saying why). FURIOUS_NO_APT=1 turns it off.
set -u
target=${1:-tutorial}
pkgs=(gcc libc6-dev make pkg-config libopenblas-dev
  libegl-dev libgl-dev libegl1 libegl-mesa0 libgl1-mesa-dri)
if [ "$target" = test ]; then
  pkgs+=(python3-numpy python3-torch python3-jupyter-client python3-nbclient python3-jsonschema python3-jupyter-kernel-test
    jupyter-nbconvert jupyter-console jupyter-notebook chromium tmux)
fi
command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; install the equivalents of: ${pkgs[*]}"; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ -n "${FURIOUS_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing (not installed: FURIOUS_NO_APT or no apt-get): ${missing[*]}"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "deps: missing, and not root: sudo apt-get install ${missing[*]}"
    exit 0
  fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "deps: apt-get failed; going on without: ${missing[*]}"
exit 0
