// Types of the `tlswire/wisp` subpath: the same declaration as the main entry's.
export { wisp } from "../index.js";
