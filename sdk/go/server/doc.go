// Package parleyserver is a typed client of Parley's Easemob-compatible REST
// API for application servers (docs/rest.md): one method per route under
// /{org}/{app}/, plus the app-independent /management API (Management).
//
// A Client signs in with the app's client credentials (grant_type
// client_credentials), caches the app token and gets a new one shortly
// before it expires, and once when the server answers 401. It is safe for
// concurrent use.
//
// Retries: requests that are safe to repeat are retried with exponential
// backoff and full jitter on 429 (honouring Retry-After), on 500, 502, 503
// and 504 and on network errors, rotating through the configured base
// URLs. Safe to repeat are GET, PUT, HEAD and DELETE requests (except
// DeleteOldestUsers, which deletes whichever users are oldest at the time,
// and RewriteMessage, whose edits are counted), the POSTs that only read
// (token, batch status, presence get, attribute batch gets, chat room
// attributes), the POSTs that set a state (activate, block, mute, add
// members, ...: README.md lists them) and 1:1 sends that carry a
// ClientMsgID (the server's idempotency key). Other POSTs (sends without
// a key, group and room sends, broadcasts, creates) are sent once; uploads
// are sent once because their body is a stream.
//
// Failures the server reports are *Error values carrying the HTTP status,
// Easemob's error and error_description, and Parley's registry code
// (protocol.ErrorKind.ID). Invalid arguments are refused before any request
// with an error wrapping ErrInvalidArgument.
package parleyserver
