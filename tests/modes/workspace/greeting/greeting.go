// Package greeting is the workspace's own copy of example.com/greeting, the
// one the build links: only this copy has the //dd:span directive.
package greeting

// Hello is a span when the workspace's copy is the one instrumented.
//
//dd:span
func Hello(name string) string {
	return "hello from the workspace, " + name
}
