package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// chatOptions are the flags of parley chat.
type chatOptions struct {
	url, org, app, user, password, to, resource string
	// caFile holds PEM certificates to trust instead of the system's roots.
	caFile string
}

func parseChatFlags(args []string, stderr io.Writer, getenv func(string) string) (chatOptions, error) {
	var o chatOptions
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL (http:// or https://)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of the CA (or self-signed certificate) to trust for an https:// server, instead of the system's roots")
	fs.StringVar(&o.org, "org", "", "org name")
	fs.StringVar(&o.app, "app", "", "app name")
	fs.StringVar(&o.user, "user", "", "username")
	fs.StringVar(&o.password, "password", "", "password (default: $PARLEY_PASSWORD)")
	fs.StringVar(&o.to, "to", "", "the first peer to talk to")
	fs.StringVar(&o.resource, "resource", "", "this device's resource (default: chosen by the server)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.password == "" {
		o.password = getenv("PARLEY_PASSWORD")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--org", o.org}, {"--app", o.app}, {"--user", o.user}, {"--password", o.password}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return o, nil
}

// chat runs the terminal chat client until /quit, the end of stdin or a
// signal.
func chat(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := parseChatFlags(args, stderr, getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runChat(ctx, o, stdin, stdout)
}

func runChat(ctx context.Context, o chatOptions, stdin io.Reader, stdout io.Writer) error {
	var tlsCfg *tls.Config
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s: no PEM certificate in it", o.caFile)
		}
		tlsCfg = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := parley.Dial(dctx, parley.Config{BaseURL: o.url, Org: o.org, App: o.app, Username: o.user,
		Password: o.password, Resource: o.resource, Platform: "cli", DeviceName: "parley chat", TLSConfig: tlsCfg})
	cancel()
	if err != nil {
		return err
	}
	s := &chatSession{c: c, out: &printer{w: stdout}, peer: strings.ToLower(o.to), convs: map[string]string{}}
	s.out.say("* signed in as %s (resource %s). /help lists the commands.", c.User(), c.Resource())
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for ev := range c.Events() {
			s.show(ev)
		}
	}()
	// The reader goroutine ends with stdin (or at its next line after the
	// session ended).
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-printed:
				return
			}
		}
	}()
	err = s.loop(ctx, lines)
	c.Close()
	<-printed
	return err
}

// loop runs input lines until /quit, the end of input, ctx, or the server
// ending the session.
func (s *chatSession) loop(ctx context.Context, lines <-chan string) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.c.Done():
			if errors.Is(s.c.Err(), parley.ErrClosed) {
				return nil
			}
			return s.c.Err()
		case line, ok := <-lines:
			if !ok || !s.command(ctx, line) {
				return nil
			}
		}
	}
}

// printer serializes output lines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// chatSession is the state of one terminal session.
type chatSession struct {
	c   *parley.Client
	out *printer

	mu    sync.Mutex
	peer  string
	convs map[string]string // peer -> conv_id
}

const chatHelp = `commands:
  TEXT            send TEXT to the current peer
  /to USER        talk to USER
  /history        the last 20 messages with the current peer
  /recall MSG_ID  recall one of your messages
  /quit           leave`

// command runs one input line; false means quit.
func (s *chatSession) command(ctx context.Context, line string) bool {
	line = strings.TrimSpace(line)
	if line == "" {
		return true
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	if !strings.HasPrefix(cmd, "/") {
		cmd, arg = "", line
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch cmd {
	case "/quit", "/exit":
		return false
	case "/help":
		s.out.say("%s", chatHelp)
	case "/to":
		if arg == "" {
			s.out.say("* usage: /to USER")
			break
		}
		s.mu.Lock()
		s.peer = strings.ToLower(arg)
		s.mu.Unlock()
		s.out.say("* talking to %s", strings.ToLower(arg))
	case "/history":
		s.history(ctx)
	case "/recall":
		if arg == "" {
			s.out.say("* usage: /recall MSG_ID")
			break
		}
		if err := s.c.Recall(ctx, arg); err != nil {
			s.out.say("* recall failed: %v", err)
		}
	case "":
		peer := s.currentPeer()
		if peer == "" {
			s.out.say("* nobody to send to: /to USER first")
			break
		}
		ack, err := s.c.SendText(ctx, peer, arg)
		if err != nil {
			s.out.say("* send failed: %v", err)
			break
		}
		s.remember(peer, ack.ConvID)
	default:
		s.out.say("* unknown command %s; /help lists the commands", cmd)
	}
	return true
}

func (s *chatSession) currentPeer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

func (s *chatSession) remember(peer, convID string) {
	if peer == "" || convID == "" {
		return
	}
	s.mu.Lock()
	s.convs[peer] = convID
	s.mu.Unlock()
}

// convWith finds the conversation with peer, asking the server if needed.
func (s *chatSession) convWith(ctx context.Context, peer string) (string, error) {
	s.mu.Lock()
	id := s.convs[peer]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	cursor := ""
	for range 100 {
		list, next, err := s.c.Conversations(ctx, 100, cursor)
		if err != nil {
			return "", err
		}
		for _, cv := range list {
			s.remember(cv.Peer, cv.ConvID)
			if cv.Peer == peer {
				return cv.ConvID, nil
			}
		}
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return "", nil
}

func (s *chatSession) history(ctx context.Context) {
	peer := s.currentPeer()
	if peer == "" {
		s.out.say("* nobody selected: /to USER first")
		return
	}
	conv, err := s.convWith(ctx, peer)
	if err != nil {
		s.out.say("* history failed: %v", err)
		return
	}
	if conv == "" {
		s.out.say("* no messages with %s yet", peer)
		return
	}
	items, more, err := s.c.History(ctx, conv, parley.HistoryQuery{Limit: 20})
	if err != nil {
		s.out.say("* history failed: %v", err)
		return
	}
	s.out.say("* history with %s:", peer)
	for _, it := range items {
		s.out.say("  %s", formatItem(it, s.c.User()))
	}
	if more {
		s.out.say("* (older messages not shown)")
	}
}

// show prints one event.
func (s *chatSession) show(ev parley.Event) {
	me := s.c.User()
	switch e := ev.(type) {
	case parley.MessageEvent:
		s.remember(peerOf(e.Item, me), e.Item.ConvID)
		s.out.say("%s", formatItem(e.Item, me))
	case parley.RecallEvent:
		s.out.say("* %s recalled message %s", e.Item.From, e.Item.Target)
	case parley.ReceiptEvent:
		r := e.Receipt
		switch r.Kind {
		case protocol.ReceiptDelivered:
			s.out.say("* delivered to %s up to #%d", r.By, r.Seq)
		case protocol.ReceiptRead:
			s.out.say("* %s read message %s", r.By, r.MsgID)
		default:
			s.out.say("* %s read up to #%d", r.By, r.Seq)
		}
	case parley.ConversationEvent:
		cv := e.Conversation
		s.remember(cv.Peer, cv.ConvID)
		if e.FromSync && cv.Unread > 0 {
			s.out.say("* %d unread from %s", cv.Unread, cv.Peer)
			for _, it := range cv.Recent { // a new device's sync: show what is unread
				if it.Kind == protocol.ItemMsg && it.Seq > cv.ReadSeq && it.From != me {
					s.out.say("%s", formatItem(it, me))
				}
			}
		}
	case parley.ConnectionEvent:
		switch {
		case e.State == parley.Disconnected && e.Final:
			s.out.say("* disconnected for good: %d %s", e.Code, e.Reason)
		case e.State == parley.Disconnected:
			s.out.say("* connection lost (%d %s); reconnecting", e.Code, e.Reason)
		}
	}
}

func peerOf(it *protocol.Item, me string) string {
	if it.From == me {
		return it.To
	}
	return it.From
}

// formatItem renders a message on one line.
func formatItem(it *protocol.Item, me string) string {
	when := time.UnixMilli(it.TS).Format("15:04:05")
	from := it.From
	if from == me {
		from = "you → " + it.To
	}
	text := messageText(it)
	if it.Online {
		return fmt.Sprintf("%s %s: %s (online only)", when, from, text)
	}
	return fmt.Sprintf("%s #%d %s: %s [%s]", when, it.Seq, from, text, it.MsgID)
}

// messageText renders a message body as text.
func messageText(it *protocol.Item) string {
	if it.Recalled {
		return "(recalled)"
	}
	var b struct {
		Msg    string `json:"msg"`
		Action string `json:"action"`
		Event  string `json:"customEvent"`
	}
	json.Unmarshal(it.Body, &b)
	switch {
	case it.Type == protocol.MsgText:
		return b.Msg
	case it.Type == protocol.MsgCmd:
		return "(command " + b.Action + ")"
	case it.Type == protocol.MsgCustom:
		return "(custom " + b.Event + ")"
	}
	return "(" + it.Type + " message)"
}
