package server

// senderMetadata adds the members of pushed authorization requests (RFC
// 9126 5), DPoP (RFC 9449 5.1) and certificate-bound access tokens (RFC
// 8705 3.3) to md, when the server serves them: the first two
// need the KVStore, PAR also the authorization endpoint. or makes an
// endpoint URL from its configured value and default path.
func (s *Server) senderMetadata(md *Metadata, or func(v, path string) string) {
	s.mtlsMetadata(md) // RFC 8705 (client_tls.go)
	if _, err := s.kvStore(); err != nil {
		return
	}
	if md.AuthorizationEndpoint != "" {
		md.PushedAuthorizationRequestEndpoint = or(s.Config.Endpoints.PushedAuthorization, PathPushedAuthorization)
		md.RequirePushedAuthorizationRequests = s.Config.PAR.Required
	}
	md.DPoPSigningAlgValuesSupported = s.dpopAlgorithms()
}
