package errors_test

import (
	"fmt"
	"testing"

	"github.com/oauth2d/oauth2/errors"
)

func TestLookup_OpenIDConnectCodesAreInTheCatalog(t *testing.T) {
	for _, code := range []error{
		errors.ErrLoginRequired, errors.ErrConsentRequired, errors.ErrInteractionRequired,
		errors.ErrAccountSelectionRequired, errors.ErrInvalidRequestURI, errors.ErrInvalidRequestObject,
		errors.ErrRequestNotSupported, errors.ErrRequestURINotSupported, errors.ErrRegistrationNotSupported,
	} {
		t.Run(code.Error(), func(t *testing.T) {
			wrapped := fmt.Errorf("authorize: %w", errors.WithDescription(code, "why"))
			got, status, desc := errors.Lookup(wrapped)
			if got != code || status != 400 || desc != "why" {
				t.Fatalf("Lookup = (%v, %d, %q)", got, status, desc)
			}
			if _, _, desc := errors.Lookup(code); desc == "" || desc != errors.Descriptions[code] {
				t.Fatalf("default description %q", desc)
			}
		})
	}
}
