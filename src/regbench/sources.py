"""Fetch a registry's new export files from its source into its inbox folder.

A drop folder needs no fetching. SFTP and HTTPS sources are downloaded into `inbox/<registry>/`,
each file through a `.part` name and an atomic rename, so the ledger never sees half a file. The
ledger then decides, by sha256 and name, what is new; fetching only avoids needless downloads.

Limits (module constants below, the one place they are set): one night's fetch from a source stops
at FETCH_DEADLINE_SECONDS, whatever the socket timeouts; the file in transfer is dropped, the files
already finished stay, the rest come next night. A file over MAX_FILE_BYTES is not kept, the others
are fetched. An HTTPS token is only ever sent over https to the host and port of the configured URL:
a listing entry or a redirect elsewhere is refused (never requested) and named in the SourceError.
Each of these ends the fetch with a SourceError, so the night's run fails visibly; file names in
messages and logs go through `redact`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import ssl
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from regbench.config import Settings
from regbench.contracts import Contract, DropFolderSource, HttpsSource, SftpSource
from regbench.redaction import redact

log = logging.getLogger("regbench.sources")

# One night's transfers from one source stop after this long (connecting, listing and downloading).
FETCH_DEADLINE_SECONDS = 2 * 60 * 60
# A file larger than this is not kept (registry exports are tens to hundreds of MB).
MAX_FILE_BYTES = 2 * 1024**3
# An HTTPS listing larger than this is refused (some hundred thousand entries).
MAX_LISTING_BYTES = 64 * 1024**2
# The longest a single connect or read may wait; never longer than the deadline's remainder.
SOCKET_TIMEOUT_SECONDS = 60
MAX_REDIRECTS = 5


class SourceError(RuntimeError):
    """The registry's source cannot be read; the message names the source and what to do.

    `report` holds what was downloaded before the error, if anything was."""

    def __init__(self, message: str, report: FetchReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass
class FetchReport:
    # names as shown (redacted); the files themselves keep their delivered names in the inbox
    downloaded: list[str] = field(default_factory=list)
    unchanged: int = 0


class _Deadline:
    def __init__(self, seconds: float | None = None):
        self.seconds = FETCH_DEADLINE_SECONDS if seconds is None else seconds
        self.at = time.monotonic() + self.seconds

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def socket_timeout(self, longest: float = SOCKET_TIMEOUT_SECONDS) -> float:
        """How long the next socket operation may wait: at most until the deadline."""
        return max(0.05, min(longest, self.at - time.monotonic()))


class _DeadlinePassed(Exception):
    pass


class _Skip(Exception):
    """This file is not fetched (the message says why); the other files are."""


def _bytes(n: int) -> str:
    if n >= 1024**3:
        return f"{n} bytes ({n / 1024**3:.1f} GiB)"
    return f"{n} bytes ({n / 1024**2:.1f} MiB)" if n >= 1024**2 else f"{n} bytes"


def _too_large(shown: str, size: int | None, limit: int | None = None,
               setting: str = "MAX_FILE_BYTES") -> _Skip:
    limit = MAX_FILE_BYTES if limit is None else limit
    where = f"the limit of {_bytes(limit)} ({setting} in regbench/sources.py)"
    if size is None:
        return _Skip(f"{shown} went over {where} while downloading; the partial download was deleted")
    return _Skip(f"{shown} is {_bytes(size)}, over {where}; not downloaded")


def _deadline_error(where: str, deadline: _Deadline, shown: str, report: FetchReport,
                    problems: list[str]) -> SourceError:
    others = f" Also not fetched: {'; '.join(problems)}." if problems else ""
    return SourceError(
        f"{where}: the transfer deadline of {deadline.seconds:g} s for one night "
        f"(FETCH_DEADLINE_SECONDS in regbench/sources.py) passed while fetching {shown}; it was "
        f"dropped (no partial file is left), the {len(report.downloaded)} file(s) finished before "
        f"it are kept and the rest come next night; if the link is this slow every night, ask the "
        f"registry.{others}", report)


def _finish(where: str, report: FetchReport, problems: list[str]) -> FetchReport:
    if problems:
        raise SourceError(f"{where}: {len(problems)} file(s) not fetched: {'; '.join(problems)}. "
                          f"{len(report.downloaded)} other file(s) downloaded.", report)
    return report


def _receive(chunks: Iterator[bytes], write: Callable[[bytes], object], deadline: _Deadline,
             shown: str, limit: int | None = None, setting: str = "MAX_FILE_BYTES") -> int:
    """Pass `chunks` to `write`, stopping at the size limit and at the deadline; the byte count."""
    limit = MAX_FILE_BYTES if limit is None else limit
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(shown, None, limit, setting)
        write(chunk)
        if deadline.expired():
            raise _DeadlinePassed
    return size


@contextmanager
def _part(target: Path, name: str) -> Iterator[Path]:
    """The `.part` name a file is downloaded to; gone afterwards, whether installed or abandoned."""
    tmp = target / f".{name}.part"
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _clear_stale_parts(target: Path) -> None:
    """`.part` files left by a run that was killed: older than a deadline, so no run is writing them."""
    cutoff = time.time() - FETCH_DEADLINE_SECONDS
    for path in target.glob(".*.part"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                log.info("%s: removed a partial download left by an interrupted run: %s",
                         target, redact(path.name))
        except OSError:
            continue


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
    _clear_stale_parts(target)
    deadline = _Deadline()
    if isinstance(source, SftpSource):
        return fetch_sftp(source, credentials(source.conn_id), target, deadline)
    if isinstance(source, HttpsSource):
        return fetch_https(source, credentials(source.conn_id), target, deadline)
    raise SourceError(f"{contract.registry_id}: unknown source kind {source.kind!r}")


def safe_name(name: str, where: str) -> str:
    """A remote file name is used as a local one: only a plain base name is acceptable."""
    if not name or name != os.path.basename(name) or name in {".", ".."} or "\\" in name:
        raise SourceError(f"{where}: refusing file name {redact(repr(name))}; a source may only list "
                          "plain file names")
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


def fetch_sftp(source: SftpSource, creds: Credentials, target: Path,
               deadline: _Deadline | None = None) -> FetchReport:
    import paramiko

    deadline = deadline or _Deadline()
    host, port = creds.host or "", int(creds.port or 22)
    where = f"SFTP {creds.login}@{host}:{port}/{source.remote_dir} (connection {source.conn_id})"
    if not host or not creds.login:
        raise SourceError(f"{where}: the connection needs a host and a login")
    client = paramiko.SSHClient()
    _host_key_policy(client, creds, host, port, where)
    wait = deadline.socket_timeout(30)
    try:
        client.connect(
            host, port=port, username=creds.login, password=creds.password or None,
            pkey=_private_key(creds, where), look_for_keys=False, allow_agent=False,
            timeout=wait, banner_timeout=wait, auth_timeout=wait,
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
    problems: list[str] = []
    shown = "the folder listing"
    try:
        sftp = client.open_sftp()
        channel = sftp.get_channel()
        channel.settimeout(deadline.socket_timeout())
        try:
            entries = sftp.listdir_attr(source.remote_dir)
        except OSError as exc:
            if deadline.expired():
                raise _DeadlinePassed from None
            raise SourceError(f"{where}: cannot list the folder ({exc})") from None
        for entry in sorted(entries, key=lambda e: e.filename):
            if not stat.S_ISREG(entry.st_mode or 0) or entry.filename.startswith("."):
                continue
            name = safe_name(entry.filename, where)
            shown = redact(name)
            local = target / name
            if local.exists() and local.stat().st_size == entry.st_size \
                    and int(local.stat().st_mtime) == int(entry.st_mtime or 0):
                report.unchanged += 1
                continue
            if deadline.expired():
                raise _DeadlinePassed
            if (entry.st_size or 0) > MAX_FILE_BYTES:
                problems.append(str(_too_large(shown, entry.st_size)))
                continue
            with _part(target, name) as tmp:
                try:
                    size = _sftp_get(sftp, f"{source.remote_dir.rstrip('/')}/{name}", entry.st_size,
                                     tmp, deadline, shown)
                except _Skip as exc:
                    problems.append(str(exc))
                    continue
                except TimeoutError:
                    if deadline.expired():
                        raise _DeadlinePassed from None
                    raise SourceError(f"{where}: the server stopped sending {shown} for "
                                      f"{SOCKET_TIMEOUT_SECONDS} s; try again", report) from None
                _install(tmp, local, entry.st_mtime)
            report.downloaded.append(shown)
            log.info("%s: downloaded %s (%d bytes)", where, shown, size)
    except _DeadlinePassed:
        raise _deadline_error(where, deadline, shown, report, problems) from None
    except (OSError, paramiko.SSHException) as exc:
        if deadline.expired():
            raise _deadline_error(where, deadline, shown, report, problems) from None
        raise SourceError(f"{where}: the transfer of {shown} failed ({exc}); try again", report) from None
    finally:
        client.close()  # also ends a transfer abandoned at the deadline, without waiting for it
    return _finish(where, report, problems)


def _sftp_get(sftp, remote: str, listed_size: int | None, tmp: Path, deadline: _Deadline,
              shown: str) -> int:
    channel = sftp.get_channel()
    channel.settimeout(deadline.socket_timeout())
    remote_file = sftp.open(remote, "rb")
    # pipelined reads (as SFTPClient.get does) for what the listing said; more is read plainly
    remote_file.prefetch(listed_size or 0)

    def chunks() -> Iterator[bytes]:
        while True:
            channel.settimeout(deadline.socket_timeout())
            data = remote_file.read(1 << 15)
            if not data:
                return
            yield data

    with tmp.open("wb") as fh:
        try:
            size = _receive(chunks(), fh.write, deadline, shown)
        except _Skip:
            remote_file.close()  # waits for no more than the listed size, itself under the limit
            raise
        # on the deadline or a timeout the file is left open: closing it would wait for the reads
        # in flight; the caller closes the whole connection instead
    remote_file.close()
    return size


# --- HTTPS ----------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _origin(url) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an httpx.URL: the origin a request goes to, as httpx parses it."""
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _show(origin: tuple[str, str, int | None]) -> str:
    """scheme://host:port only: a file's URL may carry its name or a signature in its path or query."""
    scheme, host, port = origin
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def _bearer_to(origin: tuple, token: str):
    """httpx auth that adds the token to requests for `origin` and refuses to send any other.

    Every request the client sends passes here (redirects are not followed by httpx, see _get), so
    this is the single place that decides where the token goes; _get and fetch_https check first
    only to name the file in the message."""
    import httpx

    class BearerToOrigin(httpx.Auth):
        def auth_flow(self, request):
            if _origin(request.url) != origin:
                raise _Skip(f"a request to {_show(_origin(request.url))} was refused: the token "
                            f"goes only to {_show(origin)}")
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    return BearerToOrigin()


class _HashingWriter:
    def __init__(self, fh):
        self.fh, self.sha256 = fh, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.fh.write(chunk)
        self.sha256.update(chunk)


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
            raise SourceError(f"{where}: listing entry {redact(repr(item))} has no file name")
        out.append(entry)
    return out


def _get(http, url, origin: tuple, deadline: _Deadline, where: str, shown: str,
         write: Callable[[bytes], object], limit: int | None = None,
         setting: str = "MAX_FILE_BYTES") -> int:
    """GET `url` into `write`, following redirects only while they stay on `origin`."""
    limit = MAX_FILE_BYTES if limit is None else limit
    for _ in range(MAX_REDIRECTS + 1):
        with http.stream("GET", url, timeout=deadline.socket_timeout()) as response:
            location = response.headers.get("Location")
            if response.is_redirect and location:
                url = response.url.join(location)
                if _origin(url) != origin:
                    raise _Skip(f"{shown} redirects to {_show(_origin(url))}; refused: the token "
                                f"goes only to {_show(origin)}")
                continue
            _raise_for(response, f"{where}, {shown}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(shown, int(declared), limit, setting)
            return _receive(response.iter_bytes(), write, deadline, shown, limit, setting)
    raise _Skip(f"{shown} redirects more than {MAX_REDIRECTS} times")


def fetch_https(source: HttpsSource, creds: Credentials, target: Path,
                deadline: _Deadline | None = None) -> FetchReport:
    import httpx

    deadline = deadline or _Deadline()
    where = f"HTTPS {source.url} (connection {source.conn_id})"
    try:
        listing_url = httpx.URL(source.url if source.url.endswith("/") else source.url + "/")
    except httpx.InvalidURL as exc:
        raise SourceError(f"{where}: the contract's url cannot be read ({exc})") from None
    if listing_url.scheme != "https" and listing_url.host not in _LOOPBACK:
        raise SourceError(f"{where}: the token would travel unencrypted; use an https:// URL")
    if not creds.password:
        raise SourceError(f"{where}: the connection has no token; put it in the connection's password")
    origin = _origin(listing_url)
    ca_bundle = creds.extra.get("ca_bundle")
    verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    report = FetchReport()
    problems: list[str] = []
    shown = "the listing"
    try:
        # follow_redirects=False: _get follows a redirect itself, and only on the same origin
        with httpx.Client(auth=_bearer_to(origin, creds.password), verify=verify,
                          headers={"Accept": "application/json"}, follow_redirects=False,
                          timeout=SOCKET_TIMEOUT_SECONDS) as http:
            body = io.BytesIO()
            try:
                _get(http, httpx.URL(source.url), origin, deadline, where, shown, body.write,
                     MAX_LISTING_BYTES, "MAX_LISTING_BYTES")
            except _Skip as exc:
                raise SourceError(f"{where}: {exc}") from None
            try:
                entries = _listing(json.loads(body.getvalue()), where)
            except ValueError:
                raise SourceError(f"{where}: the listing is not JSON") from None
            for entry in sorted(entries, key=lambda e: e["name"]):
                name = safe_name(entry["name"], where)
                shown = redact(name)
                local = target / name
                expected = entry.get("sha256")
                if expected and local.exists() and _sha256(local) == expected:
                    report.unchanged += 1
                    continue
                if deadline.expired():
                    raise _DeadlinePassed
                try:
                    url = listing_url.join(str(entry.get("url") or name))
                except httpx.InvalidURL:
                    problems.append(f"{shown}: its url cannot be read")
                    continue
                if _origin(url) != origin:
                    problems.append(f"{shown} points to {_show(_origin(url))}; refused, not requested: "
                                    f"the token goes only to {_show(origin)}")
                    continue
                listed = entry.get("size")
                if isinstance(listed, int) and listed > MAX_FILE_BYTES:
                    problems.append(str(_too_large(shown, listed)))
                    continue
                with _part(target, name) as tmp:
                    try:
                        with tmp.open("wb") as fh:
                            sink = _HashingWriter(fh)
                            _get(http, url, origin, deadline, where, shown, sink.write)
                    except _Skip as exc:
                        problems.append(str(exc))
                        continue
                    digest = sink.sha256.hexdigest()
                    if expected and digest != expected:
                        raise SourceError(f"{where}: {shown} arrived with sha256 {digest}, the "
                                          f"listing says {expected}; the transfer is corrupt, "
                                          "try again", report)
                    if local.exists() and _sha256(local) == digest:
                        report.unchanged += 1
                        continue
                    _install(tmp, local)
                report.downloaded.append(shown)
                log.info("%s: downloaded %s", where, shown)
    except _DeadlinePassed:
        raise _deadline_error(where, deadline, shown, report, problems) from None
    except httpx.TransportError as exc:
        if deadline.expired():
            raise _deadline_error(where, deadline, shown, report, problems) from None
        raise SourceError(f"{where}: cannot reach the endpoint ({exc}); is it up, and is the "
                          "certificate trusted (connection extra ca_bundle)?", report) from None
    return _finish(where, report, problems)


def _raise_for(response, where: str) -> None:
    if response.status_code in (401, 403):
        response.read()
        raise SourceError(f"{where}: the endpoint refused the token (HTTP {response.status_code}); "
                          "renew it with the registry and update the connection's password")
    if response.status_code >= 300:
        response.read()
        raise SourceError(f"{where}: HTTP {response.status_code} from the endpoint")
