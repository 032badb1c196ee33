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


def test_fingerprint_ignores_row_order_but_not_values(settings):
    with Warehouse(settings) as wh:
        _fill(wh, [("a", 0.5), ("b", 0.25)])
        first = publish(settings, wh)["tables"]
        _fill(wh, [("b", 0.25), ("a", 0.5)])
        same = publish(settings, wh)["tables"]
        _fill(wh, [("b", 0.25), ("a", 0.51)])
        changed = publish(settings, wh)["tables"]
    assert first == same
    assert changed != first


def test_publishing_an_empty_publication_schema_is_refused(settings):
    with Warehouse(settings) as wh, pytest.raises(RuntimeError, match="nothing to publish"):
        publish(settings, wh)
