#!/usr/bin/env bash
# Superset's container entrypoint: refuse weak secrets, upgrade the metadata database, make sure the
# admin and the built-in roles exist, then serve with gunicorn. Safe to run on every start.
set -euo pipefail

# load_docker_secrets and secret_problem (infra/secrets.sh; in the image, /usr/local/lib/regbench)
for lib in "$(dirname "${BASH_SOURCE[0]}")/../secrets.sh" /usr/local/lib/regbench/secrets.sh; do
  if [ -f "$lib" ]; then . "$lib"; break; fi
done
declare -F secret_problem >/dev/null || { echo "infra/secrets.sh not found" >&2; exit 1; }
load_docker_secrets

refuse() { echo "superset-entrypoint: $*" >&2; exit 1; }

why="$(secret_problem "${SUPERSET_SECRET_KEY:-}" 32)"
[ -z "$why" ] || refuse "SUPERSET_SECRET_KEY $why (see .env.example)"
why="$(secret_problem "${REGBENCH_SUPERSET_ADMIN_PASSWORD:-}" 16)"
[ -z "$why" ] || refuse "REGBENCH_SUPERSET_ADMIN_PASSWORD $why (see .env.example)"
admin="${REGBENCH_SUPERSET_ADMIN:-admin}"

superset db upgrade
if superset fab list-users 2>/dev/null | grep -q "username:${admin} "; then
  echo "superset-entrypoint: admin ${admin} exists"
else
  echo "superset-entrypoint: creating admin ${admin}"
  # the password from the environment (Flask's option variable), never on the command line
  FLASK_FAB_CREATE_ADMIN_PASSWORD="$REGBENCH_SUPERSET_ADMIN_PASSWORD" \
    superset fab create-admin --username "$admin" --firstname regbench --lastname admin \
    --email "${admin}@regbench.invalid" </dev/null
fi
superset init

# the server itself never needs the admin's password
unset REGBENCH_SUPERSET_ADMIN_PASSWORD
exec gunicorn --bind "${SUPERSET_BIND:-0.0.0.0:8088}" --workers "${SUPERSET_WORKERS:-2}" \
  --worker-class gthread --threads "${SUPERSET_THREADS:-8}" --timeout 120 --no-control-socket \
  "superset.app:create_app()"
