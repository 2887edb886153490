package messaging

import (
	"encoding/json"
	"strconv"
)

// Bus events. Every event for a user goes on the user's subject, so a
// gateway needs one subscription per online user. An event is one kind byte
// followed by its payload:
//
//	'D' deliver: 1 byte n, n bytes of resource to skip (the sending device),
//	    then the encoded frame, written as is to every other device;
//	'K' kick: JSON KickEvent.
const (
	EventDeliver = 'D'
	EventKick    = 'K'
)

// UserSubject is the bus subject of one user's events.
func UserSubject(appID, userID int64) string {
	return "u." + strconv.FormatInt(appID, 10) + "." + strconv.FormatInt(userID, 10)
}

// EncodeDeliver builds a deliver event.
func EncodeDeliver(skipResource string, frame []byte) []byte {
	if len(skipResource) > 255 {
		skipResource = skipResource[:255]
	}
	b := make([]byte, 0, 2+len(skipResource)+len(frame))
	b = append(b, EventDeliver, byte(len(skipResource)))
	b = append(b, skipResource...)
	return append(b, frame...)
}

// DecodeDeliver splits a deliver event; ok is false if it is malformed.
func DecodeDeliver(ev []byte) (skip string, frame []byte, ok bool) {
	if len(ev) < 2 || ev[0] != EventDeliver || len(ev) < 2+int(ev[1]) {
		return "", nil, false
	}
	n := int(ev[1])
	return string(ev[2 : 2+n]), ev[2+n:], true
}

// KickEvent asks every gateway to close a user's connections (one resource,
// or all when Resource is empty).
type KickEvent struct {
	Resource string `json:"resource,omitempty"`
	// Node, if set, is the only node (cluster.Node.Owner) that acts on it:
	// the device with Resource there, not a newer one elsewhere.
	Node   string `json:"node,omitempty"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// EncodeKick builds a kick event.
func EncodeKick(k KickEvent) []byte {
	b, _ := json.Marshal(k)
	return append([]byte{EventKick}, b...)
}

// DecodeKick parses a kick event.
func DecodeKick(ev []byte) (KickEvent, bool) {
	var k KickEvent
	if len(ev) < 1 || ev[0] != EventKick || json.Unmarshal(ev[1:], &k) != nil {
		return k, false
	}
	return k, true
}
