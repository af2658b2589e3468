package manage

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oauth2d/oauth2"
)

// ExtractExtensionHandler puts an application's extension data into a
// record the manager is creating, as in go-oauth2 v4.5.3: read what it
// needs from the request (tgr.Request, tgr.Extension, the client and user)
// and set it with ti.SetExtension, or change ti.GetExtension(), which is
// never nil while the handler runs.
//
// The manager calls it for every record it creates from a request: an
// authorization code or implicit token (GenerateAuthToken), and the tokens
// of the code, password, client credentials and device grants. It is not
// called for a refresh: the new tokens keep the grant's extension data as
// the refresh token had it. tgr is a copy of the request: changing it
// changes nothing.
//
// Extension data is not secret: it may go into token responses (through the
// server's ExtensionFieldsHandler) and JWT claims (generates.WithExtensionClaims).
// Never put a password, a token or a code in it. Data larger than
// oauth2.MaxExtensionBytes once encoded, or not valid UTF-8, is refused:
// the request fails with server_error and nothing is stored.
//
// Keys that start with "oauth2d_" are the library's own (such as the scope
// a grant was given, which a refresh may not exceed): a handler that sets,
// changes or removes one is refused the same way, so that a handler copying
// request parameters into the data cannot let a client write them.
type ExtractExtensionHandler func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo)

// SetExtractExtensionHandler sets the ExtractExtensionHandler; nil removes
// it.
func (m *Manager) SetExtractExtensionHandler(handler ExtractExtensionHandler) {
	m.extractExtension = handler
}

// Errors of extension data. They wrap no RFC code: the server answers
// server_error, since the data comes from the application, not the client.
var (
	errExtensionTooLarge = stderrors.New("manage: extension data larger than oauth2.MaxExtensionBytes")
	errExtensionNotUTF8  = stderrors.New("manage: extension data is not valid UTF-8")
	errExtensionModel    = stderrors.New("manage: the token model does not implement oauth2.ExtendableTokenInfo")
	errExtensionReserved = stderrors.New("manage: the ExtractExtensionHandler changed a reserved (oauth2d_) extension key")
)

// reservedPrefix starts the extension keys the library keeps for itself;
// an ExtractExtensionHandler may not change them.
const reservedPrefix = oauth2.ReservedExtensionPrefix

// extend sets the extension data of ti, a record the manager is creating
// for tgr, before its tokens are generated (a JWT generator reads it):
//
//   - from, the code or refresh token ti is issued from, passes its data
//     on: the grant keeps the data it was created with;
//   - tgr.Extension adds the keys from has not got (a key from has keeps
//     its values, so that a request cannot rewrite what the grant is bound
//     to, such as a DPoP key thumbprint);
//   - with callHandler, the ExtractExtensionHandler sees and may change
//     the result.
//
// Then the data is checked: at most oauth2.MaxExtensionBytes encoded, valid
// UTF-8. A refusal is logged and returned; the caller stores nothing. When
// no data and no handler are involved it does nothing, and allocates
// nothing.
func (m *Manager) extend(ctx context.Context, tgr *oauth2.TokenGenerateRequest, ti, from oauth2.TokenInfo, callHandler bool) error {
	var inherited url.Values
	if from != nil {
		if e, ok := from.(oauth2.ExtendableTokenInfo); ok {
			inherited = e.GetExtension()
		}
	}
	handler := m.extractExtension
	if !callHandler {
		handler = nil
	}
	if len(inherited) == 0 && len(tgr.Extension) == 0 && handler == nil {
		return nil
	}
	eti, ok := ti.(oauth2.ExtendableTokenInfo)
	if !ok {
		return m.refuseExtension(ctx, ti, errExtensionModel, 0)
	}

	ext := inherited
	changed := len(tgr.Extension) > 0 || handler != nil
	if changed {
		// A copy the handler may change without touching the record it
		// came from, which a store may still hold.
		ext = make(url.Values, len(inherited)+len(tgr.Extension))
		for k, vs := range inherited {
			ext[k] = append([]string(nil), vs...)
		}
		for k, vs := range tgr.Extension {
			if _, kept := ext[k]; !kept {
				ext[k] = append([]string(nil), vs...)
			}
		}
	}
	eti.SetExtension(ext)
	if handler != nil {
		// The handler gets a copy of the request: handing it tgr itself
		// would make every caller's request escape to the heap, an
		// allocation per token even without a handler.
		req := *tgr
		before := reservedKeys(ext)
		handler(&req, eti)
		ext = eti.GetExtension()
		if !sameReserved(before, ext) {
			eti.SetExtension(nil)
			return m.refuseExtension(ctx, ti, errExtensionReserved, len(ext))
		}
		if len(ext) == 0 {
			eti.SetExtension(nil)
			return nil
		}
	}
	if !changed {
		// The grant's data, checked when the grant was created.
		return nil
	}
	if err := checkExtension(ext); err != nil {
		eti.SetExtension(nil)
		return m.refuseExtension(ctx, ti, err, len(ext))
	}
	return nil
}

// reservedKeys copies the reserved keys of ext, nil when it has none.
func reservedKeys(ext url.Values) url.Values {
	var r url.Values
	for k, vs := range ext {
		if strings.HasPrefix(k, reservedPrefix) {
			if r == nil {
				r = url.Values{}
			}
			r[k] = append([]string(nil), vs...)
		}
	}
	return r
}

// sameReserved reports whether ext has exactly the reserved keys and values
// of before.
func sameReserved(before, ext url.Values) bool {
	after := reservedKeys(ext)
	if len(after) != len(before) {
		return false
	}
	for k, vs := range before {
		if !slices.Equal(vs, after[k]) {
			return false
		}
	}
	return true
}

// checkExtension enforces the bounds of oauth2.ExtendableTokenInfo: valid
// UTF-8 (so that every store and JSON encoder keeps it exactly) and at most
// oauth2.MaxExtensionBytes as url.Values.Encode measures it.
func checkExtension(ext url.Values) error {
	for k, vs := range ext {
		if !utf8.ValidString(k) {
			return errExtensionNotUTF8
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errExtensionNotUTF8
			}
		}
	}
	if n := len(ext.Encode()); n > oauth2.MaxExtensionBytes {
		return fmt.Errorf("%w (%d bytes encoded, at most %d)", errExtensionTooLarge, n, oauth2.MaxExtensionBytes)
	}
	return nil
}

// refuseExtension logs a refused extension with the client it was for and
// the number of keys, never the values, and returns err.
func (m *Manager) refuseExtension(ctx context.Context, ti oauth2.TokenInfo, err error, keys int) error {
	slog.Default().ErrorContext(ctx, "manage: extension data refused, nothing issued",
		"client_id", ti.GetClientID(), "keys", keys, "error", err)
	return err
}
