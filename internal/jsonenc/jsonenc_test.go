package jsonenc

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// The escaper must write exactly what encoding/json writes for a string:
// token responses and JWT claims are compared byte for byte with it by
// clients that re-encode, and any difference would be a bug.
func TestAppendString_MatchesEncodingJSON(t *testing.T) {
	cases := []struct{ name, in string }{
		{"empty", ""},
		{"plain", "access_token"},
		{"quote and backslash", `a"b\c`},
		{"control characters", "\x00\x01\b\f\n\r\t\x1f\x7f"},
		{"html", "<script>&</script>"},
		{"line separators", "a\u2028b\u2029c"},
		{"multibyte", "héllo, 世界 🌍"},
		{"invalid utf8", "a\xffb\xc0\x80c"},
		{"truncated rune", "\xe4\xb8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := AppendString(nil, tc.in); string(got) != string(want) {
				t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, want)
			}
		})
	}
}

func TestAppendString_AppendsToExistingBuffer(t *testing.T) {
	got := AppendString([]byte(`{"a":`), "x")
	if string(got) != `{"a":"x"` {
		t.Errorf("got %s", got)
	}
}

// FuzzAppendString checks, for any input, that the output is what
// encoding/json writes, is valid UTF-8 JSON, and decodes to the input with
// invalid UTF-8 replaced.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00<>&\u2028", "\xff", "世界"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if !utf8.Valid(got) || !json.Valid(got) {
			t.Fatalf("AppendString(%q) = %q is not valid UTF-8 JSON", s, got)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if back != string([]rune(s)) && utf8.ValidString(s) {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}
