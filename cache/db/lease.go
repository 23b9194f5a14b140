package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
)

// leaseRowKey returns the cache_key of the row of a lease: key itself, or,
// when it is longer than the cache_key column, a hashed form (no Django
// process reads lease keys).
func leaseRowKey(key string) string {
	if utf8.RuneCountInString(key) <= MaxKeyLength {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "fragcache.lease." + hex.EncodeToString(sum[:])
}

// AcquireLease stores token under key for ttl unless an unexpired row
// holds key: the same atomic upsert as Add (an insert, or an update of an
// expired row), checked by its row count. The row is an ordinary cache
// row whose value is the token pickled as a str, so Django reads it as
// text should it ever look.
func (b *Backend) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := b.begin(ctx); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, nil
	}
	if err := b.lock(ctx); err != nil {
		return false, err
	}
	defer b.unlock()
	return b.addRow(ctx, "acquire lease", leaseRowKey(key), encode([]byte(token)), b.timeArg(b.now().Add(ttl)))
}

// ReleaseLease deletes the lease row of key only if it still holds token.
func (b *Backend) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if err := b.begin(ctx); err != nil {
		return false, err
	}
	if err := b.lock(ctx); err != nil {
		return false, err
	}
	defer b.unlock()
	res, err := b.db.ExecContext(ctx, b.q.release, leaseRowKey(key), encode([]byte(token)))
	if err != nil {
		return false, b.fail("release lease", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, b.fail("release lease", err)
	}
	return n > 0, nil
}

var _ cache.Leaser = (*Backend)(nil)
