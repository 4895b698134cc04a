"""For each `host:port` argument, connects a real Qt QSslSocket (PyQt6) with
connectToHostEncrypted, waits for the handshake (bounded), and prints one JSON line: whether it
got encrypted, its error and errorString, and its final state (tests/connect_errors_qt.rs)."""
import json
import sys

from PyQt6.QtCore import QCoreApplication
from PyQt6.QtNetwork import QSslSocket

app = QCoreApplication(sys.argv[:1])
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    s = QSslSocket()
    s.connectToHostEncrypted(host, int(port))
    ok = s.waitForEncrypted(5000)
    if not ok and s.state() != QSslSocket.SocketState.UnconnectedState:
        s.waitForDisconnected(2000)
    print(json.dumps({"encrypted": ok, "error": s.error().name, "error_string": s.errorString(),
                      "state": s.state().name}), flush=True)
    s.abort()
