"""`regbench warehouse-setup`: create or migrate the tables of the shared schemas as their owner.

On PostgreSQL, `infra/postgres/init-regbench.sh` makes the roles and gives the schemas raw, ops and
published to a NOLOGIN owner role that no login role can act as (docs/decisions/0020). Only the
owner may create or alter tables there, so the tables (the ops tables, one raw table per contract
entity) are created here, over an administrator's connection (a superuser, or a member of the
owner role) that switches to the owner for the DDL; then every table gets exactly its row
privileges. Run it after the init script, after adding a registry, and after an upgrade; it is
safe to run again. On DuckDB there are no roles and it only creates the ops tables.
"""

from __future__ import annotations

from dataclasses import replace

from regbench.config import Settings
from regbench.contracts import load_contracts
from regbench.warehouse import Warehouse


class SetupError(RuntimeError):
    pass


def setup(settings: Settings, admin_dsn: str | None = None) -> dict:
    contracts = load_contracts(settings.contracts_dir)
    if settings.warehouse != "postgres":
        with Warehouse(settings) as wh:
            wh.ensure_ops()
        return {"warehouse": "duckdb", "raw_tables": 0}
    if not admin_dsn:
        raise SetupError("REGBENCH_ADMIN_DSN is not set: warehouse-setup connects as a PostgreSQL "
                         "superuser (or a member of the schemas' owner role) to create the tables")
    with Warehouse(replace(settings, postgres_dsn=admin_dsn)) as wh:
        row = wh.fetchone("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'ops'")
        ready = wh.fetchone("SELECT to_regprocedure('ops.regbench_grant_privileges()') IS NOT NULL")
        if row is None or not ready or not ready[0]:
            raise SetupError("the schemas and roles are not there: run infra/postgres/init-regbench.sh "
                             "(as a superuser) first")
        owner = row[0]
        wh.execute(f'SET ROLE "{owner}"')
        try:
            wh.ensure_ops()
            tables = [wh.ensure_raw_table(contract, entity)
                      for contract in contracts.values() for entity in contract.entities
                      if entity.role != "optouts"]
            wh.execute("SELECT ops.regbench_grant_privileges()")
        finally:
            wh.execute("RESET ROLE")
    return {"warehouse": "postgres", "owner": owner, "raw_tables": len(tables)}
