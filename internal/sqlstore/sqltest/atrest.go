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
	var decoded [][]byte
	for _, s := range secrets {
		for part := range strings.SplitSeq(s, ".") {
			if raw, err := base64.RawURLEncoding.DecodeString(part); err == nil && len(part) >= 16 {
				decoded = append(decoded, raw)
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
				for _, s := range secrets {
					if bytes.Contains(b, []byte(s)) || bytes.Contains(bytes.ToLower(b), []byte(hex.EncodeToString([]byte(s)))) {
						t.Errorf("%s.%s holds a secret (%d bytes) in the clear", table, cols[i], len(s))
					}
				}
				for _, raw := range decoded {
					if bytes.Contains(b, raw) || bytes.Contains(bytes.ToLower(b), []byte(hex.EncodeToString(raw))) {
						t.Errorf("%s.%s holds the decoded bytes of a secret (%d bytes)", table, cols[i], len(raw))
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
