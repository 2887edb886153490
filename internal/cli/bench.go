package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/parleyim/parley/internal/bench"
)

const benchUsage = `parley bench SCENARIO [flags] — load-test the messaging core

Scenarios:
  throughput   N senders, each pipelining up to --window sends to its own
               recipient: acked and delivered msgs/s, and a loss check
  latency      open loop at --rate msgs/s: latency from the intended send time
               to arrival, p50 ... max
  idle         --conns idle authenticated connections from worker processes:
               server KiB per connection, connect rate, idle CPU
  sync         --missed messages waiting; time for a new device, and for a
               device resuming with its cursor, to have them all
  group-big    a group of --members (10,000), --online (2,000) of them
               connected from worker processes; one member sends --messages
               one at a time: time until the last online member has each;
               then database rows and bytes per message (--batch-messages)
               against a 100-member group
  group-fanout a group of --members (1,000), all online; --group-senders send
               --group-rate msgs/s open loop: deliveries/s, latency from the
               intended send time at every recipient, and a loss check
  room-big     a chat room of --members (10,000), all connected from worker
               processes (--joiners of them join over the protocol); the
               owner sends --messages (10) one a second, then a --burst of
               100 pipelined: time until the last member has each,
               deliveries/s, and what the server shed
  room-overload a chat room of --members (1,000); --slow of them (half)
               stop reading while the owner sends a --burst of 3,000,
               low/normal/high in turn: per priority, delivered and shed
  history      (S6) one conversation of --history-messages (1,000,000),
               filled through the storage layer; --reads random pages of
               50 with the protocol's history and pull: p50/p99/max, and
               the database's query plans
  storm        (S7) --storm-conns (10,000) connections, --storm-pairs of them
               sending at --storm-rate; all drop at once and dial again
               within --storm-jitter, resyncing from their cursors:
               connects/s, and every acknowledged message applied once
  ramp         (S3) latency at rising --rates (a fresh server each) until
               p99 > 50 ms or a loss; --plot FILE.png draws p50 and p99
               against the offered rate
  all          each of the above but history, storm and ramp, with their defaults
  suite        the performance issue's table, S1..S8:
                 S1 idle 10k  S2 latency 1k/s, 5k/s  S3 ramp  S4 group-fanout
                 S5 sync 1k, 10k  S6 history  S7 storm  S8 room-big
  S1 ... S8    one row of that table

Side by side: parley bench compare S1|S2|S4|S8 [flags] runs one scenario
against Parley and its peers in one run — Centrifugo (installed by
scripts/peers.sh) and a bare WebSocket relay (no auth, no storage) — each
started fresh per round, the order rotated from round to round (--rounds),
and prints each side's median and the ratio Parley / peer:
  S1  --conns idle connections: server memory per connection, connect rate,
      idle CPU (peer: centrifugo)
  S2  1:1 latency, --senders pairs, open loop at --rate msgs/s (relay)
  S4  group of --members (1,000) online, --group-senders sending
      --group-rate msgs/s: deliveries/s, p99, p99 to the last member
      (centrifugo, relay)
  S8  chat room of --members (10,000) online: --messages timed one at a
      time, then a --burst pipelined: deliveries/s (centrifugo)
--peers picks peers (S1 and S8 also take relay; S2 only relay); a peer whose
binary is missing is skipped with a note. Senders' connections are held by
the bench process, other members' by worker processes (--per-worker each).

By default the bench starts its own server (this binary, serve on a free
loopback port, temp data dir, cheap password hashing) and reads the server's
CPU and memory from /proc. PARLEY_* variables in the environment reach that
server (e.g. PARLEY_SQLITE_SYNCHRONOUS=normal). --db postgres://... runs it
on PostgreSQL: the bench creates a fresh database on that server for each
scenario (parley_bench_<random>; needs CREATEDB) and drops it afterwards.

Cluster: --nodes N starts N servers sharing that database, NATS (--nats,
each run under a subject prefix of its own) and S3 (--s3, under a key
prefix of its own), and spreads the clients round-robin over them so that
a message's sender and recipients sit on different nodes. Server CPU and
memory are summed over the nodes and shown per node. --nodes 1 with --nats
runs one node in cluster mode (the bus's own cost).

  parley bench throughput --nodes 3 \
    --db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
    --nats nats://127.0.0.1:4222 \
    --s3 http://parley:parley-test-secret@127.0.0.1:7070/parley-test

--target uses a running server on this machine instead, or the nodes of a
running cluster, comma-separated (loopback only; needs --owner-password).

Flags:
`

// parseBenchFlags parses `parley bench` arguments (the scenario may come
// before or after the flags).
func parseBenchFlags(args []string, stderr io.Writer, getenv func(string) string) (string, bench.Options, error) {
	o := bench.Defaults()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Target, "target", "", "a running server to load, http://127.0.0.1:PORT, or a cluster's nodes, comma-separated (default: start one)")
	fs.StringVar(&o.OwnerUser, "owner-user", o.OwnerUser, "console owner username (to create the bench app)")
	fs.StringVar(&o.OwnerPassword, "owner-password", "", "console owner password (default for --target: $PARLEY_CONSOLE_OWNER_PASSWORD)")
	fs.StringVar(&o.DB, "db", "", "postgres://... server on which to create a fresh database per scenario for the started servers (default: SQLite in a temp dir)")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "servers to start as one cluster (more than 1 needs --db, --nats and --s3)")
	fs.StringVar(&o.NATS, "nats", "", "NATS for the started servers, nats://127.0.0.1:4222 (cluster mode, even with one node)")
	fs.StringVar(&o.S3, "s3", "", "S3 store for the started servers, http://ACCESS:SECRET@127.0.0.1:PORT/BUCKET (path style)")
	fs.StringVar(&o.Pprof, "pprof", "", "HOST:PORT: started node i serves Go's pprof on PORT+i (debug.listen)")
	fs.StringVar(&o.ServerBin, "server-bin", "", "parley binary to start (default: this one)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "throughput, latency: measured time")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "throughput, latency: warm-up before measuring")
	fs.IntVar(&o.Senders, "senders", o.Senders, "throughput, latency: sender connections (each with its own recipient)")
	fs.IntVar(&o.Window, "window", o.Window, "throughput: unacknowledged sends per sender")
	fs.IntVar(&o.Rate, "rate", o.Rate, "latency: offered msgs/s, all senders together")
	fs.IntVar(&o.BodyBytes, "body-bytes", o.BodyBytes, "message text length in bytes")
	fs.IntVar(&o.Conns, "conns", o.Conns, "idle: connections")
	fs.IntVar(&o.PerWorker, "per-worker", o.PerWorker, "idle: connections per worker process")
	fs.DurationVar(&o.IdleFor, "idle-for", o.IdleFor, "idle: how long server CPU is measured while idle")
	fs.IntVar(&o.Missed, "missed", o.Missed, "sync: messages waiting for the recipient")
	fs.IntVar(&o.Convs, "convs", o.Convs, "sync: conversations they are spread over")
	fs.IntVar(&o.FillDevices, "fill-devices", o.FillDevices, "sync: devices of each sender writing into its conversation at once")
	fs.IntVar(&o.Repeat, "repeat", o.Repeat, "sync: measurements of each kind")
	fs.IntVar(&o.Members, "members", 0, "group and room scenarios: members (default group-big 10000, group-fanout 1000, room-big 10000, room-overload 1000)")
	fs.IntVar(&o.Online, "online", 0, "group-big, group-fanout: members connected, senders included (default 2000 and all)")
	fs.IntVar(&o.Messages, "messages", 0, "group-big, room-big: timed messages, sent one at a time (default 20 and 10)")
	fs.IntVar(&o.BatchMessages, "batch-messages", o.BatchMessages, "group-big: messages per storage batch (0: skip the storage figures)")
	fs.IntVar(&o.GroupRate, "group-rate", o.GroupRate, "group-fanout: offered msgs/s, all senders together")
	fs.IntVar(&o.GroupSenders, "group-senders", o.GroupSenders, "group-fanout: members sending")
	fs.IntVar(&o.Burst, "burst", 0, "room-big: messages pipelined after the timed ones (default 100); room-overload: messages sent (default 3000)")
	fs.IntVar(&o.Slow, "slow", 0, "room-overload: members that stop reading during the burst (default half)")
	fs.IntVar(&o.Joiners, "joiners", 0, "room-big: members that join over the protocol instead of being added over REST (default 100)")
	fs.StringVar(&o.TargetDB, "target-db", "", "group-big with --target: the target's database (SQLite file or postgres:// URL) for the storage figures")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "compare: rounds; each starts every side fresh, the order rotated")
	peers := fs.String("peers", "", "compare: peers to measure against, comma-separated (default: the scenario's)")
	fs.StringVar(&o.CentrifugoBin, "centrifugo", "", "compare: the centrifugo binary (default: $PARLEY_PEERS_BIN/centrifugo, ~/.cache/parley-peers/bin/centrifugo, or $PATH)")
	fs.IntVar(&o.HistoryMessages, "history-messages", o.HistoryMessages, "history: messages in the conversation read")
	fs.IntVar(&o.Reads, "reads", o.Reads, "history: timed page reads of each kind (history, pull)")
	fs.IntVar(&o.StormConns, "storm-conns", o.StormConns, "storm: connections in all (the pairs' included; the rest idle in worker processes)")
	fs.IntVar(&o.StormPairs, "storm-pairs", o.StormPairs, "storm: sender/recipient pairs exchanging messages")
	fs.IntVar(&o.StormRate, "storm-rate", o.StormRate, "storm: offered msgs/s over all pairs")
	fs.DurationVar(&o.StormJitter, "storm-jitter", o.StormJitter, "storm: reconnects are spread over this")
	fs.DurationVar(&o.StormFor, "storm-for", o.StormFor, "storm: steady traffic before the drop and after the reconnects")
	fs.Func("rates", "ramp: offered msgs/s to try, comma-separated (default 1000,2500,5000,7500,10000,15000,20000,30000,40000)", func(v string) error {
		o.Rates = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--rates: %q is not a number", f)
			}
			o.Rates = append(o.Rates, n)
		}
		return nil
	})
	fs.StringVar(&o.Plot, "plot", "", "ramp: write a PNG of p50 and p99 latency against the offered rate to this file")
	fs.BoolVar(&o.JSON, "json", false, "print the results as JSON on stdout (tables go to stderr)")
	var scenario string
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", o, err
		}
		args = fs.Args()
		if len(args) > 0 {
			rest = append(rest, args[0])
			args = args[1:]
		}
	}
	if *peers != "" {
		o.Peers = strings.Split(*peers, ",")
	}
	if len(rest) == 2 && rest[0] == "compare" {
		o.Compare = rest[1]
		rest = rest[:1]
	}
	if len(rest) != 1 || rest[0] == "compare" && o.Compare == "" {
		fs.Usage()
		return "", o, fmt.Errorf("want one scenario (%s, or compare S1|S2|S4|S8), got %q", strings.Join(bench.Scenarios, ", "), rest)
	}
	scenario = rest[0]
	if o.Target != "" && o.OwnerPassword == "" {
		o.OwnerPassword = getenv("PARLEY_CONSOLE_OWNER_PASSWORD")
	}
	o.Getenv = getenv
	return scenario, o, nil
}

func benchCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	scenario, o, err := parseBenchFlags(args, stderr, getenv)
	if err != nil {
		return err
	}
	o.Out, o.Log = stdout, stderr
	if o.JSON {
		o.Out, o.JSONOut = stderr, stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if scenario == "compare" {
		return bench.RunCompare(ctx, o.Compare, o)
	}
	return bench.Run(ctx, scenario, o)
}

// benchPeerWorker is the hidden `parley bench-peer-worker`: a child of
// `parley bench compare` that holds members' connections to one side.
func benchPeerWorker(stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return bench.RunPeerWorker(ctx, os.Stdin, stdout)
}

// benchRelay is the hidden `parley bench-relay --listen 127.0.0.1:PORT`: the
// bare WebSocket relay `parley bench compare` measures Parley against.
func benchRelay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return bench.RunRelay(ctx, *listen, stdout)
}

// benchWorker is the hidden `parley bench-worker`: a child of `parley bench`
// that holds connections for the idle scenario.
func benchWorker(stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return bench.RunWorker(ctx, os.Stdin, stdout)
}
