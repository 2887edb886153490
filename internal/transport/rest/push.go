package rest

import (
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) pushRoutes() {
	if s.Push == nil {
		return
	}
	s.app("PUT /{org}/{app}/users/{username}/push/binding", s.bindDevice)
	s.app("GET /{org}/{app}/users/{username}/push/binding", s.listBindings)
	s.app("PUT /{org}/{app}/users/{username}/notification/{chattype}/{key}", s.setNotification)
	s.app("GET /{org}/{app}/users/{username}/notification/{chattype}/{key}", s.getNotification)
	s.app("PUT /{org}/{app}/users/{username}/notification/language", s.setPushLanguage)
	s.app("GET /{org}/{app}/users/{username}/notification/language", s.getPushPrefs)
	s.app("PUT /{org}/{app}/users/{username}/notification/template", s.setPushTemplate)
	s.app("GET /{org}/{app}/users/{username}/notification/template", s.getPushPrefs)
	s.app("POST /{org}/{app}/notification/template", s.putTemplate)
	s.app("GET /{org}/{app}/notification/template/{name}", s.getTemplate)
	s.app("DELETE /{org}/{app}/notification/template/{name}", s.deleteTemplate)
	// Notifiers (push credentials): a Parley addition, app token only.
	s.app("PUT /{org}/{app}/push/notifiers/{name}", s.putNotifier)
	s.app("GET /{org}/{app}/push/notifiers", s.listNotifiers)
	s.app("DELETE /{org}/{app}/push/notifiers/{name}", s.deleteNotifier)
}

// PUT /users/{u}/push/binding {device_id, notifier_name, device_token}
func (s *Server) bindDevice(c *call) (any, error) {
	var b struct {
		DeviceID string `json:"device_id"`
		Notifier string `json:"notifier_name"`
		Token    string `json:"device_token"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	list, err := s.Push.Bind(c.ctx(), c.p, c.r.PathValue("username"), b.DeviceID, b.Notifier, b.Token)
	if err != nil {
		return nil, err
	}
	e := c.env("put", "/users")
	e.Entities = anySlice(list)
	return e, nil
}

func (s *Server) listBindings(c *call) (any, error) {
	list, err := s.Push.Bindings(c.ctx(), c.p, c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Entities = anySlice(list)
	return e, nil
}

func anySlice[T any](list []T) []any {
	out := make([]any, len(list))
	for i := range list {
		out[i] = list[i]
	}
	return out
}

// PUT /users/{u}/notification/{chattype}/{key} {type?, ignoreInterval?, ignoreDuration?}
func (s *Server) setNotification(c *call) (any, error) {
	var b struct {
		Type           *string `json:"type"`
		IgnoreInterval *string `json:"ignoreInterval"`
		IgnoreDuration *int64  `json:"ignoreDuration"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	st, err := s.Push.SetNotification(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("chattype"), c.r.PathValue("key"),
		b.Type, b.IgnoreInterval, b.IgnoreDuration)
	if err != nil {
		return nil, err
	}
	return c.data(st), nil
}

func (s *Server) getNotification(c *call) (any, error) {
	st, err := s.Push.Notification(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("chattype"), c.r.PathValue("key"))
	if err != nil {
		return nil, err
	}
	return c.data(st), nil
}

func (s *Server) setPushLanguage(c *call) (any, error) {
	var b struct {
		Language *string `json:"translationLanguage"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Language == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "translationLanguage must be provided")
	}
	p, err := s.Push.SetPrefs(c.ctx(), c.p, c.r.PathValue("username"), b.Language, nil)
	if err != nil {
		return nil, err
	}
	return c.data(map[string]string{"language": p.Language}), nil
}

func (s *Server) setPushTemplate(c *call) (any, error) {
	var b struct {
		Template *string `json:"templateName"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Template == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "templateName must be provided")
	}
	p, err := s.Push.SetPrefs(c.ctx(), c.p, c.r.PathValue("username"), nil, b.Template)
	if err != nil {
		return nil, err
	}
	return c.data(map[string]string{"templateName": p.Template}), nil
}

func (s *Server) getPushPrefs(c *call) (any, error) {
	p, err := s.Push.Prefs(c.ctx(), c.p, c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	return c.data(map[string]string{"language": p.Language, "templateName": p.Template}), nil
}

type templateEntity struct {
	Name           string `json:"name"`
	CreateAt       int64  `json:"createAt"`
	UpdateAt       int64  `json:"updateAt"`
	TitlePattern   string `json:"title_pattern"`
	ContentPattern string `json:"content_pattern"`
}

// POST /notification/template {name, title_pattern, content_pattern}
func (s *Server) putTemplate(c *call) (any, error) {
	var b struct {
		Name           string `json:"name"`
		TitlePattern   string `json:"title_pattern"`
		ContentPattern string `json:"content_pattern"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	t, err := s.Push.PutTemplate(c.ctx(), c.p, b.Name, b.TitlePattern, b.ContentPattern)
	if err != nil {
		return nil, err
	}
	return c.data(templateEntity{t.Name, t.Created, t.Updated, t.TitlePattern, t.ContentPattern}), nil
}

func (s *Server) getTemplate(c *call) (any, error) {
	t, err := s.Push.Template(c.ctx(), c.p, c.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return c.data(templateEntity{t.Name, t.Created, t.Updated, t.TitlePattern, t.ContentPattern}), nil
}

func (s *Server) deleteTemplate(c *call) (any, error) {
	if err := s.Push.DeleteTemplate(c.ctx(), c.p, c.r.PathValue("name")); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"name": c.r.PathValue("name")}), nil
}

// PUT /push/notifiers/{name} — the credentials of provider.Credentials.
func (s *Server) putNotifier(c *call) (any, error) {
	var cred provider.Credentials
	if err := s.decodeBody(c, &cred); err != nil {
		return nil, err
	}
	info, err := s.Push.PutNotifier(c.ctx(), c.p, c.r.PathValue("name"), cred)
	if err != nil {
		return nil, err
	}
	return c.data(info), nil
}

func (s *Server) listNotifiers(c *call) (any, error) {
	list, err := s.Push.Notifiers(c.ctx(), c.p)
	if err != nil {
		return nil, err
	}
	return c.data(list), nil
}

func (s *Server) deleteNotifier(c *call) (any, error) {
	if err := s.Push.DeleteNotifier(c.ctx(), c.p, c.r.PathValue("name")); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"name": c.r.PathValue("name")}), nil
}
