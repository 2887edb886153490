package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Centrifugo (github.com/centrifugal/centrifugo, v6) is the peer of the
// idle, group fan-out and chat room comparisons. scripts/peers.sh installs
// it into the cache below; the bench starts it with a generated config:
// memory engine, bound to 127.0.0.1, a random HMAC secret for connection
// tokens (HS256 JWTs the bench signs), and channels without a namespace
// open to subscribing clients, who may also publish into them. Clients
// speak its JSON client protocol over WebSocket: connect, subscribe,
// publish; a group is a channel its members subscribe to.

// CentrifugoVersion is the version scripts/peers.sh installs.
const CentrifugoVersion = "v6.9.1"

// centrifugoBin finds the binary: path if set, else
// $PARLEY_PEERS_BIN/centrifugo, else ~/.cache/parley-peers/bin/centrifugo,
// else centrifugo on $PATH. It returns "" if there is none.
func centrifugoBin(o *Options) string {
	if o.CentrifugoBin != "" {
		return o.CentrifugoBin
	}
	var cands []string
	if d := o.getenv("PARLEY_PEERS_BIN"); d != "" {
		cands = append(cands, filepath.Join(d, "centrifugo"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(h, ".cache", "parley-peers", "bin", "centrifugo"))
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c
		}
	}
	if p, err := exec.LookPath("centrifugo"); err == nil {
		return p
	}
	return ""
}

// errNoCentrifugo says how to install the peer.
var errNoCentrifugo = errors.New("centrifugo is not installed: run scripts/peers.sh (builds " + CentrifugoVersion +
	" into ~/.cache/parley-peers/bin), or pass --centrifugo PATH")

type centrifugoSys struct {
	proc   *peerProc
	wsURL  string
	secret []byte
	toks   []string // connection tokens of the users
}

func startCentrifugoSys(ctx context.Context, o *Options, dir string) (system, error) {
	bin := centrifugoBin(o)
	if bin == "" {
		return nil, errNoCentrifugo
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := splitHostPortInt(addr)
	secret := randomHex(32)
	cfg := map[string]any{
		"client": map[string]any{
			"token": map[string]any{"hmac_secret_key": secret},
		},
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"http_api":    map[string]any{"key": randomHex(32)},
		"channel": map[string]any{
			"without_namespace": map[string]any{
				"allow_subscribe_for_client":   true,
				"allow_publish_for_subscriber": true,
			},
		},
		"engine": map[string]any{"type": "memory"},
		"log":    map[string]any{"level": "error"},
		"health": map[string]any{"enabled": true},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(dir, "centrifugo.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	proc, err := startPeerProc(ctx, bin, []string{"--config", path}, filepath.Join(dir, "centrifugo.log"),
		httpReady("http://"+addr+"/health"))
	if err != nil {
		return nil, err
	}
	return &centrifugoSys{proc: proc, wsURL: "ws://" + addr + "/connection/websocket", secret: []byte(secret)}, nil
}

func splitHostPortInt(addr string) (string, int, error) {
	i := bytes.LastIndexByte([]byte(addr), ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port in %q", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}

// connToken signs a connection JWT (HS256) for user, valid for a day.
func connToken(secret []byte, user string, now time.Time) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": user, "exp": now.Add(24 * time.Hour).Unix(), "iat": now.Unix()})
	msg := head + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(m.Sum(nil))
}

func (c *centrifugoSys) name() string { return "centrifugo" }

func (c *centrifugoSys) users(_ context.Context, prefix string, n int) ([]string, error) {
	names, now := make([]string, n), time.Now()
	c.toks = make([]string, n)
	for i := range names {
		names[i] = prefix + strconv.Itoa(i)
		c.toks[i] = connToken(c.secret, names[i], now)
	}
	return names, nil
}

func (c *centrifugoSys) group(_ context.Context, _ []string, room bool) (string, error) {
	if room {
		return "room" + randomHex(4), nil
	}
	return "group" + randomHex(4), nil
}

// Request ids: 1 connect, 2 subscribe; a send with bench id k is command
// k+cmdBase.
const cmdBase = 16

func (c *centrifugoSys) spec(sub string) *dialSpec {
	return &dialSpec{Kind: "centrifugo", URL: c.wsURL, Creds: c.toks, Sub: sub}
}

// dialCentrifugo connects with a connection token and subscribes to sub
// (if set).
func dialCentrifugo(ctx context.Context, url, tok, sub string) (peerConn, error) {
	ws, err := dialPlain(ctx, url)
	if err != nil {
		return nil, err
	}
	cc := &centrifugoConn{c: &wsConn{c: ws}}
	fail := func(err error) (peerConn, error) { ws.Close(); return nil, err }
	connect, _ := json.Marshal(map[string]any{"id": 1, "connect": map[string]any{"token": tok, "name": "parley-bench"}})
	if err := cc.request(connect, 1); err != nil {
		return fail(fmt.Errorf("centrifugo connect: %w", err))
	}
	if sub != "" {
		s, _ := json.Marshal(map[string]any{"id": 2, "subscribe": map[string]any{"channel": sub}})
		if err := cc.request(s, 2); err != nil {
			return fail(fmt.Errorf("centrifugo subscribe: %w", err))
		}
	}
	return cc, nil
}

func (c *centrifugoSys) sample(context.Context) ServerSample { return procSample(c.proc.pid()) }
func (c *centrifugoSys) close()                              { c.proc.stop() }

type centrifugoConn struct {
	c   *wsConn
	mu  sync.Mutex
	buf []byte
}

// cfReply is a line of a Centrifugo frame decoded the slow way.
type cfReply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Pub *struct {
			Data struct {
				Text string `json:"text"`
			} `json:"data"`
		} `json:"pub"`
	} `json:"push"`
}

// request writes cmd and reads until the reply with id (bounded: 20 s).
func (cc *centrifugoConn) request(cmd []byte, id uint32) error {
	if err := cc.c.write(cmd); err != nil {
		return err
	}
	cc.c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer cc.c.c.SetReadDeadline(time.Time{})
	for {
		b, err := cc.c.readRaw()
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var r cfReply
			if len(line) == 0 || json.Unmarshal(line, &r) != nil || r.ID != id {
				continue
			}
			if r.Error != nil {
				return fmt.Errorf("error %d: %s", r.Error.Code, r.Error.Message)
			}
			return nil
		}
	}
}

func (cc *centrifugoConn) send(id int64, to string, group bool, text []byte) error {
	if !group {
		return errors.New("centrifugo: the comparison sends only to channels")
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	b := append(cc.buf[:0], `{"id":`...)
	b = strconv.AppendInt(b, id+cmdBase, 10)
	b = append(append(b, `,"publish":{"channel":"`...), to...)
	b = append(append(b, `","data":{"text":"`...), text...)
	cc.buf = append(b, `"}}}`...)
	return cc.c.write(cc.buf)
}

var (
	cfPushKey = []byte(`{"push":`)
	cfIDKey   = []byte(`{"id":`)
	cfErrKey  = []byte(`"error":`)
	cfPong    = []byte(`{}`)
)

func (cc *centrifugoConn) run(fn func(kind byte, id int64, text []byte)) error {
	buf := make([]byte, 0, 1024)
	for {
		var err error
		buf, err = cc.c.readInto(buf)
		if err != nil {
			return err
		}
		rest := buf
		for len(rest) > 0 {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			switch {
			case len(line) == 0:
			case bytes.Equal(line, cfPong):
				// The server's ping: answer it, as clients do.
				cc.c.write(cfPong)
			case bytes.HasPrefix(line, cfPushKey):
				if t := stringField(line, textKey); t != nil {
					fn('m', 0, t)
				}
			case bytes.HasPrefix(line, cfIDKey):
				v := line[len(cfIDKey):]
				j := bytes.IndexByte(v, ',')
				if j < 0 {
					j = bytes.IndexByte(v, '}')
				}
				if id, ok := atoi(v[:max(j, 0)]); ok && id >= cmdBase {
					kind := byte('a')
					if bytes.Contains(line, cfErrKey) {
						kind = 'e'
					}
					fn(kind, id-cmdBase, nil)
				}
			default:
				var r cfReply
				if json.Unmarshal(line, &r) == nil && r.Push != nil && r.Push.Pub != nil {
					fn('m', 0, []byte(r.Push.Pub.Data.Text))
				}
			}
		}
	}
}

func (cc *centrifugoConn) close() { cc.c.close() }
