// What the platform's AES-GCM would be worth for tlswire's record layer (the kernel-connection
// lever of bench/RESULTS.md): WebCrypto decrypting TLS-sized records (16 KiB + 17 bytes of inner
// type and tag, 5-byte header as AAD, per-record nonce), one await per record and with all the
// records of a 64 KiB read in flight at once, against tlswire's wasm engine receiving the same
// amount of data is in the side-by-side bench. Node only: `node bench/webcrypto-ceiling.mjs`.

const RECORD = 16384 + 1;
const TOTAL = 64 << 20;
const records = TOTAL / 16384;
const { subtle } = globalThis.crypto;

for (const bits of [128, 256]) {
  const key = await subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(bits / 8)), "AES-GCM", false, ["encrypt", "decrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const nonce = (seq) => {
    const n = iv.slice();
    new DataView(n.buffer).setUint32(8, new DataView(iv.buffer).getUint32(8) ^ seq);
    return n;
  };
  const header = (len) => new Uint8Array([23, 3, 3, len >> 8, len & 0xff]);
  const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce(0), additionalData: header(RECORD + 16) }, key, new Uint8Array(RECORD)));
  // Every record decrypts the same ciphertext under sequence number 0: the cost is the same.
  const open = () => subtle.decrypt({ name: "AES-GCM", iv: nonce(0), additionalData: header(RECORD + 16) }, key, sealed);
  for (const [label, batch] of [["one await per record", 1], ["4 records (64 KiB) in flight", 4], ["64 records (1 MiB) in flight", 64]]) {
    for (let warm = 0; warm < 200; warm++) await open();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < records; i += batch) await Promise.all(Array.from({ length: batch }, open));
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    console.log(`AES-${bits}-GCM WebCrypto decrypt, ${label}: ${(TOTAL / 1e6 / s).toFixed(0)} MB/s, ${((c.user + c.system) / (TOTAL / 1e6)).toFixed(0)} µs CPU/MB`);
  }
}
