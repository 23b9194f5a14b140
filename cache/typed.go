package cache

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
)

// Codec turns values into bytes and back. Codecs decode data only: none can
// run code, unlike Python's pickle.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the codec of encoding/json. An integer encodes as its decimal
// digits, which is what Incr works on and what Django's memcached and Redis
// backends store for a Python int.
type JSONCodec struct{}

// Marshal implements Codec.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements Codec.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// GobCodec is the codec of encoding/gob, for Go-only values that JSON cannot
// carry. Each value is encoded with its own type description.
type GobCodec struct{}

// Marshal implements Codec.
func (GobCodec) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unmarshal implements Codec.
func (GobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// Typed is a view of a Cache that stores values of type T through a Codec:
//
//	users := cache.NewTyped[User](c, cache.JSONCodec{})
//	u, err := users.GetOrSet(ctx, "user:42", loadUser, cache.Seconds(60))
//
// A stored value that does not decode is an error wrapping the codec's
// error, naming the key; it is not treated as a miss.
type Typed[T any] struct {
	c     *Cache
	codec Codec
}

// NewTyped returns a typed view of c. A nil codec means JSONCodec.
func NewTyped[T any](c *Cache, codec Codec) Typed[T] {
	if codec == nil {
		codec = JSONCodec{}
	}
	return Typed[T]{c: c, codec: codec}
}

// Cache returns the underlying cache.
func (t Typed[T]) Cache() *Cache { return t.c }

func (t Typed[T]) decode(key string, data []byte) (T, error) {
	var v T
	if err := t.codec.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("cache: decoding the value of %q: %w", key, err)
	}
	return v, nil
}

func (t Typed[T]) encode(key string, v T) ([]byte, error) {
	b, err := t.codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cache: encoding the value of %q: %w", key, err)
	}
	return b, nil
}

// Get returns the decoded value and true, or the zero T and false on a miss.
func (t Typed[T]) Get(ctx context.Context, key string) (T, bool, error) {
	var zero T
	b, ok, err := t.c.Get(ctx, key)
	if err != nil || !ok {
		return zero, false, err
	}
	v, err := t.decode(key, b)
	if err != nil {
		return zero, false, err
	}
	return v, true, nil
}

// Set encodes v and stores it.
func (t Typed[T]) Set(ctx context.Context, key string, v T, timeout Timeout) error {
	b, err := t.encode(key, v)
	if err != nil {
		return err
	}
	return t.c.Set(ctx, key, b, timeout)
}

// Add encodes v and stores it if key is absent; see Cache.Add.
func (t Typed[T]) Add(ctx context.Context, key string, v T, timeout Timeout) (bool, error) {
	b, err := t.encode(key, v)
	if err != nil {
		return false, err
	}
	return t.c.Add(ctx, key, b, timeout)
}

// GetOrSet returns the value under key, loading, storing and returning it on
// a miss with Cache.GetOrSet's semantics (single-flight, a concurrent
// writer's value wins).
func (t Typed[T]) GetOrSet(ctx context.Context, key string, load func(context.Context) (T, error), timeout Timeout) (T, error) {
	var zero T
	if load == nil {
		return zero, fmt.Errorf("%w: GetOrSet needs a load function", ErrInvalidOption)
	}
	b, err := t.c.GetOrSet(ctx, key, func(ctx context.Context) ([]byte, error) {
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return t.encode(key, v)
	}, timeout)
	if err != nil {
		return zero, err
	}
	return t.decode(key, b)
}

// GetMany returns the decoded values of the keys present.
func (t Typed[T]) GetMany(ctx context.Context, keys []string) (map[string]T, error) {
	raw, err := t.c.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]T, len(raw))
	for k, b := range raw {
		v, err := t.decode(k, b)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// SetMany encodes and stores every entry; see Cache.SetMany.
func (t Typed[T]) SetMany(ctx context.Context, items map[string]T, timeout Timeout) ([]string, error) {
	raw := make(map[string][]byte, len(items))
	for k, v := range items {
		b, err := t.encode(k, v)
		if err != nil {
			return nil, err
		}
		raw[k] = b
	}
	return t.c.SetMany(ctx, raw, timeout)
}
