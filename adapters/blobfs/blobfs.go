// Package blobfs stores file contents on the local filesystem: the
// blob.Store adapter for single-node deployments and development.
//
// Objects live under the root as <tenant>/<shard>/<id>, where shard is the
// last two hex digits of the id. (Ids are UUIDv7: their first digits are a
// timestamp that changes once every 35 years, their last ones are random.)
// Files are 0600 and directories 0700. A Put writes to a temporary file in
// the object's directory, fsyncs it, renames it into place and fsyncs the
// directory, so an object is visible only when complete and survives a
// crash once Put has returned. Every access goes through an os.Root, so no
// key can reach outside the root even if a check were missed.
package blobfs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/blob"
)

const (
	dirPerm    = 0o700
	filePerm   = 0o600
	tempPrefix = ".tmp-" // never a valid key, so Open cannot see a partial object
)

// FS is a blob.Store on a local directory. It is safe for concurrent use.
type FS struct {
	root *os.Root
	// durable holds directories whose entry in their parent is known to be
	// on disk, so each new directory's parent is fsynced once.
	durable sync.Map
}

var _ blob.Store = (*FS)(nil)

// New opens (creating it 0700 if needed) the directory root as a store.
// Close releases it.
func New(root string) (*FS, error) {
	if root == "" {
		return nil, errors.New("blobfs: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blobfs: %w", err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("blobfs: %w", err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("blobfs: %w", err)
	}
	return &FS{root: r}, nil
}

// Close releases the root directory; the FS cannot be used afterwards.
func (s *FS) Close() error { return s.root.Close() }

// Put implements blob.Store.
func (s *FS) Put(ctx context.Context, tenant, id uuid.UUID, r io.Reader, max int64) (info blob.Info, err error) {
	if tenant == uuid.Nil || id == uuid.Nil {
		return blob.Info{}, errors.New("blobfs: put: nil tenant or id")
	}
	if max < 0 {
		return blob.Info{}, fmt.Errorf("blobfs: put: negative limit %d", max)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	key := makeKey(tenant, id)
	tenantDir, dir := tenant.String(), key[:strings.LastIndexByte(key, '/')]
	tmp := dir + "/" + tempPrefix + rand.Text()
	f, err := s.createTemp(tenantDir, dir, tmp)
	if errors.Is(err, fs.ErrNotExist) {
		// Directories removed behind our back: forget and recreate them.
		s.durable.Delete(tenantDir)
		s.durable.Delete(dir)
		f, err = s.createTemp(tenantDir, dir, tmp)
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if f != nil {
			f.Close()
		}
		if rmErr := s.root.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("blobfs: removing %s: %w", tmp, rmErr))
		}
	}()

	// Read one byte past max, so that max bytes pass and max+1 do not.
	limit := max
	if max < math.MaxInt64 {
		limit++
	}
	src := io.LimitReader(ctxReader{ctx, r}, limit)
	h := sha256.New()
	dst := io.MultiWriter(f, h)

	var head [blob.SniffLen]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return blob.Info{}, readErr(err)
	}
	size := int64(n)
	if size > max {
		return blob.Info{}, blob.ErrTooLarge.WithMessage("the file is larger than %d bytes", max)
	}
	ct := blob.Sniff(head[:n])
	if !blob.AllowedType(ct) {
		return blob.Info{}, blob.ErrTypeNotAllowed
	}
	if _, err := dst.Write(head[:n]); err != nil {
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	if n == len(head) {
		m, err := io.Copy(dst, src)
		size += m
		if err != nil {
			// io.Copy reports write errors as they are; read errors come
			// through ctxReader.
			return blob.Info{}, readErr(err)
		}
		if size > max {
			return blob.Info{}, blob.ErrTooLarge.WithMessage("the file is larger than %d bytes", max)
		}
	}

	if err := f.Sync(); err != nil {
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	committed = true
	if err := s.syncDir(dir); err != nil {
		// The caller will not record an object that may not survive a crash.
		s.root.Remove(key)
		return blob.Info{}, fmt.Errorf("blobfs: put: %w", err)
	}
	info = blob.Info{Key: key, Size: size, ContentType: ct}
	h.Sum(info.SHA256[:0])
	return info, nil
}

// Open implements blob.Store.
func (s *FS) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validKey(key) {
		return nil, blob.ErrNotFound
	}
	f, err := s.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobfs: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobfs: open: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, blob.ErrNotFound
	}
	return f, nil
}

// Delete implements blob.Store. A key that Put could not have built is
// refused with ErrNotFound (it names nothing, and hints at a bug); a valid
// key with no object is not an error.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validKey(key) {
		return blob.ErrNotFound
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobfs: delete: %w", err)
	}
	return nil
}

// List implements blob.Store. It reads <tenant>/<shard>/ through the root
// and reports the regular files whose path is a key Put builds for that
// tenant, so temporary files of Puts in flight (or left by a crash),
// directories, symbolic links and anything else put there by hand are not
// objects. A shard directory removed meanwhile is skipped.
func (s *FS) List(ctx context.Context, tenant uuid.UUID, before time.Time) ([]blob.Object, error) {
	if tenant == uuid.Nil {
		return nil, errors.New("blobfs: list: nil tenant")
	}
	dir := tenant.String()
	shards, err := s.readDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("blobfs: list: %w", err)
	}
	var out []blob.Object
	for _, sh := range shards {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !sh.IsDir() {
			continue
		}
		shard := dir + "/" + sh.Name()
		entries, err := s.readDir(shard)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("blobfs: list: %w", err)
		}
		for _, e := range entries {
			key := shard + "/" + e.Name()
			if !e.Type().IsRegular() || !validKey(key) {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("blobfs: list: %w", err)
			}
			if fi.ModTime().Before(before) {
				out = append(out, blob.Object{Key: key, ModTime: fi.ModTime()})
			}
		}
	}
	return out, nil
}

// readDir lists a directory under the root.
func (s *FS) readDir(dir string) ([]fs.DirEntry, error) {
	d, err := s.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// makeKey is the one place that lays out keys.
func makeKey(tenant, id uuid.UUID) string {
	ids := id.String()
	return tenant.String() + "/" + ids[len(ids)-2:] + "/" + ids
}

// validKey reports whether key is exactly what makeKey builds for some
// non-nil tenant and id: canonical lower-case UUIDs, the right shard,
// nothing else ("..", absolute paths, temporary files, other spellings).
func validKey(key string) bool {
	t, rest, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	_, i, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	tenant, err := uuid.Parse(t)
	if err != nil || tenant == uuid.Nil {
		return false
	}
	id, err := uuid.Parse(i)
	if err != nil || id == uuid.Nil {
		return false
	}
	return makeKey(tenant, id) == key
}

// createTemp creates the temporary file tmp in dir, and dir and tenantDir
// if needed.
func (s *FS) createTemp(tenantDir, dir, tmp string) (*os.File, error) {
	if err := s.mkdir(".", tenantDir); err != nil {
		return nil, err
	}
	if err := s.mkdir(tenantDir, dir); err != nil {
		return nil, err
	}
	return s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
}

// mkdir creates dir (whose parent is parent) if needed and makes sure its
// entry is on disk before any object in it is reported as stored.
func (s *FS) mkdir(parent, dir string) error {
	if _, ok := s.durable.Load(dir); ok {
		return nil
	}
	if err := s.root.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Also when it existed: another Put may have created it and not yet
	// synced the parent.
	if err := s.syncDir(parent); err != nil {
		return err
	}
	s.durable.Store(dir, struct{}{})
	return nil
}

func (s *FS) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a stream once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// sourceError marks an error of the caller's reader, as opposed to one of
// the filesystem.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func readErr(err error) error {
	var se *sourceError
	if errors.As(err, &se) {
		return fmt.Errorf("blobfs: reading upload: %w", se.err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("blobfs: put: %w", err)
}
