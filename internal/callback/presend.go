package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/protocol"
)

var _ messaging.SendFilter = (*Service)(nil)

// MaxAnswer bounds the pre-send answer read from the receiver.
const MaxAnswer = 64 << 10

// Answer is the receiver's reply to a pre-send call.
type Answer struct {
	// Valid false refuses the message.
	Valid bool `json:"valid"`
	// Code and Message are what the sender sees when refused.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Payload, if set with valid true, replaces the message's body and/or
	// ext.
	Payload *struct {
		Body json.RawMessage `json:"body"`
		Ext  json.RawMessage `json:"ext"`
	} `json:"payload"`
}

// DecodeAnswer parses a pre-send answer strictly: one JSON object with a
// boolean "valid", code and message strings of at most 128 and 512
// characters, and a payload whose body and ext are JSON objects.
func DecodeAnswer(b []byte) (*Answer, error) {
	if len(b) > MaxAnswer {
		return nil, errors.New("answer too large")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, errors.New("answer is not a JSON object")
	}
	if v, ok := raw["valid"]; !ok || (string(v) != "true" && string(v) != "false") {
		return nil, errors.New(`answer lacks a boolean "valid"`)
	}
	var a Answer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("answer: %v", err)
	}
	if utf8.RuneCountInString(a.Code) > 128 || utf8.RuneCountInString(a.Message) > 512 {
		return nil, errors.New("answer code or message too long")
	}
	if p := a.Payload; p != nil {
		for _, f := range []json.RawMessage{p.Body, p.Ext} {
			if len(f) > 0 && string(f) != "null" && bytes.TrimSpace(f)[0] != '{' {
				return nil, errors.New("payload body and ext must be JSON objects")
			}
		}
	}
	return &a, nil
}

// preSend is the body of a pre-send call.
type preSend struct {
	ID          string   `json:"id"`
	EventType   string   `json:"eventType"`
	CallID      string   `json:"callId"`
	AppKey      string   `json:"appkey"`
	Timestamp   int64    `json:"timestamp"`
	ChatType    string   `json:"chat_type"`
	From        string   `json:"from"`
	To          []string `json:"to"`
	ClientMsgID string   `json:"client_msg_id,omitempty"`
	// MsgID is set when the message is an edit of the stored message
	// MsgID (the payload is its new content).
	MsgID   string         `json:"msg_id,omitempty"`
	Payload map[string]any `json:"payload"`
}

// FilterSend implements messaging.SendFilter: the app's pre-send rule, if
// any, sees the message and allows, refuses or changes it. A call that
// fails (no answer within the rule's timeout, a non-2xx status, an answer
// that does not decode) lets the message through when the rule fails open
// and refuses it when it fails closed.
func (s *Service) FilterSend(ctx context.Context, m *messaging.Outgoing) error {
	rules, err := s.appRules(ctx, m.App.ID)
	if err != nil {
		return err
	}
	var r *Rule
	for i := range rules {
		if rules[i].wants(EventPreSend) {
			r = &rules[i]
		}
	}
	if r == nil {
		return nil
	}
	id := strconv.FormatInt(s.ids(), 10)
	appkey := m.App.Org + "#" + m.App.Name
	body, _ := json.Marshal(preSend{ID: id, EventType: EventPreSend, CallID: appkey + "_" + id, AppKey: appkey,
		Timestamp: s.now().UnixMilli(), ChatType: m.ChatType, From: m.From, To: m.To, ClientMsgID: m.ClientMsgID,
		MsgID: m.MsgID, Payload: messagePayload(m.Type, m.Body, m.Ext)})
	start := time.Now()
	a, err := s.askPreSend(ctx, r, id, body)
	s.observe(EventPreSend, time.Since(start))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("pre-send callback failed", "app", m.App.ID, "rule", r.Name, "fail_open", r.FailOpen, "err", err)
		if r.FailOpen {
			s.count(EventPreSend, "error_open")
			return nil
		}
		s.count(EventPreSend, "error_closed")
		return errs.New(protocol.ErrPreSendUnavailable, "the app's pre-send check did not answer; try again later")
	}
	if !a.Valid {
		s.count(EventPreSend, "deny")
		code := a.Code
		if code == "" {
			code = "rejected"
		}
		if a.Message != "" {
			return errs.New(protocol.ErrMessageRejected, "%s: %s", code, a.Message)
		}
		return errs.New(protocol.ErrMessageRejected, "%s", code)
	}
	if p := a.Payload; p != nil && (len(p.Body) > 0 && string(p.Body) != "null" || len(p.Ext) > 0 && string(p.Ext) != "null") {
		s.count(EventPreSend, "replace")
		if len(p.Body) > 0 && string(p.Body) != "null" {
			m.Body = p.Body
		}
		if len(p.Ext) > 0 && string(p.Ext) != "null" {
			m.Ext = p.Ext
		}
		return nil
	}
	s.count(EventPreSend, "allow")
	return nil
}

// askPreSend makes the call under the rule's timeout.
func (s *Service) askPreSend(ctx context.Context, r *Rule, id string, body []byte) (*Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	resp, err := s.post(ctx, r, id, EventPreSend, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, err
	}
	return DecodeAnswer(b)
}
