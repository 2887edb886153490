package sqlstore

import (
	"fmt"
	"strconv"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/secret"
)

// Crypto is how the store encrypts values at rest. The zero value stores
// everything as it is given (tests that open a store directly).
type Crypto struct {
	// Secrets seals secrets: files' share-secrets and apps' token keys.
	// The server always sets it (the secrets key).
	Secrets *secret.Box
	// Keys decrypt message content (items, broadcasts, moderation copies,
	// push and callback payloads); nil: no encryption keys configured.
	Keys *atrest.Keyring
	// Encrypt: new message content is encrypted under Keys' active key
	// (false: written in plaintext; what was encrypted stays readable).
	Encrypt bool
}

// UseCrypto sets how values are encrypted (before the store is used; a
// later change applies to the operations that start after it).
func (db *DB) UseCrypto(c Crypto) {
	if c.Keys == nil {
		c.Encrypt = false
	}
	db.crypto.Store(&c)
}

var noCrypto Crypto

func (db *DB) cr() *Crypto {
	if c := db.crypto.Load(); c != nil {
		return c
	}
	return &noCrypto
}

// Columns holding message content, and the additional data binding a
// value to its place: the column, and the row where it has a stable ID.
const (
	adItemBody      = "items.body:"
	adItemExt       = "items.ext:"
	adBroadcastBody = "broadcasts.body:"
	adBroadcastExt  = "broadcasts.ext:"
	adModContent    = "moderation_records.content:"
	adPushPayload   = "push_jobs.payload"
	adCallbackPay   = "callback_jobs.payload"
	adFileSecret    = "files.secret:"
	adTokenKey      = "apps.token_key:"
)

func rowAD(col string, id int64) []byte { return strconv.AppendInt([]byte(col), id, 10) }

// seal encrypts a content value for its column when encryption is on;
// empty values stay empty (recalled messages, no ext).
func (db *DB) seal(ad []byte, v []byte) string {
	c := db.cr()
	if !c.Encrypt || len(v) == 0 {
		return string(v)
	}
	return c.Keys.Seal(v, ad)
}

// open decrypts a content value read from its column; plaintext (written
// before encryption) is returned as it is.
func (db *DB) open(ad []byte, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := db.cr().Keys.Open(v, ad)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", ad, err)
	}
	return b, nil
}

// sealSecret seals a secret for the database.
func (db *DB) sealSecret(ad []byte, v string) string {
	box := db.cr().Secrets
	if box == nil || v == "" {
		return v
	}
	return box.Seal([]byte(v), ad)
}

// openSecret opens a sealed secret; a plaintext one (stored before
// secrets were sealed) is returned as it is.
func (db *DB) openSecret(ad []byte, v string) (string, error) {
	if !secret.Sealed(v) {
		return v, nil
	}
	box := db.cr().Secrets
	if box == nil {
		return "", fmt.Errorf("decrypt %s: no secrets key", ad)
	}
	b, err := box.Open(v, ad)
	if err != nil {
		return "", fmt.Errorf("decrypt %s: %w", ad, err)
	}
	return string(b), nil
}
