package errors

import "net/http"

// Response is an error response of the authorization or token endpoint
// (RFC 6749 4.1.2.1, 5.2). It keeps the seed's fields.
type Response struct {
	Error       error
	ErrorCode   int
	Description string
	URI         string
	StatusCode  int
	Header      http.Header
}

// NewResponse returns the response for err. A statusCode of 0 takes the
// status of Lookup; the Error field is always the RFC code error.
func NewResponse(err error, statusCode int) *Response {
	code, status, desc := Lookup(err)
	if statusCode == 0 {
		statusCode = status
	}
	re := &Response{Error: code, Description: desc, StatusCode: statusCode}
	if _, h, ok := statusOf(err); ok {
		re.Header = h.Clone()
	}
	return re
}

// SetHeader sets a response header.
func (r *Response) SetHeader(key, value string) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set(key, value)
}
