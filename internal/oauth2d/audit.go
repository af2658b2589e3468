package oauth2d

import (
	"context"
	"log/slog"
)

// audit logs one change made by an administrator (or a revocation of a
// grant) as one structured line: "audit" with the actor (actorToken,
// "cert:<subject>" of a client certificate, or who else made it), the
// action ("client.create", "user.passwd", "keys.rotate", ...), the
// target's ID and the time, and extra names of the target (a grant's
// client_id and username). It never takes a secret: only these names.
func (a *App) audit(ctx context.Context, actor, action, target string, extra ...slog.Attr) {
	attrs := append([]slog.Attr{
		slog.String("actor", actor),
		slog.String("action", action),
		slog.String("target", target),
	}, extra...)
	attrs = append(attrs, slog.Time("at", a.now().UTC()))
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
