package messaging

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Message bodies. Each type has its fields (Easemob's names, reference
// §2.4.1); a field a type defines must have the right JSON type and range,
// required ones must be present, and anything else in the body or in ext
// passes through untouched (ext's em_* keys included). Attachment URLs that
// point at this app's own /chatfiles are returned, so the message can
// reference the uploaded file (recalling it deletes the file).

// Field kinds.
const (
	fString    = iota // a JSON string
	fURL              // an http(s) URL string
	fCount            // a non-negative integer (JSON number)
	fCoord            // a number or a numeric string
	fSize             // {"width": n, "height": n}
	fStringMap        // an object of string values (≤16)
	fEvent            // a customEvent name
)

type field struct {
	name     string
	kind     int
	required bool
	max      int // fString: characters; fCoord: absolute bound; fCount: maximum (0: none)
}

const (
	maxURL      = 2048
	maxFilename = 255
	maxSecret   = 128
)

var bodyFields = map[string][]field{
	protocol.MsgText: {{name: "msg", kind: fString, required: true}},
	protocol.MsgCmd:  {{name: "action", kind: fString, required: true, max: 256}},
	protocol.MsgCustom: {
		{name: "customEvent", kind: fEvent},
		{name: "customExts", kind: fStringMap},
	},
	protocol.MsgImage: {
		{name: "url", kind: fURL, required: true}, {name: "filename", kind: fString, max: maxFilename},
		{name: "secret", kind: fString, max: maxSecret}, {name: "size", kind: fSize},
		{name: "file_length", kind: fCount}, {name: "thumb", kind: fURL}, {name: "thumb_secret", kind: fString, max: maxSecret},
	},
	protocol.MsgAudio: {
		{name: "url", kind: fURL, required: true}, {name: "filename", kind: fString, max: maxFilename},
		{name: "length", kind: fCount, max: 24 * 3600}, {name: "secret", kind: fString, max: maxSecret},
		{name: "file_length", kind: fCount},
	},
	protocol.MsgVideo: {
		{name: "url", kind: fURL, required: true}, {name: "filename", kind: fString, max: maxFilename},
		{name: "thumb", kind: fURL}, {name: "length", kind: fCount, max: 24 * 3600}, {name: "file_length", kind: fCount},
		{name: "secret", kind: fString, max: maxSecret}, {name: "thumb_secret", kind: fString, max: maxSecret},
		{name: "size", kind: fSize},
	},
	protocol.MsgFile: {
		{name: "url", kind: fURL, required: true}, {name: "filename", kind: fString, required: true, max: maxFilename},
		{name: "secret", kind: fString, max: maxSecret}, {name: "file_length", kind: fCount},
	},
	protocol.MsgLoc: {
		{name: "lat", kind: fCoord, required: true, max: 90}, {name: "lng", kind: fCoord, required: true, max: 180},
		{name: "addr", kind: fString, max: 1024}, {name: "buildingName", kind: fString, max: 256},
	},
	protocol.MsgCombine: {
		{name: "url", kind: fURL, required: true}, {name: "title", kind: fString, max: 256},
		{name: "summary", kind: fString, max: 1024}, {name: "combineLevel", kind: fCount, max: 10},
		{name: "filename", kind: fString, max: maxFilename}, {name: "secret", kind: fString, max: maxSecret},
		{name: "file_length", kind: fCount}, {name: "subType", kind: fString, max: 32},
	},
}

// typeList names the accepted types for error messages.
const typeList = "txt, img, audio, video, file, loc, cmd, custom or combine"

var customEventRE = regexp.MustCompile(`^[a-zA-Z0-9\-_/.]{1,32}$`)

// checkBody validates a body's fields for its type and returns the UUIDs of
// this app's uploaded files it references (url, thumb).
func checkBody(app *tenant.App, typ string, fields map[string]json.RawMessage) ([]string, error) {
	rules, ok := bodyFields[typ]
	if !ok {
		if typ == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "type must be provided")
		}
		return nil, errs.New(protocol.ErrIllegalArgument, "message type %q is not supported; use %s", typ, typeList)
	}
	var files []string
	for _, f := range rules {
		raw, ok := fields[f.name]
		if !ok || string(raw) == "null" {
			if f.required {
				return nil, errs.New(protocol.ErrIllegalArgument, "%s message body needs %s", typ, f.name)
			}
			continue
		}
		uuid, err := checkField(app, f, raw)
		if err != nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "body.%s %s", f.name, err)
		}
		if uuid != "" {
			files = append(files, uuid)
		}
	}
	return files, nil
}

func checkField(app *tenant.App, f field, raw json.RawMessage) (fileUUID string, err error) {
	switch f.kind {
	case fString, fURL, fEvent:
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "", fmt.Errorf("must be a string")
		}
		switch {
		case f.kind == fEvent:
			if !customEventRE.MatchString(v) {
				return "", fmt.Errorf("must match [a-zA-Z0-9-_/.]{1,32}")
			}
		case f.kind == fURL:
			return checkURL(app, v)
		case f.max > 0 && utf8.RuneCountInString(v) > f.max:
			return "", fmt.Errorf("is longer than %d characters", f.max)
		}
	case fCount:
		var n float64
		if json.Unmarshal(raw, &n) != nil || n < 0 || n != math.Trunc(n) || n > 1<<53 {
			return "", fmt.Errorf("must be a non-negative whole number")
		}
		if f.max > 0 && n > float64(f.max) {
			return "", fmt.Errorf("must be at most %d", f.max)
		}
	case fCoord:
		n, ok := number(raw)
		if !ok || math.IsNaN(n) || math.Abs(n) > float64(f.max) {
			return "", fmt.Errorf("must be a number from -%d to %d", f.max, f.max)
		}
	case fSize:
		var sz map[string]json.RawMessage
		if json.Unmarshal(raw, &sz) != nil || sz == nil {
			return "", fmt.Errorf("must be an object with width and height")
		}
		for _, k := range []string{"width", "height"} {
			var n float64
			if v, ok := sz[k]; ok && (json.Unmarshal(v, &n) != nil || n < 0 || n > 1e6) {
				return "", fmt.Errorf("%s must be a number from 0 to 1000000", k)
			}
		}
	case fStringMap:
		var m map[string]string
		if json.Unmarshal(raw, &m) != nil || len(m) > 16 {
			return "", fmt.Errorf("must be an object of at most 16 string values")
		}
	}
	return "", nil
}

// number reads a JSON number or a string holding one (Easemob's send
// examples give coordinates as strings).
func number(raw json.RawMessage) (float64, bool) {
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return n, err == nil
}

// checkURL accepts an absolute http(s) URL. One that points at this app's
// /{org}/{app}/chatfiles/{uuid} (on any host: the server may sit behind
// any name) references an upload, whose UUID is returned.
func checkURL(app *tenant.App, v string) (string, error) {
	if len(v) > maxURL {
		return "", fmt.Errorf("is longer than %d characters", maxURL)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("must be an absolute http or https URL")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "chatfiles" &&
		strings.EqualFold(parts[n-4], app.Org) && strings.EqualFold(parts[n-3], app.Name) {
		return parts[n-1], nil
	}
	return "", nil
}
