// Package obs holds observability plumbing shared by transports: the
// request-scoped logger and the Prometheus metrics.
package obs

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type ctxKey struct{}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// Logger returns the logger in ctx (with the request ID), or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// Metrics are the server's Prometheus collectors.
type Metrics struct {
	Registry     *prometheus.Registry
	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec
	HTTPInFlight prometheus.Gauge

	WSConnections prometheus.Gauge
	WSFramesIn    *prometheus.CounterVec
	WSFramesOut   prometheus.Counter
	WSCloses      *prometheus.CounterVec
	// GroupDeliveries counts group items handed to sessions by fan-out.
	GroupDeliveries prometheus.Counter
	// RoomDeliveries and RoomDropped count chat room frames queued and shed.
	RoomDeliveries prometheus.Counter
	RoomDropped    *prometheus.CounterVec
	// PushOutcomes counts push attempts by provider and outcome.
	PushOutcomes *prometheus.CounterVec
	// CallbackOutcomes counts callback calls by event type and outcome;
	// CallbackDuration times them (pre_send, event).
	CallbackOutcomes *prometheus.CounterVec
	CallbackDuration *prometheus.HistogramVec
	// Messages counts messages sent through this node, by chat type and
	// message type.
	Messages *prometheus.CounterVec
	// InternalErrors counts requests answered internal_error (a bug or an
	// unavailable dependency, not a client's mistake), by transport.
	InternalErrors *prometheus.CounterVec
	// RateLimited counts requests refused by a rate limit, by limit (app,
	// user, anonymous, sign_in, ws_send).
	RateLimited *prometheus.CounterVec

	StoreBatchSize     prometheus.Histogram
	StoreBatchDuration prometheus.Histogram
}

// NewMetrics registers Parley's collectors and the Go/process collectors on a
// fresh registry.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		HTTPInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	m.WSConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_ws_connections", Help: "Authenticated WebSocket connections on this node."})
	m.WSFramesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_ws_frames_in_total", Help: "Client frames received, by kind."}, []string{"kind"})
	m.WSFramesOut = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_ws_frames_out_total", Help: "Frames written to clients."})
	m.WSCloses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_ws_closes_total", Help: "Server-initiated WebSocket closes, by close code."}, []string{"code"})
	m.GroupDeliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_group_deliveries_total", Help: "Group items handed to connections by this node's fan-out."})
	m.RoomDeliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_room_deliveries_total", Help: "Chat room frames queued to connections on this node."})
	m.RoomDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_room_dropped_total", Help: "Chat room messages shed for a full connection queue, by chatroom_msg_level."},
		[]string{"level"})
	m.PushOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_push_total", Help: "Push notifications by provider and outcome (sent, retry, invalid_token, failed, and why one was not sent)."},
		[]string{"provider", "outcome"})
	m.Messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_messages_total", Help: "Messages sent through this node (stored, or live only), by chat_type and type."},
		[]string{"chat_type", "type"})
	m.InternalErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_internal_errors_total", Help: "Requests answered internal_error, by transport (rest, ws, console)."},
		[]string{"transport"})
	m.RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_rate_limited_total", Help: "Requests refused by a rate limit on this node, by limit (app, user, anonymous, sign_in, ws_send)."},
		[]string{"limit"})
	r.MustRegister(m.WSConnections, m.WSFramesIn, m.WSFramesOut, m.WSCloses, m.GroupDeliveries, m.RoomDeliveries, m.RoomDropped,
		m.PushOutcomes, m.Messages, m.InternalErrors, m.RateLimited)
	m.CallbackOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_callback_total", Help: "App callbacks by event type and outcome (pre_send: allow, deny, replace, error_open, error_closed; events: delivered, retry, failed, dropped)."},
		[]string{"event", "outcome"})
	m.CallbackDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_callback_duration_seconds", Help: "Time of one callback HTTP call, by kind (pre_send, event).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10}}, []string{"kind"})
	r.MustRegister(m.CallbackOutcomes, m.CallbackDuration)
	m.StoreBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_store_batch_size", Help: "Write requests per group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}})
	m.StoreBatchDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_store_batch_seconds", Help: "Time to run and commit one group commit.",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}})
	r.MustRegister(m.StoreBatchSize, m.StoreBatchDuration)
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.HTTPInFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
