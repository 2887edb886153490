// Wire types of the client protocol (docs/protocol.md, version 1), mirroring
// protocol/frames.go. Field names are the JSON names on the wire.

export const PROTOCOL_VERSION = 1;

export type ChatType = 'chat' | 'groupchat' | 'chatroom';
export type ItemKind = 'msg' | 'recall' | 'notice' | 'edit';
export type MessageType = 'txt' | 'cmd' | 'custom' | 'img' | 'audio' | 'video' | 'file' | 'loc' | 'combine';
export type RoomPriority = 'low' | 'normal' | 'high';

/** One item of a conversation stream: a message, a recall or a group notice. */
export interface Item {
  kind: ItemKind;
  msg_id: string;
  conv_id: string;
  /** Position in the conversation (1, 2, 3, …); 0 for items outside the stream (ROUTE_ONLINE, directed, room). */
  seq: number;
  chat_type: ChatType;
  from: string;
  to: string;
  type?: string;
  body?: any;
  ext?: Record<string, any>;
  ts: number;
  client_msg_id?: string;
  recalled?: boolean;
  /** recall and edit items: the recalled or edited message. */
  target?: string;
  /** How many times the message was edited (edit items; messages in history). */
  edits?: number;
  online?: boolean;
  need_group_ack?: boolean;
  directed?: boolean;
  chatroom_msg_level?: RoomPriority;
}

export interface Ack {
  msg_id: string;
  conv_id?: string;
  seq?: number;
  ts: number;
  /** The server had stored this client_msg_id already: this is a retry's ack. */
  duplicate?: boolean;
}

export interface Receipt {
  kind: 'delivered' | 'read' | 'channel_read';
  conv_id: string;
  by: string;
  seq: number;
  msg_id?: string;
  ts: number;
}

export interface Conversation {
  conv_id: string;
  chat_type: ChatType;
  peer: string;
  group?: string;
  mentioned?: boolean;
  last_seq: number;
  unread: number;
  read_seq: number;
  cleared_seq?: number;
  peer_read_seq: number;
  peer_delivered_seq: number;
  pinned?: boolean;
  deleted?: boolean;
  updated: number;
  version: string;
  last?: Item;
  recent?: Item[];
}

export interface Presence {
  user: string;
  online: boolean;
  devices?: string[];
  status?: string;
  updated?: number;
  expiry?: number;
}

/** A stored (people, group, broadcast) or live (presence, group_ack) event. */
export interface ServerEvent {
  id?: string;
  kind: string;
  from?: string;
  to?: string;
  reason?: string;
  users?: string[];
  attrs?: Record<string, string>;
  presence?: Presence;
  group?: string;
  name?: string;
  msg_id?: string;
  item?: Item;
  count?: number;
  ts: number;
}

export interface RoomEventData {
  room: string;
  kind: string;
  users?: string[];
  attrs?: Record<string, string>;
  keys?: string[];
  by?: string;
  text?: string;
  until?: number;
  ts: number;
}

export interface GroupSettings {
  groupname?: string;
  description?: string;
  avatar?: string;
  public?: boolean;
  maxusers?: number;
  allowinvites?: boolean;
  membersonly?: boolean;
  invite_need_confirm?: boolean;
  custom?: string;
}

export interface GroupInfo {
  id: string;
  name: string;
  description: string;
  avatar: string;
  public: boolean;
  membersonly: boolean;
  allowinvites: boolean;
  invite_need_confirm: boolean;
  maxusers: number;
  owner: string;
  created: number;
  custom: string;
  announcement?: string;
  mute: boolean;
  disabled: boolean;
  affiliations_count: number;
  affiliations?: Record<string, any>[];
  conv_id: string;
}

export interface GroupMember {
  user: string;
  role: string;
  joined: number;
  mute_until?: number;
  attrs?: Record<string, string>;
}

export interface RoomInfo {
  id: string;
  name: string;
  description: string;
  maxusers: number;
  owner: string;
  created: number;
  custom: string;
  announcement?: string;
  mute: boolean;
  affiliations_count: number;
  affiliations?: Record<string, any>[];
}

export interface ContactInfo {
  user: string;
  remark?: string;
  since: number;
}

export interface ContactRequestInfo {
  from: string;
  reason?: string;
  ts: number;
}

/** A client request frame; exactly the fields of protocol.Request (the server refuses unknown ones). */
export interface Request {
  t: string;
  id?: string;
  token?: string;
  resource?: string;
  platform?: string;
  device_name?: string;
  to?: string;
  chat_type?: ChatType;
  type?: string;
  body?: any;
  ext?: Record<string, any>;
  client_msg_id?: string;
  routetype?: string;
  since?: string;
  latest?: number;
  conv_id?: string;
  after_seq?: number;
  seq?: number;
  msg_id?: string;
  limit?: number;
  direction?: 'backward' | 'forward';
  time?: number;
  cursor?: string;
  pinned?: boolean;
  user?: string;
  users?: string[];
  reason?: string;
  remark?: string;
  attrs?: Record<string, string>;
  keys?: string[];
  status?: string;
  expiry?: number;
  need_group_ack?: boolean;
  op?: string;
  group?: string;
  accept?: boolean;
  on?: boolean;
  text?: string;
  duration?: number;
  settings?: GroupSettings;
  room?: string;
  force?: boolean;
  auto_delete?: boolean;
  chatroom_msg_level?: RoomPriority;
}

/** Any frame from the server; `t` names its kind. */
export interface Frame {
  t: string;
  id?: string;
  [key: string]: any;
}

/** Close codes of docs/protocol.md. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  FrameTooLarge: 1009,
  Restart: 1012,
  AuthFailed: 4001,
  AuthTimeout: 4002,
  BadProtocol: 4003,
  Kicked: 4004,
  Replaced: 4005,
  TooMany: 4006,
  SlowConsumer: 4008,
  Heartbeat: 4009,
  BadFrames: 4010,
} as const;

/** Closes after which the client stops for good (4001 only without a password to get a new token). */
export function terminalClose(code: number): boolean {
  return [4001, 4003, 4004, 4005, 4006, 4010].includes(code);
}
