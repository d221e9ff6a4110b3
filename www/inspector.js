// The inspector: connects with the tlswire npm package from this page and shows each protocol
// message as the engine reports it (the `message` events), decoded for reading.
//
// Query parameters prefill the form: bridge, kind, target, server (name), ca (a URL of a PEM file
// to trust), roots=1, and connect=1 to connect on load (the demo and its test use them).

import { connect, webSocket, wisp } from "../npm/src/index.js";
import { HANDSHAKE_TYPES, decodeCertificate, decodeHandshake, hexdump } from "./decode.js";

const $ = (selector) => document.querySelector(selector);
const el = (tag, props = {}, ...kids) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...kids);
  return node;
};
const form = $("#connect");
const ladder = $("#ladder");
let conn = null;
let trace = [];

const CONTENT_TYPES = { 20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "ApplicationData", 256: "RecordHeader", 257: "InnerContent" };
const ALERTS = {
  0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow", 40: "handshake_failure",
  42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
  46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
  51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
  86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
  112: "unrecognized_name", 113: "bad_certificate_status_response", 115: "unknown_psk_identity",
  116: "certificate_required", 120: "no_application_protocol",
};

/** The arrow's label for one message event. */
function label(e) {
  if (e.contentType === 22) {
    const name = HANDSHAKE_TYPES[e.handshakeType] ?? `Handshake ${e.handshakeType}`;
    return e.handshakeType === 2 && decodeHandshake(e.bytes, true).name === "HelloRetryRequest" ? "HelloRetryRequest" : name;
  }
  if (e.contentType === 21 && e.alert) return `Alert: ${e.alert.level === 2 ? "fatal" : "warning"} ${ALERTS[e.alert.description] ?? e.alert.description}`;
  return CONTENT_TYPES[e.contentType] ?? `content type ${e.contentType}`;
}

function table(rows) {
  return el("table", {}, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", textContent: k }), el("td", { textContent: v })))));
}

function certificateRows(der) {
  const c = decodeCertificate(der);
  if (!c) return [["certificate", `${der.length} bytes (not decoded)`]];
  return [["subject", c.subject], ["issuer", c.issuer], ["valid", `${c.notBefore} → ${c.notAfter}`], ["subject alt names", c.subjectAltNames.join(", ") || "—"]];
}

function onMessage(started, e) {
  const t = performance.now() - started;
  const record = e.contentType === 256 || e.contentType === 257;
  const text = label(e);
  trace.push({ t: Number(t.toFixed(3)), direction: e.direction, version: e.version, contentType: e.contentType, handshakeType: e.handshakeType ?? null, label: text, line: e.line, hex: Array.from(e.bytes, (b) => b.toString(16).padStart(2, "0")).join("") });
  const detail = el("div", { className: "detail" });
  if (e.contentType === 22) {
    const decoded = decodeHandshake(e.bytes, e.version === 0x0304);
    if (decoded.fields.length) detail.append(table(decoded.fields));
    for (const der of decoded.certificates) detail.append(el("h3", { textContent: "certificate" }), table(certificateRows(der)));
  }
  detail.append(el("pre", { textContent: hexdump(e.bytes) }));
  const classes = [e.direction, record ? "record" : "", e.contentType === 21 ? "alert" : ""].filter(Boolean).join(" ");
  const item = el("li", { className: classes },
    el("details", {},
      el("summary", {}, el("span", { className: "time", textContent: `+${t.toFixed(1)} ms` }), el("span", { className: "arrow", textContent: text })),
      detail));
  item.dataset.label = text;
  ladder.append(item);
  $("#msg-text").textContent += `${e.line}\n`;
}

function showError(error) {
  const box = $("#error");
  box.hidden = false;
  box.textContent = `${error.name ?? "Error"} ${error.code ?? ""}: ${error.message}` +
    (error.alertSent ? `\nalert sent: ${error.alertSent}` : "") + (error.alert ? `\nalert received: ${error.alert}` : "");
  box.dataset.code = error.code ?? "";
}

function showSession(info) {
  const params = $("#params");
  params.replaceChildren();
  for (const [k, v] of [["version", info.version], ["cipher suite", info.cipherSuite], ["key exchange group", info.group ?? "—"],
    ["ALPN", info.alpn ?? "—"], ["HelloRetryRequest", info.helloRetryRequest ? "yes" : "no"], ["peer", info.peerSubject ?? "—"]]) {
    params.append(el("dt", { textContent: k }), el("dd", { textContent: v }));
  }
  $("#chain").replaceChildren(...info.peerCertificates.map((der) => el("li", {}, table(certificateRows(der)))));
  $("#session").hidden = false;
}

async function trustAnchors(data) {
  const ca = [];
  if (data.get("ca").trim()) ca.push(data.get("ca"));
  if (data.get("roots")) ca.push((await import("../npm/dist/roots.js")).default);
  return ca;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  await conn?.close().catch(() => {});
  conn = null;
  trace = [];
  ladder.replaceChildren();
  $("#msg-text").textContent = "";
  $("#replies").textContent = "";
  $("#error").hidden = true;
  $("#session").hidden = true;
  $("#trace").hidden = false;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  document.body.dataset.state = "connecting";
  const started = performance.now();
  try {
    let transport;
    if (data.get("kind") === "wisp") {
      const [host, port] = data.get("target").split(/:(?=\d+$)/);
      transport = await wisp(data.get("bridge"), host, Number(port));
    } else {
      transport = webSocket(data.get("bridge"));
    }
    conn = await connect({ transport, serverName: data.get("serverName"), ca: await trustAnchors(data), onMessage: (e) => onMessage(started, e) });
    showSession(conn.info);
    document.body.dataset.state = "connected";
  } catch (e) {
    showError(e);
    document.body.dataset.state = "failed";
  } finally {
    button.disabled = false;
  }
});

$("#send").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!conn) return;
  const text = new FormData(event.target).get("text");
  try {
    await conn.write(`${text}\n`);
    const reply = await conn.read();
    $("#replies").textContent += reply === null ? "(the server closed the connection)\n" : new TextDecoder().decode(reply);
  } catch (e) {
    showError(e);
  }
});

$("#show-records").addEventListener("change", (e) => ladder.classList.toggle("show-records", e.target.checked));
$("#copy").addEventListener("click", () => navigator.clipboard?.writeText($("#msg-text").textContent).catch(() => {}));
$("#download").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(trace, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: "tlswire-trace.json" });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

// Prefill from the query string.
const query = new URLSearchParams(location.search);
form.elements.bridge.value = query.get("bridge") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
form.elements.kind.value = query.get("kind") ?? "websockify";
form.elements.target.value = query.get("target") ?? "";
form.elements.serverName.value = query.get("server") ?? "";
form.elements.roots.checked = query.get("roots") === "1";
if (query.get("ca")) form.elements.ca.value = await (await fetch(query.get("ca"))).text();
document.body.dataset.ready = "true";
if (query.get("connect") === "1") form.requestSubmit();
