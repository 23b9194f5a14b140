// Package cachetest is the conformance suite that every fragcache backend
// runs against itself. It checks, through a *cache.Cache, that a backend
// behaves as its Django counterpart does: the ports of Django's backend tests
// (tests/cache/tests.py: BaseCacheTests, DummyCacheTests, LocMemCacheTests,
// the memcached and filebased specifics), every timeout case, key validation
// with Django's exact messages, get-or-set under concurrency, statistics,
// Close, and a replay of the golden vectors recorded from Django 6.1.1.
//
// # Using it
//
// A backend's test file describes how to build a fresh, empty cache over the
// backend and which Django backend it imitates, and calls Run:
//
//	func TestConformance(t *testing.T) {
//		cachetest.Run(t, cachetest.Harness{
//			New: func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache {
//				store, err := memory.New(memory.Options{Now: now})
//				if err != nil {
//					t.Fatal(err)
//				}
//				c, err := cache.New(store, opts...)
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { c.Close() })
//				return c
//			},
//			Clock:      true, // the store reads the time from now
//			AtomicIncr: true,
//			AtomicAdd:  true,
//			Semantics:  cachetest.DjangoLocMem,
//		})
//	}
//
// Semantics says which Django backend's documented behaviour to expect
// where backends legitimately differ (DjangoLocMem, DjangoFileBased,
// DjangoMemcached, DjangoRedis, DjangoDummy); its fields can be adjusted one
// by one. With Clock, expiry is tested exactly with a FakeClock and the whole
// suite runs in well under a second for an in-process backend. A backend
// talking to a real server sets Granularity instead (memcached and Redis
// count whole seconds: use time.Second): the expiry tests then share one
// cache and sleep concurrently, about five Granularity units in all.
//
// Subtest names are Django's test names where a Django test maps onto the
// byte API (test_simple, test_add, test_prefix, test_get_or_set_racing, ...),
// so that a failure points at the Django behaviour it reproduces; the other
// names describe what they check. Run the suite with -race: it includes
// concurrent subtests meant to expose data races in backends.
//
// Django tests that do not map onto a byte API are not ported:
// test_data_types, test_cache_read_for_model_instance*,
// test_cache_write_unpicklable_object, test_add_fail_on_pickleerror and
// test_set_fail_on_pickleerror (Python objects and pickling), test_in
// (Python's "in", the same as test_has_key here), test_get_many's iterator
// input, test_multiple_caches (two stores by LOCATION: a property of how a
// backend is configured, not of the Cache API), test_cull_delete_when_store_empty
// (MAX_ENTRIES -1), and the memcached/Redis client-plumbing tests
// (test_location_multiple_servers, test_pymemcache_*, test_redis_*,
// connection pools).
package cachetest
