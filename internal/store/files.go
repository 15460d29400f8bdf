package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// File is an uploaded file's row. The content is in upload storage under ID.
type File struct {
	ID          string // a random UUID: ids say nothing about other files
	UserID      int64
	Name        string // the safe download name
	ContentType string // as sniffed, never as the client said
	Size        int64
	SHA256      string // hex
	Ready       bool   // the object is committed; only ready files are shown
	CreatedAt   time.Time
}

// ErrQuota means a user's quota of bytes or files would be exceeded.
var ErrQuota = errors.New("store: upload quota exceeded")

// ReserveFile records f as pending, if the user's files (pending ones
// included) stay within quota bytes and maxFiles files with it; else
// ErrQuota. The check and the insert are one transaction that holds the
// user's row (PostgreSQL) or the single writer (SQLite), so two uploads at
// once cannot both pass.
func (db *DB) ReserveFile(ctx context.Context, f *File, quota int64, maxFiles int) error {
	const op = "reserve file"
	for _, s := range []string{f.ID, f.Name, f.ContentType, f.SHA256} {
		if !textOK(s) {
			return invalid(op, "text must be UTF-8 without NUL bytes")
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(op, err)
	}
	defer tx.Rollback()
	if db.dialect == DialectPostgres {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, f.UserID).Scan(&id); err != nil {
			return fail(op, err)
		}
	}
	var used int64
	var count int
	if err := tx.QueryRowContext(ctx,
		`SELECT coalesce(sum(size), 0), count(*) FROM files WHERE user_id = $1`, f.UserID).Scan(&used, &count); err != nil {
		return fail(op, err)
	}
	if used+f.Size > quota || count+1 > maxFiles {
		return ErrQuota
	}
	f.CreatedAt, f.Ready = now(), false
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO files (id, user_id, name, content_type, size, sha256, state, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`,
		f.ID, f.UserID, f.Name, f.ContentType, f.Size, f.SHA256, db.ts(f.CreatedAt)); err != nil {
		return fail(op, err)
	}
	if err := tx.Commit(); err != nil {
		return fail(op, err)
	}
	return nil
}

// MarkFileReady shows a file whose object is committed.
func (db *DB) MarkFileReady(ctx context.Context, id string) error {
	return db.updateOne(ctx, "mark file ready", `UPDATE files SET state = 'ready' WHERE id = $1`, id)
}

const fileColumns = `id, user_id, name, content_type, size, sha256, state = 'ready', created_at`

func scanFile(row interface{ Scan(...any) error }, f *File) error {
	return row.Scan(&f.ID, &f.UserID, &f.Name, &f.ContentType, &f.Size, &f.SHA256, &f.Ready, timeScanner{&f.CreatedAt})
}

// UserFile returns a ready file of the user's, or ErrNotFound: another
// user's file is "not found" too.
func (db *DB) UserFile(ctx context.Context, userID int64, id string) (*File, error) {
	if !textOK(id) { // no row has such an id, and PostgreSQL refuses it as text
		return nil, fail("user file", ErrNotFound)
	}
	var f File
	err := scanFile(db.r.QueryRowContext(ctx,
		`SELECT `+fileColumns+` FROM files WHERE id = $1 AND user_id = $2 AND state = 'ready'`, id, userID), &f)
	if err != nil {
		return nil, fail("user file", err)
	}
	return &f, nil
}

// UserFiles returns the user's ready files, newest first, and the bytes
// they use (pending uploads included, as the quota counts them).
func (db *DB) UserFiles(ctx context.Context, userID int64) ([]File, int64, error) {
	const op = "user files"
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+fileColumns+` FROM files WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, 0, fail(op, err)
	}
	defer rows.Close()
	var files []File
	var used int64
	for rows.Next() {
		var f File
		if err := scanFile(rows, &f); err != nil {
			return nil, 0, fail(op, err)
		}
		used += f.Size
		if f.Ready {
			files = append(files, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fail(op, err)
	}
	return files, used, nil
}

// DeleteUserFile removes the row of one of the user's files (ErrNotFound
// for anyone else's); the caller then deletes the object.
func (db *DB) DeleteUserFile(ctx context.Context, userID int64, id string) error {
	if !textOK(id) {
		return fail("delete file", ErrNotFound)
	}
	return db.updateOne(ctx, "delete file", `DELETE FROM files WHERE id = $1 AND user_id = $2`, id, userID)
}

// DeleteFile removes a file's row whoever owns it (the sweep, a failed
// upload).
func (db *DB) DeleteFile(ctx context.Context, id string) error {
	if !textOK(id) {
		return nil // no such row
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM files WHERE id = $1`, id); err != nil {
		return fail("delete file", err)
	}
	return nil
}

// FileStates returns every file id with whether it is ready and when it was
// reserved, for the sweep that reconciles rows with storage.
func (db *DB) FileStates(ctx context.Context) (map[string]File, error) {
	const op = "file states"
	rows, err := db.r.QueryContext(ctx, `SELECT `+fileColumns+` FROM files`)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	out := map[string]File{}
	for rows.Next() {
		var f File
		if err := scanFile(rows, &f); err != nil {
			return nil, fail(op, err)
		}
		out[f.ID] = f
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fail(op, err)
	}
	return out, nil
}
