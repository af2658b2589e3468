package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// The form_post response mode (OAuth 2.0 Form Post Response Mode 2): the
// authorization response is an HTML page whose form posts the parameters
// to the redirect URI, submitted by a script as soon as the page loads, or
// by a button when scripts are off.
// https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html

// formPostScript submits the page's form. The page's Content-Security-Policy
// allows this script by its hash and no other.
const formPostScript = `document.forms[0].submit()`

var (
	formPostCSP = []string{"default-src 'none'; script-src 'sha256-" + scriptHash(formPostScript) +
		"'; frame-ancestors 'none'; base-uri 'none'"}
	hdrHTML       = []string{"text/html; charset=utf-8"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrFrameDeny  = []string{"DENY"}
	formPostPage  = template.Must(template.New("form_post").Parse(formPostHTML))
	formPostHTML  = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Submit this form</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Your browser does not run scripts: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body></html>
`
)

func scriptHash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return base64.StdEncoding.EncodeToString(sum[:])
}

type formPostField struct{ Name, Value string }

// formPost writes the authorization response data, with state and iss
// (RFC 9207 2), as a page that posts it to req.RedirectURI (Form Post
// Response Mode 2). The page is never cached, never framed, sends no
// Referer, and runs no script but its own.
func (s *Server) formPost(w http.ResponseWriter, req *AuthorizeRequest, data map[string]any) error {
	fields := make([]formPostField, 0, len(data)+2)
	for k, v := range data {
		fields = append(fields, formPostField{k, paramString(v)})
	}
	if req.State != "" {
		fields = append(fields, formPostField{"state", req.State})
	}
	if s.Config.Issuer != "" {
		fields = append(fields, formPostField{"iss", s.Config.Issuer})
	}
	slices.SortFunc(fields, func(a, b formPostField) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	if err := formPostPage.Execute(&buf, struct {
		Action template.URL
		Fields []formPostField
	}{template.URL(req.RedirectURI), fields}); err != nil {
		return s.authorizeDirectError(w, req.Request, err)
	}
	h := w.Header()
	h["Content-Type"] = hdrHTML
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	h["Content-Security-Policy"] = formPostCSP
	h["Referrer-Policy"] = hdrNoReferrer
	h["X-Frame-Options"] = hdrFrameDeny
	h["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}
