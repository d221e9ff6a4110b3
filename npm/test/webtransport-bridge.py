#!/usr/bin/env python3
"""A WebTransport → TCP bridge for the browser tests, on aioquic (HTTP/3).

Each bidirectional stream a client opens in a WebTransport session on `/tls` becomes one TCP
connection to 127.0.0.1:TARGET_PORT; bytes are copied both ways and a FIN on either side is passed
on. The bridge sees only the TLS records it forwards.

usage: webtransport-bridge.py PORT CERT KEY TARGET_PORT
"""

import asyncio
import sys

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, StreamReset


class Bridge(QuicConnectionProtocol):
    def __init__(self, *args, target_port, **kwargs):
        super().__init__(*args, **kwargs)
        self._target_port = target_port
        self._h3 = None
        self._inbound = {}  # stream id -> queue of client bytes (None = FIN)

    def quic_event_received(self, event):
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self._h3 = H3Connection(self._quic, enable_webtransport=True)
        if isinstance(event, StreamReset) and event.stream_id in self._inbound:
            self._inbound[event.stream_id].put_nowait(None)
        if self._h3 is None:
            return
        for h3_event in self._h3.handle_event(event):
            self._h3_event(h3_event)

    def _h3_event(self, event):
        if isinstance(event, HeadersReceived):
            headers = dict(event.headers)
            accept = (
                headers.get(b":method") == b"CONNECT"
                and headers.get(b":protocol") == b"webtransport"
                and headers.get(b":path") == b"/tls"
            )
            status = b"200" if accept else b"404"
            self._h3.send_headers(
                event.stream_id,
                [(b":status", status), (b"sec-webtransport-http3-draft", b"draft02")],
                end_stream=not accept,
            )
            self.transmit()
        elif isinstance(event, WebTransportStreamDataReceived):
            queue = self._inbound.get(event.stream_id)
            if queue is None:
                queue = self._inbound[event.stream_id] = asyncio.Queue()
                asyncio.ensure_future(self._pipe(event.stream_id, queue))
            if event.data:
                queue.put_nowait(event.data)
            if event.stream_ended:
                queue.put_nowait(None)

    async def _pipe(self, stream_id, queue):
        reader, writer = await asyncio.open_connection("127.0.0.1", self._target_port)

        async def upstream():
            while (data := await queue.get()) is not None:
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        async def downstream():
            while data := await reader.read(65536):
                self._quic.send_stream_data(stream_id, data, end_stream=False)
                self.transmit()
            self._quic.send_stream_data(stream_id, b"", end_stream=True)
            self.transmit()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def main():
    port, cert, key, target_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    config = QuicConfiguration(alpn_protocols=H3_ALPN, is_client=False, max_datagram_frame_size=65536)
    config.load_cert_chain(cert, key)
    await serve(
        "127.0.0.1",
        int(port),
        configuration=config,
        create_protocol=lambda *a, **k: Bridge(*a, target_port=target_port, **k),
    )
    print(f"webtransport-bridge: https://127.0.0.1:{port}/tls -> 127.0.0.1:{target_port}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
