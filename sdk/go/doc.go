// Package parley is the Go client SDK for the Parley IM server.
//
// A Client holds one WebSocket connection per device and speaks the client
// protocol of docs/protocol.md (version 1). Dial connects, authenticates and
// runs a full sync before it returns; afterwards the Client reconnects by
// itself (exponential backoff with jitter, rotating through the configured
// endpoints), resyncs, and resends messages that were not acknowledged with
// their original client_msg_id, so a Send survives a lost connection without
// storing the message twice.
//
// Everything the server pushes arrives on one channel, Events. Conversation
// items (messages and recalls) are delivered exactly once per Client and in
// seq order per conversation: the Client deduplicates by (conv_id, seq) and
// pulls any gap before it delivers a later item, then acknowledges delivery
// to the server. The application must keep draining Events; undrained events
// are buffered in memory.
//
// Requests (Send, Recall, MarkRead, History, ...) take a context, wait for
// the server's reply and return failures as *Error, whose Code is an ID of
// the protocol error registry (package protocol).
//
// Every message type has a typed body (TextBody, ImageBody, AudioBody,
// VideoBody, FileBody, LocationBody, CombineBody, CmdBody, CustomBody) to
// send, and MessageEvent.Body decodes received bodies into them. Upload
// streams an attachment to the server with the user's token (progress,
// cancellation, restricted files, thumbnails); the File it returns builds
// the message body (SendImage, SendFile, File.AudioBody, ...), and
// Download fetches files by URL or UUID, from the configured server only.
//
// People: friends and friend requests (RequestContact, AcceptContact,
// AllContacts, ...), block lists (Block, Unblock, AllBlocked), user
// attributes (SetAttributes, Attributes) and presence (SubscribePresence,
// PublishPresence, Presence). Their changes arrive on Events as typed
// events (ContactRequestEvent, BlockedEvent, AttributesEvent,
// PresenceEvent, ...); all but presence are stored by the server, and the
// Client delivers each once per device, fetching what it missed after every
// (re)connect and keeping its place in State. A new device starts at the
// server's current position unless Config.EventHistory is set.
//
// Groups: management calls for every operation (CreateGroup, GroupInfo,
// InviteToGroup, AnswerInvitation, ApplyToGroup, AnswerApplication,
// KickFromGroup, QuitGroup, SetGroupAdmins, TransferGroup,
// MuteGroupMembers, MuteGroup, AllGroupMembers, AllMyGroups,
// GroupReaders, ...), checked locally so that no malformed frame is sent.
// Group messages are sent with OutgoingMessage.ChatType groupchat (or
// SendGroupText), optionally with read receipts (NeedGroupAck), mentions
// or to some members only (DirectedTo). A group's messages and its
// membership changes (GroupNoticeEvent) form one conversation stream,
// delivered like a 1:1 chat's: exactly once and in order, from the user's
// join on. Users hear about invitations, applications, removals and
// dissolved groups through group events (GroupInviteEvent, ...), stored
// and delivered once per device like the people events, and about reads of
// their messages through the live GroupAckEvent.
//
// Chat rooms: JoinRoom returns a room and its last messages, and every
// other operation has a call (LeaveRoom, RoomInfo, AllRoomMembers,
// AllMyRooms, RoomAttributes, SetRoomAttributes, DeleteRoomAttributes,
// KickFromRoom, MuteRoomMembers, MuteRoom, SetRoomAnnouncement,
// SetRoomBlocked, SetRoomAllowed, SetRoomAdmins, UpdateRoom, TransferRoom,
// DeleteRoom, and CreateRoom for the app's room super admins), checked
// locally so that no malformed frame is sent. Room messages are sent with
// OutgoingMessage.ChatType chatroom (or SendRoomText) and a Priority. The
// server does not store them: they arrive live as RoomMessageEvents (no
// seq, nothing fetched after a reconnect), each once, also when a join
// overlaps them, and a room send is never repeated after a lost connection.
// Changes to a room arrive live as RoomEvents. Broadcasts from the app's
// administrators arrive as BroadcastEvents: an app-wide one once per
// device, live or after reconnecting (it is stored and delivered like the
// people events), an online-only one live only; a broadcast to every room
// arrives as a RoomMessageEvent in each room.
//
// Offline push: while none of a user's devices is connected in the
// foreground, the server pushes the user's messages to the devices bound
// to the app's notifiers (FCM, APNs, a webhook). BindPushDevice binds this
// device's token (UnbindPushDevice, SetPushBinding, PushBindings manage
// bindings); SetPeerNotification, SetGroupNotification and
// SetDefaultNotification set the notification mode, quiet hours and
// silences; SetPushDisplayStyle, SetPushNickname, SetPushTemplate and
// SetPushLanguage how pushes look. These are REST calls made with the
// user's token. SetBackground tells the server the application went to the
// background, so its messages are pushed although the device stays
// connected; the Client tells every new connection again, since the server
// forgets it with each one.
package parley
