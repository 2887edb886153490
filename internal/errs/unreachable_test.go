package errs_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/protocol"
)

// A PostgreSQL that is not there: the driver's real error for a refused
// connection.
func refusedPostgres(t *testing.T) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	db, err := sql.Open("pgx", "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, "SELECT 1")
	if err == nil {
		t.Fatal("a closed port answered")
	}
	return err
}

// A connection the server closed: the driver's real "conn closed" (needs
// $PARLEY_TEST_POSTGRES; nil without it).
func closedConn(t *testing.T) error {
	url := os.Getenv("PARLEY_TEST_POSTGRES")
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	_, err = c.Exec(ctx, "SELECT 1").ReadAll()
	if err == nil {
		t.Fatal("a closed connection answered")
	}
	return err
}

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused by the driver", fmt.Errorf("send: %w", refusedPostgres(t)), true},
		{"bad connection", fmt.Errorf("store: %w", driver.ErrBadConn), true},
		{"server shutting down (57P01)", fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{"cannot connect now (57P03)", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure (08006)", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections (53300)", &pgconn.PgError{Code: "53300"}, true},
		{"unique violation (23505)", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error (42601)", &pgconn.PgError{Code: "42601"}, false},
		{"a plain error", errors.New("boom"), false},
		{"a domain error", errs.New(protocol.ErrInternal, "x"), false},
	}
	if err := closedConn(t); err != nil {
		tests = append(tests, struct {
			name string
			err  error
			want bool
		}{"a connection closed under the driver", fmt.Errorf("commit: %w", err), true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.Unreachable(tt.err); got != tt.want {
				t.Fatalf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
