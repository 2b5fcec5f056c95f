// Package hook connects gomemcache, as overlay-gen rewrites it, to
// memcachetrace: every exported method of memcache.Client that talks to
// memcached calls memcache.OverlayGenMemcache, which this package sets.
//
// overlay-gen links it into programs that use gomemcache; it only exists
// under overlay-gen's overlay (memcache.OverlayGenMemcache is one of the
// declarations the gomemcache integration injects).
package hook

import (
	"github.com/bradfitz/gomemcache/memcache"

	"overlay-gen.invalid/memcachetrace"
)

func init() {
	memcache.OverlayGenMemcache = memcachetrace.Start
}
