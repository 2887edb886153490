// Streaming uploads for Node: the multipart body is written piece by piece
// from a file path, a Readable, a Buffer or a Blob, with progress as bytes go out.
import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { Uploader } from '../files.js';

/**
 * nodeUploader streams `file` (a path, a Readable with `size` given, a
 * Buffer/Uint8Array or a Blob) as multipart/form-data, calling onProgress
 * as the bytes are written.
 */
export const nodeUploader: Uploader = (req) =>
  new Promise((resolve, reject) => {
    let src: Readable;
    let size: number | undefined = req.size;
    const f = req.file as any;
    if (typeof f === 'string') {
      size = statSync(f).size;
      src = createReadStream(f);
    } else if (f instanceof Uint8Array) {
      size = f.length;
      src = Readable.from([Buffer.from(f)]);
    } else if (f && typeof f.stream === 'function' && typeof f.size === 'number') {
      size = f.size;
      src = Readable.fromWeb(f.stream());
    } else if (f instanceof Readable) {
      src = f;
    } else {
      reject(new Error('parley: nodeUploader takes a path, Buffer, Uint8Array, Blob or Readable'));
      return;
    }
    const boundary = '----parley' + randomBytes(12).toString('hex');
    const name = (req.filename || (typeof f === 'string' ? basename(f) : 'file')).replace(/["\r\n]/g, '_');
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const u = new URL(req.url);
    const headers: Record<string, string | number> = {
      ...req.headers,
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
    };
    if (size !== undefined) headers['Content-Length'] = head.length + size + tail.length;
    const r = (u.protocol === 'https:' ? https : http).request(
      { method: 'POST', host: u.hostname, port: u.port, path: u.pathname + u.search, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          let body: any;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    r.on('error', (err) => {
      src.destroy();
      reject(req.signal?.aborted ? req.signal.reason ?? err : err);
    });
    req.signal?.addEventListener('abort', () => r.destroy(new Error('aborted')));
    r.write(head);
    let sent = 0;
    src.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (!r.write(chunk)) {
        src.pause();
        r.once('drain', () => src.resume());
      }
      req.onProgress?.(sent, size ?? sent);
    });
    src.on('end', () => r.end(tail));
    src.on('error', (err) => {
      r.destroy(err);
    });
  });
