package rest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/url"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) historyRoutes() {
	if s.Files != nil {
		s.app("GET /{org}/{app}/chatmessages/{time}", s.exportHistory)
	}
	s.app("POST /{org}/{app}/messages/users/import", s.importUserMessage)
	s.app("POST /{org}/{app}/messages/chatgroups/import", s.importGroupMessage)
}

// GET /chatmessages/{yyyyMMddHH}: the hour's messages are written, gzipped,
// one JSON record per line, to an upload of the app (restricted: the link
// carries its share-secret); data[0].url is its download link.
func (s *Server) exportHistory(c *call) (any, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return nil, err
	}
	hour := c.r.PathValue("time")
	if _, err := messaging.ParseHour(hour); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := s.Messages.ExportHour(c.ctx(), c.p, hour, zw)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	f, err := s.Files.Store(c.ctx(), c.p, files.Upload{Name: hour + ".gz", DeclaredType: "application/gzip", Body: pr, Restrict: true})
	pr.CloseWithError(io.ErrClosedPipe) // ends the export if the store stopped reading
	if xerr := <-done; xerr != nil && !errors.Is(xerr, io.ErrClosedPipe) {
		return nil, xerr // the export failed (the store saw a broken upload)
	}
	if err != nil {
		return nil, err
	}
	link := c.origin() + "/" + url.PathEscape(c.p.App.Org) + "/" + url.PathEscape(c.p.App.Name) + "/chatfiles/" +
		f.UUID + "?share-secret=" + url.QueryEscape(f.Secret)
	e := c.env("get", "/chatmessages")
	e.Data = []map[string]string{{"url": link}}
	return e, nil
}

// importBody is Easemob's import request.
type importBody struct {
	From         string          `json:"from"`
	Target       string          `json:"target"`
	Type         string          `json:"type"`
	Body         json.RawMessage `json:"body"`
	Ext          json.RawMessage `json:"ext"`
	IsAckRead    bool            `json:"is_ack_read"`
	MsgTimestamp int64           `json:"msg_timestamp"`
	NeedDownload bool            `json:"need_download"`
}

func decodeImport(raw []byte, chatType string) (messaging.ImportRequest, error) {
	var b importBody
	if err := decodeJSON(raw, &b); err != nil {
		return messaging.ImportRequest{}, err
	}
	if b.NeedDownload {
		return messaging.ImportRequest{}, errs.New(protocol.ErrIllegalArgument,
			"need_download is not supported: upload attachments to /chatfiles and reference them in the body")
	}
	return messaging.ImportRequest{ChatType: chatType, From: b.From, Target: b.Target, Type: b.Type, Body: b.Body, Ext: b.Ext,
		Timestamp: b.MsgTimestamp, AckRead: b.IsAckRead}, nil
}

func (s *Server) importMessage(c *call, chatType string) (any, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	req, err := decodeImport(raw, chatType)
	if err != nil {
		return nil, err
	}
	id, err := s.Messages.Import(c.ctx(), c.p, req)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/messages/import")
	e.Data = map[string]string{"msg_id": id}
	return e, nil
}

// POST /messages/users/import {from, target, type, body, ext?, is_ack_read?, msg_timestamp?}
func (s *Server) importUserMessage(c *call) (any, error) {
	return s.importMessage(c, protocol.ChatTypeChat)
}

// POST /messages/chatgroups/import (target: a group ID)
func (s *Server) importGroupMessage(c *call) (any, error) {
	return s.importMessage(c, protocol.ChatTypeGroup)
}
