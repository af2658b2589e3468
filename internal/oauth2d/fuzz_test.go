package oauth2d

import (
	"encoding/json"
	stderrors "errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/oauth2d/oauth2/internal/secret"
)

// secretKeys are the YAML keys whose values are secrets: client secrets,
// passwords, their hashes, and the private members of a JSON Web Key
// (RFC 7518 6.3.2, 6.4.1) that a jwks field might wrongly hold.
var secretKeys = map[string]bool{
	"secret": true, "secret_hash": true, "password": true, "password_hash": true,
	"d": true, "p": true, "q": true, "dp": true, "dq": true, "qi": true, "k": true,
}

// distinctive finds the parts of a secret that no fixed error text can
// contain by chance: runs of at least six letters and digits that mix
// upper case, lower case and digits.
var distinctiveRun = regexp.MustCompile(`[A-Za-z0-9]{6,}`)

func distinctive(s string) []string {
	var out []string
	for _, run := range distinctiveRun.FindAllString(s, -1) {
		if strings.ContainsAny(run, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
			strings.ContainsAny(run, "abcdefghijklmnopqrstuvwxyz") &&
			strings.ContainsAny(run, "0123456789") {
			out = append(out, run)
		}
	}
	return out
}

// yamlTexts walks a YAML document, aliases included, and returns every
// text an error could repeat (scalar values, keys, tags, anchors), with one
// entry per time it is reached, and the secret parts of the document: the
// values under secretKeys and the passwords in the store setting. ok is
// false when the document is too large to walk.
type yamlTexts struct {
	texts   []string
	secrets []string
	visits  int
}

func (y *yamlTexts) walk(n *yaml.Node, underSecret bool, depth int) bool {
	y.visits++
	if n == nil || depth > 64 || y.visits > 20000 {
		return n == nil
	}
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		y.texts = append(y.texts, n.Tag)
	}
	if n.Anchor != "" {
		y.texts = append(y.texts, n.Anchor)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		y.texts = append(y.texts, n.Value)
		if underSecret {
			y.secrets = append(y.secrets, n.Value)
		}
	case yaml.AliasNode:
		return y.walk(n.Alias, underSecret, depth+1)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !y.walk(k, underSecret, depth+1) {
				return false
			}
			if depth == 1 && k.Value == "store" && v.Kind == yaml.ScalarNode {
				y.secrets = append(y.secrets, storePasswords(v.Value)...)
			}
			if !y.walk(v, underSecret || secretKeys[k.Value], depth+1) {
				return false
			}
		}
	default:
		for _, c := range n.Content {
			if !y.walk(c, underSecret, depth+1) {
				return false
			}
		}
	}
	return true
}

// checkNoSecret fails when msg holds a distinctive part of a secret of the
// document that no other text of the document holds.
func checkNoSecret(t *testing.T, y *yamlTexts, data []byte, msg string) {
	t.Helper()
	for _, s := range y.secrets {
		for _, part := range distinctive(s) {
			n := 0
			for _, text := range y.texts {
				if strings.Contains(text, part) || strings.Contains(strconv.Quote(text), part) {
					n++
				}
			}
			// One text is the secret itself (the store setting holds its
			// password inside a longer value).
			if n <= 1 && strings.Contains(msg, part) {
				t.Fatalf("error repeats %q, part of a secret\nerror: %s\nconfig:\n%s", part, msg, data)
			}
		}
	}
}

// fuzzConfigSeeds are valid and broken configurations with distinctive
// secrets, next to every kind of error.
var fuzzConfigSeeds = []string{
	validYAML,
	"",
	"listen: 127.0.0.1:9999\n",
	"store: postgres://oauth2:DbPassw0rdXy@db.example.com:5432/oauth2?sslmode=require\n",
	"store: mysql:oauth2:DbPassw0rdXy@tcp(db:3306)/oauth2\n",
	"store: \"redis://:DbPassw0rdXy@127.0.0.1:6379/0\"\n",
	"store: postgres://u:DbPassw0rdXy@/db\n",
	"store: postgres://db/x?password=DbPassw0rdXy&sslpassword=Ssl9Passw0rd\n",
	"clients:\n  - id: a\n    secret: TopSecret9Value\n    redirect_uris: [https://a.example/cb]\n",
	"clients:\n  - id: a\n    secret: [TopSecret9Value]\n",
	"clients:\n  - id: a\n    secret: {x: TopSecret9Value}\n",
	"clients:\n  - id: a\n    secret: TopSecret9Value\n    secret_hash: \"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$HashPart9Abc\"\n",
	"clients:\n  - id: a\n    secret_hash: \"$argon2id$v=19$m=0,t=3,p=1$c2FsdHNhbHQ$HashPart9Abc\"\n    redirect_uris: [https://a.example/cb]\n",
	"clients:\n  - id: a\n    secret: !!int TopSecret9Value\n",
	"clients:\n  - id: a\n    secret: !!binary VG9wU2VjcmV0OVZhbHVl\n",
	"clients:\n  - id: a\n    secret: TopSecret9Value\n    jwks: {keys: [{kty: oct, k: Sym9KeyMaterialX}]}\n",
	"clients:\n  - id: a\n    secret: TopSecret9Value\n    jwks: \"{\\\"keys\\\":[{\\\"kty\\\":\\\"EC\\\",\\\"d\\\":\\\"Priv9KeyPart\\\"}]}\"\n",
	"clients:\n  - id: a\n    secret: TopSecret9Value\n    secrets: TopSecret9Value\n",
	"clients:\n  - id: \"a:b\"\n    secret: TopSecret9Value\n    grant_types: [implicit, password, magic]\n    scopes: [\"re ad\"]\n    token_endpoint_auth_method: none\n",
	"clients:\n  - id: pub\n    public: true\n    redirect_uris: [http://127.0.0.1/cb]\n  - id: svc\n    token_endpoint_auth_method: client_secret_jwt\n    secret: TopSecret9Value\n    grant_types: [client_credentials]\n    introspect_any: true\n",
	"users:\n  - username: bob\n    password: UserPassw0rdX\n  - username: bob\n    password: UserPassw0rdX\n    password_hash: x\n",
	"users:\n  - username: bob\n    password: &pw UserPassw0rdX\nlisten: *pw\n",
	"users:\n  - &u {username: bob, password: UserPassw0rdX}\n  - *u\n",
	"users: [{username: \"a\\u0000b\", password: UserPassw0rdX}]\n",
	"code_ttl: 1h\naccess_token: {ttl: -1h, format: paseto}\nrefresh_token: {ttl: forever, rotate: maybe}\n",
	"issuer: https://a.example/?x=1#f\nlisten: nohost\n",
	"store: memory:\n",
	"store: memory\n---\nstore: memory\n",
	"clients: [\n  TopSecret9Value",
	"a: &a [*a, *a]\n",
	"dpop: {enabled: false, algorithms: [HS256], max_age: 1h}\npar: {required: true, lifetime: 90s}\nresources: [\"https://a.example/#f\"]\ntoken_exchange: {enabled: maybe}\ntls: {cert_file: /dev/zero, key_file: /nonexistent, mtls: true, client_ca_files: [/dev/null]}\nclients:\n  - id: a\n    secret: TopSecret9Value\n    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_subject_dn: \"CN=x\\\\,\"\n    tls_client_auth_san_ip: 1.2.3\n    dpop_bound_access_tokens: true\n    token_exchange_audiences: [\"\"]\n",
}

// FuzzParseConfig_ErrorsNeverHoldSecrets parses any YAML as a configuration
// file and validates what parses. Neither step panics; no error repeats a
// client secret, a password, a hash, private key material or the
// password of the store setting; only a single well-formed YAML document
// is accepted; and a configuration that validates has every field sane.
func FuzzParseConfig_ErrorsNeverHoldSecrets(f *testing.F) {
	for _, s := range fuzzConfigSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		cfg, err := ParseConfig(data)
		var doc yaml.Node
		var texts *yamlTexts
		if yaml.Unmarshal(data, &doc) == nil {
			texts = &yamlTexts{}
			if !texts.walk(&doc, false, 0) {
				texts = nil
			}
		}
		if err != nil {
			var ce *ConfigError
			if !stderrors.As(err, &ce) {
				t.Fatalf("ParseConfig error %T is not a *ConfigError: %v", err, err)
			}
			if texts != nil {
				checkNoSecret(t, texts, data, err.Error())
			}
			return
		}
		checkSingleDocument(t, data)
		if err := cfg.Validate(); err != nil {
			if texts != nil {
				checkNoSecret(t, texts, data, err.Error())
			}
			return
		}
		checkSaneConfig(t, &cfg, data)
	})
}

// checkSingleDocument fails unless data is one YAML document (or none)
// that parses to the end.
func checkSingleDocument(t *testing.T, data []byte) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for n := 0; ; n++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if stderrors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("ParseConfig accepted a file whose document %d is not YAML (%v):\n%s", n, err, data)
		}
		if n > 0 {
			t.Fatalf("ParseConfig accepted a file of %d YAML documents:\n%s", n+1, data)
		}
	}
}

// scopeToken is scope-token of RFC 6749 3.3: 1*( %x21 / %x23-5B / %x5D-7E ).
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// checkSaneConfig fails when a configuration that validates has a field a
// server could not run with, or one that breaks a rule of the RFCs.
func checkSaneConfig(t *testing.T, cfg *Config, data []byte) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		args = append(args, data)
		t.Fatalf("Validate accepted "+format+"\nconfig:\n%s", args...)
	}
	// RFC 8414 2: an https (or, for development, http) URL with a host,
	// without query or fragment.
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Hostname() == "" ||
		iss.User != nil || iss.RawQuery != "" || iss.ForceQuery || iss.Fragment != "" || strings.Contains(cfg.Issuer, "#") {
		fail("issuer %q", cfg.Issuer)
	}
	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil {
		fail("listen %q", cfg.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		fail("listen port %q", port)
	}
	su, err := ParseStoreURL(cfg.Store)
	if err != nil || !slices.Contains([]string{StoreMemory, StoreSQLite, StorePostgres, StoreMySQL, StoreRedis}, su.Kind) {
		fail("store %q", RedactStore(cfg.Store))
	}
	if cfg.CodeTTL <= 0 || cfg.CodeTTL > 10*time.Minute {
		fail("code_ttl %v (RFC 6749 4.1.2)", cfg.CodeTTL)
	}
	if cfg.AccessToken.TTL <= 0 || cfg.RefreshToken.TTL <= 0 {
		fail("token lifetimes %v, %v", cfg.AccessToken.TTL, cfg.RefreshToken.TTL)
	}
	if cfg.AccessToken.Format != FormatOpaque && cfg.AccessToken.Format != FormatJWT {
		fail("access token format %q", cfg.AccessToken.Format)
	}
	ids := map[string]bool{}
	for i, c := range cfg.Clients {
		if c.ID == "" || ids[c.ID] || strings.ContainsAny(c.ID, ":\x7f") || strings.ContainsFunc(c.ID, func(r rune) bool { return r < 0x20 }) {
			fail("clients[%d].id %q (empty, duplicate, or not usable in Basic credentials, RFC 6749 2.3.1)", i, c.ID)
		}
		ids[c.ID] = true
		method := c.TokenEndpointAuthMethod
		if method != "" && !slices.Contains(knownAuthMethods, method) {
			fail("clients[%d].token_endpoint_auth_method %q", i, method)
		}
		if c.Secret != "" && c.SecretHash != "" {
			fail("clients[%d] with both a secret and a hash", i)
		}
		if c.SecretHash != "" && secret.Check(c.SecretHash) != nil {
			fail("clients[%d].secret_hash that secret.Check refuses", i)
		}
		if c.Public {
			// RFC 6749 2.1, 4.4; RFC 7662 2.1.
			if c.Secret != "" || c.SecretHash != "" || (method != "" && method != "none") || c.IntrospectAny ||
				slices.Contains(c.GrantTypes, "client_credentials") {
				fail("public clients[%d] that authenticates or uses client_credentials or introspection", i)
			}
		} else {
			usesKey := method == "private_key_jwt" && len(c.JWKS) > 0
			if (c.Secret == "" && c.SecretHash == "" && !usesKey) || method == "none" {
				fail("confidential clients[%d] without a credential", i)
			}
			if method == "client_secret_jwt" && c.Secret == "" {
				fail("clients[%d] with client_secret_jwt and no secret in the clear (RFC 7523 2.2)", i)
			}
		}
		if len(c.JWKS) > 0 {
			var set struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if json.Unmarshal(c.JWKS, &set) != nil || len(set.Keys) == 0 {
				fail("clients[%d].jwks that is not a JWK Set with keys (RFC 7517 5)", i)
			}
		}
		needsRedirect := len(c.GrantTypes) == 0
		for _, g := range c.GrantTypes {
			if _, ok := knownGrants[g]; !ok {
				fail("clients[%d] grant type %q", i, g)
			}
			if g == "authorization_code" || g == "implicit" {
				needsRedirect = true
			}
			if (g == "implicit" && !cfg.Grants.Implicit) || (g == "password" && !cfg.Grants.Password) {
				fail("clients[%d] grant %q, which is disabled", i, g)
			}
		}
		if needsRedirect && len(c.RedirectURIs) == 0 {
			fail("clients[%d] of a redirect grant without redirect_uris (RFC 6749 3.1.2.2)", i)
		}
		for j, ru := range c.RedirectURIs {
			u, err := url.Parse(ru)
			if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(ru, "#") ||
				((u.Scheme == "http" || u.Scheme == "https") && u.Host == "") {
				fail("clients[%d].redirect_uris[%d] %q (RFC 6749 3.1.2)", i, j, ru)
			}
		}
		for j, s := range c.Scopes {
			if !scopeToken.MatchString(s) {
				fail("clients[%d].scopes[%d] %q (RFC 6749 3.3)", i, j, s)
			}
		}
	}
	names := map[string]bool{}
	for i, u := range cfg.Users {
		if u.Username == "" || names[u.Username] || strings.ContainsFunc(u.Username, isControl) {
			fail("users[%d].username %q", i, u.Username)
		}
		names[u.Username] = true
		if (u.Password == "") == (u.PasswordHash == "") {
			fail("users[%d] without exactly one of password and password_hash", i)
		}
		if u.PasswordHash != "" && secret.Check(u.PasswordHash) != nil {
			fail("users[%d].password_hash that secret.Check refuses", i)
		}
	}
}

// storePasswords returns the passwords in a store setting as its driver
// reads them: the password of a URL's user information, the password query
// parameters that RedactStore knows, and the password of a MySQL driver
// DSN (user:password@protocol(address)/db).
func storePasswords(s string) []string {
	var out []string
	for _, sp := range storePasswordSpans(s) {
		raw := s[sp[0]:sp[1]]
		out = append(out, raw)
		if dec, err := url.PathUnescape(raw); err == nil && dec != raw {
			out = append(out, dec)
		}
		if dec, err := url.QueryUnescape(raw); err == nil && dec != raw {
			out = append(out, dec)
		}
	}
	return out
}

// urlScheme is scheme of RFC 3986 3.1.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// storePasswordSpans returns the byte ranges of the passwords in s, in
// order.
func storePasswordSpans(s string) [][2]int {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !urlScheme.MatchString(scheme) {
		return nil
	}
	start := len(scheme) + 1
	var spans [][2]int
	switch strings.ToLower(scheme) {
	case "mysql", "mariadb":
		if !strings.HasPrefix(rest, "//") {
			// The driver (go-sql-driver/mysql ParseDSN) splits at the last
			// "/", then at the last "@" before it, then at the first ":".
			slash := strings.LastIndex(rest, "/")
			if slash < 0 {
				return nil
			}
			at := strings.LastIndex(rest[:slash], "@")
			if at < 0 {
				return nil
			}
			if colon := strings.Index(rest[:at], ":"); colon >= 0 && colon+1 < at {
				spans = append(spans, [2]int{start + colon + 1, start + at})
			}
			return spans
		}
	}
	// A fragment is not sent anywhere: what follows "#" is no password.
	if h := strings.Index(rest, "#"); h >= 0 {
		rest = rest[:h]
		s = s[:start+h]
	}
	if strings.HasPrefix(rest, "//") {
		authStart := start + 2
		auth := s[authStart:]
		if end := strings.IndexAny(auth, "/?#"); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			if colon := strings.Index(auth[:at], ":"); colon >= 0 && colon+1 < at {
				spans = append(spans, [2]int{authStart + colon + 1, authStart + at})
			}
		}
	}
	q := strings.Index(s, "?")
	if q < 0 {
		return spans
	}
	query := s[q+1:]
	off := q + 1
	for pair := range strings.SplitSeq(query, "&") {
		key, _, hasValue := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		switch strings.ToLower(key) {
		case "password", "pass", "pwd", "sslpassword":
			if vstart := off + strings.Index(pair, "=") + 1; hasValue && vstart < off+len(pair) {
				spans = append(spans, [2]int{vstart, off + len(pair)})
			}
		}
		off += len(pair) + 1
	}
	return spans
}

// withoutPasswords returns s with every password replaced by "zzzzzz".
func withoutPasswords(s string, spans [][2]int) string {
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString("zzzzzz")
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// withoutPlaceholders removes the fixed texts that RedactStore writes in
// place of what it hides, which are not from the setting.
func withoutPlaceholders(redacted string) string {
	redacted = strings.ReplaceAll(redacted, "(unparsable, hidden)", "\x00")
	return strings.ReplaceAll(redacted, "xxxxx", "\x00")
}

// FuzzStoreURL_NeverShowsThePassword checks ParseStoreURL and RedactStore
// on any store setting: neither panics; a parsed setting is of a known
// kind with the DSN its driver needs; and neither RedactStore's result nor
// ParseStoreURL's error shows a password of the setting, which is checked
// against the same setting with its passwords replaced: a text both show
// comes from elsewhere in the setting.
func FuzzStoreURL_NeverShowsThePassword(f *testing.F) {
	for _, s := range []string{
		"memory", "memory:", "memory:x", "sqlite:./oauth2d.db", "sqlite://u:P4ssWord@h/x.db", "sqlite:", "sqlite3:/tmp/x.db",
		"postgres://oauth2:P4ssWord@db.example.com:5432/oauth2?sslmode=require",
		"postgresql://u:P%40ss%3AWord@db/x", "POSTGRES://u:P4ssWord@db/x", "postgres://u:p@ss@db/x",
		"postgres://db/x?password=P4ssWord&sslpassword=S5lWord&user=u", "postgres://db/x?PASSWORD=P4ssWord",
		"postgres://db/x?pass%77ord=P4ssWord", "postgres://u:P4ssWord@/db", "postgres://u:P4ss%zzWord@db/x",
		"postgres://u:xxxxx%40db@db/x", "postgres:host=db password=P4ssWord",
		"mysql://root:P4ssWord@127.0.0.1:3306/test", "mysql:root:P4ssWord@tcp(127.0.0.1:3306)/test?parseTime=true",
		"mysql:root:P4ss@Word@tcp(127.0.0.1:3306)/test", "mysql:root:P4ss/Word@tcp(h)/db", "mysql:root@tcp(h)/db",
		"mysql:root:P4ssWord@tcp(h)", "mysql:root:P4ssWord@tcp(h)/db?x=a@b",
		"redis://:P4ssWord@127.0.0.1:6379/0", "rediss://default:P4ssWord@cache:6380", "redis://cache/0?password=P4ssWord",
		"mongodb://u:P4ssWord@h/db", "://u:P4ssWord@h", ":", "", "x", "postgres://[::1", "redis://u:P4ssWord@[fe80::1%25eth0]:6379",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		su, perr := ParseStoreURL(s)
		if perr == nil {
			switch su.Kind {
			case StoreMemory:
				if su.DSN != "" {
					t.Fatalf("memory store with a DSN")
				}
			case StoreSQLite, StoreMySQL:
				if su.DSN == "" {
					t.Fatalf("%s store without a DSN", su.Kind)
				}
			case StorePostgres, StoreRedis:
				if u, err := url.Parse(su.DSN); err != nil || u.Host == "" {
					t.Fatalf("%s store whose DSN has no host", su.Kind)
				}
			default:
				t.Fatalf("ParseStoreURL returned kind %q", su.Kind)
			}
		}
		redacted := withoutPlaceholders(RedactStore(s))
		spans := storePasswordSpans(s)
		if len(spans) == 0 {
			return
		}
		s2 := withoutPasswords(s, spans)
		redacted2 := withoutPlaceholders(RedactStore(s2))
		_, perr2 := ParseStoreURL(s2)
		for _, pw := range storePasswords(s) {
			if pw == "" {
				continue
			}
			if strings.Contains(redacted, pw) && !strings.Contains(redacted2, pw) {
				t.Fatalf("RedactStore(%q) = %q shows the password %q", s, redacted, pw)
			}
			if perr == nil || !strings.Contains(perr.Error(), pw) {
				continue
			}
			if perr2 != nil && strings.Contains(perr2.Error(), pw) {
				continue // the fixed text of the error holds it
			}
			if perr2 == nil && (len(pw) < 8 || strings.Contains(pw, " ")) {
				continue // too short to tell from the fixed text of the error
			}
			t.Fatalf("ParseStoreURL(%q) error %q shows the password %q", s, perr, pw)
		}
	})
}
