package rest

import (
	"github.com/parleyim/parley/internal/callback"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/protocol"
)

// Callback rules and failed deliveries (docs/callbacks.md): app token only.
func (s *Server) callbackRoutes() {
	if s.Callbacks == nil {
		return
	}
	s.app("POST /{org}/{app}/callbacks", s.createCallback)
	s.app("GET /{org}/{app}/callbacks", s.listCallbacks)
	s.app("GET /{org}/{app}/callbacks/{name}", s.getCallback)
	s.app("PUT /{org}/{app}/callbacks/{name}", s.updateCallback)
	s.app("DELETE /{org}/{app}/callbacks/{name}", s.deleteCallback)
	// Easemob's failed-callback storage.
	s.app("GET /{org}/{app}/callbacks/storage/info", s.failedCallbacks)
	s.app("POST /{org}/{app}/callbacks/storage/retry", s.retryCallbacks)
}

// callbackBody is a rule as a request sets it.
type callbackBody struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Secret    string   `json:"secret"`
	Events    []string `json:"events"`
	TimeoutMS *int64   `json:"timeout_ms"`
	FailOpen  *bool    `json:"fail_open"`
}

func (b *callbackBody) spec() callback.RuleSpec {
	return callback.RuleSpec{URL: b.URL, Secret: b.Secret, Events: b.Events, TimeoutMS: b.TimeoutMS, FailOpen: b.FailOpen}
}

// POST /callbacks {name, url, secret, events[], timeout_ms?, fail_open?}
func (s *Server) createCallback(c *call) (any, error) {
	var b callbackBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	r, err := s.Callbacks.CreateRule(c.ctx(), c.p, b.Name, b.spec())
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/callbacks")
	e.Entities = []any{r}
	return e, nil
}

func (s *Server) listCallbacks(c *call) (any, error) {
	list, err := s.Callbacks.Rules(c.ctx(), c.p)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/callbacks")
	e.Entities, e.Count = anySlice(list), count(len(list))
	return e, nil
}

func (s *Server) getCallback(c *call) (any, error) {
	r, err := s.Callbacks.Rule(c.ctx(), c.p, c.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/callbacks")
	e.Entities = []any{r}
	return e, nil
}

// PUT /callbacks/{name} {url?, secret?, events?, timeout_ms?, fail_open?}:
// absent fields keep their values.
func (s *Server) updateCallback(c *call) (any, error) {
	var b callbackBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if b.Name != "" && b.Name != name {
		return nil, errs.New(protocol.ErrIllegalArgument, "name cannot be changed")
	}
	r, err := s.Callbacks.UpdateRule(c.ctx(), c.p, name, b.spec())
	if err != nil {
		return nil, err
	}
	e := c.env("put", "/callbacks")
	e.Entities = []any{r}
	return e, nil
}

func (s *Server) deleteCallback(c *call) (any, error) {
	if err := s.Callbacks.DeleteRule(c.ctx(), c.p, c.r.PathValue("name")); err != nil {
		return nil, err
	}
	e := c.env("delete", "/callbacks")
	e.Data = map[string]any{"name": c.r.PathValue("name"), "deleted": true}
	return e, nil
}

// GET /callbacks/storage/info?limit=1..100&cursor=
func (s *Server) failedCallbacks(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	list, next, err := s.Callbacks.FailedDeliveries(c.ctx(), c.p, c.r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/callbacks/storage/info")
	e.Data, e.Cursor, e.Count = list, next, count(len(list))
	return e, nil
}

// POST /callbacks/storage/retry {id?}: one event's failed deliveries, or all.
func (s *Server) retryCallbacks(c *call) (any, error) {
	var b struct {
		ID string `json:"id"`
	}
	if raw, err := s.readBody(c); err != nil {
		return nil, err
	} else if len(raw) > 0 {
		if err := decodeJSON(raw, &b); err != nil {
			return nil, err
		}
	}
	n, err := s.Callbacks.RetryFailed(c.ctx(), c.p, b.ID)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/callbacks/storage/retry")
	e.Data = map[string]any{"requeued": n}
	return e, nil
}
