// Package blob is the port to the store that keeps file contents (the
// attachments of applications: PDFs, images, office documents) outside the
// database. PostgreSQL keeps only their metadata: name, content type, size,
// SHA-256 and storage key.
//
// The package also holds the pure rules every store and use case shares:
// which content types are accepted (AllowedType), how they are recognised
// (Sniff) and which user-supplied file names are acceptable (ValidName).
package blob

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Info describes an object a Store has written.
type Info struct {
	// Key names the stored object. Callers treat it as opaque and keep it with
	// the metadata; the Store builds it from tenant and id so that one
	// tenant's keys never collide with another's.
	Key         string
	Size        int64
	SHA256      [32]byte
	ContentType string // as returned by Sniff, always an allowed type
}

// Store keeps file contents.
type Store interface {
	// Put streams r into the store under a key built from tenant and id and
	// returns its Info. It refuses more than max bytes (ErrTooLarge) and a
	// content type that Sniff does not recognise as allowed
	// (ErrTypeNotAllowed); a refused, failed or cancelled Put leaves nothing
	// behind. The object becomes visible under its key only when complete.
	Put(ctx context.Context, tenant, id uuid.UUID, r io.Reader, max int64) (Info, error)
	// Open reads an object; ErrNotFound if there is none under key, and for
	// any key the Store could not have built.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes an object; deleting an absent object is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the tenant's complete objects last written before
	// before, in no promised order: never an object of another tenant, nor
	// a Put still in flight (it is not an object yet). A tenant without
	// objects has none; that is not an error.
	List(ctx context.Context, tenant uuid.UUID, before time.Time) ([]Object, error)
}

// Object is an object as List reports it.
type Object struct {
	Key     string
	ModTime time.Time // when it was written
}

// Sentinel errors; match them with errors.Is.
var (
	ErrTooLarge       = domain.Errorf(domain.KindTooLarge, "file_too_large", "the file is larger than allowed")
	ErrNotFound       = domain.Errorf(domain.KindNotFound, "file_not_found", "no such file")
	ErrTypeNotAllowed = domain.Errorf(domain.KindInvalid, "file_type_not_allowed", "files must be PDF, PNG, JPEG, office documents (zip) or UTF-8 text")
	ErrInvalidName    = domain.Errorf(domain.KindInvalid, "invalid_file_name", "a file name is 1-200 characters without control characters and is not . or ..")
)
