"""Self-signed TLS certificates for test servers (dates given by the test, never the wall
clock)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def self_signed(folder: Path, name: str, not_before: datetime, not_after: datetime, *,
                ca: bool = False, files: tuple[str, str] = ("cert.pem", "key.pem"),
                ) -> tuple[Path, Path]:
    """A certificate for `name` (an EC key, `name` as its subject and only DNS name), valid
    from `not_before` to `not_after`, a CA when `ca`; written into `folder` as `files`
    (certificate, key). Returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    cert = builder.sign(key, hashes.SHA256())
    crt, pem = folder / files[0], folder / files[1]
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem
