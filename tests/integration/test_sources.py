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
import sys
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
from regbench.sources import SourceError
from regbench.sources import fetch as fetch_source
from regbench.warehouse import Warehouse

CORPUS = Path(__file__).parents[1] / "corpus" / "files"
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")

# sshd's sftp subsystem: OpenSSH's sftp-server, its replies to the client slowed to the bytes per
# second in the file `throttle` next to this script when that file exists (a slow registry link)
THROTTLED_SFTP = f"""\
import os, subprocess, sys, time
rate_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "throttle")
if not os.path.exists(rate_file):
    os.execv({str(SFTP_SERVER)!r}, [{str(SFTP_SERVER)!r}])
rate = int(open(rate_file).read())
server = subprocess.Popen([{str(SFTP_SERVER)!r}], stdout=subprocess.PIPE)
while chunk := os.read(server.stdout.fileno(), 4096):
    try:
        os.write(1, chunk)
    except OSError:
        break
    time.sleep(len(chunk) / rate)
server.kill()
"""


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
    (d / "sftp_subsystem.py").write_text(THROTTLED_SFTP)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        f"Subsystem sftp {sys.executable} {d / 'sftp_subsystem.py'}\n"
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
    """A registry's export API: GET /exports/ lists files as JSON, GET /exports/<name> serves one.

    Every request is recorded in `seen` (over TLS or not, the Host header, the path, whether it
    carried the token), so a test can tell where the token went."""

    folder: Path
    token: str
    listing_extra: list = []
    seen: list = []
    # path -> Location: answered with 302 instead of the file
    redirects: dict = {}
    # file name -> seconds between 1 KiB chunks: served slowly, as over a poor link
    trickle: dict = {}
    # False: the listing has no sizes and files come without Content-Length (read until close)
    announce_sizes: bool = True

    def do_GET(self):  # noqa: N802
        self.seen.append({"tls": isinstance(self.connection, ssl.SSLSocket), "path": self.path,
                          "host": self.headers.get("Host"),
                          "token": self.token in (self.headers.get("Authorization") or "")})
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(401, b'{"error": "unauthorized"}')
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if self.path == "/exports/":
            files = [{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                     | ({"size": p.stat().st_size} if self.announce_sizes else {})
                     for p in sorted(self.folder.iterdir())]
            return self._send(200, json.dumps(files + self.listing_extra).encode())
        path = self.folder / self.path.removeprefix("/exports/")
        if self.path.startswith("/exports/") and path.parent == self.folder and path.is_file():
            return self._send(200, path.read_bytes(), "text/csv", self.trickle.get(path.name))
        return self._send(404, b"{}")

    def _send(self, code: int, body: bytes, ctype: str = "application/json",
              delay: float | None = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if self.announce_sizes or ctype == "application/json":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 1024 if delay else len(body) or 1):
                self.wfile.write(body[start:start + 1024] if delay else body)
                if delay:
                    self.wfile.flush()
                    time.sleep(delay)
        except OSError:  # the client hung up
            pass

    def log_message(self, *args):
        pass


class TlsOrPlainServer(http.server.ThreadingHTTPServer):
    """TLS, and (as a carelessly set up endpoint would) plain HTTP too on the same port: whatever a
    client sends in clear text to the endpoint's host and port arrives and is recorded."""

    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            tls = request.recv(1, socket.MSG_PEEK) == b"\x16"  # a TLS handshake record
            if tls:
                request = self.context.wrap_socket(request, server_side=True)
        except OSError:  # includes a client that does not trust the certificate
            return
        try:
            super().finish_request(request, client_address)
        finally:
            if tls:
                request.close()


@pytest.fixture(scope="module")
def https_endpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("https")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    exports = d / "exports"
    exports.mkdir()
    handler = type("Endpoint", (ExportEndpoint,), {"folder": exports, "token": "s3cret-token-1"})
    server = TlsOrPlainServer(("127.0.0.1", 0), handler)
    server.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.context.load_cert_chain(d / "cert.pem", d / "key.pem")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield {"url": f"https://127.0.0.1:{port}/exports/", "port": port, "exports": exports,
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
    handler = https_endpoint["handler"]
    handler.listing_extra, handler.seen, handler.redirects, handler.trickle = [], [], {}, {}
    handler.announce_sizes = True
    (sshd["dir"] / "throttle").unlink(missing_ok=True)
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


# --- where the token may go; deadlines and size limits ---------------------------------------------

def fetch_now(settings, registry_id: str):
    return fetch_source(settings, load_contracts(settings.contracts_dir)[registry_id])


def fetch_error(settings, registry_id: str) -> str:
    """The SourceError's message from fetching `registry_id`, "" if there was none."""
    try:
        fetch_now(settings, registry_id)
    except SourceError as exc:
        return str(exc)
    return ""


def inbox_names(settings, registry_id: str) -> list[str]:
    return sorted(p.name for p in (settings.inbox / registry_id).iterdir())


def palliativ_files(https_endpoint, count: int = 2) -> list[str]:
    for p in sorted((CORPUS / "palliativ").iterdir())[:count]:
        shutil.copyfile(p, https_endpoint["exports"] / p.name)
    return sorted(p.name for p in https_endpoint["exports"].iterdir())


def test_https_token_never_goes_over_plain_http_even_to_the_same_host_and_port(
        remote_registries, https_endpoint):
    settings, _, _ = remote_registries
    names = palliativ_files(https_endpoint)
    port = https_endpoint["port"]
    https_endpoint["handler"].listing_extra = [
        {"name": "plain.csv", "url": f"http://127.0.0.1:{port}/exports/{names[0]}"}]
    message = fetch_error(settings, "palliativ")
    seen = https_endpoint["handler"].seen
    assert [r for r in seen if not r["tls"]] == [], "a request went out in clear text"
    assert "plain.csv" in message and "s3cret-token-1" not in message
    # the entry is refused, the others are fetched over https
    assert inbox_names(settings, "palliativ") == names


def test_https_token_goes_to_no_other_host_or_port_nor_through_a_redirect(
        remote_registries, https_endpoint):
    settings, _, _ = remote_registries
    names = palliativ_files(https_endpoint)
    port, origin = https_endpoint["port"], f"127.0.0.1:{https_endpoint['port']}"
    handler = https_endpoint["handler"]
    handler.listing_extra = [
        {"name": "elsewhere.csv", "url": f"https://localhost:{port}/exports/{names[0]}"},
        {"name": "otherport.csv", "url": f"https://127.0.0.1:{free_port()}/exports/{names[0]}"},
        {"name": "userinfo.csv", "url": f"https://127.0.0.1:{port}@localhost:{port}/exports/{names[0]}"},
        {"name": "downgraded.csv"}, {"name": "away.csv"}, {"name": "moved.csv"},
    ]
    handler.redirects = {
        "/exports/downgraded.csv": f"http://127.0.0.1:{port}/exports/{names[0]}",
        "/exports/away.csv": f"https://localhost:{port}/exports/{names[0]}",
        "/exports/moved.csv": f"/exports/{names[1]}",  # the same origin: followed
    }
    message = fetch_error(settings, "palliativ")
    assert [r for r in handler.seen if not r["tls"] or r["host"] != origin] == [], \
        "a request went to another origin"
    for refused in ("elsewhere.csv", "otherport.csv", "userinfo.csv", "downgraded.csv", "away.csv"):
        assert refused in message
    assert "moved.csv" not in message
    assert "s3cret-token-1" not in message
    assert inbox_names(settings, "palliativ") == sorted([*names, "moved.csv"])
    assert (settings.inbox / "palliativ/moved.csv").read_bytes() == \
        (https_endpoint["exports"] / names[1]).read_bytes()


@pytest.mark.parametrize("announced", [True, False], ids=["sizes-announced", "sizes-unannounced"])
def test_https_file_over_the_size_limit_is_not_kept_and_named_redacted(
        remote_registries, https_endpoint, monkeypatch, announced):
    from regbench import sources

    settings, _, _ = remote_registries
    names = palliativ_files(https_endpoint)
    big = "rattelse_19121212-1212.csv"
    (https_endpoint["exports"] / big).write_bytes(b"x;y\n" * 5000)
    https_endpoint["handler"].announce_sizes = announced
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 8000, raising=False)
    message = fetch_error(settings, "palliativ")
    assert "rattelse_[personnummer].csv" in message and "19121212" not in message
    assert "8000 bytes" in message
    assert inbox_names(settings, "palliativ") == names  # no partial file, the others are there
    if announced:  # the listing said how big it is: not even requested
        assert not any(r["path"].endswith(big) for r in https_endpoint["handler"].seen)


def test_https_transfer_past_the_deadline_stops_and_leaves_no_partial_file(
        remote_registries, https_endpoint, monkeypatch):
    from regbench import sources

    settings, _, _ = remote_registries
    names = palliativ_files(https_endpoint)
    slow = "palliativ_dodsfall_2023-09.csv"
    (https_endpoint["exports"] / slow).write_bytes(b"x;y\n" * 20_000)  # 80 KiB at 10 KiB/s: 8 s
    https_endpoint["handler"].trickle = {slow: 0.1}
    monkeypatch.setattr(sources, "FETCH_DEADLINE_SECONDS", 2.5, raising=False)
    started = time.monotonic()
    message = fetch_error(settings, "palliativ")
    assert time.monotonic() - started < 5
    assert "deadline" in message and slow in message
    assert inbox_names(settings, "palliativ") == names


def sftp_files(sshd, sizes: dict[str, int]) -> None:
    for name, size in sizes.items():
        (sshd["exports"] / name).write_bytes(b"a;b\n" * (size // 4))


def test_sftp_file_over_the_size_limit_is_not_downloaded_and_named_redacted(
        remote_registries, sshd, monkeypatch):
    from regbench import sources

    settings, _, _ = remote_registries
    big = "njur_rattelse_191212121212.csv"
    sftp_files(sshd, {"njur_a.csv": 2000, big: 40_000, "njur_z.csv": 2000})
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 8000, raising=False)
    message = fetch_error(settings, "njur")
    assert "njur_rattelse_[personnummer].csv" in message and "191212121212" not in message
    assert "8000 bytes" in message
    assert inbox_names(settings, "njur") == ["njur_a.csv", "njur_z.csv"]


def test_sftp_transfer_past_the_deadline_stops_and_keeps_the_finished_files(
        remote_registries, sshd, monkeypatch):
    from regbench import sources

    settings, _, _ = remote_registries
    sftp_files(sshd, {"njur_a.csv": 2000, "njur_b.csv": 2000, "njur_c.csv": 500_000})
    (sshd["dir"] / "throttle").write_text("50000")  # 50 kB/s: the last file needs 10 s
    monkeypatch.setattr(sources, "FETCH_DEADLINE_SECONDS", 3.0, raising=False)
    started = time.monotonic()
    message = fetch_error(settings, "njur")
    assert time.monotonic() - started < 6
    assert "deadline" in message and "njur_c.csv" in message
    assert inbox_names(settings, "njur") == ["njur_a.csv", "njur_b.csv"]


def test_a_stale_partial_download_from_a_killed_run_is_cleared(remote_registries, sshd):
    settings, _, _ = remote_registries
    sftp_files(sshd, {"njur_a.csv": 2000})
    stale = settings.inbox / "njur" / ".njur_gone.csv.part"  # no longer on the server
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    long_ago = time.time() - 7 * 24 * 3600
    os.utime(stale, (long_ago, long_ago))
    report = fetch_now(settings, "njur")
    assert report.downloaded == ["njur_a.csv"]
    assert inbox_names(settings, "njur") == ["njur_a.csv"]
