// Command parley is the Parley IM server and its operator tools.
package main

import (
	"os"

	"github.com/parleyim/parley/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
