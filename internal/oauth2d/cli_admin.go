package oauth2d

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// The management commands (docs/architecture.md section 6.5): `oauth2d
// clients ...` and `oauth2d users ...` are clients of the admin API of a
// running server (-admin-url, the token from OAUTH2D_ADMIN_TOKEN or
// -admin-token-file), so that every change goes through one validation and
// one audit log. Secrets are read from stdin, never from flags.

// EnvAdminURL is the admin API's base URL for the commands; -admin-url
// takes precedence.
const EnvAdminURL = "OAUTH2D_ADMIN_URL"

// defaultAdminURL is the admin API of a server on this host with
// admin_listen: 127.0.0.1:9097.
const defaultAdminURL = "http://127.0.0.1:9097"

// adminCLI is one management command's connection to the admin API.
type adminCLI struct {
	env    Env
	name   string // "oauth2d clients create"
	base   string
	token  string
	json   bool
	client *http.Client
}

// multiFlag is a flag that may be repeated.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const clientsUsage = `Usage:
  oauth2d clients create [flags]     create a client; prints its secret once
  oauth2d clients list [flags]
  oauth2d clients get [flags] CLIENT_ID
  oauth2d clients delete [flags] CLIENT_ID
The commands talk to the admin API of a running server (admin_listen).
create reads the client's RFC 7591 metadata from -metadata FILE (JSON, "-"
for stdin) and/or the flags; with -secret-stdin the client secret is the
first line of stdin, else the server makes one.

Flags:
`

const usersUsage = `Usage:
  oauth2d users create [flags] USERNAME   the password is the first line of stdin
  oauth2d users passwd [flags] USERNAME   the new password is the first line of stdin
  oauth2d users disable [flags] USERNAME  (-enable to enable again)
  oauth2d users list [flags]
The commands talk to the admin API of a running server (admin_listen).

Flags:
`

// adminCommands are the management commands Main dispatches to, by their
// first argument. A command of another file is added here with one line.
var adminCommands = map[string]func(Env) int{
	"clients": clientsCommand,
	"users":   usersCommand,
	"grants":  grantsCommand, // cli_grants.go
}

// adminCommand is one "oauth2d NOUN VERB [flags] [args]": its verb, its
// name for messages, and its flag set with the flags every such command
// has.
type adminCommand struct {
	env                         Env
	verb, name                  string
	fs                          *flag.FlagSet
	adminURL, tokenFile, output *string
}

// newAdminCommand reads the verb of "oauth2d noun VERB", one of verbs, and
// makes the command's flag set; else it prints usage and returns nil.
func newAdminCommand(env Env, noun, usage string, verbs []string) *adminCommand {
	if len(env.Args) < 2 || !slices.Contains(verbs, env.Args[1]) {
		fmt.Fprint(env.Stderr, usage)
		return nil
	}
	c := &adminCommand{env: env, verb: env.Args[1], name: "oauth2d " + noun + " " + env.Args[1]}
	c.fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.fs.SetOutput(env.Stderr)
	c.fs.Usage = func() {
		fmt.Fprint(env.Stderr, usage)
		c.fs.PrintDefaults()
	}
	c.adminURL = c.fs.String("admin-url", "", "the admin API's base `URL` (default $"+EnvAdminURL+" or "+defaultAdminURL+")")
	c.tokenFile = c.fs.String("admin-token-file", "", "a `file` whose first line is the admin token (default $"+EnvAdminToken+")")
	c.output = c.fs.String("o", "table", "output: table or json")
	return c
}

// parse parses the arguments after the verb, with the flags the command
// added; when it returns false, the command exits with code (0 for -h).
func (c *adminCommand) parse() (code int, ok bool) {
	if err := c.fs.Parse(c.env.Args[2:]); err != nil {
		if stderrors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// connect checks the common flags and returns the connection.
func (c *adminCommand) connect() (*adminCLI, int) {
	return connect(c.env, c.name, *c.adminURL, *c.tokenFile, *c.output)
}

// connect checks the common flags and returns the connection.
func connect(env Env, name, adminURL, tokenFile, output string) (*adminCLI, int) {
	lookup := env.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	c := &adminCLI{env: env, name: name, base: adminURL, client: &http.Client{Timeout: 30 * time.Second}}
	switch output {
	case "json":
		c.json = true
	case "table":
	default:
		fmt.Fprintf(env.Stderr, "%s: -o must be table or json\n", name)
		return nil, 2
	}
	if c.base == "" {
		c.base, _ = lookup(EnvAdminURL)
	}
	if c.base == "" {
		c.base = defaultAdminURL
	}
	c.base = strings.TrimSuffix(c.base, "/")
	if u, err := url.Parse(c.base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(env.Stderr, "%s: -admin-url is not an http or https URL\n", name)
		return nil, 2
	}
	if tokenFile != "" {
		t, _, err := readSecretFile(tokenFile)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: -admin-token-file: %v\n", name, err)
			return nil, 1
		}
		c.token = t
	} else if t, ok := lookup(EnvAdminToken); ok {
		c.token = t
	}
	if c.token == "" {
		fmt.Fprintf(env.Stderr, "%s: no admin token: set %s or -admin-token-file\n", name, EnvAdminToken)
		return nil, 2
	}
	return c, 0
}

// do sends one admin request and decodes its JSON answer into out; a
// problem is printed and returned as an error.
func (c *adminCLI) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s: %w", c.base, stderrors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var p problem
		if json.Unmarshal(data, &p) == nil && p.Title != "" {
			return fmt.Errorf("%d %s: %s", p.Status, p.Title, p.Detail)
		}
		return fmt.Errorf("the admin API answered %s", resp.Status)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// fail prints an error of the command and returns its exit status.
func (c *adminCLI) fail(err error) int {
	fmt.Fprintf(c.env.Stderr, "%s: %v\n", c.name, err)
	return 1
}

// print writes v as JSON with -o json, else calls table.
func (c *adminCLI) print(v any, table func(w *tabwriter.Writer)) int {
	if c.json {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	table(tw)
	_ = tw.Flush()
	return 0
}

// readSecretLine reads a secret from the first line of stdin.
func readSecretLine(env Env, what string) (string, error) {
	if env.Stdin == nil {
		return "", fmt.Errorf("no %s on stdin", what)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(env.Stdin, maxPasswordBytes+1), maxPasswordBytes+1).ReadString('\n')
	if err != nil && !stderrors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the %s from stdin", what)
	}
	if len(line) > maxPasswordBytes {
		return "", fmt.Errorf("the %s is longer than %d bytes", what, maxPasswordBytes)
	}
	s := strings.TrimRight(line, "\r\n")
	if s == "" {
		return "", fmt.Errorf("no %s on stdin", what)
	}
	return s, nil
}

// listAll reads every page of a list.
func listAll[T any](c *adminCLI, path string) ([]T, error) {
	var all []T
	after := ""
	for {
		var p page[T]
		q := url.Values{"limit": {fmt.Sprint(maxPageLimit)}}
		if after != "" {
			q.Set("after", after)
		}
		if err := c.do("GET", path+"?"+q.Encode(), nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Next == "" || len(p.Items) == 0 {
			return all, nil
		}
		after = p.Next
	}
}

func clientsCommand(env Env) int {
	cmd := newAdminCommand(env, "clients", clientsUsage, []string{"create", "list", "get", "delete"})
	if cmd == nil {
		return 2
	}
	verb, name, fs := cmd.verb, cmd.name, cmd.fs
	var (
		metadataFile = fs.String("metadata", "", "create: a JSON `file` of RFC 7591 metadata (\"-\" for stdin)")
		id           = fs.String("id", "", "create: the client_id (default: issued by the server)")
		clientName   = fs.String("name", "", "create: client_name")
		scope        = fs.String("scope", "", "create: the space-separated scopes it may ask for")
		method       = fs.String("auth-method", "", "create: token_endpoint_auth_method (default client_secret_basic; none for a public client)")
		secretStdin  = fs.Bool("secret-stdin", false, "create: read the client secret from the first line of stdin")
		grants       multiFlag
		redirects    multiFlag
	)
	fs.Var(&grants, "grant", "create: a grant type (repeat)")
	fs.Var(&redirects, "redirect-uri", "create: a redirect URI (repeat)")
	if code, ok := cmd.parse(); !ok {
		return code
	}
	wantArgs := map[string]int{"create": 0, "list": 0, "get": 1, "delete": 1}[verb]
	if fs.NArg() != wantArgs {
		fmt.Fprintf(env.Stderr, "%s: takes %d argument(s)\n", name, wantArgs)
		return 2
	}
	c, code := cmd.connect()
	if c == nil {
		return code
	}
	switch verb {
	case "list":
		items, err := listAll[clientView](c, "/admin/clients")
		if err != nil {
			return c.fail(err)
		}
		return c.print(items, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "CLIENT_ID\tSOURCE\tAUTH_METHOD\tGRANTS\tNAME")
			for _, v := range items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.ClientID, v.Source, v.TokenEndpointAuthMethod, strings.Join(v.GrantTypes, ","), v.ClientName)
			}
		})
	case "get":
		var v clientView
		if err := c.do("GET", "/admin/clients/"+url.PathEscape(fs.Arg(0)), nil, &v); err != nil {
			return c.fail(err)
		}
		return c.print(v, func(w *tabwriter.Writer) { clientTable(w, &v) })
	case "delete":
		if err := c.do("DELETE", "/admin/clients/"+url.PathEscape(fs.Arg(0)), nil, nil); err != nil {
			return c.fail(err)
		}
		return c.print(map[string]string{"deleted": fs.Arg(0)}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "deleted client %s\n", fs.Arg(0)) })
	}
	var req clientRequest
	if *metadataFile != "" {
		var data []byte
		var err error
		if *metadataFile == "-" {
			if *secretStdin {
				fmt.Fprintf(env.Stderr, "%s: -metadata - and -secret-stdin both read stdin; give the metadata in a file\n", name)
				return 2
			}
			data, err = io.ReadAll(io.LimitReader(env.Stdin, maxAdminBody+1))
		} else {
			data, err = os.ReadFile(*metadataFile)
		}
		if err == nil {
			err = decodeJSON(bytes.NewReader(data), &req)
		}
		if err != nil {
			return c.fail(fmt.Errorf("-metadata: %w", err))
		}
	}
	for flagValue, field := range map[*string]*string{id: &req.ClientID, clientName: &req.ClientName, scope: &req.Scope, method: &req.TokenEndpointAuthMethod} {
		if *flagValue != "" {
			*field = *flagValue
		}
	}
	if len(grants) > 0 {
		req.GrantTypes = grants
	}
	if len(redirects) > 0 {
		req.RedirectURIs = redirects
	}
	if *secretStdin {
		s, err := readSecretLine(env, "client secret")
		if err != nil {
			return c.fail(err)
		}
		req.ClientSecret = s
	}
	var v clientView
	if err := c.do("POST", "/admin/clients", &req, &v); err != nil {
		return c.fail(err)
	}
	return c.print(v, func(w *tabwriter.Writer) {
		clientTable(w, &v)
		if v.ClientSecret != "" {
			fmt.Fprintf(w, "client_secret\t%s\t(shown once: keep it now)\n", v.ClientSecret)
		}
	})
}

// clientTable writes one client as rows of field and value.
func clientTable(w *tabwriter.Writer, v *clientView) {
	b, _ := json.Marshal(v.clientMetadata)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "source\t%s\n", v.Source)
	for _, k := range keys {
		val := m[k]
		if s, ok := val.(string); ok {
			fmt.Fprintf(w, "%s\t%s\n", k, s)
			continue
		}
		j, _ := json.Marshal(val)
		fmt.Fprintf(w, "%s\t%s\n", k, j)
	}
}

func usersCommand(env Env) int {
	cmd := newAdminCommand(env, "users", usersUsage, []string{"create", "passwd", "disable", "list"})
	if cmd == nil {
		return 2
	}
	verb, name, fs := cmd.verb, cmd.name, cmd.fs
	claimsFile := fs.String("claims", "", "create: a JSON `file` of the user's claims (OpenID Connect Core 1.0 5.1)")
	enable := fs.Bool("enable", false, "disable: enable the user again")
	if code, ok := cmd.parse(); !ok {
		return code
	}
	wantArgs := 1
	if verb == "list" {
		wantArgs = 0
	}
	if fs.NArg() != wantArgs {
		fmt.Fprintf(env.Stderr, "%s: takes %d argument(s)\n", name, wantArgs)
		return 2
	}
	c, code := cmd.connect()
	if c == nil {
		return code
	}
	printUser := func(v userView) int {
		return c.print(v, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "USERNAME\tSOURCE\tDISABLED")
			fmt.Fprintf(w, "%s\t%s\t%t\n", v.Username, v.Source, v.Disabled)
		})
	}
	path := "/admin/users/" + url.PathEscape(fs.Arg(0))
	switch verb {
	case "list":
		items, err := listAll[userView](c, "/admin/users")
		if err != nil {
			return c.fail(err)
		}
		return c.print(items, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "USERNAME\tSOURCE\tDISABLED")
			for _, v := range items {
				fmt.Fprintf(w, "%s\t%s\t%t\n", v.Username, v.Source, v.Disabled)
			}
		})
	case "create":
		req := userRequest{Username: fs.Arg(0)}
		if *claimsFile != "" {
			data, err := os.ReadFile(*claimsFile)
			if err == nil {
				err = decodeJSON(bytes.NewReader(data), &req.Claims)
			}
			if err != nil {
				return c.fail(fmt.Errorf("-claims: %w", err))
			}
		}
		pw, err := readSecretLine(env, "password")
		if err != nil {
			return c.fail(err)
		}
		req.Password = pw
		var v userView
		if err := c.do("POST", "/admin/users", &req, &v); err != nil {
			return c.fail(err)
		}
		return printUser(v)
	}
	// passwd and disable change one thing: read the user, put it back.
	var cur userView
	if err := c.do("GET", path, nil, &cur); err != nil {
		return c.fail(err)
	}
	req := userRequest{Username: cur.Username, Claims: cur.Claims, Disabled: cur.Disabled}
	if verb == "passwd" {
		pw, err := readSecretLine(env, "password")
		if err != nil {
			return c.fail(err)
		}
		req.Password = pw
	} else {
		req.Disabled = !*enable
	}
	var v userView
	if err := c.do("PUT", path, &req, &v); err != nil {
		return c.fail(err)
	}
	return printUser(v)
}
