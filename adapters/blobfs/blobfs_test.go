package blobfs_test

import (
	"bytes"
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
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/blobfs"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/blob"
)

// Tiny files with valid magic numbers.
var samples = []struct {
	name, content, ct string
}{
	{"pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", blob.TypePDF},
	{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89", blob.TypePNG},
	{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", blob.TypeJPEG},
	{"zip", "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml", blob.TypeZip},
	{"text", "Relazione finale — città di Bergamo\nriga due\n", blob.TypeText},
	{"empty", "", blob.TypeText},
}

func newFS(t testing.TB) (*blobfs.FS, string) {
	t.Helper()
	root := t.TempDir()
	s, err := blobfs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, root
}

// assertNoFiles fails if anything but directories is under root: no
// object, no temporary file. (Directories created for a refused Put stay;
// removing them would race with concurrent Puts into the same directory.)
func assertNoFiles(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, s *blobfs.FS, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	tenant := uuid.Must(uuid.NewV7())
	for _, c := range samples {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			id := uuid.Must(uuid.NewV7())
			info, err := s.Put(ctx, tenant, id, strings.NewReader(c.content), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			ids := id.String()
			if want := tenant.String() + "/" + ids[len(ids)-2:] + "/" + ids; info.Key != want {
				t.Errorf("key %q, want %q", info.Key, want)
			}
			if info.Size != int64(len(c.content)) || info.ContentType != c.ct {
				t.Errorf("info %+v, want size %d, type %q", info, len(c.content), c.ct)
			}
			if info.SHA256 != sha256.Sum256([]byte(c.content)) {
				t.Errorf("SHA-256 %x, want %x", info.SHA256, sha256.Sum256([]byte(c.content)))
			}
			if got := read(t, s, info.Key); string(got) != c.content {
				t.Errorf("read back %q, want %q", got, c.content)
			}
			st, err := os.Stat(filepath.Join(root, filepath.FromSlash(info.Key)))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", st.Mode().Perm())
			}
			for _, d := range []string{filepath.Dir(info.Key), tenant.String()} {
				st, err := os.Stat(filepath.Join(root, filepath.FromSlash(d)))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700", d, st.Mode().Perm())
				}
			}
		})
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	info, err := s.Put(ctx, uuid.New(), uuid.New(), strings.NewReader("ciao"), 100)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Delete(ctx, info.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Open(ctx, info.Key); !errors.Is(err, blob.ErrNotFound) || domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("Open after Delete: %v, want file_not_found", err)
	}
	assertNoFiles(t, root)
}

func TestLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Below, at and well above the sniffed head.
	for _, size := range []int{0, 1, 100, blob.SniffLen - 1, blob.SniffLen, blob.SniffLen + 1, 100_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			content := bytes.Repeat([]byte("x"), size)
			s, root := newFS(t)
			info, err := s.Put(ctx, uuid.New(), uuid.New(), bytes.NewReader(content), int64(size))
			if err != nil {
				t.Fatalf("exactly the limit: %v", err)
			}
			if info.Size != int64(size) {
				t.Errorf("size %d, want %d", info.Size, size)
			}

			s, root = newFS(t)
			over := append(content, 'x')
			_, err = s.Put(ctx, uuid.New(), uuid.New(), bytes.NewReader(over), int64(size))
			if !errors.Is(err, blob.ErrTooLarge) || domain.KindOf(err) != domain.KindTooLarge {
				t.Fatalf("limit+1: %v, want file_too_large", err)
			}
			assertNoFiles(t, root)
		})
	}
	t.Run("MaxInt64", func(t *testing.T) {
		t.Parallel()
		s, _ := newFS(t)
		if _, err := s.Put(ctx, uuid.New(), uuid.New(), strings.NewReader("ciao"), math.MaxInt64); err != nil {
			t.Fatal(err)
		}
	})
}

// endless never ends: a limit must stop it.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestLimitStopsEndlessStream(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	_, err := s.Put(context.Background(), uuid.New(), uuid.New(), endless{}, 1<<20)
	if !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("got %v, want file_too_large", err)
	}
	assertNoFiles(t, root)
}

func TestTypeNotAllowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []string{
		"\x7fELF\x02\x01\x01\x00\x00\x00",
		"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff",
		"MZ\x90\x00\x03\x00\x00\x00",
		"citt\xe0 latin-1",
		strings.Repeat("\x00", 2000),
	} {
		s, root := newFS(t)
		_, err := s.Put(ctx, uuid.New(), uuid.New(), strings.NewReader(c), 1<<20)
		if !errors.Is(err, blob.ErrTypeNotAllowed) || domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%q: %v, want file_type_not_allowed", c, err)
		}
		assertNoFiles(t, root)
	}
}

func TestSHA256Streamed(t *testing.T) {
	t.Parallel()
	s, _ := newFS(t)
	content := append([]byte("%PDF-1.4\n"), make([]byte, 3<<20+17)...)
	rand.Read(content[9:])
	// One byte at a time for the head, then odd-sized chunks.
	info, err := s.Put(context.Background(), uuid.New(), uuid.New(), &chunky{b: content}, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(content); info.SHA256 != want {
		t.Errorf("SHA-256 %x, want %x", info.SHA256, want)
	}
	if info.Size != int64(len(content)) || info.ContentType != blob.TypePDF {
		t.Errorf("info %+v", info)
	}
	if !bytes.Equal(read(t, s, info.Key), content) {
		t.Error("content differs")
	}
}

type chunky struct {
	b []byte
	n int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	c.n++
	size := 1
	if c.n > 600 {
		size = 7919
	}
	n := copy(p[:min(len(p), size)], c.b)
	c.b = c.b[n:]
	return n, nil
}

// failing yields n bytes of PDF, then err.
type failing struct {
	n   int
	err error
}

func (f *failing) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	n := min(len(p), f.n)
	copy(p, bytes.Repeat([]byte("%PDF-"), n/5+1)[:n])
	f.n -= n
	return n, nil
}

func TestReaderErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	for _, n := range []int{0, 10, blob.SniffLen, 100_000} {
		s, root := newFS(t)
		_, err := s.Put(context.Background(), uuid.New(), uuid.New(), &failing{n: n, err: boom}, 1<<20)
		if !errors.Is(err, boom) {
			t.Errorf("after %d bytes: %v, want the reader's error", n, err)
		}
		if domain.KindOf(err) != domain.KindInternal {
			t.Errorf("after %d bytes: kind %v", n, domain.KindOf(err))
		}
		assertNoFiles(t, root)
	}
}

// cancelling cancels its context after some reads.
type cancelling struct {
	r      io.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancelling) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == 3 {
		c.cancel()
	}
	return c.r.Read(p[:min(len(p), 1000)])
}

func TestCancelLeavesNothing(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelling{r: io.MultiReader(strings.NewReader("%PDF-1.7\n"), endless{}), cancel: cancel}
	_, err := s.Put(ctx, uuid.New(), uuid.New(), r, 1<<30)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertNoFiles(t, root)

	if _, err := s.Put(ctx, uuid.New(), uuid.New(), strings.NewReader("ciao"), 100); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v", err)
	}
	assertNoFiles(t, root)
}

func TestBadKeys(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	tenant, id := uuid.New(), uuid.New()
	info, err := s.Put(ctx, tenant, id, strings.NewReader("segreto"), 100)
	if err != nil {
		t.Fatal(err)
	}
	// A file next to the root that traversal would reach.
	outside := filepath.Join(filepath.Dir(root), "x")
	os.WriteFile(outside, []byte("outside"), 0o600)
	defer os.Remove(outside)
	ts, ids := tenant.String(), id.String()
	shard := ids[len(ids)-2:]
	for _, key := range []string{
		"", ".", "..", "/", "../x", "/etc/passwd", "a/../../b",
		ts, ts + "/" + shard, ts + "/" + shard + "/",
		info.Key + "/", "/" + info.Key, "./" + info.Key, info.Key + "/.",
		ts + "/" + shard + "/../" + shard + "/" + ids,
		ts + "//" + shard + "/" + ids,
		strings.ToUpper(info.Key),
		ts + "/" + ids[:2] + "/" + ids, // another shard
		ts + "/" + shard + "/{" + ids + "}",
		ts + "/" + shard + "/urn:uuid:" + ids,
		strings.ReplaceAll(info.Key, "/", `\`),
		uuid.Nil.String() + "/00/" + uuid.Nil.String(),
		ts + "/" + shard + "/.tmp-ABC",
		info.Key + "\x00",
	} {
		if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) || domain.KindOf(err) != domain.KindNotFound {
			t.Errorf("Open(%q): %v, want file_not_found", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Delete(%q): %v, want file_not_found", key, err)
		}
	}
	if got := read(t, s, info.Key); string(got) != "segreto" {
		t.Errorf("the object changed: %q", got)
	}
	// A well-formed key with no object.
	other := uuid.New().String()
	if _, err := s.Open(ctx, ts+"/"+other[len(other)-2:]+"/"+other); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("absent object: %v", err)
	}
}

func TestTenantsDoNotCollide(t *testing.T) {
	t.Parallel()
	s, _ := newFS(t)
	ctx := context.Background()
	id := uuid.New()
	a, err := s.Put(ctx, uuid.New(), id, strings.NewReader("di Milano"), 100)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(ctx, uuid.New(), id, strings.NewReader("di Bergamo"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if a.Key == b.Key {
		t.Fatalf("both tenants got key %q", a.Key)
	}
	if string(read(t, s, a.Key)) != "di Milano" || string(read(t, s, b.Key)) != "di Bergamo" {
		t.Error("one tenant's object overwrote the other's")
	}
}

func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	tenants := []uuid.UUID{uuid.New(), uuid.New()}
	const n = 20
	infos := make([]blob.Info, n)
	contents := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		contents[i] = fmt.Appendf(nil, "%%PDF-1.7 oggetto %d %s", i, strings.Repeat("z", i*5000))
		wg.Go(func() {
			info, err := s.Put(ctx, tenants[i%2], uuid.Must(uuid.NewV7()), bytes.NewReader(contents[i]), 1<<20)
			if err != nil {
				t.Error(err)
			}
			infos[i] = info
		})
	}
	wg.Wait()
	for i, info := range infos {
		if !bytes.Equal(read(t, s, info.Key), contents[i]) {
			t.Errorf("object %d differs", i)
		}
		if info.SHA256 != sha256.Sum256(contents[i]) {
			t.Errorf("object %d: wrong SHA-256", i)
		}
	}
	files := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
			if strings.Contains(p, ".tmp-") {
				t.Errorf("temporary file left: %s", p)
			}
		}
		return err
	})
	if files != n {
		t.Errorf("%d files, want %d", files, n)
	}
}

func TestRecreatesRemovedDirectories(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	tenant := uuid.New()
	info, err := s.Put(ctx, tenant, uuid.New(), strings.NewReader("uno"), 100)
	if err != nil {
		t.Fatal(err)
	}
	// An operator cleans up behind the store's back.
	if err := os.RemoveAll(filepath.Join(root, tenant.String())); err != nil {
		t.Fatal(err)
	}
	// The same directory (same id) and a new one (another id, most likely
	// another shard) of the removed tenant directory.
	id := uuid.MustParse(info.Key[strings.LastIndexByte(info.Key, '/')+1:])
	for _, id := range []uuid.UUID{id, uuid.New()} {
		if _, err := s.Put(ctx, tenant, id, strings.NewReader("due"), 100); err != nil {
			t.Fatalf("Put after the directories were removed: %v", err)
		}
		os.RemoveAll(filepath.Join(root, tenant.String()))
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	for _, c := range []struct {
		tenant, id uuid.UUID
		max        int64
	}{
		{uuid.Nil, uuid.New(), 10},
		{uuid.New(), uuid.Nil, 10},
		{uuid.New(), uuid.New(), -1},
	} {
		if _, err := s.Put(ctx, c.tenant, c.id, strings.NewReader("x"), c.max); err == nil || domain.KindOf(err) != domain.KindInternal {
			t.Errorf("Put(%v, %v, max %d): %v, want an internal error", c.tenant, c.id, c.max, err)
		}
	}
	assertNoFiles(t, root)

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := blobfs.New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
	if _, err := blobfs.New(""); err == nil {
		t.Error("New with an empty root succeeded")
	}
	nested := filepath.Join(t.TempDir(), "a", "b")
	s2, err := blobfs.New(nested)
	if err != nil {
		t.Fatalf("New creates missing directories: %v", err)
	}
	s2.Close()
}

func BenchmarkPut(b *testing.B) {
	s, _ := newFS(b)
	ctx := context.Background()
	content := append([]byte("%PDF-1.7\n"), make([]byte, 1<<20-9)...)
	rand.Read(content[9:])
	tenant := uuid.New()
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Put(ctx, tenant, uuid.Must(uuid.NewV7()), bytes.NewReader(content), 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// age sets an object's modification time back by d.
func age(t *testing.T, root, key string, d time.Duration) time.Time {
	t.Helper()
	at := time.Now().Add(-d).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(key)), at, at); err != nil {
		t.Fatal(err)
	}
	return at
}

// List reports a tenant's complete objects written before a time: not the
// younger ones, not another tenant's, not temporary files of Puts in flight
// nor anything else that is not a key.
func TestList(t *testing.T) {
	t.Parallel()
	s, root := newFS(t)
	ctx := context.Background()
	milano, bergamo := uuid.New(), uuid.New()
	put := func(tenant uuid.UUID) string {
		t.Helper()
		info, err := s.Put(ctx, tenant, uuid.Must(uuid.NewV7()), strings.NewReader("relazione"), 100)
		if err != nil {
			t.Fatal(err)
		}
		return info.Key
	}
	old1, old2, young := put(milano), put(milano), put(milano)
	theirs := put(bergamo)
	want := map[string]time.Time{old1: age(t, root, old1, 48*time.Hour), old2: age(t, root, old2, 25*time.Hour)}
	age(t, root, young, time.Hour)
	age(t, root, theirs, 72*time.Hour)
	// An old temporary file of a Put (in flight, or cut by a crash) in an
	// object's directory, a stray file, a key-shaped directory, a key in the
	// wrong shard and a symbolic link to an object: none is an object.
	shard := filepath.Join(root, filepath.FromSlash(filepath.Dir(old1)))
	id := uuid.New().String()
	strays := []string{
		filepath.Join(shard, ".tmp-ABCDEFGHIJ"),
		filepath.Join(root, milano.String(), "README"),
		filepath.Join(shard, "notes.txt"),
		filepath.Join(root, milano.String(), "zz", id), // a UUID never ends in zz: the wrong shard
	}
	if err := os.MkdirAll(filepath.Join(root, milano.String(), "zz"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range strays {
		if err := os.WriteFile(p, []byte("%PDF-1.7"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dirID := uuid.New().String()
	dirKey := filepath.Join(root, milano.String(), dirID[len(dirID)-2:], dirID)
	if err := os.MkdirAll(dirKey, 0o700); err != nil {
		t.Fatal(err)
	}
	linkID := uuid.New().String()
	if err := os.MkdirAll(filepath.Join(root, milano.String(), linkID[len(linkID)-2:]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, filepath.FromSlash(old1)), filepath.Join(root, milano.String(), linkID[len(linkID)-2:], linkID)); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-96 * time.Hour)
	for _, p := range append(strays, dirKey) {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.List(ctx, milano, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	for _, o := range got {
		at, ok := want[o.Key]
		if !ok {
			t.Errorf("listed %q, which is not one of Milano's objects older than a day", o.Key)
			continue
		}
		if !o.ModTime.Equal(at) {
			t.Errorf("%s: modified %s, want %s", o.Key, o.ModTime, at)
		}
	}
	// Every listed key opens and deletes like any other.
	for _, o := range got {
		read(t, s, o.Key)
	}
	// Before a time in the past of every object: nothing.
	if got, err := s.List(ctx, milano, time.Now().Add(-100*time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("List before every object: %v, %v", got, err)
	}
	// Before now: the young one too.
	if got, err := s.List(ctx, milano, time.Now().Add(time.Minute)); err != nil || len(got) != 3 {
		t.Errorf("List before now: %v, %v; want 3 objects", got, err)
	}
	if got, err := s.List(ctx, bergamo, time.Now()); err != nil || len(got) != 1 || got[0].Key != theirs {
		t.Errorf("Bergamo's objects: %v, %v; want only %s", got, err, theirs)
	}
	// A tenant that never stored anything has no objects.
	if got, err := s.List(ctx, uuid.New(), time.Now()); err != nil || len(got) != 0 {
		t.Errorf("a tenant without a folder: %v, %v", got, err)
	}
	if _, err := s.List(ctx, uuid.Nil, time.Now()); err == nil {
		t.Error("List of the nil tenant: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.List(cancelled, milano, time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: %v", err)
	}
}
