import { ParleyError, restError } from './errors.js';
/** Message bodies for an uploaded file. */
export function imageBody(f) {
    const b = { url: f.url, filename: f.filename, file_length: f.file_length };
    if (f.secret && f.restrict_access)
        b.secret = f.secret;
    if (f.width && f.height)
        b.size = { width: f.width, height: f.height };
    if (f.thumbnail) {
        // The thumbnail is the file's URL fetched with `thumbnail: true`.
        b.thumb = f.url;
        if (f.secret && f.restrict_access)
            b.thumb_secret = f.secret;
    }
    return b;
}
export function fileBody(f) {
    const b = { url: f.url, filename: f.filename, file_length: f.file_length };
    if (f.secret && f.restrict_access)
        b.secret = f.secret;
    return b;
}
export function audioBody(f, lengthSeconds) {
    return { ...fileBody(f), length: Math.round(lengthSeconds) };
}
export function videoBody(f, lengthSeconds, thumb) {
    const b = { ...fileBody(f), length: Math.round(lengthSeconds) };
    if (thumb) {
        b.thumb = thumb.url;
        if (thumb.restrict_access)
            b.thumb_secret = thumb.secret;
    }
    return b;
}
/** Browsers: XMLHttpRequest, for upload progress. */
export const xhrUploader = (req) => new Promise((resolve, reject) => {
    const XHR = globalThis.XMLHttpRequest;
    const xhr = new XHR();
    xhr.open('POST', req.url);
    for (const [k, v] of Object.entries(req.headers))
        xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => req.onProgress?.(e.loaded, e.total);
    xhr.onload = () => {
        let body;
        try {
            body = JSON.parse(xhr.responseText);
        }
        catch {
            body = undefined;
        }
        resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('parley: upload failed (network)'));
    xhr.onabort = () => reject(req.signal?.reason ?? new Error('aborted'));
    req.signal?.addEventListener('abort', () => xhr.abort());
    const form = new globalThis.FormData();
    form.append('file', req.file, req.filename);
    xhr.send(form);
});
/**
 * fetch with FormData (Node 20, or browsers without XHR). fetch cannot report
 * upload progress: onProgress is called once, when the upload is done. In
 * Node use nodeUploader (`@parley/sdk/node`) for progress and streaming from disk.
 */
export const fetchUploader = async (req) => {
    const G = globalThis;
    let file = req.file;
    if (file instanceof Uint8Array || file instanceof ArrayBuffer)
        file = new G.Blob([file]);
    if (!(file instanceof G.Blob))
        throw new Error('parley: fetchUploader takes a Blob, File or Uint8Array');
    const form = new G.FormData();
    form.append('file', file, req.filename);
    const res = await G.fetch(req.url, { method: 'POST', headers: req.headers, body: form, signal: req.signal });
    const text = await res.text();
    let body;
    try {
        body = JSON.parse(text);
    }
    catch {
        body = undefined;
    }
    const size = file.size;
    if (res.status === 200)
        req.onProgress?.(size, size);
    return { status: res.status, body };
};
/** Files: upload attachments (POST /chatfiles) with the user's token, and download them. */
export class Files {
    constructor(c) {
        this.c = c;
        /** How uploads are sent; default XHR in browsers, fetch elsewhere. */
        this.uploader = typeof globalThis.XMLHttpRequest === 'function' ? xhrUploader : fetchUploader;
    }
    async upload(file, opts = {}) {
        const filename = opts.filename ??
            file?.name ??
            (typeof file === 'string' ? file.split(/[\\/]/).pop() || 'file' : 'file');
        for (let attempt = 0;; attempt++) {
            const token = this.c.token || (await this.c.renewToken()) || '';
            const headers = { Authorization: `Bearer ${token}` };
            if (opts.restrictAccess)
                headers['restrict-access'] = 'true';
            if (opts.thumbnailWidth)
                headers['thumbnail-width'] = String(opts.thumbnailWidth);
            if (opts.thumbnailHeight)
                headers['thumbnail-height'] = String(opts.thumbnailHeight);
            const res = await (opts.uploader ?? this.uploader)({
                url: `${this.c.baseURL}/${this.c.org}/${this.c.app}/chatfiles`, headers, file, filename,
                onProgress: opts.onProgress, signal: opts.signal,
            });
            if (res.status === 401 && attempt === 0 && (await this.c.renewToken()))
                continue;
            if (res.status !== 200)
                throw restError(res.status, res.body);
            const e = res.body?.entities?.[0];
            if (!e?.uuid)
                throw new ParleyError('bad_response', 'upload answer without entities');
            return {
                uuid: e.uuid, url: e.url, secret: e['share-secret'] ?? '', file_length: e.file_length ?? 0,
                content_type: e.content_type ?? '', filename: e.filename ?? filename, restrict_access: !!e.restrict_access,
                thumbnail: !!e.thumbnail, width: e.width, height: e.height,
            };
        }
    }
    /** The download URL of a file given by URL or UUID; only files of the configured server. */
    fileURL(urlOrUUID) {
        const prefix = `${this.c.baseURL}/${this.c.org}/${this.c.app}/chatfiles/`;
        if (/^[0-9a-f-]{32,36}$/i.test(urlOrUUID))
            return prefix + urlOrUUID;
        if (!urlOrUUID.startsWith(prefix))
            throw new ParleyError('illegal_argument', `not a file of this server: ${urlOrUUID}`);
        return urlOrUUID;
    }
    /**
     * Downloads a file (or its thumbnail) with fetch, reporting progress as
     * the bytes arrive (counted from the file's start). `offset` resumes a
     * download (a Range request). With `onChunk` the bytes are handed over as
     * they arrive (e.g. to a Node fs.WriteStream) instead of being collected:
     * `data` is then empty.
     */
    async download(urlOrUUID, opts = {}) {
        const G = globalThis;
        const offset = opts.offset ?? 0;
        if (offset < 0)
            throw new ParleyError('illegal_argument', 'offset must not be negative');
        const headers = {};
        if (this.c.token)
            headers.Authorization = `Bearer ${this.c.token}`;
        if (opts.secret)
            headers['share-secret'] = opts.secret;
        if (opts.thumbnail)
            headers.thumbnail = 'true';
        if (offset > 0)
            headers.Range = `bytes=${offset}-`;
        const res = await G.fetch(this.fileURL(urlOrUUID), { headers, signal: opts.signal });
        const contentType = res.headers.get('content-type') ?? '';
        let total = 0;
        let skip = 0;
        if (res.status === 200) {
            total = Number(res.headers.get('content-length') ?? 0);
            skip = offset; // the range was not honoured
        }
        else if (res.status === 206) {
            const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
            if (!m || Number(m[1]) !== offset)
                throw new ParleyError('bad_response', `the server sent the range ${res.headers.get('content-range')}`);
            total = Number(m[2]);
        }
        else if (res.status === 416) {
            const m = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
            if (m && Number(m[1]) === offset) {
                await res.body?.cancel?.();
                opts.onProgress?.(offset, offset);
                return { data: new Uint8Array(0), contentType, size: offset };
            }
            throw restError(416, undefined);
        }
        else {
            let body;
            try {
                body = await res.json();
            }
            catch {
                body = undefined;
            }
            throw restError(res.status, body);
        }
        const chunks = [];
        let got = offset;
        const reader = res.body.getReader();
        for (;;) {
            const { done, value } = await reader.read();
            if (done)
                break;
            let chunk = value;
            if (skip > 0) {
                const n = Math.min(skip, chunk.length);
                skip -= n;
                chunk = chunk.subarray(n);
                if (chunk.length === 0)
                    continue;
            }
            if (opts.onChunk)
                await opts.onChunk(chunk);
            else
                chunks.push(chunk);
            got += chunk.length;
            opts.onProgress?.(got, total || got);
        }
        const data = new Uint8Array(opts.onChunk ? 0 : got - offset);
        let off = 0;
        for (const ch of chunks) {
            data.set(ch, off);
            off += ch.length;
        }
        return { data, contentType, size: got };
    }
}
