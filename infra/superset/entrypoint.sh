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
# Why a secret is unusable, or nothing: the rules of src/regbench/production_check.py (placeholders
# and defaults, a minimum length, at least 28 bits by the same entropy estimate), kept in step with
# it by tests/unit/test_production_check.py. Never prints the value.
secret_problem() {  # value min_length
  local value="$1" min="$2" lower bits
  if [ -z "$value" ]; then echo "is not set"; return; fi
  lower="$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')"
  case "$lower" in
    postgres|password|admin|secret|regbench|airflow|superset|root|changeme|letmein|default)
      echo "is a placeholder or a default"; return ;;
  esac
  if printf '%s' "$value" | grep -qiE \
      'change[-_ ]?(me|it|this)|replace[-_ ]?(me|this)|placeholder|example|your[-_ ]|<[^>]*>|x{4,}|todo|fixme|password'; then
    echo "is a placeholder or a default"; return
  fi
  if [ "${#value}" -lt "$min" ]; then echo "is too short (at least $min characters)"; return; fi
  # the shortest unit the value repeats, times the Shannon entropy of its characters
  bits="$(printf '%s' "$value" | LC_ALL=C awk '{
    s = $0; n = length(s)
    for (p = 1; p <= n; p++) {
      ok = 1
      for (i = p + 1; i <= n; i++) if (substr(s, i, 1) != substr(s, i - p, 1)) { ok = 0; break }
      if (ok) break
    }
    for (i = 1; i <= p; i++) cnt[substr(s, i, 1)]++
    h = 0; for (c in cnt) { q = cnt[c] / p; h -= q * log(q) / log(2) }
    printf "%d\n", p * h
  }')"
  if [ "$bits" -lt 28 ]; then echo "has too little entropy (repeated or too few different characters)"; fi
}

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
