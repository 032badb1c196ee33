"""Publishing swaps in a complete copy of the publication layer and fingerprints it."""

import duckdb
import pytest

from regbench.config import get_settings
from regbench.publish import publish, read_manifest
from regbench.warehouse import Warehouse


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    return get_settings()


def _fill(wh: Warehouse, rows: list[tuple]) -> None:
    wh.execute("CREATE SCHEMA IF NOT EXISTS publication")
    wh.execute("CREATE OR REPLACE TABLE publication.pub_x (unit_id VARCHAR, rate DOUBLE)")
    for r in rows:
        wh.execute("INSERT INTO publication.pub_x VALUES (?, ?)", list(r))


def test_published_file_holds_the_publication_tables(settings):
    with Warehouse(settings) as wh:
        _fill(wh, [("a", 0.5), ("b", 0.25)])
        manifest = publish(settings, wh)
    con = duckdb.connect(str(settings.published_path), read_only=True)
    assert sorted(con.execute("SELECT * FROM publication.pub_x").fetchall()) == [("a", 0.5), ("b", 0.25)]
    con.close()
    assert manifest["tables"]["pub_x"]["rows"] == 2
    assert read_manifest(settings)["tables"] == manifest["tables"]
    assert not list(settings.published_path.parent.glob("*.next.duckdb"))


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_fingerprint_ignores_row_order_and_float_noise_but_not_values(warehouse, request, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", warehouse)
    # an earlier test's warehouse (its ops.releases named a live release 20 minutes old) must
    # not be this one's
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    if warehouse == "postgres":
        monkeypatch.setenv("REGBENCH_POSTGRES_DSN", request.getfixturevalue("fresh_database"))
    settings = get_settings()

    def fill(wh, rows):
        wh.execute("CREATE SCHEMA IF NOT EXISTS publication")
        wh.execute("DROP TABLE IF EXISTS publication.pub_x")
        wh.execute("CREATE TABLE publication.pub_x (unit_id VARCHAR, rate DOUBLE PRECISION, n BIGINT)")
        for r in rows:
            wh.execute("INSERT INTO publication.pub_x VALUES (?, ?, ?)", list(r))
        return publish(settings, wh)["tables"]["pub_x"]

    with Warehouse(settings) as wh:
        first = fill(wh, [("a", 0.5, 7), ("b", 0.25, None), ("b", 0.25, None)])
        same = fill(wh, [("b", 0.25, None), ("a", 0.5 + 1e-15, 7), ("b", 0.25, None)])
        changed = [fill(wh, [("a", 0.51, 7), ("b", 0.25, None), ("b", 0.25, None)]),
                   fill(wh, [("a", 0.5, 8), ("b", 0.25, None), ("b", 0.25, None)]),
                   fill(wh, [("a", 0.5, 7), ("b", 0.25, None)]),
                   fill(wh, [("a", 0.5, 7), ("b", 0.25, 0), ("b", 0.25, None)])]
    assert first == same and first["rows"] == 3
    assert all(c["sha256"] != first["sha256"] for c in changed)


def test_publishing_an_empty_publication_schema_is_refused(settings):
    with Warehouse(settings) as wh, pytest.raises(RuntimeError, match="nothing to publish"):
        publish(settings, wh)


def _night(wh: Warehouse, values: dict[str, float]) -> None:
    wh.execute("CREATE SCHEMA IF NOT EXISTS publication")
    wh.execute("CREATE OR REPLACE TABLE publication.pub_rates (registry_id VARCHAR, unit_id VARCHAR,"
               " rate DOUBLE)")
    wh.execute("CREATE OR REPLACE TABLE publication.pub_ops_ingestion (registry_id VARCHAR, files INT)")
    for key, rate in values.items():
        registry, unit = key.split("/")
        wh.execute("INSERT INTO publication.pub_rates VALUES (?, ?, ?)", [registry, unit, rate])
        wh.execute("INSERT INTO publication.pub_ops_ingestion VALUES (?, ?)", [registry, int(rate * 100)])


def live_rows(settings, table="pub_rates") -> list[tuple]:
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        return sorted(con.execute(f"SELECT * FROM publication.{table}").fetchall())
    finally:
        con.close()


def test_rollback_restores_the_night_before_and_status_says_so(settings):
    from regbench.publish import rollback, status

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        first = publish(settings, wh)
        _night(wh, {"njur/a": 0.7})
        second = publish(settings, wh)
        assert live_rows(settings) == [("njur", "a", 0.7)]
        restored = rollback(settings, wh)
        assert restored["release_id"] == first["release_id"]
        assert live_rows(settings) == [("njur", "a", 0.5)]
        assert read_manifest(settings)["release_id"] == first["release_id"]
        st = status(wh)
    assert st["live"]["release_id"] == first["release_id"]
    assert {r["release_id"]: r["status"] for r in st["releases"]} == {
        first["release_id"]: "live", second["release_id"]: "rolled_back"}
    assert st["last_attempt"]["outcome"] == "rolled_back"


def test_rollback_with_nothing_earlier_or_an_unknown_release_is_refused(settings):
    from regbench.publish import RollbackError, rollback

    with Warehouse(settings) as wh:
        with pytest.raises(RollbackError, match="nothing is published"):
            rollback(settings, wh)
        _night(wh, {"njur/a": 0.5})
        publish(settings, wh)
        with pytest.raises(RollbackError, match="only one kept"):
            rollback(settings, wh)
        with pytest.raises(RollbackError, match="not kept"):
            rollback(settings, wh, to="19990101T000000")
    assert live_rows(settings) == [("njur", "a", 0.5)]


def test_a_held_registry_keeps_its_published_numbers_while_the_others_move_on(settings):
    from regbench.publish import status

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5, "palliativ/b": 0.2})
        publish(settings, wh)
        _night(wh, {"njur/a": 0.9, "palliativ/b": 0.3})
        manifest = publish(settings, wh, held={"njur": "rate_within_0_1: 3 violating row(s)"})
        st = status(wh)
    assert live_rows(settings) == [("njur", "a", 0.5), ("palliativ", "b", 0.3)]
    # tonight's operational figures are never held back
    assert live_rows(settings, "pub_ops_ingestion") == [("njur", 90), ("palliativ", 30)]
    assert manifest["held"] == {"njur": "rate_within_0_1: 3 violating row(s)"}
    assert st["live"]["held"] == manifest["held"]
    assert "njur: rate_within_0_1" in st["last_attempt"]["detail"]


def test_only_the_configured_number_of_releases_is_kept(settings, monkeypatch):
    from regbench.publish import release_file, status

    monkeypatch.setenv("REGBENCH_KEEP_RELEASES", "2")
    with Warehouse(settings) as wh:
        ids = []
        for rate in (0.1, 0.2, 0.3):
            _night(wh, {"njur/a": rate})
            ids.append(publish(settings, wh)["release_id"])
        kept = [r["release_id"] for r in status(wh)["releases"]]
    assert kept == [ids[2], ids[1]]
    assert not release_file(settings, ids[0]).exists()
    assert release_file(settings, ids[1]).exists()


def test_publish_status_and_rollback_commands(settings):
    from typer.testing import CliRunner

    from regbench.cli import app

    runner = CliRunner()
    assert "Nothing is published yet" in runner.invoke(app, ["publish", "status"]).output
    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        first = publish(settings, wh)["release_id"]
        _night(wh, {"njur/a": 0.6, "palliativ/b": 0.1})
        second = publish(settings, wh, held={"palliativ": "no_small_counts_published: 2 violating row(s)"})[
            "release_id"]
    out = runner.invoke(app, ["publish", "status"]).output
    assert f"Live: release {second}" in out
    assert "palliativ held at its previous numbers: no_small_counts_published" in out
    result = runner.invoke(app, ["publish", "rollback"])
    assert result.exit_code == 0, result.output
    assert f"release {first}" in result.output and "is live again" in result.output
    assert live_rows(settings) == [("njur", "a", 0.5)]
    out = runner.invoke(app, ["publish", "status"]).output
    assert f"Live: release {first}" in out and "rolled_back" in out
    assert runner.invoke(app, ["publish", "rollback"]).exit_code == 1


# --- the live release is what the live file says, and it is verified (issue 18) ------------------

def test_the_live_file_names_its_release_even_when_the_record_was_never_written(settings, monkeypatch):
    """A publish that ends between replacing the live file and recording it: status, the next
    publish and rollback go by the live file, and the release is recorded after all."""
    import regbench.publish as pub
    from regbench.publish import rollback, status

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        first = publish(settings, wh)["release_id"]
        _night(wh, {"njur/a": 0.7})

        def ended(*_a, **_k):
            raise SystemExit("the process ended here")

        with monkeypatch.context() as patched, pytest.raises(SystemExit):
            patched.setattr(pub, "_record", ended)
            publish(settings, wh)
        assert live_rows(settings) == [("njur", "a", 0.7)]
        st = status(wh, settings)
        second = st["live"]["release_id"]
        assert second != first
        assert {r["release_id"]: r["status"] for r in st["releases"]} == {first: "previous",
                                                                         second: "live"}
        assert rollback(settings, wh)["release_id"] == first
        assert live_rows(settings) == [("njur", "a", 0.5)]


def test_status_verifies_the_live_release_against_its_manifest(settings):
    from regbench.publish import status

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5, "palliativ/b": 0.2})
        publish(settings, wh)
        assert status(wh, settings, verify=True)["verified"] == {"ok": True, "problems": []}
    con = duckdb.connect(str(settings.published_path))
    con.execute("DELETE FROM publication.pub_rates WHERE registry_id = 'palliativ'")
    con.close()
    with Warehouse(settings) as wh:
        verified = status(wh, settings, verify=True)["verified"]
    assert not verified["ok"]
    assert any("pub_rates" in p and "1 rows" in p and "2" in p for p in verified["problems"]), verified


def test_a_truncated_live_file_is_reported_and_the_next_publish_refuses_to_build_on_it(settings):
    from regbench.publish import LiveReleaseBroken, rollback, status

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        first = publish(settings, wh)["release_id"]
        _night(wh, {"njur/a": 0.6})
        publish(settings, wh)
    data = settings.published_path.read_bytes()
    settings.published_path.write_bytes(data[: len(data) // 3])
    with Warehouse(settings) as wh:
        st = status(wh, settings, verify=True)
        assert not st["verified"]["ok"]
        assert "cannot be read" in st["verified"]["problems"][0]
        _night(wh, {"njur/a": 0.9})
        with pytest.raises(LiveReleaseBroken, match="regbench publish rollback"):
            publish(settings, wh, held={"njur": "a fatal finding"})
        assert status(wh, settings)["last_attempt"]["outcome"] == "blocked"
        assert rollback(settings, wh)["release_id"] == first
        assert status(wh, settings, verify=True)["verified"]["ok"]
    assert live_rows(settings) == [("njur", "a", 0.5)]


def test_publish_status_command_says_when_the_live_release_does_not_match(settings):
    from typer.testing import CliRunner

    from regbench.cli import app

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        publish(settings, wh)
    runner = CliRunner()
    ok = runner.invoke(app, ["publish", "status"])
    assert ok.exit_code == 0 and "matches its manifest" in ok.output
    con = duckdb.connect(str(settings.published_path))
    con.execute("UPDATE publication.pub_rates SET rate = 0.99")
    con.close()
    broken = runner.invoke(app, ["publish", "status"])
    assert broken.exit_code == 1
    assert "does not match its manifest" in broken.output and "regbench publish rollback" in broken.output


def test_releases_left_by_an_interrupted_publish_are_removed(settings):
    from regbench.publish import release_file, releases_dir

    with Warehouse(settings) as wh:
        _night(wh, {"njur/a": 0.5})
        publish(settings, wh)
        releases_dir(settings).mkdir(parents=True, exist_ok=True)
        orphan = release_file(settings, "20000101T000000")
        orphan.write_bytes(b"")
        (releases_dir(settings) / "20000101T000001.part").write_bytes(b"")
        _night(wh, {"njur/a": 0.6})
        publish(settings, wh)
    assert sorted(p.name for p in releases_dir(settings).iterdir()) == sorted(
        f"{r}.duckdb" for r in _kept(settings))


def _kept(settings) -> list[str]:
    from regbench.publish import status

    with Warehouse(settings) as wh:
        return [r["release_id"] for r in status(wh, settings)["releases"]]
