package testutil

import (
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/atrest"
)

// Keyring returns a keyring of new random keys with the given IDs (the last
// is active), and their lines.
func Keyring(t testing.TB, ids ...string) (*atrest.Keyring, []string) {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := atrest.NewKeyLine(id)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	k, err := atrest.Parse(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k, lines
}
