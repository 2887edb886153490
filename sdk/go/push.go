package parley

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/protocol"
)

// Offline push: while none of a user's devices is connected in the
// foreground, the server pushes their messages to the devices bound to one
// of the app's notifiers (FCM, APNs, a webhook), following the user's
// notification settings. The bindings and settings are REST calls made
// with this user's token (docs/rest.md, "Push"); SetBackground is a frame
// of the connection.

// MaxSilence is the longest NotificationChange.Silence: 7 days.
const MaxSilence = 7 * 24 * time.Hour

// Limits the server enforces, checked before anything is sent.
const (
	maxDeviceIDBytes    = 128
	maxDeviceTokenBytes = 4096
	maxNotifierBytes    = 64
	maxLanguageBytes    = 16
	maxTemplateBytes    = 64
	maxNicknameChars    = 100
)

// PushBinding is a device bound to receive this user's pushes.
type PushBinding struct {
	// DeviceID names the device among the user's; the SDK uses the
	// Client's Resource unless told otherwise.
	DeviceID string
	// Notifier is the name of the app's notifier (push credentials) the
	// token belongs to, as the app's administrator configured it
	// (PUT /{org}/{app}/push/notifiers/{name}).
	Notifier string
	// Token is the device token the push service (FCM, APNs) gave the
	// application.
	Token string
	// Updated is when the binding was last set, in ms since the epoch
	// (ignored by SetPushBinding).
	Updated int64
}

// BindPushDevice binds this device (its Resource) to receive this user's
// pushes through the app's notifier with the device token the push service
// gave the application, replacing the device's earlier binding, and
// returns all of the user's bindings. Call it whenever the push service
// hands out a new token. Errors: protocol.ErrIllegalArgument (the app has
// no such notifier). Pushes go to every bound device of the user, and only
// while none of the user's devices is connected in the foreground (see
// SetBackground).
func (c *Client) BindPushDevice(ctx context.Context, notifier, deviceToken string) ([]PushBinding, error) {
	if deviceToken == "" {
		return nil, errors.New("parley: BindPushDevice needs a device token (UnbindPushDevice unbinds)")
	}
	return c.SetPushBinding(ctx, PushBinding{Notifier: notifier, Token: deviceToken})
}

// UnbindPushDevice removes this device's binding (harmless if it has none),
// so it gets no more pushes, and returns the user's remaining bindings.
// Call it when the user signs out of the device.
func (c *Client) UnbindPushDevice(ctx context.Context) ([]PushBinding, error) {
	return c.SetPushBinding(ctx, PushBinding{})
}

// SetPushBinding binds a device by its ID, or unbinds it when b.Token is
// empty, and returns all of the user's bindings. An empty b.DeviceID is
// this device (its Resource): BindPushDevice and UnbindPushDevice are
// SetPushBinding for this device. Use it for a device ID of the
// application's own (1-128 bytes), for instance to remove the binding of an
// installation that no longer exists. A binding with a token needs a
// Notifier.
func (c *Client) SetPushBinding(ctx context.Context, b PushBinding) ([]PushBinding, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if b.DeviceID == "" {
		b.DeviceID = c.Resource()
	}
	if b.Token == "" {
		b.Notifier = ""
	}
	body := map[string]string{"device_id": b.DeviceID, "notifier_name": b.Notifier, "device_token": b.Token}
	var env struct {
		Entities []bindingWire `json:"entities"`
	}
	err := c.rest(ctx, restCall{what: "push binding", method: http.MethodPut, path: c.userPath("push", "binding"), body: body}, &env)
	if err != nil {
		return nil, err
	}
	return bindings(env.Entities), nil
}

// PushBindings returns this user's bound devices, by device ID.
func (c *Client) PushBindings(ctx context.Context) ([]PushBinding, error) {
	var env struct {
		Entities []bindingWire `json:"entities"`
	}
	if err := c.rest(ctx, restCall{what: "push bindings", method: http.MethodGet, path: c.userPath("push", "binding")}, &env); err != nil {
		return nil, err
	}
	return bindings(env.Entities), nil
}

func (b PushBinding) check() error {
	switch {
	case len(b.DeviceID) > maxDeviceIDBytes:
		return fmt.Errorf("parley: a push device ID has at most %d bytes", maxDeviceIDBytes)
	case len(b.Token) > maxDeviceTokenBytes:
		return fmt.Errorf("parley: a device token has at most %d bytes", maxDeviceTokenBytes)
	case b.Token != "" && b.Notifier == "":
		return errors.New("parley: a push binding with a device token needs the notifier's name")
	case len(b.Notifier) > maxNotifierBytes || strings.ContainsAny(b.Notifier, "/ "):
		return fmt.Errorf("parley: a notifier name has at most %d bytes, without spaces or slashes", maxNotifierBytes)
	}
	return nil
}

type bindingWire struct {
	DeviceID string `json:"device_id"`
	Notifier string `json:"notifier_name"`
	Token    string `json:"device_token"`
	Updated  int64  `json:"updated"`
}

func bindings(list []bindingWire) []PushBinding {
	out := make([]PushBinding, 0, len(list))
	for _, b := range list {
		out = append(out, PushBinding(b))
	}
	return out
}

// userPath is the REST path of this user's resource below /{org}/{app}.
func (c *Client) userPath(rest ...string) []string {
	return append([]string{"users", c.User()}, rest...)
}

// NotificationMode says which messages of a conversation are pushed.
type NotificationMode string

const (
	// NotifyDefault: a conversation follows the user's default mode; the
	// default mode set to NotifyDefault means NotifyAll.
	NotifyDefault NotificationMode = "DEFAULT"
	// NotifyAll pushes every message (but cmd messages, which never push).
	NotifyAll NotificationMode = "ALL"
	// NotifyMentions pushes only messages that mention the user (group
	// messages with Mentions or MentionAll).
	NotifyMentions NotificationMode = "AT"
	// NotifyNone pushes nothing, not even messages that ask to be pushed
	// through quiet hours (ext em_force_notification).
	NotifyNone NotificationMode = "NONE"
)

func (m NotificationMode) valid() bool {
	switch m {
	case NotifyDefault, NotifyAll, NotifyMentions, NotifyNone:
		return true
	}
	return false
}

// QuietHours is a daily period without pushes, in UTC: from Start to End,
// each a time of day given as the time since midnight in whole minutes
// (0 to 23:59), End excluded. It may wrap past midnight: {22h, 7h} is
// 22:00 to 07:00. Start and End must differ.
type QuietHours struct {
	Start, End time.Duration
}

// String returns the quiet hours as the server writes them, "H:MM-H:MM".
func (q QuietHours) String() string {
	hm := func(d time.Duration) string {
		return fmt.Sprintf("%d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return hm(q.Start) + "-" + hm(q.End)
}

func (q QuietHours) check() error {
	for _, d := range []time.Duration{q.Start, q.End} {
		if d < 0 || d >= 24*time.Hour || d%time.Minute != 0 {
			return fmt.Errorf("parley: quiet hours are times of day in whole minutes from 0:00 to 23:59, not %v", d)
		}
	}
	if q.Start == q.End {
		return errors.New("parley: quiet hours must start and end at different times")
	}
	return nil
}

// parseQuietHours reads "H:M-H:M" (minutes optional) as the server does;
// "" is none.
func parseQuietHours(s string) (*QuietHours, error) {
	if s == "" {
		return nil, nil
	}
	bad := fmt.Errorf("parley: the server sent quiet hours %q, not H:M-H:M", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return nil, bad
	}
	var q QuietHours
	for i, v := range []string{a, b} {
		h, m, found := strings.Cut(strings.TrimSpace(v), ":")
		hh, err := strconv.Atoi(h)
		mm := 0
		if err == nil && found {
			mm, err = strconv.Atoi(m)
		}
		if err != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
			return nil, bad
		}
		d := (time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute) % (24 * time.Hour)
		if i == 0 {
			q.Start = d
		} else {
			q.End = d
		}
	}
	return &q, nil
}

// NotificationSetting is the push setting of a conversation, or the user's
// default.
type NotificationSetting struct {
	// Mode is NotifyDefault for a conversation that follows the user's
	// default.
	Mode NotificationMode
	// QuietHours, if any, silence pushes every day (except messages that
	// ask to be pushed anyway: ext em_force_notification).
	QuietHours *QuietHours
	// Silence is how much longer pushes stay silenced (0: they are not),
	// in whole milliseconds.
	Silence time.Duration
}

// NotificationChange changes a push setting. Unset fields stay as they
// are; at least one must be set.
type NotificationChange struct {
	// Mode: "" leaves it unchanged.
	Mode NotificationMode
	// QuietHours: nil leaves them unchanged; a pointer to the zero
	// QuietHours removes them.
	QuietHours *QuietHours
	// Silence silences pushes for this long from now (up to MaxSilence;
	// rounded up to whole milliseconds); a pointer to 0 ends a silence;
	// nil leaves it unchanged. Messages that ask to be pushed anyway (ext
	// em_force_notification) still are.
	Silence *time.Duration
}

// wire checks the change and returns the REST body.
func (ch NotificationChange) wire() (map[string]any, error) {
	body := map[string]any{}
	if ch.Mode != "" {
		if !ch.Mode.valid() {
			return nil, fmt.Errorf("parley: unknown notification mode %q (NotifyDefault, NotifyAll, NotifyMentions or NotifyNone)", ch.Mode)
		}
		body["type"] = string(ch.Mode)
	}
	if q := ch.QuietHours; q != nil {
		if *q == (QuietHours{}) {
			body["ignoreInterval"] = ""
		} else {
			if err := q.check(); err != nil {
				return nil, err
			}
			body["ignoreInterval"] = q.String()
		}
	}
	if d := ch.Silence; d != nil {
		if *d < 0 || *d > MaxSilence {
			return nil, fmt.Errorf("parley: a silence lasts 0 (none) to %v, not %v", MaxSilence, *d)
		}
		body["ignoreDuration"] = int64((*d + time.Millisecond - 1) / time.Millisecond)
	}
	if len(body) == 0 {
		return nil, errors.New("parley: a NotificationChange needs a field to change")
	}
	return body, nil
}

type settingWire struct {
	Type           string `json:"type"`
	IgnoreInterval string `json:"ignoreInterval"`
	IgnoreDuration int64  `json:"ignoreDuration"`
}

func (w settingWire) setting() (*NotificationSetting, error) {
	q, err := parseQuietHours(w.IgnoreInterval)
	if err != nil {
		return nil, err
	}
	mode := NotificationMode(strings.ToUpper(w.Type))
	if mode == "" {
		mode = NotifyDefault
	}
	return &NotificationSetting{Mode: mode, QuietHours: q, Silence: time.Duration(max(w.IgnoreDuration, 0)) * time.Millisecond}, nil
}

// SetPeerNotification changes how messages from peer (a username) to this
// user are pushed, and returns the setting now. Errors:
// protocol.ErrUserNotFound.
func (c *Client) SetPeerNotification(ctx context.Context, peer string, ch NotificationChange) (*NotificationSetting, error) {
	if err := c.checkPeer("SetPeerNotification", peer); err != nil {
		return nil, err
	}
	return c.setNotification(ctx, "user", peer, ch)
}

// PeerNotification returns how messages from peer to this user are pushed
// (Mode NotifyDefault: as the user's default says).
func (c *Client) PeerNotification(ctx context.Context, peer string) (*NotificationSetting, error) {
	if err := c.checkPeer("PeerNotification", peer); err != nil {
		return nil, err
	}
	return c.notification(ctx, "user", peer)
}

// SetGroupNotification changes how a group's messages are pushed to this
// user, and returns the setting now. Errors: protocol.ErrGroupNotFound (not
// a group ID).
func (c *Client) SetGroupNotification(ctx context.Context, group string, ch NotificationChange) (*NotificationSetting, error) {
	if err := needGroup("SetGroupNotification", group); err != nil {
		return nil, err
	}
	return c.setNotification(ctx, "chatgroup", group, ch)
}

// GroupNotification returns how a group's messages are pushed to this user
// (Mode NotifyDefault: as the user's default says).
func (c *Client) GroupNotification(ctx context.Context, group string) (*NotificationSetting, error) {
	if err := needGroup("GroupNotification", group); err != nil {
		return nil, err
	}
	return c.notification(ctx, "chatgroup", group)
}

// SetDefaultNotification changes this user's default push setting, which
// applies to every conversation (its quiet hours and silence too, on top of
// the conversation's own), and returns it.
func (c *Client) SetDefaultNotification(ctx context.Context, ch NotificationChange) (*NotificationSetting, error) {
	return c.setNotification(ctx, "user", c.User(), ch)
}

// DefaultNotification returns this user's default push setting (Mode
// NotifyDefault means NotifyAll).
func (c *Client) DefaultNotification(ctx context.Context) (*NotificationSetting, error) {
	return c.notification(ctx, "user", c.User())
}

func (c *Client) checkPeer(call, peer string) error {
	if err := needUser(call, peer); err != nil {
		return err
	}
	if strings.EqualFold(peer, c.User()) {
		return fmt.Errorf("parley: %s names this user; use %s", call, strings.Replace(call, "Peer", "Default", 1))
	}
	return nil
}

func (c *Client) setNotification(ctx context.Context, chatType, key string, ch NotificationChange) (*NotificationSetting, error) {
	body, err := ch.wire()
	if err != nil {
		return nil, err
	}
	var env struct {
		Data settingWire `json:"data"`
	}
	err = c.rest(ctx, restCall{what: "notification setting", method: http.MethodPut, path: c.userPath("notification", chatType, key),
		body: body}, &env)
	if err != nil {
		return nil, err
	}
	return env.Data.setting()
}

func (c *Client) notification(ctx context.Context, chatType, key string) (*NotificationSetting, error) {
	var env struct {
		Data settingWire `json:"data"`
	}
	err := c.rest(ctx, restCall{what: "notification setting", method: http.MethodGet, path: c.userPath("notification", chatType, key)}, &env)
	if err != nil {
		return nil, err
	}
	return env.Data.setting()
}

// PushPreferences are this user's push language and template.
type PushPreferences struct {
	// Language is the language code the user wants pushes in ("": none).
	// The server stores it for the application; it does not translate.
	Language string
	// Template is the name of the app's push template that formats this
	// user's pushes ("": none), unless a message names its own
	// (ext em_push_template).
	Template string
}

// SetPushLanguage sets the language code (up to 16 bytes, such as "en" or
// "zh-Hans"; "" clears it) this user wants pushes in.
func (c *Client) SetPushLanguage(ctx context.Context, language string) error {
	if len(language) > maxLanguageBytes {
		return fmt.Errorf("parley: a push language is a language code of at most %d bytes", maxLanguageBytes)
	}
	return c.rest(ctx, restCall{what: "push language", method: http.MethodPut, path: c.userPath("notification", "language"),
		body: map[string]string{"translationLanguage": language}}, nil)
}

// SetPushTemplate makes the app's push template name format this user's
// pushes ("" stops using one). The app's administrator creates templates
// (POST /{org}/{app}/notification/template); protocol.ErrNotFound if there
// is no template of that name.
func (c *Client) SetPushTemplate(ctx context.Context, name string) error {
	if len(name) > maxTemplateBytes {
		return fmt.Errorf("parley: a push template name has at most %d bytes", maxTemplateBytes)
	}
	return c.rest(ctx, restCall{what: "push template", method: http.MethodPut, path: c.userPath("notification", "template"),
		body: map[string]string{"templateName": name}}, nil)
}

// PushPreferences returns this user's push language and template.
func (c *Client) PushPreferences(ctx context.Context) (*PushPreferences, error) {
	var env struct {
		Data struct {
			Language string `json:"language"`
			Template string `json:"templateName"`
		} `json:"data"`
	}
	if err := c.rest(ctx, restCall{what: "push preferences", method: http.MethodGet, path: c.userPath("notification", "language")}, &env); err != nil {
		return nil, err
	}
	return &PushPreferences{Language: env.Data.Language, Template: env.Data.Template}, nil
}

// DisplayStyle is what a push shows of a message.
type DisplayStyle int

const (
	// DisplaySummary shows "You have a new message" (the default).
	DisplaySummary DisplayStyle = 0
	// DisplayContent shows the sender's push nickname (else username) as
	// the title and a preview of the message as the body.
	DisplayContent DisplayStyle = 1
)

// PushProfile is how this user appears in pushes and sees them.
type PushProfile struct {
	// Nickname is the name pushes of this user's messages show (with
	// DisplayContent) instead of the username; "" for none. It is not
	// the "nickname" attribute of SetAttributes.
	Nickname string
	// DisplayStyle is what this user's pushes show.
	DisplayStyle DisplayStyle
}

// SetPushNickname sets the name this user's messages show in other users'
// pushes (at most 100 characters; "" shows the username). It is the user's
// nickname on the server (PUT /{org}/{app}/users/{user}), not the
// "nickname" attribute of SetAttributes.
func (c *Client) SetPushNickname(ctx context.Context, nickname string) error {
	if !utf8.ValidString(nickname) || utf8.RuneCountInString(nickname) > maxNicknameChars {
		return fmt.Errorf("parley: a push nickname is valid UTF-8 of at most %d characters", maxNicknameChars)
	}
	return c.updateUser(ctx, map[string]any{"nickname": nickname})
}

// SetPushDisplayStyle sets what this user's pushes show: DisplaySummary or
// DisplayContent.
func (c *Client) SetPushDisplayStyle(ctx context.Context, style DisplayStyle) error {
	if style != DisplaySummary && style != DisplayContent {
		return fmt.Errorf("parley: unknown display style %d (DisplaySummary or DisplayContent)", style)
	}
	return c.updateUser(ctx, map[string]any{"notification_display_style": int(style)})
}

// PushProfile returns this user's push nickname and display style.
func (c *Client) PushProfile(ctx context.Context) (*PushProfile, error) {
	var env userEnvelope
	if err := c.rest(ctx, restCall{what: "user", method: http.MethodGet, path: c.userPath()}, &env); err != nil {
		return nil, err
	}
	return env.profile()
}

// updateUser changes fields of this user's entity (PUT /users/{user}).
func (c *Client) updateUser(ctx context.Context, fields map[string]any) error {
	return c.rest(ctx, restCall{what: "user update", method: http.MethodPut, path: c.userPath(), body: fields}, nil)
}

type userEnvelope struct {
	Entities []struct {
		Nickname     string `json:"nickname"`
		DisplayStyle *int   `json:"notification_display_style"`
	} `json:"entities"`
}

func (e userEnvelope) profile() (*PushProfile, error) {
	if len(e.Entities) == 0 {
		return nil, errors.New("parley: the server answered without the user")
	}
	u := e.Entities[0]
	p := &PushProfile{Nickname: u.Nickname}
	if u.DisplayStyle != nil && *u.DisplayStyle == int(DisplayContent) {
		p.DisplayStyle = DisplayContent
	}
	return p, nil
}

// SetBackground tells the server that the application went to the
// background (on) or came back to the foreground (off), and waits for its
// answer. While every device of the user is either disconnected or in the
// background, the user's messages are pushed to their bound devices
// (BindPushDevice), though this device stays connected and still receives
// them as events; a device in the foreground stops the pushes.
//
// The server forgets the state with each connection; the Client keeps it
// and tells every new connection, right after signing in and before it
// syncs. The Client keeps the state from the moment SetBackground is
// called, even if the call then fails (its context ends while the Client
// is reconnecting): the next connection starts with it. Concurrent calls
// send one at a time, each the state the Client keeps when it sends, so
// the server ends with the state of the last call.
// Config.Background starts a Client in the background.
func (c *Client) SetBackground(ctx context.Context, on bool) error {
	c.mu.Lock()
	c.background = on
	c.mu.Unlock()
	select {
	case c.bgTurn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.Err()
	}
	defer func() { <-c.bgTurn }()
	// Send until the server has the state the Client keeps: a call that
	// changed it meanwhile may have given up waiting for its turn.
	for {
		c.mu.Lock()
		state := c.background
		c.mu.Unlock()
		if _, err := c.call(ctx, protocol.Request{T: protocol.FrameBackground, On: &state}, true); err != nil {
			return err
		}
		c.mu.Lock()
		same := c.background == state
		c.mu.Unlock()
		if same {
			return nil
		}
	}
}

// restoreBackground tells a new connection, right after auth, that the
// application is in the background, when it is (a new session starts in
// the foreground). A refusal is logged: it leaves the session in the
// foreground, which costs pushes, not messages.
func (c *Client) restoreBackground(ctx context.Context, cn *conn) error {
	c.mu.Lock()
	on := c.background
	c.mu.Unlock()
	if !on {
		return nil
	}
	_, err := cn.request(ctx, &protocol.Request{T: protocol.FrameBackground, On: &on})
	var e *Error
	if errors.As(err, &e) {
		c.log.Warn("the server refused the background state", "err", err)
		return nil
	}
	return err
}
