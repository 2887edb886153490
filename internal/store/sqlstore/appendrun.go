package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parleyim/parley/internal/store"
)

// appendReq is a plain message append (see Submit): the op, and the
// caller's input that every run starts from.
type appendReq struct {
	op    *store.AppendOp
	input store.Item
}

// The array statements of appendRun (PostgreSQL: unnest, = ANY, casts).
const (
	// qDedupeMany finds the stored items of a run's idempotency keys.
	qDedupeMany = `SELECT ` + itemRead + ` FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(a, f, c)
		JOIN items ON app_id = k.a AND from_user = k.f AND client_msg_id = k.c AND client_msg_id <> ''`
	// qNextSeqs takes n sequence numbers from each conversation. The rows
	// are locked in ascending ID order (the order every writer takes
	// conversation locks in) by l, whatever plan the update gets: it can
	// only reach a row that l has returned, so has locked after every
	// lower one. The = ANY term lets the update find its rows by the
	// primary key (without it the planner may scan the table).
	qNextSeqs = `WITH l AS MATERIALIZED (SELECT id FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)
		UPDATE conversations c SET last_seq = c.last_seq + v.n, last_item_id = v.last, updated = v.upd
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, n, last, upd)
		WHERE c.id = ANY($1::bigint[]) AND c.id = v.id AND c.id IN (SELECT id FROM l)
		RETURNING c.id, c.last_seq`
	qInsertItems = `INSERT INTO items (` + itemCols + `)
		SELECT id, app_id, conv_id, seq, kind, from_user, to_user, type, body, ext, client_msg_id, 0, FALSE, created
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[])
		AS v(id, app_id, conv_id, seq, kind, from_user, to_user, type, body, ext, client_msg_id, created)`
)

type dedupeKey struct {
	app, from int64
	cmid      string
}

// appendRun appends a run of plain messages (two or more, in batch order)
// with the same outcome as appendOne on each in turn, in three statements:
// one idempotency lookup for the run's keys, one sequence allocation for
// its conversations, one insert for its items (then each op's push and
// callback jobs, if any). A later op with the key of an earlier one in the
// run is its duplicate. Any error fails the run; the writer then reruns
// each op alone (appendOne), which isolates a bad one.
func (db *DB) appendRun(ctx context.Context, tx *sql.Tx, run []*writeReq) error {
	var keyApp, keyFrom []int64
	var keyCmid []string
	for _, r := range run {
		op := r.app.op
		op.Item, op.Duplicate = r.app.input, false // a rerun starts afresh
		if it := &op.Item; it.ClientMsgID != "" {
			keyApp, keyFrom, keyCmid = append(keyApp, it.AppID), append(keyFrom, it.From), append(keyCmid, it.ClientMsgID)
		}
	}
	stored := map[dedupeKey]*store.Item{}
	if len(keyApp) > 0 {
		rows, err := tx.QueryContext(ctx, qDedupeMany, keyApp, keyFrom, keyCmid)
		if err != nil {
			return err
		}
		for rows.Next() {
			it, err := db.scanItem(rows)
			if err != nil {
				rows.Close()
				return err
			}
			stored[dedupeKey{it.AppID, it.From, it.ClientMsgID}] = it
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}

	// The ops to insert, and per conversation how many seqs they take.
	fresh := make([]*store.AppendOp, 0, len(run))
	first := map[dedupeKey]*store.AppendOp{}
	var dups [][2]*store.AppendOp // {duplicate, the earlier op in the run}
	convAt := map[int64]int{}
	var convID, convN, convLast, convUpd []int64
	for _, r := range run {
		op := r.app.op
		it := &op.Item
		if it.ClientMsgID != "" {
			k := dedupeKey{it.AppID, it.From, it.ClientMsgID}
			if prev := stored[k]; prev != nil {
				op.Item, op.Duplicate = *prev, true
				continue
			}
			if f := first[k]; f != nil {
				dups = append(dups, [2]*store.AppendOp{op, f})
				continue
			}
			first[k] = op
		}
		it.ConvID = r.key // a known conversation: Submit's key
		if it.Kind == "" {
			it.Kind = store.ItemMsg
		}
		i, ok := convAt[it.ConvID]
		if !ok {
			i = len(convID)
			convAt[it.ConvID] = i
			convID, convN, convLast, convUpd = append(convID, it.ConvID), append(convN, 0), append(convLast, 0), append(convUpd, 0)
		}
		convN[i]++
		convLast[i], convUpd[i] = it.ID, it.Created
		fresh = append(fresh, op)
	}
	if len(fresh) == 0 {
		return nil // all stored already (a run has no in-run duplicate without its first)
	}

	next := make([]int64, len(convID)) // the next seq of each conversation
	rows, err := tx.QueryContext(ctx, qNextSeqs, convID, convN, convLast, convUpd)
	if err != nil {
		return err
	}
	got := 0
	for rows.Next() {
		var id, last int64
		if err := rows.Scan(&id, &last); err != nil {
			rows.Close()
			return err
		}
		i, ok := convAt[id]
		if !ok {
			rows.Close()
			return fmt.Errorf("sequence of conversation %d: not asked for", id)
		}
		next[i] = last - convN[i] + 1
		got++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if got != len(convID) {
		return sql.ErrNoRows // a conversation is gone: the rerun alone tells whose
	}

	n := len(fresh)
	var (
		ids, apps, convs, seqs, froms, tos, created = make([]int64, n), make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		kinds, types, bodies, exts, cmids = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
	)
	for j, op := range fresh {
		it := &op.Item
		i := convAt[it.ConvID]
		it.Seq = next[i]
		next[i]++
		ids[j], apps[j], convs[j], seqs[j], froms[j], tos[j], created[j] = it.ID, it.AppID, it.ConvID, it.Seq,
			it.From, it.To, it.Created
		kinds[j], types[j], cmids[j] = it.Kind, it.Type, it.ClientMsgID
		bodies[j], exts[j] = db.itemContent(it.ID, it.Body, it.Ext)
	}
	if _, err := tx.ExecContext(ctx, qInsertItems, ids, apps, convs, seqs, kinds, froms, tos, types, bodies, exts,
		cmids, created); err != nil {
		return err
	}
	for _, d := range dups {
		d[0].Item, d[0].Duplicate = storedItem(&d[1].Item), true
	}

	t := txq{ctx, db, tx}
	for _, op := range fresh {
		it := &op.Item
		if j := op.Push; j != nil {
			j.ID, j.ItemID, j.AppID = it.ID, it.ID, it.AppID
			if _, err := t.exec(qAddJob, db.jobArgs(j)...); err != nil {
				return err
			}
		}
		if j := op.Callback; j != nil {
			j.ID, j.ItemID, j.AppID, j.Rule = it.ID, it.ID, it.AppID, ""
			if _, err := t.exec(qAddCallbackJob, db.callbackJobArgs(j)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// storedItem is it as a read of its row returns it (what a duplicate
// gets): only the stored columns, empty content as nil.
func storedItem(it *store.Item) store.Item {
	out := store.Item{ID: it.ID, AppID: it.AppID, ConvID: it.ConvID, Seq: it.Seq, Kind: it.Kind, From: it.From,
		To: it.To, Type: it.Type, ClientMsgID: it.ClientMsgID, Created: it.Created}
	if len(it.Body) > 0 {
		out.Body = append([]byte(nil), it.Body...)
	}
	if len(it.Ext) > 0 {
		out.Ext = append([]byte(nil), it.Ext...)
	}
	return out
}
