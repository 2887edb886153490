package storetest

import (
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func testModerationWords(t *testing.T, s store.Store) {
	a, b := mkApp(t, s, "acme", "chat"), mkApp(t, s, "acme", "other")
	m := s.Moderation()
	put := []store.ModerationWord{
		{AppID: a.ID, Word: "spam", Action: store.ActionReject, Created: 1},
		{AppID: a.ID, Word: "坏词", Action: store.ActionReplace, Created: 1},
		{AppID: a.ID, Word: "100%_off", Action: store.ActionReview, Created: 1},
		{AppID: b.ID, Word: "spam", Action: store.ActionReview, Created: 1},
	}
	if err := m.PutWords(ctx, put); err != nil {
		t.Fatal(err)
	}
	// Putting again replaces the action.
	if err := m.PutWords(ctx, []store.ModerationWord{{AppID: a.ID, Word: "spam", Action: store.ActionReplace, Created: 2}}); err != nil {
		t.Fatal(err)
	}
	all, err := m.Words(ctx, a.ID, "", "", 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %v %v", all, err)
	}
	if all[0].Word != "100%_off" || all[1].Word != "spam" || all[1].Action != store.ActionReplace || all[2].Word != "坏词" {
		t.Fatalf("order or action: %+v", all)
	}
	page, err := m.Words(ctx, a.ID, "", "100%_off", 1)
	if err != nil || len(page) != 1 || page[0].Word != "spam" {
		t.Fatalf("page after: %+v %v", page, err)
	}
	// Contains treats % and _ literally.
	for q, want := range map[string]int{"%": 1, "_": 1, "pa": 1, "坏": 1, "x": 0} {
		got, err := m.Words(ctx, a.ID, q, "", 10)
		if err != nil || len(got) != want {
			t.Fatalf("contains %q: %+v %v, want %d", q, got, err, want)
		}
	}
	n, err := m.DeleteWords(ctx, a.ID, []string{"spam", "missing"})
	if err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if other, _ := m.Words(ctx, b.ID, "", "", 0); len(other) != 1 || other[0].Action != store.ActionReview {
		t.Fatalf("other app changed: %+v", other)
	}
}

func testModerationRecords(t *testing.T, s store.Store) {
	a, b := mkApp(t, s, "acme", "chat"), mkApp(t, s, "acme", "other")
	m := s.Moderation()
	recs := []*store.ModerationRecord{
		{ID: 10, AppID: a.ID, Kind: store.RecordFlag, From: "u1", To: "u2", ChatType: "chat", MsgType: "txt",
			Content: `{"msg":"hi"}`, Words: "hi", Created: 100},
		{ID: 11, AppID: a.ID, Kind: store.RecordReport, MsgID: 99, From: "u1", To: "u2", Reporter: "u2", Reason: "rude", Created: 101},
		{ID: 12, AppID: b.ID, Kind: store.RecordReport, MsgID: 98, Created: 102},
		{ID: 13, AppID: a.ID, Kind: store.RecordReport, MsgID: 97, Created: 103},
	}
	for _, r := range recs {
		if err := m.AddRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Records(ctx, a.ID, "", 0, 10)
	if err != nil || len(got) != 3 || got[0].ID != 13 || got[2].ID != 10 || got[2].Words != "hi" || got[2].Content != `{"msg":"hi"}` {
		t.Fatalf("all: %+v %v", got, err)
	}
	got, err = m.Records(ctx, a.ID, store.RecordReport, 0, 1)
	if err != nil || len(got) != 1 || got[0].ID != 13 {
		t.Fatalf("reports page 1: %+v %v", got, err)
	}
	got, err = m.Records(ctx, a.ID, store.RecordReport, 13, 10)
	if err != nil || len(got) != 1 || got[0].ID != 11 || got[0].Reporter != "u2" || got[0].Reason != "rude" || got[0].MsgID != 99 {
		t.Fatalf("reports page 2: %+v %v", got, err)
	}
}

func testArchiveSpan(t *testing.T, s store.Store) {
	a, b := mkApp(t, s, "acme", "chat"), mkApp(t, s, "acme", "other")
	// Created out of ID order (an imported message keeps its original time).
	op1, op2, op3, op4 := msgOp(a.ID, 1, 2, ""), msgOp(a.ID, 2, 1, ""), msgOp(a.ID, 1, 3, ""), msgOp(b.ID, 1, 2, "")
	op1.Item.Created, op2.Item.Created, op3.Item.Created, op4.Item.Created = 5000, 1000, 5000, 1500
	appendOK(t, s, op1, op2, op3, op4)
	outside := msgOp(a.ID, 1, 2, "")
	outside.Item.Created = 9000
	appendOK(t, s, outside)
	got, err := s.Archive().Span(ctx, a.ID, 1000, 9000, 0, 0, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("span: %+v %v", got, err)
	}
	if got[0].ID != op2.Item.ID || got[1].ID != op1.Item.ID || got[2].ID != op3.Item.ID || got[0].ConvKind != store.ConvChat {
		t.Fatalf("order: %d %d %d", got[0].ID, got[1].ID, got[2].ID)
	}
	if string(got[0].Body) != string(op2.Item.Body) || got[0].From != 2 || got[0].To != 1 {
		t.Fatalf("item: %+v", got[0])
	}
	next, err := s.Archive().Span(ctx, a.ID, 1000, 9000, got[1].Created, got[1].ID, 10)
	if err != nil || len(next) != 1 || next[0].ID != op3.Item.ID {
		t.Fatalf("after: %+v %v", next, err)
	}
	// A recalled message is not exported.
	if err := s.Messages().Recall(ctx, &store.RecallOp{AppID: a.ID, TargetID: op3.Item.ID, RecallID: nextID.Add(1), Created: 6000}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Archive().Span(ctx, a.ID, 1000, 9000, 0, 0, 10); len(got) != 2 {
		t.Fatalf("recalled exported: %+v", got)
	}
}
