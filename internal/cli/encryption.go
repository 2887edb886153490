package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/server"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/sqlstore"
)

// encryptionCmd runs "parley encryption keygen|status|rotate".
func encryptionCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("want keygen, status or rotate")
	}
	sub, args := args[0], args[1:]
	if sub == "keygen" {
		id := "k" + time.Now().UTC().Format("20060102")
		if len(args) > 1 {
			return errors.New("want at most one argument, the key ID")
		}
		if len(args) == 1 {
			id = args[0]
		}
		line, err := atrest.NewKeyLine(id)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
		return nil
	}
	// Flags of rotate, split from the config flags.
	batch, after, skipFiles, decrypt, withFiles := 500, int64(0), false, false, false
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "--batch", "--files-after":
			v, err := val()
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || (a == "--batch" && (n < 1 || n > 100000)) {
				return fmt.Errorf("%s: want a number (batch: 1..100000), got %q", a, v)
			}
			if a == "--batch" {
				batch = int(n)
			} else {
				after = n
			}
		case "--skip-files":
			skipFiles = true
		case "--decrypt":
			decrypt = true
		case "--files":
			withFiles = true
		default:
			rest = append(rest, a)
		}
	}
	cfg, pos, err := config.Load("encryption "+sub, rest, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	_, keys, err := server.Keys(&cfg)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch sub {
	case "status":
		use, err := st.KeyUse(ctx)
		if err != nil {
			return err
		}
		out := map[string]any{"values_by_key": use, "encrypt": cfg.Encryption.Enabled}
		if keys != nil {
			out["keys"], out["active"] = keys.IDs(), keys.Active()
		}
		if withFiles && keys != nil {
			blobs, err := server.OpenBlobs(ctx, &cfg, keys)
			if err != nil {
				return fmt.Errorf("blob store: %w", err)
			}
			defer blobs.Close()
			if out["files_by_key"], err = filesByKey(ctx, st, blobs.(*blob.Encrypted), batch); err != nil {
				return err
			}
		}
		return enc.Encode(out)
	case "rotate":
		// Keys without encryption.enabled decrypt everything: only when
		// asked, not because a flag was forgotten.
		if keys != nil && !cfg.Encryption.Enabled && !decrypt {
			return errors.New("encryption.enabled is false: rotate would decrypt all stored content and files; " +
				"pass --decrypt if that is what you want, or the configuration the servers use")
		}
		return rotate(ctx, &cfg, st, keys, batch, after, skipFiles, enc, stderr)
	}
	return fmt.Errorf("unknown encryption command %q", sub)
}

// rotate re-encrypts stored content under the active key (or decrypts it
// when encryption is off), then the files' contents.
func rotate(ctx context.Context, cfg *config.Config, st *sqlstore.DB, keys *atrest.Keyring, batch int, after int64, skipFiles bool,
	enc *json.Encoder, stderr io.Writer) error {
	target := "plaintext"
	if cfg.Encryption.Enabled && keys != nil {
		target = "key " + keys.Active()
	}
	fmt.Fprintf(stderr, "re-encrypting stored content to %s\n", target)
	tables := map[string]sqlstore.Progress{}
	err := st.Reencrypt(ctx, batch, func(p sqlstore.Progress) {
		tables[p.Table] = p
		fmt.Fprintf(stderr, "%s: %d rows scanned, %d rewritten (up to id %d)\n", p.Table, p.Scanned, p.Rewritten, p.Cursor)
	})
	if err != nil {
		return err
	}
	summary := map[string]any{"target": target, "tables": tables}
	if !skipFiles && keys != nil {
		blobs, err := server.OpenBlobs(ctx, cfg, keys)
		if err != nil {
			return fmt.Errorf("blob store: %w", err)
		}
		defer blobs.Close()
		p, err := rotateFiles(ctx, st, blobs.(*blob.Encrypted), batch, after, stderr)
		summary["files"] = p
		if err != nil {
			enc.Encode(summary)
			return fmt.Errorf("files (resume with --files-after %d): %w", p.Cursor, err)
		}
	}
	return enc.Encode(summary)
}

// filesByKey counts file objects (contents and thumbnails) per key ("":
// plaintext), reading each one's header.
func filesByKey(ctx context.Context, st *sqlstore.DB, blobs *blob.Encrypted, batch int) (map[string]int64, error) {
	out := map[string]int64{}
	var after int64
	for {
		list, err := st.FilesAfter(ctx, after, batch)
		if err != nil {
			return nil, err
		}
		for _, f := range list {
			keys := []string{files.Key(f.AppID, f.UUID)}
			if f.ThumbSize > 0 {
				keys = append(keys, keys[0]+".thumb")
			}
			for _, k := range keys {
				id, err := blobs.KeyOf(ctx, k)
				if errors.Is(err, blob.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[id]++
			}
			after = f.ID
		}
		if len(list) < batch {
			return out, nil
		}
	}
}

// rotateFiles rewrites every file's contents (and thumbnail) that is not
// under the current setting, in file ID order after the given ID.
func rotateFiles(ctx context.Context, st *sqlstore.DB, blobs *blob.Encrypted, batch int, after int64, stderr io.Writer) (sqlstore.Progress, error) {
	p := sqlstore.Progress{Table: "files (contents)", Cursor: after}
	for {
		list, err := st.FilesAfter(ctx, p.Cursor, batch)
		if err != nil {
			return p, err
		}
		for _, f := range list {
			keys := []string{files.Key(f.AppID, f.UUID)}
			if f.ThumbSize > 0 {
				keys = append(keys, keys[0]+".thumb")
			}
			for _, k := range keys {
				changed, err := blobs.Rewrite(ctx, k)
				if errors.Is(err, blob.ErrNotFound) {
					continue // deleted meanwhile
				}
				if err != nil {
					return p, fmt.Errorf("%s: %w", k, err)
				}
				if !changed {
					continue
				}
				p.Rewritten++
				// A file deleted while it was rewritten must not come
				// back: its row is gone, so drop the new copy.
				if _, err := st.Files().Get(ctx, f.AppID, f.UUID); errors.Is(err, store.ErrNotFound) {
					blobs.Delete(ctx, k)
				}
			}
			p.Scanned++
			p.Cursor = f.ID
		}
		fmt.Fprintf(stderr, "%s: %d files scanned, %d objects rewritten (up to file id %d)\n", p.Table, p.Scanned, p.Rewritten, p.Cursor)
		if len(list) < batch {
			return p, nil
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
	}
}
