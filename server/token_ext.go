package server

import (
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/policy"
)

// tokenRequestExtensions reads what later RFCs add to every token request,
// once the grant has read its own parameters and the client is
// authenticated: the resource indicators (RFC 8707 2.2; the token exchange
// grant reads its own, with its audiences, RFC 8693 2.1), the client
// certificate of a client registered for certificate-bound tokens (RFC
// 8705 3) and the DPoP proof (RFC 9449 5). They go into tgr.Extension,
// where the manager binds the issued tokens to them. The proof is verified last: a request refused for
// anything else does not spend it.
func (s *Server) tokenRequestExtensions(w http.ResponseWriter, r *http.Request, p Params, gt oauth2.GrantType, client policy.Client, tgr *oauth2.TokenGenerateRequest) error {
	if gt != oauth2.TokenExchange {
		if err := s.readResources(p, client, tgr); err != nil {
			return err
		}
		if err := CheckBodyParams(p); err != nil {
			return err
		}
	}
	// RFC 8705 3: the client certificate (client_tls.go).
	if err := s.tokenCertificate(r, client, tgr); err != nil {
		return err
	}
	return s.tokenDPoP(w, r, client, tgr)
}

// readResources reads the resource parameters of a token or authorization
// request (RFC 8707 2): each an absolute URI without a fragment that the
// client may ask for (policy.Client.AllowsResource with Config.Resources),
// else invalid_target. They go into tgr.Extension under
// policy.ExtensionResource; at the token endpoint the manager then keeps
// them within what the grant was given (RFC 8707 2.2).
func (s *Server) readResources(p Params, client policy.Client, tgr *oauth2.TokenGenerateRequest) error {
	res, err := policy.ParseResources(ParamValues(p, paramResource))
	if err != nil || len(res) == 0 {
		return err
	}
	if err := client.CheckResources(res, s.Config.Resources); err != nil {
		return err
	}
	setExtension(tgr, policy.ExtensionResource, res...)
	return nil
}
