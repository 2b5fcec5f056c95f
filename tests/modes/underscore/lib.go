// Package underscore is a library; its example program lives in _examples/,
// which go list ./... skips.
package underscore

// Greeting is what the example prints.
func Greeting() string { return "hello from _examples" }
