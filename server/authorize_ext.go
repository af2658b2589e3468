package server

import (
	"context"
	"net/url"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/policy"
)

// What later RFCs add to the authorization endpoint, kept out of
// authorize.go, which calls each of these functions at one marked place:
// pushed requests (RFC 9126), resource indicators (RFC 8707) and the DPoP
// binding of the code (RFC 9449 10).

// authorizeSender is what an authorization request carries for them.
type authorizeSender struct {
	// ext is the extension data the code is issued with: the resources
	// (policy.ExtensionResource) and the dpop_jkt
	// (policy.ExtensionDPoPJKT).
	ext url.Values
	// pushed is the pushed request being served, nil for a request sent
	// whole; used is set once the authorization has used it up, so that
	// the several issues of one response (a code and a token) use it once.
	pushed *pushedRequest
	used   bool
}

// authorizeExtensions reads the parameters of later RFCs from the form of
// an authorization request whose client and redirect URI are valid, so
// that its errors are redirected (RFC 6749 4.1.2.1): a request that
// should have been pushed is invalid_request (RFC 9126 4, 5, 6); a
// resource that is malformed or not allowed for the client is
// invalid_target (RFC 8707 2); a dpop_jkt that is no JWK thumbprint is
// invalid_request (RFC 9449 10).
func (s *Server) authorizeExtensions(req *AuthorizeRequest, form url.Values, pushed *pushedRequest) error {
	req.sender = &authorizeSender{pushed: pushed}
	if pushed == nil && !isPushing(req.Request) && s.parRequired(req.client) {
		return errPARRequired
	}
	res, err := policy.ParseResources(form[paramResource])
	if err != nil {
		return err
	}
	if len(res) > 0 {
		if err := policy.Of(req.client).CheckResources(res, s.Config.Resources); err != nil {
			return err
		}
		req.sender.set(policy.ExtensionResource, res...)
	}
	if jkt := form.Get("dpop_jkt"); jkt != "" {
		if !dpop.ValidThumbprint(jkt) {
			return errDPoPJKT
		}
		req.sender.set(policy.ExtensionDPoPJKT, jkt)
	}
	return nil
}

func (a *authorizeSender) set(key string, values ...string) {
	if a.ext == nil {
		a.ext = url.Values{}
	}
	a.ext[key] = values
}

// authorizeIssue runs when the authorization endpoint is about to issue
// from req: it adds the request's resources, and for a code its dpop_jkt
// (RFC 9449 10 binds codes only), to the extension data of tgr (keys tgr
// already has are kept), and uses up the pushed request it came from, so
// that its request_uri serves once (RFC 9126 4). The copies of one request
// that issue the parts of one response share its state and use it up once.
func (s *Server) authorizeIssue(ctx context.Context, req *AuthorizeRequest, tgr *oauth2.TokenGenerateRequest) error {
	a := req.sender
	if a == nil {
		return nil
	}
	for k, vs := range a.ext {
		if k == policy.ExtensionDPoPJKT && req.ResponseType != oauth2.Code {
			continue
		}
		if _, ok := tgr.Extension[k]; !ok {
			setExtension(tgr, k, vs...)
		}
	}
	if a.pushed != nil && !a.used {
		if err := s.consumePushed(ctx, a.pushed); err != nil {
			return err
		}
		a.used = true
	}
	return nil
}
