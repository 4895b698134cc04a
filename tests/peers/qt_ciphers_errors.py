"""Prints, as JSON, what the real Qt (PyQt6) says about QSslError texts, the supported and
default ciphers, the default configuration, the protocols it supports and the library it runs
on (tests/cipher_error_qt.rs compares)."""
import json

from PyQt6.QtNetwork import QSsl, QSslConfiguration, QSslError, QSslSocket


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
    "default_options": {o.name: default.testSslOption(o) for o in QSsl.SslOption},
    "default_session_ticket_life_time_hint": default.sessionTicketLifeTimeHint(),
    "default_missing_certificate_is_fatal": default.missingCertificateIsFatal(),
    "protocol_supported": {p.name: QSslSocket.isProtocolSupported(p) for p in QSsl.SslProtocol},
    "supports_ssl": QSslSocket.supportsSsl(),
    "library_version_string": QSslSocket.sslLibraryVersionString(),
    "library_version_number": QSslSocket.sslLibraryVersionNumber(),
}))
