package storetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/sqlstore"
	"github.com/parleyim/parley/internal/testutil"
)

// EncryptionBackend is what RunEncryption needs of a backend.
type EncryptionBackend struct {
	// Open returns a fresh, empty store (it registers its own cleanup).
	Open func(t *testing.T) *sqlstore.DB
	// Raw returns every byte the database holds for db: its files on
	// disk, or every table's rows as text.
	Raw func(t *testing.T, db *sqlstore.DB) []byte
	// RawIsRows: Raw returns live rows only (PostgreSQL), not files that
	// keep freed bytes until a VACUUM (SQLite).
	RawIsRows bool
}

func ring(t *testing.T, lines ...string) *atrest.Keyring {
	t.Helper()
	k, err := atrest.Parse(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// SecretsBox returns a secrets box with a new random key.
func SecretsBox(t testing.TB) *secret.Box {
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// RunEncryption checks encryption at rest: with encryption on, no
// plaintext of message content or secrets reaches the database; values
// read back unchanged; rows written before (plaintext) or under an older
// key stay readable; Reencrypt moves everything to the active key, after
// which the old key can be removed; with encryption off, Reencrypt
// decrypts everything.
func RunEncryption(t *testing.T, b EncryptionBackend) {
	db := b.Open(t)
	box := SecretsBox(t)
	_, l1 := testutil.Keyring(t, "k1")
	_, l2 := testutil.Keyring(t, "k2")
	db.UseCrypto(sqlstore.Crypto{Secrets: box, Keys: ring(t, l1[0]), Encrypt: true})

	const marker = "ATREST-MARKER-5b1e"
	tokenKey := []byte("TOKENKEY-MARKER-0123456789abcdef") // 32 bytes, as real keys
	a := &store.App{UUID: "uuid-enc", Org: "enc", Name: "app", ClientID: "cid-enc", ClientSecretHash: []byte{1},
		TokenKey: tokenKey, Settings: []byte(`{}`), Created: 1, Modified: 1}
	if err := db.Apps().Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	alice, bob := mkUser(a.ID, "alice"), mkUser(a.ID, "bob")
	for _, u := range []*store.User{alice, bob} {
		if err := db.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	send := func(text string) *store.Item {
		t.Helper()
		op := msgOp(a.ID, alice.ID, bob.ID, "")
		op.Item.Body = []byte(fmt.Sprintf(`{"msg":%q}`, text))
		op.Item.Ext = []byte(fmt.Sprintf(`{"note":%q}`, text))
		appendOK(t, db, op)
		return &op.Item
	}
	first := send(marker + " first")
	second := send(marker + " second")
	edit := &store.EditOp{AppID: a.ID, TargetID: second.ID, EditID: nextID.Add(1), Body: []byte(`{"msg":"` + marker + ` edited"}`),
		Created: nextID.Load()}
	if err := db.Messages().Edit(ctx, edit); err != nil {
		t.Fatal(err)
	}
	bc := &store.Broadcast{ID: nextID.Add(1), AppID: a.ID, From: alice.ID, Type: "txt", Body: []byte(`{"msg":"` + marker + ` bc"}`),
		Ext: []byte(`{"x":"` + marker + `"}`), Created: 5}
	if err := db.Rooms().AddBroadcast(ctx, bc); err != nil {
		t.Fatal(err)
	}
	rec := &store.ModerationRecord{ID: nextID.Add(1), AppID: a.ID, Kind: store.RecordReport, MsgID: first.ID, From: "alice",
		Content: string(first.Body), Created: 6}
	if err := db.Moderation().AddRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := db.Push().AddJob(ctx, &store.PushJob{ID: nextID.Add(1), AppID: a.ID, Kind: "device", UserID: bob.ID, DeviceID: "d",
		Payload: []byte(`{"content":"` + marker + ` push"}`), NextAt: 1, Created: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.Callbacks().AddJobs(ctx, []store.CallbackJob{{ID: nextID.Add(1), Rule: "r", AppID: a.ID, Event: "chat",
		Payload: []byte(`{"payload":"` + marker + ` callback"}`), NextAt: 1, Created: 1}}); err != nil {
		t.Fatal(err)
	}
	file := &store.File{AppID: a.ID, UUID: "file-enc", Owner: alice.ID, ContentType: "text/plain", Size: 1, Restricted: true,
		Secret: marker + "-share-secret", Created: 1}
	if err := db.Files().Create(ctx, file); err != nil {
		t.Fatal(err)
	}

	// Everything reads back as written.
	check := func(t *testing.T) {
		t.Helper()
		items, err := db.Messages().Items(ctx, first.ConvID, 0, 3)
		if err != nil || len(items) != 3 {
			t.Fatalf("items: %v, %d", err, len(items))
		}
		if string(items[0].Body) != string(first.Body) || string(items[0].Ext) != string(first.Ext) ||
			string(items[1].Body) != string(edit.Body) || items[1].Edits != 1 || string(items[2].Body) != string(edit.Body) {
			t.Fatalf("items read back: %q %q %q", items[0].Body, items[1].Body, items[2].Body)
		}
		if it, err := db.Messages().Item(ctx, a.ID, first.ID); err != nil || string(it.Body) != string(first.Body) {
			t.Fatalf("item: %v %q", err, it.Body)
		}
		span, err := db.Archive().Span(ctx, a.ID, 0, 1<<62, 0, 0, 2)
		if err != nil || len(span) != 2 || string(span[0].Body) != string(first.Body) {
			t.Fatalf("archive: %v %+v", err, span)
		}
		bcs, err := db.Rooms().Broadcasts(ctx, a.ID, 0, 0, 10)
		if err != nil || len(bcs) != 1 || string(bcs[0].Body) != string(bc.Body) || string(bcs[0].Ext) != string(bc.Ext) {
			t.Fatalf("broadcasts: %v %+v", err, bcs)
		}
		recs, err := db.Moderation().Records(ctx, a.ID, "", 0, 10)
		if err != nil || len(recs) != 1 || recs[0].Content != rec.Content {
			t.Fatalf("records: %v %+v", err, recs)
		}
		f, err := db.Files().Get(ctx, a.ID, file.UUID)
		if err != nil || f.Secret != file.Secret {
			t.Fatalf("file: %v %+v", err, f)
		}
		got, err := db.Apps().Get(ctx, a.ID)
		if err != nil || !bytes.Equal(got.TokenKey, tokenKey) {
			t.Fatalf("app: %v %q", err, got.TokenKey)
		}
	}
	check(t)
	raw := b.Raw(t, db)
	for _, m := range [][]byte{[]byte(marker), tokenKey} {
		if i := bytes.Index(raw, m); i >= 0 {
			t.Fatalf("%q is in the database in the clear: ...%q...", m, raw[max(0, i-40):min(len(raw), i+60)])
		}
	}
	// The jobs open too (claimed last: claiming changes them).
	if jobs, err := db.Push().Claim(ctx, 1, 10, 20, 10); err != nil || len(jobs) != 1 || !bytes.Contains(jobs[0].Payload, []byte(marker)) {
		t.Fatalf("push jobs: %v %+v", err, jobs)
	}
	if jobs, err := db.Callbacks().Claim(ctx, 1, 10, 20, 10); err != nil || len(jobs) != 1 || !bytes.Contains(jobs[0].Payload, []byte(marker)) {
		t.Fatalf("callback jobs: %v %+v", err, jobs)
	}

	// Data written before encryption (plaintext) and under k1 stay
	// readable once k2 is added; new writes use k2.
	db.UseCrypto(sqlstore.Crypto{Secrets: box})
	plain := send("plaintext before encryption")
	db.UseCrypto(sqlstore.Crypto{Secrets: box, Keys: ring(t, l1[0], l2[0]), Encrypt: true})
	newer := send("under k2")
	use, err := db.KeyUse(ctx)
	if err != nil || use[""] != 2 || use["k1"] == 0 || use["k2"] != 2 {
		t.Fatalf("key use after adding k2: %v %v", err, use)
	}
	for _, it := range []*store.Item{plain, newer, first} {
		got, err := db.Messages().Item(ctx, a.ID, it.ID)
		if err != nil || string(got.Body) != string(it.Body) {
			t.Fatalf("item %d: %v %q", it.ID, err, got.Body)
		}
	}
	var last sqlstore.Progress
	if err := db.Reencrypt(ctx, 2, func(p sqlstore.Progress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if use, err = db.KeyUse(ctx); err != nil || len(use) != 1 || use["k2"] == 0 {
		t.Fatalf("key use after Reencrypt: %v %v", err, use)
	}
	if last.Table != "apps" {
		t.Fatalf("last progress = %+v", last)
	}
	// A second run finds nothing to do.
	rewritten := int64(0)
	if err := db.Reencrypt(ctx, 2, func(p sqlstore.Progress) { rewritten += p.Rewritten }); err != nil || rewritten != 0 {
		t.Fatalf("second Reencrypt: %v, %d rewritten", err, rewritten)
	}
	// k1 removed: everything still reads.
	db.UseCrypto(sqlstore.Crypto{Secrets: box, Keys: ring(t, l2[0]), Encrypt: true})
	check(t)

	// Encryption off: Reencrypt decrypts, and reads still work.
	db.UseCrypto(sqlstore.Crypto{Secrets: box, Keys: ring(t, l2[0])})
	if err := db.Reencrypt(ctx, 100, nil); err != nil {
		t.Fatal(err)
	}
	if use, err = db.KeyUse(ctx); err != nil || len(use) != 1 || use[""] == 0 {
		t.Fatalf("key use after decrypting: %v %v", err, use)
	}
	db.UseCrypto(sqlstore.Crypto{Secrets: box})
	check(t)
}

// SealsLegacySecrets checks that Reencrypt seals secrets stored before they
// were sealed (a store used without a secrets box).
func SealsLegacySecrets(t *testing.T, b EncryptionBackend) {
	db := b.Open(t)
	tokenKey := []byte("TOKENKEY-MARKER-0123456789abcdef")
	a := &store.App{UUID: "uuid-legacy", Org: "o", Name: "a", ClientID: "c", ClientSecretHash: []byte{1}, TokenKey: tokenKey,
		Settings: []byte(`{}`)}
	if err := db.Apps().Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	const secretV = "SHARE-SECRET-MARKER"
	if err := db.Files().Create(ctx, &store.File{AppID: a.ID, UUID: "f", ContentType: "x", Secret: secretV}); err != nil {
		t.Fatal(err)
	}
	db.UseCrypto(sqlstore.Crypto{Secrets: SecretsBox(t)})
	var rewritten int64
	if err := db.Reencrypt(ctx, 10, func(p sqlstore.Progress) { rewritten += p.Rewritten }); err != nil || rewritten != 2 {
		t.Fatalf("Reencrypt: %v, %d rewritten, want 2", err, rewritten)
	}
	if got, err := db.Apps().Get(ctx, a.ID); err != nil || !bytes.Equal(got.TokenKey, tokenKey) {
		t.Fatalf("app after sealing: %v %+v", err, got)
	}
	if f, err := db.Files().Get(ctx, a.ID, "f"); err != nil || f.Secret != secretV {
		t.Fatalf("file after sealing: %v %+v", err, f)
	}
	// Another secrets key: CheckSecrets says so; the app reads with a key
	// no token verifies under, and new credentials recover it.
	if err := db.CheckSecrets(ctx); err != nil {
		t.Fatalf("CheckSecrets with the right key: %v", err)
	}
	db.UseCrypto(sqlstore.Crypto{Secrets: SecretsBox(t)})
	if err := db.CheckSecrets(ctx); err == nil || !strings.Contains(err.Error(), "o/a") {
		t.Fatalf("CheckSecrets with another key: %v", err)
	}
	got, err := db.Apps().Get(ctx, a.ID)
	if err != nil || len(got.TokenKey) != 32 || bytes.Equal(got.TokenKey, tokenKey) {
		t.Fatalf("app under another key: %v %+v", err, got)
	}
	if f, err := db.Files().Get(ctx, a.ID, "f"); err != nil || f.Secret == "" || f.Secret == secretV {
		t.Fatalf("file under another key: %v %+v", err, f)
	}
	if err := db.Apps().SetCredentials(ctx, a.ID, []byte{2}, []byte("new-key"), 2); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Apps().Get(ctx, a.ID); err != nil || string(got.TokenKey) != "new-key" || db.CheckSecrets(ctx) != nil {
		t.Fatalf("after new credentials: %v %+v", err, got)
	}
	if b.RawIsRows {
		// Live rows only: a file keeps the old versions' bytes until a
		// VACUUM, which is documented.
		raw := b.Raw(t, db)
		if bytes.Contains(raw, []byte(secretV)) || bytes.Contains(raw, tokenKey) {
			t.Fatal("a secret is still in the clear after Reencrypt")
		}
	}
}
