"""Run Superset 6.1 from its own environment (.venv-superset) against regbench's configuration.

Superset cannot share the orchestration environment (SQLAlchemy < 2 against Airflow's >= 2), so
regbench drives it as processes: `superset db upgrade / fab create-admin / init` once, then
gunicorn. Secrets never have defaults: in demo mode they are generated once under var/superset/
and printed; otherwise they must come from the environment.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from regbench.config import Settings


class SupersetError(RuntimeError):
    pass


@dataclass(frozen=True)
class SupersetStack:
    settings: Settings
    port: int = 8088
    host: str = "127.0.0.1"

    @property
    def home(self) -> Path:
        return Path(os.environ.get("SUPERSET_HOME", self.settings.var / "superset")).resolve()

    @property
    def venv(self) -> Path:
        return Path(os.environ.get("REGBENCH_SUPERSET_VENV", self.settings.home / ".venv-superset"))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_user(self) -> str:
        return os.environ.get("REGBENCH_SUPERSET_ADMIN", "admin")

    def admin_password(self) -> str:
        return self._secret("REGBENCH_SUPERSET_ADMIN_PASSWORD", "admin_password", 18)

    def secret_key(self) -> str:
        return self._secret("SUPERSET_SECRET_KEY", "secret_key", 42)

    def _secret(self, env_name: str, file_name: str, nbytes: int) -> str:
        value = os.environ.get(env_name)
        if value:
            return value
        path = self.home / file_name
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        if not self.settings.demo_mode:
            raise SupersetError(
                f"{env_name} is not set. Outside demo mode regbench never invents a Superset "
                f"secret: set {env_name} in the environment (see .env.example)."
            )
        self.home.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(nbytes)
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return value

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SUPERSET_CONFIG_PATH=str(self.settings.home / "infra" / "superset" / "superset_config.py"),
            SUPERSET_HOME=str(self.home),
            SUPERSET_SECRET_KEY=self.secret_key(),
            FLASK_APP="superset.app:create_app()",
            PYTHONWARNINGS="ignore",
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def _bin(self, name: str) -> str:
        path = self.venv / "bin" / name
        if not path.exists():
            raise SupersetError(
                f"{path} not found: Superset's environment is missing. Run `make install-superset`."
            )
        return str(path)

    def _run(self, *args: str, env: dict[str, str] | None = None) -> None:
        proc = subprocess.run(
            [self._bin("superset"), *args], env={**self.env(), **(env or {})}, capture_output=True,
            text=True, stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise SupersetError(f"`superset {' '.join(args[:2])}` failed:\n{tail}")

    def _bootstrap_stamp(self) -> str:
        lock = self.settings.home / "infra" / "superset" / "requirements.lock"
        return hashlib.sha256(lock.read_bytes()).hexdigest() + ":" + self.admin_user

    def bootstrap(self, log=print) -> None:
        """Create or upgrade the metadata DB, the admin and the built-in roles; skipped when done."""
        stamp_file = self.home / ".bootstrapped"
        stamp = self._bootstrap_stamp()
        if stamp_file.exists() and stamp_file.read_text() == stamp:
            return
        self.home.mkdir(parents=True, exist_ok=True)
        log("superset: upgrading the metadata database (about 20 s)")
        self._run("db", "upgrade")
        log("superset: creating the admin user and the built-in roles (about 20 s)")
        # the password goes through the environment (Flask's variable for the option), never the
        # command line, which every local user can read in the process list
        self._run(
            "fab", "create-admin", "--username", self.admin_user, "--firstname", "regbench",
            "--lastname", "admin", "--email", "admin@regbench.invalid",
            env={"FLASK_FAB_CREATE_ADMIN_PASSWORD": self.admin_password()},
        )
        self._run("init")
        stamp_file.write_text(stamp)

    def start(self, log_file: Path | None = None) -> subprocess.Popen:
        log_file = log_file or (self.settings.logs / "superset.log")
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_file, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        cmd = [
            self._bin("gunicorn"), "-w", "2", "-k", "gthread", "--threads", "8",
            "-b", f"{self.host}:{self.port}", "--timeout", "120", "--no-control-socket",
            "superset.app:create_app()",
        ]
        return subprocess.Popen(
            cmd, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_healthy(self, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
        try:
            wait_for_http(f"{self.url}/health", proc, self.settings.logs / "superset.log", timeout)
        except RuntimeError as exc:
            raise SupersetError(str(exc)) from None


def wait_for_http(url: str, proc: subprocess.Popen | None, log: Path, timeout: float) -> None:
    """Until `url` answers below 500; fails early, naming the log, if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url} did not come up: the process exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()

