package server

// senderMetadata adds the members of pushed authorization requests (RFC
// 9126 5) and DPoP (RFC 9449 5.1) to md, when the server serves them: both
// need the KVStore, PAR also the authorization endpoint. or makes an
// endpoint URL from its configured value and default path.
func (s *Server) senderMetadata(md *Metadata, or func(v, path string) string) {
	if _, err := s.kvStore(); err != nil {
		return
	}
	if md.AuthorizationEndpoint != "" {
		md.PushedAuthorizationRequestEndpoint = or(s.Config.Endpoints.PushedAuthorization, PathPushedAuthorization)
		md.RequirePushedAuthorizationRequests = s.Config.PAR.Required
	}
	md.DPoPSigningAlgValuesSupported = s.dpopAlgorithms()
}
