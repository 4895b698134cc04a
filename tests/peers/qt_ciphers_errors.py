"""Prints, as JSON, what the real Qt (PyQt6) says about QSslError texts, the supported and
default ciphers, and the default configuration (tests/cipher_error_qt.rs compares)."""
import json

from PyQt6.QtNetwork import QSslConfiguration, QSslError


def cipher(c):
    return {"name": c.name(), "protocol_string": c.protocolString(),
            "protocol": c.protocol().name, "key_exchange_method": c.keyExchangeMethod(),
            "authentication_method": c.authenticationMethod(),
            "encryption_method": c.encryptionMethod(), "used_bits": c.usedBits(),
            "supported_bits": c.supportedBits()}


default = QSslConfiguration.defaultConfiguration()
print(json.dumps({
    "errors": {k.name: QSslError(k).errorString() for k in QSslError.SslError},
    "supported_ciphers": [cipher(c) for c in QSslConfiguration.supportedCiphers()],
    "default_ciphers": [c.name() for c in default.ciphers()],
    "default_protocol": default.protocol().name,
    "default_peer_verify_mode": default.peerVerifyMode().name,
    "default_peer_verify_depth": default.peerVerifyDepth(),
}))
