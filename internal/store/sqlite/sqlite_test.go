package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/sqlite"
	"github.com/parleyim/parley/internal/store/sqlstore"
	"github.com/parleyim/parley/internal/store/storetest"
	"github.com/parleyim/parley/internal/testutil"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Reopening applies no migration twice and keeps the data.
func TestOpen_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &store.App{UUID: "u", Org: "o", Name: "a", ClientID: "c", ClientSecretHash: []byte{1}, TokenKey: []byte{1}, Settings: []byte("{}")}
	if err := s.Apps().Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Apps().GetByName(ctx, "o", "a"); err != nil {
		t.Fatal(err)
	}
}

// With SQLite's single writer, commits are announced in seq order even with
// concurrent senders in one conversation.
func TestAppend_AnnouncesInSeqOrder(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := &store.App{UUID: "u", Org: "o", Name: "a", ClientID: "c", ClientSecretHash: []byte{1}, TokenKey: []byte{1}, Settings: []byte("{}")}
	if err := s.Apps().Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int64
	var wg sync.WaitGroup
	var id atomic.Int64
	id.Store(1000)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				n := id.Add(1)
				op := &store.AppendOp{Item: store.Item{ID: n, AppID: a.ID, From: int64(1 + w%2), To: int64(2 - w%2), Type: "txt",
					Body: []byte(`{"msg":"x"}`), Created: n}, OnCommit: func(op *store.AppendOp) {
					mu.Lock()
					order = append(order, op.Item.Seq)
					mu.Unlock()
				}}
				if err := s.Messages().Append(ctx, []*store.AppendOp{op}); err != nil || op.Err != nil {
					t.Error(err, op.Err)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n >= 400 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 400 {
		t.Fatalf("%d announcements, want 400", len(order))
	}
	for i, seq := range order {
		if seq != int64(i+1) {
			t.Fatalf("announcement %d is seq %d: out of order", i, seq)
		}
	}
}

// The whole suite passes with encryption at rest on: it is transparent.
func TestConformance_Encrypted(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		keys, _ := testutil.Keyring(t, "k1")
		s.UseCrypto(sqlstore.Crypto{Secrets: storetest.SecretsBox(t), Keys: keys, Encrypt: true})
		return s
	})
}

// encryptionBackend opens stores in fresh directories; Raw is every byte of
// the database's files (the database and its WAL).
func encryptionBackend() storetest.EncryptionBackend {
	dirs := map[*sqlstore.DB]string{}
	var mu sync.Mutex
	return storetest.EncryptionBackend{
		Open: func(t *testing.T) *sqlstore.DB {
			dir := t.TempDir()
			s, err := sqlite.Open(context.Background(), filepath.Join(dir, "parley.db"), sqlite.Options{Synchronous: "normal"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			mu.Lock()
			dirs[s] = dir
			mu.Unlock()
			return s
		},
		Raw: func(t *testing.T, db *sqlstore.DB) []byte {
			mu.Lock()
			dir := dirs[db]
			mu.Unlock()
			var all []byte
			for _, name := range []string{"parley.db", "parley.db-wal"} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			if len(all) == 0 {
				t.Fatal("no database files")
			}
			return all
		},
	}
}

func TestEncryption(t *testing.T) { storetest.RunEncryption(t, encryptionBackend()) }

func TestEncryption_SealsLegacySecrets(t *testing.T) {
	storetest.SealsLegacySecrets(t, encryptionBackend())
}

// BenchmarkAppend stores 1:1 messages (a 200-byte body), in plaintext and
// encrypted at rest (docs/operations.md reports the ratio).
func BenchmarkAppend(b *testing.B) {
	for _, encrypt := range []bool{false, true} {
		b.Run(map[bool]string{false: "plaintext", true: "encrypted"}[encrypt], func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "parley.db"), sqlite.Options{Synchronous: "normal"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if encrypt {
				keys, _ := testutil.Keyring(b, "k1")
				s.UseCrypto(sqlstore.Crypto{Secrets: storetest.SecretsBox(b), Keys: keys, Encrypt: true})
			}
			a := &store.App{UUID: "u", Org: "o", Name: "a", ClientID: "c", ClientSecretHash: []byte{1}, TokenKey: []byte{1}, Settings: []byte("{}")}
			if err := s.Apps().Create(ctx, a); err != nil {
				b.Fatal(err)
			}
			body := []byte(`{"msg":"` + strings.Repeat("x", 190) + `"}`)
			var id atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				from := id.Add(1)
				for pb.Next() {
					n := id.Add(1)
					op := &store.AppendOp{Item: store.Item{ID: n, AppID: a.ID, From: from, To: from + 1000, Type: "txt", Body: body, Created: n}}
					if err := s.Messages().Append(ctx, []*store.AppendOp{op}); err != nil || op.Err != nil {
						b.Fatal(err, op.Err)
					}
				}
			})
		})
	}
}
