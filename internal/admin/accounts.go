package admin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Roles of console accounts (docs/console.md).
const (
	// RoleOwner may do everything, including managing admins and reading
	// the audit log.
	RoleOwner = store.AdminOwner
	// RoleAppAdmin may read and change the apps in its scope, and nothing
	// else; it may not create apps or manage admins.
	RoleAppAdmin = "app_admin"
	// RoleViewer may read (every GET) the apps in its scope, or every app
	// when its scope is empty; it changes nothing but its own password and
	// sessions.
	RoleViewer = "viewer"
)

// Limits of console accounts.
const (
	MaxUsernameBytes = 64
	MinPasswordChars = 12
	MaxPasswordChars = 256
)

// Account is a console account as the rest of the server sees it: no
// password hash.
type Account struct {
	ID       int64
	Username string
	Role     string
	// Apps are the account's app scopes as "org/app", sorted.
	Apps     []string
	Created  int64
	Modified int64

	appIDs []int64
}

// IsOwner reports whether the account has the owner role.
func (a *Account) IsOwner() bool { return a != nil && a.Role == RoleOwner }

// AllApps reports whether the account sees every app (the owner, or a
// viewer without scopes).
func (a *Account) AllApps() bool {
	return a != nil && (a.Role == RoleOwner || a.Role == RoleViewer && len(a.appIDs) == 0)
}

// CanRead reports whether the account may read app's data.
func (a *Account) CanRead(app *tenant.App) bool {
	return a.AllApps() || a != nil && slices.Contains(a.appIDs, app.ID)
}

// CanChange reports whether the account may change app's data.
func (a *Account) CanChange(app *tenant.App) bool {
	return a.IsOwner() || a != nil && a.Role == RoleAppAdmin && slices.Contains(a.appIDs, app.ID)
}

// RequireOwner fails unless the account is an owner.
func (a *Account) RequireOwner() error {
	if !a.IsOwner() {
		return errs.New(protocol.ErrRoleForbidden, "only an owner account may do this")
	}
	return nil
}

// RequireRead fails unless the account may read app's data.
func (a *Account) RequireRead(app *tenant.App) error {
	if !a.CanRead(app) {
		return errs.New(protocol.ErrRoleForbidden, "this account may not use app %s", app.AppKey())
	}
	return nil
}

// RequireChange fails unless the account may change app's data.
func (a *Account) RequireChange(app *tenant.App) error {
	if !a.CanChange(app) {
		if a.CanRead(app) {
			return errs.New(protocol.ErrRoleForbidden, "the %s role may not change app %s", a.Role, app.AppKey())
		}
		return errs.New(protocol.ErrRoleForbidden, "this account may not use app %s", app.AppKey())
	}
	return nil
}

func checkUsername(name string) error {
	if name == "" || len(name) > MaxUsernameBytes {
		return errs.New(protocol.ErrIllegalArgument, "username must be 1..%d bytes", MaxUsernameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '@') {
			return errs.New(protocol.ErrIllegalArgument, "username %q: only letters, digits, '_', '.', '-' and '@' are allowed", name)
		}
	}
	return nil
}

// CheckPassword enforces the console's password rule.
func CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordChars || n > MaxPasswordChars || !utf8.ValidString(pw) {
		return errs.New(protocol.ErrIllegalArgument, "a password has %d..%d characters", MinPasswordChars, MaxPasswordChars)
	}
	return nil
}

func checkRole(role string) error {
	switch role {
	case RoleOwner, RoleAppAdmin, RoleViewer:
		return nil
	}
	return errs.New(protocol.ErrIllegalArgument, "role must be %s, %s or %s", RoleOwner, RoleAppAdmin, RoleViewer)
}

// account builds the Account view of a stored admin.
func (s *Service) account(ctx context.Context, a *store.Admin) (*Account, error) {
	out := &Account{ID: a.ID, Username: a.Username, Role: a.Role, Created: a.Created, Modified: a.Modified,
		appIDs: slices.Clone(a.Apps), Apps: []string{}}
	for _, id := range a.Apps {
		name, err := s.appName(ctx, id)
		if err != nil {
			return nil, err
		}
		out.Apps = append(out.Apps, name)
	}
	slices.Sort(out.Apps)
	return out, nil
}

func (s *Service) appName(ctx context.Context, id int64) (string, error) {
	s.namesMu.Lock()
	name, ok := s.names[id]
	s.namesMu.Unlock()
	if ok {
		return name, nil
	}
	app, err := s.apps.ByID(ctx, id)
	if err != nil {
		return "", err
	}
	name = app.Org + "/" + app.Name
	s.namesMu.Lock()
	s.names[id] = name
	s.namesMu.Unlock()
	return name, nil
}

// resolveApps turns "org/app" names into sorted, distinct app IDs.
func (s *Service) resolveApps(ctx context.Context, role string, names []string) ([]int64, error) {
	if role == RoleOwner && len(names) > 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "an owner has every app; give no apps")
	}
	if len(names) > 1000 {
		return nil, errs.New(protocol.ErrIllegalArgument, "at most 1000 apps")
	}
	var ids []int64
	for _, n := range names {
		org, name, ok := strings.Cut(n, "/")
		if !ok {
			org, name, ok = strings.Cut(n, "#")
		}
		if !ok || org == "" || name == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "app %q: write it as org/app", n)
		}
		app, err := s.apps.Resolve(ctx, org, name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, app.ID) {
			ids = append(ids, app.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Admins lists every console account (owner only).
func (s *Service) Admins(ctx context.Context, actor *Account) ([]*Account, error) {
	if err := actor.RequireOwner(); err != nil {
		return nil, err
	}
	list, err := s.st.Admins().List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Account, 0, len(list))
	for i := range list {
		a, err := s.account(ctx, &list[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// NewAdmin is an account to create.
type NewAdmin struct {
	Username string
	Password string
	Role     string
	Apps     []string
}

// CreateAdmin creates a console account (owner only).
func (s *Service) CreateAdmin(ctx context.Context, actor *Account, in NewAdmin) (*Account, error) {
	if err := actor.RequireOwner(); err != nil {
		return nil, err
	}
	if err := checkUsername(in.Username); err != nil {
		return nil, err
	}
	if err := checkRole(in.Role); err != nil {
		return nil, err
	}
	if err := CheckPassword(in.Password); err != nil {
		return nil, err
	}
	ids, err := s.resolveApps(ctx, in.Role, in.Apps)
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	a := &store.Admin{Username: in.Username, PasswordHash: hash, Role: in.Role, Apps: ids, Created: now, Modified: now}
	if err := s.st.Admins().Create(ctx, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errs.New(protocol.ErrDuplicateUser, "an account named %s exists", in.Username)
		}
		return nil, err
	}
	return s.account(ctx, a)
}

// AdminPatch changes an account; nil fields are left alone.
type AdminPatch struct {
	Role     *string
	Apps     *[]string
	Password *string
}

func (s *Service) get(ctx context.Context, username string) (*store.Admin, error) {
	if checkUsername(username) != nil {
		return nil, errs.New(protocol.ErrNotFound, "no account %q", username)
	}
	a, err := s.st.Admins().Get(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrNotFound, "no account %q", username)
	}
	return a, err
}

// UpdateAdmin changes an account's role, apps or password (owner only). A
// new password ends the account's sessions and tokens. Changing the role
// away from owner drops the app list unless one is given.
func (s *Service) UpdateAdmin(ctx context.Context, actor *Account, username string, p AdminPatch) (*Account, error) {
	if err := actor.RequireOwner(); err != nil {
		return nil, err
	}
	a, err := s.get(ctx, username)
	if err != nil {
		return nil, err
	}
	if p.Role != nil {
		if err := checkRole(*p.Role); err != nil {
			return nil, err
		}
		a.Role = *p.Role
		if a.Role == RoleOwner && p.Apps == nil {
			a.Apps = nil
		}
	}
	if p.Apps != nil {
		if a.Apps, err = s.resolveApps(ctx, a.Role, *p.Apps); err != nil {
			return nil, err
		}
	}
	if p.Password != nil {
		if err := CheckPassword(*p.Password); err != nil {
			return nil, err
		}
		if a.PasswordHash, err = s.hasher.Hash(ctx, *p.Password); err != nil {
			return nil, err
		}
	}
	a.Modified = s.now().UnixMilli()
	if err := s.st.Admins().Update(ctx, a); err != nil {
		return nil, lastOwner(err, "demoted")
	}
	if p.Password != nil {
		if err := s.endAll(ctx, a.ID, nil); err != nil {
			return nil, err
		}
	}
	return s.account(ctx, a)
}

// DeleteAdmin removes an account (owner only; not the last owner). Its
// sessions and tokens end with it.
func (s *Service) DeleteAdmin(ctx context.Context, actor *Account, username string) error {
	if err := actor.RequireOwner(); err != nil {
		return err
	}
	a, err := s.get(ctx, username)
	if err != nil {
		return err
	}
	if err := s.st.Admins().Delete(ctx, a.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errs.New(protocol.ErrNotFound, "no account %q", username)
		}
		return lastOwner(err, "deleted")
	}
	return nil
}

func lastOwner(err error, what string) error {
	if errors.Is(err, store.ErrLastOwner) {
		return errs.New(protocol.ErrForbidden, "the last owner account cannot be %s; make another owner first", what)
	}
	return err
}
