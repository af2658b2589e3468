package web

import "github.com/oauth2d/oauth2/oidc"

// claimDescriptions are shown under the claims the consent page lists
// (OpenID Connect Core 1.0 5.1).
var claimDescriptions = map[string]string{
	oidc.ClaimName:                "Your full name",
	oidc.ClaimGivenName:           "Your given name",
	oidc.ClaimFamilyName:          "Your family name",
	oidc.ClaimMiddleName:          "Your middle name",
	oidc.ClaimNickname:            "Your nickname",
	oidc.ClaimPreferredUsername:   "The username you prefer",
	oidc.ClaimProfile:             "The address of your profile page",
	oidc.ClaimPicture:             "Your picture",
	oidc.ClaimWebsite:             "Your website",
	oidc.ClaimEmail:               "Your email address",
	oidc.ClaimEmailVerified:       "Whether your email address is verified",
	oidc.ClaimGender:              "Your gender",
	oidc.ClaimBirthdate:           "Your birthday",
	oidc.ClaimZoneinfo:            "Your time zone",
	oidc.ClaimLocale:              "Your language and region",
	oidc.ClaimPhoneNumber:         "Your phone number",
	oidc.ClaimPhoneNumberVerified: "Whether your phone number is verified",
	oidc.ClaimAddress:             "Your postal address",
	oidc.ClaimUpdatedAt:           "When your profile last changed",
}

func claimText(name string) string { return claimDescriptions[name] }
