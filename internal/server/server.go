// Package server is the composition root: it builds the store, the domain
// services and the transports from a Config, and runs them under one
// lifecycle with ordered, graceful shutdown. Only this package knows the
// concrete backends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/auth"
	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/bus/natsbus"
	"github.com/parleyim/parley/internal/callback"
	"github.com/parleyim/parley/internal/cluster"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/demo"
	"github.com/parleyim/parley/internal/erasure"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/identity"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/moderation"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/presence"
	"github.com/parleyim/parley/internal/push"
	"github.com/parleyim/parley/internal/ratelimit"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/postgres"
	"github.com/parleyim/parley/internal/store/sqlite"
	"github.com/parleyim/parley/internal/store/sqlstore"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/transport/rest"
	"github.com/parleyim/parley/internal/transport/ws"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Version is set at build time (-ldflags "-X .../server.Version=...").
var Version = "dev"

// NewLogger builds the process logger from the config.
func NewLogger(c config.Log, w *os.File) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Keys loads the secrets key (creating it on first start) and the
// encryption keys (nil when none are configured).
func Keys(c *config.Config) (*secret.Box, *atrest.Keyring, error) {
	keyFile := c.Secrets.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(c.DataDir, "secret.key")
	}
	box, err := secret.Load(keyFile)
	if err != nil {
		return nil, nil, err
	}
	if c.Encryption.KeyFile == "" && c.Encryption.Keys == "" {
		return box, nil, nil
	}
	keys, err := atrest.Load(c.Encryption.KeyFile, c.Encryption.Keys)
	if err != nil {
		return nil, nil, err
	}
	return box, keys, nil
}

// OpenStore opens the configured backend: PostgreSQL when DB is a postgres
// URL, otherwise SQLite in the data dir. Secrets are sealed with the
// secrets key, and message content is encrypted per c.Encryption.
func OpenStore(ctx context.Context, c *config.Config) (*sqlstore.DB, error) {
	box, keys, err := Keys(c)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, c, box, keys)
}

func openStore(ctx context.Context, c *config.Config, box *secret.Box, keys *atrest.Keyring) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	if strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://") {
		db, err = postgres.Open(ctx, c.DB, c.Postgres.MaxConns)
	} else {
		db, err = sqlite.Open(ctx, filepath.Join(c.DataDir, "parley.db"), sqlite.Options{Synchronous: c.SQLite.Synchronous})
	}
	if err != nil {
		return nil, err
	}
	db.UseCrypto(sqlstore.Crypto{Secrets: box, Keys: keys, Encrypt: c.Encryption.Enabled})
	return db, nil
}

// logEncryption says at start whether content is encrypted and under which
// key (IDs only), and warns about a key file others can read.
func logEncryption(c *config.Config, keys *atrest.Keyring, log *slog.Logger) {
	for _, f := range []string{c.Encryption.KeyFile, c.Secrets.KeyFile} {
		if fi, err := os.Stat(f); f != "" && err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("key file readable by other users: chmod 600 it", "file", f, "mode", fi.Mode().Perm().String())
		}
	}
	switch {
	case keys == nil:
		log.Info("encryption at rest off (no encryption keys)")
	case c.Encryption.Enabled:
		log.Info("encryption at rest on", "active_key", keys.Active(), "keys", strings.Join(keys.IDs(), ","))
	default:
		log.Info("encryption at rest off: new data in plaintext, encrypted data still read", "keys", strings.Join(keys.IDs(), ","))
	}
}

// OpenBlobs opens the configured blob store, encrypting per c.Encryption
// when encryption keys are configured.
func OpenBlobs(ctx context.Context, c *config.Config, keys *atrest.Keyring) (blob.Store, error) {
	b, err := blob.Open(ctx, c.Blob, c.DataDir)
	if err != nil || keys == nil {
		return b, err
	}
	return blob.NewEncrypted(b, keys, c.Encryption.Enabled), nil
}

// Server is a running Parley node.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	store store.Store
	blobs blob.Store
	api   *rest.Server
	// console is the web console (/console/).
	console *console.Handler
	gw      *ws.Gateway
	bus     bus.Bus
	node    *cluster.Node
	// presence is the cluster presence replica (nil on a single node).
	presence *presence.Replica
	http     *http.Server
	ln       net.Listener
	// certs serves the TLS certificate (nil: plain HTTP).
	certs *certReloader

	Apps     *tenant.Service
	Users    *users.Service
	Messages *messaging.Service
	Files    *files.Service
	Social   *social.Service
	Groups   *groups.Service
	Rooms    *rooms.Service
	Push     *push.Service
	Admins   *admin.Service
	// Callbacks calls the apps' pre-send and post-send callbacks.
	Callbacks *callback.Service
	// Moderation checks messages and nicknames against keyword lists.
	Moderation *moderation.Service
	// Erasure erases users completely (privacy requests).
	Erasure *erasure.Service
}

// New builds a node: opens storage (applying migrations), creates the owner
// account on first start, wires the services and binds the listener.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	box, keys, err := Keys(&cfg)
	if err != nil {
		return nil, err
	}
	logEncryption(&cfg, keys, log.With("component", "atrest"))
	st, err := openStore(ctx, &cfg, box, keys)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSecrets(ctx); err != nil {
		st.Close()
		return nil, err
	}
	blobs, err := OpenBlobs(ctx, &cfg, keys)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, blobs: blobs}
	hasher := auth.NewHasher(auth.KDFParams{Time: cfg.Auth.KDFTime, MemoryKiB: cfg.Auth.KDFMemoryKiB,
		Threads: uint8(cfg.Auth.KDFThreads)}, cfg.Auth.KDFParallel)
	if err := admin.EnsureOwner(ctx, st, hasher, cfg.DataDir, cfg.Console.OwnerUsername, cfg.Console.OwnerPassword,
		log.With("component", "admin")); err != nil {
		blobs.Close()
		st.Close()
		return nil, fmt.Errorf("console owner: %w", err)
	}
	metrics := obs.NewMetrics()
	st.ObserveBatch = func(n int, d time.Duration) {
		metrics.StoreBatchSize.Observe(float64(n))
		metrics.StoreBatchDuration.Observe(d.Seconds())
	}
	s.node, err = cluster.Start(ctx, st.Leases(), cfg.NodeID, cfg.Clustered(), log.With("component", "cluster"))
	if err != nil {
		blobs.Close()
		st.Close()
		return nil, err
	}
	ready := st.Ping
	if cfg.Clustered() {
		nb, err := natsbus.Open(natsbus.Options{URLs: cfg.NATSURLs(), Prefix: cfg.NATSPrefix, Name: fmt.Sprintf("parley node %d", s.node.ID()),
			Log: log.With("component", "bus"),
			// Events published while this node was cut off are lost for
			// it: its clients reconnect and resync.
			OnReconnect: func() {
				if s.gw != nil {
					s.gw.Resync()
				}
			}})
		if err != nil {
			s.node.Close()
			blobs.Close()
			st.Close()
			return nil, err
		}
		s.bus = nb
		ready = func(ctx context.Context) error {
			if !nb.Connected() {
				return errors.New("not connected to NATS")
			}
			return st.Ping(ctx)
		}
	} else {
		s.bus = bus.NewInProc()
	}
	s.Apps = tenant.NewService(st)
	s.Users = users.NewService(st, hasher)
	ident := identity.NewService(st, s.Users, hasher, cfg.Auth.AppTokenTTL.D(), cfg.Auth.UserTokenTTL.D())
	ids := idgen.New(s.node.ID()) // one generator per node: IDs must not collide
	s.Messages = messaging.New(st, s.bus, ids, s.Users, log.With("component", "messaging"))
	s.Files = files.New(st, blobs, log.With("component", "files"))
	s.Messages.Released = s.Files.Release
	s.Users.OnRevoke = func(ctx context.Context, appID, userID int64) {
		if err := s.Messages.Kick(ctx, appID, userID, "", protocol.CloseKicked, "user deactivated or deleted"); err != nil {
			log.Warn("kick revoked user", "err", err)
		}
	}
	hub := ws.NewHub(s.bus, log.With("component", "ws"), metrics)
	// Presence: this node's connections, or in a cluster every node's
	// (each keeps a replica of the others' devices, fed over the bus).
	var dir presence.Directory = hub
	foreground := hub.Foreground
	if cfg.Clustered() {
		s.presence = presence.NewReplica(hub, s.bus, s.node.Owner(), s.node.ID(), log.With("component", "presence"))
		hub.OnDevice = s.presence.Changed
		hub.Remote = s.presence.Remote
		hub.Owner = s.node.Owner()
		if _, err := s.bus.Subscribe(presence.Subject, s.presence.Receive); err != nil {
			blobs.Close()
			st.Close()
			return nil, err
		}
		dir, foreground = s.presence, s.presence.Foreground
	}
	s.Social = social.New(st, s.bus, s.Users, ids, dir, log.With("component", "social"))
	s.Messages.Gate = s.Social
	s.Groups = groups.New(st, s.bus, s.Users, s.Social, s.Messages, ids, log.With("component", "groups"))
	s.Messages.Groups = s.Groups
	s.Groups.Files = s.Files
	hub.GroupMembers = s.Groups.LiveMembers
	s.Rooms = rooms.New(st, s.bus, s.Apps, s.Users, s.Messages, dir, ids.Next, log.With("component", "rooms"))
	s.Messages.Rooms = s.Rooms
	hub.RoomMembers = s.Rooms.LiveMembers
	hub.OnPresence = func(appID, userID int64, online bool) {
		s.Social.ConnectionChanged(appID, userID)
		s.Rooms.ConnectionChanged(appID, userID, online)
	}
	s.Push = push.New(st, box, s.Users, cfg.Push, ids.Next, log.With("component", "push"), metrics)
	s.Push.Online = foreground
	s.Push.Node = int64(s.node.ID())
	s.Push.Members = s.Groups.LiveMembers
	s.Messages.Push = s.Push
	for _, sub := range []func() error{hub.SubscribeGroups, hub.SubscribeRooms, hub.SubscribeBroadcasts, s.Rooms.Start,
		func() error { return s.Push.Load(ctx) }} {
		if err := sub(); err != nil {
			blobs.Close()
			st.Close()
			return nil, err
		}
	}
	// Caches see changes made through other nodes at once.
	iv, err := bus.NewInvalidator(s.bus)
	if err != nil {
		blobs.Close()
		st.Close()
		return nil, err
	}
	s.Users.UseInvalidator(iv)
	s.Social.UseInvalidator(iv)
	s.Groups.UseInvalidator(iv)
	s.Rooms.UseInvalidator(iv)
	// Content moderation: the first send filter, and the nickname check.
	s.Moderation = moderation.New(st, ids, iv, log.With("component", "moderation"))
	s.Messages.Filters = append(s.Messages.Filters, s.Moderation)
	s.Messages.EditFilters = append(s.Messages.EditFilters, s.Moderation)
	s.Users.CheckNickname = s.Moderation.CheckNickname
	// App callbacks: the last send filter (after moderation), post-send
	// events stored with messages, recalls and group notices.
	s.Callbacks = callback.New(st, box, ids.Next, log.With("component", "callback"), metrics)
	s.Callbacks.Node = int64(s.node.ID())
	s.Callbacks.Members = s.Groups.LiveMembers
	s.Callbacks.Online = func(appID, userID int64) bool {
		d, err := dir.Devices(context.Background(), appID, userID)
		return err == nil && len(d) > 0
	}
	s.Messages.Filters = append(s.Messages.Filters, s.Callbacks)
	// Edits pass the app's pre-send check too (else editing would bypass it).
	s.Messages.EditFilters = append(s.Messages.EditFilters, s.Callbacks)
	s.Messages.Callbacks, s.Groups.Callbacks, s.Rooms.OnMembers = s.Callbacks, s.Callbacks, s.Callbacks.RoomMembers
	onPresence := hub.OnPresence
	hub.OnPresence = func(appID, userID int64, online bool) {
		onPresence(appID, userID, online)
		s.Callbacks.Presence(appID, userID, online)
	}
	// Rate limits: an app's limits are shared between the live nodes.
	pol := cfg.RateLimitPolicy()
	pol.OnRefused = func(limit string) { metrics.RateLimited.WithLabelValues(limit).Inc() }
	if s.presence != nil {
		pol.Nodes = s.presence.LiveNodes
	}
	limits := ratelimit.NewPolicy(pol, cfg.RateLimit.MaxKeys)
	s.gw = &ws.Gateway{Hub: hub, Limits: limits, Apps: s.Apps, Identity: ident, Messages: s.Messages, Social: s.Social, Groups: s.Groups, Rooms: s.Rooms, Cfg: cfg.WS,
		Log: log.With("component", "ws")}
	s.gw.Init()
	s.Admins = admin.NewService(st, hasher, s.Apps, log.With("component", "admin"))
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		blobs.Close()
		st.Close()
		return nil, err
	}
	s.Erasure = erasure.New(st, s.Users, s.Groups, s.Rooms, s.Files, log.With("component", "erasure"))
	s.console = console.New(console.Deps{Admins: s.Admins, Apps: s.Apps, Users: s.Users, Social: s.Social, Groups: s.Groups,
		Rooms: s.Rooms, Messages: s.Messages, Push: s.Push, Callbacks: s.Callbacks, Presence: dir, Metrics: metrics, Log: log.With("component", "console"),
		Moderation: s.Moderation, Erasure: s.Erasure, NodeID: s.node.ID(), MaxBodyBytes: cfg.HTTP.MaxBodyBytes, TrustedProxies: trusted, Limits: limits})
	s.Messages.Sent = func(chatType, msgType string) { metrics.Messages.WithLabelValues(chatType, msgType).Inc() }
	s.api = rest.New(rest.Deps{
		Apps: s.Apps, Identity: ident, Users: s.Users, Admins: s.Admins,
		Messages: s.Messages, Files: s.Files, Social: s.Social, Groups: s.Groups, Rooms: s.Rooms, Push: s.Push, Presence: dir,
		Moderation: s.Moderation, Callbacks: s.Callbacks, Erasure: s.Erasure, Log: log.With("component", "http"), Metrics: metrics,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Ready:        ready,
		CORS:         corsOf(&cfg),
		Limits:       limits,
	})
	root := http.NewServeMux()
	root.Handle("GET /ws", s.gw)
	root.Handle(console.Prefix, s.console)
	root.Handle(demo.Prefix, demo.New()) // the demo web chat (/demo/), on the TypeScript SDK
	root.Handle("/", s.api)
	if cfg.TLS.Enabled() {
		s.certs, err = newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, log.With("component", "tls"))
		if err != nil {
			blobs.Close()
			st.Close()
			return nil, err
		}
	}
	s.http = &http.Server{
		Handler:           newTransportGuard(root, cfg.TLS, trusted),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          newHTTPErrorLog(log.With("component", "http")),
	}
	if s.certs != nil {
		s.http.TLSConfig = tlsConfig(s.certs)
	}
	s.http.RegisterOnShutdown(s.console.Close) // the stats streams would hold Shutdown up
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		blobs.Close()
		st.Close()
		return nil, err
	}
	return s, nil
}

// Addr is the bound listen address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// TLS reports whether the listener serves TLS (https://, wss://).
func (s *Server) TLS() bool { return s.certs != nil }

// Handler exposes the HTTP handler (for in-process tests and benchmarks):
// the REST API, the console and the WebSocket endpoint.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Run serves until ctx is cancelled, then drains: /readyz turns 503, the
// listener closes, in-flight requests get shutdown_timeout to finish, and
// storage closes last.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("parley serving", "version", Version, "addr", s.Addr(), "tls", s.certs != nil, "tls_required", s.cfg.TLS.Require,
		"storage", s.store.Backend(), "data", s.cfg.DataDir, "node_id", s.node.ID(), "cluster", s.node.Clustered())
	if s.certs != nil {
		s.log.Info("tls certificate loaded", certAttrs(s.certs.cert.Load())...)
	}
	if s.cfg.Debug.Listen != "" {
		dbg := &http.Server{Addr: s.cfg.Debug.Listen, Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("debug listener", "err", err)
			}
		}()
		defer dbg.Close()
		s.log.Info("pprof profiles served", "addr", s.cfg.Debug.Listen)
	}
	jobs, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	// Jobs that must run once in a cluster run on the node holding their lease.
	go s.node.Singleton(jobs, "files-collector", func(ctx context.Context) {
		s.Files.RunCollector(ctx, s.cfg.Blob.OrphanAfter.D(), collectEvery(s.cfg.Blob.OrphanAfter.D()))
	})
	go s.node.Singleton(jobs, "events-janitor", s.Social.RunJanitor)
	go s.node.Singleton(jobs, "audit-pruner", func(ctx context.Context) { s.Admins.RunAuditPruner(ctx, s.cfg.Console.AuditRetention.D()) })
	go s.console.Run(jobs)
	if s.presence != nil {
		// Users of a node that died go offline on one surviving node.
		s.presence.OnLost = func(appID, userID int64) {
			s.Social.ConnectionChanged(appID, userID)
			s.Rooms.ConnectionChanged(appID, userID, false)
		}
		go s.presence.Run()
		defer s.presence.Close()
	}
	pushDone := make(chan struct{})
	go func() { defer close(pushDone); s.Push.Run(jobs) }()
	callbacksDone := make(chan struct{})
	go func() { defer close(callbacksDone); s.Callbacks.Run(jobs) }()
	errc := make(chan error, 1)
	go func() {
		if s.certs != nil {
			// The certificate comes from TLSConfig.GetCertificate; ServeTLS
			// also sets up HTTP/2.
			errc <- s.http.ServeTLS(s.ln, "", "")
			return
		}
		errc <- s.http.Serve(s.ln)
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	case <-s.node.Lost():
		// Another node holds this node's ID now: stop before message IDs
		// collide; the supervisor restarts the node with a free ID.
		serveErr = errors.New("cluster: this node's ID was taken by another node after its lease lapsed (database unreachable too long); stopping")
	}
	s.log.Info("shutting down: draining connections", "timeout", s.cfg.HTTP.ShutdownTimeout.String())
	s.api.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.HTTP.ShutdownTimeout.D())
	defer cancel()
	// WebSocket clients get 1001 and reconnect elsewhere; then HTTP drains.
	s.gw.Shutdown(sctx)
	err := s.http.Shutdown(sctx)
	if s.presence != nil {
		s.presence.Close() // after the sessions' "down" reports: the others drop this node at once
	}
	s.bus.Close()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	stopJobs()
	<-pushDone
	<-callbacksDone
	s.Rooms.Close()
	s.Social.Close()
	s.node.Close()
	err = errors.Join(serveErr, err, s.blobs.Close(), s.store.Close())
	s.log.Info("shutdown complete", "err", err)
	return err
}

// corsOf is the REST API's CORS policy (nil without allowed origins).
func corsOf(c *config.Config) *rest.CORS {
	if o := c.CORSOrigins(); len(o) > 0 {
		return &rest.CORS{Origins: o}
	}
	return nil
}

// collectEvery is how often orphan uploads are looked for: a tenth of
// their grace period, between a minute and an hour.
func collectEvery(orphanAfter time.Duration) time.Duration {
	return min(max(orphanAfter/10, time.Minute), time.Hour)
}

func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// Close releases resources of a server that was built but not run.
func (s *Server) Close() error {
	s.Rooms.Close()
	s.Social.Close()
	s.node.Close()
	s.bus.Close()
	return errors.Join(s.ln.Close(), s.blobs.Close(), s.store.Close())
}

// Routes lists every route of the REST API (for the authorization matrix
// test and tools that must cover every route).
func (s *Server) Routes() []rest.Route { return s.api.Routes() }

// ConsoleRoutes lists every route of the console's API.
func (s *Server) ConsoleRoutes() []console.Route { return s.console.Routes() }
