// tlswire/sockets for Cloudflare Workers (workerd): the engine comes in through the module graph
// (workerd.js), then everything is sockets.js. Selected by the "workerd" export condition.

import "./workerd.js";

export * from "./sockets.js";
