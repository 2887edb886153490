package console

import (
	"github.com/parleyim/parley/internal/moderation"
)

func (h *Handler) moderationRoutes() {
	if h.Moderation == nil {
		return
	}
	h.handle("GET "+appPath+"/moderation/keywords", appRead, "", h.listKeywords)
	h.handle("POST "+appPath+"/moderation/keywords", appChange, "keyword.add", h.addKeywords)
	h.handle("DELETE "+appPath+"/moderation/keywords", appChange, "keyword.remove", h.removeKeywords)
	h.handle("GET "+appPath+"/moderation/records", appRead, "", h.listModerationRecords)
}

// GET /apps/{org}/{app}/moderation/keywords?q&cursor&limit
func (h *Handler) listKeywords(c *call) (any, error) {
	limit, err := c.limit(MaxLimit)
	if err != nil {
		return nil, err
	}
	pg, err := h.Moderation.Words(c.ctx(), c.p, c.query("q"), c.query("cursor"), limit)
	if err != nil {
		return nil, err
	}
	return page{Items: pg.Words, Cursor: pg.Cursor}, nil
}

// POST /apps/{org}/{app}/moderation/keywords {words: [{word, action}]}
func (h *Handler) addKeywords(c *call) (any, error) {
	var b struct {
		Words []moderation.Word `json:"words"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	words, err := h.Moderation.AddWords(c.ctx(), c.p, b.Words)
	if err != nil {
		return nil, err
	}
	c.detail = map[string]any{"count": len(words)} // not the words: a list is the app's own
	return map[string]any{"words": words}, nil
}

// DELETE /apps/{org}/{app}/moderation/keywords {words: ["..."]}
func (h *Handler) removeKeywords(c *call) (any, error) {
	var b struct {
		Words []string `json:"words"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	n, err := h.Moderation.RemoveWords(c.ctx(), c.p, b.Words)
	if err != nil {
		return nil, err
	}
	c.detail = map[string]any{"count": len(b.Words), "removed": n}
	return map[string]int{"removed": n}, nil
}

// GET /apps/{org}/{app}/moderation/records?kind=report|flag&cursor&limit
func (h *Handler) listModerationRecords(c *call) (any, error) {
	limit, err := c.limit(MaxLimit)
	if err != nil {
		return nil, err
	}
	pg, err := h.Moderation.Records(c.ctx(), c.p, c.query("kind"), c.query("cursor"), limit)
	if err != nil {
		return nil, err
	}
	return page{Items: pg.Records, Cursor: pg.Cursor}, nil
}
