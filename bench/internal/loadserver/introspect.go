package loadserver

import "fmt"

// libraryIntrospect is the library's introspection endpoint (RFC 7662) over
// the memory store, for an opaque token.
func libraryIntrospect() (*Server, error) {
	return nil, fmt.Errorf("%w: %s needs the server package's introspection endpoint (RFC 7662), which it does not have yet", ErrNotAvailable, Introspect)
}
