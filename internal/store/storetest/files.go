package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func mkFile(t *testing.T, s store.Store, appID int64, uuid string, created int64) *store.File {
	t.Helper()
	f := &store.File{AppID: appID, UUID: uuid, Owner: 1, Name: uuid + ".jpg", ContentType: "image/jpeg", Size: 1234,
		Restricted: true, Secret: "s-" + uuid, ThumbSize: 99, Width: 640, Height: 480, Created: created}
	if err := s.Files().Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	if f.ID == 0 {
		t.Fatal("Create did not set ID")
	}
	return f
}

func testFiles(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	b := mkApp(t, s, "acme", "other")
	f1 := mkFile(t, s, a.ID, "f1", 100)
	f2 := mkFile(t, s, a.ID, "f2", 200)
	fb := mkFile(t, s, b.ID, "fb", 100)

	got, err := s.Files().Get(ctx, a.ID, "f1")
	if err != nil || *got != *f1 {
		t.Fatalf("get: %v %+v, want %+v", err, got, f1)
	}
	_, err = s.Files().Get(ctx, b.ID, "f1")
	mustNotFound(t, err)
	dup := &store.File{AppID: a.ID, UUID: "f1", ContentType: "x", Created: 1}
	if err := s.Files().Create(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate uuid: %v", err)
	}
	ids, err := s.Files().IDs(ctx, a.ID, []string{"f1", "f2", "fb", "nope"})
	if err != nil || len(ids) != 2 || ids["f1"] != f1.ID || ids["f2"] != f2.ID {
		t.Fatalf("ids: %v %v", err, ids)
	}

	// Two messages reference f1, one references f1 and f2.
	m1, m2 := msgOp(a.ID, 1, 2, "fa"), msgOp(a.ID, 1, 2, "fb")
	m1.Files, m2.Files = []int64{f1.ID}, []int64{f1.ID, f2.ID}
	appendOK(t, s, m1, m2)
	// A retry of m1 adds no reference (and nothing else).
	retry := msgOp(a.ID, 1, 2, "fa")
	retry.Files = []int64{f1.ID}
	appendOK(t, s, retry)

	orphans, err := s.Files().Orphans(ctx, 1000, 10)
	if err != nil || len(orphans) != 1 || orphans[0].ID != fb.ID {
		t.Fatalf("orphans: %v %+v", err, orphans)
	}
	if orphans, _ := s.Files().Orphans(ctx, 100, 10); len(orphans) != 0 {
		t.Fatalf("orphans created before 100: %+v", orphans)
	}
	if _, err := s.Files().DeleteUnreferenced(ctx, f1.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deleting a referenced file: %v", err)
	}

	recall := func(it *store.Item) []int64 {
		op := &store.RecallOp{AppID: a.ID, TargetID: it.ID, RecallID: nextID.Add(1), Created: 300}
		if err := s.Messages().Recall(ctx, op); err != nil {
			t.Fatal(err)
		}
		return op.Files
	}
	if got := recall(&m2.Item); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted([]int64{f1.ID, f2.ID})) {
		t.Fatalf("recall released %v", got)
	}
	// f2 is now unreferenced; f1 is still held by m1.
	if _, err := s.Files().DeleteUnreferenced(ctx, f1.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("f1 still referenced by m1: %v", err)
	}
	del, err := s.Files().DeleteUnreferenced(ctx, f2.ID)
	if err != nil || del.UUID != "f2" {
		t.Fatalf("delete f2: %v %+v", err, del)
	}
	_, err = s.Files().DeleteUnreferenced(ctx, f2.ID)
	mustNotFound(t, err)
	_, err = s.Files().Get(ctx, a.ID, "f2")
	mustNotFound(t, err)
	if got := recall(&m1.Item); len(got) != 1 || got[0] != f1.ID {
		t.Fatalf("recall m1 released %v", got)
	}
	if _, err := s.Files().DeleteUnreferenced(ctx, f1.ID); err != nil {
		t.Fatal(err)
	}
	// A message may not reference a file that does not exist.
	bad := msgOp(a.ID, 1, 2, "")
	bad.Files = []int64{f2.ID}
	if err := s.Messages().Append(ctx, []*store.AppendOp{bad}); err != nil || bad.Err == nil {
		t.Fatalf("reference to a deleted file: %v %v", err, bad.Err)
	}
}

func sorted(v []int64) []int64 {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}
