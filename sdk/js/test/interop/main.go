// Command interop is the Go side of sdk/js/test/interop.test.mjs: it signs
// in with the Go SDK, sends every case of a JSON file to the TypeScript
// side (each body decoded into the Go SDK's typed Body first, so what
// travels is what the Go types marshal), then receives as many messages
// from the TypeScript side, checks each against the same cases (type, body
// decoded with DecodeBody and compared as JSON values, ext), and prints one
// JSON report on stdout for the test to compare too.
//
//	go run ./sdk/js/test/interop -url URL -org ORG -app APP -user U -password P -peer PEER -cases FILE
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// testCase is one message of the exchange: its type, body and ext as JSON.
type testCase struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
	Ext  json.RawMessage `json:"ext"`
}

// received is one message as the Go side got it.
type received struct {
	MsgID       string          `json:"msg_id"`
	ConvID      string          `json:"conv_id"`
	Seq         int64           `json:"seq"`
	ChatType    string          `json:"chat_type"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Type        string          `json:"type"`
	Body        json.RawMessage `json:"body"`
	Ext         json.RawMessage `json:"ext"`
	TS          int64           `json:"ts"`
	ClientMsgID string          `json:"client_msg_id"`
	// Typed is the body decoded with DecodeBody and marshalled again.
	Typed json.RawMessage `json:"typed"`
}

type report struct {
	Sent     []*protocol.Ack `json:"sent"`
	Received []received      `json:"received"`
	Problems []string        `json:"problems"`
}

func main() {
	url := flag.String("url", "", "server base URL")
	org := flag.String("org", "", "org")
	app := flag.String("app", "", "app")
	user := flag.String("user", "", "username")
	password := flag.String("password", "", "password")
	peer := flag.String("peer", "", "the TypeScript side's username")
	casesFile := flag.String("cases", "", "JSON file of cases")
	flag.Parse()
	if err := run(*url, *org, *app, *user, *password, *peer, *casesFile); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
}

func run(url, org, app, user, password, peer, casesFile string) error {
	raw, err := os.ReadFile(casesFile)
	if err != nil {
		return err
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := parley.Dial(ctx, parley.Config{BaseURL: url, Org: org, App: app, Username: user, Password: password, Resource: "go_interop"})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()

	rep := report{Problems: []string{}}
	for i, tc := range cases {
		body, err := parley.DecodeBody(&protocol.Item{Type: tc.Type, Body: tc.Body})
		if err != nil {
			return fmt.Errorf("case %d (%s): decode into a Go Body: %w", i, tc.Type, err)
		}
		var ext map[string]any
		if err := json.Unmarshal(tc.Ext, &ext); err != nil {
			return fmt.Errorf("case %d: ext: %w", i, err)
		}
		ack, err := c.Send(ctx, parley.OutgoingMessage{To: peer, Body: body, Ext: ext})
		if err != nil {
			return fmt.Errorf("case %d (%s): send: %w", i, tc.Type, err)
		}
		rep.Sent = append(rep.Sent, ack)
	}

	for len(rep.Received) < len(cases) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("received %d of %d messages from %s: %w", len(rep.Received), len(cases), peer, ctx.Err())
		case ev := <-c.Events():
			m, ok := ev.(parley.MessageEvent)
			if !ok || m.Item.From != peer {
				continue
			}
			it := m.Item
			r := received{MsgID: it.MsgID, ConvID: it.ConvID, Seq: it.Seq, ChatType: it.ChatType, From: it.From, To: it.To,
				Type: it.Type, Body: it.Body, Ext: it.Ext, TS: it.TS, ClientMsgID: it.ClientMsgID}
			i := len(rep.Received)
			body, err := m.Body()
			if err != nil {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d (%s): DecodeBody: %v", i, it.Type, err))
			} else {
				r.Typed, _ = json.Marshal(body)
				if body.MsgType() != it.Type {
					rep.Problems = append(rep.Problems, fmt.Sprintf("message %d: typed body is %s, item type %s", i, body.MsgType(), it.Type))
				}
			}
			tc := cases[i]
			if it.Type != tc.Type {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d: type %q, sent %q", i, it.Type, tc.Type))
			}
			if !sameJSON(it.Body, tc.Body) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d (%s): body %s, sent %s", i, tc.Type, it.Body, tc.Body))
			}
			if r.Typed != nil && !sameJSON(r.Typed, tc.Body) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d (%s): typed body %s, sent %s", i, tc.Type, r.Typed, tc.Body))
			}
			if !sameJSON(it.Ext, tc.Ext) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d (%s): ext %s, sent %s", i, tc.Type, it.Ext, tc.Ext))
			}
			if it.ChatType != protocol.ChatTypeChat || it.To != user || it.Seq == 0 || it.MsgID == "" || it.ClientMsgID == "" {
				rep.Problems = append(rep.Problems, fmt.Sprintf("message %d: envelope chat_type=%q to=%q seq=%d msg_id=%q client_msg_id=%q",
					i, it.ChatType, it.To, it.Seq, it.MsgID, it.ClientMsgID))
			}
			rep.Received = append(rep.Received, r)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// sameJSON reports whether two JSON texts are the same value (numbers as
// float64, objects without key order).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
