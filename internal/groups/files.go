package groups

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Shared files: members upload files to a group (stored like any upload,
// restricted, so only members reach them through the group); the uploader,
// the owner and admins delete them. A group's files go with it.

// Share uploads a file into a group (members).
func (s *Service) Share(ctx context.Context, p *tenant.Principal, id string, up files.Upload) (*store.SharedFile, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.role == "" {
		return nil, errs.New(protocol.ErrNotGroupMember, "only members share files in a group")
	}
	up.Restrict = true
	f, err := s.Files.Store(ctx, p, up)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	if err := s.st.Groups().ShareFile(ctx, grp.g.ID, f.ID, p.UserID, now); err != nil {
		s.Files.Release(context.WithoutCancel(ctx), []int64{f.ID})
		return nil, err
	}
	return &store.SharedFile{File: *f, Owner: p.UserID, Created: now}, nil
}

// SharedFiles pages through a group's files (members; page from 1).
func (s *Service) SharedFiles(ctx context.Context, p *tenant.Principal, id string, page, size int) ([]store.SharedFile, map[int64]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if c.role == "" {
		return nil, nil, errs.New(protocol.ErrNotGroupMember, "only members see a group's files")
	}
	if page < 1 || size < 1 || size > 1000 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "pagenum must be ≥1 and pagesize 1..1000")
	}
	list, err := s.st.Groups().SharedFiles(ctx, grp.g.ID, (page-1)*size, size)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(list))
	for i, f := range list {
		ids[i] = f.Owner
	}
	names, err := s.names(ctx, p.App.ID, ids)
	return list, names, err
}

// sharedFile finds one of a group's files by its UUID.
func (s *Service) sharedFile(ctx context.Context, p *tenant.Principal, grp *cached, fileID string) (*store.SharedFile, error) {
	f, err := s.st.Files().Get(ctx, p.App.ID, fileID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrFileNotFound, "file %s not found in the group", fileID)
	}
	if err != nil {
		return nil, err
	}
	list, err := s.st.Groups().SharedFiles(ctx, grp.g.ID, 0, 100_000)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].File.ID == f.ID {
			return &list[i], nil
		}
	}
	return nil, errs.New(protocol.ErrFileNotFound, "file %s not found in the group", fileID)
}

// OpenShared opens a group file for download (members).
func (s *Service) OpenShared(ctx context.Context, p *tenant.Principal, id, fileID string) (*files.Download, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.role == "" {
		return nil, errs.New(protocol.ErrNotGroupMember, "only members download a group's files")
	}
	sf, err := s.sharedFile(ctx, p, grp, fileID)
	if err != nil {
		return nil, err
	}
	return s.Files.Open(ctx, p.App, p, sf.File.UUID, sf.File.Secret, false)
}

// Unshare deletes a group file (its uploader, the owner, admins).
func (s *Service) Unshare(ctx context.Context, p *tenant.Principal, id, fileID string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	sf, err := s.sharedFile(ctx, p, grp, fileID)
	if err != nil {
		return err
	}
	if sf.Owner != p.UserID && !c.admin() {
		return errs.New(protocol.ErrGroupForbidden, "only the uploader, the owner and admins delete a group file")
	}
	if err := s.st.Groups().UnshareFile(ctx, grp.g.ID, sf.File.ID); err != nil {
		return err
	}
	s.Files.Release(ctx, []int64{sf.File.ID})
	return nil
}
