# Shared by the entrypoints of infra/airflow and infra/superset and by infra/postgres/init-regbench.sh
# (sourced; in the images it is /usr/local/lib/regbench/secrets.sh).

# The Docker secrets a service was given (docker-compose.yml: each service gets only its own):
# /run/secrets/<name> becomes the environment variable <NAME> (regbench_pseudonym_key ->
# REGBENCH_PSEUDONYM_KEY); a variable already set is not overridden.
load_docker_secrets() {
  local secrets_dir="${REGBENCH_SECRETS_DIR:-/run/secrets}" file name value
  [ -d "$secrets_dir" ] || return 0
  for file in "$secrets_dir"/*; do
    [ -f "$file" ] || continue
    name="$(basename "$file" | tr '[:lower:]' '[:upper:]')"
    case "$name" in ''|[0-9]*|*[!A-Z0-9_]*) continue ;; esac
    [ -z "${!name:-}" ] || continue
    value="$(cat "$file")"
    export "$name=$value"
  done
}

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
