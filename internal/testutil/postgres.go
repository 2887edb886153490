// Package testutil holds helpers shared by tests across packages.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
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

// PostgresRows returns every row of every table of the database at url as
// PostgreSQL's text output, followed by the bytes of every bytea value in
// it (printed as \x hex), so tests can search what the database holds.
func PostgresRows(t testing.TB, url string) []byte {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var text []byte
	for _, name := range tables {
		var s sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT string_agg(t::text, E'\n') FROM "`+name+`" t`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		text = append(text, s.String...)
		text = append(text, '\n')
	}
	// bytea values print as \x followed by hex digits (a backslash may be
	// doubled inside a row's text).
	out := append([]byte(nil), text...)
	for s := string(text); ; {
		i := strings.Index(s, `\x`)
		if i < 0 {
			return out
		}
		s = s[i+2:]
		j := 0
		for j < len(s) && strings.IndexByte("0123456789abcdef", s[j]) >= 0 {
			j++
		}
		b, _ := hex.DecodeString(s[:j&^1])
		out = append(out, b...)
		s = s[j:]
	}
}
