package server

import "net/url"

// Parameters that may be repeated (RFC 6749 3.1, 3.2 forbid it for every
// parameter they define): resource (RFC 8707 2) and audience (RFC 8693
// 2.1), which name one target each.
const (
	paramResource = "resource"
	paramAudience = "audience"
)

// multiValued reports whether the parameter k may appear more than once.
func multiValued(k []byte) bool {
	return string(k) == paramResource || string(k) == paramAudience
}

// MultiParams is implemented by Params that hold repeated parameters, as
// the server's own do.
type MultiParams interface {
	Params
	// Values returns every value of key, in order; nil when absent.
	Values(key string) []string
}

// ParamValues returns every value of the parameter key of p: those of
// MultiParams.Values when p implements it, else p.Get(key) alone (nil when
// it is ""). Only resource and audience may be repeated; every other
// repeated parameter is refused before a Params is made.
func ParamValues(p Params, key string) []string {
	if m, ok := p.(MultiParams); ok {
		return m.Values(key)
	}
	if v := p.Get(key); v != "" {
		return []string{v}
	}
	return nil
}

// Values returns every non-empty value of key as new strings, nil when
// there is none. On a POST it records a value taken from the query string,
// as Get does.
func (f *form) Values(key string) []string {
	var out []string
	for i := range f.params {
		if p := &f.params[i]; string(p.key) == key && len(p.val) > 0 {
			if p.query && f.bodyOnly {
				f.queryRead = true
			}
			out = append(out, string(p.val))
		}
	}
	return out
}

// valuesParams is the Params of url.Values, for requests the server
// rebuilds from stored parameters.
type valuesParams url.Values

func (v valuesParams) Get(key string) string { return url.Values(v).Get(key) }

func (v valuesParams) Values(key string) []string {
	var out []string
	for _, s := range v[key] {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
