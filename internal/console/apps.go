package console

import (
	"encoding/json"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

const appPath = "/apps/{org}/{app}"

func (h *Handler) appRoutes() {
	h.handle("GET /apps", signedIn, "", h.listApps)
	h.handle("POST /apps", ownerOnly, "app.create", h.createApp)
	h.handle("POST "+appPath+"/secret", appChange, "app.rotate_secret", h.rotateSecret)
	h.handle("PUT "+appPath+"/settings", appChange, "app.settings", h.putSettings)
	h.handle("GET "+appPath+"/notifiers", appRead, "", h.listNotifiers)
	h.handle("PUT "+appPath+"/notifiers/{name}", appChange, "notifier.put", h.putNotifier)
	h.handle("DELETE "+appPath+"/notifiers/{name}", appChange, "notifier.delete", h.deleteNotifier)
}

type appView struct {
	Org      string          `json:"org"`
	App      string          `json:"app"`
	AppKey   string          `json:"appkey"`
	ClientID string          `json:"client_id"`
	Created  int64           `json:"created"`
	Settings tenant.Settings `json:"settings"`
	// ClientSecret is shown once: when the app is created.
	ClientSecret string `json:"client_secret,omitempty"`
}

func viewApp(a *tenant.App) appView {
	return appView{Org: a.Org, App: a.Name, AppKey: a.AppKey(), ClientID: a.ClientID, Created: a.Created, Settings: a.Settings}
}

// GET /apps: the apps the account may see.
func (h *Handler) listApps(c *call) (any, error) {
	list, err := h.Apps.List(c.ctx())
	if err != nil {
		return nil, err
	}
	items := []appView{}
	for _, a := range list {
		if c.account().CanRead(a) {
			items = append(items, viewApp(a))
		}
	}
	return page{Items: items}, nil
}

// POST /apps {org, app}: the new app with its client secret (shown once).
func (h *Handler) createApp(c *call) (any, error) {
	var b struct {
		Org string `json:"org"`
		App string `json:"app"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	created, err := h.Apps.Create(c.ctx(), b.Org, b.App, tenant.Settings{})
	if err != nil {
		return nil, err
	}
	a, err := h.Apps.Resolve(c.ctx(), created.OrgName, created.AppName)
	if err != nil {
		return nil, err
	}
	c.app, c.target = a, a.Org+"/"+a.Name
	v := viewApp(a)
	v.ClientSecret = created.ClientSecret
	return v, nil
}

// POST /apps/{org}/{app}/secret: a new client secret; every token of the
// app stops working.
func (h *Handler) rotateSecret(c *call) (any, error) {
	created, err := h.Apps.RotateSecret(c.ctx(), c.app.Org, c.app.Name)
	if err != nil {
		return nil, err
	}
	c.target = c.app.Org + "/" + c.app.Name
	return map[string]string{"client_secret": created.ClientSecret}, nil
}

// PUT /apps/{org}/{app}/settings {settings: {key: value}}: change the named
// settings (the keys of `parley app set --setting`), keep the others.
func (h *Handler) putSettings(c *call) (any, error) {
	var b struct {
		Settings map[string]json.RawMessage `json:"settings"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if len(b.Settings) == 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "settings must name at least one setting")
	}
	set, err := c.app.Settings.Patch(b.Settings)
	if err != nil {
		return nil, err
	}
	a, err := h.Apps.SetSettings(c.ctx(), c.app.Org, c.app.Name, set)
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	for k, v := range b.Settings {
		var x any
		json.Unmarshal(v, &x)
		changed[k] = x
	}
	c.target, c.detail = a.Org+"/"+a.Name, map[string]any{"settings": changed}
	return viewApp(a), nil
}

type notifierView struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Summary  string `json:"summary"`
	Created  int64  `json:"created"`
	Updated  int64  `json:"updated"`
}

func (h *Handler) listNotifiers(c *call) (any, error) {
	list, err := h.Push.Notifiers(c.ctx(), c.p)
	if err != nil {
		return nil, err
	}
	items := make([]notifierView, 0, len(list))
	for _, n := range list {
		items = append(items, notifierView(n))
	}
	return page{Items: items}, nil
}

// PUT /apps/{org}/{app}/notifiers/{name}: credentials as for the REST API
// (docs/operations.md, push). The answer and the audit log never hold
// the secrets.
func (h *Handler) putNotifier(c *call) (any, error) {
	var cred provider.Credentials
	if err := c.decode(&cred); err != nil {
		return nil, err
	}
	n, err := h.Push.PutNotifier(c.ctx(), c.p, c.r.PathValue("name"), cred)
	if err != nil {
		return nil, err
	}
	c.target, c.detail = n.Name, map[string]any{"provider": n.Provider}
	return notifierView(*n), nil
}

func (h *Handler) deleteNotifier(c *call) (any, error) {
	name := c.r.PathValue("name")
	if err := h.Push.DeleteNotifier(c.ctx(), c.p, name); err != nil {
		return nil, err
	}
	c.target = name
	return empty{}, nil
}
