"""The local stack's TLS material: a private CA and a 127.0.0.1/localhost server certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.stack.files import private_dir, write_file

DEFAULT_HOSTS = ("127.0.0.1", "localhost")
_CA_DAYS = 3650
# Clients such as browsers refuse longer-lived server certificates.
_SERVER_DAYS = 397
_RENEW_BEFORE = dt.timedelta(days=7)

_Name = x509.DNSName | x509.IPAddress
_KeyPair = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA that clients trust, and the server's certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path


def ensure_tls(directory: Path, hosts: Sequence[str] = DEFAULT_HOSTS) -> TlsFiles:
    """Reuse the CA and server certificate in directory if valid for hosts, else make them."""
    private_dir(directory)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca_key_path = directory / "ca-key.pem"
    ca = _load_ca(files.ca_cert, ca_key_path)
    if ca is None:
        ca = _new_ca()
        write_file(files.ca_cert, ca[0].public_bytes(serialization.Encoding.PEM), 0o644)
        write_file(ca_key_path, _key_pem(ca[1]), 0o600)
    if not _server_cert_valid(files, ca[0], hosts):
        cert, key = _new_server_cert(ca, hosts)
        write_file(files.key, _key_pem(key), 0o600)
        write_file(files.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return files


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _san(host: str) -> _Name:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _load_ca(cert_path: Path, key_path: Path) -> _KeyPair | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
        return None
    if cert.not_valid_after_utc - _RENEW_BEFORE < _now():
        return None
    return cert, key


def _new_ca() -> _KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "profilepics local stack CA")])
    # Name constraints: even if someone trusts this CA system-wide, it can vouch for
    # loopback names only.
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
            x509.IPAddress(ipaddress.ip_network("::1/128")),
        ],
        excluded_subtrees=None,
    )
    cert = (
        _builder(name, name, key.public_key(), _CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(constraints, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(ca: _KeyPair, hosts: Sequence[str]) -> _KeyPair:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), _SERVER_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _server_cert_valid(files: TlsFiles, ca_cert: x509.Certificate, hosts: Sequence[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    fresh = cert.not_valid_after_utc - _RENEW_BEFORE > _now()
    covers = all(_san(h) in sans for h in hosts)
    return fresh and covers and cert.public_key() == key.public_key()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
