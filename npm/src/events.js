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

/**
 * The `session` event (Node's name): a session the server gave (a TLS 1.3 ticket, a TLS 1.2
 * session) as bytes to keep (KV, IndexedDB, a file) and pass as `session` to a later `connect()`,
 * in this isolate or another. Only with `onSession`: the bytes hold the session's secret.
 */
export class TlsSessionEvent extends Event {
  constructor(session) {
    super("session");
    this.session = session;
  }
}

/** Formats a message event exactly like `openssl s_client -msg`. */
export function formatMessage(event) {
  return event.line;
}
