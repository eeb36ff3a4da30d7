"""A certificate per DB instance, signed by the emulator's CA.

Each RDS instance presents a certificate for its own endpoint, chaining to the RDS
CA of its region (RDS user guide, "Using SSL/TLS to encrypt a connection to a DB
instance"); a client that verifies the host name therefore tells instances apart.
Here each instance has its own loopback address, and its MariaDB server presents a
certificate for that address and the instance's name, signed by the CA that
``xtask/src/tls.rs`` made for this emulator (``ca.pem``, ``ca-key.pem``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def take_key(path: str) -> bytes:
    """Reads the CA's key and removes its file: from then on only the launcher holds it
    (the functions it runs share its user and could read a file)."""
    with open(path, "rb") as handle:
        key = handle.read()
    os.remove(path)
    return key


def issue(ca_cert_path: str, ca_key_pem: bytes, directory: str, name: str, addresses: list[str]) -> tuple[str, str]:
    """Writes ``cert.pem`` and ``key.pem`` (0600) for ``name`` and ``addresses`` into ``directory``."""
    with open(ca_cert_path, "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    alternative = [x509.DNSName(name)] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    os.makedirs(directory, exist_ok=True)
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path + ".tmp", "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(key_path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    os.replace(cert_path + ".tmp", cert_path)
    os.replace(key_path + ".tmp", key_path)
    return cert_path, key_path
