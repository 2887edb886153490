// Package cli implements the parley command's subcommands.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server"
	"github.com/parleyim/parley/internal/tenant"
)

const usage = `parley — open-source instant messaging server

Usage:
  parley serve [flags]                  run the server (flags: parley config)
  parley app create [flags] ORG APP     create an app; prints its credentials as JSON
        --open-registration             let clients register users without an app token
        --setting KEY=VALUE             any app setting (docs/rest.md), repeatable:
                                        e.g. --setting friends_only=true --setting max_devices=2
  parley app list [flags]               list apps as JSON
  parley app rotate-secret [flags] ORG APP
                                        new client secret; every token of the app is revoked
  parley app set [flags] ORG APP --open-registration=true|false --setting KEY=VALUE ...
  parley encryption keygen [ID]         print a new encryption key line ID:BASE64 (docs/operations.md)
  parley encryption status [flags]      stored message content per encryption key, as JSON
                                        (--files: file contents too, one header read per file)
  parley encryption rotate [flags]      re-encrypt stored content and files under the active key
                                        (or decrypt them when encryption.enabled is false); safe
                                        while servers run; resumable: --files-after ID, --batch N,
                                        --skip-files; --decrypt to decrypt with encryption off
  parley chat [flags]                   terminal chat client: --url --org --app --user --password
  parley bench SCENARIO [flags]         load-test: throughput, latency, idle, sync, group-big, group-fanout, room-big, room-overload, all
  parley bench compare S1|S2|S4|S8      the same load side by side with Centrifugo and a bare relay
  parley backup [flags] FILE.tar.gz     embedded mode: copy the database (a consistent snapshot, also
                                        while the server runs), local files and key file into an archive
  parley restore [--force] [flags] FILE.tar.gz
                                        unpack a backup into an empty data dir (--force: replace what is there)
  parley config                         print every setting with its default, env var and flag
  parley version

Storage flags shared by serve, app, encryption, backup and restore: --data DIR (SQLite in DIR), --db postgres://...,
--config FILE. Environment: PARLEY_DATA, PARLEY_DB, PARLEY_CONFIG, ...
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr, getenv)
	case "app":
		err = appCmd(args[1:], stdout, stderr, getenv)
	case "encryption":
		err = encryptionCmd(args[1:], stdout, stderr, getenv)
	case "chat":
		err = chat(args[1:], os.Stdin, stdout, stderr, getenv)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr, getenv)
	case "bench-worker": // hidden: a child of parley bench
		err = benchWorker(stdout)
	case "backup":
		err = backupCmd(args[1:], stdout, stderr, getenv)
	case "restore":
		err = restoreCmd(args[1:], stdout, stderr, getenv)
	case "bench-relay": // hidden: the bare relay of parley bench compare
		err = benchRelay(args[1:], stdout, stderr)
	case "bench-peer-worker": // hidden: a child of parley bench compare
		err = benchPeerWorker(stdout)
	case "config":
		fmt.Fprint(stdout, config.Sample(config.Default()))
	case "version", "--version":
		fmt.Fprintln(stdout, "parley", server.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "parley %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func serve(args []string, stderr io.Writer, getenv func(string) string) error {
	cfg, rest, err := config.Load("serve", args, getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments %q", rest)
	}
	log := server.NewLogger(cfg.Log, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// appFlags splits the app subcommand's own flags from the config flags.
func appCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("want create, list, rotate-secret or set")
	}
	sub := args[0]
	var openReg *bool
	var rest, settings []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--open-registration" || a == "--open-registration=true":
			v := true
			openReg = &v
		case a == "--open-registration=false":
			v := false
			openReg = &v
		case a == "--setting" && i+1 < len(args):
			i++
			settings = append(settings, args[i])
		case strings.HasPrefix(a, "--setting="):
			settings = append(settings, strings.TrimPrefix(a, "--setting="))
		default:
			rest = append(rest, a)
		}
	}
	cfg, pos, err := config.Load("app "+sub, rest, getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := server.OpenStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	apps := tenant.NewService(st)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	need := func(n int) error {
		if len(pos) != n {
			return fmt.Errorf("want %d arguments (ORG APP), got %d", n, len(pos))
		}
		return nil
	}
	switch sub {
	case "create":
		if err := need(2); err != nil {
			return err
		}
		set := tenant.Settings{}
		if openReg != nil {
			set.OpenRegistration = *openReg
		}
		if err := applySettings(&set, settings); err != nil {
			return err
		}
		created, err := apps.Create(ctx, pos[0], pos[1], set)
		if err != nil {
			return err
		}
		return enc.Encode(created)
	case "rotate-secret":
		if err := need(2); err != nil {
			return err
		}
		created, err := apps.RotateSecret(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return enc.Encode(created)
	case "set":
		if err := need(2); err != nil {
			return err
		}
		a, err := apps.Resolve(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		set := a.Settings
		if openReg != nil {
			set.OpenRegistration = *openReg
		}
		if err := applySettings(&set, settings); err != nil {
			return err
		}
		a, err = apps.SetSettings(ctx, pos[0], pos[1], set)
		if err != nil {
			return err
		}
		return enc.Encode(appInfo(a))
	case "list":
		if err := need(0); err != nil {
			return err
		}
		list, err := apps.List(ctx)
		if err != nil {
			return err
		}
		out := make([]any, 0, len(list))
		for _, a := range list {
			out = append(out, appInfo(a))
		}
		return enc.Encode(out)
	}
	return fmt.Errorf("unknown app command %q", sub)
}

// applySettings applies --setting key=value pairs (the JSON names of
// tenant.Settings; values are JSON, or plain strings).
func applySettings(set *tenant.Settings, pairs []string) error {
	if len(pairs) == 0 {
		return nil
	}
	patch := map[string]json.RawMessage{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return fmt.Errorf("--setting %q: want key=value", p)
		}
		if !json.Valid([]byte(v)) {
			b, _ := json.Marshal(v)
			v = string(b)
		}
		patch[k] = json.RawMessage(v)
	}
	out, err := set.Patch(patch)
	if err != nil {
		return fmt.Errorf("--setting: %v", err)
	}
	*set = out
	return nil
}

func appInfo(a *tenant.App) map[string]any {
	return map[string]any{
		"appkey": a.AppKey(), "org_name": a.Org, "app_name": a.Name, "application": a.UUID,
		"client_id": a.ClientID, "created": a.Created, "modified": a.Modified, "settings": a.Settings,
	}
}
