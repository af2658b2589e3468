package oauth2d

import (
	"context"
	"log/slog"
)

// audit logs one change made by an administrator (or a revocation of a
// grant) as one structured line: "audit" with the actor (actorToken,
// "cert:<subject>" of a client certificate, or who else made it), the
// action ("client.create", "user.passwd", "keys.rotate", ...), the
// target's ID and the time. It never takes a secret: only these names.
func (a *App) audit(ctx context.Context, actor, action, target string) {
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("actor", actor),
		slog.String("action", action),
		slog.String("target", target),
		slog.Time("at", a.now().UTC()),
	)
}
