package blob

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/parleyim/parley/internal/config"
)

// Open returns the store cfg names: a local directory (cfg.Dir, or
// <dataDir>/files), or an S3 bucket, created if missing — which also
// checks the endpoint and credentials before the server takes traffic.
func Open(ctx context.Context, cfg config.Blob, dataDir string) (Store, error) {
	switch cfg.Driver {
	case "local":
		dir := cfg.Dir
		if dir == "" {
			dir = filepath.Join(dataDir, "files")
		}
		return NewLocal(dir)
	case "s3":
		s, err := NewS3(S3Options{
			Endpoint:  cfg.S3Endpoint,
			Bucket:    cfg.S3Bucket,
			Region:    cfg.S3Region,
			AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey,
			TLS:       cfg.S3TLS,
			PathStyle: cfg.S3PathStyle,
			Prefix:    cfg.S3Prefix,
		})
		if err != nil {
			return nil, err
		}
		if err := s.EnsureBucket(ctx); err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("blob: unknown driver %q (want local or s3)", cfg.Driver)
	}
}
