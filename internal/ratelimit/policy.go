package ratelimit

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Policy is the server's limits outside the apps' own settings: per user,
// per client address, and how an app's limit is shared between the nodes
// of a cluster. Its buckets live in this node's memory. A nil *Policy, or
// one not Enabled, limits nothing.
type Policy struct {
	Enabled bool
	// User limits the REST requests of one user-token caller.
	User Rate
	// Anonymous limits the REST requests of one client address made without
	// a valid token.
	Anonymous Rate
	// SignIn limits one client address's token requests (app and
	// management API) and WebSocket connection attempts, together.
	SignIn Rate
	// Exempt addresses are not limited per address (loopback by default).
	Exempt []netip.Prefix
	// Trusted proxies: behind them the client's address is taken from
	// X-Forwarded-For.
	Trusted []netip.Prefix
	// Nodes returns how many nodes share the apps' limits (nil: 1).
	Nodes func() int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// OnRefused, if set, is told of each refusal, by limit (app, user,
	// anonymous, sign_in; ws_send is the WebSocket gateway's own).
	OnRefused func(limit string)

	keys *Limiter
}

// NewPolicy returns p ready to use, holding at most maxKeys buckets.
func NewPolicy(p Policy, maxKeys int) *Policy {
	p.keys = NewLimiter(maxKeys)
	return &p
}

func (p *Policy) on() bool { return p != nil && p.Enabled }

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Buckets is how many buckets the policy holds (for tests and metrics).
func (p *Policy) Buckets() int {
	if p == nil || p.keys == nil {
		return 0
	}
	return p.keys.Len()
}

// App spends a token of an app's class under the app's limit r, of which
// this node enforces its share (r divided by the live nodes).
func (p *Policy) App(appID int64, appKey, class string, r Rate) error {
	if !p.on() || r.Unlimited() {
		return nil
	}
	n := 1
	if p.Nodes != nil {
		n = max(1, p.Nodes())
	}
	key := "a:" + strconv.FormatInt(appID, 10) + ":" + class
	if w := p.keys.Take(key, r.Share(n), p.now()); w > 0 {
		p.refused("app")
		return Refused("app "+appKey+" ("+class+", "+r.String()+")", w)
	}
	return nil
}

// UserRequest spends a token of one user's REST budget.
func (p *Policy) UserRequest(appID, userID int64) error {
	if !p.on() {
		return nil
	}
	key := "u:" + strconv.FormatInt(appID, 10) + ":" + strconv.FormatInt(userID, 10)
	if w := p.keys.Take(key, p.User, p.now()); w > 0 {
		p.refused("user")
		return Refused("one user ("+p.User.String()+")", w)
	}
	return nil
}

// AnonymousRequest spends a token of a client address's budget for
// requests without a valid token.
func (p *Policy) AnonymousRequest(ip string) error {
	return p.perIP("anonymous", ip, p.anonymous(), "requests without a token from one address")
}

// SignInAttempt spends a token of a client address's sign-in budget (token
// requests, WebSocket connection attempts).
func (p *Policy) SignInAttempt(ip string) error {
	return p.perIP("sign_in", ip, p.signIn(), "sign-ins from one address")
}

func (p *Policy) anonymous() Rate {
	if p == nil {
		return Rate{}
	}
	return p.Anonymous
}

func (p *Policy) signIn() Rate {
	if p == nil {
		return Rate{}
	}
	return p.SignIn
}

func (p *Policy) perIP(limit, ip string, r Rate, what string) error {
	if !p.on() || r.Unlimited() || ip == "" || p.exempt(ip) {
		return nil
	}
	if w := p.keys.Take(limit+":"+addrKey(ip), r, p.now()); w > 0 {
		p.refused(limit)
		return Refused(what+" ("+r.String()+")", w)
	}
	return nil
}

// addrKey is the bucket key of an address: an IPv4 address, or the /64 of
// an IPv6 one (one subscriber usually holds a whole /64).
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// Refused tells OnRefused of a refusal by limit.
func (p *Policy) refused(limit string) {
	if p.OnRefused != nil {
		p.OnRefused(limit)
	}
}

func (p *Policy) exempt(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && contains(p.Exempt, a)
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the request's client address: the connection's, or, from a
// trusted proxy, the last address in X-Forwarded-For that is not one.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := addr.Addr().Unmap()
	if !contains(trusted, ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = hop.Unmap()
		if !contains(trusted, ip) {
			break
		}
	}
	return ip.String()
}

// ClientIP is the client address of r under the policy's trusted proxies.
func (p *Policy) ClientIP(r *http.Request) string {
	if p == nil {
		return ClientIP(r, nil)
	}
	return ClientIP(r, p.Trusted)
}
