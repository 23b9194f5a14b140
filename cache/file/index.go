package file

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"

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

// readIndex reads the index file at path; a missing one is empty.
func readIndex(path string) (*indexlist.List, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("file cache: reading index: %w", err)
	}
	return indexlist.Parse(data), nil
}

// IndexAdd implements cache.Indexer with an index file in the cache
// directory, shared by every process using it: hex(md5(key)) +
// IndexSuffix, holding the members one per line. It reads the file: a
// member already present costs nothing more. A new member is appended with
// one write to the file opened with O_APPEND, which never interleaves with
// other processes' appends. An index holding its bound of members (or
// twice as many lines, duplicates left by racing writers included) is
// compacted first: the file is renamed aside (a step only one process can
// take), the members whose cache files are gone are dropped, and the rest
// appended back to the index file in one write, so that members appended
// meanwhile by others are kept. Still full, the error wraps
// cache.ErrIndexFull.
//
// Index files do not expire: timeout only tells an entry stored already
// expired, which is not indexed. Compaction, and Clear, remove what they
// list once its entries are gone.
func (s *Store) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if d, never := s.deadline(timeout); !never && d < s.now().UnixNano() {
		return nil // an entry stored already expired: nothing to index
	}
	path := s.indexPath(key)
	l, err := readIndex(path)
	if err != nil {
		return err
	}
	if l.Has(member) {
		return nil
	}
	limit := s.maxIndexMembers()
	if len(l.Members) >= limit || l.Lines >= 2*limit {
		if err := s.compactIndex(path); err != nil {
			return err
		}
		if l, err = readIndex(path); err != nil {
			return err
		}
		if l.Has(member) {
			return nil
		}
		if len(l.Members) >= limit {
			return fmt.Errorf("file cache: index %q holds %d members with live entries: %w", key, len(l.Members), cache.ErrIndexFull)
		}
	}
	return s.appendIndex(path, indexlist.AppendMember(nil, member))
}

// appendIndex appends data to the index file at path with one write,
// creating the file (and the directory) if missing.
func (s *Store) appendIndex(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(s.dir); err != nil {
			return fmt.Errorf("file cache: creating the cache directory: %w", err)
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	}
	if err != nil {
		return fmt.Errorf("file cache: writing index: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file cache: writing index %s: %w", path, err)
	}
	return nil
}

// compactIndex drops from the index file at path the members whose cache
// files are gone (missing, expired or corrupt).
func (s *Store) compactIndex(path string) error {
	aside := s.prefix + tmpPrefix + strconv.FormatUint(rand.Uint64(), 36) + ".index"
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted, or taken aside by another compaction
		}
		return fmt.Errorf("file cache: compacting index: %w", err)
	}
	defer unlink(aside)
	l, err := readIndex(aside)
	if err != nil {
		return err
	}
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
	if len(live) == 0 {
		return nil
	}
	return s.appendIndex(path, indexlist.Encode(live, 0))
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

// IndexDelete implements cache.Indexer: it removes the index file.
func (s *Store) IndexDelete(ctx context.Context, key string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := remove(s.indexPath(key))
	return err
}

// isIndexFile reports whether a directory entry is an index file.
func isIndexFile(name []byte) bool {
	n := len(name)
	return n > len(IndexSuffix) && name[0] != '.' && string(name[n-len(IndexSuffix):]) == IndexSuffix
}
