// Package moderation is content moderation: per-app keyword lists whose
// words reject a message, mask the word with '*', or let it through and
// record it for review; user reports of messages; and the list of
// reported and flagged messages for admins. Messages are checked through a
// messaging.SendFilter (txt msg; custom customEvent and customExts values),
// nicknames through users.Service.CheckNickname.
//
// Each node keeps a compiled Aho-Corasick automaton per app, built from the
// store on first use, dropped when the list changes (on this node at once,
// on the others through the bus.Invalidator) and, because invalidation is
// at most once, rebuilt in the background once it is CacheTTL old.
package moderation

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Limits (documented in docs/rest.md).
const (
	MaxWordChars   = 64
	MaxWordsPerApp = 100_000
	MaxBatch       = 1000
	MaxPage        = 1000
	DefaultPage    = 100
	MaxReasonChars = 500
	// CacheTTL bounds how long a node may use a list that another node
	// changed, if the invalidation was lost.
	CacheTTL = time.Minute
)

const invKind = "moderation.words"

// Service is the moderation domain service. It implements
// messaging.SendFilter.
type Service struct {
	st  store.Store
	ids *idgen.Gen
	inv *bus.Invalidator
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	lists map[int64]*list
	gen   map[int64]uint64 // bumped on every invalidation of an app
	load  sync.Mutex       // one rebuild at a time
}

var _ messaging.SendFilter = (*Service)(nil)

// list is one app's compiled keyword list.
type list struct {
	ac         *Automaton
	actions    []string // per word of ac
	loaded     time.Time
	refreshing atomic.Bool // a background rebuild is running
}

// New builds the service and registers its invalidation handler on inv
// (nil: a single node).
func New(st store.Store, ids *idgen.Gen, inv *bus.Invalidator, log *slog.Logger) *Service {
	s := &Service{st: st, ids: ids, inv: inv, log: log, now: time.Now, lists: map[int64]*list{}, gen: map[int64]uint64{}}
	inv.On(invKind, func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			s.drop(id)
		}
	})
	return s
}

func (s *Service) drop(appID int64) {
	s.mu.Lock()
	delete(s.lists, appID)
	s.gen[appID]++
	s.mu.Unlock()
}

// changed drops the app's list here and on every other node.
func (s *Service) changed(appID int64) {
	s.drop(appID)
	s.inv.Publish(invKind, strconv.FormatInt(appID, 10))
}

// listFor returns the app's compiled list. A list dropped by an
// invalidation (or never built) is built on the caller's path; a list
// older than CacheTTL is still used while one background rebuild replaces
// it, so senders never wait for the periodic refresh.
func (s *Service) listFor(ctx context.Context, appID int64) (*list, error) {
	s.mu.Lock()
	l, ok := s.lists[appID]
	s.mu.Unlock()
	if ok {
		if s.now().Sub(l.loaded) >= CacheTTL && l.refreshing.CompareAndSwap(false, true) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if _, err := s.build(ctx, appID, true); err != nil {
					l.refreshing.Store(false) // the next message tries again
					s.log.Warn("refresh keyword list", "app", appID, "err", err)
				}
			}()
		}
		return l, nil
	}
	return s.build(ctx, appID, false)
}

// build loads and compiles the app's list and caches it, unless it was
// invalidated meanwhile. Builds run one at a time; a build finds the list
// another one just made (unless refresh is set: then the cached list is
// the stale one being replaced).
func (s *Service) build(ctx context.Context, appID int64, refresh bool) (*list, error) {
	s.load.Lock()
	defer s.load.Unlock()
	s.mu.Lock()
	l, ok := s.lists[appID]
	gen := s.gen[appID]
	s.mu.Unlock()
	if ok && !refresh {
		return l, nil // built while we waited
	}
	words, err := s.st.Moderation().Words(ctx, appID, "", "", 0)
	if err != nil {
		return nil, err
	}
	ws := make([]string, len(words))
	l = &list{actions: make([]string, len(words)), loaded: s.now()}
	for i, w := range words {
		ws[i], l.actions[i] = w.Word, w.Action
	}
	l.ac = Build(ws)
	s.mu.Lock()
	if s.gen[appID] == gen { // not invalidated while loading
		s.lists[appID] = l
	}
	s.mu.Unlock()
	return l, nil
}

// Verdict is the outcome of checking a text.
type Verdict struct {
	Rejected []string // reject words found
	Review   []string // review words found
	Masked   string   // the text with replace words masked
}

// check matches text against a list.
func (l *list) check(text string, v *Verdict) {
	var mask [][2]int
	l.ac.Find(text, func(m Match) bool {
		switch l.actions[m.Word] {
		case store.ActionReject:
			v.Rejected = appendOnce(v.Rejected, l.ac.Word(m.Word))
		case store.ActionReview:
			v.Review = appendOnce(v.Review, l.ac.Word(m.Word))
		case store.ActionReplace:
			mask = append(mask, [2]int{m.Start, m.End})
		}
		return true
	})
	v.Masked = maskRanges(text, mask)
}

func appendOnce(list []string, w string) []string {
	for _, x := range list {
		if x == w {
			return list
		}
	}
	return append(list, w)
}

// maskRanges replaces each rune inside the byte ranges with '*'.
func maskRanges(text string, ranges [][2]int) string {
	if len(ranges) == 0 {
		return text
	}
	// Mark the covered bytes (ranges may overlap), then rewrite.
	covered := make([]bool, len(text))
	for _, m := range ranges {
		for i := m[0]; i < m[1]; i++ {
			covered[i] = true
		}
	}
	var b strings.Builder
	b.Grow(len(text))
	for i, r := range text {
		if covered[i] {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Check matches one text against the app's list.
func (s *Service) Check(ctx context.Context, appID int64, text string) (*Verdict, error) {
	l, err := s.listFor(ctx, appID)
	if err != nil {
		return nil, err
	}
	v := &Verdict{}
	l.check(text, v)
	return v, nil
}

func rejected() error {
	return errs.New(protocol.ErrContentRejected, "the content contains a word the app does not allow")
}

// FilterSend implements messaging.SendFilter (sends and, as an edit
// filter, edits): txt messages' msg, and
// custom messages' customEvent and customExts values, are checked. A
// replace word in customEvent cannot be masked (an event name has a fixed
// character set), so it flags the message for review instead.
func (s *Service) FilterSend(ctx context.Context, m *messaging.Outgoing) error {
	if m.Type != "txt" && m.Type != "custom" {
		return nil
	}
	l, err := s.listFor(ctx, m.App.ID)
	if err != nil {
		return err
	}
	if l.ac.Len() == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(m.Body, &fields) != nil {
		return nil // validated already; nothing to check
	}
	v := &Verdict{}
	changed := false
	switch m.Type {
	case "txt":
		var text string
		if json.Unmarshal(fields["msg"], &text) != nil {
			return nil
		}
		l.check(text, v)
		if v.Masked != text {
			fields["msg"], _ = json.Marshal(v.Masked)
			changed = true
		}
	case "custom":
		var event string
		if json.Unmarshal(fields["customEvent"], &event) == nil && event != "" {
			ev := &Verdict{}
			l.check(event, ev)
			v.Rejected, v.Review = ev.Rejected, ev.Review
			if ev.Masked != event {
				v.Review = appendOnce(v.Review, "customEvent")
			}
		}
		var exts map[string]string
		if raw, ok := fields["customExts"]; ok && json.Unmarshal(raw, &exts) == nil && len(exts) > 0 {
			keys := make([]string, 0, len(exts))
			for k := range exts {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				l.check(exts[k], v)
				if v.Masked != exts[k] {
					exts[k] = v.Masked
					changed = true
				}
			}
			if changed {
				fields["customExts"], _ = json.Marshal(exts)
			}
		}
	}
	if len(v.Rejected) > 0 {
		return rejected()
	}
	if changed {
		m.Body, _ = json.Marshal(fields)
	}
	if len(v.Review) > 0 {
		msgID, _ := strconv.ParseInt(m.MsgID, 10, 64) // an edit's message; 0 for a send
		s.flag(ctx, &store.ModerationRecord{AppID: m.App.ID, MsgID: msgID, From: m.From, To: strings.Join(m.To, ","),
			ChatType: m.ChatType, MsgType: m.Type, Content: string(m.Body), Words: strings.Join(v.Review, ",")})
	}
	return nil
}

// flag records a review match. A failure is logged: the message goes on.
func (s *Service) flag(ctx context.Context, r *store.ModerationRecord) {
	r.ID, r.Kind, r.Created = s.ids.Next(), store.RecordFlag, s.now().UnixMilli()
	if err := s.st.Moderation().AddRecord(context.WithoutCancel(ctx), r); err != nil {
		s.log.Warn("record flagged content", "app", r.AppID, "err", err)
	}
}

// CheckNickname is the users.Service hook: a reject word refuses the
// nickname, replace words are masked, review words flag it.
func (s *Service) CheckNickname(ctx context.Context, app *tenant.App, username, nickname string) (string, error) {
	if nickname == "" {
		return nickname, nil
	}
	v, err := s.Check(ctx, app.ID, nickname)
	if err != nil {
		return "", err
	}
	if len(v.Rejected) > 0 {
		return "", rejected()
	}
	if len(v.Review) > 0 {
		s.flag(ctx, &store.ModerationRecord{AppID: app.ID, From: username, ChatType: "nickname", Content: nickname,
			Words: strings.Join(v.Review, ",")})
	}
	return v.Masked, nil
}

// Word is one keyword and its action.
type Word struct {
	Word    string `json:"word"`
	Action  string `json:"action"`
	Created int64  `json:"created,omitempty"`
}

func checkWord(w string) (string, error) {
	f := Fold(strings.TrimSpace(w))
	if f == "" || !utf8.ValidString(f) {
		return "", errs.New(protocol.ErrIllegalArgument, "word %q must be non-empty UTF-8 text", w)
	}
	if utf8.RuneCountInString(f) > MaxWordChars {
		return "", errs.New(protocol.ErrIllegalArgument, "word %q is longer than %d characters", w, MaxWordChars)
	}
	return f, nil
}

// AddWords adds words to the app's list (app token), replacing the
// action of words already there.
func (s *Service) AddWords(ctx context.Context, p *tenant.Principal, words []Word) ([]Word, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if len(words) == 0 || len(words) > MaxBatch {
		return nil, errs.New(protocol.ErrIllegalArgument, "words must list 1..%d words", MaxBatch)
	}
	now := s.now().UnixMilli()
	rows := make([]store.ModerationWord, 0, len(words))
	out := make([]Word, 0, len(words))
	for _, w := range words {
		f, err := checkWord(w.Word)
		if err != nil {
			return nil, err
		}
		switch w.Action {
		case store.ActionReject, store.ActionReplace, store.ActionReview:
		default:
			return nil, errs.New(protocol.ErrIllegalArgument, "action of %q must be reject, replace or review", w.Word)
		}
		rows = append(rows, store.ModerationWord{AppID: p.App.ID, Word: f, Action: w.Action, Created: now})
		out = append(out, Word{Word: f, Action: w.Action, Created: now})
	}
	// The bound is checked before the insert, so concurrent batches may
	// pass it by at most one batch.
	all, err := s.st.Moderation().Words(ctx, p.App.ID, "", "", MaxWordsPerApp+1)
	if err != nil {
		return nil, err
	}
	if len(all)+len(rows) > MaxWordsPerApp {
		return nil, errs.New(protocol.ErrIllegalArgument, "an app's keyword list holds at most %d words", MaxWordsPerApp)
	}
	if err := s.st.Moderation().PutWords(ctx, rows); err != nil {
		return nil, err
	}
	s.changed(p.App.ID)
	return out, nil
}

// RemoveWords removes words (app token) and returns how many were there.
func (s *Service) RemoveWords(ctx context.Context, p *tenant.Principal, words []string) (int, error) {
	if err := p.RequireAdmin(); err != nil {
		return 0, err
	}
	if len(words) == 0 || len(words) > MaxBatch {
		return 0, errs.New(protocol.ErrIllegalArgument, "words must list 1..%d words", MaxBatch)
	}
	folded := make([]string, len(words))
	for i, w := range words {
		f, err := checkWord(w)
		if err != nil {
			return 0, err
		}
		folded[i] = f
	}
	n, err := s.st.Moderation().DeleteWords(ctx, p.App.ID, folded)
	if err != nil {
		return 0, err
	}
	s.changed(p.App.ID)
	return n, nil
}

// WordPage is a page of the keyword list.
type WordPage struct {
	Words  []Word
	Cursor string // "" at the end
}

// Words lists the app's words containing q (any, if empty), by word,
// limit per page (app token).
func (s *Service) Words(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) (*WordPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultPage
	}
	if limit < 1 || limit > MaxPage {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxPage)
	}
	after := ""
	if cursor != "" {
		b, err := decodeCursor(cursor)
		if err != nil {
			return nil, err
		}
		after = string(b)
	}
	rows, err := s.st.Moderation().Words(ctx, p.App.ID, Fold(q), after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &WordPage{Words: []Word{}}
	for i, r := range rows {
		if i == limit {
			page.Cursor = encodeCursor([]byte(rows[i-1].Word))
			break
		}
		page.Words = append(page.Words, Word{Word: r.Word, Action: r.Action, Created: r.Created})
	}
	return page, nil
}
