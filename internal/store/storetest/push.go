package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func testPush(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	ps := s.Push()
	n := &store.Notifier{AppID: a.ID, Name: "fcm", Provider: "fcm", Credentials: "v1:sealed", Summary: "project p", Created: 1, Updated: 1}
	if err := ps.PutNotifier(ctx, n); err != nil {
		t.Fatal(err)
	}
	n.Credentials, n.Updated = "v1:new", 2
	ps.PutNotifier(ctx, n)
	if got, err := ps.Notifier(ctx, a.ID, "fcm"); err != nil || got.Credentials != "v1:new" || got.Created != 1 {
		t.Fatalf("notifier: %v %+v", err, got)
	}
	if list, _ := ps.Notifiers(ctx, a.ID); len(list) != 1 {
		t.Fatalf("notifiers: %+v", list)
	}
	if apps, _ := ps.AppsWithNotifiers(ctx); fmt.Sprint(apps) != fmt.Sprint([]int64{a.ID}) {
		t.Fatalf("apps: %v", apps)
	}
	mustNotFound(t, ps.DeleteNotifier(ctx, a.ID, "nope"))

	ps.PutBinding(ctx, &store.Binding{UserID: 1, DeviceID: "d1", AppID: a.ID, Notifier: "fcm", Token: "t1", Updated: 1})
	ps.PutBinding(ctx, &store.Binding{UserID: 1, DeviceID: "d2", AppID: a.ID, Notifier: "fcm", Token: "t2", Updated: 1})
	ps.PutBinding(ctx, &store.Binding{UserID: 1, DeviceID: "d1", AppID: a.ID, Notifier: "apns", Token: "t1b", Updated: 2})
	bs, _ := ps.Bindings(ctx, 1)
	if len(bs) != 2 || bs[0].Token != "t1b" || bs[0].Notifier != "apns" {
		t.Fatalf("bindings: %+v", bs)
	}
	if ok, _ := ps.DropBinding(ctx, 1, "d2", "stale"); ok {
		t.Fatal("dropped a binding whose token changed")
	}
	if ok, _ := ps.DropBinding(ctx, 1, "d2", "t2"); !ok {
		t.Fatal("drop")
	}
	ps.PutBinding(ctx, &store.Binding{UserID: 1, DeviceID: "d1"}) // empty token unbinds
	if bs, _ := ps.Bindings(ctx, 1); len(bs) != 0 {
		t.Fatalf("after unbind: %+v", bs)
	}

	ps.PutSetting(ctx, &store.PushSetting{UserID: 1, Scope: "app", AppID: a.ID, Mode: "AT", IgnoreInterval: "22:00-07:00", Updated: 1})
	ps.PutSetting(ctx, &store.PushSetting{UserID: 1, Scope: "group:5", AppID: a.ID, Mode: "NONE", IgnoreUntil: 99, Updated: 1})
	set, _ := ps.Settings(ctx, 1)
	if set["app"].Mode != "AT" || set["app"].IgnoreInterval != "22:00-07:00" || set["group:5"].IgnoreUntil != 99 {
		t.Fatalf("settings: %+v", set)
	}
	_, err := ps.Prefs(ctx, 1)
	mustNotFound(t, err)
	ps.PutPrefs(ctx, &store.PushPrefs{UserID: 1, AppID: a.ID, Language: "zh", Template: "t", Updated: 1})
	if p, _ := ps.Prefs(ctx, 1); p.Language != "zh" || p.Template != "t" {
		t.Fatalf("prefs: %+v", p)
	}
	ps.PutTemplate(ctx, &store.PushTemplate{AppID: a.ID, Name: "t", TitlePattern: "{0}", ContentPattern: "{1}", Created: 1, Updated: 1})
	if tp, err := ps.Template(ctx, a.ID, "t"); err != nil || tp.ContentPattern != "{1}" {
		t.Fatalf("template: %v %+v", err, tp)
	}
	if err := ps.DeleteTemplate(ctx, a.ID, "t"); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, ps.DeleteTemplate(ctx, a.ID, "t"))

	// A job stored with its message.
	op := msgOp(a.ID, 1, 2, "")
	op.Push = &store.PushJob{Kind: "chat", NextAt: 10, Created: 10}
	appendOK(t, s, op)
	if op.Push.ID != op.Item.ID {
		t.Fatalf("job id %d, item %d", op.Push.ID, op.Item.ID)
	}
	for i := range 5 {
		ps.AddJob(ctx, &store.PushJob{ID: nextID.Add(1), AppID: a.ID, Kind: "device", UserID: 2, DeviceID: fmt.Sprint("d", i),
			Payload: []byte(`{}`), NextAt: int64(20 + i), Created: 1})
	}
	// Concurrent claimers never get the same job.
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, err := ps.Claim(ctx, 7, 100, 200, 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, j := range jobs {
				seen[j.ID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 6 {
		t.Fatalf("claimed %d jobs, want 6", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
	if jobs, _ := ps.Claim(ctx, 8, 150, 300, 10); len(jobs) != 0 {
		t.Fatalf("leased jobs claimed again: %+v", jobs)
	}
	ps.Retry(ctx, op.Item.ID, 400)
	ps.Done(ctx, op.Item.ID+0)
	jobs, _ := ps.Claim(ctx, 8, 250, 300, 10) // leases expired at 200
	if len(jobs) != 5 || jobs[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v", jobs)
	}
	// A restarting owner takes its leases back; others' stay.
	if err := ps.Release(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := ps.Claim(ctx, 9, 260, 400, 10); len(jobs) != 0 {
		t.Fatalf("owner 8's leases were released: %+v", jobs)
	}
	ps.Release(ctx, 8)
	if jobs, _ := ps.Claim(ctx, 9, 260, 400, 10); len(jobs) != 5 {
		t.Fatalf("after owner 8 released: %+v", jobs)
	}
}
