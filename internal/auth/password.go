// Package auth holds Parley's credentials primitives: password hashing with
// Argon2id, and signed, revocable tokens scoped to one app.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id cost parameters.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// Hasher hashes and verifies passwords. At most Parallel hashes run at once,
// so a burst of logins cannot make the server allocate Parallel x MemoryKiB
// without bound; callers queue (and honour ctx) instead.
type Hasher struct {
	p   KDFParams
	sem chan struct{}
}

// NewHasher builds a Hasher; parallel <= 0 means one hash per CPU.
func NewHasher(p KDFParams, parallel int) *Hasher {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	return &Hasher{p: p, sem: make(chan struct{}, parallel)}
}

const (
	saltLen = 16
	keyLen  = 32
)

// ErrBadHash means a stored hash is not in the format Hash writes.
var ErrBadHash = errors.New("auth: malformed password hash")

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns a PHC-format Argon2id hash of password:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key> (unpadded base64).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, keyLen)
	h.release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the stored hash. The parameters
// recorded in the hash are used, so changing the configured cost does not
// lock anyone out.
func (h *Hasher) Verify(ctx context.Context, password, hash string) (bool, error) {
	p, salt, key, err := ParseHash(hash)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	h.release()
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// ParseHash decodes a PHC-format Argon2id hash. It bounds every parameter so
// a corrupt or hostile hash cannot make Verify allocate without limit.
func ParseHash(hash string) (KDFParams, []byte, []byte, error) {
	var p KDFParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return p, nil, nil, ErrBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrBadHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, ErrBadHash
		}
	}
	if p.Time < 1 || p.Time > 64 || p.MemoryKiB < 8 || p.MemoryKiB > 4<<20 || p.Threads < 1 {
		return p, nil, nil, ErrBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrBadHash
	}
	return p, salt, key, nil
}
