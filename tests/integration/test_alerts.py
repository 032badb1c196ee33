"""An alert reaches the registry's contact through a real SMTP server, once per episode."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from regbench.alerts import SmtpConfig, process
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.warehouse import Warehouse
from regbench.warehouse_checks import UnitCheck

CONTRACTS = load_contracts(REPO_ROOT / "registries")


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpConfig("127.0.0.1", port, None, None, "regbench@test.invalid", False), inbox
    controller.stop()


@pytest.fixture
def wh(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.delenv("REGBENCH_WAREHOUSE", raising=False)
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    with Warehouse(get_settings()) as w:
        w.ensure_ops()
        yield w


def collapse(status: str, observed: float = 0.04) -> UnitCheck:
    return UnitCheck("palliativ", "SE2321001207-P177", "registration_frequency", "plausibility",
                     "warning", status, observed, 0.5, "2026-08..2026-10", element_count=70,
                     unexpected_count=3)


def test_alert_is_sent_once_per_episode_and_again_after_recovery(wh, smtp_server):
    smtp, inbox = smtp_server
    night = datetime(2026, 11, 24, 3)
    first = process(wh, [collapse("failed")], CONTRACTS, night, smtp, "http://dash.example/p")
    assert (first.opened, first.sent) == (1, 1)
    (msg,) = inbox.messages
    assert msg["To"] == CONTRACTS["palliativ"].contact_email
    body = msg.get_payload()
    for part in ("Svenska palliativregistret", "SE2321001207-P177", "registered 3", "expected 70",
                 "http://dash.example/p"):
        assert part in body

    second = process(wh, [collapse("failed", 0.02)], CONTRACTS, night + timedelta(days=1), smtp)
    assert (second.opened, second.sent) == (0, 0) and len(inbox.messages) == 1

    recovered = process(wh, [collapse("passed", 0.9)], CONTRACTS, night + timedelta(days=2), smtp)
    assert recovered.closed == 1
    again = process(wh, [collapse("failed")], CONTRACTS, night + timedelta(days=30), smtp)
    assert (again.opened, again.sent) == (1, 1) and len(inbox.messages) == 2


def test_without_smtp_alerts_wait_and_are_sent_once_configured(wh, smtp_server):
    smtp, inbox = smtp_server
    night = datetime(2026, 11, 24, 3)
    low = UnitCheck("njur", "SE2321001259-N149", "coverage", "completeness", "warning", "failed",
                    0.548, 0.7, "2026", element_count=62)
    waiting = process(wh, [low], CONTRACTS, night, None)
    assert (waiting.opened, waiting.sent, waiting.unsent) == (1, 0, 1)
    sent = process(wh, [low], CONTRACTS, night + timedelta(days=1), smtp)
    assert (sent.opened, sent.sent) == (0, 1)
    assert "55 %" in inbox.messages[0].get_payload()
    assert wh.fetchone("SELECT count(*) FROM ops.alerts WHERE sent_at IS NOT NULL")[0] == 1


def test_an_unreachable_smtp_server_is_reported_and_retried_without_stopping_the_night(
        wh, smtp_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = SmtpConfig("127.0.0.1", port, None, None, "regbench@test.invalid", False)
    report = process(wh, [collapse("failed")], CONTRACTS, datetime(2026, 11, 24), dead)
    assert report.unsent == 1
    (error,) = report.errors
    assert f"127.0.0.1:{port}" in error and "REGBENCH_SMTP_" in error
    smtp, inbox = smtp_server
    retried = process(wh, [collapse("failed")], CONTRACTS, datetime(2026, 11, 25), smtp)
    assert (retried.opened, retried.sent, len(inbox.messages)) == (0, 1, 1)
