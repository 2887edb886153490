package provider

import (
	"context"
	"log/slog"
	"strconv"
)

// logProvider writes a line per notification and succeeds: for
// development and for apps without a push service. It logs lengths, not
// texts (message bodies stay out of logs), and only the start of the
// device token.
type logProvider struct {
	log *slog.Logger
}

func newLog(opts Options) Provider {
	l := opts.Log
	if l == nil {
		l = slog.Default()
	}
	return &logProvider{log: l.With("component", "push", "provider", Log)}
}

func (p *logProvider) Send(ctx context.Context, n Notification) error {
	p.log.LogAttrs(ctx, slog.LevelInfo, "push notification",
		slog.String("token", tokenHint(n.Token)),
		slog.Int("title_len", len(n.Title)),
		slog.Int("body_len", len(n.Body)),
		slog.Int("badge", n.Badge),
		slog.Bool("collapse", n.CollapseKey != ""),
		slog.Int("data_keys", len(n.Data)),
		slog.Bool("apns_ext", len(n.APNs) > 0),
		slog.Duration("ttl", n.TTL),
	)
	return nil
}

// tokenHint is enough of a device token to tell devices apart in a log,
// never the whole token: its first 6 characters and its length.
func tokenHint(tok string) string {
	const show = 6
	if len(tok) <= 2*show {
		return "…(" + strconv.Itoa(len(tok)) + ")"
	}
	return tok[:show] + "…(" + strconv.Itoa(len(tok)) + ")"
}
