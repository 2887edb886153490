package parley_test

import (
	"bufio"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider/providertest"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// The push tests run the SDK against the real server, whose notifier is a
// local fake of FCM: one server and one fake per backend (the server's
// push HTTP client points at the fake), one app per test.
func TestE2EPush(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T, *pushServer)
	}{
		{"Offline", testPushOffline},
		{"Background", testPushBackground},
		{"Modes", testPushModes},
		{"Unbind", testPushUnbind},
		{"Preferences", testPushPreferences},
		{"Refusals", testPushRefusals},
	}
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := servertest.StartBackend(t, backend)
			fcm := providertest.NewFCM(t)
			s.Push.HTTPClient = fcm.Client()
			ps := &pushServer{s: s, fcm: fcm}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.fn(t, ps) })
			}
		})
	}
}

type pushServer struct {
	s   *servertest.Server
	fcm *providertest.FCM
}

// pushApp is an app whose notifier "fcm" is the fake.
type pushApp struct {
	*app
	fcm *providertest.FCM
}

func (ps *pushServer) app(t *testing.T, users ...string) *pushApp {
	t.Helper()
	a := &pushApp{app: newApp(t, ps.s, tenant.Settings{}, users...), fcm: ps.fcm}
	a.rest(t, "PUT", "/push/notifiers/fcm", ps.fcm.Credentials())
	return a
}

// token is a device token unique to the app (the fake is shared).
func (a *pushApp) token(device string) string { return "tok-" + a.name + "-" + device }

// pushes returns the pushes the fake accepted for a device token, in the
// order they came.
func (a *pushApp) pushes(token string) []providertest.FCMMessage {
	var out []providertest.FCMMessage
	for _, m := range a.fcm.Messages() {
		if m.Token == token {
			out = append(out, m)
		}
	}
	return out
}

// waitPushes waits until a device token got the pushes of the messages
// msgIDs, then gives a stray push 300 ms to show up, and fails unless the
// token got exactly those (in any order: the worker runs jobs in
// parallel). It returns the pushes by message ID.
func (a *pushApp) waitPushes(t *testing.T, token string, msgIDs ...string) map[string]providertest.FCMMessage {
	t.Helper()
	ids := func() []string {
		var out []string
		for _, m := range a.pushes(token) {
			out = append(out, m.Data["msg_id"])
		}
		slices.Sort(out)
		return out
	}
	want := slices.Sorted(slices.Values(msgIDs))
	deadline := time.Now().Add(10 * time.Second)
	for len(ids()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if got := ids(); !slices.Equal(got, want) {
		t.Fatalf("pushes to %s are of messages %v, want %v", token, got, want)
	}
	out := map[string]providertest.FCMMessage{}
	for _, m := range a.pushes(token) {
		out[m.Data["msg_id"]] = m
	}
	return out
}

// outcomes returns the server's count of pushes not sent for a reason
// (parley_push_total{outcome=reason,provider="all"}).
func (a *pushApp) outcomes(t *testing.T, reason string) int {
	t.Helper()
	r := a.s.Do(t, "GET", "/metrics", "", nil)
	want := `parley_push_total{outcome="` + reason + `",provider="all"} `
	sc := bufio.NewScanner(strings.NewReader(string(r.Raw)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}

// waitOutcome waits until the server counted n pushes not sent for reason.
func (a *pushApp) waitOutcome(t *testing.T, reason string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.outcomes(t, reason) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server counted %d pushes suppressed for %s, want %d", a.outcomes(t, reason), reason, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sendText(t *testing.T, c *parley.Client, to, text string) string {
	t.Helper()
	ack, err := c.SendText(ctxT(t), to, text)
	if err != nil {
		t.Fatalf("%s sends %q: %v", c.User(), text, err)
	}
	return ack.MsgID
}

func bindDevice(t *testing.T, c *parley.Client, token string) []parley.PushBinding {
	t.Helper()
	list, err := c.BindPushDevice(ctxT(t), "fcm", token)
	if err != nil {
		t.Fatalf("%s binds %s: %v", c.User(), token, err)
	}
	return list
}

// An offline user with a bound device gets one push per message, with the
// body their display style asks for and the sender's push nickname; the
// settings are made while offline (they are REST calls).
func testPushOffline(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob")
	ctx := ctxT(t)
	tok := a.token("bob-phone")
	bob, bl := a.dial(t, "bob", "phone")
	list := bindDevice(t, bob, tok)
	if len(list) != 1 || list[0].DeviceID != "phone" || list[0].Notifier != "fcm" || list[0].Token != tok || list[0].Updated == 0 {
		t.Fatalf("bindings after BindPushDevice: %+v", list)
	}
	if again, err := bob.PushBindings(ctx); err != nil || !slices.Equal(again, list) {
		t.Fatalf("PushBindings: %+v, %v; want %+v", again, err, list)
	}
	bl.WaitFor(t, "bob's sync", parley.HasConnState(parley.Resynced, 1))
	goOffline(t, bob, bl)

	alice, _ := a.dial(t, "alice", "laptop")
	first := sendText(t, alice, "bob", "hello bob")
	m := a.waitPushes(t, tok, first)[first]
	if m.Notification == nil || m.Notification.Body != "You have a new message" || m.Notification.Title != "" ||
		m.Data["sender"] != "alice" || m.Data["chat_type"] != protocol.ChatTypeChat {
		t.Fatalf("push with the default display style: %s", m.Raw)
	}

	if err := bob.SetPushDisplayStyle(ctx, parley.DisplayContent); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetPushNickname(ctx, "Alice A."); err != nil {
		t.Fatal(err)
	}
	if p, err := bob.PushProfile(ctx); err != nil || *p != (parley.PushProfile{DisplayStyle: parley.DisplayContent}) {
		t.Fatalf("bob's push profile: %+v, %v", p, err)
	}
	if p, err := alice.PushProfile(ctx); err != nil || *p != (parley.PushProfile{Nickname: "Alice A."}) {
		t.Fatalf("alice's push profile: %+v, %v", p, err)
	}
	second := sendText(t, alice, "bob", "are you there?")
	m = a.waitPushes(t, tok, first, second)[second]
	if m.Notification == nil || m.Notification.Title != "Alice A." || m.Notification.Body != "are you there?" ||
		m.Data["sender"] != "Alice A." {
		t.Fatalf("push with DisplayContent: %s", m.Raw)
	}
	// Clearing the nickname shows the username again.
	if err := alice.SetPushNickname(ctx, ""); err != nil {
		t.Fatal(err)
	}
	third := sendText(t, alice, "bob", "still there?")
	if m = a.waitPushes(t, tok, first, second, third)[third]; m.Notification.Title != "alice" {
		t.Fatalf("push without a nickname: %s", m.Raw)
	}
}

// A connected device stops the pushes; SetBackground(true) lets them
// through while the device still gets the messages, also after a
// reconnect (the Client tells the new session); SetBackground(false) stops
// them again.
func testPushBackground(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob")
	ctx := ctxT(t)
	tok := a.token("bob-phone")
	bob, bl := a.dial(t, "bob", "phone")
	bindDevice(t, bob, tok)
	bl.WaitFor(t, "bob's sync", parley.HasConnState(parley.Resynced, 1))
	alice, _ := a.dial(t, "alice", "laptop")

	connected := sendText(t, alice, "bob", "while connected")
	if err := bob.SetBackground(ctx, true); err != nil {
		t.Fatal(err)
	}
	background := sendText(t, alice, "bob", "in the background")
	a.waitPushes(t, tok, background) // and none of the first
	bl.WaitFor(t, "bob's messages", parley.HasMessages(2))

	reconnect(t, bob, bl)
	reconnected := sendText(t, alice, "bob", "after a reconnect")
	a.waitPushes(t, tok, background, reconnected)

	if err := bob.SetBackground(ctx, false); err != nil {
		t.Fatal(err)
	}
	foreground := sendText(t, alice, "bob", "foreground again")
	if err := bob.SetBackground(ctx, true); err != nil {
		t.Fatal(err)
	}
	again := sendText(t, alice, "bob", "background again")
	a.waitPushes(t, tok, background, reconnected, again)

	// A second device in the foreground stops the pushes too.
	_, tl := a.dial(t, "bob", "tablet")
	tl.WaitFor(t, "the tablet's sync", parley.HasConnState(parley.Resynced, 1))
	tablet := sendText(t, alice, "bob", "the tablet is in the foreground")
	bl.WaitFor(t, "bob's messages", parley.HasMessages(6))
	a.waitPushes(t, tok, background, reconnected, again)

	got := map[string]bool{}
	for _, m := range parley.Messages(bl.Events()) {
		got[m.MsgID] = true
	}
	for _, id := range []string{connected, background, reconnected, foreground, again, tablet} {
		if !got[id] {
			t.Fatalf("bob's phone missed message %s: %v", id, got)
		}
	}
}

// Notification modes per peer, per group and by default, quiet hours and
// silences decide which messages push.
func testPushModes(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob", "carol")
	ctx := ctxT(t)
	tok := a.token("bob-phone")
	bob, bl := a.dial(t, "bob", "phone")
	bindDevice(t, bob, tok)
	alice, _ := a.dial(t, "alice", "laptop")
	carol, _ := a.dial(t, "carol", "laptop")
	g, err := bob.CreateGroup(ctx, protocol.GroupSettings{Name: new("hikers")}, "alice", "carol")
	if err != nil {
		t.Fatal(err)
	}

	// NONE for alice: her messages do not push, carol's do.
	set, err := bob.SetPeerNotification(ctx, "alice", parley.NotificationChange{Mode: parley.NotifyNone})
	if err != nil || set.Mode != parley.NotifyNone || set.QuietHours != nil || set.Silence != 0 {
		t.Fatalf("SetPeerNotification: %+v, %v", set, err)
	}
	if got, err := bob.PeerNotification(ctx, "ALICE"); err != nil || got.Mode != parley.NotifyNone {
		t.Fatalf("PeerNotification(alice): %+v, %v", got, err)
	}
	if got, err := bob.PeerNotification(ctx, "carol"); err != nil || got.Mode != parley.NotifyDefault {
		t.Fatalf("PeerNotification(carol): %+v, %v", got, err)
	}
	bl.WaitFor(t, "bob's sync", parley.HasConnState(parley.Resynced, 1))
	back := goOffline(t, bob, bl)
	none := a.outcomes(t, "mode_none")
	sendText(t, alice, "bob", "muted")
	a.waitOutcome(t, "mode_none", none+1)
	fromCarol := sendText(t, carol, "bob", "from carol")
	want := []string{fromCarol}
	a.waitPushes(t, tok, want...)
	if _, err := bob.SetPeerNotification(ctx, "alice", parley.NotificationChange{Mode: parley.NotifyDefault}); err != nil {
		t.Fatal(err)
	}
	want = append(want, sendText(t, alice, "bob", "unmuted"))
	a.waitPushes(t, tok, want...)

	// Mentions only in the group.
	set, err = bob.SetGroupNotification(ctx, g.ID, parley.NotificationChange{Mode: parley.NotifyMentions})
	if err != nil || set.Mode != parley.NotifyMentions {
		t.Fatalf("SetGroupNotification: %+v, %v", set, err)
	}
	if got, err := bob.GroupNotification(ctx, g.ID); err != nil || got.Mode != parley.NotifyMentions {
		t.Fatalf("GroupNotification: %+v, %v", got, err)
	}
	at := a.outcomes(t, "mode_at")
	if _, err := alice.SendGroupText(ctx, g.ID, "hello all"); err != nil {
		t.Fatal(err)
	}
	a.waitOutcome(t, "mode_at", at+1) // carol has no device bound: no outcome for her
	ack, err := alice.Send(ctx, parley.OutgoingMessage{To: g.ID, ChatType: protocol.ChatTypeGroup,
		Body: parley.TextBody{Msg: "@bob look"}, Mentions: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, ack.MsgID)
	if m := a.waitPushes(t, tok, want...)[ack.MsgID]; m.Data["chat_type"] != protocol.ChatTypeGroup || m.Data["group"] != g.ID {
		t.Fatalf("group push: %s", m.Raw)
	}

	// The default: silenced for an hour, then quiet hours from now on.
	set, err = bob.SetDefaultNotification(ctx, parley.NotificationChange{Silence: new(time.Hour)})
	if err != nil || set.Mode != parley.NotifyDefault || set.Silence <= 59*time.Minute || set.Silence > time.Hour {
		t.Fatalf("SetDefaultNotification(silence): %+v, %v", set, err)
	}
	silenced := a.outcomes(t, "ignored_until")
	sendText(t, carol, "bob", "silenced")
	a.waitOutcome(t, "ignored_until", silenced+1)

	now := time.Now().UTC().Truncate(time.Minute)
	start := time.Duration(now.Hour())*time.Hour + time.Duration(now.Minute())*time.Minute
	quiet := parley.QuietHours{Start: start, End: (start + 2*time.Hour) % (24 * time.Hour)}
	set, err = bob.SetDefaultNotification(ctx, parley.NotificationChange{Silence: new(time.Duration(0)), QuietHours: &quiet})
	if err != nil || set.Silence != 0 || set.QuietHours == nil || *set.QuietHours != quiet {
		t.Fatalf("SetDefaultNotification(quiet hours): %+v, %v", set, err)
	}
	if got, err := bob.DefaultNotification(ctx); err != nil || got.QuietHours == nil || *got.QuietHours != quiet || got.Silence != 0 {
		t.Fatalf("DefaultNotification: %+v, %v", got, err)
	}
	hushed := a.outcomes(t, "quiet_hours")
	sendText(t, carol, "bob", "quiet hours")
	a.waitOutcome(t, "quiet_hours", hushed+1)

	if set, err = bob.SetDefaultNotification(ctx, parley.NotificationChange{QuietHours: &parley.QuietHours{}}); err != nil || set.QuietHours != nil {
		t.Fatalf("SetDefaultNotification(no quiet hours): %+v, %v", set, err)
	}
	want = append(want, sendText(t, carol, "bob", "loud again"))
	a.waitPushes(t, tok, want...)
	back()
}

// Pushes go to every bound device; an unbound device gets none.
func testPushUnbind(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob", "carol")
	ctx := ctxT(t)
	phone, tablet, carolTok := a.token("bob-phone"), a.token("bob-tablet"), a.token("carol")
	bob, bl := a.dial(t, "bob", "phone")
	bindDevice(t, bob, phone)
	list, err := bob.SetPushBinding(ctx, parley.PushBinding{DeviceID: "tablet", Notifier: "fcm", Token: tablet})
	if err != nil || len(list) != 2 || list[0].DeviceID != "phone" || list[1].DeviceID != "tablet" || list[1].Token != tablet {
		t.Fatalf("bindings: %+v, %v", list, err)
	}
	carol, _ := a.dial(t, "carol", "laptop")
	bindDevice(t, carol, carolTok)
	carol.Close()
	bl.WaitFor(t, "bob's sync", parley.HasConnState(parley.Resynced, 1))
	goOffline(t, bob, bl)
	alice, _ := a.dial(t, "alice", "laptop")

	both := sendText(t, alice, "bob", "to both devices")
	a.waitPushes(t, phone, both)
	a.waitPushes(t, tablet, both)

	if list, err = bob.UnbindPushDevice(ctx); err != nil || len(list) != 1 || list[0].DeviceID != "tablet" {
		t.Fatalf("UnbindPushDevice: %+v, %v", list, err)
	}
	tabletOnly := sendText(t, alice, "bob", "to the tablet")
	a.waitPushes(t, tablet, both, tabletOnly)
	a.waitPushes(t, phone, both)

	if list, err = bob.SetPushBinding(ctx, parley.PushBinding{DeviceID: "tablet"}); err != nil || len(list) != 0 {
		t.Fatalf("unbinding the tablet: %+v, %v", list, err)
	}
	if list, err = bob.PushBindings(ctx); err != nil || len(list) != 0 {
		t.Fatalf("PushBindings: %+v, %v", list, err)
	}
	if _, err := bob.UnbindPushDevice(ctx); err != nil { // harmless
		t.Fatal(err)
	}
	sendText(t, alice, "bob", "to nobody")
	marker := sendText(t, alice, "carol", "to carol")
	a.waitPushes(t, carolTok, marker)
	a.waitPushes(t, tablet, both, tabletOnly)
	a.waitPushes(t, phone, both)
}

// The push language and template are the user's; the template formats
// their pushes.
func testPushPreferences(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob")
	ctx := ctxT(t)
	tok := a.token("bob-phone")
	bob, bl := a.dial(t, "bob", "phone")
	bindDevice(t, bob, tok)
	if p, err := bob.PushPreferences(ctx); err != nil || *p != (parley.PushPreferences{}) {
		t.Fatalf("PushPreferences: %+v, %v", p, err)
	}
	if err := bob.SetPushLanguage(ctx, "de"); err != nil {
		t.Fatal(err)
	}
	err := bob.SetPushTemplate(ctx, "greeting")
	if !parley.IsCode(err, protocol.ErrNotFound) {
		t.Fatalf("SetPushTemplate of a template that does not exist: %v", err)
	}
	a.rest(t, "POST", "/notification/template", map[string]string{"name": "greeting", "title_pattern": "Neu von {0}",
		"content_pattern": "{0}: {1}"})
	if err := bob.SetPushTemplate(ctx, "greeting"); err != nil {
		t.Fatal(err)
	}
	if p, err := bob.PushPreferences(ctx); err != nil || *p != (parley.PushPreferences{Language: "de", Template: "greeting"}) {
		t.Fatalf("PushPreferences: %+v, %v", p, err)
	}
	bl.WaitFor(t, "bob's sync", parley.HasConnState(parley.Resynced, 1))
	goOffline(t, bob, bl)
	alice, _ := a.dial(t, "alice", "laptop")
	id := sendText(t, alice, "bob", "Hallo")
	if m := a.waitPushes(t, tok, id)[id]; m.Notification.Title != "Neu von alice" || m.Notification.Body != "alice: Hallo" {
		t.Fatalf("push with the template: %s", m.Raw)
	}
	if err := bob.SetPushTemplate(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := bob.SetPushLanguage(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if p, err := bob.PushPreferences(ctx); err != nil || *p != (parley.PushPreferences{}) {
		t.Fatalf("PushPreferences after clearing: %+v, %v", p, err)
	}
}

// Server refusals arrive as *parley.Error with the registry's codes; a
// refused token is replaced.
func testPushRefusals(t *testing.T, ps *pushServer) {
	a := ps.app(t, "alice", "bob")
	ctx := ctxT(t)
	bob, _ := a.dial(t, "bob", "phone")
	tests := []struct {
		name string
		call func() error
		want protocol.ErrorKind
	}{
		{"bind to an unknown notifier", func() error { _, err := bob.BindPushDevice(ctx, "apns", "tok"); return err },
			protocol.ErrIllegalArgument},
		{"a peer that does not exist", func() error {
			_, err := bob.SetPeerNotification(ctx, "ghost", parley.NotificationChange{Mode: parley.NotifyNone})
			return err
		}, protocol.ErrUserNotFound},
		{"read a peer that does not exist", func() error { _, err := bob.PeerNotification(ctx, "ghost"); return err },
			protocol.ErrUserNotFound},
		{"a group ID that is not one", func() error { _, err := bob.GroupNotification(ctx, "hikers"); return err },
			protocol.ErrGroupNotFound},
	}
	for _, tt := range tests {
		if err := tt.call(); !parley.IsCode(err, tt.want) {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want.ID)
		}
	}

	parley.SetToken(bob, "not-a-token")
	if list, err := bob.BindPushDevice(ctx, "fcm", a.token("bob")); err != nil || len(list) != 1 {
		t.Fatalf("BindPushDevice with a refused token: %+v, %v", list, err)
	}
	if parley.Token(bob) == "not-a-token" {
		t.Fatal("the refused token was kept")
	}
	bob.Close()
	if _, err := bob.PushBindings(ctx); err != parley.ErrClosed {
		t.Fatalf("PushBindings after Close: %v", err)
	}
	if err := bob.SetBackground(ctx, true); err != parley.ErrClosed {
		t.Fatalf("SetBackground after Close: %v", err)
	}
}
