"""A registry's export is fetched from its SFTP server or HTTPS endpoint, through the real protocol:
a real OpenSSH server on a loopback port and a real TLS server, both started and stopped here.
Credentials come from Airflow connections given in the environment (AIRFLOW_CONN_<ID>)."""

from __future__ import annotations

import getpass
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.ingest import ingest_registry
from regbench.nightly import StepFailed, fail_on_quarantine
from regbench.warehouse import Warehouse

CORPUS = Path(__file__).parents[1] / "corpus" / "files"
SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """OpenSSH's sshd on a loopback port with key authentication; yields (port, dirs, keys)."""
    if not SSHD.exists():
        pytest.fail("openssh-server is not installed: apt-get install -y openssh-server")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key", "stranger_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    shutil.copyfile(d / "client_key.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o600)
    exports = d / "exports"
    exports.mkdir()
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc, "sshd")
        yield {"port": port, "dir": d, "exports": exports,
               "host_key": (d / "host_key.pub").read_text().split()[:2]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class ExportEndpoint(http.server.BaseHTTPRequestHandler):
    """A registry's export API: GET /exports/ lists files as JSON, GET /exports/<name> serves one."""

    folder: Path
    token: str
    listing_extra: list = []

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(401, b'{"error": "unauthorized"}')
        if self.path == "/exports/":
            files = [{"name": p.name, "size": p.stat().st_size,
                      "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                     for p in sorted(self.folder.iterdir())]
            return self._send(200, json.dumps(files + self.listing_extra).encode())
        path = self.folder / self.path.removeprefix("/exports/")
        if self.path.startswith("/exports/") and path.parent == self.folder and path.is_file():
            return self._send(200, path.read_bytes(), "text/csv")
        return self._send(404, b"{}")

    def _send(self, code: int, body: bytes, ctype: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_endpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("https")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    exports = d / "exports"
    exports.mkdir()
    handler = type("Endpoint", (ExportEndpoint,), {"folder": exports, "token": "s3cret-token-1"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "cert.pem", d / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"https://127.0.0.1:{server.server_address[1]}/exports/", "exports": exports,
           "ca": d / "cert.pem", "handler": handler}
    server.shutdown()
    server.server_close()


@pytest.fixture
def remote_registries(tmp_path, monkeypatch, sshd, https_endpoint):
    """Contracts where njur delivers over SFTP and palliativ over HTTPS; a fresh DuckDB var."""
    contracts = tmp_path / "registries"
    contracts.mkdir()
    for path in (REPO_ROOT / "registries").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["registry_id"] == "njur":
            data["source"] = {"kind": "sftp", "conn_id": "regbench_sftp_njur",
                              "remote_dir": str(sshd["exports"])}
        if data["registry_id"] == "palliativ":
            data["source"] = {"kind": "https", "conn_id": "regbench_https_palliativ",
                              "url": https_endpoint["url"]}
        (contracts / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("REGBENCH_CONTRACTS", str(contracts))
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", "2026-11-24")
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    sftp_conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd["port"],
                 "login": getpass.getuser(),
                 "extra": {"key_file": str(sshd["dir"] / "client_key"),
                           "host_key": " ".join(sshd["host_key"])}}
    https_conn = {"conn_type": "http", "password": "s3cret-token-1",
                  "extra": {"ca_bundle": str(https_endpoint["ca"])}}
    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_SFTP_NJUR", json.dumps(sftp_conn))
    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_HTTPS_PALLIATIV", json.dumps(https_conn))
    for folder in (sshd["exports"], https_endpoint["exports"]):
        for p in folder.iterdir():
            p.unlink()
    https_endpoint["handler"].listing_extra = []
    return get_settings(), sftp_conn, https_conn


def ledger(settings, registry_id: str) -> dict[str, str]:
    with Warehouse(settings) as wh:
        return dict(wh.fetchall("SELECT original_name, status FROM ops.ledger WHERE registry_id = ?"
                                " AND status <> 'superseded'", [registry_id]))


def njur_exports(folder: Path) -> list[str]:
    contracts = load_contracts(REPO_ROOT / "registries")
    staging = folder.parent / "generated"
    generate(staging, {"njur": contracts["njur"]}, REPO_ROOT / "dbt_project/seeds/units.csv",
             scale=0.05, months=2)
    for p in (staging / "njur").iterdir():
        shutil.copy2(p, folder / p.name)
    shutil.rmtree(staging)
    return sorted(p.name for p in folder.iterdir())


def test_sftp_export_is_fetched_loaded_once_and_a_correction_replaces_it(remote_registries, sshd):
    settings, _, _ = remote_registries
    names = njur_exports(sshd["exports"])
    first = ingest_registry(settings, "njur")
    assert first.source_error is None
    assert first.files_downloaded == len(names)
    assert ledger(settings, "njur") == {n: "loaded" for n in names}
    # the lake holds the bytes exactly as the server had them
    for n in names:
        digest = hashlib.sha256((sshd["exports"] / n).read_bytes()).hexdigest()
        assert any(settings.lake.glob(f"njur/{digest}.*")), n

    again = ingest_registry(settings, "njur")
    assert (again.files_downloaded, again.files_new, again.rows_loaded) == (0, 0, 0)

    # the registry replaces one month's file on the server with a corrected one of the same name
    start = next(n for n in names if n.startswith("njur_start_"))
    lines = (sshd["exports"] / start).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    (sshd["exports"] / start).write_text("".join(lines[:-1]), encoding="utf-8-sig")
    corrected = ingest_registry(settings, "njur")
    assert corrected.files_downloaded == 1 and corrected.files_loaded == 1
    with Warehouse(settings) as wh:
        statuses = sorted(s for (s,) in wh.fetchall(
            "SELECT status FROM ops.ledger WHERE original_name = ?", [start]))
        rows = wh.fetchone("SELECT count(*) FROM raw.njur__start WHERE _period ="
                           " (SELECT period FROM ops.ledger WHERE original_name = ? LIMIT 1)", [start])[0]
    assert statuses == ["loaded", "superseded"]
    assert rows == len(lines) - 2  # header and the removed row


def test_sftp_server_with_an_unexpected_host_key_is_refused_and_fails_the_run(
        remote_registries, sshd, monkeypatch):
    settings, sftp_conn, _ = remote_registries
    njur_exports(sshd["exports"])
    stranger = (sshd["dir"] / "stranger_key.pub").read_text().split()[:2]
    sftp_conn["extra"]["host_key"] = " ".join(stranger)
    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_SFTP_NJUR", json.dumps(sftp_conn))
    report = ingest_registry(settings, "njur")
    assert report.files_downloaded == 0
    assert "host key does not match" in report.source_error
    assert f"127.0.0.1:{sshd['port']}" in report.source_error
    assert not any((settings.inbox / "njur").iterdir())
    with pytest.raises(StepFailed, match="njur: source not read"):
        fail_on_quarantine(report.as_dict())


def test_sftp_key_the_server_does_not_know_is_reported_with_what_to_check(
        remote_registries, sshd, monkeypatch):
    settings, sftp_conn, _ = remote_registries
    sftp_conn["extra"]["key_file"] = str(sshd["dir"] / "stranger_key")
    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_SFTP_NJUR", json.dumps(sftp_conn))
    report = ingest_registry(settings, "njur")
    assert "check login, password or key" in report.source_error


def test_https_export_is_fetched_with_the_token_and_not_fetched_again(remote_registries, https_endpoint):
    settings, _, _ = remote_registries
    for p in sorted((CORPUS / "palliativ").iterdir())[:4]:
        shutil.copyfile(p, https_endpoint["exports"] / p.name)
    names = sorted(p.name for p in https_endpoint["exports"].iterdir())
    first = ingest_registry(settings, "palliativ")
    assert first.source_error is None
    assert first.files_downloaded == len(names)
    assert set(ledger(settings, "palliativ")) == set(names)
    for n in names:
        assert (settings.inbox / "palliativ" / n).read_bytes() == (https_endpoint["exports"] / n).read_bytes()
    again = ingest_registry(settings, "palliativ")
    assert (again.files_downloaded, again.files_new) == (0, 0)


def test_https_wrong_token_and_untrusted_certificate_fail_with_what_to_do(
        remote_registries, https_endpoint, monkeypatch):
    settings, _, https_conn = remote_registries
    shutil.copyfile(CORPUS / "palliativ/palliativ_dodsfall_2023-01.csv",
                    https_endpoint["exports"] / "palliativ_dodsfall_2023-01.csv")
    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_HTTPS_PALLIATIV",
                       json.dumps({**https_conn, "password": "expired-token"}))
    report = ingest_registry(settings, "palliativ")
    assert "refused the token (HTTP 401)" in report.source_error
    with pytest.raises(StepFailed, match="palliativ: source not read"):
        fail_on_quarantine(report.as_dict())

    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_HTTPS_PALLIATIV",
                       json.dumps({**https_conn, "extra": {}}))
    report = ingest_registry(settings, "palliativ")
    assert "certificate" in report.source_error
    assert ledger(settings, "palliativ") == {}


def test_https_listing_cannot_write_outside_the_inbox(remote_registries, https_endpoint):
    settings, _, _ = remote_registries
    https_endpoint["handler"].listing_extra = [{"name": "../../etc/cron.d/evil"}]
    report = ingest_registry(settings, "palliativ")
    assert "refusing file name" in report.source_error
    assert not (settings.var / "etc").exists()


def test_missing_connection_names_the_environment_variable(remote_registries, monkeypatch):
    settings, _, _ = remote_registries
    monkeypatch.delenv("AIRFLOW_CONN_REGBENCH_SFTP_NJUR")
    report = ingest_registry(settings, "njur")
    assert "AIRFLOW_CONN_REGBENCH_SFTP_NJUR" in report.source_error


def test_fetch_command_downloads_without_loading_and_explains_a_failure(
        remote_registries, sshd, monkeypatch):
    from typer.testing import CliRunner

    from regbench.cli import app

    settings, sftp_conn, _ = remote_registries
    names = njur_exports(sshd["exports"])
    result = CliRunner().invoke(app, ["fetch", "njur"])
    assert result.exit_code == 0, result.output
    assert f"{len(names)} downloaded, 0 unchanged" in result.output
    assert sorted(p.name for p in (settings.inbox / "njur").iterdir()) == names
    assert not settings.duckdb_path.exists(), "fetch must not touch the warehouse"

    monkeypatch.setenv("AIRFLOW_CONN_REGBENCH_SFTP_NJUR", json.dumps({**sftp_conn, "port": free_port()}))
    result = CliRunner().invoke(app, ["fetch", "njur"])
    assert result.exit_code == 1
    assert "cannot connect" in result.output
