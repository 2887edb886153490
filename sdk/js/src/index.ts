export * from './types.js';
export * from './errors.js';
export * from './bodies.js';
export * from './state.js';
export { Emitter } from './emitter.js';
export { browserSocket, fetchHttp } from './socket.js';
export type { Socket, SocketFactory, SocketHandlers, HttpClient, HttpRequest, HttpResponse } from './socket.js';
export {
  Client, backoff, wsURL, newClientMsgId, joins, leaves, mentions,
  type Config, type Logger, type ClientEvents, type ConnectionEvent, type ConnectionState, type MessageEvent,
  type RecallEvent, type EditEvent, type GroupNoticeEvent, type ConversationEvent, type OutgoingMessage, type HistoryQuery,
  type CallOptions,
} from './client.js';
export { Groups } from './groups.js';
export { Rooms } from './rooms.js';
export { People } from './people.js';
export { Push, type NotificationMode, type NotificationSetting, type PushBinding } from './push.js';
export {
  Files, xhrUploader, fetchUploader, imageBody, fileBody, audioBody, videoBody,
  type Uploader, type UploadRequest, type DownloadOptions, type UploadOptions, type UploadedFile,
} from './files.js';
