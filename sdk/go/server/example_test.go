package parleyserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/parleyim/parley/protocol"
	parleyserver "github.com/parleyim/parley/sdk/go/server"
)

func ExampleNew() {
	ctx := context.Background()
	c, err := parleyserver.New(parleyserver.Config{
		BaseURLs:     []string{"https://im1.example.com", "https://im2.example.com"},
		Org:          "acme",
		App:          "chat",
		ClientID:     os.Getenv("PARLEY_CLIENT_ID"),
		ClientSecret: os.Getenv("PARLEY_CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.RegisterUser(ctx, parleyserver.NewUser{Username: "alice", Password: "s3cret"}); err != nil {
		log.Fatal(err)
	}
	// A system message; ClientMsgID makes it safe to retry.
	res, err := c.SendToUsers(ctx, parleyserver.UserMessage{
		Message:     parleyserver.Message{Type: "txt", Body: map[string]string{"msg": "Welcome!"}},
		To:          []string{"alice"},
		ClientMsgID: "welcome-alice",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("message", res.IDs["alice"])

	_, err = c.GetUser(ctx, "nobody")
	var e *parleyserver.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Type, e.Code, e.Description)
	}
	if parleyserver.IsCode(err, protocol.ErrUserNotFound) {
		fmt.Println("no such user")
	}
}

func ExampleClient_UploadFile() {
	ctx := context.Background()
	var c *parleyserver.Client // from New
	f, err := os.Open("report.pdf")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	up, err := c.UploadFile(ctx, parleyserver.Upload{Name: "report.pdf", Content: f, Restrict: true})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.SendToUsers(ctx, parleyserver.UserMessage{To: []string{"alice"}, Message: parleyserver.Message{Type: "file",
		Body: map[string]any{"url": up.URL, "filename": "report.pdf", "secret": up.ShareSecret, "file_length": up.FileLength}}})
	if err != nil {
		log.Fatal(err)
	}
	d, err := c.DownloadFile(ctx, up.UUID, parleyserver.DownloadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Body.Close()
	io.Copy(os.Stdout, d.Body)
}

func ExampleClient_CreateGroup() {
	ctx := context.Background()
	var c *parleyserver.Client // from New
	name, public := "Team", false
	gid, err := c.CreateGroup(ctx, parleyserver.NewGroup{
		Owner:         "alice",
		Members:       []string{"bob"},
		GroupSettings: protocol.GroupSettings{Name: &name, Public: &public},
	})
	if err != nil {
		log.Fatal(err)
	}
	c.AddGroupMembers(ctx, gid, "carol", "dave")
	c.MuteGroupMembers(ctx, gid, 10*time.Minute, "dave")
	c.AddToGroupList(ctx, gid, parleyserver.BlockList, "mallory")
}

func ExampleNewManagement() {
	ctx := context.Background()
	m, err := parleyserver.NewManagement(parleyserver.ManagementConfig{
		BaseURLs: []string{"https://im.example.com"}, Username: "owner", Password: os.Getenv("PARLEY_OWNER_PASSWORD"),
	})
	if err != nil {
		log.Fatal(err)
	}
	creds, err := m.CreateApp(ctx, "acme", "chat", false) // the secret is shown only here
	if err != nil {
		log.Fatal(err)
	}
	c, err := parleyserver.New(creds.Config("https://im.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}
