"""Alerts to a registry's contact when a unit's registrations collapse or its coverage falls below
the threshold: one message per episode (until the check passes again), never twice.

SMTP comes from the environment (REGBENCH_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _STARTTLS);
without REGBENCH_SMTP_HOST alerts wait in ops.alerts as unsent and are sent once SMTP is set.
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from regbench.contracts import Contract
from regbench.warehouse import Warehouse
from regbench.warehouse_checks import FAILED, UnitCheck

log = logging.getLogger("regbench.alerts")
ALERTING = {"registration_frequency", "coverage"}



@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool

    @classmethod
    def from_env(cls) -> SmtpConfig | None:
        host = os.environ.get("REGBENCH_SMTP_HOST")
        if not host:
            return None
        return cls(host, int(os.environ.get("REGBENCH_SMTP_PORT", "25")),
                   os.environ.get("REGBENCH_SMTP_USER"), os.environ.get("REGBENCH_SMTP_PASSWORD"),
                   os.environ.get("REGBENCH_SMTP_FROM", "regbench@localhost"),
                   os.environ.get("REGBENCH_SMTP_STARTTLS", "").lower() in {"1", "true", "yes"})


@dataclass
class AlertReport:
    opened: int = 0
    sent: int = 0
    unsent: int = 0
    closed: int = 0
    # sending failed: logged with the reason, tried again next night; publishing goes on
    errors: list[str] = field(default_factory=list)


def message(check: UnitCheck, contract: Contract, dashboard_url: str) -> tuple[str, str]:
    if check.check_name == "registration_frequency":
        subject = f"[regbench] {contract.name}: registreringarna har fallit på {check.unit_id}"
        what = (f"{check.unit_id} registered {check.unexpected_count} in {check.period}, against an "
                f"expected {check.element_count} (the median month of the year before, times the "
                f"window): {100 * (check.observed_value or 0):.0f} % of expected, alert below "
                f"{100 * check.threshold_value:.0f} %.")
    else:
        subject = f"[regbench] {contract.name}: låg täckningsgrad på {check.unit_id}"
        what = (f"{check.unit_id} covered {100 * (check.observed_value or 0):.0f} % of the persons in "
                f"the reference register in {check.period} ({check.element_count} persons), "
                f"threshold {100 * check.threshold_value:.0f} %.")
    body = (f"Registry: {contract.name} ({contract.registry_id})\nUnit: {check.unit_id}\n\n{what}\n\n"
            f"Dashboard: {dashboard_url}\n\nThis alert is sent once; the next comes only after the "
            "unit has passed the check again.\n")
    return subject, body


def process(wh: Warehouse, results: list[UnitCheck], contracts: dict[str, Contract], now: datetime,
            smtp: SmtpConfig | None = None, dashboard_url: str | None = None) -> AlertReport:
    wh.ensure_ops()
    dashboard_url = dashboard_url or os.environ.get("REGBENCH_DASHBOARD_URL", "http://127.0.0.1:8088/")
    report = AlertReport()
    open_alerts = {(r, u, c) for r, u, c in wh.fetchall(
        "SELECT registry_id, unit_id, check_name FROM ops.alerts WHERE closed_at IS NULL")}
    for check in results:
        key = (check.registry_id, check.unit_id, check.check_name)
        if check.check_name not in ALERTING:
            continue
        if check.status == FAILED and key not in open_alerts:
            wh.execute(
                "INSERT INTO ops.alerts (registry_id, unit_id, check_name, opened_at, observed_value,"
                " threshold_value, period, recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [*key, now, check.observed_value, check.threshold_value, check.period,
                 contracts[check.registry_id].contact_email])
            report.opened += 1
        elif check.status != FAILED and key in open_alerts:
            wh.execute("UPDATE ops.alerts SET closed_at = ? WHERE registry_id = ? AND unit_id = ?"
                       " AND check_name = ? AND closed_at IS NULL", [now, *key])
            report.closed += 1
    by_key = {(c.registry_id, c.unit_id, c.check_name): c for c in results}
    pending = wh.fetchall("SELECT registry_id, unit_id, check_name, recipient FROM ops.alerts"
                          " WHERE sent_at IS NULL AND closed_at IS NULL")
    for registry_id, unit_id, check_name, recipient in pending:
        check = by_key.get((registry_id, unit_id, check_name))
        if smtp is None or check is None:
            report.unsent += 1
            continue
        subject, body = message(check, contracts[registry_id], dashboard_url)
        try:
            _send(smtp, recipient, subject, body)
        except RuntimeError as exc:
            log.error("%s", exc)
            report.errors.append(str(exc))
            report.unsent += 1
            continue
        wh.execute("UPDATE ops.alerts SET sent_at = ? WHERE registry_id = ? AND unit_id = ?"
                   " AND check_name = ? AND sent_at IS NULL AND closed_at IS NULL",
                   [now, registry_id, unit_id, check_name])
        report.sent += 1
    if report.unsent:
        log.warning("%d alert(s) not sent: set REGBENCH_SMTP_HOST to send them", report.unsent)
    return report


def _send(smtp: SmtpConfig, recipient: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, recipient, subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as s:
            if smtp.starttls:
                s.starttls()
            if smtp.user:
                s.login(smtp.user, smtp.password or "")
            s.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise RuntimeError(f"could not send the alert to {recipient} through {smtp.host}:{smtp.port}"
                           f" ({exc}); check REGBENCH_SMTP_* and that the server accepts mail") from exc
