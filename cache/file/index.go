package file

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/indexlist"
)

// IndexSuffix ends the name of every index file (see Store.IndexAdd).
// Index files are not cache files: they are never counted or culled, and
// Django ignores them; Clear removes them with the cache files.
const IndexSuffix = ".djindex"

// Store implements cache.Indexer.
var _ cache.Indexer = (*Store)(nil)

// indexPath returns the path of the index file of key: hex(md5(key)) +
// IndexSuffix in the directory.
func (s *Store) indexPath(key string) string {
	sum := md5.Sum([]byte(key))
	return s.prefix + hex.EncodeToString(sum[:]) + IndexSuffix
}

// maxIndexMembers returns the bound of an index.
func (s *Store) maxIndexMembers() int {
	if s.maxIndex > 0 {
		return s.maxIndex
	}
	return cache.MaxIndexMembers
}

// IndexAdd implements cache.Indexer with an index file in the cache
// directory, shared by every process using it: hex(md5(key)) +
// IndexSuffix, holding the members one per line. IndexAdd opens the file
// for appending, takes a shared lock on it (flock, advisory: other
// IndexAdd calls share it) and reads it: a member already present costs
// nothing more. A new member is appended with one write (O_APPEND: writes
// of concurrent appenders never interleave). An index holding its bound of
// members (or twice as many lines, duplicates left by racing writers
// included) is compacted first: under an exclusive lock, the members whose
// cache files are gone (missing, expired or corrupt) are dropped and the
// rest written to a temporary file renamed over the index, so that readers
// see the old index or the new one; an appender that was waiting for the
// lock finds that the file it opened was replaced, and starts again. Still
// full, the error wraps cache.ErrIndexFull. The bound is checked before
// appending, so writers racing past the check may each add one member more.
//
// Index files do not expire: timeout only tells an entry stored already
// expired, which is not indexed. Compaction, and Clear, remove what they
// list once its entries are gone. Where flock is not available (systems
// other than Linux, macOS and the BSDs), a compaction racing an append may
// lose the appended member.
func (s *Store) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if d, never := s.deadline(timeout); !never && d < s.now().UnixNano() {
		return nil // an entry stored already expired: nothing to index
	}
	path := s.indexPath(key)
	limit := s.maxIndexMembers()
	compacted := false
	for try := 0; try < maxIndexTries; try++ {
		full, err := s.indexAppend(path, member, limit)
		if err != nil || !full {
			return err
		}
		if compacted {
			return fmt.Errorf("file cache: index %q holds %d members with live entries: %w", key, limit, cache.ErrIndexFull)
		}
		if err := s.compactIndex(path); err != nil {
			return err
		}
		compacted = true
	}
	return fmt.Errorf("file cache: adding to index %q: gave up after %d tries: the index kept being replaced", key, maxIndexTries)
}

// maxIndexTries bounds the attempts of IndexAdd while other processes
// keep replacing the index file under it.
const maxIndexTries = 64

// errReplaced reports an index file replaced after it was opened.
var errReplaced = errors.New("file cache: index file replaced")

// openIndex opens the index file at path (creating it, and the directory,
// with create), locks it (exclusive or shared), and checks that it is
// still the file at path. It returns nil and no error when there is no
// index file and create is false.
func (s *Store) openIndex(path string, create, exclusive bool) (*os.File, error) {
	for try := range maxIndexTries {
		if try > 0 {
			time.Sleep(time.Duration(rand.Int64N(int64(try)*int64(time.Millisecond)) + 1))
		}
		flag := os.O_RDWR | os.O_APPEND
		if create {
			flag |= os.O_CREATE
		}
		f, err := os.OpenFile(path, flag, 0o600)
		if err != nil && create && errors.Is(err, fs.ErrNotExist) {
			if err := mkdirAll(s.dir); err != nil {
				return nil, fmt.Errorf("file cache: creating the cache directory: %w", err)
			}
			f, err = os.OpenFile(path, flag, 0o600)
		}
		if err != nil {
			if !create && errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return nil, fmt.Errorf("file cache: opening index: %w", err)
		}
		if err := lockFile(f, exclusive); err != nil {
			f.Close()
			return nil, fmt.Errorf("file cache: locking index: %w", err)
		}
		if !haveFlock {
			return f, nil
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("file cache: index: %w", err)
		}
		now, err := os.Stat(path)
		if err == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close() // replaced (compacted) or removed meanwhile: again
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("file cache: index: %w", err)
		}
	}
	return nil, fmt.Errorf("file cache: %s: %w %d times", path, errReplaced, maxIndexTries)
}

// indexAppend adds member to the index file at path unless it is there,
// and reports full (without adding) when the file holds limit members or
// twice as many lines.
func (s *Store) indexAppend(path, member string, limit int) (full bool, err error) {
	f, err := s.openIndex(path, true, false)
	if err != nil {
		return false, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("file cache: reading index: %w", err)
	}
	l := indexlist.Parse(data)
	if l.Has(member) {
		return false, nil
	}
	if len(l.Members) >= limit || l.Lines >= 2*limit {
		return true, nil
	}
	if _, err := f.Write(indexlist.AppendMember(nil, member)); err != nil {
		return false, fmt.Errorf("file cache: writing index %s: %w", path, err)
	}
	return false, nil
}

// compactIndex rewrites the index file at path without the members whose
// cache files are gone, under an exclusive lock.
func (s *Store) compactIndex(path string) error {
	f, err := s.openIndex(path, false, true)
	if err != nil || f == nil {
		return err
	}
	defer f.Close() // after the rename: waiting appenders then see the new file
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("file cache: reading index: %w", err)
	}
	l := indexlist.Parse(data)
	live := l.Members[:0:0]
	for _, m := range l.Members {
		_, _, ok, err := s.load(s.path(m), false)
		if err != nil {
			return err
		}
		if ok {
			live = append(live, m)
		}
	}
	return s.write(path, indexlist.Encode(live, 0))
}

// readIndex reads the index file at path; a missing one is empty.
func readIndex(path string) (*indexlist.List, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("file cache: reading index: %w", err)
	}
	return indexlist.Parse(data), nil
}

// IndexMembers implements cache.Indexer: the distinct members of the
// index file, nil when there is none.
func (s *Store) IndexMembers(ctx context.Context, key string) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	l, err := readIndex(s.indexPath(key))
	if err != nil {
		return nil, err
	}
	return l.Members, nil
}

// IndexDelete implements cache.Indexer: it removes the index file, under
// an exclusive lock, so that a member being appended meanwhile goes to a
// new index file rather than to the removed one.
func (s *Store) IndexDelete(ctx context.Context, key string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.removeIndex(s.indexPath(key))
}

// removeIndex removes the index file at path under an exclusive lock.
func (s *Store) removeIndex(path string) error {
	f, err := s.openIndex(path, false, true)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	_, err = remove(path)
	return err
}

// isIndexFile reports whether a directory entry is an index file.
func isIndexFile(name []byte) bool {
	n := len(name)
	return n > len(IndexSuffix) && name[0] != '.' && string(name[n-len(IndexSuffix):]) == IndexSuffix
}
