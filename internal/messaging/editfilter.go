package messaging

import (
	"bytes"
	"context"
	"strconv"

	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// filterEdit runs the EditFilters over an edit's new content (validated
// already) and returns it, possibly changed and validated again. The
// filters see the edited message's sender, recipient and type, and its ID
// in Outgoing.MsgID.
func (s *Service) filterEdit(ctx context.Context, app *tenant.App, it *store.Item, body, ext []byte) ([]byte, []byte, error) {
	from := s.name(ctx, app.ID, it.From)
	chatType, to := protocol.ChatTypeChat, s.name(ctx, app.ID, it.To)
	if g := s.groupOf(ctx, it.ConvID); g != 0 {
		chatType, to = protocol.ChatTypeGroup, strconv.FormatInt(g, 10)
	}
	m := &Outgoing{App: app, FromID: it.From, From: from, To: []string{to}, ChatType: chatType, Type: it.Type, Body: body, Ext: ext,
		MsgID: strconv.FormatInt(it.ID, 10)}
	for _, f := range s.EditFilters {
		if err := f.FilterSend(ctx, m); err != nil {
			return nil, nil, err
		}
	}
	if bytes.Equal(m.Body, body) && bytes.Equal(m.Ext, ext) {
		return body, ext, nil
	}
	body, ext, _, err := validate(app, &SendRequest{Type: it.Type, Body: m.Body, Ext: m.Ext})
	return body, ext, err
}
