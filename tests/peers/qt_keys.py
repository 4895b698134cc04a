"""Prints what the real Qt (PyQt6) makes of key files, one JSON line per argument
`path:algorithm:format:type:passphrase` (tests/key_qt.rs compares)."""
import json
import sys

from PyQt6.QtNetwork import QSsl, QSslKey

for arg in sys.argv[1:]:
    path, algorithm, fmt, kind, passphrase = arg.split(":")
    key = QSslKey(open(path, "rb").read(), getattr(QSsl.KeyAlgorithm, algorithm),
                  getattr(QSsl.EncodingFormat, fmt), getattr(QSsl.KeyType, kind),
                  passphrase.encode())
    print(json.dumps({
        "is_null": key.isNull(),
        "length": key.length(),
        "algorithm": key.algorithm().name,
        "type": key.type().name,
        "pem": bytes(key.toPem()).decode("latin-1"),
        "der": bytes(key.toDer()).hex(),
    }))
