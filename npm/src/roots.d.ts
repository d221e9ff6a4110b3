/**
 * Mozilla's root CAs (from the `webpki-roots` crate), for apps that connect to public servers.
 * A separate import so apps that bring their own CAs do not download it.
 *
 * @example
 * import { connect, webSocket } from "tlswire";
 * import roots from "tlswire/roots";
 * const tls = await connect({ transport: webSocket(url), serverName: "example.com", ca: roots });
 */
declare const roots: {
  /** Packed trust anchors (base64); opaque to callers. */
  readonly trustAnchors: string;
  /** How many roots. */
  readonly count: number;
};
export default roots;
