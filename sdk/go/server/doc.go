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
// backoff and full jitter on 429 (honouring Retry-After), on 502/503/504
// and on network errors, rotating through the configured base URLs. Safe
// to repeat are GET, PUT, HEAD and DELETE requests (except DeleteOldestUsers,
// which deletes whichever users are oldest at the time), the POSTs that
// only read (token, batch status, presence get, attribute and member
// attribute batch gets, chat room attributes, is_joined) and message sends
// that carry a ClientMsgID (the server's idempotency key). Other POSTs are
// sent once; uploads are sent once because their body is a stream.
//
// Failures the server reports are *Error values carrying the HTTP status,
// Easemob's error and error_description, and Parley's registry code
// (protocol.ErrorKind.ID). Invalid arguments are refused before any request
// with an error wrapping ErrInvalidArgument.
package parleyserver
