package parleyserver

import (
	"context"
	"net/http"
)

// Keyword actions.
const (
	KeywordReject  = "reject"
	KeywordReplace = "replace"
	KeywordReview  = "review"
)

// Keyword is one word of the app's moderation list and its action.
type Keyword struct {
	Word    string `json:"word"`
	Action  string `json:"action"`
	Created int64  `json:"created,omitempty"`
}

// KeywordPage is a page of the keyword list.
type KeywordPage struct {
	Words  []Keyword `json:"words"`
	Cursor string    `json:"-"`
}

// ModerationRecord is a reported or flagged message (or nickname).
type ModerationRecord struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"` // report or flag
	MsgID    string `json:"msg_id,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	ChatType string `json:"chat_type,omitempty"`
	MsgType  string `json:"msg_type,omitempty"`
	Content  string `json:"content,omitempty"`
	Words    string `json:"words,omitempty"`
	Reporter string `json:"reporter,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Created  int64  `json:"created"`
}

// ModerationRecordPage is a page of records, newest first.
type ModerationRecordPage struct {
	Records []ModerationRecord `json:"records"`
	Cursor  string             `json:"-"`
}

// AddKeywords adds words (1..1000) to the app's list, replacing the
// action of words already there, and returns them as stored.
func (c *Client) AddKeywords(ctx context.Context, words []Keyword) ([]Keyword, error) {
	if len(words) == 0 || len(words) > 1000 {
		return nil, invalid("words must list 1..1000 words")
	}
	var out struct {
		Words []Keyword `json:"words"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/moderation/keywords", body: map[string]any{"words": words}, retry: true}, &out)
	return out.Words, err
}

// RemoveKeywords removes words (1..1000) and returns how many existed.
func (c *Client) RemoveKeywords(ctx context.Context, words []string) (int, error) {
	if err := needList("words", words, 1000); err != nil {
		return 0, err
	}
	var out struct {
		Removed int `json:"removed"`
	}
	_, err := c.data(ctx, &request{method: http.MethodDelete, path: "/moderation/keywords", body: map[string]any{"words": words}}, &out)
	return out.Removed, err
}

// Keywords lists the app's words containing q ("" for all), by word.
func (c *Client) Keywords(ctx context.Context, q string, p Page) (*KeywordPage, error) {
	query := p.query()
	if q != "" {
		query.Set("q", q)
	}
	out := &KeywordPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/moderation/keywords", query: query}, out)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// ModerationRecords lists reports and flags (kind "report", "flag" or ""
// for both), newest first.
func (c *Client) ModerationRecords(ctx context.Context, kind string, p Page) (*ModerationRecordPage, error) {
	query := p.query()
	if kind != "" {
		query.Set("kind", kind)
	}
	out := &ModerationRecordPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/moderation/records", query: query}, out)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// ReportMessage reports a message on behalf of a user (the user's own
// client uses the same path with its user token).
func (c *Client) ReportMessage(ctx context.Context, username, msgID, typ, reason string) (*ModerationRecord, error) {
	if err := need("username", username, "msg_id", msgID); err != nil {
		return nil, err
	}
	out := &ModerationRecord{}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/user/" + seg(username) + "/moderation/report/message",
		body: map[string]string{"msgId": msgID, "type": typ, "reason": reason}}, out)
	return out, err
}
