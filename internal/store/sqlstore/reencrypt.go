package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/store"
)

// column is one encrypted column of a table.
type column struct {
	name string
	ad   func(id int64, rule string) []byte
}

// encTable is a table whose content columns Reencrypt rewrites. Rows are
// walked in key order: id, or (id, rule) for callback_jobs.
type encTable struct {
	name    string
	hasRule bool
	cols    []column
}

func byRow(col string) func(int64, string) []byte {
	return func(id int64, _ string) []byte { return rowAD(col, id) }
}

func fixed(col string) func(int64, string) []byte {
	return func(int64, string) []byte { return []byte(col) }
}

var encTables = []encTable{
	{name: "items", cols: []column{{"body", byRow(adItemBody)}, {"ext", byRow(adItemExt)}}},
	{name: "broadcasts", cols: []column{{"body", byRow(adBroadcastBody)}, {"ext", byRow(adBroadcastExt)}}},
	{name: "moderation_records", cols: []column{{"content", byRow(adModContent)}}},
	{name: "push_jobs", cols: []column{{"payload", fixed(adPushPayload)}}},
	{name: "callback_jobs", hasRule: true, cols: []column{{"payload", fixed(adCallbackPay)}}},
}

// Progress reports Reencrypt's work on one table so far.
type Progress struct {
	Table     string
	Scanned   int64 // rows looked at
	Rewritten int64 // rows rewritten
	// Cursor is the last row done: the ID to resume after.
	Cursor int64
}

// Reencrypt rewrites every stored message content value that is not under
// the current setting — the active key when encryption is on, plaintext
// when it is off — and seals secrets stored before they were sealed. It
// works in batches of batch rows, each row updated only if it still holds
// what was read (so a concurrent edit or recall wins), and is safe while
// servers use the database. It can be stopped at any time and run again:
// rows already done are skipped. progress, if set, is called after each
// batch.
func (db *DB) Reencrypt(ctx context.Context, batch int, progress func(Progress)) error {
	if batch < 1 {
		batch = 500
	}
	for _, t := range encTables {
		if err := db.reencryptTable(ctx, t, batch, progress); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if err := db.sealFileSecrets(ctx, batch, progress); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	if err := db.sealTokenKeys(ctx, progress); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	return nil
}

// stale reports whether a stored value is not under the current setting.
func (c *Crypto) stale(v string) bool {
	if v == "" {
		return false
	}
	id, sealed := atrest.KeyOf(v)
	if c.Encrypt {
		return !sealed || id != c.Keys.Active()
	}
	return sealed
}

func (db *DB) reencryptTable(ctx context.Context, t encTable, batch int, progress func(Progress)) error {
	cols := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i] = c.name
	}
	key := "id"
	if t.hasRule {
		key = "id, rule"
	}
	p := Progress{Table: t.name}
	var lastID int64
	var lastRule string
	for {
		c := db.cr()
		where := `id > ?`
		args := []any{lastID}
		if t.hasRule {
			where = `(id > ? OR (id = ? AND rule > ?))`
			args = []any{lastID, lastID, lastRule}
		}
		rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT `+key+`, `+strings.Join(cols, ", ")+` FROM `+t.name+
			` WHERE `+where+` ORDER BY `+key+` LIMIT ?`), append(args, batch)...)
		if err != nil {
			return err
		}
		type row struct {
			id   int64
			rule string
			vals []string
		}
		var list []row
		for rows.Next() {
			r := row{vals: make([]string, len(cols))}
			dst := []any{&r.id}
			if t.hasRule {
				dst = append(dst, &r.rule)
			}
			for i := range r.vals {
				dst = append(dst, &r.vals[i])
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range list {
			p.Scanned++
			needs := false
			for _, v := range r.vals {
				needs = needs || c.stale(v)
			}
			if !needs {
				continue
			}
			set := make([]string, len(cols))
			newVals := make([]any, len(cols))
			for i, col := range t.cols {
				set[i] = col.name + ` = ?`
				ad := col.ad(r.id, r.rule)
				plain, err := db.open(ad, r.vals[i])
				if err != nil {
					return err
				}
				newVals[i] = db.seal(ad, plain)
			}
			q := `UPDATE ` + t.name + ` SET ` + strings.Join(set, ", ") + ` WHERE id = ?`
			args := append(newVals, r.id)
			if t.hasRule {
				q += ` AND rule = ?`
				args = append(args, r.rule)
			}
			for i, col := range cols {
				q += ` AND ` + col + ` = ?`
				args = append(args, r.vals[i])
			}
			res, err := db.exec(ctx, q, args...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				p.Rewritten++
			}
		}
		if len(list) > 0 {
			lastID, lastRule = list[len(list)-1].id, list[len(list)-1].rule
			p.Cursor = lastID
		}
		if progress != nil {
			progress(p)
		}
		if len(list) < batch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// sealFileSecrets seals share-secrets stored before they were sealed.
func (db *DB) sealFileSecrets(ctx context.Context, batch int, progress func(Progress)) error {
	if db.cr().Secrets == nil {
		return nil
	}
	p := Progress{Table: "files"}
	var last int64
	for {
		rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT id, uuid, secret FROM files WHERE id > ? ORDER BY id LIMIT ?`), last, batch)
		if err != nil {
			return err
		}
		type row struct {
			id            int64
			uuid, secretV string
		}
		var list []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.uuid, &r.secretV); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range list {
			p.Scanned++
			if r.secretV == "" || secret.Sealed(r.secretV) {
				continue
			}
			res, err := db.exec(ctx, `UPDATE files SET secret = ? WHERE id = ? AND secret = ?`,
				db.sealSecret(fileSecretAD(r.uuid), r.secretV), r.id, r.secretV)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				p.Rewritten++
			}
		}
		if len(list) > 0 {
			last = list[len(list)-1].id
			p.Cursor = last
		}
		if progress != nil {
			progress(p)
		}
		if len(list) < batch {
			return nil
		}
	}
}

// sealTokenKeys seals apps' token keys stored before they were sealed.
func (db *DB) sealTokenKeys(ctx context.Context, progress func(Progress)) error {
	if db.cr().Secrets == nil {
		return nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, uuid, token_key FROM apps ORDER BY id`)
	if err != nil {
		return err
	}
	type row struct {
		id   int64
		uuid string
		key  []byte
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.uuid, &r.key); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	p := Progress{Table: "apps"}
	for _, r := range list {
		p.Scanned++
		if tokenKeySealed(r.key) {
			continue
		}
		res, err := db.exec(ctx, `UPDATE apps SET token_key = ? WHERE id = ? AND token_key = ?`, db.sealTokenKey(r.uuid, r.key), r.id, r.key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			p.Rewritten++
		}
		p.Cursor = r.id
	}
	if progress != nil {
		progress(p)
	}
	return nil
}

// FilesAfter lists up to limit files with IDs above afterID, in ID order
// (for re-encrypting their contents).
func (db *DB) FilesAfter(ctx context.Context, afterID int64, limit int) ([]store.File, error) {
	rows, err := db.read(ctx, `SELECT `+fileCols+` FROM files WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.File
	for rows.Next() {
		f, err := db.scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// KeyUse counts stored content values per key ("" is plaintext), over the
// encrypted columns: what is left under a key before it can be removed.
func (db *DB) KeyUse(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	n := len(atrest.ValuePrefix) + atrest.MaxIDLen + 1
	for _, t := range encTables {
		for _, c := range t.cols {
			rows, err := db.r.QueryContext(ctx, fmt.Sprintf(`SELECT CASE WHEN %[1]s LIKE '%[2]s%%' THEN substr(%[1]s, 1, %[3]d) ELSE '' END,
				count(*) FROM %[4]s WHERE %[1]s <> '' GROUP BY 1`, c.name, atrest.ValuePrefix, n, t.name))
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var head string
				var count int64
				if err := rows.Scan(&head, &count); err != nil {
					rows.Close()
					return nil, err
				}
				id, _ := atrest.KeyOf(head)
				out[id] += count
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
