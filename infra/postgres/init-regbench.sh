#!/usr/bin/env bash
# Creates regbench's three databases and its least-privilege roles; safe to run again (it then only
# sets the passwords, which is how they are rotated, and migrates an older layout). Runs as a
# PostgreSQL superuser: from the postgres image's /docker-entrypoint-initdb.d/, or by hand with
# PGHOST/PGPORT/PGUSER set. Then `regbench warehouse-setup` creates the tables (docs/operations.md).
#
#   <p>owner        NOLOGIN, no members: owns schemas raw, ops and published and everything in
#                   them. Nobody logs in as it or acts as it, so nobody can attach code (triggers,
#                   rules, defaults, functions) to what another role reads or writes.
#   <p>loader       ingest: reads and writes the rows of raw and of the ops tables ingest keeps
#                   (ledger, rejects, results, opt-outs, notices, raw changes); creates nothing
#   <p>transformer  dbt, audit, publish: reads raw, reads and writes the rows of every ops table;
#                   creates (and so owns) only the schemas it builds: dbt's and the releases
#   <p>reader       Superset: may read the views in schema published and nothing else
#   <p>airflow      owns the Airflow metadata database
#   <p>superset     owns the Superset metadata database
# <p> is REGBENCH_ROLE_PREFIX (default regbench_). Every password comes from the environment.
set -euo pipefail

prefix="${REGBENCH_ROLE_PREFIX:-regbench_}"
warehouse_db="${REGBENCH_WAREHOUSE_DB:-regbench}"
airflow_db="${REGBENCH_AIRFLOW_DB:-airflow}"
superset_db="${REGBENCH_SUPERSET_DB:-superset}"

# Docker secrets: NAME_FILE names a file holding NAME (as the postgres image does for its own)
for name in REGBENCH_LOADER_PASSWORD REGBENCH_TRANSFORMER_PASSWORD REGBENCH_READER_PASSWORD \
            AIRFLOW_DB_PASSWORD SUPERSET_DB_PASSWORD; do
  file_var="${name}_FILE"
  if [ -n "${!file_var:-}" ]; then
    if [ -n "${!name:-}" ]; then
      echo "init-regbench: both $name and $file_var are set; set only one" >&2
      exit 2
    fi
    value="$(cat "${!file_var}")"
    export "$name=$value"
  fi
done

# load_docker_secrets and secret_problem (infra/secrets.sh; in the image, /usr/local/lib/regbench)
for lib in "$(dirname "${BASH_SOURCE[0]}")/../secrets.sh" /usr/local/lib/regbench/secrets.sh; do
  if [ -f "$lib" ]; then . "$lib"; break; fi
done
declare -F secret_problem >/dev/null || { echo "infra/secrets.sh not found" >&2; exit 1; }

check_password() {  # name value
  local why
  why="$(secret_problem "${2:-}" 16)"
  if [ -n "$why" ]; then
    echo "init-regbench: $1 $why; every role's password comes from the environment (see" \
         ".env.example; generate one with e.g. \`openssl rand -base64 32\`)" >&2
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
    -v owner="${prefix}owner" \
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
SELECT format('CREATE ROLE %I NOLOGIN', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner')
\gexec
ALTER ROLE :"owner" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD NULL;
-- nobody may act as the owner: a member could SET ROLE to it and attach code to its tables
SELECT format('REVOKE %I FROM %I', :'owner', m.rolname) FROM pg_auth_members a
  JOIN pg_roles m ON m.oid = a.member WHERE a.roleid = (SELECT oid FROM pg_roles WHERE rolname = :'owner')
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
REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC, :"loader", :"reader";
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"superset_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"warehouse_db" TO :"loader", :"transformer", :"reader";
-- dbt creates its own schemas (staging, intermediate, marts, publication, reference) and publish
-- the release schemas; nobody else may create any
GRANT CREATE, TEMPORARY ON DATABASE :"warehouse_db" TO :"transformer";
SQL

run_psql "$warehouse_db" <<'SQL'
-- DO blocks cannot see psql variables: hand them the owner's name as a setting
SELECT set_config('regbench.owner', :'owner', false);
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM :"loader", :"transformer", :"reader";

-- An older layout let the loader own raw and ops (and so attach code to them). Before the owner
-- takes them over, refuse to go on if anything is attached that regbench never creates.
DO $check$
DECLARE
  found text;
BEGIN
  SELECT string_agg(what, '; ' ORDER BY what) INTO found FROM (
    SELECT format('trigger %I on %I.%I', t.tgname, n.nspname, c.relname) AS what
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND n.nspname IN ('raw', 'ops', 'published')
    UNION ALL
    SELECT format('rule %I on %I.%I', r.rulename, n.nspname, c.relname)
      FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE r.rulename <> '_RETURN' AND n.nspname IN ('raw', 'ops', 'published')
    UNION ALL
    SELECT format('policy %I on %I.%I', p.polname, n.nspname, c.relname)
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('raw', 'ops', 'published')
    UNION ALL
    SELECT format('view %I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND n.nspname IN ('raw', 'ops')
    UNION ALL
    SELECT format('function %s owned by %I', p.oid::regprocedure, pg_get_userbyid(p.proowner))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname IN ('raw', 'ops', 'published', 'public')
       AND pg_get_userbyid(p.proowner) <> current_setting('regbench.owner')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                       AND d.objid = p.oid AND d.deptype = 'e')
  ) planted;
  IF found IS NOT NULL THEN
    RAISE EXCEPTION 'init-regbench: found what regbench never creates in its shared schemas: %', found
      USING HINT = 'A login role may have planted it to run code as another role. Inspect it, drop '
                   'it, and run init-regbench.sh again.';
  END IF;
END
$check$;

CREATE SCHEMA IF NOT EXISTS raw AUTHORIZATION :"owner";
CREATE SCHEMA IF NOT EXISTS ops AUTHORIZATION :"owner";
CREATE SCHEMA IF NOT EXISTS published AUTHORIZATION :"owner";
ALTER SCHEMA raw OWNER TO :"owner";
ALTER SCHEMA ops OWNER TO :"owner";
ALTER SCHEMA published OWNER TO :"owner";
REVOKE ALL ON SCHEMA raw, ops, published FROM PUBLIC, :"loader", :"transformer", :"reader";
GRANT USAGE ON SCHEMA raw, ops TO :"loader", :"transformer";
GRANT USAGE ON SCHEMA published TO :"reader";

-- the views in published belong to the owner and read the transformer's release schemas
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', nspname, :'owner') FROM pg_namespace
  WHERE nspname LIKE 'release\_%'
\gexec
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', nspname, :'owner') FROM pg_namespace
  WHERE nspname LIKE 'release\_%'
\gexec
-- an existing database: everything in the shared schemas passes to the owner (indexes follow)
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, :'owner')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('raw', 'ops', 'published') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND pg_get_userbyid(c.relowner) <> :'owner'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
\gexec
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader" IN SCHEMA raw, ops REVOKE ALL ON TABLES FROM :"transformer";
ALTER DEFAULT PRIVILEGES FOR ROLE :"transformer" IN SCHEMA published REVOKE ALL ON TABLES FROM :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA published GRANT SELECT ON TABLES TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA published TO :"reader";

-- Row privileges on every table of raw and ops, and nothing more. `regbench warehouse-setup` calls
-- it again (as the owner) after it has created tables.
CREATE OR REPLACE FUNCTION ops.regbench_grant_privileges() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  loader text := current_setting('regbench.loader');
  transformer text := current_setting('regbench.transformer');
  reader text := current_setting('regbench.reader');
  t record;
BEGIN
  FOR t IN SELECT n.nspname AS s, c.relname AS r FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('raw', 'ops') AND c.relkind IN ('r', 'p') LOOP
    EXECUTE format('REVOKE ALL ON TABLE %I.%I FROM PUBLIC, %I, %I, %I', t.s, t.r, loader, transformer,
                   reader);
    IF t.s = 'raw' THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I.%I TO %I', t.s, t.r, loader);
      EXECUTE format('GRANT SELECT ON TABLE %I.%I TO %I', t.s, t.r, transformer);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I.%I TO %I', t.s, t.r, transformer);
      -- the loader writes what ingest keeps; never releases or the publish log, whose values
      -- publish turns into schema names
      IF t.r IN ('ledger', 'rejects', 'dq_results', 'optouts', 'optout_log', 'inbox_notices',
                 'raw_changes') THEN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I.%I TO %I', t.s, t.r, loader);
      ELSIF t.r = 'schema_version' THEN
        EXECUTE format('GRANT SELECT ON TABLE %I.%I TO %I', t.s, t.r, loader);
      END IF;
    END IF;
  END LOOP;
END
$fn$;
ALTER FUNCTION ops.regbench_grant_privileges() SET regbench.loader = :'loader';
ALTER FUNCTION ops.regbench_grant_privileges() SET regbench.transformer = :'transformer';
ALTER FUNCTION ops.regbench_grant_privileges() SET regbench.reader = :'reader';
ALTER FUNCTION ops.regbench_grant_privileges() OWNER TO :"owner";
REVOKE ALL ON FUNCTION ops.regbench_grant_privileges() FROM PUBLIC;

-- Publish: point the views of published at a release in one statement, as the owner. Only the
-- caller's own release schema can be named, and only tables in it.
CREATE OR REPLACE FUNCTION ops.switch_published(release_id text, tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  release_schema text := 'release_' || lower(release_id);
  v record;
  t text;
BEGIN
  IF release_id !~ '^[0-9]{8}T[0-9]{6}(_[0-9]{3})?$' THEN
    RAISE EXCEPTION 'switch_published: % is not a release id', release_id;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = release_schema
                 AND pg_get_userbyid(nspowner) = session_user) THEN
    RAISE EXCEPTION 'switch_published: % is not a release schema of %', release_schema, session_user;
  END IF;
  IF coalesce(cardinality(tables), 0) = 0 THEN
    RAISE EXCEPTION 'switch_published: no tables';
  END IF;
  FOREACH t IN ARRAY tables LOOP
    IF t !~ '^[a-z_][a-z0-9_]*$' OR NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = release_schema AND c.relname = t AND c.relkind = 'r'
           AND pg_get_userbyid(c.relowner) = session_user) THEN
      RAISE EXCEPTION 'switch_published: % has no table %', release_schema, t;
    END IF;
  END LOOP;
  FOR v IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'published' AND c.relkind = 'v' LOOP
    EXECUTE format('DROP VIEW published.%I', v.relname);
  END LOOP;
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('CREATE VIEW published.%I AS SELECT * FROM %I.%I', t, release_schema, t);
  END LOOP;
END
$fn$;
ALTER FUNCTION ops.switch_published(text, text[]) OWNER TO :"owner";
REVOKE ALL ON FUNCTION ops.switch_published(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.switch_published(text, text[]) TO :"transformer";

SELECT ops.regbench_grant_privileges();
SQL

echo "init-regbench: databases $warehouse_db, $airflow_db, $superset_db and roles ${prefix}{owner,loader,transformer,reader,airflow,superset} ready;" \
     "now run \`regbench warehouse-setup\` to create or migrate the tables"
