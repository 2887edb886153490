// Package protocol holds Parley's public wire vocabulary: the API error codes
// shared by the server, the SDKs and the docs. It depends on the standard
// library only, so client SDKs can import it without pulling in the server.
package protocol

// ErrorKind is one entry of the error registry. Several kinds may share an
// Easemob error string (Error) but differ in HTTP status or meaning; ID is
// Parley's stable name for the kind and is what SDKs switch on.
type ErrorKind struct {
	// ID is Parley's stable identifier, unique in the registry.
	ID string
	// Error is the value of the "error" field of the REST error body
	// (Easemob-compatible).
	Error string
	// Status is the HTTP status the REST API answers with.
	Status int
	// Exception is the value of the "exception" field (Easemob-compatible).
	Exception string
	// Doc says when the error happens; it is rendered into docs/errors.md.
	Doc string
}

const usergridExc = "org.apache.usergrid.rest.exceptions."

// The registry. Add new kinds here and to Registry below, then run
// `go generate ./protocol` to refresh docs/errors.md.
var (
	ErrIllegalArgument = ErrorKind{"illegal_argument", "illegal_argument", 400,
		"java.lang.IllegalArgumentException", "A field is missing, has the wrong type, or breaks a documented rule (length, character set, range)."}
	ErrInvalidBody = ErrorKind{"invalid_request_body", "invalid_request_body", 400,
		usergridExc + "InvalidRequestBodyException", "The request body is not valid JSON, is not the expected JSON shape, or is larger than the body limit."}
	ErrDuplicateUser = ErrorKind{"duplicate_user", "duplicate_unique_property_exists", 400,
		"org.apache.usergrid.persistence.exceptions.DuplicateUniquePropertyExistsException", "A user with this username already exists in the app (usernames are case-insensitive)."}
	ErrInvalidGrant = ErrorKind{"invalid_grant", "invalid_grant", 400,
		usergridExc + "InvalidGrantException", "Token request refused: wrong client_id/client_secret or password, or the user is deactivated."}
	ErrGrantUserNotFound = ErrorKind{"grant_user_not_found", "invalid_grant", 404,
		usergridExc + "InvalidGrantException", "Token request for a user that does not exist."}
	ErrUnauthorized = ErrorKind{"unauthorized", "unauthorized", 401,
		usergridExc + "UnauthorizedException", "The call needs a token and none was sent (for example user registration when open registration is off)."}
	ErrBadAccessToken = ErrorKind{"bad_access_token", "auth_bad_access_token", 401,
		usergridExc + "SecurityException", "The token is malformed, expired, revoked (user deactivated, app secret rotated), or belongs to another app."}
	ErrForbidden = ErrorKind{"forbidden_op", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The token is valid but may not do this: a user token acting on another user, or a user token on an admin-only call."}
	ErrRoleForbidden = ErrorKind{"forbidden", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "Console and management API: the account's role, or its app scope, does not allow the request (a viewer changing anything, an app_admin outside its apps, anyone but an owner managing apps, admins or the audit log)."}
	ErrCSRF = ErrorKind{"csrf", "csrf", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "Console: a request other than GET/HEAD without the session's X-CSRF-Token, or a cross-site request (an Origin of another site, or Sec-Fetch-Site: cross-site)."}
	ErrTLSRequired = ErrorKind{"tls_required", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The server requires TLS (tls.require) and the request came over plain HTTP, neither from this host nor marked X-Forwarded-Proto: https by a trusted proxy. Nothing was done; use https:// (wss:// for the WebSocket)."}
	ErrAppNotFound = ErrorKind{"app_not_found", "organization_application_not_found", 404,
		usergridExc + "OrganizationApplicationNotFoundException", "No app with this org_name/app_name."}
	ErrUserNotFound = ErrorKind{"user_not_found", "service_resource_not_found", 404,
		"UserNotFoundException", "The user named in the path or body does not exist in the app."}
	ErrNotFound = ErrorKind{"resource_not_found", "service_resource_not_found", 404,
		"ResourceNotFoundException", "No such API path."}
	ErrMethodNotAllowed = ErrorKind{"method_not_allowed", "method_not_allowed", 405,
		"MethodNotAllowedException", "The path exists but not with this HTTP method."}
	ErrConflict = ErrorKind{"concurrent_operation", "concurrent_operation_error", 409,
		"ConcurrentOperationException", "Two requests changed the same thing at once (for example two inherit grants auto-creating one user); retry."}
	ErrUnsupportedMedia = ErrorKind{"unsupported_media_type", "unsupported_media_type", 415,
		"UnsupportedMediaTypeException", "The Content-Type is not one this call accepts."}
	ErrRateLimited = ErrorKind{"rate_limited", "resource_limited", 429,
		"ResourceLimitedException", "This request has reached api limit; retry after the Retry-After header."}
	ErrInternal = ErrorKind{"internal_error", "internal_server_error", 500,
		"InternalServerErrorException", "Unexpected server failure. The description carries a request ID that matches the server log line."}
	ErrBadFrame = ErrorKind{"bad_frame", "invalid_request_body", 400,
		usergridExc + "InvalidRequestBodyException", "WebSocket: the frame is not a JSON object of the documented shape, or lacks a required field."}
	ErrUnknownFrame = ErrorKind{"unknown_frame", "unsupported_service_operation", 400,
		"UnsupportedServiceOperationException", "WebSocket: the frame kind (field t) is not one of the protocol's."}
	ErrFrameTooLarge = ErrorKind{"frame_too_large", "exceed_limit", 400,
		"ExceedLimitException", "WebSocket: the frame exceeds 64 KiB; the connection is closed with 1009."}
	ErrNotAuthenticated = ErrorKind{"not_authenticated", "unauthorized", 401,
		usergridExc + "UnauthorizedException", "WebSocket: a frame other than auth was sent before authenticating, or auth was sent twice."}
	ErrMessageTooLarge = ErrorKind{"message_too_large", "exceed_limit", 400,
		"ExceedLimitException", "The message body plus ext exceed the app's message size limit (5 KB by default)."}
	ErrContentRejected = ErrorKind{"content_rejected", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "Content moderation: the message text (txt msg, custom customEvent or customExts values) or the nickname contains a word of the app's keyword list whose action is reject; nothing is stored or delivered."}
	ErrMessageNotFound = ErrorKind{"message_not_found", "service_resource_not_found", 404,
		"MessageNotFoundException", "No message with this ID in a conversation the caller belongs to."}
	ErrConversationNotFound = ErrorKind{"conversation_not_found", "service_resource_not_found", 404,
		"ConversationNotFoundException", "No conversation with this ID that the caller belongs to."}
	ErrRecallWindow = ErrorKind{"recall_window_passed", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The message is older than the app's recall window (2 minutes by default); an admin can recall it with force."}
	ErrRecallNotAllowed = ErrorKind{"recall_not_allowed", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "Only the sender may recall a message (admins may recall any), and cmd messages cannot be recalled."}
	ErrEditNotAllowed = ErrorKind{"edit_not_allowed", "message_rewrite_error", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "Only the sender may edit a message (app admins may edit any), only txt and custom messages can be edited, not recalled ones, the new body must keep the type, and the app may have turned editing off (edit_disabled)."}
	ErrEditLimit = ErrorKind{"edit_limit", "message_rewrite_error", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The message was already edited the app's maximum number of times (max_edits, 10 by default)."}
	ErrTooManyDevices = ErrorKind{"too_many_devices", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The user already has the app's maximum number of devices online and the app refuses new ones (device_overflow = reject)."}
	ErrFileTooLarge = ErrorKind{"file_too_large", "request_entity_too_large", 413,
		"RequestEntityTooLargeException", "The uploaded file exceeds the app's file size limit (10 MB by default). Nothing is stored."}
	ErrFileNotFound = ErrorKind{"file_not_found", "service_resource_not_found", 404,
		"FileNotFoundException", "No uploaded file with this UUID in the app (never uploaded, or deleted with its message)."}
	ErrFileAccessDenied = ErrorKind{"file_access_denied", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The file was uploaded with restrict-access: download it with its share-secret (or as its uploader or an app admin)."}
	ErrBadImage = ErrorKind{"bad_image", "illegal_argument", 400,
		"java.lang.IllegalArgumentException", "The upload looks like an image (JPEG, PNG, GIF, WebP) but cannot be decoded, or is larger than 64 megapixels."}
	ErrBlocked = ErrorKind{"blocked", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The recipient has blocked the sender: the message or friend request is refused and nothing is stored."}
	ErrUserMuted = ErrorKind{"user_muted", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The sender is muted for this chat type (POST /mutes) until the time given; nothing is stored."}
	ErrNotContacts = ErrorKind{"not_contacts", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The app allows messages between friends only (friends_only setting), and the users are not friends."}
	ErrContactLimit = ErrorKind{"contact_limit", "exceed_limit", 403,
		"ExceedLimitException", "A contact, block-list or presence-subscription limit is reached (3,000 friends, 500 blocked, 3,000 subscriptions per user by default)."}
	ErrAttrsTooLarge = ErrorKind{"attributes_too_large", "exceed_limit", 400,
		"ExceedLimitException", "A user's attributes would exceed 2 KB in total (keys plus values), or a standard attribute its own length."}
	ErrRequestNotFound = ErrorKind{"contact_request_not_found", "service_resource_not_found", 404,
		"ContactRequestNotFoundException", "No pending friend request from that user."}
	ErrGroupNotFound = ErrorKind{"group_not_found", "service_resource_not_found", 404,
		"GroupNotFoundException", "No group with this ID in the app (never created, or dissolved)."}
	ErrGroupForbidden = ErrorKind{"group_forbidden", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The caller's role in the group does not allow this (owner and admins manage; only the owner transfers, dissolves and names admins)."}
	ErrNotGroupMember = ErrorKind{"not_group_member", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The user is not a member of the group."}
	ErrGroupFull = ErrorKind{"group_full", "exceed_limit", 403,
		"ExceedLimitException", "The group would exceed its maxusers (or the owner-and-admins limit of 100)."}
	ErrGroupMuted = ErrorKind{"group_muted", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The sender is muted in the group, or the group is muted for all but its owner, admins and allow list, or disabled."}
	ErrGroupBlocked = ErrorKind{"group_blocked", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The user is on the group's block list and cannot join."}
	ErrRoomNotFound = ErrorKind{"room_not_found", "service_resource_not_found", 404,
		"ChatRoomNotFoundException", "No chat room with this ID in the app."}
	ErrRoomForbidden = ErrorKind{"room_forbidden", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The caller's role in the chat room does not allow this (owner and admins manage; creating rooms from clients needs a super admin)."}
	ErrNotRoomMember = ErrorKind{"not_room_member", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The user has not joined the chat room."}
	ErrRoomFull = ErrorKind{"room_full", "exceed_limit", 403,
		"ExceedLimitException", "The chat room is at its maxusers."}
	ErrRoomMuted = ErrorKind{"room_muted", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The sender is muted in the chat room, or the room is muted for all but its owner, admins and allow list."}
	ErrRoomBlocked = ErrorKind{"room_blocked", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The user is on the chat room's block list."}
	ErrMessageRejected = ErrorKind{"callback_rejected", "forbidden_op", 403,
		"com.easemob.server.api.exception.EasemobForbiddenOpException", "The app's pre-send callback refused the message; the description carries the code and message the callback answered (\"code: message\"). Nothing was stored."}
	ErrPreSendUnavailable = ErrorKind{"callback_unavailable", "service_unavailable", 503,
		"ServiceUnavailableException", "The app's pre-send callback did not answer in time (or answered an error) and its rule fails closed; nothing was stored. Retry later."}
	ErrUnavailable = ErrorKind{"service_unavailable", "service_unavailable", 503,
		"ServiceUnavailableException", "The server is shutting down, or its database or file store cannot be reached (restarting, network cut); retry, on another node or later."}
	ErrStorageFull = ErrorKind{"storage_full", "insufficient_storage", 507,
		"InsufficientStorageException", "The file store (local disk or S3) has no room for the upload; nothing was stored. Messages are not affected. Retry once the operator has freed space."}
)

// Registry lists every error kind, in the order of docs/errors.md.
var Registry = []ErrorKind{
	ErrIllegalArgument, ErrInvalidBody, ErrDuplicateUser, ErrInvalidGrant, ErrGrantUserNotFound,
	ErrUnauthorized, ErrBadAccessToken, ErrForbidden, ErrRoleForbidden, ErrCSRF, ErrTLSRequired, ErrAppNotFound, ErrUserNotFound, ErrNotFound,
	ErrMethodNotAllowed, ErrConflict, ErrUnsupportedMedia, ErrRateLimited, ErrInternal, ErrUnavailable,
	ErrBadFrame, ErrUnknownFrame, ErrFrameTooLarge, ErrNotAuthenticated, ErrMessageTooLarge, ErrContentRejected, ErrMessageRejected, ErrPreSendUnavailable, ErrMessageNotFound,
	ErrConversationNotFound, ErrRecallWindow, ErrRecallNotAllowed, ErrEditNotAllowed, ErrEditLimit, ErrTooManyDevices,
	ErrFileTooLarge, ErrFileNotFound, ErrFileAccessDenied, ErrBadImage, ErrStorageFull,
	ErrBlocked, ErrUserMuted, ErrNotContacts, ErrContactLimit, ErrAttrsTooLarge, ErrRequestNotFound,
	ErrGroupNotFound, ErrGroupForbidden, ErrNotGroupMember, ErrGroupFull, ErrGroupMuted, ErrGroupBlocked,
	ErrRoomNotFound, ErrRoomForbidden, ErrNotRoomMember, ErrRoomFull, ErrRoomMuted, ErrRoomBlocked,
}

// ErrorBody is the REST error envelope (Easemob-compatible).
type ErrorBody struct {
	Error            string `json:"error"`
	Exception        string `json:"exception"`
	Timestamp        int64  `json:"timestamp"`
	Duration         int64  `json:"duration"`
	ErrorDescription string `json:"error_description"`
	// Code is the error's Parley ID (the first column of docs/errors.md), a
	// Parley addition: several kinds share Easemob's error and exception.
	Code string `json:"code,omitempty"`
}
