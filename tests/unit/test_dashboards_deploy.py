"""deploy's checks that need no Superset: every dataset a role is confined on has registry_id,
and a users file still naming the retired all-registries role is refused (decision 0021)."""

from pathlib import Path

import pytest

from regbench.dashboards import bundle
from regbench.dashboards.deploy import (
    DeployReport,
    datasets_read,
    manager_role,
    provision_users,
    rls_column_problems,
    role_dashboards,
)

REPO = Path(__file__).resolve().parents[2]


def test_every_dataset_under_row_level_security_has_registry_id():
    assert rls_column_problems(bundle.read(REPO / "superset")) == []


def test_a_dataset_without_registry_id_or_missing_is_not_deployable():
    files = bundle.read(REPO / "superset")
    # the registry managers' datasets and the network's: all of them are confined
    confined = datasets_read(role_dashboards("njur")[manager_role("njur")])
    assert "pub_registrations" in confined and "funnel_latest" in confined
    coverage = next(n for n in files if n.endswith("/pub_registrations.yaml"))
    files[coverage] = {**files[coverage], "columns": [
        c for c in files[coverage]["columns"] if c["column_name"] != "registry_id"]}
    del files[next(n for n in files if n.endswith("/funnel_latest.yaml"))]
    assert rls_column_problems(files) == [
        "dataset funnel_latest: not in the bundle",
        "dataset pub_registrations: no registry_id column, which its row-level security filters on"]


class _Roles:
    def get(self, path):
        return {"result": [{"id": 2, "name": "Gamma"}]}


def test_a_users_file_with_the_retired_shared_role_is_refused(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - {username: maria, email: m@example.se,"
                     " role: regbench_registerhallare, password_env: PW}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="regbench_registerhallare_<registry>"):
        provision_users(_Roles(), users, {manager_role("njur"): 7}, DeployReport())
