#!/usr/bin/env bash
# Entrypoint of every container built from infra/airflow/Dockerfile (api-server, scheduler,
# dag-processor, triggerer, worker, and the one-shot set-up, init and provisioning services).
# Reads the Docker secrets this service was given (docker-compose.yml: each service gets only its
# own), refuses production settings with a demo key, a placeholder or a weak secret, then runs the
# command.
set -euo pipefail

# load_docker_secrets and secret_problem (infra/secrets.sh; in the image, /usr/local/lib/regbench)
for lib in "$(dirname "${BASH_SOURCE[0]}")/../secrets.sh" /usr/local/lib/regbench/secrets.sh; do
  if [ -f "$lib" ]; then . "$lib"; break; fi
done
declare -F secret_problem >/dev/null || { echo "infra/secrets.sh not found" >&2; exit 1; }
load_docker_secrets
# Celery keeps its results in Airflow's metadata database
if [ -z "${AIRFLOW__CELERY__RESULT_BACKEND:-}" ] && [ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  export AIRFLOW__CELERY__RESULT_BACKEND="db+${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}"
fi

component="${REGBENCH_COMPONENT:-airflow}"
regbench check-config --for "$component"
exec "$@"
