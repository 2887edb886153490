// Package admin manages the console's (and the management API's) admin
// accounts: the owner made on first start, roles and app scopes, sign-in
// with throttling, console sessions and their CSRF tokens, management API
// tokens, and the audit log. Transports (internal/console, the /management
// REST routes) only adapt it.
package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/store"
)

// OwnerPasswordFile is the file in the data dir that receives a generated
// owner password.
const OwnerPasswordFile = "console-owner-password"

// EnsureOwner creates the owner account if no console account exists yet.
// With an empty password it generates one and writes it once (mode 0600) to
// <dataDir>/console-owner-password; the password never reaches the log.
func EnsureOwner(ctx context.Context, st store.Store, h *auth.Hasher, dataDir, username, password string, log *slog.Logger) error {
	n, err := st.Admins().Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	generated := password == ""
	if generated {
		password = randomPassword(24)
	}
	hash, err := h.Hash(ctx, password)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	err = st.Admins().Create(ctx, &store.Admin{Username: username, PasswordHash: hash, Role: RoleOwner, Created: now, Modified: now})
	if errors.Is(err, store.ErrConflict) {
		return nil // another node or process created it first
	}
	if err != nil {
		return err
	}
	if !generated {
		log.Info("created console owner account with the configured password", "username", username)
		return nil
	}
	path := filepath.Join(dataDir, OwnerPasswordFile)
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write owner password file: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s\n", password); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	log.Warn("created console owner account; its password was written once to a file: read it, then delete the file",
		"username", username, "file", path)
	return nil
}

const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

func randomPassword(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
