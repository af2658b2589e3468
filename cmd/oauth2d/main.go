// Command oauth2d is the standalone OAuth 2.0 authorization server
// (docs/config.md). Without flags it serves a development
// configuration on http://localhost:9096 with an embedded SQLite store;
// run `oauth2d -h` for its flags.
package main

import (
	"os"

	"github.com/oauth2d/oauth2/internal/oauth2d"
)

func main() {
	os.Exit(oauth2d.Main(oauth2d.OSEnv()))
}
