#!/usr/bin/env bash
# Creates regbench's three databases and its least-privilege roles; safe to run again (it then only
# sets the passwords, which is how they are rotated). Runs as a PostgreSQL superuser: from the
# postgres image's /docker-entrypoint-initdb.d/, or by hand with PGHOST/PGPORT/PGUSER set.
#
#   <p>loader       ingest: owns schemas raw and ops (ledger, rejects, results, releases)
#   <p>transformer  dbt, audit, publish: reads raw, reads and writes ops rows, creates the model
#                   schemas and the releases; owns schema published (what readers see)
#   <p>reader       Superset: may read the views in schema published and nothing else
#   <p>airflow      owns the Airflow metadata database
#   <p>superset     owns the Superset metadata database
# <p> is REGBENCH_ROLE_PREFIX (default regbench_). Every password comes from the environment.
set -euo pipefail

prefix="${REGBENCH_ROLE_PREFIX:-regbench_}"
warehouse_db="${REGBENCH_WAREHOUSE_DB:-regbench}"
airflow_db="${REGBENCH_AIRFLOW_DB:-airflow}"
superset_db="${REGBENCH_SUPERSET_DB:-superset}"

check_password() {  # name value
  local name="$1" value="${2:-}"
  if [ -z "$value" ]; then
    echo "init-regbench: $name is not set; every role's password must come from the environment" \
         "(see .env.example)" >&2
    exit 2
  fi
  case "$value" in
    change-me*|postgres|password|regbench|airflow|superset|admin)
      echo "init-regbench: $name is a default or placeholder password; choose a real one" >&2
      exit 2 ;;
  esac
  if [ "${#value}" -lt 16 ]; then
    echo "init-regbench: $name is shorter than 16 characters" >&2
    exit 2
  fi
}
check_password REGBENCH_LOADER_PASSWORD "${REGBENCH_LOADER_PASSWORD:-}"
check_password REGBENCH_TRANSFORMER_PASSWORD "${REGBENCH_TRANSFORMER_PASSWORD:-}"
check_password REGBENCH_READER_PASSWORD "${REGBENCH_READER_PASSWORD:-}"
check_password AIRFLOW_DB_PASSWORD "${AIRFLOW_DB_PASSWORD:-}"
check_password SUPERSET_DB_PASSWORD "${SUPERSET_DB_PASSWORD:-}"

run_psql() {  # database, then SQL on stdin
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet -d "$1" \
    -v loader="${prefix}loader" -v transformer="${prefix}transformer" -v reader="${prefix}reader" \
    -v airflow="${prefix}airflow" -v superset="${prefix}superset" \
    -v warehouse_db="$warehouse_db" -v airflow_db="$airflow_db" -v superset_db="$superset_db" \
    -v loader_password="$REGBENCH_LOADER_PASSWORD" \
    -v transformer_password="$REGBENCH_TRANSFORMER_PASSWORD" \
    -v reader_password="$REGBENCH_READER_PASSWORD" \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" -v superset_password="$SUPERSET_DB_PASSWORD"
}

run_psql "${POSTGRES_DB:-postgres}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY[:'loader', :'transformer', :'reader',
  :'airflow', :'superset']) AS r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec
ALTER ROLE :"loader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'loader_password';
ALTER ROLE :"transformer" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'transformer_password';
ALTER ROLE :"reader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
ALTER ROLE :"airflow" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_password';
ALTER ROLE :"superset" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'superset_password';
-- the reader may never write, even where a grant would otherwise allow it
ALTER ROLE :"reader" SET default_transaction_read_only = on;

SELECT format('CREATE DATABASE %I', d) FROM unnest(ARRAY[:'warehouse_db']) AS d
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d)
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'airflow_db', :'airflow')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'airflow_db')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'superset_db', :'superset')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'superset_db')
\gexec
REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"superset_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"warehouse_db" TO :"loader", :"transformer", :"reader";
-- dbt creates its own schemas (staging, intermediate, marts, publication, reference) and the
-- release schemas; nobody else may create any
GRANT CREATE, TEMPORARY ON DATABASE :"warehouse_db" TO :"transformer";
SQL

run_psql "$warehouse_db" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS raw AUTHORIZATION :"loader";
CREATE SCHEMA IF NOT EXISTS ops AUTHORIZATION :"loader";
CREATE SCHEMA IF NOT EXISTS published AUTHORIZATION :"transformer";
GRANT USAGE ON SCHEMA raw, ops TO :"transformer";
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader" IN SCHEMA raw GRANT SELECT ON TABLES TO :"transformer";
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader" IN SCHEMA ops
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"transformer";
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO :"transformer";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ops TO :"transformer";
GRANT USAGE ON SCHEMA published TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"transformer" IN SCHEMA published GRANT SELECT ON TABLES TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA published TO :"reader";
SQL

echo "init-regbench: databases $warehouse_db, $airflow_db, $superset_db and roles ${prefix}{loader,transformer,reader,airflow,superset} ready"
