package server

import (
	"encoding/json"
	stderrors "errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/jsonenc"
)

// Header values shared by every response. Their slices have len == cap, so
// an Add by a later handler copies instead of writing into them.
var (
	hdrJSON    = []string{"application/json;charset=UTF-8"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
	hdrBasic   = `Basic realm="oauth2"`
)

// headerAuthError marks an error of a request whose client tried to
// authenticate with the Authorization header, so that an invalid_client
// answer carries WWW-Authenticate (RFC 6749 5.2).
type headerAuthError struct{ err error }

func (e *headerAuthError) Error() string { return e.err.Error() }
func (e *headerAuthError) Unwrap() error { return e.err }

// errorResponse maps err to the error response written or redirected: code,
// description and status come from errors.Lookup; InternalErrorHandler may
// replace the response of a server_error or temporarily_unavailable, and
// ResponseErrorHandler sees the result.
func (s *Server) errorResponse(err error) *errors.Response {
	code, status, desc := errors.Lookup(err)
	if code == nil {
		code, status, desc = errors.Lookup(errors.ErrServerError)
	}
	re := &errors.Response{Error: code, Description: desc, StatusCode: status}
	if fn := s.InternalErrorHandler; fn != nil &&
		(code == errors.ErrServerError || code == errors.ErrTemporarilyUnavailable) {
		if v := fn(err); v != nil {
			c, st, d := errors.Lookup(v.Error)
			if c != nil {
				re.Error, re.StatusCode, re.Description = c, st, d
			}
			if v.Description != "" {
				re.Description = v.Description
			}
			if v.StatusCode > 0 {
				re.StatusCode = v.StatusCode
			}
			re.ErrorCode, re.URI = v.ErrorCode, v.URI
			re.Header = v.Header.Clone()
		}
	}
	var se *errors.StatusError
	if stderrors.As(err, &se) && se.Status > 0 {
		re.StatusCode = se.Status
		for k, v := range se.Header {
			re.SetHeader(k, strings.Join(v, ", "))
		}
	}
	var ha *headerAuthError
	if re.Error == errors.ErrInvalidClient && stderrors.As(err, &ha) {
		re.SetHeader("WWW-Authenticate", hdrBasic)
	}
	if fn := s.ResponseErrorHandler; fn != nil {
		fn(re)
	}
	return re
}

// GetErrorData returns the parameters, HTTP status and headers of the error
// response for err (RFC 6749 4.1.2.1, 5.2). The error code, status and
// description come from errors.Lookup; an error that wraps no RFC code is a
// server_error whose text is never shown.
func (s *Server) GetErrorData(err error) (map[string]any, int, http.Header) {
	re := s.errorResponse(err)
	return errorData(re), re.StatusCode, re.Header
}

func errorData(re *errors.Response) map[string]any {
	code := errors.Code(re.Error)
	if code == "" {
		code = errors.ErrServerError.Error()
	}
	data := map[string]any{"error": code}
	if re.ErrorCode != 0 {
		data["error_code"] = re.ErrorCode
	}
	if re.Description != "" {
		data["error_description"] = re.Description
	}
	if re.URI != "" {
		data["error_uri"] = re.URI
	}
	return data
}

// tokenError writes the token endpoint's error response for err.
func (s *Server) tokenError(w http.ResponseWriter, err error) error {
	data, status, header := s.GetErrorData(err)
	return s.token(w, data, header, status)
}

// setTokenHeaders sets the headers of every token endpoint response
// (RFC 6749 5.1): JSON, and never cached.
func setTokenHeaders(h http.Header) {
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
}

// token writes a token endpoint response from data: through the
// ResponseTokenHandler when set, else as JSON.
func (s *Server) token(w http.ResponseWriter, data map[string]any, header http.Header, statusCode ...int) error {
	h := w.Header()
	setTokenHeaders(h)
	for k, v := range header {
		h[k] = append([]string(nil), v...)
	}
	status := http.StatusOK
	if len(statusCode) > 0 && statusCode[0] > 0 {
		status = statusCode[0]
	}
	if fn := s.ResponseTokenHandler; fn != nil {
		return fn(w, data, header, status)
	}
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(data)
}

// GetTokenData returns the parameters of a successful token response
// (RFC 6749 5.1): access_token, token_type, expires_in (whole seconds, left
// out for a token that does not expire), scope when non-empty and
// refresh_token when issued, plus the ExtensionFieldsHandler's fields, which
// can never replace those.
func (s *Server) GetTokenData(ti oauth2.TokenInfo) map[string]any {
	data := map[string]any{
		"access_token": ti.GetAccess(),
		"token_type":   s.tokenTypeOf(ti), // DPoP when bound (dpop.go)
	}
	if exp := expiresIn(ti.GetAccessExpiresIn()); exp > 0 {
		data["expires_in"] = exp
	}
	if scope := ti.GetScope(); scope != "" {
		data["scope"] = scope
	}
	if refresh := ti.GetRefresh(); refresh != "" {
		data["refresh_token"] = refresh
	}
	addExchangeFields(data, ti) // RFC 8693 issued_token_type (token_response_ext.go)
	if fn := s.ExtensionFieldsHandler; fn != nil {
		for k, v := range fn(ti) {
			switch k {
			case "access_token", "token_type", "expires_in", "scope", "refresh_token", "issued_token_type":
				continue
			}
			data[k] = v
		}
	}
	return data
}

// writeTokenSuccess writes the successful token response for ti, with
// idToken as id_token when not "" (OpenID Connect Core 1.0 3.1.3.3).
// Without a ResponseTokenHandler or ExtensionFieldsHandler it appends the
// JSON to a pooled buffer: the same bytes encoding/json writes for
// GetTokenData.
func (s *Server) writeTokenSuccess(w http.ResponseWriter, ti oauth2.TokenInfo, idToken string) error {
	if s.ResponseTokenHandler != nil || s.ExtensionFieldsHandler != nil || hasExchangeFields(ti) {
		data := s.GetTokenData(ti)
		if idToken != "" {
			data["id_token"] = idToken
		}
		return s.token(w, data, nil)
	}
	bp := bufPool.Get().(*[]byte)
	b := appendTokenJSON((*bp)[:0], ti, s.tokenTypeOf(ti), idToken)
	setTokenHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	*bp = b
	if cap(b) <= maxPooledBuf {
		bufPool.Put(bp)
	}
	return err
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// appendTokenJSON appends the token response for ti (and idToken when not
// "") with its keys in the order encoding/json gives a map, and a final
// newline as json.Encoder.
func appendTokenJSON(b []byte, ti oauth2.TokenInfo, tokenType, idToken string) []byte {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, ti.GetAccess())
	if exp := expiresIn(ti.GetAccessExpiresIn()); exp > 0 {
		b = append(b, `,"expires_in":`...)
		b = strconv.AppendInt(b, exp, 10)
	}
	if idToken != "" {
		b = append(b, `,"id_token":`...)
		b = appendJSONString(b, idToken)
	}
	if refresh := ti.GetRefresh(); refresh != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, refresh)
	}
	if scope := ti.GetScope(); scope != "" {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, scope)
	}
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, tokenType)
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string (RFC 8259 7); see
// jsonenc.AppendString.
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

// authorizeDirectError writes the error of an authorization request whose
// client or redirect URI is not valid: shown to the user agent, never
// redirected (RFC 6749 4.1.2.1, 4.2.2.1). It returns nil once the response is
// written, and the PreRedirectErrorHandler's error when that fails.
func (s *Server) authorizeDirectError(w http.ResponseWriter, r *http.Request, err error) error {
	if fn := s.PreRedirectErrorHandler; fn != nil {
		if herr := fn(w, &AuthorizeRequest{Request: r}, err); herr != nil {
			return herr
		}
		return nil
	}
	re := s.errorResponse(err)
	status := re.StatusCode
	if status < http.StatusInternalServerError {
		status = http.StatusBadRequest
	}
	code := errors.Code(re.Error)
	h := w.Header()
	for k, v := range re.Header {
		h[k] = append([]string(nil), v...)
	}
	h["Cache-Control"] = hdrNoStore
	h.Set("X-Content-Type-Options", "nosniff")
	if acceptsJSON(r) {
		h["Content-Type"] = hdrJSON
		w.WriteHeader(status)
		b := []byte(`{"error":`)
		b = appendJSONString(b, code)
		if re.Description != "" {
			b = append(b, `,"error_description":`...)
			b = appendJSONString(b, re.Description)
		}
		b = append(b, '}', '\n')
		_, _ = w.Write(b)
		return nil
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(code + ": " + re.Description + "\n"))
	return nil
}

func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "application/json") {
			return true
		}
	}
	return false
}
