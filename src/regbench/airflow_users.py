"""Airflow's users in production, from a file: the FAB auth manager keeps users, roles and hashed
passwords in the metadata database; this puts the users of a YAML file there (as the Superset
users are provisioned), passwords read from the environment, never from a command line.

`regbench airflow-init --users FILE` runs it in Airflow's environment (the compose `airflow-init`
service does); safe to run again: an existing user gets the file's role and e-mail and the password
of its environment variable. Passwords follow the rules of `regbench check-config`
(production_check.py) outside demo mode.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from regbench.production_check import secret_problem

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


class AirflowUsersError(ValueError):
    """A users file that cannot be provisioned; the message names the file, the user and the fix."""


@dataclass(frozen=True)
class AirflowUser:
    username: str
    email: str
    role: str
    password: str = field(repr=False)
    first_name: str = ""
    last_name: str = ""


@dataclass
class Provisioned:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def read_users(path: Path, env: Mapping[str, str]) -> list[AirflowUser]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    users = []
    for entry in doc.get("users") or []:
        name = entry.get("username", "?")
        missing = [k for k in ("username", "email", "role", "password_env") if not entry.get(k)]
        if missing:
            raise AirflowUsersError(f"{path}: user {name!r} lacks {', '.join(missing)}")
        password = env.get(entry["password_env"], "")
        if not password:
            raise AirflowUsersError(f"{path}: user {name!r}: set {entry['password_env']} in the "
                                    "environment (passwords never live in the file)")
        weak = None if env.get("REGBENCH_DEMO") == "1" else secret_problem(password)
        if weak:
            raise AirflowUsersError(f"{path}: user {name!r}: {entry['password_env']} {weak}")
        users.append(AirflowUser(entry["username"], entry["email"], entry["role"], password,
                                 entry.get("first_name", name), entry.get("last_name", "-")))
    return users


def provision(users: list[AirflowUser]) -> Provisioned:
    """Create or update each user in the FAB tables of Airflow's metadata database."""
    from airflow.configuration import conf

    manager = conf.get("core", "auth_manager")
    if manager != FAB_AUTH_MANAGER:
        raise AirflowUsersError(
            f"Airflow's auth manager is {manager}; users from a file need "
            f"AIRFLOW__CORE__AUTH_MANAGER={FAB_AUTH_MANAGER}")
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    done = Provisioned()
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        known = {r.name for r in sm.get_all_roles()}
        for user in users:
            role = sm.find_role(user.role)
            if role is None:
                raise AirflowUsersError(f"user {user.username!r}: role {user.role!r} is not one of "
                                        f"{', '.join(sorted(known))}")
            existing = sm.find_user(username=user.username)
            if existing is None:
                if not sm.add_user(user.username, user.first_name, user.last_name, user.email,
                                   role, user.password):
                    raise AirflowUsersError(f"user {user.username!r} could not be created")
                done.created.append(user.username)
            else:
                existing.roles = [role]
                existing.email = user.email
                sm.update_user(existing)
                sm.reset_password(existing.id, user.password)
                done.updated.append(user.username)
    return done


def provision_file(path: Path, env: Mapping[str, str] | None = None) -> Provisioned:
    return provision(read_users(path, os.environ if env is None else env))


if __name__ == "__main__":  # run by `regbench airflow-init --users` in Airflow's environment
    import sys

    try:
        done = provision_file(Path(sys.argv[1]))
    except AirflowUsersError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    print(f"Airflow users created: {', '.join(done.created) or 'none'}; "
          f"updated: {', '.join(done.updated) or 'none'}")
