"""SMTP server for the mail client tests: aiosmtpd on 127.0.0.1:PORT, STARTTLS required before
MAIL, and on it a client certificate from the CA required. Prints "ready", then one JSON line per
accepted message: {"from", "to", "data", "peercert"}.

usage: smtp-server.py PORT CERT KEY CA
"""

import asyncio
import json
import ssl
import sys

from aiosmtpd.controller import Controller


class Handler:
    async def handle_DATA(self, server, session, envelope):
        peer = session.ssl.get("peercert") if session.ssl else None
        subject = dict(x[0] for x in peer["subject"]) if peer else None
        line = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf8", "replace"), "peercert": subject}
        print(json.dumps(line), flush=True)
        return "250 Message accepted for delivery"


def main():
    port, cert, key, ca = sys.argv[1:5]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=context,
                            require_starttls=True, server_hostname="localhost")
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
