package push

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// leaseFor is how long a claimed job is this node's; a node that dies
// leaves its jobs to others after it.
const leaseFor = time.Minute

// Run processes due jobs until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.poke:
		}
		for {
			now := s.now()
			jobs, err := s.st.Push().Claim(ctx, s.Node, now.UnixMilli(), now.Add(leaseFor).UnixMilli(), s.cfg.Workers*4)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("claim push jobs", "err", err)
				}
				break
			}
			for _, j := range jobs {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					s.process(ctx, j)
				}()
			}
			if len(jobs) < s.cfg.Workers*4 {
				break
			}
		}
	}
}

// devicePush is a retry job's payload: one notification for one device.
type devicePush struct {
	Notifier     string                `json:"notifier"`
	Token        string                `json:"token"`
	Notification provider.Notification `json:"notification"`
}

func (s *Service) process(ctx context.Context, j store.PushJob) {
	var err error
	switch j.Kind {
	case jobDevice:
		var d devicePush
		if json.Unmarshal(j.Payload, &d) != nil {
			err = s.st.Push().Done(ctx, j.ID)
			break
		}
		out, after := s.sendOne(ctx, j.AppID, j.UserID, j.DeviceID, d.Notifier, d.Token, d.Notification)
		if out == retry && j.Attempts < s.cfg.MaxAttempts {
			err = s.st.Push().Retry(ctx, j.ID, s.now().Add(backoff(j.Attempts, after)).UnixMilli())
			break
		}
		if out == retry {
			s.count("all", "gave_up")
		}
		err = s.st.Push().Done(ctx, j.ID)
	default:
		if err = s.pushItem(ctx, j); err == nil {
			err = s.st.Push().Done(ctx, j.ID)
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("push job", "job", j.ID, "err", err)
		s.st.Push().Retry(context.WithoutCancel(ctx), j.ID, s.now().Add(backoff(j.Attempts, 0)).UnixMilli())
	}
}

// backoff is the wait before attempt n+1: 1 s doubling, up to an hour, or
// the service's Retry-After if longer.
func backoff(attempts int, after time.Duration) time.Duration {
	d := time.Second << min(attempts, 12)
	d = min(d, time.Hour)
	return max(d, after)
}

// pushItem pushes a message to its recipients that are offline.
func (s *Service) pushItem(ctx context.Context, j store.PushJob) error {
	it, err := s.st.Messages().Item(ctx, j.AppID, j.ItemID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if it.Recalled || it.Kind != store.ItemMsg || it.Type == protocol.MsgCmd {
		return nil
	}
	ext := parseExt(it.Ext)
	if ext.Ignore {
		s.count("all", "ignored")
		return nil
	}
	var recipients []int64
	group := int64(0)
	if j.Kind == jobGroup {
		group = j.UserID
		if s.Members == nil {
			return nil
		}
		members, shielded := s.Members(j.AppID, group)
		for u := range members {
			if u != it.From && !shielded[u] {
				recipients = append(recipients, u)
			}
		}
	} else {
		recipients = []int64{it.To}
	}
	sender, err := s.st.Users().GetByID(ctx, j.AppID, it.From)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, u := range recipients {
		if s.Online != nil && s.Online(j.AppID, u) {
			continue
		}
		if err := s.pushTo(ctx, j, it, ext, sender, u, group); err != nil {
			return err
		}
	}
	return nil
}

// ext is what a message's ext says about its push.
type extControls struct {
	Ignore, Force bool
	Title, Body   string
	Custom        json.RawMessage
	APNs          json.RawMessage
	Collapse      string
	Mentions      []string
	MentionAll    bool
	Template      string
	TitleArgs     []string
	ContentArgs   []string
}

func parseExt(raw []byte) extControls {
	var e struct {
		Ignore   bool            `json:"em_ignore_notification"`
		Force    bool            `json:"em_force_notification"`
		PushExt  json.RawMessage `json:"em_push_ext"`
		APNs     json.RawMessage `json:"em_apns_ext"`
		Collapse string          `json:"em_push_collapse_key"`
		AtList   json.RawMessage `json:"em_at_list"`
		Template json.RawMessage `json:"em_push_template"`
	}
	var out extControls
	if len(raw) == 0 || json.Unmarshal(raw, &e) != nil {
		return out
	}
	out.Ignore, out.Force, out.APNs, out.Collapse = e.Ignore, e.Force, e.APNs, e.Collapse
	var pe struct {
		Title   string          `json:"title"`
		Content string          `json:"content"`
		Custom  json.RawMessage `json:"custom"`
	}
	if json.Unmarshal(e.PushExt, &pe) == nil {
		out.Title, out.Body, out.Custom = pe.Title, pe.Content, pe.Custom
	}
	var one string
	if json.Unmarshal(e.AtList, &one) == nil {
		out.MentionAll = strings.EqualFold(one, "all")
	} else {
		var list []string
		json.Unmarshal(e.AtList, &list)
		for _, n := range list {
			if strings.EqualFold(n, "all") {
				out.MentionAll = true
			} else {
				out.Mentions = append(out.Mentions, strings.ToLower(n))
			}
		}
	}
	var tp struct {
		Name        string   `json:"name"`
		TitleArgs   []string `json:"title_args"`
		ContentArgs []string `json:"content_args"`
	}
	if json.Unmarshal(e.Template, &tp) == nil {
		out.Template, out.TitleArgs, out.ContentArgs = tp.Name, tp.TitleArgs, tp.ContentArgs
	}
	return out
}

// pushTo applies a recipient's rules and sends to each of their devices.
func (s *Service) pushTo(ctx context.Context, j store.PushJob, it *store.Item, ext extControls, sender *store.User, userID, group int64) error {
	bindings, err := s.st.Push().Bindings(ctx, userID)
	if err != nil || len(bindings) == 0 {
		return err
	}
	user, err := s.st.Users().GetByID(ctx, j.AppID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	settings, err := s.st.Push().Settings(ctx, userID)
	if err != nil {
		return err
	}
	mentioned := ext.MentionAll
	for _, m := range ext.Mentions {
		mentioned = mentioned || m == user.Username
	}
	scope := "chat:" + strconv.FormatInt(it.From, 10)
	if group != 0 {
		scope = "group:" + strconv.FormatInt(group, 10)
	}
	if reason := s.suppressed(settings, scope, user, group != 0, mentioned, ext.Force); reason != "" {
		s.count("all", reason)
		return nil
	}
	n, err := s.notification(ctx, j.AppID, it, ext, sender, user, group)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		n := n
		n.Token = b.Token
		if out, after := s.sendOne(ctx, j.AppID, userID, b.DeviceID, b.Notifier, b.Token, n); out == retry {
			// Try this device again later, on its own: the others have it.
			payload, _ := json.Marshal(devicePush{Notifier: b.Notifier, Token: b.Token, Notification: n})
			if err := s.st.Push().AddJob(context.WithoutCancel(ctx), &store.PushJob{ID: s.ids(), AppID: j.AppID, Kind: jobDevice,
				UserID: userID, DeviceID: b.DeviceID, Payload: payload, NextAt: s.now().Add(backoff(0, after)).UnixMilli(),
				Created: s.now().UnixMilli()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// suppressed says why a push is not sent ("" to send): the mode of the
// conversation (or the user's default), a mute until a time, quiet hours.
func (s *Service) suppressed(set map[string]store.PushSetting, scope string, user *store.User, isGroup, mentioned, force bool) string {
	app, conv := set["app"], set[scope]
	mode := conv.Mode
	if mode == "" || mode == ModeDefault {
		mode = app.Mode
	}
	if mode == "" || mode == ModeDefault {
		mode = ModeAll
	}
	switch {
	case mode == ModeNone:
		return "mode_none"
	case mode == ModeAt && !mentioned:
		return "mode_at"
	}
	if force {
		return ""
	}
	now := s.now()
	if conv.IgnoreUntil > now.UnixMilli() || app.IgnoreUntil > now.UnixMilli() {
		return "ignored_until"
	}
	for _, iv := range []string{conv.IgnoreInterval, app.IgnoreInterval} {
		if inInterval(iv, now) {
			return "quiet_hours"
		}
	}
	if user.NoDisturbing && user.NoDisturbingStart >= 0 && user.NoDisturbingEnd >= 0 &&
		inInterval(strconv.Itoa(user.NoDisturbingStart)+":0-"+strconv.Itoa(user.NoDisturbingEnd)+":0", now) {
		return "quiet_hours"
	}
	_ = isGroup
	return ""
}

// inInterval reports whether t (UTC) falls in "H:M-H:M", which may wrap
// past midnight. An empty or malformed interval is never in force.
func inInterval(iv string, t time.Time) bool {
	from, to, ok := ParseInterval(iv)
	if !ok {
		return false
	}
	m := t.UTC().Hour()*60 + t.UTC().Minute()
	if from <= to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// ParseInterval reads "H:M-H:M" into minutes of the day.
func ParseInterval(iv string) (from, to int, ok bool) {
	a, b, found := strings.Cut(iv, "-")
	if !found {
		return 0, 0, false
	}
	parse := func(v string) (int, bool) {
		h, m, found := strings.Cut(strings.TrimSpace(v), ":")
		hh, err1 := strconv.Atoi(h)
		mm := 0
		var err2 error
		if found {
			mm, err2 = strconv.Atoi(m)
		}
		if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
			return 0, false
		}
		return (hh*60 + mm) % (24 * 60), true
	}
	from, ok1 := parse(a)
	to, ok2 := parse(b)
	return from, to, ok1 && ok2 && from != to
}

// preview is the content shown for a message type.
func preview(it *store.Item) string {
	switch it.Type {
	case protocol.MsgText:
		var b struct {
			Msg string `json:"msg"`
		}
		json.Unmarshal(it.Body, &b)
		if utf8.RuneCountInString(b.Msg) > 100 {
			return string([]rune(b.Msg)[:100]) + "…"
		}
		return b.Msg
	case protocol.MsgImage:
		return "[Image]"
	case protocol.MsgAudio:
		return "[Voice]"
	case protocol.MsgVideo:
		return "[Video]"
	case protocol.MsgFile:
		return "[File]"
	case protocol.MsgLoc:
		return "[Location]"
	}
	return "[Message]"
}

// GenericBody is what a push says in the generic display style.
const GenericBody = "You have a new message"

// notification builds what a recipient's devices show.
func (s *Service) notification(ctx context.Context, appID int64, it *store.Item, ext extControls, sender, user *store.User, group int64) (provider.Notification, error) {
	from := "admin"
	if sender != nil {
		from = sender.Username
		if sender.Nickname != "" {
			from = sender.Nickname
		}
	}
	content := preview(it)
	n := provider.Notification{Badge: s.badge(ctx, appID, user.ID), CollapseKey: ext.Collapse, APNs: ext.APNs,
		Data: map[string]string{"msg_id": strconv.FormatInt(it.ID, 10), "conv_id": strconv.FormatInt(it.ConvID, 10),
			"sender": from, "chat_type": protocol.ChatTypeChat}}
	if group != 0 {
		n.Data["chat_type"], n.Data["group"] = protocol.ChatTypeGroup, strconv.FormatInt(group, 10)
	}
	if user.NotificationDisplayStyle == 1 {
		n.Title, n.Body = from, content
	} else {
		n.Body = GenericBody
	}
	// A template (the message's, else the user's) formats title and body.
	name, titleArgs, contentArgs := ext.Template, ext.TitleArgs, ext.ContentArgs
	if name == "" {
		if p, err := s.st.Push().Prefs(ctx, user.ID); err == nil {
			name = p.Template
		}
	}
	if name != "" {
		if t, err := s.st.Push().Template(ctx, appID, name); err == nil {
			if titleArgs == nil {
				titleArgs = []string{from, content}
			}
			if contentArgs == nil {
				contentArgs = []string{from, content}
			}
			n.Title, n.Body = fill(t.TitlePattern, titleArgs), fill(t.ContentPattern, contentArgs)
		}
	}
	if ext.Title != "" {
		n.Title = ext.Title
	}
	if ext.Body != "" {
		n.Body = ext.Body
	}
	if len(ext.Custom) > 0 {
		n.Data["custom"] = string(ext.Custom)
	}
	return n, nil
}

// fill replaces {0}, {1} ... with args.
func fill(pattern string, args []string) string {
	for i, a := range args {
		pattern = strings.ReplaceAll(pattern, "{"+strconv.Itoa(i)+"}", a)
	}
	return pattern
}

// badge is the user's unread total over their most recent conversations.
func (s *Service) badge(ctx context.Context, appID, userID int64) int {
	views, err := s.st.Conversations().List(ctx, appID, userID, 0, 100)
	if err != nil {
		return -1
	}
	total := 0
	for _, v := range views {
		total += int(v.Unread)
	}
	return min(total, store.MaxUnread)
}

// outcome of one send.
type outcome int

// credentialsRetry is how long a job waits after the provider refused the
// notifier's credentials.
const credentialsRetry = 5 * time.Minute

const (
	sent outcome = iota
	dropped
	retry
	failed
)

// sendOne sends to one device and says how it went; a dead token's binding
// is dropped.
func (s *Service) sendOne(ctx context.Context, appID, userID int64, deviceID, notifier, token string, n provider.Notification) (outcome, time.Duration) {
	p, kind, err := s.provider(ctx, appID, notifier)
	if err != nil {
		s.count("unknown", "no_notifier")
		s.log.Warn("push: notifier", "notifier", notifier, "err", err)
		return failed, 0
	}
	slot := s.slot(string(ad(appID, notifier)))
	slot <- struct{}{}
	err = p.Send(ctx, n)
	<-slot
	var re *provider.RetryError
	switch {
	case err == nil:
		s.count(kind, "sent")
		return sent, 0
	case errors.Is(err, provider.ErrInvalidToken):
		s.count(kind, "invalid_token")
		s.st.Push().DropBinding(context.WithoutCancel(ctx), userID, deviceID, token)
		return dropped, 0
	case errors.As(err, &re):
		s.count(kind, "retry")
		return retry, re.After
	case errors.Is(err, provider.ErrCredentialsRejected):
		// The service refused our own credentials: the device is fine, the
		// notifier is not. Retry later (the admin may fix the notifier)
		// instead of failing the job or dropping the binding.
		s.count(kind, "credentials_rejected")
		s.log.Error("push: the provider rejects the notifier's credentials; fix them with PUT /{org}/{app}/push/notifiers/{name}",
			"notifier", notifier, "app", appID)
		return retry, credentialsRetry
	}
	s.count(kind, "failed")
	s.log.Warn("push failed", "notifier", notifier, "err", err)
	return failed, 0
}

func (s *Service) count(kind, outcome string) {
	if s.metrics != nil {
		s.metrics.PushOutcomes.WithLabelValues(kind, outcome).Inc()
	}
}
