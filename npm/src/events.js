// Protocol messages as events, as SSL_CTX_set_msg_callback / `openssl s_client -msg` report them.

/** The `message` event: one protocol message, as `SSL_CTX_set_msg_callback` reports it. */
export class TlsMessageEvent extends Event {
  constructor(m) {
    super("message");
    this.direction = m.direction;
    this.version = m.version;
    this.contentType = m.contentType;
    this.bytes = m.bytes;
    this.handshakeType = m.contentType === 22 ? m.bytes[0] : undefined;
    this.alert = m.contentType === 21 && m.bytes.length === 2 ? { level: m.bytes[0], description: m.bytes[1] } : undefined;
    this.line = m.line;
  }
}

/**
 * The `keylog` event (Node's name): one line of the connection's secrets in the SSLKEYLOGFILE
 * format, without the newline. Only with `onKeylog`: anyone with these lines can decrypt the
 * connection.
 */
export class TlsKeylogEvent extends Event {
  constructor(line) {
    super("keylog");
    this.line = line;
  }
}

/** Formats a message event exactly like `openssl s_client -msg`. */
export function formatMessage(event) {
  return event.line;
}
