"""The e2e tests share one nightly run on small demo data (about 2 minutes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from superset_support import monkeypatch_module, superset  # noqa: F401 (fixtures)

REGBENCH = str(Path(sys.executable).with_name("regbench"))
# the demo's own scale: at a fifth of it most cells are hidden and the disclosure layer's
# attacker needs minutes instead of seconds (docs/decisions/0017)
SCALE = "1.0"


def _env(var: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"REGBENCH_DEMO": "1", "REGBENCH_VAR": str(var), "REGBENCH_WAREHOUSE": "duckdb",
                "REGBENCH_TODAY": "2026-11-24", "COLUMNS": "160"})
    env.pop("REGBENCH_INBOX", None)
    env.pop("REGBENCH_DUCKDB_PATH", None)
    return env


@pytest.fixture(scope="session")
def nightly(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    first = subprocess.run([REGBENCH, "run", "--demo-scale", SCALE], env=_env(var),
                           capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, \
        f"the e2e nightly run failed:\n{first.stdout[-3000:]}\n{first.stderr[-3000:]}"
    manifest1 = json.loads((var / "published" / "regbench_pub.manifest.json").read_text())
    return var, first, manifest1


@pytest.fixture(scope="session")
def regbench_cli() -> str:
    return REGBENCH


@pytest.fixture(scope="session")
def nightly_env():
    return _env
