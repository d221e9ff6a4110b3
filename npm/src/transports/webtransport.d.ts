// Types of the `tlswire/webtransport` subpath: the same declaration as the main entry's.
export { webTransport } from "../index.js";
