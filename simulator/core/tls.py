"""The simulator's own certificate authority and server certificate.

Clients trust the simulator the way they would trust a private sovereign cloud: through a CA
bundle (``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` / the kubeconfig CA). The CA is generated
once per state directory so kubeconfigs and bundles stay valid across restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


# Registries keep Azure's host names (clients reach them through the simulator's CONNECT
# proxy), so the server certificate also answers for every login server and the regional data
# endpoints (``<name>.<region>.data.azurecr.io``; a wildcard covers one label only).
ACR_SUFFIXES = ("azurecr.io", "azurecr.cn", "azurecr.us")
ACR_DATA_REGIONS = (
    "eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northcentralus",
    "southcentralus", "westcentralus", "canadacentral", "canadaeast", "brazilsouth",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral",
    "switzerlandnorth", "norwayeast", "swedencentral", "polandcentral", "italynorth",
    "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "centralindia",
    "southindia", "australiaeast", "australiasoutheast", "uaenorth", "southafricanorth",
    "chinaeast2", "chinanorth3", "usgovvirginia", "usgovarizona",
)
REGISTRY_HOSTNAMES = tuple(f"*.{s}" for s in ACR_SUFFIXES) + tuple(
    f"*.{r}.data.{s}" for s in ACR_SUFFIXES for r in ACR_DATA_REGIONS)


def _covers(cert_path: Path, hostnames: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(hostnames) <= set(sans.get_values_for_type(x509.DNSName))


def ensure_tls(directory: Path,
               hostnames: tuple[str, ...] = ("localhost", *REGISTRY_HOSTNAMES)) -> TlsFiles:
    """Create (or reuse) a CA and a server certificate for 127.0.0.1 in ``directory``.

    A server certificate from an older state directory that lacks some of ``hostnames`` is
    reissued by the same CA, so bundles and kubeconfigs stay valid."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca_key_path = directory / "ca-key.pem"
    if files.ca_cert.exists() and files.server_cert.exists() and files.server_key.exists():
        if _covers(files.server_cert, hostnames) or not ca_key_path.exists():
            return files
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        _issue_server_cert(files, ca, ca_key, hostnames)
        return files
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pullfix simulator CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, ca_key_path)
    _issue_server_cert(files, ca, ca_key, hostnames)
    return files


def _issue_server_cert(files: TlsFiles, ca: x509.Certificate,
                       ca_key: ec.EllipticCurvePrivateKey, hostnames: tuple[str, ...]) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_name = ca.subject
    key = _key()
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    sans += [x509.DNSName(h) for h in hostnames]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files.server_cert.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    _write_key(key, files.server_key)
