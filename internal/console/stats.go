package console

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/presence"
)

// StreamEvery is how often /stats/stream sends the figures.
var StreamEvery = 2 * time.Second

func (h *Handler) statsRoutes() {
	h.handle("GET /stats", signedIn, "", h.getStats)
	h.register("GET", "/stats/stream", signedIn, h.streamStats) // checks the session itself
}

// Stats are the dashboard's figures. Who is online (nodes, online_users,
// connections) is cluster-wide: the presence replica knows every node's
// devices. The counters (messages, push, errors) are this node's since it
// started (node): Prometheus sums them over nodes (docs/operations.md).
type Stats struct {
	Nodes       int          `json:"nodes"`
	Node        int          `json:"node"`
	OnlineUsers int          `json:"online_users"`
	Connections int          `json:"connections"`
	Messages    MessageStats `json:"messages"`
	Push        PushStats    `json:"push"`
	Errors      int64        `json:"errors"`
	TS          int64        `json:"ts"`
}

// MessageStats count messages sent through this node.
type MessageStats struct {
	Total     int64            `json:"total"`
	PerMinute int64            `json:"per_minute"`
	ByType    map[string]int64 `json:"by_type"`
}

// PushStats count push notifications: sent, and failed for good (the
// provider refused, the token was dead, no notifier, or retries ran out).
type PushStats struct {
	Sent   int64 `json:"sent"`
	Failed int64 `json:"failed"`
}

// pushFailed are the outcomes of parley_push_total that count as failed.
var pushFailed = map[string]bool{"failed": true, "invalid_token": true, "no_notifier": true, "gave_up": true}

// sampler keeps the message total of the last minute or so, for
// per_minute.
type sampler struct {
	h       *Handler
	mu      sync.Mutex
	samples []sample // oldest first
}

type sample struct {
	at    time.Time
	total int64
}

func newSampler(h *Handler) *sampler {
	return &sampler{h: h, samples: []sample{{at: time.Now()}}}
}

// Run samples the counters every StreamEvery until ctx ends, so per_minute
// is right even when nobody watched the minute before.
func (h *Handler) Run(ctx context.Context) {
	t := time.NewTicker(StreamEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Stats(ctx)
		}
	}
}

// Stats computes the figures now.
func (h *Handler) Stats(ctx context.Context) Stats {
	now := time.Now()
	st := Stats{Nodes: 1, Node: h.NodeID, TS: now.UnixMilli(), Messages: MessageStats{ByType: map[string]int64{}}}
	if c, ok := h.Presence.(presence.Counter); ok {
		cs := c.Census(ctx)
		st.Nodes, st.OnlineUsers, st.Connections = cs.Nodes, cs.Users, cs.Devices
	}
	readCounters(h.Metrics, &st)
	st.Messages.PerMinute = h.stats.perMinute(now, st.Messages.Total)
	return st
}

// readCounters reads the counters from the Prometheus registry.
func readCounters(m *obs.Metrics, st *Stats) {
	families, err := m.Registry.Gather()
	if err != nil && len(families) == 0 {
		return
	}
	for _, f := range families {
		switch f.GetName() {
		case "parley_messages_total":
			for _, x := range f.GetMetric() {
				n := int64(x.GetCounter().GetValue())
				st.Messages.Total += n
				for _, l := range x.GetLabel() {
					if l.GetName() == "type" {
						st.Messages.ByType[l.GetValue()] += n
					}
				}
			}
		case "parley_push_total":
			for _, x := range f.GetMetric() {
				n := int64(x.GetCounter().GetValue())
				for _, l := range x.GetLabel() {
					if l.GetName() != "outcome" {
						continue
					}
					if l.GetValue() == "sent" {
						st.Push.Sent += n
					} else if pushFailed[l.GetValue()] {
						st.Push.Failed += n
					}
				}
			}
		case "parley_internal_errors_total":
			for _, x := range f.GetMetric() {
				st.Errors += int64(x.GetCounter().GetValue())
			}
		}
	}
}

// perMinute records a sample and returns the messages of the last minute
// (since start, while the node is younger than a minute).
func (s *sampler) perMinute(now time.Time, total int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last := s.samples[len(s.samples)-1]; now.Sub(last.at) >= time.Second {
		s.samples = append(s.samples, sample{at: now, total: total})
	}
	// Keep one sample at least a minute old as the baseline.
	for len(s.samples) > 2 && now.Sub(s.samples[1].at) >= time.Minute {
		s.samples = s.samples[1:]
	}
	base := s.samples[0]
	return max(total-base.total, 0)
}

func (h *Handler) getStats(c *call) (any, error) { return h.Stats(c.ctx()), nil }

// GET /stats/stream: text/event-stream, one "stats" event at once and then
// every StreamEvery, while the session lasts.
func (h *Handler) streamStats(w http.ResponseWriter, r *http.Request) {
	c := &call{h: h, w: w, r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id"), ip: h.clientIP(r)}
	if _, err := h.run(c, signedIn, func(*call) (any, error) { return nil, nil }); err != nil {
		h.writeError(w, c, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	t := time.NewTicker(StreamEvery)
	defer t.Stop()
	for {
		b, _ := json.Marshal(h.Stats(ctx))
		if _, err := w.Write(append(append([]byte("event: stats\ndata: "), b...), '\n', '\n')); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-t.C:
		}
		// The stream ends with the session (signed out, expired, or the
		// account removed); the browser's EventSource then gets a 401.
		if _, err := h.session(c); err != nil {
			return
		}
	}
}
