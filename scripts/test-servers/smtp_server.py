"""The SMTP server of scripts/test-servers/smtp.sh: aiosmtpd on loopback.

`smtp_server.py DIR PORT TLS_PORT`: STARTTLS (offered, not required) and AUTH PLAIN/LOGIN
on PORT, implicit TLS and AUTH on TLS_PORT, with DIR/server.crt and DIR/server.key. The
one login is `retrain` with the password in DIR/password. Each accepted message is
written to DIR/mail/NNNN.eml, after two header lines X-Envelope-From and X-Envelope-To
giving what the client said in MAIL FROM and RCPT TO.
"""

import asyncio
import pathlib
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

folder, port, tls_port = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
password = (folder / "password").read_text().strip().encode()
mail = folder / "mail"
# The two servers run in threads of their own: one counter for both.
numbering = threading.Lock()
written = [0]


class Save:
    async def handle_DATA(self, server, session, envelope):
        with numbering:
            count = written[0]
            written[0] += 1
        head = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {','.join(envelope.rcpt_tos)}\r\n"
        temporary = mail / f".{count:04d}.tmp"
        temporary.write_bytes(head.encode() + envelope.original_content)
        temporary.rename(mail / f"{count:04d}.eml")
        return "250 OK"


def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"retrain" and data.password == password
    return AuthResult(success=ok)


def context():
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(folder / "server.crt", folder / "server.key")
    return tls


common = dict(hostname="127.0.0.1", authenticator=authenticate, auth_required=False)
# AUTH only inside TLS (aiosmtpd's default), as a real server does.
starttls = Controller(Save(), port=port, server_kwargs=dict(tls_context=context()), **common)
# aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH; this port is TLS
# from the first byte, so it may offer AUTH at once.
implicit = Controller(Save(), port=tls_port, ssl_context=context(), server_kwargs=dict(auth_require_tls=False), **common)
starttls.start()
implicit.start()
print(f"listening on 127.0.0.1:{port} (STARTTLS) and 127.0.0.1:{tls_port} (TLS)", flush=True)
try:
    asyncio.new_event_loop().run_forever()
finally:
    starttls.stop()
    implicit.stop()
