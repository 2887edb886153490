package rest

import (
	"github.com/parleyim/parley/internal/moderation"
)

func (s *Server) moderationRoutes() {
	if s.Moderation == nil {
		return
	}
	s.app("POST /{org}/{app}/moderation/keywords", s.addKeywords)
	s.app("DELETE /{org}/{app}/moderation/keywords", s.removeKeywords)
	s.app("GET /{org}/{app}/moderation/keywords", s.listKeywords)
	s.app("GET /{org}/{app}/moderation/records", s.listModerationRecords)
	// The client SDK's report path (Easemob [SDKREST]); user or app token.
	s.app("POST /{org}/{app}/user/{username}/moderation/report/message", s.reportMessage)
}

// POST /moderation/keywords {words: [{word, action}]}
func (s *Server) addKeywords(c *call) (any, error) {
	var b struct {
		Words []moderation.Word `json:"words"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	words, err := s.Moderation.AddWords(c.ctx(), c.p, b.Words)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/moderation/keywords")
	e.Data = map[string]any{"words": words}
	e.Count = count(len(words))
	return e, nil
}

// DELETE /moderation/keywords {words: ["..."]}
func (s *Server) removeKeywords(c *call) (any, error) {
	var b struct {
		Words []string `json:"words"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	n, err := s.Moderation.RemoveWords(c.ctx(), c.p, b.Words)
	if err != nil {
		return nil, err
	}
	e := c.env("delete", "/moderation/keywords")
	e.Data = map[string]any{"removed": n}
	return e, nil
}

// GET /moderation/keywords?q=&limit=&cursor=
func (s *Server) listKeywords(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	page, err := s.Moderation.Words(c.ctx(), c.p, q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/moderation/keywords")
	e.Data = map[string]any{"words": page.Words}
	e.Count = count(len(page.Words))
	e.Cursor = page.Cursor
	return e, nil
}

// GET /moderation/records?kind=report|flag&limit=&cursor=
func (s *Server) listModerationRecords(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	page, err := s.Moderation.Records(c.ctx(), c.p, q.Get("kind"), q.Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/moderation/records")
	e.Data = map[string]any{"records": page.Records}
	e.Count = count(len(page.Records))
	e.Cursor = page.Cursor
	return e, nil
}

// POST /user/{username}/moderation/report/message {msgId, type?, reason?}
func (s *Server) reportMessage(c *call) (any, error) {
	var b struct {
		MsgID  string `json:"msgId"`
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	rec, err := s.Moderation.ReportMessage(c.ctx(), c.p, s.Users, c.r.PathValue("username"),
		moderation.Report{MsgID: b.MsgID, Type: b.Type, Reason: b.Reason})
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/moderation/report/message")
	e.Data = rec
	return e, nil
}
