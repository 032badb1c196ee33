"""The `regbench` command: thin over the package; every command says where its output went."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from regbench.config import get_settings

app = typer.Typer(help="regbench: nightly pipeline and benchmarks for Swedish quality registries.",
                  no_args_is_help=True, add_completion=False)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Files that could not be loaded.", no_args_is_help=True)
dashboards_app = typer.Typer(help="Superset dashboards as code (superset/).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(quarantine_app, name="quarantine")
publish_app = typer.Typer(help="What readers see: the live release, and rolling it back.",
                          no_args_is_help=True)
app.add_typer(publish_app, name="publish")
registry_app = typer.Typer(help="Registries: add a new one from a sample export.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
console = Console()


@app.command()
def run(
    demo_scale: float = typer.Option(1.0, help="Scale of the demo exports generated if the inbox is empty."),
) -> None:
    """Run the nightly pipeline through Airflow (`airflow dags test`) and print a summary. One run
    at a time: a second exits at once, naming the first. Each run's logs: var/logs/runs/<start>/."""
    from datetime import datetime

    from regbench import pipeline
    from regbench.run_lock import RunLocked, run_lock
    from regbench.summary import collect, render

    settings = get_settings()
    try:
        with run_lock(settings, "regbench run") as describe:
            log_dir = pipeline.run_log_dir(settings, datetime.now().replace(microsecond=0))
            describe(logs=log_dir)
            if settings.demo_mode:
                pipeline.ensure_demo_exports(settings, console, scale=demo_scale)
            result = pipeline.run_nightly(settings, console, log_dir)
    except RunLocked as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    render(console, settings, collect(settings, result.started_at), result.seconds,
           result.succeeded)
    if not result.succeeded:
        failed = ", ".join(o.dag_id for o in result.outcomes if not o.succeeded)
        console.print(f"[red]Failed DAG(s): {failed}. Their logs are listed above.")
        raise typer.Exit(1)


@demo_app.command("generate")
def demo_generate(
    out: Path = typer.Option(None, help="Where to write the exports (default: the inbox)."),
    scale: float = typer.Option(1.0, help="1.0 ≈ 34k registrations (+ reference extracts); 30 ≈ 1M."),
    seed: int = typer.Option(20261124),
) -> None:
    """Write demo exports for every registry, exactly as each contract describes them."""
    from regbench.contracts import load_contracts
    from regbench.demo.generator import generate

    settings = get_settings()
    target = out or settings.inbox
    with console.status("generating") as status:
        report = generate(target, load_contracts(settings.contracts_dir),
                          settings.dbt_project_dir / "seeds" / "units.csv", scale=scale, seed=seed,
                          progress=lambda m: status.update(f"generating: {m}"))
    console.print(f"wrote {len(report.files)} files to {target}")


@app.command()
def ingest(registry: str) -> None:
    """Ingest one registry's new files (without Airflow); not while a `regbench run`, build,
    ingest or reprocess is running."""
    from datetime import datetime

    from regbench import nightly
    from regbench.run_lock import RunLocked, run_lock
    from regbench.summary import print_not_taken_in

    since = datetime.now().replace(microsecond=0)
    try:
        with run_lock(get_settings(), "regbench ingest"):
            console.print_json(json.dumps(nightly.ingest(registry)))
            # uploads in progress, files still being written, links and strays, as `run` lists them
            print_not_taken_in(console, get_settings(), since)
    except RunLocked as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None


@app.command()
def fetch(registry: str) -> None:
    """Download a registry's new files from its SFTP or HTTPS source into the inbox; nothing is loaded."""
    from regbench.contracts import load_contracts
    from regbench.sources import SourceError
    from regbench.sources import fetch as fetch_source

    settings = get_settings()
    contract = load_contracts(settings.contracts_dir)[registry]
    try:
        report = fetch_source(settings, contract)
    except SourceError as exc:
        console.print(f"[red]{registry}: {exc}")
        raise typer.Exit(1) from None
    target = settings.inbox / contract.inbox_folder
    console.print(f"{registry} ({contract.source.kind}): {len(report.downloaded)} downloaded, "
                  f"{report.unchanged} unchanged, in {target}")
    for name in report.downloaded:
        console.print(f"  {name}")


@app.command()
def build(
    full_refresh: bool = typer.Option(
        False, help="Rebuild the base tables from all of raw instead of only the months that "
                    "changed: after a contract gains or loses a column (dbt then stops with "
                    "'out of sync'), or when in doubt."),
) -> None:
    """dbt build, audit and publish (without Airflow); not while a `regbench run` is running."""
    from regbench import nightly
    from regbench.run_lock import RunLocked, run_lock

    try:
        with run_lock(get_settings(), "regbench build"):
            console.print(f"build: {nightly.build(full_refresh)}")
            audited = nightly.audit()
            console.print(f"audit: {audited}")
            console.print(f"publish: {nightly.publish(held=audited['held'])}")
    except (RunLocked, nightly.StepFailed) as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None


@app.command()
def export(
    relation: str = typer.Argument(..., help="ops.<table> or publication.<table>, e.g. ops.ledger"),
    out: Path = typer.Option(..., help="A .csv (semicolons, UTF-8 with BOM) or .xlsx file."),
) -> None:
    """Write a ledger, check-result or publication table for people; formula text is neutralised."""
    from regbench.safe_export import ExportRefused
    from regbench.safe_export import export as export_table
    from regbench.warehouse import Warehouse

    try:
        with Warehouse(get_settings(), read_only=True) as wh:
            n = export_table(wh, relation, out)
    except ExportRefused as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    console.print(f"wrote {n} rows of {relation} to {out}")


@app.command()
def contracts() -> None:
    """Validate every registry contract and list them."""
    from regbench.contracts import ContractError, load_contracts

    try:
        loaded = load_contracts(get_settings().contracts_dir)
    except ContractError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    for c in loaded.values():
        console.print(f"{c.registry_id}: {c.name} ({', '.join(e.name for e in c.entities)})")


@app.command()
def reprocess(
    registry: str = typer.Option(..., "--registry", help="Registry id, e.g. njur."),
    period: str = typer.Option(..., "--period", help="The period as in the file name, e.g. 2026-10."),
    build: bool = typer.Option(True, help="Also rebuild, audit and publish the marts afterwards."),
) -> None:
    """Replay exactly the files of one registry and period (from the lake) through validation and
    load, then through the marts; not while another run, build, ingest or reprocess is running."""
    from regbench.run_lock import RunLocked, run_lock

    try:
        with run_lock(get_settings(), "regbench reprocess"):
            _reprocess(registry, period, build)
    except RunLocked as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None


def _reprocess(registry: str, period: str, build: bool) -> None:
    from datetime import datetime

    from regbench import nightly
    from regbench.reprocess import ReprocessError, mark_for_reprocessing
    from regbench.warehouse import Warehouse

    with Warehouse(get_settings(), loader=True) as wh:
        try:
            names = mark_for_reprocessing(wh, registry, period, datetime.now().replace(microsecond=0))
        except ReprocessError as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(1) from None
    console.print(f"{registry} {period}: replaying {', '.join(names)}")
    report = nightly.ingest(registry)
    console.print(f"loaded {report['files_loaded']} file(s), {report['rows_loaded']} rows, "
                  f"{report['rows_rejected']} rejected, {report['files_quarantined']} quarantined")
    if report["files_quarantined"]:
        console.print("[red]A replayed file was quarantined: see `regbench quarantine list`.")
        raise typer.Exit(1)
    if build:
        try:
            nightly.build()
            audited = nightly.audit()
            result = nightly.publish(held=audited["held"])
        except nightly.StepFailed as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(1) from None
        console.print(f"published release {result['release_id']}")


@registry_app.command("add")
def registry_add(
    registry_id: str = typer.Argument(..., help="Short id, e.g. hjart (lower case)."),
    sample: Path = typer.Option(..., "--sample", exists=True, dir_okay=False,
                                help="One real export file; its name must carry the period."),
    name: str = typer.Option(..., "--name", help="The registry's name, e.g. 'Svenska hjärtregistret'."),
    network: str = typer.Option(..., "--network", help="The improvement network it serves."),
    contact: str = typer.Option(..., "--contact", help="Registry manager's e-mail for alerts."),
    entity: str = typer.Option(None, "--entity", help="Entity name (default: from the file name)."),
) -> None:
    """Scaffold a contract, thresholds file and staging model from a sample export, for review."""
    from regbench.contracts import ContractError, load_contract
    from regbench.registry_scaffold import ScaffoldError, scaffold
    from regbench.thresholds import load_thresholds

    settings = get_settings()
    try:
        written = scaffold(settings.home, settings.contracts_dir, settings.thresholds_dir, registry_id,
                           sample, name=name, network=network, contact_email=contact, entity=entity)
    except ScaffoldError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    try:
        contract = load_contract(settings.contracts_dir / f"{registry_id}.yaml")
        load_thresholds(settings.thresholds_dir, registry_id)
    except (ContractError, ValueError) as exc:
        console.print(f"[red]the scaffold does not validate, please report it: {exc}")
        raise typer.Exit(1) from None
    for path in written:
        console.print(f"wrote {path}")
    ent = contract.entities[0]
    console.print(f"{registry_id}: entity {ent.name}, {len(ent.columns)} columns, files matching "
                  f"{ent.file_pattern}")
    console.print("Next: review the TODOs, add the registry's units to dbt_project/seeds/units.csv, "
                  f"and drop exports into {settings.inbox / contract.inbox_folder}.")


@app.command("airflow-init")
def airflow_init(
    users: Path = typer.Option(None, "--users", exists=True, dir_okay=False, show_default=False,
                               help="Airflow users to create or update (FAB auth manager), e.g. "
                                    "infra/airflow/users.example.yaml; passwords from the environment."),
) -> None:
    """Migrate Airflow's metadata database and create the warehouse pool, then the users of
    --users (safe to run again)."""
    from regbench.airflow_env import ensure_metadata, provision_users

    settings = get_settings()
    with console.status("airflow db migrate, pools"):
        ensure_metadata(settings, force=True)
    console.print(f"Airflow metadata ready; logs in {settings.logs}")
    if users is not None:
        ok, message = provision_users(settings, users)
        console.print(message if ok else f"[red]{message}")
        if not ok:
            raise typer.Exit(1)


@app.command("warehouse-setup")
def warehouse_setup(
    admin_dsn: str = typer.Option(None, "--admin-dsn", envvar="REGBENCH_ADMIN_DSN", show_default=False,
                                  help="PostgreSQL superuser (or member of the owner role) DSN."),
) -> None:
    """Create or migrate the warehouse's tables as their owner, with their row privileges (after
    infra/postgres/init-regbench.sh, adding a registry, or an upgrade; safe to run again)."""
    from regbench.warehouse_setup import SetupError, setup

    try:
        done = setup(get_settings(), admin_dsn)
    except SetupError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    console.print(f"warehouse ready: {done}")


@app.command("check-config")
def check_config(
    component: str = typer.Option(..., "--for", help="airflow (runs tasks), airflow-core (api-server, "
                                  "dag-processor, triggerer), airflow-init, superset, provision or setup"),
) -> None:
    """Refuse production settings with a demo key, a placeholder, a short or low-entropy secret,
    or a missing one (src/regbench/production_check.py)."""
    import os

    from regbench.production_check import problems

    try:
        found = problems(component, os.environ)
    except ValueError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    if found:
        console.print(f"[red]regbench refuses to start {component}:")
        for p in found:
            console.print(f"  - {p}")
        raise typer.Exit(1)
    console.print(f"{component}: configuration ok")


@publish_app.command("status")
def publish_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Which night is live, whether it still matches its manifest, the releases kept for rollback,
    and how the last attempt ended. Exits 1 when the live release does not match its manifest."""
    from rich.markup import escape

    from regbench.publish import status
    from regbench.warehouse import Warehouse

    settings = get_settings()
    with Warehouse(settings) as wh:
        st = status(wh, settings, verify=True)
    broken = not st["verified"]["ok"]
    if as_json:
        console.print_json(json.dumps(st))
        if broken:
            raise typer.Exit(1)
        return
    live, last = st["live"], st["last_attempt"]
    if live is None:
        console.print("[yellow]Nothing is published yet.")
    else:
        console.print(f"[bold]Live:[/] release {live['release_id']}, published {live['published_at']}")
        for registry_id, why in live["held"].items():
            console.print(f"  [yellow]{registry_id} held at its previous numbers:[/] {why}")
        if broken:
            console.print("[red]The live release does not match its manifest:")
            for problem in st["verified"]["problems"]:
                console.print(f"  [red]- {escape(problem)}")
            console.print("[red]Readers may see damaged numbers, and the next run will not build on "
                          "it: roll back with `regbench publish rollback` (or `--to <release>`).")
        else:
            console.print("  the live release matches its manifest (rows and fingerprints of every "
                          "table)")
    if last is not None:
        colour = "green" if last["outcome"] == "published" else "red"
        console.print(f"[bold]Last attempt:[/] {last['at']} [{colour}]{last['outcome']}[/]"
                      + (f" ({last['release_id']})" if last["release_id"] else ""))
        if last["detail"]:
            console.print(f"  {last['detail']}")
    table = Table("release", "published at", "status", "held registries")
    for r in st["releases"]:
        table.add_row(r["release_id"], r["published_at"], r["status"], ", ".join(r["held"]))
    console.print(table)
    if broken:
        raise typer.Exit(1)


@publish_app.command("rollback")
def publish_rollback(
    to: str = typer.Option(None, "--to", help="A kept release id (default: the one before the live)."),
) -> None:
    """Make an earlier night live again, atomically; the night rolled back stays kept."""
    from regbench.publish import RollbackError, rollback
    from regbench.warehouse import Warehouse

    settings = get_settings()
    with Warehouse(settings) as wh:
        try:
            manifest = rollback(settings, wh, to)
        except RollbackError as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(1) from None
    console.print(f"release {manifest['release_id']} (published {manifest['published_at']}) is live again")
    console.print("Superset caches chart data: refresh the dashboards (or wait for the cache timeout).")


@quarantine_app.command("list")
def quarantine_list() -> None:
    """List quarantined files with their reason."""
    from rich.markup import escape

    from regbench.redaction import redact

    settings = get_settings()
    table = Table("registry", "file", "rule", "where", "sha256")
    for reason_file in sorted(settings.quarantine.glob("*/*/reason.json")):
        r = json.loads(reason_file.read_text(encoding="utf-8"))
        where = " ".join(x for x in (f"row {r['row']}" if r["row"] else "",
                                     f"column {r['column']}" if r["column"] else "") if x)
        table.add_row(*(escape(cell) for cell in (r["registry_id"], redact(r["original_name"]),
                                                   r["rule"], where, r["file_id"][:12])))
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(
    file_id: str = typer.Argument(..., help="sha256 of the file, or its first characters"),
) -> None:
    """Show why a file is quarantined, what to do, and its history (releases with their notes)."""
    from rich.markup import escape

    from regbench.quarantine import QuarantineError, describe, find_waiting

    try:
        _, folder = find_waiting(get_settings(), file_id)
    except QuarantineError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(1) from None
    sys.stdout.write(describe(folder))


def _quarantine_action(action, done: str, prefix: str, **kwargs) -> None:
    from datetime import datetime

    from rich.markup import escape

    from regbench.quarantine import QuarantineError
    from regbench.warehouse import Warehouse

    settings = get_settings()
    try:
        with Warehouse(settings) as wh:
            wh.ensure_ops()
            found = action(settings, wh, prefix, now=datetime.now().replace(microsecond=0), **kwargs)
    except QuarantineError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(1) from None
    except Exception as exc:
        if "lock" not in str(exc).lower():
            raise
        console.print("[red]The warehouse is in use by a running pipeline; try again when it ends.")
        raise typer.Exit(1) from None
    # found.original_name is redacted by regbench.quarantine
    console.print(escape(f"{found.registry_id}: {found.original_name} ({found.file_id[:12]}) {done}"))


@quarantine_app.command("release")
def quarantine_release(
    file_id: str = typer.Argument(..., help="sha256 of the file, or its first characters"),
    accept: bool = typer.Option(False, help="Load it despite the file-level quality gates; "
                                "rows that break a rule are still rejected one by one."),
    note: str = typer.Option("", help="Why, for the ledger and the file's quarantine history."),
) -> None:
    """Send a quarantined file back to the next run (after fixing the contract, or with --accept)."""
    from regbench.quarantine import release

    _quarantine_action(release, "released with --accept" if accept else "released for retry",
                       file_id, accept=accept, note=note)
    console.print("It is taken in at the next run (`regbench run` or the registry's ingest DAG).")


@quarantine_app.command("discard")
def quarantine_discard(
    file_id: str = typer.Argument(..., help="sha256 of the file, or its first characters"),
    note: str = typer.Option(..., help="Why it will never be loaded, for the ledger."),
) -> None:
    """Never load a quarantined file. It stays in the lake and the ledger says who and why."""
    from regbench.quarantine import discard

    _quarantine_action(discard, "discarded", file_id, note=note)


if __name__ == "__main__":
    app()


def _bundle_dir() -> Path:
    return get_settings().home / "superset"


@dashboards_app.command("render")
def dashboards_render() -> None:
    """Rewrite the YAML bundle in superset/ from regbench/dashboards/spec.py and the published file."""
    from regbench.dashboards import bundle

    settings = get_settings()
    files = bundle.render_files(settings.published_path)
    bundle.write(files, _bundle_dir())
    console.print(f"wrote {len(files)} files to {_bundle_dir()}")


@dashboards_app.command("check")
def dashboards_check() -> None:
    """Fail if the bundle reads anything but publication.pub_* or carries instance ids."""
    from regbench.dashboards import bundle

    wrong = bundle.problems(bundle.read(_bundle_dir()))
    for line in wrong:
        console.print(f"[red]{line}")
    if wrong:
        raise typer.Exit(1)
    console.print("dashboards bundle: only publication.pub_* relations, no instance ids")


@dashboards_app.command("deploy")
def dashboards_deploy(
    url: str = typer.Option("http://127.0.0.1:8088", envvar="REGBENCH_SUPERSET_URL"),
    users: Path = typer.Option(None, envvar="REGBENCH_SUPERSET_USERS",
                               help="YAML list of users and roles, see infra/superset/users.example.yaml"),
) -> None:
    """Import the bundle into a running Superset and provision roles, row-level security, users."""
    from regbench.dashboards.deploy import deploy
    from regbench.superset_api import SupersetClient
    from regbench.superset_stack import SupersetStack

    settings = get_settings()
    stack = SupersetStack(settings)
    with SupersetClient(url, stack.admin_user, stack.admin_password()) as client:
        report = deploy(client, settings, _bundle_dir(), users)
    console.print(f"deployed {report.dashboards} dashboards and {report.charts} charts to {url}; "
                  f"roles created: {report.roles_created or 'none'}; "
                  f"roles removed: {report.roles_removed or 'none'}; "
                  f"users created: {report.users_created or 'none'}")


@app.command()
def serve(
    users: Path = typer.Option(None, envvar="REGBENCH_SUPERSET_USERS"),
) -> None:
    """Airflow on 127.0.0.1:8080 and Superset on 127.0.0.1:8088, provisioned; Ctrl-C stops both."""
    from regbench.serve import serve as run_stack

    try:
        run_stack(get_settings(), console, _bundle_dir(), users)
    except RuntimeError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
