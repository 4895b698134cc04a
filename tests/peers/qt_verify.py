"""Reads {"roots": [PEM], "cases": [{"name", "chain": [PEM], "host"}]} on stdin, trusts the
roots through Qt's default configuration, and prints what QSslCertificate::verify returns for
each case: {name: [[error kind, subject CN of its certificate or null], ...]} (tests/verify_qt.rs)."""
import json
import sys

from PyQt6.QtNetwork import QSslCertificate, QSslConfiguration
from PyQt6.QtNetwork import QSsl

spec = json.load(sys.stdin)
pem = lambda text: QSslCertificate(text.encode(), QSsl.EncodingFormat.Pem)
config = QSslConfiguration.defaultConfiguration()
for root in spec["roots"]:
    config.addCaCertificate(pem(root))
QSslConfiguration.setDefaultConfiguration(config)
out = {}
for case in spec["cases"]:
    errors = QSslCertificate.verify([pem(c) for c in case["chain"]], case["host"])
    out[case["name"]] = [
        [e.error().name,
         None if e.certificate().isNull()
         else (e.certificate().subjectInfo(QSslCertificate.SubjectInfo.CommonName) or [None])[0]]
        for e in errors]
print(json.dumps(out))
