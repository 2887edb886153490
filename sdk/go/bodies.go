package parley

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/parleyim/parley/protocol"
)

// Body is a typed message body: TextBody, CmdBody, CustomBody, ImageBody,
// AudioBody, VideoBody, FileBody, LocationBody or CombineBody. Each
// marshals to the JSON fields the server expects for its type (Easemob's
// names), and MsgType names the type, so an OutgoingMessage with a typed
// Body needs no Type.
type Body interface {
	MsgType() string
}

// TextBody is the body of a txt message.
type TextBody struct {
	Msg string `json:"msg"`
}

// CmdBody is the body of a cmd (command) message: it is not shown to users
// and cannot be recalled.
type CmdBody struct {
	Action string `json:"action"`
}

// CustomBody is the body of a custom message.
type CustomBody struct {
	// CustomEvent is 1-32 characters of [a-zA-Z0-9-_/.].
	CustomEvent string `json:"customEvent,omitempty"`
	// CustomExts holds at most 16 string values.
	CustomExts map[string]string `json:"customExts,omitempty"`
}

// ImageBody is the body of an img message. File.ImageBody builds one from
// an upload.
type ImageBody struct {
	URL      string
	Filename string
	// Secret is the share-secret of a restricted upload (DownloadOptions.ShareSecret).
	Secret string
	// Width and Height are the image's size in pixels (JSON: size.width,
	// size.height).
	Width, Height int
	// FileLength is the file's size in bytes.
	FileLength int64
	// Thumb is the thumbnail's URL (for Parley uploads, the image's own
	// URL: the server serves the thumbnail when asked for it) and
	// ThumbSecret its share-secret.
	Thumb       string
	ThumbSecret string
}

// AudioBody is the body of an audio (voice) message.
type AudioBody struct {
	URL      string `json:"url"`
	Filename string `json:"filename,omitempty"`
	// Length is the duration in whole seconds.
	Length     int    `json:"length,omitempty"`
	Secret     string `json:"secret,omitempty"`
	FileLength int64  `json:"file_length,omitempty"`
}

// VideoBody is the body of a video message.
type VideoBody struct {
	URL      string
	Filename string
	// Thumb is the URL of a preview image (upload one and use its URL) and
	// ThumbSecret its share-secret.
	Thumb       string
	ThumbSecret string
	// Length is the duration in whole seconds.
	Length     int
	FileLength int64
	Secret     string
	// Width and Height are the video's size in pixels (JSON: size).
	Width, Height int
}

// FileBody is the body of a file message; Filename is required.
type FileBody struct {
	URL        string `json:"url"`
	Filename   string `json:"filename"`
	Secret     string `json:"secret,omitempty"`
	FileLength int64  `json:"file_length,omitempty"`
}

// LocationBody is the body of a loc message. Lat is -90..90, Lng
// -180..180; they are sent as JSON numbers and decoded from numbers or
// numeric strings (as some clients send them).
type LocationBody struct {
	Lat          float64
	Lng          float64
	Addr         string
	BuildingName string
}

// CombineBody is the body of a combine (merged, forwarded) message: URL is
// an uploaded file holding the combined messages.
type CombineBody struct {
	URL          string `json:"url"`
	Title        string `json:"title,omitempty"`
	Summary      string `json:"summary,omitempty"`
	CombineLevel int    `json:"combineLevel,omitempty"`
	Filename     string `json:"filename,omitempty"`
	Secret       string `json:"secret,omitempty"`
	FileLength   int64  `json:"file_length,omitempty"`
	SubType      string `json:"subType,omitempty"`
}

func (TextBody) MsgType() string     { return protocol.MsgText }
func (CmdBody) MsgType() string      { return protocol.MsgCmd }
func (CustomBody) MsgType() string   { return protocol.MsgCustom }
func (ImageBody) MsgType() string    { return protocol.MsgImage }
func (AudioBody) MsgType() string    { return protocol.MsgAudio }
func (VideoBody) MsgType() string    { return protocol.MsgVideo }
func (FileBody) MsgType() string     { return protocol.MsgFile }
func (LocationBody) MsgType() string { return protocol.MsgLoc }
func (CombineBody) MsgType() string  { return protocol.MsgCombine }

// size is the wire form of Width and Height. Other clients may send
// fractions; they are rounded when decoded.
type size struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

func sizeOf(w, h int) *size {
	if w == 0 && h == 0 {
		return nil
	}
	return &size{float64(w), float64(h)}
}

func (s *size) ints() (int, int) {
	if s == nil {
		return 0, 0
	}
	return int(math.Round(s.Width)), int(math.Round(s.Height))
}

type imageWire struct {
	URL         string `json:"url"`
	Filename    string `json:"filename,omitempty"`
	Secret      string `json:"secret,omitempty"`
	Size        *size  `json:"size,omitempty"`
	FileLength  int64  `json:"file_length,omitempty"`
	Thumb       string `json:"thumb,omitempty"`
	ThumbSecret string `json:"thumb_secret,omitempty"`
}

// MarshalJSON writes Width and Height as size{width, height}.
func (b ImageBody) MarshalJSON() ([]byte, error) {
	return json.Marshal(imageWire{URL: b.URL, Filename: b.Filename, Secret: b.Secret, Size: sizeOf(b.Width, b.Height),
		FileLength: b.FileLength, Thumb: b.Thumb, ThumbSecret: b.ThumbSecret})
}

// UnmarshalJSON reads the wire form.
func (b *ImageBody) UnmarshalJSON(data []byte) error {
	var w imageWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = ImageBody{URL: w.URL, Filename: w.Filename, Secret: w.Secret, FileLength: w.FileLength,
		Thumb: w.Thumb, ThumbSecret: w.ThumbSecret}
	b.Width, b.Height = w.Size.ints()
	return nil
}

type videoWire struct {
	URL         string `json:"url"`
	Filename    string `json:"filename,omitempty"`
	Thumb       string `json:"thumb,omitempty"`
	Length      int    `json:"length,omitempty"`
	FileLength  int64  `json:"file_length,omitempty"`
	Secret      string `json:"secret,omitempty"`
	ThumbSecret string `json:"thumb_secret,omitempty"`
	Size        *size  `json:"size,omitempty"`
}

// MarshalJSON writes Width and Height as size{width, height}.
func (b VideoBody) MarshalJSON() ([]byte, error) {
	return json.Marshal(videoWire{URL: b.URL, Filename: b.Filename, Thumb: b.Thumb, Length: b.Length,
		FileLength: b.FileLength, Secret: b.Secret, ThumbSecret: b.ThumbSecret, Size: sizeOf(b.Width, b.Height)})
}

// UnmarshalJSON reads the wire form.
func (b *VideoBody) UnmarshalJSON(data []byte) error {
	var w videoWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = VideoBody{URL: w.URL, Filename: w.Filename, Thumb: w.Thumb, ThumbSecret: w.ThumbSecret, Length: w.Length,
		FileLength: w.FileLength, Secret: w.Secret}
	b.Width, b.Height = w.Size.ints()
	return nil
}

// coord decodes a JSON number or a string holding one.
type coord float64

func (c *coord) UnmarshalJSON(data []byte) error {
	var n float64
	if err := json.Unmarshal(data, &n); err == nil {
		*c = coord(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("a coordinate must be a number or a numeric string")
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("coordinate %q is not a number", s)
	}
	*c = coord(n)
	return nil
}

type locationWire struct {
	Lat          coord  `json:"lat"`
	Lng          coord  `json:"lng"`
	Addr         string `json:"addr,omitempty"`
	BuildingName string `json:"buildingName,omitempty"`
}

// MarshalJSON writes the wire form (coordinates as numbers).
func (b LocationBody) MarshalJSON() ([]byte, error) {
	return json.Marshal(locationWire{Lat: coord(b.Lat), Lng: coord(b.Lng), Addr: b.Addr, BuildingName: b.BuildingName})
}

// UnmarshalJSON reads the wire form, coordinates as numbers or strings.
func (b *LocationBody) UnmarshalJSON(data []byte) error {
	var w locationWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = LocationBody{Lat: float64(w.Lat), Lng: float64(w.Lng), Addr: w.Addr, BuildingName: w.BuildingName}
	return nil
}

// ErrRecalled is returned by DecodeBody for a recalled message: its body is
// gone.
var ErrRecalled = errors.New("parley: the message was recalled; it has no body")

// DecodeBody decodes a message item's body into the typed Body of its
// type: a TextBody for "txt", an ImageBody for "img", and so on (not
// pointers). Fields the type does not define are dropped; Item.Body keeps
// the raw JSON.
func DecodeBody(it *protocol.Item) (Body, error) {
	if it == nil || it.Kind == protocol.ItemRecall {
		return nil, errors.New("parley: not a message")
	}
	if it.Recalled {
		return nil, ErrRecalled
	}
	var b Body
	var err error
	switch it.Type {
	case protocol.MsgText:
		b, err = decodeAs[TextBody](it.Body)
	case protocol.MsgCmd:
		b, err = decodeAs[CmdBody](it.Body)
	case protocol.MsgCustom:
		b, err = decodeAs[CustomBody](it.Body)
	case protocol.MsgImage:
		b, err = decodeAs[ImageBody](it.Body)
	case protocol.MsgAudio:
		b, err = decodeAs[AudioBody](it.Body)
	case protocol.MsgVideo:
		b, err = decodeAs[VideoBody](it.Body)
	case protocol.MsgFile:
		b, err = decodeAs[FileBody](it.Body)
	case protocol.MsgLoc:
		b, err = decodeAs[LocationBody](it.Body)
	case protocol.MsgCombine:
		b, err = decodeAs[CombineBody](it.Body)
	default:
		return nil, fmt.Errorf("parley: message type %q has no typed body", it.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parley: %s message body: %w", it.Type, err)
	}
	return b, nil
}

func decodeAs[T Body](raw json.RawMessage) (Body, error) {
	var v T
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Body decodes the message's body into its typed Body (see DecodeBody):
//
//	b, err := ev.Body()
//	switch b := b.(type) {
//	case parley.TextBody:  fmt.Println(b.Msg)
//	case parley.ImageBody: c.Download(ctx, b.URL, w, parley.DownloadOptions{ShareSecret: b.Secret})
//	}
func (e MessageEvent) Body() (Body, error) { return DecodeBody(e.Item) }

// ImageBody is the body of an img message showing this uploaded image.
func (f *File) ImageBody() ImageBody {
	b := ImageBody{URL: f.URL, Filename: f.Filename, Secret: f.secret(), Width: f.Width, Height: f.Height,
		FileLength: f.Size, Thumb: f.URL, ThumbSecret: f.secret()}
	return b
}

// FileBody is the body of a file message for this upload (named "file" if
// it was uploaded without a name).
func (f *File) FileBody() FileBody {
	name := f.Filename
	if name == "" {
		name = "file"
	}
	return FileBody{URL: f.URL, Filename: name, Secret: f.secret(), FileLength: f.Size}
}

// AudioBody is the body of an audio message for this upload, lasting
// seconds.
func (f *File) AudioBody(seconds int) AudioBody {
	return AudioBody{URL: f.URL, Filename: f.Filename, Length: seconds, Secret: f.secret(), FileLength: f.Size}
}

// VideoBody is the body of a video message for this upload, lasting
// seconds, with an uploaded preview image (thumb may be nil). Set Width and
// Height if you know them.
func (f *File) VideoBody(seconds int, thumb *File) VideoBody {
	b := VideoBody{URL: f.URL, Filename: f.Filename, Length: seconds, FileLength: f.Size, Secret: f.secret()}
	if thumb != nil {
		b.Thumb, b.ThumbSecret = thumb.URL, thumb.secret()
	}
	return b
}

// CombineBody is the body of a combine message whose combined messages are
// this upload.
func (f *File) CombineBody(title, summary string) CombineBody {
	return CombineBody{URL: f.URL, Title: title, Summary: summary, Filename: f.Filename, Secret: f.secret(),
		FileLength: f.Size}
}

// secret is the share-secret a message must carry for the file: only
// restricted files need it.
func (f *File) secret() string {
	if f.Restricted {
		return f.ShareSecret
	}
	return ""
}
