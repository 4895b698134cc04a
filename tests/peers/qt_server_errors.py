"""A real Qt QSslServer (PyQt6) with the certificate and key files given, on 127.0.0.1: prints
`PORT <n>`, then records every errorOccurred (the socket's error and text) in order, and once
there are COUNT of them (the test's clients come one after another, one error each) prints them
as one JSON line (tests/server_errors_qt.rs).
Usage: qt_server_errors.py CERT KEY COUNT"""
import json
import sys

from PyQt6.QtCore import QCoreApplication, QTimer
from PyQt6.QtNetwork import QHostAddress, QSsl, QSslCertificate, QSslConfiguration, QSslKey, QSslServer, QSslSocket

app = QCoreApplication(sys.argv[:1])
cert_path, key_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = QSslConfiguration.defaultConfiguration()
config.setLocalCertificate(QSslCertificate.fromPath(cert_path)[0])
key_data = open(key_path, "rb").read()
key = QSslKey(key_data, QSsl.KeyAlgorithm.Rsa)
if key.isNull():
    key = QSslKey(key_data, QSsl.KeyAlgorithm.Ec)
config.setPrivateKey(key)
config.setPeerVerifyMode(QSslSocket.PeerVerifyMode.VerifyNone)
server = QSslServer()
server.setSslConfiguration(config)
server.setHandshakeTimeout(3000)
errors = []


def record(socket, error):
    errors.append([error.name, socket.errorString()])
    if len(errors) == count:
        # As many errors as connections: give any trailing ones half a second, then stop.
        QTimer.singleShot(500, app.quit)


server.errorOccurred.connect(record)
server.pendingConnectionAvailable.connect(server.nextPendingConnection)
assert server.listen(QHostAddress.SpecialAddress.LocalHost, 0)
print("PORT", server.serverPort(), flush=True)
QTimer.singleShot(20000, app.quit)
app.exec()
print(json.dumps(errors), flush=True)
