package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
)

// errTaken is the error of a Create, ExchangeCode or RotateRefresh whose new
// code or token value is already live in the store.
var errTaken = errors.New("redis store: a code or token with that value is already stored")

// busyReplies are the prefixes of Redis error replies that mean Redis cannot
// serve for now (loading, failing over, out of memory, unable to persist,
// a script running too long), as opposed to a bad request.
var busyReplies = []string{
	"LOADING", "BUSY", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN",
	"NOREPLICAS", "OOM", "MISCONF", "ERR max number of clients",
}

// classify maps an error of the Redis client to the storage contract:
// redis.Nil to oauth2.ErrNotFound; anything that says Redis could not be
// reached or did not answer in time (network errors, refused connections,
// timeouts, the pool's timeout, a closed client) or is busy to
// oauth2.ErrUnavailable, so that the server answers 503
// temporarily_unavailable (RFC 6749 5.2). Other server replies stay plain
// errors (500 server_error). The caller's own cancellation stays
// context.Canceled. No message includes a code or token: keys are hashes.
func classify(op string, err error) error {
	var reply goredis.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return fmt.Errorf("redis store: %s: %w", op, oauth2.ErrNotFound)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("redis store: %s: %w", op, err)
	case errors.As(err, &reply) && !errors.Is(err, context.DeadlineExceeded):
		msg := reply.Error()
		// A write refused inside a script comes wrapped: "ERR Error
		// running script (...): @user_script:1: -READONLY ...".
		if i := strings.LastIndex(msg, ": -"); i >= 0 && strings.HasPrefix(msg, "ERR ") {
			msg = msg[i+3:]
		}
		for _, p := range busyReplies {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("redis store: %s: %w: %w", op, oauth2.ErrUnavailable, err)
			}
		}
		return fmt.Errorf("redis store: %s: %w", op, err)
	default:
		return fmt.Errorf("redis store: %s: %w: %w", op, oauth2.ErrUnavailable, err)
	}
}

func notFound(op string) error {
	return fmt.Errorf("redis store: %s: %w", op, oauth2.ErrNotFound)
}
