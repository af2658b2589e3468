package server

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	stderrors "errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Distinguished names of tls_client_auth (RFC 8705 2.1.2): a client
// registers tls_client_auth_subject_dn in the string form of RFC 4514, and
// the subject of its certificate must be that name.
// https://www.rfc-editor.org/rfc/rfc4514

// maxDNLength bounds a registered distinguished name.
const maxDNLength = 1024

// dnAttributes are the attribute type names ParseSubjectDN knows (RFC 4514
// 3 and the names of common certificate attributes), by upper-case name.
var dnAttributes = map[string]asn1.ObjectIdentifier{
	"CN":                     {2, 5, 4, 3},
	"SN":                     {2, 5, 4, 4},
	"SERIALNUMBER":           {2, 5, 4, 5},
	"C":                      {2, 5, 4, 6},
	"L":                      {2, 5, 4, 7},
	"ST":                     {2, 5, 4, 8},
	"STREET":                 {2, 5, 4, 9},
	"O":                      {2, 5, 4, 10},
	"OU":                     {2, 5, 4, 11},
	"TITLE":                  {2, 5, 4, 12},
	"POSTALCODE":             {2, 5, 4, 17},
	"GIVENNAME":              {2, 5, 4, 42},
	"ORGANIZATIONIDENTIFIER": {2, 5, 4, 97},
	"DC":                     {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":                    {0, 9, 2342, 19200300, 100, 1, 1},
	"EMAILADDRESS":           {1, 2, 840, 113549, 1, 9, 1},
}

// Errors of ParseSubjectDN.
var (
	errDNEmpty     = stderrors.New("server: the distinguished name is empty")
	errDNTooLong   = stderrors.New("server: the distinguished name is too long")
	errDNSyntax    = stderrors.New("server: not a distinguished name in the string form of RFC 4514 (TYPE=value, separated by commas)")
	errDNType      = stderrors.New("server: unknown attribute type (use CN, O, OU, C, L, ST, STREET, DC, UID, SERIALNUMBER, EMAILADDRESS, … or a dotted OID)")
	errDNHexValue  = stderrors.New("server: hex-encoded (#…) attribute values are not supported")
	errDNEscape    = stderrors.New("server: a backslash must escape a special character or two hex digits (RFC 4514 2.4)")
	errDNNotUTF8   = stderrors.New("server: the distinguished name is not valid UTF-8")
	errDNEmptyAttr = stderrors.New("server: an attribute value is empty")
)

// ParseSubjectDN parses a distinguished name in the string form of RFC
// 4514 ("CN=client,O=Example\, Inc.,C=DE"), as tls_client_auth_subject_dn
// holds it, into the RDN sequence of a certificate subject: in ASN.1
// order, the reverse of the string's (RFC 4514 2.1). Attribute types are
// the names of dnAttributes (any case) or dotted OIDs; values may use the
// escapes of RFC 4514 2.4 (a backslash before a special character or two
// hex digits). Spaces around the separators are ignored, as the output of
// common tools has them. Hex-encoded values (#…) are refused.
func ParseSubjectDN(s string) (pkix.RDNSequence, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errDNEmpty
	}
	if len(s) > maxDNLength {
		return nil, errDNTooLong
	}
	if !utf8.ValidString(s) {
		return nil, errDNNotUTF8
	}
	var (
		seq pkix.RDNSequence
		rdn pkix.RelativeDistinguishedNameSET
	)
	i := 0
	for {
		atv, next, sep, err := parseATV(s, i)
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, atv)
		i = next
		if sep == '+' {
			continue
		}
		seq = append(seq, rdn)
		rdn = nil
		if sep == 0 {
			break
		}
	}
	// RFC 4514 2.1: the string lists the RDNs last to first.
	for l, r := 0, len(seq)-1; l < r; l, r = l+1, r-1 {
		seq[l], seq[r] = seq[r], seq[l]
	}
	return seq, nil
}

// parseATV parses one attributeTypeAndValue of s from i, and returns it,
// the index after its separator, and the separator (',', '+', or 0 at the
// end).
func parseATV(s string, i int) (pkix.AttributeTypeAndValue, int, byte, error) {
	var atv pkix.AttributeTypeAndValue
	eq := strings.IndexByte(s[i:], '=')
	if eq < 0 {
		return atv, 0, 0, errDNSyntax
	}
	name := strings.TrimSpace(s[i : i+eq])
	oid, err := dnType(name)
	if err != nil {
		return atv, 0, 0, err
	}
	atv.Type = oid
	i += eq + 1
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '#' {
		return atv, 0, 0, errDNHexValue
	}
	var (
		val  []byte
		kept int // length of val up to its last escaped or non-space byte
		sep  byte
	)
loop:
	for i < len(s) {
		c := s[i]
		switch c {
		case ',', '+':
			sep = c
			i++
			break loop
		case '\\':
			if i+1 >= len(s) {
				return atv, 0, 0, errDNEscape
			}
			n := s[i+1]
			if strings.IndexByte(`"+,;<>\ #=`, n) >= 0 {
				val = append(val, n)
				i += 2
			} else if i+2 < len(s) && isHex(n) && isHex(s[i+2]) {
				b, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
				val = append(val, byte(b))
				i += 3
			} else {
				return atv, 0, 0, errDNEscape
			}
			kept = len(val)
		case '"', ';', '<', '>', 0:
			// RFC 4514 3: these must be escaped.
			return atv, 0, 0, errDNSyntax
		default:
			val = append(val, c)
			i++
			if c != ' ' {
				kept = len(val)
			}
		}
	}
	val = val[:kept]
	if len(val) == 0 {
		return atv, 0, 0, errDNEmptyAttr
	}
	if !utf8.Valid(val) {
		return atv, 0, 0, errDNNotUTF8
	}
	if sep != 0 && strings.TrimSpace(s[i:]) == "" {
		return atv, 0, 0, errDNSyntax
	}
	atv.Value = string(val)
	return atv, i, sep, nil
}

// dnType returns the OID of an attribute type: a known name or a dotted
// OID (RFC 4514 3).
func dnType(name string) (asn1.ObjectIdentifier, error) {
	if name == "" {
		return nil, errDNSyntax
	}
	if oid, ok := dnAttributes[strings.ToUpper(name)]; ok {
		return oid, nil
	}
	if strings.HasPrefix(strings.ToUpper(name), "OID.") {
		name = name[4:]
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil, errDNType
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for k, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
			return nil, errDNType
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, errDNType
		}
		oid[k] = n
	}
	return oid, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// CertificateSubject returns the subject of cert as its RDN sequence, in
// the order and with the attributes of its DER encoding.
func CertificateSubject(cert *x509.Certificate) (pkix.RDNSequence, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(cert.RawSubject, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errDNSyntax
	}
	return seq, nil
}

// EqualDN reports whether two distinguished names are the same name (RFC
// 4517 4.2.15 distinguishedNameMatch): the same RDNs in the same order,
// each with the same set of attribute types, whose string values are equal
// ignoring case and leading, trailing and repeated inner spaces (RFC 4518
// caseIgnoreMatch, with its insignificant space handling). A value that is
// not a string equals nothing.
func EqualDN(a, b pkix.RDNSequence) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for _, x := range a[i] {
			found := false
			for _, y := range b[i] {
				if x.Type.Equal(y.Type) && equalDNValue(x.Value, y.Value) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func equalDNValue(a, b any) bool {
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	return ok1 && ok2 && strings.EqualFold(strings.Join(strings.Fields(sa), " "), strings.Join(strings.Fields(sb), " "))
}
