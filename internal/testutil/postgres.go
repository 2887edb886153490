// Package testutil holds helpers shared by tests across packages.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests.
const PostgresEnv = "PARLEY_TEST_POSTGRES"

// PostgresURL creates a fresh database on the server named by
// $PARLEY_TEST_POSTGRES and returns its URL; the database is dropped when the
// test ends. Without the variable the test is skipped, unless
// PARLEY_REQUIRE_POSTGRES=1 (set by CI), in which case it fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("PARLEY_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("%s is not set but PARLEY_REQUIRE_POSTGRES=1", PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL test", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "parley_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
