package console

import (
	"github.com/parleyim/parley/internal/admin"
)

func (h *Handler) adminRoutes() {
	h.handle("GET /admins", ownerOnly, "", h.listAdmins)
	h.handle("POST /admins", ownerOnly, "admin.create", h.createAdmin)
	h.handle("PUT /admins/{username}", ownerOnly, "admin.update", h.updateAdmin)
	h.handle("DELETE /admins/{username}", ownerOnly, "admin.delete", h.deleteAdmin)
	h.handle("GET /audit", ownerOnly, "", h.listAudit)
}

func (h *Handler) listAdmins(c *call) (any, error) {
	list, err := h.Admins.Admins(c.ctx(), c.account())
	if err != nil {
		return nil, err
	}
	items := make([]accountView, 0, len(list))
	for _, a := range list {
		items = append(items, viewAccount(a))
	}
	return page{Items: items}, nil
}

func (h *Handler) createAdmin(c *call) (any, error) {
	var b struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		Role     string   `json:"role"`
		Apps     []string `json:"apps"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	a, err := h.Admins.CreateAdmin(c.ctx(), c.account(), admin.NewAdmin{Username: b.Username, Password: b.Password, Role: b.Role, Apps: b.Apps})
	if err != nil {
		return nil, err
	}
	c.target, c.detail = a.Username, map[string]any{"role": a.Role, "apps": a.Apps}
	return viewAccount(a), nil
}

func (h *Handler) updateAdmin(c *call) (any, error) {
	var b struct {
		Role     *string   `json:"role"`
		Apps     *[]string `json:"apps"`
		Password *string   `json:"password"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	a, err := h.Admins.UpdateAdmin(c.ctx(), c.account(), c.r.PathValue("username"), admin.AdminPatch{Role: b.Role, Apps: b.Apps, Password: b.Password})
	if err != nil {
		return nil, err
	}
	c.target = a.Username
	c.detail = map[string]any{"role": a.Role, "apps": a.Apps}
	if b.Password != nil {
		c.detail["password_changed"] = true // never the password
	}
	return viewAccount(a), nil
}

func (h *Handler) deleteAdmin(c *call) (any, error) {
	name := c.r.PathValue("username")
	if err := h.Admins.DeleteAdmin(c.ctx(), c.account(), name); err != nil {
		return nil, err
	}
	c.target = name
	return empty{}, nil
}

// GET /audit?actor&action&app&since&until&cursor&limit, newest first.
func (h *Handler) listAudit(c *call) (any, error) {
	limit, err := c.limit(MaxLimit)
	if err != nil {
		return nil, err
	}
	since, err := c.queryInt64("since")
	if err != nil {
		return nil, err
	}
	until, err := c.queryInt64("until")
	if err != nil {
		return nil, err
	}
	list, next, err := h.Admins.Audit(c.ctx(), c.account(), admin.AuditQuery{Actor: c.query("actor"), Action: c.query("action"),
		App: c.query("app"), Since: since, Until: until, Cursor: c.query("cursor"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return page{Items: list, Cursor: next}, nil
}
