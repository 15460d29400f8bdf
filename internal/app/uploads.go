package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bulwarkhq/bulwark/internal/app/files"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/upload"
	"github.com/bulwarkhq/bulwark/upload/s3store"
)

// openFiles opens UPLOAD_STORAGE (a directory, or an S3 bucket shared by
// every instance) and builds the file service on it, counted by m.
func openFiles(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger, m *Metrics) (*files.Service, error) {
	var storage upload.Storage
	switch {
	case strings.HasPrefix(cfg.UploadStorage, "s3://"):
		o, err := s3store.ParseURL(cfg.UploadStorage)
		if err != nil {
			return nil, fmt.Errorf("UPLOAD_STORAGE: %w", err)
		}
		o.AccessKeyID, o.SecretAccessKey = string(cfg.S3AccessKeyID.Reveal()), string(cfg.S3SecretAccessKey.Reveal())
		if storage, err = s3store.New(ctx, o); err != nil {
			return nil, fmt.Errorf("UPLOAD_STORAGE: %w", err)
		}
	default:
		disk, err := upload.NewDisk(strings.TrimPrefix(cfg.UploadStorage, "file://"))
		if err != nil {
			return nil, fmt.Errorf("UPLOAD_STORAGE: %w", err)
		}
		storage = disk
	}
	storage = m.storage(storage)
	types, err := upload.NewTypes(cfg.UploadExtensions)
	if err != nil {
		return nil, fmt.Errorf("UPLOAD_EXTENSIONS: %w", err)
	}
	rc, err := upload.NewReceiver(upload.Options{MaxBytes: cfg.MaxContentLength, Types: types, Storage: storage})
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return &files.Service{DB: db, Storage: storage, Receiver: rc, Quota: cfg.UploadQuota, MaxFiles: cfg.UploadMaxFiles, Log: log}, nil
}
