package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func testCallbacks(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "cb")
	b := mkApp(t, s, "acme", "cb2")
	cs := s.Callbacks()
	r := &store.CallbackRule{AppID: a.ID, Name: "hook", URL: "https://example.com/cb", Secret: "v1:sealed",
		Events: []string{"pre_send", "chat"}, TimeoutMS: 2000, FailOpen: true, Created: 1, Updated: 1}
	if err := cs.PutRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	r2 := *r
	r2.URL, r2.Events, r2.FailOpen, r2.Created, r2.Updated = "https://example.com/v2", []string{"login"}, false, 5, 5
	if err := cs.PutRule(ctx, &r2); err != nil {
		t.Fatal(err)
	}
	cs.PutRule(ctx, &store.CallbackRule{AppID: a.ID, Name: "audit", URL: "https://a", Secret: "s", Events: []string{"chat"}, Created: 3, Updated: 3})
	rules, err := cs.Rules(ctx, a.ID)
	if err != nil || len(rules) != 2 || rules[0].Name != "audit" || rules[1].URL != "https://example.com/v2" ||
		fmt.Sprint(rules[1].Events) != "[login]" || rules[1].FailOpen || rules[1].Created != 1 || rules[1].Updated != 5 {
		t.Fatalf("rules: %v %+v", err, rules)
	}
	if other, _ := cs.Rules(ctx, b.ID); len(other) != 0 {
		t.Fatalf("rules of another app: %+v", other)
	}
	mustNotFound(t, cs.DeleteRule(ctx, a.ID, "nope"))

	// An unexpanded job stored with a message, expanded once.
	op := msgOp(a.ID, 1, 2, "hi")
	op.Callback = &store.CallbackJob{Event: "message", NextAt: 0, Created: 1}
	if err := s.Messages().Append(ctx, []*store.AppendOp{op}); err != nil || op.Err != nil {
		t.Fatal(err, op.Err)
	}
	jobs, err := cs.Claim(ctx, 7, 10, 1000, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != op.Item.ID || jobs[0].ItemID != op.Item.ID || jobs[0].Rule != "" ||
		jobs[0].Attempts != 1 || jobs[0].AppID != a.ID {
		t.Fatalf("claim: %v %+v", err, jobs)
	}
	if again, _ := cs.Claim(ctx, 8, 20, 1000, 10); len(again) != 0 {
		t.Fatalf("a leased job was claimed again: %+v", again)
	}
	into := []store.CallbackJob{
		{ID: 100, Rule: "hook", AppID: a.ID, Event: "chat", ItemID: op.Item.ID, Payload: []byte(`{"x":1}`), NextAt: 10, Created: 10},
		{ID: 100, Rule: "audit", AppID: a.ID, Event: "chat", ItemID: op.Item.ID, Payload: []byte(`{"x":1}`), NextAt: 10, Created: 10},
	}
	if err := cs.Expand(ctx, op.Item.ID, into); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, cs.Expand(ctx, op.Item.ID, into))
	// The lease of an expired owner is taken over; Release frees at once.
	jobs, _ = cs.Claim(ctx, 7, 10, 1000, 10)
	if len(jobs) != 2 || string(jobs[0].Payload) != `{"x":1}` {
		t.Fatalf("claim expanded: %+v", jobs)
	}
	if err := cs.Release(ctx, 7); err != nil {
		t.Fatal(err)
	}
	jobs, _ = cs.Claim(ctx, 8, 10, 1000, 10)
	if len(jobs) != 2 || jobs[0].Attempts != 2 {
		t.Fatalf("claim after release: %+v", jobs)
	}
	if err := cs.Retry(ctx, 100, "hook", 50, "status 503"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Fail(ctx, 100, "audit", "status 500"); err != nil {
		t.Fatal(err)
	}
	if due, _ := cs.Claim(ctx, 8, 40, 1000, 10); len(due) != 0 {
		t.Fatalf("claimed before next_at or a failed job: %+v", due)
	}
	due, _ := cs.Claim(ctx, 8, 60, 1000, 10)
	if len(due) != 1 || due[0].Rule != "hook" || due[0].LastError != "status 503" || due[0].Attempts != 3 {
		t.Fatalf("due: %+v", due)
	}
	if err := cs.Done(ctx, 100, "hook"); err != nil {
		t.Fatal(err)
	}
	failed, err := cs.Failed(ctx, a.ID, 0, "", 10)
	if err != nil || len(failed) != 1 || failed[0].Rule != "audit" || !failed[0].Failed || failed[0].LastError != "status 500" {
		t.Fatalf("failed: %v %+v", err, failed)
	}
	if other, _ := cs.Failed(ctx, b.ID, 0, "", 10); len(other) != 0 {
		t.Fatalf("failed of another app: %+v", other)
	}
	if n, err := cs.Requeue(ctx, b.ID, 0, 70); err != nil || n != 0 {
		t.Fatalf("requeue other app: %d %v", n, err)
	}
	if n, err := cs.Requeue(ctx, a.ID, 100, 70); err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	if due, _ := cs.Claim(ctx, 8, 70, 1000, 10); len(due) != 1 || due[0].Attempts != 1 || due[0].Failed {
		t.Fatalf("requeued: %+v", due)
	}
	// AddJobs ignores a job that exists.
	direct := []store.CallbackJob{{ID: 200, Rule: "hook", AppID: a.ID, Event: "login", Payload: []byte(`{}`), NextAt: 0, Created: 1}}
	if err := cs.AddJobs(ctx, direct); err != nil {
		t.Fatal(err)
	}
	if err := cs.AddJobs(ctx, direct); err != nil {
		t.Fatal(err)
	}
	cs.Fail(ctx, 200, "hook", "x")
	// Pages go by (ID, rule): an event failed for two rules is not split.
	cs.AddJobs(ctx, []store.CallbackJob{{ID: 200, Rule: "audit", AppID: a.ID, Event: "login", Created: 1}})
	cs.Fail(ctx, 200, "audit", "y")
	if p1, _ := cs.Failed(ctx, a.ID, 0, "", 1); len(p1) != 1 || p1[0].ID != 200 || p1[0].Rule != "audit" {
		t.Fatalf("page 1: %+v", p1)
	} else if p2, _ := cs.Failed(ctx, a.ID, 200, "audit", 1); len(p2) != 1 || p2[0].Rule != "hook" {
		t.Fatalf("page 2: %+v", p2)
	} else if p3, _ := cs.Failed(ctx, a.ID, 200, "hook", 1); len(p3) != 0 {
		t.Fatalf("page 3: %+v", p3)
	}
	cs.Done(ctx, 200, "audit")
	// Deleting a rule deletes its jobs.
	if err := cs.DeleteRule(ctx, a.ID, "hook"); err != nil {
		t.Fatal(err)
	}
	if failed, _ := cs.Failed(ctx, a.ID, 0, "", 10); len(failed) != 0 {
		t.Fatalf("jobs of a deleted rule: %+v", failed)
	}

	// A recall stores its job in its own transaction.
	rop := &store.RecallOp{AppID: a.ID, TargetID: op.Item.ID, RecallID: 300, Created: 2, Callback: &store.CallbackJob{Event: "recall", Created: 2}}
	if err := s.Messages().Recall(ctx, rop); err != nil {
		t.Fatal(err)
	}
	if due, _ := cs.Claim(ctx, 9, 100, 1000, 10); len(due) != 1 || due[0].ID != 300 || due[0].Event != "recall" {
		t.Fatalf("recall job: %+v", due)
	}

	// Concurrent claimers never share a job.
	var many []store.CallbackJob
	for i := range 40 {
		many = append(many, store.CallbackJob{ID: int64(1000 + i), Rule: "audit", AppID: a.ID, Event: "login", NextAt: 0, Created: 1})
	}
	if err := cs.AddJobs(ctx, many); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := cs.Claim(ctx, int64(20+w), 200, 10000, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
	if len(seen) != 40 {
		t.Fatalf("claimed %d of 40", len(seen))
	}
}
