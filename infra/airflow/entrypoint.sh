#!/usr/bin/env bash
# Entrypoint of every container built from infra/airflow/Dockerfile (api-server, scheduler,
# dag-processor, triggerer, worker, and the one-shot init and provisioning services).
# Refuses production settings with a demo key or a default password, then runs the command.
set -euo pipefail

component="${REGBENCH_COMPONENT:-airflow}"
regbench check-config --for "$component"
exec "$@"
