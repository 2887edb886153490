package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyim/parley/internal/tenant"
)

// DefaultOwnerPassword is the console owner's password in servers the bench
// starts itself, when --owner-password is not given. It is fixed so that
// repeated runs against one (throwaway) PostgreSQL database named by
// PARLEY_DB, whose owner was created by the first run, can sign in again.
const DefaultOwnerPassword = "parley-bench-owner-password"

// env is the server under test (started by the bench, or a --target), or
// the nodes of a cluster, with an app created for this run.
type env struct {
	o      *Options
	base   string   // the first node, http://127.0.0.1:PORT: REST calls go there
	wsURL  string   // the first node's ws://127.0.0.1:PORT/ws?v=1
	bases  []string // every node's base URL
	wsURLs []string // every node's WebSocket URL
	hc     *http.Client
	srvs   []*child // the nodes started by the bench; nil with --target
	tmp    string   // temp dir of started servers
	// db is the started servers' PostgreSQL database, created for this
	// run on the server --db names; dropDB drops it.
	db      string
	dropDB  func()
	nodeEnv []string // environment every started node shares (cluster settings)
	backend string
	org     string
	app     string
	appTok  string
}

// isLoopbackURL checks that target is an http(s) URL whose host is a
// loopback address (127.0.0.0/8, ::1, or "localhost" resolving only to
// them): the bench never loads a remote machine.
func isLoopbackURL(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--target must be http://HOST:PORT, got %q", target)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return "", fmt.Errorf("--target must be the server's base URL without a path, got %q", target)
	}
	host := u.Hostname()
	var ips []net.IP
	if host == "localhost" {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return "", fmt.Errorf("cannot resolve localhost: %v", err)
		}
		ips = addrs
	} else if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		return "", fmt.Errorf("--target %q is not a loopback address: the bench only loads this machine (127.0.0.0/8 or ::1)", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("--target %q is not a loopback address: the bench only loads this machine (127.0.0.0/8 or ::1)", host)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 64
	tr.Proxy = nil // loopback only: never through a proxy
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// startEnv brings up the server under test (or checks the target) and
// creates this run's app.
func startEnv(ctx context.Context, o *Options) (*env, error) {
	e := &env{o: o, hc: newHTTPClient(), org: "bench"}
	e.backend = "sqlite"
	if strings.HasPrefix(o.DB, "postgres") || (o.DB == "" && strings.HasPrefix(o.getenv("PARLEY_DB"), "postgres")) {
		e.backend = "postgres"
	}
	if o.NATS != "" {
		e.backend += "+nats"
	}
	if o.Target != "" {
		bases, err := targetURLs(o.Target)
		if err != nil {
			return nil, err
		}
		e.setNodes(bases)
		e.backend = "target"
		if o.OwnerPassword == "" {
			return nil, errors.New("--target needs --owner-password (the console owner's password) to create the bench app")
		}
	} else {
		tmp, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return nil, err
		}
		e.tmp = tmp
		if o.DB != "" {
			if e.db, e.dropDB, err = freshDB(ctx, o.DB); err != nil {
				e.close()
				return nil, err
			}
		}
		if e.nodeEnv, err = clusterEnv(o, tmp); err != nil {
			e.close()
			return nil, err
		}
		if err := e.startServers(ctx); err != nil {
			e.close()
			return nil, err
		}
	}
	if n := e.nodeCount(); n > 1 {
		e.backend += fmt.Sprintf(" ×%d nodes", n)
	}
	if err := e.setupApp(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) ownerPassword() string {
	if e.o.OwnerPassword != "" {
		return e.o.OwnerPassword
	}
	return DefaultOwnerPassword
}

// setNodes records the nodes' base URLs; the first one is e.base.
func (e *env) setNodes(bases []string) {
	e.bases = bases
	e.wsURLs = make([]string, len(bases))
	for i, b := range bases {
		e.wsURLs[i] = "ws" + strings.TrimPrefix(b, "http") + "/ws?v=1"
	}
	e.base, e.wsURL = e.bases[0], e.wsURLs[0]
}

// started reports whether the bench started the servers (and reads their
// /proc).
func (e *env) started() bool { return len(e.srvs) > 0 }

// startServers starts (or restarts, on the same data) the o.nodes() child
// servers, one after the other: the first applies the migrations.
func (e *env) startServers(ctx context.Context) error {
	var bases []string
	for i := range e.o.nodes() {
		c, addr, err := e.startNode(ctx, i)
		if err != nil {
			e.stopServers()
			return fmt.Errorf("node %d: %w", i, err)
		}
		e.srvs = append(e.srvs, c)
		bases = append(bases, "http://"+addr)
	}
	e.setNodes(bases)
	return nil
}

// startNode starts node i on a free port.
func (e *env) startNode(ctx context.Context, i int) (*child, string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken meanwhile
		addr, err := freePort()
		if err != nil {
			return nil, "", err
		}
		c, err := startChild(ctx, e, i, addr)
		if err == nil {
			return c, addr, nil
		}
		lastErr = err
		if ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			break // only a lost race for the port is worth another try
		}
	}
	return nil, "", lastErr
}

// stopServers stops every started node at once.
func (e *env) stopServers() {
	var wg sync.WaitGroup
	for _, c := range e.srvs {
		wg.Add(1)
		go func() { defer wg.Done(); c.stop() }()
	}
	wg.Wait()
	e.srvs = nil
}

// restart stops the child servers and starts them again on the same data,
// so that memory measured afterwards starts from a clean heap.
func (e *env) restart(ctx context.Context) error {
	if !e.started() {
		return errors.New("restart needs servers started by the bench")
	}
	e.stopServers()
	return e.startServers(ctx)
}

func (e *env) close() {
	e.stopServers()
	if e.dropDB != nil {
		e.dropDB()
		e.dropDB = nil
	}
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
		e.tmp = ""
	}
	e.hc.CloseIdleConnections()
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// child is a server process started by the bench.
type child struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	once    sync.Once
}

// startChild starts node i of e listening on addr, with its own data
// directory, and waits until it is ready.
func startChild(ctx context.Context, e *env, i int, addr string) (*child, error) {
	o := e.o
	bin := o.ServerBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = exe
	}
	name := "data"
	logPath := filepath.Join(e.tmp, "server.log")
	if o.nodes() > 1 {
		name = "node" + strconv.Itoa(i)
		logPath = filepath.Join(e.tmp, name+".log")
	}
	args := []string{"serve", "--listen", addr, "--data", filepath.Join(e.tmp, name)}
	if e.db != "" {
		args = append(args, "--db", e.db)
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// Registration is not what is measured: a cheap password hash. The
	// owner password lets the bench create its app over the management API.
	cmd.Env = append(os.Environ(), "PARLEY_AUTH_KDF_MEMORY_KIB=1024", "PARLEY_AUTH_KDF_TIME=1",
		"PARLEY_CONSOLE_OWNER_PASSWORD="+e.ownerPassword())
	cmd.Env = append(cmd.Env, e.nodeEnv...)
	if o.Pprof != "" {
		debug, _, _ := pprofAddr(o.Pprof, i)
		cmd.Env = append(cmd.Env, "PARLEY_DEBUG_LISTEN="+debug)
	}
	cmd.Env = append(cmd.Env, o.ServerEnv...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	c := &child{cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c, nil
			}
		}
		select {
		case <-c.done:
			c.stop()
			return nil, fmt.Errorf("server exited during start:\n%s", c.tail())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("server not ready within 60s:\n%s", c.tail())
		}
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop ends the server: SIGTERM, then SIGKILL after 20 s.
func (c *child) stop() {
	c.once.Do(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.done:
			case <-time.After(20 * time.Second):
				c.cmd.Process.Kill()
				<-c.done
			}
		}
		c.logFile.Close()
	})
}

// tail returns the end of the server's log.
func (c *child) tail() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// errorLines returns the server log's warning and error lines (at most n).
func (c *child) errorLines(n int) []string {
	b, _ := os.ReadFile(c.logPath)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") ||
			strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			out = append(out, l)
			if len(out) >= n {
				break
			}
		}
	}
	return out
}

// apiError is a non-200 answer.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// call does one JSON request; out may be nil.
func (e *env) call(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		if len(raw) > 500 {
			raw = raw[:500]
		}
		return &apiError{status: resp.StatusCode, body: string(raw)}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// setupApp signs in as the console owner and creates this run's app.
func (e *env) setupApp(ctx context.Context) error {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err := e.call(ctx, "POST", "/management/token", "", map[string]any{"grant_type": "password",
		"username": e.o.ownerUser(), "password": e.ownerPassword(), "ttl": 3600}, &tok)
	if err != nil {
		if e.started() && e.o.DB == "" && e.backend != "sqlite" {
			return fmt.Errorf("console owner sign-in: %w (PARLEY_DB's owner was created with another password: use a fresh database, or pass --owner-password)", err)
		}
		return fmt.Errorf("console owner sign-in: %w", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	e.app = "b" + strconv.FormatInt(time.Now().Unix(), 36) + hex.EncodeToString(b)
	var created struct {
		Data struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"data"`
	}
	// The bench measures the server, not the app's rate limits: it turns
	// every class off (sends per connection included).
	limits := map[string]string{}
	for _, class := range tenant.RateClasses() {
		limits[class] = "off"
	}
	if err := e.call(ctx, "POST", "/management/orgs/"+e.org+"/applications", tok.AccessToken,
		map[string]any{"name": e.app, "settings": map[string]any{"rate_limits": limits}}, &created); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	var app struct {
		AccessToken string `json:"access_token"`
	}
	if err := e.call(ctx, "POST", e.appPath("/token"), "", map[string]any{"grant_type": "client_credentials",
		"client_id": created.Data.ClientID, "client_secret": created.Data.ClientSecret, "ttl": 86400}, &app); err != nil {
		return fmt.Errorf("app token: %w", err)
	}
	e.appTok = app.AccessToken
	return nil
}

func (e *env) appPath(p string) string { return "/" + e.org + "/" + e.app + p }

// parallel runs fn(i) for i in [0, n) on at most workers goroutines and
// returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if stop || i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// registerUsers registers users prefix0..prefix(n-1) in batches of 60 and
// returns their names.
func (e *env) registerUsers(ctx context.Context, prefix string, n int) ([]string, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + strconv.Itoa(i)
	}
	const batch = 60
	batches := (n + batch - 1) / batch
	err := parallel(ctx, batches, 4, func(ctx context.Context, b int) error {
		lo, hi := b*batch, min(n, (b+1)*batch)
		list := make([]map[string]string, 0, hi-lo)
		for _, name := range names[lo:hi] {
			list = append(list, map[string]string{"username": name, "password": "bench-pw"})
		}
		var res struct {
			Entities []json.RawMessage `json:"entities"`
			Data     json.RawMessage   `json:"data"`
		}
		if err := e.call(ctx, "POST", e.appPath("/users"), e.appTok, list, &res); err != nil {
			return fmt.Errorf("register users: %w", err)
		}
		if len(res.Entities) != hi-lo {
			return fmt.Errorf("register users: %d of %d created: %s", len(res.Entities), hi-lo, res.Data)
		}
		return nil
	})
	return names, err
}

// userTokens gets a user token for each name (inherit grant: no password
// hash, so this is cheap).
func (e *env) userTokens(ctx context.Context, names []string) ([]string, error) {
	toks := make([]string, len(names))
	err := parallel(ctx, len(names), 16, func(ctx context.Context, i int) error {
		var t struct {
			AccessToken string `json:"access_token"`
		}
		if err := e.call(ctx, "POST", e.appPath("/token"), e.appTok, map[string]any{"grant_type": "inherit",
			"username": names[i], "ttl": 86400}, &t); err != nil {
			return fmt.Errorf("user token for %s: %w", names[i], err)
		}
		toks[i] = t.AccessToken
		return nil
	})
	return toks, err
}

// users registers n users and returns names and tokens.
func (e *env) users(ctx context.Context, prefix string, n int) ([]string, []string, error) {
	names, err := e.registerUsers(ctx, prefix, n)
	if err != nil {
		return nil, nil, err
	}
	toks, err := e.userTokens(ctx, names)
	return names, toks, err
}

// sample reads the server's resource use, summed over the nodes of a
// cluster (see sampleNodes).
func (e *env) sample(ctx context.Context) ServerSample { return e.sampleNodes(ctx) }

// sampleNode reads node i's resource use: from /proc for a child server,
// else from its /metrics.
func (e *env) sampleNode(ctx context.Context, i int) ServerSample {
	s := ServerSample{RSSKiB: -1, CPUSeconds: -1, Goroutines: -1, HeapInuse: -1, StackInuse: -1, WSConns: -1, SlowConsumerCloses: -1,
		Batches: -1, BatchRequests: -1, BatchSeconds: -1}
	m := fetchMetrics(ctx, e.hc, e.bases[i])
	if i < len(e.srvs) {
		srv := e.srvs[i]
		s.Source = "proc"
		if v, err := readProcRSS(srv.pid()); err == nil {
			s.RSSKiB = v
		}
		if v, err := readProcCPU(srv.pid()); err == nil {
			s.CPUSeconds = v
		}
	} else if m != nil {
		s.Source = "metrics"
		if v, ok := m["process_resident_memory_bytes"]; ok {
			s.RSSKiB = int64(v / 1024)
		}
		if v, ok := m["process_cpu_seconds_total"]; ok {
			s.CPUSeconds = v
		}
	}
	if m != nil {
		s.Goroutines = metricOr(m, "go_goroutines", -1)
		s.HeapInuse = metricOr(m, "go_memstats_heap_inuse_bytes", -1)
		s.StackInuse = metricOr(m, "go_memstats_stack_inuse_bytes", -1)
		s.WSConns = metricOr(m, "parley_ws_connections", -1)
		s.SlowConsumerCloses = metricOr(m, `parley_ws_closes_total{code="4008"}`, 0)
		if n, ok := m["parley_store_batch_size_count"]; ok {
			s.Batches, s.BatchRequests, s.BatchSeconds = n, m["parley_store_batch_size_sum"], m["parley_store_batch_seconds_sum"]
		}
	}
	return s
}
