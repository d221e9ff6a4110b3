// TlsError: every failure, with a stable code (listed in the README).

/** Every tlswire failure: an Error with a stable `code` (listed in the README). */
export class TlsError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "TlsError";
    this.code = code;
    Object.assign(this, details);
  }

  static from(e) {
    if (e instanceof TlsError) return e;
    if (e && typeof e.code === "string" && e.name === "TlsError") {
      const details = {};
      if (e.alert) details.alert = e.alert;
      if (e.alertSent) details.alertSent = e.alertSent;
      if (e.retryConfigs) details.retryConfigs = e.retryConfigs;
      return new TlsError(e.code, e.message, details);
    }
    return new TlsError("CHANNEL_ERROR", `channel error: ${e?.message ?? e}`, { cause: e });
  }
}
