// Package file is a cache backend that keeps one file per key in a
// directory, with the behaviour of Django's FileBasedCache.
//
// # Files and directory
//
// The value of a made key k (e.g. ":1:sidebar") lives in the file
// hex(md5(k)) + ".djcache" in the cache directory, e.g. ":1:fk" in
// caefb14ff4ce0f4c864ec16f67a0dc89.djcache. The directory is made absolute
// when the store is created and is created then, and again by Set (or Add)
// if it has been removed since; every level created gets mode 0700, whatever
// the umask. Cache files have mode 0600.
//
// A write goes to a temporary file in the same directory (named
// ".fragcache-*.tmp", so it is neither a cache file nor counted) which is
// then renamed over the target: a reader sees the old file or the new one,
// never part of one, even with several processes writing the same key. The
// temporary file is removed on every error path. Writes are not synced to
// disk: after a crash a file may be empty or truncated, which the store then
// treats as a miss (see below). A process killed between creating and
// renaming its temporary file leaves that file behind; Clear does not remove
// it, since it may belong to another process's write in progress.
//
// Files in the directory other than "*.djcache" are never counted, culled or
// removed (but for the index files, "*.djindex", which Clear removes), so
// the cache may share its directory (names beginning with "."
// are ignored too, as Python's glob does).
//
// # Behaviour, as Django does it
//
//   - Set culls before writing: when the directory holds MaxEntries cache
//     files or more, it deletes count/CullFrequency of them chosen at random,
//     or all of them with CullAll. It culls even when overwriting a key.
//   - A file is expired when its deadline is before now (deadline < now,
//     Django's filebased rule); a Forever value never expires. Deadlines are
//     computed by cache.Timeout.Deadline from Options.Now, so a Set with
//     cache.Expired writes a file that is already expired.
//   - Get, Has and Touch remove an expired file they find and report a miss.
//   - A missing file (or a missing directory) is a miss. An empty, truncated
//     or corrupt file is a miss too, and is removed. Any other I/O error, such
//     as a directory where the file should be or a permission error, is
//     returned, naming the path.
//   - Add is Has followed by Set (not atomic, as in Django). Touch reads the
//     value and writes it back with the new deadline, through a temporary
//     file and a rename. Delete reports whether it removed a file. Clear
//     removes the cache files and keeps the directory and any other file.
//   - There is no atomic increment: cache.Cache.Incr falls back to Get and
//     Set at the default timeout, as Django's base backend does.
//
// Concurrent writers of one key follow "last rename wins". A Touch racing a
// Set of the same key may undo that Set (Touch writes back the value it
// read), and a Get removing an expired file only removes the very file it
// read, so a fresh file renamed over it in the meantime survives.
//
// # Fragment variant indexes
//
// Cache.InvalidateFragmentVariants finds the variants of a {% cache %}
// fragment name through an index file written when a Go process stores a
// variant (Store.IndexAdd, paid on a miss, never on a hit):
// hex(md5(index key)) + ".djindex" in the cache directory, holding the
// variants' made keys one per line, appended with one O_APPEND write under
// a shared flock (a variant already listed costs one read). Index files
// are not cache files: they are never counted against MaxEntries nor
// culled; Clear removes them. They do not expire: an index holding
// cache.MaxIndexMembers variants (Options.MaxIndexMembers) is compacted
// under an exclusive lock (the variants whose files are gone dropped, the
// rest written to a temporary file renamed over the index), and if it is
// still full the store succeeds but the variant is not indexed (counted in
// Stats().Index.Errors and logged).
//
// The file backend cannot find a variant only a Django process wrote: a
// cache file is named by the md5 of its key and holds no key, so the
// directory cannot be searched for a fragment name. Such variants expire
// by their own timeouts (or are deleted one by one, by key).
//
// # Cost
//
// A Get opens, reads and closes one file. A Set lists the directory (to count
// the cache files, as Django's cull check does on every set, so its cost grows
// with MaxEntries), writes a temporary file and renames it. On Linux these are
// plain system calls: four for a Get, eight for a Set. Replacing an existing file
// by rename makes ext4 start writing the new file's data out at once
// (its auto_da_alloc safeguard), which dominates a Set on a slow disk; a
// directory on tmpfs (such as /dev/shm or a tmpfs /tmp) avoids it.
//
// # File format
//
// Django's files hold a pickle and zlib data; these do not (the two are not
// interchangeable, although the file names are the same). A file is a
// 32-byte header followed by the value, integers little-endian:
//
//	offset size field
//	0      4    magic "FCdj"
//	4      1    format version, 1
//	5      1    flags: bit 0 set means the value never expires; other bits 0
//	6      2    reserved, 0
//	8      8    deadline, int64 Unix nanoseconds (math.MaxInt64 when never)
//	16     8    value length n, uint64
//	24     4    CRC-32C (Castagnoli) of the value
//	28     4    CRC-32C of bytes 0 to 27 of the header
//	32     n    the value
//
// A file is corrupt when it is shorter than the header, its magic, version,
// flags, reserved bytes or header checksum are wrong, its size is not
// 32 + n, or (for Get and Touch, which read the value) the value's checksum
// is wrong. Has reads only the header and checks the size.
package file
