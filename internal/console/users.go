package console

import (
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

func (h *Handler) userRoutes() {
	const u = appPath + "/users/{u}"
	h.handle("GET "+appPath+"/users", appRead, "", h.listUsers)
	h.handle("POST "+appPath+"/users", appChange, "user.create", h.createUser)
	h.handle("GET "+u, appRead, "", h.getUser)
	h.handle("PUT "+u, appChange, "user.update", h.updateUser)
	h.handle("POST "+u+"/password", appChange, "user.password", h.setUserPassword)
	h.handle("POST "+u+"/ban", appChange, "user.ban", h.setActivated(false))
	h.handle("POST "+u+"/unban", appChange, "user.unban", h.setActivated(true))
	h.handle("POST "+u+"/logout", appChange, "user.logout", h.logoutUser)
	h.handle("POST "+u+"/erase", appChange, "user.erase", h.eraseUser)
	h.handle("GET "+u+"/friends", appRead, "", h.listFriends)
}

type userView struct {
	Username  string `json:"username"`
	Nickname  string `json:"nickname"`
	Activated bool   `json:"activated"`
	Created   int64  `json:"created"`
}

func viewUser(u *store.User) userView {
	return userView{Username: u.Username, Nickname: u.Nickname, Activated: u.Activated, Created: u.Created}
}

type deviceView struct {
	Res        string `json:"res"`
	Platform   string `json:"platform"`
	DeviceName string `json:"device_name"`
	Since      int64  `json:"since"`
	Background bool   `json:"background"`
}

type userDetail struct {
	userView
	Attributes map[string]string `json:"attributes"`
	Devices    []deviceView      `json:"devices"`
	Friends    int               `json:"friends"`
	Blocked    int               `json:"blocked"`
}

// GET /apps/{org}/{app}/users?q&cursor&limit: every user in creation
// order, or with q those whose username starts with q, by username.
func (h *Handler) listUsers(c *call) (any, error) {
	var pg *users.Page
	if q := c.query("q"); q != "" {
		limit, err := c.limit(users.MaxSearchLimit)
		if err != nil {
			return nil, err
		}
		if pg, err = h.Users.Search(c.ctx(), c.p, q, limit, c.query("cursor")); err != nil {
			return nil, err
		}
	} else {
		limit, err := c.limit(users.MaxPageLimit)
		if err != nil {
			return nil, err
		}
		if pg, err = h.Users.List(c.ctx(), c.p, limit, c.query("cursor")); err != nil {
			return nil, err
		}
	}
	items := make([]userView, 0, len(pg.Users))
	for i := range pg.Users {
		items = append(items, viewUser(&pg.Users[i]))
	}
	return page{Items: items, Cursor: pg.Cursor}, nil
}

// POST /apps/{org}/{app}/users {username, password, nickname?}
func (h *Handler) createUser(c *call) (any, error) {
	var b struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Nickname string `json:"nickname"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	u, err := h.Users.Register(c.ctx(), c.p, users.NewUser{Username: b.Username, Password: b.Password, Nickname: b.Nickname})
	if err != nil {
		return nil, err
	}
	c.target = u.Username
	return viewUser(u), nil
}

// userDetail is the user with attributes, devices online and counts.
func (h *Handler) userDetail(c *call, u *store.User) (*userDetail, error) {
	attrs, err := h.Social.Attrs(c.ctx(), c.p, []string{u.Username}, nil)
	if err != nil {
		return nil, err
	}
	d := &userDetail{userView: viewUser(u), Attributes: attrs[u.Username], Devices: []deviceView{}}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	devs, err := h.Presence.Devices(c.ctx(), c.app.ID, u.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range devs {
		d.Devices = append(d.Devices, deviceView{Res: x.Resource, Platform: x.Platform, DeviceName: x.DeviceName, Since: x.Since,
			Background: x.Background})
	}
	if d.Friends, d.Blocked, err = h.Social.Counts(c.ctx(), c.p, u.Username); err != nil {
		return nil, err
	}
	return d, nil
}

func (h *Handler) getUser(c *call) (any, error) {
	u, err := h.Users.Get(c.ctx(), c.p, c.r.PathValue("u"))
	if err != nil {
		return nil, err
	}
	return h.userDetail(c, u)
}

// PUT /apps/{org}/{app}/users/{u} {nickname?, attributes?}: attributes,
// when given, replace the user's attributes (keys left out are removed).
func (h *Handler) updateUser(c *call) (any, error) {
	var b struct {
		Nickname   *string            `json:"nickname"`
		Attributes *map[string]string `json:"attributes"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	name := c.r.PathValue("u")
	u, err := h.Users.Get(c.ctx(), c.p, name)
	if err != nil {
		return nil, err
	}
	var fields []string
	if b.Nickname != nil {
		if u, err = h.Users.Update(c.ctx(), c.p, u.Username, users.Profile{Nickname: b.Nickname}); err != nil {
			return nil, err
		}
		fields = append(fields, "nickname")
	}
	if b.Attributes != nil {
		if err := h.replaceAttrs(c, u.Username, *b.Attributes); err != nil {
			return nil, err
		}
		fields = append(fields, "attributes")
	}
	c.target, c.detail = u.Username, map[string]any{"fields": fields} // the values may be personal data
	return h.userDetail(c, u)
}

// replaceAttrs makes a user's attributes exactly want, through the social
// service's merge (an empty value removes a key).
func (h *Handler) replaceAttrs(c *call, username string, want map[string]string) error {
	cur, err := h.Social.Attrs(c.ctx(), c.p, []string{username}, nil)
	if err != nil {
		return err
	}
	patch := map[string]string{}
	for k := range cur[username] {
		if _, ok := want[k]; !ok {
			patch[k] = ""
		}
	}
	for k, v := range want {
		if v == "" {
			continue // an empty value means no such key
		}
		if cur[username][k] != v {
			patch[k] = v
		}
	}
	if len(patch) == 0 {
		return nil
	}
	_, err = h.Social.SetAttrs(c.ctx(), c.p, username, patch)
	return err
}

// POST /apps/{org}/{app}/users/{u}/password {password}
func (h *Handler) setUserPassword(c *call) (any, error) {
	var b struct {
		Password *string `json:"password"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if err := required("password", b.Password != nil); err != nil {
		return nil, err
	}
	name, err := users.NormalizeUsername(c.r.PathValue("u"))
	if err != nil {
		return nil, err
	}
	if err := h.Users.SetPassword(c.ctx(), c.p, name, *b.Password); err != nil {
		return nil, err
	}
	c.target = name
	return empty{}, nil
}

// POST .../ban and .../unban: deactivate (tokens revoked, connections
// closed) or reactivate the user.
func (h *Handler) setActivated(activate bool) handlerFunc {
	return func(c *call) (any, error) {
		u, err := h.Users.SetActivated(c.ctx(), c.p, c.r.PathValue("u"), activate)
		if err != nil {
			return nil, err
		}
		c.target = u.Username
		return viewUser(u), nil
	}
}

// POST .../erase: erase the user completely (package erasure): messages
// become tombstones, files are deleted, owned groups and rooms go.
func (h *Handler) eraseUser(c *call) (any, error) {
	if h.Erasure == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "erasure is not available on this server")
	}
	res, err := h.Erasure.Erase(c.ctx(), c.p, c.r.PathValue("u"))
	if err != nil {
		return nil, err
	}
	c.target = res.User.Username
	return map[string]any{"username": res.User.Username, "messages": res.Messages, "files": res.Files,
		"groups_dissolved": len(res.GroupsDissolved), "rooms_deleted": len(res.RoomsDeleted)}, nil
}

// POST .../logout {resource?}: close the user's connections (one device,
// or all), wherever they are.
func (h *Handler) logoutUser(c *call) (any, error) {
	var b struct {
		Resource string `json:"resource"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	u, err := h.Users.Get(c.ctx(), c.p, c.r.PathValue("u"))
	if err != nil {
		return nil, err
	}
	if err := h.Messages.Kick(c.ctx(), c.app.ID, u.ID, b.Resource, protocol.CloseKicked, "logged out by an administrator"); err != nil {
		return nil, err
	}
	c.target = u.Username
	if b.Resource != "" {
		c.detail = map[string]any{"resource": b.Resource}
	}
	return empty{}, nil
}

type friendView struct {
	Username string `json:"username"`
	Remark   string `json:"remark"`
}

func (h *Handler) listFriends(c *call) (any, error) {
	limit, err := c.limit(social.MaxContacts)
	if err != nil {
		return nil, err
	}
	list, next, err := h.Social.Contacts(c.ctx(), c.p, c.r.PathValue("u"), c.query("cursor"), limit)
	if err != nil {
		return nil, err
	}
	items := make([]friendView, 0, len(list))
	for _, f := range list {
		items = append(items, friendView{Username: f.User, Remark: f.Remark})
	}
	return page{Items: items, Cursor: next}, nil
}
