package ws_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// FuzzSession sends arbitrary frames on an authenticated connection of a
// real server (after protocol.DecodeRequest, the session's handling of
// every kind and op): the server must answer every frame without an
// internal error and close, if it does, only with a documented code. A ping
// after each frame proves the session still reads.
func FuzzSession(f *testing.F) {
	s := servertest.StartBackend(f, "sqlite")
	app := s.App(f, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(f, app)
	s.Do(f, "POST", "/acme/chat/users", admin, `[{"username":"alice","password":"pw"},{"username":"bob","password":"pw"}]`)
	tok := s.Do(f, "POST", "/acme/chat/token", "", map[string]string{"grant_type": "password", "username": "alice", "password": "pw"}).Str("access_token")
	r := s.Do(f, "POST", "/acme/chat/chatgroups", admin, `{"groupname":"g","owner":"alice","members":["bob"],"public":true}`)
	group := r.Body["data"].(map[string]any)["groupid"].(string)
	r = s.Do(f, "POST", "/acme/chat/chatrooms", admin, `{"name":"r","owner":"alice","members":["bob"]}`)
	room := r.Body["data"].(map[string]any)["id"].(string)
	for _, seed := range []string{
		`{"t":"send","id":"1","to":"bob","type":"txt","body":{"msg":"hi"},"client_msg_id":"c1"}`,
		`{"t":"send","id":"2","to":"G","chat_type":"groupchat","type":"img","body":{"url":"x","size":{"width":-1}},"client_msg_id":"c2","need_group_ack":true}`,
		`{"t":"send","id":"3","to":"R","chat_type":"chatroom","type":"custom","body":{},"client_msg_id":"c3","chatroom_msg_level":"high"}`,
		`{"t":"sync","id":"4","since":"-1","latest":99999}`, `{"t":"pull","id":"5","conv_id":"1","after_seq":-5,"limit":-1}`,
		`{"t":"history","id":"6","conv_id":"1","direction":"sideways","time":-1}`, `{"t":"read","id":"7","msg_id":"0"}`,
		`{"t":"recall","id":"8","msg_id":"99999999999999999999"}`, `{"t":"edit","id":"9","msg_id":"1","body":null}`,
		`{"t":"conv_pin","id":"10","conv_id":"x","pinned":true}`, `{"t":"contact_remark","id":"11","user":"bob","remark":""}`,
		`{"t":"attrs_set","id":"12","attrs":{"":"x"}}`, `{"t":"presence_subscribe","id":"13","users":["bob"],"expiry":9223372036854775807}`,
		`{"t":"presence_publish","id":"14","status":"\u0000"}`, `{"t":"events","id":"15","cursor":"zz"}`,
		`{"t":"group","id":"16","op":"create","settings":{"groupname":"","maxusers":-1}}`,
		`{"t":"group","id":"17","op":"mute","group":"G","users":["bob"],"duration":-9223372036854775808}`,
		`{"t":"group","id":"18","op":"members","group":"G","cursor":"-1","limit":100000}`, `{"t":"group","id":"19","op":"acks","msg_id":"1"}`,
		`{"t":"room","id":"20","op":"set_attrs","room":"R","attrs":{"k":"v"},"auto_delete":true,"force":true}`,
		`{"t":"room","id":"21","op":"mine","cursor":"x"}`, `{"t":"room","id":"22","op":"join","room":"R"}`,
		`{"t":"background","id":"23","on":false}`, `{"t":"auth","id":"24","token":"x"}`, `{`, `[]`, `{"t":"nope"}`,
	} {
		f.Add(strings.NewReplacer(`"G"`, `"`+group+`"`, `"R"`, `"`+room+`"`).Replace(seed))
	}
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws?v=1"
	var conn *websocket.Conn
	login := func(t *testing.T) {
		var err error
		if conn, _, err = websocket.DefaultDialer.Dial(url, nil); err != nil {
			t.Fatal(err)
		}
		conn.WriteJSON(map[string]string{"t": "auth", "token": tok, "resource": "fuzz"})
		var ok map[string]any
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := conn.ReadJSON(&ok); err != nil || ok["t"] != "auth_ok" {
			t.Fatalf("auth: %v %v", ok, err)
		}
	}
	f.Cleanup(func() {
		if conn != nil {
			conn.Close()
		}
	})
	documented := map[int]bool{protocol.CloseNormal: true, protocol.CloseFrameTooLarge: true, protocol.CloseKicked: true,
		protocol.CloseReplaced: true, protocol.CloseTooMany: true, protocol.CloseSlowConsumer: true, protocol.CloseBadFrames: true}
	f.Fuzz(func(t *testing.T, frame string) {
		if conn == nil {
			login(t)
		}
		conn.WriteMessage(websocket.TextMessage, []byte(frame))
		conn.WriteMessage(websocket.TextMessage, []byte(`{"t":"ping","id":"probe"}`))
		for {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := conn.ReadMessage()
			if err != nil {
				conn.Close()
				conn = nil
				if ce, ok := err.(*websocket.CloseError); ok && documented[ce.Code] {
					return // e.g. too many bad frames: the next input reconnects
				}
				t.Fatalf("after %q the connection ended: %v", frame, err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("after %q a frame that is not JSON: %q", frame, b)
			}
			if m["t"] == "error" && m["code"] == protocol.ErrInternal.ID {
				t.Fatalf("after %q an internal error: %s", frame, b)
			}
			if m["id"] == "probe" {
				return
			}
		}
	})
}
