package push

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// self resolves the user a call is about: a user token acts for itself,
// the app token for anyone.
func (s *Service) self(ctx context.Context, p *tenant.Principal, username string) (int64, string, error) {
	if p.Anonymous() {
		return 0, "", errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	id, name, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return 0, "", err
	}
	if !p.Admin && id != p.UserID {
		return 0, "", errs.New(protocol.ErrForbidden, "a user token may only act for its own user")
	}
	return id, name, nil
}

// BindingInfo is a binding as shown.
type BindingInfo struct {
	DeviceID string `json:"device_id"`
	Notifier string `json:"notifier_name"`
	Token    string `json:"device_token"`
	Updated  int64  `json:"updated"`
}

// Bind stores a device's token (an empty token or notifier unbinds) and
// returns the user's bindings.
func (s *Service) Bind(ctx context.Context, p *tenant.Principal, username, deviceID, notifier, token string) ([]BindingInfo, error) {
	uid, _, err := s.self(ctx, p, username)
	if err != nil {
		return nil, err
	}
	if deviceID == "" || len(deviceID) > 128 || len(token) > 4096 {
		return nil, errs.New(protocol.ErrIllegalArgument, "device_id must be 1..128 characters and device_token at most 4096")
	}
	if notifier == "" {
		token = ""
	}
	if token != "" {
		if _, err := s.st.Push().Notifier(ctx, p.App.ID, notifier); errors.Is(err, store.ErrNotFound) {
			return nil, errs.New(protocol.ErrIllegalArgument, "the app has no notifier %q", notifier)
		} else if err != nil {
			return nil, err
		}
	}
	if err := s.st.Push().PutBinding(ctx, &store.Binding{UserID: uid, DeviceID: deviceID, AppID: p.App.ID, Notifier: notifier,
		Token: token, Updated: s.now().UnixMilli()}); err != nil {
		return nil, err
	}
	return s.Bindings(ctx, p, username)
}

// Bindings lists a user's bindings.
func (s *Service) Bindings(ctx context.Context, p *tenant.Principal, username string) ([]BindingInfo, error) {
	uid, _, err := s.self(ctx, p, username)
	if err != nil {
		return nil, err
	}
	list, err := s.st.Push().Bindings(ctx, uid)
	if err != nil {
		return nil, err
	}
	out := []BindingInfo{}
	for _, b := range list {
		out = append(out, BindingInfo{DeviceID: b.DeviceID, Notifier: b.Notifier, Token: b.Token, Updated: b.Updated})
	}
	return out, nil
}

// Setting is a notification preference as shown (Easemob's fields).
type Setting struct {
	Type           string `json:"type"`
	IgnoreInterval string `json:"ignoreInterval"`
	IgnoreDuration int64  `json:"ignoreDuration"` // ms left
}

// MaxIgnoreDuration is the longest mute (7 days), as in Easemob.
const MaxIgnoreDuration = 604_800_000

// scope maps Easemob's (chattype, key) to a settings scope: chattype
// "user" with the user's own name is their default ("app").
func (s *Service) scope(ctx context.Context, app *tenant.App, uid int64, username, chatType, key string) (string, error) {
	switch chatType {
	case "user":
		id, name, err := s.users.Resolve(ctx, app, key)
		if err != nil {
			return "", err
		}
		if name == username || id == uid {
			return "app", nil
		}
		return "chat:" + strconv.FormatInt(id, 10), nil
	case "chatgroup":
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil || id <= 0 {
			return "", errs.New(protocol.ErrGroupNotFound, "group id %q doesn't exist", key)
		}
		return "group:" + key, nil
	}
	return "", errs.New(protocol.ErrIllegalArgument, "chattype must be user or chatgroup")
}

// scopeSettings resolves the user a notification call acts on and the
// scope it names, and reads the user's settings.
func (s *Service) scopeSettings(ctx context.Context, p *tenant.Principal, username, chatType, key string) (int64, string, map[string]store.PushSetting, error) {
	uid, name, err := s.self(ctx, p, username)
	if err != nil {
		return 0, "", nil, err
	}
	scope, err := s.scope(ctx, p.App, uid, name, chatType, key)
	if err != nil {
		return 0, "", nil, err
	}
	all, err := s.st.Push().Settings(ctx, uid)
	return uid, scope, all, err
}

// SetNotification sets a mode, quiet hours and/or a mute for a scope; nil
// fields stay as they are.
func (s *Service) SetNotification(ctx context.Context, p *tenant.Principal, username, chatType, key string, mode, interval *string,
	duration *int64) (*Setting, error) {
	uid, scope, all, err := s.scopeSettings(ctx, p, username, chatType, key)
	if err != nil {
		return nil, err
	}
	st := all[scope]
	st.UserID, st.Scope, st.AppID = uid, scope, p.App.ID
	if st.Mode == "" {
		st.Mode = ModeDefault
	}
	if mode != nil {
		m := strings.ToUpper(*mode)
		if m != ModeDefault && m != ModeAll && m != ModeAt && m != ModeNone {
			return nil, errs.New(protocol.ErrIllegalArgument, "type must be DEFAULT, ALL, AT or NONE")
		}
		st.Mode = m
	}
	if interval != nil {
		if *interval != "" {
			if _, _, ok := ParseInterval(*interval); !ok {
				return nil, errs.New(protocol.ErrIllegalArgument, `ignoreInterval must be "H:M-H:M" (UTC), two different times`)
			}
		}
		st.IgnoreInterval = *interval
	}
	now := s.now()
	if duration != nil {
		if *duration < 0 || *duration > MaxIgnoreDuration {
			return nil, errs.New(protocol.ErrIllegalArgument, "ignoreDuration must be 0..%d ms", MaxIgnoreDuration)
		}
		st.IgnoreUntil = 0
		if *duration > 0 {
			st.IgnoreUntil = now.UnixMilli() + *duration
		}
	}
	st.Updated = now.UnixMilli()
	if err := s.st.Push().PutSetting(ctx, &st); err != nil {
		return nil, err
	}
	return shown(st, now), nil
}

func shown(st store.PushSetting, now time.Time) *Setting {
	out := &Setting{Type: st.Mode, IgnoreInterval: st.IgnoreInterval}
	if out.Type == "" {
		out.Type = ModeDefault
	}
	if left := st.IgnoreUntil - now.UnixMilli(); left > 0 {
		out.IgnoreDuration = left
	}
	return out
}

// Notification returns a scope's preference.
func (s *Service) Notification(ctx context.Context, p *tenant.Principal, username, chatType, key string) (*Setting, error) {
	_, scope, all, err := s.scopeSettings(ctx, p, username, chatType, key)
	if err != nil {
		return nil, err
	}
	return shown(all[scope], s.now()), nil
}

// SetPrefs sets a user's push language and/or template (nil: unchanged).
func (s *Service) SetPrefs(ctx context.Context, p *tenant.Principal, username string, language, template *string) (*store.PushPrefs, error) {
	uid, _, err := s.self(ctx, p, username)
	if err != nil {
		return nil, err
	}
	cur, err := s.st.Push().Prefs(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		cur, err = &store.PushPrefs{UserID: uid, AppID: p.App.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	if language != nil {
		if len(*language) > 16 {
			return nil, errs.New(protocol.ErrIllegalArgument, "translationLanguage is a language code")
		}
		cur.Language = *language
	}
	if template != nil {
		if *template != "" {
			if _, err := s.st.Push().Template(ctx, p.App.ID, *template); errors.Is(err, store.ErrNotFound) {
				return nil, errs.New(protocol.ErrNotFound, "no template %q", *template)
			} else if err != nil {
				return nil, err
			}
		}
		cur.Template = *template
	}
	cur.Updated = s.now().UnixMilli()
	return cur, s.st.Push().PutPrefs(ctx, cur)
}

// Prefs returns a user's push language and template.
func (s *Service) Prefs(ctx context.Context, p *tenant.Principal, username string) (*store.PushPrefs, error) {
	uid, _, err := s.self(ctx, p, username)
	if err != nil {
		return nil, err
	}
	cur, err := s.st.Push().Prefs(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return &store.PushPrefs{UserID: uid, AppID: p.App.ID}, nil
	}
	return cur, err
}

// PutTemplate stores a template (app token): patterns take {0}, {1} ...
func (s *Service) PutTemplate(ctx context.Context, p *tenant.Principal, name, title, content string) (*store.PushTemplate, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if name == "" || len(name) > 64 || utf8.RuneCountInString(title) > 512 || utf8.RuneCountInString(content) > 1024 {
		return nil, errs.New(protocol.ErrIllegalArgument, "name is 1..64 characters, title_pattern ≤512, content_pattern ≤1024")
	}
	now := s.now().UnixMilli()
	t := &store.PushTemplate{AppID: p.App.ID, Name: name, TitlePattern: title, ContentPattern: content, Created: now, Updated: now}
	if old, err := s.st.Push().Template(ctx, p.App.ID, name); err == nil {
		t.Created = old.Created
	}
	return t, s.st.Push().PutTemplate(ctx, t)
}

// Template returns a template (any token).
func (s *Service) Template(ctx context.Context, p *tenant.Principal, name string) (*store.PushTemplate, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	t, err := s.st.Push().Template(ctx, p.App.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrNotFound, "no template %q", name)
	}
	return t, err
}

// DeleteTemplate removes a template (app token).
func (s *Service) DeleteTemplate(ctx context.Context, p *tenant.Principal, name string) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	if err := s.st.Push().DeleteTemplate(ctx, p.App.ID, name); errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrNotFound, "no template %q", name)
	} else if err != nil {
		return err
	}
	return nil
}
