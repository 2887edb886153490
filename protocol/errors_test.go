package protocol

import (
	"flag"
	"os"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/errors.md")

// docs/errors.md is generated from the registry and must be current.
func TestErrorsDoc(t *testing.T) {
	const path = "../docs/errors.md"
	want := ErrorsMarkdown()
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is stale: run `go generate ./protocol`", path)
	}
}

func TestRegistry_Consistent(t *testing.T) {
	ids := map[string]bool{}
	for _, k := range Registry {
		if ids[k.ID] {
			t.Errorf("duplicate ID %s", k.ID)
		}
		ids[k.ID] = true
		if k.Status < 400 || k.Status > 599 || k.Error == "" || k.Exception == "" || k.Doc == "" {
			t.Errorf("incomplete kind %+v", k)
		}
	}
}
