"""Superset's configuration (infra/superset/superset_config.py) is safe by default (issue 18):
security headers and a Content-Security-Policy that names no outside host, unsafe database URIs
refused, and the session cookie marked Secure whenever Superset is served over TLS."""

from __future__ import annotations

import runpy

import pytest

from regbench.config import REPO_ROOT

CONFIG = REPO_ROOT / "infra" / "superset" / "superset_config.py"


def load(monkeypatch, tmp_path, **env: str) -> dict:
    monkeypatch.setenv("SUPERSET_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("SUPERSET_HOME", str(tmp_path))
    for name in ("SUPERSET_TALISMAN", "SUPERSET_TLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_security_headers_and_a_csp_are_on_by_default(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path)
    assert config["TALISMAN_ENABLED"] is True
    csp = config["TALISMAN_CONFIG"]["content_security_policy"]
    sources = [s for v in csp.values() for s in ([v] if isinstance(v, str) else v)]
    assert not [s for s in sources if "://" in s or s.startswith(("http", "ows."))], \
        "the dashboards draw from Superset itself; no outside host is allowed"
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == "'none'"
    assert config["TALISMAN_DEV_CONFIG"] == config["TALISMAN_CONFIG"]
    assert config["PREVENT_UNSAFE_DB_CONNECTIONS"] is True
    assert config["SESSION_COOKIE_SECURE"] is False  # plain http on 127.0.0.1 (make serve)


def test_behind_tls_the_session_cookie_is_secure(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, SUPERSET_TLS="1")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["TALISMAN_CONFIG"]["session_cookie_secure"] is True
    assert config["ENABLE_PROXY_FIX"] is True


@pytest.mark.parametrize("value", ["0", "false"])
def test_the_headers_can_be_turned_off_only_on_purpose(monkeypatch, tmp_path, value):
    assert load(monkeypatch, tmp_path, SUPERSET_TALISMAN=value)["TALISMAN_ENABLED"] is False
