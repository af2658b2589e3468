package storetest

import (
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// testExtension checks that the extension data of a record
// (oauth2.ExtendableTokenInfo) is kept with it: read back equal after
// Create, after ExchangeCode and RotateRefresh (which store whatever
// extension issued carries), and through a second handle, as a restarted
// process reads it (Harness.Reopen, where the store has one). A record
// without extension data reads back without any, and neither the caller's
// map nor the one a lookup returns is shared with the store.
func testExtension(t *testing.T, h Harness) {
	e := newEnv(t, h)
	odd := url.Values{
		"nonce":   {"n-0S6_WzA2Mj"},
		"acr":     {"urn:mace:incommon:iap:silver"},
		"multi":   {"b", "a", "b"},
		"empty":   {""},
		"a&b=c;d": {"ä ö+%/?#", "\x00\xff"},
	}

	code := e.codeRecord(newGrant())
	code.Extension = cloneValues(odd)
	e.create(code)
	code.Extension["nonce"][0] = "changed by the caller after Create"
	got := e.found(code, partCode)
	checkExtension(t, got, odd, "GetByCode after Create")
	got.(oauth2.ExtendableTokenInfo).GetExtension()["acr"][0] = "changed by a reader"
	checkExtension(t, e.found(code, partCode), odd, "GetByCode after a reader changed its copy")

	issuedExt := url.Values{"nonce": {"n-0S6_WzA2Mj"}, "auth_time": {"1767225600"}, "jkt": {"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}
	issued := e.tokenRecord(code.GrantID)
	issued.Extension = cloneValues(issuedExt)
	if err := e.s.ExchangeCode(e.ctx, code.Code, issued); err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	checkExtension(t, e.found(issued, partAccess), issuedExt, "GetByAccess after ExchangeCode")
	checkExtension(t, e.found(issued, partRefresh), issuedExt, "GetByRefresh after ExchangeCode")

	e.clock.Advance(time.Minute)
	rotatedExt := url.Values{"nonce": {"n-0S6_WzA2Mj"}, "auth_time": {"1767225600"}, "rotations": {"1"}}
	rotated := e.tokenRecord(code.GrantID)
	rotated.Extension = cloneValues(rotatedExt)
	if err := e.s.RotateRefresh(e.ctx, issued.Refresh, rotated); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	checkExtension(t, e.found(rotated, partAccess), rotatedExt, "GetByAccess after RotateRefresh")
	checkExtension(t, e.found(rotated, partRefresh), rotatedExt, "GetByRefresh after RotateRefresh")

	// Rotation to a record without extension data drops it.
	e.clock.Advance(time.Minute)
	bare := e.tokenRecord(code.GrantID)
	if err := e.s.RotateRefresh(e.ctx, rotated.Refresh, bare); err != nil {
		t.Fatalf("RotateRefresh to a record without extension: %v", err)
	}
	checkExtension(t, e.found(bare, partRefresh), nil, "GetByRefresh after RotateRefresh without extension")

	plain := e.accessRecord()
	e.create(plain)
	checkExtension(t, e.found(plain, partAccess), nil, "record created without extension")
	emptyExt := e.accessRecord()
	emptyExt.Extension = url.Values{}
	e.create(emptyExt)
	checkExtension(t, e.found(emptyExt, partAccess), nil, "record created with an empty extension")
	client := e.accessRecord()
	client.Extension = url.Values{"tenant": {"t-1"}}
	e.create(client)
	checkExtension(t, e.found(client, partAccess), client.Extension, "client credentials token with extension")

	if h.Reopen == nil {
		return // the store serves one process, whose data ends with it
	}
	again := &env{t: t, clock: e.clock, s: h.Reopen(t, e.s, e.clock.Now), ctx: e.ctx}
	checkExtension(t, again.found(bare, partAccess), nil, "second handle: record without extension")
	checkExtension(t, again.found(client, partAccess), client.Extension, "second handle: client credentials token")
	next := again.tokenRecord(code.GrantID)
	next.Extension = url.Values{"after": {"restart"}}
	if err := again.s.RotateRefresh(again.ctx, bare.Refresh, next); err != nil {
		t.Fatalf("RotateRefresh on the second handle: %v", err)
	}
	checkExtension(t, e.found(next, partRefresh), next.Extension, "first handle: rotated on the second")
	checkExtension(t, again.found(next, partAccess), next.Extension, "second handle: rotated on the second")
}

// testReplayReportsRecord checks what a *oauth2.ReusedError tells of the
// consumed record beyond its grant: nothing, or the truth. A store that
// fills ClientID or Record must give the client, redirect URI and PKCE
// challenge the code was issued with, so that the manager can refuse a
// replay by another client, or without the code's verifier, without
// revoking the grant of the client that redeemed it.
func testReplayReportsRecord(t *testing.T, h Harness) {
	e := newEnv(t, h)
	code := e.codeRecord(newGrant())
	code.Extension = url.Values{"nonce": {"n-1"}}
	e.create(code)
	if err := e.s.ExchangeCode(e.ctx, code.Code, e.tokenRecord(code.GrantID)); err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	for _, err := range []error{
		func() error { _, err := e.s.GetByCode(e.ctx, code.Code); return err }(),
		e.s.ExchangeCode(e.ctx, code.Code, e.tokenRecord(code.GrantID)),
	} {
		var re *oauth2.ReusedError
		if !errors.As(err, &re) {
			t.Fatalf("replayed code: %v, want a *oauth2.ReusedError", err)
		}
		if re.ClientID != "" && re.ClientID != code.ClientID {
			t.Fatalf("ReusedError.ClientID = %q, want %q", re.ClientID, code.ClientID)
		}
		if re.Record == nil {
			continue
		}
		r := re.Record
		for _, c := range []struct{ name, got, want string }{
			{"ClientID", r.GetClientID(), code.ClientID},
			{"GrantID", r.GetGrantID(), code.GrantID},
			{"RedirectURI", r.GetRedirectURI(), code.RedirectURI},
			{"CodeChallenge", r.GetCodeChallenge(), code.CodeChallenge},
			{"CodeChallengeMethod", string(r.GetCodeChallengeMethod()), string(code.CodeChallengeMethod)},
			{"Code", r.GetCode(), ""},
			{"Access", r.GetAccess(), ""},
			{"Refresh", r.GetRefresh(), ""},
		} {
			if c.got != c.want {
				t.Fatalf("ReusedError.Record.%s = %s, want %s", c.name, quote(c.got), quote(c.want))
			}
		}
	}
}

// checkExtension asserts that got carries want as its extension data; a
// nil want means none (a nil or empty map).
func checkExtension(t *testing.T, got oauth2.TokenInfo, want url.Values, what string) {
	t.Helper()
	x, ok := got.(oauth2.ExtendableTokenInfo)
	if !ok {
		t.Fatalf("%s: the record (%T) does not carry extension data", what, got)
	}
	have := x.GetExtension()
	if len(want) == 0 {
		if len(have) != 0 {
			t.Fatalf("%s: extension = %v, want none", what, have)
		}
		return
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("%s: extension = %v, want %v", what, have, want)
	}
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

var _ oauth2.ExtendableTokenInfo = (*models.Token)(nil)
