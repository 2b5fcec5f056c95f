// Package goroutines gives overlay-gen's runtime the goroutine-local span
// context: a field overlay-gen adds to runtime.g, reached through accessors
// the overlaid runtime exports with push linknames. It only exists under
// overlay-gen's overlay, which also makes goroutines inherit the field.
package goroutines

import (
	"context"
	_ "unsafe" // for go:linkname

	"overlay-gen.invalid/otelrt"
)

//go:linkname load runtime.overlayGenContext
func load() any

//go:linkname store runtime.overlayGenSetContext
func store(ctx any)

func init() {
	otelrt.SetGoroutineStore(current, set)
}

func current() context.Context {
	ctx, _ := load().(context.Context)
	return ctx
}

func set(ctx context.Context) {
	if ctx == nil {
		store(nil) // an untyped nil, not a nil context.Context in an interface
		return
	}
	store(ctx)
}
