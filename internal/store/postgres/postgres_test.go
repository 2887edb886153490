package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/postgres"
	"github.com/parleyim/parley/internal/store/sqlstore"
	"github.com/parleyim/parley/internal/store/storetest"
	"github.com/parleyim/parley/internal/testutil"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), testutil.PostgresURL(t), 8)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Several nodes starting at once on an empty database all succeed: the
// advisory lock serialises their migrations.
func TestOpen_ConcurrentMigrations(t *testing.T) {
	url := testutil.PostgresURL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), url, 2)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// (The whole suite with encryption on runs on SQLite only: sealing is
// written once in sqlstore, and RunEncryption covers PostgreSQL's columns;
// running the suite twice here would double this package's minutes.)

// encryptionBackend opens stores on fresh databases; Raw is every row of
// every table (testutil.PostgresRows).
func encryptionBackend() storetest.EncryptionBackend {
	urls := map[*sqlstore.DB]string{}
	var mu sync.Mutex
	return storetest.EncryptionBackend{
		RawIsRows: true,
		Open: func(t *testing.T) *sqlstore.DB {
			url := testutil.PostgresURL(t)
			s, err := postgres.Open(context.Background(), url, 4)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			mu.Lock()
			urls[s] = url
			mu.Unlock()
			return s
		},
		Raw: func(t *testing.T, db *sqlstore.DB) []byte {
			mu.Lock()
			url := urls[db]
			mu.Unlock()
			return testutil.PostgresRows(t, url)
		},
	}
}

func TestEncryption(t *testing.T) { storetest.RunEncryption(t, encryptionBackend()) }

func TestEncryption_SealsLegacySecrets(t *testing.T) {
	storetest.SealsLegacySecrets(t, encryptionBackend())
}
