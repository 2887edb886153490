package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/store"
)

// Headers of every call.
const (
	HeaderEventID   = "X-Parley-Event-Id"
	HeaderEvent     = "X-Parley-Event"
	HeaderTimestamp = "X-Parley-Timestamp"
	HeaderSignature = "X-Parley-Signature"
)

// Sign is the signature header's value for a body sent at ts (Unix ms):
// "v1=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against a body and its timestamp
// header, as a receiver does (constant time).
func Verify(secret []byte, ts string, body []byte, sig string) bool {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, t, body)), []byte(sig))
}

// post makes one signed call and returns the response (the caller closes
// it).
func (s *Service) post(ctx context.Context, r *Rule, id, event string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := s.now().UnixMilli()
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Parley-Callback/1")
	req.Header.Set(HeaderEventID, id)
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(r.Secret, ts, body))
	return s.HTTPClient.Do(req)
}

// Run delivers due events until ctx ends, and stores emitted ones.
func (s *Service) Run(ctx context.Context) {
	if err := s.st.Callbacks().Release(ctx, s.Node); err != nil && ctx.Err() == nil {
		s.log.Warn("release callback jobs", "err", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); s.runEmitter(ctx) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	sem := make(chan struct{}, workers)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.poke:
		}
		for {
			now := s.now()
			jobs, err := s.st.Callbacks().Claim(ctx, s.Node, now.UnixMilli(), now.Add(leaseFor).UnixMilli(), workers*4)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("claim callback jobs", "err", err)
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
			if len(jobs) < workers*4 {
				break
			}
		}
	}
}

func (s *Service) process(ctx context.Context, j store.CallbackJob) {
	if j.Rule == "" {
		// ErrNotFound: another node expanded it after this lease expired.
		if err := s.expand(ctx, j); err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("callback event", "event", j.ID, "err", err)
			s.st.Callbacks().Retry(context.WithoutCancel(ctx), j.ID, "", s.now().Add(s.Backoff(j.Attempts)).UnixMilli(), err.Error())
		}
		s.Poke()
		return
	}
	err := s.deliver(ctx, j)
	done := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		s.count(j.Event, "delivered")
		s.st.Callbacks().Done(done, j.ID, j.Rule)
	case ctx.Err() != nil:
		// Shutting down: the lease is released when this node starts again,
		// or expires.
	case j.Attempts >= s.MaxAttempts:
		s.count(j.Event, "failed")
		s.log.Warn("callback delivery failed; kept for retry", "event", j.ID, "rule", j.Rule, "attempts", j.Attempts, "err", err)
		s.st.Callbacks().Fail(done, j.ID, j.Rule, err.Error())
	default:
		s.count(j.Event, "retry")
		s.st.Callbacks().Retry(done, j.ID, j.Rule, s.now().Add(s.Backoff(j.Attempts)).UnixMilli(), err.Error())
	}
}

// deliver POSTs one event to one rule; any 2xx is success.
func (s *Service) deliver(ctx context.Context, j store.CallbackJob) error {
	rules, err := s.appRules(ctx, j.AppID)
	if err != nil {
		return err
	}
	var r *Rule
	for i := range rules {
		if rules[i].Name == j.Rule {
			r = &rules[i]
		}
	}
	if r == nil {
		return nil // the rule was deleted (its jobs with it)
	}
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	start := s.now()
	resp, err := s.post(ctx, r, strconv.FormatInt(j.ID, 10), j.Event, j.Payload)
	s.observe("event", time.Since(start))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
