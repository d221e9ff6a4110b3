// Types of the `tlswire/websocket` subpath: the same declaration as the main entry's.
export { webSocket } from "../index.js";
