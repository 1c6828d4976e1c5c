package pgcluster

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs describes the OS account initdb and postgres run as. It is only
// used when we are root: PostgreSQL refuses to run as root, so the server
// gets dropped credentials and must own its files.
type runAs struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	home   string
}

func lookupRunAs(name string) (*runAs, error) {
	if name == "" {
		name = "postgres"
		if _, err := user.Lookup(name); err != nil {
			name = "nobody"
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, so PostgreSQL must run as another user, but user %q: %w", name, err)
	}
	r := &runAs{name: u.Username, home: u.HomeDir}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: user %q has non-numeric uid %q", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: user %q has non-numeric gid %q", name, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("pgcluster: RunAs user %q is root; PostgreSQL refuses to run as root", name)
	}
	r.uid, r.gid = uint32(uid), uint32(gid)
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				r.groups = append(r.groups, uint32(g))
			}
		}
	}
	return r, nil
}

func (r *runAs) credential() *syscall.Credential {
	groups := r.groups
	if groups == nil {
		groups = []uint32{} // clear root's supplementary groups
	}
	return &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: groups}
}

func (r *runAs) inGroup(gid uint32) bool {
	if gid == r.gid {
		return true
	}
	for _, g := range r.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// checkTraverse verifies from mode bits that r can search (x) every ancestor
// of dir, which must be absolute. ACLs are not considered. We deliberately do
// not chmod anything: the ancestors belong to the user, and widening e.g.
// /root or a home directory behind their back would be a surprise.
func (r *runAs) checkTraverse(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode().Perm()
		var bit os.FileMode
		switch {
		case st.Uid == r.uid:
			bit = 0o100
		case r.inGroup(st.Gid):
			bit = 0o010
		default:
			bit = 0o001
		}
		if mode&bit == 0 {
			return fmt.Errorf("pgcluster: PostgreSQL runs as user %q (we are root and it refuses root), "+
				"but %q cannot traverse %s (mode %v, owner uid %d). "+
				"Choose a cluster folder elsewhere, e.g. under /tmp or /var/lib, or grant search permission yourself (chmod o+x %s)",
				r.name, r.name, p, mode, st.Uid, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (r *runAs) chown(paths ...string) error {
	for _, p := range paths {
		if err := os.Lchown(p, int(r.uid), int(r.gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}
