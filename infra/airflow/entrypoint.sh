#!/usr/bin/env bash
# Entrypoint of every container built from infra/airflow/Dockerfile (api-server, scheduler,
# dag-processor, triggerer, worker, and the one-shot set-up, init and provisioning services).
# Reads the Docker secrets this service was given (docker-compose.yml: each service gets only its
# own), refuses production settings with a demo key, a placeholder or a weak secret, then runs the
# command.
set -euo pipefail

# /run/secrets/<name> becomes the environment variable <NAME> (regbench_pseudonym_key ->
# REGBENCH_PSEUDONYM_KEY); a variable already set is not overridden
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
# Celery keeps its results in Airflow's metadata database
if [ -z "${AIRFLOW__CELERY__RESULT_BACKEND:-}" ] && [ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  export AIRFLOW__CELERY__RESULT_BACKEND="db+${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}"
fi

component="${REGBENCH_COMPONENT:-airflow}"
regbench check-config --for "$component"
exec "$@"
