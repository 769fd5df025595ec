"""SMTP over STARTTLS and over TLS from the first byte, with a login, against a real
aiosmtpd server holding certificates made here: the sender verifies the certificate,
never sends credentials in clear, and a refused connection keeps the mail for a retry."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alerting_support import Clock, add, alerting, story
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mailsink import MailSink

from api.console.messages import chinese
from monitor.alerts.outbox import Sender
from store import Store
from yuqing.config import ConfigError, SmtpConfig, load

LOGIN = ("yuqing", "s3cret")


@dataclass
class Pki:
    ca: Path  # the CA that signed the server's certificates
    other_ca: Path  # a CA that signed nothing the server holds
    server: ssl.SSLContext  # for 127.0.0.1 and localhost
    wrong_name: ssl.SSLContext  # signed by ``ca``, for mail.example.cn only


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    names: list[x509.GeneralName],
) -> x509.Certificate:
    now = datetime.now(UTC)
    public = key.public_key()
    signer_cert, signer_key = issuer or (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(signer_cert.subject if signer_cert else _name(subject))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        signing = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(signing, critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("yuqing test CA", ca_key, None, [])
    (folder / "ca.pem").write_bytes(_pem(ca))
    other = _certificate("another CA", ec.generate_private_key(ec.SECP256R1()), None, [])
    (folder / "other-ca.pem").write_bytes(_pem(other))
    contexts = {}
    local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for name, names in {"server": local, "wrong_name": [x509.DNSName("mail.example.cn")]}.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, key, (ca, ca_key), names)
        chain, key_file = folder / f"{name}.pem", folder / f"{name}.key"
        chain.write_bytes(_pem(cert))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain, key_file)
        contexts[name] = context
    return Pki(
        folder / "ca.pem", folder / "other-ca.pem", contexts["server"], contexts["wrong_name"]
    )


@pytest.fixture
def starttls(pki: Pki) -> Iterator[MailSink]:
    server = MailSink(login=LOGIN, tls=pki.server).start()
    yield server
    server.stop()


def restart(server: MailSink, tls: ssl.SSLContext) -> None:
    server.stop()
    server.tls = tls
    server.start()


def smtp(port: int, pki: Pki, **changes: object) -> SmtpConfig:
    values = {"port": port, "starttls": True, "username": LOGIN[0], "password": LOGIN[1]}
    return SmtpConfig.model_validate(values | {"ca_file": str(pki.ca), "timeout": 5} | changes)


def test_starttls_with_login_delivers_each_message_once(
    store: Store, pki: Pki, starttls: MailSink
) -> None:
    clock = Clock()
    add(store, alerting(store, clock), [story(n) for n in range(3)])
    # From the environment, as an operator configures it.
    env = {"YUQING_SMTP_PORT": str(starttls.port), "YUQING_SMTP_STARTTLS": "true"}
    env |= {"YUQING_SMTP_USERNAME": LOGIN[0], "YUQING_SMTP_PASSWORD": LOGIN[1]}
    env |= {"YUQING_SMTP_CA_FILE": str(pki.ca)}
    send = Sender(store, load(env=env).smtp, clock, workers=1)
    assert send.run_once() == 6
    clock.advance(hours=1)
    assert send.run_once() == 0
    keys = starttls.keys()
    assert len(keys) == 6 and len(set(keys)) == 6
    assert store.outbox.counts() == {"sent": 6}
    assert [user for _, user in starttls.logins] == ["yuqing"]  # one connection, one login


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_delivers(store: Store, pki: Pki) -> None:
    server = MailSink(login=LOGIN, tls=pki.server, implicit=True).start()
    try:
        clock = Clock()
        add(store, alerting(store, clock), [story(1)])
        config = smtp(server.port, pki, starttls=False, ssl=True)
        assert Sender(store, config, clock).run_once() == 2
        assert len(server.received) == 2 and store.outbox.counts() == {"sent": 2}
        assert {user for _, user in server.logins} == {"yuqing"}
    finally:
        server.stop()


@pytest.mark.parametrize("trust", ["system", "other_ca", "wrong_name"])
def test_untrusted_certificate_keeps_the_mail(
    store: Store, pki: Pki, starttls: MailSink, trust: str
) -> None:
    clock = Clock()
    add(store, alerting(store, clock), [story(n) for n in range(2)])
    if trust == "wrong_name":
        restart(starttls, pki.wrong_name)
    ca_file = {"system": "", "other_ca": str(pki.other_ca), "wrong_name": str(pki.ca)}[trust]
    config = smtp(starttls.port, pki, ca_file=ca_file)
    assert Sender(store, config, clock, workers=1).run_once() == 0
    waiting = store.outbox.list(limit=10)
    assert len(waiting) == 4 and {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
    expected = {
        "system": "unable to get local issuer certificate",
        "other_ca": "unable to get local issuer certificate",
        "wrong_name": "IP address mismatch, certificate is not valid for '127.0.0.1'",
    }[trust]
    for message in waiting:
        assert "the certificate was not accepted" in message.error and expected in message.error
        assert "smtp.ca_file" in message.error
        # Read in Chinese on the console's Chinese pages, the system's words kept.
        shown = chinese(message.error)
        assert shown.startswith(f"邮件服务器 127.0.0.1:{starttls.port}：证书未被接受：")
        assert expected in shown and shown.endswith("smtp.ca_file 指定信任的 CA）")
    # The password never went to a server the sender could not verify.
    assert starttls.logins == [] and starttls.received == []
    # Trusted again (the right CA, or the right certificate): everything goes out once.
    restart(starttls, pki.server)
    clock.advance(hours=1)
    assert Sender(store, smtp(starttls.port, pki), clock).run_once() == 4
    assert len(starttls.received) == 4


def test_wrong_password_keeps_the_mail_and_tries_once_per_batch(
    store: Store, pki: Pki, starttls: MailSink
) -> None:
    clock = Clock()
    add(store, alerting(store, clock), [story(n) for n in range(3)])
    wrong = smtp(starttls.port, pki, password="guess")
    assert Sender(store, wrong, clock, workers=1).run_once() == 0
    waiting = store.outbox.list(limit=10)
    # Kept for a retry: a wrong password is the configuration's fault, not the mail's,
    # and failing every queued message for good would lose them all.
    assert len(waiting) == 6 and {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
    for message in waiting:
        assert "logging in as 'yuqing' was refused: 535" in message.error
        assert "YUQING_SMTP_PASSWORD" in message.error
        assert "以 'yuqing' 登录被拒绝：535" in chinese(message.error)
    # One connection for the batch: six messages do not lock the account with six logins.
    assert len({peer for peer, _ in starttls.logins}) == 1 and starttls.received == []
    clock.advance(minutes=1)
    assert Sender(store, smtp(starttls.port, pki), clock).run_once() == 6
    assert len(starttls.received) == 6


def test_no_starttls_configured_keeps_the_mail(store: Store, pki: Pki, starttls: MailSink) -> None:
    clock = Clock()
    add(store, alerting(store, clock), [story(1)])
    plain = smtp(starttls.port, pki, starttls=False, username="", password="")
    assert Sender(store, plain, clock, workers=1).run_once() == 0
    waiting = store.outbox.list()
    # The server's "530 must issue STARTTLS first" is a setting to fix, not a bad recipient.
    assert {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
    assert all("530" in m.error and "STARTTLS" in m.error for m in waiting)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_credentials_are_never_sent_in_clear(store: Store, pki: Pki) -> None:
    env = {"YUQING_SMTP_USERNAME": "yuqing", "YUQING_SMTP_PASSWORD": "s3cret"}
    with pytest.raises(ConfigError) as info:
        load(env=env)
    assert "smtp: Value error, username needs an encrypted connection: set starttls or ssl" in str(
        info.value
    )
    with pytest.raises(ConfigError, match="password is set but username is empty"):
        load(env={"YUQING_SMTP_PASSWORD": "s3cret", "YUQING_SMTP_STARTTLS": "true"})
    (pki.ca.parent / "not-pem.txt").write_text("not a certificate")
    for bad in ("missing.pem", "not-pem.txt"):
        with pytest.raises(ConfigError, match=r"smtp\.ca_file: Value error, cannot use"):
            load(env={"YUQING_SMTP_CA_FILE": str(pki.ca.parent / bad)})
    # A server that offers AUTH in clear but no STARTTLS: the sender stops before AUTH.
    server = MailSink(login=LOGIN).start()
    try:
        clock = Clock()
        add(store, alerting(store, clock), [story(1)])
        assert Sender(store, smtp(server.port, pki), clock).run_once() == 0
        waiting = store.outbox.list()
        assert {(m.status, m.attempts) for m in waiting} == {("pending", 1)}
        assert all("STARTTLS extension not supported by server" in m.error for m in waiting)
        assert server.logins == [] and server.received == []
    finally:
        server.stop()
