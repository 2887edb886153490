package natsbus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/bus/bustest"
	"github.com/parleyim/parley/internal/bus/natsbus"
	"github.com/parleyim/parley/internal/testutil"
)

func open(t *testing.T) bus.Bus {
	t.Helper()
	b, err := natsbus.Open(natsbus.Options{URLs: []string{testutil.NATSURL(t)}, Name: t.Name(), Prefix: "parley-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestNATS_Conformance(t *testing.T) {
	bustest.Run(t, open)
}

func TestNATS_Peers(t *testing.T) {
	bustest.RunPeers(t, func(t *testing.T) (bus.Bus, bus.Bus) { return open(t), open(t) })
}

// A NATS server of the test's own, stopped and started again on the same
// port: the bus reconnects by itself, says so (OnReconnect), and works
// again.
func TestNATS_Reconnect(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("no nats-server binary")
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for range 100 {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				return cmd
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("nats-server did not start")
		return nil
	}
	srv := start()
	reconnected := make(chan struct{}, 1)
	b, err := natsbus.Open(natsbus.Options{URLs: []string{fmt.Sprintf("nats://127.0.0.1:%d", port)},
		OnReconnect: func() { reconnected <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan string, 10)
	b.Subscribe("s", func(_ string, d []byte) { got <- string(d) })
	srv.Process.Kill()
	srv.Wait()
	start()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnect")
	}
	if !b.Connected() {
		t.Fatal("not connected after reconnecting")
	}
	// Subscriptions are restored.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.Publish(context.Background(), "s", []byte("x"))
		select {
		case <-got:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("subscription not restored")
		}
	}
}
