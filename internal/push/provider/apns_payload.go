package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The APNs payload, and what em_apns_ext does to it.
//
// A notification with a title or a body (after em_apns_ext) is an alert:
//
//	{"aps":{"alert":{"title":T,"body":B},"badge":N,"sound":S,
//	        "category":C,"mutable-content":1}, <custom keys>}
//
// title and body are left out when empty, badge when Notification.Badge
// is -1, sound is Notification.Sound or "default"; category and
// mutable-content only come from em_apns_ext. Without a title and a body
// it is a background notification, {"aps":{"content-available":1}} plus
// the custom keys, sent with apns-push-type background and priority 5, as
// Apple requires (no alert, badge or sound).
//
// Custom keys are Notification.Data (each key at the top level, beside
// aps) and then the custom keys of em_apns_ext, which win over Data.
//
// em_apns_ext (Notification.APNs) is a JSON object; its keys map so:
//
//	em_push_title            string    aps.alert.title (replaces Title)
//	em_push_content          string    aps.alert.body (replaces Body)
//	em_push_sound            string    aps.sound
//	em_push_badge            integer   aps.badge (replaces Badge; ≥ 0)
//	em_push_category         string    aps.category
//	em_push_mutable_content  boolean   aps["mutable-content"] = 1 when true
//	                                   (also 1/0 and "true"/"false")
//	extern                   any       top-level "e" (as Easemob delivers it)
//	aps                      -         ignored: aps is built from the above
//	other em_* keys          -         ignored (Easemob control keys)
//	any other key            any       the same key at the top level
//
// A null value is the same as an absent key. em_apns_ext that is not an
// object, or a mapped key of the wrong type, fails the send (a permanent
// error): it is a bug of the sender, which a silent fallback would hide.
//
// Through FCM the same mapping fills message.apns.payload, except that
// aps.alert is only set when em_apns_ext replaces the title or the body
// (FCM fills it from message.notification), and Data travels in
// message.data (FCM adds it to the payload itself).

// apnsExt is em_apns_ext, decoded.
type apnsExt struct {
	title, body, sound, category *string
	badge                        *int
	mutable                      bool
	custom                       map[string]json.RawMessage
}

func parseAPNsExt(raw json.RawMessage) (apnsExt, error) {
	var e apnsExt
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return e, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return e, fmt.Errorf("em_apns_ext: not a JSON object")
	}
	var err error
	for k, v := range m {
		if string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		switch k {
		case "em_push_title":
			e.title, err = extString(k, v)
		case "em_push_content":
			e.body, err = extString(k, v)
		case "em_push_sound":
			e.sound, err = extString(k, v)
		case "em_push_category":
			e.category, err = extString(k, v)
		case "em_push_badge":
			e.badge, err = extBadge(k, v)
		case "em_push_mutable_content":
			e.mutable, err = extBool(k, v)
		case "aps", "extern":
		default:
			if strings.HasPrefix(k, "em_") {
				continue
			}
			if e.custom == nil {
				e.custom = make(map[string]json.RawMessage)
			}
			e.custom[k] = v
		}
		if err != nil {
			return e, err
		}
	}
	if v, ok := m["extern"]; ok && string(bytes.TrimSpace(v)) != "null" {
		if e.custom == nil {
			e.custom = make(map[string]json.RawMessage)
		}
		e.custom["e"] = v
	}
	return e, nil
}

func extString(k string, v json.RawMessage) (*string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("em_apns_ext.%s: want a string", k)
	}
	return &s, nil
}

func extBadge(k string, v json.RawMessage) (*int, error) {
	var n int
	if err := json.Unmarshal(v, &n); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, fmt.Errorf("em_apns_ext.%s: want an integer", k)
		}
		if n, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			return nil, fmt.Errorf("em_apns_ext.%s: want an integer", k)
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("em_apns_ext.%s: negative", k)
	}
	return &n, nil
}

func extBool(k string, v json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b, nil
	}
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return f != 0, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("em_apns_ext.%s: want a boolean", k)
}

// apnsAlert is aps.alert.
type apnsAlert struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

// apnsPayload builds the APNs payload of n (see above); forFCM builds
// FCM's apns.payload. alert reports an alert rather than a background
// notification.
func apnsPayload(n Notification, forFCM bool) (payload map[string]any, alert bool, err error) {
	ext, err := parseAPNsExt(n.APNs)
	if err != nil {
		return nil, false, err
	}
	title, body := n.Title, n.Body
	if ext.title != nil {
		title = *ext.title
	}
	if ext.body != nil {
		body = *ext.body
	}
	alert = title != "" || body != ""
	aps := make(map[string]any)
	if alert {
		if !forFCM || ext.title != nil || ext.body != nil {
			aps["alert"] = apnsAlert{Title: title, Body: body}
		}
		switch {
		case ext.badge != nil:
			aps["badge"] = *ext.badge
		case n.Badge >= 0:
			aps["badge"] = n.Badge
		}
		switch {
		case ext.sound != nil && *ext.sound != "":
			aps["sound"] = *ext.sound
		case n.Sound != "":
			aps["sound"] = n.Sound
		default:
			aps["sound"] = "default"
		}
		if ext.category != nil && *ext.category != "" {
			aps["category"] = *ext.category
		}
		if ext.mutable {
			aps["mutable-content"] = 1
		}
	} else {
		aps["content-available"] = 1
	}
	payload = map[string]any{"aps": aps}
	if !forFCM {
		for k, v := range n.Data {
			if k != "aps" {
				payload[k] = v
			}
		}
	}
	for k, v := range ext.custom {
		payload[k] = v
	}
	return payload, alert, nil
}
