package rest

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// multipartOverhead is what an upload request may carry besides the file
// (part headers, boundaries, small form fields).
const multipartOverhead = 64 << 10

func (s *Server) fileRoutes() {
	if s.Files == nil {
		return
	}
	s.app("POST /{org}/{app}/chatfiles", s.uploadFile)
	s.handle(s.mux, "GET /{org}/{app}/chatfiles/{uuid}", GateFile, http.HandlerFunc(s.downloadFile))
	s.handle(s.mux, "HEAD /{org}/{app}/chatfiles/{uuid}", GateFile, http.HandlerFunc(s.downloadFile))
	if s.Groups != nil {
		s.app("POST /{org}/{app}/chatgroups/{id}/share_files", s.shareFile)
		s.app("GET /{org}/{app}/chatgroups/{id}/share_files", s.sharedFiles)
		s.app("DELETE /{org}/{app}/chatgroups/{id}/share_files/{file}", s.unshareFile)
		s.handle(s.mux, "GET /{org}/{app}/chatgroups/{id}/share_files/{file}", GateFile, http.HandlerFunc(s.downloadShared))
	}
}

// POST /chatgroups/{id}/share_files (multipart "file"; members)
func (s *Server) shareFile(c *call) (any, error) {
	return s.withUpload(c, func(up files.Upload) (any, error) {
		sf, err := s.Groups.Share(c.ctx(), c.p, c.r.PathValue("id"), up)
		if err != nil {
			return nil, err
		}
		e := c.env("post", "/chatgroups")
		e.Data = map[string]any{"file_url": strings.TrimSuffix(e.URI, "/") + "/" + sf.File.UUID, "group_id": c.r.PathValue("id"),
			"file_name": sf.File.Name, "created": sf.Created, "file_id": sf.File.UUID, "file_size": sf.File.Size}
		return e, nil
	})
}

// GET /chatgroups/{id}/share_files?pagenum=&pagesize=
func (s *Server) sharedFiles(c *call) (any, error) {
	num, err := queryInt(c, "pagenum")
	if err != nil {
		return nil, err
	}
	size, err := queryInt(c, "pagesize")
	if err != nil {
		return nil, err
	}
	if num == 0 {
		num = 1
	}
	if size == 0 {
		size = 10
	}
	list, owners, err := s.Groups.SharedFiles(c.ctx(), c.p, c.r.PathValue("id"), num, size)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list))
	for i, f := range list {
		out[i] = map[string]any{"file_id": f.File.UUID, "file_name": f.File.Name, "file_owner": owners[f.Owner],
			"file_size": f.File.Size, "created": f.Created}
	}
	e := c.env("get", "/chatgroups")
	e.Data = out
	return e, nil
}

// DELETE /chatgroups/{id}/share_files/{file}
func (s *Server) unshareFile(c *call) (any, error) {
	if err := s.Groups.Unshare(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("file")); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatgroups")
	e.Data = map[string]any{"group_id": c.r.PathValue("id"), "file_id": c.r.PathValue("file"), "result": true}
	return e, nil
}

// GET /chatgroups/{id}/share_files/{file}: the bytes (members).
func (s *Server) downloadShared(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id")}
	var d *files.Download
	_, err := s.run(c, tenant.ClassDefault, func(c *call) (any, error) {
		var err error
		d, err = s.Groups.OpenShared(c.ctx(), c.p, r.PathValue("id"), r.PathValue("file"))
		return nil, err
	})
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	serveDownload(w, r, d)
}

// fileEntity is the upload answer (Easemob's entity, plus Parley's fields).
type fileEntity struct {
	UUID        string `json:"uuid"`
	Type        string `json:"type"`
	ShareSecret string `json:"share-secret"`
	FileLength  int64  `json:"file_length"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename,omitempty"`
	Restricted  bool   `json:"restrict_access"`
	Thumbnail   bool   `json:"thumbnail"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	URL         string `json:"url"`
}

// POST /{org}/{app}/chatfiles, multipart/form-data with the file in the part
// "file"; headers restrict-access, thumbnail-width, thumbnail-height.
func (s *Server) uploadFile(c *call) (any, error) {
	return s.withUpload(c, func(up files.Upload) (any, error) {
		f, err := s.Files.Store(c.ctx(), c.p, up)
		if err != nil {
			return nil, err
		}
		e := c.env("post", "/chatfiles")
		e.Entities = []any{fileEntity{UUID: f.UUID, Type: "chatfile", ShareSecret: f.Secret, FileLength: f.Size,
			ContentType: f.ContentType, Filename: f.Name, Restricted: f.Restricted, Thumbnail: f.ThumbSize > 0,
			Width: f.Width, Height: f.Height, URL: strings.TrimSuffix(e.URI, "/") + "/" + f.UUID}}
		return e, nil
	})
}

// withUpload parses a multipart upload and hands its "file" part, still
// streaming, to store.
func (s *Server) withUpload(c *call, store func(files.Upload) (any, error)) (any, error) {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, errs.New(protocol.ErrUnsupportedMedia, "upload with Content-Type multipart/form-data, the file in the part named file")
	}
	up := files.Upload{Restrict: strings.EqualFold(strings.TrimSpace(c.r.Header.Get("restrict-access")), "true")}
	for _, h := range []struct {
		name string
		dst  *int
	}{{"thumbnail-width", &up.ThumbWidth}, {"thumbnail-height", &up.ThumbHeight}} {
		if v := strings.TrimSpace(c.r.Header.Get(h.name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > files.MaxThumbnail {
				return nil, errs.New(protocol.ErrIllegalArgument, "%s must be a whole number 1..%d", h.name, files.MaxThumbnail)
			}
			*h.dst = n
		}
	}
	limit := c.p.App.Settings.FileBytes()
	if c.r.ContentLength > limit+multipartOverhead {
		// Refuse before reading: a client that sent Expect: 100-continue
		// sends nothing, and no one is cut off mid-upload.
		return nil, errs.New(protocol.ErrFileTooLarge, "the request is %d bytes; the app's file limit is %d", c.r.ContentLength, limit)
	}
	c.r.Body = http.MaxBytesReader(nil, c.r.Body, limit+multipartOverhead)
	mr, err := c.r.MultipartReader()
	if err != nil {
		return nil, errs.New(protocol.ErrInvalidBody, "not a multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, errs.New(protocol.ErrInvalidBody, "the multipart body has no part named file")
		}
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, errs.New(protocol.ErrFileTooLarge, "the file is larger than %d bytes, the app's limit", limit)
			}
			return nil, errs.New(protocol.ErrInvalidBody, "the multipart body is truncated or malformed: %v", err)
		}
		if part.FormName() != "file" {
			part.Close() // other fields are skipped
			continue
		}
		up.Name, up.DeclaredType, up.Body = part.FileName(), part.Header.Get("Content-Type"), part
		return store(up)
	}
}

// GET /{org}/{app}/chatfiles/{uuid}: the file's bytes (ranges supported).
// share-secret (header or query) opens a restricted file; thumbnail: true
// (header or query) asks for the thumbnail.
func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id")}
	app, err := s.Apps.Resolve(c.ctx(), r.PathValue("org"), r.PathValue("app"))
	if err == nil {
		c.p, err = s.Identity.Authenticate(c.ctx(), app, r.Header.Get("Authorization"))
	}
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	if err == nil && qerr != nil {
		err = errs.New(protocol.ErrIllegalArgument, "malformed query string: %v", qerr)
	}
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	secret := r.Header.Get("share-secret")
	if secret == "" {
		secret = q.Get("share-secret")
	}
	thumb := strings.EqualFold(r.Header.Get("thumbnail"), "true") || strings.EqualFold(q.Get("thumbnail"), "true")
	d, err := s.Files.Open(c.ctx(), app, c.p, r.PathValue("uuid"), secret, thumb)
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	serveDownload(w, r, d)
}

// serveDownload writes an opened file: ranges, content type, and headers
// that keep the browser from running it in the API's origin.
func serveDownload(w http.ResponseWriter, r *http.Request, d *files.Download) {
	defer d.Close()
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	disp := "attachment"
	if files.Inline(d.ContentType) {
		disp = "inline"
	}
	if d.File.Name != "" {
		disp = mime.FormatMediaType(disp, map[string]string{"filename": d.File.Name})
	}
	h.Set("Content-Disposition", disp)
	if d.File.Restricted {
		h.Set("Cache-Control", "private, no-store")
	} else {
		h.Set("Cache-Control", "public, max-age=31536000, immutable") // a UUID's bytes never change
	}
	h.Set("ETag", `"`+d.File.UUID+map[bool]string{true: "-t", false: ""}[d.Thumbnail && d.File.ThumbSize > 0]+`"`)
	http.ServeContent(w, r, "", d.Modified, d.Content)
}
