package generates

import (
	"strconv"

	"github.com/oauth2d/oauth2/internal/jsonenc"
)

// appendJSONString appends s to b as a JSON string (RFC 8259 7); see
// jsonenc.AppendString.
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

// appendNumericDate appends a NumericDate (RFC 7519 2): whole seconds since
// the epoch.
func appendNumericDate(b []byte, sec int64) []byte {
	return strconv.AppendInt(b, sec, 10)
}
