package oauth2d

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// `oauth2d grants list|revoke` (docs/architecture.md section 7): clients of
// the admin API's /admin/grants, like the clients and users commands
// (cli_admin.go).

const grantsUsage = `Usage:
  oauth2d grants list [flags] -username USERNAME   the user's consents and active grants
  oauth2d grants revoke [flags] GRANT_ID           revoke a grant: its tokens stop working at once
The commands talk to the admin API of a running server (admin_listen).

Flags:
`

func grantsCommand(env Env) int {
	cmd := newAdminCommand(env, "grants", grantsUsage, []string{"list", "revoke"})
	if cmd == nil {
		return 2
	}
	verb, name, fs := cmd.verb, cmd.name, cmd.fs
	username := fs.String("username", "", "list: the `user` whose consents and grants to list")
	if code, ok := cmd.parse(); !ok {
		return code
	}
	switch {
	case verb == "list" && (fs.NArg() != 0 || *username == ""):
		fmt.Fprintf(env.Stderr, "%s: takes -username USERNAME and no argument\n", name)
		return 2
	case verb == "revoke" && (fs.NArg() != 1 || fs.Arg(0) == "" || *username != ""):
		fmt.Fprintf(env.Stderr, "%s: takes one argument, the grant ID\n", name)
		return 2
	}
	c, code := cmd.connect()
	if c == nil {
		return code
	}
	if verb == "revoke" {
		id := fs.Arg(0)
		if err := c.do("DELETE", "/admin/grants/"+url.PathEscape(id), nil, nil); err != nil {
			return c.fail(err)
		}
		return c.print(map[string]any{"grant_id": id, "revoked": true}, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "revoked grant %s\n", id)
		})
	}
	all, err := listGrants(c, *username)
	if err != nil {
		return c.fail(err)
	}
	return c.print(all, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "CONSENT CLIENT_ID\tSCOPE\tCLAIMS\tGRANTED_AT")
		for _, v := range all.Consents {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.ClientID, v.Scope, strings.Join(v.Claims, " "), v.GrantedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "GRANT_ID\tCLIENT_ID\tSCOPE\tISSUED_AT\tEXPIRES_AT")
		for _, v := range all.Items {
			exp := "never"
			if v.ExpiresAt != nil {
				exp = v.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.GrantID, v.ClientID, v.Scope, v.IssuedAt.Format(time.RFC3339), exp)
		}
	})
}

// listGrants reads every page of a user's grants.
func listGrants(c *adminCLI, username string) (grantsPage, error) {
	var all grantsPage
	after := ""
	for {
		q := url.Values{"username": {username}, "limit": {fmt.Sprint(maxPageLimit)}}
		if after != "" {
			q.Set("after", after)
		}
		var p grantsPage
		if err := c.do("GET", "/admin/grants?"+q.Encode(), nil, &p); err != nil {
			return grantsPage{}, err
		}
		if after == "" {
			all.Username, all.Consents = p.Username, p.Consents
		}
		all.Items = append(all.Items, p.Items...)
		if p.Next == "" || len(p.Items) == 0 {
			if all.Items == nil {
				all.Items = []grantView{}
			}
			return all, nil
		}
		after = p.Next
	}
}
