package parleyserver

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
)

// Upload is a file to upload. Its content is streamed (never held in
// memory), so an upload is sent once and never retried.
type Upload struct {
	// Name is the file name sent in the multipart part.
	Name string
	// Content is read to its end.
	Content io.Reader
	// ContentType of the part; empty: application/octet-stream (the server
	// sniffs the type from the first bytes anyway).
	ContentType string
	// Restrict serves the file only with its share secret, to the uploader
	// or with the app token.
	Restrict bool
	// ThumbnailWidth and ThumbnailHeight bound an image's thumbnail
	// (1..1024; 0: the server's 170).
	ThumbnailWidth, ThumbnailHeight int
}

// File is the upload answer.
type File struct {
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
	// URL is what a message body's url should hold.
	URL string `json:"url"`
}

func (u *Upload) request(path string) (*request, error) {
	if u.Content == nil {
		return nil, invalid("upload content is missing")
	}
	if u.Name == "" {
		return nil, invalid("upload name is empty")
	}
	for _, v := range []int{u.ThumbnailWidth, u.ThumbnailHeight} {
		if v < 0 || v > 1024 {
			return nil, invalid("thumbnail sizes must be 0..1024, not %d", v)
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		ct := u.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, u.Name)}
		h["Content-Type"] = []string{ct}
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, u.Content)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	hdr := http.Header{}
	if u.Restrict {
		hdr.Set("restrict-access", "true")
	}
	if u.ThumbnailWidth > 0 {
		hdr.Set("thumbnail-width", strconv.Itoa(u.ThumbnailWidth))
	}
	if u.ThumbnailHeight > 0 {
		hdr.Set("thumbnail-height", strconv.Itoa(u.ThumbnailHeight))
	}
	return &request{method: http.MethodPost, path: path, raw: pr, ctype: mw.FormDataContentType(), header: hdr}, nil
}

// UploadFile uploads a file (POST /chatfiles, streamed).
func (c *Client) UploadFile(ctx context.Context, u Upload) (*File, error) {
	r, err := u.request("/chatfiles")
	if err != nil {
		return nil, err
	}
	defer r.raw.(*io.PipeReader).Close()
	e, err := c.envelope(ctx, r)
	if err != nil {
		return nil, err
	}
	var list []File
	if err := e.DecodeEntities(&list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("parleyserver: the upload answer has no entity")
	}
	return &list[0], nil
}

// DownloadOptions shape a download.
type DownloadOptions struct {
	// ShareSecret opens a restricted file (the app token opens any).
	ShareSecret string
	// Thumbnail asks for the image's thumbnail.
	Thumbnail bool
	// Range is an HTTP Range header value ("bytes=100-"); the answer is
	// then 206 with that part.
	Range string
}

// Download is a file being downloaded: read Body to its end and close it.
type Download struct {
	Body          io.ReadCloser
	Status        int // 200, or 206 for a Range request
	ContentType   string
	ContentLength int64 // -1 if unknown
	// ContentRange is set on a 206.
	ContentRange string
	Header       http.Header
}

func (o DownloadOptions) header() http.Header {
	h := http.Header{}
	if o.ShareSecret != "" {
		h.Set("share-secret", o.ShareSecret)
	}
	if o.Thumbnail {
		h.Set("thumbnail", "true")
	}
	if o.Range != "" {
		h.Set("Range", o.Range)
	}
	return h
}

func (c *Client) download(ctx context.Context, r *request) (*Download, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return &Download{Body: resp.Body, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength, ContentRange: resp.Header.Get("Content-Range"), Header: resp.Header}, nil
}

// DownloadFile streams a file (GET /chatfiles/{uuid}) with the app token.
// The caller closes Body. Retried only until the answer starts.
func (c *Client) DownloadFile(ctx context.Context, uuid string, o DownloadOptions) (*Download, error) {
	if err := need("uuid", uuid); err != nil {
		return nil, err
	}
	return c.download(ctx, &request{method: http.MethodGet, path: "/chatfiles/" + seg(uuid), header: o.header()})
}

// FileInfo is what HEAD /chatfiles/{uuid} tells about a file.
type FileInfo struct {
	ContentType   string
	ContentLength int64
	Header        http.Header
}

// StatFile returns a file's type and size without its bytes (HEAD).
func (c *Client) StatFile(ctx context.Context, uuid string, o DownloadOptions) (*FileInfo, error) {
	if err := need("uuid", uuid); err != nil {
		return nil, err
	}
	o.Range = ""
	resp, err := c.send(ctx, &request{method: http.MethodHead, path: "/chatfiles/" + seg(uuid), header: o.header()})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return &FileInfo{ContentType: resp.Header.Get("Content-Type"), ContentLength: resp.ContentLength, Header: resp.Header}, nil
}

// SharedFile is a file shared in a group.
type SharedFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
	Created  int64  `json:"created"`
	// Owner is the uploader (in lists).
	Owner string `json:"file_owner,omitempty"`
	// URL is set in the upload answer.
	URL     string `json:"file_url,omitempty"`
	GroupID string `json:"group_id,omitempty"`
}

// ShareGroupFile uploads a file to a group's shared files (streamed, sent
// once). Restrict and thumbnails are ignored: shared files are restricted.
func (c *Client) ShareGroupFile(ctx context.Context, groupID string, u Upload) (*SharedFile, error) {
	if err := need("group ID", groupID); err != nil {
		return nil, err
	}
	r, err := u.request("/chatgroups/" + seg(groupID) + "/share_files")
	if err != nil {
		return nil, err
	}
	defer r.raw.(*io.PipeReader).Close()
	var out SharedFile
	_, err = c.data(ctx, r, &out)
	return &out, err
}

// GroupFiles lists a page of a group's shared files.
func (c *Client) GroupFiles(ctx context.Context, groupID string, p PageNum) ([]SharedFile, error) {
	if err := need("group ID", groupID); err != nil {
		return nil, err
	}
	var out []SharedFile
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatgroups/" + seg(groupID) + "/share_files",
		query: p.query("pagenum", "pagesize")}, &out)
	return out, err
}

// DownloadGroupFile streams a group's shared file; the caller closes Body.
func (c *Client) DownloadGroupFile(ctx context.Context, groupID, fileID string, o DownloadOptions) (*Download, error) {
	if err := need("group ID", groupID, "file ID", fileID); err != nil {
		return nil, err
	}
	return c.download(ctx, &request{method: http.MethodGet,
		path: "/chatgroups/" + seg(groupID) + "/share_files/" + seg(fileID), header: o.header()})
}

// DeleteGroupFile deletes a group's shared file.
func (c *Client) DeleteGroupFile(ctx context.Context, groupID, fileID string) error {
	if err := need("group ID", groupID, "file ID", fileID); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete,
		path: "/chatgroups/" + seg(groupID) + "/share_files/" + seg(fileID)}, nil)
}
