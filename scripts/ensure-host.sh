#!/usr/bin/env bash
# Prepares a fresh Debian control machine for `make demo` / `make test`:
# installs the Docker engine, the image-building tools, Node.js (the JupyterLab extension
# is built here) and Chromium (browser tests) from the distribution,
# and starts dockerd when no daemon answers (CI machines have none running).
set -euo pipefail

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
command -v npm >/dev/null 2>&1 || need_pkgs+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
# Screenshots show emoji (the sandbox's 📦) as users' browsers do.
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_pkgs+=(fonts-noto-color-emoji)
# Unit tests of the module kernels run the real Lmod and its spider.
[ -x /usr/share/lmod/lmod/libexec/lmod ] || need_pkgs+=(lmod)
# Unit tests of the sandbox start real ones.
command -v pasta >/dev/null 2>&1 || need_pkgs+=(passt)
if ((${#need_pkgs[@]})); then
  echo "hpclab: installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "hpclab: starting dockerd (log: /var/log/hpclab-dockerd.log)"
  if [ -d /run/systemd/system ]; then
    systemctl start docker
  else
    # No init system here (CI containers): run the daemon detached from this shell.
    setsid nohup dockerd >/var/log/hpclab-dockerd.log 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "hpclab: dockerd did not start" >&2; tail -20 /var/log/hpclab-dockerd.log >&2; exit 1; }
fi
