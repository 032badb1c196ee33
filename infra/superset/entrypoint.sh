#!/usr/bin/env bash
# Superset's container entrypoint: refuse weak secrets, upgrade the metadata database, make sure the
# admin and the built-in roles exist, then serve with gunicorn. Safe to run on every start.
set -euo pipefail

# the Docker secrets this service was given: /run/secrets/<name> -> <NAME> (docker-compose.yml)
secrets_dir="${REGBENCH_SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
  for file in "$secrets_dir"/*; do
    [ -f "$file" ] || continue
    name="$(basename "$file" | tr '[:lower:]' '[:upper:]')"
    case "$name" in ''|[0-9]*|*[!A-Z0-9_]*) continue ;; esac
    [ -z "${!name:-}" ] || continue
    value="$(cat "$file")"
    export "$name=$value"
  done
fi

refuse() { echo "superset-entrypoint: $*" >&2; exit 1; }
secret="${SUPERSET_SECRET_KEY:-}"
[ -n "$secret" ] || refuse "SUPERSET_SECRET_KEY is not set (see .env.example)"
[ "${#secret}" -ge 32 ] || refuse "SUPERSET_SECRET_KEY is shorter than 32 characters"
case "$secret" in *CHANGE_ME*|*change-me*|thisISaSECRET_1234|"\\2dEDSsMsS") refuse "SUPERSET_SECRET_KEY is a placeholder";; esac
admin_password="${REGBENCH_SUPERSET_ADMIN_PASSWORD:-}"
[ "${#admin_password}" -ge 16 ] || refuse "REGBENCH_SUPERSET_ADMIN_PASSWORD is missing or shorter than 16 characters"
admin="${REGBENCH_SUPERSET_ADMIN:-admin}"

superset db upgrade
if superset fab list-users 2>/dev/null | grep -q "username:${admin} "; then
  echo "superset-entrypoint: admin ${admin} exists"
else
  echo "superset-entrypoint: creating admin ${admin}"
  superset fab create-admin --username "$admin" --firstname regbench --lastname admin \
    --email "${admin}@regbench.invalid" --password "$admin_password"
fi
superset init

exec gunicorn --bind "${SUPERSET_BIND:-0.0.0.0:8088}" --workers "${SUPERSET_WORKERS:-2}" \
  --worker-class gthread --threads "${SUPERSET_THREADS:-8}" --timeout 120 --no-control-socket \
  "superset.app:create_app()"
