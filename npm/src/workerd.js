// tlswire for Cloudflare Workers (workerd): the engine comes in as a compiled WebAssembly.Module
// through the module graph (Workers fetch nothing by URL at startup), then everything is index.js.
// Selected by the "workerd" export condition (wrangler), or named directly in a workerd config.

import wasm from "../dist/wasm/tlswire_bg.wasm";
import { initWasm } from "./index.js";

initWasm(wasm);

export * from "./index.js";
