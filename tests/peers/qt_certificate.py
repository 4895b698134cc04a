"""Prints what the real Qt (PyQt6) says about each PEM certificate file given, as JSON lines
(tests/certificate_qt.rs compares the crate's answers with them)."""
import json
import sys

from PyQt6.QtCore import QCryptographicHash
from PyQt6.QtNetwork import QSsl, QSslCertificate

INFO = ["Organization", "CommonName", "LocalityName", "OrganizationalUnitName", "CountryName",
        "StateOrProvinceName", "DistinguishedNameQualifier", "SerialNumber", "EmailAddress"]
ALGORITHMS = {QSsl.KeyAlgorithm.Rsa: "Rsa", QSsl.KeyAlgorithm.Ec: "Ec", QSsl.KeyAlgorithm.Dsa: "Dsa",
              QSsl.KeyAlgorithm.Dh: "Dh", QSsl.KeyAlgorithm.Opaque: "Opaque"}


def text(b):
    return bytes(b).decode("latin-1")


for path in sys.argv[1:]:
    c = QSslCertificate.fromPath(path)[0]
    info = lambda get: {name: get(getattr(QSslCertificate.SubjectInfo, name)) for name in INFO}
    key = c.publicKey()
    print(json.dumps({
        "path": path,
        "version": text(c.version()),
        "serial_number": text(c.serialNumber()),
        "digests": {name: bytes(c.digest(getattr(QCryptographicHash.Algorithm, name))).hex()
                    for name in ["Md5", "Sha1", "Sha256", "Sha512"]},
        "subject_info": info(c.subjectInfo),
        "issuer_info": info(c.issuerInfo),
        "subject_info_attributes": [text(a) for a in c.subjectInfoAttributes()],
        "issuer_info_attributes": [text(a) for a in c.issuerInfoAttributes()],
        "subject_display_name": c.subjectDisplayName(),
        "issuer_display_name": c.issuerDisplayName(),
        "subject_alternative_names": sorted(
            [t.name, v] for t, vs in c.subjectAlternativeNames().items() for v in
            (vs if isinstance(vs, list) else [vs])),
        "effective_date": c.effectiveDate().toSecsSinceEpoch(),
        "expiry_date": c.expiryDate().toSecsSinceEpoch(),
        "is_self_signed": c.isSelfSigned(),
        "is_blacklisted": c.isBlacklisted(),
        "public_key": [ALGORITHMS.get(key.algorithm(), "?"), key.length()],
        "to_text": c.toText(),
    }))
