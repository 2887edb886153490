package files

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // decode GIF uploads
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // decode WebP uploads

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// MaxPixels bounds the images decoded for thumbnails (a 10 MB file can
// claim a huge canvas; decoding one costs width x height x 4 bytes).
const MaxPixels = 64 << 20

// thumbnail checks that an uploaded image decodes, records its size, and
// stores a thumbnail fitting in tw x th (aspect ratio kept) unless the
// image is small enough to be its own.
func (s *Service) thumbnail(ctx context.Context, f *store.File, key string, tw, th int) error {
	bad := func(format string, a ...any) error {
		return errs.New(protocol.ErrBadImage, format, a...)
	}
	rc, _, err := s.blobs.Get(ctx, key, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	var head bytes.Buffer
	cfg, _, err := image.DecodeConfig(io.TeeReader(rc, &head))
	if err != nil {
		return bad("the image cannot be decoded: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return bad("the image is %dx%d; at most %d megapixels can be processed", cfg.Width, cfg.Height, MaxPixels>>20)
	}
	f.Width, f.Height = cfg.Width, cfg.Height
	select {
	case s.decode <- struct{}{}:
		defer func() { <-s.decode }()
	case <-ctx.Done():
		return ctx.Err()
	}
	img, _, err := image.Decode(io.MultiReader(&head, rc))
	if err != nil {
		return bad("the image cannot be decoded: %v", err)
	}
	w, h := fit(cfg.Width, cfg.Height, tw, th)
	if f.Size <= OwnThumbnailBytes || (w == cfg.Width && h == cfg.Height) {
		return nil // its own thumbnail
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if thumbType(f.ContentType) == "image/png" {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst)
	} else {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 80})
	}
	if err != nil {
		return fmt.Errorf("encode thumbnail: %w", err)
	}
	info, err := s.blobs.Put(ctx, key+".thumb", &buf, int64(buf.Len()), thumbType(f.ContentType))
	if err != nil {
		return fmt.Errorf("store thumbnail: %w", err)
	}
	f.ThumbSize = info.Size
	return nil
}

// fit scales w x h down to fit in bw x bh, keeping the aspect ratio (never
// up, never below 1 px).
func fit(w, h, bw, bh int) (int, int) {
	if w <= bw && h <= bh {
		return w, h
	}
	// Scale by the tighter of the two ratios, in integers.
	if int64(w)*int64(bh) > int64(h)*int64(bw) {
		return bw, max(1, int(int64(h)*int64(bw)/int64(w)))
	}
	return max(1, int(int64(w)*int64(bh)/int64(h))), bh
}

// thumbType is the thumbnail's type: PNG for sources that may have
// transparency, JPEG otherwise.
func thumbType(ct string) string {
	switch ct {
	case "image/png", "image/gif", "image/webp":
		return "image/png"
	}
	return "image/jpeg"
}
