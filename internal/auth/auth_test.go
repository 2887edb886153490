package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

var testKDF = KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}

func TestHasher_HashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(testKDF, 2)
	hash, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format: %s", hash)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		ok, err := h.Verify(ctx, tc.pw, hash)
		if err != nil || ok != tc.want {
			t.Fatalf("verify %q: %v %v", tc.pw, ok, err)
		}
	}
	// A hasher with other parameters still verifies old hashes.
	h2 := NewHasher(KDFParams{Time: 2, MemoryKiB: 2048, Threads: 2}, 1)
	if ok, _ := h2.Verify(ctx, "correct horse", hash); !ok {
		t.Fatal("parameter change locked the user out")
	}
	// Two hashes of one password differ (random salt).
	hash2, _ := h.Hash(ctx, "correct horse")
	if hash2 == hash {
		t.Fatal("salt not random")
	}
}

func TestParseHash_Rejects(t *testing.T) {
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1,x=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
	} {
		if _, _, _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

func TestHasher_ContextCancelled(t *testing.T) {
	h := NewHasher(testKDF, 1)
	h.sem <- struct{}{} // all slots busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); err == nil {
		t.Fatal("want ctx error while all hash slots are busy")
	}
}

func TestToken_SignParseVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		c      Claims
		key    []byte
		at     time.Time
		wantOK bool
	}{
		{"app token", Claims{Kind: KindApp, AppID: 7, IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60}, key, now, true},
		{"user token never expires", Claims{Kind: KindUser, AppID: 7, UserID: 99, IssuedAt: now.Unix(), Epoch: 3}, key, now.Add(1000 * time.Hour), true},
		{"expired", Claims{Kind: KindApp, AppID: 7, IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60}, key, now.Add(time.Minute), false},
		{"other key (secret rotated)", Claims{Kind: KindApp, AppID: 7, IssuedAt: now.Unix()}, []byte("another key"), now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := Sign(tc.c, key)
			p, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Claims != tc.c {
				t.Fatalf("claims %+v want %+v", p.Claims, tc.c)
			}
			if err := p.Verify(tc.key, tc.at); (err == nil) != tc.wantOK {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

func TestToken_Tampered(t *testing.T) {
	key := []byte("k")
	tok := Sign(Claims{Kind: KindUser, AppID: 1, UserID: 2}, key)
	for i := len("P1."); i < len(tok); i++ {
		if tok[i] == '.' {
			continue
		}
		b := []byte(tok)
		b[i] ^= 1
		p, err := Parse(string(b))
		if err == nil && p.Verify(key, time.Now()) == nil {
			t.Fatalf("tampered token at %d verified", i)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Sign(Claims{Kind: KindUser, AppID: 1, UserID: 2, ExpiresAt: 5}, []byte("k")))
	f.Add(Sign(Claims{Kind: KindApp, AppID: 1 << 40}, []byte("k")))
	f.Add("P1..")
	f.Add("YWMtabc")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses must verify only with the right key.
		if p.Verify([]byte("k"), time.Unix(0, 0)) == nil && !strings.HasPrefix(s, "P1.") {
			t.Fatal("verified a token without prefix")
		}
		if p.AppID <= 0 {
			t.Fatal("accepted non-positive app id")
		}
	})
}

func FuzzParseHash(f *testing.F) {
	h := NewHasher(testKDF, 1)
	good, _ := h.Hash(context.Background(), "pw")
	f.Add(good)
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParseHash(s)
		if err != nil {
			return
		}
		if p.MemoryKiB > 4<<20 || p.Time > 64 || len(salt) > 64 || len(key) > 64 {
			t.Fatalf("unbounded params accepted: %+v", p)
		}
	})
}
