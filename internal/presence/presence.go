// Package presence answers "who is online, on which devices". Gateways
// implement Directory for the connections they hold; in cluster mode an
// implementation aggregates every node's answer.
package presence

import "context"

// Device is one online connection of a user.
type Device struct {
	Resource   string `json:"res"`
	Platform   string `json:"platform,omitempty"`
	DeviceName string `json:"device_name,omitempty"`
	// Since is when the device connected (Unix ms).
	Since int64 `json:"since"`
	// Background: the app said it is in the background (it gets pushes).
	Background bool `json:"background,omitempty"`
}

// Directory reports online devices.
type Directory interface {
	// Devices lists a user's online devices, oldest first.
	Devices(ctx context.Context, appID, userID int64) ([]Device, error)
}

// Census is who is online, counted.
type Census struct {
	// Nodes is how many nodes the counts cover (1 on a single node; in a
	// cluster, this node and every other one heard from lately).
	Nodes int
	// Users is how many distinct users have a device online.
	Users int
	// Devices is how many connections are open.
	Devices int
}

// Counter is a Directory that can count who is online: the gateway's hub
// counts its node, the Replica the whole cluster.
type Counter interface {
	Census(ctx context.Context) Census
}
