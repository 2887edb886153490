package console

import (
	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/obs"
)

func (h *Handler) sessionRoutes() {
	h.handle("POST /session", public, "", h.signIn)
	h.handle("GET /session", signedIn, "", h.getSession)
	h.handle("DELETE /session", signedIn, "session.delete", h.signOut)
	h.handle("POST /session/revoke-all", signedIn, "session.revoke_all", h.revokeAll)
	h.handle("POST /password", signedIn, "account.password", h.changePassword)
}

type accountView struct {
	Username string   `json:"username"`
	Role     string   `json:"role"`
	Apps     []string `json:"apps"`
	Created  int64    `json:"created,omitempty"`
}

func viewAccount(a *admin.Account) accountView {
	return accountView{Username: a.Username, Role: a.Role, Apps: a.Apps, Created: a.Created}
}

type sessionView struct {
	User accountView `json:"user"`
	CSRF string      `json:"csrf"`
}

// POST /session {username, password}: sign in. Every attempt that was
// checked goes to the audit log, failed or not (throttled ones are only
// logged: they cost nothing, so they could flood the table).
func (h *Handler) signIn(c *call) (any, error) {
	var b struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if err := h.Limits.SignInAttempt(c.ip); err != nil {
		obs.Logger(c.ctx()).Warn("console sign-in rate limited", "ip", c.ip)
		return nil, err
	}
	secret, sess, res, err := h.Admins.SignIn(c.ctx(), b.Username, b.Password, c.ip)
	switch res {
	case admin.Throttled:
		obs.Logger(c.ctx()).Warn("console sign-in throttled", "username", b.Username, "ip", c.ip)
	case "":
	default:
		h.Admins.Record(c.ctx(), admin.Entry{Actor: b.Username, IP: c.ip, Action: "session.create",
			Detail: map[string]any{"result": string(res)}})
	}
	if err != nil {
		return nil, err
	}
	h.setCookie(c, secret, admin.SessionTTL)
	return sessionView{User: viewAccount(sess.Account), CSRF: sess.CSRF}, nil
}

// GET /session: who is signed in, and the CSRF token.
func (h *Handler) getSession(c *call) (any, error) {
	return sessionView{User: viewAccount(c.sess.Account), CSRF: c.sess.CSRF}, nil
}

// DELETE /session: sign out.
func (h *Handler) signOut(c *call) (any, error) {
	if err := h.Admins.SignOut(c.ctx(), c.sess); err != nil {
		return nil, err
	}
	h.setCookie(c, "", 0)
	return empty{}, nil
}

// POST /session/revoke-all: end every session (and management API token)
// of the account, this one included.
func (h *Handler) revokeAll(c *call) (any, error) {
	if err := h.Admins.SignOutEverywhere(c.ctx(), c.sess); err != nil {
		return nil, err
	}
	h.setCookie(c, "", 0)
	return empty{}, nil
}

// POST /password {old, new}: change the account's own password; the
// account's other sessions and its tokens end.
func (h *Handler) changePassword(c *call) (any, error) {
	var b struct {
		Old *string `json:"old"`
		New *string `json:"new"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if err := required("old", b.Old != nil); err != nil {
		return nil, err
	}
	if err := required("new", b.New != nil); err != nil {
		return nil, err
	}
	c.target = c.account().Username
	return empty{}, h.Admins.ChangePassword(c.ctx(), c.sess, *b.Old, *b.New)
}
