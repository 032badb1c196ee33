"""Fetch a registry's new export files from its source into its inbox folder.

A drop folder needs no fetching. SFTP and HTTPS sources are downloaded into `inbox/<registry>/`,
each file through a `.part` name and an atomic rename, so the ledger never sees half a file. The
ledger then decides, by sha256 and name, what is new; fetching only avoids needless downloads.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import ssl
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from regbench.config import Settings
from regbench.contracts import Contract, DropFolderSource, HttpsSource, SftpSource

log = logging.getLogger("regbench.sources")


class SourceError(RuntimeError):
    """The registry's source cannot be read; the message names the source and what to do."""


@dataclass
class FetchReport:
    downloaded: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class Credentials:
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    extra: dict


def credentials(conn_id: str) -> Credentials:
    """An Airflow connection: from Airflow's secrets backends, the metadata store or AIRFLOW_CONN_<ID>."""
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception as exc:  # Airflow raises its own not-found types, which differ by context
        raise SourceError(
            f"Airflow connection {conn_id!r} is not defined ({type(exc).__name__}). Add it in "
            f"Airflow (Admin → Connections) or set AIRFLOW_CONN_{conn_id.upper()} in the environment."
        ) from None
    return Credentials(conn.host, conn.port, conn.login, conn.password, dict(conn.extra_dejson or {}))


def fetch(settings: Settings, contract: Contract) -> FetchReport:
    target = settings.inbox / contract.inbox_folder
    target.mkdir(parents=True, exist_ok=True)
    source = contract.source
    if isinstance(source, DropFolderSource):
        return FetchReport()
    if isinstance(source, SftpSource):
        return fetch_sftp(source, credentials(source.conn_id), target)
    if isinstance(source, HttpsSource):
        return fetch_https(source, credentials(source.conn_id), target)
    raise SourceError(f"{contract.registry_id}: unknown source kind {source.kind!r}")


def safe_name(name: str, where: str) -> str:
    """A remote file name is used as a local one: only a plain base name is acceptable."""
    if not name or name != os.path.basename(name) or name in {".", ".."} or "\\" in name:
        raise SourceError(f"{where}: refusing file name {name!r}; a source may only list plain file names")
    return name


def _install(tmp: Path, target: Path, mtime: float | None = None) -> None:
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    tmp.replace(target)


# --- SFTP -----------------------------------------------------------------------------------------

def _host_key_policy(client, creds: Credentials, host: str, port: int, where: str) -> None:
    import paramiko

    hostname = host if port == 22 else f"[{host}]:{port}"
    pinned = creds.extra.get("host_key")
    if pinned:
        # "ssh-ed25519 AAAA..." or only the base64 part of an ssh-rsa key, as Airflow's SFTP hook takes
        parts = str(pinned).split()
        key_type, blob = (parts[0], parts[1]) if len(parts) > 1 else ("ssh-rsa", parts[0])
        try:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob))
        except Exception as exc:
            raise SourceError(f"{where}: the connection's host_key cannot be read ({exc})") from None
        client.get_host_keys().add(hostname, key.get_name(), key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    elif str(creds.extra.get("no_host_key_check", "")).lower() in {"true", "1"}:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())


def _private_key(creds: Credentials, where: str):
    import paramiko

    text = creds.extra.get("private_key")
    path = creds.extra.get("key_file")
    if not text and not path:
        return None
    passphrase = creds.extra.get("private_key_passphrase")
    if path:
        try:
            return paramiko.PKey.from_path(path, passphrase)
        except (OSError, paramiko.SSHException) as exc:
            raise SourceError(f"{where}: the key file {path} cannot be read ({exc})") from None
    from io import StringIO

    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(StringIO(text), passphrase)
        except paramiko.SSHException:
            continue
    raise SourceError(f"{where}: the connection's private_key is not an Ed25519, ECDSA or RSA key")


def fetch_sftp(source: SftpSource, creds: Credentials, target: Path) -> FetchReport:
    import paramiko

    host, port = creds.host or "", int(creds.port or 22)
    where = f"SFTP {creds.login}@{host}:{port}/{source.remote_dir} (connection {source.conn_id})"
    if not host or not creds.login:
        raise SourceError(f"{where}: the connection needs a host and a login")
    client = paramiko.SSHClient()
    _host_key_policy(client, creds, host, port, where)
    try:
        client.connect(
            host, port=port, username=creds.login, password=creds.password or None,
            pkey=_private_key(creds, where), look_for_keys=False, allow_agent=False,
            timeout=30, banner_timeout=30, auth_timeout=30,
        )
    except paramiko.BadHostKeyException as exc:
        raise SourceError(f"{where}: the server's host key does not match the pinned one; if the "
                          f"registry changed its key, confirm the new one with them and update the "
                          f"connection's host_key ({exc})") from None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise SourceError(f"{where}: unknown host key; pin it in the connection's extra as "
                              "host_key (ask the registry for it, or `ssh-keyscan`)") from None
        raise SourceError(f"{where}: {exc}; check login, password or key in the connection") from None
    except OSError as exc:
        raise SourceError(f"{where}: cannot connect ({exc}); is the server up and the port open?") from None
    report = FetchReport()
    try:
        sftp = client.open_sftp()
        try:
            entries = sftp.listdir_attr(source.remote_dir)
        except OSError as exc:
            raise SourceError(f"{where}: cannot list the folder ({exc})") from None
        for entry in sorted(entries, key=lambda e: e.filename):
            if not stat.S_ISREG(entry.st_mode or 0) or entry.filename.startswith("."):
                continue
            name = safe_name(entry.filename, where)
            local = target / name
            if local.exists() and local.stat().st_size == entry.st_size \
                    and int(local.stat().st_mtime) == int(entry.st_mtime or 0):
                report.unchanged += 1
                continue
            tmp = target / f".{name}.part"
            sftp.get(f"{source.remote_dir.rstrip('/')}/{name}", str(tmp))
            _install(tmp, local, entry.st_mtime)
            report.downloaded.append(name)
            log.info("%s: downloaded %s (%d bytes)", where, name, entry.st_size or 0)
    finally:
        client.close()
    return report


# --- HTTPS ----------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _listing(payload, where: str) -> list[dict]:
    """`[{"name": ..., "sha256": ..., "url": ...}, ...]` or `{"files": [...]}`; bare names also do."""
    items = payload.get("files") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise SourceError(f"{where}: the listing is not a JSON list of files (nor {{'files': [...]}})")
    out = []
    for item in items:
        entry = {"name": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SourceError(f"{where}: listing entry {item!r} has no file name")
        out.append(entry)
    return out


def fetch_https(source: HttpsSource, creds: Credentials, target: Path) -> FetchReport:
    import httpx

    where = f"HTTPS {source.url} (connection {source.conn_id})"
    parts = urlsplit(source.url)
    if parts.scheme != "https" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SourceError(f"{where}: the token would travel unencrypted; use an https:// URL")
    if not creds.password:
        raise SourceError(f"{where}: the connection has no token; put it in the connection's password")
    ca_bundle = creds.extra.get("ca_bundle")
    verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    headers = {"Authorization": f"Bearer {creds.password}", "Accept": "application/json"}
    report = FetchReport()
    try:
        with httpx.Client(headers=headers, verify=verify, timeout=60, follow_redirects=False) as http:
            response = http.get(source.url)
            _raise_for(response, where)
            try:
                entries = _listing(response.json(), where)
            except ValueError:
                raise SourceError(f"{where}: the listing is not JSON") from None
            for entry in sorted(entries, key=lambda e: e["name"]):
                name = safe_name(entry["name"], where)
                local = target / name
                expected = entry.get("sha256")
                if expected and local.exists() and _sha256(local) == expected:
                    report.unchanged += 1
                    continue
                url = urljoin(source.url if source.url.endswith("/") else source.url + "/",
                              entry.get("url") or name)
                if urlsplit(url).netloc != parts.netloc:
                    raise SourceError(f"{where}: {name} points to another host ({url}); refusing to "
                                      "send the token there")
                tmp = target / f".{name}.part"
                h = hashlib.sha256()
                with http.stream("GET", url) as stream, tmp.open("wb") as fh:
                    _raise_for(stream, f"{where}, file {name}")
                    for chunk in stream.iter_bytes(1 << 20):
                        fh.write(chunk)
                        h.update(chunk)
                if expected and h.hexdigest() != expected:
                    tmp.unlink()
                    raise SourceError(f"{where}: {name} arrived with sha256 {h.hexdigest()}, the "
                                      f"listing says {expected}; the transfer is corrupt, try again")
                if local.exists() and _sha256(local) == h.hexdigest():
                    tmp.unlink()
                    report.unchanged += 1
                    continue
                _install(tmp, local)
                report.downloaded.append(name)
                log.info("%s: downloaded %s", where, name)
    except httpx.TransportError as exc:
        raise SourceError(f"{where}: cannot reach the endpoint ({exc}); is it up, and is the "
                          "certificate trusted (connection extra ca_bundle)?") from None
    return report


def _raise_for(response, where: str) -> None:
    if response.status_code in (401, 403):
        response.read()
        raise SourceError(f"{where}: the endpoint refused the token (HTTP {response.status_code}); "
                          "renew it with the registry and update the connection's password")
    if response.status_code >= 300:
        response.read()
        raise SourceError(f"{where}: HTTP {response.status_code} from the endpoint")
