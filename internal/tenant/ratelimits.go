package tenant

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/ratelimit"
	"github.com/parleyim/parley/protocol"
)

// Rate limit classes of an app (the keys of Settings.RateLimits). Each REST
// route belongs to one class, and each class has its own budget per app;
// ClassWSSend is per WebSocket connection instead.
const (
	ClassDefault       = "default"        // every app route not in another class
	ClassToken         = "token"          // POST /token
	ClassUsersDelete   = "users_delete"   // DELETE /users (the oldest N)
	ClassSocial        = "social"         // block lists and presence
	ClassRooms         = "rooms"          // create and list chat rooms
	ClassMessages      = "messages"       // send to users and rooms, directed sends, imports
	ClassGroupMessages = "group_messages" // send to groups
	ClassPushTemplates = "push_templates" // push templates
	ClassHistory       = "history"        // history file export
	ClassWSSend        = "ws_send"        // sends on one WebSocket connection
)

// DefaultRateLimits are the limits of classes an app does not set, after
// Easemob's documented defaults (the WebSocket one is Parley's).
var DefaultRateLimits = map[string]string{
	ClassDefault:       "100/s burst 200",
	ClassToken:         "300/s burst 600",
	ClassUsersDelete:   "30/s",
	ClassSocial:        "50/s burst 100",
	ClassRooms:         "50/s burst 100",
	ClassMessages:      "100/s burst 200",
	ClassGroupMessages: "20/s burst 40",
	ClassPushTemplates: "10/s burst 20",
	ClassHistory:       "10/m",
	ClassWSSend:        "100/s burst 200",
}

var defaultRates = func() map[string]ratelimit.Rate {
	m := map[string]ratelimit.Rate{}
	for k, v := range DefaultRateLimits {
		m[k] = ratelimit.MustRate(v)
	}
	return m
}()

// RateClasses lists the class names, sorted.
func RateClasses() []string {
	out := make([]string, 0, len(DefaultRateLimits))
	for k := range DefaultRateLimits {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RateLimit returns the app's limit of a class: its own setting, else the
// default (an unknown class gets the default class's).
func (s Settings) RateLimit(class string) ratelimit.Rate {
	if v, ok := s.RateLimits[class]; ok {
		if r, err := ratelimit.ParseRate(v); err == nil {
			return r
		}
	}
	if r, ok := defaultRates[class]; ok {
		return r
	}
	return defaultRates[ClassDefault]
}

func validRateLimits(m map[string]string) error {
	for k, v := range m {
		if _, ok := DefaultRateLimits[k]; !ok {
			return errs.New(protocol.ErrIllegalArgument, "rate_limits: unknown class %q (classes: %s)", k, strings.Join(RateClasses(), ", "))
		}
		if _, err := ratelimit.ParseRate(v); err != nil {
			return errs.New(protocol.ErrIllegalArgument, "rate_limits.%s: %v", k, err)
		}
	}
	return nil
}

// mergeRateLimits applies a rate_limits patch (class -> rate, or null for
// the default) to cur and returns the merged map as JSON.
func mergeRateLimits(cur map[string]string, patch json.RawMessage) (json.RawMessage, error) {
	var p map[string]*string
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "rate_limits must be an object of class: \"N/s\" (or null)")
	}
	out := map[string]string{}
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	b, _ := json.Marshal(out)
	return b, nil
}
