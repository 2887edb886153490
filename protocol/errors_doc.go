package protocol

import (
	"fmt"
	"strings"
)

//go:generate go test -run TestErrorsDoc -update-docs .

// ErrorsMarkdown renders the registry as docs/errors.md.
func ErrorsMarkdown() string {
	var b strings.Builder
	b.WriteString("<!-- Code generated from protocol/errors.go by `go generate ./protocol`. DO NOT EDIT. -->\n\n")
	b.WriteString("# Error codes\n\n")
	b.WriteString("Every REST failure answers with this body (Easemob-compatible):\n\n")
	b.WriteString("```json\n{\"error\": \"illegal_argument\", \"exception\": \"java.lang.IllegalArgumentException\",\n")
	b.WriteString(" \"timestamp\": 1700000000000, \"duration\": 0, \"error_description\": \"username must be provided\"}\n```\n\n")
	b.WriteString("`error` is the Easemob code and may be shared by several kinds; `ID` is Parley's stable name for the\n")
	b.WriteString("kind (the SDKs expose it). Every response carries an `X-Request-Id` header that matches the server's\n")
	b.WriteString("log lines for the request; internal errors quote it in `error_description`.\n\n")
	b.WriteString("| ID | HTTP | `error` | `exception` | When |\n|---|---|---|---|---|\n")
	for _, k := range Registry {
		fmt.Fprintf(&b, "| `%s` | %d | `%s` | `%s` | %s |\n", k.ID, k.Status, k.Error, k.Exception, k.Doc)
	}
	return b.String()
}
