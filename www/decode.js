// Decoded views of TLS handshake messages and X.509 certificates, for display only: the engine
// has already parsed and checked everything; this reads the same bytes to label them.

const hex2 = (n) => n.toString(16).padStart(2, "0");
const hex4 = (n) => "0x" + n.toString(16).padStart(4, "0");

/** A hex dump: offset, 16 bytes, printable ASCII. */
export function hexdump(bytes) {
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = Array.from(row, hex2).join(" ").padEnd(47);
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(4, "0")}  ${hex}  ${text}`);
  }
  return lines.join("\n");
}

export const HANDSHAKE_TYPES = {
  0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
  8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
  14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
  24: "KeyUpdate", 254: "MessageHash",
};

const EXTENSIONS = {
  0: "server_name", 5: "status_request", 10: "supported_groups", 11: "ec_point_formats",
  13: "signature_algorithms", 16: "application_layer_protocol_negotiation", 18: "signed_certificate_timestamp",
  21: "padding", 22: "encrypt_then_mac", 23: "extended_master_secret", 27: "compress_certificate",
  28: "record_size_limit", 35: "session_ticket", 41: "pre_shared_key", 42: "early_data",
  43: "supported_versions", 44: "cookie", 45: "psk_key_exchange_modes", 47: "certificate_authorities",
  49: "post_handshake_auth", 50: "signature_algorithms_cert", 51: "key_share", 57: "quic_transport_parameters",
  0xfe0d: "encrypted_client_hello", 0xff01: "renegotiation_info",
};

export const GROUPS = {
  0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1", 0x001d: "X25519", 0x001e: "X448",
  0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x11eb: "SecP256r1MLKEM768", 0x11ec: "X25519MLKEM768",
  0x0200: "MLKEM512", 0x0201: "MLKEM768", 0x0202: "MLKEM1024", 0x6399: "X25519Kyber768Draft00",
};

export const SUITES = {
  0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384", 0x1303: "TLS_CHACHA20_POLY1305_SHA256",
  0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
};

const SIGNATURE_SCHEMES = {
  0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
  0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
  0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
  0x0807: "ed25519", 0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256", 0x080a: "rsa_pss_pss_sha384",
  0x080b: "rsa_pss_pss_sha512", 0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1",
};

const VERSIONS = { 0x0304: "TLS 1.3", 0x0303: "TLS 1.2", 0x0302: "TLS 1.1", 0x0301: "TLS 1.0" };
const name = (table, n) => table[n] ?? (((n & 0x0f0f) === 0x0a0a) ? `GREASE ${hex4(n)}` : hex4(n));
// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c";

/** A bounds-checked reader over bytes. */
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }
  get left() {
    return this.bytes.length - this.at;
  }
  take(n) {
    if (n > this.left) throw new Error("truncated");
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  int(n) {
    return this.take(n).reduce((a, b) => a * 256 + b, 0);
  }
  vec(lengthBytes) {
    return new Reader(this.take(this.int(lengthBytes)));
  }
  list(lengthBytes, itemBytes) {
    const r = this.vec(lengthBytes);
    const out = [];
    while (r.left >= itemBytes) out.push(r.int(itemBytes));
    return out;
  }
}

function extensions(r, clientHello) {
  const out = [];
  if (r.left === 0) return out;
  const all = r.vec(2);
  while (all.left >= 4) {
    const type = all.int(2);
    const body = all.vec(2);
    out.push({ name: name(EXTENSIONS, type), value: extensionValue(type, body, clientHello) });
  }
  return out;
}

function extensionValue(type, r, clientHello) {
  try {
    switch (type) {
      case 0: {
        if (r.left === 0) return "(acknowledged)";
        const list = r.vec(2);
        const names = [];
        while (list.left >= 3) {
          list.int(1);
          names.push(new TextDecoder().decode(list.vec(2).bytes));
        }
        return names.join(", ");
      }
      case 10:
        return r.list(2, 2).map((g) => name(GROUPS, g)).join(", ");
      case 13:
      case 50:
        return r.list(2, 2).map((s) => name(SIGNATURE_SCHEMES, s)).join(", ");
      case 16: {
        const list = r.vec(2);
        const protocols = [];
        while (list.left) protocols.push(new TextDecoder().decode(list.vec(1).bytes));
        return protocols.join(", ");
      }
      case 43:
        return (clientHello ? r.list(1, 2) : [r.int(2)]).map((v) => name(VERSIONS, v)).join(", ");
      case 45:
        return r.list(1, 1).map((m) => (m === 1 ? "psk_dhe_ke" : m === 0 ? "psk_ke" : m)).join(", ");
      case 51: {
        if (clientHello === "hrr") return `selected group ${name(GROUPS, r.int(2))}`;
        const shares = [];
        const list = clientHello ? r.vec(2) : r;
        while (list.left >= 4) {
          const group = list.int(2);
          const len = list.vec(2).bytes.length;
          shares.push(`${name(GROUPS, group)} (${len} bytes)`);
        }
        return shares.join(", ");
      }
      default:
        return r.left ? `${r.left} bytes` : "";
    }
  } catch {
    return `${r.bytes.length} bytes (malformed)`;
  }
}

/**
 * Fields of a handshake message (`bytes`: its 4-byte header included) as [label, value] pairs,
 * with `certificates` (DER) for a Certificate message. `tls13`: the message is TLS 1.3's.
 */
export function decodeHandshake(bytes, tls13) {
  const r = new Reader(bytes);
  const type = r.int(1);
  const body = r.vec(3);
  const fields = [];
  const out = { type, name: HANDSHAKE_TYPES[type] ?? `handshake ${type}`, fields, certificates: [] };
  try {
    if (type === 1 || type === 2) {
      fields.push(["legacy_version", name(VERSIONS, body.int(2))]);
      const random = Array.from(body.take(32), hex2).join("");
      const hrr = type === 2 && random === HRR_RANDOM;
      if (hrr) out.name = "HelloRetryRequest";
      fields.push(["random", hrr ? "HelloRetryRequest" : random]);
      fields.push(["session_id", `${body.vec(1).bytes.length} bytes`]);
      if (type === 1) {
        fields.push(["cipher_suites", body.list(2, 2).map((s) => name(SUITES, s)).join(", ")]);
        body.vec(1);
      } else {
        fields.push(["cipher_suite", name(SUITES, body.int(2))]);
        body.int(1);
      }
      for (const e of extensions(body, type === 1 ? true : hrr ? "hrr" : false)) fields.push([e.name, e.value]);
    } else if (type === 8) {
      for (const e of extensions(body, false)) fields.push([e.name, e.value]);
    } else if (type === 11) {
      if (tls13) body.vec(1);
      const list = body.vec(3);
      while (list.left >= 3) {
        out.certificates.push(list.vec(3).bytes);
        if (tls13) list.vec(2);
      }
      out.certificates.forEach((der, i) => {
        const c = decodeCertificate(der);
        fields.push([`certificate ${i}`, c ? `${c.subject} (issuer ${c.issuer})` : `${der.length} bytes`]);
      });
    } else if (type === 15) {
      fields.push(["signature_scheme", name(SIGNATURE_SCHEMES, body.int(2))]);
      fields.push(["signature", `${body.vec(2).bytes.length} bytes`]);
    } else if (type === 4 && tls13) {
      fields.push(["ticket_lifetime", `${body.int(4)} s`]);
      body.int(4);
      body.vec(1);
      fields.push(["ticket", `${body.vec(2).bytes.length} bytes`]);
    } else if (type === 24) {
      fields.push(["request_update", body.int(1) ? "update_requested" : "update_not_requested"]);
    } else if (type === 20) {
      fields.push(["verify_data", `${body.left} bytes`]);
    }
  } catch {
    fields.push(["(rest)", "malformed or truncated"]);
  }
  return out;
}

// ------------------------------------------------------------------ X.509 (display only)

function der(bytes, at = 0) {
  const tag = bytes[at];
  let len = bytes[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    start += n;
  }
  if (start + len > bytes.length) throw new Error("truncated DER");
  return { tag, start, end: start + len, value: bytes.subarray(start, start + len) };
}

function children(node, bytes) {
  const out = [];
  for (let at = node.start; at < node.end; ) {
    const c = der(bytes, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

const OID_NAMES = { "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU" };

function oid(value) {
  const parts = [Math.floor(value[0] / 40), value[0] % 40];
  let n = 0;
  for (const b of value.subarray(1)) {
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) parts.push(n), (n = 0);
  }
  return parts.join(".");
}

function distinguishedName(node, bytes) {
  return children(node, bytes)
    .flatMap((set) => children(set, bytes))
    .map((attr) => {
      const [type, value] = children(attr, bytes);
      const key = OID_NAMES[oid(type.value)] ?? oid(type.value);
      return `${key}=${new TextDecoder().decode(value.value)}`;
    })
    .join(", ");
}

function time(node) {
  const s = new TextDecoder().decode(node.value);
  const full = node.tag === 0x17 ? (Number(s.slice(0, 2)) < 50 ? "20" : "19") + s : s;
  return `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)} ${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)} UTC`;
}

/** Subject, issuer, validity and subject alternative names of a DER certificate, or null. */
export function decodeCertificate(bytes) {
  try {
    const [tbs] = children(der(bytes), bytes);
    let fields = children(tbs, bytes);
    if (fields[0].tag === 0xa0) fields = fields.slice(1); // explicit version
    const [, , issuer, validity, subject, , ...rest] = fields;
    const [notBefore, notAfter] = children(validity, bytes);
    const sans = [];
    const extensionsNode = rest.find((f) => f.tag === 0xa3);
    if (extensionsNode) {
      for (const ext of children(children(extensionsNode, bytes)[0], bytes)) {
        const parts = children(ext, bytes);
        if (oid(parts[0].value) !== "2.5.29.17") continue;
        const octets = parts[parts.length - 1];
        for (const gn of children(der(bytes, octets.start), bytes)) {
          if (gn.tag === 0x82) sans.push(`DNS:${new TextDecoder().decode(gn.value)}`);
          else if (gn.tag === 0x87 && gn.value.length === 4) sans.push(`IP:${Array.from(gn.value).join(".")}`);
          else if (gn.tag === 0x87) sans.push(`IP:${Array.from(gn.value, hex2).join("")}`);
        }
      }
    }
    return {
      subject: distinguishedName(subject, bytes),
      issuer: distinguishedName(issuer, bytes),
      notBefore: time(notBefore),
      notAfter: time(notAfter),
      subjectAltNames: sans,
    };
  } catch {
    return null;
  }
}
