package social

import (
	"context"
	"maps"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Attribute limits (Easemob's).
const (
	MaxAttrBytes    = 2048 // per user: keys plus values, in bytes
	MaxAttrKeyBytes = 64
)

// standardAttrs are the keys clients share, with their length limits in
// characters (gender is "0", "1" or "2").
var standardAttrs = map[string]int{
	"nickname": 64, "avatarurl": 256, "phone": 32, "mail": 64, "gender": 1, "sign": 256, "birth": 64, "ext": MaxAttrBytes,
}

func attrsSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

func checkAttr(k, v string) error {
	if k == "" || len(k) > MaxAttrKeyBytes || !utf8.ValidString(k) || !utf8.ValidString(v) {
		return errs.New(protocol.ErrIllegalArgument, "attribute keys are 1..%d bytes; keys and values valid UTF-8", MaxAttrKeyBytes)
	}
	if max, ok := standardAttrs[k]; ok && utf8.RuneCountInString(v) > max {
		return errs.New(protocol.ErrAttrsTooLarge, "attribute %s is longer than %d characters", k, max)
	}
	if k == "gender" && v != "" && v != "0" && v != "1" && v != "2" {
		return errs.New(protocol.ErrIllegalArgument, "gender must be 0, 1 or 2")
	}
	return nil
}

// SetAttrs merges attributes into a user's (the user themself or an app
// token): an empty value removes the key. The result may not exceed 2 KB.
// The user's other devices get an attrs event with the new attributes. It
// returns the user's attributes after the change.
func (s *Service) SetAttrs(ctx context.Context, p *tenant.Principal, owner string, set map[string]string) (map[string]string, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "give at least one attribute")
	}
	for k, v := range set {
		if err := checkAttr(k, v); err != nil {
			return nil, err
		}
	}
	ps, err := s.st.Social().Profiles(ctx, []int64{oid})
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	if pr := ps[oid]; pr != nil {
		maps.Copy(attrs, pr.Attrs)
	}
	for k, v := range set {
		if v == "" {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	size := attrsSize(attrs)
	if size > MaxAttrBytes {
		return nil, errs.New(protocol.ErrAttrsTooLarge, "attributes would be %d bytes; the limit is %d per user", size, MaxAttrBytes)
	}
	evs := []store.Event{s.event(p.App.ID, oid, protocol.Event{Kind: protocol.EventAttrs, Attrs: attrs})}
	if err := s.st.Social().SetAttrs(ctx, p.App.ID, oid, attrs, size, s.now().UnixMilli(), evs); err != nil {
		return nil, err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return attrs, nil
}

// DeleteAttrs removes all of a user's attributes.
func (s *Service) DeleteAttrs(ctx context.Context, p *tenant.Principal, owner string) error {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return err
	}
	evs := []store.Event{s.event(p.App.ID, oid, protocol.Event{Kind: protocol.EventAttrs, Attrs: map[string]string{}})}
	if err := s.st.Social().SetAttrs(ctx, p.App.ID, oid, map[string]string{}, 0, s.now().UnixMilli(), evs); err != nil {
		return err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return nil
}

// Attrs returns users' attributes (any user of the app may read them),
// keeping only keys if given. Users that do not exist are left out; users
// without attributes map to an empty object.
func (s *Service) Attrs(ctx context.Context, p *tenant.Principal, names, keys []string) (map[string]map[string]string, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	ids, canon, _, err := s.resolveMany(ctx, p.App, names, MaxBatchUsers)
	if err != nil {
		return nil, err
	}
	ps, err := s.st.Social().Profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for i, id := range ids {
		m := map[string]string{}
		if pr := ps[id]; pr != nil {
			if len(keys) == 0 {
				maps.Copy(m, pr.Attrs)
			}
			for _, k := range keys {
				if v, ok := pr.Attrs[k]; ok {
					m[k] = v
				}
			}
		}
		out[canon[i]] = m
	}
	return out, nil
}

// AttrsCapacity is the app's total attribute size in bytes (app token).
func (s *Service) AttrsCapacity(ctx context.Context, p *tenant.Principal) (int64, error) {
	if err := p.RequireAdmin(); err != nil {
		return 0, err
	}
	return s.st.Social().AttrsBytes(ctx, p.App.ID)
}
