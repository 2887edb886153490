package parleyserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// Envelope is the Usergrid-style success body. Entities and Data stay raw:
// the typed methods decode them, and DecodeData/DecodeEntities decode them
// for the calls that return an *Envelope.
type Envelope struct {
	Action          string              `json:"action,omitempty"`
	Application     string              `json:"application,omitempty"`
	Path            string              `json:"path,omitempty"`
	URI             string              `json:"uri,omitempty"`
	Params          map[string][]string `json:"params,omitempty"`
	Entities        json.RawMessage     `json:"entities,omitempty"`
	Data            json.RawMessage     `json:"data,omitempty"`
	Timestamp       int64               `json:"timestamp"`
	Duration        int64               `json:"duration"`
	Organization    string              `json:"organization,omitempty"`
	ApplicationName string              `json:"applicationName,omitempty"`
	Count           int                 `json:"count,omitempty"`
	Cursor          string              `json:"cursor,omitempty"`
	// Failed lists the targets a call could not reach (Parley addition).
	Failed map[string]string `json:"failed,omitempty"`
	// Status is set by some social calls ("ok").
	Status string `json:"status,omitempty"`
	// Total is set by a user's group list.
	Total int `json:"total,omitempty"`
}

// DecodeData decodes the envelope's data into v.
func (e *Envelope) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("parleyserver: decoding data: %w", err)
	}
	return nil
}

// DecodeEntities decodes the envelope's entities into v.
func (e *Envelope) DecodeEntities(v any) error {
	if len(e.Entities) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Entities, v); err != nil {
		return fmt.Errorf("parleyserver: decoding entities: %w", err)
	}
	return nil
}

// envelope sends r and returns the envelope.
func (c *Client) envelope(ctx context.Context, r *request) (*Envelope, error) {
	var e Envelope
	if err := c.call(ctx, r, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// data sends r and decodes the envelope's data into out.
func (c *Client) data(ctx context.Context, r *request, out any) (*Envelope, error) {
	e, err := c.envelope(ctx, r)
	if err != nil {
		return nil, err
	}
	return e, e.DecodeData(out)
}

// Page asks for one page of a cursor-paged list.
type Page struct {
	// Limit is the page size; 0: the server default.
	Limit int
	// Cursor continues from the previous page's Envelope.Cursor.
	Cursor string
}

func (p Page) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// PageNum asks for one page of a numbered list.
type PageNum struct {
	// Num is the page number from 1; 0: the first page.
	Num int
	// Size is the page size; 0: the server default.
	Size int
}

func (p PageNum) query(num, size string) url.Values {
	q := url.Values{}
	if p.Num > 0 {
		q.Set(num, strconv.Itoa(p.Num))
	}
	if p.Size > 0 {
		q.Set(size, strconv.Itoa(p.Size))
	}
	return q
}
