// Node 20 entry point: `import { Client, nodeSocket } from '@parley/sdk/node'`.
import { Client, type Config } from '../client.js';
import { nodeSocket } from './websocket.js';
import { nodeUploader } from './upload.js';

export * from '../index.js';
export { nodeSocket, encodeFrame, FrameParser, type NodeSocketOptions } from './websocket.js';
export { nodeUploader } from './upload.js';

/** A Client wired for Node: the built-in WebSocket client and streaming uploads. */
export function createClient(config: Config): Client {
  const c = new Client({ socket: nodeSocket(), ...config });
  c.files.uploader = nodeUploader;
  return c;
}
