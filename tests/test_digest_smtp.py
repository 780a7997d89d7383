"""Sending the digest to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from datetime import date, datetime, timezone
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from smtpserver import SmtpServer, TlsFiles, free_port, make_self_signed

from monitor.config import DigestConfig
from monitor.digest import (
    DigestEntry,
    DigestSection,
    SmtpSender,
    SmtpSettings,
    build_digest,
    build_message,
)
from monitor.errors import DeliveryError

UTC = timezone.utc
USER, PASSWORD = "monitor", "s3cret-Pa55word"
SEED_TITLE = "Russia Said It Coordinated Syrian Airstrikes With US, Pentagon Denies Claim"
SEED_URL = "https://www.geoplotics.example/russia-coordinated-syrian-airstrikes-us-pentagon-denies"
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
CONFIG = DigestConfig(to=("desk@example.org",), sender="Media Monitor <monitor@example.org>", timezone="Europe/Moscow")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files = make_self_signed(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("STARTTLS and SSL tests need the openssl command to make a test certificate")
    return files


def digest_message(to: tuple[str, ...] = ("desk@example.org",)) -> EmailMessage:
    entries = (
        DigestEntry(
            SEED_TITLE,
            SEED_URL,
            "Geoplotics",
            ("Reuters", "RT"),
            datetime(2017, 3, 8, 11, 5, tzinfo=UTC),
            "Russia said its air force struck Islamic State targets with the US-led coalition.",
            ("airstrikes", "Pentagon"),
            "high",
        ),
        DigestEntry(
            HOSTILE_TITLE,
            "https://evil.example/x",
            "Evil Feed",
            (),
            datetime(2017, 3, 8, 9, tzinfo=UTC),
            "Before <script>alert(2)</script> after",
            ("alert",),
            "normal",
        ),
    )
    digest = build_digest(
        [DigestSection("russia-us-syria", "Russia, US and Syria", "high", entries)],
        day=date(2017, 3, 8),
        tz="Europe/Moscow",
        period_start=datetime(2017, 3, 7, 21, tzinfo=UTC),
        period_end=datetime(2017, 3, 8, 21, tzinfo=UTC),
    )
    return build_message(digest, CONFIG, to=to, now=datetime(2017, 3, 9, 5, tzinfo=UTC), domain="monitor.example.org")


def sender(server: SmtpServer, **kwargs: object) -> SmtpSender:
    settings = {"host": server.host, "port": server.port, "security": "none", "timeout": 5.0, **kwargs}
    context = settings.pop("context", None)
    return SmtpSender(SmtpSettings(**settings), ssl_context=context)  # type: ignore[arg-type]


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_it_delivers_a_message_that_parses_as_multipart_alternative(plain_server: SmtpServer) -> None:
    refused = sender(plain_server).send(digest_message())
    assert refused == {}
    [received] = plain_server.messages
    assert received.mail_from == "monitor@example.org"
    assert received.rcpt_tos == ["desk@example.org"]
    msg = email.message_from_bytes(received.data, policy=default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    for header in ("Auto-Submitted", "Message-ID", "Date", "List-Id"):
        assert msg[header], header
    assert msg["Auto-Submitted"] == "auto-generated"


def test_it_delivers_escaped_html_and_plain_text(plain_server: SmtpServer) -> None:
    sender(plain_server).send(digest_message())
    msg = email.message_from_bytes(plain_server.messages[0].data, policy=default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert SEED_TITLE in text and SEED_URL in text
    assert SEED_TITLE in re.sub(r"<[^>]+>", "", html) and f'href="{SEED_URL}"' in html
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;" in html
    assert HOSTILE_TITLE in text and "<script>alert(2)</script>" in text
    assert "14:05 MSK" in text and "14:05 MSK" in html


def test_it_logs_in_when_a_username_is_set() -> None:
    with SmtpServer(user=USER, password=PASSWORD) as server:
        sender(server, username=USER, password=PASSWORD).send(digest_message())
        assert [m.authenticated_as for m in server.messages] == [USER]


def test_it_reports_a_refused_login_as_permanent_without_the_password() -> None:
    wrong = "wrong-" + PASSWORD
    with SmtpServer(user=USER, password=PASSWORD) as server:
        smtp = sender(server, username=USER, password=wrong)
        with pytest.raises(DeliveryError) as caught:
            smtp.send(digest_message())
        assert server.messages == []
    error = caught.value
    assert error.permanent
    assert str(error).startswith("digest: ")
    assert "535" in str(error) and USER in str(error)
    for shown in (str(error), repr(error), repr(smtp)):
        assert wrong not in shown and PASSWORD not in shown


def test_it_masks_the_password_in_settings_repr() -> None:
    settings = SmtpSettings(host="smtp.example.org", username=USER, password=PASSWORD)
    assert PASSWORD not in repr(settings) and "password='***'" in repr(settings)
    assert "password=None" in repr(SmtpSettings(host="smtp.example.org"))


@pytest.mark.parametrize(
    ("mode", "permanent", "words"),
    [
        ("tempfail", False, "451"),
        ("refuse", True, "550"),
        ("close", False, "closed the connection"),
    ],
)
def test_it_tells_transient_from_permanent_failures(mode: str, permanent: bool, words: str) -> None:
    with SmtpServer(mode=mode) as server:
        with pytest.raises(DeliveryError) as caught:
            sender(server).send(digest_message())
    assert caught.value.permanent is permanent
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"digest: 127.0.0.1:{server.port} ")


def test_it_reports_a_refused_connection_as_transient() -> None:
    port = free_port()  # nothing listens here
    smtp = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=5.0))
    with pytest.raises(DeliveryError) as caught:
        smtp.send(digest_message())
    assert not caught.value.permanent
    assert f"cannot connect to 127.0.0.1:{port}" in str(caught.value)


def test_it_reports_a_silent_server_as_a_transient_timeout() -> None:
    with socket.socket() as listener:  # accepts the connection but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        smtp = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=0.3))
        with pytest.raises(DeliveryError) as caught:
            smtp.send(digest_message())
    assert not caught.value.permanent
    assert "127.0.0.1" in str(caught.value)


def test_it_returns_recipients_refused_while_others_were_accepted() -> None:
    with SmtpServer(refuse_recipients={"gone@example.org"}) as server:
        refused = sender(server).send(digest_message(to=("desk@example.org", "gone@example.org")))
        assert [m.rcpt_tos for m in server.messages] == [["desk@example.org"]]
    assert list(refused) == ["gone@example.org"] and refused["gone@example.org"][0] == 550


def test_it_upgrades_with_starttls_and_logs_in(tls: TlsFiles) -> None:
    with SmtpServer(user=USER, password=PASSWORD, tls=tls, require_starttls=True) as server:
        smtp = sender(server, security="starttls", username=USER, password=PASSWORD, context=tls.client_context())
        smtp.send(digest_message())
        assert [(m.tls, m.authenticated_as) for m in server.messages] == [(True, USER)]


def test_it_speaks_tls_from_the_start_in_ssl_mode(tls: TlsFiles) -> None:
    with SmtpServer(tls=tls, implicit_tls=True) as server:
        sender(server, security="ssl", context=tls.client_context()).send(digest_message())
        assert [m.tls for m in server.messages] == [True]


def test_it_refuses_an_untrusted_certificate_permanently(tls: TlsFiles) -> None:
    with SmtpServer(tls=tls) as server:
        with pytest.raises(DeliveryError) as caught:
            sender(server, security="starttls").send(digest_message())  # system trust store
    assert caught.value.permanent
    assert "certificate" in str(caught.value)


def test_it_fails_permanently_when_starttls_is_not_offered() -> None:
    with SmtpServer() as server:
        with pytest.raises(DeliveryError) as caught:
            sender(server, security="starttls").send(digest_message())
    assert caught.value.permanent
    assert "STARTTLS" in str(caught.value)


def test_it_rejects_an_unknown_security_mode() -> None:
    with pytest.raises(ValueError, match="starttls, ssl, none"):
        SmtpSettings(host="smtp.example.org", security="tls")


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_it_picks_the_usual_port_for_each_mode(security: str, port: int) -> None:
    assert SmtpSettings(host="h", security=security).effective_port == port


def test_openssl_fixture_writes_files(tls: TlsFiles) -> None:
    assert Path(tls.cert).exists() and Path(tls.key).exists()
