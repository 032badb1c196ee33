#!/usr/bin/env bash
# What `make test` needs from Debian beyond Python: a running local PostgreSQL, Chromium (the
# dashboard browser test) and the OpenSSH server (the SFTP source test starts its own sshd).
# Installs what is missing when it can (root or passwordless sudo); otherwise stops at once
# with the one command to run.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "make test needs the Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (Debian packages the tests need)" >&2
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null \
    || { "${sudo[@]}" apt-get update -q >/dev/null \
         && "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  cluster="$(ls /etc/postgresql | head -1)"
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start 2>/dev/null \
    || sudo -n pg_ctlcluster --skip-systemctl-redirect "$cluster" main start 2>/dev/null \
    || { echo "PostgreSQL is not running on 127.0.0.1:5432: start it with" \
              "pg_ctlcluster $cluster main start" >&2; exit 1; }
fi
