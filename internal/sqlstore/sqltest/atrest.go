package sqltest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// NoSecretsAtRest reads every row of tables directly through db and fails
// the test if any column holds one of secrets, in the clear or hex
// encoded, or the decoded bytes of a base64url part of a secret (a
// '.'-separated part of at least 16 characters: the random part of a
// time-ordered token, a whole 43-character token). It returns how many
// rows it read.
func NoSecretsAtRest(t testing.TB, db *sql.DB, tables []string, secrets []string) int {
	t.Helper()
	// What must not be found, as is and hex encoded (in lower case).
	type needle struct {
		clear, hex []byte
		what       string
	}
	var needles []needle
	add := func(b []byte, what string) {
		needles = append(needles, needle{b, []byte(hex.EncodeToString(b)), what})
	}
	for _, s := range secrets {
		add([]byte(s), "a secret")
		for part := range strings.SplitSeq(s, ".") {
			if raw, err := base64.RawURLEncoding.DecodeString(part); err == nil && len(part) >= 16 {
				add(raw, "the decoded bytes of a secret")
			}
		}
	}
	n := 0
	for _, table := range tables {
		rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			n++
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = fmt.Appendf(nil, "%v", v)
				}
				lower := bytes.ToLower(b)
				for _, nd := range needles {
					if bytes.Contains(b, nd.clear) || bytes.Contains(lower, nd.hex) {
						t.Errorf("%s.%s holds %s (%d bytes) in the clear", table, cols[i], nd.what, len(nd.clear))
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return n
}
