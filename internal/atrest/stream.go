package atrest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Streams (file contents) are encrypted in segments, so a file is never
// held in memory and a range is read by decrypting only the segments it
// spans:
//
//	header  StreamHeaderSize bytes:
//	        "parleye1"   8-byte magic
//	        n            1 byte, length of the key ID
//	        id           16 bytes, the key ID, zero-padded
//	        salt         32 random bytes
//	segment SegmentSize bytes of plaintext sealed with AES-256-GCM (+16-byte
//	        tag); the last segment may be shorter (or empty: an empty file
//	        is one empty segment).
//
// Each stream has its own key, HKDF-SHA256(master key, salt, info naming
// the object), so nonces never repeat across files: a segment's nonce is
// its index (8 bytes, big-endian) and a final-segment flag. The flag makes
// a truncated stream fail to authenticate, and the index makes reordered
// segments fail.
const (
	StreamMagic      = "parleye1"
	StreamHeaderSize = len(StreamMagic) + 1 + MaxIDLen + saltSize
	SegmentSize      = 64 << 10
	// SegmentOverhead is the tag each segment adds.
	SegmentOverhead = 16
	saltSize        = 32
)

// StreamHeader is a parsed stream header.
type StreamHeader struct {
	KeyID string
	Salt  [saltSize]byte
}

// IsStream reports whether b (the first bytes of an object) starts with the
// stream magic.
func IsStream(b []byte) bool {
	return len(b) >= len(StreamMagic) && string(b[:len(StreamMagic)]) == StreamMagic
}

// ParseStreamHeader parses the first StreamHeaderSize bytes of a stream.
func ParseStreamHeader(b []byte) (StreamHeader, error) {
	var h StreamHeader
	if len(b) < StreamHeaderSize || !IsStream(b) {
		return h, ErrCorrupt
	}
	n := int(b[len(StreamMagic)])
	if n < 1 || n > MaxIDLen {
		return h, ErrCorrupt
	}
	idStart := len(StreamMagic) + 1
	h.KeyID = string(b[idStart : idStart+n])
	if !ValidID(h.KeyID) {
		return h, ErrCorrupt
	}
	copy(h.Salt[:], b[idStart+MaxIDLen:StreamHeaderSize])
	return h, nil
}

// Bytes encodes the header.
func (h StreamHeader) Bytes() []byte {
	b := make([]byte, StreamHeaderSize)
	copy(b, StreamMagic)
	b[len(StreamMagic)] = byte(len(h.KeyID))
	copy(b[len(StreamMagic)+1:], h.KeyID)
	copy(b[len(StreamMagic)+1+MaxIDLen:], h.Salt[:])
	return b
}

// StreamCipher seals and opens one stream's segments.
type StreamCipher struct {
	aead cipher.AEAD
}

// NewStream starts a stream under the active key for the object named
// name, returning its header and cipher.
func (k *Keyring) NewStream(name string) (StreamHeader, *StreamCipher, error) {
	h := StreamHeader{KeyID: k.active.id}
	rand.Read(h.Salt[:])
	c, err := k.OpenStream(h, name)
	return h, c, err
}

// OpenStream returns the cipher of an existing stream of the object named
// name.
func (k *Keyring) OpenStream(h StreamHeader, name string) (*StreamCipher, error) {
	if k == nil {
		return nil, ErrUnknownKey
	}
	kk := k.keys[h.KeyID]
	if kk == nil {
		return nil, fmt.Errorf("%w (key %q)", ErrUnknownKey, h.KeyID)
	}
	fk, err := hkdf.Key(sha256.New, kk.raw, h.Salt[:], "parley stream v1\x00"+name, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &StreamCipher{aead: aead}, nil
}

func segNonce(i int64, final bool) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n, uint64(i))
	if final {
		n[11] = 1
	}
	return n
}

// Seal appends segment i's ciphertext to dst.
func (c *StreamCipher) Seal(dst, plain []byte, i int64, final bool) []byte {
	return c.aead.Seal(dst, segNonce(i, final), plain, nil)
}

// Open appends segment i's plaintext to dst.
func (c *StreamCipher) Open(dst, sealed []byte, i int64, final bool) ([]byte, error) {
	out, err := c.aead.Open(dst, segNonce(i, final), sealed, nil)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// StreamSize returns the size of the encrypted stream of n plaintext bytes.
func StreamSize(n int64) int64 {
	segs := max(1, (n+SegmentSize-1)/SegmentSize)
	return int64(StreamHeaderSize) + n + segs*SegmentOverhead
}

// PlainSize returns the plaintext size of an encrypted stream of size n,
// and its number of segments.
func PlainSize(n int64) (size, segments int64, err error) {
	body := n - int64(StreamHeaderSize)
	const full = SegmentSize + SegmentOverhead
	segs := (body + full - 1) / full
	rem := body - (segs-1)*full
	if body < SegmentOverhead || rem < SegmentOverhead {
		return 0, 0, errors.New("atrest: truncated stream")
	}
	return body - segs*SegmentOverhead, segs, nil
}
