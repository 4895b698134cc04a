"""Prints Qt's enums as JSON, {crate enum name: {Qt variant name: Qt value}}, from the real Qt
(PyQt6, tests/enums.rs). Zero-valued flags (PauseNever) are not members PyQt6 lists."""
import json, enum
from PyQt6.QtNetwork import QSslError, QSslSocket, QSsl, QAbstractSocket, QSslCertificate
from PyQt6.QtCore import QCryptographicHash
classes = {
 'SslErrorKind': QSslError.SslError, 'SslMode': QSslSocket.SslMode, 'PeerVerifyMode': QSslSocket.PeerVerifyMode,
 'SslProtocol': QSsl.SslProtocol, 'SocketState': QAbstractSocket.SocketState, 'SocketError': QAbstractSocket.SocketError,
 'SocketOption': QAbstractSocket.SocketOption, 'PauseMode': QAbstractSocket.PauseMode, 'EncodingFormat': QSsl.EncodingFormat,
 'KeyAlgorithm': QSsl.KeyAlgorithm, 'KeyType': QSsl.KeyType, 'PatternSyntax': QSslCertificate.PatternSyntax,
 'SubjectInfo': QSslCertificate.SubjectInfo, 'AlternativeNameEntryType': QSsl.AlternativeNameEntryType,
 'DigestAlgorithm': QCryptographicHash.Algorithm, 'SslOption': QSsl.SslOption}
print(json.dumps({k: {m.name: int(m.value) for m in c} for k, c in classes.items()}))
