package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/parleyim/parley/internal/backup"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server"
)

// backupPaths is what a node keeps on disk, from its configuration.
func backupPaths(cfg *config.Config) (backup.Paths, error) {
	if cfg.UsesPostgres() {
		return backup.Paths{}, errors.New("this node stores its data in PostgreSQL: back it up with pg_dump or pg_basebackup (docs/operations.md, \"Backups and restore\")")
	}
	p := backup.Paths{DataDir: cfg.DataDir, KeyFile: cfg.Secrets.KeyFile}
	if p.KeyFile == "" {
		p.KeyFile = filepath.Join(cfg.DataDir, "secret.key")
	}
	if cfg.Blob.Driver == "local" {
		p.FilesDir = cfg.Blob.Dir
		if p.FilesDir == "" {
			p.FilesDir = filepath.Join(cfg.DataDir, "files")
		}
	}
	for _, q := range []*string{&p.DataDir, &p.KeyFile, &p.FilesDir} {
		if *q != "" {
			abs, err := filepath.Abs(*q)
			if err != nil {
				return p, err
			}
			*q = abs
		}
	}
	return p, nil
}

// parley backup [flags] FILE.tar.gz
func backupCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, pos, err := config.Load("backup", args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("want one argument: the archive to write (FILE.tar.gz)")
	}
	p, err := backupPaths(&cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := backup.Create(ctx, p, pos[0], server.Version)
	if err != nil {
		return err
	}
	if p.FilesDir == "" {
		fmt.Fprintln(stderr, "parley backup: files are in S3 and not in the archive: back the bucket up on its side (docs/operations.md)")
	}
	fmt.Fprintf(stdout, "backup written to %s (files included: %v, key included: %v)\n", pos[0], m.Files, m.Key)
	return nil
}

// parley restore [--force] [flags] FILE.tar.gz
func restoreCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	force := false
	var rest []string
	for _, a := range args {
		if a == "--force" || a == "-force" {
			force = true
			continue
		}
		rest = append(rest, a)
	}
	cfg, pos, err := config.Load("restore", rest, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("want one argument: the archive to restore (FILE.tar.gz)")
	}
	p, err := backupPaths(&cfg)
	if err != nil {
		return err
	}
	if _, err := os.Stat(pos[0]); err != nil {
		return err
	}
	m, err := backup.Restore(context.Background(), pos[0], p, force)
	if err != nil {
		return err
	}
	if !m.Files && p.FilesDir != "" {
		fmt.Fprintln(stderr, "parley restore: the archive holds no files (they were in S3): restore the bucket on its side")
	}
	fmt.Fprintf(stdout, "restored %s (taken %s by parley %s) into %s\n", pos[0], m.Created, m.Version, p.DataDir)
	return nil
}
