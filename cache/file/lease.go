package file

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// LeaseSuffix ends the name of every lease file (see Store.AcquireLease).
// Lease files are not cache files: they are never counted, culled or
// cleared, and Django ignores them.
const LeaseSuffix = ".djlease"

// maxLeaseTries bounds the attempts of AcquireLease when other processes
// keep creating and removing the lease file under it.
const maxLeaseTries = 8

// Store implements cache.Leaser.
var _ cache.Leaser = (*Store)(nil)

// leasePath returns the path of the lease file of key: hex(md5(key)) +
// LeaseSuffix in the directory.
func (s *Store) leasePath(key string) string {
	sum := md5.Sum([]byte(key))
	return s.prefix + hex.EncodeToString(sum[:]) + LeaseSuffix
}

// leaseFile is a lease file as read.
type leaseFile struct {
	raw      []byte
	token    string
	deadline int64 // Unix nanoseconds; 0 when the content is unreadable
	mtime    time.Time
}

// expired reports whether the lease lapsed at now. A file whose content
// cannot be read (left half-written by a crash) lapses ttl after it was
// last written.
func (l leaseFile) expired(now time.Time, ttl time.Duration) bool {
	if l.deadline == 0 {
		return !now.Before(l.mtime.Add(ttl))
	}
	return l.deadline <= now.UnixNano()
}

// readLease reads the lease file at path: "token deadline\n".
func readLease(path string) (leaseFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return leaseFile{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return leaseFile{}, err
	}
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	l := leaseFile{raw: buf[:n], mtime: fi.ModTime()}
	if tok, dl, ok := bytes.Cut(bytes.TrimSuffix(l.raw, []byte("\n")), []byte(" ")); ok {
		if d, err := strconv.ParseInt(string(dl), 10, 64); err == nil && d > 0 {
			l.token, l.deadline = string(tok), d
		}
	}
	return l, nil
}

// AcquireLease implements cache.Leaser with a lease file in the cache
// directory, shared by every process using it: hex(md5(key)) + LeaseSuffix,
// holding the token and the lease's deadline. The file is written to a
// temporary file and linked to its name, which fails when the name exists:
// an atomic create-if-absent (O_CREAT|O_EXCL) that never shows a reader a
// half-written lease. An expired lease file is taken over: it is renamed
// aside (so that of two processes taking it over, only one moves it),
// checked to be the file that was found expired (a fresh lease moved by
// mistake is linked back), removed, and the lease created again. The
// deadline is read by the Store's clock (Options.Now), which processes
// sharing the directory must agree on.
func (s *Store) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: file cache: lease ttl %v is not positive", cache.ErrInvalidOption, ttl)
	}
	path := s.leasePath(key)
	for range maxLeaseTries {
		now := s.now()
		deadline := now.Add(ttl).UnixNano()
		created, err := s.createLease(path, []byte(token+" "+strconv.FormatInt(deadline, 10)+"\n"))
		if err != nil || created {
			return created, err
		}
		held, err := readLease(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released meanwhile: try again
		case err != nil:
			return false, fmt.Errorf("file cache: reading lease: %w", err)
		case !held.expired(now, ttl):
			return false, nil
		}
		if _, err := s.removeLeaseIf(path, held.raw); err != nil {
			return false, err
		}
	}
	return false, nil
}

// ReleaseLease implements cache.Leaser: it removes the lease file if it
// holds token (moving it aside first, as a take-over does, so that a lease
// created by another process meanwhile is not removed), and reports
// whether the lease was still unexpired.
func (s *Store) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	path := s.leasePath(key)
	held, err := readLease(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("file cache: reading lease: %w", err)
	case held.token != token:
		return false, nil
	}
	removed, err := s.removeLeaseIf(path, held.raw)
	if err != nil || !removed {
		return false, err
	}
	return !held.expired(s.now(), 0), nil
}

// createLease links a temporary file holding data to path, and reports
// false when path exists.
func (s *Store) createLease(path string, data []byte) (bool, error) {
	tmp, err := writeTemp(s.dir, data)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(s.dir); err != nil {
			return false, fmt.Errorf("file cache: creating the cache directory: %w", err)
		}
		tmp, err = writeTemp(s.dir, data)
	}
	if err != nil {
		return false, fmt.Errorf("file cache: writing lease: %w", err)
	}
	defer unlink(tmp)
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	return false, fmt.Errorf("file cache: creating lease: %w", err)
}

// removeLeaseIf removes the lease file at path if it holds want, and
// reports whether it did. The file is first renamed to a name of its own,
// an atomic step only one process can take for a given file; if what was
// moved is not want (another process replaced the lease since it was
// read), it is linked back, unless yet another lease was created in the
// instant between.
func (s *Store) removeLeaseIf(path string, want []byte) (bool, error) {
	aside := s.prefix + tmpPrefix + strconv.FormatUint(rand.Uint64(), 36) + ".lease"
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("file cache: removing lease: %w", err)
	}
	defer unlink(aside)
	got, err := os.ReadFile(aside)
	if err != nil {
		return false, fmt.Errorf("file cache: removing lease: %w", err)
	}
	if bytes.Equal(got, want) {
		return true, nil
	}
	if err := os.Link(aside, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("file cache: restoring lease: %w", err)
	}
	return false, nil
}
