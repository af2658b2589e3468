package loadserver

import "net/http"

// libraryIntrospect is the library's introspection endpoint (RFC 7662 2)
// for opaque tokens in the memory store. The benchmark client introspects
// tokens issued to itself, as in the introspect-bare mode; /token is served
// too, so that the load generator can get one.
func libraryIntrospect() (*Server, error) {
	srv, closer, err := newLibraryServer("")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		srv.HandleTokenRequest(w, r)
	})
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		srv.HandleIntrospectionRequest(w, r)
	})
	return &Server{Handler: mux, closers: closersOf(closer)}, nil
}
