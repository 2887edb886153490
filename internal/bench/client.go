package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

// wsConn is one raw protocol connection. One goroutine reads; writes are
// serialised by mu.
type wsConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

// inFrame holds the fields of server frames the bench looks at; the JSON
// decoder skips the rest (bodies included).
type inFrame struct {
	T       string `json:"t"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	// ack
	ConvID string `json:"conv_id"`
	Seq    int64  `json:"seq"`
	// item
	Item *wireItem `json:"item"`
	// items (pull)
	Items []wireItem `json:"items"`
	More  bool       `json:"more"`
	// sync_result
	Conversations []struct {
		ConvID  string `json:"conv_id"`
		LastSeq int64  `json:"last_seq"`
	} `json:"conversations"`
	Next string `json:"next"`
	// auth_ok
	Heartbeat int `json:"heartbeat"`
}

type wireItem struct {
	ConvID      string `json:"conv_id"`
	Seq         int64  `json:"seq"`
	ClientMsgID string `json:"client_msg_id"`
}

func decodeFrame(b []byte) (*inFrame, error) {
	var f inFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("bad frame from server: %v", err)
	}
	return &f, nil
}

var bufPool = &sync.Pool{}

// dialWS opens a connection from local (nil: any source address) and
// authenticates it. It returns the auth_ok frame.
func dialWS(ctx context.Context, wsURL, token, resource string, local net.Addr) (*wsConn, *inFrame, error) {
	return dialWSWith(ctx, wsURL, token, resource, local, false)
}

// Socket sizes of a small client (dialWSWith): a stalled reader of them
// makes the server's writes block after tens of kilobytes, as a mobile
// client's would, instead of after the megabytes loopback allows.
const (
	smallRcvBuf = 2 << 10
	smallMaxSeg = 1000
)

// dialWSWith is dialWS, with small socket buffers if small is set.
func dialWSWith(ctx context.Context, wsURL, token, resource string, local net.Addr, small bool) (*wsConn, *inFrame, error) {
	d := websocket.Dialer{
		HandshakeTimeout: 15 * time.Second,
		ReadBufferSize:   2048,
		WriteBufferSize:  2048,
		WriteBufferPool:  bufPool,
		Proxy:            nil,
	}
	if local != nil || small {
		nd := &net.Dialer{LocalAddr: local, Timeout: 15 * time.Second}
		if small {
			nd.Control = func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) { serr = setSmallSocket(fd, smallRcvBuf, smallMaxSeg) })
				if err != nil {
					return err
				}
				return serr
			}
		}
		d.NetDialContext = nd.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, resp, err := d.DialContext(dctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, nil, err
	}
	wc := &wsConn{c: c}
	auth := map[string]string{"t": protocol.FrameAuth, "id": "auth", "token": token, "resource": resource, "platform": "bench"}
	b, _ := json.Marshal(auth)
	if err := wc.write(b); err != nil {
		c.Close()
		return nil, nil, err
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	f, err := wc.read()
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if f.T != protocol.FrameAuthOK {
		c.Close()
		return nil, nil, fmt.Errorf("auth refused: %s %s %s", f.T, f.Code, f.Message)
	}
	return wc, f, nil
}

func (w *wsConn) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return w.c.WriteMessage(websocket.TextMessage, b)
}

// readRaw returns the next text frame.
func (w *wsConn) readRaw() ([]byte, error) {
	for {
		typ, b, err := w.c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ == websocket.TextMessage {
			return b, nil
		}
	}
}

// readInto reads the next text frame into buf's storage (growing it when
// needed) and returns it: a reader that only scans frames allocates nothing
// per frame.
func (w *wsConn) readInto(buf []byte) ([]byte, error) {
	for {
		typ, r, err := w.c.NextReader()
		if err != nil {
			return buf[:0], err
		}
		if typ != websocket.TextMessage {
			continue
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return buf[:0], err
			}
		}
	}
}

func (w *wsConn) read() (*inFrame, error) {
	b, err := w.readRaw()
	if err != nil {
		return nil, err
	}
	return decodeFrame(b)
}

// request writes a frame and reads until the reply with the same id,
// skipping other frames (pushes).
func (w *wsConn) request(v map[string]any, timeout time.Duration) (*inFrame, error) {
	id, _ := v["id"].(string)
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := w.write(b); err != nil {
		return nil, err
	}
	w.c.SetReadDeadline(time.Now().Add(timeout))
	defer w.c.SetReadDeadline(time.Time{})
	for {
		f, err := w.read()
		if err != nil {
			return nil, err
		}
		if f.ID == id && f.T != protocol.FrameItem {
			if f.T == protocol.FrameError {
				return f, fmt.Errorf("%s: %s", f.Code, f.Message)
			}
			return f, nil
		}
	}
}

// close closes the connection politely (close frame), then the socket.
func (w *wsConn) close() {
	w.mu.Lock()
	w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	w.mu.Unlock()
	w.c.Close()
}

// closeCode describes why a read failed: the close code the server sent,
// or the error.
func closeCode(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return "close " + strconv.Itoa(ce.Code)
	}
	return err.Error()
}

// appendSend appends a txt send frame. client_msg_id and to must not need
// JSON escaping (the bench makes them from [a-z0-9.-]).
func appendSend(b []byte, id int64, to, clientMsgID string, body []byte) []byte {
	b = append(b, `{"t":"send","id":"`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","to":"`...)
	b = append(b, to...)
	b = append(b, `","type":"txt","body":{"msg":"`...)
	b = append(b, body...)
	b = append(b, `"},"client_msg_id":"`...)
	b = append(b, clientMsgID...)
	return append(b, `"}`...)
}

// messageText is a message body of n bytes of plain ASCII.
func messageText(n int) []byte {
	const alphabet = "The quick brown fox jumps over the lazy dog. 0123456789 "
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return b
}
